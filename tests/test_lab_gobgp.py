"""The lab's MetalLB -> GoBGP conversion and its spec (pure; no root needed)."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from routerctl.errors import LabError, UsageError
from routerctl.lab.gobgp import duration_seconds, render_toml, rib_add_args, speaker_config
from routerctl.lab.spec import LabSpec, node_address, router_address
from routerctl.render.metallb import render_crds

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

SERVICES = ["203.0.113.30", "203.0.113.31", "192.0.2.99"]


def _peer(name: str, address: str, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "metallb.io/v1beta2",
        "kind": "BGPPeer",
        "metadata": {"name": name, "namespace": "metallb-system"},
        "spec": {"myASN": 65001, "peerASN": 65000, "peerAddress": address, **spec},
    }


POOL = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "IPAddressPool",
    "metadata": {"name": "default", "namespace": "metallb-system"},
    "spec": {"addresses": ["203.0.113.30-203.0.113.49"]},
}
ADV = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "BGPAdvertisement",
    "metadata": {"name": "default", "namespace": "metallb-system"},
    "spec": {"ipAddressPools": ["default"]},
}


def test_hand_made_manifests_give_peers_timers_and_service_prefixes() -> None:
    manifests = [
        _peer("rtr", "198.51.100.2", holdTime="1m30s", keepaliveTime="30s", connectTime="5s"),
        POOL,
        ADV,
    ]
    cfg = speaker_config(
        manifests, node_name="node1", node_address="198.51.100.5", service_ips=SERVICES
    )
    assert cfg.asn == 65001
    assert cfg.router_id == "198.51.100.5"
    assert [
        (n.address, n.peer_as, n.hold_time, n.keepalive, n.connect_retry) for n in cfg.neighbors
    ] == [("198.51.100.2", 65000, 90, 30, 5)]
    # 192.0.2.99 is in no advertised pool: not announced
    assert [a.prefix for a in cfg.announcements] == ["203.0.113.30/32", "203.0.113.31/32"]


def test_node_selectors_limit_peers_and_advertisements() -> None:
    only_node2 = [{"matchLabels": {"kubernetes.io/hostname": "node2"}}]
    manifests = [
        _peer("a", "198.51.100.2"),
        _peer("b", "198.51.100.3", nodeSelectors=only_node2),
        POOL,
        {**ADV, "spec": {"ipAddressPools": ["default"], "nodeSelectors": only_node2}},
    ]
    n1 = speaker_config(manifests, node_name="node1", node_address="x", service_ips=SERVICES)
    n2 = speaker_config(manifests, node_name="node2", node_address="y", service_ips=SERVICES)
    assert [n.address for n in n1.neighbors] == ["198.51.100.2"]
    assert n1.announcements == ()
    assert [n.address for n in n2.neighbors] == ["198.51.100.2", "198.51.100.3"]
    assert len(n2.announcements) == 2


def test_password_from_secret_and_fallback() -> None:
    ref = {"name": "routerctl-bgp-password", "namespace": "metallb-system"}
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "routerctl-bgp-password", "namespace": "metallb-system"},
        "type": "kubernetes.io/basic-auth",
        "data": {"password": base64.b64encode(b's3cr"et').decode()},
    }
    peer = _peer("rtr", "198.51.100.2", passwordSecret=ref)
    cfg = speaker_config([peer, secret], node_name="n", node_address="a", service_ips=[])
    assert cfg.neighbors[0].password == 's3cr"et'
    cfg = speaker_config([peer], node_name="n", node_address="a", service_ips=[], password="pw")
    assert cfg.neighbors[0].password == "pw"
    with pytest.raises(LabError, match="passwordSecret routerctl-bgp-password not found"):
        speaker_config([peer], node_name="n", node_address="a", service_ips=[])


def test_toml_is_valid_and_carries_every_value() -> None:
    manifests = [_peer("rtr", "198.51.100.2", password='p"w\\x', holdTime="9s"), POOL, ADV]
    cfg = speaker_config(
        manifests, node_name="node1", node_address="198.51.100.5", service_ips=SERVICES
    )
    doc = tomllib.loads(render_toml(cfg, listen="198.51.100.5"))
    assert doc["global"]["config"] == {
        "as": 65001,
        "router-id": "198.51.100.5",
        "port": 179,
        "local-address-list": ["198.51.100.5"],
    }
    n = doc["neighbors"][0]
    assert n["config"] == {
        "neighbor-address": "198.51.100.2",
        "peer-as": 65000,
        "auth-password": 'p"w\\x',
    }
    assert n["timers"]["config"] == {"connect-retry": 5, "hold-time": 9}
    assert n["afi-safis"][0]["config"]["afi-safi-name"] == "ipv4-unicast"
    assert rib_add_args(cfg.announcements[0]) == [
        "-a", "ipv4", "add", "203.0.113.30/32", "origin", "igp",
    ]  # fmt: skip


def test_bad_manifests_are_one_line_lab_errors() -> None:
    with pytest.raises(LabError, match="needs myASN, peerASN and peerAddress"):
        speaker_config(
            [{"kind": "BGPPeer", "spec": {}}], node_name="n", node_address="a", service_ips=[]
        )
    with pytest.raises(LabError, match="bad duration '5 minutes'"):
        duration_seconds("5 minutes", where="BGPPeer x.holdTime")
    assert duration_seconds("1h2m3s", where="x") == 3723


def test_the_lab_topology_renders_to_manifests_the_converter_reads() -> None:
    spec = LabSpec(name="unit", nodes=3)
    manifests = render_crds(spec.topology())
    cfg = speaker_config(
        manifests, node_name="node3", node_address="198.51.100.7", service_ips=SERVICES
    )
    assert [(n.address, n.peer_as, n.local_as) for n in cfg.neighbors] == [
        ("198.51.100.2", 65000, 65001)
    ]
    assert [a.prefix for a in cfg.announcements] == ["203.0.113.30/32", "203.0.113.31/32"]


def test_spec_addresses_and_names() -> None:
    assert [str(router_address(i)) for i in (1, 2, 3, 4, 8)] == [
        "198.51.100.2",
        "198.51.100.3",
        "198.51.100.4",
        "198.51.100.200",
        "198.51.100.204",
    ]
    assert [str(node_address(i)) for i in (1, 2)] == ["198.51.100.5", "198.51.100.6"]
    spec = LabSpec(name="x1", routers=2, nodes=2)
    assert spec.all_netns() == [
        "x1-lan",
        "x1-rtr1",
        "x1-rtr2",
        "x1-node1",
        "x1-node2",
        "x1-client",
        "x1-feed",  # every lab's router installs its suite from the lab's feed
    ]
    # --suite quagga is the OpenWrt 21.02 router (the only real Quagga)
    quagga = LabSpec(name="x1", suite="quagga")
    assert (quagga.openwrt, quagga.release, quagga.feed_suite) == ("21.02", "21.02.7", "quagga")
    assert (spec.openwrt, spec.release, spec.feed_suite) == (None, "23.05.5", "apt-frr")
    doc = spec.topology_document()
    assert [r["ssh"]["host"] for r in doc["routers"]] == ["rtr1", "rtr2"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "Bad-Name"}, "bad lab name"),
        ({"name": "waytoolongname1"}, "bad lab name"),
        ({"nodes": 0}, "--nodes 0 is out of range"),
        ({"routers": 9}, "--routers 9 is out of range"),
        ({"suite": "bird"}, "unknown suite"),
        ({"suite": "quagga", "pkg": "apk"}, "does not exist"),
        ({"overlay_free_kb": 10}, "too small"),
    ],
)
def test_bad_spec_is_a_usage_error(fields: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        LabSpec(**fields)  # type: ignore[arg-type]


def test_router_scripts_are_posix_sh_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (scripts/setup installs it)")
    files = Path(__file__).resolve().parent.parent / "routerctl/lab/files"
    assert sorted(p.name for p in files.iterdir() if p.is_file()) == []  # no stand-ins left
    # every router's: boot, rc.common + procd stand-in, init scripts
    scripts = sorted(str(p) for p in (files / "openwrt").iterdir() if p.suffix != ".py")
    assert len(scripts) == 5
    proc = subprocess.run(
        ["shellcheck", "-s", "sh", *scripts], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout
