"""``render router`` and ``healthcheck config|install`` with the node set from the live
cluster (``cluster.nodes: {from: kubectl}`` or ``--nodes-from kubectl``), through the CLI
and the real kubectl against the API-server emulation. Before, render failed with "no
node peers with router 'rtr'" and the health check saw no nodes at all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from routerctl.cli import main
from tests import kubeapi
from tests.test_cluster_nodes import api, needs_kubectl, write_topo

__all__ = ["api"]  # the fixture, used by name

EXCLUDE = "node.kubernetes.io/exclude-from-external-load-balancers"
LIVE = ["198.51.100.11", "198.51.100.12", "198.51.100.13"]  # node1-3 speak (the recording)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.err, out.err
    return code, out.out, out.err


def neighbors(text: str) -> list[str]:
    return re.findall(r"^ neighbor (\S+) peer-group ROUTERCTL$", text, re.M)


def one_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.startswith("routerctl: ")]
    assert len(lines) == 1, err
    return lines[0]


@needs_kubectl
def test_render_router_reads_the_cluster(
    api: kubeapi.KubeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_topo(tmp_path, "{from: kubectl}")
    code, out, err = run(capsys, "render", "router", "-t", str(path))
    assert code == 0, err
    assert neighbors(out) == LIVE
    assert " neighbor 198.51.100.11 description node1" in out.splitlines()
    # the cluster changes: the next render follows it
    api.put(kubeapi.node("node7", "198.51.100.17", labels={"rack": "a", "metallb": "on"}))
    api.delete("Node", "node2")
    code, out, err = run(capsys, "render", "router", "-t", str(path), "-o", "json")
    assert code == 0, err
    assert '" neighbor 198.51.100.17 peer-group ROUTERCTL"' in out
    assert '" neighbor 198.51.100.12 peer-group ROUTERCTL"' not in out
    # a listed topology with --nodes-from kubectl: the cluster's nodes, not the list
    listed = write_topo(tmp_path, "[{name: n1, address: 198.51.100.31}]", "listed.yaml")
    code, out, err = run(capsys, "render", "router", "-t", str(listed), "--nodes-from", "kubectl")
    assert code == 0, err
    assert neighbors(out) == ["198.51.100.11", "198.51.100.13", "198.51.100.17"]
    code, out, err = run(capsys, "render", "router", "-t", str(listed))
    assert (code, neighbors(out)) == (0, ["198.51.100.31"])


@needs_kubectl
def test_render_router_bad_reads_are_one_line(
    api: kubeapi.KubeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_topo(tmp_path, "{from: kubectl}")
    listed = write_topo(tmp_path, "[{name: n1, address: 198.51.100.31}]", "listed.yaml")
    api.set_nodes(kubeapi.node("cp1", "198.51.100.10", labels={EXCLUDE: ""}))
    code, out, err = run(capsys, "render", "router", "-t", str(path))
    assert code == 1 and out == ""
    assert "no cluster node speaks BGP to router rtr" in one_error(err)
    assert "no node peers" not in err
    code, _, err = run(capsys, "render", "router", "-t", str(listed), "--context", "x")
    assert code == 2 and "--context/--kubeconfig need --nodes-from kubectl" in one_error(err)
    code, _, err = run(capsys, "render", "router", "-t", str(path), "--nodes-from", "topology")
    assert code == 2 and "--nodes-from topology, but" in one_error(err)
    api.pause()
    code, out, err = run(capsys, "render", "router", "-t", str(path))
    assert code == 1 and out == ""
    assert one_error(err).startswith(
        "routerctl: error: kubectl get nodes failed: The connection to the server"
    )


@needs_kubectl
def test_healthcheck_config_follows_the_cluster(
    api: kubeapi.KubeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The live nodes count for --min-established; no neighbor list is written (it would
    go stale as the cluster changes): the check expects every neighbor the router has."""
    path = write_topo(tmp_path, "{from: kubectl}")
    code, out, err = run(capsys, "healthcheck", "config", "-t", str(path), "--min-established", "3")
    assert code == 0, err
    assert "list neighbor" not in out
    assert "\toption min_established '3'" in out.splitlines()
    assert "# Neighbors: not listed, the 3 nodes came from the live cluster" in out
    code, out, err = run(capsys, "healthcheck", "config", "-t", str(path), "--min-established", "4")
    assert code == 2
    assert "--min-established 4 is more than the 3 nodes peering with router rtr" in one_error(err)
    # a listed topology keeps its neighbor list, unless the nodes come from kubectl
    listed = write_topo(tmp_path, "[{name: n1, address: 198.51.100.31}]", "listed.yaml")
    code, out, err = run(capsys, "healthcheck", "config", "-t", str(listed))
    assert code == 0 and "\tlist neighbor '198.51.100.31'" in out.splitlines(), err
    code, out, err = run(
        capsys, "healthcheck", "config", "-t", str(listed), "--nodes-from", "kubectl"
    )
    assert code == 0 and "list neighbor" not in out, err


@needs_kubectl
def test_healthcheck_install_reads_the_cluster_before_ssh(
    api: kubeapi.KubeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """install reads the cluster first: a failed read exits 1 without trying the router
    (port 9 on loopback: trying it would exit 3), a good read goes on to SSH."""
    path = write_topo(tmp_path, "{from: kubectl}")
    code, _, err = run(capsys, "healthcheck", "install", "-t", str(path), "--min-established", "9")
    assert code == 2 and "more than the 3 nodes" in one_error(err)
    code, _, err = run(capsys, "healthcheck", "install", "-t", str(path))
    assert code == 3 and "cannot connect to 127.0.0.1:9" in one_error(err)
    api.pause()
    code, _, err = run(capsys, "healthcheck", "install", "-t", str(path))
    assert code == 1 and "kubectl get nodes failed" in one_error(err)
