"""The cluster side: MetalLB manifests derived from the topology (pure, no I/O).

``render_crds`` gives MetalLB's CRDs (BGPPeer ``metallb.io/v1beta2``, IPAddressPool,
BGPAdvertisement and BFDProfile ``metallb.io/v1beta1``, and optionally the password
Secret); ``render_configmap`` gives the legacy ConfigMap of MetalLB <= 0.12.
Both speak for the cluster: MetalLB's ``myASN`` is the cluster ASN, ``peerASN``
the router's.
"""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

from routerctl.errors import TopologyError, UsageError
from routerctl.metallb.convert import format_duration, k8s_name
from routerctl.metallb.yamlio import dump, dump_documents
from routerctl.model import IPAddress
from routerctl.topology import Router, Topology

NAMESPACE = "metallb-system"
LABELS = {"app.kubernetes.io/managed-by": "routerctl"}
SECRET_NAME = "routerctl-bgp-password"  # noqa: S105 (a name, not a password)
BFD_PROFILE = "routerctl"
ADVERTISEMENT = "routerctl"
# FRR's BFD defaults (milliseconds / packets): what the router side uses with plain `bfd`.
BFD_DEFAULTS = {"receiveInterval": 300, "transmitInterval": 300, "detectMultiplier": 3}
LEGACY_BFD_KEYS = {
    "receiveInterval": "receive-interval",
    "transmitInterval": "transmit-interval",
    "detectMultiplier": "detect-multiplier",
}


def _ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def peer_address(router: Router) -> IPAddress:
    """The address MetalLB's speakers dial: the router's address on the nodes' LAN.

    ``router_id`` first, then ``ssh.host`` when it is an IP address; when the
    router's ``lan`` is known the address must lie inside it.
    """
    candidates = [a for a in (router.router_id, _ip(router.ssh.host)) if a is not None]
    for addr in candidates:
        if not router.lan or any(addr in net for net in router.lan if net.version == addr.version):
            return addr
    if candidates:
        lans = ", ".join(str(n) for n in router.lan)
        tried = " or ".join(str(a) for a in candidates)
        raise TopologyError(
            f"{tried} is not inside the router's lan ({lans}), so MetalLB cannot peer with it",
            field=f"routers[{router.name}].router_id",
            hint="set router_id (or ssh.host) to the router's address on the nodes' LAN",
        )
    raise TopologyError(
        "the address MetalLB should peer with is unknown"
        f" (ssh.host {router.ssh.host!r} is a name, router_id is not set)",
        field=f"routers[{router.name}].router_id",
        hint="set router_id to the router's address on the nodes' LAN",
    )


def _meta(api_version: str, kind: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(LABELS)},
    }


def _object_name(name: str, what: str) -> str:
    converted = k8s_name(name)
    if not converted:
        raise TopologyError(
            f"{what} name {name!r} cannot become a Kubernetes object name",
            hint="use letters, digits and '-', starting with a letter",
        )
    return converted


def _unique(names: list[tuple[str, str]], what: str) -> None:
    seen: dict[str, str] = {}
    for original, converted in names:
        if converted in seen:
            raise TopologyError(
                f"{what} names {seen[converted]!r} and {original!r} both become the Kubernetes"
                f" name {converted!r}",
                hint=f"rename one of the {what}s",
            )
        seen[converted] = original


def _routers(topology: Topology, router: str | None) -> tuple[Router, ...]:
    return topology.routers if router is None else (topology.router(router),)


def password_secret(topology: Topology) -> dict[str, Any]:
    """The Secret MetalLB reads the BGP password from (resolves the password)."""
    if topology.bgp.password is None:
        raise UsageError("the topology sets no BGP password", hint="drop --include-secret")
    secret = _meta("v1", "Secret", SECRET_NAME)
    secret["type"] = "kubernetes.io/basic-auth"
    value = topology.bgp.password.resolve().encode()
    secret["data"] = {"password": base64.b64encode(value).decode("ascii")}
    return secret


