"""MetalLB manifests -> the config of a lab node's GoBGP speaker (pure, no I/O).

The lab's nodes stand in for MetalLB's speaker, so their BGP config is derived from
the same manifests ``routerctl render metallb`` produces (BGPPeer v1beta2,
IPAddressPool / BGPAdvertisement v1beta1, the password Secret), the way MetalLB
would apply them on that node.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from routerctl.durations import parse_duration
from routerctl.errors import LabError
from routerctl.topology import labels_match

IPAddr = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Neighbor:
    address: str
    peer_as: int
    local_as: int
    password: str | None = None
    hold_time: int | None = None
    keepalive: int | None = None
    connect_retry: int | None = None
    port: int | None = None
    multihop: bool = False
    source_address: str | None = None


@dataclass(frozen=True)
class Announcement:
    prefix: str
    communities: tuple[str, ...] = ()
    local_pref: int | None = None


@dataclass(frozen=True)
class SpeakerConfig:
    asn: int
    router_id: str
    neighbors: tuple[Neighbor, ...]
    announcements: tuple[Announcement, ...]


def duration_seconds(text: str, *, where: str) -> int:
    """A Kubernetes duration (``90s``, ``1m30s``) as whole seconds (truncated), or a LabError."""
    try:
        return int(parse_duration(text))
    except ValueError:
        hint = "write it like 90s or 1m30s"
        raise LabError(f"{where}: bad duration {text!r}", hint=hint) from None


def _by_kind(manifests: Iterable[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [m for m in manifests if m.get("kind") == kind]


def _name(m: Mapping[str, Any]) -> str:
    return str(m.get("metadata", {}).get("name", "?"))


def _selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes LabelSelector (matchLabels + matchExpressions) against labels."""
    if not labels_match((selector.get("matchLabels") or {}).items(), labels):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and (not present or labels[key] not in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _selectors_match(selectors: list[Mapping[str, Any]] | None, labels: Mapping[str, str]) -> bool:
    """MetalLB semantics: no selectors = every node; else any selector matching."""
    if not selectors:
        return True
    return any(_selector_matches(s, labels) for s in selectors)


def _secret_password(manifests: list[Mapping[str, Any]], name: str, namespace: str) -> str | None:
    for secret in _by_kind(manifests, "Secret"):
        meta = secret.get("metadata", {})
        if meta.get("name") != name or meta.get("namespace", namespace) != namespace:
            continue
        if "password" in (secret.get("stringData") or {}):
            return str(secret["stringData"]["password"])
        data = secret.get("data") or {}
        if "password" in data:
            try:
                return base64.b64decode(str(data["password"]), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise LabError(
                    f"Secret {name}: data.password is not valid base64",
                    hint="re-render the MetalLB manifests",
                ) from exc
    return None


def _pool_contains(pool: Mapping[str, Any], addr: IPAddr) -> bool:
    for entry in pool.get("spec", {}).get("addresses") or []:
        text = str(entry)
        if "-" in text:
            first, last = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            if first.version == addr.version and first <= addr <= last:  # type: ignore[operator]
                return True
        elif addr in ipaddress.ip_network(text, strict=False):
            return True
    return False


def speaker_config(
    manifests: Iterable[Mapping[str, Any]],
    *,
    node_name: str,
    node_address: str,
    service_ips: Iterable[str],
    node_labels: Mapping[str, str] | None = None,
    password: str | None = None,
) -> SpeakerConfig:
    """What MetalLB's speaker on ``node_name`` would do with these manifests.

    ``password`` is used when a BGPPeer names a passwordSecret that is not among
    the manifests (rendered without the Secret).
    """
    docs = [m for m in manifests if isinstance(m, Mapping)]
    labels = {"kubernetes.io/hostname": node_name, **(node_labels or {})}
    neighbors: list[Neighbor] = []
    asns: set[int] = set()
    for peer in _by_kind(docs, "BGPPeer"):
        spec = peer.get("spec", {})
        where = f"BGPPeer {_name(peer)}"
        if not _selectors_match(spec.get("nodeSelectors"), labels):
            continue
        try:
            my_asn, peer_asn, address = (
                int(spec["myASN"]),
                int(spec["peerASN"]),
                spec["peerAddress"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LabError(
                f"{where}: needs myASN, peerASN and peerAddress",
                hint="render it with routerctl render metallb",
            ) from exc
        secret = spec.get("password") or None
        ref = spec.get("passwordSecret")
        if secret is None and ref:
            namespace = ref.get("namespace") or peer.get("metadata", {}).get("namespace", "")
            secret = _secret_password(docs, str(ref.get("name")), str(namespace)) or password
            if secret is None:
                raise LabError(
                    f"{where}: passwordSecret {ref.get('name')} not found and no password given",
                    hint="render with the Secret or set the topology's bgp.password",
                )

        def seconds(key: str, _spec: Mapping[str, Any] = spec, _where: str = where) -> int | None:
            value = _spec.get(key)
            return None if value is None else duration_seconds(str(value), where=f"{_where}.{key}")

        asns.add(my_asn)
        neighbors.append(
            Neighbor(
                address=str(ipaddress.ip_address(address)),
                peer_as=peer_asn,
                local_as=my_asn,
                password=secret,
                hold_time=seconds("holdTime"),
                keepalive=seconds("keepaliveTime"),
                connect_retry=seconds("connectTime"),
                port=int(spec["peerPort"]) if spec.get("peerPort") else None,
                multihop=bool(spec.get("ebgpMultiHop", False)),
                source_address=spec.get("sourceAddress") or None,
            )
        )
    if len(asns) > 1:
        raise LabError(
            f"node {node_name}: BGPPeers use different myASN values {sorted(asns)}",
            hint="a GoBGP speaker has one local ASN; use one cluster ASN",
        )

    pools = _by_kind(docs, "IPAddressPool")
    ips = [ipaddress.ip_address(s) for s in service_ips]
    announcements: dict[str, Announcement] = {}
    for adv in _by_kind(docs, "BGPAdvertisement"):
        spec = adv.get("spec", {}) or {}
        if not _selectors_match(spec.get("nodeSelectors"), labels):
            continue
        names = spec.get("ipAddressPools") or []
        selectors = spec.get("ipAddressPoolSelectors") or []
        chosen = [
            p
            for p in pools
            if (not names and not selectors)
            or _name(p) in names
            or any(
                _selector_matches(s, p.get("metadata", {}).get("labels") or {}) for s in selectors
            )
        ]
        length = spec.get("aggregationLength")
        for ip in ips:
            if not any(_pool_contains(p, ip) for p in chosen):
                continue
            bits = ip.max_prefixlen if length is None or ip.version == 6 else int(length)
            prefix = str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))
            announcements[prefix] = Announcement(
                prefix=prefix,
                communities=tuple(str(c) for c in spec.get("communities") or ()),
                local_pref=int(spec["localPref"]) if spec.get("localPref") is not None else None,
            )
    return SpeakerConfig(
        asn=next(iter(asns)) if asns else 0,
        router_id=node_address,
        neighbors=tuple(neighbors),
        announcements=tuple(announcements.values()),
    )


def _q(value: str) -> str:
    return json.dumps(value)  # a valid TOML basic string


def render_toml(config: SpeakerConfig, *, listen: str) -> str:
    """gobgpd's TOML config (announcements are added over its API afterwards)."""
    out = [
        "[global.config]",
        f"  as = {config.asn}",
        f"  router-id = {_q(config.router_id)}",
        "  port = 179",
        f"  local-address-list = [{_q(listen)}]",
        "",
    ]
    for n in config.neighbors:
        out += ["[[neighbors]]", "  [neighbors.config]"]
        out += [f"    neighbor-address = {_q(n.address)}", f"    peer-as = {n.peer_as}"]
        if n.password:
            out.append(f"    auth-password = {_q(n.password)}")
        out += ["  [neighbors.timers.config]"]
        out.append(f"    connect-retry = {n.connect_retry if n.connect_retry else 5}")
        if n.hold_time is not None:
            out.append(f"    hold-time = {n.hold_time}")
        if n.keepalive is not None:
            out.append(f"    keepalive-interval = {n.keepalive}")
        out += ["  [neighbors.transport.config]"]
        out.append(f"    local-address = {_q(n.source_address or listen)}")
        if n.port:
            out.append(f"    remote-port = {n.port}")
        if n.multihop:
            out += ["  [neighbors.ebgp-multihop.config]", "    enabled = true"]
            out.append("    multihop-ttl = 255")
        family = "ipv6-unicast" if ":" in n.address else "ipv4-unicast"
        out += ["  [[neighbors.afi-safis]]", "    [neighbors.afi-safis.config]"]
        out += [f"      afi-safi-name = {_q(family)}", ""]
    return "\n".join(out)


def rib_add_args(announcement: Announcement) -> list[str]:
    """Arguments after ``gobgp global rib`` that announce one prefix."""
    family = "ipv6" if ":" in announcement.prefix else "ipv4"
    # ORIGIN IGP, as MetalLB's native speaker sends it (gobgp's CLI default is incomplete,
    # which would keep an FRR-mode node's path out of the router's ECMP set)
    args = ["-a", family, "add", announcement.prefix, "origin", "igp"]
    if announcement.communities:
        args += ["community", ",".join(announcement.communities)]
    if announcement.local_pref is not None:
        args += ["local-pref", str(announcement.local_pref)]
    return args
