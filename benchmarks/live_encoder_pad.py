"""Live decodes with a shorter encoder input: python -m benchmarks.live_encoder_pad full|plus:N WAV... (fast-fed live pipeline, no diarization; writes pad_<mode>.json in the working folder). Experiment of session 14, see docs/benchmarks.md second-pass section."""
import json, sys, time, math
from dataclasses import replace
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import faster_whisper.transcribe as fwt
from faster_whisper.audio import pad_or_trim as orig

MODE = sys.argv[1]; TAG = __import__("os").environ.get("TAG", "")
files = sys.argv[2:]
if MODE.startswith("plus:"):
    extra = int(float(MODE.split(":")[1]) * 100)
    def short(array, length=3000, *, axis=-1):
        n = min(length, array.shape[axis] + extra)
        n += n % 2
        return orig(array, n, axis=axis)
    fwt.pad_or_trim = short

from scribe.services import load_live_engine
from scribe.settings import Settings
from scribe.audio import decode_audio
from scribe.text.normalize import error_rate

engine = load_live_engine(Settings(cpu_threads=2), diarize=False)
out = {}
for f in files:
    wav = Path(f); ref = json.loads(wav.with_suffix(".json").read_text())
    lang = "en" if "_en_" in wav.name else "zh"
    ref_text = " ".join(r["text"] for r in sorted(ref, key=lambda r: r["start"]))
    x = decode_audio(wav).samples
    pipe = engine.pipeline(replace(engine.options(lang), partial_share=math.inf))
    evs = []
    t0 = time.perf_counter()
    for i in range(0, len(x), 1600):
        evs += pipe.feed(x[i:i + 1600])
    evs += pipe.flush()
    wall = time.perf_counter() - t0
    finals = [e.data["text"] for e in evs if e.type == "final"]
    hyp = " ".join(finals)
    er = error_rate([ref_text], [hyp], lang)
    out[wav.stem] = dict(err=er, rec_s=pipe.recognition_seconds, wall=wall, partials=pipe.partials,
                         finals=pipe.finals, audio=len(x) / 16000, text=hyp)
    print(MODE, wav.stem, f"err {er:.3f} rec {pipe.recognition_seconds:.1f}s per-decode {pipe.recognition_seconds/max(1,pipe.partials+pipe.finals):.2f} partials {pipe.partials} finals {pipe.finals}", flush=True)
json.dump(out, open(f"pad_{TAG}{MODE.replace(':','_')}.json", "w"), ensure_ascii=False, indent=1)
