"""Re-deciding the diarization thresholds per file on the development set.

    python benchmarks/diarization_tune.py               # development part only
    python benchmarks/diarization_tune.py --frozen      # the frozen part, for the final report
    python benchmarks/diarization_tune.py --live        # also the live quiet-speech value

Files: every multi-speaker development file (``benchmarks.diarization.dev_files``): the pyannote
sample, the AMI clip (inside its UEM), the three simulated conversations and the generated
hearings and four-speaker meetings of the development part (odd seeds, see
``benchmarks/make_hearings.py``). The frozen part (even seeds) is only scored with ``--frozen``,
after the choices are made.

One value is moved at a time from the current defaults; for each candidate every file's DER
(no collar) and speaker count is compared with the defaults' on the same file. A candidate is
kept only when it is better (by 0.5 points or a right count where the default's was wrong) on
more files than it is worse, and never makes a right count wrong: the mean of a few files
does not decide. The segmentation and embeddings (the costly part) are computed once per file.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.diarization import der, dev_files, load_ref  # noqa: E402

# candidates around the defaults; the defaults are in the first position of none of them
GRID = {
    "threshold": [0.5, 0.55, 0.58, 0.62, 0.65, 0.7],
    "distinct_similarity": [None, 0.2, 0.25, 0.35, 0.4],
    "min_cluster_size": [3, 4, 8, 10],
    "min_clean_speech": [0.5, 0.75, 1.5],
    "split.margin": [0.2, 0.25, 0.35, 0.4],
    "split.min_similarity": [0.3, 0.35, 0.45, 0.5],
}
LIVE_GRID = {"quiet_speech": [None, 0.3, 0.35, 0.4, 0.45, 0.5]}
BETTER = 0.005  # half a DER point


class CachingEmbedder:
    """The CAM++ embedder with its results kept per piece of audio: most candidates give most
    files the same turns, so the voice split's windows are embedded once, not once per
    candidate (a speed-up only: the same calls on the same inputs)."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self._feats: dict = {}
        self._windows: dict = {}

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def features(self, samples):  # type: ignore[no-untyped-def]
        import hashlib

        key = hashlib.sha1(np.ascontiguousarray(samples).tobytes()).hexdigest()
        if key not in self._feats:
            self._feats[key] = self.inner.features(samples)
        return self._feats[key]

    def embed_windows(self, feats, starts, width):  # type: ignore[no-untyped-def]
        key = (id(feats), tuple(starts), width)
        if key not in self._windows:
            self._windows[key] = self.inner.embed_windows(feats, starts, width)
        return self._windows[key]


def _prepared(diarizer, f: dict, cache: Path):  # type: ignore[no-untyped-def]
    """Segmentation and embeddings of one file, kept on disk between runs (out/tune_cache)."""
    import hashlib
    import pickle

    audio = Path(f["audio"])
    key = hashlib.sha256(f"{audio.resolve()}|{audio.stat().st_mtime_ns}|{diarizer.options}".encode()).hexdigest()[:16]
    path = cache / f"{audio.stem}-{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    prepared = diarizer.prepare(f["samples"])
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(prepared))
    return prepared


def _options(base, name: str, value):  # type: ignore[no-untyped-def]
    if name.startswith("split."):
        return replace(base, split_by_voice=replace(base.split_by_voice, **{name[6:]: value}))
    return replace(base, **{name: value})


