"""The lab from real parts: FRR + Dropbear router, GoBGP nodes, client (root needed)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest
import yaml

from routerctl.cli import main
from routerctl.errors import ExitCode, LabError
from routerctl.lab import Lab, LabSpec, down, lab_netns, poll, up
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
    assert "frr-bgpd - 8.5.4-1" in lines and "frr-vtysh - 8.5.4-1" in lines
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
    pids = set(lab.state.holders.values()) | set(lab.state.speakers.values())
    pids |= set(lab.state.httpds.values())
    for pidfile in ("run/dropbear.pid", "run/frr/zebra.pid", "run/frr/bgpd.pid"):
        path = lab.router_file(pidfile)
        if path.exists():
            pids.add(int(path.read_text().strip()))
    return pids


def test_cli_up_is_fast_and_down_leaves_nothing(
    lab_required: None, capsys: pytest.CaptureFixture[str]
) -> None:
    name = f"t{os.getpid()}c"
    try:
        assert main(["lab", "up", "--name", name, "--configure"]) == 0
        out = capsys.readouterr().out
        seconds = float(re.search(r"lab \S+ up in ([\d.]+) s", out).group(1))  # type: ignore[union-attr]
        assert seconds < 5
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
        assert all(status["namespaces"].values()) and len(status["namespaces"]) == 5
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
        assert len(pids) == 8  # holder, dropbear, zebra, bgpd, 2 x (gobgpd, httpd)
        state_dir = lab.state_dir

        assert main(["lab", "down", "--name", name]) == 0
        assert "8 processes, 5 namespaces removed" in capsys.readouterr().out
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
    name = f"t{os.getpid()}k"
    try:
        lab = up(LabSpec(name=name))
        holder = lab.state.holders["rtr"]
        (lab.state_dir / "state.json").unlink()  # as if killed before saving its state
        lab2 = up(LabSpec(name=name))
        assert not Path(f"/proc/{holder}").exists()
        assert lab2.state.holders["rtr"] != holder
        assert sorted(lab_netns(name)) == sorted(lab2.spec.all_netns())
    finally:
        down(name)


def test_up_refuses_a_lab_another_live_process_owns(lab_required: None) -> None:
    name = f"t{os.getpid()}o"
    try:
        lab = up(LabSpec(name=name))
        state = json.loads((lab.state_dir / "state.json").read_text())
        pid1 = Path("/proc/1/stat").read_text().rsplit(")", 1)[1].split()[19]
        state["owner"] = f"1:{pid1}"  # as if a concurrent test run (alive) had built it
        (lab.state_dir / "state.json").write_text(json.dumps(state))
        with pytest.raises(LabError, match=f"lab {name} is in use by process 1, which brought"):
            up(LabSpec(name=name))
        assert lab.status()["routers"]["rtr"]["up"] is True  # untouched
        state["owner"] = "1:0"  # that process is gone (start time differs): cleaned and rebuilt
        (lab.state_dir / "state.json").write_text(json.dumps(state))
        assert up(LabSpec(name=name)).state.holders["rtr"] != lab.state.holders["rtr"]
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


def test_no_suite_opkg_behaves_like_opkg(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(installed=False)
    proc = ssh(lab, "ls /usr/bin/vtysh /etc/init.d/frr /etc/frr 2>&1; opkg install frr")
    assert proc.returncode == 255
    assert proc.stdout.count("No such file or directory") == 3
    assert proc.stderr.splitlines() == [
        "Unknown package 'frr'.",
        "Collected errors:",
        " * opkg_install_cmd: Cannot install package frr.",
    ]
    proc = ssh(lab, "opkg update")
    assert proc.returncode == 0
    assert "Updated list of available packages in /var/opkg-lists/openwrt_routing" in proc.stdout
    proc = ssh(lab, "opkg install frr frr-zebra frr-bgpd frr-vtysh")
    assert proc.returncode == 0, proc.stderr
    assert "Installing frr-bgpd (8.5.4-1) to root..." in proc.stdout
    assert proc.stdout.splitlines()[-1] == "Configuring frr-vtysh."
    proc = ssh(lab, "opkg install frr; vtysh -c 'show version' | head -1; /etc/init.d/frr status")
    out = proc.stdout.splitlines()
    assert out[0] == "Package frr (8.5.4-1) installed in root is up to date."
    # the feed's frr packages carry apt's FRR (8.4.4 on Debian 12, 10.3 on Debian 13)
    assert out[1].startswith(f"FRRouting {_apt_frr_version()} (OpenWrt)"), out[1]
    assert out[2] == "running"
    calls = [line.split(" ", 1)[1] for line in lab.pkg_log().read_text().splitlines()]
    assert calls == [
        "opkg install frr rc=255",
        "opkg update rc=0",
        "opkg install frr frr-zebra frr-bgpd frr-vtysh rc=0",
        "opkg install frr rc=0",
    ]


def test_overlay_too_small_fails_like_opkg(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(installed=False, overlay_free_kb=1000)
    proc = ssh(lab, "opkg update >/dev/null; opkg install frr-bgpd")
    assert proc.returncode == 255
    assert re.search(
        r"\* verify_pkg_installable: Only have \d+kb available on filesystem /overlay, "
        r"pkg frr-libfrr needs 1480",
        proc.stderr,
    )
    assert " * opkg_install_cmd: Cannot install package frr-bgpd." in proc.stderr
    assert "frr-bgpd" not in ssh(lab, "opkg list-installed").stdout


def test_apk_layout(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(installed=False, pkg="apk")
    proc = ssh(lab, ". /etc/openwrt_release; echo $DISTRIB_RELEASE; apk add frr-bogus")
    assert proc.stdout.strip() == "25.12.0"
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "ERROR: unable to select packages:",
        "  frr-bogus (no such package):",
        "    required by: world[frr-bogus]",
    ]
    proc = ssh(lab, "apk update >/dev/null && apk add frr frr-bgpd && apk info && command -v vtysh")
    assert proc.returncode == 0, proc.stderr
    assert "(4/4) Installing frr-bgpd (10.2.1-r1)" in proc.stdout
    assert proc.stdout.splitlines()[-5:] == [
        "frr-libfrr",
        "frr",
        "frr-zebra",
        "frr-bgpd",
        "/usr/bin/vtysh",  # merged into frr on apk releases
    ]


def test_quagga_layout_configured_by_hand(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(suite="quagga", configure=True)
    lab.wait_established(timeout=30)
    proc = ssh(
        lab,
        "opkg list-installed; ls /etc/init.d/quagga /etc/quagga; test -e /etc/init.d/frr || "
        "echo no-frr-init; grep -c 'remote-as 65001' /etc/quagga/bgpd.conf",
    )
    out = proc.stdout.splitlines()
    assert "quagga-bgpd - 1.2.4-5" in out and "quagga-vtysh - 1.2.4-5" in out
    assert "/etc/init.d/quagga" in out and "bgpd.conf" in out and "zebra.conf" in out
    assert out[-2:] == ["no-frr-init", "2"]
    wait_nexthops(lab, "203.0.113.31/32", NODES)


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


def _tar_gz(members: dict[str, tuple[bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, (data, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _ipk(outer: str) -> bytes:
    control = _tar_gz(
        {
            "./control": (
                b"Package: hello\nVersion: 1.0-1\nDepends: libc\nArchitecture: all\n",
                0o644,
            ),
            "./postinst": (b"#!/bin/sh\necho configured > /tmp/hello.postinst\n", 0o755),
            "./prerm": (b"#!/bin/sh\necho removing > /tmp/hello.prerm\n", 0o755),
        }
    )
    data = _tar_gz(
        {
            "./usr/sbin/hello": (b"#!/bin/sh\necho hello from the ipk\n", 0o755),
            "./etc/config/hello": (b"config hello\n\toption greeting 'hi'\n", 0o644),
        }
    )
    parts = {"debian-binary": b"2.0\n", "control.tar.gz": control, "data.tar.gz": data}
    if outer == "tar":
        return _tar_gz({f"./{k}": (v, 0o644) for k, v in parts.items()})
    out = b"!<arch>\n"
    for name, payload in parts.items():
        header = f"{name + '/':<16}{0:<12}{0:<6}{0:<6}{0o100644:<8o}{len(payload):<10}`\n"
        out += header.encode() + payload + (b"\n" if len(payload) % 2 else b"")
    return out


@pytest.mark.parametrize("outer", ["tar", "ar"])
def test_opkg_installs_and_removes_a_local_ipk(
    module_lab_factory: Callable[..., Lab], outer: str
) -> None:
    lab = module_lab_factory(installed=False, uci=True)
    push = subprocess.run(
        ["ssh", "-F", str(lab.ssh_config), "rtr", "cat > /tmp/hello.ipk"],
        input=_ipk(outer),
        capture_output=True,
        check=False,
    )
    assert push.returncode == 0, push.stderr
    proc = ssh(lab, "opkg install /tmp/hello.ipk && hello && cat /tmp/hello.postinst")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "Installing hello (1.0-1) to root...",
        "Configuring hello.",
        "hello from the ipk",
        "configured",
    ]
    proc = ssh(lab, "opkg list-installed; opkg files hello; uci get hello.@hello[0].greeting")
    assert "hello - 1.0-1" in proc.stdout.splitlines()
    assert "/usr/sbin/hello" in proc.stdout.splitlines()
    assert proc.stdout.splitlines()[-1] == "hi"
    proc = ssh(lab, "opkg remove hello; cat /tmp/hello.prerm; ls /usr/sbin/hello /etc/config/hello")
    assert proc.stdout.splitlines()[:2] == ["Removing package hello from root...", "removing"]
    assert proc.stderr.count("No such file or directory") == 2
    assert "hello" not in ssh(lab, "opkg list-installed").stdout


def test_uci_and_cron_stand_ins(lab_factory: Callable[..., Lab]) -> None:
    assert "/usr/bin/uci" not in ssh(lab_factory(), "command -v uci").stdout  # opt-in
    lab = lab_factory(installed=False, uci=True)
    script = (
        "printf \"config health\\n\\toption interval '1'\\n\" > /etc/config/routerctl; "
        "uci set routerctl.@health[0].interval=5; uci add_list routerctl.@health[0].neighbor=198.51.100.5; "
        "uci add_list routerctl.@health[0].neighbor=198.51.100.6; uci commit routerctl; "
        "uci -q show routerctl.@health[0]; uci get routerctl.@health[-1].neighbor; "
        "uci -q get routerctl.@health[0].missing || echo missing=$?; "
        "/etc/init.d/cron enable; /etc/init.d/cron enabled && echo cron-enabled; ls -d /etc/crontabs"
    )
    proc = ssh(lab, script)
    assert proc.stdout.splitlines() == [
        "routerctl.@health[0]=health",
        "routerctl.@health[0].interval='5'",
        "routerctl.@health[0].neighbor='198.51.100.5' '198.51.100.6'",
        "198.51.100.5 198.51.100.6",
        "missing=1",
        "cron-enabled",
        "/etc/crontabs",
    ]
    assert proc.stderr == ""


def test_password_from_the_environment(
    lab_factory: Callable[..., Lab], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "from-env-7Qx")
    lab = lab_factory(password=True)
    doc = yaml.safe_load(lab.topology_file.read_text())
    assert doc["bgp"] == {"password": {"env": "ROUTERCTL_BGP_PASSWORD"}}
    assert lab.password() == "from-env-7Qx"
    assert not (lab.state_dir / "bgp-password").exists()
    toml = (lab.state_dir / "node1" / "gobgpd.toml").read_text()
    assert 'auth-password = "from-env-7Qx"' in toml


def test_quagga_write_file_saves_root_created_confs(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(suite="quagga", installed=False)
    proc = ssh(
        lab,
        "opkg update >/dev/null && opkg install quagga quagga-zebra quagga-bgpd quagga-vtysh"
        " >/dev/null && touch /etc/quagga/zebra.conf /etc/quagga/bgpd.conf"
        " && /etc/init.d/quagga restart && vtysh -c 'conf t' -c 'router bgp 65000'"
        " && vtysh -c 'write file' && grep '^router bgp' /etc/quagga/bgpd.conf",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "Building Configuration...",
        "Configuration saved to /etc/quagga/zebra.conf",
        "Configuration saved to /etc/quagga/bgpd.conf",
        "[OK]",  # as Quagga's vtysh says it (FRR's non-integrated save does not)
        "router bgp 65000",
    ]
