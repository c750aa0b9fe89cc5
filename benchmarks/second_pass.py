"""Second pass alongside the hearing: time from 结束 to the final transcript and to a drafted
agreement, against today's whole-recording pass in the same run.

    python -m benchmarks.second_pass [--minutes 10] [--block 10] [--tile 30 60] [--no-write]

A hearing of N minutes is the development speech looped (conv_zh_dev_02, conv_zh_dev_01, 0.6 s
apart; references looped the same way). It goes through the server's path: ``load_live_engine``
(whisper-base int8, live diarization, the second pass's own model copies), a ``LiveSession``
fed block by block, the ``AlongsideWorker`` thread at nice +10, ``SessionManager.finish``.

Accelerated, on the same schedule: the archive grows one block (``--block`` s of audio) at a
time, and the next block is fed only once the live path has drained its queue and the worker has
looked at the archive and found nothing settled left (``AlongsideWorker.idle_passes``). The
worker's decisions depend only on the archive's head (a 30 s window is decoded once it lies in
speech settled >= 3 s behind it), so at 结束 it has done exactly what it would have done in real
time on a machine that keeps up; the run shows the worker's compute per second of audio, which says whether this
machine keeps up in real time. At 结束 the clock starts: ``stop`` (live tail), then the final
pass (the windows left, the diarization tail, clustering, word attribution, final.json), then a
rule-based 人民调解协议书 draft (``rule_draft`` + ``render_docx``). The peer is
``FinalPass.run`` (today's pass) over the same archive, then the same draft.

``--tile``: clustering is the one step whose cost grows with the hearing at 结束; its time is
also measured on the run's diarization pieces repeated to those lengths (minutes).
Resident memory (RSS) is sampled after every block. Writes the "second-pass" section.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.report import machine_line, md_table, write_section

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SCRIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
PARTS = ("conv_zh_dev_02", "conv_zh_dev_01")
GAP_S = 0.6


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def niced_threads() -> tuple[int, int]:
    """(threads of this process with a raised nice value, all threads)."""
    niced = total = 0
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += 1
        niced += int(fields[16]) > 0  # field 19 of stat: nice
    return niced, total


# --trace-memory: Python-level allocations (numpy's included) traced from 2 min in, a snapshot
# every 5 min of audio, and the lines whose memory grew most between the first and the last
TRACE_MEMORY = False
# --rss-log: each block's (audio s, RSS MB, wall s) appended as it is measured, so a run cut
# short (a session's end) still leaves its memory curve
RSS_LOG: Path | None = None


def _snapshot():  # type: ignore[no-untyped-def]
    import tracemalloc

    if not tracemalloc.is_tracing():
        tracemalloc.start(8)
    return tracemalloc.take_snapshot()


def report_growth(snapshots) -> None:  # type: ignore[no-untyped-def]
    (t0, first), (t1, last) = snapshots[0], snapshots[-1]
    print(f"memory growth {t0 / 60:.0f} -> {t1 / 60:.0f} min of audio (Python allocations):", flush=True)
    for stat in last.compare_to(first, "traceback")[:12]:
        print(f"  {stat.size_diff / 2**20:+8.1f} MB  {stat.count_diff:+7d} blocks", flush=True)
        for frame in stat.traceback.format()[-8:]:
            print("      " + frame.strip(), flush=True)


def looped_hearing(minutes: float) -> tuple[np.ndarray, str, list[tuple[float, float, str]]]:
    """The audio, its reference text and its reference speaker turns."""
    from scribe.audio import decode_audio

    pieces, text, turns, t = [], [], [], 0.0
    gap = np.zeros(int(GAP_S * 16000), dtype=np.float32)
    total = minutes * 60 * 16000
    n = 0
    while n < total:
        for name in PARTS:
            wav = SHARED / "conversations" / f"{name}.wav"
            x = decode_audio(wav).samples
            ref = json.loads(wav.with_suffix(".json").read_text(encoding="utf-8"))
            text += [r["text"] for r in ref]
            for line in wav.with_suffix(".rttm").read_text().splitlines():
                f = line.split()
                turns.append((t + float(f[3]), t + float(f[3]) + float(f[4]), f"{name}:{f[7]}"))
            pieces += [x, gap]
            n += len(x) + len(gap)
            t = n / 16000
    return np.concatenate(pieces), " ".join(text), turns


def der(ref, hyp, duration: float) -> float:  # type: ignore[no-untyped-def]
    from benchmarks.diarization import der as _der

    return _der(ref, hyp, (0.0, duration), 0.25)


def spk(t) -> list[tuple[float, float, str]]:  # type: ignore[no-untyped-def]
    return [(s.start, s.end, s.speaker) for s in t.segments if s.speaker and s.end > s.start]


def draft_agreement(transcript, out: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.dialogues import load
    from doc_templates.registry import load_registry
    from doc_templates.render import render_docx
    from scribe.extract import rule_draft

    case = load("neighbour-wall").casefile
    draft = rule_draft(transcript, case, kind="mediation-agreement")
    render_docx(draft, load_registry().get("mediation-agreement"), out)


def run_hearing(engine, manager, minutes: float, block_s: float, peer: bool, workdir: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    from scribe.live.final_pass import FinalPass
    from scribe.text.normalize import error_rate
    from scribe.types import Transcript

    audio, ref_text, ref_turns = looped_hearing(minutes)
    session = manager.create(engine.options("zh"), source="benchmark")
    worker = manager.final_pass.worker
    block = int(block_s * 16000)
    rss, t_feed0 = [], time.perf_counter()
    snapshots: list = []  # type: ignore[type-arg]
    for i in range(0, len(audio), block):
        if TRACE_MEMORY and i / 16000 >= 120 and (not snapshots or i / 16000 - snapshots[-1][0] >= 300):
            snapshots.append((i / 16000, _snapshot()))
        seen = worker.idle_passes(session.id)
        session.feed(audio[i : i + block])
        # the same schedule as real time on a machine that keeps up: the live path drains its
        # queue and the worker finds nothing settled left before the next block comes
        while (session.stats.received_seconds - session.stats.processed_seconds > 0.05
               or worker.idle_passes(session.id) <= seen):
            time.sleep(0.05)
        rss.append((i / 16000, rss_mb()))
        if RSS_LOG is not None:
            with RSS_LOG.open("a") as fh:
                fh.write(f"{rss[-1][0]:.1f}\t{rss[-1][1]:.1f}\t{time.perf_counter() - t_feed0:.1f}\n")
    if snapshots:
        report_growth(snapshots)
    niced = niced_threads()
    feed_wall = time.perf_counter() - t_feed0
    work = worker.work_of(session.id)
    during = dict(work_s=work.work_s if work else 0.0)
    # 结束
    t0 = time.perf_counter()
    session.stop()
    live = Transcript.from_dict(json.loads(session.folder.live_transcript.read_text(encoding="utf-8")))
    t_live = time.perf_counter()
    draft_agreement(live, workdir / "live-draft.docx")
    t_live_draft = time.perf_counter() - t0
    final = manager.finish(session.id)
    t_final = time.perf_counter() - t0
    draft_agreement(final, workdir / "final-draft.docx")
    t_draft = time.perf_counter() - t0
    row = dict(
        minutes=minutes, audio_s=len(audio) / 16000, feed_wall=feed_wall, rss=rss,
        stop_s=t_live - t0, live_draft_s=t_live_draft, final_s=t_final, draft_s=t_draft,
        second_pass=final.info["second_pass"], during=during,
        cer=error_rate([ref_text], [final.text], "zh"), der=der(ref_turns, spk(final), final.duration),
        live_cer=error_rate([ref_text], [live.text], "zh"),
        nice=worker.nice_applied, niced=niced,
    )
    if peer:
        t0 = time.perf_counter()
        base = FinalPass(engine.transcriber, engine.offline_diarizer, beam_size=engine.settings.live.final_pass_beam)
        whole = base.run(session.folder, lambda *_: None)
        row["peer_final_s"] = time.perf_counter() - t0
        draft_agreement(whole, workdir / "peer-draft.docx")
        row["peer_draft_s"] = time.perf_counter() - t0
        row["peer_cer"] = error_rate([ref_text], [whole.text], "zh")
        row["peer_der"] = der(ref_turns, spk(whole), whole.duration)
    row["pieces"] = work.diarization.pieces if work and work.diarization else []
    row["offline"] = work.diarization.offline if work and work.diarization else None
    manager.forget(session.id)
    return row


def clustering_at(pieces, offline, minutes: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds for IncrementalDiarization.result over ``pieces`` repeated to ``minutes``."""
    from diarize.incremental import IncrementalDiarization

    inc = IncrementalDiarization(offline)
    span_chunks = sum(p.num_chunks for p in pieces)
    span_grid = sum(len(p.grid_embeddings) for p in pieces)
    step = inc.step
    reps = max(1, int(np.ceil(minutes * 60 / (span_chunks * step))))
    for r in range(reps):
        for p in pieces:
            inc.add(replace(p, chunk0=p.chunk0 + r * span_chunks, grid0=p.grid0 + r * span_grid))
    # audio exactly as long as the pieces' windows: nothing left to prepare at the end
    length = int(((inc.next_chunk - 1) * step + inc.window) * 16000)

    class Silent:
        def __len__(self) -> int:
            return length

        def __getitem__(self, index: slice) -> np.ndarray:
            a, b, _ = index.indices(length)
            return np.zeros(max(0, b - a), dtype=np.float32)

    t0 = time.perf_counter()
    inc.result(Silent())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[10.0])
    ap.add_argument("--block", type=float, default=10.0)
    ap.add_argument("--peer-up-to", type=float, default=30.0, help="run today's pass as the peer up to this length")
    ap.add_argument("--tile", type=float, nargs="*", default=[30.0, 60.0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-live-diarization", action="store_true",
                    help="live path without the streaming diarizer (the final pass diarizes all the same)")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--trace-memory", action="store_true",
                    help="trace Python allocations and print what grew (slower; figures not comparable)")
    ap.add_argument("--no-release-memory", action="store_true",
                    help="the worker does not give freed memory back (the code before, for memory)")
    ap.add_argument("--rss-log", type=Path, default=None,
                    help="append each block's audio s, RSS MB and wall s to this file as the run goes")
    args = ap.parse_args()
    global TRACE_MEMORY, RSS_LOG
    TRACE_MEMORY = args.trace_memory
    RSS_LOG = args.rss_log

    from scribe.services import load_live_engine
    from scribe.settings import Settings

    settings = Settings(cpu_threads=args.threads)
    if args.no_release_memory:
        settings = settings.model_copy(update={"live": settings.live.model_copy(
            update={"second_pass_release_memory": False})})
    engine = load_live_engine(settings)  # what `scribe serve` loads, second-pass copies included
    if args.no_live_diarization:
        engine = replace(engine, streaming_diarizer=None)
    workdir = Path(tempfile.mkdtemp(prefix="second-pass-bench-"))
    manager = engine.manager(workdir / "sessions")
    load_before = os.getloadavg()
    rows, tiled, rss_lines = [], [], []
    last = None
    for minutes in args.minutes:
        r = run_hearing(engine, manager, minutes, args.block, minutes <= args.peer_up_to, workdir)
        last = r
        sp = r["second_pass"]
        rows.append([
            f"{minutes:g} min", f"{r['audio_s']:.0f}", sp["while_recording"],
            f"{sp['speech_decoded_before_stop_s']:.1f}", f"{sp['speech_left_at_stop_s']:.1f}",
            f"{r['stop_s']:.1f}", f"{r['live_draft_s']:.1f}",
            f"**{r['final_s']:.1f}**", f"**{r['draft_s']:.1f}**",
            f"{r.get('peer_final_s', float('nan')):.1f}", f"{r.get('peer_draft_s', float('nan')):.1f}",
            f"{r['peer_final_s'] / r['final_s']:.1f}x" if "peer_final_s" in r else "-",
            f"{r['cer']:.1%} / {r['peer_cer']:.1%}" if "peer_cer" in r else f"{r['cer']:.1%}",
            f"{r['der']:.1%} / {r['peer_der']:.1%}" if "peer_der" in r else f"{r['der']:.1%}",
            f"{r['during']['work_s'] / r['audio_s']:.2f}",
        ])
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
        samples = r["rss"]
        warm = [m for t, m in samples if t >= 120] or [m for _, m in samples]
        ts = [t for t, _ in samples if t >= 120] or [t for t, _ in samples]
        slope = float(np.polyfit(np.array(ts) / 3600, warm, 1)[0]) if len(warm) > 2 else float("nan")
        rss_lines.append(f"- threads at a raised nice value during the {minutes:g} min hearing: "
                         f"{r['niced'][0]} of {r['niced'][1]} (the worker at nice {r['nice']}, and the "
                         "decoder threads it started)")
        rss_lines.append(f"- {minutes:g} min hearing: RSS {samples[0][1]:.0f} MB after the first block, "
                         f"{min(warm):.0f}-{max(warm):.0f} MB after 2 min, {samples[-1][1]:.0f} MB at 结束 "
                         f"(least-squares slope {slope:+.0f} MB per hour of audio); "
                         f"peak of the process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if last is not None and last["pieces"] and last["offline"] is not None:
        for m in args.tile:
            tiled.append(f"{m:g} min: {clustering_at(last['pieces'], last['offline'], m):.1f} s")
    load_after = os.getloadavg()
    text = "\n".join([
        "## Second pass alongside the hearing: time from 结束 to the final record",
        "",
        f"`python -m benchmarks.second_pass --minutes {' '.join(f'{m:g}' for m in args.minutes)} "
        f"--block {args.block:g}{' --no-live-diarization' if args.no_live_diarization else ''}` — "
        f"{machine_line()}; whisper-base int8, {args.threads} threads, live diarization "
        f"{'off (the final pass diarizes all the same)' if args.no_live_diarization else 'on'}. Load average (1 min) "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after; both passes ran in the same run on the same archive.",
        "",
        "Hearing: the development speech looped (conv_zh_dev_02 + conv_zh_dev_01, 0.6 s apart), recorded "
        "through a `LiveSession` of the server's engine. Fed faster than real time on the real-time schedule: "
        f"the archive grows {args.block:g} s at a time and the next block comes only once the live path has "
        "drained and the second-pass worker (its own thread, nice +10, its own model copies) has found nothing "
        "settled left. The worker runs the whole-recording pass as the archive grows: each of Whisper's 30 s "
        "windows is decoded once it lies in speech regions that end >= 3 s behind the archive's head and can no "
        "longer change, in the whole pass's sequence and with its earlier text (scribe.asr.windows); so at 结束 "
        "the worker has done what it does in real time on a machine that keeps up. "
        "'worker s / audio s' is its compute per second of audio: below what the live path leaves free of the "
        "cores, it keeps up in real time. "
        "At 结束: `stop` (the live tail), the final pass (the windows left, diarization tail, clustering, word "
        "attribution, final.json), a rule-based 人民调解协议书 (`rule_draft` + .docx). A draft from the live "
        "text can be made at once ('live draft'). The peer: today's `FinalPass.run` over the same archive.",
        "",
        md_table(["hearing", "audio s", "runs while recording", "speech decoded before 结束 s",
                  "speech left at 结束 s", "stop s",
                  "live draft s", "结束 -> final s", "结束 -> draft s", "peer: 结束 -> final s",
                  "peer: 结束 -> draft s", "peer / alongside", "CER alongside / peer", "DER alongside / peer",
                  "worker s / audio s"], rows),
        "",
        "Clustering and reconstruction at 结束 (the one part that grows with the hearing), on this run's "
        "diarization pieces repeated: " + ("; ".join(tiled) if tiled else "not measured") + ".",
        "",
        "Memory (resident set of the whole process: live path, both model copies, the second pass), "
        "sampled after every block:",
        *rss_lines,
    ])
    print("\n" + text)
    if not args.no_write:
        write_section("second-pass", text)


if __name__ == "__main__":
    main()
