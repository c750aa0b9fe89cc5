"""Live decodes with a shorter encoder input, against Whisper's whole 30 s window.

    python -m benchmarks.live_encoder_pad --pad 5 WAV...      # --pad omitted: the whole window

The live pipeline of ``load_live_engine`` (no diarization), fed as fast as it goes with partials
every 1 s of audio, and ``live.encoder_pad_s`` set to ``--pad``; per file the live finals' CER
(WER for a ``_en_`` file) against the ``.json`` reference beside the wav, and the decode time.
Writes ``pad_<pad>.json`` in the working folder. Session 14's figures (docs/benchmarks.md,
second-pass section) were made with an earlier form of this script that patched
faster-whisper's padding directly: the same encoder input to within a frame or two.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wavs", nargs="+", type=Path)
    ap.add_argument("--pad", type=float, default=None, help="seconds of padding (default: the whole window)")
    args = ap.parse_args()

    from scribe.audio import decode_audio
    from scribe.services import load_live_engine
    from scribe.settings import Settings
    from scribe.text.normalize import error_rate

    settings = Settings(cpu_threads=2)
    settings = settings.model_copy(update={"live": settings.live.model_copy(update={"encoder_pad_s": args.pad})})
    engine = load_live_engine(settings, diarize=False)
    out = {}
    for wav in args.wavs:
        ref = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
        lang = "en" if "_en_" in wav.name else "zh"
        ref_text = " ".join(r["text"] for r in sorted(ref, key=lambda r: r["start"]))
        x = decode_audio(wav).samples
        pipe = engine.pipeline(replace(engine.options(lang), partial_share=math.inf))
        events = []
        t0 = time.perf_counter()
        for i in range(0, len(x), 1600):
            events += pipe.feed(x[i : i + 1600])
        events += pipe.flush()
        hyp = " ".join(e.data["text"] for e in events if e.type == "final")
        err = error_rate([ref_text], [hyp], lang)
        out[wav.stem] = dict(err=err, rec_s=pipe.recognition_seconds, wall=time.perf_counter() - t0,
                             partials=pipe.partials, finals=pipe.finals, audio=len(x) / 16000, text=hyp)
        print(f"pad {args.pad} {wav.stem}: error {err:.3f}, decode {pipe.recognition_seconds:.1f} s, "
              f"partials {pipe.partials}, finals {pipe.finals}", flush=True)
    Path(f"pad_{args.pad}.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
