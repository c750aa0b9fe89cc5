"""A scripted OpenAI-compatible chat-completions server, run as its own process on 127.0.0.1.

    python -m tests.chat_server --script cases.json [--log requests.jsonl]

prints ``listening on <port>`` once it accepts connections. It speaks the protocol the drafting
backend uses (``GET /v1/models``, ``POST /v1/chat/completions``, non-streaming) over real HTTP
with uvicorn; what it answers is scripted per case, and the case is the request's ``model``, so
one server serves every test. A case (all keys optional):

- ``content``: the assistant message's text;
- ``raw``: the whole response body instead (a reply that is not a chat completion);
- ``status``: the HTTP status (default 200);
- ``delay_s``: seconds to wait before answering (a slow model);
- ``reject_formats``: ``response_format`` types refused with ``reject_status`` (default 400), as
  a server that does not know them does (llama-cpp-python 0.3.36 knows only ``json_object`` and
  answers 500 with the validation error);
- ``api_key``: the bearer token the case requires (401 without it);
- ``finish_reason``: default ``stop``.

Every request is appended to the ``--log`` file (one JSON object a line), so a test can check
what was sent. It is a stand-in for the model, not for the protocol: the tests that need a real
model's behaviour run llama.cpp's server (tests/test_drafting_llamacpp.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response


def build_app(cases: dict[str, dict[str, Any]], log: Path | None) -> FastAPI:
    app = FastAPI()

    def record(entry: dict[str, Any]) -> None:
        if log is not None:
            with log.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        record({"path": "/v1/models"})
        return {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "test"} for name in cases]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        body = await request.json()
        auth = request.headers.get("authorization")
        record({"path": "/v1/chat/completions", "body": body, "authorization": auth})
        case = cases.get(body.get("model"))
        if case is None:
            return JSONResponse({"error": {"message": f"model {body.get('model')!r} not found"}}, status_code=404)
        if case.get("api_key") and auth != f"Bearer {case['api_key']}":
            return JSONResponse({"error": {"message": "invalid api key"}}, status_code=401)
        fmt = (body.get("response_format") or {}).get("type")
        if fmt in case.get("reject_formats", []):
            return JSONResponse({"error": {"message": f"('body', 'response_format', 'type'): {fmt!r} is not supported"}},
                                status_code=case.get("reject_status", 400))
        if case.get("delay_s"):
            await asyncio.sleep(float(case["delay_s"]))
        if "raw" in case:
            return Response(case["raw"], status_code=case.get("status", 200), media_type="application/json")
        content = case.get("content", "")
        return JSONResponse({
            "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": case.get("finish_reason", "stop")}],
            "usage": {"prompt_tokens": 0, "completion_tokens": len(content), "total_tokens": len(content)},
        }, status_code=case.get("status", 200))

    return app


ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def running(cases: dict[str, dict[str, Any]], folder: Path) -> Iterator[tuple[str, Path]]:
    """This server as a separate process for the duration: yields its base URL (``.../v1``)
    and the file its requests are logged to; stopped on exit."""
    folder.mkdir(parents=True, exist_ok=True)
    script, log = folder / "cases.json", folder / "requests.jsonl"
    script.write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "tests.chat_server", "--script", str(script), "--log", str(log)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("listening on "):
            proc.kill()
            raise RuntimeError(f"the chat server did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
        yield f"http://127.0.0.1:{int(line.split()[-1])}/v1", log
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def requests_for(log: Path, model: str) -> list[dict[str, Any]]:
    """The logged chat-completion requests of one case."""
    entries = [json.loads(x) for x in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return [e for e in entries if e.get("body", {}).get("model") == model]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--script", type=Path, required=True, help="JSON: {case name: case}")
    parser.add_argument("--log", type=Path, default=None)
    args = parser.parse_args()
    cases = json.loads(args.script.read_text(encoding="utf-8"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # loopback only, a free port
    server = uvicorn.Server(uvicorn.Config(build_app(cases, args.log), log_level="warning", lifespan="off"))

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        print(f"listening on {sock.getsockname()[1]}", flush=True)
        await task

    asyncio.run(serve())
    sys.exit(0)


if __name__ == "__main__":
    main()
