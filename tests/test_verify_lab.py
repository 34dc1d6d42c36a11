"""verify against the lab: real FRR + Dropbear router, real GoBGP speakers, faults injected.

Each test starts from a healthy lab (``healthy`` fixture) and breaks one thing. The CLI
runs in-process through ``cli.main`` (exit codes as a user sees them); probes run from the
router (the host has no route to the service IPs).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from routerctl.cli import main
from routerctl.cluster import from_file, from_topology
from routerctl.ops.verify import ProbeFrom, run_verify
from routerctl.topology import Router, load_topology
from routerctl.transport import Transport, connect

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root"),
]

FIXTURE = Path(__file__).parent / "fixtures" / "cluster" / "kubectl_get_nodes_svc.json"


def poll(cond: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def lab(module_lab_factory: Callable[..., object]) -> object:
    """This module's own lab (unique name, torn down after the module), seed-configured."""
    lab = module_lab_factory(configure=True)
    lab.wait_established(timeout=60)  # type: ignore[attr-defined]
    return lab


@pytest.fixture
def healthy(lab: object) -> Iterator[object]:
    """The lab as configured: both speakers and links up, the router's saved config."""
    yield lab
    for n in ("node1", "node2"):
        lab.node_link(n, up=True)  # type: ignore[attr-defined]
        lab.start_speaker(n)  # type: ignore[attr-defined]
    # back to the saved config (tests never 'write memory'), then wait for the sessions
    lab.router_sh("/etc/init.d/frr restart >/dev/null 2>&1")  # type: ignore[attr-defined]
    lab.wait_established(timeout=60)  # type: ignore[attr-defined]
    poll(lambda: _routes_ecmp(lab), timeout=30, what="ECMP routes back")


def _routes_ecmp(lab: object) -> bool:
    out = lab.vtysh("show ip route 203.0.113.0/24 longer-prefixes json")  # type: ignore[attr-defined]
    data = json.loads(out or "{}")
    return all(
        len([h for h in data.get(p, [{}])[0].get("nexthops", []) if h.get("fib")]) == 2
        for p in ("203.0.113.30/32", "203.0.113.31/32")
    )


def topo_file(lab: object) -> str:
    return str(lab.topology_file)  # type: ignore[attr-defined]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["verify", "--no-state", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def checks(out: str) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in json.loads(out)["checks"]}


def failing(out: str) -> dict[str, dict[str, object]]:
    return {k: v for k, v in checks(out).items() if not v["ok"]}


def test_healthy_all_green_one_connection_two_execs(healthy: object) -> None:
    t = load_topology(Path(topo_file(healthy)))
    opened: list[Transport] = []

    def counting(router: Router) -> Transport:
        tr = connect(router.ssh)
        opened.append(tr)
        return tr

    results, _ = run_verify(
        t,
        router_name=None,
        cluster=from_topology(t),
        connector=counting,
        probe=ProbeFrom.router,
        probe_attempts=16,
    )
    bad = [r for r in results if not r.ok]
    assert bad == []
    assert len(opened) == 1
    assert opened[0].exec_count == 2  # one for the state, one for the probes
    probes = {r.name: r.observed for r in results if r.name.startswith("probe")}
    assert len(probes) == 2
    for observed in probes.values():
        assert observed == "16/16 answered; answers: node1, node2"  # ECMP: both nodes serve
    routes = {r.name: r.observed for r in results if r.name.startswith("route")}
    assert routes["route default/nginx-lb 203.0.113.30"] == (
        "203.0.113.30/32 via node1 (198.51.100.5), node2 (198.51.100.6)"
    )


def test_healthy_cli_exit_0_table_and_json(
    healthy: object, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "-t", topo_file(healthy))
    assert code == 0
    assert "session node1" in out and "OK" in out and "CRITICAL" not in out
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "-o", "json", "--nagios")
    assert code == 0
    doc = json.loads(out)
    assert doc["status"] == "ok" and doc["exit_code"] == 0
    assert doc["routers"][0]["suite"] == "frr"
    # the lab's topology says verify.probe_from: router (the host has no route into the lab)
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "--probe", "-o", "json")
    assert code == 0, failing(out)
    assert {n for n in checks(out) if n.startswith("probe")} == {
        "probe default/nginx-lb 203.0.113.30:8080 from router",
        "probe default/nginx2-lb 203.0.113.31:8080 from router",
    }


