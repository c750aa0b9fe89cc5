"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from scribe.errors import AccountError

_hasher = PasswordHasher()
MIN_LENGTH = 10

# Computed once so that a login with an unknown user name costs the same as a wrong password
# (no user-name probing by timing).
_DUMMY_HASH = _hasher.hash("not a password, only for constant-cost misses")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise AccountError(
            f"the password has {len(password)} characters; at least {MIN_LENGTH} are needed",
            fix="choose a longer password (a phrase of several words is easy to remember)",
        )
    if len(set(password)) < 4:
        raise AccountError(
            "the password repeats too few different characters",
            fix="choose a password with more variety",
        )


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


class HashesBusy(Exception):
    """Every hashing slot stayed taken for the whole wait: the server is busy with logins."""


class HashGate:
    """At most ``concurrency`` password checks at once (each takes Argon2's 64 MiB and a core).

    Waiting happens on the event loop, not in a worker thread, so a burst of logins holds no
    thread and no database connection while it queues; one that waits past ``wait_s`` gets
    ``HashesBusy`` (a 429) instead of piling up."""

    def __init__(self, concurrency: int = 2, wait_s: float = 3.0) -> None:
        import asyncio

        self._slots = asyncio.Semaphore(max(1, concurrency))
        self.wait_s = wait_s
        self.running = 0
        self.most_at_once = 0  # for tests and metrics: the cap held

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        import asyncio

        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self.wait_s)
        except TimeoutError:
            raise HashesBusy() from None
        try:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            return await asyncio.to_thread(verify_password, stored_hash, password)
        finally:
            self.running -= 1
            self._slots.release()
