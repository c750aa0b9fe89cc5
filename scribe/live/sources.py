"""Capture sources behind one interface: microphone, WebSocket stream, file replay.

A source's ``run(sink, stop)`` blocks, handing 16 kHz mono float32 blocks to ``sink`` as they
arrive, until the source ends (end of file, client finished) or ``stop`` is set. Sources do no
recognition and no archiving: the session behind ``sink`` does both, so every source gets the
same crash-safety and the same event stream.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from scribe.audio import decode_audio
from scribe.errors import AudioError
from scribe.types import SAMPLE_RATE

Sink = Callable[[np.ndarray], None]  # receives float32, 16 kHz mono, shape: (num_samples,)


class CaptureSource(Protocol):
    description: str
    # True when audio arrives on a real clock (a microphone, a remote desk, a paced replay):
    # the session must keep up or degrade. False (a file read as fast as possible): the
    # session makes the source wait instead.
    clocked: bool

    def run(self, sink: Sink, stop: threading.Event) -> None: ...


class StreamResampler:
    """Any rate and channel count -> 16 kHz mono, keeping filter state across blocks.

    PyAV's resampler (FFmpeg's swresample) is stateful, so block edges leave no clicks, which
    calling a one-shot resampler per block would.
    """

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._resampler: Any = None
        if rate != SAMPLE_RATE:
            import av

            self._resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        self._pts = 0

    def __call__(self, block: np.ndarray) -> np.ndarray:
        # block shape: (num_frames,) or (num_frames, num_channels)
        mono = block.mean(axis=1) if block.ndim == 2 else block
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        if self._resampler is None:
            return mono
        import av

        frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self._pts
        self._pts += len(mono)
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate: int
    is_default: bool


def list_input_devices() -> list[InputDevice]:
    import sounddevice as sd

    try:
        default_in = sd.default.device[0]
        devices = sd.query_devices()
    except sd.PortAudioError as exc:
        raise AudioError(
            f"the audio system cannot list devices ({exc})",
            fix="check that a sound card is present and PortAudio is installed (libportaudio2)",
        ) from None
    return [
        InputDevice(i, d["name"], int(d["max_input_channels"]), int(d["default_samplerate"]), i == default_in)
        for i, d in enumerate(devices)
        if d["max_input_channels"] > 0
    ]


def resolve_device(device: str | int | None) -> InputDevice:
    """A device by index, by (part of) its name, or the system default input."""
    devices = list_input_devices()
    if not devices:
        raise AudioError(
            "no microphone or other input device was found",
            fix="plug in a microphone (and check `scribe record --list-devices`)",
        )
    if device is None or device == "":
        for d in devices:
            if d.is_default:
                return d
        return devices[0]
    if isinstance(device, int) or str(device).isdigit():
        for d in devices:
            if d.index == int(device):
                return d
    else:
        matches = [d for d in devices if str(device).lower() in d.name.lower()]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise AudioError(
                f"input device {device!r} matches {len(matches)} devices",
                fix="give the device number from `scribe record --list-devices`",
            )
    raise AudioError(
        f"no input device {device!r}", fix="see `scribe record --list-devices` for the choices"
    )


class MicrophoneSource:
    """A PortAudio input (sounddevice) at its native rate, mixed to mono and resampled."""

    def __init__(self, device: str | int | None = None, *, block_seconds: float = 0.1,
                 max_seconds: float | None = None) -> None:
        self.device = resolve_device(device)
        self.block_seconds = block_seconds
        self.max_samples = int(max_seconds * SAMPLE_RATE) if max_seconds else None
        self.description = f"microphone: {self.device.name}"
        self.clocked = True
        self.overflows = 0

    def run(self, sink: Sink, stop: threading.Event) -> None:
        import sounddevice as sd

        rate = self.device.default_rate or SAMPLE_RATE
        channels = max(1, min(self.device.channels, 2))
        resample = StreamResampler(rate)
        blocks: queue.Queue[np.ndarray | None] = queue.Queue()

        def callback(indata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
            # PortAudio's thread: copy and hand over, nothing slow here
            if status.input_overflow:
                self.overflows += 1
            blocks.put(indata.astype(np.float32) / 32768.0)

        def finished() -> None:
            blocks.put(None)

        try:
            stream = sd.InputStream(
                device=self.device.index,
                samplerate=rate,
                channels=channels,
                # int16, not float32: desk microphones are 16-bit, and ALSA's plug layer was
                # seen to garble its own s16 -> float conversion (test_live_session's mic test)
                dtype="int16",
                blocksize=int(rate * self.block_seconds),
                callback=callback,
                finished_callback=finished,
            )
        except sd.PortAudioError as exc:
            raise AudioError(
                f"cannot open input device {self.device.name!r} ({exc})",
                fix="close other programs using the microphone or choose another --device",
            ) from None
        delivered = 0

        def deliver(block: np.ndarray) -> bool:
            nonlocal delivered
            out = resample(block)
            if self.max_samples is not None:
                out = out[: self.max_samples - delivered]
            if out.size:
                sink(out)
                delivered += out.size
            return self.max_samples is None or delivered < self.max_samples

        with stream:
            while not stop.is_set():
                try:
                    block = blocks.get(timeout=0.2)
                except queue.Empty:
                    if not stream.active:
                        break
                    continue
                if block is None or not deliver(block):
                    break
            stream.abort()  # stop the callbacks now, then keep what they already handed over
        while True:
            try:
                block = blocks.get_nowait()
            except queue.Empty:
                break
            if block is not None and not deliver(block):
                break


class FileSource:
    """Replays an audio file: at real-time pace (demos, benchmarks) or as fast as possible."""

    def __init__(self, path: Path, *, realtime: bool = True, block_seconds: float = 0.1,
                 speed: float = 1.0) -> None:
        self.path = Path(path)
        self.realtime = realtime
        self.speed = speed
        self.block = int(SAMPLE_RATE * block_seconds)
        self.samples = decode_audio(self.path).samples
        pace = f"real time x{speed:g}" if realtime else "as fast as possible"
        self.clocked = realtime
        self.description = f"file: {self.path.name} ({pace})"

    def run(self, sink: Sink, stop: threading.Event) -> None:
        t0 = time.monotonic()
        for offset in range(0, len(self.samples), self.block):
            if stop.is_set():
                return
            end = min(offset + self.block, len(self.samples))
            if self.realtime:
                # paced on the clock, not by sleeping a block each time, so there is no drift
                due = t0 + end / SAMPLE_RATE / self.speed
                delay = due - time.monotonic()
                if delay > 0 and stop.wait(delay):
                    return
            sink(self.samples[offset:end])


class PushSource:
    """Audio pushed from elsewhere (a WebSocket handler) as 16 kHz s16le PCM bytes."""

    def __init__(self, description: str = "websocket", *, max_queued_seconds: float = 30.0,
                 received: int = 0) -> None:
        self.description = description
        self.clocked = True
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue()
        self._queued = 0
        self._lock = threading.Lock()
        self.max_queued = int(max_queued_seconds * SAMPLE_RATE)
        # samples of the session's audio accepted so far (``received`` at the start: what the
        # archive already held when a recovered session was reopened). A client that lost its
        # connection resends from here (scribe.live.ws, "audio" messages), so nothing twice.
        self.received = received

    def push(self, samples: np.ndarray) -> None:
        with self._lock:
            self._queued += len(samples)
            self.received += len(samples)
        self._queue.put(samples)

    def close(self) -> None:
        self._queue.put(None)

    def call(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the source thread after the audio pushed so far (pause/resume
        must cut the stream exactly where the client sent them)."""
        self._queue.put(action)  # type: ignore[arg-type]

    @property
    def queued_seconds(self) -> float:
        return self._queued / SAMPLE_RATE

    def run(self, sink: Sink, stop: threading.Event) -> None:
        # On stop, what is already queued is still delivered: it was received, so it is kept.
        while True:
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                if stop.is_set():
                    return
                continue
            if item is None:
                return
            if callable(item):
                item()
                continue
            sink(item)
            with self._lock:
                self._queued -= len(item)


def pcm16_bytes_to_float(data: bytes) -> np.ndarray:
    """16 kHz s16le bytes -> float32; raises AudioError for a half sample."""
    if len(data) % 2:
        raise AudioError(
            f"a PCM frame of {len(data)} bytes is not whole 16-bit samples",
            fix="send 16 kHz mono signed 16-bit little-endian PCM, an even number of bytes",
        )
    return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
