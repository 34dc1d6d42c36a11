"""The TextFSM path: index lookup, templates, records to the typed model."""

from __future__ import annotations

import csv
import functools
import io
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import textfsm

from routerctl._resources import parsers_dir
from routerctl.errors import ParseError
from routerctl.model import (
    BgpNeighbor,
    BgpSummary,
    IPAddress,
    NextHop,
    PoolPath,
    Route,
    SessionState,
    new_route,
)
from routerctl.parsing.detect import Prepared
from routerctl.parsing.fsm import FastFSM
from routerctl.parsing.values import (
    ASN_MAX,
    parse_asn,
    parse_count,
    parse_ip,
    parse_neighbor_name,
    parse_prefix,
    parse_state,
    parse_uptime,
    shown,
)


@dataclass(frozen=True)
class IndexEntry:
    suite: str
    command: re.Pattern[str]
    template: str


@functools.cache
def index() -> tuple[IndexEntry, ...]:
    """The template index (``parsers/index``): (suite, command regex, template)."""
    text = parsers_dir().joinpath("index").read_text(encoding="utf-8")
    rows = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    entries = []
    for row in list(csv.reader(rows, skipinitialspace=True))[1:]:
        suite, command, template = (c.strip() for c in row)
        entries.append(IndexEntry(suite, re.compile(command), template))
    return tuple(entries)


def template_for(suite: str, command: str) -> str:
    """Template file name for (suite, normalised command), or ParseError."""
    for entry in index():
        if entry.suite == suite and entry.command.fullmatch(command):
            return entry.template
    known = sorted({e.command.pattern for e in index() if e.suite == suite})
    raise ParseError(
        f"no {suite} template for command {command!r}",
        hint=f"supported: {'; '.join(known)}" if known else "supported suites: frr, quagga",
    )


@functools.cache
def _template_source(name: str) -> str:
    return parsers_dir().joinpath(name).read_text(encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Table:
    """A template's output: the Value names and one list per record."""

    header: list[str]
    rows: list[list[Any]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.header, row, strict=True)) for row in self.rows]


def run_template(name: str, prepared: Prepared) -> Table:
    """Run one template over prepared lines; ParseError names template, line number, line."""
    fsm = FastFSM(io.StringIO(_template_source(name)))
    try:
        rows = fsm.ParseText("\n".join(prepared.lines) + "\n")
    except textfsm.TextFSMError as exc:
        idx = max(fsm.lines_seen - 1, 0)
        line = prepared.lines[idx] if idx < len(prepared.lines) else ""
        raise ParseError(
            f"{name}: line {prepared.first_line + idx}: cannot parse {shown(line.strip(), 200)}",
            hint="not a Quagga/FRR output of this command, or a format this template lacks; "
            "check --suite/--command",
        ) from exc
    return Table(fsm.header, rows)


# --- BGP summary -----------------------------------------------------------------------------


def summaries_from_rows(
    rows: Sequence[dict[str, Any]], *, afi_hint: tuple[str, str]
) -> list[BgpSummary]:
    """Group neighbor records into one BgpSummary per (VRF, AFI/SAFI) section."""
    sections: dict[tuple[str, ...], list[BgpNeighbor]] = {}
    heads: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in ("VRF", "VRF_ID", "AFI", "SAFI", "ROUTER_ID", "LOCAL_AS"))
        neighbors = sections.setdefault(key, [])
        heads.setdefault(key, row)
        if row["NEIGHBOR"] or row["VERSION"]:
            neighbors.append(_neighbor(row))
    out = []
    for key, neighbors in sections.items():
        head = heads[key]
        vrf = head["VRF"] or None
        if vrf == "default" or (vrf is None and head["VRF_ID"] == "0"):
            vrf = None
        router_id = parse_ip(head["ROUTER_ID"]) if head["ROUTER_ID"] else None
        local_as = head["LOCAL_AS"]
        out.append(
            BgpSummary(
                router_id=router_id if isinstance(router_id, ipaddress.IPv4Address) else None,
                local_as=parse_asn(local_as, field="local AS number")
                if local_as and local_as[0].isdigit()
                else None,
                neighbors=tuple(neighbors),
                vrf=vrf,
                afi=(head["AFI"] or afi_hint[0]).lower(),
                safi=(head["SAFI"] or afi_hint[1]).lower(),
                rib_entries=parse_count(head["RIB_ENTRIES"], field="RIB entries")
                if head["RIB_ENTRIES"]
                else None,
            )
        )
    return out


