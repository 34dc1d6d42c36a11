"""Plan: owned-config extraction and diffs against real FRR 8.4 running-config text."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest

from routerctl.errors import RefusedError
from routerctl.plan import compute_plan, compute_restore
from routerctl.redact import redact
from routerctl.render.router import render_router
from routerctl.runningconfig import extract_owned, line_key, parse_stanzas
from routerctl.topology import Node, Topology, load_topology

# `show running-config` of FRR 8.4.4 (Debian 12) with a foreign neighbor, an OSPF
# block and a static route that routerctl must never touch.
FOREIGN = """Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname OpenWrt
service integrated-vtysh-config
!
ip route 192.0.2.128/25 Null0
!
router bgp 65000
 neighbor 192.0.2.77 remote-as 64999
 neighbor 192.0.2.77 description upstream
 !
 address-family ipv4 unicast
  neighbor 192.0.2.77 route-map UPSTREAM-IN in
 exit-address-family
exit
!
router ospf
 network 192.0.2.0/24 area 0
exit
!
end
"""

EMPTY = """Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname OpenWrt
service integrated-vtysh-config
!
end
"""

TOPO = """\
routers:
  - name: rtr
    ssh: {host: rtr}
    asn: 65000
    router_id: 198.51.100.2
cluster:
  asn: 65001
  nodes:
    - {name: node1, address: 198.51.100.5}
    - {name: node2, address: 198.51.100.6}
  pools:
    - name: default
      addresses: [203.0.113.30-203.0.113.49]
bgp:
  password: {env: PLAN_TEST_PW}
  ecmp: 8
