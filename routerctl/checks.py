"""Verify: expectations (topology + cluster) against observed router state.

Pure: no I/O. ``verify_router`` returns one ``CheckResult`` per check, in the
NAPALM ``compliance_report`` spirit: name, ok, severity, expected, observed, hint.
Gathering the router state (``routerstate``), the cluster (``cluster``), probes and
flap history (``flaps``) happens elsewhere and is handed in as data.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from routerctl.cluster import ClusterService, ClusterState
from routerctl.model import (
    BgpNeighbor,
    BgpSummary,
    FlapHistory,
    IPAddress,
    IPNetwork,
    PoolPath,
    ProbeResult,
    Route,
    RouterState,
    SessionState,
)
from routerctl.platform import PROFILES
from routerctl.topology import Node, Router, Topology


class Severity(str, enum.Enum):
    """How bad a failed check is; ordered for ``worst``. Nagios codes in ``NAGIOS``."""

    OK = "ok"
    WARNING = "warning"  # degraded: traffic still flows, but not as designed
    CRITICAL = "critical"  # broken: a session down, a service unreachable
    UNKNOWN = "unknown"  # could not tell: router unreachable, output unreadable


NAGIOS: Mapping[Severity, int] = {
    Severity.OK: 0,
    Severity.WARNING: 1,
    Severity.CRITICAL: 2,
    Severity.UNKNOWN: 3,
}
_RANK = {Severity.OK: 0, Severity.WARNING: 1, Severity.UNKNOWN: 2, Severity.CRITICAL: 3}


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    severity: Severity
    expected: str
    observed: str
    hint: str | None = None
    router: str | None = None


def worst(results: Iterable[CheckResult]) -> Severity:
    """The worst severity: critical > unknown > warning > ok."""
    sev = Severity.OK
    for r in results:
        if _RANK[r.severity] > _RANK[sev]:
            sev = r.severity
    return sev


_SESSION_HINTS: Mapping[SessionState, str] = {
    SessionState.ACTIVE: (
        "the router is trying but gets no session: the node's speaker is down, or the "
        "peer address/ASN is wrong on one side, or tcp/179 is firewalled, or the BGP "
        "passwords differ"
    ),
    SessionState.CONNECT: (
        "TCP to the node on port 179 does not complete: speaker down, wrong peer address, "
        "or a firewall on tcp/179"
    ),
    SessionState.IDLE: (
        "the session is not even trying: check the node is reachable from the router "
        "(same LAN or ebgp-multihop) and the peer's ASN matches the cluster ASN"
    ),
    SessionState.OPENSENT: (
        "OPEN sent but not accepted: ASN mismatch (the node's myASN vs the cluster ASN) "
        "or capability/hold-time disagreement"
    ),
    SessionState.OPENCONFIRM: (
        "OPEN exchanged but no KEEPALIVE yet: hold time or capability disagreement"
    ),
    SessionState.ADMIN_DOWN: (
        "the neighbor is administratively shut down on the router: "
        "vtysh -c 'conf t' -c 'router bgp ASN' -c 'no neighbor ADDR shutdown'"
    ),
    SessionState.PREFIX_EXCEEDED: (
        "the node sent more prefixes than maximum-prefix allows; raise the limit or "
        "fix the pools, then clear the session"
    ),
    SessionState.UNKNOWN: "the router reported a state routerctl does not know",
}
_POLICY_HINT = (
    "(Policy): no inbound policy for this eBGP peer, so FRR drops every route "
    "(bgp ebgp-requires-policy); run routerctl provision to add the ROUTERCTL "
    "prefix-list/route-map"
)
_MISSING_HINT = (
    "the router has no neighbor for this node; add it to the topology and run routerctl provision"
)


def _ok(name: str, expected: str, observed: str, router: str) -> CheckResult:
    return CheckResult(name, True, Severity.OK, expected, observed, None, router)


def _fail(  # noqa: PLR0917 - mirrors CheckResult's fields
    name: str, sev: Severity, expected: str, observed: str, hint: str | None, router: str
) -> CheckResult:
    return CheckResult(name, False, sev, expected, observed, hint, router)


def _fmt_addrs(addrs: Iterable[IPAddress]) -> str:
    items = sorted(addrs, key=lambda a: (a.version, int(a)))
    return ", ".join(str(a) for a in items) or "none"


def _fmt_uptime(seconds: int | None) -> str:
    if seconds is None:
        return "never"
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return f"{d}d{h:02d}h{m:02d}m" if d else f"{h:02d}:{m:02d}:{s:02d}"


def expected_nodes(topology: Topology, router: Router, cluster: ClusterState) -> tuple[Node, ...]:
    """The nodes that should peer with ``router``: the cluster's, the router's selector applied."""
    return router.nodes(cluster.nodes)


def _summary_for(state: RouterState, addr: IPAddress) -> BgpSummary | None:
    return state.summary_v6 if addr.version == 6 else state.summary


def check_daemons(router: Router, state: RouterState) -> list[CheckResult]:
    name = router.name
    out: list[CheckResult] = []
    if state.suite is None or not state.vtysh_ok:
        out.append(
            _fail(
                "suite",
                Severity.CRITICAL,
                "FRR or Quagga answering vtysh",
                "vtysh did not answer" if state.suite else "no routing suite found",
                "install and start the routing suite: routerctl provision",
                name,
            )
        )
        return out
    out.append(_ok("suite", "FRR or Quagga answering vtysh", state.version or state.suite, name))
    daemons = state.daemon_map()
    down = sorted(d for d in ("zebra", "bgpd") if daemons.get(d) is False)
    if down:
        suite = PROFILES[state.suite]
        init, cfg = suite.init_script, suite.enabled_hint
        out.append(
            _fail(
                "daemons",
                Severity.CRITICAL,
                "zebra and bgpd running",
                f"not running: {', '.join(down)}",
                f"check {cfg} and run {init} restart",
                name,
            )
        )
    else:
        out.append(_ok("daemons", "zebra and bgpd running", "running", name))
    return out


def check_instance(router: Router, state: RouterState) -> list[CheckResult]:
    name = router.name
    s = state.summary
    want = f"router bgp {router.asn}"
    if s is None or s.instance_missing or s.local_as is None:
        return [
            _fail(
                "bgp asn",
                Severity.CRITICAL,
                want,
                "no BGP instance",
                "bgpd has no 'router bgp' configured: run routerctl provision",
                name,
            )
        ]
    out: list[CheckResult] = []
    if s.local_as != router.asn:
        out.append(
            _fail(
                "bgp asn",
                Severity.CRITICAL,
                want,
                f"router bgp {s.local_as}",
                "the router runs another ASN than the topology says: fix routers[].asn, "
                "or the router (routerctl will not overwrite another ASN)",
                name,
            )
        )
    else:
        out.append(_ok("bgp asn", want, f"router bgp {s.local_as}", name))
    if router.router_id is not None:
        if s.router_id != router.router_id:
            out.append(
                _fail(
                    "router-id",
                    Severity.WARNING,
                    str(router.router_id),
                    str(s.router_id) if s.router_id else "none",
                    "set 'bgp router-id' as in the topology: routerctl provision",
                    name,
                )
            )
        else:
            out.append(_ok("router-id", str(router.router_id), str(s.router_id), name))
    return out


_LAST_ERROR_HINTS: tuple[tuple[str, str], ...] = (
    (
        "Bad Peer AS",
        "ASN mismatch: {node} opens with another AS than the cluster ASN {asn}; set the "
        "speaker's myASN (MetalLB BGPPeer) to {asn}, or fix cluster.asn and provision",
    ),
    (
        "Bad BGP Identifier",
        "router-id conflict: {node} uses a BGP identifier the router rejects (same as "
        "the router's?)",
    ),
    (
        "Hold Timer Expired",
        "keepalives stopped arriving from {node}: link loss, an overloaded node, or a "
        "firewall dropping tcp/179 mid-session",
    ),
    (
        "Cease",
        "{node} closed the session (speaker stopped, restarted or its BGPPeer removed); if it "
        "does not come back, check the speaker pod on {node} and its myASN {asn} (FRR >= 10 "
        "keeps an older Cease here when a node with another AS dials in)",
    ),
    (
        "Unsupported Capability",
        "capability mismatch with {node}: check address families and extended options",
    ),
)


def _last_error_hint(last: str, topology: Topology, node: Node) -> str | None:
    for needle, hint in _LAST_ERROR_HINTS:
        if needle in last:
            return hint.format(node=node.name, asn=topology.cluster.asn)
    return None


def _session_observed(n: BgpNeighbor) -> str:
    text = n.state.value
    if n.policy_blocked_in:
        text += " (Policy)"
    if n.established:
        text += f", up {_fmt_uptime(n.uptime)}"
    if n.remote_as:
        text += f", remote-as {n.remote_as}"
    return text


def _healthy_session(state: RouterState, node: Node) -> bool:
    summary = _summary_for(state, node.address)
    n = summary.neighbor(node.address) if summary else None
    return n is not None and n.established and not n.policy_blocked_in


def check_session(
    topology: Topology,
    router: Router,
    state: RouterState,
    node: Node,
    *,
    redundant: bool = False,
) -> list[CheckResult]:
    """One node's session. ``redundant``: another node's session is healthy, so a
    failure here degrades (warning) rather than breaks (critical) the service."""
    name = router.name
    bad = Severity.WARNING if redundant else Severity.CRITICAL
    cname = f"session {node.name}"
    want = f"Established with {node.address} (AS {topology.cluster.asn})"
    summary = _summary_for(state, node.address)
    if summary is None or summary.instance_missing:
        return [
            _fail(cname, bad, want, "no BGP instance", _MISSING_HINT, name),
        ]
    n = summary.neighbor(node.address)
    dyn = router.dynamic_neighbors if router.dynamic(node) else None
    if dyn is not None:
        want = f"Established with {node.address} (dynamic, AS {topology.cluster.asn})"
    if n is None and dyn is not None:
        # the router never dials a dynamic peer: no session means the node did not connect
        hint = (
            f"the router waits for {node.name} to connect (bgp listen range "
            f"{dyn.listen_range}): its speaker is down, cannot reach the router on tcp/179, "
            f"connects from another address, or the listen limit "
            f"({dyn.effective_limit}) is reached"
        )
        return [_fail(cname, bad, want, "not present as a dynamic peer", hint, name)]
    if n is None:
        return [_fail(cname, bad, want, "no such neighbor", _MISSING_HINT, name)]
    if n.remote_as and n.remote_as != topology.cluster.asn:
        return [
            _fail(
                cname,
                bad,
                want,
                f"{_session_observed(n)}",
                f"the router has remote-as {n.remote_as} for this node but the cluster ASN is "
                f"{topology.cluster.asn}: run routerctl provision",
                name,
            )
        ]
    if not n.established:
        hint = _SESSION_HINTS.get(n.state, _SESSION_HINTS[SessionState.UNKNOWN])
        last = dict(state.last_errors).get(str(node.address))
        observed = _session_observed(n) + (f"; last error: {last}" if last else "")
        specific = _last_error_hint(last, topology, node) if last else None
        if n.state in (SessionState.ACTIVE, SessionState.CONNECT, SessionState.IDLE):
            hint = (
                f"{hint} (MetalLB: check the speaker pod on {node.name}, its BGPPeer "
                f"peerAddress/peerASN and myASN {topology.cluster.asn})"
            )
        hint = hint.replace("router bgp ASN", f"router bgp {router.asn}").replace(
            "neighbor ADDR", f"neighbor {node.address}"
        )
        return [_fail(cname, bad, want, observed, specific or hint, name)]
    if n.policy_blocked_in:
        return [_fail(cname, bad, want, _session_observed(n), _POLICY_HINT, name)]
    return [_ok(cname, want, _session_observed(n), name)]


def check_dynamic(router: Router, state: RouterState, nodes: Sequence[Node]) -> list[CheckResult]:
    """The listen range's members: how many dynamic peers, against ``bgp listen limit``."""
    dyn = router.dynamic_neighbors
    if dyn is None:
        return []
    peers = [
        n
        for s in (state.summary, state.summary_v6)
        if s is not None
        for n in s.neighbors
        if n.dynamic and n.address is not None and dyn.covers(n.address)
    ]
    addrs = {n.address for n in peers if n.address is not None}
    known = {n.address for n in nodes}
    unknown = sorted(addrs - known, key=lambda a: (a.version, int(a)))
    want = f"at most {dyn.effective_limit} dynamic peers in {dyn.listen_range}"
    observed = f"{len(addrs)} dynamic peers ({len(addrs & known)} of the expected nodes)"
    if unknown:
        observed += f"; not in the node list: {_fmt_addrs(unknown)}"
    if len(addrs) >= dyn.effective_limit:
        return [
            _fail(
                "dynamic neighbors",
                Severity.WARNING,
                want,
                observed + " -- the limit is reached",
                "the router refuses the next node that connects: raise "
                "dynamic_neighbors.limit and provision",
                router.name,
            )
        ]
    return [_ok("dynamic neighbors", want, observed, router.name)]


