"""Legacy MetalLB ConfigMap (MetalLB <= 0.12) -> MetalLB CRDs.

Follows MetalLB's own ``configmaptocrs`` tool: the same objects, names
(``peer1``, ``bgpadvertisement1``, ...), defaults (hold time 90s) and order
(peers, pools, BGP advertisements, L2 advertisements, BFD profiles, communities).
Pool and BFD profile names become valid Kubernetes names (and so do the references
to them). Server-side fields (``status``) and empty values are left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from routerctl.durations import parse_duration
from routerctl.errors import UsageError
from routerctl.metallb.reader import Reader
from routerctl.metallb.yamlio import line_of, load_text, user_input_boundary

NAMESPACE = "metallb-system"
UINT32 = 4294967295

LEGACY_KEYS = ("peers", "bgp-communities", "address-pools", "bfd-profiles")
PEER_KEYS = (
    "peer-address",
    "peer-asn",
    "my-asn",
    "peer-port",
    "source-address",
    "hold-time",
    "keepalive-time",
    "router-id",
    "password",
    "bfd-profile",
    "bfdProfile",  # spelled so in MetalLB's v0.12.1 annotated example
    "ebgp-multihop",
    "node-selectors",
)
POOL_KEYS = (
    "name",
    "protocol",
    "addresses",
    "avoid-buggy-ips",
    "auto-assign",
    "bgp-advertisements",
)
ADV_KEYS = ("aggregation-length", "aggregation-length-v6", "localpref", "communities")
BFD_KEYS = (
    "name",
    "receive-interval",
    "transmit-interval",
    "detect-multiplier",
    "echo-interval",
    "echo-mode",
    "passive-mode",
    "minimum-ttl",
)


def format_duration(seconds: int) -> str:
    """Whole seconds as Go (and so Kubernetes) prints a duration: ``1m30s``, ``2m0s``."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


_NOT_NAME = re.compile(r"[^a-z0-9-]+")


def k8s_name(name: str) -> str:
    """A valid Kubernetes object name for ``name`` the way MetalLB's converter makes one:
    lower case, other characters to ``-``, starting with a letter, at most 63 characters."""
    text = _NOT_NAME.sub("-", name.lower())
    text = re.sub(r"^[^a-z]+", "", text)[:63]
    return text.rstrip("-")


@dataclass
class Conversion:
    """The CRDs, in MetalLB's order, and notes for the user (renames, skipped items)."""

    docs: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)


@user_input_boundary
def legacy_config(docs: list[Any], *, source: str) -> tuple[Reader, str]:
    """The legacy config mapping (and the namespace for the CRDs) from a file that holds
    either the whole ConfigMap or just its ``config`` data."""
    if not docs:
        raise UsageError(f"{source}: empty file", hint="pass MetalLB's ConfigMap (or its config)")
    if len(docs) > 1:
        raise UsageError(
            f"{source}: {len(docs)} YAML documents, expected one ConfigMap",
            hint="pass only the legacy MetalLB ConfigMap",
        )
    doc = docs[0]
    if not isinstance(doc, Mapping):
        raise UsageError(f"{source}: expected a YAML mapping, got {type(doc).__name__}")
    if "kind" in doc or "apiVersion" in doc:
        top = Reader(doc, source=source)
        kind = top.string("kind")
        if kind != "ConfigMap":
            raise top.fail(
                "kind",
                f"{kind!r} is not a legacy MetalLB ConfigMap",
                hint="metallb convert reads the ConfigMap of MetalLB <= 0.12",
            )
        meta = top.mapping("metadata")
        namespace = (meta.string("namespace") if meta else None) or NAMESPACE
        data = top.mapping("data")
        text = data.string("config") if data else None
        if not text or not text.strip():
            raise top.fail("data.config", "missing or empty", hint="MetalLB reads its config there")
        # a `config: |` block starts on the line after its key
        inner = load_text(
            text, source=source, line_offset=line_of(data.data if data else None, "config") or 0
        )
        if len(inner) != 1 or not isinstance(inner[0], Mapping):
            raise top.fail("data.config", "expected one YAML mapping (peers, address-pools, ...)")
        config = Reader(inner[0], source=source)
    else:
        config = Reader(doc, source=source)
        namespace = NAMESPACE
    if not any(key in config.data for key in LEGACY_KEYS):
        raise config.fail(
            None,
            "no MetalLB config here",
            hint=f"expected a ConfigMap or its config data with {', '.join(LEGACY_KEYS)}",
        )
    config.check_keys(LEGACY_KEYS)
    return config, namespace


