"""Cluster expectations: recorded kubectl JSON, the real kubectl against the API emulation
(tests/kubeapi.py), and --cluster on the CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from ipaddress import ip_address
from pathlib import Path

import pytest

from routerctl.cluster import from_file, from_kubectl, from_kubectl_json, from_topology
from routerctl.errors import CommandError, EnvironmentProblem, UsageError
from tests import kubeapi
from tests.test_verify import topo

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "cluster" / "kubectl_get_nodes_svc.json"

KUBECTL = shutil.which("kubectl")


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The real kubectl against the API emulation (tests/kubeapi.py) serving the recorded
    cluster: context 'lab' answers, context 'down' names a port nobody listens on."""
    if KUBECTL is None:
        pytest.skip("kubectl not installed (scripts/setup installs it)")
    items = json.loads(FIXTURE.read_text())["items"]
    down = kubeapi.KubeAPI().start()
    down.stop()  # its port is now refused
    with kubeapi.running(*items) as api:
        cfg = tmp_path / "kubeconfig"
        cfg.write_text(
            "apiVersion: v1\nkind: Config\nclusters:\n"
            f"- cluster: {{server: '{api.url}'}}\n  name: lab\n"
            f"- cluster: {{server: '{down.url}'}}\n  name: down\n"
            "contexts:\n- context: {cluster: lab, user: admin}\n  name: lab\n"
            "- context: {cluster: down, user: admin}\n  name: down\n"
            "current-context: lab\nusers:\n- name: admin\n  user: {token: abc}\n"
        )
        monkeypatch.setenv("KUBECONFIG", str(cfg))
        monkeypatch.setenv("HOME", str(tmp_path))  # kubectl's discovery cache
        monkeypatch.delenv("ROUTERCTL_KUBECTL", raising=False)
        yield Path(KUBECTL)


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
    with pytest.raises(CommandError) as err:
        from_kubectl(context="down")
    assert re.fullmatch(
        r"kubectl get nodes,svc failed: The connection to the server 127\.0\.0\.1:\d+ was "
        r"refused - did you specify the right host or port\?",
        err.value.message,
    )


def test_kubectl_missing_kubeconfig(kubectl: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"stat .*/nope\.yaml: no such file or directory"):
        from_kubectl(kubeconfig=tmp_path / "nope.yaml")


def test_kubectl_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTERCTL_KUBECTL", "/nonexistent/kubectl")
    with pytest.raises(EnvironmentProblem, match="kubectl not found"):
        from_kubectl()


def test_kubectl_reads_through_the_emulation(kubectl: Path) -> None:
    """What kubectl made of the emulation's two lists is the recorded List, node by node."""
    st = from_kubectl()
    assert [(n.name, str(n.address)) for n in st.nodes] == [
        ("node1", "198.51.100.5"),
        ("node2", "198.51.100.6"),
    ]
    assert st.pending == ("default/waiting",)
    p = subprocess.run(
        [str(kubectl), "get", "nodes", "--bogus"], check=False, capture_output=True, text=True
    )
    assert p.returncode == 1 and "unknown flag: --bogus" in p.stderr


def test_ipv4_ingress_parsed() -> None:
    st = from_file(FIXTURE)
    assert st.services[0].address == ip_address("203.0.113.30")