def _neighbor(row: dict[str, Any]) -> BgpNeighbor:
    address, interface, hostname = parse_neighbor_name(row["NEIGHBOR"])
    where = f"neighbor {shown(row['NEIGHBOR'])}"

    def count(key: str, what: str, hi: int | None = None) -> int:
        field = f"{where}: {what}"
        return (
            parse_count(row[key], field=field)
            if hi is None
            else parse_count(row[key], field=field, hi=hi)
        )

    state_text: str = row["STATE_PFXRCD"]
    received: int | None = None
    blocked_in = False
    if state_text.isdigit():
        state, received = SessionState.ESTABLISHED, count("STATE_PFXRCD", "State/PfxRcd")
    elif state_text in ("(Policy)", "(NoNeg)"):
        state, blocked_in = SessionState.ESTABLISHED, state_text == "(Policy)"
    else:
        state = parse_state(state_text)
    sent_text: str = row["PFXSNT"]
    description = row["DESCRIPTION"] or None
    return BgpNeighbor(
        address=address,
        remote_as=parse_asn(row["REMOTE_AS"], field=f"{where}: AS", lo=0),
        state=state,
        interface=interface,
        hostname=hostname,
        description=None if description == "N/A" else description,
        version=count("VERSION", "V", hi=255),
        messages_received=count("MSG_RCVD", "MsgRcvd"),
        messages_sent=count("MSG_SENT", "MsgSent"),
        table_version=count("TABLE_VERSION", "TblVer"),
        in_queue=count("IN_QUEUE", "InQ"),
        out_queue=count("OUT_QUEUE", "OutQ"),
        uptime=_uptime(row["UPTIME"], where),
        prefixes_received=received,
        prefixes_sent=count("PFXSNT", "PfxSnt") if sent_text.isdigit() else None,
        policy_blocked_in=blocked_in,
        policy_blocked_out=sent_text == "(Policy)",
        dynamic=row.get("DYNAMIC") == "*",
    )


# --- routes ----------------------------------------------------------------------------------

PROTOCOLS = {
    "K": "kernel",
    "C": "connected",
    "L": "local",
    "S": "static",
    "R": "rip",
    "O": "ospf",
    "I": "isis",
    "B": "bgp",
    "E": "eigrp",
    "N": "nhrp",
    "T": "table",
    "v": "vnc",
    "V": "vnc-direct",
    "A": "babel",
    "D": "sharp",
    "F": "pbr",
    "f": "openfabric",
    "t": "table-direct",
    "P": "pim",
    "H": "hsls",
    "Z": "zebra",
}
PROTOCOLS_V6 = {"O": "ospf6", "R": "ripng"}
_NO_DISTANCE_SHOWN = frozenset({"connected", "local"})  # FRR omits [0/0] only for these


