"""Silero VAD used as a stream: one speech probability per 512-sample window, state carried.

The whole-file VAD (``scribe.asr.vad``) scores a finished recording in one batch; a live
session cannot wait for the end, so this keeps the model's recurrent state (h, c) and the
64-sample context between calls and scores each 32 ms window as it arrives. Same locked onnx
file, same maths as faster-whisper's ``SileroVADModel``, only incremental.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from scribe.asr.vad import WINDOW  # 512 samples at 16 kHz = 32 ms, fixed by the model
_CONTEXT = 64


class SpeechProbability(Protocol):
    """Stateful scorer: call with consecutive 512-sample windows."""

    def __call__(self, window: np.ndarray) -> float: ...

    def reset(self) -> None: ...


class SileroStream:
    def __init__(self, onnx_path: Path) -> None:
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        # one thread: 32 ms windows are tiny, and the recogniser needs the cores
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.enable_cpu_mem_arena = False
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            str(onnx_path), providers=["CPUExecutionProvider"], sess_options=opts
        )
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)

    def __call__(self, window: np.ndarray) -> float:
        if window.shape != (WINDOW,):
            raise ValueError(f"Silero needs windows of {WINDOW} samples, got {window.shape}")
        x = np.concatenate([self._context, window.astype(np.float32)])[None, :]
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = window[-_CONTEXT:].astype(np.float32)
        return float(np.asarray(out).reshape(-1)[0])


def open_silero_stream(store: object, name: str = "silero-vad") -> SileroStream:
    """The locked Silero model from the model store (``open_store(settings)``)."""
    folder: Path = store.path_for(name)  # type: ignore[attr-defined]
    files = sorted(folder.glob("*.onnx"))
    if not files:
        from scribe.errors import ModelNotInstalled

        raise ModelNotInstalled(
            f"model {name!r} has no .onnx file in {folder}", fix="run `scribe models install`"
        )
    return SileroStream(files[0])
