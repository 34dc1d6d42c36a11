"""verify's pure logic: expectations vs observed model objects, one result per check."""

from __future__ import annotations

import json
from dataclasses import replace
from ipaddress import IPv4Network, IPv6Network, ip_address
from pathlib import Path

import pytest

from routerctl.checks import (
    NAGIOS,
    CheckResult,
    Severity,
    unreachable,
    verify_router,
    worst,
)
from routerctl.cluster import ClusterService, ClusterState, from_topology
from routerctl.model import (
    BgpNeighbor,
    BgpSummary,
    FlapHistory,
    NextHop,
    ProbeResult,
    Route,
    RouterState,
    SessionState,
)
from routerctl.ops import flaps
from routerctl.ops import gather as ops_gather
from routerctl.topology import (
    AddressRange,
    Cluster,
    Node,
    Pool,
    Router,
    Service,
    SshTarget,
    Topology,
    load_topology,
)

N1 = ip_address("198.51.100.5")
N2 = ip_address("198.51.100.6")
SVC = ip_address("203.0.113.10")
SVC2 = ip_address("203.0.113.11")


def topo(**kw: object) -> Topology:
    pool = Pool(
        "default",
        (AddressRange("203.0.113.0/24", ip_address("203.0.113.0"), ip_address("203.0.113.255")),),
    )
    t = Topology(
        routers=(
            Router("rtr", SshTarget("rtr"), asn=65000, router_id=ip_address("198.51.100.2")),  # type: ignore[arg-type]
        ),
        cluster=Cluster(asn=65001, nodes=(Node("node1", N1), Node("node2", N2)), pools=(pool,)),
        services=(Service("default", "web", SVC, 8080), Service("default", "api", SVC2, 80)),
    )
    return replace(t, **kw)  # type: ignore[arg-type]


def nbr(addr: object, state: SessionState = SessionState.ESTABLISHED, **kw: object) -> BgpNeighbor:
    est = state is SessionState.ESTABLISHED
    base: dict[str, object] = {
        "address": addr,
        "remote_as": 65001,
        "state": state,
        "uptime": 3600 if est else None,
        "prefixes_received": 2 if est else None,
        "connections_dropped": 0,
    }
    base.update(kw)
    return BgpNeighbor(**base)  # type: ignore[arg-type]


def route(addr: object, *hops: object, fib: bool = True, selected: bool = True) -> Route:
    return Route(
        prefix=IPv4Network(f"{addr}/32"),
        protocol="bgp",
        selected=selected,
        fib=fib,
        nexthops=tuple(NextHop(address=h, interface="br-lan", fib=fib) for h in hops),  # type: ignore[arg-type]
    )


def state(
    neighbors: tuple[BgpNeighbor, ...] | None = None,
    routes: tuple[Route, ...] | None = None,
    **kw: object,
) -> RouterState:
    if neighbors is None:
        neighbors = (nbr(N1), nbr(N2))
    if routes is None:
        routes = (route(SVC, N1, N2), route(SVC2, N1, N2))
    summary = BgpSummary(
        router_id=ip_address("198.51.100.2"),  # type: ignore[arg-type]
        local_as=65000,
        neighbors=neighbors,
    )
    base: dict[str, object] = {
        "router": "rtr",
        "suite": "frr",
        "version": "FRRouting 8.4.4",
        "vtysh_ok": True,
        "daemons": (("zebra", True), ("bgpd", True)),
        "summary": summary,
        "routes": routes,
    }
    base.update(kw)
    return RouterState(**base)  # type: ignore[arg-type]


def run(st: RouterState, t: Topology | None = None, **kw: object) -> dict[str, CheckResult]:
    t = t or topo()
    res = verify_router(t, t.routers[0], st, from_topology(t), **kw)  # type: ignore[arg-type]
    names = [r.name for r in res]
    assert len(names) == len(set(names)), names
    return {r.name: r for r in res}


def failed(results: dict[str, CheckResult]) -> dict[str, CheckResult]:
    return {k: v for k, v in results.items() if not v.ok}