def routes_from_table(table: Table, *, suite: str) -> list[Route]:
    """One Route per route entry; NH_STATUS/NEXTHOP lists become NextHop tuples.

    What repeats from route to route is converted once per parse and looked up after
    that: the next hops with their status characters (a handful of nodes), distances,
    metrics, uptimes (issue 17). A row the fast path cannot take as it is (anything
    raised) goes through ``_route_from_row``, the reference conversion, so a bad row
    fails with the reference's error."""
    col = {name: i for i, name in enumerate(table.header)}
    i_prefix, i_code, i_selected = col["PREFIX"], col["PROTOCOL"], col["SELECTED"]
    i_status, i_hops, i_uptime = col["NH_STATUS"], col["NEXTHOP"], col["UPTIME"]
    i_distance, i_metric, i_vrf = col["DISTANCE"], col["METRIC"], col.get("VRF")
    frr = suite == "frr"
    # (statuses, next hops) -> (NextHop tuple, fib, rejected, queued)
    hop_sets: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[Any, ...]] = {}
    distances: dict[str, int] = {}
    metrics: dict[str, int] = {}
    uptimes: dict[str, int | None] = {}
    protocols: dict[tuple[str, int], str] = {}
    out = []
    route: Route | None
    for row in table.rows:
        try:
            prefix = parse_prefix(row[i_prefix])
            key = (row[i_code], prefix.version)
            protocol = protocols.get(key)
            if protocol is None:
                protocol = protocols[key] = _protocol(*key)
            statuses: list[str] = row[i_status]
            hop_key = (tuple(statuses), tuple(row[i_hops]))
            hops = hop_sets.get(hop_key)
            if hops is None:
                hops = hop_sets[hop_key] = _hop_set(*hop_key, f"route {prefix}")
            text = row[i_distance]
            distance = (
                (distances[text] if text in distances else _cached_count(distances, text, 255))
                if text
                else None
            )
            text = row[i_metric]
            metric = (
                (metrics[text] if text in metrics else _cached_count(metrics, text, ASN_MAX))
                if text
                else None
            )
            if distance is None and frr and protocol in _NO_DISTANCE_SHOWN:
                distance = metric = 0
            text = row[i_uptime]
            uptime = uptimes[text] if text in uptimes else _cached_uptime(uptimes, text)
            vrf = (row[i_vrf] or None) if i_vrf is not None else None
            route = new_route(
                prefix=prefix,
                protocol=protocol,
                selected=row[i_selected] == ">",
                fib=hops[1],
                distance=distance,
                metric=metric,
                uptime=uptime,
                nexthops=hops[0],
                rejected=hops[2],
                queued=hops[3],
                vrf=None if vrf == "default" else vrf,
            )
        except Exception:  # outside this block: no fast-path exception as its context
            route = None
        if route is None:
            route = _route_from_row(dict(zip(table.header, row, strict=True)), suite=suite)
        out.append(route)
    return out


def _protocol(code: str, version: int) -> str:
    return (PROTOCOLS_V6.get(code) if version == 6 else None) or PROTOCOLS.get(code, code)


def _hop_set(
    statuses: tuple[str, ...], texts: tuple[str, ...], where: str
) -> tuple[tuple[NextHop, ...], bool, bool, bool]:
    nexthops = tuple(_nexthop(s, nh, where) for s, nh in zip(statuses, texts, strict=True))
    fib = any(s in "*otd" and s != " " for s in statuses)  # t/o/d: installed, see legend
    return nexthops, fib, "r" in statuses, "q" in statuses


def _cached_count(cache: dict[str, int], text: str, hi: int) -> int:
    value = cache[text] = parse_count(text, field="count", hi=hi)  # raises: the reference's
    return value


def _cached_uptime(cache: dict[str, int | None], text: str) -> int | None:
    value = cache[text] = parse_uptime(text)  # raises: the reference's error instead
    return value


def _route_from_row(row: dict[str, Any], *, suite: str) -> Route:
    """The reference conversion of one row (and its errors)."""
    try:
        prefix = parse_prefix(row["PREFIX"])
    except ValueError as exc:
        raise ParseError(f"route {shown(row['PREFIX'])}: not a prefix") from exc
    where = f"route {prefix}"
    code: str = row["PROTOCOL"]
    protocol = _protocol(code, prefix.version)
    statuses: list[str] = row["NH_STATUS"]
    nexthops = tuple(_nexthop(s, nh, where) for s, nh in zip(statuses, row["NEXTHOP"], strict=True))
    distance = (
        parse_count(row["DISTANCE"], field=f"{where}: distance", hi=255)
        if row["DISTANCE"]
        else None
    )
    metric = (
        parse_count(row["METRIC"], field=f"{where}: metric", hi=ASN_MAX) if row["METRIC"] else None
    )
    if distance is None and suite == "frr" and protocol in _NO_DISTANCE_SHOWN:
        distance = metric = 0
    vrf = row.get("VRF") or None
    return Route(
        prefix=prefix,
        protocol=protocol,
        selected=row["SELECTED"] == ">",
        fib=any(s in "*otd" and s != " " for s in statuses),  # t/o/d: installed, see legend
        distance=distance,
        metric=metric,
        uptime=_uptime(row["UPTIME"], where),
        nexthops=nexthops,
        rejected="r" in statuses,
        queued="q" in statuses,
        vrf=None if vrf == "default" else vrf,
    )


