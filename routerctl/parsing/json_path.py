"""The FRR JSON path: ``... json`` outputs into the same typed model as the text path."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import re
from typing import Any

from routerctl.errors import ParseError
from routerctl.model import BgpNeighbor, BgpSummary, IPAddress, NextHop, Route, SessionState
from routerctl.parsing.detect import Prepared
from routerctl.parsing.values import (
    parse_asn,
    parse_ip,
    parse_neighbor_name,
    parse_state,
    parse_uptime,
)

_AFI_KEY = re.compile(r"(ipv4|ipv6|l2Vpn)([A-Z]\w*)")


def load(prepared: Prepared, *, what: str) -> Any:
    """Decode the JSON document; ParseError names the line and column."""
    text = "\n".join(prepared.lines)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        line = prepared.lines[exc.lineno - 1] if exc.lineno <= len(prepared.lines) else ""
        raise ParseError(
            f"{what} JSON: line {prepared.first_line + exc.lineno - 1} column {exc.colno}: "
            f"{exc.msg}: {line.strip()[:80]!r}",
            hint="pass the complete output of the `... json` command",
        ) from exc


def _need(obj: dict[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise ParseError(
            f"FRR JSON: {where}: missing key {key!r}",
            hint="not the output of the command given; check --command",
        )
    return obj[key]


# --- BGP summary -----------------------------------------------------------------------------


def summaries(doc: Any, *, afi_hint: tuple[str, str]) -> list[BgpSummary]:
    """``show [ip] bgp [vrf X|all] [afi safi] summary json`` in any of its nestings."""
    out = _summaries(doc, afi_hint=afi_hint)
    if not out:
        raise ParseError(
            "FRR JSON: no BGP summary in this document (no routerId/peers, no ipv4Unicast...)",
            hint="not the output of `show bgp summary json`; check --command",
        )
    return out


def _summaries(doc: Any, *, afi_hint: tuple[str, str]) -> list[BgpSummary]:
    if not isinstance(doc, dict):
        raise ParseError("FRR JSON: BGP summary: expected an object at the top level")
    if not doc:
        return [BgpSummary(router_id=None, local_as=None, instance_missing=True)]
    if "peers" in doc or "routerId" in doc:  # one AFI/SAFI, not wrapped
        return [_summary(doc, afi_hint[0], afi_hint[1], "summary")]
    out: list[BgpSummary] = []
    for key, value in doc.items():
        if m := _AFI_KEY.fullmatch(key):
            out.append(_summary(value, m[1].lower(), m[2].lower(), key))
        elif isinstance(value, dict):  # vrf all: {vrf: {afiSafi: {...}}}
            out.extend(_summaries(value, afi_hint=afi_hint))
    return out


def _summary(obj: dict[str, Any], afi: str, safi: str, where: str) -> BgpSummary:
    vrf = obj.get("vrfName")
    router_id = parse_ip(str(_need(obj, "routerId", where)))
    peers = obj.get("peers", {})
    return BgpSummary(
        router_id=router_id if isinstance(router_id, ipaddress.IPv4Address) else None,
        local_as=parse_asn(_need(obj, "as", where)),
        neighbors=tuple(_peer(name, p, f"{where}.peers.{name}") for name, p in peers.items()),
        vrf=None if vrf in (None, "default") else vrf,
        afi=afi,
        safi=safi,
        rib_entries=obj.get("ribCount"),
    )


def _peer(name: str, p: dict[str, Any], where: str) -> BgpNeighbor:
    address, interface, _ = parse_neighbor_name(name)
    state = _state(_need(p, "state", where), where)
    established = state is SessionState.ESTABLISHED
    received = p.get("pfxRcd", p.get("prefixReceivedCount"))
    sent = p.get("pfxSnt")
    policy = established and p.get("peerState") == "Policy"
    # FRR's JSON says only "a policy is missing"; a direction that has prefixes has one.
    blocked_in = policy and not received
    blocked_out = policy and not sent
    uptime_text = p.get("peerUptime")
    try:
        uptime = parse_uptime(uptime_text)
    except ValueError:
        msec = p.get("peerUptimeMsec")
        uptime = None if msec is None else int(msec) // 1000
    desc = p.get("desc")
    return BgpNeighbor(
        address=address,
        remote_as=parse_asn(_need(p, "remoteAs", where)),
        state=state,
        interface=interface,
        description=desc or None,
        version=int(p.get("version", 4)),
        messages_received=int(p.get("msgRcvd", 0)),
        messages_sent=int(p.get("msgSent", 0)),
        table_version=int(p.get("tableVersion", 0)),
        in_queue=int(p.get("inq", 0)),
        out_queue=int(p.get("outq", 0)),
        uptime=uptime,
        prefixes_received=int(received)
        if established and not blocked_in and received is not None
        else None,
        prefixes_sent=None if blocked_out or sent is None else int(sent),
        policy_blocked_in=blocked_in,
        policy_blocked_out=blocked_out,
        connections_dropped=None,
        dynamic=bool(p.get("dynamicPeer")),
    )


def _state(text: str, where: str) -> SessionState:
    try:
        return parse_state(text)
    except ValueError as exc:
        raise ParseError(f"FRR JSON: {where}: {exc}") from exc


# --- show bgp neighbors json -----------------------------------------------------------------


def neighbors(doc: Any) -> dict[str, BgpNeighbor]:
    """``show bgp [vrf X|all] neighbors json`` keyed by neighbor (address or interface)."""
    if not isinstance(doc, dict):
        raise ParseError("FRR JSON: BGP neighbors: expected an object at the top level")
    out: dict[str, BgpNeighbor] = {}
    for name, value in doc.items():
        if not isinstance(value, dict):
            continue  # vrfId / vrfName of a vrf-all wrapper
        if "vrfName" in value and "bgpState" not in value:
            out.update(neighbors(value))
            continue
        out[name] = _detail_neighbor(name, value)
    return out


def _detail_neighbor(name: str, p: dict[str, Any]) -> BgpNeighbor:
    where = f"neighbors.{name}"
    address, interface, _ = parse_neighbor_name(name)
    state = _state(_need(p, "bgpState", where), where)
    if state is SessionState.IDLE and p.get("adminShutDown"):
        state = SessionState.ADMIN_DOWN
    established = state is SessionState.ESTABLISHED
    stats = p.get("messageStats", {}) or {}
    afs = p.get("addressFamilyInfo", {}) or {}
    accepted = [af["acceptedPrefixCounter"] for af in afs.values() if "acceptedPrefixCounter" in af]
    sent = [af["sentPrefixCounter"] for af in afs.values() if "sentPrefixCounter" in af]
    uptime_text = p.get("bgpTimerUpString")
    msec = p.get("bgpTimerUpMsec")
    uptime = (int(msec) // 1000 if msec is not None else None) if established else None
    if uptime_text and established:
        with contextlib.suppress(ValueError):
            uptime = parse_uptime(uptime_text)
    return BgpNeighbor(
        address=address,
        remote_as=parse_asn(_need(p, "remoteAs", where)),
        state=state,
        interface=interface if interface else None,
        description=p.get("nbrDesc") or None,
        version=int(p.get("bgpVersion", 4)),
        messages_received=int(stats.get("totalRecv", 0)),
        messages_sent=int(stats.get("totalSent", 0)),
        in_queue=int(stats.get("depthInq", 0)),
        out_queue=int(stats.get("depthOutq", 0)),
        uptime=uptime,
        prefixes_received=sum(accepted) if established and accepted else None,
        prefixes_sent=sum(sent) if sent else None,
        connections_dropped=p.get("connectionsDropped"),
    )


# --- routes ----------------------------------------------------------------------------------


def routes(doc: Any) -> list[Route]:
    """``show ip|ipv6 route [...] json``: {prefix: [entry, ...]} (or {vrf: {...}})."""
    if not isinstance(doc, dict):
        raise ParseError("FRR JSON: routes: expected an object at the top level")
    out: list[Route] = []
    for key, entries in doc.items():
        if isinstance(entries, dict):  # vrf all: {vrf: {prefix: [...]}}
            out.extend(routes(entries))
            continue
        if not isinstance(entries, list):
            raise ParseError(f"FRR JSON: routes: {key!r} is not a list of route entries")
        out.extend(_route(e, key) for e in entries)
    return out


def _route(e: dict[str, Any], key: str) -> Route:
    prefix = ipaddress.ip_network(_need(e, "prefix", key), strict=False)
    nexthops = tuple(_nexthop(nh) for nh in e.get("nexthops", []))
    vrf = e.get("vrfName")
    return Route(
        prefix=prefix,
        protocol=_need(e, "protocol", key),
        selected=bool(e.get("selected")),
        fib=bool(e.get("installed")) or any(nh.fib for nh in nexthops),
        distance=e.get("distance"),
        metric=e.get("metric"),
        uptime=parse_uptime(e.get("uptime")),
        nexthops=nexthops,
        rejected=bool(e.get("failed")),
        queued=bool(e.get("queued")),
        vrf=None if vrf in (None, "default") else vrf,
    )


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> IPAddress:
    """Next-hop addresses repeat (a handful of nodes): parse each once."""
    return ipaddress.ip_address(text)


def _nexthop(nh: dict[str, Any]) -> NextHop:
    address = nh.get("ip")
    return NextHop(
        address=_address(address) if address else None,
        interface=nh.get("interfaceName"),
        active=bool(nh.get("active")),
        fib=bool(nh.get("fib")),
        directly_connected=bool(nh.get("directlyConnected")),
        recursive=bool(nh.get("recursive")),
        onlink=bool(nh.get("onLink")),
        blackhole=bool(nh.get("blackhole")),
        unreachable=bool(nh.get("unreachable")),
        weight=nh.get("weight"),
        vrf=nh.get("vrf"),
    )