def render_crds(
    topology: Topology, *, router: str | None = None, include_secret: bool = False
) -> list[dict[str, Any]]:
    """MetalLB CRDs for the topology (every router, or only ``router``), in apply order."""
    bgp = topology.bgp
    routers = _routers(topology, router)
    docs: list[dict[str, Any]] = []
    if include_secret:
        docs.append(password_secret(topology))
    if bgp.bfd:
        bfd = _meta("metallb.io/v1beta1", "BFDProfile", BFD_PROFILE)
        bfd["spec"] = {**BFD_DEFAULTS, "echoMode": False, "passiveMode": False}
        docs.append(bfd)

    peer_names = [(r.name, _object_name(r.name, "router")) for r in routers]
    _unique(peer_names, "router")
    for r, (_, name) in zip(routers, peer_names, strict=True):
        address = peer_address(r)
        spec: dict[str, Any] = {
            "myASN": topology.cluster.asn,
            "peerASN": r.asn,
            "peerAddress": str(address),
        }
        if any(a.version != address.version for p in topology.cluster.pools for a in p.addresses):
            spec["dualStackAddressFamily"] = True  # the other family's pools over this session
        if bgp.hold_time is not None:
            spec["holdTime"] = format_duration(bgp.hold_time)
        if bgp.keepalive_time is not None:
            spec["keepaliveTime"] = format_duration(bgp.keepalive_time)
        if bgp.connect_retry is not None:
            spec["connectTime"] = format_duration(bgp.connect_retry)
        if bgp.ebgp_multihop is not None:
            spec["ebgpMultiHop"] = True
        if bgp.bfd:
            spec["bfdProfile"] = BFD_PROFILE
        if bgp.graceful_restart:
            spec["enableGracefulRestart"] = True
        if r.node_selector:
            spec["nodeSelectors"] = [{"matchLabels": dict(r.node_selector)}]
        if bgp.password is not None:
            spec["passwordSecret"] = {"name": SECRET_NAME, "namespace": NAMESPACE}
        peer = _meta("metallb.io/v1beta2", "BGPPeer", name)
        peer["spec"] = spec
        docs.append(peer)

    pool_names = [(p.name, _object_name(p.name, "pool")) for p in topology.cluster.pools]
    _unique(pool_names, "pool")
    for pool, (_, name) in zip(topology.cluster.pools, pool_names, strict=True):
        doc = _meta("metallb.io/v1beta1", "IPAddressPool", name)
        doc["spec"] = {
            "addresses": [r.text for r in pool.addresses],
            "autoAssign": pool.auto_assign,
        }
        docs.append(doc)
    if pool_names:  # an advertisement without pools would advertise every pool
        adv = _meta("metallb.io/v1beta1", "BGPAdvertisement", ADVERTISEMENT)
        adv["spec"] = {
            "ipAddressPools": [name for _, name in pool_names],
            "aggregationLength": 32,
            "aggregationLengthV6": 128,
        }
        docs.append(adv)
    return docs


def configmap_dropped(topology: Topology) -> list[str]:
    """Topology settings the legacy ConfigMap cannot express."""
    bgp = topology.bgp
    dropped = []
    if bgp.connect_retry is not None:
        dropped.append("bgp.connect_retry (MetalLB >= 0.13 BGPPeer connectTime only)")
    if bgp.graceful_restart:
        dropped.append("bgp.graceful_restart (MetalLB >= 0.14 BGPPeer enableGracefulRestart only)")
    return dropped


def render_configmap(topology: Topology, *, include_secret: bool = False) -> dict[str, Any]:
    """The legacy MetalLB (<= 0.12) ConfigMap ``metallb-system/config``.

    The legacy format carries the BGP password inline, so a topology with a
    password needs ``include_secret=True`` (the password is then resolved).
    """
    bgp = topology.bgp
    if bgp.password is not None and not include_secret:
        raise UsageError(
            "the legacy ConfigMap carries the BGP password inline",
            hint="pass --include-secret to write it, or use --format crds, it references a Secret",
        )
    password = bgp.password.resolve() if bgp.password is not None else None
    peers = []
    for r in topology.routers:
        peer: dict[str, Any] = {
            "peer-address": str(peer_address(r)),
            "peer-asn": r.asn,
            "my-asn": topology.cluster.asn,
        }
        if password is not None:
            peer["password"] = password
        if bgp.hold_time is not None:
            peer["hold-time"] = f"{bgp.hold_time}s"
        if bgp.keepalive_time is not None:
            peer["keepalive-time"] = f"{bgp.keepalive_time}s"
        if bgp.ebgp_multihop is not None:
            peer["ebgp-multihop"] = True
        if bgp.bfd:
            peer["bfd-profile"] = BFD_PROFILE
        if r.node_selector:
            peer["node-selectors"] = [{"match-labels": dict(r.node_selector)}]
        peers.append(peer)
    config: dict[str, Any] = {"peers": peers}
    config["address-pools"] = [
        {
            "name": pool.name,
            "protocol": "bgp",
            "addresses": [r.text for r in pool.addresses],
            "auto-assign": pool.auto_assign,
        }
        for pool in topology.cluster.pools
    ]
    if bgp.bfd:
        profile: dict[str, Any] = {"name": BFD_PROFILE}
        profile.update({LEGACY_BFD_KEYS[k]: v for k, v in BFD_DEFAULTS.items()})
        config["bfd-profiles"] = [profile]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "config", "namespace": NAMESPACE, "labels": dict(LABELS)},
        "data": {"config": dump(config)},
    }


def to_yaml(docs: list[dict[str, Any]], *, header: str | None = None) -> str:
    """Multi-document YAML for ``kubectl apply -f -``."""
    return dump_documents(docs, header=header)
