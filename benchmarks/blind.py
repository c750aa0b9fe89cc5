"""Drafting on the blind set: facts found, wrong values and agreements drafted for failed hearings,
today's drafter against the peer (the rules as they were before the blind set, commit PEER), in the
same run, on every part (``dev``, ``dev2``: the development set, may be tuned on; ``frozen``: never
read while tuning).

    .venv/bin/python benchmarks/blind.py [--no-write] [--peer COMMIT] [--show-misses dev|dev2]

Writes docs/benchmarks.md ("blind-drafting"). Scoring: benchmarks/blind_score.py. The set and how it
was written: tests/data/blind/README.md. ``--show-misses`` prints each miss and wrong value of one
development part. The frozen part is reported in aggregate only (totals and per field): its per-item
figures are neither printed nor written, since reading them is tuning on it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.blind_score import Counts, score_item  # noqa: E402
from benchmarks.report import machine_line, md_table, write_section  # noqa: E402
from tests import blind  # noqa: E402

PEER = "61dc634"  # main before this wave's drafting work: the cue-phrase rules


def predictions(tree: Path | None) -> dict[tuple[str, str], dict[str, Any]]:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "blind_predict.py")]
    if tree is not None:
        cmd += ["--tree", str(tree)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return {(p["part"], p["id"]): p for p in json.loads(out)}


def peer_tree(commit: str, into: Path) -> Path:
    archive = into / "peer.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), commit, "scribe", "doc_templates"],
                   check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "peer", filter="data")
    return into / "peer"


def score(preds: dict[tuple[str, str], dict[str, Any]], part: str) -> tuple[Counts, dict[str, Counts]]:
    total, per_item = Counts(), {}
    for item in blind.load_all(part):
        c = score_item(item, preds[(part, item.id)])
        per_item[item.id] = c
        total.merge(c)
    return total, per_item


def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.0f}%" if b else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--peer", default=PEER)
    parser.add_argument("--show-misses", choices=blind.DEV_PARTS)
    args = parser.parse_args()
    ours_p = predictions(None)
    with tempfile.TemporaryDirectory() as tmp:
        peer_p = predictions(peer_tree(args.peer, Path(tmp)))

    summary: list[list[object]] = []
    fields_rows: list[list[object]] = []
    item_rows: list[list[object]] = []
    figures = {}
    parts = [p for p in blind.PARTS if blind.ids(p)]
    scored = {p: (score(ours_p, p), score(peer_p, p)) for p in parts}
    rows: list[tuple[str, Counts, dict[str, Counts], Counts, dict[str, Counts]]] = [
        (p, *scored[p][0], *scored[p][1]) for p in parts]
    dev_parts = [p for p in parts if p in blind.DEV_PARTS]
    if len(dev_parts) > 1:
        # the whole development set, as one figure beside each of its parts
        both, both_peer = Counts(), Counts()
        for p in dev_parts:
            both.merge(scored[p][0][0])
            both_peer.merge(scored[p][1][0])
        rows.insert(len(dev_parts), ("+".join(dev_parts), both, {}, both_peer, {}))
    for part, ours, ours_items, peer, peer_items in rows:
        members = dev_parts if "+" in part else [part]
        n = sum(len(blind.ids(p)) for p in members)
        failed = sum(1 for p in members for i in blind.load_all(p)
                     if i.expected.get("outcome") in ("调解不成", "调解终止"))
        summary.append([part, n, f"{ours.found}/{ours.facts} ({pct(ours.found, ours.facts)})", ours.wrong,
                        f"{ours.failed_agreements}/{failed}", f"{peer.found}/{peer.facts} ({pct(peer.found, peer.facts)})",
                        peer.wrong, f"{peer.failed_agreements}/{failed}",
                        f"{ours.found / peer.found:.2f}" if peer.found else "-",
                        pct(ours.verbatim, ours.quotes), f"{ours.quote_chars / ours.quotes:.0f}" if ours.quotes else "-",
                        f"{peer.quote_chars / peer.quotes:.0f}" if peer.quotes else "-"])
        figures[part] = {"facts": ours.facts, "found": ours.found, "wrong": ours.wrong,
                         "failed_agreements": ours.failed_agreements,
                         "peer_found": peer.found, "peer_wrong": peer.wrong}
        if "+" in part:
            continue
        for name in sorted(set(ours.per_field) | set(peer.per_field)):
            tp, fp, fn = ours.per_field[name]
            ptp, pfp, pfn = peer.per_field[name]
            fields_rows.append([part, name, f"{tp / (tp + fp):.2f}" if tp + fp else "-",
                                f"{tp / (tp + fn):.2f}" if tp + fn else "-",
                                f"{ptp / (ptp + pfp):.2f}" if ptp + pfp else "-",
                                f"{ptp / (ptp + pfn):.2f}" if ptp + pfn else "-"])
        for iid, c in ours_items.items():
            if part not in blind.DEV_PARTS:
                break  # the frozen part: aggregate figures only
            item = blind.load(part, iid)
            pc = peer_items[iid]
            item_rows.append([part, iid, item.session_type, item.style, item.expected.get("outcome", "-"),
                              f"{c.found}/{c.facts}", c.wrong, f"{pc.found}/{pc.facts}", pc.wrong,
                              "win" if (c.found - c.wrong) > (pc.found - pc.wrong) else
                              ("loss" if (c.found - c.wrong) < (pc.found - pc.wrong) else "tie")])
        if args.show_misses == part:
            print(f"--- {part}: misses")
            print("\n".join(ours.misses))
            print(f"--- {part}: wrong values")
            print("\n".join(ours.wrongs))
    md = (
        "## Drafting on the blind set\n\n"
        f"`benchmarks/blind.py`, {machine_line()}. {sum(len(blind.ids(p)) for p in blind.PARTS)} hearings and "
        "consultations written by helpers who saw only the domain notes and a one-line brief "
        "(`tests/data/blind/README.md`); `dev` to `dev7` (later sets by other writers; `dev3` to `dev7` "
        "were each scored fresh before anyone read them, README) are the development set, `frozen` was "
        "never read while tuning and is reported in "
        f"aggregate only. Peer: the drafter at commit `{args.peer}` (cue-phrase rules), same run, same "
        "files, same scorer (`benchmarks/blind_score.py`, its own parsers).\n\n"
        + md_table(["part", "items", "facts found", "wrong values", "agreements for failed hearings",
                    "peer facts found", "peer wrong values", "peer agreements for failed",
                    "found ratio (ours / peer)", "evidence verbatim", "quote chars (ours)", "quote chars (peer)"],
                   summary)
        + "\n\nPer field (P = share of drafted values that are right, R = share of expected facts found):\n\n"
        + md_table(["part", "field", "P", "R", "peer P", "peer R"], fields_rows)
        + "\n\nPer item of the development set (win: more facts found less wrong values than the peer):\n\n"
        + md_table(["part", "item", "type", "style", "outcome", "ours found", "ours wrong", "peer found",
                    "peer wrong", ""], item_rows)
        + "\n"
    )
    print(md)
    print(json.dumps(figures, indent=2))
    if not args.no_write:
        write_section("blind-drafting", md)


if __name__ == "__main__":
    main()