def _meta(kind: str, version: str, name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": f"metallb.io/{version}",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
    }


def _named(reader: Reader, what: str, notes: list[str], seen: dict[str, str]) -> str:
    original = reader.string("name", required=True)
    assert original is not None
    name = k8s_name(original)
    if not name:
        raise reader.fail("name", f"{original!r} cannot become a Kubernetes name")
    if name in seen:
        raise reader.fail(
            "name",
            f"{original!r} and {seen[name]!r} both become {what} {name!r}",
            hint="rename one of them",
        )
    seen[name] = original
    if name != original:
        notes.append(f"{what} {original!r} is named {name!r} (Kubernetes names)")
    return name


def _duration(reader: Reader, key: str) -> int | None:
    text = reader.string(key)
    if text is None:
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise reader.fail(
            key, f"invalid duration {text[:40]!r}", hint="write it like 90s or 1m30s"
        ) from exc
    if seconds < 0:
        raise reader.fail(key, f"negative duration {text!r}")
    return int(seconds)


def _node_selector(reader: Reader) -> dict[str, Any]:
    reader.check_keys(("match-labels", "match-expressions"))
    out: dict[str, Any] = {}
    expressions = []
    for expr in reader.readers("match-expressions"):
        expr.check_keys(("key", "operator", "values"))
        item: dict[str, Any] = {
            "key": expr.string("key", required=True),
            "operator": expr.string("operator", required=True),
        }
        values = expr.strings("values")
        if values:
            item["values"] = values
        expressions.append(item)
    if expressions:
        out["matchExpressions"] = expressions
    labels = reader.str_map("match-labels")
    if labels:
        out["matchLabels"] = labels
    return out


def _peer(reader: Reader, bfd_names: Mapping[str, str], *, defaults: bool) -> dict[str, Any]:
    reader.check_keys(PEER_KEYS)
    spec: dict[str, Any] = {
        "myASN": reader.integer("my-asn", lo=0, hi=UINT32, required=True, what="an ASN"),
        "peerASN": reader.integer("peer-asn", lo=0, hi=UINT32, required=True, what="an ASN"),
        "peerAddress": reader.string("peer-address", required=True),
    }
    hold = _duration(reader, "hold-time")
    if hold is not None and 0 < hold < 3:
        raise reader.fail("hold-time", f"{hold}s is too short", hint="use 0 or at least 3s")
    if hold is None and defaults:
        hold = 90  # MetalLB's default, written out by its converter
    if hold is not None:
        spec["holdTime"] = format_duration(hold)
    keepalive = _duration(reader, "keepalive-time")
    if keepalive is not None:
        spec["keepaliveTime"] = format_duration(keepalive)
    port = reader.integer("peer-port", lo=0, hi=65535, what="a TCP port")
    if port:
        spec["peerPort"] = port
    for key, out in (("source-address", "sourceAddress"), ("router-id", "routerID")):
        value = reader.string(key)
        if value:
            spec[out] = value
    password = reader.string("password")
    if password:
        spec["password"] = password
    bfd_key = "bfd-profile" if reader.has("bfd-profile") else "bfdProfile"
    bfd = reader.string(bfd_key)
    if bfd:
        spec["bfdProfile"] = bfd_names.get(bfd, k8s_name(bfd))
    if reader.boolean("ebgp-multihop"):
        spec["ebgpMultiHop"] = True
    selectors = [_node_selector(sel) for sel in reader.readers("node-selectors")]
    if selectors:
        spec["nodeSelectors"] = selectors
    return dict(sorted(spec.items()))


def _bfd(reader: Reader) -> dict[str, Any]:
    reader.check_keys(BFD_KEYS)
    spec: dict[str, Any] = {
        "echoMode": bool(reader.boolean("echo-mode")),
        "passiveMode": bool(reader.boolean("passive-mode")),
    }
    for key, out, lo, hi in (
        ("receive-interval", "receiveInterval", 10, 60000),
        ("transmit-interval", "transmitInterval", 10, 60000),
        ("detect-multiplier", "detectMultiplier", 2, 255),
        ("echo-interval", "echoInterval", 10, 60000),
        ("minimum-ttl", "minimumTtl", 1, 254),
    ):
        value = reader.integer(key, lo=lo, hi=hi)
        if value is not None:
            spec[out] = value
    return dict(sorted(spec.items()))


