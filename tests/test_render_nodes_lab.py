"""``render router`` and the health check with the node set from the cluster, on the lab:
what ``render router`` prints is what provision puts on the router, and the health check
installed from ``cluster.nodes: {from: kubectl}`` follows the cluster's nodes as they
change (a neighbor list frozen at install would report a removed node as down).

One lab with 3 GoBGP nodes and the uci stand-in; the cluster is the lab's API-server
stand-in read by the real kubectl, listing node1 and node2 at first."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from routerctl.lab import Lab
from tests import kubeapi

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root"),
]


def poll(cond: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)  # polling interval, bounded by the deadline


@pytest.fixture(scope="module")
def three(module_lab_factory: Callable[..., Lab]) -> Lab:
    return module_lab_factory(nodes=3, uci=True)


@pytest.fixture
def env(three: Lab, tmp_path: Path) -> Iterator[tuple[kubeapi.KubeAPI, Path, dict[str, str]]]:
    spec = three.spec
    with kubeapi.running(
        *(kubeapi.node(n, str(spec.node_addr(n))) for n in spec.node_names()[:2])
    ) as api:
        doc = yaml.safe_load(three.topology_file.read_text())
        doc["cluster"]["nodes"] = {"from": "kubectl"}
        topo = tmp_path / "routerctl.yaml"
        topo.write_text(yaml.safe_dump(doc))
        environ = {
            **os.environ,
            "KUBECONFIG": str(api.kubeconfig(tmp_path / "kubeconfig")),
            "HOME": str(tmp_path),
        }
        yield api, topo, environ


def cli(topo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [sys.executable, "-m", "routerctl", *args, "-t", str(topo)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert res.returncode == 0, (args, res.stdout, res.stderr)
    return res


def owned_neighbors(lab: Lab) -> list[str]:
    return sorted(
        ln.split()[1]
        for ln in lab.vtysh("show running-config").splitlines()
        if ln.strip().startswith("neighbor ") and ln.strip().endswith("peer-group ROUTERCTL")
    )


def run_check(lab: Lab) -> dict[str, Any]:
    """One cron-like run of the installed check; the status it wrote."""
    out = lab.router_sh(
        "/usr/sbin/routerctl-health >/dev/null 2>&1; cat /var/run/routerctl-health.json",
        check=False,
    ).stdout
    return dict(json.loads(out))


def test_render_and_healthcheck_follow_the_cluster(
    three: Lab, env: tuple[kubeapi.KubeAPI, Path, dict[str, str]]
) -> None:
    lab = three
    api, topo, environ = env
    names = lab.spec.node_names()
    addr = {n: str(lab.spec.node_addr(n)) for n in names}

    def rendered() -> list[str]:
        out = cli(topo, environ, "render", "router").stdout
        return sorted(re.findall(r"^ neighbor (\S+) peer-group ROUTERCTL$", out, re.M))

    assert rendered() == sorted(addr[n] for n in names[:2])
    cli(topo, environ, "provision", "--yes", "--confirm-timeout", "60")
    assert owned_neighbors(lab) == rendered()

    cli(topo, environ, "healthcheck", "install")
    uci = lab.router_sh("cat /etc/config/routerctl").stdout
    assert "list neighbor" not in uci
    assert "# Neighbors: not listed, the 2 nodes came from the live cluster" in uci
    status = run_check(lab)
    assert (status["state"], status["established"], status["neighbors_total"]) == ("ok", 2, 2)

    # the cluster changes: node3 joins, node2 goes; one provision, no new install
    api.put(kubeapi.node(names[2], addr[names[2]]))
    api.delete("Node", names[1])
    want = sorted(addr[n] for n in (names[0], names[2]))
    assert rendered() == want
    cli(topo, environ, "provision", "--yes", "--confirm-timeout", "60")
    assert owned_neighbors(lab) == want

    def checked_ok() -> bool:
        s = run_check(lab)
        return (s["state"], s["established"], s["neighbors_total"]) == ("ok", 2, 2)

    poll(checked_ok, timeout=60, what="the health check to see node1 and node3 Established")
    status = run_check(lab)
    assert sorted(n["address"] for n in status["neighbors"]) == want
    cli(topo, environ, "healthcheck", "uninstall")
