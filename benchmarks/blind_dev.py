"""Per-item figures of the drafter on the development set only (tests/data/blind ``dev``, ``dev2`` and ``dev3``: ``tests/blind.py`` DEV_PARTS),
for deciding a rule change item by item.

    .venv/bin/python benchmarks/blind_dev.py [--save FILE] [--against FILE] [--misses]

Drafts only the development parts (never ``frozen``: reading its items is tuning on it), scores each
item with benchmarks/blind_score.py and prints per item the facts found and the wrong values.
``--save`` keeps the per-item result (found/wrong and the misses) as JSON; ``--against`` compares with
such a file and prints, per item, the facts won and lost and the wrong values added or removed: the
table a rule change is kept or dropped by (docs/documents.md "Rule changes on the development set").
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.blind_score import score_item  # noqa: E402
from tests import blind  # noqa: E402


def run() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for part in blind.DEV_PARTS:
        out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "blind_predict.py"), "--part", part],
                             check=True, capture_output=True, text=True, cwd=ROOT).stdout
        preds = {p["id"]: p for p in json.loads(out)}
        for item in blind.load_all(part):
            c = score_item(item, preds[item.id])
            # drafted terms matching no expected term (term precision's false positives)
            result[f"{part}/{item.id}"] = {"facts": c.facts, "found": c.found, "wrong": c.wrong,
                                           "extra_terms": c.per_field["terms"][1],
                                           "misses": c.misses, "wrongs": c.wrongs}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--save", type=Path)
    parser.add_argument("--against", type=Path)
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    now = run()
    for part in blind.DEV_PARTS:
        rows = {k: v for k, v in now.items() if k.startswith(part + "/")}
        found = sum(v["found"] for v in rows.values())
        facts = sum(v["facts"] for v in rows.values())
        wrong = sum(v["wrong"] for v in rows.values())
        extra = sum(v.get("extra_terms", 0) for v in rows.values())
        print(f"{part}: {found}/{facts} facts, {wrong} wrong, {extra} drafted terms matching no agreed term")
    if args.misses:
        for key, v in now.items():
            for m in v["misses"]:
                print("MISS", key.split("/")[0], m)
            for w in v["wrongs"]:
                print("WRONG", key.split("/")[0], w)
    if args.against:
        before = json.loads(args.against.read_text(encoding="utf-8"))
        wins = losses = 0
        for key, v in now.items():
            b = before.get(key)
            if b is None:
                continue
            gained = sorted(set(b["misses"]) - set(v["misses"]))
            lost = sorted(set(v["misses"]) - set(b["misses"]))
            new_wrong = sorted(set(v["wrongs"]) - set(b["wrongs"]))
            gone_wrong = sorted(set(b["wrongs"]) - set(v["wrongs"]))
            extra_moved = b.get("extra_terms", v["extra_terms"]) != v["extra_terms"]
            if gained or lost or new_wrong or gone_wrong or extra_moved:
                print(f"{key}: found {b['found']}->{v['found']} wrong {b['wrong']}->{v['wrong']} "
                      f"extra terms {b.get('extra_terms', '?')}->{v['extra_terms']}")
                for m in gained:
                    print("   won ", m)
                for m in lost:
                    print("   LOST", m)
                for m in new_wrong:
                    print("   NEW WRONG", m)
                for m in gone_wrong:
                    print("   wrong gone", m)
            wins += max(0, v["found"] - b["found"])
            losses += max(0, b["found"] - v["found"])
        print(f"total: {wins} facts won, {losses} lost (per item, net)")
    if args.save:
        args.save.write_text(json.dumps(now, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
