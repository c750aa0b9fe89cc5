"""Mandarin development set: `scribe transcribe` vs raw faster-whisper, and the tuned choices.

    python -m benchmarks.asr_zh            # scribe vs raw on every file, both parts
    python -m benchmarks.asr_zh --tune     # each tuned choice against its alternatives, per file,
                                           # on the tuning part only (the frozen third is never run)

The set and its frozen third are fixed in ``benchmarks/devset.py`` (a hash of the file id).
Figures: CER per file and over the set (tier A apart from tier B; tier C never for accuracy),
seconds of VAD speech with no text for each system, real-time factor, per-file wins and losses.

"VAD speech with no text": windows the Silero VAD (the product's locked model, default
settings) calls speech, inside its speech regions, that no word (scribe: no word and no
unrecognised segment) covers within 0.25 s, counted only in stretches of at least 0.5 s
(``scribe.coverage``). The raw engine is run with its defaults, which give no word times: its
no-text figure comes from a second decode of the same samples with ``word_timestamps=True``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks.devset import DevFile, mandarin_devset
from benchmarks.report import machine_line, md_table, write_section


@dataclass
class Run:
    text: str
    seconds: float
    lost_s: float  # VAD speech with no text and no flag
    flagged_s: float = 0.0  # VAD speech marked unrecognised (scribe only)


class Bench:
    def __init__(self, threads: int, language: str | None = None) -> None:
        from faster_whisper import WhisperModel

        from scribe.settings import Settings
        from scribe.transcribe import Transcriber

        self.threads = threads
        self.language = language  # None: both detect it (their defaults)
        settings = Settings(cpu_threads=threads)
        self.scribe = Transcriber.load(settings, "whisper-base")
        self.raw = WhisperModel(str(self.scribe.engine.model_dir), device="cpu",
                                compute_type=settings.compute_type, cpu_threads=settings.threads)

    def _lost(self, samples: np.ndarray, spans: list[tuple[float, float]]) -> float:
        from scribe.asr.vad import VadOptions, regions_from_probs
        from scribe.coverage import uncovered
        from scribe.transcribe import _inside

        probs = self.scribe.vad.speech_probs(samples)
        regions = regions_from_probs(probs, samples.size / 16000, VadOptions())
        return sum(g.speech_s for g in uncovered(_inside(probs, regions), spans))

    def run_raw(self, samples: np.ndarray) -> Run:
        t0 = time.perf_counter()
        segments = list(self.raw.transcribe(samples, language=self.language)[0])
        seconds = time.perf_counter() - t0
        # its defaults give no word times, and segment times are too coarse to test against
        # the VAD (a segment often ends a second early): the no-text figure comes from a
        # second decode with word times, the CER and time from the defaults
        timed = list(self.raw.transcribe(samples, language=self.language, word_timestamps=True)[0])
        spans = [(w.start, w.end) for s in timed for w in (s.words or ())]
        return Run("".join(s.text for s in segments), seconds, self._lost(samples, spans))

    def run_scribe(self, samples: np.ndarray, options=None) -> Run:  # type: ignore[no-untyped-def]
        from scribe.coverage import spans_of
        from scribe.transcribe import TranscribeOptions

        t0 = time.perf_counter()
        t = self.scribe.transcribe(samples, options or TranscribeOptions(language=self.language or "auto"))
        seconds = time.perf_counter() - t0
        flagged = (t.info.get("coverage") or {}).get("unrecognised_s", 0.0)
        return Run(t.text, seconds, self._lost(samples, spans_of(t.segments)), flagged)


def cer(refs: list[str], hyps: list[str]) -> float:
    from scribe.text.normalize import error_rate

    return error_rate(refs, hyps, "zh")


def load(f: DevFile) -> np.ndarray:
    from scribe.audio import decode_audio

    return decode_audio(f.path).samples


# -- scribe vs raw ---------------------------------------------------------------------------
def compare(bench: Bench, files: list[DevFile], cache: Path | None = None) -> str:
    rows, res = [], []
    done: dict[str, dict] = {}
    if cache is not None and cache.exists():  # resume a run that was stopped
        done = {d["id"]: d for d in map(json.loads, cache.read_text(encoding="utf-8").splitlines())}
    for f in files:
        if f.id in done:
            raw, ours = Run(**done[f.id]["raw"]), Run(**done[f.id]["ours"])
        else:
            x = load(f)
            raw, ours = bench.run_raw(x), bench.run_scribe(x)
            if cache is not None:
                with cache.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"id": f.id, "raw": raw.__dict__, "ours": ours.__dict__},
                                        ensure_ascii=False) + "\n")
        e_raw, e_ours = cer([f.reference], [raw.text]), cer([f.reference], [ours.text])
        res.append((f, raw, ours, e_raw, e_ours))
        acc = f.tier != "C"
        rows.append([f.id, f.part, f.tier, f"{f.duration_s:.1f}",
                     f"{e_raw:.1%}" if acc else "-", f"{e_ours:.1%}" if acc else "-",
                     ("win" if e_ours < e_raw else "loss" if e_ours > e_raw else "tie") if acc else "-",
                     f"{raw.lost_s:.1f}", f"{ours.lost_s:.1f}", f"{ours.flagged_s:.1f}",
                     f"{raw.seconds / f.duration_s:.3f}", f"{ours.seconds / f.duration_s:.3f}"])
        print(f"{f.id:40} {f.part:6} {f.tier} raw {e_raw:6.1%} lost {raw.lost_s:4.1f} | scribe {e_ours:6.1%} "
              f"lost {ours.lost_s:4.1f} flagged {ours.flagged_s:4.1f} | {ours.text[:40]}", flush=True)

    summary = []
    for part in ("tune", "frozen", "all"):
        for tier in ("A", "B"):
            sel = [r for r in res if r[0].tier == tier and (part == "all" or r[0].part == part)]
            if not sel:
                continue
            refs = [r[0].reference for r in sel]
            c_raw, c_ours = cer(refs, [r[1].text for r in sel]), cer(refs, [r[2].text for r in sel])
            wins = sum(r[4] < r[3] for r in sel)
            losses = sum(r[4] > r[3] for r in sel)
            summary.append([part, tier, len(sel), f"{c_raw:.2%}", f"{c_ours:.2%}",
                            f"{c_ours / c_raw:.2f}x" if c_raw else "-", f"{wins}/{losses}/{len(sel) - wins - losses}"])
    lost = []
    for part in ("tune", "frozen", "all"):
        sel = [r for r in res if part == "all" or r[0].part == part]
        if not sel:
            continue
        dur = sum(r[0].duration_s for r in sel)
        lost.append([part, len(sel), f"{dur:.0f}", f"{sum(r[1].lost_s for r in sel):.1f}",
                     f"{sum(r[2].lost_s for r in sel):.1f}", f"{sum(r[2].flagged_s for r in sel):.1f}",
                     f"{sum(r[1].seconds for r in sel) / dur:.3f}", f"{sum(r[2].seconds for r in sel) / dur:.3f}",
                     f"{sum(r[2].seconds for r in sel) / sum(r[1].seconds for r in sel):.2f}x"])
    lang = bench.language
    how = (f"both told the language (`language=\"{lang}\"`, `scribe transcribe -l {lang}`), otherwise defaults"
           if lang else "`WhisperModel(<same locked files>).transcribe(samples)` with its defaults (beam 5, "
           "language detected, no VAD); scribe with its defaults (`scribe transcribe FILE`, language detected)")
    tiers = "".join(sorted({f.tier for f in files}))
    return "\n".join([
        "## ASR on the Mandarin development set: `scribe transcribe` vs raw faster-whisper (whisper-base)"
        + (f", language given ({lang}), tiers {tiers}" if lang else ""),
        "",
        f"`python -m benchmarks.asr_zh{f' --language {lang}' if lang else ''}"
        f"{' --tier ' + ' '.join(tiers) if tiers != 'ABC' else ''}` — {machine_line()}; int8, {bench.threads} threads, "
        f"both systems in one process, file by file, on the same decoded samples. Peer: {how}. "
        "Set: every Mandarin clip of `manifest.json` and `manifest2.json` plus `conv_zh_dev_02` "
        f"({len(files)} files, tiers {tiers}); the frozen third (`benchmarks/devset.py`, sha256 of the id mod 3 == 0) "
        "was fixed before any result and never used to choose anything. CER after Simplified + "
        "numerals + punctuation removal, over the concatenated set (per file below). Tier C has "
        "vendor/model references: never scored.",
        "",
        md_table(["part", "tier", "files", "raw CER", "scribe CER", "scribe/raw", "scribe wins/losses/ties"], summary),
        "",
        "VAD speech with no text (seconds; see the benchmark's docstring), and speed:",
        "",
        md_table(["part", "files", "audio s", "raw: no text", "scribe: no text, unflagged",
                  "scribe: flagged 【未能识别】", "raw RTF", "scribe RTF", "scribe/raw time"], lost),
        "",
        md_table(["file", "part", "tier", "s", "raw CER", "scribe CER", "scribe", "raw no-text s",
                  "scribe no-text s", "scribe flagged s", "raw RTF", "scribe RTF"], rows),
    ])


# -- the tuned choices, per file, on the tuning part -----------------------------------------
def variants() -> dict[str, Callable]:
    """name -> a function that runs scribe with that choice changed (the rest as shipped)."""
    from scribe import transcribe as T
    from scribe.asr.vad import VadOptions

    def opts(**kw):  # type: ignore[no-untyped-def]
        return lambda bench, x: bench.run_scribe(x, T.TranscribeOptions(**kw))

    def simplified_prompt(bench, x):  # type: ignore[no-untyped-def]
        old = T.ZH_STYLE_PROMPT
        T.ZH_STYLE_PROMPT = "以下是普通话的句子。"
        try:
            return bench.run_scribe(x)
        finally:
            T.ZH_STYLE_PROMPT = old

    def no_filter(bench, x):  # type: ignore[no-untyped-def]
        return bench.run_scribe(x, T.TranscribeOptions(hallucination_filter=False))

    return {
        "shipped": opts(),
        "no style prompt": opts(style_prompt=False),
        "Simplified prompt": simplified_prompt,
        "VAD pad 0.1 s": opts(vad=VadOptions(pad_s=0.1)),
        "VAD pad 0.4 s": opts(vad=VadOptions(pad_s=0.4)),
        "no temperature fallback": opts(temperature=(0.0,)),
        "no hallucination filter": no_filter,
        "no coverage pass": opts(coverage=None),
    }


def tune(bench: Bench | None, files: list[DevFile], names: list[str] | None, cache: Path | None,
         baseline: Path | None) -> str:
    """Per-file results go to ``cache`` (JSON lines, resumable). "shipped" is read from the
    comparison's cache when ``baseline`` is given (the same code, the same files). Without a
    ``bench`` (--report-only) only cached variants that cover every file are reported."""
    files = [f for f in files if f.part == "tune" and f.tier in ("A", "B")]
    runs = variants()
    names = names or list(runs)
    done: dict[tuple[str, str], Run] = {}
    for path, rename in ((cache, None), (baseline, "shipped")):
        if path is not None and path.exists():
            for d in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
                if rename:
                    done[(rename, d["id"])] = Run(**d["ours"])
                else:
                    done[(d["variant"], d["id"])] = Run(**d["run"])
    errs: dict[str, dict[str, float]] = {}
    lost: dict[str, float] = {}
    secs: dict[str, float] = {}
    texts: dict[str, list[str]] = {}
    for name in names:
        if bench is None and not all((name, f.id) in done for f in files):
            continue
        errs[name], lost[name], secs[name], texts[name] = {}, 0.0, 0.0, []
        for f in files:
            r = done.get((name, f.id))
            if r is None:
                r = runs[name](bench, load(f))
                if cache is not None:
                    with cache.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps({"variant": name, "id": f.id, "run": r.__dict__}, ensure_ascii=False) + "\n")
            errs[name][f.id] = cer([f.reference], [r.text])
            lost[name] += r.lost_s
            secs[name] += r.seconds
            texts[name].append(r.text)
        print(f"{name:28} CER {cer([f.reference for f in files], texts[name]):.2%} lost {lost[name]:.1f}", flush=True)
    names = [n for n in names if n in errs]
    base = "shipped"
    rows = []
    for name in names:
        e = errs[name]
        wins = sum(e[f.id] < errs[base][f.id] for f in files)
        losses = sum(e[f.id] > errs[base][f.id] for f in files)
        a = [f for f in files if f.tier == "A"]
        rows.append([name, f"{cer([f.reference for f in a], [t for f, t in zip(files, texts[name]) if f.tier == 'A']):.2%}",
                     f"{cer([f.reference for f in files], texts[name]):.2%}",
                     f"{statistics.median(e.values()):.1%}", "-" if name == base else f"{wins}/{losses}/{len(files) - wins - losses}",
                     f"{lost[name]:.1f}", f"{secs[name]:.0f}",
                     "-" if name == base else ("alternative wins on more files" if wins > losses else "shipped kept")])
    per_file = [[f.id, f.tier] + [f"{errs[n][f.id]:.1%}" for n in names] for f in files]
    return "\n".join([
        "## Mandarin tuned choices, re-decided per file on the tuning part",
        "",
        f"`python -m benchmarks.asr_zh --tune` — {machine_line()}. Tuning part only, tiers A and B "
        f"({len(files)} files; the frozen third never run). Each row changes one choice from what "
        "ships; wins/losses/ties count files whose CER the change lowers/raises. A choice is kept "
        "only when its alternative does not win on more files than it loses (ties: files it does "
        "not change). 'shipped' is the comparison run's scribe output on the same files; decode "
        "seconds were measured under different machine load and are not comparable across rows.",
        "",
        md_table(["variant", "tier A CER", "A+B CER", "median file CER", "wins/losses/ties vs shipped",
                  "no-text s", "decode s", "per-file verdict"], rows),
        "",
        md_table(["file", "tier"] + names, per_file),
    ])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tune", action="store_true")
    ap.add_argument("--variants", nargs="*", help="only these --tune variants")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*", help="file ids (a quick look; nothing is written)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--tier", nargs="*", help="only files of these tiers")
    ap.add_argument("--language", help="tell both systems the language (default: both detect it)")
    ap.add_argument("--cache", type=Path, help="per-file results kept here; a rerun resumes")
    ap.add_argument("--baseline", type=Path, help="--tune: the comparison's --cache, read as 'shipped'")
    ap.add_argument("--report-only", action="store_true", help="--tune: report the cached variants only")
    args = ap.parse_args()
    files = mandarin_devset()
    if args.tier:
        files = [f for f in files if f.tier in set(args.tier)]
    if args.only:
        files = [f for f in files if f.id in set(args.only)]
    bench = None if args.report_only else Bench(args.threads, args.language)
    if bench is not None:
        bench.run_scribe(load(files[0]))  # warm-up
    if args.tune:
        text = tune(bench, files, args.variants, args.cache, args.baseline)
    else:
        assert bench is not None
        text = compare(bench, files, args.cache)
    print("\n" + text)
    if not args.no_write and not args.only:
        name = "asr-zh-tuning" if args.tune else "asr-zh" + (f"-language-{args.language}" if args.language else "")
        write_section(name, text)


if __name__ == "__main__":
    main()
