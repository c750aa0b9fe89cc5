"""Soak run: hours of looped real speech through one live session, watching resident memory.

    python -m benchmarks.live_soak [--hours 2] [--speed 4] [--warmup-min 10] [--no-write]

The shared speech set (every utterance and conversation, 0.6 s apart) is looped for ``--hours``
of audio and fed at ``--speed`` x real time on the session's clock, so the session sees what a
long hearing on a machine ``--speed`` times slower than real time would: the degrader takes
partials away and, when more than ``live_max_lag`` behind, the live text skips ahead (the audio
is still archived in full). RSS is sampled every 10 s; growth is the least-squares slope of RSS
against session hours after the warm-up, and the last sample minus the first after warm-up.
Writes the "live-soak" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.report import machine_line, md_table, write_section

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SCRIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def speech_loop() -> np.ndarray:
    """Every real recording of the shared set, one after another, 0.6 s of silence between."""
    from scribe.audio import decode_audio

    manifest = json.loads((SHARED / "manifest.json").read_text(encoding="utf-8"))
    pieces = []
    gap = np.zeros(int(0.6 * 16000), dtype=np.float32)
    for f in manifest["files"]:
        if str(f["path"]).endswith((".wav", ".flac")):
            pieces += [decode_audio(SHARED / f["path"]).samples, gap]
    return np.concatenate(pieces)


class LoopSource:
    """The loop, repeated for ``seconds`` of audio, paced at ``speed`` x real time."""

    clocked = True

    def __init__(self, loop: np.ndarray, seconds: float, speed: float) -> None:
        self.loop = loop
        self.total = int(seconds * 16000)
        self.speed = speed
        self.description = f"soak loop x{speed:g}"

    def run(self, sink, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
        block, sent, t0 = 1600, 0, time.monotonic()
        while sent < self.total and not stop.is_set():
            at = sent % len(self.loop)
            chunk = self.loop[at : at + block][: self.total - sent]
            due = t0 + (sent + len(chunk)) / 16000 / self.speed
            delay = due - time.monotonic()
            if delay > 0 and stop.wait(delay):
                return
            sink(chunk)
            sent += len(chunk)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--speed", type=float, default=4.0)
    ap.add_argument("--warmup-min", type=float, default=10.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--language", default="auto",
                    help="session language; a fixed one (zh, en) also exercises the context kept between utterances")
    ap.add_argument("--samples-out", type=Path, default=None, help="write the RSS samples (JSON) here")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    import psutil

    from scribe.services import load_live_engine
    from scribe.settings import Settings

    proc = psutil.Process()
    engine = load_live_engine(Settings(cpu_threads=args.threads), diarize=False)
    loop = speech_loop()
    workdir = Path(tempfile.mkdtemp(prefix="live-soak-"))
    manager = engine.manager(workdir / "sessions")
    session = manager.create(engine.options(args.language), source="soak", title="soak")
    counts: dict[str, int] = {}

    def count(e) -> None:  # type: ignore[no-untyped-def]
        counts[e.type] = counts.get(e.type, 0) + 1

    session.bus.subscribe(count)
    samples: list[tuple[float, float, float]] = []  # (wall s, session s, RSS MB)
    wall0 = time.monotonic()
    session.start_source(LoopSource(loop, args.hours * 3600, args.speed))
    while not session.wait_source(timeout=10):
        samples.append((time.monotonic() - wall0, session.writer.duration, proc.memory_info().rss / 2**20))
        if len(samples) % 30 == 0:
            print(f"{samples[-1][1] / 60:6.1f} min audio, RSS {samples[-1][2]:.0f} MB, "
                  f"lag max {session.stats.max_lag:.1f} s, finals {counts.get('final', 0)}", flush=True)
    session.stop()
    meta = session.folder.read_meta()  # session.json: live_stats is not a typed SessionMeta field
    stats = meta["live_stats"]
    samples.append((time.monotonic() - wall0, session.writer.duration, proc.memory_info().rss / 2**20))
    manager.forget(session.id)
    audio_mb = (workdir / "sessions" / session.id / "audio.wav").stat().st_size / 2**20
    journal_mb = (workdir / "sessions" / session.id / "events.jsonl").stat().st_size / 2**20
    shutil.rmtree(workdir)
    if args.samples_out:
        args.samples_out.write_text(json.dumps(samples))

    after = [(s, r) for _w, s, r in samples if s >= args.warmup_min * 60]
    hours = np.array([s for s, _r in after]) / 3600
    rss = np.array([r for _s, r in after])
    slope = float(np.polyfit(hours, rss, 1)[0]) if len(after) >= 3 else float("nan")
    span_h = float(hours[-1] - hours[0]) if len(after) >= 2 else float("nan")
    delta = float(rss[-1] - rss[0]) if len(after) >= 2 else float("nan")
    wall_h = samples[-1][0] / 3600
    text = "\n".join([
        "## Live sessions: soak",
        "",
        f"`python -m benchmarks.live_soak --hours {args.hours:g} --speed {args.speed:g} --language {args.language}` — "
        f"{machine_line()}; whisper-base int8, {args.threads} threads, language {args.language}"
        + (" (the English recordings are recognised as Mandarin too: the run is about memory, with the context "
           "between utterances in use)" if args.language == "zh" else "")
        + f". Shared machine (other engineers' jobs ran "
        f"alongside). The shared speech set ({len(loop) / 16000:.0f} s of real Mandarin and English) looped for "
        f"{meta['duration'] / 3600:.2f} h of session audio, fed at {args.speed:g}x real time "
        f"({wall_h * 60:.0f} min wall).",
        "",
        f"- **RSS growth after {args.warmup_min:g} min warm-up: {slope:+.1f} MB per session hour** (least-squares "
        f"slope; target <= 50 MB/h); last - first sample after warm-up {delta:+.1f} MB over {span_h:.2f} h",
        f"- RSS: {samples[0][2]:.0f} MB at start, {rss[0]:.0f} MB after warm-up, {rss.max():.0f} MB peak, "
        f"{samples[-1][2]:.0f} MB at the end",
        f"- live path: {counts.get('final', 0)} finals, {counts.get('partial', 0)} partials, max lag "
        f"{stats['max_lag']:.1f} s (bound {engine.settings.live.max_lag:g} s), {stats['skipped_seconds']:.0f} s "
        f"of audio skipped by the live text (archived, left to the final pass), "
        f"{stats['degrade_changes']} degrade level changes",
        f"- archive: audio {audio_mb:.0f} MB (16 kHz s16le), journal {journal_mb:.1f} MB",
        "",
        md_table(["session min", "wall min", "RSS MB"],
                 [[f"{s / 60:.0f}", f"{w / 60:.1f}", f"{r:.0f}"] for w, s, r in samples[:: max(1, len(samples) // 12)]]),
    ])
    print("\n" + text)
    if not args.no_write:
        write_section("live-soak", text)


if __name__ == "__main__":
    main()
