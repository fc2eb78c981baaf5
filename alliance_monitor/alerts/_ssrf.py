"""Which webhook hosts are internal: the SSRF guard of `AlertDispatcher`.

A webhook URL comes from configuration; pointed at ``127.0.0.1``, ``169.254.169.254`` (a cloud
metadata service) or a host on the private network, every alert becomes a signed POST from
inside the perimeter. `is_internal_host` recognises IP literals in every spelling the resolver
accepts (``0x7f000001``, ``2130706433``, ``127.1``, ``[::1]``, ``::ffff:127.0.0.1``) and the
names that always resolve locally (``localhost``, ``*.localhost``, ``*.local``,
``*.internal``...). It does not resolve DNS: a public name whose records point inside is not
caught here; put an egress proxy or `allowed_hosts` in front for that.
"""

from __future__ import annotations

import ipaddress
import socket

__all__ = ["is_internal_host"]

_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    h = host.strip("[]")
    try:
        return ipaddress.ip_address(h.split("%", 1)[0])
    except ValueError:
        pass
    try:  # the forms inet_aton takes: 0x7f000001, 2130706433, 127.1, 0177.0.0.1
        return ipaddress.IPv4Address(socket.inet_aton(h))
    except (OSError, ValueError):
        return None


def is_internal_host(host: str) -> bool:
    """True for loopback, private, link-local, shared, reserved, unspecified and multicast
    addresses (IPv4 and IPv6, IPv4-mapped included) and for local-only names."""
    name = host.lower().rstrip(".")
    if not name:
        return True
    if name in _LOCAL_NAMES or name.endswith(_LOCAL_SUFFIXES):
        return True
    addr = _address(name)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        mapped = addr.ipv4_mapped or addr.sixtofour
        if mapped is not None:
            addr = mapped
    return not addr.is_global or addr.is_multicast
