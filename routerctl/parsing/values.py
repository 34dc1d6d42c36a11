"""Small value converters shared by the text and JSON paths."""

from __future__ import annotations

import ipaddress
import itertools
import re
from typing import Any

from routerctl.errors import ParseError
from routerctl.model import IPAddress, IPNetwork, SessionState

ASN_MAX = 4294967295  # 4-byte AS numbers (RFC 6793)
COUNTER_MAX = 2**64 - 1  # FRR's counters are at most 64-bit
_MAX_DIGITS = 20  # more digits than any counter, AS number or uptime part can have

_HMS = re.compile(r"(\d{1,9}):(\d\d):(\d\d)")
_DHM = re.compile(r"(\d{1,9})d(\d\d)h(\d\d)m")
_WDH = re.compile(r"(\d{1,9})w(\d)d(\d\d)h")
_YWD = re.compile(r"(\d{1,9})y(\d{1,9})w(\d{1,9})d")
_DAY = 86400
_WEEK = 7 * _DAY
_YEAR = 365 * _DAY

_STATES = {s.value.lower(): s for s in SessionState}


def parse_uptime(text: object) -> int | None:
    """``00:01:02`` / ``1d02h03m`` / ``02w3d04h`` / ``01y02w3d`` to seconds; ``never`` to None.
    Anything else (a number, another format) raises ``ValueError``."""
    if not isinstance(text, str | None):
        raise ValueError(f"unknown uptime format {shown(text)}")
    if text is None or text in ("", "never") or text.startswith("XX"):
        return None
    if m := _HMS.fullmatch(text):
        return int(m[1]) * 3600 + int(m[2]) * 60 + int(m[3])
    if m := _DHM.fullmatch(text):
        return int(m[1]) * _DAY + int(m[2]) * 3600 + int(m[3]) * 60
    if m := _WDH.fullmatch(text):
        return int(m[1]) * _WEEK + int(m[2]) * _DAY + int(m[3]) * 3600
    if m := _YWD.fullmatch(text):
        return int(m[1]) * _YEAR + int(m[2]) * _WEEK + int(m[3]) * _DAY
    raise ValueError(f"unknown uptime format {shown(text)}")


def parse_state(text: object) -> SessionState:
    """FSM state text (``Idle (Admin)``, ``Established``...) to SessionState."""
    state = _STATES.get(text.strip().lower()) if isinstance(text, str) else None
    if state is None:
        raise ValueError(f"unknown BGP state {shown(text)}")
    return state


