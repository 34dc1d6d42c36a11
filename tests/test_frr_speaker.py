"""The lab's FRR-mode speaker config (pure) against the shape of MetalLB's own goldens,
and the lab spec's node set (``lab up --speaker``, ``lab node add/remove``)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from routerctl.errors import UsageError
from routerctl.lab.frrspeaker import render_frr_conf
from routerctl.lab.gobgp import speaker_config
from routerctl.lab.spec import LabSpec
from routerctl.render.metallb import render_crds
from routerctl.topology import load_topology

GOLDENS = Path(__file__).resolve().parents[2] / "shared" / "metallb" / "frr-mode-goldens"
SERVICE_IPS = ["203.0.113.30", "203.0.113.31"]


def _conf(tmp_path: Path, *, bgp: str = "", service_ips: list[str] = SERVICE_IPS) -> str:
    topo = tmp_path / "t.yaml"
    topo.write_text(
        f"""\
routers:
  - {{name: rtr, ssh: rtr, asn: 65000, router_id: 198.51.100.2, lan: [198.51.100.0/24]}}
cluster:
  asn: 65001
  nodes: [{{name: node1, address: 198.51.100.5}}]
  pools:
    - {{name: default, addresses: [203.0.113.30-203.0.113.49]}}
{bgp}""",
        encoding="utf-8",
    )
    t = load_topology(topo)
    manifests = render_crds(t, include_secret=t.bgp.password is not None)
    cfg = speaker_config(
        manifests, node_name="node1", node_address="198.51.100.5", service_ips=service_ips
    )
    return render_frr_conf(cfg, hostname="node1", node_address="198.51.100.5")


def _router_block(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("router bgp "))
    return [ln for ln in lines[start:] if ln.strip()]


def test_shape_of_the_goldens(tmp_path: Path) -> None:
    conf = _conf(tmp_path)
    block = _router_block(conf)
    assert block[:4] == [
        "router bgp 65001",
        "  no bgp ebgp-requires-policy",
        "  no bgp network import-check",
        "  no bgp default ipv4-unicast",
    ]
    assert "  bgp router-id 198.51.100.5" in block
    assert "  neighbor 198.51.100.2 remote-as 65000" in block
    assert "  neighbor 198.51.100.2 update-source 198.51.100.5" in block
    # activate per family, per-peer route-maps, one network line per service IP
    af = block.index("  address-family ipv4 unicast")
    assert block[af + 1 : af + 5] == [
        "    neighbor 198.51.100.2 activate",
        "    neighbor 198.51.100.2 route-map 198.51.100.2-in in",
        "    neighbor 198.51.100.2 route-map 198.51.100.2-out out",
        "  exit-address-family",
    ]
    assert [ln for ln in block if ln.startswith("    network ")] == [
        "    network 203.0.113.30/32",
        "    network 203.0.113.31/32",
    ]
    assert "route-map 198.51.100.2-in deny 20" in conf
    assert "ip prefix-list 198.51.100.2-allowed-ipv4 seq 1 permit 203.0.113.30/32" in conf
    assert "ipv6 prefix-list 198.51.100.2-allowed-ipv6 seq 1 deny any" in conf
    assert "hostname node1\n" in conf


@pytest.mark.skipif(not GOLDENS.is_dir(), reason="MetalLB's goldens are not on this machine")
def test_every_line_kind_is_one_the_goldens_use(tmp_path: Path) -> None:
    """Each line of ours, with addresses/numbers/names abstracted, occurs in some golden."""

    def shape(line: str) -> str:
        line = re.sub(r"[0-9a-f:.]+/\d+", "PFX", line)
        line = re.sub(r"\b\d+\.\d+\.\d+\.\d+\b", "IP", line)
        line = re.sub(r"\b\d+:\d+\b", "COMM", line)
        line = re.sub(r"\b\d+\b", "N", line)
        return re.sub(r"hostname \S+", "hostname H", line)

    known = {
        shape(ln)
        for golden in GOLDENS.glob("*.golden")
        for ln in golden.read_text(encoding="utf-8").splitlines()
        if ln.strip()
    }
    conf = _conf(
        tmp_path,
        bgp="bgp:\n  hold_time: 90s\n  connect_retry: 10s\n",
    )
    ours = {shape(ln) for ln in conf.splitlines() if ln.strip()}
    assert ours - known == set()


def test_password_timers_and_connect(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DYN14_PW", "s3cret-pw")
    block = _router_block(
        _conf(tmp_path, bgp="bgp:\n  password: {env: DYN14_PW}\n  hold_time: 90s\n")
    )
    assert "  neighbor 198.51.100.2 timers 30 90" in block
    assert "  neighbor 198.51.100.2 password s3cret-pw" in block
    assert "  neighbor 198.51.100.2 timers connect 5" in block  # the lab's default


def test_no_service_ip_no_network_lines(tmp_path: Path) -> None:
    conf = _conf(tmp_path, service_ips=[])
    assert "    network " not in conf
    assert "ip prefix-list 198.51.100.2-allowed-ipv4 seq 1 deny any" in conf


# ---- the lab spec's node set ------------------------------------------------------------


def test_mixed_alternates_and_added_nodes_balance() -> None:
    spec = LabSpec(name="x", nodes=3, speaker="mixed")
    assert [spec.node_speaker(n) for n in spec.node_names()] == ["gobgp", "frr", "gobgp"]
    spec = spec.with_node_added("worker4")
    assert spec.node_speaker("worker4") == "frr"
    assert spec.node_addr("worker4") == ipaddress.IPv4Address("198.51.100.8")
    spec = spec.with_node_added("worker5")
    assert spec.node_speaker("worker5") == "gobgp"


def test_removed_address_is_reused_and_base_nodes_keep_theirs() -> None:
    spec = LabSpec(name="x", nodes=3).with_node_added("a1").with_node_removed("node2")
    assert spec.node_names() == ["node1", "node3", "a1"]
    assert spec.node_addr("node3") == ipaddress.IPv4Address("198.51.100.7")
    spec = spec.with_node_removed("a1").with_node_added("a2")
    assert spec.node_addr("a2") == ipaddress.IPv4Address("198.51.100.8")
    back = spec.with_node_added("node2")
    assert back.node_addr("node2") == ipaddress.IPv4Address("198.51.100.6")
    again = LabSpec.from_json(back.to_json())
    assert again == back


@pytest.mark.parametrize(
    ("name", "needle"),
    [("lan", "not lan"), ("rtr2", "name routers"), ("node1", "exists already"), ("Bad", "1-12")],
)
def test_bad_names_are_refused(name: str, needle: str) -> None:
    with pytest.raises(UsageError) as err:
        LabSpec(name="x", nodes=2).with_node_added(name)
    assert needle in f"{err.value} {err.value.hint}"


def test_last_node_and_unknown_node() -> None:
    with pytest.raises(UsageError, match="last node"):
        LabSpec(name="x", nodes=1).with_node_removed("node1")
    with pytest.raises(UsageError, match="no node 'zz'"):
        LabSpec(name="x", nodes=2).with_node_removed("zz")


def test_unknown_speaker_kind() -> None:
    with pytest.raises(UsageError, match="unknown speaker"):
        LabSpec(name="x", speaker="bird")
