"""Talking to a router: the exec-only ``Transport`` protocol and its implementations.

``base`` (the Protocol, ``CommandResult``, ``SshTarget``), ``ssh`` (paramiko) and
``fake`` (scripted, for tests). ``connect`` imports ``ssh`` on first use, so commands
that never reach a router do not load paramiko at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from routerctl.transport.base import CommandResult, SshTarget, Transport, write_file_command

if TYPE_CHECKING:
    from routerctl.transport.ssh import SshTransport


def connect(target: SshTarget, *, accept_new_host_key: bool = False) -> SshTransport:
    """Open one connection to a router (the caller closes it, or uses ``with``)."""
    from routerctl.transport.ssh import SshTransport  # noqa: PLC0415 (lazy: paramiko is heavy)

    return SshTransport(target, accept_new_host_key=accept_new_host_key)


__all__ = ["CommandResult", "SshTarget", "Transport", "connect", "write_file_command"]
