"""Dynamic neighbors (``bgp listen range``): topology, render, plan, verify -- pure parts.

The running configs below are what FRR 8.4.4 (Debian) printed in the lab after routerctl
applied the rendered block; FRR 10.4.1 prints the same lines in the same order
(``bgp_config_write_listen``: after the neighbors, limit before the ranges).
"""

from __future__ import annotations

import ipaddress
import shutil
import textwrap
from pathlib import Path

import pytest

from routerctl.checks import Severity, check_dynamic, check_session, verify_router
from routerctl.cluster import from_topology
from routerctl.errors import TopologyError
from routerctl.model import BgpNeighbor, BgpSummary, RouterState, SessionState
from routerctl.parsing import parse_bgp_summary
from routerctl.plan import compute_plan, compute_restore
from routerctl.render.router import render_router
from routerctl.topology import Topology, load_topology

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "frr"

BASE = """\
routers:
  - name: rtr
    ssh: rtr
    asn: 65000
    lan: [198.51.100.0/24]
{dynamic}cluster:
  asn: 65001
  nodes:
    - {{name: node1, address: 198.51.100.5}}
    - {{name: node2, address: 198.51.100.6}}
{extra}  pools:
    - {{name: default, addresses: [203.0.113.30-203.0.113.49]}}
"""

DYN = "    dynamic_neighbors: {listen_range: 198.51.100.0/24, limit: 20}\n"

# FRR 8.4.4, `show running-config` after the first provision (lab, this topology)
RUNNING_FRR84 = """\
frr version 8.4.4
frr defaults traditional
hostname rtr
!
router bgp 65000
 neighbor ROUTERCTL peer-group
 neighbor ROUTERCTL remote-as 65001
 bgp listen limit 20
 bgp listen range 198.51.100.0/24 peer-group ROUTERCTL
 !
 address-family ipv4 unicast
  neighbor ROUTERCTL route-map ROUTERCTL-IN in
  neighbor ROUTERCTL route-map ROUTERCTL-OUT out
  maximum-paths 8
 exit-address-family
exit
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
end
"""

# FRR 10.4.1 (OpenWrt 25.12 lab router, apk), `show running-config` after the first provision
# of the lab's topology (router_id 198.51.100.2) with the same dynamic_neighbors
RUNNING_FRR1041 = """\
Building configuration...

Current configuration:
!
frr version 10.4.1
frr defaults traditional
hostname OpenWrt
log syslog
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
password zebra
!
router bgp 65000
 bgp router-id 198.51.100.2
 neighbor ROUTERCTL peer-group
 neighbor ROUTERCTL remote-as 65001
 bgp listen limit 20
 bgp listen range 198.51.100.0/24 peer-group ROUTERCTL
 !
 address-family ipv4 unicast
  neighbor ROUTERCTL route-map ROUTERCTL-IN in
  neighbor ROUTERCTL route-map ROUTERCTL-OUT out
  maximum-paths 8
 exit-address-family
exit
!
access-list vty seq 5 permit 127.0.0.0/8
access-list vty seq 10 deny any
!
line vty
 access-class vty
exit
!
end
"""


