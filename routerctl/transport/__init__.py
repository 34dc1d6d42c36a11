"""Talking to a router: the exec-only ``Transport`` protocol and its implementations.

``base`` (the Protocol, ``CommandResult``, ``SshTarget``), ``ssh`` (paramiko, the
default), ``openssh`` (the system ssh with a ControlMaster) and ``fake`` (scripted, for
tests). ``connect`` imports ``ssh`` on first use, so commands
that never reach a router do not load paramiko at start-up.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from routerctl.errors import UsageError
from routerctl.transport.base import (
    TRANSPORTS,
    CommandResult,
    SshTarget,
    Transport,
    write_file_command,
)

if TYPE_CHECKING:
    from routerctl.transport.ssh import SshTransport  # noqa: F401 (documentation)


def transport_name(target: SshTarget) -> str:
    """Which transport reaches ``target``: ``--transport``/``ROUTERCTL_TRANSPORT`` (it
    overrides the topology), else its ``ssh.transport``, else paramiko."""
    name = os.environ.get("ROUTERCTL_TRANSPORT") or target.transport or "paramiko"
    if name not in TRANSPORTS:
        raise UsageError(
            f"unknown transport {name!r} (ROUTERCTL_TRANSPORT or --transport)",
            hint=f"use one of: {', '.join(TRANSPORTS)}",
        )
    return name


def connect(target: SshTarget, *, accept_new_host_key: bool = False) -> Transport:
    """Open one connection to a router (the caller closes it, or uses ``with``)."""
    if transport_name(target) == "openssh":
        from routerctl.transport.openssh import OpenSshTransport  # noqa: PLC0415 (lazy)

        return OpenSshTransport(target, accept_new_host_key=accept_new_host_key)
    from routerctl.transport.ssh import SshTransport  # noqa: PLC0415 (lazy: paramiko is heavy)

    return SshTransport(target, accept_new_host_key=accept_new_host_key)


__all__ = [
    "TRANSPORTS",
    "CommandResult",
    "SshTarget",
    "Transport",
    "connect",
    "transport_name",
    "write_file_command",
]