"""


@pytest.fixture
def topo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Topology:
    monkeypatch.setenv("PLAN_TEST_PW", "pl4n-s3cret")
    path = tmp_path / "routerctl.yaml"
    path.write_text(TOPO)
    return load_topology(path)


def desired(topo: Topology) -> str:
    return render_router(topo, "rtr", suite="frr").text()


def as_running(config_block: str, *, base: str = EMPTY) -> str:
    """What FRR prints once ``config_block`` is applied to ``base`` (same text form)."""
    return base.replace("!\nend\n", "!\n" + config_block + "end\n")


def test_parse_stanzas_keeps_families_and_drops_markers() -> None:
    st = {s.header: s for s in parse_stanzas(FOREIGN)}
    assert st["router bgp 65000"].lines == [
        "neighbor 192.0.2.77 remote-as 64999",
        "neighbor 192.0.2.77 description upstream",
    ]
    assert st["router bgp 65000"].families == {
        "address-family ipv4 unicast": ["neighbor 192.0.2.77 route-map UPSTREAM-IN in"]
    }
    assert st["router ospf"].lines == ["network 192.0.2.0/24 area 0"]
    assert "end" not in st and "!" not in st


def test_foreign_config_is_not_owned() -> None:
    owned = extract_owned(FOREIGN, asn=65000)
    assert owned.asn == 65000
    assert owned.bgp == () and owned.members == ()
    assert owned.family("address-family ipv4 unicast") == ()
    assert owned.prefix_lists == () and owned.route_maps == ()


def test_line_keys_separate_what_from_value() -> None:
    assert line_key("neighbor ROUTERCTL password x") == "neighbor ROUTERCTL password"
    assert line_key("neighbor ROUTERCTL timers connect 5") == "neighbor ROUTERCTL timers connect"
    assert line_key("neighbor ROUTERCTL route-map A in") == "neighbor ROUTERCTL route-map * in"
    assert line_key("neighbor ROUTERCTL peer-group") == "neighbor ROUTERCTL peer-group"
    assert line_key("neighbor 1.2.3.4 peer-group ROUTERCTL") == "neighbor 1.2.3.4 peer-group"
    assert line_key("bgp router-id 1.1.1.1") == "bgp router-id"
    assert line_key("maximum-paths ibgp 4") == "maximum-paths ibgp"
    assert (
        line_key("ip prefix-list ROUTERCTL-IN-V4 seq 10 permit 203.0.113.0/24 le 32")
        == "ip prefix-list ROUTERCTL-IN-V4 seq 10"
    )


def test_plan_from_scratch_adds_everything_and_leaves_foreign_alone(topo: Topology) -> None:
    plan = compute_plan(router="rtr", asn=65000, running=FOREIGN, desired=desired(topo))
    assert not plan.empty and not plan.creates_bgp
    assert all(c.action == "add" for c in plan.changes)
    script = plan.script
    # order: prefix-lists, route-maps, then router bgp
    assert script[0].startswith("ip prefix-list ROUTERCTL-IN-V4 seq 5 permit 203.0.113.30/31")
    assert script.index("route-map ROUTERCTL-IN permit 10") < script.index("router bgp 65000")
    assert "neighbor ROUTERCTL password pl4n-s3cret" in script
    assert not any("192.0.2.77" in ln or "ospf" in ln or "ip route" in ln for ln in script)
    text = plan.describe()
    assert "pl4n-s3cret" not in text and "neighbor ROUTERCTL password <redacted>" in text
    assert "pl4n-s3cret" not in str(plan.to_json())


def test_in_sync_is_no_changes(topo: Topology) -> None:
    running = as_running(desired(topo))
    plan = compute_plan(router="rtr", asn=65000, running=running, desired=desired(topo))
    assert plan.empty and plan.script == ()
    assert plan.describe().endswith("no changes")


def test_node_removal_removes_exactly_its_neighbor(topo: Topology) -> None:
    running = as_running(desired(topo))
    smaller = replace(topo, cluster=replace(topo.cluster, nodes=topo.cluster.nodes[:1]))
    plan = compute_plan(router="rtr", asn=65000, running=running, desired=desired(smaller))
    assert [(c.action, c.line) for c in plan.changes] == [("remove", "neighbor 198.51.100.6")]
    assert plan.script == ("router bgp 65000", "no neighbor 198.51.100.6", "exit")


def test_node_addition_and_password_change(topo: Topology, monkeypatch: pytest.MonkeyPatch) -> None:
    running = as_running(desired(topo))
    monkeypatch.setenv("PLAN_TEST_PW", "n3w-s3cret")
    node3 = Node(name="node3", address=ipaddress.ip_address("198.51.100.7"))
    bigger = replace(topo, cluster=replace(topo.cluster, nodes=(*topo.cluster.nodes, node3)))
    plan = compute_plan(router="rtr", asn=65000, running=running, desired=desired(bigger))
    got = {(c.action, redact(c.line)) for c in plan.changes}
    assert got == {
        ("change", "neighbor ROUTERCTL password <redacted>"),
        ("add", "neighbor 198.51.100.7 peer-group ROUTERCTL"),
        ("add", "neighbor 198.51.100.7 description node3"),
    }
    assert "neighbor ROUTERCTL password n3w-s3cret" in plan.script
    assert "n3w-s3cret" not in plan.describe() and "pl4n-s3cret" not in plan.describe()


def test_other_asn_is_refused_with_the_reason(topo: Topology) -> None:
    running = FOREIGN.replace("router bgp 65000", "router bgp 64512")
    with pytest.raises(RefusedError, match=r"already runs 'router bgp 64512'.*ASN 65000") as exc:
        compute_plan(router="rtr", asn=65000, running=running, desired=desired(topo))
    assert exc.value.exit_code == 4


def test_missing_router_bgp_is_created(topo: Topology) -> None:
    plan = compute_plan(router="rtr", asn=65000, running=EMPTY, desired=desired(topo), ibgp=True)
    assert plan.creates_bgp
    assert "router bgp 65000 does not exist yet and will be created" in plan.notes
    assert any("iBGP" in n for n in plan.notes)


def test_stale_owned_prefix_list_and_route_map_are_removed(topo: Topology) -> None:
    extra = (
        "ip prefix-list ROUTERCTL-OLD seq 5 permit 10.0.0.0/8 le 32\n!\n"
        "route-map ROUTERCTL-OLD permit 10\n match ip address prefix-list ROUTERCTL-OLD\nexit\n!\n"
        "ip prefix-list MINE seq 5 permit 10.0.0.0/8\n!\n"
    )
    running = as_running(desired(topo) + extra)
    plan = compute_plan(router="rtr", asn=65000, running=running, desired=desired(topo))
    assert plan.script == (
        "no route-map ROUTERCTL-OLD permit 10",
        "no ip prefix-list ROUTERCTL-OLD seq 5 permit 10.0.0.0/8 le 32",
    )


def test_changed_route_map_match_removes_old_before_adding(topo: Topology) -> None:
    running = as_running(desired(topo)).replace(
        " match ip address prefix-list ROUTERCTL-IN-V4", " match ip address prefix-list OLD"
    )
    plan = compute_plan(router="rtr", asn=65000, running=running, desired=desired(topo))
    assert plan.script == (
        "route-map ROUTERCTL-IN permit 10",
        "no match ip address prefix-list OLD",
        "match ip address prefix-list ROUTERCTL-IN-V4",
        "exit",
    )


def test_restore_reverses_a_fresh_apply(topo: Topology) -> None:
    current = FOREIGN.replace(
        " neighbor 192.0.2.77 description upstream\n",
        " neighbor 192.0.2.77 description upstream\n bgp router-id 198.51.100.2\n"
        " neighbor ROUTERCTL peer-group\n neighbor ROUTERCTL remote-as 65001\n"
        " neighbor 198.51.100.5 peer-group ROUTERCTL\n",
    ).replace(
        "  neighbor 192.0.2.77 route-map UPSTREAM-IN in\n",
        "  neighbor 192.0.2.77 route-map UPSTREAM-IN in\n  maximum-paths 8\n",
    )
    restore = compute_restore(router="rtr", asn=65000, current=current, saved=FOREIGN)
    assert restore.script == (
        "router bgp 65000",
        "no neighbor 198.51.100.5",
        "no neighbor ROUTERCTL peer-group",
        "no bgp router-id 198.51.100.2",
        "address-family ipv4 unicast",
        "no maximum-paths 8",
        "exit-address-family",
        "exit",
    )


def test_restore_removes_router_bgp_that_routerctl_created(topo: Topology) -> None:
    current = as_running(desired(topo))
    restore = compute_restore(router="rtr", asn=65000, current=current, saved=EMPTY)
    assert "no router bgp 65000" in restore.script
    assert "router bgp 65000" not in restore.script


def test_restore_between_two_configs_without_bgp_is_empty() -> None:
    with_pl = EMPTY.replace(
        "!\nend\n", "!\nip prefix-list ROUTERCTL-X seq 5 permit 10.0.0.0/8\n!\nend\n"
    )
    restore = compute_restore(router="rtr", asn=65000, current=with_pl, saved=EMPTY)
    assert restore.script == ("no ip prefix-list ROUTERCTL-X seq 5 permit 10.0.0.0/8",)
    assert compute_restore(router="rtr", asn=65000, current=EMPTY, saved=EMPTY).empty


# What FRR 10.3 (Debian 13) prints after applying the desired config with graceful-restart:
# prefix-lists and route-maps before router bgp, and the group's graceful-restart repeated
# under every member (inherited, not set on the member; FRR 8.4 prints only the group's).
FRR10_GR_RUNNING = """\
Building configuration...