def _bgp_routes(state: RouterState) -> list[Route]:
    return [r for r in state.routes if r.protocol == "bgp"]


def _pool_paths(state: RouterState) -> list[PoolPath]:
    """BGP paths inside the pools: from the BGP table, else one per zebra next hop."""
    if state.pool_paths is not None:
        return list(state.pool_paths)
    return [
        PoolPath(r.prefix, nh.address, best=r.selected, multipath=True)
        for r in _bgp_routes(state)
        for nh in r.nexthops
    ]


def _route_for(state: RouterState, addr: IPAddress) -> Route | None:
    """The most specific selected BGP route covering ``addr`` (any if none selected)."""
    best: Route | None = None
    for r in _bgp_routes(state):
        if r.prefix.version != addr.version or addr not in r.prefix:
            continue
        key = (r.selected, r.prefix.prefixlen)
        if best is None or key > (best.selected, best.prefix.prefixlen):
            best = r
    return best


def check_prefixes(
    router: Router,
    state: RouterState,
    nodes: Sequence[Node],
    *,
    services_exist: bool,
) -> list[CheckResult]:
    """Per node: prefixes received > 0 once services exist; none accepted outside the pools.

    A node's accepted-prefix count (PfxRcd) above the number of pool routes via
    that node means it sent, and the router accepted, prefixes outside the pools.
    """
    name = router.name
    out: list[CheckResult] = []
    via: dict[IPAddress, int] = {}
    for path in _pool_paths(state):
        if path.peer is not None:
            via[path.peer] = via.get(path.peer, 0) + 1
    for node in nodes:
        summary = _summary_for(state, node.address)
        n = summary.neighbor(node.address) if summary else None
        if n is None or not n.established or n.policy_blocked_in:
            continue  # the session check already failed
        rcvd = n.prefixes_received or 0
        if services_exist:
            cname = f"prefixes {node.name}"
            if rcvd == 0:
                out.append(
                    _fail(
                        cname,
                        Severity.WARNING,
                        "> 0 prefixes from the node",
                        "0 prefixes received",
                        "the session is up but the node announces nothing: check the "
                        "BGPAdvertisement/IPAddressPool and that the speaker runs on this node",
                        name,
                    )
                )
            else:
                out.append(_ok(cname, "> 0 prefixes from the node", f"{rcvd} received", name))
        inside = via.get(node.address, 0)
        if rcvd > inside:
            out.append(
                _fail(
                    f"foreign prefixes {node.name}",
                    Severity.CRITICAL,
                    "only pool prefixes accepted",
                    f"{rcvd} accepted, only {inside} inside the pools",
                    "the router accepts prefixes outside the pools: the inbound ROUTERCTL "
                    "prefix-list is missing or too wide; run routerctl provision",
                    name,
                )
            )
    return out