def write(tmp_path: Path, *, dynamic: str = DYN, extra: str = "", name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(BASE.format(dynamic=dynamic, extra=extra), encoding="utf-8")
    return path


def topo(tmp_path: Path, **kw: str) -> Topology:
    return load_topology(write(tmp_path, **kw))


def desired(t: Topology, suite: str = "frr") -> str:
    return render_router(t, suite=suite).text()


# ---- topology ---------------------------------------------------------------------------


def test_option_is_read(tmp_path: Path) -> None:
    dyn = topo(tmp_path).routers[0].dynamic_neighbors
    assert dyn is not None
    assert dyn.listen_range == ipaddress.ip_network("198.51.100.0/24")
    assert dyn.limit == 20
    assert dyn.covers(ipaddress.ip_address("198.51.100.77"))
    assert not dyn.covers(ipaddress.ip_address("192.0.2.1"))


@pytest.mark.parametrize(
    ("dynamic", "line", "needle"),
    [
        ("    dynamic_neighbors: {listen_range: 192.0.2.0/24}\n", 6, "outside the router's LAN"),
        ("    dynamic_neighbors: {listen_range: 198.51.100.1/24}\n", 6, "host bits set"),
        ("    dynamic_neighbors: {listen_range: nope}\n", 6, "is not a prefix"),
        ("    dynamic_neighbors: {listen_range: 0.0.0.0/0}\n", 6, "any address"),
        ("    dynamic_neighbors: {listen_range: [198.51.100.0/24]}\n", 6, "got a list"),
        ("    dynamic_neighbors: {limit: 5}\n", 6, "required key is missing"),
        (
            "    dynamic_neighbors: {listen_range: 198.51.100.0/24, limit: 0}\n",
            6,
            "out of range",
        ),
        (
            "    dynamic_neighbors: {listen_range: 198.51.100.0/24, limit: 70000}\n",
            6,
            "out of range",
        ),
        (
            "    dynamic_neighbors: {listen_range: 198.51.100.0/24, limt: 5}\n",
            6,
            "did you mean 'limit'",
        ),
        (
            "    suite: quagga\n    dynamic_neighbors: {listen_range: 198.51.100.0/24}\n",
            7,
            "quagga has no 'bgp listen range'",
        ),
    ],
)
def test_bad_option_is_one_line_with_file_and_line(
    tmp_path: Path, dynamic: str, line: int, needle: str
) -> None:
    path = write(tmp_path, dynamic=dynamic)
    with pytest.raises(TopologyError) as err:
        load_topology(path)
    text = f"{err.value} ({err.value.hint})"
    assert "\n" not in text
    assert needle in text
    assert f"{path}:{line}:" in text


def test_listen_range_overlapping_a_pool_is_refused(tmp_path: Path) -> None:
    text = BASE.format(dynamic="", extra="").replace(
        "    lan: [198.51.100.0/24]\n",
        "    dynamic_neighbors: {listen_range: 203.0.113.0/24}\n",
    )
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TopologyError, match=r"t\.yaml:5: .*overlaps '203\.0\.113\.30-"):
        load_topology(path)


# ---- render -------------------------------------------------------------------------------


def test_render_matches_what_frr_prints(tmp_path: Path) -> None:
    block = desired(topo(tmp_path))
    bgp = block.split("!\nip prefix-list")[0]
    assert bgp == textwrap.dedent(
        """\
        router bgp 65000
         neighbor ROUTERCTL peer-group
         neighbor ROUTERCTL remote-as 65001
         bgp listen limit 20
         bgp listen range 198.51.100.0/24 peer-group ROUTERCTL
         !
         address-family ipv4 unicast
          neighbor ROUTERCTL route-map ROUTERCTL-IN in
          neighbor ROUTERCTL route-map ROUTERCTL-OUT out
          maximum-paths 8
         exit-address-family
        exit
        """
    )
    assert block in RUNNING_FRR84.replace("frr version 8.4.4\nfrr defaults traditional\n", "")


def test_default_limit_is_not_printed_and_nodes_outside_stay_static(tmp_path: Path) -> None:
    t = topo(
        tmp_path,
        dynamic="    dynamic_neighbors: {listen_range: 198.51.100.0/25, limit: 100}\n",
        extra="    - {name: node9, address: 198.51.100.200}\n",
    )
    text = desired(t)
    assert "bgp listen limit" not in text  # 100 is FRR's default: never printed
    assert " bgp listen range 198.51.100.0/25 peer-group ROUTERCTL" in text
    assert "neighbor 198.51.100.5 " not in text  # inside: dynamic
    assert " neighbor 198.51.100.200 peer-group ROUTERCTL" in text  # outside: static
    lines = text.splitlines()
    assert lines.index(" neighbor 198.51.100.200 description node9") < lines.index(
        " bgp listen range 198.51.100.0/25 peer-group ROUTERCTL"
    )


def test_quagga_render_refuses_naming_static_neighbors(tmp_path: Path) -> None:
    path = write(tmp_path)
    with pytest.raises(TopologyError) as err:
        render_router(load_topology(path), suite="quagga")
    text = f"{err.value} ({err.value.hint})"
    assert f"{path}:6: routers[0].dynamic_neighbors" in text
    assert "quagga" in text and "static neighbors" in text
    assert "\n" not in text


