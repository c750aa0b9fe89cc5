"""Case-system delivery: signed webhooks (Standard Webhooks v1) from a transactional outbox.

- ``endpoints``: the registry (add, rotate with a grace period, disable, enable, list)
- ``outbox``: ``enqueue`` inside the caller's transaction, ``replay``, listings
- ``worker``: ``DeliveryWorker`` sends with retries, backoff, Retry-After, 410 handling
- ``payload``: the versioned payload (``docs/webhooks/payload-v1.schema.json``)
- ``pull``: signed expiring download links and scoped API tokens; ``routes``: the FastAPI
  router that serves the downloads
- ``safety``: the outbound destination check (no loopback/private/metadata unless allowed)

See ``docs/webhooks.md`` for what a case system receives and how it verifies it.
"""

from scribe.delivery import models as models  # noqa: F401  (registers the tables)
from scribe.delivery.clock import Clock, ManualClock, SystemClock
from scribe.delivery.endpoints import (
    EndpointInfo,
    add_endpoint,
    disable_endpoint,
    enable_endpoint,
    list_endpoints,
    rotate_secret,
)
from scribe.delivery.events import DOCUMENT_APPROVED, EVENT_TYPES, SESSION_COMPLETED
from scribe.delivery.outbox import enqueue, list_messages, replay, show_message
from scribe.delivery.worker import DeliveryWorker

__all__ = [
    "DOCUMENT_APPROVED",
    "EVENT_TYPES",
    "SESSION_COMPLETED",
    "Clock",
    "DeliveryWorker",
    "EndpointInfo",
    "ManualClock",
    "SystemClock",
    "add_endpoint",
    "disable_endpoint",
    "enable_endpoint",
    "enqueue",
    "list_endpoints",
    "list_messages",
    "replay",
    "rotate_secret",
    "show_message",
]