def check_service(
    topology: Topology,
    router: Router,
    state: RouterState,
    svc: ClusterService,
    nodes: Sequence[Node],
) -> list[CheckResult]:
    """Pool membership, then the selected BGP route and its FIB next hops == announcers."""
    name = router.name
    label = f"{svc.qualified_name} {svc.address}"
    if topology.pool_for(svc.address) is None:
        pools = ", ".join(
            f"{p.name} ({', '.join(r.text for r in p.addresses)})" for p in topology.cluster.pools
        )
        return [
            _fail(
                f"pool {label}",
                Severity.CRITICAL,
                "inside a pool",
                f"{svc.address} is outside every pool",
                f"the router only accepts the pools {pools or '(none)'}: give the service an "
                "address from a pool or add its range to cluster.pools and provision",
                name,
            )
        ]
    announcers = [n for n in nodes if svc.announced_by(n.name)]
    want_addrs = frozenset(n.address for n in announcers)
    by_addr = {n.address: n.name for n in nodes}
    local = svc.traffic_policy == "Local"
    want = (
        f"B>* via a subset of {_fmt_addrs(want_addrs)} (Local policy)"
        if local
        else f"B>* via {_fmt_addrs(want_addrs)}"
    )
    cname = f"route {label}"
    route = _route_for(state, svc.address)
    if route is None:
        down = [n.name for n in announcers]
        return [
            _fail(
                cname,
                Severity.CRITICAL,
                want,
                "no BGP route",
                "no node announces it, or the router drops it: check the sessions of "
                f"{', '.join(down) or 'the nodes'} and that MetalLB advertises this pool",
                name,
            )
        ]
    if not route.selected:
        return [
            _fail(
                cname,
                Severity.CRITICAL,
                want,
                f"{route.prefix} not selected (another protocol or a better route wins)",
                "a static/connected/other route overrides the BGP one; remove it",
                name,
            )
        ]
    got = route.fib_nexthop_addresses
    if not route.fib or not got:
        return [
            _fail(
                cname,
                Severity.CRITICAL,
                want,
                f"{route.prefix} selected but not installed in the kernel FIB",
                "zebra could not install it (rejected 'r' or queued 'q'): check zebra's log "
                "and that the next hops are on a connected network",
                name,
            )
        ]

    def names(addrs: Iterable[IPAddress]) -> str:
        return ", ".join(f"{by_addr.get(a, '?')} ({a})" for a in sorted(addrs, key=int))

    observed = f"{route.prefix} via {names(got)}"
    extra = got - want_addrs
    missing = want_addrs - got
    if extra:
        return [
            _fail(
                cname,
                Severity.CRITICAL,
                want,
                observed,
                f"next hops that are not cluster nodes: {_fmt_addrs(extra)}; "
                "something else announces this address",
                name,
            )
        ]
    if missing and not local:
        sev = Severity.WARNING
        missing_names = names(missing)
        # the BGP table says whether the missing nodes announce it at all: if they do, the
        # router keeps a single next hop where ECMP was expected (maximum-paths)
        announced = {
            p.peer for p in state.pool_paths or () if p.prefix == route.prefix and p.peer in missing
        }
        if announced == missing:
            return [
                _fail(
                    cname,
                    sev,
                    want,
                    f"{observed}; {missing_names} "
                    f"{'announce' if len(missing) > 1 else 'announces'} it too, but the router "
                    "uses only the best path",
                    f"no ECMP: the router installs {len(got)} of {len(want_addrs)} paths; "
                    f"set maximum-paths {len(want_addrs)} or more (bgp.ecmp) and run "
                    "routerctl provision",
                    name,
                )
            ]
        return [
            _fail(
                cname,
                sev,
                want,
                f"{observed}; missing {missing_names}",
                f"degraded: not announced by {missing_names} (session down, speaker not "
                f"running there, or maximum-paths < {len(want_addrs)})",
                name,
            )
        ]
    return [_ok(cname, want, observed, name)]


