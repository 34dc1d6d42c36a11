"""The default lab from real parts: apt's FRR packaged for OpenWrt and installed by the real
opkg/apk from the lab's feed, Dropbear, GoBGP nodes, client (root needed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest
import yaml

from routerctl.cli import main
from routerctl.errors import ExitCode, LabError
from routerctl.lab import Lab, LabSpec, down, lab_netns, poll, up
from routerctl.lab.feed import APT_FRR_DAEMON_DIR
from routerctl.topology import load_topology

pytestmark = pytest.mark.lab

NODES = {"198.51.100.5", "198.51.100.6"}
SERVICE_IPS = ("203.0.113.30", "203.0.113.31")


def ssh(lab: Lab, command: str, *, router: str | None = None) -> subprocess.CompletedProcess[str]:
    """OpenSSH to the lab router, as a user would (the lab's ssh_config)."""
    target = router or lab.spec.router_names()[0]
    return subprocess.run(
        ["ssh", "-F", str(lab.ssh_config), "-o", "BatchMode=yes", target, command],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def route_nexthops(lab: Lab, prefix: str, router: str | None = None) -> set[str]:
    data = json.loads(lab.vtysh(f"show ip route {prefix} json", router=router) or "{}")
    hops: set[str] = set()
    for route in data.get(prefix, []):
        if route.get("protocol") == "bgp" and route.get("selected"):
            hops |= {h["ip"] for h in route.get("nexthops", []) if h.get("fib")}
    return hops


def kernel_nexthops(lab: Lab, address: str, router: str | None = None) -> set[str]:
    ns = lab.spec.netns(router or lab.spec.router_names()[0])
    out = subprocess.run(
        ["ip", "-n", ns, "-j", "route", "show", f"{address}/32"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    hops: set[str] = set()
    for r in json.loads(out or "[]"):
        hops |= {h["gateway"] for h in r.get("nexthops", [])}
        if "gateway" in r:
            hops.add(r["gateway"])
    return hops


def wait_nexthops(lab: Lab, prefix: str, want: set[str], *, timeout: float = 30) -> None:
    poll(
        lambda: route_nexthops(lab, prefix) == want,
        timeout=timeout,
        interval=0.2,
        what=f"{prefix} via {sorted(want)}",
    )


@pytest.fixture(scope="module")
def seed(module_lab_factory: Callable[..., Lab]) -> Iterator[Lab]:
    """A lab whose router was configured by hand as in the seed."""
    lab = module_lab_factory(configure=True)
    lab.wait_established(timeout=30)
    yield lab


def test_seed_network_established_ecmp_and_curl_reaches_both_nodes(seed: Lab) -> None:
    assert set(seed.sessions().items()) == {(a, "Established") for a in NODES}
    for i, ip in enumerate(SERVICE_IPS):
        wait_nexthops(seed, f"{ip}/32", NODES)
        assert kernel_nexthops(seed, ip) == NODES
        # L4 multipath hashing: different source ports land on different nodes
        # (a port per connection: TIME_WAIT forbids binding it again)
        ports = range(41000 + 100 * i, 41024 + 100 * i)
        answers = {seed.curl(ip, local_port=port) for port in ports}
        assert answers == {"node1", "node2"}
    summary = seed.vtysh("show ip bgp summary")
    assert re.search(r"198\.51\.100\.5\s+4\s+65001 .* 2\s+\d+ node1", summary)
    assert re.search(r"198\.51\.100\.6\s+4\s+65001 .* 2\s+\d+ node2", summary)


def test_router_looks_like_openwrt_over_openssh_and_paramiko(seed: Lab) -> None:
    proc = ssh(
        seed,
        "echo shell=$0; hostname; . /etc/openwrt_release; echo release=$DISTRIB_RELEASE; "
        "opkg list-installed; /etc/init.d/frr enabled && echo enabled; "
        "grep ^bgpd= /etc/frr/daemons; df -k /overlay | tail -1",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == ["shell=ash", "OpenWrt", "release=23.05.5"]
    # the real opkg installed apt's FRR from the feed, in 23.05's split (vtysh, libfrr apart)
    version = f"{_apt_frr_version()}-1"
    for pkg in ("frr", "frr-libfrr", "frr-vtysh", "frr-zebra", "frr-bgpd", "frr-watchfrr"):
        assert f"{pkg} - {version}" in lines, (pkg, lines)
    assert seed.vtysh("show version").startswith(f"FRRouting {_apt_frr_version()} ")
    assert "enabled" in lines and "bgpd=yes" in lines
    assert lines[-1].split()[-1] == "/overlay"

    cfg = paramiko.SSHConfig.from_path(str(seed.ssh_config)).lookup("rtr")
    client = paramiko.SSHClient()
    client.load_host_keys(cfg["userknownhostsfile"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(
            cfg["hostname"],
            username=cfg["user"],
            key_filename=cfg["identityfile"][0],
            sock=paramiko.ProxyCommand(cfg["proxycommand"]),
            look_for_keys=False,
            allow_agent=False,
        )
        _, stdout, _ = client.exec_command("vtysh -c 'show bgp summary json'")
        peers = json.loads(stdout.read())["ipv4Unicast"]["peers"]
    finally:
        client.close()
    assert {a: p["state"] for a, p in peers.items()} == dict.fromkeys(NODES, "Established")


def test_write_memory_persists_and_init_script_restarts_from_frr_conf(seed: Lab) -> None:
    conf = ssh(seed, "cat /etc/frr/frr.conf").stdout
    for addr, node in (("198.51.100.5", "node1"), ("198.51.100.6", "node2")):
        assert f"neighbor {addr} remote-as 65001" in conf
        assert f"neighbor {addr} description {node}" in conf
    before = seed.vtysh("show running-config")
    old_bgpd = seed.router_file("run/frr/bgpd.pid").read_text().strip()
    proc = ssh(seed, "/etc/init.d/frr restart")
    assert proc.returncode == 0, proc.stderr
    assert seed.router_file("run/frr/bgpd.pid").read_text().strip() != old_bgpd
    assert seed.vtysh("show running-config") == before
    seed.wait_established(timeout=40)  # GoBGP holds off ~5 s after the Cease
    wait_nexthops(seed, "203.0.113.30/32", NODES)


def test_daemons_file_bgpd_no_stops_bgp_on_restart(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory()
    assert lab.status()["routers"]["rtr"]["daemons"] == {
        "dropbear": True,
        "zebra": True,
        "bgpd": False,  # a fresh FRR package: bgpd=no in /etc/frr/daemons
    }
    proc = ssh(lab, "sed -i s/^bgpd=no/bgpd=yes/ /etc/frr/daemons && /etc/init.d/frr restart")
    assert proc.returncode == 0, proc.stderr
    assert lab.status()["routers"]["rtr"]["daemons"]["bgpd"] is True


def test_speaker_stop_withdraws_and_start_restores(seed: Lab) -> None:
    seed.stop_speaker("node2")
    wait_nexthops(seed, "203.0.113.30/32", {"198.51.100.5"}, timeout=10)
    assert seed.sessions()["198.51.100.6"] != "Established"
    assert seed.status()["nodes"]["node2"]["speaker"] is False
    seed.start_speaker("node2")
    seed.wait_established(timeout=40)
    wait_nexthops(seed, "203.0.113.30/32", NODES)


def test_node_link_down_and_up(seed: Lab) -> None:
    def ping() -> int:
        return subprocess.run(
            [*seed.netns_cmd("client"), "busybox", "ping", "-c1", "-W1", "198.51.100.6"],
            capture_output=True,
            check=False,
        ).returncode

    assert ping() == 0
    assert main(["lab", "node", "node2", "down", "--name", seed.name]) == 0
    assert seed.status()["nodes"]["node2"]["link"] == "down"
    assert ping() != 0
    assert main(["lab", "node", "node2", "up", "--name", seed.name]) == 0
    assert seed.status()["nodes"]["node2"]["link"] == "up"
    poll(lambda: ping() == 0, timeout=5, what="node2 reachable again")


def _lab_pids(lab: Lab) -> set[int]:
    """Host PIDs of every process in the lab's namespaces (the router's daemons write PIDs
    of the router's own PID namespace into their pid files)."""
    pids = {lab.state.feed_pid} | set(lab.state.speakers.values())
    for ns in lab_netns(lab.spec.name):
        out = subprocess.run(
            ["ip", "netns", "pids", ns], check=True, capture_output=True, text=True
        )
        pids |= {int(p) for p in out.stdout.split()}
    return pids


def test_cli_up_and_down_leaves_nothing(
    lab_required: None, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"t{os.getpid()}c"
    try:
        assert main(["lab", "up", "--name", name, "--configure"]) == 0
        out = capsys.readouterr().out
        assert re.search(r"lab \S+ up in [\d.]+ s", out), out  # speed: python -m bench
        lab = Lab.attach(name)
        topo, want = load_topology(lab.topology_file), lab.topology()
        assert (topo.routers, topo.cluster, topo.bgp, topo.services) == (
            want.routers,
            want.cluster,
            want.bgp,
            want.services,
        )
        assert main(["lab", "topology", "--name", name]) == 0
        assert yaml.safe_load(capsys.readouterr().out)["routers"][0]["ssh"]["host"] == "rtr"
        assert main(["lab", "status", "--name", name, "-o", "json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert all(status["namespaces"].values()) and len(status["namespaces"]) == 6
        assert main(["lab", "list", "-o", "json"]) == 0
        mine = [e for e in json.loads(capsys.readouterr().out) if e["name"] == name]
        assert mine == [
            {
                "name": name,
                "routers": 1,
                "nodes": 2,
                "running": True,
                "owner_pid": os.getpid(),
                "owner_alive": True,
            }
        ]
        pids = _lab_pids(lab)
        # router: unshare, its init (python3), nsenter + dropbear, syslogd, crond, watchfrr,
        # zebra, staticd, bgpd, and mgmtd where apt's FRR has one (FRR >= 10: Debian 13); the
        # feed's httpd (busybox); 2 x (gobgpd, httpd (busybox))
        want_names = ["unshare", "python3", "nsenter", "dropbear", "syslogd", "crond"]
        want_names += ["watchfrr", "zebra", "staticd", "bgpd", "busybox"]
        want_names += ["gobgpd", "busybox", "gobgpd", "busybox"]
        if (Path(APT_FRR_DAEMON_DIR) / "mgmtd").is_file():
            want_names.append("mgmtd")
        names = [Path(f"/proc/{p}/comm").read_text().strip() for p in pids]
        assert sorted(names) == sorted(want_names), " ".join(sorted(names))
        state_dir = lab.state_dir

        assert main(["lab", "down", "--name", name]) == 0
        assert f"{len(want_names)} processes, 6 namespaces removed" in capsys.readouterr().out
        assert lab_netns(name) == []
        # daemons (zebra, bgpd, dropbear) were re-parented to init, which reaps them
        poll(
            lambda: not [p for p in pids if Path(f"/proc/{p}").exists()],
            timeout=5,
            what="every lab process gone",
        )
        mounts = Path("/proc/self/mountinfo").read_text()
        assert str(state_dir) not in mounts and f"/run/netns/{name}-" not in mounts
        assert not state_dir.exists()
        # idempotent
        assert main(["lab", "down", "--name", name]) == 0
        assert "0 processes, 0 namespaces removed" in capsys.readouterr().out
    finally:
        down(name)


def test_up_after_a_crash_cleans_leftovers_first(lab_required: None) -> None:
    name = f"t{os.getpid()}k"  # the suite plays no part: not installed (quicker)
    try:
        lab = up(LabSpec(name=name, installed=False))
        holder = lab.state.holders["rtr"]
        (lab.state_dir / "state.json").unlink()  # as if killed before saving its state
        lab2 = up(LabSpec(name=name, installed=False))
        assert not Path(f"/proc/{holder}").exists()
        assert lab2.state.holders["rtr"] != holder
        assert sorted(lab_netns(name)) == sorted(lab2.spec.all_netns())
    finally:
        down(name)


def test_up_refuses_a_lab_another_live_process_owns(lab_required: None) -> None:
    name = f"t{os.getpid()}o"
    try:
        lab = up(LabSpec(name=name, installed=False))
        state = json.loads((lab.state_dir / "state.json").read_text())
        pid1 = Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()[19]
        state["owner"] = f"1:{pid1}"  # as if a concurrent test run (alive) had built it
        (lab.state_dir / "state.json").write_text(json.dumps(state))
        with pytest.raises(LabError, match=f"lab {name} is in use by process 1, which brought"):
            up(LabSpec(name=name, installed=False))
        assert lab.status()["routers"]["rtr"]["up"] is True  # untouched
        state["owner"] = "1:0"  # that process is gone (start time differs): cleaned and rebuilt
        (lab.state_dir / "state.json").write_text(json.dumps(state))
        assert (
            up(LabSpec(name=name, installed=False)).state.holders["rtr"] != lab.state.holders["rtr"]
        )
    finally:
        down(name)


def _apt_frr_version() -> str:
    """Upstream version of the host's apt FRR, the build the lab's default feed packages."""
    bgpd = subprocess.run(
        ["/usr/lib/frr/bgpd", "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = re.search(r"^bgpd version (\S+)$", bgpd, re.M)
    assert found, bgpd
    return found.group(1)


def test_overlay_too_small_fails_like_opkg(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(installed=False, overlay_free_kb=1000)
    proc = ssh(lab, "opkg update >/dev/null; opkg install frr-bgpd")
    assert proc.returncode == 255
    assert re.search(
        r"\* verify_pkg_installable: Only have \d+kb available on filesystem /overlay, "
        r"pkg frr-\S+ needs \d+",
        proc.stderr,
    )
    assert " * opkg_install_cmd: Cannot install package frr-bgpd." in proc.stderr
    assert "frr-bgpd" not in ssh(lab, "opkg list-installed").stdout


def test_password_md5_sessions_and_no_secret_in_argv(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(password=True, configure=True)
    lab.wait_established(timeout=45)  # a refused first MD5 dial waits for GoBGP's own
    secret = lab.password()
    assert secret and len(secret) >= 16
    topo = lab.topology_file.read_text()
    assert secret not in topo and "bgp-password" in topo
    argv = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert secret not in argv.stdout
    assert f"password {secret}" in lab.vtysh("show running-config")


def test_two_routers_on_one_lan(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(routers=2, configure=True)
    for r in ("rtr1", "rtr2"):
        lab.wait_established(router=r, timeout=30)
        assert ssh(lab, "hostname", router=r).stdout.strip() == "OpenWrt"
    assert [r.name for r in load_topology(lab.topology_file).routers] == ["rtr1", "rtr2"]


def test_not_root_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["lab", "up", "--name", "nope"]) == ExitCode.ENVIRONMENT
    err = capsys.readouterr().err
    assert err == (
        "routerctl: error: the lab needs root (network namespaces, mounts) "
        "(run it with sudo or as root)\n"
    )


def test_dropbear_that_exits_at_start_is_a_lab_error_quoting_its_log(
    lab_required: None, tmp_path: Path
) -> None:
    """Run "in a router" whose root is still the host's / (the race start_holder now
    waits out): the real dropbear finds no host key there, and its own log is in the error."""
    from types import SimpleNamespace  # noqa: PLC0415

    from routerctl.lab.router import _own_root, start_dropbear  # noqa: PLC0415

    if Path("/etc/dropbear/dropbear_ed25519_host_key").exists():
        pytest.skip("this host has a Dropbear host key of its own")
    fake = SimpleNamespace(
        spec=SimpleNamespace(router_addr=lambda r: "192.0.2.1"),
        router_dir=lambda r: tmp_path,
        router_cmd=lambda router: [],  # the host's root, as before the holder's chroot
        router_file=lambda path, router: tmp_path / "never" / path,
    )
    with pytest.raises(LabError) as exc:
        start_dropbear(fake, "rtr")  # type: ignore[arg-type]
    msg = str(exc.value)
    assert msg.startswith("dropbear on rtr exited with 1: ") and "\n" not in msg
    assert "No hostkeys available" in msg and "Failed loading" in msg
    assert not _own_root(os.getpid())


def test_unknown_lab_is_a_one_line_error(
    lab_required: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "status", "--name", "nosuchlab"]) == ExitCode.ENVIRONMENT
    err = capsys.readouterr().err
    assert "no lab named 'nosuchlab' is up" in err and err.count("\n") == 1
    assert main(["lab", "up", "--name", "Bad_Name"]) == ExitCode.USAGE


def test_password_from_the_environment(
    lab_factory: Callable[..., Lab], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "from-env-7Qx")
    lab = lab_factory(password=True, installed=False)
    doc = yaml.safe_load(lab.topology_file.read_text())
    assert doc["bgp"] == {"password": {"env": "ROUTERCTL_BGP_PASSWORD"}}
    assert lab.password() == "from-env-7Qx"
    assert not (lab.state_dir / "bgp-password").exists()
    toml = (lab.state_dir / "node1" / "gobgpd.toml").read_text()
    assert 'auth-password = "from-env-7Qx"' in toml
