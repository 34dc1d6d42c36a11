"""Nodes from the live cluster (issue 14 item 1): MetalLB's rules on recorded kubectl JSON,
the topology's ``cluster.nodes: {from: kubectl}``, and the CLI through the real kubectl
against the API-server emulation (tests/kubeapi.py)."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerctl.cli import app, main
from routerctl.cluster import live_nodes, select_nodes
from routerctl.errors import CommandError, TopologyError, UsageError
from routerctl.topology import NodesFrom, load_topology
from tests import kubeapi
from tests.test_verify import topo

HERE = Path(__file__).parent
NODES = json.loads((HERE / "fixtures" / "cluster" / "kubectl_get_nodes.json").read_text())
METALLB = json.loads((HERE / "fixtures" / "cluster" / "kubectl_get_metallb.json").read_text())
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed (scripts/setup)")


def verdicts(sel: object) -> dict[str, tuple[bool, str]]:
    return {v.name: (v.speaks, v.reason) for v in sel.verdicts}  # type: ignore[attr-defined]


def test_metallb_rules_on_recorded_json() -> None:
    """The recording (real kubectl output, tests/fixtures/cluster/) has one node per rule."""
    sel = select_nodes(NODES, METALLB, topology=topo(), spec=NodesFrom())
    v = verdicts(sel)
    assert v["cp1"] == (
        False,
        "labelled node.kubernetes.io/exclude-from-external-load-balancers",
    )
    assert v["node1"] == (True, "Ready")
    assert v["node2"] == (True, "Ready, cordoned (kept: MetalLB's speaker keeps running)")
    assert v["node3"] == (True, "NotReady (kept: its session drops by itself)")
    assert v["node4"] == (False, "no IPv4 InternalIP")
    assert v["node5"] == (
        False,
        "no MetalLB speaker (speaker nodeSelector kubernetes.io/os=linux,metallb=on)",
    )
    assert v["node6"] == (False, "no BGPPeer's nodeSelectors select it (openwrt)")
    assert [(n.name, str(n.address)) for n in sel.nodes("rtr")] == [
        ("node1", "198.51.100.11"),
        ("node2", "198.51.100.12"),
        ("node3", "198.51.100.13"),
    ]
    assert sel.notes == ()
    # the topology handed to provision carries exactly those nodes, labels included
    t = sel.topology(topo(), "rtr")
    assert [n.name for n in t.cluster.nodes] == ["node1", "node2", "node3"]
    assert dict(t.cluster.nodes[0].labels)["rack"] == "a"


def test_family_selector_and_without_metallb() -> None:
    v6 = select_nodes(NODES, METALLB, topology=topo(), spec=NodesFrom(family="ipv6"))
    assert [(n.name, str(n.address)) for n in v6.nodes()] == [
        ("node1", "2001:db8::11"),
        ("node4", "2001:db8::14"),
    ]
    assert verdicts(v6)["node2"] == (False, "no IPv6 InternalIP")
    narrowed = select_nodes(
        NODES, METALLB, topology=topo(), spec=NodesFrom(selector=(("rack", "b"),))
    )
    assert [n.name for n in narrowed.nodes()] == ["node2"]
    assert verdicts(narrowed)["node1"] == (
        False,
        "not matched by cluster.nodes.selector (rack=b)",
    )
    bare = select_nodes(NODES, None, topology=topo(), spec=NodesFrom())
    assert [n.name for n in bare.nodes()] == ["node1", "node2", "node3", "node5", "node6"]
    assert bare.notes == ("MetalLB's CRDs are not installed: no speaker or BGPPeer rule applied",)
    # a BGPPeer for another router only: every node counted, and the plan says so
    other = {"items": [i for i in METALLB["items"] if i["metadata"]["name"] != "openwrt"]}
    sel = select_nodes(NODES, other, topology=topo(), spec=NodesFrom())
    assert "node6" in [n.name for n in sel.nodes()]
    assert any("no BGPPeer in metallb-system names a router" in n for n in sel.notes)


def test_changes_say_why_nodes_come_and_go() -> None:
    sel = select_nodes(NODES, METALLB, topology=topo(), spec=NodesFrom())
    assert sel.changes(["198.51.100.11"], ["198.51.100.10", "198.51.100.99"]) == [
        "+ node node1 (198.51.100.11): Ready",
        "- node cp1 (198.51.100.10): labelled "
        "node.kubernetes.io/exclude-from-external-load-balancers",
        "- 198.51.100.99: no node in the cluster has this address",
    ]
    assert "node node4: skipped: no IPv4 InternalIP" in sel.describe()


def test_bad_cluster_data_is_one_line() -> None:
    bad = json.loads(json.dumps(NODES))
    bad["items"][1]["status"]["addresses"][0]["address"] = 7
    with pytest.raises(UsageError, match=r"items\[1\].status.addresses\[0\].address is not"):
        select_nodes(bad, METALLB, topology=topo(), spec=NodesFrom())
    bad = json.loads(json.dumps(METALLB))
    bad["items"][1]["spec"]["nodeSelectors"][1]["matchExpressions"][0]["operator"] = "Near"
    with pytest.raises(UsageError, match="operator 'Near' is not In/NotIn"):
        select_nodes(NODES, bad, topology=topo(), spec=NodesFrom())
    # no speaking node: refused, so the router never loses every neighbor
    only_cp = {"items": [NODES["items"][0]]}
    sel = select_nodes(only_cp, METALLB, topology=topo(), spec=NodesFrom())
    with pytest.raises(CommandError, match="no cluster node speaks BGP to router rtr"):
        sel.topology(topo(), "rtr")


TOPO = """\
routers:
  - name: rtr
    ssh: {{host: 127.0.0.1, port: 9, user: root}}
    asn: 65000
    router_id: 198.51.100.2
