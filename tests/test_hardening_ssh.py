"""Hardening of the SSH transport (issue 12): hostile SSH servers, hostile ssh_config and
known_hosts files, careless users. No root or Dropbear needed: in-process loopback servers.
"""

from __future__ import annotations

import logging
import os
import shlex
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import routerctl.ssh
from routerctl.errors import TransportError
from routerctl.ssh import SshTransport, resolve_target
from routerctl.topology import SshTarget


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


# -- item 2: %h/%n/%r/%p in ProxyCommand never carry shell syntax to sh -c ---------------
def _cfg(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ssh_config"
    path.write_text(textwrap.dedent(text))
    return path


def test_hostile_host_in_proxy_command_is_refused_before_any_shell_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    canary = tmp_path / "pwned"
    cfg = _cfg(tmp_path, "Host *\n  ProxyCommand exec true %h %p\n")
    host = f"rtr$(touch${{IFS}}{canary})"
    with pytest.raises(TransportError, match=r"ProxyCommand") as exc:
        SshTransport(SshTarget(host=host, ssh_config=cfg), connect_timeout=3)
    assert not canary.exists(), "the host name ran as a shell command"
    line = exc.value.one_line()
    assert repr(host) in line and "\n" not in line
    assert "letters, digits" in line  # says what is allowed


@pytest.mark.parametrize(
    ("host", "hostname", "user", "token"),
    [
        ("a;id", None, None, "%h"),
        ("a|id", None, None, "%h"),
        ("a`id`", None, None, "%h"),
        ("a'b", None, None, "%h"),
        ("-oProxyCommand=id", None, None, "%h"),
        ("rtr\n", None, None, "%h"),
        ("rtr", "10.0.0.1;id", None, "%h"),  # HostName from the ssh_config
        ("rtr$(id)", "10.0.0.1", None, "%n"),  # the alias itself
        ("rtr", None, "root;id", "%r"),
        ("rtr", None, "$(id)", "%r"),
        ("fe80::1%$(id)", None, None, "%h"),
    ],
)
def test_hostile_values_are_refused_for_each_token(
    tmp_path: Path, host: str, hostname: str | None, user: str | None, token: str
) -> None:
    hn = f"  HostName {hostname}\n" if hostname else ""
    cfg = _cfg(tmp_path, f"Host *\n{hn}  ProxyCommand nc {token}\n")
    with pytest.raises(TransportError, match="ProxyCommand"):
        resolve_target(SshTarget(host=host, user=user, ssh_config=cfg))


def test_hostile_host_is_fine_when_no_token_uses_it(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host *\n  HostName 198.51.100.2\n  ProxyCommand nc %h %p\n")
    r = resolve_target(SshTarget(host="odd$alias", ssh_config=cfg))
    assert r.proxy_command == "nc 198.51.100.2 22"


@pytest.mark.parametrize(
    "host", ["198.51.100.2", "rtr", "rtr-1.example.com", "r_2", "2001:db8::1", "fe80::1%eth0"]
)
def test_plain_hosts_are_expanded(tmp_path: Path, host: str) -> None:
    cfg = _cfg(tmp_path, "Host *\n  ProxyCommand nc %h %p\n")
    assert resolve_target(SshTarget(host=host, ssh_config=cfg)).proxy_command == f"nc {host} 22"


def test_tokens_use_the_final_port_user_and_alias_like_openssh(tmp_path: Path) -> None:
    """%p/%r are the topology's port/user when it sets them; %n is the alias; %% is %."""
    cfg = _cfg(
        tmp_path,
        "Host rtr\n  HostName 198.51.100.2\n  Port 2222\n  User cfguser\n"
        "  ProxyCommand nc %h %p %r %n 100%%\n",
    )
    r = resolve_target(SshTarget(host="rtr", port=2200, user="admin", ssh_config=cfg))
    assert r.proxy_command == "nc 198.51.100.2 2200 admin rtr 100%"
    r2 = resolve_target(SshTarget(host="rtr", ssh_config=cfg))
    assert r2.proxy_command == "nc 198.51.100.2 2222 cfguser rtr 100%"


def test_unknown_token_in_proxy_command_is_an_error(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "Host *\n  ProxyCommand nc %h %C\n")
    with pytest.raises(TransportError, match=r"unknown token '%C' in the ProxyCommand for 'rtr'"):
        resolve_target(SshTarget(host="rtr", ssh_config=cfg))


TRIED = {"proxy_command": 0}


@pytest.fixture(scope="module")
def proxy_cfg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "ssh_config"
    path.write_text("Host *\n  ProxyCommand nc %h %r\n")
    return path


@settings(
    derandomize=True, max_examples=400, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(host=st.text(min_size=1, max_size=40), user=st.text(min_size=1, max_size=20))
def test_property_expanded_proxy_command_is_hostile_free(
    proxy_cfg: Path, host: str, user: str
) -> None:
    """Any host/user: a TransportError, or each substituted value is one inert shell word."""
    TRIED["proxy_command"] += 1
    try:
        r = resolve_target(SshTarget(host=host, user=user, ssh_config=proxy_cfg))
    except TransportError as exc:
        assert "\n" not in exc.one_line()
        return
    assert r.proxy_command is not None
    assert shlex.split(r.proxy_command) == ["nc", host, user]
    assert not set(host + user) & set("$`;|&<>()'\"\\*?[]{}~#!\n\t ")
