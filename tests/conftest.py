"""Shared fixtures: the real speech set in ../shared/data and the installed models."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SCRIBE_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED / "manifest.json").exists():
        pytest.fail(f"the shared speech set is missing at {SHARED} (set SCRIBE_SHARED_DATA)")
    return SHARED


@pytest.fixture(scope="session")
def manifest(shared_data: Path) -> dict:
    return json.loads((shared_data / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def settings():
    from scribe.settings import Settings

    return Settings()


@pytest.fixture(scope="session")
def model_store(settings):
    """The installed, locked models. Missing models fail loudly: CI installs them."""
    from scribe.models import open_store

    store = open_store(settings)
    for entry in store.lock.required():
        store.path_for(entry.name)  # raises ModelNotInstalled with the fix
    return store


@pytest.fixture(scope="session")
def transcriber_base(settings, model_store):
    """whisper-base (multilingual) + Silero VAD, loaded once for the whole run."""
    from scribe.transcribe import Transcriber

    return Transcriber.load(settings, "whisper-base")


@pytest.fixture(scope="session")
def transcriber_tiny_en(settings, model_store):
    from scribe.transcribe import Transcriber

    return Transcriber.load(settings, "whisper-tiny.en")


# The llama.cpp server tests need a 25-30 min source build (setup.sh --llama): an explicit run,
# like the soak and load benchmarks, never a skip in the default suite.
collect_ignore = [] if os.environ.get("SCRIBE_TEST_LLAMACPP") == "1" else ["test_drafting_llamacpp.py"]
