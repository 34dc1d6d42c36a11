"""The firewall section of the topology, and provision's firewall path on a fake router
(one rule per zone, applied after the BGP config, restored by the rollback)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from routerctl.errors import TopologyError
from routerctl.lab.firewall import render_ruleset
from routerctl.topology import load_topology

BASE = """routers:
  - name: gw
    ssh: {host: 198.51.100.2, user: root}
    asn: 64500
cluster:
  asn: 64501
  nodes:
    - {name: n1, address: 198.51.100.5}
  pools:
    - name: default
      addresses: [203.0.113.0/28]
"""


def load(tmp_path: Path, extra: str) -> object:
    p = tmp_path / "routerctl.yaml"
    p.write_text(BASE + extra, encoding="utf-8")
    return load_topology(p)


def test_firewall_manage_is_read(tmp_path: Path) -> None:
    assert load(tmp_path, "firewall: {manage: true}\n").firewall.manage is True  # type: ignore[attr-defined]
    assert load(tmp_path, "").firewall.manage is False  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("firewall: {manage: yes please}\n", r"routerctl.yaml:12: firewall.manage: "),
        ("firewall: {mange: true}\n", r"routerctl.yaml:12: firewall.mange: unknown key"),
        ("firewall: true\n", r"routerctl.yaml:12: firewall: expected a mapping"),
    ],
)
def test_bad_firewall_section_is_one_line_with_file_and_line(
    tmp_path: Path, extra: str, match: str
) -> None:
    with pytest.raises(TopologyError, match=match) as exc:
        load(tmp_path, extra)
    assert "\n" not in exc.value.one_line() and "manage" in exc.value.one_line()


# -- the lab's fw4 stand-in: uci config -> nftables, in fw4's shape ------------------------

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "preflight"


def _ruleset(firewall: str) -> str:
    return render_ruleset(
        (FIX / firewall).read_text(encoding="utf-8"),
        (FIX / "uci_show_network_wan_eth1.txt").read_text(encoding="utf-8"),
    )


def test_lab_ruleset_has_fw4s_shape() -> None:
    text = _ruleset("uci_show_firewall_wan_reject.txt")
    assert text.startswith("table inet fw4\ndelete table inet fw4\ntable inet fw4 {\n")
    assert '\t\tiifname { "eth1" } jump input_wan comment' in text
    assert '\t\tiifname { "br-lan" } jump input_lan comment' in text
    assert "\tchain reject_from_wan {" in text and "\tchain accept_from_lan {" in text
    assert "meta nfproto ipv4 udp dport { 68 } counter accept" in text
    assert "dport { 179 }" not in text
    assert "Allow-ISAKMP" not in text  # a forward rule (dest lan): not an input rule
    # the zone's own rules come before its verdict
    wan = text.split("\tchain input_wan {\n", 1)[1].split("\t}", 1)[0]
    assert wan.rstrip().endswith("jump reject_from_wan")


def test_lab_ruleset_renders_a_bgp_rule_for_its_sources() -> None:
    text = _ruleset("uci_show_firewall_user_rule.txt")
    assert (
        "meta nfproto ipv4 ip saddr { 198.51.100.0/24 } tcp dport { 179 } counter accept "
        'comment "!fw4: Allow-BGP"'
    ) in text


@pytest.mark.skipif(not Path("/usr/sbin/nft").exists(), reason="nftables is not installed")
def test_lab_ruleset_is_valid_nft(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("nft -c needs root")
    f = tmp_path / "fw4.nft"
    f.write_text(_ruleset("uci_show_firewall_user_rule.txt"))
    proc = subprocess.run(
        ["unshare", "--net", "nft", "-c", "-f", str(f)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