# ---- plan -----------------------------------------------------------------------------------


def test_second_provision_is_zero_lines(tmp_path: Path) -> None:
    plan = compute_plan(
        router="rtr", asn=65000, running=RUNNING_FRR84, desired=desired(topo(tmp_path))
    )
    assert plan.empty, plan.describe()
    assert plan.script == ()


def test_frr1041_running_config_is_in_sync(tmp_path: Path) -> None:
    text = BASE.format(dynamic=DYN, extra="").replace(
        "    asn: 65000\n", "    asn: 65000\n    router_id: 198.51.100.2\n"
    )
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    want = desired(load_topology(path))
    plan = compute_plan(router="rtr", asn=65000, running=RUNNING_FRR1041, desired=want)
    assert plan.empty, plan.describe()
    bgp = want.split("!\nip prefix-list")[0]
    assert bgp in RUNNING_FRR1041  # the same lines in the same order as FRR 10.4.1 prints


def test_static_to_dynamic_removes_members_and_adds_the_range(tmp_path: Path) -> None:
    static = desired(topo(tmp_path, dynamic="", name="s.yaml"))
    plan = compute_plan(router="rtr", asn=65000, running=static, desired=desired(topo(tmp_path)))
    assert "no neighbor 198.51.100.5" in plan.script
    assert "no neighbor 198.51.100.6" in plan.script
    assert plan.script.index("no neighbor 198.51.100.5") < plan.script.index(
        "bgp listen range 198.51.100.0/24 peer-group ROUTERCTL"
    )
    assert "bgp listen limit 20" in plan.script
    # and back: the range and the limit routerctl set go, the members come back
    back = compute_plan(router="rtr", asn=65000, running=RUNNING_FRR84, desired=static)
    assert "no bgp listen range 198.51.100.0/24 peer-group ROUTERCTL" in back.script
    assert "no bgp listen limit 20" in back.script
    assert "neighbor 198.51.100.5 peer-group ROUTERCTL" in back.script


def test_changed_range_and_limit(tmp_path: Path) -> None:
    t = topo(
        tmp_path,
        dynamic="    dynamic_neighbors: {listen_range: 198.51.100.0/25, limit: 30}\n",
    )
    plan = compute_plan(router="rtr", asn=65000, running=RUNNING_FRR84, desired=desired(t))
    script = list(plan.script)
    old = "no bgp listen range 198.51.100.0/24 peer-group ROUTERCTL"
    new = "bgp listen range 198.51.100.0/25 peer-group ROUTERCTL"
    assert script.index(old) < script.index(new)  # overlapping ranges: the old one goes first
    assert "bgp listen limit 30" in script
    assert [c.action for c in plan.changes if "limit" in c.line] == ["change"]


def test_foreign_limit_without_routerctl_range_is_left_alone(tmp_path: Path) -> None:
    static = desired(topo(tmp_path, dynamic="", name="s.yaml"))
    running = static.replace(
        " neighbor ROUTERCTL peer-group\n", " bgp listen limit 7\n neighbor ROUTERCTL peer-group\n"
    )
    plan = compute_plan(router="rtr", asn=65000, running=running, desired=static)
    assert plan.empty, plan.describe()


def test_foreign_listen_range_of_another_group_is_not_owned(tmp_path: Path) -> None:
    running = RUNNING_FRR84.replace(
        " bgp listen range 198.51.100.0/24 peer-group ROUTERCTL\n",
        " bgp listen range 198.51.100.0/24 peer-group ROUTERCTL\n"
        " bgp listen range 10.0.0.0/8 peer-group OTHER\n",
    )
    plan = compute_plan(router="rtr", asn=65000, running=running, desired=desired(topo(tmp_path)))
    assert plan.empty, plan.describe()


def test_restore_takes_the_range_away_again(tmp_path: Path) -> None:
    static = desired(topo(tmp_path, dynamic="", name="s.yaml"))
    restore = compute_restore(router="rtr", asn=65000, current=RUNNING_FRR84, saved=static)
    assert "no bgp listen range 198.51.100.0/24 peer-group ROUTERCTL" in restore.script
    assert "no bgp listen limit 20" in restore.script


