"""When the next attempt falls due: the retry schedule with jitter, and ``Retry-After``."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from collections.abc import Sequence


def retry_delay(
    attempts_done: int, schedule: Sequence[float], jitter: float, rng: random.Random
) -> float | None:
    """Seconds to wait after the ``attempts_done``-th failed attempt, or None when the schedule
    is used up.

    ``schedule`` holds offsets from the first attempt (5 s, 5 min, ..., 24 h); the wait is the
    gap to the next offset, stretched or shrunk by up to ``jitter`` so that a backlog built up
    while a receiver was down does not come back as one burst.
    """
    if attempts_done < 1 or attempts_done > len(schedule):
        return None
    previous = schedule[attempts_done - 2] if attempts_done >= 2 else 0.0
    gap = max(0.0, schedule[attempts_done - 1] - previous)
    return gap * rng.uniform(1.0 - jitter, 1.0 + jitter)


def parse_retry_after(value: str | None, now: dt.datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())
