"""The drafting model behind a small interface: chat messages in, text out.

Two backends: ``TransformersGenerator`` (a causal LM loaded in this process) and
``scribe.drafting.openai_chat.OpenAIChatGenerator`` (a model a site already serves behind an
OpenAI-compatible chat-completions endpoint: llama.cpp's server, vLLM, Ollama). Both get the
same messages and the JSON Schema the answer must follow; a backend that can constrain its
output to the schema does, but the answer is validated either way. A backend raises
``DrafterFailed`` when it has no answer (server down, too slow, request refused).

``TransformersGenerator`` is the only module that imports transformers. It loads a local
instruction-following causal LM from the verified model directory (``models.lock`` entry with
``role = "drafting"``; never a hub download: ``local_files_only``) once, and generates
greedily with a wall-clock cap (``max_time``) so a slow CPU cannot hold the desk up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from scribe.errors import ModelError


class TextGenerator(Protocol):
    @property
    def name(self) -> str: ...  # a property: the chat backend learns its model's name from the server

    backend: str  # "transformers" | "openai-chat": recorded in draft.json's drafter

    def generate(self, messages: list[dict[str, str]], *, max_new_tokens: int, timeout_s: float,
                 json_schema: dict[str, Any] | None = None) -> Generation: ...


@dataclass(frozen=True)
class Generation:
    text: str
    seconds: float
    new_tokens: int
    hit_time_limit: bool
    truncated: bool = False  # stopped at max_new_tokens: the JSON is likely cut


class TransformersGenerator:
    """A causal LM with its tokenizer, loaded once and reused for every draft."""

    backend = "transformers"

    def __init__(self, model, tokenizer, name: str) -> None:  # type: ignore[no-untyped-def]
        self.model = model
        self.tokenizer = tokenizer
        self.name = name

    @classmethod
    def load(cls, directory: Path, *, name: str) -> TransformersGenerator:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ModelError("the drafting model needs the transformers package",
                             fix="pip install -c constraints.txt transformers") from exc
        # torch's thread count is the process's, set once by scribe.services.configure_torch
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(str(directory), local_files_only=True, dtype=torch.float32)
        except (OSError, ValueError) as exc:
            raise ModelError(f"drafting model {name!r} in {directory} cannot be loaded: {exc}",
                             fix="check its models.lock entry points at a transformers model folder "
                                 "(config.json, weights, tokenizer files)") from exc
        model.eval()
        return cls(model, tokenizer, name)

    def _prompt_ids(self, messages: list[dict[str, str]]):  # type: ignore[no-untyped-def]
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                     return_dict=True)
            return ids["input_ids"], ids.get("attention_mask")
        text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages) + "\n\nassistant: "
        enc = self.tokenizer(text, return_tensors="pt")
        return enc["input_ids"], enc.get("attention_mask")

    def generate(self, messages: list[dict[str, str]], *, max_new_tokens: int, timeout_s: float,
                 json_schema: dict[str, Any] | None = None) -> Generation:
        # json_schema: unconstrained greedy decoding here; the caller validates the answer
        import torch

        input_ids, attention_mask = self._prompt_ids(messages)
        started = time.perf_counter()
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention_mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                max_time=timeout_s,
                pad_token_id=pad,
            )
        seconds = time.perf_counter() - started
        new = out[0, input_ids.shape[1]:]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return Generation(text=text, seconds=seconds, new_tokens=int(new.shape[0]),
                          hit_time_limit=seconds >= timeout_s, truncated=int(new.shape[0]) >= max_new_tokens)
