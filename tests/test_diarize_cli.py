"""The diarization commands, run as a user runs them (a real process, a real database file)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from diarize import read_rttm

pytestmark = pytest.mark.models

SCRIBE = str(Path(sys.executable).parent / "scribe")


def _scribe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SCRIBE, *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


def test_diarize_writes_rttm_with_count_options(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "zh.rttm"
    proc = _scribe("diarize", str(shared_data / "conversations/conv_zh_dev_01.wav"), "-o", str(out), "--max-speakers", "4")
    assert proc.returncode == 0, proc.stderr
    turns = read_rttm(out)
    assert turns and turns[0].speaker == "说话人1"
    assert 2 <= len({t.speaker for t in turns}) <= 4
    told = _scribe("diarize", str(shared_data / "conversations/conv_zh_dev_01.wav"), "--num-speakers", "3")
    assert told.returncode == 0, told.stderr
    assert len({line.split()[7] for line in told.stdout.splitlines()}) == 3


def test_diarize_bad_input_is_one_line_error(tmp_path: Path) -> None:
    proc = _scribe("diarize", str(tmp_path / "missing.wav"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "no such file" in proc.stderr
    bad = _scribe("diarize", str(tmp_path / "missing.wav"), "--min-speakers", "5", "--max-speakers", "2")
    assert bad.returncode == 6 and "min-speakers" in bad.stderr and "Traceback" not in bad.stderr


def test_voiceprint_enrol_needs_consent_then_lists_and_deletes(shared_data: Path, tmp_path: Path) -> None:
    env = {"SCRIBE_DATABASE_URL": f"sqlite:///{tmp_path / 'scribe.db'}"}
    audio = str(shared_data / "audio/en_librispeech_2412-153948-0000.flac")
    no = _scribe("voiceprints", "enrol", audio, "--name", "王芳", "--role", "调解员",
                 "--consent-by", "李四", "--notice", "声纹告知书", env=env)
    assert no.returncode == 7 and "consent" in no.stderr
    ok = _scribe("voiceprints", "enrol", audio, "--name", "王芳", "--role", "调解员",
                 "--consent-by", "李四", "--notice", "声纹告知书", "--consent", env=env)
    assert ok.returncode == 0, ok.stderr
    listed = _scribe("voiceprints", "list", env=env)
    [line] = listed.stdout.splitlines()
    vid, name, role = line.split("\t")[:3]
    assert (name, role) == ("王芳", "调解员")
    assert _scribe("voiceprints", "delete", vid, env=env).returncode == 0
    assert _scribe("voiceprints", "list", env=env).stdout.strip() == ""


def test_transcribe_diarize_fills_speakers_word_by_word(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "conv.json"
    proc = _scribe("transcribe", str(shared_data / "conversations/conv_zh_dev_01.wav"), "--diarize",
                   "-l", "zh", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    speakers = [s["speaker"] for s in data["segments"]]
    assert all(speakers) and speakers[0] == "说话人1" and len(set(speakers)) >= 2
    # a segment never mixes speakers: its words all fall inside it
    for s in data["segments"]:
        assert all(s["start"] - 1e-3 <= w["start"] and w["end"] <= s["end"] + 1e-3 for w in s["words"])
    flags = _scribe("transcribe", str(shared_data / "conversations/conv_zh_dev_01.wav"), "--num-speakers", "2")
    assert flags.returncode == 6 and "--diarize" in flags.stderr
