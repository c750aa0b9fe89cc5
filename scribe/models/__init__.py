"""Locked, offline models: ``models.lock`` parsing and the on-disk model store."""

from scribe.models.lock import ModelEntry, ModelLock, load_lock
from scribe.models.store import ModelStore
from scribe.settings import Settings

__all__ = ["ModelEntry", "ModelLock", "ModelStore", "load_lock", "open_store"]


def open_store(settings: Settings) -> ModelStore:
    return ModelStore(load_lock(settings.lock_file), settings.models_path)
