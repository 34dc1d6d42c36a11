"""The OpenSSH transport (issue 17) against a real Dropbear (the same fixture as
tests/test_transport.py: its own netns, reached through ``ProxyCommand ip netns exec NS
busybox nc``). The contract tests run for both transports; then what only OpenSSH's
ControlMaster does. Every master a test starts is stopped (``ssh -O exit``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.errors import ExitCode, HostKeyError, TopologyError, TransportError, UsageError
from routerctl.topology import SshTarget, load_topology
from routerctl.transport import Transport, connect, transport_name
from routerctl.transport.openssh import OpenSshTransport, control_dir
from routerctl.transport.ssh import SshTransport
from tests.test_transport import (  # noqa: F401 - fixtures
    PORT,
    Dropbear,
    _keygen,
    dropbear,
    isolated_home,
    pytestmark,
)

pytestmark = [pytestmark, pytest.mark.skipif(shutil.which("ssh") is None, reason="needs ssh")]

Make = Callable[..., Transport]


@pytest.fixture
def ctl_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private control dir per test (socket paths are limited to ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="rcs", dir="/tmp"))
    monkeypatch.setenv("ROUTERCTL_SSH_CONTROL_DIR", str(path))
    monkeypatch.delenv("ROUTERCTL_TRANSPORT", raising=False)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["paramiko", "openssh"])
def make(
    request: pytest.FixtureRequest,
    ctl_dir: Path,
    isolated_home: Path,  # noqa: F811
) -> Iterator[Make]:
    started: list[OpenSshTransport] = []

    def _make(target: SshTarget, **kw: object) -> Transport:
        if request.param == "paramiko":
            return SshTransport(target, **kw)  # type: ignore[arg-type]
        t = OpenSshTransport(target, **kw)  # type: ignore[arg-type]
        started.append(t)
        return t

    yield _make
    for t in started:
        t.stop()


def test_run_stdin_stderr_status_and_write_file(make: Make, dropbear: Dropbear) -> None:  # noqa: F811
    dropbear.trust()
    with make(SshTarget(host="rtr", ssh_config=dropbear.config())) as t:
        assert isinstance(t, Transport)
        res = t.run("cat; echo err >&2; exit 3", stdin=b"in\n", timeout=10)
        assert (res.exit_status, res.stdout, res.stderr) == (3, "in\n", "err\n")
        t.write_file("/tmp/rctl-openssh-test", b"data", mode=0o640)
        assert t.run(
            "cat /tmp/rctl-openssh-test; rm /tmp/rctl-openssh-test", timeout=10
        ).stdout == ("data")
        assert t.host == "rtr (127.0.0.1:2222)" and t.exec_count == 3


def test_unknown_host_key_is_refused(make: Make, dropbear: Dropbear) -> None:  # noqa: F811
    kh = dropbear.tmp / "kh-empty-os"
    kh.unlink(missing_ok=True)
    with pytest.raises(HostKeyError, match="unknown") as exc:
        make(SshTarget(host="rtr", ssh_config=dropbear.config(known_hosts=kh)))
    assert exc.value.exit_code == HostKeyError.exit_code  # the same for both transports
    assert f"to add it to {kh}" in exc.value.one_line()
    assert not kh.exists() or kh.read_text().strip() == ""


def test_accept_new_writes_known_hosts(make: Make, dropbear: Dropbear) -> None:  # noqa: F811
    kh = dropbear.tmp / "kh-tofu-os"
    kh.unlink(missing_ok=True)
    cfg = dropbear.config(known_hosts=kh)
    with make(SshTarget(host="rtr", ssh_config=cfg), accept_new_host_key=True) as t:
        assert t.run("echo hi", timeout=10).stdout == "hi\n"
    assert dropbear.host_pub.split()[1] in kh.read_text()


def test_changed_host_key_is_always_refused(make: Make, dropbear: Dropbear) -> None:  # noqa: F811
    other = dropbear.tmp / "other_host_key_os"
    other.unlink(missing_ok=True)
    other_pub = _keygen(other)
    kh = dropbear.tmp / "kh-changed-os"
    kh.write_text(f"[127.0.0.1]:{PORT} {other_pub}\n")
    for accept in (False, True):
        with pytest.raises(HostKeyError, match="CHANGED"):
            make(SshTarget(host="rtr", ssh_config=dropbear.config(known_hosts=kh)),
                 accept_new_host_key=accept)  # fmt: skip
    assert kh.read_text() == f"[127.0.0.1]:{PORT} {other_pub}\n"


def test_unreachable_is_a_transport_error(make: Make, dropbear: Dropbear) -> None:  # noqa: F811
    cfg = dropbear.tmp / "cfg-unreach-os"
    cfg.write_text(
        f"Host rtr\n  HostName 127.0.0.1\n  Port 2299\n  ProxyCommand {dropbear.proxy()}\n"
    )
    with pytest.raises(TransportError, match=r"cannot connect to rtr \(127\.0\.0\.1:2299\)") as e:
        make(SshTarget(host="rtr", ssh_config=cfg), connect_timeout=3)
    assert not isinstance(e.value, HostKeyError)
    assert e.value.exit_code == ExitCode.UNREACHABLE


# -- OpenSSH only ---------------------------------------------------------------------


def test_master_persists_and_is_reused(
    dropbear: Dropbear,  # noqa: F811
    ctl_dir: Path,
    isolated_home: Path,  # noqa: F811
) -> None:
    dropbear.trust()
    target = SshTarget(host="rtr", ssh_config=dropbear.config())
    first = OpenSshTransport(target)
    try:
        first.close()  # routerctl's run ends; the master stays (ControlPersist)
        assert first.master_alive()
        sockets = list(ctl_dir.iterdir())
        assert len(sockets) == 1 and sockets[0].is_socket()
        assert (ctl_dir.stat().st_mode & 0o777) == 0o700
        second = OpenSshTransport(target)  # no new master: the same socket
        assert list(ctl_dir.iterdir()) == sockets
        assert second.run("echo again", timeout=10).stdout == "again\n"
    finally:
        first.stop()
    assert not first.master_alive()


def test_control_dir_must_be_private(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    d = Path(tempfile.mkdtemp(prefix="rcs", dir="/tmp"))
    try:
        d.chmod(0o755)
        monkeypatch.setenv("ROUTERCTL_SSH_CONTROL_DIR", str(d))
        with pytest.raises(TransportError, match="not private"):
            control_dir()
        d.chmod(0o700)
        assert control_dir() == d
        monkeypatch.setenv("ROUTERCTL_SSH_CONTROL_DIR", str(tmp_path / ("x" * 80)))
        with pytest.raises(TransportError, match="too long"):
            control_dir()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_transport_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTERCTL_TRANSPORT", raising=False)
    assert transport_name(SshTarget(host="r")) == "paramiko"
    assert transport_name(SshTarget(host="r", transport="openssh")) == "openssh"
    monkeypatch.setenv("ROUTERCTL_TRANSPORT", "paramiko")  # --transport wins
    assert transport_name(SshTarget(host="r", transport="openssh")) == "paramiko"
    monkeypatch.setenv("ROUTERCTL_TRANSPORT", "telnet")
    with pytest.raises(UsageError, match="unknown transport"):
        connect(SshTarget(host="r"))


def test_topology_and_cli_name_the_transport(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parent.parent
    seed = (root / "examples" / "seed.yaml").read_text()
    assert "ssh: {host: " in seed
    t = tmp_path / "t.yaml"
    t.write_text(seed.replace("ssh: {host: ", "ssh: {transport: openssh, host: ", 1))
    assert load_topology(t).routers[0].ssh.transport == "openssh"
    t.write_text(seed.replace("ssh: {host: ", "ssh: {transport: rsh, host: ", 1))
    with pytest.raises(TopologyError, match="unknown transport 'rsh'"):
        load_topology(t)
    assert main(["--transport", "rsh", "verify", "-t", str(t)]) == ExitCode.USAGE
    assert "unknown transport" in capsys.readouterr().err
