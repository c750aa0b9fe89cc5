"""Live diarization over a long session: memory stays flat, the delay stays bounded.

    python benchmarks/diarization_soak.py --minutes 180

Feeds the simulated conversations and the pyannote sample, looped with their order shuffled,
in 0.5 s chunks as fast as the CPU allows, and prints the process's resident memory and the
largest lag of settled turns every 10 minutes of audio, then writes them into the
"diarization-soak" section of docs/benchmarks.md (``--no-write`` to only print). Not part of the
test run (3 h of audio is ~25 CPU-minutes on a 2-core PC).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=180.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import os

    from benchmarks.report import machine_line, write_section
    from benchmarks.diarization import FILES, SHARED
    from diarize import StreamingDiarizer
    from diarize.streaming import StreamingOptions
    from scribe.audio import decode_audio
    from scribe.services import load_diarization
    from scribe.settings import get_settings
    from scribe.types import AudioChunk

    settings = get_settings()
    models = load_diarization(settings)  # what the server loads, with its torch threads
    clips = [decode_audio(SHARED / f[0]).samples for f in FILES.values()]
    live = StreamingDiarizer(models, StreamingOptions.from_settings(settings))
    rng = np.random.default_rng(0)
    total = int(args.minutes * 60 * 16000)
    fed, lag, report_at = 0, 0.0, 600 * 16000
    t0 = time.perf_counter()
    load_before = os.getloadavg()[0]
    lines = [f"start: {rss_mb():.0f} MB"]
    print(lines[0], flush=True)
    while fed < total:
        clip = clips[int(rng.integers(len(clips)))]
        for i in range(0, len(clip), 8000):
            piece = clip[i : i + 8000]
            live.feed(AudioChunk(fed / 16000, piece))
            fed += len(piece)
            lag = max(lag, fed / 16000 - live.settled_until)
            if fed >= report_at:
                lines.append(
                    f"{fed / 16000 / 60:6.1f} min audio: {rss_mb():.0f} MB, max lag {lag:.2f} s, "
                    f"{len(live.turns)} turns, {len(live.speakers)} speakers, "
                    f"RTF {(time.perf_counter() - t0) / (fed / 16000):.3f}"
                )
                print(lines[-1], flush=True)
                report_at += 600 * 16000
    load_after = os.getloadavg()[0]
    md = "\n\n".join([
        f"## Live diarization soak (`benchmarks/diarization_soak.py --minutes {args.minutes:g}`)",
        f"{machine_line()}, shared with other engineers' jobs (load average {load_before:.1f} "
        f"before, {load_after:.1f} after; RTF is inflated by that). The four diarization files "
        "looped in random order, fed in 0.5 s chunks as fast as the CPU allows (12 distinct voices "
        "in the loop; `max_speakers` is 12). Resident memory every 10 minutes of audio, the "
        "largest lag of settled turns behind the audio so far, and the settled turns kept.",
        "```\n" + "\n".join(lines) + "\n```",
    ])
    if not args.no_write:
        write_section("diarization-soak", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