def test_healthy_all_green() -> None:
    res = run(state())
    assert failed(res) == {}
    assert worst(res.values()) is Severity.OK
    assert set(res) >= {
        "suite",
        "daemons",
        "bgp asn",
        "router-id",
        "session node1",
        "session node2",
        "prefixes node1",
        "prefixes node2",
        "route default/web 203.0.113.10",
        "route default/api 203.0.113.11",
    }
    assert res["route default/web 203.0.113.10"].observed == (
        "203.0.113.10/32 via node1 (198.51.100.5), node2 (198.51.100.6)"
    )


def test_one_speaker_down_is_degraded_and_names_node() -> None:
    st = state(
        neighbors=(nbr(N1), nbr(N2, SessionState.ACTIVE)),
        routes=(route(SVC, N1), route(SVC2, N1)),
    )
    bad = failed(run(st))
    assert set(bad) == {
        "session node2",
        "route default/web 203.0.113.10",
        "route default/api 203.0.113.11",
    }
    # node1 still carries the traffic: degraded, not broken
    assert bad["session node2"].severity is Severity.WARNING
    assert "speaker is down" in (bad["session node2"].hint or "")
    r = bad["route default/web 203.0.113.10"]
    assert r.severity is Severity.WARNING
    assert "via node1 (198.51.100.5); missing node2 (198.51.100.6)" in r.observed
    assert NAGIOS[worst(bad.values())] == 1


def test_both_speakers_down_critical_no_route() -> None:
    st = state(
        neighbors=(nbr(N1, SessionState.ACTIVE), nbr(N2, SessionState.CONNECT)),
        routes=(),
    )
    bad = failed(run(st))
    assert bad["route default/web 203.0.113.10"].observed == "no BGP route"
    assert bad["route default/web 203.0.113.10"].severity is Severity.CRITICAL
    assert bad["session node1"].observed.startswith("Active")
    assert bad["session node2"].observed.startswith("Connect")
    assert bad["session node1"].hint != bad["session node2"].hint
    assert bad["session node1"].severity is Severity.CRITICAL  # no node left
    assert worst(bad.values()) is Severity.CRITICAL


def test_distinct_session_failures() -> None:
    cases = {
        SessionState.ADMIN_DOWN: "administratively shut down",
        SessionState.IDLE: "not even trying",
        SessionState.OPENSENT: "ASN mismatch",
        SessionState.PREFIX_EXCEEDED: "maximum-prefix",
    }
    hints = set()
    for st_, needle in cases.items():
        res = run(state(neighbors=(nbr(N1), nbr(N2, st_)), routes=(route(SVC, N1),)))
        r = res["session node2"]
        assert not r.ok
        assert needle in (r.hint or ""), (st_, r.hint)
        hints.add(r.hint)
    assert len(hints) == len(cases)


def test_last_notification_gives_specific_hint() -> None:
    st = state(
        neighbors=(nbr(N1), nbr(N2, SessionState.IDLE)),
        routes=(route(SVC, N1), route(SVC2, N1)),
        last_errors=((str(N2), "OPEN Message Error/Bad Peer AS"),),
    )
    s = failed(run(st))["session node2"]
    assert s.observed == "Idle, remote-as 65001; last error: OPEN Message Error/Bad Peer AS"
    assert (s.hint or "").startswith(
        "ASN mismatch: node2 opens with another AS than the cluster ASN 65001"
    )


def test_a_cease_on_a_down_session_still_names_the_asn() -> None:
    """FRR >= 10 keeps an older Cease on the neighbor when a node with another AS dials in
    (the Bad Peer AS goes to a temporary peer): the hint must not rule the AS out."""
    st = state(
        neighbors=(nbr(N1), nbr(N2, SessionState.ACTIVE)),
        routes=(route(SVC, N1), route(SVC2, N1)),
        last_errors=((str(N2), "Cease/Peer De-configured"),),
    )
    hint = failed(run(st))["session node2"].hint or ""
    assert hint.startswith("node2 closed the session")
    assert "myASN 65001" in hint and "FRR >= 10" in hint


def test_policy_blocked_is_distinct() -> None:
    st = state(
        neighbors=(
            nbr(N1, prefixes_received=0, policy_blocked_in=True),
            nbr(N2, prefixes_received=0, policy_blocked_in=True),
        ),
        routes=(),
    )
    bad = failed(run(st))
    assert bad["session node1"].observed.startswith("Established (Policy)")
    assert "inbound policy" in (bad["session node1"].hint or "")
    assert bad["session node1"].severity is Severity.CRITICAL
    assert "prefixes node1" not in bad  # not reported twice


