"""A review server for benchmarks/review_session.py, run from a given code root (this branch, or
the main checkout for "today's page"): a real server thread with the in-memory live engine whose
transcript and recording are the benchmark's hearing. Prints {"url", "hearing"} as one JSON line,
then serves until stdin closes.

    python benchmarks/review_runner.py --code-root /work/main --transcript T.json --audio A.wav --data D
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--code-root", type=Path, required=True)
    ap.add_argument("--transcript", type=Path, required=True)
    ap.add_argument("--audio", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True)
    args = ap.parse_args()
    root = args.code_root.resolve()
    sys.path[:0] = [str(root), str(root / "tests")]
    import httpx
    from server_support import MemoryLive, ServerThread, login, make_settings, seed_accounts

    from server import create_app

    transcript = json.loads(args.transcript.read_text(encoding="utf-8"))

    class BenchLive(MemoryLive):
        def transcript(self, sid: str) -> dict | None:  # type: ignore[type-arg]
            return json.loads(json.dumps(transcript))

        def audio_path(self, sid: str) -> Path | None:
            return args.audio

    settings = make_settings(args.data, soffice_binary="no-soffice-here", server_delivery_worker=False)
    seed_accounts(settings)
    server = ServerThread(create_app(settings, live=BenchLive(args.data)))
    with httpx.Client(base_url=server.url, timeout=120) as c:
        login(c, "med_a")
        parties = [{"role": "applicant", "name": "张三"}, {"role": "respondent", "name": "李四"},
                   {"role": "third_party", "name": "王五"}]
        h = c.post("/api/hearings", json={"kind": "mediation", "case_number": "（2026）城人调字第99号", "category": "邻里",
                                          "parties": parties}).json()
        for i in range(len(parties)):
            c.post(f"/api/hearings/{h['id']}/consent", json={"party_index": i, "consented": True, "notice_read": True})
        for label, role, name in (("S1", "mediator", "王调解员"), ("S2", "applicant", "张三"), ("S3", "respondent", "李四")):
            c.put(f"/api/hearings/{h['id']}/speakers/{label}", json={"role": role, "name": name})
        c.post(f"/api/hearings/{h['id']}/record")
        c.post(f"/api/hearings/{h['id']}/stop")
    print(json.dumps({"url": server.url, "hearing": h["id"]}), flush=True)
    sys.stdin.read()
    server.close()


if __name__ == "__main__":
    main()
