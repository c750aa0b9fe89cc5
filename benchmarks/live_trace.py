"""Where a live final's latency goes: one real-time replay, instrumented.

    python -m benchmarks.live_trace --conv conv_zh_dev_02 [--lang zh] [--threads 2] [--json out.json]

The same engine and path as ``benchmarks.live`` (``load_live_engine``, live diarization on, the
session's worker thread, the second pass alongside), with the pipeline's calls wrapped from
outside (no product code changes): every ``feed`` (when the worker took the block, its lag,
the diarizer's share, the recogniser calls inside it: kind, audio and context seconds, start and
end). Per final it prints: latency (emit - end of its audio on the replay clock), when its
audio ended, when the worker took the block that closed it (queue wait), what ran in that
block before the final's decode (diarizer, partials), the final's own decode (or none when a
partial's result was reused), and what commit made it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SCRIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conv", default="conv_zh_dev_02")
    ap.add_argument("--lang", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", default=None)
    ap.add_argument("--no-second-pass", action="store_true")
    args = ap.parse_args()
    lang = args.lang or ("en" if "_en_" in args.conv else "zh")

    from scribe.audio import decode_audio
    from scribe.live import pipeline as pl
    from scribe.live.sources import FileSource
    from scribe.services import load_live_engine
    from scribe.settings import Settings
    from scribe.transcribe import TranscribeOptions

    settings = Settings(cpu_threads=args.threads)
    if args.no_second_pass:
        settings = settings.model_copy(update={"live": settings.live.model_copy(update={"second_pass_alongside": False})})
    engine = load_live_engine(settings, diarize=True)
    wav = SHARED / "conversations" / f"{args.conv}.wav"
    engine.transcriber.transcribe(decode_audio(wav).samples[: 5 * 16000], TranscribeOptions(language=lang, beam_size=1))

    feeds: list[dict[str, Any]] = []  # one per pipeline.feed / end_utterance
    calls: list[dict[str, Any]] = []  # recogniser calls
    cur: dict[str, Any] = {}
    kind = ["?"]

    orig_partial = pl.StreamingPipeline._partial
    orig_final = pl.StreamingPipeline._final
    orig_recognise = pl.StreamingPipeline._recognise
    orig_diarize = pl.StreamingPipeline._diarize_block
    orig_feed = pl.StreamingPipeline.feed

    def _partial(self, opts, *, speculate=False):  # type: ignore[no-untyped-def]
        kind[0] = "speculate" if speculate else "partial"
        try:
            return orig_partial(self, opts, speculate=speculate)
        finally:
            kind[0] = "?"

    commit = ["?"]
    commit_of: dict[int, str] = {}  # utterance id -> what made it final

    def tagged(name: str, tag: str):  # type: ignore[no-untyped-def]
        orig = getattr(pl.StreamingPipeline, name)

        def wrapper(self, *a, **kw):  # type: ignore[no-untyped-def]
            was = commit[0]
            commit[0] = tag if tag != "endpoint" or kw.get("endpoint") else "cut"
            try:
                return orig(self, *a, **kw)
            finally:
                commit[0] = was

        setattr(pl.StreamingPipeline, name, wrapper)

    tagged("_commit_agreed", "agreement")
    tagged("_commit_settled", "pause")
    tagged("_close_utterance", "endpoint")

    def _final(self, audio, offset, utt_id, result=None):  # type: ignore[no-untyped-def]
        commit_of[utt_id] = commit[0]
        k = kind[0]
        if result is None:
            kind[0] = "final"
        try:
            return orig_final(self, audio, offset, utt_id, result)
        finally:
            kind[0] = k

    def _recognise(self, audio, request):  # type: ignore[no-untyped-def]
        inner.clear()
        t0 = time.time()
        r = orig_recognise(self, audio, request)
        t1 = time.time()
        calls.append({"kind": kind[0], "t0": t0, "t1": t1, "audio_s": len(audio) / 16000,
                      "context_s": 0.0 if request.context is None else len(request.context) / 16000,
                      "words": request.word_timestamps, "beam": request.beam_size,
                      "feed": len(feeds) - 1, "whisper": [round(x, 2) for x in inner]})
        cur.setdefault("rec", []).append(len(calls) - 1)
        return r

    def _diarize_block(self, *a, **kw):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return orig_diarize(self, *a, **kw)
        finally:
            cur["diar_s"] = cur.get("diar_s", 0.0) + time.perf_counter() - t0

    def feed(self, samples, **kw):  # type: ignore[no-untyped-def]
        cur.clear()
        cur.update({"taken": time.time(), "clock0": self.clock, "clock1": self.clock + len(samples) / 16000,
                    "more": kw.get("more_queued", False)})
        feeds.append(cur)
        try:
            return orig_feed(self, samples, **kw)
        finally:
            cur["done"] = time.time()
            feeds[-1] = dict(cur)

    # the Whisper calls inside one live recognition: the decode, the coverage check's
    # re-decodes of uncovered stretches, the recogniser's decode again without context
    engine_decode = engine.transcriber.engine.decode
    inner: list[float] = []

    def decode(*a, **kw):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return engine_decode(*a, **kw)
        finally:
            inner.append(time.perf_counter() - t0)

    engine.transcriber.engine.decode = decode  # type: ignore[method-assign]
    pl.StreamingPipeline._partial = _partial  # type: ignore[method-assign]
    pl.StreamingPipeline._final = _final  # type: ignore[method-assign]
    pl.StreamingPipeline._recognise = _recognise  # type: ignore[method-assign]
    pl.StreamingPipeline._diarize_block = _diarize_block  # type: ignore[method-assign]
    pl.StreamingPipeline.feed = feed  # type: ignore[method-assign]

    manager = engine.manager(Path(tempfile.mkdtemp(prefix="live-trace-")) / "sessions")
    source = FileSource(wav, realtime=True)
    session = manager.create(engine.options(lang), source=source.description, title="trace")
    events: list[Any] = []
    session.bus.subscribe(events.append)
    session.start_source(source)
    start = time.time()
    session.wait_source()
    session.stop()
    manager.forget(session.id)

    finals = [e for e in events if e.type == "final"]
    rows = []
    for e in finals:
        end = start + e.data["end"]
        emitted = e.emitted_at
        # the feed that emitted it: the last one taken before the emit
        f = max((f for f in feeds if f["taken"] <= emitted + 1e-6), key=lambda f: f["taken"], default=None)
        rec = [calls[i] for i in f.get("rec", [])] if f else []
        own = [c for c in rec if c["kind"] == "final" and c["t1"] <= emitted + 1e-3]
        before = [c for c in rec if c not in own and c["t1"] <= emitted + 1e-3]
        rows.append({
            "id": e.data["id"], "commit": commit_of.get(e.data["utterance"], "?"), "end": round(e.data["end"], 2), "latency": round(emitted - end, 2),
            "block_fed": round(f["clock1"] + start - end, 2) if f else None,
            "queue_wait": round(f["taken"] - (start + f["clock1"]), 2) if f else None,
            "diar_s": round(f.get("diar_s", 0.0), 2) if f else None,
            "decodes_before": [(c["kind"], round(c["t1"] - c["t0"], 2), round(c["audio_s"], 1), round(c["context_s"], 1), c["whisper"]) for c in before],
            "own_decode": [(round(c["t1"] - c["t0"], 2), round(c["audio_s"], 1), round(c["context_s"], 1), c["whisper"]) for c in own],
            "text": e.data["text"][:24],
        })
    stats = session.folder.read_meta().get("live_stats", {})
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))
    lat = [r["latency"] for r in rows]
    import numpy as np

    diar = [f.get("diar_s", 0.0) for f in feeds]
    by_kind: dict[str, list[float]] = {}
    for c in calls:
        by_kind.setdefault(c["kind"], []).append(c["t1"] - c["t0"])
    print(f"finals {len(lat)} p50 {np.percentile(lat, 50):.2f} p95 {np.percentile(lat, 95):.2f} max {max(lat):.2f}")
    for c in sorted({r["commit"] for r in rows}):
        xs = [r["latency"] for r in rows if r["commit"] == c]
        print(f"  {c}: {len(xs)} finals, latency p50 {np.percentile(xs, 50):.2f} max {max(xs):.2f}")
    print(f"queue wait p50 {np.percentile([r['queue_wait'] for r in rows], 50):.2f} "
          f"p95 {np.percentile([r['queue_wait'] for r in rows], 95):.2f}")
    print(f"diarizer per block: mean {statistics.mean(diar):.3f} s, max {max(diar):.2f} s, "
          f"total {sum(diar):.1f} s over {len(feeds)} blocks")
    extra = [c for c in calls if len(c["whisper"]) > 1]
    print(f"recognitions with more than one Whisper call: {len(extra)} of {len(calls)}; "
          f"extra Whisper time {sum(sum(c['whisper'][1:]) for c in extra):.1f} s")
    for k, v in by_kind.items():
        print(f"decode {k}: n {len(v)} mean {statistics.mean(v):.2f} s max {max(v):.2f} total {sum(v):.1f}")
    print("commits", stats.get("commits"), "degrades", stats.get("degrade_changes"), "max_lag", stats.get("max_lag"))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "calls": calls, "feeds": feeds, "start": start}, ensure_ascii=False))
    sys.stdout.flush()
    os._exit(0)  # the second pass may still be decoding (see benchmarks/live.py child)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