# ---- verify ----------------------------------------------------------------------------------


def _state(case: str) -> RouterState:
    raw = (FIXTURES / "show_ip_bgp_summary" / f"{case}.raw").read_text(encoding="utf-8")
    summary = parse_bgp_summary(raw, suite="frr")
    return RouterState(router="rtr", suite="frr", vtysh_ok=True, summary=summary)


def test_dynamic_peers_count_as_sessions(tmp_path: Path) -> None:
    t = topo(tmp_path)
    router = t.routers[0]
    state = _state("lab_dynamic_established")
    for node in t.cluster.nodes:
        (res,) = check_session(t, router, state, node)
        assert res.ok, res
        assert "(dynamic" in res.expected
    (dyn,) = check_dynamic(router, state, t.cluster.nodes)
    assert dyn.ok
    assert dyn.observed == "2 dynamic peers (2 of the expected nodes)"
    assert "at most 20" in dyn.expected


def test_missing_dynamic_peer_is_reported_like_a_down_session(tmp_path: Path) -> None:
    t = topo(tmp_path)
    router = t.routers[0]
    state = _state("lab_dynamic_one_speaker_stopped")
    node2 = t.cluster.nodes[1]
    (res,) = check_session(t, router, state, node2, redundant=True)
    assert not res.ok
    assert res.severity is Severity.WARNING
    assert res.observed == "not present as a dynamic peer"
    assert "listen range 198.51.100.0/24" in (res.hint or "")
    (res,) = check_session(t, router, state, node2)
    assert res.severity is Severity.CRITICAL
    (dyn,) = check_dynamic(router, state, t.cluster.nodes)
    assert dyn.observed == "1 dynamic peers (1 of the expected nodes)"


def test_limit_reached_and_unknown_peers(tmp_path: Path) -> None:
    t = topo(tmp_path, dynamic="    dynamic_neighbors: {listen_range: 198.51.100.0/24, limit: 2}\n")
    router = t.routers[0]
    peers = tuple(
        BgpNeighbor(
            address=ipaddress.ip_address(a),
            remote_as=65001,
            state=SessionState.ESTABLISHED,
            dynamic=True,
        )
        for a in ("198.51.100.5", "198.51.100.9")
    )
    state = RouterState(
        router="rtr",
        suite="frr",
        vtysh_ok=True,
        summary=BgpSummary(router_id=None, local_as=65000, neighbors=peers),
    )
    (dyn,) = check_dynamic(router, state, t.cluster.nodes)
    assert dyn.severity is Severity.WARNING
    assert "198.51.100.9" in dyn.observed and "limit is reached" in dyn.observed


def test_no_option_no_dynamic_check(tmp_path: Path) -> None:
    t = topo(tmp_path, dynamic="")
    results = verify_router(
        t,
        t.routers[0],
        _state("lab_established_ecmp"),
        from_topology(t),
    )
    assert not [r for r in results if r.name == "dynamic neighbors"]


# ---- the router-side health check ------------------------------------------------------------


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox not installed")
def test_health_check_matches_dynamic_peers_by_address(tmp_path: Path) -> None:
    """The cron check reads `*198.51.100.5` as neighbor 198.51.100.5 (it used to report every
    dynamic peer NotConfigured); a node that is not a dynamic peer stays NotConfigured."""
    from tests.test_healthcheck_script import Router, neighbor_states  # noqa: PLC0415

    case = tmp_path / "case"
    case.mkdir()
    raw = FIXTURES / "show_ip_bgp_summary" / "lab_dynamic_one_speaker_stopped.raw"
    shutil.copy(raw, case / "show_ip_bgp_summary.txt")
    (tmp_path / "r").mkdir()
    router = Router(tmp_path / "r")
    router.options["check_routes"] = "0"
    router.lists["neighbor"] = ["198.51.100.5", "198.51.100.6"]
    run = router.run(case)
    assert neighbor_states(run.status) == {
        "198.51.100.5": "Established",
        "198.51.100.6": "NotConfigured",
    }
    assert run.rc == 1
