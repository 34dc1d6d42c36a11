"""Small value converters shared by the text and JSON paths."""

from __future__ import annotations

import ipaddress
import re

from routerctl.model import IPAddress, SessionState

_HMS = re.compile(r"(\d+):(\d\d):(\d\d)")
_DHM = re.compile(r"(\d+)d(\d\d)h(\d\d)m")
_WDH = re.compile(r"(\d+)w(\d)d(\d\d)h")
_YWD = re.compile(r"(\d+)y(\d+)w(\d+)d")
_DAY = 86400
_WEEK = 7 * _DAY
_YEAR = 365 * _DAY

_STATES = {s.value.lower(): s for s in SessionState}


def parse_uptime(text: str | None) -> int | None:
    """``00:01:02`` / ``1d02h03m`` / ``02w3d04h`` / ``01y02w3d`` to seconds; ``never`` to None."""
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
    raise ValueError(f"unknown uptime format {text!r}")


def parse_state(text: str) -> SessionState:
    """FSM state text (``Idle (Admin)``, ``Established``...) to SessionState."""
    state = _STATES.get(text.strip().lower())
    if state is None:
        raise ValueError(f"unknown BGP state {text!r}")
    return state


def parse_asn(text: str | int) -> int:
    """``65001`` or asdot ``1.10`` to an int AS number."""
    if isinstance(text, int):
        return text
    high, dot, low = text.partition(".")
    return int(high) * 65536 + int(low) if dot else int(high)


def parse_ip(text: str) -> IPAddress | None:
    """An address, or None when ``text`` is not one (interface names, masked values)."""
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
