"""Hotwords: how often each name in the development material comes out exactly, with and without
the names given as hotwords, side by side in one run.

    python -m benchmarks.hotwords            # prints the tables, writes docs/benchmarks.md
    python -m benchmarks.hotwords --no-write [--no-live]

Material: real speech only (no synthesis). Every development clip whose reference holds a
person's name or a place (``benchmarks.make_hearings.NAMES``: THCHS-30 sentences with generals,
a village and a market, a podcast naming a university, a sponsor read naming two brands, a
history clip, two Sichuanese clips) and the generated hearings and meetings that contain them.

* clips: ``Transcriber.transcribe`` (what ``scribe transcribe -l zh`` runs) of each clip; the
  hotwords are the clip's own names plus four names from other clips (a session's list names
  more people than one utterance does);
* hearings: the whole file (``scribe transcribe``, which is also the final pass) of every
  generated file holding names, and for two of them (``--live-files``) the live path
  (``StreamingPipeline``: partials and finals, fed synchronously so it never degrades), with
  the file's names as the session's hotwords.

A name counts as exact when the same characters appear in the text (occurrences capped at the
reference's count). Whisper-base, beam 5 (whole file) and the live settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.make_hearings import DEFAULT_OUT, NAMES, SHARED, _manifest, ensure  # noqa: E402
from benchmarks.report import machine_line, md_table, write_section  # noqa: E402


def hits(names: list[str], ref: str, hyp: str) -> dict[str, tuple[int, int]]:
    """name -> (exact occurrences in ``hyp`` capped at the reference's, occurrences in ``ref``)."""
    return {n: (min(hyp.count(n), ref.count(n)), ref.count(n)) for n in names if ref.count(n)}


def _text(transcript) -> str:  # type: ignore[no-untyped-def]
    return "".join(s.text for s in transcript.segments)


def _live_text(engine, samples, hotwords: tuple[str, ...]) -> str:  # type: ignore[no-untyped-def]
    pipeline = engine.pipeline(engine.options("zh", hotwords))
    events = []
    for i in range(0, len(samples), 1600):  # 0.1 s blocks, as the capture delivers them
        events += pipeline.feed(samples[i : i + 1600])
    events += pipeline.flush()
    return "".join(e.data.get("text") or "" for e in events if e.type == "final")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument("--live-files", default="hearing_01,hearing_05",
                    help="hearings also replayed through the live path (it decodes every partial: slow on 2 cores)")
    args = ap.parse_args()
    from scribe.audio import decode_audio
    from scribe.services import load_live_engine
    from scribe.settings import get_settings
    from scribe.transcribe import TranscribeOptions

    settings = get_settings()
    engine = load_live_engine(settings, diarize=False)  # what the server runs, without diarization
    transcriber = engine.transcriber
    manifest = _manifest()
    all_names = [n for ns in NAMES.values() for n in ns]

    per_name: dict[str, dict[str, list[int]]] = {}  # name -> mode -> [hits, occurrences]

    def add(mode: str, scored: dict[str, tuple[int, int]]) -> None:
        for n, (h, k) in scored.items():
            cell = per_name.setdefault(n, {}).setdefault(mode, [0, 0])
            cell[0] += h
            cell[1] += k

    clip_rows = []
    for i, (sid, names) in enumerate(NAMES.items()):
        entry = manifest[sid]
        samples = decode_audio(SHARED / entry["file"]).samples
        others = [n for n in all_names if n not in names]
        hot = tuple(names + [others[(5 * i + k) % len(others)] for k in range(4)])
        ref = entry["text"]
        plain = _text(transcriber.transcribe(samples, TranscribeOptions(language="zh")))
        hinted = _text(transcriber.transcribe(samples, TranscribeOptions(language="zh", hotwords=hot)))
        s0, s1 = hits(names, ref, plain), hits(names, ref, hinted)
        add("clip", s0)
        add("clip+hw", s1)
        clip_rows.append([sid, entry.get("tier", "-"), "、".join(names),
                          f"{sum(h for h, _ in s0.values())}/{sum(k for _, k in s0.values())}",
                          f"{sum(h for h, _ in s1.values())}/{sum(k for _, k in s1.values())}"])
        print(clip_rows[-1], flush=True)

    index = ensure(DEFAULT_OUT)
    file_rows = []
    for f in index["files"]:
        if not f["names"]:
            continue
        entries = json.loads((DEFAULT_OUT / f["json"]).read_text(encoding="utf-8"))
        ref = "".join(e["text"] for e in entries if not e.get("backchannel"))
        samples = decode_audio(DEFAULT_OUT / f["wav"]).samples
        hot = tuple(f["names"])
        row = [f["id"], f["part"], len(hot)]
        modes = [("file", lambda h: _text(transcriber.transcribe(samples, TranscribeOptions(language="zh", hotwords=h))))]
        if not args.no_live and f["id"] in args.live_files.split(","):
            modes.append(("live", lambda h: _live_text(engine, samples, h)))
        for mode, fn in modes:
            s0, s1 = hits(f["names"], ref, fn(())), hits(f["names"], ref, fn(hot))
            add(mode, s0)
            add(mode + "+hw", s1)
            row += [f"{sum(h for h, _ in s0.values())}/{sum(k for _, k in s0.values())}",
                    f"{sum(h for h, _ in s1.values())}/{sum(k for _, k in s1.values())}"]
        while len(row) < 7:
            row.append("-")
        file_rows.append(row)
        print(file_rows[-1], flush=True)

    def cell(n: str, mode: str) -> str:
        h, k = per_name.get(n, {}).get(mode, [0, 0])
        return f"{h}/{k}" if k else "-"

    name_rows = [[n, cell(n, "clip"), cell(n, "clip+hw"), cell(n, "file"), cell(n, "file+hw"),
                  cell(n, "live"), cell(n, "live+hw")] for n in per_name]

    def total(mode: str) -> str:
        h = sum(v.get(mode, [0, 0])[0] for v in per_name.values())
        k = sum(v.get(mode, [0, 0])[1] for v in per_name.values())
        return f"{h}/{k} ({h / k:.0%})" if k else "-"

    name_rows.append(["**all**", *(total(m) for m in ("clip", "clip+hw", "file", "file+hw", "live", "live+hw"))])
    md = "\n\n".join([
        "## Hotwords (`benchmarks/hotwords.py`)",
        f"{machine_line()}. {settings.asr_model}; real speech only (no synthesised names). A name "
        "is a hit when its exact characters are in the text. Clips: `scribe transcribe -l zh` of each "
        "name-bearing clip, hotwords = its own names + 4 names from other clips. Hearings: the "
        "generated files holding those clips (`benchmarks/make_hearings.py`), hotwords = the names "
        "in the file; whole file (also what the final pass runs), and for "
        f"{args.live_files.replace(',', ', ')} the live path (partials and finals, `StreamingPipeline`, "
        "fed synchronously). Nothing was tuned on these figures.",
        "### Per name: exact / occurrences, without and with hotwords",
        md_table(["name", "clip", "clip + hotwords", "hearing file", "hearing file + hotwords",
                  "live finals", "live finals + hotwords"], name_rows),
        "### Per clip",
        md_table(["clip", "tier", "names", "exact without", "exact with"], clip_rows),
        "### Per generated file",
        md_table(["file", "part", "names", "file without", "file with", "live without", "live with"], file_rows),
    ])
    print(md)
    if not args.no_write:
        write_section("hotwords", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