@user_input_boundary
def convert_legacy(
    config: Reader, *, namespace: str = NAMESPACE, defaults: bool = True
) -> Conversion:
    """The CRDs equivalent to a legacy MetalLB config (see ``legacy_config``).
    ``defaults=False`` leaves out values the config did not set (the hold time)."""
    notes: list[str] = []
    bfd_docs: list[dict[str, Any]] = []
    bfd_names: dict[str, str] = {}
    bfd_seen: dict[str, str] = {}
    for reader in config.readers("bfd-profiles"):
        name = _named(reader, "BFD profile", notes, bfd_seen)
        bfd_names[str(reader.data["name"])] = name
        doc = _meta("BFDProfile", "v1beta1", name, namespace)
        doc["spec"] = _bfd(reader)
        bfd_docs.append(doc)

    peers = []
    for i, reader in enumerate(config.readers("peers"), start=1):
        doc = _meta("BGPPeer", "v1beta2", f"peer{i}", namespace)
        doc["spec"] = _peer(reader, bfd_names, defaults=defaults)
        bfd = doc["spec"].get("bfdProfile")
        if bfd and bfd not in bfd_names.values():
            notes.append(f"peer{i}: BFD profile {bfd!r} is not defined in bfd-profiles")
        peers.append(doc)

    pools: list[dict[str, Any]] = []
    bgp_advs: list[dict[str, Any]] = []
    l2_advs: list[str] = []
    pool_seen: dict[str, str] = {}
    for reader in config.readers("address-pools"):
        reader.check_keys(POOL_KEYS)
        name = _named(reader, "address pool", notes, pool_seen)
        spec: dict[str, Any] = {"addresses": reader.strings("addresses", required=True)}
        auto_assign = reader.boolean("auto-assign")
        if auto_assign is not None:
            spec["autoAssign"] = auto_assign
        if reader.boolean("avoid-buggy-ips"):
            spec["avoidBuggyIPs"] = True
        doc = _meta("IPAddressPool", "v1beta1", name, namespace)
        doc["spec"] = spec
        pools.append(doc)
        protocol = reader.string("protocol")
        advertisements = reader.readers("bgp-advertisements")
        for adv in advertisements:
            adv.check_keys(ADV_KEYS)
            adv_spec: dict[str, Any] = {"ipAddressPools": [name]}
            for key, out, hi in (
                ("aggregation-length", "aggregationLength", 32),
                ("aggregation-length-v6", "aggregationLengthV6", 128),
            ):
                value = adv.integer(key, lo=0, hi=hi, what="a prefix length")
                if value is not None:
                    adv_spec[out] = value
            localpref = adv.integer("localpref", lo=0, hi=UINT32, what="a local preference")
            if localpref:
                adv_spec["localPref"] = localpref
            communities = adv.strings("communities")
            if communities:
                adv_spec["communities"] = communities
            bgp_advs.append(adv_spec)
        if not advertisements and protocol == "bgp":
            bgp_advs.append({"ipAddressPools": [name]})
        if protocol == "layer2":
            l2_advs.append(name)
        elif protocol != "bgp":
            notes.append(
                f"address pool {name!r}: protocol {protocol!r} is neither bgp nor layer2,"
                " so it is not advertised"
            )

    docs = peers + pools
    for i, adv_spec in enumerate(bgp_advs, start=1):
        doc = _meta("BGPAdvertisement", "v1beta1", f"bgpadvertisement{i}", namespace)
        doc["spec"] = dict(sorted(adv_spec.items()))
        docs.append(doc)
    for i, pool in enumerate(l2_advs, start=1):
        doc = _meta("L2Advertisement", "v1beta1", f"l2advertisement{i}", namespace)
        doc["spec"] = {"ipAddressPools": [pool]}
        docs.append(doc)
    docs.extend(bfd_docs)
    aliases = config.str_map("bgp-communities")
    if aliases:
        doc = _meta("Community", "v1beta1", "communities", namespace)
        doc["spec"] = {"communities": [{"name": k, "value": aliases[k]} for k in sorted(aliases)]}
        docs.append(doc)
    if password_peers := [d["metadata"]["name"] for d in peers if "password" in d["spec"]]:
        notes.append(
            f"{', '.join(password_peers)}: the password stays inline in spec.password as in the"
            " ConfigMap; consider a kubernetes.io/basic-auth Secret and spec.passwordSecret"
        )
    return Conversion(docs=docs, notes=notes)