def check_pending(router: Router, cluster: ClusterState) -> list[CheckResult]:
    """LoadBalancer services the cluster has not given an address."""
    return [
        _fail(
            f"address {svc}",
            Severity.WARNING,
            "an external IP from a pool",
            "pending: no ingress IP assigned",
            "MetalLB did not assign an address: the pool is exhausted, no pool matches the "
            "service's annotations, or the controller is not running",
            router.name,
        )
        for svc in cluster.pending
    ]


def check_stale(
    router: Router, state: RouterState, services: Sequence[ClusterService]
) -> list[CheckResult]:
    """BGP routes inside the pools that no expected service accounts for."""
    known = {s.address for s in services}
    out: list[CheckResult] = []
    peers: dict[IPNetwork, set[IPAddress]] = {}
    for path in _pool_paths(state):
        if path.peer is not None:
            peers.setdefault(path.prefix, set()).add(path.peer)
    for prefix, via in peers.items():
        if prefix.prefixlen == prefix.max_prefixlen and prefix.network_address not in known:
            out.append(
                _fail(
                    f"stale route {prefix}",
                    Severity.WARNING,
                    "no BGP route without a service",
                    f"{prefix} from {_fmt_addrs(via)}",
                    "announced but no LoadBalancer service has this address: a stale "
                    "announcement, or the topology's services/--cluster is out of date",
                    router.name,
                )
            )
    return out


