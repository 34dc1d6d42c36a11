"""The topology file (``routerctl.yaml``): the one source of truth.

Frozen dataclasses with ``ipaddress`` types. ``load_topology`` reads and validates
a file; every problem is a ``TopologyError`` naming file, line and field.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from routerctl.errors import TopologyError
from routerctl.model import IPAddress, IPNetwork
from routerctl.transport.base import SshTarget

DEFAULT_TOPOLOGY = Path("routerctl.yaml")


@dataclass(frozen=True)
class Router:
    name: str
    ssh: SshTarget
    asn: int
    router_id: ipaddress.IPv4Address | None = None
    lan: tuple[IPNetwork, ...] = ()  # prefixes facing the nodes; checks needing it skip if empty
    node_selector: tuple[tuple[str, str], ...] = ()  # match-labels; empty = every node
    suite: str = "auto"  # auto | frr | quagga


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


@dataclass(frozen=True)
class Cluster:
    asn: int
    nodes: tuple[Node, ...]
    pools: tuple[Pool, ...]


@dataclass(frozen=True)
class Secret:
    """A password source: an environment variable or a file, never inline."""

    env: str | None = None
    file: Path | None = None

    def describe(self) -> str:
        return f"env {self.env}" if self.env else f"file {self.file}"

    def resolve(self) -> str:
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise TopologyError(
                    f"environment variable {self.env} is not set or empty",
                    field="bgp.password.env",
                    hint=f"export {self.env}=... before running routerctl",
                )
            return value
        assert self.file is not None
        try:
            value = self.file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TopologyError(
                f"cannot read password file {self.file}: {exc.strerror}",
                field="bgp.password.file",
            ) from exc
        if not value:
            raise TopologyError(f"password file {self.file} is empty", field="bgp.password.file")
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

    def nodes_for(self, router: Router) -> tuple[Node, ...]:
        """The nodes that peer with ``router`` (its node selector applied)."""
        if not router.node_selector:
            return self.cluster.nodes
        want = dict(router.node_selector)
        return tuple(
            n for n in self.cluster.nodes if all(n.label_map().get(k) == v for k, v in want.items())
        )

    def pool_for(self, addr: IPAddress) -> Pool | None:
        for pool in self.cluster.pools:
            if addr in pool:
                return pool
        return None

    def iter_pool_networks(self) -> Iterator[IPNetwork]:
        for pool in self.cluster.pools:
            yield from pool.networks()


# --------------------------------------------------------------------------- loading

ASN_MAX = 4294967295
ASN_TRANS = 23456  # AS_TRANS (RFC 6793): reserved, never a real ASN
ECMP_MAX = 256

_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_DNS1123_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_NAME_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")

_TOP_KEYS = ("routers", "cluster", "bgp", "services", "verify")
_VERIFY_KEYS = ("probe_from",)
PROBE_SOURCES = ("local", "router")
_ROUTER_KEYS = ("name", "ssh", "asn", "router_id", "lan", "node_selector", "suite")
_SSH_KEYS = ("host", "port", "user", "identity_file", "known_hosts", "ssh_config")
_CLUSTER_KEYS = ("asn", "nodes", "pools")
_NODE_KEYS = ("name", "address", "labels")
_POOL_KEYS = ("name", "addresses", "auto_assign")
_BGP_KEYS = (
    "password",
    "hold_time",
    "keepalive_time",
    "connect_retry",
    "ecmp",
    "ebgp_multihop",
    "bfd",
    "graceful_restart",
)
_SECRET_KEYS = ("env", "file")
_SERVICE_KEYS = ("name", "address", "port")
SUITES = ("auto", "frr", "quagga")


class _Val:
    """A YAML node with its field path: typed accessors raise ``TopologyError``."""

    def __init__(
        self, node: yaml.Node, path: str, file: str, base: Path, lines: dict[str, int]
    ) -> None:
        self.node = node
        self.path = path
        self.file = file
        self.base = base
        self.lines = lines  # shared: field path -> line, for errors found after loading
        lines.setdefault(path, int(node.start_mark.line) + 1)

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def error(self, message: str, hint: str | None = None, *, line: int | None = None) -> NoReturn:
        raise TopologyError(
            message, file=self.file, line=line or self.line, field=self.path, hint=hint
        )

    def _child(self, node: yaml.Node, path: str) -> _Val:
        return _Val(node, path, self.file, self.base, self.lines)

    def shown(self) -> str:
        """The value as the user wrote it, for messages."""
        if isinstance(self.node, yaml.ScalarNode):
            return repr(self.node.value)
        return "a list" if isinstance(self.node, yaml.SequenceNode) else "a mapping"

    def _scalar(self) -> Any:
        if not isinstance(self.node, yaml.ScalarNode):
            return _NOT_SCALAR
        return _construct(self)

    def is_null(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self._scalar() is None

    def mapping(self, keys: tuple[str, ...], *, required: tuple[str, ...] = ()) -> dict[str, _Val]:
        """The mapping's entries; unknown or duplicate keys and missing required keys fail."""
        if not isinstance(self.node, yaml.MappingNode):
            self.error(
                f"expected a mapping, got {self.shown()}", f"allowed keys: {', '.join(keys)}"
            )
        out: dict[str, _Val] = {}
        prefix = f"{self.path}." if self.path else ""
        for knode, vnode in self.node.value:
            key = (
                _construct(self._child(knode, f"{prefix}<key>"))
                if isinstance(knode, yaml.ScalarNode)
                else None
            )
            if not isinstance(key, str) or key not in keys:
                close = difflib.get_close_matches(str(key), keys, n=1)
                hint = (
                    f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(keys)}"
                )
                raise TopologyError(
                    f"unknown key {key!r}",
                    file=self.file,
                    line=int(knode.start_mark.line) + 1,
                    field=f"{prefix}{key}",
                    hint=hint,
                )
            if key in out:
                raise TopologyError(
                    f"duplicate key {key!r}",
                    file=self.file,
                    line=int(knode.start_mark.line) + 1,
                    field=f"{prefix}{key}",
                    hint="each key may appear once; remove one of them",
                )
            out[key] = self._child(vnode, f"{prefix}{key}")
        for key in required:
            if key not in out or out[key].is_null():
                where = f"under '{self.path}'" if self.path else "at the top level"
                raise TopologyError(
                    "required key is missing",
                    file=self.file,
                    line=out[key].line if key in out else self.line,
                    field=f"{prefix}{key}" if self.path else key,
                    hint=f"add '{key}:' {where}",
                )
        return {k: v for k, v in out.items() if not v.is_null()}

    def items(self) -> list[_Val]:
        if not isinstance(self.node, yaml.SequenceNode):
            self.error(f"expected a list, got {self.shown()}", "write it as a YAML list ('- ...')")
        return [self._child(n, f"{self.path}[{i}]") for i, n in enumerate(self.node.value)]

    def pairs(self) -> list[tuple[_Val, _Val]]:
        """A free-form mapping (labels): (key, value) pairs."""
        if not isinstance(self.node, yaml.MappingNode):
            self.error(f"expected a mapping, got {self.shown()}", "write it as 'key: value' lines")
        seen: set[object] = set()
        out = []
        for knode, vnode in self.node.value:
            k = self._child(knode, self.path)
            if isinstance(knode, yaml.ScalarNode):
                k = self._child(knode, f"{self.path}.{knode.value}")
                if knode.value in seen:
                    k.error(f"duplicate key {knode.value!r}", "each key may appear once")
                seen.add(knode.value)
            out.append((k, self._child(vnode, k.path)))
        return out

    def as_str(self, *, what: str = "a string") -> str:
        value = self._scalar()
        if isinstance(value, bool) or value is None or value is _NOT_SCALAR:
            self.error(f"expected {what}, got {self.shown()}")
        if isinstance(value, (int, float)):
            return str(self.node.value)
        if not isinstance(value, str):
            self.error(f"expected {what}, got {self.shown()}")
        return value

    def as_int(self, lo: int, hi: int, *, what: str = "an integer") -> int:
        value = self._scalar()
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(f"expected {what}, got {self.shown()}", f"use an integer {lo}..{hi}")
        if not lo <= value <= hi:
            self.error(f"{value} is out of range", f"use {what} {lo}..{hi}")
        return value

    def as_bool(self) -> bool:
        value = self._scalar()
        if not isinstance(value, bool):
            self.error(f"expected true or false, got {self.shown()}")
        return value

    def duration(self, lo: int, hi: int) -> int:
        """Seconds from an int or a MetalLB-style duration ("90s", "3m", "1m30s")."""
        value = self._scalar()
        hint = f"use seconds ({lo}..{hi}) or a duration like '90s' or '3m'"
        if isinstance(value, bool) or value is _NOT_SCALAR or value is None:
            self.error(f"expected a duration, got {self.shown()}", hint)
        if isinstance(value, int):
            seconds = value
        else:
            m = _DURATION_RE.match(str(value).strip())
            if not m or not any(m.groups()):
                self.error(f"{self.shown()} is not a duration", hint)
            h, mi, s = (int(g) if g else 0 for g in m.groups())
            seconds = h * 3600 + mi * 60 + s
        if not lo <= seconds <= hi:
            self.error(f"{seconds}s is out of range", hint)
        return seconds

    def ip(self) -> IPAddress:
        text = self.as_str(what="an IP address")
        try:
            return ipaddress.ip_address(text.strip())
        except ValueError:
            self.error(f"{text!r} is not an IP address", "use an IPv4 or IPv6 address")

    def name(self, what: str) -> str:
        text = self.as_str(what=what)
        if not _NAME_RE.match(text):
            self.error(
                f"{text!r} contains characters vtysh or a shell would interpret",
                "use only letters, digits, '.', '_' and '-'",
            )
        return text

    def path_value(self) -> Path:
        text = self.as_str(what="a path")
        p = Path(text).expanduser()
        return p if p.is_absolute() else self.base / p