def test_node2_speaker_stopped_degraded(
    healthy: object, capsys: pytest.CaptureFixture[str]
) -> None:
    healthy.stop_speaker("node2")  # type: ignore[attr-defined]
    poll(
        lambda: healthy.sessions().get("198.51.100.6") != "Established",  # type: ignore[attr-defined]
        timeout=30,
        what="node2's session to drop",
    )
    for prefix in ("203.0.113.30/32", "203.0.113.31/32"):
        wait_next_hop_gone(healthy, prefix, "198.51.100.6")
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "-o", "json", "--nagios")
    assert code == 1  # degraded: node1 still carries both services
    bad = failing(out)
    assert set(bad) == {
        "session node2",
        "route default/nginx-lb 203.0.113.30",
        "route default/nginx2-lb 203.0.113.31",
    }
    assert bad["session node2"]["severity"] == "warning"
    assert "speaker" in str(bad["session node2"]["hint"])
    assert bad["route default/nginx-lb 203.0.113.30"]["observed"] == (
        "203.0.113.30/32 via node1 (198.51.100.5); missing node2 (198.51.100.6)"
    )
    code, _, _ = cli(capsys, "-t", topo_file(healthy))
    assert code == 1  # without --nagios: 1 = failed


def test_both_speakers_stopped_critical(
    healthy: object, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in ("node1", "node2"):
        healthy.stop_speaker(n)  # type: ignore[attr-defined]
    poll(
        lambda: "Established" not in healthy.sessions().values(),  # type: ignore[attr-defined]
        timeout=30,
        what="both sessions to drop",
    )
    for address in ("198.51.100.5", "198.51.100.6"):
        wait_next_hop_gone(healthy, "203.0.113.30/32", address)
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "-o", "json", "--nagios")
    assert code == 2
    bad = failing(out)
    assert bad["session node1"]["severity"] == "critical"
    assert bad["session node2"]["severity"] == "critical"
    assert bad["route default/nginx-lb 203.0.113.30"]["observed"] == "no BGP route"
    assert bad["route default/nginx2-lb 203.0.113.31"]["observed"] == "no BGP route"
    # the nagios line names them
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "--nagios")
    first = out.splitlines()[0]
    assert first.startswith("ROUTERCTL CRITICAL - 4 of ")
    assert "session node1" in first and "session node2" in first


def test_policy_missing_distinct_failure(
    healthy: object, capsys: pytest.CaptureFixture[str]
) -> None:
    healthy.vtysh("conf t", "router bgp 65000", "bgp ebgp-requires-policy")  # type: ignore[attr-defined]
    healthy.vtysh("clear bgp *")  # type: ignore[attr-defined]

    def policy_blocked() -> bool:
        peers = healthy.bgp_summary().get("peers", {})  # type: ignore[attr-defined]
        return len(peers) == 2 and all(
            p.get("state") == "Established" and p.get("peerState") == "Policy"
            for p in peers.values()
        )

    poll(policy_blocked, timeout=60, what="sessions Established with (Policy)")
    for address in ("198.51.100.5", "198.51.100.6"):
        wait_next_hop_gone(healthy, "203.0.113.30/32", address)
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "-o", "json", "--nagios")
    assert code == 2
    bad = failing(out)
    for n in ("node1", "node2"):
        assert bad[f"session {n}"]["observed"].startswith("Established (Policy)")  # type: ignore[union-attr]
        assert "inbound policy" in str(bad[f"session {n}"]["hint"])
    assert bad["route default/nginx-lb 203.0.113.30"]["observed"] == "no BGP route"


