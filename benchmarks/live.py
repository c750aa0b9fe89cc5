"""Live sessions benchmark: real-time replay of the development conversations, the code before a
change and after it side by side in the same run, and offline ``scribe transcribe`` as the
accuracy peer.

    python -m benchmarks.live [--before REF] [--repeat 1] [--threads 2] [--no-write]
    python -m benchmarks.live --only after      # this checkout alone

``--before`` (default: the merge-base of HEAD and ``main``) is exported with ``git archive``
into a temporary folder; for each conversation and repeat, a child process replays the file
through that code, then through this checkout (the order alternates between repeats, so a
change in the machine's load falls on both). Each child builds its engine through the
composition root (``scribe.services.load_live_engine``, what ``scribe serve`` loads, live
diarization on) and replays the file at real-time pace through the whole product path
(capture -> archive -> streaming VAD -> Whisper + live diarizer -> events). Figures:

- final-text latency: ``emitted_at`` of each final minus the wall time at which the end of the
  audio it covers was fed in (p50, p95 over all finals of all runs);
- update cadence: seconds between consecutive text updates (partial or final) of one stretch of
  speech (median), and partials per minute of audio;
- degrade: how many level changes, and the seconds spent degraded (level > 0) and with live
  speaker labels off, from the ``degraded`` warnings' emit times;
- live RTF: recognition compute / audio duration; max lag (s of audio waiting);
- CER (zh) / WER (en) of the live finals and of offline ``Transcriber.transcribe`` (beam 5,
  the options ``scribe transcribe --language L`` uses), vs the references.

Writes the "live" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SCRIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
CONVERSATIONS = (("conv_zh_dev_01", "zh"), ("conv_en_dev_01", "en"), ("conv_zh_dev_02", "zh"))


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# -- the child: one replay with whatever `scribe` is on the path ---------------------------


def run_live(engine, manager, wav: Path, language: str) -> dict:  # type: ignore[no-untyped-def]
    from scribe.live.sources import FileSource

    source = FileSource(wav, realtime=True)
    session = manager.create(engine.options(language), source=source.description, title="benchmark")
    events = []
    session.bus.subscribe(events.append)
    cpu0, wall0 = cpu_seconds(), time.time()
    # the source paces itself from its own start: sample s arrives at about start + s / 16000
    session.start_source(source)
    start_wall = time.time()
    session.wait_source()
    end_wall = time.time()
    session.stop()
    cpu1, wall1 = cpu_seconds(), time.time()
    manager.forget(session.id)
    finals = [e for e in events if e.type == "final"]
    partials = [e for e in events if e.type == "partial" and e.data["text"]]
    # Cadence: seconds between consecutive text updates (a partial, or a final) of one stretch of
    # speech, i.e. an update whose audio continues the previous one's. Per utterance id alone
    # would miss it: an agreement commit ends an utterance and the rest goes on as the next.
    gaps = []
    texts = [e for e in events if (e.type == "partial" and e.data["text"]) or e.type == "final"]
    for a, b in zip(texts, texts[1:]):
        # (updates emitted together, a final confirming the partial on screen, are one update)
        if b.data["start"] <= a.data["end"] + 0.1 and b.emitted_at - a.emitted_at > 0.05:
            gaps.append(b.emitted_at - a.emitted_at)
    # time at each degrade level, from the warnings' emit times (the replay's wall clock)
    changes = [(e.emitted_at, e.data["level"]) for e in events
               if e.type == "warning" and e.data.get("code") == "degraded"]
    at_level = {1: 0.0, 2: 0.0}
    level, since = 0, start_wall
    for t, new in changes + [(max(end_wall, wall1), 0)]:
        if level:
            at_level[level] += t - since
        level, since = new, t
    raw = session.folder.read_meta()  # session.json: live_stats is not a typed field
    stats, duration = raw["live_stats"], raw["duration"]
    return {
        "latencies": [e.emitted_at - (start_wall + e.data["end"]) for e in finals],
        "live_text": [e.data["text"] for e in finals],
        # finals with a speaker label by the end of the live session (in the final or a later update)
        "labelled": len({e.data["id"] for e in finals if e.data.get("speaker")}
                        | {e.data["id"] for e in events if e.type == "speaker" and e.data.get("speaker")}),
        "partial_gaps": gaps,
        "partials": len(partials),
        "duration": duration,
        "rtf": stats["recognition_seconds"] / duration,
        "max_lag": stats["max_lag"],
        "cpu": (cpu1 - cpu0) / (wall1 - wall0),
        "drain_s": wall1 - end_wall,
        "degrade_changes": len(changes),
        "degraded_s": at_level[1] + at_level[2],
        "labels_off_s": at_level[2],
        "commits": stats.get("commits"),
        "skipped_s": stats.get("skipped_seconds", 0.0),
        "warnings": sorted({e.data["code"] for e in events if e.type == "warning"}),
    }


def child(args: argparse.Namespace) -> None:
    import scribe
    from scribe.audio import decode_audio
    from scribe.services import load_live_engine
    from scribe.settings import Settings
    from scribe.transcribe import TranscribeOptions

    settings = Settings(cpu_threads=args.threads)
    engine = load_live_engine(settings, diarize=not args.no_diarize)  # what `scribe serve` loads
    manager = engine.manager(Path(tempfile.mkdtemp(prefix="live-bench-")) / "sessions")
    wav = SHARED / "conversations" / f"{args.conv[0]}.wav"
    # warm-up: the first decode pays one-off allocations
    engine.transcriber.transcribe(decode_audio(wav).samples[: 5 * 16000], TranscribeOptions(language=args.lang, beam_size=1))
    load0 = os.getloadavg()[0]
    out = run_live(engine, manager, wav, args.lang)
    out["load"] = [load0, os.getloadavg()[0]]
    out["code"] = str(Path(scribe.__file__).resolve().parent.parent)
    if args.offline:
        t0 = time.perf_counter()
        offline = engine.transcriber.transcribe(
            decode_audio(wav).samples, TranscribeOptions(language=args.lang, beam_size=settings.live.final_pass_beam))
        out["offline_text"] = offline.text
        out["offline_s"] = time.perf_counter() - t0
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    # Out at once: the second pass alongside may still be decoding on its own thread, and
    # the interpreter's teardown under a running CTranslate2 call aborts the process
    # ("terminate called without an active exception"), which failed whole runs.
    sys.stdout.flush()
    os._exit(0)


# -- the parent: before vs after, the report -------------------------------------------------


def export(ref: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="live-bench-before-"))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "scribe", "diarize", "models.lock"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def replay(code: Path, conv: str, lang: str, args: argparse.Namespace, offline: bool) -> dict:
    out = Path(tempfile.mkstemp(prefix="live-bench-", suffix=".json")[1])
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--conv", conv, "--lang", lang,
           "--threads", str(args.threads), "--out", str(out)]
    cmd += ["--offline"] if offline else []
    cmd += ["--no-diarize"] if args.no_diarize else []
    env = dict(os.environ, PYTHONPATH=str(code))
    subprocess.run(cmd, check=True, env=env, cwd=str(code), stdout=subprocess.DEVNULL)
    return json.loads(out.read_text(encoding="utf-8"))


def pct(xs: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(xs, q)) if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default=None, help="git ref of the code before (default: merge-base with main)")
    ap.add_argument("--only", choices=["after"], help="replay this checkout only")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--conv", action="append", help="conversation name(s); default: the development ones")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--no-diarize", action="store_true", help="live sessions without speaker labels")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--lang", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--offline", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return

    sys.path.insert(0, str(ROOT))
    from benchmarks.report import machine_line, md_table, write_section
    from scribe.text.normalize import error_rate

    convs = [(c, lang) for c, lang in CONVERSATIONS if not args.conv or c in args.conv]
    variants: dict[str, Path] = {"after": ROOT}
    before_ref = None
    if args.only is None:
        before_ref = args.before or subprocess.run(
            ["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], check=True, capture_output=True, text=True
        ).stdout.strip()
        variants = {"before": export(before_ref), "after": ROOT}
    load_before = os.getloadavg()
    results: dict[str, list[tuple[str, str, str, dict]]] = {v: [] for v in variants}
    offline: dict[str, tuple[str, float]] = {}
    for rep in range(args.repeat):
        for conv, lang in convs:
            names = list(variants) if rep % 2 == 0 else list(reversed(variants))
            for v in names:
                need_offline = v == "after" and conv not in offline
                r = replay(variants[v], conv, lang, args, need_offline)
                if need_offline:
                    offline[conv] = (r["offline_text"], r["offline_s"])
                results[v].append((conv, lang, f"#{rep + 1}", r))
                lat = r["latencies"]
                print(f"{v:6} {conv} #{rep + 1}: finals {len(lat)} p50 {pct(lat, 50):.2f} p95 {pct(lat, 95):.2f} "
                      f"degrades {r['degrade_changes']} load {r['load'][0]:.1f}-{r['load'][1]:.1f} "
                      f"commits {r['commits']}", flush=True)
    load_after = os.getloadavg()

    def ref_text(conv: str) -> str:
        rows = json.loads((SHARED / "conversations" / f"{conv}.json").read_text(encoding="utf-8"))
        return " ".join(r["text"] for r in rows)

    summary, rows = [], []
    for v, runs in results.items():
        lat = [x for *_, r in runs for x in r["latencies"]]
        gaps = [x for *_, r in runs for x in r["partial_gaps"]]
        audio_s = sum(r["duration"] for *_, r in runs)
        errs = []
        for lang in ("zh", "en"):
            mine = [(conv, r) for conv, lg, _, r in runs if lg == lang]
            if not mine:
                continue
            sep = "" if lang == "zh" else " "
            refs = [ref_text(c) for c, _ in mine]
            live = error_rate(refs, [sep.join(r["live_text"]) for _, r in mine], lang)
            off = error_rate(refs, [offline[c][0] for c, _ in mine], lang)
            errs.append(f"{lang} {'CER' if lang == 'zh' else 'WER'} {live:.1%} vs {off:.1%} "
                        f"({live / off:.2f}x)" if off else f"{lang} {live:.1%}")
        summary.append([v, len(lat), f"{pct(lat, 50):.2f}", f"{pct(lat, 95):.2f}", f"{max(lat):.2f}" if lat else "-",
                        f"{statistics.median(gaps):.2f}" if gaps else "-",
                        f"{sum(r['partials'] for *_, r in runs) / audio_s * 60:.0f}",
                        sum(r["degrade_changes"] for *_, r in runs),
                        f"{sum(r['degraded_s'] for *_, r in runs):.0f} / {sum(r['labels_off_s'] for *_, r in runs):.0f}",
                        "; ".join(errs)])
        for conv, lang, tag, r in runs:
            sep = "" if lang == "zh" else " "
            e_live = error_rate([ref_text(conv)], [sep.join(r["live_text"])], lang)
            e_off = error_rate([ref_text(conv)], [offline[conv][0]], lang)
            rows.append([v, f"{conv} {tag}", f"{r['duration']:.1f}", len(r["latencies"]),
                         f"{pct(r['latencies'], 50):.2f}", f"{pct(r['latencies'], 95):.2f}",
                         r["partials"], f"{r['rtf']:.2f}", f"{r['max_lag']:.1f}", f"{r['cpu']:.0%}",
                         r["degrade_changes"], f"{r['degraded_s']:.0f} / {r['labels_off_s']:.0f}",
                         f"{r['labelled']}/{len(r['latencies'])}",
                         ", ".join(f"{k} {n}" for k, n in (r["commits"] or {}).items()) or "-",
                         f"{e_live:.1%}", f"{e_off:.1%}", f"{r['load'][0]:.1f}-{r['load'][1]:.1f}",
                         ",".join(r["warnings"]) or "-"])
    before_line = (f"**before** = `{before_ref[:10]}` (main at this branch's base), **after** = this checkout; "
                   if before_ref else "this checkout only; ")
    text = "\n".join([
        "## Live sessions: real-time replay, before vs after, and offline `scribe transcribe`"
        + (" (no speaker labels)" if args.no_diarize else " (live speaker labels on)"),
        "",
        f"`python -m benchmarks.live --repeat {args.repeat} --threads {args.threads}"
        f"{' --no-diarize' if args.no_diarize else ''}` — {machine_line()}; whisper-base int8, "
        f"{args.threads} threads, engine from `scribe.services.load_live_engine`; {before_line}each "
        "conversation replayed at real-time pace in a fresh child process per variant, the variants "
        "alternating. **Machine load** (1-min load average) "
        f"{load_before[0]:.1f} before the run and {load_after[0]:.1f} after it (per run in the table): "
        "other engineers' jobs shared the 2 cores, and this run was at nice "
        f"{os.nice(0)}, so absolute times are pessimistic; the two variants ran under the same load.",
        "",
        "Final latency = emit time - end of the audio the final covers (target p95 <= 1.5 s). Degraded "
        "s = seconds at level >= 1 / at level 2 (live speaker labels paused), from the `degraded` "
        "warnings. Offline peer: the same `Transcriber`, beam 5, same language, whole file.",
        "",
        md_table(["variant", "finals", "lat p50 s", "lat p95 s", "lat max s", "update cadence s",
                  "partials/min", "degrade changes", "degraded s / labels off s", "live vs offline"], summary),
        "",
        md_table(["variant", "run", "audio s", "finals", "p50", "p95", "partials", "live RTF", "max lag s",
                  "CPU", "degrades", "degraded s / labels off", "finals labelled", "commits", "live err",
                  "offline err", "load", "warnings"], rows),
    ])
    print("\n" + text)
    if not args.no_write:
        write_section("live-no-diarize" if args.no_diarize else "live", text)


if __name__ == "__main__":
    main()
