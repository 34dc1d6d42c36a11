"""What a plain name is: SSH hosts and users, and text without control characters.

One definition for the topology's validators and the SSH transport (which refuses to
put anything else into a ProxyCommand's ``%h``/``%r``). Full matches only: a
``$``-anchored ``match`` would let a trailing newline through.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

# a host name, ssh_config alias or IPv4 address: never a leading '-' (an option) or '.'
HOST_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}")
# an IPv6 address, with an optional zone (fe80::1%br-lan); checked by ``ipaddress`` too
IPV6_RE = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]{1,32})?")
USER_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")

# Cc: C0, DEL, C1 (NEL); Cf: format (bidi overrides, zero width); Zl/Zp: line breaks;
# Cs/Co/Cn: surrogates, private use, unassigned
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def plain_host(text: str) -> bool:
    """A host name, alias, IPv4 address or IPv6 address (with zone): safe in a shell word."""
    if HOST_RE.fullmatch(text):
        return True
    if not IPV6_RE.fullmatch(text):
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def plain_user(text: str) -> bool:
    """A user name: letters, digits, '.', '-', '_', not starting with '-' or '.'."""
    return USER_RE.fullmatch(text) is not None


def control_character(text: str) -> str | None:
    """The first control, format or line-break character in ``text`` (None: there is none)."""
    for c in text:
        if unicodedata.category(c) in _CONTROL_CATEGORIES:
            return c
    return None
