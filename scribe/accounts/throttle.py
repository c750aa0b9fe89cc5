"""Slows password guessing, in two ways that do different jobs:

- per account: after ``account_limit`` failures within ``account_window`` seconds the account
  is locked for the rest of that window (an admin can unlock it sooner). It stops a guesser
  aimed at one person. Unknown user names are counted the same way, so the answer never tells
  whether a name exists.
- per client address: at most ``address_limit`` failures a minute, then a short wait. Only a
  rate: it slows someone spraying many accounts from one machine without locking out every
  colleague behind the same office PC or gateway.

An attempt takes its slot *before* the password is hashed (``reserve``), under one lock, so a
burst of parallel guesses cannot all pass a check made before any of them failed. In memory on
purpose: one server process per desk or office; a restart forgets the rate (the account lock is
also kept on the user row, and the audit log keeps every failure).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Key:
    failures: deque[float] = field(default_factory=deque)
    in_flight: int = 0


@dataclass(frozen=True)
class Refused:
    wait: float  # seconds before trying again
    account: bool  # True: the account's limit; False: the address's rate


class Ticket:
    """One admitted attempt: report how it ended exactly once."""

    def __init__(self, throttle: LoginThrottle, keys: tuple[str, ...]) -> None:
        self._throttle = throttle
        self._keys = keys
        self._open = True

    def failed(self) -> None:
        self._close(failed=True)

    def succeeded(self) -> None:
        self._close(failed=False, clear_account=True)

    def cancel(self) -> None:
        """The attempt was not judged (server busy): it counts for nothing."""
        self._close(failed=False)

    def _close(self, *, failed: bool, clear_account: bool = False) -> None:
        if self._open:
            self._open = False
            self._throttle._finish(self._keys, failed=failed, clear_account=clear_account)


class LoginThrottle:
    def __init__(
        self,
        account_limit: int = 5,
        account_window: float = 900.0,
        address_limit: int = 10,
        address_window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account_limit = account_limit
        self.account_window = account_window
        self.address_limit = address_limit
        self.address_window = address_window
        self.clock = clock
        self._keys: dict[str, _Key] = defaultdict(_Key)
        self._rechecked: dict[str, float] = {}
        self._lock = threading.Lock()

    def _limits(self, key: str) -> tuple[int, float]:
        if key.startswith("ip:"):
            return self.address_limit, self.address_window
        return self.account_limit, self.account_window

    def _recent(self, key: str, now: float) -> _Key:
        entry = self._keys[key]
        _, window = self._limits(key)
        while entry.failures and now - entry.failures[0] > window:
            entry.failures.popleft()
        return entry

    def reserve(self, account: str, address: str) -> Ticket | Refused:
        """A ticket for one attempt, or why not and how long to wait."""
        keys = (f"user:{account.strip().lower()}", f"ip:{address}")
        with self._lock:
            now = self.clock()
            refused: Refused | None = None
            for key in keys:
                entry = self._recent(key, now)
                limit, window = self._limits(key)
                if len(entry.failures) + entry.in_flight >= limit:
                    oldest = entry.failures[0] if entry.failures else now
                    wait = max(window - (now - oldest), 1.0)
                    if refused is None or wait > refused.wait:
                        refused = Refused(wait, account=key.startswith("user:"))
            if refused is not None:
                return refused
            for key in keys:
                self._keys[key].in_flight += 1
        return Ticket(self, keys)

    def locked_for(self, account: str) -> float:
        """Seconds the account stays locked (0 when it is not)."""
        key = f"user:{account.strip().lower()}"
        with self._lock:
            now = self.clock()
            entry = self._recent(key, now)
            if len(entry.failures) < self.account_limit:
                return 0.0
            return max(0.0, self.account_window - (now - entry.failures[0]))

    def last_failure_at(self, account: str) -> float | None:
        """When (``time.time()``) the account's latest counted failure was, or None."""
        key = f"user:{account.strip().lower()}"
        with self._lock:
            entry = self._keys.get(key)
            if entry is None or not entry.failures:
                return None
            return time.time() - (self.clock() - entry.failures[-1])

    def recheck_due(self, account: str, every_s: float = 1.0) -> bool:
        """True at most once every ``every_s`` per account: whether a refused login may look
        in the database for an unlock made elsewhere (``scribe users unlock``), without a
        burst of refused guesses each taking a database connection."""
        key = f"user:{account.strip().lower()}"
        with self._lock:
            now = self.clock()
            if now - self._rechecked.get(key, -1e18) < every_s:
                return False
            self._rechecked[key] = now
            if len(self._rechecked) > 10_000:  # bounded: a sprayer of made-up names
                self._rechecked.clear()
            return True

    def unlock(self, account: str) -> None:
        with self._lock:
            entry = self._keys.get(f"user:{account.strip().lower()}")
            if entry is not None:
                entry.failures.clear()

    def _finish(self, keys: tuple[str, ...], *, failed: bool, clear_account: bool) -> None:
        with self._lock:
            now = self.clock()
            for key in keys:
                entry = self._keys[key]
                entry.in_flight = max(0, entry.in_flight - 1)
                if failed:
                    entry.failures.append(now)
                elif clear_account and key.startswith("user:"):
                    entry.failures.clear()  # the address's rate stays: one good login is no pass
                if not entry.failures and not entry.in_flight:
                    self._keys.pop(key, None)
