"""ASR benchmark: `scribe transcribe` vs the raw faster-whisper engine, same files, same model.

    python -m benchmarks.asr [--manifest ../shared/data/manifest.json] [--model whisper-base]

For every file with a reference transcript: wall time (decode + recognise, interleaved per
file so machine load hits both alike), CER (Mandarin, after Simplified + cn2an numerals +
punctuation removal) or WER (English), then peak resident memory of each system measured in
its own process. Writes the "asr" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.report import machine_line, md_table, write_section

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = ROOT.parent / "shared" / "data" / "manifest.json"


WHY = """
Where scribe differs from the raw engine, and why:
- **Mandarin CER lower** (all files): the decoder gets a short style prompt in Traditional script
  (以下是普通話的句子。). Whisper base continues in its prompt's script and punctuation; Traditional
  is the script most of its Mandarin training subtitles use, so it stays on familiar ground
  (停滞 not 停制, 达摩院 not 达摩运, 一二线 not 12线) and writes punctuation; the text is then converted to
  Simplified (opencc) and typeset (Chinese punctuation, no stray spaces). The same prompt in
  Simplified script made CER worse (10.4% vs 7.1%) and set off repetition loops, so it was not used.
  The set is small (5 files, 77 reference characters): read the direction, not the decimals.
- **Long recordings with silence** (the pyannote phone call): only speech the Silero VAD found is
  decoded, joined so Whisper keeps context across pauses. Less audio to decode and no text
  invented in the gaps: 3x less CPU and about half the WER.
- **Short clean clips cost about the same**: both pay language detection (an encoder pass); scribe
  also aligns words (the JSON contract carries word timings, the raw default does not) and runs
  the VAD. faster-whisper, with word timings on, re-decodes the leftover tail after the last
  aligned word as a fresh 30 s window; scribe skips that window when its VAD hears no speech
  after the last word, which pays for the alignment.
- **One English clip worse** (LibriSpeech 2412, +1 word): the VAD cut ends 0.3 s before the
  file does; faster-whisper's word-timestamp seek then leaves the last word ("myself") alone in a
  0.85 s window that it judges non-speech. The raw engine, fed the same cut audio with word
  timestamps, loses the same word; fed the whole file it does not. It is also the slowest file
  for scribe (the tail window is decoded, since the VAD does hear the word).
