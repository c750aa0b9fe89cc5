"""Speaker diarization benchmark: ours (offline and live) side by side with senko 0.2.2.

    python benchmarks/diarization.py            # prints the tables, writes docs/benchmarks.md
    python benchmarks/diarization.py --no-write

senko runs in its own environment (default ``.bench-venv``; create it with
``bash scripts/setup_bench_venv.sh``, which also rebuilds senko's fbank library from its sdist
on CPUs without AVX-512), never in the product's. Each system runs in its own process over the same 16 kHz samples, one
after the other in this run, so the figures share the machine's load; load averages are printed.

Files (../shared/data): the pyannote sample (2-speaker call), the AMI clip scored inside its
UEM (first 30 s), and the two simulated conversations. Figures: DER with no collar and with a
0.25 s collar (pyannote.metrics), speakers found vs true (count not given), real-time factor
(wall and CPU seconds per audio second, after model load) and peak memory of each process,
streaming DER and the largest lag of settled turns behind the audio; then cpWER/cpCER of
``scribe transcribe --diarize`` on the conversations, and the same words attributed with
senko's turns.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import machine_line, md_table, write_section  # noqa: E402

SHARED = Path(os.environ.get("SCRIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
FILES = {
    # name: (audio, reference rttm, uem (start, end) or None, language, transcript json)
    "pyannote sample": ("audio/en_pyannote_sample.wav", "ref/en_pyannote_sample.rttm", None, "en", None),
    "AMI clip (UEM 0-30 s)": ("audio/en_pyannote_debug_dev00.wav", "ref/en_pyannote_debug_dev00.rttm", (0.0, 30.0), "en", None),
    "conv_zh_dev_01": ("conversations/conv_zh_dev_01.wav", "conversations/conv_zh_dev_01.rttm", None, "zh", "conversations/conv_zh_dev_01.json"),
    "conv_en_dev_01": ("conversations/conv_en_dev_01.wav", "conversations/conv_en_dev_01.rttm", None, "en", "conversations/conv_en_dev_01.json"),
    "conv_zh_dev_02": ("conversations/conv_zh_dev_02.wav", "conversations/conv_zh_dev_02.rttm", None, "zh", "conversations/conv_zh_dev_02.json"),
}


def dev_files(hearings: Path | None = None) -> list[dict]:
    """Every multi-speaker development file: the shared ones above (part "dev") and the
    generated hearings and four-speaker meetings (benchmarks/make_hearings.py; even seeds are
    the frozen part). Each: name, audio, rttm, uem, language, json, part, kind."""
    from benchmarks.make_hearings import DEFAULT_OUT, ensure

    out = [
        {"name": name, "audio": SHARED / a, "rttm": SHARED / r, "uem": uem, "language": lang,
         "json": SHARED / j if j else None, "part": "dev", "kind": "shared"}
        for name, (a, r, uem, lang, j) in FILES.items()
    ]
    folder = hearings or DEFAULT_OUT
    for f in ensure(folder)["files"]:
        out.append({"name": f["id"], "audio": folder / f["wav"], "rttm": folder / f["rttm"], "uem": None,
                    "language": "zh", "json": folder / f["json"], "part": f["part"], "kind": f["kind"]})
    return out


def load_ref(path: Path) -> list[tuple[float, float, str]]:
    return _ref_turns(path)


def _annotation(turns):  # type: ignore[no-untyped-def]
    from pyannote.core import Annotation, Segment

    ann = Annotation()
    for i, (s, e, spk) in enumerate(turns):
        if e > s:
            ann[Segment(s, e), i] = spk
    return ann


def _ref_turns(path: Path) -> list[tuple[float, float, str]]:
    out = []
    for line in path.read_text().splitlines():
        f = line.split()
        out.append((float(f[3]), float(f[3]) + float(f[4]), f[7]))
    return out


def der(ref, hyp, uem: tuple[float, float], collar: float) -> float:  # type: ignore[no-untyped-def]
    from pyannote.core import Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    return float(metric(_annotation(ref), _annotation(hyp), uem=Timeline([Segment(*uem)])))


def _run(python: str, system: str, wavs: list[str]) -> dict:
    return _wait(system, _start(python, system, wavs))


def _start(python: str, system: str, wavs: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [python, str(ROOT / "benchmarks" / "diarization_runner.py"), "--system", system, *wavs],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )


def _wait(system: str, proc: subprocess.Popen) -> dict:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{system} failed:\n{err[-3000:]}")
    return json.loads(out)


# -- cpWER -------------------------------------------------------------------------------
def _tokens(text: str, language: str) -> list[str]:
    if language == "zh":
        return [c for c in text if re.match(r"[\u4e00-\u9fff0-9a-zA-Z]", c)]
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def cp_error(ref: dict[str, list[str]], hyp: dict[str, list[str]]) -> tuple[int, int]:
    """Concatenated minimum-permutation errors: (errors, reference tokens)."""
    from rapidfuzz.distance import Levenshtein
    from scipy.optimize import linear_sum_assignment

    r, h = list(ref.values()), list(hyp.values())
    n = max(len(r), len(h), 1)
    cost = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            a = r[i] if i < len(r) else []
            b = h[j] if j < len(h) else []
            cost[i, j] = Levenshtein.distance(a, b)
    rows, cols = linear_sum_assignment(cost)
    return int(cost[rows, cols].sum()), sum(len(x) for x in r)


def _by_speaker(items, language: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[str]] = {}
    for start, spk, text in sorted(items, key=lambda x: x[0]):
        out.setdefault(spk or "?", []).extend(_tokens(text, language))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--bench-python", default=str(ROOT / ".bench-venv" / "bin" / "python"))
    ap.add_argument("--no-live", action="store_true", help="leave out the streaming run")
    ap.add_argument("--no-transcripts", action="store_true", help="leave out cpWER (scribe transcribe --diarize)")
    ap.add_argument("--parallel", action="store_true",
                    help="run ours and senko at the same time (a busy shared machine; RTFs then share it)")
    args = ap.parse_args()
    if not Path(args.bench_python).exists():
        raise SystemExit(
            f"no benchmark environment at {args.bench_python}: bash scripts/setup_bench_venv.sh"
        )
    from scribe.audio import decode_audio

    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="diar-bench-"))
    files = dev_files()
    wavs: dict[str, str] = {}
    for f in files:
        x = decode_audio(f["audio"]).samples
        path = tmp / (Path(f["audio"]).stem + ".wav")
        sf.write(path, x, 16000, subtype="FLOAT")
        wavs[f["name"]] = str(path)
    order = list(wavs.values())
    systems = [(sys.executable, "ours"), (args.bench_python, "senko")]
    if not args.no_live:
        systems.insert(1, (sys.executable, "ours-live"))
    if args.parallel:
        procs = [(name, _start(py, name, order)) for py, name in systems]
        runs = {name: _wait(name, proc) for name, proc in procs}
    else:
        runs = {name: _run(py, name, order) for py, name in systems}
    load_after = os.getloadavg()

    rows, live_rows, res_rows = [], [], []
    tally = {p: {"files": 0, "der": 0, "der25": 0, "count": 0, "senko_count": 0} for p in ("dev", "frozen")}
    for f in files:
        name, ref, uem = f["name"], _ref_turns(f["rttm"]), f["uem"]
        r = {k: v["files"][wavs[name]] for k, v in runs.items()}
        dur = r["ours"]["duration_s"]
        span = uem or (0.0, dur)
        ours0, ours25 = der(ref, r["ours"]["turns"], span, 0.0), der(ref, r["ours"]["turns"], span, 0.25)
        sk0, sk25 = der(ref, r["senko"]["turns"], span, 0.0), der(ref, r["senko"]["turns"], span, 0.25)
        live0 = der(ref, r["ours-live"]["turns"], span, 0.0) if "ours-live" in r else None
        true_n = len({t[2] for t in ref})
        def n_in(turns):  # type: ignore[no-untyped-def]
            return len({t[2] for t in turns if t[1] > span[0] and t[0] < span[1]})
        t = tally[f["part"]]
        t["files"] += 1
        t["der"] += ours0 < sk0
        t["der25"] += ours25 < sk25
        t["count"] += n_in(r["ours"]["turns"]) == true_n
        t["senko_count"] += n_in(r["senko"]["turns"]) == true_n
        rows.append([
            name, f["part"], f"{ours0:.1%}", f"{sk0:.1%}", f"{ours0 / sk0:.2f}" if sk0 else "-",
            f"{ours25:.1%}", f"{sk25:.1%}", f"{ours25 / sk25:.2f}" if sk25 else "-",
            f"{n_in(r['ours']['turns'])} / {n_in(r['senko']['turns'])} / {true_n}",
        ])
        if live0 is not None:
            live_rows.append([
                name, f["part"], f"{ours0:.1%}", f"{live0:.1%}", f"{(live0 - ours0) * 100:+.1f}",
                f"{r['ours-live']['max_lag_s']:.2f} s", f"{n_in(r['ours-live']['turns'])} / {true_n}",
            ])
        res_rows.append([
            name, f"{dur:.1f}",
            f"{r['ours']['wall_s'] / dur:.3f} / {r['ours']['cpu_s'] / dur:.3f}",
            f"{r['senko']['wall_s'] / dur:.3f} / {r['senko']['cpu_s'] / dur:.3f}",
            f"{r['ours-live']['wall_s'] / dur:.3f} / {r['ours-live']['cpu_s'] / dur:.3f}" if live0 is not None else "-",
        ])
    tally_rows = [[p, t["files"], f"{t['der']} / {t['files']}", f"{t['der25']} / {t['files']}",
                   f"{t['count']} / {t['files']}", f"{t['senko_count']} / {t['files']}"]
                  for p, t in tally.items()]

    # cpWER / cpCER of `scribe transcribe --diarize` on the conversations
    wer_rows = []
    from diarize import attribute_words
    from scribe.types import SpeakerTurn, Transcript

    for name, (audio, rttm, uem, lang, refjson) in ({} if args.no_transcripts else FILES).items():
        if not refjson:
            continue  # the generated hearings are left out: whisper over them all is long
        out = tmp / (Path(audio).stem + ".json")
        cmd = [str(Path(sys.executable).parent / "scribe"), "transcribe", str(SHARED / audio),
               "--diarize", "-l", lang, "-o", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        if proc.returncode != 0:
            raise SystemExit(f"scribe transcribe --diarize failed: {proc.stderr[-2000:]}")
        ours_t = Transcript.from_dict(json.loads(out.read_text(encoding="utf-8")))
        ref_items = [(x["start"], x["speaker"], x["text"]) for x in json.loads((SHARED / refjson).read_text(encoding="utf-8"))]
        ref_tok = _by_speaker(ref_items, lang)
        e_ours, n = cp_error(ref_tok, _by_speaker([(s.start, s.speaker, s.text) for s in ours_t.segments], lang))
        senko_turns = [SpeakerTurn(s, e, f"S{k}") for s, e, k in runs["senko"]["files"][wavs[name]]["turns"]]
        senko_t = attribute_words(ours_t, senko_turns)
        e_senko, _ = cp_error(ref_tok, _by_speaker([(s.start, s.speaker, s.text) for s in senko_t.segments], lang))
        ref_all = [tok for _s, _spk, text in sorted(ref_items) for tok in _tokens(text, lang)]
        hyp_all = [tok for s in ours_t.segments for tok in _tokens(s.text, lang)]
        e_plain, _ = cp_error({"all": ref_all}, {"all": hyp_all})
        unit = "cpCER" if lang == "zh" else "cpWER"
        wer_rows.append([name, unit, f"{e_ours / n:.1%}", f"{e_senko / n:.1%}", f"{e_plain / n:.1%}"])

    live_mb = f"live {runs['ours-live']['peak_rss_mb']:.0f} MB, " if "ours-live" in runs else ""
    parts = [
        "## Speaker diarization (`benchmarks/diarization.py`)",
        f"{machine_line()}. Load average before/after the run: "
        f"{load_before[0]:.1f} / {load_after[0]:.1f} (other engineers' jobs share the 2 cores; "
        "absolute times are inflated by that, the side-by-side ratios are what to compare"
        + ("; ours and senko ran at the same time" if args.parallel else "") + "). "
        "Ours: pyannote segmentation-3.0 + CAM++ zh-en + agglomerative clustering "
        "(`diarize.OfflineDiarizer`, defaults from `Settings`); senko 0.2.2: its own CPU pipeline "
        "(Silero VAD, CAM++ zh-en, its clustering) in a separate venv. Count not given to either.",
        "Files: the pyannote sample, the AMI clip (inside its UEM), the three simulated "
        "conversations of `../shared/data`, and the generated desk hearings and four-speaker "
        "meetings (`benchmarks/make_hearings.py`, described in docs/diarization.md). Part "
        "`frozen`: never looked at while the thresholds were decided (even seeds).",
        "### Where ours is below senko, and counts right",
        md_table(["part", "files", "DER below senko (no collar)", "DER below senko (0.25 s collar)",
                  "count right, ours", "count right, senko"], tally_rows),
        "### DER (lower is better; ratio = ours / senko) and speakers found",
        md_table(["file", "part", "DER ours", "DER senko", "ratio", "DER ours (0.25 s collar)",
                  "DER senko (0.25 s collar)", "ratio", "speakers ours / senko / true"], rows),
        "### Speed and memory (after model load)",
        md_table(["file", "audio s", "RTF ours wall / CPU", "RTF senko wall / CPU", "RTF live wall / CPU"], res_rows),
        f"Peak memory (whole process): ours {runs['ours']['peak_rss_mb']:.0f} MB, "
        f"{live_mb}senko {runs['senko']['peak_rss_mb']:.0f} MB. "
        f"Model load: ours {runs['ours']['load_s']:.1f} s, senko {runs['senko']['load_s']:.1f} s.",
    ]
    if live_rows:
        parts += ["### Streaming (`diarize.StreamingDiarizer`, 0.5 s chunks) vs offline, no collar",
                  md_table(["file", "part", "DER offline", "DER live", "live - offline (points)",
                            "max lag of settled turns", "speakers live / true"], live_rows)]
    else:
        parts.append("Streaming and speaker-attributed transcripts were not re-run in this run "
                     "(`--no-live --no-transcripts`); their last figures are in the git history of this file.")
    if wer_rows:
        parts += ["### Speaker-attributed transcripts (`scribe transcribe --diarize`, whisper-base)",
                  md_table(["conversation", "metric", "ours", "same words, senko turns",
                            "speaker-agnostic (ASR only)"], wer_rows)]
    md = "\n\n".join(parts)
    print(md)
    if not args.no_write:
        write_section("diarization", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