def test_missing_neighbor() -> None:
    bad = failed(run(state(neighbors=(nbr(N1),), routes=(route(SVC, N1), route(SVC2, N1)))))
    assert bad["session node2"].observed == "no such neighbor"
    assert "add it to the topology" in (bad["session node2"].hint or "")


def test_wrong_remote_as_on_router() -> None:
    bad = failed(run(state(neighbors=(nbr(N1), nbr(N2, SessionState.ACTIVE, remote_as=65099)))))
    assert "remote-as 65099" in bad["session node2"].hint  # type: ignore[operator]


def test_wrong_local_asn_and_router_id() -> None:
    st = state()
    assert st.summary is not None
    st = replace(
        st,
        summary=replace(st.summary, local_as=64512, router_id=ip_address("198.51.100.9")),
    )
    bad = failed(run(st))
    assert bad["bgp asn"].observed == "router bgp 64512"
    assert bad["router-id"].observed == "198.51.100.9"
    assert bad["router-id"].severity is Severity.WARNING


def test_no_bgp_instance_stops_early() -> None:
    st = state(summary=BgpSummary(router_id=None, local_as=None, instance_missing=True))
    res = run(st)
    assert res["bgp asn"].observed == "no BGP instance"
    assert not any(k.startswith("session") for k in res)


def test_daemons_down_and_no_suite() -> None:
    res = run(state(daemons=(("zebra", True), ("bgpd", False))))
    assert res["daemons"].observed == "not running: bgpd"
    assert "bgpd=yes" in (res["daemons"].hint or "")
    assert len(res) == 2
    res = run(state(suite=None, vtysh_ok=False))
    assert list(res) == ["suite"]
    assert res["suite"].observed == "no routing suite found"


def test_zero_prefixes_once_services_exist() -> None:
    st = state(neighbors=(nbr(N1), nbr(N2, prefixes_received=0)), routes=(route(SVC, N1),))
    bad = failed(run(st))
    assert bad["prefixes node2"].observed == "0 prefixes received"
    assert bad["prefixes node2"].severity is Severity.WARNING
    # with no services at all, 0 prefixes is fine
    st = state(neighbors=(nbr(N1, prefixes_received=0), nbr(N2, prefixes_received=0)), routes=())
    assert failed(run(st, topo(services=()))) == {}


def test_foreign_prefix_accepted() -> None:
    # node1 sent 3 prefixes and the router accepted them, but only 2 are inside the pools
    st = state(neighbors=(nbr(N1, prefixes_received=3), nbr(N2)))
    bad = failed(run(st))
    assert set(bad) == {"foreign prefixes node1"}
    assert bad["foreign prefixes node1"].observed == "3 accepted, only 2 inside the pools"
    assert "prefix-list" in (bad["foreign prefixes node1"].hint or "")


def test_route_not_in_fib_and_not_selected() -> None:
    st = state(routes=(route(SVC, N1, N2, fib=False), route(SVC2, N1, N2, selected=False)))
    bad = failed(run(st))
    assert "not installed in the kernel FIB" in bad["route default/web 203.0.113.10"].observed
    assert "not selected" in bad["route default/api 203.0.113.11"].observed


def test_unexpected_next_hop_is_critical() -> None:
    st = state(routes=(route(SVC, N1, N2, ip_address("198.51.100.77")), route(SVC2, N1, N2)))
    bad = failed(run(st))
    r = bad["route default/web 203.0.113.10"]
    assert r.severity is Severity.CRITICAL
    assert "198.51.100.77" in (r.hint or "")


def test_service_outside_pool_reported() -> None:
    t = topo(services=(Service("default", "odd", ip_address("192.0.2.99"), 80),))
    st = state(neighbors=(nbr(N1, prefixes_received=0), nbr(N2, prefixes_received=0)), routes=())
    bad = failed(run(st, t))
    assert list(bad) == ["pool default/odd 192.0.2.99"]
    assert "outside every pool" in bad["pool default/odd 192.0.2.99"].observed
    assert "203.0.113.0/24" in (bad["pool default/odd 192.0.2.99"].hint or "")


