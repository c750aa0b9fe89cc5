"""The desk's microphone resampler (scribe/web/static/pcm-worklet.js), run in Node with the
AudioWorklet globals it uses: a 48 kHz microphone must come out at 16 kHz without the 8-24 kHz
part of its sound folded back into the band the recogniser hears."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

WORKLET = Path(__file__).resolve().parent.parent / "scribe" / "web" / "static" / "pcm-worklet.js"

HARNESS = """
const fs = require("fs");
globalThis.sampleRate = %(rate)d;
globalThis.AudioWorkletProcessor = class { constructor() { this.port = { postMessage: (m) => out.push(m) }; } };
let Node = null;
globalThis.registerProcessor = (_name, cls) => { Node = cls; };
const out = [];
eval(fs.readFileSync(%(path)s, "utf8"));
const node = new Node();
const tone = %(freq)f, n = %(rate)d * 2;
for (let i = 0; i < n; i += 128) {
  const block = new Float32Array(128);
  for (let k = 0; k < 128; k++) block[k] = 0.5 * Math.sin(2 * Math.PI * tone * (i + k) / %(rate)d);
  node.process([[block]]);
}
const pcm = [];
for (const m of out) pcm.push(...new Int16Array(m.pcm));
process.stdout.write(JSON.stringify(pcm));
"""


def resample(freq: float, rate: int = 48000) -> np.ndarray:
    if shutil.which("node") is None:
        pytest.fail("node is needed for this test (apt-get install nodejs)")
    script = HARNESS % {"rate": rate, "path": json.dumps(str(WORKLET)), "freq": freq}
    run = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60, check=True)
    return np.asarray(json.loads(run.stdout), dtype=np.float64) / 32768.0


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x[1600:] ** 2)))  # past the filter's start-up


def test_speech_band_passes_and_what_16_khz_cannot_hold_is_removed() -> None:
    kept = resample(1000.0)
    assert len(kept) >= 16000 * 2 - 3200  # whole 100 ms frames of the 2 s in
    assert abs(rms(kept) - 0.5 / np.sqrt(2)) < 0.02  # 1 kHz: unchanged level
    # 12 kHz at 48 kHz would alias to 4 kHz; the box filter let it through at -9.5 dB
    folded = resample(12000.0)
    assert 20 * np.log10(rms(folded) / rms(kept) + 1e-12) < -50, rms(folded)


def test_a_16_khz_context_passes_samples_through() -> None:
    same = resample(1000.0, rate=16000)
    t = np.arange(len(same)) / 16000
    assert np.max(np.abs(same - 0.5 * np.sin(2 * np.pi * 1000 * t))) < 1e-3
