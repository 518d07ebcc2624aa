"""Which URLs a webhook may call: the server-side request forgery guard.

By default only ``https`` URLs whose host resolves to public addresses only; the operator may
allow ``http`` and private, loopback and link-local addresses (``everturn serve
--webhooks-allow-private``, which the tests use for their local receiver).  A URL is checked when
it is given and again at every delivery, and the delivery connects to the very address that was
checked (the name is kept for the ``Host`` header and TLS), so a name that resolves elsewhere the
second time (DNS rebinding) reaches nothing it should not.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL = 2000


class TargetRefused(ValueError):
    """A URL a webhook may not call; the message says why."""


@dataclass(frozen=True)
class Target:
    url: str        # as given
    host: str       # the name (Host header, TLS server name)
    address: str    # the checked address to connect to
    port: int
    scheme: str
    path: str       # path and query

    @property
    def pinned_url(self) -> str:
        """The URL with the checked address in place of the name."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse(url: str, allow_private: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an acceptable URL; ``TargetRefused`` says what is wrong."""
    if len(url) > MAX_URL:
        raise TargetRefused(f"a webhook URL has at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a URL: {exc}") from None
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise TargetRefused("a webhook URL must start with https://" + (" or http://" if allow_private else ""))
    if not parts.hostname:
        raise TargetRefused("a webhook URL needs a host")
    if parts.username or parts.password:
        raise TargetRefused("a webhook URL may not carry a user name or password")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def allowed(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return False
    return allow_private or ip.is_global


def resolve(url: str, allow_private: bool) -> Target:
    """The URL checked and resolved (blocking: run it in a thread). Every address the name resolves to
    must be allowed: a name with one public and one private address is refused."""
    scheme, host, port, path = parse(url, allow_private)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"cannot resolve {host}: {exc.strerror}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    refused = [a for a in addresses if not allowed(a, allow_private)]
    if refused or not addresses:
        raise TargetRefused(f"{host} resolves to {refused[0] if refused else 'nothing'}, a private, loopback or "
                            "reserved address; webhooks call public addresses only (an operator may allow private "
                            "ones with --webhooks-allow-private)")
    return Target(url, host, addresses[0], port, scheme, path)
