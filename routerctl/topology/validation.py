"""Field validators: a YAML node with its field path (``_Val``) and one function per
section; every problem is a ``TopologyError`` naming file, line and field."""

from __future__ import annotations

import difflib
import ipaddress
import re
from pathlib import Path
from typing import Any, NoReturn

import yaml

from routerctl.durations import whole_seconds
from routerctl.errors import TopologyError
from routerctl.model import IPAddress, IPNetwork
from routerctl.names import control_character, plain_host, plain_user
from routerctl.topology.model import (
    DYNAMIC_LIMIT_MAX,
    NODE_FAMILIES,
    NODE_SOURCES,
    AddressRange,
    BgpOptions,
    DynamicNeighbors,
    NodesFrom,
    Pool,
    Router,
    Secret,
    Service,
)
from routerctl.transport.base import TRANSPORTS, SshTarget

ASN_MAX = 4294967295
ASN_TRANS = 23456  # AS_TRANS (RFC 6793): reserved, never a real ASN
ECMP_MAX = 256

# full matches only (``fullmatch``): a ``$`` anchor would let a trailing newline through
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")
_DNS1123_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME_RE = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")
_LABEL_VALUE_RE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PATH_PART_RE = re.compile(r"[A-Za-z0-9._/-]+")
SHOWN_MAX = 60  # characters of a user's value quoted in a message
NOT_SHOWN = "a value that is not shown (it may be a secret)"

