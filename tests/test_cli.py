"""`scribe` as a user meets it: help, formats, and one clear line for every bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scribe.settings import project_root


def scribe(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scribe", *args], capture_output=True, text=True, timeout=600,
        env={**os.environ, **(env or {})}, cwd=project_root(),
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("scribe: error: "), proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_help_explains_the_commands():
    proc = scribe("--help")
    assert proc.returncode == 0
    for word in ("transcribe", "models", "Mandarin"):
        assert word in proc.stdout
    proc = scribe("transcribe", "--help")
    for opt in ("--model", "--language", "--hotwords", "--format", "--output"):
        assert opt in proc.stdout


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory, shared_data) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    (d / "empty.wav").write_bytes(b"")
    (d / "notes.wav").write_text("这不是音频 this is not audio\n" * 40)
    whole = (shared_data / "audio/en_pyannote_sample.wav").read_bytes()
    (d / "truncated.wav").write_bytes(whole[: len(whole) // 2])
    (d / "header-only.wav").write_bytes(whole[:44])
    flac = (shared_data / "audio/en_jfk_inaugural.flac").read_bytes()
    (d / "cut.flac").write_bytes(flac[: len(flac) // 3])
    (d / "folder").mkdir()
    return {p.name: p for p in d.iterdir()} | {"missing.wav": d / "missing.wav"}


@pytest.mark.parametrize(
    "name,needle",
    [("missing.wav", "no such file"), ("empty.wav", "empty"), ("notes.wav", "not a readable audio file"),
     ("truncated.wav", "truncated"), ("header-only.wav", "not a readable audio file"), ("cut.flac", "damaged"),
     ("folder", "is a directory")],
)
def test_bad_audio_gets_one_line_and_nonzero_exit(bad_inputs, name, needle):
    proc = scribe("transcribe", "-m", "whisper-tiny.en", str(bad_inputs[name]))
    assert_one_line_error(proc, needle, name)


def test_truncated_file_can_be_used_on_request(bad_inputs):
    proc = scribe("transcribe", "-m", "whisper-tiny.en", "--allow-truncated", "-f", "txt",
                  str(bad_inputs["truncated.wav"]))
    assert proc.returncode == 0, proc.stderr
    assert "hello" in proc.stdout.lower()


def test_unwritable_output_and_unknown_model(shared_data, tmp_path):
    wav = str(shared_data / "audio/en_ljspeech_LJ002-0035.wav")
    assert_one_line_error(scribe("transcribe", wav, "-o", "/proc/no/out.json"), "cannot write")
    # a folder as -o is where the result goes, named after the input
    assert scribe("transcribe", "-m", "whisper-tiny.en", wav, "-o", str(tmp_path)).returncode == 0
    assert (tmp_path / "en_ljspeech_LJ002-0035.json").exists()
    ro = tmp_path / "read-only.json"
    ro.write_text("{}")
    ro.chmod(0o444)
    if os.geteuid() != 0:  # root writes through permission bits; /proc above covers root
        assert_one_line_error(scribe("transcribe", wav, "-o", str(ro)), "read-only")
    assert_one_line_error(scribe("transcribe", wav, "-m", "whisper-large-v9"), "unknown model", "whisper-large-v9")


def test_model_failing_its_hash_is_reported_with_the_fix(shared_data, tmp_path, model_store):
    models = tmp_path / "models"
    shutil.copytree(model_store.path_for("silero-vad"), models / "silero-vad")
    shutil.copytree(model_store.path_for("whisper-tiny.en"), models / "whisper-tiny.en")
    (models / "whisper-tiny.en" / "vocabulary.txt").write_text("tampered")
    proc = scribe("transcribe", "-m", "whisper-tiny.en", str(shared_data / "audio/en_ljspeech_LJ002-0035.wav"),
                  env={"SCRIBE_MODEL_DIR": str(models)})
    assert_one_line_error(proc, "whisper-tiny.en", "vocabulary.txt", "expected", "scribe models install whisper-tiny.en")


def test_formats_and_several_files(shared_data, tmp_path):
    a = shared_data / "audio/en_ljspeech_LJ002-0035.wav"
    b = shared_data / "audio/en_librispeech_7902-96591-0000.flac"
    proc = scribe("transcribe", "-m", "whisper-tiny.en", "-l", "en", "-f", "srt", "-o", str(tmp_path), str(a), str(b))
    assert proc.returncode == 0, proc.stderr
    srt = (tmp_path / f"{a.stem}.srt").read_text()
    assert srt.startswith("1\n00:00:0") and " --> " in srt
    vtt = scribe("transcribe", "-m", "whisper-tiny.en", "-f", "vtt", str(b))
    assert vtt.stdout.startswith("WEBVTT\n\n00:00:")
    out = tmp_path / "x.json"
    proc = scribe("transcribe", "-m", "whisper-tiny.en", "-o", str(out), str(b))
    data = json.loads(out.read_text())
    assert data["language"] == "en" and data["model"] == "whisper-tiny.en" and data["segments"]
    assert "cutter" in " ".join(s["text"] for s in data["segments"]).lower()