def check_probes(router: Router, probes: Sequence[ProbeResult]) -> list[CheckResult]:
    out: list[CheckResult] = []
    for p in probes:
        cname = f"probe {p.service} {p.address}:{p.port} from {p.source}"
        want = f"{p.attempts}/{p.attempts} connections answered"
        observed = f"{p.succeeded}/{p.attempts} answered"
        if p.answers:
            observed += f"; answers: {', '.join(p.answers)}"
        if p.succeeded == p.attempts:
            out.append(_ok(cname, want, observed, router.name))
            continue
        sev = Severity.CRITICAL if p.succeeded == 0 else Severity.WARNING
        if p.error:
            observed += f"; {p.error}"
        hint = (
            "the route is there but the service does not answer: check the pods/endpoints and "
            "that nothing filters the port between router and nodes"
        )
        if p.source == "local":
            hint += "; from this host the service IPs need a route via the router"
        out.append(_fail(cname, sev, want, observed, hint, router.name))
    return out


def check_flaps(
    router: Router,
    state: RouterState,
    nodes: Sequence[Node],
    history: FlapHistory | None,
    *,
    interval: float | None,
) -> list[CheckResult]:
    """Sessions up for less than the check interval, or whose drop counter grew."""
    out: list[CheckResult] = []
    window = interval if interval is not None else (history.seconds_since if history else None)
    for node in nodes:
        summary = _summary_for(state, node.address)
        n = summary.neighbor(node.address) if summary else None
        if n is None or not n.established:
            continue
        reasons: list[str] = []
        prev = history.dropped.get(str(node.address)) if history else None
        if prev is not None and n.connections_dropped is not None and n.connections_dropped > prev:
            reasons.append(
                f"dropped {n.connections_dropped - prev} time(s) since the last run "
                f"({prev} -> {n.connections_dropped})"
            )
        was_up = (
            interval is not None
            or history is None
            or (history.established is not None and str(node.address) in history.established)
        )
        # Uptimes are whole seconds (floored) while the window since the last run is not:
        # a session that stayed up can read up to 1 s younger than the gap.
        slack = 0.0 if interval is not None else 1.0
        if window is not None and was_up and n.uptime is not None and n.uptime + slack < window:
            reasons.append(f"up only {n.uptime}s, less than the {int(window)}s interval")
        cname = f"flap {node.name}"
        if reasons:
            out.append(
                _fail(
                    cname,
                    Severity.WARNING,
                    "stable session",
                    "; ".join(reasons),
                    "the session went down and came back: check the node's link, load, and "
                    "hold timers (and the speaker's restarts)",
                    router.name,
                )
            )
        elif window is not None or prev is not None:
            out.append(_ok(cname, "stable session", f"up {_fmt_uptime(n.uptime)}", router.name))
    return out


