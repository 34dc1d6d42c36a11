"""The FRR JSON path: ``... json`` outputs into the same typed model as the text path."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import json
import re
from itertools import chain, compress, repeat
from operator import is_, not_
from typing import Any

from routerctl.errors import ParseError
from routerctl.model import (
    BgpNeighbor,
    BgpSummary,
    IPAddress,
    NextHop,
    Route,
    SessionState,
    new_route,
)
from routerctl.parsing.detect import Prepared
from routerctl.parsing.values import (
    ASN_MAX,
    COUNTER_MAX,
    parse_asn,
    parse_count,
    parse_ip,
    parse_neighbor_name,
    parse_prefix,
    parse_state,
    parse_uptime,
    shown,
)

_AFI_KEY = re.compile(r"(ipv4|ipv6|l2Vpn)([A-Z]\w*)")
MAX_DEPTH = 32  # FRR's deepest document (vrf all > afi > peers > peer) is 5 levels


def load(prepared: Prepared, *, what: str) -> Any:
    """Decode the JSON document; ParseError names the line and column. Documents nested
    deeper than ``MAX_DEPTH`` are refused here, before anything walks them."""
    text = "\n".join(prepared.lines)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        line = prepared.lines[exc.lineno - 1] if exc.lineno <= len(prepared.lines) else ""
        raise ParseError(
            f"{what} JSON: line {prepared.first_line + exc.lineno - 1} column {exc.colno}: "
            f"{exc.msg}: {line.strip()[:80]!r}",
            hint="pass the complete output of the `... json` command",
        ) from exc
    except RecursionError as exc:
        raise ParseError(f"{what} JSON: nested too deeply", hint=_TOO_DEEP) from exc
    except ValueError as exc:  # an integer of more than 4300 digits (int_max_str_digits)
        raise ParseError(
            f"{what} JSON: a number too long to read ({shown(str(exc))})",
            hint="FRR's numbers are at most 64-bit",
        ) from exc
    _check_depth(doc, what, text)
    return doc


_CONTAINERS = frozenset({dict, list})
_TOO_DEEP = f"FRR's JSON is at most a few levels deep; this has more than {MAX_DEPTH}"


def _check_depth(doc: Any, what: str, text: str | None = None) -> None:
    """Refuse documents deeper than MAX_DEPTH, iteratively (no recursion to exhaust).

    With the document's text, first the text: most documents are shown shallow enough
    there in a few C passes (``_shallow_text``); the rest walk the decoded document
    level by level, with C iterators (json.loads makes plain dicts and lists). A Python
    loop over every value was a third of the time of a 100k-route document (issue 17).
    """
    if text is not None and _shallow_text(text):
        return
    level: list[Any] = [doc] if type(doc) in _CONTAINERS else []
    for _ in range(MAX_DEPTH + 1):
        if not level:
            return
        is_dict = list(map(is_, map(type, level), repeat(dict)))
        dicts = list(compress(level, is_dict))
        lists = list(compress(level, map(not_, is_dict)))
        values = chain(chain.from_iterable(map(dict.values, dicts)), chain.from_iterable(lists))
        kinds = map(
            type, chain(chain.from_iterable(map(dict.values, dicts)), chain.from_iterable(lists))
        )
        level = list(compress(values, map(_CONTAINERS.__contains__, kinds)))
    if not level:
        return
    raise ParseError(f"{what} JSON: nested too deeply", hint=_TOO_DEEP)


_NOT_BRACKETS = bytes(range(256)).translate(None, b'"[]{}')


def _shallow_text(text: str) -> bool:
    """True when valid JSON ``text`` is at most MAX_DEPTH deep (False: cannot tell).

    Drop the escapes that hide a quote (``\\\\`` pairs first, then ``\\"``, left to right
    as JSON reads them: FRR escapes every ``/``), keep only quotes and brackets, drop
    adjacent quote pairs: if no quote is left, no string held a bracket (every run of
    quotes had an even length, so the pairs dropped were the strings) and what is left
    is the document's brackets. Each pass dropping every ``{}`` then every ``[]`` removes
    one or two levels, so a document that empties in (MAX_DEPTH + 1) // 2 passes has
    at most MAX_DEPTH + 1 nested containers."""
    try:
        data = text.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = data.translate(None, _NOT_BRACKETS).replace(b'""', b"")
    if b'"' in brackets:
        return False
    for _ in range((MAX_DEPTH + 1) // 2):
        if not brackets:
            return True
        brackets = brackets.replace(b"{}", b"").replace(b"[]", b"")
    return not brackets


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


class _Obj:
    """A JSON object from the router with its path (``summary.peers.10.0.0.1``): typed
    getters that check the shape and name the field in a ``ParseError``."""

    __slots__ = ("data", "where")

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise ParseError(f"FRR JSON: {where}: expected an object, got {_kind(data)}")
        self.data: dict[str, Any] = data
        self.where = where

    def at(self, key: str) -> str:
        return f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def need(self, key: str) -> Any:
        if key not in self.data:
            raise ParseError(
                f"FRR JSON: {self.where}: missing key {key!r}",
                hint="not the output of the command given; check --command",
            )
        return self.data[key]

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.need(key) if required else self.data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise ParseError(f"FRR JSON: {self.at(key)}: expected a string, got {_kind(value)}")
        return value

    def count(self, key: str, *, hi: int = COUNTER_MAX) -> int | None:
        value = self.data.get(key)
        return (
            None if value is None else parse_count(value, field=f"FRR JSON: {self.at(key)}", hi=hi)
        )

    def asn(self, key: str, *, lo: int = 1) -> int:
        return parse_asn(self.need(key), field=f"FRR JSON: {self.at(key)}", lo=lo)

    def flag(self, key: str) -> bool:
        return bool(self.data.get(key))

    def obj(self, key: str) -> _Obj:
        value = self.data.get(key)
        return _Obj({} if value is None else value, self.at(key))

    def objs(self, key: str) -> list[_Obj]:
        value = self.data.get(key)
        value = [] if value is None else value
        if not isinstance(value, list):
            raise ParseError(f"FRR JSON: {self.at(key)}: expected an array, got {_kind(value)}")
        return [_Obj(item, f"{self.at(key)}[{i}]") for i, item in enumerate(value)]

    def children(self) -> list[tuple[str, _Obj]]:
        return [(str(k), _Obj(v, self.at(str(k)))) for k, v in self.data.items()]


# --- BGP summary -----------------------------------------------------------------------------


def summaries(doc: Any, *, afi_hint: tuple[str, str]) -> list[BgpSummary]:
    """``show [ip] bgp [vrf X|all] [afi safi] summary json`` in any of its nestings."""
    out = _summaries(doc, afi_hint=afi_hint, where="summary")
    if not out:
        raise ParseError(
            "FRR JSON: no BGP summary in this document (no routerId/peers, no ipv4Unicast...)",
            hint="not the output of `show bgp summary json`; check --command",
        )
    return out


def _summaries(doc: Any, *, afi_hint: tuple[str, str], where: str) -> list[BgpSummary]:
    if not isinstance(doc, dict):
        raise ParseError(f"FRR JSON: BGP {where}: expected an object, got {_kind(doc)}")
    if not doc:
        return [BgpSummary(router_id=None, local_as=None, instance_missing=True)]
    if "peers" in doc or "routerId" in doc:  # one AFI/SAFI, not wrapped
        return [_summary(_Obj(doc, where), afi_hint[0], afi_hint[1])]
    out: list[BgpSummary] = []
    for key, value in doc.items():
        if m := _AFI_KEY.fullmatch(key):
            out.append(_summary(_Obj(value, key), m[1].lower(), m[2].lower()))
        elif isinstance(value, dict):  # vrf all: {vrf: {afiSafi: {...}}}
            out.extend(_summaries(value, afi_hint=afi_hint, where=key))
    return out


def _summary(obj: _Obj, afi: str, safi: str) -> BgpSummary:
    vrf = obj.text("vrfName")
    router_id = parse_ip(obj.text("routerId", required=True))
    return BgpSummary(
        router_id=router_id if isinstance(router_id, ipaddress.IPv4Address) else None,
        local_as=obj.asn("as"),
        neighbors=tuple(_peer(name, p) for name, p in obj.obj("peers").children()),
        vrf=None if vrf in (None, "default") else vrf,
        afi=afi,
        safi=safi,
        rib_entries=obj.count("ribCount"),
    )


def _peer(name: str, p: _Obj) -> BgpNeighbor:
    address, interface, _ = parse_neighbor_name(name)
    state = _state(p, "state")
    established = state is SessionState.ESTABLISHED
    received = p.count("pfxRcd") if p.has("pfxRcd") else p.count("prefixReceivedCount")
    sent = p.count("pfxSnt")
    policy = established and p.data.get("peerState") == "Policy"
    # FRR's JSON says only "a policy is missing"; a direction that has prefixes has one.
    blocked_in = policy and not received
    blocked_out = policy and not sent
    try:
        uptime = parse_uptime(p.data.get("peerUptime"))
    except ValueError:
        msec = p.count("peerUptimeMsec")
        uptime = None if msec is None else msec // 1000
    return BgpNeighbor(
        address=address,
        remote_as=p.asn("remoteAs", lo=0),
        state=state,
        interface=interface,
        description=p.text("desc") or None,
        version=_or(p.count("version", hi=255), 4),
        messages_received=_or(p.count("msgRcvd"), 0),
        messages_sent=_or(p.count("msgSent"), 0),
        table_version=_or(p.count("tableVersion"), 0),
        in_queue=_or(p.count("inq"), 0),
        out_queue=_or(p.count("outq"), 0),
        uptime=uptime,
        prefixes_received=received if established and not blocked_in else None,
        prefixes_sent=None if blocked_out else sent,
        policy_blocked_in=blocked_in,
        policy_blocked_out=blocked_out,
        connections_dropped=None,
        dynamic=p.flag("dynamicPeer"),
    )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _state(p: _Obj, key: str) -> SessionState:
    try:
        return parse_state(p.need(key))
    except ValueError as exc:
        raise ParseError(f"FRR JSON: {p.at(key)}: {exc}") from exc


# --- show bgp neighbors json -----------------------------------------------------------------


def neighbors(doc: Any) -> dict[str, BgpNeighbor]:
    """``show bgp [vrf X|all] neighbors json`` keyed by neighbor (address or interface)."""
    return _neighbors(doc, "neighbors")


def _neighbors(doc: Any, where: str) -> dict[str, BgpNeighbor]:
    if not isinstance(doc, dict):
        raise ParseError(f"FRR JSON: BGP {where}: expected an object, got {_kind(doc)}")
    out: dict[str, BgpNeighbor] = {}
    for name, value in doc.items():
        if not isinstance(value, dict):
            continue  # vrfId / vrfName of a vrf-all wrapper
        if "vrfName" in value and "bgpState" not in value:
            out.update(_neighbors(value, f"{where}.{name}"))
            continue
        out[name] = _detail_neighbor(name, _Obj(value, f"{where}.{name}"))
    return out


def _detail_neighbor(name: str, p: _Obj) -> BgpNeighbor:
    address, interface, _ = parse_neighbor_name(name)
    state = _state(p, "bgpState")
    if state is SessionState.IDLE and p.flag("adminShutDown"):
        state = SessionState.ADMIN_DOWN
    established = state is SessionState.ESTABLISHED
    stats = p.obj("messageStats")
    afs = [af for _, af in p.obj("addressFamilyInfo").children()]
    accepted = [c for af in afs if (c := af.count("acceptedPrefixCounter")) is not None]
    sent = [c for af in afs if (c := af.count("sentPrefixCounter")) is not None]
    msec = p.count("bgpTimerUpMsec")
    uptime = (msec // 1000 if msec is not None else None) if established else None
    uptime_text = p.data.get("bgpTimerUpString")
    if uptime_text and established:
        with contextlib.suppress(ValueError):
            uptime = parse_uptime(uptime_text)
    return BgpNeighbor(
        address=address,
        remote_as=p.asn("remoteAs", lo=0),
        state=state,
        interface=interface if interface else None,
        description=p.text("nbrDesc") or None,
        version=_or(p.count("bgpVersion", hi=255), 4),
        messages_received=_or(stats.count("totalRecv"), 0),
        messages_sent=_or(stats.count("totalSent"), 0),
        in_queue=_or(stats.count("depthInq"), 0),
        out_queue=_or(stats.count("depthOutq"), 0),
        uptime=uptime,
        prefixes_received=sum(accepted) if established and accepted else None,
        prefixes_sent=sum(sent) if sent else None,
        connections_dropped=p.count("connectionsDropped"),
    )


# --- routes ----------------------------------------------------------------------------------


def routes(doc: Any) -> list[Route]:
    """``show ip|ipv6 route [...] json``: {prefix: [entry, ...]} (or {vrf: {...}})."""
    return _routes(doc, "routes")


def _routes(doc: Any, where: str, cache: _RouteCache | None = None) -> list[Route]:
    if not isinstance(doc, dict):
        raise ParseError(f"FRR JSON: {where}: expected an object, got {_kind(doc)}")
    cache = cache or _RouteCache()
    out: list[Route] = []
    route: Route | None
    for key, entries in doc.items():
        if isinstance(entries, dict):  # vrf all: {vrf: {prefix: [...]}}
            out.extend(_routes(entries, f"{where}.{key}", cache))
            continue
        if not isinstance(entries, list):
            raise ParseError(f"FRR JSON: routes: {key!r} is not a list of route entries")
        for i, e in enumerate(entries):
            try:
                route = cache.route(e)
            except Exception:  # outside this block: no fast-path exception as its context
                route = None
            if route is None:  # the reference conversion: its result, or its error
                route = _route(_Obj(e, f"{key}[{i}]"))
            out.append(route)
    return out


# a next hop's keys that ``_nexthop`` reads, in the order of _RouteCache.hops' keys
_NEXTHOP_KEYS = (
    "ip",
    "interfaceName",
    "active",
    "fib",
    "directlyConnected",
    "recursive",
    "onLink",
    "blackhole",
    "unreachable",
    "weight",
    "vrf",
)
_WEIGHT = _NEXTHOP_KEYS.index("weight")


class _RouteCache:
    """The fast path of ``_route`` for one document (issue 17): a route entry of the
    usual shape (types as FRR prints them) becomes a Route without the ``_Obj``
    wrappers, its next hops and uptime looked up once converted (a handful of nodes and
    uptimes repeat over thousands of routes). Anything else -- a missing key, another
    type, a value out of range -- returns None or raises, and the caller runs the
    reference conversion ``_route`` on that entry: its result, or its error message.

    A next hop is keyed by the raw values ``_nexthop`` reads; JSON values that compare
    equal convert equal (``bool()`` of a flag, the same string), except an int weight
    and an equal float or bool (1 == 1.0 == True), so a weight must be an int here.
    """

    __slots__ = ("hops", "uptimes")

    def __init__(self) -> None:
        self.hops: dict[tuple[Any, ...], NextHop] = {}
        self.uptimes: dict[str, int | None] = {}

    def route(self, e: Any) -> Route | None:
        if type(e) is not dict:
            return None
        prefix_text, protocol = e["prefix"], e["protocol"]
        if type(prefix_text) is not str or type(protocol) is not str:
            return None
        prefix = parse_prefix(prefix_text)
        hops = e.get("nexthops")
        if hops is None:
            hops = ()
        elif type(hops) is not list:
            return None
        nexthops = tuple(map(self.nexthop, hops))
        uptime_text = e.get("uptime")
        if uptime_text is None:
            uptime = None
        elif uptime_text in self.uptimes:
            uptime = self.uptimes[uptime_text]
        else:
            uptime = self.uptimes[uptime_text] = parse_uptime(uptime_text)  # str, or raises
        distance, metric, vrf = e.get("distance"), e.get("metric"), e.get("vrfName")
        if distance is not None and not (type(distance) is int and 0 <= distance <= 255):
            return None
        if metric is not None and not (type(metric) is int and 0 <= metric <= ASN_MAX):
            return None
        if vrf is not None and type(vrf) is not str:
            return None
        return new_route(
            prefix=prefix,
            protocol=protocol,
            selected=bool(e.get("selected")),
            fib=bool(e.get("installed")) or any(nh.fib for nh in nexthops),
            distance=distance,
            metric=metric,
            uptime=uptime,
            nexthops=nexthops,
            rejected=bool(e.get("failed")),
            queued=bool(e.get("queued")),
            vrf=None if vrf in (None, "default") else vrf,
        )

    def nexthop(self, nh: Any) -> NextHop:
        key = tuple(map(nh.get, _NEXTHOP_KEYS))  # AttributeError for a non-object
        weight = key[_WEIGHT]
        if weight is not None and type(weight) is not int:  # before the look-up: 1.0 == 1
            raise TypeError("weight: not an int")
        hop = self.hops.get(key)  # TypeError for an unhashable (array, object) value
        if hop is None:
            hop = self.hops[key] = _nexthop(_Obj(nh, "nexthop"))
        return hop


def _route(e: _Obj) -> Route:
    prefix_text = e.text("prefix", required=True) or ""
    try:
        prefix = parse_prefix(prefix_text)
    except ValueError as exc:
        raise ParseError(
            f"FRR JSON: {e.at('prefix')}: {shown(prefix_text)} is not a prefix"
        ) from exc
    nexthops = tuple(_nexthop(nh) for nh in e.objs("nexthops"))
    vrf = e.text("vrfName")
    try:
        uptime = parse_uptime(e.data.get("uptime"))
    except ValueError as exc:
        raise ParseError(f"FRR JSON: {e.at('uptime')}: {exc}") from exc
    return Route(
        prefix=prefix,
        protocol=e.text("protocol", required=True) or "",
        selected=e.flag("selected"),
        fib=e.flag("installed") or any(nh.fib for nh in nexthops),
        distance=e.count("distance", hi=255),
        metric=e.count("metric", hi=ASN_MAX),
        uptime=uptime,
        nexthops=nexthops,
        rejected=e.flag("failed"),
        queued=e.flag("queued"),
        vrf=None if vrf in (None, "default") else vrf,
    )


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> IPAddress:
    """Next-hop addresses repeat (a handful of nodes): parse each once."""
    return ipaddress.ip_address(text)


def _nexthop(nh: _Obj) -> NextHop:
    address = nh.text("ip")
    try:
        ip = _address(address) if address else None
    except ValueError as exc:
        raise ParseError(f"FRR JSON: {nh.at('ip')}: {shown(address)} is not an address") from exc
    return NextHop(
        address=ip,
        interface=nh.text("interfaceName"),
        active=nh.flag("active"),
        fib=nh.flag("fib"),
        directly_connected=nh.flag("directlyConnected"),
        recursive=nh.flag("recursive"),
        onlink=nh.flag("onLink"),
        blackhole=nh.flag("blackhole"),
        unreachable=nh.flag("unreachable"),
        weight=nh.count("weight"),
        vrf=nh.text("vrf"),
    )
