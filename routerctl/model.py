"""Typed shapes that parsers return and verify consumes (NAPALM-style getters).

ints are ints, bools are bools, addresses and prefixes are ``ipaddress`` objects,
uptimes are seconds. Text (TextFSM) and JSON parses of the same output must give
equal objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