def test_admin_shutdown_distinct(healthy: object, capsys: pytest.CaptureFixture[str]) -> None:
    healthy.vtysh("conf t", "router bgp 65000", "neighbor 198.51.100.6 shutdown")  # type: ignore[attr-defined]
    poll(
        lambda: healthy.sessions().get("198.51.100.6") == "Idle (Admin)",  # type: ignore[attr-defined]
        timeout=30,
        what="node2 admin down",
    )
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "-o", "json", "--nagios")
    assert code == 1
    s = failing(out)["session node2"]
    assert str(s["observed"]).startswith("Idle (Admin)")
    assert "no neighbor 198.51.100.6 shutdown" in str(s["hint"])


def test_wrong_asn_on_node(healthy: object, capsys: pytest.CaptureFixture[str]) -> None:
    toml = healthy.state_dir / "node2" / "gobgpd.toml"  # type: ignore[attr-defined]
    original = toml.read_text()
    assert re.search(r"\bas = 65001\b", original)
    healthy.stop_speaker("node2")  # type: ignore[attr-defined]
    toml.write_text(re.sub(r"\bas = 65001\b", "as = 65099", original, count=1))
    # FRR >= 10 (Debian 13) records refusing node2's OPEN on a connection node2 opened only
    # on a throw-away peer (the neighbor keeps 'Cease/Peer De-configured'); the neighbor's
    # last error is Bad Peer AS once it refuses the OPEN on a connection the router opened,
    # and FRR 10's connect-retry timer backs off 30 -> 60 -> 120 s (90 s passed without
    # one). A fixed short timer makes the router dial node2 within seconds, on 8.4 too.
    healthy.vtysh("conf t", "router bgp 65000", "neighbor 198.51.100.6 timers connect 5")  # type: ignore[attr-defined]
    healthy.vtysh("clear bgp 198.51.100.6")  # type: ignore[attr-defined]
    try:
        healthy.start_speaker("node2")  # type: ignore[attr-defined]

        def bad_peer_as() -> bool:
            out = healthy.vtysh("show bgp neighbors 198.51.100.6 json")  # type: ignore[attr-defined]
            n = json.loads(out or "{}").get("198.51.100.6", {})
            return "Bad Peer AS" in str(n.get("lastNotificationReason"))

        poll(bad_peer_as, timeout=90, what="the router to refuse node2's OPEN (Bad Peer AS)")
        code, out, _ = cli(capsys, "-t", topo_file(healthy), "-o", "json", "--nagios")
        s = failing(out)["session node2"]
        assert code == 1
        assert str(s["observed"]).endswith("last error: OPEN Message Error/Bad Peer AS")
        assert str(s["hint"]).startswith("ASN mismatch: node2 opens with another AS")
        assert "myASN (MetalLB BGPPeer) to 65001" in str(s["hint"])
    finally:
        healthy.stop_speaker("node2")  # type: ignore[attr-defined]
        toml.write_text(original)


def wait_next_hop_gone(lab: Any, prefix: str, address: str, *, router: str | None = None) -> None:
    """Poll zebra until ``address`` is no installed next hop of ``prefix``: a session going
    down withdraws its routes a moment later, and verify is fast enough to read in between
    (a CI run did: the session reported down, both routes still with both next hops)."""

    def gone() -> bool:
        doc = json.loads(lab.vtysh(f"show ip route {prefix} json", router=router) or "{}")
        hops = {
            nh.get("ip")
            for r in doc.get(prefix, [])
            for nh in r.get("nexthops", [])
            if nh.get("fib")
        }
        return address not in hops

    poll(gone, timeout=30, what=f"{address} withdrawn from {prefix}")


def test_node_link_down(healthy: object, capsys: pytest.CaptureFixture[str]) -> None:
    # short timers so the router notices the cut cable within seconds
    healthy.vtysh("conf t", "router bgp 65000", "neighbor 198.51.100.6 timers 1 3")  # type: ignore[attr-defined]
    healthy.vtysh("clear bgp 198.51.100.6")  # type: ignore[attr-defined]
    healthy.wait_established(timeout=60)  # type: ignore[attr-defined]
    healthy.node_link("node2", up=False)  # type: ignore[attr-defined]
    poll(
        lambda: healthy.sessions().get("198.51.100.6") != "Established",  # type: ignore[attr-defined]
        timeout=30,
        what="hold timer expiry for node2",
    )
    wait_next_hop_gone(healthy, "203.0.113.31/32", "198.51.100.6")
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "-o", "json", "--nagios")
    assert code == 1
    bad = failing(out)
    assert "session node2" in bad
    assert "missing node2" in str(bad["route default/nginx2-lb 203.0.113.31"]["observed"])


