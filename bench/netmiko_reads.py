"""Item 4: the netmiko way of reading the same state, for comparison.

What a typical netmiko script does: ``ConnectHandler(device_type="linux")`` opens an
interactive shell, finds the prompt, then sends one command at a time and reads until
the prompt comes back (``send_command``). It connects through the lab's ProxyCommand
(``paramiko.ProxyCommand`` as ``sock``) and checks the host key against the lab's
known_hosts. netmiko is a bench-only dependency (``pip install -e .[bench]``);
``ensure_netmiko`` installs it into the running venv when it is missing.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import paramiko

REQUIREMENT = "netmiko>=4.4"


def ensure_netmiko() -> str:
    """netmiko's version, installing it into this interpreter's venv first if needed."""
    try:
        mod = importlib.import_module("netmiko")
    except ImportError:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", REQUIREMENT],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise RuntimeError(f"cannot install {REQUIREMENT}: {last}") from None
        importlib.invalidate_caches()
        mod = importlib.import_module("netmiko")
    return str(getattr(mod, "__version__", "?"))


def reads(ssh_config: Path, host: str, commands: list[str]) -> dict[str, str]:
    """Connect, run each command through the interactive shell, disconnect."""
    from netmiko import ConnectHandler  # noqa: PLC0415 (bench-only dependency)

    cfg = paramiko.SSHConfig.from_path(str(ssh_config)).lookup(host)
    sock = paramiko.ProxyCommand(cfg["proxycommand"])
    params: dict[str, Any] = {
        "device_type": "linux",
        "host": cfg["hostname"],
        "port": int(cfg.get("port", 22)),
        "username": cfg.get("user", "root"),
        "use_keys": True,
        "key_file": cfg["identityfile"][0],
        "allow_agent": False,
        "ssh_strict": True,
        "system_host_keys": False,
        "alt_host_keys": True,
        "alt_key_file": cfg["userknownhostsfile"],
        "sock": sock,
    }
    conn = ConnectHandler(**params)
    try:
        out = {c: str(conn.send_command(c)) for c in commands}
    finally:
        conn.disconnect()
    for c, text in out.items():  # parse what routerctl parses, so both do the same work
        if c.startswith("vtysh") and c.endswith("json'"):
            json.loads(text)
    return out