_NOT_SCALAR = object()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _construct(v: _Val) -> Any:
    """A scalar's value with YAML's safe types; other tags (``!!python/...``) are errors."""
    try:
        return _CONSTRUCTOR.construct_object(v.node)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        v.error(f"unsupported YAML value ({problem})", "write a plain value without a YAML tag")


def _asn(v: _Val) -> int:
    asn = v.as_int(1, ASN_MAX, what="an ASN")
    if asn == ASN_TRANS:
        v.error("23456 is AS_TRANS, reserved for 4-byte ASN transition", "pick another ASN")
    return asn


def _ssh(v: _Val) -> SshTarget:
    if isinstance(v.node, yaml.ScalarNode):
        host = v.as_str(what="an SSH host or ~/.ssh/config alias")
        if not host.strip() or any(c.isspace() for c in host) or host.startswith("-"):
            v.error(f"{host!r} is not a host name or alias", "use e.g. 'openwrt' or '192.0.2.1'")
        return SshTarget(host=host)
    m = v.mapping(_SSH_KEYS, required=("host",))
    host = m["host"].as_str(what="a host name, address or ~/.ssh/config alias")
    if not host.strip() or any(c.isspace() for c in host) or host.startswith("-"):
        m["host"].error(
            f"{host!r} is not a host name or alias", "use e.g. 'openwrt' or '192.0.2.1'"
        )
    user = None
    if "user" in m:
        user = m["user"].name("a user name")
    return SshTarget(
        host=host,
        port=m["port"].as_int(1, 65535, what="a TCP port") if "port" in m else None,
        user=user,
        identity_file=m["identity_file"].path_value() if "identity_file" in m else None,
        known_hosts=m["known_hosts"].path_value() if "known_hosts" in m else None,
        ssh_config=m["ssh_config"].path_value() if "ssh_config" in m else None,
    )


