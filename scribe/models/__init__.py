"""Locked, offline models: ``models.lock`` parsing and the on-disk model store."""

from scribe.models.lock import ModelEntry, ModelLock, load_lock
from scribe.models.store import ModelStore

__all__ = ["ModelEntry", "ModelLock", "ModelStore", "load_lock", "open_store"]


def open_store(settings=None) -> ModelStore:  # type: ignore[no-untyped-def]
    from scribe.settings import get_settings

    settings = settings or get_settings()
    return ModelStore(load_lock(settings.lock_file), settings.models_path)
