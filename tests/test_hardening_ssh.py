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

import paramiko
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import routerctl.transport.ssh
import routerctl.transport.ssh as ssh_mod
from routerctl.errors import HostKeyError, TransportError
from routerctl.topology import SshTarget
from routerctl.transport.ssh import SshTransport, load_known_hosts, resolve_target


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
    assert routerctl.transport.ssh.log.name == "routerctl.transport.ssh"
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


TRIED = {"proxy_command": 0, "known_hosts": 0}


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


# -- item 9: known_hosts, a local file that may hold anything -----------------------------
ED_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKoNu1JErgN+sgFiKTzyKR+LBY+z4fFTXDrtz0hp1fLx"
EC_KEY = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPMxWzznR4SeFmfx"
    "ufXVZdB3hkZXGj2n593f1U8Q5RYNwCm6bJkoGaz2ZdCTNAvTnHq3Z7pR7106sduU1x0fAhE="
)
HOST = "[198.51.100.2]:2222"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kh")


def test_known_hosts_skips_bad_lines_and_loads_the_rest(scratch: Path) -> None:
    kh = scratch / "mixed"
    kh.write_bytes(
        b"# c\n\n  \nother ssh-ed25519 AAAAA\n@revoked * " + ED_KEY.encode() + b"\n"
        b"\xff\xfe\x00\n" + f"{HOST},alias {ED_KEY}\r\nx {EC_KEY}".encode()
    )
    keys = paramiko.HostKeys()
    assert load_known_hosts(keys, kh, host=HOST) == 3
    assert keys.lookup(HOST) is not None and keys.lookup("x") is not None


@pytest.mark.parametrize(
    "names",
    [
        HOST,
        f"other,{HOST}",
        "[198.51.100.2]:*",
        # a fixed salt: the test ids must be the same in every pytest-xdist worker
        paramiko.HostKeys.hash_host(HOST, "AAECAwQFBgcICQoLDA0ODxAREhM="),
    ],
)
def test_known_hosts_bad_line_naming_the_host_is_a_host_key_error(
    scratch: Path, names: str
) -> None:
    kh = scratch / "bad-own"
    kh.write_text(f"other {ED_KEY}\n{names} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAA2FiYw==\n")
    with pytest.raises(HostKeyError, match=rf"{kh}:2: malformed entry for \[198"):
        load_known_hosts(paramiko.HostKeys(), kh, host=HOST)


def test_known_hosts_unreadable_or_huge_is_a_transport_error(scratch: Path) -> None:
    with pytest.raises(TransportError, match="cannot read known_hosts file"):
        load_known_hosts(paramiko.HostKeys(), scratch, host=HOST)  # a directory
    with pytest.raises(TransportError, match="larger than"):
        load_known_hosts(paramiko.HostKeys(), Path("/dev/zero"), host=HOST)


def test_append_adds_the_missing_newline_and_creates_0600(scratch: Path) -> None:
    kh = scratch / "append"
    kh.unlink(missing_ok=True)
    ssh_mod._append_known_host(kh, f"a {ED_KEY}\n")
    assert kh.stat().st_mode & 0o777 == 0o600
    kh.write_text(f"a {ED_KEY}")
    ssh_mod._append_known_host(kh, f"b {EC_KEY}\n")
    assert kh.read_text() == f"a {ED_KEY}\nb {EC_KEY}\n"


_line_parts = st.one_of(
    st.sampled_from(
        [
            f"{HOST} {ED_KEY}",
            f"{HOST} {EC_KEY}",
            f"other {ED_KEY}",
            f"{paramiko.HostKeys.hash_host('other')} {EC_KEY}",
            f"@cert-authority * {ED_KEY}",
            "@revoked",
            "# comment",
            "",
            "other ssh-ed25519 AAAAA",
            "other ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQ",
            "|1|!!|!! ssh-ed25519 AAAA",
            f"|1|!!|!! {ED_KEY}",  # a valid key under a bad hashed name: paramiko asserts
            f"|1|AAAA|AAAA {ED_KEY}",
            "other sk-ssh-ed25519@openssh.com AAAA",
        ]
    ),
    st.text(max_size=80),
    st.builds(
        lambda names, typ, b: f"{names} {typ} {b}",
        st.text(max_size=20),
        st.sampled_from(["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", "ssh-dss", "x"]),
        st.one_of(st.text(alphabet="AB+/=xyz0", max_size=120), st.just(ED_KEY.split()[1])),
    ),
)


@settings(
    derandomize=True, max_examples=600, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    lines=st.lists(_line_parts, max_size=12),
    sep=st.sampled_from(["\n", "\r\n", "\t\n"]),
    tail=st.booleans(),
    junk=st.binary(max_size=40),
)
def test_property_known_hosts_boundary(
    scratch: Path, lines: list[str], sep: str, tail: bool, junk: bytes
) -> None:
    """Any file content: entries loaded or a one-line HostKeyError/TransportError, nothing
    else; and an append after it always lands on a line of its own."""
    TRIED["known_hosts"] += 1
    kh = scratch / "prop"
    body = sep.join(lines) + (sep if tail else "")
    kh.write_bytes(body.encode("utf-8", "surrogatepass") + junk)
    try:
        load_known_hosts(paramiko.HostKeys(), kh, host=HOST)
    except TransportError as exc:  # HostKeyError included
        assert "\n" not in exc.one_line()
    before = kh.read_bytes()
    ssh_mod._append_known_host(kh, f"{HOST} {ED_KEY}\n")
    after = kh.read_bytes()
    assert after.startswith(before)
    assert after.endswith(f"\n{HOST} {ED_KEY}\n".encode()) or after == f"{HOST} {ED_KEY}\n".encode()
    keys = paramiko.HostKeys()
    try:
        load_known_hosts(keys, kh, host=HOST)
    except HostKeyError:
        return  # a malformed line for HOST earlier in the file
    assert keys.lookup(HOST) is not None  # the appended entry is read back


def test_zz_report_inputs_tried() -> None:
    """How many generated inputs each boundary saw in this run (see the issue's notes)."""
    print(f"\ninputs tried: {TRIED}")
