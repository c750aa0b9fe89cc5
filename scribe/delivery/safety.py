"""Outbound safety: where the worker may send.

A webhook URL is typed by an administrator, but a mistaken or malicious one could make the
desk PC call its own admin pages, the office LAN, or a cloud metadata service (SSRF). So a
destination is checked when the endpoint is registered AND again before every request (DNS
can change in between), against every address the host name resolves to, and the worker then
connects to the vetted address itself (``pinning``), not to a second DNS answer.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from scribe.errors import DeliveryError
from scribe.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

# Cloud instance-metadata services. Link-local already covers the AWS/GCP/Azure address;
# Alibaba Cloud (100.100.100.200) and others sit in shared or private space, so they are named.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "100.100.100.200", "fd00:ec2::254", "169.254.170.2")
)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DeliveryError(
            f"the webhook host {host!r} does not resolve ({exc.strerror})",
            fix="check the endpoint URL's host name and this machine's DNS",
        ) from exc
    return sorted({str(info[4][0]) for info in infos})


def address_problem(addr: IPAddress, settings: Settings) -> str | None:
    """Why ``addr`` is refused under ``settings``, or None if it is allowed."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    for cidr in settings.delivery.allowed_networks:
        if addr in ipaddress.ip_network(cidr, strict=False):
            return None
    if addr in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if addr.is_loopback:
        opened = settings.delivery.allow_loopback or settings.delivery.allow_loopback_http
        return None if opened else "a loopback address"
    if addr.is_link_local:
        return "a link-local address"
    if addr.is_unspecified or addr.is_multicast or addr.is_reserved:
        return "an unspecified, multicast or reserved address"
    if addr.is_private or not addr.is_global:
        return None if settings.delivery.allow_private else "a private address"
    return None


def check_url(url: str, settings: Settings, resolver: Resolver = resolve) -> list[str]:
    """Raise ``DeliveryError`` unless the worker may send to ``url``; return the vetted
    addresses (the worker connects to the first of them, see ``pinning``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DeliveryError(
            f"the webhook URL {redact_url(url)!r} is not an http(s) URL with a host",
            fix="give the case system's full URL, e.g. https://cases.example.gov.cn/hooks/scribe",
        )
    # plain HTTP: allow_http opens it anywhere; allow_loopback_http (the development receiver)
    # only to loopback, checked on the resolved addresses below
    plain = parts.scheme == "http" and not settings.delivery.allow_http
    if plain and not settings.delivery.allow_loopback_http:
        raise DeliveryError(
            f"the webhook URL {redact_url(url)!r} is plain HTTP",
            fix="use the case system's https:// URL (SCRIBE_DELIVERY__ALLOW_LOOPBACK_HTTP=true "
            "opens http:// to a development receiver on this machine)",
        )
    if parts.username or parts.password:
        raise DeliveryError(
            "the webhook URL carries a user name or password",
            fix="remove the credentials from the URL; receivers verify the webhook signature",
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = list(resolver(parts.hostname, port))
    if not addresses:
        raise DeliveryError(
            f"the webhook host {parts.hostname!r} resolves to no address",
            fix="check the endpoint URL's host name and this machine's DNS",
        )
    for text in addresses:
        addr = ipaddress.ip_address(text.split("%", 1)[0])
        if plain and not _loopback(addr):
            raise DeliveryError(
                f"the webhook URL {redact_url(url)!r} is plain HTTP to {addr}, not a loopback address",
                fix="use the case system's https:// URL; plain HTTP is opened only to a "
                "development receiver on this machine (127.0.0.1, ::1)",
            )
        problem = address_problem(addr, settings)
        if problem:
            raise DeliveryError(
                f"the webhook host {parts.hostname!r} resolves to {addr}, {problem}",
                fix="use the case system's public address, or open that network with "
                "SCRIBE_DELIVERY_ALLOWED_NETWORKS (or the matching SCRIBE_DELIVERY_ALLOW_* flag)",
            )
    return addresses


def _loopback(addr: IPAddress) -> bool:
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def redact_url(url: str) -> str:
    """The URL without query, fragment or credentials: what logs and errors may show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"