def _score(f, turns) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    span = f["uem"]
    n = len({t[2] for t in turns if t[1] > span[0] and t[0] < span[1]})
    return der(f["ref"], turns, span, 0.0), n


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frozen", action="store_true", help="score the frozen part instead")
    ap.add_argument("--live", action="store_true", help="also sweep the live quiet-speech value")
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--only", nargs="*", metavar="NAME=VALUE",
                    help="score only these candidates (e.g. the ones kept, on the frozen part)")
    args = ap.parse_args()

    from scribe.audio import decode_audio
    from scribe.services import load_diarization, offline_diarizer
    from scribe.settings import get_settings

    settings = get_settings()
    # the diarizer the server builds (scribe.services); each candidate is a copy with other options
    diarizer = offline_diarizer(settings, load_diarization(settings))
    diarizer.models = replace(diarizer.models, embedder=CachingEmbedder(diarizer.models.embedder))
    base = diarizer.options
    files = [f for f in dev_files() if (f["part"] == "frozen") == args.frozen]
    for f in files:
        f["samples"] = decode_audio(f["audio"]).samples
        f["duration"] = len(f["samples"]) / 16000
        f["uem"] = f["uem"] or (0.0, f["duration"])
        f["ref"] = load_ref(f["rttm"])
        f["true_n"] = len({t[2] for t in f["ref"]})
        f["prepared"] = _prepared(diarizer, f, ROOT / "out" / "tune_cache")
        print(f"prepared {f['name']}", file=sys.stderr, flush=True)

    def run(options) -> dict[str, tuple[float, int]]:  # type: ignore[no-untyped-def]
        d = type(diarizer)(diarizer.models, options, workers=diarizer.workers)
        out = {}
        for f in files:
            r = d.finish(f["prepared"], f["duration"], samples=f["samples"])
            out[f["name"]] = _score(f, [(t.start, t.end, t.speaker) for t in r.turns])
        return out

    results: dict[str, dict] = {"default": run(base)}
    print(f"\n{'file':28s} {'DER':>7s} count/true")
    for f in files:
        d, n = results["default"][f["name"]]
        print(f"{f['name']:28s} {d:7.1%} {n}/{f['true_n']}")
    summary = []
    grid = GRID
    if args.only is not None:
        grid = {}
        for item in args.only:
            name, value = item.split("=", 1)
            if name in GRID:
                grid.setdefault(name, []).append(None if value == "None" else type_of(name)(value))
    for name, values in grid.items():
        for value in values:
            key = f"{name}={value}"
            opts = _options(base, name, value)
            if opts == base:
                continue
            results[key] = run(opts)
            summary.append(_compare(key, results["default"], results[key], files))
            print(summary[-1]["line"], flush=True)
    if args.live:
        summary += _live(files, diarizer.models, settings, results, args.only)
    if args.json:
        args.json.write_text(json.dumps({"files": [f["name"] for f in files], "results": results,
                                         "summary": summary}, ensure_ascii=False, indent=1))
    return 0


def type_of(name: str):  # type: ignore[no-untyped-def]
    return int if name == "min_cluster_size" else float


def _compare(key: str, default: dict, cand: dict, files: list) -> dict:
    wins, losses, count_fixed, count_broken = [], [], [], []
    for f in files:
        (d0, n0), (d1, n1) = default[f["name"]], cand[f["name"]]
        right0, right1 = n0 == f["true_n"], n1 == f["true_n"]
        if right1 and not right0:
            count_fixed.append(f["name"])
        if right0 and not right1:
            count_broken.append(f["name"])
        if d1 < d0 - BETTER or (right1 and not right0):
            wins.append(f["name"])
        elif d1 > d0 + BETTER or (right0 and not right1):
            losses.append(f["name"])
    mean0 = sum(default[f["name"]][0] for f in files) / len(files)
    mean1 = sum(cand[f["name"]][0] for f in files) / len(files)
    keep = len(wins) > len(losses) and not count_broken
    line = (f"{key:28s} wins {len(wins):2d} losses {len(losses):2d} "
            f"counts +{len(count_fixed)}/-{len(count_broken)} mean DER {mean0:.1%} -> {mean1:.1%}"
            f"{'  KEEP' if keep else ''}  wins: {', '.join(wins)}  losses: {', '.join(losses)}")
    return {"key": key, "wins": wins, "losses": losses, "count_fixed": count_fixed,
            "count_broken": count_broken, "mean_default": mean0, "mean": mean1, "keep": keep, "line": line}


def _live(files, models, settings, results, only=None) -> list[dict]:  # type: ignore[no-untyped-def]
    from diarize import StreamingDiarizer
    from diarize.streaming import StreamingOptions
    from scribe.types import AudioChunk

    base = StreamingOptions.from_settings(settings)

    def run(opts) -> dict[str, tuple[float, int]]:  # type: ignore[no-untyped-def]
        out = {}
        for f in files:
            live = StreamingDiarizer(models, opts)
            x = f["samples"]
            for i in range(0, len(x), 8000):
                live.feed(AudioChunk(i / 16000, x[i : i + 8000]))
            live.flush()
            out[f["name"]] = _score(f, [(t.start, t.end, t.speaker) for t in live.turns])
        return out

    results["live default"] = run(base)
    print(f"\n{'file':28s} {'live DER':>8s} count/true")
    for f in files:
        d, n = results["live default"][f["name"]]
        print(f"{f['name']:28s} {d:8.1%} {n}/{f['true_n']}")
    summary = []
    grid = LIVE_GRID
    if only is not None:
        grid = {}
        for item in only:
            name, value = item.split("=", 1)
            if name in LIVE_GRID:
                grid.setdefault(name, []).append(None if value == "None" else float(value))
    for name, values in grid.items():
        for value in values:
            opts = replace(base, **{name: value})
            if opts == base:
                continue
            key = f"live {name}={value}"
            results[key] = run(opts)
            summary.append(_compare(key, results["live default"], results[key], files))
            print(summary[-1]["line"], flush=True)
    return summary


if __name__ == "__main__":
    raise SystemExit(main())
