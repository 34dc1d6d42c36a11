"""The lab's two speaker kinds side by side (``lab up --speaker mixed``: GoBGP like MetalLB's
native speaker, FRR configured as MetalLB's FRR mode renders it), and nodes joining a
running lab (``lab node add|remove``) against a router with dynamic neighbors.

One module lab (3 nodes: node1 GoBGP, node2 FRR, node3 GoBGP). Every test provisions the
router config it needs first (provision is idempotent), so the tests do not depend on
their order; the CLI runs as a subprocess, as a user runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root"),
]

SERVICES = ("203.0.113.30/32", "203.0.113.31/32")


def poll(cond: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.2)  # polling interval, bounded by the deadline


def routerctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routerctl", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def lab(module_lab_factory: Callable[..., Any]) -> Any:
    return module_lab_factory(nodes=3, speaker="mixed")


def topology(lab: Any, tmp_path: Path, *, dynamic: bool) -> Path:
    """The lab's topology file as it is now (``lab node add`` rewrites it), optionally with
    dynamic neighbors over the whole LAN."""
    doc = yaml.safe_load(Path(lab.topology_file).read_text(encoding="utf-8"))
    if dynamic:
        doc["routers"][0]["dynamic_neighbors"] = {"listen_range": "198.51.100.0/24"}
    path = tmp_path / ("dynamic.yaml" if dynamic else "static.yaml")
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def provision(path: Path) -> None:
    res = routerctl("provision", "-t", str(path), "--yes")
    assert res.returncode == 0, res.stdout + res.stderr


def verify(path: Path) -> tuple[int, dict[str, Any]]:
    res = routerctl("verify", "-t", str(path), "-o", "json", "--no-state", "--nagios")
    return res.returncode, {c["name"]: c for c in json.loads(res.stdout)["checks"]}


def fib_nexthops(lab: Any) -> dict[str, set[str]]:
    out = lab.vtysh("show ip route 203.0.113.0/24 longer-prefixes json")
    data = json.loads(out or "{}")
    return {
        p: {h["ip"] for h in data.get(p, [{}])[0].get("nexthops", []) if h.get("fib")}
        for p in SERVICES
    }


def node_addrs(lab: Any) -> set[str]:
    return {str(lab.spec.node_addr(n)) for n in lab.spec.node_names()}


@pytest.fixture
def speakers_up(lab: Any) -> Iterator[Any]:
    yield lab
    for n in lab.spec.node_names():
        lab.start_speaker(n)


def converged(lab: Any, path: Path) -> Callable[[], bool]:
    def ok() -> bool:
        states = lab.sessions()
        return all(states.get(a) == "Established" for a in node_addrs(lab)) and all(
            hops == node_addrs(lab) for hops in fib_nexthops(lab).values()
        )

    return ok


def test_mixed_speakers_are_what_the_spec_says(lab: Any) -> None:
    kinds = {n: lab.speaker_kind(n) for n in lab.spec.node_names()}
    assert kinds == {"node1": "gobgp", "node2": "frr", "node3": "gobgp"}
    # the FRR node's bgpd runs the MetalLB-shaped config and has the session to the router
    summary = json.loads(lab.node_vtysh("node2", "show bgp ipv4 unicast summary json"))
    peers = summary.get("ipv4Unicast", summary)["peers"]
    assert list(peers) == [str(lab.spec.router_addr("rtr"))]
    running = lab.node_vtysh("node2", "show running-config")
    assert "no bgp default ipv4-unicast" in running
    assert "network 203.0.113.30/32" in running


def test_mixed_verify_healthy_degraded_critical(speakers_up: Any, tmp_path: Path) -> None:
    lab = speakers_up
    path = topology(lab, tmp_path, dynamic=False)
    provision(path)
    poll(converged(lab, path), timeout=60, what="3 sessions and 3-way ECMP")
    rc, checks = verify(path)
    assert rc == 0, {k: v["observed"] for k, v in checks.items() if not v["ok"]}
    for svc in ("default/nginx-lb", "default/nginx2-lb"):
        (route,) = [c for name, c in checks.items() if name.startswith(f"route {svc} ")]
        assert route["ok"] and all(n in route["observed"] for n in ("node1", "node2", "node3"))
    # degraded: the FRR node's speaker stops; the GoBGP nodes still carry the services
    lab.stop_speaker("node2")
    poll(lambda: lab.sessions().get("198.51.100.6") != "Established", timeout=30,
         what="node2's session to go")  # fmt: skip
    rc, checks = verify(path)
    assert rc == 1
    assert checks["session node2"]["severity"] == "warning"
    assert checks["session node1"]["ok"] and checks["session node3"]["ok"]
    # critical: every speaker stopped
    lab.stop_speaker("node1")
    lab.stop_speaker("node3")
    poll(lambda: not any(s == "Established" for s in lab.sessions().values()), timeout=30,
         what="every session to go")  # fmt: skip
    rc, checks = verify(path)
    assert rc == 2
    assert {checks[f"session node{i}"]["severity"] for i in (1, 2, 3)} == {"critical"}


def test_node_added_peers_dynamically_without_provision(lab: Any, tmp_path: Path) -> None:
    path = topology(lab, tmp_path, dynamic=True)
    provision(path)
    poll(converged(lab, path), timeout=60, what="the nodes as dynamic peers")
    before = lab.vtysh("show running-config")
    res = routerctl("lab", "node", "add", "worker4", "--name", lab.name)
    assert res.returncode == 0, res.stderr
    try:
        assert "added at 198.51.100.8" in res.stdout
        kind = lab.__class__.attach(lab.name).speaker_kind("worker4")
        assert kind == "frr"  # mixed: the kind fewer nodes run

        def peered() -> bool:
            text = lab.vtysh("show ip bgp summary")
            return any(line.startswith("*198.51.100.8 ") for line in text.splitlines())

        poll(peered, timeout=60, what="*198.51.100.8 in the summary")
        # no provision happened, and none is needed: the router's config did not change
        assert lab.vtysh("show running-config") == before
        now = lab.__class__.attach(lab.name)
        grown = topology(now, tmp_path, dynamic=True)
        assert "worker4" in grown.read_text(encoding="utf-8")
        plan = routerctl("plan", "-t", str(grown), "-o", "json")
        assert plan.returncode == 0, plan.stderr
        assert json.loads(plan.stdout)[0]["changed"] is False
        poll(converged(now, grown), timeout=60, what="4-way ECMP with worker4")
        rc, checks = verify(grown)
        assert rc == 0, {k: v["observed"] for k, v in checks.items() if not v["ok"]}
        assert checks["session worker4"]["expected"].endswith("(dynamic, AS 65001)")
        assert checks["dynamic neighbors"]["observed"].startswith("4 dynamic peers (4 of")
    finally:
        res = routerctl("lab", "node", "remove", "worker4", "--name", lab.name)
    assert res.returncode == 0, res.stderr
    # gone completely: namespace, veth on the switch, processes, files, state, topology
    names = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert f"{lab.name}-worker4" not in names
    links = subprocess.run(
        ["ip", "-n", lab.spec.netns("lan"), "-br", "link"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "worker4" not in links
    assert not (Path(lab.state_dir) / "worker4").exists()
    state = json.loads((Path(lab.state_dir) / "state.json").read_text(encoding="utf-8"))
    assert "worker4" not in state["speakers"] and state["spec"]["added_nodes"] == []
    assert "worker4" not in Path(lab.topology_file).read_text(encoding="utf-8")
    poll(lambda: "198.51.100.8" not in lab.sessions(), timeout=30, what="the dynamic peer to go")


def test_node_command_errors_are_one_line(lab: Any) -> None:
    for args, needle in (
        (("add", "node1"), "exists already"),
        (("remove", "nope"), "no node 'nope'"),
        (("node1", "sideways"), "unknown node action"),
    ):
        res = routerctl("lab", "node", *args, "--name", lab.name)
        assert res.returncode == 2, res.stderr
        assert needle in res.stderr and "Traceback" not in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1
