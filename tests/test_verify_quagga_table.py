"""Quagga: a node's accepted prefixes are judged by Quagga's BGP table, not by zebra's
routes. With the seed's hand configuration (no maximum-paths: Quagga's default 1) zebra
gets the best path only, so node2's prefixes were missing from ``show ip route`` and
verify said "foreign prefixes node2: 2 accepted, only 0 inside the pools" (CRITICAL)
although 203.0.113.30/31 are inside the pool. The single next hop where ECMP was expected
is its own finding (a warning on the service's route).

The state script's output is recorded from the lab's OpenWrt 21.02.7 router (real Quagga
1.2.4, ``routerctl lab up --openwrt 21.02 --configure``; marker fixed at recording)."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from routerctl.checks import Severity, verify_router
from routerctl.cli import main
from routerctl.cluster import from_topology
from routerctl.model import PoolPath
from routerctl.ops import gather as ops_gather
from routerctl.parsing import parse_bgp_table
from routerctl.topology import load_topology

HERE = Path(__file__).resolve().parent
RECORDED = HERE / "fixtures" / "gather" / "quagga124_seed_maximum_paths_1.out"
MARKER = "@@ROUTERCTL-0123456789ab"
N1, N2 = ip_address("198.51.100.5"), ip_address("198.51.100.6")

# the lab's topology (routerctl lab up --openwrt 21.02), its SSH part left out
TOPOLOGY = """\
routers:
- name: rtr
  ssh: {host: 198.51.100.2}
  asn: 65000
  router_id: 198.51.100.2
  lan: [198.51.100.0/24]
cluster:
  asn: 65001
  nodes:
  - {name: node1, address: 198.51.100.5}
  - {name: node2, address: 198.51.100.6}
  pools:
  - {name: default, addresses: [203.0.113.30-203.0.113.49]}
services:
- {name: default/nginx-lb, address: 203.0.113.30, port: 8080}
- {name: default/nginx2-lb, address: 203.0.113.31, port: 8080}
"""


def _topology(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "routerctl.yaml"
    path.write_text(TOPOLOGY)
    return load_topology(path)


def test_the_script_reads_quaggas_bgp_table_in_the_same_vtysh(tmp_path: Path) -> None:
    t = _topology(tmp_path)
    script = ops_gather.build_script(t, t.routers[0], MARKER)
    quagga = script.split('if [ "$S" = quagga ]; then', 1)[1].split("\nfi", 1)[0]
    assert quagga.count("vtysh ") == 1  # still one vtysh start, one exec
    assert (
        "-c 'show ip route 203.0.113.30/31 longer-prefixes' "
        "-c 'show ip bgp 203.0.113.30/31 longer-prefixes'"
    ) in quagga


def test_seed_quagga_node2_is_not_foreign_and_no_ecmp_is_its_own_finding(
    tmp_path: Path,
) -> None:
    t = _topology(tmp_path)
    r = t.routers[0]
    st = ops_gather.parse_state(RECORDED.read_text(), MARKER, topology=t, router=r, addresses=[])
    assert st.suite == "quagga" and st.version == "Quagga 1.2.4 ()."
    # zebra: node1's path only (maximum-paths 1)
    assert {nh.address for route in st.routes for nh in route.nexthops} == {N1}
    # the BGP table: both nodes' paths
    assert st.pool_paths is not None
    assert sorted((str(p.prefix), str(p.peer), p.best) for p in st.pool_paths) == [
        ("203.0.113.30/32", "198.51.100.5", True),
        ("203.0.113.30/32", "198.51.100.6", False),
        ("203.0.113.31/32", "198.51.100.5", True),
        ("203.0.113.31/32", "198.51.100.6", False),
    ]
    res = {x.name: x for x in verify_router(t, r, st, from_topology(t))}
    assert not [n for n in res if n.startswith("foreign prefixes")], res.keys()
    assert res["prefixes node2"].ok and res["prefixes node2"].observed == "2 received"
    route = res["route default/nginx-lb 203.0.113.30"]
    assert route.severity is Severity.WARNING
    assert route.observed == (
        "203.0.113.30/32 via node1 (198.51.100.5); node2 (198.51.100.6) announces it too, "
        "but the router uses only the best path"
    )
    assert "set maximum-paths 2" in route.hint
    assert [x.name for x in res.values() if not x.ok] == [
        "route default/nginx-lb 203.0.113.30",
        "route default/nginx2-lb 203.0.113.31",
    ]


def test_foreign_prefixes_still_found_from_quaggas_table(tmp_path: Path) -> None:
    """A prefix outside the pools is not in the pools' table: still foreign."""
    t = _topology(tmp_path)
    r = t.routers[0]
    text = RECORDED.read_text()
    # node2 announced a third prefix, one outside the pools (PfxRcd 3, table unchanged)
    text = text.replace(
        "198.51.100.6    4 65001       2       5        0    0    0 00:00:05        2",
        "198.51.100.6    4 65001       2       5        0    0    0 00:00:05        3",
    )
    st = ops_gather.parse_state(text, MARKER, topology=t, router=r, addresses=[])
    res = {x.name: x for x in verify_router(t, r, st, from_topology(t))}
    assert res["foreign prefixes node2"].severity is Severity.CRITICAL
    assert res["foreign prefixes node2"].observed == "3 accepted, only 2 inside the pools"
    assert "foreign prefixes node1" not in res


def test_quagga_table_wrapped_ipv6_lines() -> None:
    """Quagga's route_vty_out: a network of 17+ characters ends its line (the next hop
    follows indented 20), a next hop of 16+ characters too (the rest indented 36)."""
    out = (
        "BGP table version is 0, local router ID is 198.51.100.2\n"
        "   Network          Next Hop            Metric LocPrf Weight Path\n"
        "*> 2001:db8:1::10/128\n"
        "                    2001:db8::5                            0 65001 i\n"
        "*= 2001:db8:1::11/128\n"
        "                    2001:db8:ffff::6\n"
        "                                                           0 65001 i\n"
        "*  203.0.113.30/32  198.51.100.6             0             0 65001 {65002,65003} ?\n"
        "Total number of prefixes 3\n"
    )
    assert parse_bgp_table(out, suite="quagga", command="show bgp ipv6") == [
        PoolPath(ip_network("2001:db8:1::10/128"), ip_address("2001:db8::5"), best=True),
        PoolPath(ip_network("2001:db8:1::11/128"), ip_address("2001:db8:ffff::6"), multipath=True),
        PoolPath(ip_network("203.0.113.30/32"), ip_address("198.51.100.6")),
    ]
    assert parse_bgp_table("No BGP process is configured\n", suite="quagga") == []
    assert parse_bgp_table("", suite="quagga") == []


def test_parse_cli_prints_the_bgp_table(capsys: pytest.CaptureFixture[str]) -> None:
    raw = HERE.parent / "fixtures/quagga/show_ip_bgp/quagga124_maximum_paths_2_longer_prefixes.raw"
    assert main(["parse", str(raw)]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if "203.0.113." in ln]
    assert [ln.split("│")[1:5] for ln in rows][:2] == [
        [" 203.0.113.30/32 ", " 198.51.100.6 ", " yes  ", " yes       "],
        [" 203.0.113.30/32 ", " 198.51.100.5 ", "      ", " yes       "],
    ]