def test_cluster_file_drives_expectations(
    healthy: object, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "--cluster", str(FIXTURE), "-o", "json")
    doc = json.loads(out)
    assert doc["cluster_source"] == str(FIXTURE)
    bad = failing(out)
    # the recorded cluster has a LoadBalancer still waiting for an address
    assert set(bad) == {"address default/waiting"}
    assert code == 1
    # a service outside every pool is reported, not skipped
    data = json.loads(FIXTURE.read_text())
    for item in data["items"]:
        if item["metadata"]["name"] == "nginx2-lb":
            item["status"]["loadBalancer"]["ingress"][0]["ip"] = "198.51.100.77"
    f = tmp_path / "cluster.json"
    f.write_text(json.dumps(data))
    code, out, _ = cli(capsys, "-t", topo_file(healthy), "--cluster", str(f), "-o", "json")
    bad = failing(out)
    assert (
        bad["pool default/nginx2-lb 198.51.100.77"]["observed"]
        == "198.51.100.77 is outside every pool"
    )
    # and the route it used to have is now a stale announcement
    assert "stale route 203.0.113.31/32" in bad
    assert from_file(f).services[1].address.exploded == "198.51.100.77"


def test_unreachable_router_nagios_3(
    healthy: object, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(
        "Host gone\n  HostName 198.51.100.99\n  User root\n"
        f"  ProxyCommand /usr/sbin/ip netns exec {healthy.spec.netns('rtr')} "  # type: ignore[attr-defined]
        "/usr/bin/busybox nc -w 2 %h %p\n"
    )
    text = Path(topo_file(healthy)).read_text()
    text = text.replace("host: rtr", "host: gone").replace(str(healthy.ssh_config), str(ssh_config))  # type: ignore[attr-defined]
    topo = tmp_path / "routerctl.yaml"
    topo.write_text(text)
    code, out, err = cli(capsys, "-t", str(topo), "--nagios")
    assert code == 3
    assert out.startswith("ROUTERCTL UNKNOWN - 1 of 1 failing: reachable (")
    assert "Traceback" not in err
    code, out, _ = cli(capsys, "-t", str(topo))
    assert code == 3


def test_wait_polls_until_green(healthy: object, capsys: pytest.CaptureFixture[str]) -> None:
    healthy.stop_speaker("node2")  # type: ignore[attr-defined]
    poll(
        lambda: healthy.sessions().get("198.51.100.6") != "Established",  # type: ignore[attr-defined]
        timeout=30,
        what="node2 down",
    )
    healthy.start_speaker("node2")  # type: ignore[attr-defined]
    started = time.monotonic()
    code, _, err = cli(capsys, "-t", topo_file(healthy), "--wait", "60")
    assert code == 0
    assert time.monotonic() - started < 60
    assert "waiting (" in err and "session node2" in err


def test_support_bundle_redacts_password(
    healthy: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "s3cr3t-Pa55"
    healthy.vtysh("conf t", "router bgp 65000", f"neighbor 198.51.100.6 password {secret}")  # type: ignore[attr-defined]
    code = main(["support-bundle", "-t", topo_file(healthy), "--dir", str(tmp_path)])
    out = capsys.readouterr().out.strip()
    assert code == 0
    with tarfile.open(out) as tar:
        names = tar.getnames()
        blob = b"".join(
            tar.extractfile(m).read()
            for m in tar.getmembers()
            if m.isfile()  # type: ignore[union-attr]
        )
    assert any(n.endswith("show_running-config.txt") for n in names)
    assert secret.encode() not in blob
    assert b"neighbor 198.51.100.6 password <redacted>" in blob
    assert b"FRRouting" in blob


def test_probe_from_the_client_side(healthy: object) -> None:
    """--probe from where routerctl runs: here the lab's client namespace, behind the router."""
    proc = subprocess.run(
        [
            *healthy.client_cmd(),  # type: ignore[attr-defined]
            sys.executable,
            "-m",
            "routerctl",
            "verify",
            "--no-state",
            "-t",
            topo_file(healthy),
            "--probe",
            "--probe-from",
            "local",  # the lab topology's default is the router
            "--probe-attempts",
            "16",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    probes = {
        c["name"]: c for c in json.loads(proc.stdout)["checks"] if c["name"].startswith("probe")
    }
    assert set(probes) == {
        "probe default/nginx-lb 203.0.113.30:8080 from local",
        "probe default/nginx2-lb 203.0.113.31:8080 from local",
    }
    for p in probes.values():
        assert p["observed"] == "16/16 answered; answers: node1, node2"


def test_flap_detected_between_runs(
    healthy: object, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "flaps.json"
    code = main(["verify", "-t", topo_file(healthy), "--state-file", str(state), "-o", "json"])
    capsys.readouterr()
    assert code == 0
    healthy.vtysh("clear bgp 198.51.100.6")  # type: ignore[attr-defined]
    poll(
        lambda: healthy.sessions().get("198.51.100.6") != "Established",  # type: ignore[attr-defined]
        timeout=10,
        what="node2 reset",
    )
    healthy.wait_established(timeout=60)  # type: ignore[attr-defined]
    code = main(["verify", "-t", topo_file(healthy), "--state-file", str(state), "-o", "json"])
    out = capsys.readouterr().out
    assert code == 1
    bad = failing(out)
    assert set(bad) == {"flap node2"}
    assert str(bad["flap node2"]["observed"]).startswith("dropped 1 time(s) since the last run")


def test_two_routers_verified_concurrently(
    capsys: pytest.CaptureFixture[str], lab_factory: Callable[..., object]
) -> None:
    lab: Any = lab_factory(routers=2, configure=True)
    for r in lab.spec.router_names():
        lab.wait_established(router=r, timeout=60)
    t = load_topology(Path(lab.topology_file))
    opened: list[Transport] = []

    def counting(router: Router) -> Transport:
        tr = connect(router.ssh)
        opened.append(tr)
        return tr

    results, targets = run_verify(t, router_name=None, cluster=from_topology(t), connector=counting)
    assert [t_.router.name for t_ in targets] == ["rtr1", "rtr2"]
    assert len(opened) == 2 and all(tr.exec_count == 1 for tr in opened)
    assert {r.router for r in results} == {"rtr1", "rtr2"}
    assert [r for r in results if not r.ok] == []
    # a fault on rtr2 only: reported for rtr2, rtr1 stays green (names are per router)
    lab.vtysh("conf t", "router bgp 65000", "neighbor 198.51.100.5 shutdown", router="rtr2")
    for prefix in ("203.0.113.30/32", "203.0.113.31/32"):
        wait_next_hop_gone(lab, prefix, "198.51.100.5", router="rtr2")
    code = main(["verify", "--no-state", "-t", str(lab.topology_file), "--nagios", "-o", "json"])
    bad = failing(capsys.readouterr().out)
    assert code == 1
    assert {(c["router"], n) for n, c in bad.items()} == {
        ("rtr2", "session node1"),
        ("rtr2", "route default/nginx-lb 203.0.113.30"),
        ("rtr2", "route default/nginx2-lb 203.0.113.31"),
    }


def test_after_provision_green_then_foreign_prefix(
    healthy: object, capsys: pytest.CaptureFixture[str]
) -> None:
    """routerctl provision (prefix-lists, route-maps), then verify; then the inbound filter
    is removed while node1 announces a prefix outside the pools."""
    healthy.router_sh("cp /etc/frr/frr.conf /tmp/frr.conf.seed")  # type: ignore[attr-defined]
    assert main(["provision", "-t", topo_file(healthy), "--yes"]) == 0
    capsys.readouterr()
    code, out, err = cli(capsys, "-t", topo_file(healthy), "--wait", "60", "-o", "json")
    assert code == 0, out + err
    code, out, _ = cli(
        capsys, "-t", topo_file(healthy), "--probe", "--probe-from", "router",
        "--probe-attempts", "16", "-o", "json",
    )  # fmt: skip
    assert code == 0, failing(out)
    answers = {c["observed"] for n, c in checks(out).items() if n.startswith("probe")}
    assert answers == {"16/16 answered; answers: node1, node2"}
    gobgp = [*healthy.netns_cmd("node1"), "gobgp", "-u", "127.0.0.1", "-p", "50051"]  # type: ignore[attr-defined]
    subprocess.run([*gobgp, "global", "rib", "-a", "ipv4", "add", "192.0.2.77/32"], check=True)
    try:
        # with the ROUTERCTL-IN prefix-list in place the router refuses it: still green
        code, out, _ = cli(capsys, "-t", topo_file(healthy), "-o", "json")
        assert code == 0, failing(out)
        healthy.vtysh(  # type: ignore[attr-defined]
            "conf t",
            "router bgp 65000",
            "address-family ipv4 unicast",
            "no neighbor ROUTERCTL route-map ROUTERCTL-IN in",
        )
        healthy.vtysh("clear bgp * soft in")  # type: ignore[attr-defined]

        def accepted() -> bool:
            peers = healthy.bgp_summary().get("peers", {})  # type: ignore[attr-defined]
            return peers.get("198.51.100.5", {}).get("pfxRcd") == 3

        poll(accepted, timeout=30, what="the router to accept node1's extra prefix")
        code, out, _ = cli(capsys, "-t", topo_file(healthy), "-o", "json", "--nagios")
        bad = failing(out)
        assert code == 2
        assert set(bad) == {"foreign prefixes node1"}
        assert bad["foreign prefixes node1"]["observed"] == "3 accepted, only 2 inside the pools"
    finally:
        subprocess.run([*gobgp, "global", "rib", "-a", "ipv4", "del", "192.0.2.77/32"], check=False)
        # back to the seed's saved config (the fixture restarts FRR from it)
        healthy.router_sh("cp /tmp/frr.conf.seed /etc/frr/frr.conf")  # type: ignore[attr-defined]


def test_large_table_same_verdict(
    healthy: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """100 000 unrelated kernel routes (blackhole /32s in 10/8, no traffic) in the router:
    the same checks, the same verdict. Prints the medians (the bench measures properly)."""
    t = load_topology(Path(topo_file(healthy)))
    ns = healthy.spec.netns("rtr")

    def verdict_and_time() -> tuple[list[tuple[str, bool, str]], float]:
        times, verdict = [], []
        for _ in range(5):
            start = time.perf_counter()
            results, _ = run_verify(
                t, router_name=None, cluster=from_topology(t), connector=lambda r: connect(r.ssh)
            )
            times.append(time.perf_counter() - start)
            verdict = [(r.name, r.ok, re.sub(r"up \S+,", "up X,", r.observed)) for r in results]
        return verdict, sorted(times)[2]

    before, t0 = verdict_and_time()
    batch = tmp_path / "routes.batch"
    batch.write_text(
        "".join(
            f"route add blackhole 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 proto 99\n"
            for i in range(100_000)
        )
    )
    subprocess.run(["ip", "-n", ns, "-batch", str(batch)], check=True)
    try:
        poll(
            lambda: "100000" in healthy.vtysh("show ip route summary"),
            timeout=120,
            what="zebra to learn 100k kernel routes",
        )
        after, t1 = verdict_and_time()
    finally:
        subprocess.run(["ip", "-n", ns, "route", "flush", "proto", "99"], check=False)
    assert after == before
    assert all(ok for _, ok, _ in before)
    with capsys.disabled():
        print(
            f"\nverify median of 5: {t0 * 1000:.0f} ms empty, {t1 * 1000:.0f} ms with 100k routes"
        )
