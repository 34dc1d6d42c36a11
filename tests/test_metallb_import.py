"""`metallb import`: an existing MetalLB config (ConfigMap or CRDs) -> a topology."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import yaml

from routerctl.cli import main
from routerctl.errors import UsageError
from routerctl.metallb.importer import import_metallb
from routerctl.metallb.yamlio import expand_lists, load_text
from routerctl.render.metallb import render_crds
from routerctl.topology import Topology, load_topology

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "metallb"
SHARED = REPO.parent / "shared" / "metallb"
UPDATE = os.environ.get("ROUTERCTL_UPDATE_GOLDEN") == "1"
SECRET_VALUE = "canary-Secret-do-not-leak"


def run_import(text: str, source: str = "in.yaml") -> tuple[str, list[str]]:
    docs = expand_lists(load_text(text, source=source), source=source)
    result = import_metallb(docs, source=source)
    return result.text, result.notes


def with_nodes(text: str, topology: Topology, tmp_path: Path) -> Topology:
    """Fill in the nodes (what import cannot derive) and load the result."""
    nodes = [
        {
            "name": n.name,
            "address": str(n.address),
            **({"labels": dict(n.labels)} if n.labels else {}),
        }
        for n in topology.cluster.nodes
    ]
    line = next(ln for ln in text.splitlines() if ln.startswith("  nodes: []"))
    filled = text.replace(
        line, "  nodes: " + yaml.safe_dump(nodes, default_flow_style=True).strip()
    )
    path = tmp_path / "imported.yaml"
    path.write_text(filled, encoding="utf-8")
    return load_topology(path)


@pytest.mark.parametrize(
    "topology",
    [
        "examples/seed.yaml",
        "tests/golden/metallb/full.topology.yaml",
        "tests/golden/metallb/ipv6.topology.yaml",
    ],
)
def test_round_trip_renders_the_same_crds(topology: str, tmp_path: Path) -> None:
    """render -> import -> render gives the same MetalLB config."""
    original = load_topology(REPO / topology)
    crds = render_crds(original)
    text, notes = run_import(yaml.safe_dump_all(crds))
    again = with_nodes(text, original, tmp_path)
    assert render_crds(again) == crds
    assert again.cluster.asn == original.cluster.asn
    assert [r.asn for r in again.routers] == [r.asn for r in original.routers]
    assert again.bgp.password == (original.bgp.password and again.bgp.password)
    assert any("cluster.nodes" in n for n in notes)


def test_seed_configmap_golden(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["metallb", "import", "tests/golden/metallb/seed-legacy-configmap.yaml"]) == 0
    captured = capsys.readouterr()
    golden = GOLDEN / "seed-legacy.import.yaml"
    if UPDATE:
        golden.write_text(captured.out, encoding="utf-8")
    assert captured.out == golden.read_text(encoding="utf-8")
    assert "fill in: cluster.nodes" in captured.err
    data = yaml.safe_load(captured.out)
    assert data["routers"] == [
        {"name": "peer1", "ssh": {"host": "192.168.1.2"}, "asn": 65000, "router_id": "192.168.1.2"}
    ]
    assert data["cluster"] == {
        "asn": 65001,
        "nodes": [],
        "pools": [{"name": "default", "addresses": ["192.168.0.30-192.168.0.49"]}],
    }
    assert "bgp" not in data  # nothing set: no hold time invented


def test_full_legacy_configmap() -> None:
    path = SHARED / "configmaptocrs-testdata/configmap-yaml/config-yaml-full.yaml"
    text, notes = run_import(path.read_text(encoding="utf-8"))
    data = yaml.safe_load(text)
    assert data["routers"][0]["asn"] == 64512
    assert data["cluster"]["pools"] == [
        {"name": "my-ip-space", "addresses": ["192.168.10.0/24", "192.168.0.150-192.168.0.200"]}
    ]
    assert data["bgp"] == {
        "password": {"env": "ROUTERCTL_BGP_PASSWORD"},
        "hold_time": 120,
        "keepalive_time": 30,
        "bfd": True,
    }
    assert "yourPassword" not in text and not any("yourPassword" in n for n in notes)
    assert "export ROUTERCTL_BGP_PASSWORD" in text
    joined = "\n".join(notes)
    assert "pool my-l2-space is not advertised over BGP" in joined
    assert "matchExpressions" in joined
    assert "communities, localPref" in joined


CRDS = """\
apiVersion: v1
kind: List
items:
- apiVersion: metallb.io/v1beta2
  kind: BGPPeer
  metadata: {name: gw, namespace: metallb-system}
  spec:
    myASN: 65001
    peerASN: 65000
    peerAddress: 198.51.100.1
    holdTime: 1m30s
    passwordSecret: {name: bgp-auth, namespace: metallb-system}
    nodeSelectors:
    - matchLabels: {rack: r1}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: web, namespace: metallb-system, labels: {adv: bgp}}
  spec: {addresses: [203.0.113.0/28], autoAssign: false}