def _labels(v: _Val, *, what: str) -> tuple[tuple[str, str], ...]:
    out = []
    for k, val in v.pairs():
        key = k.as_str(what="a label name")
        prefix, _, name = key.rpartition("/")
        if (
            not _LABEL_NAME_RE.match(name)
            or len(name) > 63
            or (prefix and not _DNS1123_RE.match(prefix))
        ):
            k.error(
                f"{key!r} is not a valid {what} key",
                "use a Kubernetes label key like 'zone' or 'example.com/rack'",
            )
        value = val.as_str(what="a label value")
        if not _LABEL_VALUE_RE.match(value) or len(value) > 63:
            val.error(
                f"{value!r} is not a valid label value",
                "use letters, digits, '-', '_', '.' (at most 63)",
            )
        out.append((key, value))
    return tuple(out)


def _lan(v: _Val) -> tuple[tuple[IPNetwork, _Val], ...]:
    entries = v.items() if isinstance(v.node, yaml.SequenceNode) else [v]
    out = []
    for e in entries:
        text = e.as_str(what="a prefix")
        try:
            net = ipaddress.ip_network(text.strip(), strict=True)
        except ValueError:
            try:
                iface = ipaddress.ip_interface(text.strip())
            except ValueError:
                e.error(f"{text!r} is not a prefix", "use CIDR notation like 198.51.100.0/24")
            e.error(
                f"{text!r} has host bits set",
                f"use the network address: {iface.network}",
            )
        out.append((net, e))
    return tuple(out)


