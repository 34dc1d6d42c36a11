"""The transport layer's interface: ``Transport`` (what the rest of routerctl needs from
one connection to a router), ``CommandResult`` and ``SshTarget`` (where a router is).

Implementations: ``routerctl.transport.ssh`` (paramiko) and ``routerctl.transport.fake``
(scripted, for tests). This module imports neither.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class SshTarget:
    """Where to reach a router. ``host`` may be an ~/.ssh/config alias."""

    host: str
    port: int | None = None
    user: str | None = None
    identity_file: Path | None = None
    known_hosts: Path | None = None
    ssh_config: Path | None = None  # an ssh_config file to read instead of ~/.ssh/config
    transport: str | None = None  # "paramiko" (default) | "openssh" (see TRANSPORTS)


# How routerctl reaches routers: paramiko in-process (default), or the system's OpenSSH
# client with a ControlMaster (routerctl.transport.openssh).
TRANSPORTS = ("paramiko", "openssh")


@dataclass(frozen=True)
class CommandResult:
    """What one exec channel returned."""

    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@runtime_checkable
class Transport(Protocol):
    """What the rest of routerctl needs from a connection to one router."""

    host: str  # a display name for messages, e.g. "rtr (198.51.100.2:22)"
    exec_count: int  # exec channels opened so far (one per round trip)

    def run(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        timeout: float,
        max_output_bytes: int | None = None,
        max_output_lines: int | None = None,
    ) -> CommandResult:
        """Run ``command`` in the router's shell; feed ``stdin``; wait up to ``timeout``.

        Output past ``max_output_bytes`` / ``max_output_lines`` (None: the transport's
        defaults) is a ``TransportError``; ops raise them for a call known to be large.
        """
        ...

    def write_file(
        self, path: str, data: bytes, *, mode: int = 0o600, timeout: float = 30.0
    ) -> None:
        """Atomically write ``data`` to ``path`` (via ``cat > tmp && mv``)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Transport: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def write_file_command(path: str, *, mode: int) -> str:
    """The POSIX-sh command that atomically writes stdin to ``path`` with ``mode``.

    The temporary file is a fresh ``mktemp`` name next to ``path`` (created 0600 with
    O_EXCL, so a symlink planted at a predictable name is never followed); ``mv`` renames
    it over ``path`` (replacing a symlink there, not writing through it). On failure the
    temporary file is removed and the command fails.
    """
    directory, name = posixpath.split(path)
    template = f"{directory or '.'}/.{name[:64]}.routerctl.XXXXXX"
    q = shlex.quote(path)
    return (
        f"umask 077 && t=$(mktemp {shlex.quote(template)}) && "
        f'{{ cat > "$t" && chmod {mode:o} "$t" && mv -f "$t" {q} || {{ rm -f "$t"; false; }}; }}'
    )


__all__ = ["TRANSPORTS", "CommandResult", "SshTarget", "Transport", "write_file_command"]


def short_command(command: str) -> str:
    """A command's first line, quoted and cut at 60 characters: how errors name it."""
    first = command.strip().splitlines()[0] if command.strip() else command
    return repr(first if len(first) <= 60 else first[:57] + "...")
