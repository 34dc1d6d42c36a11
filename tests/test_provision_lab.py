"""provision/plan against the default lab: apt's FRR from the lab's feed, the real opkg,
Dropbear, GoBGP, busybox ash.

Faults are injected where they happen for real: a vtysh line the router rejects, the
SSH session killed on the router mid-apply, a speaker that never comes up, a second
run holding the router's lock, a stranger's host key.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pytest

from routerctl.errors import RefusedError, RolledBackError
from routerctl.lab import Lab
from routerctl.lab.spec import FEED_ADDR
from routerctl.ops.provision import VTYSH_STDIN, RouterLock, provision
from routerctl.topology import Topology
from routerctl.transport import CommandResult, connect
from routerctl.transport.ssh import SshTransport

pytestmark = pytest.mark.lab

LabFactory = Callable[..., Lab]
SERVICES = ("203.0.113.30", "203.0.113.31")


@dataclass
class Recorder:
    """A Transport that records every command and can rewrite one (fault injection)."""

    inner: SshTransport
    commands: list[tuple[str, bytes | None]] = field(default_factory=list)
    rewrite: Callable[[str, bytes | None], tuple[str, bytes | None]] | None = None

    @property
    def host(self) -> str:  # type: ignore[override]
        return self.inner.host

    @property
    def exec_count(self) -> int:  # type: ignore[override]
        return self.inner.exec_count

    def run(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        timeout: float,
        max_output_bytes: int | None = None,
        max_output_lines: int | None = None,
    ) -> CommandResult:
        if self.rewrite is not None:
            command, stdin = self.rewrite(command, stdin)
        self.commands.append((command, stdin))
        return self.inner.run(
            command,
            stdin=stdin,
            timeout=timeout,
            max_output_bytes=max_output_bytes,
            max_output_lines=max_output_lines,
        )

    def write_file(
        self, path: str, data: bytes, *, mode: int = 0o600, timeout: float = 30.0
    ) -> None:
        self.commands.append((f"write_file {path}", data))
        self.inner.write_file(path, data, mode=mode, timeout=timeout)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def vtysh_config_runs(self) -> list[bytes]:
        return [s or b"" for c, s in self.commands if c == VTYSH_STDIN]

    def writes(self) -> list[str]:
        return [c for c, _ in self.commands if "write memory" in c or "write file" in c]


def cli(
    topology: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routerctl", *args, "-t", str(topology)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def recorder(lab: Lab, topo: Topology | None = None) -> Recorder:
    t = topo or lab.topology()
    return Recorder(connect(t.routers[0].ssh))


def running(lab: Lab) -> str:
    return lab.vtysh("show running-config")


def persisted(lab: Lab) -> str:
    return lab.router_file("/etc/frr/frr.conf").read_text()


def ecmp_nexthops(lab: Lab, prefix: str) -> set[str]:
    data = json.loads(lab.vtysh(f"show ip route {prefix}/32 json"))
    routes = data.get(f"{prefix}/32", [])
    return {
        nh["ip"]
        for r in routes
        if r.get("selected")
        for nh in r.get("nexthops", [])
        if nh.get("fib") and "ip" in nh
    }


def poll(cond: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)  # polling interval, bounded by the deadline


# ---------------------------------------------------------------------------
# a router without FRR: install, enable, configure; then idempotence, removal, restart
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh(module_lab_factory: LabFactory) -> Lab:
    return module_lab_factory(installed=False, password=True)


def test_plan_before_the_suite_is_installed(fresh: Lab) -> None:
    res = cli(fresh.topology_file, "plan")
    assert res.returncode == 0, res.stderr
    assert "note: frr is not installed yet; provision installs it first" in res.stdout
    assert "+ neighbor ROUTERCTL password <redacted>" in res.stdout
    assert "frr" not in fresh.router_sh("opkg list-installed").stdout  # plan changes nothing


@pytest.fixture(scope="module")
def provisioned(fresh: Lab) -> tuple[Lab, subprocess.CompletedProcess[str]]:
    ps_seen: list[str] = []
    stop = threading.Event()

    def watch_ps() -> None:  # the router's process list while provision runs
        while not stop.is_set():
            ps_seen.append(fresh.router_sh("ps -ef 2>/dev/null || ps w", check=False).stdout)

    watcher = threading.Thread(target=watch_ps, daemon=True)
    watcher.start()
    try:
        res = cli(fresh.topology_file, "provision", "--yes", "--confirm-timeout", "60")
    finally:
        stop.set()
        watcher.join(timeout=10)
    fresh.ps_seen = ps_seen  # type: ignore[attr-defined]
    return fresh, res


def test_fresh_router_is_installed_configured_and_routes(
    provisioned: tuple[Lab, subprocess.CompletedProcess[str]],
) -> None:
    lab, res = provisioned
    assert res.returncode == 0, res.stderr
    installed = lab.router_sh("opkg list-installed").stdout
    for pkg in ("frr", "frr-zebra", "frr-bgpd", "frr-vtysh"):  # 23.05: own vtysh package
        assert f"\n{pkg} - " in f"\n{installed}", installed
    assert "installed frr frr-zebra frr-bgpd" in res.stdout
    assert "2 sessions Established" in res.stdout
    assert "bgpd=yes" in lab.router_file("/etc/frr/daemons").read_text()
    states = lab.sessions()
    assert states == {"198.51.100.5": "Established", "198.51.100.6": "Established"}
    for ip in SERVICES:
        poll(
            lambda ip=ip: ecmp_nexthops(lab, ip) == {"198.51.100.5", "198.51.100.6"},
            timeout=30,
            what=f"ECMP route for {ip}",
        )
    seen = {lab.curl(SERVICES[0], local_port=40000 + i) for i in range(16)}
    assert seen == {"node1", "node2"}
    # persisted: frr.conf holds the config, the lock and its backups are gone
    assert "neighbor ROUTERCTL peer-group" in persisted(lab)
    leftovers = lab.router_sh(
        "ls -d /var/lock/routerctl.lock /tmp/lock/routerctl.lock 2>&1", check=False
    )
    assert "No such file" in leftovers.stdout and "routerctl.lock\n" not in leftovers.stdout


def test_password_never_leaks(provisioned: tuple[Lab, subprocess.CompletedProcess[str]]) -> None:
    lab, res = provisioned
    password = lab.password()
    assert password and len(password) >= 8
    assert password in persisted(lab)  # the daemon's own config holds it (sanity)
    assert password not in res.stdout and password not in res.stderr
    assert "<redacted>" in res.stdout
    ps_seen: list[str] = lab.ps_seen  # type: ignore[attr-defined]
    assert len(ps_seen) >= 3 and any("dropbear" in p for p in ps_seen)
    assert not any(password in p for p in ps_seen)
    # no file outside the daemon's config holds it
    hits = lab.router_sh(
        f"grep -rlF -- '{password}' /tmp /var/log /root /etc 2>/dev/null", check=False
    ).stdout.split()
    assert hits == ["/etc/frr/frr.conf"]
    plan = cli(lab.topology_file, "plan")
    assert password not in plan.stdout + plan.stderr


def test_second_provision_is_a_noop(
    provisioned: tuple[Lab, subprocess.CompletedProcess[str]],
) -> None:
    lab, _ = provisioned
    before = persisted(lab)
    topo = lab.topology()
    with recorder(lab) as t:
        result = provision(t, topo, topo.routers[0])
        assert result.plan.empty and not result.applied and result.lines_sent == 0
        # ONE exec: detect (installed, enabled, running), the pre-flight's facts and
        # running-config between two looks at the lock; no lock taken. Nothing else.
        assert t.exec_count == 1, [c for c, _ in t.commands]
        assert "rc_guard before" in t.commands[0][0] and "acquired" not in t.commands[0][0]
        assert "show running-config" in (t.commands[0][1] or b"").decode()
        assert (
            lab.router_sh("ls /var/lock /tmp/lock 2>/dev/null", check=False).stdout.count(
                "routerctl.lock"
            )
            == 0
        )
        assert t.vtysh_config_runs() == [] and t.writes() == []
        assert not any(c.startswith("write_file") for c, _ in t.commands)
    assert persisted(lab) == before
    res = cli(lab.topology_file, "provision", "--yes")
    assert res.returncode == 0 and res.stdout.strip().endswith("rtr: no changes"), res
    plan = cli(lab.topology_file, "plan")
    assert plan.returncode == 0 and plan.stdout.strip().endswith("no changes")
    # nothing installed again (the recorder above saw no opkg call either)
    assert "frr-bgpd - " in lab.router_sh("opkg list-installed").stdout


def test_removing_a_node_removes_exactly_its_neighbor(
    provisioned: tuple[Lab, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    lab, _ = provisioned
    before = running(lab)
    text = lab.topology_file.read_text()
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(text.replace("  - name: node2\n    address: 198.51.100.6\n", ""))
    assert "198.51.100.6" not in smaller.read_text()
    plan = cli(smaller, "plan")
    assert "- neighbor 198.51.100.6" in plan.stdout and "1 to remove" in plan.stdout, plan
    res = cli(smaller, "provision", "--yes")
    assert res.returncode == 0, res.stderr
    after = running(lab)
    removed = [ln for ln in before.splitlines() if ln not in after.splitlines()]
    assert removed == [
        " neighbor 198.51.100.6 peer-group ROUTERCTL",
        " neighbor 198.51.100.6 description node2",
    ]
    assert [ln for ln in after.splitlines() if ln not in before.splitlines()] == []
    # and back
    res = cli(lab.topology_file, "provision", "--yes", "--confirm-timeout", "60")
    assert res.returncode == 0, res.stderr


def test_frr_restart_keeps_the_config(
    provisioned: tuple[Lab, subprocess.CompletedProcess[str]],
) -> None:
    lab, _ = provisioned
    before = running(lab)
    # FRR >= 10 (Debian 13's apt FRR) daemonizes without closing stdout: not our pipe
    lab.router_sh("/etc/init.d/frr restart >/tmp/frr-restart.log 2>&1", timeout=60)
    poll(
        lambda: "ROUTERCTL" in lab.vtysh("show running-config", check=False),
        timeout=30,
        what="FRR back",
    )
    assert running(lab) == before
    lab.wait_established(timeout=60)
    plan = cli(lab.topology_file, "plan")
    assert plan.stdout.strip().endswith("no changes")


# ---------------------------------------------------------------------------
# faults: every one leaves the router exactly as it was
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def faults(module_lab_factory: LabFactory) -> Lab:
    """FRR installed, configured by hand as in the seed (so there is a config to keep)."""
    return module_lab_factory(password=True, configure=True)


_injected: list[str] = []


def _inject_bad_line(command: str, stdin: bytes | None) -> tuple[str, bytes | None]:
    if command == VTYSH_STDIN and stdin and b"router bgp 65000" in stdin and not _injected:
        _injected.append(command)
        lines = stdin.decode().splitlines()
        at = lines.index("router bgp 65000") + 2
        lines.insert(at, "neighbor ROUTERCTL frobnicate 7")
        return command, ("\n".join(lines) + "\n").encode()
    return command, stdin


def test_failing_vtysh_line_rolls_back_exactly(faults: Lab) -> None:
    _injected.clear()
    before, before_file = running(faults), persisted(faults)
    topo = faults.topology()
    with recorder(faults) as t:
        t.rewrite = _inject_bad_line
        with pytest.raises(RolledBackError) as exc:
            provision(t, topo, topo.routers[0])
        t.rewrite = None
    msg = exc.value.one_line()
    assert "'neighbor ROUTERCTL frobnicate 7': % Unknown command" in msg or "frobnicate" in msg
    assert "previous config was restored" in msg
    assert exc.value.exit_code == 5
    assert running(faults) == before
    assert persisted(faults) == before_file
    assert faults.password() not in msg  # type: ignore[operator]


def test_ssh_killed_mid_apply_rolls_back_exactly(faults: Lab) -> None:
    before, before_file = running(faults), persisted(faults)
    topo = faults.topology()

    killed: list[str] = []

    def half_then_kill(command: str, stdin: bytes | None) -> tuple[str, bytes | None]:
        if command == VTYSH_STDIN and stdin and b"ROUTERCTL" in stdin and not killed:
            killed.append(command)
            lines = stdin.decode().splitlines()
            half = [*lines[: len(lines) // 2 + 2], "end"]
            # the router applies half the lines, then the SSH session dies
            return f"{VTYSH_STDIN}; kill -9 $PPID", ("\n".join(half) + "\n").encode()
        return command, stdin

    with recorder(faults) as t:
        t.rewrite = half_then_kill
        with pytest.raises(RolledBackError, match="dropped mid-apply"):
            provision(t, topo, topo.routers[0], reconnect=lambda: connect(topo.routers[0].ssh))
        applied_half = [s for c, s in t.commands if c.endswith("kill -9 $PPID")]
    assert applied_half, "the fault was not injected"
    assert running(faults) == before
    assert persisted(faults) == before_file
    # the lock was released through the new connection: the next run is not "busy"
    res = cli(faults.topology_file, "plan")
    assert res.returncode == 0, res.stderr


def test_ctrl_c_after_apply_rolls_back(faults: Lab) -> None:
    before, before_file = running(faults), persisted(faults)
    topo = faults.topology()

    def interrupt_at_save(command: str, stdin: bytes | None) -> tuple[str, bytes | None]:
        if "write memory" in command:
            raise KeyboardInterrupt  # the user hits Ctrl-C after the apply
        return command, stdin

    with recorder(faults) as t:
        t.rewrite = interrupt_at_save
        with pytest.raises(KeyboardInterrupt):
            provision(t, topo, topo.routers[0])
        t.rewrite = None
        assert any(c == VTYSH_STDIN for c, _ in t.commands)  # it had applied
    assert running(faults) == before
    assert persisted(faults) == before_file
    assert cli(faults.topology_file, "plan").returncode == 0  # lock released


def test_confirm_timeout_with_a_dead_node_rolls_back(faults: Lab) -> None:
    before, before_file = running(faults), persisted(faults)
    faults.stop_speaker("node2")
    try:
        res = cli(faults.topology_file, "provision", "--yes", "--confirm-timeout", "25")
    finally:
        faults.start_speaker("node2")
    assert res.returncode == 5, res.stderr
    assert "1 session(s) not Established within 25s (198.51.100.6)" in res.stderr
    assert "previous config was restored" in res.stderr
    assert "Traceback" not in res.stderr
    assert running(faults) == before
    assert persisted(faults) == before_file


def test_declining_at_the_tty_prompt_changes_nothing(faults: Lab) -> None:
    before = running(faults)
    cmd = f"{sys.executable} -m routerctl provision -t {faults.topology_file}"
    res = subprocess.run(
        ["script", "-qec", cmd, "/dev/null"],
        input="n\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Apply these changes? [y/N]" in res.stdout
    assert "rtr: not applied (declined)" in res.stdout
    assert res.returncode == 1
    assert running(faults) == before


def test_concurrent_run_is_refused_as_router_busy(faults: Lab) -> None:
    before = running(faults)
    topo = faults.topology()
    with connect(topo.routers[0].ssh) as other:
        lock = RouterLock(other)  # another provision in progress
        lock.acquire()
        mode = other.run(f"stat -c %a {lock.path}", timeout=10).stdout.strip()
        assert mode == "700"  # it will hold the saved config
        try:
            res = cli(faults.topology_file, "provision", "--yes")
            assert res.returncode == 4, res.stderr
            assert "router busy" in res.stderr and "pid" in res.stderr
            with recorder(faults) as t, pytest.raises(RefusedError, match="router busy"):
                provision(t, topo, topo.routers[0])
        finally:
            lock.release()
    assert running(faults) == before


def test_two_provisions_at_once_never_interleave(faults: Lab) -> None:
    results: list[subprocess.CompletedProcess[str]] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                cli(faults.topology_file, "provision", "--yes", "--confirm-timeout", "60")
            )
        )
        for _ in range(2)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    codes = sorted(r.returncode for r in results)
    # either one was refused as busy, or they ran one after the other (second: no changes)
    assert codes in ([0, 0], [0, 4]), [r.stderr for r in results]
    if codes == [0, 4]:
        assert any("router busy" in r.stderr for r in results)
    else:
        assert any(r.stdout.strip().endswith("no changes") for r in results)
    plan = cli(faults.topology_file, "plan")
    assert plan.stdout.strip().endswith("no changes")


def test_stale_lock_is_taken_over(faults: Lab) -> None:
    faults.router_sh(
        "d=/var/lock; [ -d $d ] || d=/tmp/lock; mkdir -p $d/routerctl.lock && "
        "echo '1000 deadbeef gone@elsewhere pid 1' > $d/routerctl.lock/owner"
    )
    res = cli(faults.topology_file, "plan")
    assert res.returncode == 0
    res = cli(faults.topology_file, "provision", "--yes")
    assert res.returncode == 0, res.stderr


# ---------------------------------------------------------------------------
# host keys, other ASN, package failures, Quagga layout
# ---------------------------------------------------------------------------


def _with_known_hosts(lab: Lab, tmp_path: Path, content: str) -> Path:
    kh = tmp_path / "known_hosts"
    kh.write_text(content)
    topo = tmp_path / "topo.yaml"
    topo.write_text(
        lab.topology_file.read_text().replace(
            "    ssh_config:", f"    known_hosts: {kh}\n    ssh_config:", 1
        )
    )
    return topo


def test_unknown_host_key_is_refused(faults: Lab, tmp_path: Path) -> None:
    topo = _with_known_hosts(faults, tmp_path, "")
    res = cli(topo, "plan")
    assert res.returncode == 3
    assert "host key for rtr (198.51.100.2:22) is unknown" in res.stderr
    assert "--accept-new-host-key" in res.stderr and "Traceback" not in res.stderr
    res = cli(topo, "plan", "--accept-new-host-key")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "known_hosts").read_text().startswith("198.51.100.2 ssh-")


def test_changed_host_key_is_refused(faults: Lab, tmp_path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True
    )
    other = (tmp_path / "k.pub").read_text().split()[:2]
    topo = _with_known_hosts(faults, tmp_path, f"198.51.100.2 {' '.join(other)}\n")
    for extra in ([], ["--accept-new-host-key"]):
        res = cli(topo, "provision", "--yes", *extra)
        assert res.returncode == 3
        assert "has CHANGED" in res.stderr and "Traceback" not in res.stderr


def test_other_asn_is_refused(faults: Lab, tmp_path: Path) -> None:
    topo = tmp_path / "topo.yaml"
    topo.write_text(faults.topology_file.read_text().replace("asn: 65000", "asn: 64512"))
    before = running(faults)
    res = cli(topo, "provision", "--yes")
    assert res.returncode == 4
    assert "already runs 'router bgp 65000' but the topology says ASN 64512" in res.stderr
    assert running(faults) == before


def test_unknown_package_is_a_clear_error_and_nothing_is_configured(
    lab_factory: LabFactory,
) -> None:
    lab = lab_factory(installed=False)
    # a feed that lacks frr-bgpd (as a feed for another arch might): the lab's, copied
    # into the router without it, as a file:// feed the real opkg reads
    feed = f"http://{FEED_ADDR}"
    lab.router_sh(
        "set -e; mkdir /tmp/feed; cd /tmp/feed\n"
        f'wget -q -O - {feed}/Packages | awk \'BEGIN {{ RS = ""; ORS = "\\n\\n" }} '
        "!/^Package: frr-bgpd\\n/' > Packages\n"
        "gzip -c Packages > Packages.gz\n"
        f"for f in $(sed -n 's/^Filename: //p' Packages); do wget -q {feed}/$f; done\n"
        "sed -i 's|^src/gz .*|src/gz lab file:///tmp/feed|' /etc/opkg.conf\n"
    )
    res = cli(lab.topology_file, "provision", "--yes")
    assert res.returncode == 1, res.stderr
    assert "(exit 255)" in res.stderr and "Unknown package 'frr-bgpd'" in res.stderr
    assert "nothing was configured" in res.stderr and "Traceback" not in res.stderr
    assert not lab.router_file("/etc/frr/frr.conf").exists() or "ROUTERCTL" not in persisted(lab)


def test_ipv4_address_helpers_are_sane() -> None:  # guards the test's own constants
    assert all(ipaddress.ip_address(s) in ipaddress.ip_network("203.0.113.0/24") for s in SERVICES)
