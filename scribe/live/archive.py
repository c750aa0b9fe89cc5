"""The on-disk session archive (语音文字双格式存档): audio and events, written as they happen.

One folder per session::

    <data_dir>/sessions/<session_id>/
        session.json    metadata and state (replaced atomically on every change)
        audio.wav       16 kHz mono s16le PCM, appended as it arrives (lossless)
        events.jsonl    append-only journal of every event except levels
        live.json       the live transcript (finals), written on stop or recovery
        final.json      the final-pass transcript (what documents are drafted from)
        .lock           held (flock) by the process recording the session

Why it survives ``kill -9``: audio bytes go straight to the kernel with ``os.write`` (no
user-space buffer), so everything received is in the file once ``append`` returns; an
``fsync`` every ``flush_interval`` seconds (default 1 s) makes it survive a power cut too. The
WAV header is patched at each flush; a reader that finds a stale header (``repair``) trusts the
file size. Journal lines are written whole with one ``os.write`` on an ``O_APPEND`` descriptor
and ``fsync``-ed for finals, so a crash can at worst leave one torn last line, which the reader
drops.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import struct
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scribe.errors import SessionError
from scribe.live.events import NOT_JOURNALED, Event
from scribe.types import SAMPLE_RATE

WAV_HEADER_BYTES = 44
_BYTES_PER_SAMPLE = 2


@dataclass(frozen=True)
class SessionMeta:
    """A session folder's ``session.json`` (docs/events.md "Session folder"), typed. JSON only
    where the folder reads and writes it; everything else passes this around."""

    id: str
    state: str = ""  # recording | paused | stopping | stopped | finalizing | finished | interrupted
    created_at: str = ""
    title: str = ""
    source: str = ""  # "websocket" for the desk's sessions; the CLI's capture description else
    language: str = "auto"
    hotwords: tuple[str, ...] = ()
    case: Mapping[str, Any] | None = None  # the case file as given (its own JSON format)
    live_model: str = ""
    duration: float | None = None  # s of audio, once sealed
    audio_sha256: str | None = None
    stopped_at: str | None = None
    # set by the recovery of a crashed recorder
    interrupted_at: str | None = None  # the recorder's last write
    recovered_at: str | None = None
    recovered_seconds: float | None = None
    finished_at: str | None = None
    final_model: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SessionMeta:
        def num(key: str) -> float | None:
            value = data.get(key)
            return float(value) if value is not None else None

        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value is not None else None

        return cls(
            id=str(data.get("id") or ""),
            state=str(data.get("state") or ""),
            created_at=str(data.get("created_at") or ""),
            title=str(data.get("title") or ""),
            source=str(data.get("source") or ""),
            language=str(data.get("language") or "auto"),
            hotwords=tuple(str(h) for h in data.get("hotwords") or ()),
            case=data.get("case") or None,
            live_model=str(data.get("live_model") or ""),
            duration=num("duration"),
            audio_sha256=text("audio_sha256"),
            stopped_at=text("stopped_at"),
            interrupted_at=text("interrupted_at"),
            recovered_at=text("recovered_at"),
            recovered_seconds=num("recovered_seconds"),
            finished_at=text("finished_at"),
            final_model=text("final_model"),
        )


def wav_header(num_samples: int) -> bytes:
    data_bytes = num_samples * _BYTES_PER_SAMPLE
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        SAMPLE_RATE,
        SAMPLE_RATE * _BYTES_PER_SAMPLE,
        _BYTES_PER_SAMPLE,
        16,
        b"data",
        data_bytes,
    )


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """float32 [-1, 1] (or int16 already) -> int16, clipping instead of wrapping."""
    if samples.dtype == np.int16:
        return samples
    pcm: np.ndarray = (np.clip(samples, -1.0, 32767 / 32768) * 32768.0).astype(np.int16)
    return pcm


class AudioWriter:
    """Appends PCM to ``audio.wav`` and makes it durable at least every ``flush_interval`` s."""

    def __init__(self, path: Path, *, flush_interval: float = 1.0, append: bool = False) -> None:
        self.path = path
        self.flush_interval = flush_interval
        if append and path.exists():
            self.samples = repair_wav(path)
            self._fd = os.open(path, os.O_RDWR)
            os.lseek(self._fd, 0, os.SEEK_END)
        else:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(self._fd, wav_header(0))
            self.samples = 0
        self.flushed_samples = self.samples
        self._last_flush = time.monotonic()

    def append(self, pcm16: np.ndarray) -> None:
        data = np.ascontiguousarray(pcm16, dtype="<i2").tobytes()
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self.samples += len(pcm16)
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        os.pwrite(self._fd, wav_header(self.samples), 0)
        os.fsync(self._fd)
        self.flushed_samples = self.samples
        self._last_flush = time.monotonic()

    def close(self) -> None:
        if self._fd >= 0:
            self.flush()
            os.close(self._fd)
            self._fd = -1

    @property
    def duration(self) -> float:
        return self.samples / SAMPLE_RATE


def repair_wav(path: Path) -> int:
    """Make the header of a WAV cut off mid-write agree with its bytes; returns the samples."""
    size = path.stat().st_size
    if size < WAV_HEADER_BYTES:
        with path.open("wb") as fh:
            fh.write(wav_header(0))
        return 0
    samples = (size - WAV_HEADER_BYTES) // _BYTES_PER_SAMPLE
    with path.open("r+b") as fh:
        fh.truncate(WAV_HEADER_BYTES + samples * _BYTES_PER_SAMPLE)  # drop half a sample
        fh.write(wav_header(samples))
        fh.flush()
        os.fsync(fh.fileno())
    return samples


def read_wav_pcm(path: Path) -> np.ndarray:
    """The int16 samples of an archive ``audio.wav`` (header trusted only for its size)."""
    raw = path.read_bytes()[WAV_HEADER_BYTES:]
    raw = raw[: len(raw) - len(raw) % _BYTES_PER_SAMPLE]
    return np.frombuffer(raw, dtype="<i2")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Journal:
    """Append-only JSON lines; finals and state changes are fsync-ed before ``write`` returns."""

    DURABLE = frozenset({"final", "state", "speaker"})

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def write(self, event: Event) -> None:
        if event.type in NOT_JOURNALED:
            return
        os.write(self._fd, (event.to_json() + "\n").encode("utf-8"))
        if event.type in self.DURABLE:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1


def read_journal(path: Path) -> list[Event]:
    """Every whole event in the journal; a torn last line (crash mid-write) is dropped."""
    if not path.exists():
        return []
    events: list[Event] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            events.append(Event.from_dict(json.loads(line)))
        except (json.JSONDecodeError, KeyError, ValueError):
            continue  # only the last line can be torn; anything else unreadable is skipped too
    return events


class SessionFolder:
    """Paths and metadata of one session's folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def id(self) -> str:
        return self.root.name

    @property
    def audio(self) -> Path:
        return self.root / "audio.wav"

    @property
    def journal(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def meta_path(self) -> Path:
        return self.root / "session.json"

    @property
    def live_transcript(self) -> Path:
        return self.root / "live.json"

    @property
    def final_transcript(self) -> Path:
        return self.root / "final.json"

    @property
    def lock_path(self) -> Path:
        return self.root / ".lock"

    def exists(self) -> bool:
        return self.meta_path.exists()

    def read_meta(self) -> dict[str, Any]:
        try:
            meta: dict[str, Any] = json.loads(self.meta_path.read_text(encoding="utf-8"))
            return meta
        except FileNotFoundError:
            raise SessionError(
                f"session {self.id} does not exist", fix="run `scribe sessions list` to see ids"
            ) from None

    def write_meta(self, meta: dict[str, Any]) -> None:
        tmp = self.meta_path.with_suffix(".json.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(meta, fh, ensure_ascii=False, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.meta_path)

    def update_meta(self, **changes: Any) -> SessionMeta:
        meta = self.read_meta()
        meta.update(changes)
        self.write_meta(meta)
        return SessionMeta.from_json(meta)

    def meta(self) -> SessionMeta:
        """``session.json``, typed (``read_meta`` is the raw JSON, for exports)."""
        return SessionMeta.from_json(self.read_meta())

    def events(self) -> list[Event]:
        return read_journal(self.journal)

    def finals(self) -> list[Event]:
        return [e for e in self.events() if e.type == "final"]


class SessionLock:
    """An exclusive ``flock`` on the session folder, held while a process records into it.

    The kernel drops it when the holder dies (even by SIGKILL), so "folder says recording but
    nobody holds the lock" means the recorder crashed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1

    def held_elsewhere(self) -> bool:
        if self._fd >= 0:
            return False
        if self.acquire():
            self.release()
            return False
        return True


def iter_session_folders(root: Path) -> Iterator[SessionFolder]:
    if not root.is_dir():
        return
    for child in sorted(root.iterdir()):
        folder = SessionFolder(child)
        if child.is_dir() and folder.exists():
            yield folder
