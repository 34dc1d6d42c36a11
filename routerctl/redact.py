"""The one redactor: secrets in router config and output, removed by position.

A secret is whatever follows a secret-bearing keyword on its line (with an optional
type token such as the ``7``/``8`` of an encrypted password, or ``clear``/``md5``) --
never found by searching for the secret's literal text, which would blank out every
other place the same characters appear (``remote-as 65001``) and so reveal them.

The keywords, from FRR's and Quagga's config and vtysh output:
``password`` (``password X``, ``enable password X``, ``neighbor P password X``,
``isis password md5 X``), ``area-password``/``domain-password`` (IS-IS), ``key-string``
(key chains), ``authentication-key`` and ``message-digest-key N md5`` (OSPF),
``authentication key-id N hash-algo A key`` (OSPFv3), ``authentication string`` (RIP),
``nhrp authentication``, ``smux peer OID`` (SNMP), and ``secret`` (UCI and the like).
Descriptions are free text and left alone. Pure, no I/O; idempotent.
"""

from __future__ import annotations

import re

REDACTED = "<redacted>"

_SECRET = re.compile(
    r"(?P<head>\b(?:"
    r"password|area-password|domain-password|secret|key-string|authentication-key"
    r"|message-digest-key\s+\d+\s+md5"
    r"|hash-algo\s+\S+\s+key"
    r"|authentication\s+string"
    r"|nhrp\s+authentication"
    r"|smux\s+peer\s+\S+"
    r")(?:\s+(?:\d|clear|md5|text))?)"
    r"\s+\S.*$",
    re.IGNORECASE,
)
_DESCRIPTION = re.compile(r"^\s*(?:neighbor\s+\S+\s+)?description\b", re.IGNORECASE)


def redact_line(line: str) -> str:
    """``line`` with the text after its secret keyword replaced by ``<redacted>``."""
    if _DESCRIPTION.match(line):
        return line
    return _SECRET.sub(lambda m: f"{m.group('head')} {REDACTED}", line, count=1)


def redact(text: str) -> str:
    """``text`` (a config, an output, a message) with every line's secret redacted."""
    return "\n".join(redact_line(line) for line in text.split("\n"))


def excerpt(text: str, limit: int = 200) -> str:
    """Router output for a one-line message: redacted first, then at most ``limit`` chars."""
    out = redact(text.strip())
    return out if len(out) <= limit else out[:limit] + "..."