def test_stale_route_in_pool() -> None:
    st = state(routes=(route(SVC, N1, N2), route(SVC2, N1, N2), route("203.0.113.50", N1)))
    bad = failed(run(st))
    assert set(bad) == {"stale route 203.0.113.50/32"}
    assert bad["stale route 203.0.113.50/32"].severity is Severity.WARNING


def test_no_services_listed_means_nothing_is_stale() -> None:
    st = state(
        routes=(route(SVC, N1, N2),),
        neighbors=(nbr(N1, prefixes_received=1), nbr(N2, prefixes_received=1)),
    )
    assert failed(run(st, topo(services=()))) == {}
    # but a live cluster without that service: stale
    t = topo(services=())
    cluster = replace(from_topology(t), source="kubectl")
    res = {r.name: r for r in verify_router(t, t.routers[0], st, cluster)}
    assert not res["stale route 203.0.113.10/32"].ok


def test_local_traffic_policy_subset_ok() -> None:
    t = topo()
    cluster = ClusterState(
        nodes=t.cluster.nodes,
        services=(ClusterService("default", "web", SVC, (8080,), traffic_policy="Local"),),
    )
    st = state(routes=(route(SVC, N2),), neighbors=(nbr(N1, prefixes_received=0), nbr(N2)))
    res = {r.name: r for r in verify_router(t, t.routers[0], st, cluster)}
    assert res["route default/web 203.0.113.10"].ok
    assert not res["prefixes node1"].ok  # still worth a warning: node1 announces nothing


def test_pending_service_reported() -> None:
    t = topo()
    cluster = replace(from_topology(t), pending=("default/waiting",))
    res = {r.name: r for r in verify_router(t, t.routers[0], state(), cluster)}
    assert res["address default/waiting"].severity is Severity.WARNING


def test_node_selector_limits_sessions() -> None:
    t = topo()
    r = replace(t.routers[0], node_selector=(("kubernetes.io/hostname", "node1"),))
    t = replace(t, routers=(r,))
    res = run(
        state(neighbors=(nbr(N1, prefixes_received=2),), routes=(route(SVC, N1), route(SVC2, N1))),
        t,
    )
    assert "session node2" not in res
    assert failed(res) == {}


def test_probes() -> None:
    probes = [
        ProbeResult("default/web", SVC, 8080, "router", 4, 4, ("node1", "node2")),
        ProbeResult("default/api", SVC2, 80, "local", 4, 0, (), "connection refused"),
    ]
    res = run(state(), probes=probes)
    ok = res["probe default/web 203.0.113.10:8080 from router"]
    assert ok.ok
    assert ok.observed == "4/4 answered; answers: node1, node2"
    bad = res["probe default/api 203.0.113.11:80 from local"]
    assert bad.severity is Severity.CRITICAL
    assert "connection refused" in bad.observed
    assert "need a route via the router" in (bad.hint or "")


def test_probe_requested_but_nothing_to_probe() -> None:
    t = topo(services=(Service("default", "web", SVC, None),))
    st = state(
        routes=(route(SVC, N1, N2),),
        neighbors=(nbr(N1, prefixes_received=1), nbr(N2, prefixes_received=1)),
    )
    res = run(st, t, probe_requested=True)
    assert res["probe"].severity is Severity.WARNING
    assert "probe" not in run(st, t)


def test_flaps_uptime_and_dropped() -> None:
    st = state(
        neighbors=(nbr(N1, uptime=30, connections_dropped=1), nbr(N2, connections_dropped=4))
    )
    was_up = frozenset({str(N1), str(N2)})
    hist = FlapHistory(dropped={str(N1): 1, str(N2): 2}, seconds_since=300, established=was_up)
    bad = failed(run(st, flaps=hist))
    assert set(bad) == {"flap node1", "flap node2"}
    assert "up only 30s" in bad["flap node1"].observed
    assert "dropped 2 time(s) since the last run (2 -> 4)" in bad["flap node2"].observed
    # a quiet history: all good, and flap checks are reported ok
    hist = FlapHistory(dropped={str(N1): 0, str(N2): 0}, seconds_since=60, established=was_up)
    res = run(state(), flaps=hist)
    assert res["flap node1"].ok
    assert res["flap node2"].ok
    # explicit interval beats the history's
    assert not run(state(), interval=7200)["flap node1"].ok


