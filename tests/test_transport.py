"""Transport against a real Dropbear in a scratch network namespace (root needed).

Dropbear runs inside its own netns and a private mount namespace (a private
/root holding authorized_keys), reached through a ProxyCommand
(``ip netns exec NS busybox nc %h %p``) exactly like the lab's router.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko.pipe
import pytest

from routerctl.errors import HostKeyError, TransportError
from routerctl.topology import SshTarget
from routerctl.transport import CommandResult, Transport
from routerctl.transport.ssh import MAX_OUTPUT_BYTES, MAX_OUTPUT_LINES, SshTransport, resolve_target

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("dropbear") is None or shutil.which("busybox") is None,
    reason="needs root, dropbear and busybox",
)

PORT = 2222


@dataclass
class Dropbear:
    ns: str
    tmp: Path
    key: Path  # client private key (authorized)
    host_pub: str  # "ssh-ed25519 AAAA..."
    pid: int

    def proxy(self) -> str:
        return f"ip netns exec {self.ns} busybox nc %h %p"

    def config(self, extra: str = "", *, known_hosts: Path | None = None) -> Path:
        kh = known_hosts or (self.tmp / "known_hosts")
        path = self.tmp / "ssh_config"
        path.write_text(
            f"Host rtr\n  HostName 127.0.0.1\n  Port {PORT}\n  User root\n"
            f"  IdentityFile {self.key}\n  UserKnownHostsFile {kh}\n"
            f"  ProxyCommand {self.proxy()}\n{extra}"
        )
        return path

    def trust(self) -> Path:
        kh = self.tmp / "known_hosts"
        kh.write_text(f"[127.0.0.1]:{PORT} {self.host_pub}\n")
        return kh


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_suffix(".pub").read_text().strip()


@pytest.fixture(scope="module")
def dropbear(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dropbear]:
    tmp = tmp_path_factory.mktemp("dropbear")
    home = tmp / "root"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    home.chmod(0o700)
    pub = _keygen(tmp / "id_ed25519")
    (home / ".ssh" / "authorized_keys").write_text(pub + "\n")
    (home / ".ssh" / "authorized_keys").chmod(0o600)
    hostkey = tmp / "hostkey"
    out = subprocess.run(
        ["dropbearkey", "-t", "ed25519", "-f", str(hostkey)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    host_pub = next(
        " ".join(line.split()[:2]) for line in out.splitlines() if line.startswith("ssh-ed25519")
    )
    ns = f"rctl-tt-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        proc = subprocess.Popen(
            [
                "ip", "netns", "exec", ns, "unshare", "--mount", "--propagation", "private",
                "sh", "-c",
                f"mount --bind {home} /root && exec dropbear -F -E -s -r {hostkey} "
                f"-p 127.0.0.1:{PORT}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(tmp / "dropbear.log").open("wb"),
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            probe = subprocess.run(
                ["ip", "netns", "exec", ns, "busybox", "nc", "-w", "1", "127.0.0.1", str(PORT)],
                input=b"",
                capture_output=True,
                timeout=5,
                check=False,
            )
            if probe.stdout.startswith(b"SSH-"):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("dropbear did not start: " + (tmp / "dropbear.log").read_text())
        yield Dropbear(ns=ns, tmp=tmp, key=tmp / "id_ed25519", host_pub=host_pub, pid=proc.pid)
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", ns], check=False)


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No ~/.ssh of the test runner and no agent leak into a test."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return tmp_path


@pytest.fixture
def conn(dropbear: Dropbear, isolated_home: Path) -> Iterator[SshTransport]:
    dropbear.trust()
    with SshTransport(SshTarget(host="rtr", ssh_config=dropbear.config())) as t:
        yield t


def test_resolve_target_merges_ssh_config_and_explicit_fields(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    cfg.write_text(
        "Host rtr\n  HostName 198.51.100.2\n  Port 2200\n  User admin\n"
        "  IdentityFile /keys/%h.key\n  UserKnownHostsFile /kh/a /kh/b\n"
        "  ProxyCommand ip netns exec x nc %h %p\n"
    )
    r = resolve_target(SshTarget(host="rtr", ssh_config=cfg))
    assert (r.hostname, r.port, r.user) == ("198.51.100.2", 2200, "admin")
    assert r.identity_files == (Path("/keys/198.51.100.2.key"),)
    assert r.known_hosts == (Path("/kh/a"), Path("/kh/b"))
    assert r.proxy_command == "ip netns exec x nc 198.51.100.2 2200"
    assert r.known_hosts_name == "[198.51.100.2]:2200"
    assert r.display == "rtr (198.51.100.2:2200)"
    # explicit topology fields win, like ssh's command line
    r2 = resolve_target(
        SshTarget(host="rtr", port=22, user="root", known_hosts=Path("/x"), ssh_config=cfg)
    )
    assert (r2.port, r2.user, r2.known_hosts) == (22, "root", (Path("/x"),))
    assert r2.known_hosts_name == "198.51.100.2"


def test_missing_explicit_ssh_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match=r"ssh_config file .*nope does not exist"):
        resolve_target(SshTarget(host="rtr", ssh_config=tmp_path / "nope"))


def test_run_returns_status_stdout_stderr_and_feeds_stdin(conn: SshTransport) -> None:
    assert isinstance(conn, Transport)
    before = conn.exec_count
    res = conn.run("cat; echo err >&2; exit 3", stdin=b"hello\n", timeout=10)
    assert res == CommandResult(3, "hello\n", "err\n")
    assert not res.ok
    assert conn.run("echo ok", timeout=10) == CommandResult(0, "ok\n", "")
    assert conn.exec_count == before + 2


def test_large_output_on_both_streams_does_not_deadlock(conn: SshTransport) -> None:
    res = conn.run("head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2", timeout=20)
    assert (res.exit_status, len(res.stdout), len(res.stderr)) == (0, 3000000, 3000000)


def test_timeout_is_a_transport_error_naming_host(conn: SshTransport) -> None:
    start = time.monotonic()
    with pytest.raises(TransportError, match=r"'sleep 20' on rtr \(127\.0\.0\.1:2222\) timed out"):
        conn.run("sleep 20", timeout=0.5)
    assert time.monotonic() - start < 20  # at the timeout, not when the command ended
    assert conn.run("echo still-usable", timeout=10).stdout == "still-usable\n"


def test_write_file_is_atomic_with_mode(conn: SshTransport, dropbear: Dropbear) -> None:
    path = dropbear.tmp / "written.conf"
    conn.write_file(str(path), b"line1\nsecret\n", mode=0o640)
    assert path.read_bytes() == b"line1\nsecret\n"
    assert path.stat().st_mode & 0o777 == 0o640
    assert not Path(f"{path}.routerctl-tmp").exists()
    with pytest.raises(TransportError, match="cannot write /nonexistent/dir/x"):
        conn.write_file("/nonexistent/dir/x", b"x")


def test_connection_drop_mid_command_is_a_transport_error(
    dropbear: Dropbear, isolated_home: Path
) -> None:
    dropbear.trust()
    with SshTransport(SshTarget(host="rtr", ssh_config=dropbear.config())) as t:
        start = time.monotonic()
        with pytest.raises(TransportError, match=r"rtr \(127\.0\.0\.1:2222\) dropped"):
            # kill the Dropbear session process serving us: the connection drops
            t.run("kill -9 $PPID; sleep 30", timeout=60)
        assert time.monotonic() - start < 30  # noticed, not at the timeout or the sleep's end
        with pytest.raises(TransportError, match=r"closed|dropped|failed"):
            t.run("echo x", timeout=5)


def test_unknown_host_key_is_refused_with_a_hint(dropbear: Dropbear, isolated_home: Path) -> None:
    kh = dropbear.tmp / "kh-empty"
    kh.unlink(missing_ok=True)
    cfg = dropbear.config(known_hosts=kh)
    with pytest.raises(HostKeyError, match="unknown") as exc:
        SshTransport(SshTarget(host="rtr", ssh_config=cfg))
    assert "SHA256:" in exc.value.message
    assert f"rerun with --accept-new-host-key to add it to {kh}" in exc.value.one_line()
    assert not kh.exists()


def test_accept_new_host_key_writes_known_hosts(dropbear: Dropbear, isolated_home: Path) -> None:
    kh = dropbear.tmp / "kh-tofu"
    kh.unlink(missing_ok=True)
    cfg = dropbear.config(known_hosts=kh)
    with SshTransport(SshTarget(host="rtr", ssh_config=cfg), accept_new_host_key=True) as t:
        assert t.run("echo hi", timeout=10).stdout == "hi\n"
    assert kh.read_text().split() == [f"[127.0.0.1]:{PORT}", *dropbear.host_pub.split()]
    with SshTransport(SshTarget(host="rtr", ssh_config=cfg)) as t:  # now known: no flag needed
        assert t.run("echo again", timeout=10).stdout == "again\n"


def test_changed_host_key_is_always_refused(dropbear: Dropbear, isolated_home: Path) -> None:
    other = _keygen(dropbear.tmp / "other_host_key")
    kh = dropbear.tmp / "kh-changed"
    kh.write_text(f"[127.0.0.1]:{PORT} {other}\n")
    cfg = dropbear.config(known_hosts=kh)
    for accept in (False, True):
        with pytest.raises(HostKeyError, match="CHANGED"):
            SshTransport(SshTarget(host="rtr", ssh_config=cfg), accept_new_host_key=accept)
    assert kh.read_text() == f"[127.0.0.1]:{PORT} {other}\n"


def test_unauthorized_key_is_an_auth_error(dropbear: Dropbear, isolated_home: Path) -> None:
    dropbear.trust()
    stranger = dropbear.tmp / "stranger"
    if not stranger.exists():
        _keygen(stranger)
    # a config without the authorized key, so only the stranger's key is offered
    cfg = dropbear.tmp / "cfg-noid"
    cfg.write_text(
        f"Host rtr\n  HostName 127.0.0.1\n  Port {PORT}\n"
        f"  UserKnownHostsFile {dropbear.tmp / 'known_hosts'}\n  ProxyCommand {dropbear.proxy()}\n"
    )
    target = SshTarget(host="rtr", identity_file=stranger, ssh_config=cfg)
    with pytest.raises(TransportError, match=r"authentication as root to rtr .*failed"):
        SshTransport(target)


def test_ssh_agent_is_used(
    dropbear: Dropbear, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropbear.trust()
    cfg = dropbear.tmp / "cfg-agent"
    cfg.write_text(
        f"Host rtr\n  HostName 127.0.0.1\n  Port {PORT}\n"
        f"  UserKnownHostsFile {dropbear.tmp / 'known_hosts'}\n  ProxyCommand {dropbear.proxy()}\n"
    )
    sock = isolated_home / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not sock.exists():
            assert time.monotonic() < deadline, "ssh-agent did not start"
            time.sleep(0.01)  # polling for the socket file, with a deadline
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(dropbear.key)], env=env, check=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        with SshTransport(SshTarget(host="rtr", ssh_config=cfg)) as t:
            assert t.run("echo via-agent", timeout=10).stdout == "via-agent\n"
    finally:
        agent.terminate()
        agent.wait(timeout=5)


def test_proxy_jump_reaches_the_target_through_a_jump_host(
    dropbear: Dropbear, isolated_home: Path
) -> None:
    kh = dropbear.trust()
    # the jump host is reached by ProxyCommand; the router behind it by ProxyJump
    # (Dropbear forwards direct-tcpip to 127.0.0.1 inside its namespace)
    cfg = dropbear.tmp / "cfg-jump"
    cfg.write_text(
        f"Host jump\n  HostName 127.0.0.1\n  Port {PORT}\n  IdentityFile {dropbear.key}\n"
        f"  UserKnownHostsFile {kh}\n  ProxyCommand {dropbear.proxy()}\n"
        f"Host behind\n  HostName 127.0.0.1\n  Port {PORT}\n  IdentityFile {dropbear.key}\n"
        f"  UserKnownHostsFile {kh}\n  ProxyJump jump\n"
    )
    with SshTransport(SshTarget(host="behind", ssh_config=cfg)) as t:
        assert t.run("echo jumped", timeout=10).stdout == "jumped\n"
        assert t.host == "behind (127.0.0.1:2222)"


def test_proxy_jump_chain_of_two_hops(dropbear: Dropbear, isolated_home: Path) -> None:
    kh = dropbear.trust()
    cfg = dropbear.tmp / "cfg-jump2"
    common = f"  HostName 127.0.0.1\n  Port {PORT}\n  IdentityFile {dropbear.key}\n  UserKnownHostsFile {kh}\n"
    cfg.write_text(
        f"Host hop1\n{common}  ProxyCommand {dropbear.proxy()}\n"
        f"Host hop2\n{common}"
        f"Host far\n{common}  ProxyJump hop1,root@hop2:{PORT}\n"
    )
    with SshTransport(SshTarget(host="far", ssh_config=cfg)) as t:
        assert t.run("echo two-hops", timeout=10).stdout == "two-hops\n"

    def sessions() -> str:
        return subprocess.run(
            ["ip", "netns", "exec", dropbear.ns, "ss", "-tn", "state", "established"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    # every hop closed: Dropbear tears down the forwarded TCP connections of a closed
    # session on its own time (CI saw one still established right after close)
    deadline = time.monotonic() + 10
    while f"127.0.0.1:{PORT}" in (left := sessions()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"127.0.0.1:{PORT}" not in left


def test_identities_only_and_accept_new_from_ssh_config(
    dropbear: Dropbear, isolated_home: Path
) -> None:
    kh = dropbear.tmp / "kh-accept-new"
    kh.unlink(missing_ok=True)
    cfg = dropbear.config(
        "  StrictHostKeyChecking accept-new\n  IdentitiesOnly yes\n", known_hosts=kh
    )
    r = resolve_target(SshTarget(host="rtr", ssh_config=cfg))
    assert r.accept_new and r.identities_only
    with SshTransport(SshTarget(host="rtr", ssh_config=cfg)) as t:
        assert t.run("echo tofu", timeout=10).stdout == "tofu\n"
    assert kh.read_text().startswith(f"[127.0.0.1]:{PORT} ssh-ed25519 ")


def test_unreachable_host_is_a_transport_error(dropbear: Dropbear, isolated_home: Path) -> None:
    cfg = dropbear.tmp / "cfg-unreach"
    cfg.write_text(
        f"Host rtr\n  HostName 127.0.0.1\n  Port 2299\n  ProxyCommand {dropbear.proxy()}\n"
    )
    with pytest.raises(TransportError, match=r"cannot connect to rtr \(127\.0\.0\.1:2299\)"):
        SshTransport(SshTarget(host="rtr", ssh_config=cfg), connect_timeout=3)


# -- output caps (issue 12 item 7) -------------------------------------------------------
def test_output_past_the_default_byte_cap_is_a_clear_error(conn: SshTransport) -> None:
    with pytest.raises(TransportError) as exc:
        conn.run(f"head -c {MAX_OUTPUT_BYTES + 1} /dev/zero", timeout=30)
    line = exc.value.one_line()
    assert f"router output exceeded {MAX_OUTPUT_BYTES} bytes for 'head -c" in line
    assert "raise max_output_bytes" in line
    assert conn.run("echo still-usable", timeout=10).stdout == "still-usable\n"


def test_output_past_the_default_line_cap_is_a_clear_error(conn: SshTransport) -> None:
    with pytest.raises(TransportError, match=f"exceeded {MAX_OUTPUT_LINES} lines for 'yes"):
        conn.run(f"yes | head -n {MAX_OUTPUT_LINES + 1}", timeout=30)
    # stderr counts too
    with pytest.raises(TransportError, match="exceeded 10 lines"):
        conn.run("yes >&2", timeout=30, max_output_lines=10)
    assert conn.run("echo still-usable", timeout=10).stdout == "still-usable\n"


def test_output_up_to_the_caps_is_returned(conn: SshTransport) -> None:
    res = conn.run("yes | head -n 1000", timeout=10, max_output_lines=1000, max_output_bytes=2000)
    assert res.stdout == "y\n" * 1000


@pytest.mark.parametrize(
    ("command", "what"),
    [
        ("yes " + "x" * 100, "4194304 bytes"),  # long lines: the byte cap first
        ("cat /dev/zero", "4194304 bytes"),  # no newline at all
        ("yes", "1000000 lines"),  # 2 MB of short lines: the line cap first
    ],
)
def test_endless_output_stops_at_the_cap_with_bounded_memory(
    dropbear: Dropbear, isolated_home: Path, command: str, what: str
) -> None:
    """A router streaming without end: an error well before the timeout, memory ~ the cap."""
    cap = 4 * 1024 * 1024
    dropbear.trust()
    with SshTransport(
        SshTarget(host="rtr", ssh_config=dropbear.config()), max_output_bytes=cap
    ) as t:
        tracemalloc.start()
        try:
            with pytest.raises(TransportError, match=f"exceeded {what} for '{command[:5]}"):
                t.run(command, timeout=60)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 3 * cap, f"peak {peak} bytes"
        assert t.run("echo still-usable", timeout=10).stdout == "still-usable\n"


# a burst past the cap (read whole: the buffer is empty when the cap closes the channel),
# then a line every 10 ms: paramiko's thread feeds while our thread closes
STREAM_AFTER_BURST = "yes | head -n 2000; while :; do echo x; sleep 0.01; done"


def test_cap_while_the_router_still_streams_keeps_the_connection(
    conn: SshTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing a channel at the cap while paramiko's thread still feeds it must not kill
    the connection. A channel's select() pipe (Channel.fileno) is closed by Channel.close()
    in our thread while paramiko's thread may be between its closed check and its
    os.write to that pipe: EBADF there killed the transport ("Socket exception: Bad file
    descriptor"; seen twice in CI-like runs), or the write hit whatever reused the fd
    number. The window is widened here (paramiko's own steps, with pauses) so that the
    race happens on every run when a pipe is used."""

    def slow_set(self: paramiko.pipe.PosixPipe) -> None:
        if self._set or self._closed:
            return
        self._set = True
        if threading.current_thread() is not threading.main_thread():
            time.sleep(0.1)  # paramiko's thread, between its check and its write
        os.write(self._wfd, b"*")

    close = paramiko.pipe.PosixPipe.close

    def slow_close(self: paramiko.pipe.PosixPipe) -> None:
        time.sleep(0.05)  # our thread, at the cap: paramiko's thread feeds meanwhile
        close(self)

    monkeypatch.setattr(paramiko.pipe.PosixPipe, "set", slow_set)
    monkeypatch.setattr(paramiko.pipe.PosixPipe, "close", slow_close)
    for _ in range(3):
        with pytest.raises(TransportError, match="exceeded 1000 lines"):
            conn.run(STREAM_AFTER_BURST, timeout=30, max_output_lines=1000)
        assert conn.run("echo still-usable", timeout=10).stdout == "still-usable\n"


