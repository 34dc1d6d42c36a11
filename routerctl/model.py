"""Typed shapes that parsers return and verify consumes (NAPALM-style getters).

ints are ints, bools are bools, addresses and prefixes are ``ipaddress`` objects,
uptimes are seconds. Text (TextFSM) and JSON parses of the same output must give
equal objects.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, TypeVar

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


class SessionState(str, enum.Enum):
    """BGP FSM state, normalised across Quagga and FRR versions."""

    ESTABLISHED = "Established"
    ACTIVE = "Active"
    CONNECT = "Connect"
    IDLE = "Idle"
    OPENSENT = "OpenSent"
    OPENCONFIRM = "OpenConfirm"
    ADMIN_DOWN = "Idle (Admin)"
    PREFIX_EXCEEDED = "Idle (PfxCt)"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class BgpNeighbor:
    address: IPAddress | None  # None for an unnumbered (interface) peer
    remote_as: int
    state: SessionState
    interface: str | None = None  # unnumbered peers, or FRR's "hostname(ip)" form name
    hostname: str | None = None  # FRR "hostname(ip)" neighbor column
    description: str | None = None
    version: int = 4
    messages_received: int = 0
    messages_sent: int = 0
    table_version: int = 0
    in_queue: int = 0
    out_queue: int = 0
    uptime: int | None = None  # seconds in the current state; None for "never"
    prefixes_received: int | None = None  # None when not Established
    prefixes_sent: int | None = None  # None where the output has no such column
    policy_blocked_in: bool = False  # "(Policy)" in PfxRcd: no inbound policy (eBGP)
    policy_blocked_out: bool = False  # "(Policy)" in PfxSnt
    connections_dropped: int | None = None  # only from `show bgp neighbors json`
    dynamic: bool = False  # accepted through `bgp listen range` ("*" before the neighbor)

    @property
    def established(self) -> bool:
        return self.state is SessionState.ESTABLISHED


@dataclass(frozen=True, slots=True)
class BgpSummary:
    router_id: IPv4Address | None
    local_as: int | None
    neighbors: tuple[BgpNeighbor, ...] = ()
    vrf: str | None = None
    afi: str = "ipv4"  # ipv4 | ipv6
    safi: str = "unicast"
    rib_entries: int | None = None
    instance_missing: bool = False  # "% BGP instance not found" / "No BGP process"

    def neighbor(self, address: IPAddress) -> BgpNeighbor | None:
        for n in self.neighbors:
            if n.address == address:
                return n
        return None


@dataclass(frozen=True, slots=True)
class NextHop:
    address: IPAddress | None = None
    interface: str | None = None
    active: bool = True
    fib: bool = False
    directly_connected: bool = False
    recursive: bool = False
    onlink: bool = False
    blackhole: bool = False
    unreachable: bool = False
    weight: int | None = None
    vrf: str | None = None  # "(vrf X)": the next hop lives in another VRF


@dataclass(frozen=True, slots=True)
class Route:
    prefix: IPNetwork
    protocol: str  # "bgp", "connected", "kernel", "static", "ospf", "local", ...
    selected: bool = False
    fib: bool = False
    distance: int | None = None
    metric: int | None = None
    uptime: int | None = None
    nexthops: tuple[NextHop, ...] = field(default_factory=tuple)
    rejected: bool = False
    queued: bool = False
    vrf: str | None = None

    @property
    def fib_nexthop_addresses(self) -> frozenset[IPAddress]:
        return frozenset(nh.address for nh in self.nexthops if nh.fib and nh.address is not None)


_T = TypeVar("_T")


def slot_constructor(cls: type[_T], sample: Mapping[str, Any]) -> Callable[..., _T]:
    """A keyword-only constructor (every field, no defaults) for a frozen slots dataclass
    without ``__post_init__`` that sets each slot through its descriptor: what the
    generated ``__init__`` does through ``object.__setattr__`` and a name look-up per
    field, in a third of the time (the parsers build one Route per route: issue 17).
    Checked against ``cls(**sample)`` here; ``cls`` itself if the two differ."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or "__slots__" not in cls.__dict__:
        return cls
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    namespace.update({f"_set_{n}": cls.__dict__[n].__set__ for n in names})
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names)
    exec(  # noqa: S102 - source built from the dataclass's own field names
        f"def new(*, {', '.join(names)}):\n    self = _new(_cls)\n{body}    return self\n",
        namespace,
    )
    new: Callable[..., _T] = namespace["new"]
    made, reference = new(**sample), cls(**sample)
    if made != reference or any(getattr(made, n) is not getattr(reference, n) for n in names):
        return cls
    return new


new_route = slot_constructor(
    Route,
    {
        "prefix": IPv4Network("192.0.2.0/24"),
        "protocol": "bgp",
        "selected": True,
        "fib": False,
        "distance": 20,
        "metric": 0,
        "uptime": None,
        "nexthops": (NextHop(),),
        "rejected": False,
        "queued": True,
        "vrf": "red",
    },
)


# -- gathered state (what ops/ read from a router; checks/ judge it) ----------


@dataclass(frozen=True, slots=True)
class PoolPath:
    """One BGP path inside a pool, from the BGP table (not zebra's)."""

    prefix: IPNetwork
    peer: IPAddress | None
    best: bool = False
    multipath: bool = False


@dataclass(frozen=True, slots=True)
class RouterState:
    """What one exec on the router told us (see ``routerstate.gather``)."""

    router: str
    suite: str | None  # "frr" | "quagga" | None when no suite answered
    version: str | None = None  # e.g. "FRRouting 8.4.4"
    vtysh_ok: bool = False
    daemons: tuple[tuple[str, bool], ...] = ()  # (name, running)
    summary: BgpSummary | None = None  # IPv4 unicast
    summary_v6: BgpSummary | None = None
    routes: tuple[Route, ...] = ()  # zebra's routes for the pools or the service IPs
    # the BGP table's paths inside the pools (FRR); None: derive from ``routes``
    pool_paths: tuple[PoolPath, ...] | None = None
    # (neighbor, last NOTIFICATION or reset reason) for sessions that are down (FRR)
    last_errors: tuple[tuple[str, str], ...] = ()
    raw: tuple[tuple[str, str], ...] = ()  # (command, output) for bundles and debugging

    def daemon_map(self) -> dict[str, bool]:
        return dict(self.daemons)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """A TCP/HTTP probe of one service address:port, ``attempts`` times."""

    service: str  # namespace/name
    address: IPAddress
    port: int
    source: str  # "local" | "router"
    attempts: int
    succeeded: int
    answers: tuple[str, ...] = ()  # distinct first lines of the HTTP answers
    error: str | None = None  # last error seen


@dataclass(frozen=True, slots=True)
class FlapHistory:
    """connectionsDropped per neighbor address at the previous run, and when it was.

    ``established`` holds the neighbors that were Established then (None: not recorded).
    A session that is younger than the time since the last run only counts as a flap if
    it was already Established at that run; otherwise it is simply new (just provisioned,
    or a node that has just come up).
    """

    dropped: Mapping[str, int] = field(default_factory=dict)
    seconds_since: float | None = None
    established: frozenset[str] | None = None
