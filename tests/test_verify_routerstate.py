"""routerstate against a real FRR (zebra + bgpd) in a network namespace of our own.

The router shell is real (``sh -s`` entered with nsenter) and FRR is real; only SSH is
left out here (the lab tests cover it). Needs root and Debian's frr.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from routerctl.checks import verify_router
from routerctl.cluster import from_topology
from routerctl.errors import CommandError, RouterctlError
from routerctl.model import SessionState
from routerctl.ops import gather as ops_gather
from routerctl.topology import Service
from routerctl.transport import CommandResult
from tests.test_verify import topo

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(
        os.geteuid() != 0 or not Path("/usr/lib/frr/zebra").exists(),
        reason="needs root and FRR",
    ),
]

FRR_CONF = """\
frr defaults traditional
hostname OpenWrt
router bgp 65000
 bgp router-id 198.51.100.2
 neighbor 198.51.100.5 remote-as 65001
 neighbor 198.51.100.6 remote-as 65001
 neighbor 198.51.100.6 shutdown
"""


@dataclass
class FrrNs:
    ns: str
    pid: int  # zebra's pid: its mount + net namespaces are the "router"
    run: Path

    def sh(self, script: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        # -r: zebra's root, not the mount namespace's (they differ when the tests run in a
        # chroot, e.g. a Debian 13 root on a Debian 12 host: vtysh found the host's daemons)
        return subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-n", "-r", "sh", "-s"],
            input=script,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def vtysh(self, *lines: str) -> None:
        args = " ".join(f"-c '{ln}'" for ln in lines)
        p = self.sh(f"vtysh {args}")
        assert p.returncode == 0, p.stdout + p.stderr


class NsTransport:
    """A Transport whose 'router' is the FRR namespace (counts execs like SshTransport)."""

    host = "frr-netns"

    def __init__(self, frr: FrrNs) -> None:
        self.frr = frr
        self.exec_count = 0

    def run(
        self,
        command: str,
        *,
        stdin: bytes | None = None,
        timeout: float,
        max_output_bytes: int | None = None,
        max_output_lines: int | None = None,
    ) -> CommandResult:
        self.exec_count += 1
        p = subprocess.run(
            ["nsenter", "-t", str(self.frr.pid), "-m", "-n", "-r", "sh", "-c", command],
            input=stdin,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return CommandResult(p.returncode, p.stdout.decode(), p.stderr.decode())


@pytest.fixture(scope="module")
def frr() -> Iterator[FrrNs]:
    base = Path(tempfile.mkdtemp(prefix="h6frr-"))
    base.chmod(0o755)
    etc, run = base / "etc", base / "run"
    etc.mkdir()
    run.mkdir()
    (etc / "frr.conf").write_text(FRR_CONF)
    (etc / "daemons").write_text("zebra=yes\nbgpd=yes\n")
    (etc / "vtysh.conf").write_text("")
    shutil.chown(etc, "frr", "frr")
    shutil.chown(run, "frr", "frr")
    for f in etc.iterdir():
        shutil.chown(f, "frr", "frr")
    ns = f"h6v{os.getpid()}"
    pids: list[int] = []

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    try:
        ip("netns", "add", ns)
        ip("-n", ns, "link", "set", "lo", "up")
        ip("-n", ns, "link", "add", "br-lan", "type", "veth", "peer", "name", "lan-peer")
        ip("-n", ns, "link", "set", "lan-peer", "up")
        ip("-n", ns, "addr", "add", "198.51.100.2/24", "dev", "br-lan")
        ip("-n", ns, "link", "set", "br-lan", "up")
        # kernel routes zebra will show: an ECMP /32 inside the pool, and one outside
        ip(
            "-n",
            ns,
            "route",
            "add",
            "203.0.113.10/32",
            "nexthop",
            "via",
            "198.51.100.5",
            "nexthop",
            "via",
            "198.51.100.6",
        )
        ip("-n", ns, "route", "add", "10.0.0.0/8", "via", "198.51.100.5")
        # FRR >= 10 daemonizes (-d) without closing stdout/stderr: with them on our pipes
        # the run below would wait for EOF until its timeout; they go to a file instead
        log = base / "daemons.log"
        start = (
            # /run/frr exists only once Debian's frr service ran (not in a fresh root)
            f"mkdir -p /etc/frr /run/frr && "
            f"mount --bind {etc} /etc/frr && mount --bind {run} /run/frr && "
            f"/usr/lib/frr/zebra -d -f /etc/frr/frr.conf >>{log} 2>&1 && "
            f"/usr/lib/frr/bgpd -d -f /etc/frr/frr.conf >>{log} 2>&1"
        )
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                start,
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if (run / "zebra.pid").exists() and (run / "bgpd.pid").exists():
                break
            time.sleep(0.05)
        pids = [int((run / f"{d}.pid").read_text()) for d in ("zebra", "bgpd")]
        f = FrrNs(ns, pids[0], run)
        while time.monotonic() < deadline:
            if (
                f.sh("vtysh -c 'show bgp ipv4 unicast summary json'")
                .stdout.strip()
                .startswith("{\n")
            ):
                break
            time.sleep(0.1)
        yield f
    finally:
        for pid_file in run.glob("*.pid"):
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), 15)
        # and whatever else still runs in the namespace (a daemon restarted by a test whose
        # pid file went stale has outlived its run before): every process of this netns
        pids = subprocess.run(
            ["ip", "netns", "pids", ns], check=False, capture_output=True, text=True
        ).stdout
        for word in pids.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(word), 9)
        subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def gather(frr: FrrNs, t=None, **kw):  # type: ignore[no-untyped-def]
    t = t or topo()
    tr = NsTransport(frr)
    st = ops_gather.gather(tr, t, t.routers[0], **kw)
    return tr, st


def test_one_exec_reads_real_frr(frr: FrrNs) -> None:
    tr, st = gather(frr, addresses=[ip_address("203.0.113.10"), ip_address("203.0.113.11")])
    assert tr.exec_count == 1
    assert st.suite == "frr"
    # apt's FRR runs here: 8.4.4 on Debian 12, 10.3 on Debian 13
    bgpd = subprocess.run(
        ["/usr/lib/frr/bgpd", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert st.version is not None and st.version.startswith(f"FRRouting {bgpd[2]} "), st.version
    assert st.vtysh_ok
    assert st.daemon_map() == {"zebra": True, "bgpd": True}
    assert st.summary is not None
    assert st.summary.local_as == 65000
    assert str(st.summary.router_id) == "198.51.100.2"
    n5 = st.summary.neighbor(ip_address("198.51.100.5"))
    n6 = st.summary.neighbor(ip_address("198.51.100.6"))
    assert n5 is not None and n6 is not None
    assert n5.state in (SessionState.ACTIVE, SessionState.CONNECT, SessionState.IDLE)
    assert n5.connections_dropped == 0
    assert n6.state is SessionState.ADMIN_DOWN
    # zebra is asked only about the service addresses: the kernel ECMP /32, nothing else
    assert [str(r.prefix) for r in st.routes] == ["203.0.113.10/32"]
    assert st.pool_paths == ()  # the BGP table has nothing in the pool
    r = st.routes[0]
    assert r.protocol == "kernel" and r.selected and r.fib
    assert {str(a) for a in r.fib_nexthop_addresses} == {"198.51.100.5", "198.51.100.6"}
    assert [c for c, _ in st.raw] == [
        "cat /etc/openwrt_release",
        "vtysh -c 'show version'",
        "show bgp ipv4 unicast summary json",
        "show bgp neighbors json",
        "show bgp ipv4 unicast 203.0.113.0/24 longer-prefixes json",
        "show ip route 203.0.113.10 json ; show ip route 203.0.113.11 json",
    ]


def test_verify_against_real_frr(frr: FrrNs) -> None:
    t = topo(services=(Service("default", "web", ip_address("203.0.113.10"), 8080),))
    _, st = gather(frr, t, addresses=[ip_address("203.0.113.10")])
    assert st.routes and st.routes[0].protocol == "kernel"
    res = {r.name: r for r in verify_router(t, t.routers[0], st, from_topology(t))}
    assert res["bgp asn"].ok and res["router-id"].ok
    assert not res["session node1"].ok
    assert res["session node2"].observed.startswith("Idle (Admin)")
    assert "no neighbor 198.51.100.6 shutdown" in (res["session node2"].hint or "")
    # a kernel route is not a BGP route: the service is not announced
    assert res["route default/web 203.0.113.10"].observed == "no BGP route"


def test_bundle_extras_same_exec(frr: FrrNs) -> None:
    tr, st = gather(frr, bundle=True)
    assert tr.exec_count == 1
    raw = dict(st.raw)
    assert "router bgp 65000" in raw["show running-config"]
    assert "FRRouting" in raw["show version"]


def test_pinned_quagga_without_parsers_is_clear(frr: FrrNs) -> None:
    t = topo()
    t = replace(t, routers=(replace(t.routers[0], suite="quagga"),))
    try:
        _, st = gather(frr, t)
    except RouterctlError as exc:  # parsers not installed: a clear one-line error
        assert "Quagga" in exc.message or "parse" in exc.message.lower()
    else:
        assert st.suite == "quagga"


def test_no_bgp_instance(frr: FrrNs) -> None:
    frr.vtysh("conf t", "no router bgp 65000")
    try:
        _, st = gather(frr)
        assert st.summary is not None and st.summary.instance_missing
        t = topo()
        res = verify_router(t, t.routers[0], st, from_topology(t))
        assert [(r.name, r.observed) for r in res if not r.ok] == [("bgp asn", "no BGP instance")]
    finally:
        frr.vtysh(
            "conf t",
            "router bgp 65000",
            "bgp router-id 198.51.100.2",
            "neighbor 198.51.100.5 remote-as 65001",
            "neighbor 198.51.100.6 remote-as 65001",
            "neighbor 198.51.100.6 shutdown",
        )


def test_bgpd_down_reported_by_daemons_check(frr: FrrNs) -> None:
    pid = int((frr.run / "bgpd.pid").read_text())
    os.kill(pid, 15)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)
        _, st = gather(frr)
        assert st.daemon_map() == {"zebra": True, "bgpd": False}
        assert st.summary is None
        batch = next(out for cmd, out in st.raw if cmd.startswith("show bgp ipv4 unicast summary"))
        assert batch.strip() == "bgpd is not running"
        t = topo()
        res = verify_router(t, t.routers[0], st, from_topology(t))
        assert [(r.name, r.ok, r.observed) for r in res] == [
            ("suite", True, st.version),
            ("daemons", False, "not running: bgpd"),
        ]
    finally:
        # FRR >= 10 keeps stdout/stderr open after -d: not on our pipes (see the fixture)
        pid_file = frr.run / "bgpd.pid"
        pid_file.unlink(missing_ok=True)  # the killed bgpd's, possibly left behind
        p = frr.sh("/usr/lib/frr/bgpd -d -f /etc/frr/frr.conf >/dev/null 2>&1")
        assert p.returncode == 0, p.stderr
        # -d returns before the daemon writes its pid file: without it, the fixture's
        # teardown (kill by pid file) would leave this bgpd running
        deadline = time.monotonic() + 10
        while not (pid_file.exists() and pid_file.read_text().strip().isdigit()):
            assert time.monotonic() < deadline, "the restarted bgpd wrote no pid file"
            time.sleep(0.05)


def test_unknown_command_is_command_error(frr: FrrNs) -> None:
    marker = ops_gather.new_marker()
    out = (
        f"{marker} daemons\nzebra 1\nbgpd 1\n{marker} batch frr\n"
        "OpenWrt# show version\nFRRouting 8.4.4\n"
        "OpenWrt# show bgp ipv4 unicast summary json\n"
        "% Unknown command: show bgp ipv4 unicast summary json\n"
        f"{marker} rc 1\n{marker} end\n"
    )
    t = topo()
    with pytest.raises(CommandError, match="Unknown command"):
        ops_gather.parse_state(out, marker, topology=t, router=t.routers[0])
    assert ip_network("203.0.113.0/24")  # the pool the route query used
