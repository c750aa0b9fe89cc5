"""Server load: N concurrent hearings replayed over loopback WebSockets (N = 1, 2, 4, 8).

    python -m benchmarks.load [--sessions 1,2,4,8] [--file conv_zh_dev_01] [--no-write]

The product as a desk meets it: ``scribe serve`` runs as its own process with whisper base
loaded once; this script logs in as a mediator over HTTP, creates N hearings, records every
party's consent, presses Record, and for each hearing streams the Mandarin conversation from
../shared/data as 16 kHz s16le frames of 100 ms at real-time pace over ``/ws/sessions/<id>``
(exactly what the desk page's AudioWorklet sends), all N at once. Then Stop, and the final
pass runs for each.

Figures per N: final-text latency (emit time minus the wall time at which the end of the
speech it covers was sent; p50/p95/max over every final of every session), finals received,
degradation warnings the engine sent, final-pass time (Stop -> ``finished``), server CPU
(process CPU seconds / wall seconds, 100% = one core) and resident memory. Writes the "load"
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import soundfile as sf
import websockets

from benchmarks.report import machine_line, md_table, write_section

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SCRIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))
PASSWORD = "load benchmark password"
FRAME = 1600  # 100 ms


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    from scribe.settings import Settings

    models = Settings().models_path  # the installed, locked models
    env = dict(
        os.environ, SCRIBE_DATA_DIR=str(data_dir), SCRIBE_MODEL_DIR=str(models), SCRIBE_ADMIN_PASSWORD=PASSWORD,
        SCRIBE_SERVER_DELIVERY_WORKER="false", PYANNOTE_METRICS_ENABLED="0",
    )  # fmt: skip
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "scribe"), "serve", "--port", str(port)],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited: " + (proc.stdout.read() or b"").decode(errors="replace")[-2000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the server did not come up in 300 s")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def one_session(base: str, client: httpx.AsyncClient, pcm: np.ndarray, index: int) -> dict[str, Any]:
    body = {"kind": "mediation", "case_number": f"（2026）压测字第{index}号",
            "parties": [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"}]}  # fmt: skip
    h = (await client.post("/api/hearings", json=body)).raise_for_status().json()
    for i in (0, 1):
        (await client.post(f"/api/hearings/{h['id']}/consent", json={"party_index": i, "consented": True, "notice_read": True})).raise_for_status()
    rec = (await client.post(f"/api/hearings/{h['id']}/record")).raise_for_status().json()
    url = base.replace("http://", "ws://") + rec["websocket"]
    headers = {"Cookie": f"scribe_session={client.cookies['scribe_session']}", "Origin": base}
    finals: list[float] = []
    warnings: list[str] = []
    finished = asyncio.Event()
    t0: float | None = None
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        await ws.send(json.dumps({"op": "start"}))

        async def reader() -> None:
            async for raw in ws:
                ev = json.loads(raw)
                if ev["type"] == "final" and t0 is not None:
                    finals.append(ev["emitted_at"] - (t0 + ev["end"]))
                elif ev["type"] == "warning":
                    warnings.append(ev.get("code", ""))
                elif ev["type"] == "state" and ev.get("state") == "finished":
                    finished.set()
                    return

        task = asyncio.create_task(reader())
        # a tail of silence closes the last utterance, as a pause in the room would
        audio = np.concatenate([pcm, np.zeros(16000 * 2, dtype=np.int16)])
        t0 = time.time()
        for k in range(0, len(audio), FRAME):
            due = t0 + k / 16000
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send(audio[k : k + FRAME].tobytes())
        await asyncio.sleep(0.3)
        stop_at = time.time()
        (await client.post(f"/api/hearings/{h['id']}/stop")).raise_for_status()
        try:
            await asyncio.wait_for(finished.wait(), timeout=900)
            final_pass = time.time() - stop_at
        except TimeoutError:
            final_pass = float("nan")
        task.cancel()
    return {"latencies": finals, "warnings": warnings, "final_pass_s": final_pass}


async def run_level(base: str, n: int, pcm: np.ndarray, proc: psutil.Process) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=600) as admin:
        r = await admin.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        admin.headers["X-CSRF-Token"] = r.raise_for_status().json()["csrf_token"]
        name = f"med_load_{n}_{int(time.time())}"
        await admin.post("/api/users", json={"username": name, "password": PASSWORD, "role": "mediator", "office": "压测司法所"})
    async with httpx.AsyncClient(base_url=base, timeout=600) as client:
        r = await client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        client.headers["X-CSRF-Token"] = r.raise_for_status().json()["csrf_token"]
        cpu0, wall0 = sum(proc.cpu_times()[:2]), time.monotonic()
        rss_peak = 0
        done = asyncio.Event()

        async def watch() -> None:
            nonlocal rss_peak
            while not done.is_set():
                rss_peak = max(rss_peak, proc.memory_info().rss)
                await asyncio.sleep(0.5)

        watcher = asyncio.create_task(watch())
        results = await asyncio.gather(*(one_session(base, client, pcm, i) for i in range(n)))
        done.set()
        await watcher
        cpu = (sum(proc.cpu_times()[:2]) - cpu0) / (time.monotonic() - wall0)
    lat = [x for r in results for x in r["latencies"]]
    per_session_p95 = [percentile(r["latencies"], 95) for r in results if r["latencies"]]
    fp = [r["final_pass_s"] for r in results]
    return {
        "n": n, "finals": len(lat), "p50": percentile(lat, 50), "p95": percentile(lat, 95), "max": max(lat) if lat else float("nan"),
        "worst_session_p95": max(per_session_p95) if per_session_p95 else float("nan"),
        "degraded": sum(1 for r in results for w in r["warnings"] if w.startswith("degrad")),
        "final_pass_mean": statistics.fmean(fp), "final_pass_max": max(fp),
        "cpu": cpu, "rss_mb": rss_peak / 2**20,
    }  # fmt: skip


def degradation_summary(rows: list[dict[str, Any]]) -> str:
    """What the rows say, in words (computed, not assumed)."""
    first, last = rows[0], rows[-1]
    degraded_from = next((r["n"] for r in rows if r["degraded"]), None)
    finals = ", ".join(f"N={r['n']}: {r['finals'] / r['n']:.1f}" for r in rows)
    return (
        f"From N={first['n']} to N={last['n']}: final-latency p95 {first['p95']:.2f} s -> {last['p95']:.2f} s "
        f"({last['p95'] / first['p95']:.1f}x), final pass max {first['final_pass_max']:.1f} s -> "
        f"{last['final_pass_max']:.1f} s, server CPU {first['cpu']:.2f} -> {last['cpu']:.2f} cores. "
        + (f"The engine announced degraded mode (fewer partials, longer pieces) from N={degraded_from}. "
           if degraded_from else "The engine never announced degraded mode. ")
        + f"Finals per session (same audio every session): {finals}."
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", default="1,2,4,8")
    ap.add_argument("--file", default="conv_zh_dev_01")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    levels = [int(x) for x in args.sessions.split(",")]
    path = SHARED / "conversations" / f"{args.file}.wav"
    audio, rate = sf.read(path, dtype="int16")
    assert rate == 16000 and audio.ndim == 1, "the conversations are 16 kHz mono"
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="scribe-load-") as tmp:
        port = free_port()
        server = start_server(Path(tmp), port)
        try:
            proc = psutil.Process(server.pid)
            rows = []
            for n in levels:
                res = asyncio.run(run_level(f"http://127.0.0.1:{port}", n, audio, proc))
                print(json.dumps(res))
                rows.append(res)
        finally:
            server.terminate()
            server.wait(timeout=60)
    base = rows[0]
    table = md_table(
        ["concurrent sessions", "finals", "final latency p50 (s)", "p95 (s)", "max (s)", "worst session p95 (s)",
         "p95 vs N=1", "degradation warnings", "final pass mean (s)", "final pass max (s)", "server CPU (cores)", "server RSS peak (MB)"],
        [[r["n"], r["finals"], r["p50"], r["p95"], r["max"], r["worst_session_p95"], f"{r['p95'] / base['p95']:.2f}x",
          r["degraded"], r["final_pass_mean"], r["final_pass_max"], f"{r['cpu']:.2f}", f"{r['rss_mb']:.0f}"] for r in rows],
    )  # fmt: skip
    md = (
        f"## Server load (`python -m benchmarks.load`)\n\n{machine_line()}; load average before the run "
        f"{load_before:.1f} (other engineers' work shares these 2 cores: compare rows, not absolute figures).\n\n"
        f"`scribe serve` (whisper base int8, loaded once) in its own process; N hearings created, consented and "
        f"recorded over HTTP + WebSocket on loopback, each streaming `{args.file}.wav` "
        f"({len(audio) / 16000:.1f} s, Mandarin) as 100 ms s16le frames at real-time pace, all N at once, then "
        "Stop and the final pass (beam 5) of each. Latency = final's `emitted_at` minus the wall time the end of "
        "its speech was sent.\n\n" + table + "\n\n"
        + degradation_summary(rows)
    )
    print(md)
    if not args.no_write:
        write_section("load", md)


if __name__ == "__main__":
    main()
