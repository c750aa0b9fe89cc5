"""llama.cpp's OpenAI-compatible server (llama-cpp-python) with the locked GGUF model, on loopback.

Used by tests/test_drafting_llamacpp.py and benchmarks/drafting_server.py. It needs two things
that the default set-up does not install (``bash scripts/setup.sh --llama`` does both):

- ``llama-cpp-python[server]`` (PyPI; builds llama.cpp from source). The Python that has it is
  ``SCRIBE_LLAMA_PYTHON`` if set, else the one running this;
- the ``gemma-3-270m-q4`` entry of models.lock (``scribe models install gemma-3-270m-q4``).

``why_not()`` says which is missing (None when both are there).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from scribe.errors import ModelError
from scribe.models import open_store
from scribe.settings import Settings

MODEL = "gemma-3-270m-q4"


def python() -> str:
    return os.environ.get("SCRIBE_LLAMA_PYTHON") or sys.executable


def model_path(settings: Settings | None = None) -> Path:
    store = open_store(settings or Settings())
    entry = store.lock.get(MODEL)
    return store.path_for(MODEL) / entry.files[0].path


def why_not(settings: Settings | None = None) -> str | None:
    probe = subprocess.run([python(), "-c", "import llama_cpp.server"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return (f"llama.cpp's server is not installed for {python()} (`bash scripts/setup.sh --llama`, "
                "or SCRIBE_LLAMA_PYTHON=<a python with llama-cpp-python[server]>)")
    try:
        model_path(settings)
    except ModelError as exc:
        return f"the GGUF model is not installed ({exc.message}): `scribe models install {MODEL}`"
    return None


@contextmanager
def running(settings: Settings | None = None, *, n_ctx: int = 4096, threads: int = 2,
            start_timeout_s: float = 180.0) -> Iterator[str]:
    """The server as a separate process on a free loopback port; yields its base URL (``.../v1``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe nobody reads: a full pipe stalls it
    proc = subprocess.Popen(
        [python(), "-m", "llama_cpp.server", "--model", str(model_path(settings)), "--model_alias", MODEL,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx), "--n_threads", str(threads),
         "--n_threads_batch", str(threads), "--verbose", "False",
         # the GGUF carries no chat template: Gemma's own turn format, not llama-cpp-python's
         # llama-2 default; a RAM cache of evaluated prompts, as repeated drafts share prefixes
         "--chat_format", "gemma", "--cache", "True"],
        stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama.cpp's server exited ({proc.returncode}): {log.read()[-2000:]}")
            try:
                if httpx.get(url + "/models", timeout=2, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama.cpp's server did not answer within {start_timeout_s:.0f} s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