cluster:
  asn: 65001
  nodes: {nodes}
  pools:
    - {{name: default, addresses: [203.0.113.0/24]}}
"""


def write_topo(tmp_path: Path, nodes: str, name: str = "routerctl.yaml") -> Path:
    path = tmp_path / name
    path.write_text(TOPO.format(nodes=nodes))
    return path


def test_topology_nodes_from(tmp_path: Path) -> None:
    t = load_topology(
        write_topo(tmp_path, "{from: kubectl, selector: {rack: a}, kubeconfig: kc.yaml}")
    )
    assert t.cluster.nodes == ()
    assert t.cluster.nodes_from == NodesFrom(
        selector=(("rack", "a"),), kubeconfig=tmp_path / "kc.yaml"
    )
    for text, line, message in [
        ("{from: kubelet}", 8, "cluster.nodes.from: unknown node source 'kubelet'"),
        ("{from: kubectl, family: ipv5}", 8, "cluster.nodes.family: unknown address family"),
        ("{from: kubectl, selectr: {a: b}}", 8, "unknown key 'selectr' (did you mean 'selector'?)"),
        ("{selector: {a: b}}", 8, "cluster.nodes.from: required key is missing"),
        ("{from: kubectl, namespace: Metal_LB}", 8, "is not a Kubernetes namespace name"),
    ]:
        with pytest.raises(TopologyError) as exc:
            load_topology(write_topo(tmp_path, text))
        one = exc.value.one_line()
        assert f"routerctl.yaml:{line}:" in one and message in one, one
        assert "\n" not in one


# -- through the real kubectl, against the emulated API server -------------------------


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[kubeapi.KubeAPI]:
    """The emulation serving the recorded nodes and MetalLB objects; KUBECONFIG points at it."""
    items = [*NODES["items"], *METALLB["items"]]
    for item in items:
        item.setdefault("kind", "Node")
        item.setdefault("apiVersion", "v1")
        for key in ("resourceVersion", "uid"):
            item["metadata"].pop(key, None)
    with kubeapi.running(*items) as server:
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig(tmp_path / "kubeconfig")))
        monkeypatch.setenv("HOME", str(tmp_path))  # kubectl's discovery cache
        monkeypatch.delenv("ROUTERCTL_KUBECTL", raising=False)
        yield server


@needs_kubectl
def test_live_nodes_through_kubectl(api: kubeapi.KubeAPI) -> None:
    sel = live_nodes(replace(topo()))
    assert [n.name for n in sel.nodes("rtr")] == ["node1", "node2", "node3"]
    assert sel.source == "kubectl"
    # the two reads kubectl made, and nothing else of the resources
    reads = [r.split("?")[0] for r in api.cluster.requests if "/nodes" in r or "/v1beta2/" in r]
    assert "/api/v1/nodes" in reads
    assert "/apis/metallb.io/v1beta2/namespaces/metallb-system/bgppeers" in reads
    api.put(kubeapi.node("node7", "198.51.100.17", labels={"rack": "a", "metallb": "on"}))
    assert "node7" in [n.name for n in live_nodes(topo()).nodes()]
    api.delete("Node", "node1")
    assert "node1" not in [n.name for n in live_nodes(topo()).nodes()]


@needs_kubectl
def test_live_nodes_api_down_is_one_line(api: kubeapi.KubeAPI) -> None:
    api.pause()
    with pytest.raises(CommandError) as exc:
        live_nodes(topo(), timeout=5)
    one = exc.value.one_line()
    assert one.startswith("kubectl get nodes failed: The connection to the server 127.0.0.1:")
    assert "refused" in one and "\n" not in one


@needs_kubectl
def test_cli_plan_reads_cluster_before_the_router(
    api: kubeapi.KubeAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed or empty cluster read stops plan/provision/verify before any SSH: the
    topology's router (port 9 on loopback) would fail with exit 3 if it were tried."""
    path = write_topo(tmp_path, "{from: kubectl}")

    class Res:
        def __init__(self, code: int, output: str) -> None:
            self.exit_code, self.output = code, output

    class runner:
        @staticmethod
        def invoke(_app: object, argv: list[str]) -> Res:
            code = main(argv)
            out = capsys.readouterr()
            errors = [ln for ln in out.err.splitlines() if ln.startswith("routerctl: ")]
            assert len(errors) == 1 and "Traceback" not in out.err, out.err
            return Res(code, out.out + out.err)

    empty = {"items": [NODES["items"][0]]}  # cp1 only: excluded
    api.set_nodes(*empty["items"])
    for argv in (
        ["plan", "-t", str(path)],
        ["provision", "-t", str(path), "--yes"],
        ["verify", "-t", str(path)],
    ):
        res = runner.invoke(app, argv)
        assert res.exit_code == 1, (argv, res.output)
        assert "no cluster node speaks BGP" in res.output
        assert "refusing to remove every neighbor" in res.output
    api.pause()
    listed = write_topo(tmp_path, "[{name: n1, address: 198.51.100.11}]", "listed.yaml")
    res = runner.invoke(app, ["plan", "-t", str(listed), "--nodes-from", "kubectl"])
    assert res.exit_code == 1, res.output
    assert "kubectl get nodes failed: The connection to the server" in res.output
    res = runner.invoke(app, ["plan", "-t", str(path), "--nodes-from", "topology"])
    assert res.exit_code == 2 and "--nodes-from topology, but" in res.output
    res = runner.invoke(app, ["plan", "-t", str(listed), "--context", "x"])
    assert res.exit_code == 2 and "--context/--kubeconfig need --nodes-from kubectl" in res.output


