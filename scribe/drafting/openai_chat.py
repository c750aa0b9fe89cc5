"""A drafting model a site already serves behind an OpenAI-compatible chat-completions endpoint.

Many offices run a local large model behind ``POST <base>/chat/completions``: llama.cpp's
``llama-server`` or ``python -m llama_cpp.server``, vLLM, Ollama (``/v1``). This backend sends
the drafter's messages there with httpx, greedy (temperature 0), asks for JSON of the draft's
schema where the server can constrain its output (``response_format``), and gives back the
text. It never decides whether the answer is usable: the drafter validates every answer the
same way as the transformers backend's. Anything that leaves it without an answer — refused
connection, no complete reply in time, an HTTP error, a reply that is not a chat completion —
is a :class:`~scribe.errors.DrafterFailed` whose message says what happened and what to check;
the drafter then keeps the rule-based draft.

The whole exchange is held to one wall-clock deadline (a server that trickles bytes cannot keep
staff waiting at the desk), and proxies from the environment are not used: the endpoint is a
site-local server, and the transcript it is sent is personal data.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import httpx

from scribe.drafting.generator import Generation
from scribe.errors import DrafterFailed

ResponseFormat = Literal["auto", "json_schema", "json_object", "none"]
# Connecting to a server on the desk PC or the office LAN takes milliseconds; a server that is
# not there should not cost the whole drafting timeout.
CONNECT_TIMEOUT_S = 5.0


def base_url(url: str) -> str:
    """``http://host:port/v1`` from either that or the full ``.../chat/completions`` URL."""
    url = url.strip().rstrip("/")
    for suffix in ("/chat/completions", "/completions"):
        if url.endswith(suffix):
            return url[: -len(suffix)]
    return url