_TOP_KEYS = ("routers", "cluster", "bgp", "services", "verify", "firewall")
_FIREWALL_KEYS = ("manage",)
_VERIFY_KEYS = ("probe_from",)
PROBE_SOURCES = ("local", "router")
_ROUTER_KEYS = (
    "name",
    "ssh",
    "asn",
    "router_id",
    "lan",
    "node_selector",
    "suite",
    "dynamic_neighbors",
)
_DYNAMIC_KEYS = ("listen_range", "limit")
_SSH_KEYS = ("host", "port", "user", "identity_file", "known_hosts", "ssh_config", "transport")
_CLUSTER_KEYS = ("asn", "nodes", "pools")
_NODE_KEYS = ("name", "address", "labels")
_NODES_FROM_KEYS = ("from", "selector", "family", "namespace", "context", "kubeconfig")
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
        self,
        node: yaml.Node,
        path: str,
        file: str,
        base: Path,
        lines: dict[str, int],
        *,
        secret: bool = False,
    ) -> None:
        self.node = node
        self.path = path
        self.file = file
        self.base = base
        self.lines = lines  # shared: field path -> line, for errors found after loading
        self.secret = secret  # where a secret may be pasted by mistake: never echo values
        lines.setdefault(path, int(node.start_mark.line) + 1)

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def error(self, message: str, hint: str | None = None, *, line: int | None = None) -> NoReturn:
        raise TopologyError(
            message, file=self.file, line=line or self.line, field=self.path, hint=hint
        )

    def _child(self, node: yaml.Node, path: str) -> _Val:
        return _Val(node, path, self.file, self.base, self.lines, secret=self.secret)

    def as_secret(self) -> _Val:
        """This node, and everything under it, as a place where values are never echoed."""
        return _Val(self.node, self.path, self.file, self.base, self.lines, secret=True)

    def shown(self) -> str:
        """The value as the user wrote it, for messages (shortened; escaped by repr)."""
        if isinstance(self.node, yaml.ScalarNode):
            return NOT_SHOWN if self.secret else short(self.node.value)
        return "a list" if isinstance(self.node, yaml.SequenceNode) else "a mapping"

    def quoted(self, text: str) -> str:
        """``text`` (derived from this node's value) for a message."""
        return NOT_SHOWN if self.secret else short(text)

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
                close = difflib.get_close_matches(str(key)[:SHOWN_MAX], keys, n=1)
                hint = (
                    f"did you mean {close[0]!r}?" if close else f"allowed keys: {', '.join(keys)}"
                )
                if self.secret:
                    what, hint = (
                        "an unknown key (not shown: it may be a secret)",
                        (f"allowed keys: {', '.join(keys)}"),
                    )
                else:
                    what = f"unknown key {short(key)}"
                raise TopologyError(
                    what,
                    file=self.file,
                    line=int(knode.start_mark.line) + 1,
                    field=f"{prefix}{field_part(key)}" if not self.secret else self.path,
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
                k = self._child(knode, f"{self.path}.{field_part(knode.value)}")
                if knode.value in seen:
                    k.error(f"duplicate key {short(knode.value)}", "each key may appear once")
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
        bad = control_character(value)
        if bad is not None:
            self.error(
                f"{self.shown()} contains a control character ({unicode_name(bad)})",
                "remove it; no topology string may hold control characters or line breaks",
            )
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
            try:
                seconds = whole_seconds(str(value))
            except ValueError:
                self.error(f"{self.shown()} is not a duration in whole seconds", hint)
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
        if not _NAME_RE.fullmatch(text):
            self.error(
                f"{text!r} contains characters vtysh or a shell would interpret",
                "use only letters, digits, '.', '_' and '-'",
            )
        return text

    def path_value(self) -> Path:
        text = self.as_str(what="a path")
        try:
            p = Path(text).expanduser()
        except RuntimeError:  # ~user with no such user, or ~ with no home directory
            self.error(
                f"cannot expand {self.quoted(text.partition('/')[0])}: no such user or no home "
                "directory",
                "write the path out in full",
            )
        return p if p.is_absolute() else self.base / p


def short(value: object) -> str:
    """``value`` quoted for a message: repr (so control characters are escaped), cut."""
    text = repr(value)
    return text if len(text) <= SHOWN_MAX else f"{text[: SHOWN_MAX - 4]}...{text[-1]}"


def field_part(key: object) -> str:
    """A mapping key as one part of a field path: as written when plain, else quoted."""
    text = str(key)
    if _PATH_PART_RE.fullmatch(text) and len(text) <= SHOWN_MAX:
        return text
    return f"[{short(key)}]"


def unicode_name(c: str) -> str:
    return f"U+{ord(c):04X}"


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


def _host(v: _Val) -> str:
    """A host name, IPv4/IPv6 address or ssh_config alias: it may reach a ProxyCommand's
    ``sh -c`` through ``%h``, so nothing a shell would interpret (``routerctl.names``)."""
    host = v.as_str(what="a host name, address or ~/.ssh/config alias")
    if not plain_host(host):
        v.error(
            f"{v.shown()} is not a host name, address or alias",
            "use letters, digits, '.', '-' and '_' (not first: '-', '.'), an IPv4 or an IPv6 "
            "address, e.g. 'openwrt' or '192.0.2.1'",
        )
    return host


def _ssh(v: _Val) -> SshTarget:
    if isinstance(v.node, yaml.ScalarNode):
        return SshTarget(host=_host(v))
    m = v.mapping(_SSH_KEYS, required=("host",))
    host = _host(m["host"])
    user = None
    if "user" in m:
        user = m["user"].as_str(what="a user name")
        if not plain_user(user):
            m["user"].error(
                f"{m['user'].shown()} contains characters a shell would interpret, or is not a"
                " user name",
                "use letters, digits, '.', '-' and '_' (not first: '-', '.'), at most 64",
            )
    return SshTarget(
        host=host,
        port=m["port"].as_int(1, 65535, what="a TCP port") if "port" in m else None,
        user=user,
        identity_file=m["identity_file"].path_value() if "identity_file" in m else None,
        known_hosts=m["known_hosts"].path_value() if "known_hosts" in m else None,
        ssh_config=m["ssh_config"].path_value() if "ssh_config" in m else None,
        transport=_transport(m["transport"]) if "transport" in m else None,
    )


def _transport(v: _Val) -> str:
    name = v.as_str(what="a transport name")
    if name not in TRANSPORTS:
        v.error(f"unknown transport {v.shown()}", f"use one of: {', '.join(TRANSPORTS)}")
    return name


def _labels(v: _Val, *, what: str) -> tuple[tuple[str, str], ...]:
    out = []
    for k, val in v.pairs():
        key = k.as_str(what="a label name")
        prefix, _, name = key.rpartition("/")
        if (
            not _LABEL_NAME_RE.fullmatch(name)
            or len(name) > 63
            or (prefix and not _DNS1123_RE.fullmatch(prefix))
        ):
            k.error(
                f"{key!r} is not a valid {what} key",
                "use a Kubernetes label key like 'zone' or 'example.com/rack'",
            )
        value = val.as_str(what="a label value")
        if not _LABEL_VALUE_RE.fullmatch(value) or len(value) > 63:
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


def _dynamic(v: _Val, lan: tuple[tuple[IPNetwork, _Val], ...]) -> DynamicNeighbors:
    """``dynamic_neighbors: {listen_range: CIDR, limit: N}``; the range must lie on the LAN."""
    m = v.mapping(_DYNAMIC_KEYS, required=("listen_range",))
    rv = m["listen_range"]
    if isinstance(rv.node, yaml.SequenceNode):
        rv.error("expected one prefix, got a list", "give one CIDR like 198.51.100.0/24")
    ((net, _),) = _lan(rv)
    if net.prefixlen == 0:
        rv.error(
            f"{net} would accept a BGP session from any address",
            "use the node subnet, e.g. 198.51.100.0/24",
        )
    if net.is_link_local:
        rv.error(f"{net} is link-local: FRR refuses it as a listen range", "use the node subnet")
    if lan and not any(net.version == n.version and net.overlaps(n) for n, _ in lan):
        lans = ", ".join(str(n) for n, _ in lan)
        rv.error(
            f"{net} is outside the router's LAN {lans} (line {lan[0][1].line})",
            "the listen range is where the nodes are: use the LAN or a part of it",
        )
    limit = m["limit"].as_int(1, DYNAMIC_LIMIT_MAX, what="a peer count") if "limit" in m else None
    return DynamicNeighbors(listen_range=net, limit=limit)


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
    dynamic = _dynamic(m["dynamic_neighbors"], lan) if "dynamic_neighbors" in m else None
    if dynamic is not None and suite == "quagga":
        m["dynamic_neighbors"].error(
            "quagga has no 'bgp listen range' (dynamic neighbors)",
            "remove dynamic_neighbors and list the nodes as static neighbors"
            " (cluster.nodes), or use suite frr",
        )
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
        dynamic_neighbors=dynamic,
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
    if not _DNS1123_RE.fullmatch(name) or len(name) > 253:
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
    v = v.as_secret()  # a password pasted by mistake must not be echoed
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
        if not _ENV_RE.fullmatch(name):
            m["env"].error(
                f"{m['env'].shown()} is not an environment variable name",
                "use letters, digits and '_', e.g. {env: ROUTERCTL_BGP_PASSWORD}",
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
        if not _DNS1123_RE.fullmatch(part) or len(part) > 253:
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


def _nodes_from(v: _Val) -> NodesFrom:
    """``cluster.nodes`` written as a mapping: ``{from: kubectl, selector: {...}, ...}``."""
    m = v.mapping(_NODES_FROM_KEYS, required=("from",))
    source = m["from"].as_str()
    if source not in NODE_SOURCES:
        m["from"].error(
            f"unknown node source {short(source)}",
            f"use one of: {', '.join(NODE_SOURCES)} (or list the nodes)",
        )
    family = m["family"].as_str() if "family" in m else "ipv4"
    if family not in NODE_FAMILIES:
        m["family"].error(
            f"unknown address family {short(family)}", f"use one of: {', '.join(NODE_FAMILIES)}"
        )
    namespace = "metallb-system"
    if "namespace" in m:
        namespace = m["namespace"].as_str(what="a namespace")
        if not _DNS1123_RE.fullmatch(namespace) or len(namespace) > 63:
            m["namespace"].error(
                f"{short(namespace)} is not a Kubernetes namespace name",
                "use lower-case letters, digits and '-' (e.g. metallb-system)",
            )
    context = None
    if "context" in m:
        context = m["context"].as_str(what="a kubectl context name")
        if not context or any(c < " " or c == "\x7f" for c in context):
            m["context"].error("not a kubectl context name", "name a context of the kubeconfig")
    kubeconfig = None
    if "kubeconfig" in m:
        text = m["kubeconfig"].as_str(what="a file path")
        if "\0" in text or not text:
            m["kubeconfig"].error("not a file path", "name the kubeconfig file")
        kubeconfig = Path(text).expanduser()
        if not kubeconfig.is_absolute():
            kubeconfig = m["kubeconfig"].base / kubeconfig
    return NodesFrom(
        source=source,
        selector=_labels(m["selector"], what="selector") if "selector" in m else (),
        family=family,
        namespace=namespace,
        context=context,
        kubeconfig=kubeconfig,
    )