def pool_paths_from_rows(rows: Sequence[dict[str, Any]]) -> list[PoolPath]:
    """Quagga's BGP table rows: one PoolPath per valid (``*``) path, keyed by its next hop.

    The next hop stands for the peer (an eBGP node announces itself as the next hop, as
    MetalLB's speakers do). Quagga marks the best path ``>`` and the other paths it uses
    ``=``; both are multipath when the network has an ``=`` path.
    """
    out: list[PoolPath] = []
    multi: set[str] = {row["NETWORK"] for row in rows if row["BEST"] == "="}
    for row in rows:
        if row["VALID"] != "*":
            continue
        try:
            prefix = parse_prefix(row["NETWORK"])
        except ValueError as exc:
            raise ParseError(f"BGP path {shown(row['NETWORK'])}: not a prefix") from exc
        try:
            peer = _address(row["NEXTHOP"])
        except ValueError as exc:
            raise ParseError(f"BGP path {prefix}: next hop {shown(row['NEXTHOP'])}") from exc
        best = row["BEST"] == ">"
        out.append(
            PoolPath(
                prefix,
                peer,
                best=best,
                multipath=row["BEST"] == "=" or (best and row["NETWORK"] in multi),
            )
        )
    return out


# Field extraction from a NEXTHOP string the template has already validated (the
# template's regex has no named groups: TextFSM's per-group bookkeeping is its hot spot).
_NEXTHOP_FIELDS = re.compile(
    r"(?:via (?P<address>[0-9A-Fa-f.:]+)"
    r"(?:, (?!weight |src |rmapsrc |label )(?P<interface>[^\s,()]+))?"
    r"|(?P<connected>is directly connected), (?P<conn_if>[^\s,()]+)"
    r"|unreachable(?: \((?P<unreachable>[^)]+)\))?(?P<unreach_any>))"
    r"(?: ?\(vrf (?P<vrf>[^\s()]+)\))?(?: \(duplicate nexthop removed\))?"
    r"(?: (?P<inactive>inactive))?(?: (?P<onlink>onlink))?(?: linkdown)?"
    r"(?: \((?P<recursive>recursive)\))?"
    r"(?:, (?:rmap)?src \S+?)?(?:, label \S+?)?(?:, weight (?P<weight>\d+))?"
    r"(?:, (?P<bh>bh))?(?:, (?P<rej>rej))?"
)


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> IPAddress:
    """Next-hop addresses repeat (a handful of nodes): parse each once."""
    return ipaddress.ip_address(text)


def _uptime(text: str, where: str) -> int | None:
    try:
        return parse_uptime(text)
    except ValueError as exc:
        raise ParseError(f"{where}: {exc}") from exc


def _nexthop(status: str, text: str, where: str) -> NextHop:
    m = _NEXTHOP_FIELDS.fullmatch(text)
    if m is None:  # the template accepted it, so this is a bug in this regex
        raise ParseError(f"next hop {shown(text)} passed the template but not the field regex")
    address, unreachable, weight = m["address"], m["unreachable"], m["weight"]
    try:
        ip = _address(address) if address else None
    except ValueError as exc:
        raise ParseError(f"{where}: next hop {shown(address)} is not an address") from exc
    return NextHop(
        address=ip,
        interface=m["interface"] or m["conn_if"],
        active=m["inactive"] is None,
        fib=status == "*",
        directly_connected=m["connected"] is not None,
        recursive=m["recursive"] is not None,
        onlink=m["onlink"] is not None,
        blackhole=unreachable == "blackhole" or m["bh"] is not None,
        unreachable=m["unreach_any"] is not None or bool(m["bh"] or m["rej"]),
        weight=parse_count(weight, field=f"{where}: weight") if weight else None,
        vrf=m["vrf"],
    )