class OpenAIChatGenerator:
    """Chat completions over HTTP; one instance serves every draft of the process."""

    backend = "openai-chat"

    def __init__(
        self,
        url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        response_format: ResponseFormat = "auto",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base = base_url(url)
        self._model = model
        self._api_key = api_key
        # "auto": the OpenAI form first (vLLM, Ollama, llama-server); a server that refuses it
        # (llama-cpp-python only knows {"type": "json_object", "schema": ...}) gets the other
        # form, and the one that worked is kept for the next drafts.
        self._format: ResponseFormat = response_format
        self._transport = transport

    @property
    def name(self) -> str:
        return self._model or f"{self.base} (model not known yet)"

    def _client(self, timeout_s: float) -> httpx.Client:
        headers = {"Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        timeout = httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))
        return httpx.Client(headers=headers, timeout=timeout, trust_env=False, transport=self._transport)

    def generate(self, messages: list[dict[str, str]], *, max_new_tokens: int, timeout_s: float,
                 json_schema: dict[str, Any] | None = None) -> Generation:
        started = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        with self._client(timeout_s) as client:
            model = self._model or self._first_model(client, deadline, timeout_s)
            self._model = model
            body: dict[str, Any] = {
                "model": model, "messages": messages, "temperature": 0, "max_tokens": max_new_tokens,
                "stream": False,
            }
            formats: list[ResponseFormat] = [self._format]
            if json_schema is not None and self._format == "auto":
                formats = ["json_schema", "json_object"]
            for i, fmt in enumerate(formats):
                rf = _response_format(fmt, json_schema)
                request = {**body, "response_format": rf} if rf is not None else body
                status, raw = self._post(client, "/chat/completions", request, deadline, timeout_s)
                if i + 1 < len(formats) and _refused_format(status, raw):
                    continue  # this server does not take that response_format: try the next
                if status >= 400:
                    raise DrafterFailed(_http_problem(status, raw, self.base, model))
                if self._format == "auto" and json_schema is not None:
                    self._format = fmt
                break
        reply = _completion(raw)
        seconds = time.perf_counter() - started
        return Generation(text=reply["text"], seconds=seconds, new_tokens=reply["tokens"],
                          hit_time_limit=seconds >= timeout_s, truncated=reply["finish"] == "length")

    def _first_model(self, client: httpx.Client, deadline: float, timeout_s: float) -> str:
        """The served model's id when the site did not name one (llama.cpp serves exactly one)."""
        status, raw = self._get(client, "/models", deadline, timeout_s)
        if status >= 400:
            raise DrafterFailed(_http_problem(status, raw, self.base, None))
        try:
            return str(json.loads(raw)["data"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise DrafterFailed(f"the drafting server at {self.base} does not list its models (GET /models); "
                                "set SCRIBE_DRAFTING_MODEL to the model name it serves") from None

    def _get(self, client: httpx.Client, path: str, deadline: float, timeout_s: float) -> tuple[int, bytes]:
        return self._send(client, "GET", path, None, deadline, timeout_s)

    def _post(self, client: httpx.Client, path: str, body: dict[str, Any], deadline: float,
              timeout_s: float) -> tuple[int, bytes]:
        return self._send(client, "POST", path, body, deadline, timeout_s)

    def _send(self, client: httpx.Client, method: str, path: str, body: dict[str, Any] | None,
              deadline: float, timeout_s: float) -> tuple[int, bytes]:
        url = self.base + path
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DrafterFailed(f"no complete answer within {timeout_s:g} s")
        # each request gets only what is left of the one deadline (a retry does not start afresh)
        timeout = httpx.Timeout(remaining, connect=min(CONNECT_TIMEOUT_S, remaining))
        try:
            with client.stream(method, url, json=body, timeout=timeout) as response:
                chunks = []
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise DrafterFailed(f"no complete answer within {timeout_s:g} s")
                return response.status_code, b"".join(chunks)
        except httpx.ConnectTimeout:
            raise DrafterFailed(f"cannot reach the drafting server at {self.base} (no connection within "
                                f"{min(CONNECT_TIMEOUT_S, timeout_s):g} s); check that it runs and "
                                "SCRIBE_DRAFTING_URL") from None
        except httpx.TimeoutException:
            raise DrafterFailed(f"no complete answer within {timeout_s:g} s") from None
        except httpx.ConnectError as exc:
            raise DrafterFailed(f"cannot reach the drafting server at {self.base} ({_short(exc)}); "
                                "check that it runs and SCRIBE_DRAFTING_URL") from None
        except httpx.HTTPError as exc:
            raise DrafterFailed(f"the exchange with the drafting server at {self.base} broke off "
                                f"({type(exc).__name__}: {_short(exc)})") from None


def _refused_format(status: int, raw: bytes) -> bool:
    # 400/422 is how most servers refuse a field they do not know; llama-cpp-python 0.3.36
    # answers 500 with its validation error ("Input should be 'text' or 'json_object'")
    return status in (400, 422) or (status >= 500 and b"response_format" in raw)


def _response_format(fmt: ResponseFormat, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is None or fmt == "none":
        return None
    if fmt == "json_object":
        return {"type": "json_object", "schema": schema}
    return {"type": "json_schema", "json_schema": {"name": "draft", "schema": schema}}


def _completion(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        text = choice["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise DrafterFailed("the drafting server's reply is not a chat completion "
                            f"(no choices[0].message.content in {raw[:80]!r})") from None
    if not isinstance(text, str) or not text.strip():
        raise DrafterFailed("the drafting server answered with an empty message")
    usage = data.get("usage") or {}
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return {"text": text, "tokens": int(tokens) if isinstance(tokens, int) else 0,
            "finish": choice.get("finish_reason")}


def _http_problem(status: int, raw: bytes, base: str, model: str | None) -> str:
    detail = raw[:200].decode("utf-8", "replace").strip()
    hint = {
        401: "check SCRIBE_DRAFTING_API_KEY",
        403: "check SCRIBE_DRAFTING_API_KEY",
        404: "check SCRIBE_DRAFTING_URL (usually ending in /v1) and SCRIBE_DRAFTING_MODEL",
    }.get(status, "see the drafting server's log")
    named = f" for model {model!r}" if model else ""
    return f"the drafting server at {base} answered HTTP {status}{named} ({detail}); {hint}"


def _short(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__)[:120]