def shown(value: Any, limit: int = 60) -> str:
    """A router-supplied value for an error message: repr (control characters escaped),
    at most ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _digits(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS else None


def parse_asn(value: object, *, field: str, lo: int = 1) -> int:
    """``65001``, asdot ``1.10`` or a JSON integer to an AS number in ``lo``..4294967295;
    anything else is a ``ParseError`` naming ``field``. (FRR prints remote AS 0 for a
    neighbor whose AS is not known yet: callers pass ``lo=0`` there.)"""
    asn: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        asn = value
    elif isinstance(value, str):
        high, dot, low = value.partition(".")
        h, l_ = _digits(high), _digits(low) if dot else 0
        if h is not None and l_ is not None and (not dot or (h <= 65535 and l_ <= 65535)):
            asn = h * 65536 + l_ if dot else h
    if asn is None or not lo <= asn <= ASN_MAX:
        raise ParseError(
            f"{field}: {shown(value)} is not an AS number",
            hint=f"an AS number is {lo}..{ASN_MAX} (or asdot 1.10)",
        )
    return asn


def parse_count(value: object, *, field: str, hi: int = COUNTER_MAX) -> int:
    """A counter (an int, or a string of digits) in 0..``hi``; else a ``ParseError``."""
    count: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str):
        count = _digits(value.strip())
    if count is None or not 0 <= count <= hi:
        raise ParseError(
            f"{field}: {shown(value)} is not a count", hint=f"expected an integer 0..{hi}"
        )
    return count


_V4_PREFIX = re.compile(r"([1-9]?\d|1\d\d|2[0-4]\d|25[0-5])\.([1-9]?\d|1\d\d|2[0-4]\d|25[0-5])\."
                        r"([1-9]?\d|1\d\d|2[0-4]\d|25[0-5])\.([1-9]?\d|1\d\d|2[0-4]\d|25[0-5])"
                        r"/([12]?\d|3[0-2])")  # fmt: skip


def parse_prefix(text: str) -> IPNetwork:
    """``ipaddress.ip_network(text, strict=False)``, with a fast path for the common
    IPv4 ``a.b.c.d/len`` (no leading zeros, as ipaddress): each route has its own prefix,
    and the string parse was a third of building a Route (issue 17). ValueError as
    ipaddress raises it."""
    m = _V4_PREFIX.fullmatch(text)
    if m is None:
        return ipaddress.ip_network(text, strict=False)
    a, b, c, d, plen = m.groups()
    network: IPNetwork = _v4_network(
        (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d), int(plen)
    )
    return network


# ipaddress's private attributes, as its own __init__ sets them: typed Any on purpose
_NET: Any = ipaddress.IPv4Network
_ADDR: Any = ipaddress.IPv4Address
_new = object.__new__
_V4_MASKS: list[Any] = [_NET._make_netmask(plen)[0] for plen in range(33)]


def _v4_network_fast(addr: int, plen: int) -> ipaddress.IPv4Network:
    """``IPv4Network((addr, plen), strict=False)`` for a checked ``addr`` (0..2**32-1)
    and ``plen`` (0..32), without its argument parsing: the same attributes
    ``IPv4Network.__init__`` sets (Python 3.10-3.13), in the same order. Half the time
    of the constructor; ``_v4_fast_path_holds`` checks it against the constructor at
    import and ``parse_prefix`` uses the constructor if it differs."""
    netmask = _V4_MASKS[plen]
    address = _new(_ADDR)
    address._ip = addr & netmask._ip
    net = _new(_NET)
    net.network_address = address
    net.netmask = netmask
    net._prefixlen = plen
    if plen == 31:
        net.hosts = net.__iter__
    elif plen == 32:
        net.hosts = lambda: [_ADDR(addr)]
    result: ipaddress.IPv4Network = net
    return result


def _v4_network_slow(addr: int, plen: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network((addr, plen), strict=False)


def _v4_fast_path_holds() -> bool:
    """``_v4_network_fast`` makes what the constructor makes (attributes, equality, hash,
    text, hosts) on this Python."""
    for addr, plen in ((0x0A000001, 32), (0x0A000001, 31), (0xC0000280, 24), (0xFFFFFFFF, 0)):
        fast, slow = _v4_network_fast(addr, plen), _v4_network_slow(addr, plen)
        if (
            fast != slow
            or hash(fast) != hash(slow)
            or str(fast) != str(slow)
            or list(vars(fast)) != list(vars(slow))
            or int(fast.network_address) != int(slow.network_address)
            or fast.netmask is not slow.netmask
            or list(itertools.islice(fast.hosts(), 3)) != list(itertools.islice(slow.hosts(), 3))
        ):
            return False
    return True


_v4_network = _v4_network_fast if _v4_fast_path_holds() else _v4_network_slow


def parse_ip(text: object) -> IPAddress | None:
    """An address, or None when ``text`` is not one (interface names, masked values)."""
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


_NAMED = re.compile(r"(?P<host>.+)\((?P<inner>[^()]+)\)")


def parse_neighbor_name(text: str) -> tuple[IPAddress | None, str | None, str | None]:
    """``10.0.0.1`` | ``swp1`` | ``host(10.0.0.1)`` | ``host(swp1)``: (address, interface, host)."""
    hostname = None
    if m := _NAMED.fullmatch(text):
        hostname, text = m["host"], m["inner"]
    address = parse_ip(text)
    return address, (None if address is not None else text), hostname
