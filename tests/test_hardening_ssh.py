"""Hardening of the SSH transport (issue 12): hostile SSH servers, hostile ssh_config and
known_hosts files, careless users. No root or Dropbear needed: in-process loopback servers.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import routerctl.ssh


def _topology(tmp_path: Path, port: int) -> Path:
    topo = tmp_path / "routerctl.yaml"
    topo.write_text(
        textwrap.dedent(f"""\
        routers:
          - name: rtr
            ssh: {{host: 127.0.0.1, port: {port}, user: root, known_hosts: {tmp_path}/kh}}
            asn: 65000
            router_id: 198.51.100.2
        cluster:
          asn: 65001
          nodes:
            - {{name: n1, address: 198.51.100.5}}
          pools:
            - name: default
              addresses: [203.0.113.0/24]
        """)
    )
    return topo


@pytest.fixture
def rude_server() -> Iterator[int]:
    """A loopback TCP server that accepts each connection and closes it at once."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    yield srv.getsockname()[1]
    stop.set()
    th.join(timeout=5)
    srv.close()


def _routerctl(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROUTERCTL_", "SSH_AUTH"))}
    env["HOME"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "routerctl", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )


# -- item 10: paramiko's own logging never reaches the user's terminal -------------------
def test_server_closing_early_gives_exactly_one_stderr_line(
    tmp_path: Path, rude_server: int
) -> None:
    topo = _topology(tmp_path, rude_server)
    res = _routerctl(tmp_path, "plan", "-t", str(topo))
    assert res.returncode == 3, res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("routerctl: error: cannot connect to 127.0.0.1:")
    assert "Traceback" not in res.stderr


def test_paramiko_logs_still_reach_a_configured_handler() -> None:
    """The NullHandler silences only the last-resort printer: --debug logging still works."""
    assert routerctl.ssh.log.name == "routerctl.ssh"
    plogger = logging.getLogger("paramiko")
    assert any(isinstance(h, logging.NullHandler) for h in plogger.handlers)
    assert plogger.propagate
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    root = logging.getLogger()
    handler = Collect()
    root.addHandler(handler)
    try:
        logging.getLogger("paramiko.transport").error("Exception (client): boom")
    finally:
        root.removeHandler(handler)
    assert seen == ["Exception (client): boom"]
