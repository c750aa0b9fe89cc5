"""Connect only to the address the destination check approved (no DNS rebinding).

``check_url`` resolves the host and vets every address; if httpx then resolved the name again
on its own, a hostile DNS server could answer a public address to the check and a private one
to the connection. The worker's own client therefore connects through ``PinnedBackend``: the
TCP connection goes to the vetted address, while the URL, the Host header, TLS SNI and the
certificate check keep the host name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class PinnedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._pins: dict[tuple[str, int], str] = {}

    def pin(self, host: str, port: int, address: str) -> None:
        self._pins[(_key(host), port)] = address

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = self._pins.get((_key(host), port))
        if address is None:
            raise httpcore.ConnectError(f"{host}:{port} was not vetted before connecting")
        return await self._inner.connect_tcp(
            address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("a unix socket is no webhook destination")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def pinned_client(timeout: float) -> tuple[httpx.AsyncClient, PinnedBackend]:
    """An ``httpx.AsyncClient`` whose connections go only where ``PinnedBackend`` says.

    No redirects (a 3xx could point anywhere) and no proxies from the environment.
    """
    backend = PinnedBackend()
    transport = httpx.AsyncHTTPTransport()
    # httpx has no public parameter for httpcore's network backend; the pool reads this
    # attribute for every new connection (httpcore/_async/connection_pool.py).
    transport._pool._network_backend = backend
    client = httpx.AsyncClient(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )
    return client, backend


def _key(host: str) -> str:
    host = host.strip("[]").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host