"""


def load_items(manifest: Path, languages: set[str]) -> list[dict]:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    items = []
    for f in data["files"]:
        ref = f.get("reference_transcript")
        if not ref or f["language"] not in languages:
            continue
        # conversation references are "[speaker] text" lines
        ref = re.sub(r"^\[[^\]]*\]\s*", "", ref, flags=re.M)
        items.append({**f, "reference": ref, "abspath": str(manifest.parent / f["path"])})
    return items


class Systems:
    def __init__(self, model: str, threads: int) -> None:
        from faster_whisper import WhisperModel

        from scribe.settings import Settings
        from scribe.transcribe import Transcriber

        settings = Settings(cpu_threads=threads)
        self.scribe = Transcriber.load(settings, model)
        # The peer: the engine alone, on the same locked files, with its defaults.
        self.raw = WhisperModel(
            str(self.scribe.engine.model_dir), device="cpu", compute_type=settings.compute_type,
            cpu_threads=settings.threads,
        )

    def run_raw(self, path: str) -> str:
        segments, _info = self.raw.transcribe(path)
        return "".join(s.text for s in segments)

    def run_scribe(self, path: str) -> str:
        from scribe.audio import decode_audio

        return self.scribe.transcribe(decode_audio(path).samples).text


def worker(system: str, model: str, threads: int, paths: list[str]) -> None:
    systems = Systems(model, threads)
    run = systems.run_raw if system == "raw" else systems.run_scribe
    for p in paths:
        run(p)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": peak_mb}))


def peak_memory(system: str, model: str, threads: int, paths: list[str]) -> float:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.asr", "--worker", system, "--model", model,
         "--threads", str(threads), *paths],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    ap.add_argument("--model", default="whisper-base")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--worker", choices=["raw", "scribe"])
    ap.add_argument("--repeats", type=int, default=3, help="runs per file; the fastest counts")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.model, args.threads, args.paths)
        return

    from scribe.text.normalize import error_rate

    languages = {"zh", "en"} if args.model != "whisper-tiny.en" else {"en"}
    items = load_items(args.manifest, languages)
    systems = Systems(args.model, args.threads)
    # warm-up: first calls pay one-off allocation costs
    systems.run_raw(items[0]["abspath"]); systems.run_scribe(items[0]["abspath"])
    rows, results = [], []
    for it in items:
        t_raw = t_ours = c_raw = c_ours = float("inf")
        for _ in range(args.repeats):  # interleaved; the minimum is the least disturbed run
            t0, c0 = time.perf_counter(), time.process_time()
            raw = systems.run_raw(it["abspath"])
            t_raw, c_raw = min(t_raw, time.perf_counter() - t0), min(c_raw, time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            ours = systems.run_scribe(it["abspath"])
            t_ours, c_ours = min(t_ours, time.perf_counter() - t0), min(c_ours, time.process_time() - c0)
        lang = it["language"]
        e_raw = error_rate([it["reference"]], [raw], lang)
        e_ours = error_rate([it["reference"]], [ours], lang)
        results.append({**it, "raw": raw, "ours": ours, "t_raw": t_raw, "t_ours": t_ours,
                        "c_raw": c_raw, "c_ours": c_ours})
        rows.append([it["id"], lang, f"{it['duration_s']:.1f}", f"{c_raw:.2f}", f"{c_ours:.2f}",
                     f"{c_ours / c_raw:.2f}", f"{t_raw:.2f}", f"{t_ours:.2f}", f"{e_raw:.1%}", f"{e_ours:.1%}"])
        print(f"{it['id']:36} raw {t_raw:6.2f}s {e_raw:6.1%} | scribe {t_ours:6.2f}s {e_ours:6.1%} | {ours[:60]}", flush=True)

    def corpus(lang: str, pred) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
        sel = [r for r in results if r["language"] == lang and pred(r)]
        if not sel:
            return float("nan"), float("nan"), 0
        refs = [r["reference"] for r in sel]
        return (error_rate(refs, [r["raw"] for r in sel], lang),
                error_rate(refs, [r["ours"] for r in sel], lang), len(sel))

    human = lambda r: r.get("reference_quality") == "corpus human transcript"  # noqa: E731
    everything = lambda r: True  # noqa: E731
    summary = []
    for lang, metric in (("zh", "CER"), ("en", "WER")):
        for label, pred in (("corpus human transcripts", human), ("all files with a reference", everything)):
            raw_e, ours_e, n = corpus(lang, pred)
            if n:
                rel = (ours_e - raw_e) / raw_e if raw_e else 0.0
                summary.append([f"{lang} {metric}, {label}", n, f"{raw_e:.2%}", f"{ours_e:.2%}", f"{rel:+.0%}"])
    ratios = [r["c_ours"] / r["c_raw"] for r in results]
    wall_ratios = [r["t_ours"] / r["t_raw"] for r in results]
    paths = [r["abspath"] for r in results]
    mem_raw = peak_memory("raw", args.model, args.threads, paths)
    mem_ours = peak_memory("scribe", args.model, args.threads, paths)

    text = "\n".join([
        f"## ASR: `scribe transcribe` vs raw faster-whisper ({args.model})",
        "",
        f"`python -m benchmarks.asr --model {args.model}` — {machine_line()}; int8, {args.threads} threads.",
        "Peer: `faster_whisper.WhisperModel(<same locked files>).transcribe(path)` with its defaults "
        "(beam 5, no VAD, language detected). Both timed from the file path (decoding included), "
        f"interleaved file by file in one process after a warm-up, {args.repeats} runs each, fastest run counted. "
        "Other jobs may share the 2 cores, so the benchmark is run at high priority (`nice -n -15`) "
        "with one decoding thread and its CPU time is the primary figure (wall time beside it).",
        "",
        md_table(["set", "files", "raw engine", "scribe", "relative"], summary),
        "",
        f"- CPU-time ratio scribe / raw, median over files: **{statistics.median(ratios):.2f}x** "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f}); total {sum(r['c_ours'] for r in results):.1f} s vs "
        f"{sum(r['c_raw'] for r in results):.1f} s of CPU",
        f"- wall-time ratio, median over files: {statistics.median(wall_ratios):.2f}x "
        f"(total {sum(r['t_ours'] for r in results):.1f} s vs {sum(r['t_raw'] for r in results):.1f} s; "
        f"real-time factor scribe {sum(r['t_ours'] for r in results) / sum(r['duration_s'] for r in results):.3f}, "
        f"raw {sum(r['t_raw'] for r in results) / sum(r['duration_s'] for r in results):.3f})",
        f"- peak RSS over all files, own process each: scribe {mem_ours:.0f} MB, raw {mem_raw:.0f} MB "
        f"(ratio {mem_ours / mem_raw:.2f}x; scribe also holds the Silero VAD)",
        WHY,
        md_table(["file", "lang", "audio s", "raw CPU s", "scribe CPU s", "CPU ratio", "raw wall s",
                  "scribe wall s", "raw err", "scribe err"], rows),
    ])
    print("\n" + text)
    if not args.no_write:
        write_section(f"asr-{args.model}", text)


if __name__ == "__main__":
    main()