def _router(v: _Val) -> tuple[Router, dict[str, _Val]]:
    m = v.mapping(_ROUTER_KEYS, required=("name", "ssh", "asn"))
    router_id: ipaddress.IPv4Address | None = None
    if "router_id" in m:
        rid = m["router_id"].ip()
        if not isinstance(rid, ipaddress.IPv4Address):
            m["router_id"].error(
                f"{rid} is not an IPv4 address", "a BGP router-id is a 32-bit IPv4-style id"
            )
        router_id = rid
    suite = "auto"
    if "suite" in m:
        suite = m["suite"].as_str()
        if suite not in SUITES:
            m["suite"].error(f"unknown suite {suite!r}", f"use one of: {', '.join(SUITES)}")
    lan = _lan(m["lan"]) if "lan" in m else ()
    router = Router(
        name=m["name"].name("a router name"),
        ssh=_ssh(m["ssh"]),
        asn=_asn(m["asn"]),
        router_id=router_id,
        lan=tuple(n for n, _ in lan),
        node_selector=_labels(m["node_selector"], what="node_selector")
        if "node_selector" in m
        else (),
        suite=suite,
    )
    return router, m


def _range(v: _Val) -> AddressRange:
    text = v.as_str(what="a CIDR or a first-last range")
    hint = "use a CIDR (203.0.113.0/24) or a range (203.0.113.10-203.0.113.20)"
    t = text.strip()
    if "/" in t:
        try:
            net = ipaddress.ip_network(t, strict=True)
        except ValueError:
            try:
                iface = ipaddress.ip_interface(t)
            except ValueError:
                v.error(f"{text!r} is not a CIDR", hint)
            v.error(f"{text!r} has host bits set", f"use the network address: {iface.network}")
        return AddressRange(text=text, first=net[0], last=net[-1])
    if "-" in t:
        a, _, b = t.partition("-")
        try:
            first, last = ipaddress.ip_address(a.strip()), ipaddress.ip_address(b.strip())
        except ValueError:
            v.error(f"{text!r} is not a valid range", hint)
        if first.version != last.version:
            v.error(f"{text!r} mixes IPv4 and IPv6", "both ends of a range must be the same family")
        if first > last:  # type: ignore[operator]
            v.error(f"{text!r}: first address is greater than last", f"write it as {last}-{first}")
        return AddressRange(text=text, first=first, last=last)
    return v.error(f"{text!r} is neither a CIDR nor a range", hint)