Current configuration:
!
frr version 10.3
frr defaults traditional
hostname vm
no ip forwarding
no ipv6 forwarding
!
ip prefix-list ROUTERCTL-IN-V4 seq 5 permit 203.0.113.30/31 le 32
ip prefix-list ROUTERCTL-IN-V4 seq 10 permit 203.0.113.32/28 le 32
ip prefix-list ROUTERCTL-IN-V4 seq 15 permit 203.0.113.48/31 le 32
!
route-map ROUTERCTL-IN permit 10
 match ip address prefix-list ROUTERCTL-IN-V4
exit
!
route-map ROUTERCTL-OUT deny 10
exit
!
router bgp 65000
 bgp router-id 198.51.100.2
 neighbor ROUTERCTL peer-group
 neighbor ROUTERCTL remote-as 65001
 neighbor ROUTERCTL password pl4n-s3cret
 neighbor ROUTERCTL graceful-restart
 neighbor 198.51.100.5 peer-group ROUTERCTL
 neighbor 198.51.100.5 description node1
 neighbor 198.51.100.5 graceful-restart
 neighbor 198.51.100.6 peer-group ROUTERCTL
 neighbor 198.51.100.6 description node2
 neighbor 198.51.100.6 graceful-restart
 !
 address-family ipv4 unicast
  neighbor ROUTERCTL route-map ROUTERCTL-IN in
  neighbor ROUTERCTL route-map ROUTERCTL-OUT out
  maximum-paths 8
 exit-address-family
exit
!
end
"""


def test_frr10_order_and_inherited_member_flags_are_in_sync(topo: Topology) -> None:
    gr = replace(topo, bgp=replace(topo.bgp, graceful_restart=True))
    want = desired(gr)
    assert " neighbor ROUTERCTL graceful-restart" in want.splitlines()
    assert " neighbor 198.51.100.5 graceful-restart" not in want.splitlines()
    plan = compute_plan(router="rtr", asn=65000, running=FRR10_GR_RUNNING, desired=want)
    assert plan.empty and plan.script == (), plan.describe()
    # without graceful-restart desired, the group's line goes; the members' echoes with it
    plan = compute_plan(router="rtr", asn=65000, running=FRR10_GR_RUNNING, desired=desired(topo))
    assert [(c.action, c.line) for c in plan.changes] == [
        ("remove", "neighbor ROUTERCTL graceful-restart")
    ]
    # a member's own setting that differs from the group's still counts
    own = FRR10_GR_RUNNING.replace(
        " neighbor 198.51.100.6 graceful-restart\n",
        " neighbor 198.51.100.6 graceful-restart-disable\n",
    )
    plan = compute_plan(router="rtr", asn=65000, running=own, desired=want)
    assert [(c.action, c.line) for c in plan.changes] == [
        ("remove", "neighbor 198.51.100.6 graceful-restart-disable")
    ]
