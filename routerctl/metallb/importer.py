"""MetalLB config (legacy ConfigMap or CRDs) -> a starting topology file.

Peers become routers (SSH host and router-id = the peer address), ``myASN`` the
cluster ASN, BGP-advertised pools the cluster pools, session options the ``bgp``
section. What MetalLB's config does not hold (the nodes, SSH logins) or what the
topology cannot express is reported as notes, never guessed.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from routerctl.durations import parse_duration
from routerctl.errors import UsageError
from routerctl.metallb.convert import (
    LEGACY_KEYS,
    convert_legacy,
    legacy_config,
)
from routerctl.metallb.reader import Reader
from routerctl.metallb.yamlio import dump, user_input_boundary

PASSWORD_ENV = "ROUTERCTL_BGP_PASSWORD"  # noqa: S105 (a variable name)
CRD_KINDS = (
    "BGPPeer",
    "IPAddressPool",
    "BGPAdvertisement",
    "L2Advertisement",
    "BFDProfile",
    "Community",
)
_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")  # fullmatch: "$" would accept "rtr\n"
# Kubernetes' object names (fullmatch; apimachinery's IsDNS1123Subdomain / IsDNS1123Label)
_DNS1123_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_RE = re.compile(rf"{_DNS1123_LABEL}(?:\.{_DNS1123_LABEL})*")
_LABEL_RE = re.compile(_DNS1123_LABEL)
_PEER_IGNORED = {
    "sourceAddress": "source address",
    "routerID": "MetalLB's own router ID",
    "vrf": "VRF",
    "interface": "unnumbered interface",
    "localASN": "local-as",
    "disableMP": "disableMP",
}


@dataclass
class ImportResult:
    text: str  # the topology YAML
    notes: list[str] = field(default_factory=list)


def _doc_kind(doc: Any, source: str, index: int) -> str:
    if not isinstance(doc, Mapping):
        raise UsageError(f"{source}: document {index}: expected a YAML mapping")
    if "kind" not in doc:
        if any(key in doc for key in LEGACY_KEYS):
            return "legacy"
        raise UsageError(
            f"{source}: document {index}: no 'kind'",
            hint="expected a MetalLB ConfigMap, its config data, or MetalLB CRDs",
        )
    return str(doc["kind"])


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\n``): imported strings reach comments,
    notes on the terminal and suggested commands, where a raw one would start a new line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def k8s_name(reader: Reader, key: str, *, label: bool = False) -> str | None:
    """``reader[key]`` checked as a Kubernetes name: a DNS-1123 subdomain (object names,
    at most 253 characters) or, with ``label``, a DNS-1123 label (namespaces, at most 63)."""
    name = reader.string(key)
    if name is None:
        return None
    pattern, limit = (_LABEL_RE, 63) if label else (_SUBDOMAIN_RE, 253)
    if len(name) > limit or not pattern.fullmatch(name):
        what = "DNS-1123 label" if label else "DNS-1123 subdomain"
        raise reader.fail(
            key,
            f"{printable(repr(name))[:80]} is not a valid Kubernetes name",
            hint=f"a {what}: lower-case letters, digits, '-'"
            + ("" if label else " and '.'")
            + f", at most {limit} characters",
        )
    return name


def _readers(docs: list[Any], kind: str, source: str) -> list[Reader]:
    """The ``spec`` of every object of ``kind``, named after the object."""
    out = []
    for i, doc in enumerate(docs, start=1):
        if doc.get("kind") != kind:
            continue
        meta = Reader.of(doc.get("metadata") or {}, source=source, path=f"{kind}[{i}].metadata")
        meta.require("name")
        name = k8s_name(meta, "name") or ""
        spec = Reader.of(doc.get("spec") or {}, source=source, path=f"{kind} {name}.spec")
        out.append(
            Reader(
                spec.data, source=source, path=spec.path, name=name, labels=meta.str_map("labels")
            )
        )
    return out


def _seconds(reader: Reader, key: str) -> int | None:
    text = reader.string(key)
    if text is None:
        return None
    try:
        return int(parse_duration(text))
    except ValueError as exc:
        raise reader.fail(key, f"invalid duration {text[:40]!r}", hint="like 90s or 1m30s") from exc


def _same(values: list[tuple[str, Any]], what: str, notes: list[str]) -> Any:
    """The value all peers agree on; differing values -> note, first one wins."""
    present = [(peer, v) for peer, v in values if v is not None]
    if not present:
        return None
    first = present[0][1]
    if any(v != first for _, v in present) or len(present) != len(values):
        shown = ", ".join(f"{peer}={v if v is not None else 'unset'}" for peer, v in values)
        notes.append(
            f"{what} differs between peers ({shown}); the topology has one value: using {first}"
        )
    return first


def _selected_pools(
    pools: list[Reader], bgp_advs: list[Reader], l2_advs: list[Reader], notes: list[str]
) -> list[Reader]:
    if not bgp_advs and not l2_advs:
        if pools:
            notes.append("no BGPAdvertisement in the input: every pool is taken as BGP-advertised")
        return pools
    chosen: set[str] = set()
    for adv in bgp_advs:
        names = adv.strings("ipAddressPools")
        selectors = adv.readers("ipAddressPoolSelectors")
        if not names and not selectors:
            chosen.update(p.name for p in pools)
        chosen.update(names)
        for sel in selectors:
            if sel.items("matchExpressions"):
                notes.append(
                    f"BGPAdvertisement {adv.name}: matchExpressions in ipAddressPoolSelectors"
                    " are not evaluated; check the pools below"
                )
            want = sel.str_map("matchLabels")
            for p in pools:
                labels = p.labels
                if all(labels.get(k) == v for k, v in want.items()):
                    chosen.add(p.name)
        agg4 = adv.integer("aggregationLength", lo=0, hi=32, what="a prefix length")
        agg6 = adv.integer("aggregationLengthV6", lo=0, hi=128, what="a prefix length")
        if (agg4 not in (None, 32)) or (agg6 not in (None, 128)):
            notes.append(
                f"BGPAdvertisement {adv.name}: aggregation ({agg4}/{agg6}) is ignored;"
                " routerctl expects every LoadBalancer IP as a /32 (/128)"
            )
        extras = [k for k in ("communities", "localPref", "peers", "nodeSelectors") if adv.has(k)]
        if extras:
            notes.append(
                f"BGPAdvertisement {adv.name}: {', '.join(extras)} not represented in the topology"
            )
    for name in sorted(chosen - {p.name for p in pools}):
        notes.append(f"a BGPAdvertisement references pool {name!r}, which is not in the input")
    for p in pools:
        if p.name not in chosen:
            notes.append(f"pool {p.name} is not advertised over BGP: left out")
    return [p for p in pools if p.name in chosen]


def _router(peer: Reader, notes: list[str]) -> dict[str, Any]:
    name = peer.name
    if not _NAME_RE.fullmatch(name):
        raise peer.fail(None, f"peer name {name!r} is not usable as a router name")
    address_text = peer.string("peerAddress", required=True)
    assert address_text is not None
    try:
        address = ipaddress.ip_address(address_text)
    except ValueError as exc:
        raise peer.fail("peerAddress", f"{address_text!r} is not an IP address") from exc
    if peer.has("dynamicASN") and not peer.has("peerASN"):
        raise peer.fail(
            "dynamicASN", "a dynamic peer ASN cannot be imported", hint="set peerASN instead"
        )
    router: dict[str, Any] = {
        "name": name,
        "ssh": {"host": str(address)},
        "asn": peer.integer("peerASN", lo=1, hi=4294967295, required=True, what="an ASN"),
    }
    if address.version == 4:
        router["router_id"] = str(address)
    selectors = peer.readers("nodeSelectors")
    if len(selectors) == 1 and not selectors[0].items("matchExpressions"):
        labels = selectors[0].str_map("matchLabels")
        if labels:
            router["node_selector"] = labels
    elif selectors:
        notes.append(
            f"BGPPeer {name}: nodeSelectors with matchExpressions or several selectors cannot"
            " be expressed (the topology has match-labels only): left out"
        )
    port = peer.integer("peerPort", lo=0, hi=65535, what="a TCP port")
    if port not in (None, 179):
        notes.append(f"BGPPeer {name}: peerPort {port} is not supported (routerctl uses 179)")
    ignored = [what for key, what in _PEER_IGNORED.items() if peer.has(key)]
    if ignored:
        notes.append(f"BGPPeer {name}: {', '.join(ignored)} not represented in the topology")
    return router


@user_input_boundary
def import_metallb(docs: list[Any], *, source: str) -> ImportResult:
    """A topology (YAML text with comments) from MetalLB config documents."""
    kinds = [_doc_kind(doc, source, i) for i, doc in enumerate(docs, start=1)]
    if not docs:
        raise UsageError(f"{source}: empty file", hint="pass MetalLB's ConfigMap or its CRDs")
    for i, kind in enumerate(kinds, start=1):
        if kind not in (*CRD_KINDS, "ConfigMap", "legacy", "Secret"):
            raise UsageError(
                f"{source}: document {i}: kind {kind!r} is not MetalLB config",
                hint="expected a MetalLB ConfigMap, its config data, or " + ", ".join(CRD_KINDS),
            )
    legacy = [doc for doc, kind in zip(docs, kinds, strict=True) if kind in ("ConfigMap", "legacy")]
    crds = [doc for doc, kind in zip(docs, kinds, strict=True) if kind in CRD_KINDS]
    if legacy and crds:
        raise UsageError(
            f"{source}: holds both a legacy ConfigMap and MetalLB CRDs",
            hint="import one of them (MetalLB >= 0.13 ignores the ConfigMap)",
        )
    if legacy:
        config, namespace = legacy_config(legacy, source=source)
        crds = convert_legacy(config, namespace=namespace, defaults=False).docs
    return _from_crds(crds, source=source)  # Secrets: only their names are used, never values


def _from_crds(docs: list[dict[str, Any]], *, source: str) -> ImportResult:
    notes: list[str] = []
    peers = _readers(docs, "BGPPeer", source)
    if not peers:
        raise UsageError(
            f"{source}: no BGP peers (BGPPeer or ConfigMap peers)",
            hint="routerctl sets up the router MetalLB peers with; add the BGPPeer",
        )
    my_asns = {
        p.name: p.integer("myASN", lo=1, hi=4294967295, required=True, what="an ASN") for p in peers
    }
    if len(set(my_asns.values())) > 1:
        shown = ", ".join(f"{n} has myASN {a}" for n, a in my_asns.items())
        raise UsageError(
            f"{source}: inconsistent cluster ASN: {shown}",
            hint="routerctl's topology has one cluster ASN: make the peers agree",
        )
    routers = [_router(p, notes) for p in peers]
    names = [r["name"] for r in routers]
    for name in {n for n in names if names.count(n) > 1}:
        raise UsageError(f"{source}: two BGPPeers named {name!r}", hint="rename one")

    bgp: dict[str, Any] = {}
    has_password = [p for p in peers if p.has("password") or p.has("passwordSecret")]
    if has_password:
        bgp["password"] = {"env": PASSWORD_ENV}
        if len(has_password) != len(peers):
            notes.append("only some peers set a password; the topology uses one for all")
        for ref in sorted(
            {
                (k8s_name(r, "name") or "?", k8s_name(r, "namespace", label=True))
                for p in peers
                if (r := p.mapping("passwordSecret"))
            },
            key=str,
        ):
            name, namespace = ref[0], ref[1] or "metallb-system"
            # checked names; quoted anyway: this line is meant to be pasted into a shell
            notes.append(
                f"the BGP password is in Secret {namespace}/{name}: export {PASSWORD_ENV}="
                f'"$(kubectl -n {shlex.quote(namespace)} get secret {shlex.quote(name)}'
                " -o jsonpath='{.data.password}' | base64 -d)\""
            )
    for key, out, what in (
        ("holdTime", "hold_time", "holdTime"),
        ("keepaliveTime", "keepalive_time", "keepaliveTime"),
        ("connectTime", "connect_retry", "connectTime"),
    ):
        value = _same([(p.name, _seconds(p, key)) for p in peers], what, notes)
        if value is not None:
            bgp[out] = value
    if _same([(p.name, p.boolean("ebgpMultiHop") or None) for p in peers], "ebgpMultiHop", notes):
        bgp["ebgp_multihop"] = True
    bfd = _same([(p.name, p.string("bfdProfile")) for p in peers], "bfdProfile", notes)
    if bfd:
        bgp["bfd"] = True
        notes.append(
            f"BFD profile {bfd!r}: the topology turns BFD on with FRR's default timers"
            " (300 ms, multiplier 3); the profile's own values are not imported"
        )
    if _same(
        [(p.name, p.boolean("enableGracefulRestart") or None) for p in peers],
        "enableGracefulRestart",
        notes,
    ):
        bgp["graceful_restart"] = True

    pools = _selected_pools(
        _readers(docs, "IPAddressPool", source),
        _readers(docs, "BGPAdvertisement", source),
        _readers(docs, "L2Advertisement", source),
        notes,
    )
    if not pools:
        notes.append("no BGP-advertised pool found: cluster.pools is empty, fill it in")
    topo_pools = []
    for pool in pools:
        entry: dict[str, Any] = {
            "name": pool.name,
            "addresses": pool.strings("addresses", required=True),
        }
        if pool.boolean("autoAssign") is False:
            entry["auto_assign"] = False
        if pool.boolean("avoidBuggyIPs"):
            notes.append(f"pool {pool.name}: avoidBuggyIPs is not represented in the topology")
        if pool.has("serviceAllocation"):
            notes.append(f"pool {pool.name}: serviceAllocation is not represented")
        topo_pools.append(entry)

    notes.append(
        "not in the MetalLB config, fill in: cluster.nodes (name and address of every node)"
        " and each router's SSH login (ssh.user, identity_file; OpenWrt's user is root)"
    )
    return ImportResult(
        text=_render(
            routers=routers,
            cluster_asn=int(next(iter(my_asns.values())) or 0),
            pools=topo_pools,
            bgp=bgp,
            password_peers=has_password,
            source=source,
        ),
        notes=[printable(note) for note in notes],
    )


def _render(
    *,
    routers: list[dict[str, Any]],
    cluster_asn: int,
    pools: list[dict[str, Any]],
    bgp: dict[str, Any],
    password_peers: list[Reader],
    source: str,
) -> str:
    lines = [
        f"# Topology derived by `routerctl metallb import` from {printable(source)}.",
        "# Fill in what MetalLB's config does not hold: cluster.nodes and the routers' SSH login.",
        dump({"routers": routers}).rstrip("\n"),
        "cluster:",
        f"  asn: {cluster_asn}",
        "  nodes: []  # fill in: - {name: NODE-NAME, address: NODE-IP} for every node",
    ]
    pool_text = dump({"pools": pools}) if pools else "pools: []  # fill in\n"
    lines.extend("  " + line for line in pool_text.rstrip("\n").splitlines())
    if bgp:
        bgp_text = dump({"bgp": bgp}).rstrip("\n")
        if password_peers:
            where = ", ".join(
                f"{p.name}: Secret {k8s_name(p.mapping('passwordSecret') or p, 'name')}"
                if p.has("passwordSecret")
                else f"{p.name}: inline"
                for p in password_peers
            )
            bgp_text = bgp_text.replace(
                f"    env: {PASSWORD_ENV}",
                f"    env: {PASSWORD_ENV}  # MetalLB has a password ({where}):"
                f" export {PASSWORD_ENV}=... (never put it in this file)",
            )
        lines.append(bgp_text)
    return "\n".join(lines) + "\n"