def _pool(v: _Val) -> tuple[Pool, list[tuple[AddressRange, _Val]]]:
    m = v.mapping(_POOL_KEYS, required=("name", "addresses"))
    name = m["name"].as_str(what="a pool name")
    if not _DNS1123_RE.match(name) or len(name) > 253:
        m["name"].error(
            f"{name!r} is not a valid pool name",
            "MetalLB pool names are DNS-1123: lowercase letters, digits, '-' and '.'",
        )
    entries = m["addresses"].items()
    if not entries:
        m["addresses"].error(
            "a pool needs at least one address range", "add e.g. '- 203.0.113.0/28'"
        )
    ranges = [(_range(e), e) for e in entries]
    pool = Pool(
        name=name,
        addresses=tuple(r for r, _ in ranges),
        auto_assign=m["auto_assign"].as_bool() if "auto_assign" in m else True,
    )
    return pool, ranges


def _secret(v: _Val) -> Secret:
    if isinstance(v.node, yaml.ScalarNode):
        v.error(
            "an inline password is not allowed",
            "use {env: VARIABLE} or {file: path} so the secret stays out of the topology file",
        )
    m = v.mapping(_SECRET_KEYS)
    if len(m) != 1:
        v.error("give exactly one of 'env' or 'file'", "e.g. {env: ROUTERCTL_BGP_PASSWORD}")
    if "env" in m:
        name = m["env"].as_str(what="an environment variable name")
        if not _ENV_RE.match(name):
            m["env"].error(
                f"{name!r} is not an environment variable name", "use letters, digits and '_'"
            )
        return Secret(env=name)
    return Secret(file=m["file"].path_value())


def _bgp(v: _Val) -> BgpOptions:
    m = v.mapping(_BGP_KEYS)
    hold = m["hold_time"].duration(0, 65535) if "hold_time" in m else None
    if hold is not None and 0 < hold < 3:
        m["hold_time"].error(
            f"hold time {hold}s is not allowed", "use 0 (no keepalives) or 3..65535 seconds"
        )
    keepalive = m["keepalive_time"].duration(0, 65535) if "keepalive_time" in m else None
    if keepalive is not None and hold and keepalive >= hold:
        m["keepalive_time"].error(
            f"keepalive {keepalive}s must be less than hold time {hold}s",
            "a third of the hold time is usual",
        )
    multihop: int | None = None
    if "ebgp_multihop" in m:
        mv = m["ebgp_multihop"]
        raw = mv._scalar()
        if isinstance(raw, bool):
            multihop = 255 if raw else None
        else:
            if isinstance(raw, int) and not 1 <= raw <= 255:
                mv.error(f"{raw} is out of range", "use a TTL 1..255, or true for 255")
            multihop = mv.as_int(1, 255, what="a TTL")
    return BgpOptions(
        password=_secret(m["password"]) if "password" in m else None,
        hold_time=hold,
        keepalive_time=keepalive,
        connect_retry=m["connect_retry"].duration(1, 65535) if "connect_retry" in m else None,
        ecmp=m["ecmp"].as_int(1, ECMP_MAX, what="a path count") if "ecmp" in m else 8,
        ebgp_multihop=multihop,
        bfd=m["bfd"].as_bool() if "bfd" in m else False,
        graceful_restart=m["graceful_restart"].as_bool() if "graceful_restart" in m else False,
    )


