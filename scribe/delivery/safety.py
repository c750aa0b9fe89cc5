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


# IPv6 prefixes that carry an IPv4 address in their last 32 bits, reached through a
# translator: NAT64 (RFC 6052) and local-use NAT64 (RFC 8215). ``ipaddress`` decodes 6to4,
# Teredo and IPv4-mapped itself (``sixtofour``, ``teredo``, ``ipv4_mapped``).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # ::a.b.c.d (deprecated; :: and ::1 excluded)


def embedded_ipv4(addr: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (6to4, NAT64, IPv4-mapped, IPv4-compatible,
    both ends of Teredo): a packet to it reaches them, so they are what is judged."""
    if not isinstance(addr, ipaddress.IPv6Address):
        return []
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    if addr.teredo is not None:
        server, client = addr.teredo
        return [client, server]
    low32 = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if any(addr in net for net in _NAT64):
        return [low32]
    if addr in _IPV4_COMPATIBLE and int(addr) > 1:
        return [low32]
    return []


def address_problem(addr: IPAddress, settings: Settings) -> str | None:
    """Why ``addr`` is refused under ``settings``, or None if it is allowed.

    The never-allowed list comes first: no setting opens a cloud metadata service (a site that
    allows 100.64.0.0/10 still cannot reach 100.100.100.200). An IPv6 address that carries an
    IPv4 address is judged as that IPv4 address (every one it carries must pass)."""
    inner = embedded_ipv4(addr)
    if any(a in METADATA_ADDRESSES for a in (addr, *inner)):
        return "a cloud metadata address"
    if inner:
        problems = [_problem(a, settings) for a in inner]
        found = [p for p in problems if p]
        return f"{found[0]} inside an IPv6 address" if found else None
    return _problem(addr, settings)


def _problem(addr: IPAddress, settings: Settings) -> str | None:
    for cidr in settings.delivery.allowed_networks:
        if addr in ipaddress.ip_network(cidr, strict=False):
            return None
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
                f"the webhook host {parts.hostname!r} resolves to {addr}"
                + (f" ({', '.join(map(str, embedded_ipv4(addr)))})" if embedded_ipv4(addr) else "")
                + f", {problem}",
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