def test_new_session_since_last_run_is_not_a_flap() -> None:
    # node1 was not Established at the last run (say: just provisioned): a young session
    # is new, not flapping; node2 was up then and is younger than the gap: a flap
    st = state(neighbors=(nbr(N1, uptime=30), nbr(N2, uptime=30)))
    hist = FlapHistory(dropped={}, seconds_since=300, established=frozenset({str(N2)}))
    res = run(st, flaps=hist)
    assert res["flap node1"].ok
    assert not res["flap node2"].ok
    # an old state file without the "up" list: only drop counters count
    res = run(st, flaps=FlapHistory(dropped={}, seconds_since=300))
    assert res["flap node1"].ok and res["flap node2"].ok


def test_flap_state_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "flaps.json"
    assert flaps.load(path, "rtr", now=100.0) is None
    flaps.save(path, "rtr", [nbr(N1, connections_dropped=3), nbr(N2)], now=100.0)
    flaps.save(path, "other", [nbr(N1, connections_dropped=9)], now=110.0)
    hist = flaps.load(path, "rtr", now=160.0)
    assert hist == FlapHistory(
        dropped={str(N1): 3, str(N2): 0},
        seconds_since=60.0,
        established=frozenset({str(N1), str(N2)}),
    )
    path.write_text("{not json")
    assert flaps.load(path, "rtr", now=1.0) is None
    flaps.save(path, "rtr", [nbr(N1)], now=2.0)
    assert json.loads(path.read_text())["version"] == 1


def test_unreachable_is_unknown() -> None:
    t = topo()
    r = unreachable(t.routers[0], "connection refused")
    assert r.severity is Severity.UNKNOWN
    assert NAGIOS[worst([r])] == 3
    assert worst([r, replace(r, severity=Severity.CRITICAL)]) is Severity.CRITICAL


@pytest.mark.parametrize("sev,code", [(s, NAGIOS[s]) for s in Severity])
def test_nagios_codes(sev: Severity, code: int) -> None:
    assert code == {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}[sev.value]


def test_quagga_text_path_with_the_seed_outputs() -> None:
    """The seed's Quagga outputs (text, TextFSM) through the same state script plumbing."""
    root = Path(__file__).resolve().parent.parent
    t = load_topology(root / "examples" / "seed.yaml")
    r = t.routers[0]
    summary = (
        root / "fixtures/quagga/show_ip_bgp_summary/seed_openwrt_peers_active_never.raw"
    ).read_text()
    routes = (root / "fixtures/quagga/show_ip_route/seed_openwrt_bgp_host_routes.raw").read_text()
    mk = ops_gather.new_marker()
    script = ops_gather.build_script(t, r, mk)
    # one vtysh start (-E echoes each command behind the prompt, which splits the outputs)
    assert (
        "vtysh -E -c 'show version' -c 'show ip bgp summary' "
        "-c 'show ip route 192.168.0.30/31 longer-prefixes' "
        "-c 'show ip bgp 192.168.0.30/31 longer-prefixes' "
        "-c 'show ip route 192.168.0.32/28 longer-prefixes' "
        "-c 'show ip bgp 192.168.0.32/28 longer-prefixes' "
        "-c 'show ip route 192.168.0.48/31 longer-prefixes' "
        "-c 'show ip bgp 192.168.0.48/31 longer-prefixes' 2>&1"
    ) in script
    assert script.count("vtysh ") == 2  # the frr batch and the quagga batch (one runs)
    out = "\n".join(
        [
            f"{mk} release\nDISTRIB_RELEASE='19.07.10'",
            f"{mk} daemons\nzebra 1\nbgpd 1",
            f"{mk} batch quagga",
            "OpenWrt# show version\nQuagga 1.2.4 (OpenWrt).",
            f"OpenWrt# show ip bgp summary\n{summary}",
            # the seed recorded no BGP table (`show ip bgp`): empty, as for no match
            f"OpenWrt# show ip route 192.168.0.30/31 longer-prefixes\n{routes}",
            "OpenWrt# show ip bgp 192.168.0.30/31 longer-prefixes",
            "OpenWrt# show ip route 192.168.0.32/28 longer-prefixes\n",
            "OpenWrt# show ip bgp 192.168.0.32/28 longer-prefixes",
            "OpenWrt# show ip route 192.168.0.48/31 longer-prefixes",
            "OpenWrt# show ip bgp 192.168.0.48/31 longer-prefixes",
            f"{mk} rc 0",
            f"{mk} end",
        ]
    )
    st = ops_gather.parse_state(out, mk, topology=t, router=r)
    assert st.suite == "quagga" and st.version == "Quagga 1.2.4 (OpenWrt)."
    assert st.pool_paths == ()  # Quagga: pool paths come from its BGP table (empty here)
    assert st.summary is not None and st.summary.local_as == 65000
    assert [n.state for n in st.summary.neighbors] == [SessionState.ACTIVE, SessionState.ACTIVE]
    res = {x.name: x for x in verify_router(t, r, st, from_topology(t))}
    assert res["session ubuntu-dev1"].observed == "Active, remote-as 65001"
    assert res["session ubuntu-dev1"].severity is Severity.CRITICAL
    assert res["route default/nginx-lb 192.168.0.30"].observed == (
        "192.168.0.30/32 via ubuntu-dev1 (192.168.1.5); missing ubuntu-dev2 (192.168.1.6)"
    )
    # stale announcements are read from the BGP table, which this recording lacks
    assert not [n for n in res if n.startswith("stale route")]