def _service(v: _Val) -> Service:
    m = v.mapping(_SERVICE_KEYS, required=("name", "address"))
    qname = m["name"].as_str(what="namespace/name")
    ns, _, name = qname.rpartition("/")
    ns = ns or "default"
    for part in (ns, name):
        if not _DNS1123_RE.match(part) or len(part) > 253:
            m["name"].error(
                f"{qname!r} is not a Kubernetes namespace/name",
                "use lowercase letters, digits, '-' and '.', e.g. default/nginx-lb",
            )
    return Service(
        namespace=ns,
        name=name,
        address=m["address"].ip(),
        port=m["port"].as_int(1, 65535, what="a TCP port") if "port" in m else None,
    )


def _overlaps(a: AddressRange, b: AddressRange) -> bool:
    return a.version == b.version and a.first <= b.last and b.first <= a.last  # type: ignore[operator]


def load_topology(path: Path) -> Topology:
    """Read and validate a topology file. Raises ``TopologyError``."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TopologyError(
            "topology file not found",
            file=file,
            hint="pass one with -t FILE, set ROUTERCTL_TOPOLOGY, or create ./routerctl.yaml",
        ) from None
    except IsADirectoryError:
        raise TopologyError(
            "is a directory, not a topology file", file=file, hint="pass a YAML file with -t FILE"
        ) from None
    except UnicodeDecodeError as exc:
        raise TopologyError(
            f"not UTF-8 text ({exc.reason})", file=file, hint="save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise TopologyError(f"cannot read: {exc.strerror}", file=file) from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise TopologyError(
            f"invalid YAML: {problem}", file=file, line=line, hint="fix the YAML syntax"
        ) from None
    except yaml.YAMLError as exc:
        raise TopologyError(f"invalid YAML: {exc}", file=file, hint="fix the YAML syntax") from None
    if root is None or (
        isinstance(root, yaml.ScalarNode) and root.value.strip() in ("", "~", "null")
    ):
        raise TopologyError(
            "the topology file is empty", file=file, hint="start from examples/seed.yaml"
        )
    field_lines: dict[str, int] = {}
    top = _Val(root, "", file, Path(path).resolve().parent, field_lines)
    m = top.mapping(_TOP_KEYS, required=("routers", "cluster"))

    # routers
    router_entries = m["routers"].items()
    if not router_entries:
        m["routers"].error("at least one router is needed", "add a '- name: ...' entry")
    routers: list[tuple[Router, dict[str, _Val], _Val]] = []
    for rv in router_entries:
        router, rm = _router(rv)
        for other, om, _ in routers:
            if other.name == router.name:
                rm["name"].error(
                    f"duplicate router name {router.name!r}", f"also at line {om['name'].line}"
                )
        routers.append((router, rm, rv))

    # cluster
    cm = m["cluster"].mapping(_CLUSTER_KEYS, required=("asn", "nodes", "pools"))
    cluster_asn = _asn(cm["asn"])
    node_entries = cm["nodes"].items()
    if not node_entries:
        cm["nodes"].error("at least one node is needed", "add '- {name: ..., address: ...}'")
    nodes: list[tuple[Node, dict[str, _Val]]] = []
    for nv in node_entries:
        nm = nv.mapping(_NODE_KEYS, required=("name", "address"))
        node = Node(
            name=nm["name"].name("a node name"),
            address=nm["address"].ip(),
            labels=_labels(nm["labels"], what="label") if "labels" in nm else (),
        )
        for onode, om in nodes:
            if onode.name == node.name:
                nm["name"].error(
                    f"duplicate node name {node.name!r}", f"also at line {om['name'].line}"
                )
            if onode.address == node.address:
                nm["address"].error(
                    f"duplicate node address {node.address}",
                    f"node {onode.name!r} at line {om['address'].line} has it too",
                )
        nodes.append((node, nm))

    pool_entries = cm["pools"].items()
    if not pool_entries:
        cm["pools"].error(
            "at least one pool is needed", "add '- {name: default, addresses: [...]}'"
        )
    pools: list[tuple[Pool, _Val, list[tuple[AddressRange, _Val]]]] = []
    seen_ranges: list[tuple[AddressRange, _Val, str]] = []
    for pv in pool_entries:
        pool, ranges = _pool(pv)
        for opool, opv, _ in pools:
            if opool.name == pool.name:
                pv.error(f"duplicate pool name {pool.name!r}", f"also at line {opv.line}")
        for r, rv in ranges:
            for o, orv, oname in seen_ranges:
                if _overlaps(r, o):
                    rv.error(
                        f"{r.text!r} overlaps {o.text!r} of pool {oname!r} (line {orv.line})",
                        "pools must not share addresses",
                    )
            seen_ranges.append((r, rv, pool.name))
        pools.append((pool, pv, ranges))

    # router-dependent checks: LAN vs pools and nodes
    bgp = _bgp(m["bgp"]) if "bgp" in m else BgpOptions()
    for router, rm, _ in routers:
        if not router.lan:
            continue
        lan_vals = _lan(rm["lan"])
        for net, lv in lan_vals:
            for r, rv, pname in seen_ranges:
                if r.version == net.version and r.first <= net[-1] and net[0] <= r.last:  # type: ignore[operator]
                    rv.error(
                        f"{r.text!r} of pool {pname!r} overlaps router {router.name!r} LAN {net}"
                        f" (line {lv.line})",
                        "LoadBalancer IPs must come from a range outside the LAN",
                    )
        if router.asn == cluster_asn or bgp.ebgp_multihop:
            continue
        for node, nm in nodes:
            if not _selected(node, router):
                continue
            if not any(node.address in net for net, _ in lan_vals):
                lans = ", ".join(str(n) for n, _ in lan_vals)
                nm["address"].error(
                    f"node {node.name!r} ({node.address}) is outside router"
                    f" {router.name!r} LAN {lans}",
                    "put the node on the LAN, fix 'lan', or set bgp.ebgp_multihop",
                )
    for router, rm, _ in routers:
        if router.suite == "quagga" and bgp.bfd:
            rm["suite"].error(
                "quagga's bgpd has no BFD, but bgp.bfd is true",
                "use suite frr (or auto), or set bgp.bfd: false",
            )
        if router.node_selector and not any(_selected(n, router) for n, _ in nodes):
            rm["node_selector"].error(
                f"selects none of the nodes for router {router.name!r}",
                "check the labels against cluster.nodes[].labels",
            )

    services: list[Service] = []
    if "services" in m:
        for sv in m["services"].items():
            svc = _service(sv)
            if not any(svc.address in p for p, _, _ in pools):
                sm = sv.mapping(_SERVICE_KEYS)
                names = ", ".join(p.name for p, _, _ in pools)
                sm["address"].error(
                    f"{svc.address} is outside every pool ({names})",
                    "a LoadBalancer IP must come from one of cluster.pools",
                )
            services.append(svc)

    probe_from = "local"
    if "verify" in m:
        vm = m["verify"].mapping(_VERIFY_KEYS)
        if "probe_from" in vm:
            probe_from = vm["probe_from"].as_str()
            if probe_from not in PROBE_SOURCES:
                vm["probe_from"].error(
                    f"unknown probe source {probe_from!r}",
                    f"use one of: {', '.join(PROBE_SOURCES)}",
                )

    return Topology(
        routers=tuple(r for r, _, _ in routers),
        cluster=Cluster(
            asn=cluster_asn,
            nodes=tuple(n for n, _ in nodes),
            pools=tuple(p for p, _, _ in pools),
        ),
        bgp=bgp,
        services=tuple(services),
        source=Path(path),
        probe_from=probe_from,
        field_lines=tuple(sorted(field_lines.items())),
    )


def _selected(node: Node, router: Router) -> bool:
    labels = node.label_map()
    return all(labels.get(k) == v for k, v in router.node_selector)
