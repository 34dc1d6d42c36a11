"""`render metallb`: CRDs and the legacy ConfigMap from the topology (golden files)."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from routerctl.cli import main
from routerctl.errors import TopologyError, UsageError
from routerctl.metallb.convert import convert_legacy, legacy_config
from routerctl.metallb.yamlio import load_text
from routerctl.render.metallb import peer_address, render_configmap, render_crds, to_yaml
from routerctl.topology import Topology, load_topology

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "metallb"
UPDATE = os.environ.get("ROUTERCTL_UPDATE_GOLDEN") == "1"
PASSWORD = "canary-Pa55-do-not-leak"

SEED_LIKE = """\
routers:
  - name: openwrt
    ssh: {host: %(host)s, user: root}
    asn: 65000
%(extra)s
cluster:
  asn: 65001
  nodes:
    - {name: n1, address: 198.51.100.5}
  pools:
    - {name: default, addresses: [203.0.113.0/28]}
"""


def topo(tmp_path: Path, host: str = "198.51.100.1", extra: str = "") -> Topology:
    path = tmp_path / "routerctl.yaml"
    path.write_text(SEED_LIKE % {"host": host, "extra": extra}, encoding="utf-8")
    return load_topology(path)


CASES = [
    # (golden, topology, args, env)
    ("seed.crds.yaml", "examples/seed.yaml", [], {}),
    ("seed.configmap.yaml", "examples/seed.yaml", ["-f", "configmap", "--include-secret"], {}),
    ("full.crds.yaml", "tests/golden/metallb/full.topology.yaml", ["--include-secret"], {}),
    (
        "full.configmap.yaml",
        "tests/golden/metallb/full.topology.yaml",
        ["-f", "configmap", "--include-secret"],
        {},
    ),
    (
        "full.openwrt.crds.yaml",
        "tests/golden/metallb/full.topology.yaml",
        ["--router", "openwrt"],
        {},
    ),
    ("ipv6.crds.yaml", "tests/golden/metallb/ipv6.topology.yaml", [], {}),
    ("ipv6.configmap.yaml", "tests/golden/metallb/ipv6.topology.yaml", ["-f", "configmap"], {}),
]


@pytest.mark.parametrize(("golden", "topology", "args", "env"), CASES, ids=[c[0] for c in CASES])
def test_cli_output_matches_golden(
    golden: str,
    topology: str,
    args: list[str],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "seed-test-password")
    assert main(["render", "metallb", "-t", topology, *args]) == 0
    out = capsys.readouterr().out
    if UPDATE:
        (GOLDEN / golden).write_text(out, encoding="utf-8")
    assert out == (GOLDEN / golden).read_text(encoding="utf-8")


def test_seed_crds_values() -> None:
    docs = render_crds(load_topology(REPO / "examples/seed.yaml"))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("BGPPeer", "openwrt"),
        ("IPAddressPool", "default"),
        ("BGPAdvertisement", "routerctl"),
    ]
    peer, pool, adv = (d["spec"] for d in docs)
    assert peer == {
        "myASN": 65001,
        "peerASN": 65000,
        "peerAddress": "192.168.1.2",
        "passwordSecret": {"name": "routerctl-bgp-password", "namespace": "metallb-system"},
    }
    assert pool == {"addresses": ["192.168.0.30-192.168.0.49"], "autoAssign": True}
    assert adv == {
        "ipAddressPools": ["default"],
        "aggregationLength": 32,
        "aggregationLengthV6": 128,
    }
    assert all(d["metadata"]["namespace"] == "metallb-system" for d in docs)


def test_secret_only_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", PASSWORD)
    topology = load_topology(REPO / "examples/seed.yaml")
    without = render_crds(topology)
    assert "Secret" not in {d["kind"] for d in without}
    assert PASSWORD not in to_yaml(without)
    assert base64.b64encode(PASSWORD.encode()).decode() not in to_yaml(without)
    secret = render_crds(topology, include_secret=True)[0]
    assert secret["kind"] == "Secret"
    assert secret["type"] == "kubernetes.io/basic-auth"
    assert secret["metadata"]["name"] == "routerctl-bgp-password"
    assert base64.b64decode(secret["data"]["password"]).decode() == PASSWORD


def test_configmap_needs_explicit_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", PASSWORD)
    topology = load_topology(REPO / "examples/seed.yaml")
    with pytest.raises(UsageError) as info:
        render_configmap(topology)
    assert "pass --include-secret" in info.value.one_line()
    assert PASSWORD not in info.value.one_line()
    config = load_text(
        render_configmap(topology, include_secret=True)["data"]["config"], source="x"
    )
    assert config[0]["peers"][0]["password"] == PASSWORD


def test_unset_password_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTERCTL_BGP_PASSWORD", raising=False)
    topology = load_topology(REPO / "examples/seed.yaml")
    with pytest.raises(TopologyError, match="ROUTERCTL_BGP_PASSWORD is not set"):
        render_crds(topology, include_secret=True)


def test_no_password_no_secret_reference(tmp_path: Path) -> None:
    docs = render_crds(topo(tmp_path))
    assert "passwordSecret" not in docs[0]["spec"]
    with pytest.raises(UsageError, match="sets no BGP password"):
        render_crds(topo(tmp_path), include_secret=True)


@pytest.mark.parametrize(
    ("host", "extra", "address"),
    [
        ("198.51.100.1", "", "198.51.100.1"),  # ssh host when there is no router_id
        ("gw.example", "    router_id: 198.51.100.9", "198.51.100.9"),  # router_id first
        ("198.51.100.1", "    router_id: 192.0.2.1", "192.0.2.1"),  # no lan: trust router_id
        # the router_id is a loopback outside the LAN: the LAN address from ssh.host wins
        ("198.51.100.1", "    router_id: 192.0.2.1\n    lan: 198.51.100.0/24", "198.51.100.1"),
    ],
)
def test_peer_address(tmp_path: Path, host: str, extra: str, address: str) -> None:
    assert str(peer_address(topo(tmp_path, host, extra).routers[0])) == address


@pytest.mark.parametrize(
    ("host", "extra", "message"),
    [
        ("gw.example", "", "the address MetalLB should peer with is unknown"),
        (
            "gw.example",
            "    router_id: 192.0.2.1\n    lan: 198.51.100.0/24",
            "192.0.2.1 is not inside the router's lan (198.51.100.0/24)",
        ),
    ],
)
def test_peer_address_unknown(tmp_path: Path, host: str, extra: str, message: str) -> None:
    with pytest.raises(TopologyError) as info:
        render_crds(topo(tmp_path, host, extra))
    assert message in info.value.one_line()
    assert "routers[openwrt].router_id" in info.value.one_line()


def test_router_option_selects_one_peer() -> None:
    topology = load_topology(GOLDEN / "full.topology.yaml")
    names = [d["metadata"]["name"] for d in render_crds(topology) if d["kind"] == "BGPPeer"]
    assert names == ["openwrt", "edge-2"]
    one = [d for d in render_crds(topology, router="Edge_2") if d["kind"] == "BGPPeer"]
    assert [d["spec"]["peerASN"] for d in one] == [65002]
    with pytest.raises(TopologyError, match="no router named 'nope'"):
        render_crds(topology, router="nope")


def _peer_view(spec: dict[str, Any]) -> dict[str, Any]:
    keys = ("myASN", "peerASN", "peerAddress", "holdTime", "keepaliveTime", "ebgpMultiHop")
    return {k: spec.get(k) for k in (*keys, "bfdProfile", "nodeSelectors")}


@pytest.mark.parametrize(
    "topology", ["examples/seed.yaml", *(p.name for p in GOLDEN.glob("*.topology.yaml"))]
)
def test_configmap_and_crds_agree(topology: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The legacy ConfigMap, converted the way MetalLB converts it, says what the CRDs say."""
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", PASSWORD)
    path = REPO / topology if "/" in topology else GOLDEN / topology
    t = load_topology(path)
    crds = render_crds(t)
    cm = render_configmap(t, include_secret=True)
    config, namespace = legacy_config([cm], source="cm")
    converted = convert_legacy(config, namespace=namespace).docs

    def of(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
        return [d["spec"] for d in docs if d["kind"] == kind]

    want_peers = [_peer_view(s) for s in of(crds, "BGPPeer")]
    for s in want_peers:
        s["holdTime"] = s["holdTime"] or "1m30s"  # MetalLB's default when unset
    assert [_peer_view(s) for s in of(converted, "BGPPeer")] == want_peers
    assert of(converted, "IPAddressPool") == of(crds, "IPAddressPool")
    assert [s.get("password") for s in of(converted, "BGPPeer")] == [
        t.bgp.password.resolve() if t.bgp.password else None for _ in t.routers
    ]
    pools = sorted(p for adv in of(converted, "BGPAdvertisement") for p in adv["ipAddressPools"])
    assert pools == sorted(p for adv in of(crds, "BGPAdvertisement") for p in adv["ipAddressPools"])


def test_pools_of_the_other_family_ride_the_session(tmp_path: Path) -> None:
    """An IPv6 pool over an IPv4 session needs MetalLB's dualStackAddressFamily."""
    path = tmp_path / "routerctl.yaml"
    path.write_text(
        (SEED_LIKE % {"host": "198.51.100.1", "extra": ""}).replace(
            "addresses: [203.0.113.0/28]", 'addresses: [203.0.113.0/28, "2001:db8:ff::/120"]'
        ),
        encoding="utf-8",
    )
    peer = render_crds(load_topology(path))[0]["spec"]
    assert peer["dualStackAddressFamily"] is True
    assert "dualStackAddressFamily" not in render_crds(topo(tmp_path))[0]["spec"]
