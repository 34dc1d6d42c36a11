"""Pieces every command module shares: options, topology loading, JSON output.

Command modules (``routerctl/commands/*.py``) define ``register(app)``; they print
results to stdout and diagnostics to stderr, and raise ``RouterctlError`` for
failures -- ``cli.main`` alone maps errors to exit codes.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from routerctl.platform import SUITE_NAMES
from routerctl.topology import DEFAULT_TOPOLOGY, Topology, load_topology

if TYPE_CHECKING:
    from rich.console import Console


class _ConsoleOnUse:
    """A rich ``Console`` made on first use: ``rich.console`` costs ~45 ms to import and
    a run that prints no table (``-o json``, an error) never needs it (issue 17)."""

    def __init__(self, **settings: Any) -> None:
        self._settings = settings
        self._console: Console | None = None
        self._lock = threading.Lock()  # one Console, whichever thread prints first

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._console is None:
                from rich.console import Console  # noqa: PLC0415 (start-up)

                self._console = Console(**self._settings)
        return getattr(self._console, name)


stdout = cast("Console", _ConsoleOnUse(soft_wrap=True))
stderr = cast("Console", _ConsoleOnUse(stderr=True, soft_wrap=True))


# C0 (tab and newline too), DEL and C1: ESC/CSI/OSC sequences start with one of these
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_KEEP_NEWLINES = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def safe(value: object, *, markup: bool = True, newlines: bool = False) -> str:
    """A router-supplied (or other foreign) string made safe to print.

    Control characters become visible ``\\xNN`` text, so no escape sequence (screen
    clear, OSC 8 hyperlink, title change) reaches the terminal; newlines are kept only
    with ``newlines=True``. With ``markup=True`` (for rich: tables, ``Console.print``)
    rich markup is escaped, so ``[/]`` or ``[link=...]`` shows as typed.
    """
    pattern = _CONTROL_KEEP_NEWLINES if newlines else _CONTROL
    text = pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))
    if markup:
        from rich.markup import escape  # noqa: PLC0415 (start-up: rich only for rich output)

        text = escape(text)
    return text


# The routing suites every command offers (--suite), built from the platform profiles.
Suite = enum.Enum("Suite", {name: name for name in SUITE_NAMES}, type=str)  # type: ignore[misc]


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"


TopologyOption = Annotated[
    Path,
    typer.Option(
        "--topology",
        "-t",
        help="Topology file (default: ./routerctl.yaml, or $ROUTERCTL_TOPOLOGY).",
        envvar="ROUTERCTL_TOPOLOGY",
        show_default=False,
    ),
]
OutputOption = Annotated[
    OutputFormat, typer.Option("--output", "-o", help="Output format.", case_sensitive=False)
]
RouterOption = Annotated[
    str | None, typer.Option("--router", "-r", help="Router name (when the topology has several).")
]
AcceptNewHostKeyOption = Annotated[
    bool,
    typer.Option(
        "--accept-new-host-key",
        help="Trust an unknown router host key and add it to known_hosts (a changed key "
        "is always refused).",
    ),
]


def get_topology(path: Path | None) -> Topology:
    return load_topology(path or Path(os.environ.get("ROUTERCTL_TOPOLOGY", DEFAULT_TOPOLOGY)))


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, enums, ipaddress objects and paths to plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(
        obj,
        ipaddress.IPv4Address
        | ipaddress.IPv6Address
        | ipaddress.IPv4Network
        | ipaddress.IPv6Network
        | Path,
    ):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    return obj


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(to_jsonable(obj), indent=2, sort_keys=False))
