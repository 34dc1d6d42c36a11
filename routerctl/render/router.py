"""Render the router side: the BGP config one router should run, per suite dialect.

API (pure, no I/O)::

    cfg = render_router(topology, router_name=None, suite="frr", redact=False)
    cfg.text()        # the block exactly as ``show running-config`` prints it
    cfg.sections      # tuple[Section, ...]: "router-bgp", "prefix-list", "route-map"
    cfg.commands()    # configure-mode commands in an order vtysh applies without warnings
    cfg.owned_lines() # every line routerctl owns (for plan/diff), ``router bgp`` header excluded

A ``Section`` is one top-level item of the running config: ``kind``, ``key`` (what
identifies it: ``router bgp 65000``, ``ip prefix-list ROUTERCTL-IN-V4``,
``route-map ROUTERCTL-IN permit 10``) and ``lines`` as printed, indentation included,
header first, without the ``!`` separators. Everything routerctl owns is named with
the ``ROUTERCTL`` prefix (peer-group, prefix-lists, route-maps) or is a neighbor of
that peer-group; ``bgp router-id`` and ``maximum-paths`` are owned too.

Canonical form (checked against FRR 8.4): neighbors sorted by address (IPv4 first),
peer-group options in FRR's print order, ipv4 ``activate`` implicit, per family
route-maps before ``maximum-paths``. ``maximum-paths`` equal to the build's
multipath limit is not printed by FRR: pass ``multipath_num`` when it is known.
The password comes only from ``Secret.resolve()``; ``redact=True`` prints
``<redacted>`` and does not read the secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from routerctl.errors import TopologyError
from routerctl.model import IPNetwork
from routerctl.platform import PROFILES, Dialect
from routerctl.redact import REDACTED
from routerctl.topology import Node, Router, Topology
from routerctl.topology.model import DYNAMIC_LIMIT_DEFAULT

PEER_GROUP = "ROUTERCTL"
ROUTE_MAP_IN = "ROUTERCTL-IN"
ROUTE_MAP_OUT = "ROUTERCTL-OUT"
PREFIX_LIST = {4: "ROUTERCTL-IN-V4", 6: "ROUTERCTL-IN-V6"}
_MD5_KEY_MAX = 80  # TCP_MD5SIG_MAXKEYLEN
_PL_KEYWORD = {4: "ip", 6: "ipv6"}
_MAX_LEN = {4: 32, 6: 128}


@dataclass(frozen=True)
class Section:
    """One top-level item of the running config, as ``show running-config`` prints it."""

    kind: str  # "router-bgp" | "prefix-list" | "route-map"
    key: str
    lines: tuple[str, ...]

    @property
    def body(self) -> tuple[str, ...]:
        """The lines under the header (the footer ``exit`` excluded)."""
        return tuple(line for line in self.lines[1:] if line != "exit")


@dataclass(frozen=True)
class RouterConfig:
    """The desired BGP config for one router in one dialect."""

    router: str
    suite: str
    asn: int
    sections: tuple[Section, ...]
    save_command: str
    redacted: bool

    def text(self) -> str:
        """The config block, sections separated by ``!`` as vtysh prints them."""
        out: list[str] = []
        for section in self.sections:
            out.extend(section.lines)
            out.append("!")
        return "\n".join(out) + "\n"

    def section(self, kind: str) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.kind == kind)

    def owned_lines(self) -> tuple[str, ...]:
        """Every line routerctl owns, stripped of indentation (headers of its own blocks
        included, the shared ``router bgp`` header and block keywords excluded)."""
        skip = {"!", "exit", "exit-address-family"}
        out: list[str] = []
        for section in self.sections:
            lines = section.lines[1:] if section.kind == "router-bgp" else section.lines
            out.extend(s for s in (line.strip() for line in lines) if s not in skip)
        return tuple(out)

    def commands(self) -> list[str]:
        """Configure-mode commands: prefix-lists, route-maps, then ``router bgp``."""
        order = {"prefix-list": 0, "route-map": 1, "router-bgp": 2}
        out: list[str] = []
        for section in sorted(self.sections, key=lambda s: order[s.kind]):
            for line in section.lines:
                s = line.strip()
                if s and s != "!":
                    out.append(s)
            if section.kind == "route-map" and out[-1] != "exit":
                out.append("exit")
        return out


def _sorted_nodes(nodes: tuple[Node, ...]) -> list[Node]:
    return sorted(nodes, key=lambda n: (n.address.version, int(n.address)))


def _families(topology: Topology) -> dict[int, list[IPNetwork]]:
    """Pool networks per IP version, in pool order, duplicates collapsed."""
    out: dict[int, list[IPNetwork]] = {}
    for net in topology.iter_pool_networks():
        nets = out.setdefault(net.version, [])
        if net not in nets:
            nets.append(net)
    return dict(sorted(out.items()))


def _timers(topology: Topology) -> tuple[int, int] | None:
    """(keepalive, hold) or None; a missing one is derived like MetalLB does (hold/3)."""
    bgp = topology.bgp
    if bgp.hold_time is None and bgp.keepalive_time is None:
        return None
    if bgp.hold_time is None:
        keepalive = bgp.keepalive_time or 0
        return keepalive, min(65535, keepalive * 3)
    hold = bgp.hold_time
    keepalive = bgp.keepalive_time if bgp.keepalive_time is not None else hold // 3
    return keepalive, hold


def render_router(
    topology: Topology,
    router_name: str | None = None,
    *,
    suite: str | None = None,
    redact: bool = False,
    multipath_num: int | None = None,
) -> RouterConfig:
    """The desired config for one router. ``suite`` defaults to the router's, else FRR."""
    router = topology.router(router_name)
    name = suite or (router.suite if router.suite != "auto" else "frr")
    if name not in PROFILES:
        raise TopologyError(
            f"unknown suite {name!r}", field="suite", hint=f"use one of: {', '.join(PROFILES)}"
        )
    profile = PROFILES[name]
    dialect = profile.dialect
    check_dynamic_supported(topology, router, suite=profile.name, listen_range=profile.listen_range)
    _check_supported(topology, router, dialect, multipath_num)
    password: str | None = None
    if topology.bgp.password is not None:
        password = REDACTED if redact else _resolve(topology)
    sections = [_router_bgp(topology, router, dialect, password, multipath_num)]
    families = _families(topology)
    for version, nets in families.items():
        kw = _PL_KEYWORD[version]
        pl_lines = tuple(
            f"{kw} prefix-list {PREFIX_LIST[version]} seq {5 * (i + 1)} permit {net}"
            + ("" if net.prefixlen == _MAX_LEN[version] else f" le {_MAX_LEN[version]}")
            for i, net in enumerate(nets)
        )
        sections.append(
            Section("prefix-list", f"{kw} prefix-list {PREFIX_LIST[version]}", pl_lines)
        )
    for i, version in enumerate(families):
        header = f"route-map {ROUTE_MAP_IN} permit {10 * (i + 1)}"
        lines = [
            header,
            f" match {_PL_KEYWORD[version]} address prefix-list {PREFIX_LIST[version]}",
        ]
        if dialect.route_map_footer:
            lines.append(dialect.route_map_footer)
        sections.append(Section("route-map", header, tuple(lines)))
    header = f"route-map {ROUTE_MAP_OUT} deny 10"
    out_lines = [header] + ([dialect.route_map_footer] if dialect.route_map_footer else [])
    sections.append(Section("route-map", header, tuple(out_lines)))
    return RouterConfig(
        router=router.name,
        suite=dialect.name,
        asn=router.asn,
        sections=tuple(sections),
        save_command=profile.save_command,
        redacted=redact,
    )