# -- known_hosts (issue 12 item 9) -------------------------------------------------------
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKoNu1JErgN+sgFiKTzyKR+LBY+z4fFTXDrtz0hp1fLx"


def test_accept_new_host_key_after_a_last_line_without_newline(
    dropbear: Dropbear, isolated_home: Path
) -> None:
    kh = dropbear.tmp / "kh-nonl"
    kh.write_text(f"other.example {OTHER_KEY}")  # no trailing newline
    cfg = dropbear.config(known_hosts=kh)
    with SshTransport(SshTarget(host="rtr", ssh_config=cfg), accept_new_host_key=True) as t:
        assert t.run("echo hi", timeout=10).stdout == "hi\n"
    lines = kh.read_text().splitlines()
    assert lines[0] == f"other.example {OTHER_KEY}"  # not glued to the new entry
    assert lines[1].split() == [f"[127.0.0.1]:{PORT}", *dropbear.host_pub.split()]
    assert kh.read_text().endswith("\n")
    with SshTransport(SshTarget(host="rtr", ssh_config=cfg)) as t:  # the new line is read back
        assert t.run("echo again", timeout=10).stdout == "again\n"


def test_new_known_hosts_file_is_created_0600(dropbear: Dropbear, isolated_home: Path) -> None:
    kh = dropbear.tmp / "kh-new" / "known_hosts"
    cfg = dropbear.config(known_hosts=kh)
    with SshTransport(SshTarget(host="rtr", ssh_config=cfg), accept_new_host_key=True):
        pass
    assert kh.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "junk",
    [
        "other.example ssh-ed25519 AAAAA",  # bad base64: paramiko's InvalidHostKey
        "other.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAA2FiYw==",  # short key
        f"@cert-authority *.example {OTHER_KEY}",  # an OpenSSH marker paramiko cannot read
        "other.example ssh-ed25519",  # too few fields
        "\x00\udcff\udcfe not UTF-8",  # raw bytes 0xff 0xfe
    ],
)
def test_malformed_lines_for_other_hosts_are_skipped(
    dropbear: Dropbear, isolated_home: Path, junk: str
) -> None:
    kh = dropbear.tmp / "kh-junk"
    kh.write_bytes(
        f"{junk}\n[127.0.0.1]:{PORT} {dropbear.host_pub}\n".encode("utf-8", "surrogateescape")
    )
    with SshTransport(SshTarget(host="rtr", ssh_config=dropbear.config(known_hosts=kh))) as t:
        assert t.run("echo ok", timeout=10).stdout == "ok\n"


def test_malformed_line_for_this_host_is_refused_naming_file_and_line(
    dropbear: Dropbear, isolated_home: Path
) -> None:
    kh = dropbear.tmp / "kh-bad-own"
    kh.write_text(f"# comment\nother.example {OTHER_KEY}\n[127.0.0.1]:{PORT} ssh-ed25519 AAAA\n")
    before = kh.read_text()
    cfg = dropbear.config(known_hosts=kh)
    for accept in (False, True):  # never trust a new key over an entry we cannot read
        with pytest.raises(HostKeyError) as exc:
            SshTransport(SshTarget(host="rtr", ssh_config=cfg), accept_new_host_key=accept)
        line = exc.value.one_line()
        assert f"known_hosts file {kh}:3: malformed entry for [127.0.0.1]:{PORT}" in line
        assert "ssh-keygen -R" in line
    assert kh.read_text() == before