@needs_kubectl
def test_emulation_speaks_kubectl(api: kubeapi.KubeAPI) -> None:
    """The emulation's answers are what kubectl expects: discovery (aggregated), lists,
    label selectors, NotFound, an unknown resource type."""

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        return subprocess.run(
            [KUBECTL, *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
            env=os.environ.copy(),
        )

    p = kubectl(
        "get", "nodes", "-l", "rack in (a),!node-role.kubernetes.io/control-plane", "-o", "name"
    )
    assert p.returncode == 0 and p.stdout.split() == [
        "node/node1",
        "node/node3",
        "node/node4",
        "node/node5",
    ], p.stderr
    p = kubectl("get", "nodes", "-l", "rack=b")  # the server-side Table
    assert p.stdout.split("\n")[:2] == [
        "NAME    STATUS                     ROLES    AGE   VERSION",
        "node2   Ready,SchedulingDisabled   <none>   9d    v1.32.4",
    ], p.stdout
    p = kubectl("get", "node", "nope")
    assert (p.returncode, p.stderr) == (1, 'Error from server (NotFound): nodes "nope" not found\n')
    p = kubectl("get", "bgppeer", "nope", "-n", "metallb-system")
    assert p.stderr == 'Error from server (NotFound): bgppeers.metallb.io "nope" not found\n'
    p = kubectl("get", "widgets")
    assert p.stderr == 'error: the server doesn\'t have a resource type "widgets"\n'
    p = kubectl("get", "svc,ds", "-A", "-o", "name")
    assert p.stdout.split() == ["daemonset.apps/speaker"]
    assert any(r.startswith("/apis?") for r in api.cluster.requests), "kubectl asked for discovery"
    assert ip_address("198.51.100.11")  # keep the import honest


# -- whatever the cluster holds: a selection or a one-line UsageError -------------------

_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.sampled_from(
        ["Node", "DaemonSet", "BGPPeer", "InternalIP", "In", "NotIn", "Exists", "True",
         "198.51.100.2", "::1", "", "999.1.1.1", "speaker", "rack", "a"]
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
_NODE_PATHS = [
    (), ("items",), ("items", 1), ("items", 1, "metadata"), ("items", 1, "metadata", "name"),
    ("items", 1, "metadata", "labels"), ("items", 1, "metadata", "labels", "rack"),
    ("items", 1, "spec"), ("items", 1, "spec", "unschedulable"), ("items", 1, "status"),
    ("items", 1, "status", "conditions"), ("items", 1, "status", "conditions", 0),
    ("items", 1, "status", "conditions", 0, "status"), ("items", 1, "status", "addresses"),
    ("items", 1, "status", "addresses", 0), ("items", 1, "status", "addresses", 0, "address"),
]  # fmt: skip
_METALLB_PATHS = [
    (), ("items",), ("items", 0, "kind"), ("items", 0, "metadata", "labels"),
    ("items", 0, "spec", "template"), ("items", 0, "spec", "template", "spec", "nodeSelector"),
    ("items", 1, "spec", "peerASN"), ("items", 1, "spec", "peerAddress"),
    ("items", 1, "spec", "nodeSelectors"), ("items", 1, "spec", "nodeSelectors", 0),
    ("items", 1, "spec", "nodeSelectors", 1, "matchExpressions"),
    ("items", 1, "spec", "nodeSelectors", 1, "matchExpressions", 0, "values"),
    ("items", 1, "spec", "nodeSelectors", 0, "matchLabels"),
]  # fmt: skip


def _put(data: Any, path: tuple[object, ...], value: object) -> Any:
    if not path:
        return value
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@settings(
    derandomize=True, max_examples=300, deadline=None, suppress_health_check=list(HealthCheck)
)
@given(
    edits=st.lists(
        st.tuples(st.booleans(), st.sampled_from(_NODE_PATHS + _METALLB_PATHS), _value),
        min_size=1,
        max_size=3,
    )
)
def test_property_mutated_cluster_json(
    edits: list[tuple[bool, tuple[object, ...], object]],
) -> None:
    docs: list[Any] = [copy.deepcopy(NODES), copy.deepcopy(METALLB)]
    for which, path, value in edits:
        with contextlib.suppress(KeyError, IndexError, TypeError):
            docs[int(which)] = _put(docs[int(which)], path, value)
    try:
        sel = select_nodes(docs[0], docs[1], topology=topo(), spec=NodesFrom(), source="kubectl")
    except UsageError as exc:
        one = exc.one_line()
        assert type(exc) is UsageError and one.startswith("kubectl: ") and "\n" not in one
        return
    for v in sel.verdicts:
        assert isinstance(v.name, str) and isinstance(v.reason, str)
        assert not v.speaks or v.address is not None
