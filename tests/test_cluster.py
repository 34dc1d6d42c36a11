"""Cluster expectations: recorded kubectl JSON, a kubectl stand-in, and --cluster on the CLI."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from ipaddress import ip_address
from pathlib import Path

import pytest

from routerctl.cluster import from_file, from_kubectl, from_kubectl_json, from_topology
from routerctl.errors import CommandError, EnvironmentProblem, UsageError
from tests.test_verify import topo

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "cluster" / "kubectl_get_nodes_svc.json"
FAKE = HERE / "fakes" / "kubectl"

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://192.0.2.50:6443"}
  name: lab
- cluster: {server: "https://192.0.2.51:6443"}
  name: down
contexts:
- context: {cluster: lab, user: admin}
  name: lab
- context: {cluster: down, user: admin}
  name: down
current-context: lab
users:
- name: admin
  user: {token: abc}
"""


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The kubectl stand-in as an executable, with a kubeconfig and cluster 'lab' answering."""
    exe = tmp_path / "bin" / "kubectl"
    exe.parent.mkdir()
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    data = tmp_path / "data"
    data.mkdir()
    (data / "lab.json").write_text(FIXTURE.read_text())
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    monkeypatch.setenv("FAKE_KUBECTL_DATA", str(data))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setenv("ROUTERCTL_KUBECTL", str(exe))
    return exe


def test_recorded_json() -> None:
    st = from_file(FIXTURE)
    assert [(n.name, str(n.address)) for n in st.nodes] == [
        ("node1", "198.51.100.5"),
        ("node2", "198.51.100.6"),
    ]  # cp1 carries exclude-from-external-load-balancers
    assert [(s.qualified_name, str(s.address), s.ports) for s in st.services] == [
        ("default/nginx-lb", "203.0.113.30", (8080,)),
        ("default/nginx2-lb", "203.0.113.31", (8080,)),
    ]
    assert st.pending == ("default/waiting",)
    assert st.source == str(FIXTURE)
    assert dict(st.nodes[0].labels)["kubernetes.io/hostname"] == "node1"


def test_local_policy_and_bad_shapes(tmp_path: Path) -> None:
    data = json.loads(FIXTURE.read_text())
    data["items"][4]["spec"]["externalTrafficPolicy"] = "Local"
    st = from_kubectl_json(data, source="x")
    assert st.services[0].traffic_policy == "Local"
    with pytest.raises(UsageError, match="x: no 'items' list"):
        from_kubectl_json({"kind": "List"}, source="x")
    only_svc = {"items": [i for i in data["items"] if i["kind"] == "Service"]}
    with pytest.raises(UsageError, match="no Node with an InternalIP"):
        from_kubectl_json(only_svc, source="x")
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    with pytest.raises(UsageError, match=r"bad.json: not JSON \(line 1"):
        from_file(bad)
    with pytest.raises(UsageError, match="cannot read cluster file"):
        from_file(tmp_path / "missing.json")


def test_from_topology_keeps_ports() -> None:
    st = from_topology(topo())
    assert [(str(s.address), s.ports) for s in st.services] == [
        ("203.0.113.10", (8080,)),
        ("203.0.113.11", (80,)),
    ]
    assert st.source == "topology"


def test_kubectl_success(kubectl: Path) -> None:
    st = from_kubectl()
    assert st.source == "kubectl"
    assert {str(s.address) for s in st.services} == {"203.0.113.30", "203.0.113.31"}


def test_kubectl_unknown_context(kubectl: Path) -> None:
    with pytest.raises(CommandError) as err:
        from_kubectl(context="nope")
    assert err.value.message == (
        "kubectl get nodes,svc failed: Error in configuration: context was not found "
        "for specified context: nope"
    )


def test_kubectl_cluster_down(kubectl: Path) -> None:
    with pytest.raises(
        CommandError, match=r"The connection to the server 192.0.2.51:6443 was refused"
    ):
        from_kubectl(context="down")


def test_kubectl_missing_kubeconfig(kubectl: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"stat .*/nope\.yaml: no such file or directory"):
        from_kubectl(kubeconfig=tmp_path / "nope.yaml")


def test_kubectl_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTERCTL_KUBECTL", "/nonexistent/kubectl")
    with pytest.raises(EnvironmentProblem, match="kubectl not found"):
        from_kubectl()


def test_fake_matches_real_kubectl_errors(kubectl: Path, tmp_path: Path) -> None:
    """Our stand-in prints what kubectl v1.32 prints (captured here) with exit 1."""
    p = subprocess.run(
        [str(kubectl), "get", "nodes", "--bogus"], check=False, capture_output=True, text=True
    )
    assert p.returncode == 1
    assert p.stderr == "Error: unknown flag: --bogus\nSee 'kubectl get --help' for usage.\n"
    p = subprocess.run(
        [str(kubectl), "--context", "down", "get", "nodes,svc", "-A", "-o", "json"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 1
    assert p.stderr.count("memcache.go:265") == 5
    assert p.stdout == ""


def test_real_kubectl_if_present_agrees(tmp_path: Path) -> None:
    """When a real kubectl is installed, its unknown-context error is the one we fake."""

    real = shutil.which("kubectl")
    if real is None:
        pytest.skip("no real kubectl here")
    cfg = tmp_path / "kc"
    cfg.write_text(KUBECONFIG)
    argv = ["--kubeconfig", str(cfg), "--context", "nope", "get", "nodes,svc", "-A", "-o", "json"]
    r = subprocess.run([real, *argv], check=False, capture_output=True, text=True, timeout=30)
    f = subprocess.run(
        [sys.executable, str(FAKE), *argv], check=False, capture_output=True, text=True
    )
    assert (r.returncode, r.stderr) == (f.returncode, f.stderr)
    argv = ["--kubeconfig", str(tmp_path / "missing"), "get", "nodes,svc", "-A", "-o", "json"]
    r = subprocess.run([real, *argv], check=False, capture_output=True, text=True, timeout=30)
    f = subprocess.run(
        [sys.executable, str(FAKE), *argv], check=False, capture_output=True, text=True
    )
    assert (r.returncode, r.stderr) == (f.returncode, f.stderr)


def test_ipv4_ingress_parsed() -> None:
    st = from_file(FIXTURE)
    assert st.services[0].address == ip_address("203.0.113.30")
