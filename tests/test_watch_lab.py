"""Nodes from the cluster on the lab (issue 14, done-when): the emulated API server lists
2 of the lab's 4 nodes, then 4; provision adds exactly two neighbors without a flap of the
existing two (the router's own uptime counters); then ``routerctl watch`` removes a node's
neighbor without a command, once per burst.

The lab runs 4 GoBGP speakers from the start (the lab has a fixed node count); the
cluster the router follows is the API emulation's node list (tests/kubeapi.py), read by
the real kubectl.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from routerctl.lab import Lab
from tests import kubeapi

pytestmark = pytest.mark.lab

SERVICES = ("203.0.113.30", "203.0.113.31")
EXCLUDE = "node.kubernetes.io/exclude-from-external-load-balancers"


def poll(cond: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)  # polling interval, bounded by the deadline


@pytest.fixture(scope="module")
def four(module_lab_factory: Callable[..., Lab]) -> Lab:
    return module_lab_factory(nodes=4)


@pytest.fixture
def env(four: Lab, tmp_path: Path) -> Iterator[tuple[Lab, kubeapi.KubeAPI, Path, dict[str, str]]]:
    spec = four.spec
    names = spec.node_names()
    nodes = {n: kubeapi.node(n, str(spec.node_addr(n))) for n in names}
    with kubeapi.running(*(nodes[n] for n in names[:2])) as api:
        doc = yaml.safe_load(four.topology_file.read_text())
        doc["cluster"]["nodes"] = {"from": "kubectl"}
        topo = tmp_path / "routerctl.yaml"
        topo.write_text(yaml.safe_dump(doc))
        environ = {
            **os.environ,
            "KUBECONFIG": str(api.kubeconfig(tmp_path / "kubeconfig")),
            "HOME": str(tmp_path),
        }
        yield four, api, topo, environ


def cli(topo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routerctl", *args, "-t", str(topo)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def peers(lab: Lab) -> dict[str, dict[str, Any]]:
    data = json.loads(lab.vtysh("show bgp summary json"))
    result: dict[str, dict[str, Any]] = data.get("ipv4Unicast", data).get("peers", {})
    return result


def owned_neighbors(lab: Lab) -> set[str]:
    return {
        ln.split()[1]
        for ln in lab.vtysh("show running-config").splitlines()
        if ln.strip().startswith("neighbor ") and ln.strip().endswith("peer-group ROUTERCTL")
    }


def nexthops(lab: Lab) -> set[str]:
    """The next hops in the FIB, the same for every service route (else an assertion)."""
    found = []
    for svc in SERVICES:
        data = json.loads(lab.vtysh(f"show ip route {svc}/32 json"))
        found.append(
            {
                nh["ip"]
                for r in data.get(f"{svc}/32", [])
                if r.get("selected")
                for nh in r.get("nexthops", [])
                if nh.get("fib") and "ip" in nh
            }
        )
    return found[0] if all(f == found[0] for f in found) else set()


def test_nodes_follow_the_cluster(
    env: tuple[Lab, kubeapi.KubeAPI, Path, dict[str, str]],
) -> None:
    lab, api, topo, environ = env
    spec = lab.spec
    names = spec.node_names()
    addr = {n: str(spec.node_addr(n)) for n in names}

    # 2 nodes in the cluster: provision peers with those two
    res = cli(topo, environ, "provision", "--yes", "--confirm-timeout", "60")
    assert res.returncode == 0, res.stderr
    assert owned_neighbors(lab) == {addr[n] for n in names[:2]}
    poll(lambda: nexthops(lab) == {addr[n] for n in names[:2]}, timeout=60, what="2-node ECMP")
    before, t_before = peers(lab), time.monotonic()
    epochs = {addr[n]: before[addr[n]]["peerUptimeEstablishedEpoch"] for n in names[:2]}
    config_before = lab.vtysh("show running-config").splitlines()

    # 2 -> 4: plan says who comes and why; one provision adds exactly two neighbors
    api.put(*(kubeapi.node(n, addr[n]) for n in names[2:]))
    plan = cli(topo, environ, "plan")
    assert plan.returncode == 0, plan.stderr
    for n in names[2:]:
        assert f"+ node {n} ({addr[n]}): Ready" in plan.stdout, plan.stdout
    res = cli(topo, environ, "provision", "--yes", "--confirm-timeout", "60")
    assert res.returncode == 0, res.stderr
    assert "4 sessions Established" in res.stdout
    config_after = lab.vtysh("show running-config").splitlines()
    added = [ln.strip() for ln in config_after if ln not in config_before]
    removed = [ln for ln in config_before if ln not in config_after]
    assert removed == []
    assert sorted(ln.split()[1] for ln in added if ln.endswith("peer-group ROUTERCTL")) == sorted(
        addr[n] for n in names[2:]
    )
    assert all(ln.split()[1] in {addr[n] for n in names[2:]} for ln in added), added
    after, t_after = peers(lab), time.monotonic()
    for n in names:
        assert after[addr[n]]["state"] == "Established"
    elapsed_ms = (t_after - t_before) * 1000
    for a, epoch in epochs.items():  # the router's own counters: no flap
        # uptime grew by the whole time between the two readings (a reset would restart
        # it from 0); the epoch FRR derives from it moves only by rounding
        grown = after[a]["peerUptimeMsec"] - before[a]["peerUptimeMsec"]
        assert grown >= elapsed_ms - 1500, (a, grown, elapsed_ms)
        assert abs(after[a]["peerUptimeEstablishedEpoch"] - epoch) <= 1
    poll(lambda: nexthops(lab) == set(addr.values()), timeout=60, what="4-node ECMP")
    ver = cli(topo, environ, "verify", "-o", "json", "--no-state")
    assert ver.returncode == 0, ver.stdout + ver.stderr
    checks = {c["name"]: c["ok"] for c in json.loads(ver.stdout)["checks"]}
    assert all(checks[f"session {n}"] for n in names), checks

    # watch: a node removed from the cluster loses its neighbor with no command, once
    proc = subprocess.Popen(
        [sys.executable, "-m", "routerctl", "watch", "-t", str(topo), "--quiet", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        poll(lambda: any("4 nodes speak" in ln for ln in lines), timeout=60, what="first sync")
        assert not any("applied" in ln for ln in lines)  # in sync: nothing to apply
        epochs = {a: peers(lab)[a]["peerUptimeEstablishedEpoch"] for a in addr.values()}
        config_before = lab.vtysh("show running-config").splitlines()
        gone = names[3]
        api.delete("Node", gone)
        poll(lambda: addr[gone] not in owned_neighbors(lab), timeout=60, what="neighbor gone")
        poll(lambda: addr[gone] not in nexthops(lab), timeout=60, what="next hop gone")
        assert nexthops(lab) == {addr[n] for n in names[:3]}
        assert owned_neighbors(lab) == {addr[n] for n in names[:3]}
        config_after = lab.vtysh("show running-config").splitlines()
        assert [ln for ln in config_before if ln not in config_after] == [
            f" neighbor {addr[gone]} peer-group ROUTERCTL",
            f" neighbor {addr[gone]} description {gone}",
        ]  # nothing else changed
        assert [ln for ln in config_after if ln not in config_before] == []
        now = peers(lab)
        for n in names[:3]:
            assert abs(now[addr[n]]["peerUptimeEstablishedEpoch"] - epochs[addr[n]]) <= 1
        poll(lambda: sum("applied" in ln for ln in lines) == 1, timeout=30, what="apply log")
        assert f"node {gone} ({addr[gone]}) leaves: no longer in the cluster" in lines

        # a burst: the node comes back and another is excluded, 0.1 s apart: one apply
        api.put(kubeapi.node(gone, addr[gone]))
        api.put(kubeapi.node(names[2], addr[names[2]], labels={EXCLUDE: ""}))
        want = {addr[n] for n in (names[0], names[1], gone)}
        poll(lambda: owned_neighbors(lab) == want, timeout=60, what="the burst applied")
        poll(lambda: sum("applied" in ln for ln in lines) == 2, timeout=30, what="apply log")
        assert f"node {names[2]} ({addr[names[2]]}) leaves: labelled {EXCLUDE}" in lines
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(timeout=10)
    assert proc.returncode == 0
    assert lines[-1].startswith("stopped: ") and "2 applied, 0 failed" in lines[-1], lines