def _resolve(topology: Topology) -> str:
    """The password; a failure points at the password's line in the topology file."""
    assert topology.bgp.password is not None
    try:
        password = topology.bgp.password.resolve()
    except TopologyError as exc:
        field = exc.field or "bgp.password"
        raw = exc.message.removeprefix(f"{field}: ")
        raise topology.error(field, raw, hint=exc.hint) from None
    # Linux TCP-MD5 keys are at most 80 bytes; never echo the value
    # bgpd takes the password as one WORD: printable ASCII, no spaces (checked on FRR 8.4)
    if not 0 < len(password) <= _MD5_KEY_MAX or not all("!" <= c <= "~" for c in password):
        raise topology.error(
            "bgp.password",
            f"the password from {topology.bgp.password.describe()} must be 1..80 printable"
            " ASCII characters without spaces",
            hint="bgpd reads it as one word; choose another password",
        )
    return password


def check_dynamic_supported(
    topology: Topology, router: Router, *, suite: str, listen_range: bool
) -> None:
    """Refuse ``dynamic_neighbors`` on a suite without ``bgp listen range`` (Quagga)."""
    if router.dynamic_neighbors is None or listen_range:
        return
    raise topology.error(
        topology.router_field(router, "dynamic_neighbors"),
        f"router {router.name}'s suite is {suite}, which has no 'bgp listen range' (dynamic"
        " neighbors); nothing was changed",
        hint="remove dynamic_neighbors: the nodes in cluster.nodes become static neighbors"
        " (provision again when nodes change), or move the router to FRR",
    )


def _check_supported(
    topology: Topology, router: Router, dialect: Dialect, multipath_num: int | None
) -> None:
    bgp = topology.bgp
    cap = multipath_num if multipath_num is not None else dialect.max_paths_cap
    if cap is not None and bgp.ecmp > cap:
        raise topology.error(
            "bgp.ecmp",
            f"ecmp {bgp.ecmp} is more than {dialect.name} accepts for maximum-paths ({cap})",
            hint=f"lower bgp.ecmp to {cap} or less",
        )
    if bgp.bfd and not dialect.bfd:
        raise topology.error(
            "bgp.bfd",
            f"{dialect.name} has no BFD support in bgpd",
            hint="set bgp.bfd: false, or use FRR",
        )
    if not topology.nodes_for(router):
        raise topology.error(
            "cluster.nodes",
            f"no node peers with router {router.name!r}",
            hint="check the router's node_selector against the node labels",
        )


