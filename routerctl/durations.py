"""Durations as Go (and so Kubernetes and MetalLB) write them: ``90s``, ``1m30s``, ``1.5h``.

The one parser for the topology's timers, MetalLB's manifests and ConfigMap, and the
lab's speakers. Pure, no I/O; every bad input is a ``ValueError``.
"""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
MAX_LENGTH = 64  # a duration longer than this is a mistake, not a timer


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (``90s``, ``1m30s``, ``1.5h``, ``-2s``, ``0``).

    Raises ``ValueError`` for anything else, including a value too long or too large
    to be a finite number of seconds.
    """
    body = text.strip()
    if len(body) > MAX_LENGTH:
        raise ValueError(f"invalid duration {body[:MAX_LENGTH]!r}... (too long)")
    sign = -1.0 if body.startswith("-") else 1.0
    if body[:1] in ("+", "-"):
        body = body[1:]
    if body == "0":
        return 0.0
    total, pos = 0.0, 0
    for match in _PART.finditer(body):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body) or not math.isfinite(total):
        raise ValueError(f"invalid duration {text!r}")
    return sign * total


def whole_seconds(text: str) -> int:
    """A non-negative Go duration that is a whole number of seconds (``ValueError`` if not)."""
    seconds = parse_duration(text)
    if seconds < 0:
        raise ValueError(f"negative duration {text!r}")
    if seconds != int(seconds):
        raise ValueError(f"duration {text!r} is not a whole number of seconds")
    return int(seconds)
