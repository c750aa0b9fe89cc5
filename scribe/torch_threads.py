"""Torch's intra-op thread count: one number per process, set in one place.

The composition root (``scribe.services``) calls ``configure_torch`` before it loads any torch
model; the drafting model's loader asks too, and gets what is already in force.
"""

from __future__ import annotations

import logging
import threading

from scribe.settings import Settings

log = logging.getLogger(__name__)

_torch_threads: int | None = None
_torch_lock = threading.Lock()


def configure_torch(settings: Settings, threads: int | None = None) -> int:
    """Torch's intra-op thread count is one number per process: set here, by the first
    component that needs torch, and never changed afterwards (the diarizer and the drafting
    model used to set 1 and N, and whichever loaded last won). Returns the number in force.

    Default ``settings.torch_threads`` (1): on a shared 2-core desk PC torch's OpenMP threads
    spin while waiting for a core, and a 2-thread CAM++ call measured 20x slower wall-clock
    under load than a 1-thread one; the diarizer's parallelism comes from worker threads. A
    process that only drafts (``scribe draft``) asks for ``settings.threads``.
    """
    global _torch_threads
    wanted = threads or settings.torch_threads or settings.threads
    with _torch_lock:
        if _torch_threads is not None:
            if wanted != _torch_threads:
                log.info("torch keeps %d thread(s) in this process (%d asked later)", _torch_threads, wanted)
            return _torch_threads
        try:
            import torch
        except ImportError:  # a server without the diarization and drafting extras
            return wanted
        torch.set_num_threads(wanted)
        _torch_threads = wanted
        return wanted
