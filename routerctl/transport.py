"""The transport layer's interface: ``Transport`` (what the rest of routerctl needs from
one connection to a router), ``CommandResult`` and ``connect``.

The SSH implementation lives in ``routerctl.ssh`` and is imported by ``connect`` on
first use, so commands that never reach a router do not load paramiko at start-up.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from routerctl.topology import SshTarget

if TYPE_CHECKING:
    from routerctl.ssh import SshTransport


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

    def run(self, command: str, *, stdin: bytes | None = None, timeout: float) -> CommandResult:
        """Run ``command`` in the router's shell; feed ``stdin``; wait up to ``timeout``."""
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
    """The POSIX-sh command that atomically writes stdin to ``path`` with ``mode``."""
    tmp = f"{path}.routerctl-tmp"
    q, qt = shlex.quote(path), shlex.quote(tmp)
    return f"umask 077 && cat > {qt} && chmod {mode:o} {qt} && mv -f {qt} {q}"


def connect(target: SshTarget, *, accept_new_host_key: bool = False) -> SshTransport:
    """Open one connection to a router (the caller closes it, or uses ``with``)."""
    from routerctl.ssh import SshTransport  # noqa: PLC0415 (lazy: paramiko is heavy)

    return SshTransport(target, accept_new_host_key=accept_new_host_key)


__all__ = ["CommandResult", "Transport", "connect", "write_file_command"]
