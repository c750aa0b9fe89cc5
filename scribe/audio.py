"""Reading any audio file into 16 kHz mono float32, with errors that say what to do.

PyAV (FFmpeg) decodes wav, flac, mp3, m4a/aac, ogg/opus and more, at any rate and channel
count; its resampler mixes down and converts in one pass.
"""

from __future__ import annotations

import gc
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from scribe.errors import AudioError
from scribe.types import SAMPLE_RATE

# A file whose decoded length falls this far short of what its header declares is truncated.
_TRUNCATION_TOLERANCE = 0.95


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # shape: (num_samples,), float32 in [-1, 1], 16 kHz mono
    source_rate: int
    source_channels: int
    codec: str
    declared_duration: float | None  # what the container header claims, when it says

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def decode_audio(
    source: str | os.PathLike[str] | bytes | BinaryIO,
    *,
    name: str | None = None,
    allow_truncated: bool = False,
) -> DecodedAudio:
    """Decode ``source`` (a path, bytes, or a binary file object) to 16 kHz mono float32."""
    label = name or (str(source) if isinstance(source, (str, os.PathLike)) else "<upload>")
    fh: str | BinaryIO
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            raise AudioError(f"{label} is a directory", fix="give an audio file, not a folder")
        if not path.exists():
            raise AudioError(f"{label}: no such file", fix="check the path and spelling")
        if path.stat().st_size == 0:
            raise AudioError(f"{label} is empty (0 bytes)", fix="record or copy the file again")
        fh = str(path)
    elif isinstance(source, bytes):
        if not source:
            raise AudioError(f"{label} is empty (0 bytes)", fix="send the audio again")
        fh = io.BytesIO(source)
    else:
        fh = source

    try:
        container = av.open(fh, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioError(
            f"{label} is not a readable audio file ({_reason(exc)})",
            fix="give a wav, flac, mp3, m4a or ogg file; if it is one, it may be damaged",
        ) from None

    with container:
        if not container.streams.audio:
            raise AudioError(
                f"{label} contains no audio stream", fix="give a file with recorded sound in it"
            )
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        declared = None
        if stream.duration is not None and stream.time_base is not None:
            declared = float(stream.duration * stream.time_base)
        elif container.duration:
            declared = container.duration / 1_000_000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        pieces: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as exc:
            if not pieces:
                raise AudioError(
                    f"{label} could not be decoded ({_reason(exc)})",
                    fix="the file is damaged or not audio; export it again",
                ) from None
            if not allow_truncated:
                raise AudioError(
                    f"{label} is damaged after {sum(map(len, pieces)) / SAMPLE_RATE:.1f} s "
                    f"({_reason(exc)})",
                    fix="export it again, or pass --allow-truncated to use the readable part",
                ) from None
        codec = ctx.name or "unknown"
        rate, channels = ctx.sample_rate or 0, ctx.channels or 0

    # PyAV's resampler holds on to frames until collected: without this, memory grows with
    # every file decoded in a long-running server (faster-whisper's audio.py notes the same).
    del resampler
    gc.collect()

    samples = (
        np.concatenate(pieces).astype(np.float32) / 32768.0
        if pieces
        else np.zeros(0, dtype=np.float32)
    )
    if samples.size == 0:
        raise AudioError(f"{label} holds no audio samples", fix="record or export it again")
    got = samples.size / SAMPLE_RATE
    if declared is None or (codec.startswith("pcm_") and isinstance(fh, str)):
        declared = _wav_declared_duration(fh) or declared
    if (
        declared
        and not allow_truncated
        and got < declared * _TRUNCATION_TOLERANCE
        and declared - got > 0.1
    ):
        raise AudioError(
            f"{label} is truncated: its header declares {declared:.1f} s but only {got:.1f} s "
            "of audio is present",
            fix="copy the complete file again, or pass --allow-truncated to use the part present",
        )
    return DecodedAudio(samples, rate, channels, codec, declared)


def _wav_declared_duration(fh: str | BinaryIO) -> float | None:
    """Seconds a RIFF/WAVE header declares (FFmpeg trusts the bytes present instead)."""
    import struct

    try:
        if isinstance(fh, str):
            with open(fh, "rb") as f:
                head = f.read(4096)
        else:
            pos = fh.tell()
            fh.seek(0)
            head = fh.read(4096)
            fh.seek(pos)
    except (OSError, ValueError, AttributeError):
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    i, byte_rate = 12, 0
    while i + 8 <= len(head):
        cid, size = head[i : i + 4], struct.unpack("<I", head[i + 4 : i + 8])[0]
        if cid == b"fmt " and i + 16 <= len(head):
            byte_rate = struct.unpack("<I", head[i + 16 : i + 20])[0]
        if cid == b"data":
            # 0 and 0xFFFFFFFF mean "unknown / still being written" (streaming writers)
            if not byte_rate or size in (0, 0xFFFFFFFF):
                return None
            return size / byte_rate
        i += 8 + size + (size & 1)
    return None


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[-1].strip() or type(exc).__name__