def _listen_lines(router: Router) -> list[str]:
    """``bgp listen limit`` (unless FRR's default), then the range: FRR's print order
    (``bgp_config_write_listen``, after the neighbors; FRR 8.4 and 10.4.1)."""
    dyn = router.dynamic_neighbors
    if dyn is None:
        return []
    out = []
    if dyn.limit is not None and dyn.limit != DYNAMIC_LIMIT_DEFAULT:
        out.append(f" bgp listen limit {dyn.limit}")
    out.append(f" bgp listen range {dyn.listen_range} peer-group {PEER_GROUP}")
    return out


def _router_bgp(
    topology: Topology,
    router: Router,
    dialect: Dialect,
    password: str | None,
    multipath_num: int | None,
) -> Section:
    bgp = topology.bgp
    g = f"neighbor {PEER_GROUP}"
    ibgp = router.asn == topology.cluster.asn
    header = f"router bgp {router.asn}"
    lines = [header]
    if router.router_id is not None:
        lines.append(f" bgp router-id {router.router_id}")
    if bgp.graceful_restart and dialect.graceful_restart == "router":
        lines.append(" bgp graceful-restart")

    options: dict[str, str | None] = {
        "remote-as": f" {g} remote-as {topology.cluster.asn}",
        "bfd": f" {g} bfd" if bgp.bfd else None,
        "password": f" {g} password {password}" if password is not None else None,
        # iBGP sessions are multihop already; bgpd ignores ebgp-multihop for them
        "ebgp-multihop": (
            f" {g} ebgp-multihop {bgp.ebgp_multihop}" if bgp.ebgp_multihop and not ibgp else None
        ),
        "timers": None,
        "timers-connect": (
            f" {g} timers connect {bgp.connect_retry}" if bgp.connect_retry is not None else None
        ),
        "graceful-restart": (
            f" {g} graceful-restart"
            if bgp.graceful_restart and dialect.graceful_restart == "peer"
            else None
        ),
    }
    timers = _timers(topology)
    if timers is not None:
        options["timers"] = f" {g} timers {timers[0]} {timers[1]}"
    lines.append(f" {g} peer-group")
    lines.extend(line for key in dialect.peer_option_order if (line := options.get(key)))

    nodes = _sorted_nodes(topology.nodes_for(router))
    # ipv4 unicast is always policed: bgpd activates it for every neighbor by default
    families = sorted({4} | set(_families(topology)))
    # FRR omits maximum-paths equal to the build's multipath limit; Quagga omits 1
    default_paths = (
        dialect.max_paths_default if dialect.max_paths_default is not None else multipath_num
    )

    def af_lines(version: int, indent: str) -> dict[str, list[str]]:
        paths = []
        if bgp.ecmp != default_paths:
            paths.append(f"{indent}maximum-paths {bgp.ecmp}")
            if ibgp:
                paths.append(f"{indent}maximum-paths ibgp {bgp.ecmp}")
        activate = version != 4 or dialect.print_ipv4_activate
        return {
            "activate": [f"{indent}{g} activate"] if activate else [],
            "route-map": [
                f"{indent}{g} route-map {ROUTE_MAP_IN} in",
                f"{indent}{g} route-map {ROUTE_MAP_OUT} out",
            ],
            "members": (
                [f"{indent}neighbor {n.address} peer-group {PEER_GROUP}" for n in nodes]
                if dialect.members_in_af and (version != 4 or dialect.af_header_v4)
                else []
            ),
            "maximum-paths": paths,
        }

    # nodes inside the listen range peer dynamically: no neighbor lines of their own
    nodes = [n for n in nodes if not router.dynamic(n)]
    member_lines: list[str] = []
    for node in nodes:
        member_lines.append(f" neighbor {node.address} peer-group {PEER_GROUP}")
        member_lines.append(f" neighbor {node.address} description {node.name}")

    if dialect.af_header_v4 is None:
        # Quagga: ipv4 unicast is the router level; the group's policy follows its options
        v4 = af_lines(4, " ")
        lines.extend(v4["activate"] + v4["route-map"])
        lines.extend(member_lines)
        lines.extend(v4["maximum-paths"])
    else:
        lines.extend(member_lines)
    lines.extend(_listen_lines(router))

    for version in families:
        af_header = dialect.af_header_v4 if version == 4 else dialect.af_header_v6
        if af_header is None:
            continue
        parts = af_lines(version, dialect.af_indent)
        lines.append(dialect.af_separator)
        lines.append(f" {af_header}")
        for key in dialect.af_order:
            lines.extend(parts[key])
        lines.append(dialect.af_footer)
    if dialect.router_footer:
        lines.append(dialect.router_footer)
    return Section("router-bgp", header, tuple(lines))
