"""The topology's shapes: frozen dataclasses with ``ipaddress`` types (no I/O but
``Secret.resolve``)."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from routerctl.errors import TopologyError
from routerctl.model import IPAddress, IPNetwork
from routerctl.transport.base import SshTarget

DEFAULT_TOPOLOGY = Path("routerctl.yaml")


def labels_match(selector: Iterable[tuple[str, str]], labels: Mapping[str, str]) -> bool:
    """Kubernetes ``matchLabels``: every (key, value) of ``selector`` is in ``labels``.

    The one node-selection rule: an empty selector selects every node.
    """
    return all(labels.get(k) == v for k, v in selector)


DYNAMIC_LIMIT_DEFAULT = 100  # FRR's BGP_DYNAMIC_NEIGHBORS_LIMIT_DEFAULT (not printed)
DYNAMIC_LIMIT_MAX = 65535  # FRR's BGP_DYNAMIC_NEIGHBORS_LIMIT_MAX


@dataclass(frozen=True)
class DynamicNeighbors:
    """``bgp listen range`` for the ROUTERCTL peer-group: nodes inside ``listen_range``
    peer without a neighbor line of their own (FRR only)."""

    listen_range: IPNetwork
    limit: int | None = None  # ``bgp listen limit``; None: FRR's default (100)

    def covers(self, address: IPAddress) -> bool:
        return address.version == self.listen_range.version and address in self.listen_range

    @property
    def effective_limit(self) -> int:
        return DYNAMIC_LIMIT_DEFAULT if self.limit is None else self.limit


@dataclass(frozen=True)
class Router:
    name: str
    ssh: SshTarget
    asn: int
    router_id: ipaddress.IPv4Address | None = None
    lan: tuple[IPNetwork, ...] = ()  # prefixes facing the nodes; checks needing it skip if empty
    node_selector: tuple[tuple[str, str], ...] = ()  # match-labels; empty = every node
    suite: str = "auto"  # auto | frr | quagga
    dynamic_neighbors: DynamicNeighbors | None = None

    def dynamic(self, node: Node) -> bool:
        """True when ``node`` peers dynamically (inside the router's listen range)."""
        return self.dynamic_neighbors is not None and self.dynamic_neighbors.covers(node.address)

    def selects(self, node: Node) -> bool:
        """True when ``node`` peers with this router (its ``node_selector`` applied)."""
        return labels_match(self.node_selector, node.label_map())

    def nodes(self, nodes: Iterable[Node]) -> tuple[Node, ...]:
        """The ones of ``nodes`` that peer with this router, in order."""
        return tuple(n for n in nodes if self.selects(n))


@dataclass(frozen=True)
class Node:
    name: str
    address: IPAddress
    labels: tuple[tuple[str, str], ...] = ()

    def label_map(self) -> dict[str, str]:
        labels = {"kubernetes.io/hostname": self.name}
        labels.update(dict(self.labels))
        return labels


@dataclass(frozen=True)
class AddressRange:
    """One pool entry: a CIDR or a ``first-last`` range, as MetalLB writes them."""

    text: str  # as written by the user (MetalLB gets it verbatim)
    first: IPAddress
    last: IPAddress

    @property
    def version(self) -> int:
        return self.first.version

    def networks(self) -> list[IPNetwork]:
        """The smallest list of CIDRs covering exactly this range."""
        return list(ipaddress.summarize_address_range(self.first, self.last))

    def __contains__(self, addr: object) -> bool:
        if not isinstance(addr, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            return False
        return addr.version == self.version and self.first <= addr <= self.last  # type: ignore[operator]


@dataclass(frozen=True)
class Pool:
    name: str
    addresses: tuple[AddressRange, ...]
    auto_assign: bool = True

    def networks(self) -> list[IPNetwork]:
        return [net for r in self.addresses for net in r.networks()]

    def __contains__(self, addr: object) -> bool:
        return any(addr in r for r in self.addresses)


NODE_SOURCES = ("kubectl",)
NODE_FAMILIES = ("ipv4", "ipv6")


@dataclass(frozen=True)
class NodesFrom:
    """``cluster.nodes: {from: kubectl, ...}``: the node set is read from the live cluster.

    ``selector`` (matchLabels) narrows MetalLB's own rules; ``family`` picks the
    InternalIP each node peers from; ``namespace`` is where MetalLB's speaker DaemonSet
    and BGPPeers live.
    """

    source: str = "kubectl"
    selector: tuple[tuple[str, str], ...] = ()
    family: str = "ipv4"
    namespace: str = "metallb-system"
    context: str | None = None
    kubeconfig: Path | None = None

    @property
    def version(self) -> int:
        return 6 if self.family == "ipv6" else 4


@dataclass(frozen=True)
class Cluster:
    asn: int
    nodes: tuple[Node, ...]
    pools: tuple[Pool, ...]
    # set when cluster.nodes is {from: kubectl}: ``nodes`` is then empty until a command
    # reads the live cluster (routerctl.cluster.live_nodes) and fills it
    nodes_from: NodesFrom | None = None


SECRET_FILE_MAX = 4096  # bytes; a password file longer than this is the wrong file
# an environment variable name shown in messages: the usual upper-case form. Any other
# name may be a password pasted into {env: ...} by mistake, so it is not echoed.
_SHOWN_ENV_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")


@dataclass(frozen=True)
class Secret:
    """A password source: an environment variable or a file, never inline."""

    env: str | None = None
    file: Path | None = None

    def describe(self) -> str:
        return f"env {self.env_shown}" if self.env else f"file {self.file}"

    @property
    def env_shown(self) -> str:
        """The variable's name for messages, unless it looks like a pasted password."""
        if self.env is not None and _SHOWN_ENV_RE.fullmatch(self.env):
            return self.env
        return "named in bgp.password.env (not shown: not an upper-case name)"

    def resolve(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise TopologyError(
                    f"environment variable {self.env_shown} is not set or empty",
                    field="bgp.password.env",
                    hint=f"export {self.env}=... before running routerctl"
                    if self.env_shown == self.env
                    else "export it before running routerctl",
                )
            return value
        assert self.file is not None
        field_ = "bgp.password.file"
        try:
            with self.file.open("rb") as f:
                data = f.read(SECRET_FILE_MAX + 1)
        except OSError as exc:  # the path is not echoed: a password may be pasted there
            raise TopologyError(
                f"cannot read the password file: {exc.strerror or type(exc).__name__}",
                field=field_,
            ) from None
        except ValueError:  # an embedded NUL (only when built without the validator)
            raise TopologyError("the password file's path is invalid", field=field_) from None
        if len(data) > SECRET_FILE_MAX:
            raise TopologyError(
                f"the password file is larger than {SECRET_FILE_MAX} bytes",
                field=field_,
                hint="point bgp.password.file at a file holding only the password",
            )
        try:
            value = data.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise TopologyError(
                "the password file is not UTF-8 text", field=field_, hint="save it as text"
            ) from None
        if not value:
            raise TopologyError("the password file is empty", field=field_)
        if any(c < " " or c == "\x7f" for c in value):
            raise TopologyError(
                "the password file holds control characters (a binary file?)",
                field=field_,
                hint="write the password alone on one line",
            )
        return value


@dataclass(frozen=True)
class BgpOptions:
    password: Secret | None = None
    hold_time: int | None = None  # seconds
    keepalive_time: int | None = None  # seconds
    connect_retry: int | None = None  # seconds
    ecmp: int = 8  # maximum-paths
    ebgp_multihop: int | None = None  # TTL; None = directly connected
    bfd: bool = False
    graceful_restart: bool = False


@dataclass(frozen=True)
class FirewallOptions:
    """``firewall:``: whether routerctl owns a ``routerctl-bgp`` rule per zone facing the nodes."""

    manage: bool = False


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    address: IPAddress
    port: int | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Topology:
    routers: tuple[Router, ...]
    cluster: Cluster
    bgp: BgpOptions = field(default_factory=BgpOptions)
    services: tuple[Service, ...] = ()
    source: Path | None = None
    # where `verify --probe` connects from unless --probe-from says otherwise: "local" (this
    # host; its routes must lead through the router) or "router"
    probe_from: str = "local"
    # field path -> line in ``source`` (not part of equality: same content, same topology)
    field_lines: tuple[tuple[str, int], ...] = field(default=(), compare=False, repr=False)
    firewall: FirewallOptions = field(default_factory=FirewallOptions)

    def error(self, field: str, message: str, *, hint: str | None = None) -> TopologyError:
        """A ``TopologyError`` pointing at ``field`` (e.g. ``bgp.ecmp``) in the source file."""
        lines = dict(self.field_lines)
        key = field
        while key and key not in lines:  # fall back to the closest enclosing field
            key = key[: key.rindex("[")] if key.endswith("]") else key.rpartition(".")[0]
        return TopologyError(
            message,
            file=str(self.source) if self.source else None,
            line=lines.get(key),
            field=field,
            hint=hint,
        )

    @property
    def ibgp(self) -> bool:
        """True when any router shares the cluster's ASN (iBGP: supported, plan says so)."""
        return any(r.asn == self.cluster.asn for r in self.routers)

    def ibgp_with(self, router: Router) -> bool:
        """True when ``router`` and the cluster are in the same AS."""
        return router.asn == self.cluster.asn

    def router(self, name: str | None = None) -> Router:
        """The named router, or the only one when ``name`` is None."""
        if name is None:
            if len(self.routers) == 1:
                return self.routers[0]
            names = ", ".join(r.name for r in self.routers)
            raise TopologyError(
                f"the topology has several routers ({names})", hint="pick one with --router NAME"
            )
        for r in self.routers:
            if r.name == name:
                return r
        names = ", ".join(r.name for r in self.routers)
        raise TopologyError(f"no router named {name!r}", hint=f"known routers: {names}")

    def select_routers(self, name: str | None) -> list[Router]:
        """Every router when ``name`` is None, else the one named (``""`` names none:
        an error, like any unknown name) -- the one rule for ``--router``."""
        return list(self.routers) if name is None else [self.router(name)]

    def router_field(self, router: Router, name: str) -> str:
        """The field path of one of ``router``'s keys (``routers[0].lan``), for errors."""
        return f"routers[{self.routers.index(router)}].{name}"

    def nodes_for(self, router: Router) -> tuple[Node, ...]:
        """The nodes that peer with ``router`` (its node selector applied)."""
        return router.nodes(self.cluster.nodes)

    def pool_for(self, addr: IPAddress) -> Pool | None:
        for pool in self.cluster.pools:
            if addr in pool:
                return pool
        return None

    def iter_pool_networks(self) -> Iterator[IPNetwork]:
        for pool in self.cluster.pools:
            yield from pool.networks()