def verify_router(
    topology: Topology,
    router: Router,
    state: RouterState,
    cluster: ClusterState,
    *,
    probes: Sequence[ProbeResult] = (),
    flaps: FlapHistory | None = None,
    interval: float | None = None,
    probe_requested: bool = False,
) -> list[CheckResult]:
    """Every check for one router, in a stable order."""
    results = check_daemons(router, state)
    if not all(r.ok for r in results):
        return results
    results += check_instance(router, state)
    if state.summary is None or state.summary.instance_missing:
        return results
    nodes = expected_nodes(topology, router, cluster)
    healthy = {n.name for n in nodes if _healthy_session(state, n)}
    for node in nodes:
        redundant = bool(healthy - {node.name})
        results += check_session(topology, router, state, node, redundant=redundant)
    results += check_dynamic(router, state, nodes)
    in_pool = [s for s in cluster.services if topology.pool_for(s.address) is not None]
    results += check_prefixes(router, state, nodes, services_exist=bool(in_pool))
    for svc in cluster.services:
        results += check_service(topology, router, state, svc, nodes)
    results += check_pending(router, cluster)
    if cluster.services or cluster.source != "topology":
        # without any expected service (a topology without services:) nothing is stale
        results += check_stale(router, state, cluster.services)
    results += check_probes(router, probes)
    if probe_requested and not probes:
        results.append(
            _fail(
                "probe",
                Severity.WARNING,
                "a service address:port to probe",
                "no expected service has a TCP port",
                "give services a port (services[].port in the topology) or use --cluster",
                router.name,
            )
        )
    results += check_flaps(router, state, nodes, flaps, interval=interval)
    return results


def unreachable(router: Router, message: str) -> CheckResult:
    """The single result for a router that could not be read."""
    return _fail(
        "reachable",
        Severity.UNKNOWN,
        f"SSH to {router.ssh.host}",
        message,
        "check the router is up and the ssh target/keys in the topology",
        router.name,
    )


def unreadable(router: Router, message: str) -> CheckResult:
    """The single result for a router whose output could not be read."""
    return _fail(
        "router state",
        Severity.UNKNOWN,
        "readable BGP state",
        message,
        "run routerctl support-bundle for this router and report it",
        router.name,
    )