- apiVersion: metallb.io/v1beta1
  kind: IPAddressPool
  metadata: {name: l2only, namespace: metallb-system}
  spec: {addresses: [192.0.2.0/28]}
- apiVersion: metallb.io/v1beta1
  kind: BGPAdvertisement
  metadata: {name: adv, namespace: metallb-system}
  spec:
    ipAddressPoolSelectors:
    - matchLabels: {adv: bgp}
- apiVersion: metallb.io/v1beta1
  kind: L2Advertisement
  metadata: {name: l2, namespace: metallb-system}
  spec: {ipAddressPools: [l2only]}
- apiVersion: v1
  kind: Secret
  metadata: {name: bgp-auth, namespace: metallb-system}
  type: kubernetes.io/basic-auth
  stringData: {password: SECRET}
""".replace("SECRET", SECRET_VALUE)


def test_crds_from_kubectl_list() -> None:
    text, notes = run_import(CRDS)
    data = yaml.safe_load(text)
    assert data["routers"] == [
        {
            "name": "gw",
            "ssh": {"host": "198.51.100.1"},
            "asn": 65000,
            "router_id": "198.51.100.1",
            "node_selector": {"rack": "r1"},
        }
    ]
    assert data["cluster"]["pools"] == [
        {"name": "web", "addresses": ["203.0.113.0/28"], "auto_assign": False}
    ]
    assert data["bgp"] == {"password": {"env": "ROUTERCTL_BGP_PASSWORD"}, "hold_time": 90}
    assert "Secret bgp-auth" in text
    assert SECRET_VALUE not in text + "".join(notes)
    assert any("pool l2only is not advertised over BGP" in n for n in notes)
    assert any("kubectl -n metallb-system get secret bgp-auth" in n for n in notes)


def test_peers_disagreeing_on_options_are_noted() -> None:
    docs = [
        {
            "apiVersion": "metallb.io/v1beta2",
            "kind": "BGPPeer",
            "metadata": {"name": f"r{i}"},
            "spec": {
                "myASN": 65001,
                "peerASN": 65000,
                "peerAddress": f"198.51.100.{i}",
                "holdTime": hold,
            },
        }
        for i, hold in ((1, "90s"), (2, "3m"))
    ]
    result = import_metallb(docs, source="x")
    assert yaml.safe_load(result.text)["bgp"] == {"hold_time": 90}
    assert any("holdTime differs between peers (r1=90, r2=180)" in n for n in result.notes)


def _peer(name: str, my_asn: object, address: str = "198.51.100.1") -> str:
    return (
        f"apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {{name: {name}}}\n"
        f"spec: {{myASN: {my_asn}, peerASN: 65000, peerAddress: {address}}}\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("peers: [", "in.yaml:1: not valid YAML"),
        ("", "in.yaml: empty file"),
        ("just a string\n", "document 1: expected a YAML mapping"),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
            "kind 'Deployment' is not MetalLB config",
        ),
        ("foo: bar\n", "document 1: no 'kind'"),
        (
            _peer("a", 65001) + "---\n" + _peer("b", 65002),
            "inconsistent cluster ASN: a has myASN 65001, b has myASN 65002",
        ),
        (_peer("a", 65001) + "---\n" + _peer("a", 65001), "two BGPPeers named 'a'"),
        (_peer("a", "x"), "in.yaml:4: BGPPeer a.spec.myASN: expected an ASN"),
        (_peer("a", 65001, "gw.example"), "peerAddress: 'gw.example' is not an IP address"),
        (
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: a}\nspec: {myASN: 1, peerASN: 2}\n",
            "spec.peerAddress: missing",
        ),
        (
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {}\nspec: {}\n",
            "metadata.name: missing",
        ),
        (
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: p}\nspec: {addresses: [x]}\n",
            "no BGP peers",
        ),
        (
            "peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 198.51.100.1}\n---\n" + _peer("a", 1),
            "both a legacy ConfigMap and MetalLB CRDs",
        ),
        (
            "peers:\n- {my-asn: 1, peer-asn: 2, peer-address: 198.51.100.1}\n- {my-asn: 3, peer-asn: 2, peer-address: 198.51.100.2}\n",
            "inconsistent cluster ASN: peer1 has myASN 1, peer2 has myASN 3",
        ),
    ],
)
def test_bad_input_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        run_import(text)
    line = info.value.one_line()
    assert message in line
    assert line.startswith("in.yaml")
    assert "\n" not in line


def test_list_items_must_be_a_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "in.yaml"
    path.write_text("apiVersion: v1\nkind: List\nitems: {a: 1}\n", encoding="utf-8")
    assert main(["metallb", "import", str(path)]) == 2
    assert "items of the List is not a list" in capsys.readouterr().err


def test_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(_peer("gw", 65001)))
    assert main(["metallb", "import", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Topology derived by `routerctl metallb import` from <stdin>.")
    assert yaml.safe_load(out)["routers"][0]["name"] == "gw"