def test_ipv6_pool_and_nodes() -> None:
    v6n1, v6svc = ip_address("2001:db8::5"), ip_address("2001:db8:1::10")
    pool6 = Pool(
        "v6",
        (
            AddressRange(
                "2001:db8:1::/64",
                ip_address("2001:db8:1::"),
                ip_address("2001:db8:1::ffff:ffff:ffff:ffff"),
            ),
        ),
    )
    t = topo(
        cluster=Cluster(asn=65001, nodes=(Node("node1", v6n1),), pools=(pool6,)),
        services=(Service("default", "web6", v6svc, 80),),
    )
    script = ops_gather.build_script(t, t.routers[0], "@@M", addresses=[v6svc])
    assert "-c 'show bgp ipv6 unicast summary json'" in script
    assert "-c 'show bgp ipv6 unicast 2001:db8:1::/64 longer-prefixes json'" in script
    assert "-c 'show ipv6 route 2001:db8:1::10 json'" in script
    r6 = Route(
        prefix=IPv6Network("2001:db8:1::10/128"),
        protocol="bgp",
        selected=True,
        fib=True,
        nexthops=(NextHop(address=v6n1, fib=True),),
    )
    st = state(
        summary_v6=BgpSummary(
            router_id=None, local_as=65000, neighbors=(nbr(v6n1, prefixes_received=1),)
        ),
        neighbors=(),
        routes=(r6,),
    )
    res = run(st, t)
    assert failed(res) == {}
    assert (
        res["route default/web6 2001:db8:1::10"].observed
        == "2001:db8:1::10/128 via node1 (2001:db8::5)"
    )


def test_flap_window_allows_for_whole_second_uptimes() -> None:
    # a session that stayed up since a run 10.5 s ago may read 10 s (floored): not a flap;
    # one that reads 9 s came up after that run
    was_up = frozenset({str(N1), str(N2)})
    hist = FlapHistory(dropped={}, seconds_since=10.5, established=was_up)
    res = run(state(neighbors=(nbr(N1, uptime=10), nbr(N2, uptime=9))), flaps=hist)
    assert res["flap node1"].ok
    assert not res["flap node2"].ok


def test_flap_history_key_names_how_the_router_is_reached() -> None:
    a = Router("rtr", SshTarget("rtr", ssh_config=Path("/run/a/ssh_config")), asn=65000)
    b = Router("rtr", SshTarget("rtr", ssh_config=Path("/run/b/ssh_config")), asn=65000)
    c = Router("rtr", SshTarget("198.51.100.2", port=2222), asn=65000)
    keys = {flaps.router_key(r) for r in (a, b, c)}
    assert len(keys) == 3
    assert flaps.router_key(c) == "rtr@198.51.100.2:2222"
