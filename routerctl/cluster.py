"""The cluster side of verify's expectations: nodes and LoadBalancer services.

From the topology (``from_topology``), from ``kubectl get nodes,svc -A -o json``
(``from_kubectl``), or from a file holding that JSON (``from_file``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from routerctl.errors import CommandError, EnvironmentProblem, UsageError
from routerctl.model import IPAddress
from routerctl.topology import Node, NodesFrom, Topology, labels_match

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


@dataclass(frozen=True)
class ClusterService:
    namespace: str
    name: str
    address: IPAddress
    ports: tuple[int, ...] = ()
    traffic_policy: str = "Cluster"  # externalTrafficPolicy: Cluster | Local
    announcers: tuple[str, ...] | None = None  # node names; None = every peering node

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}"

    def announced_by(self, node: str) -> bool:
        return self.announcers is None or node in self.announcers


@dataclass(frozen=True)
class ClusterState:
    nodes: tuple[Node, ...]
    services: tuple[ClusterService, ...]
    pending: tuple[str, ...] = ()  # LoadBalancer services without an ingress IP (ns/name)
    source: str = "topology"


def from_topology(topology: Topology) -> ClusterState:
    """Expectations from the topology's nodes and ``services:``."""
    services = tuple(
        ClusterService(
            s.namespace, s.name, s.address, ports=(s.port,) if s.port is not None else ()
        )
        for s in topology.services
    )
    return ClusterState(nodes=topology.cluster.nodes, services=services, source="topology")


def _bad(source: str, what: str) -> UsageError:
    return UsageError(
        f"{source}: {what}",
        hint="expected the JSON of 'kubectl get nodes,svc -A -o json'",
    )


# Kubernetes object names (a DNS-1123 subdomain covers node, service and namespace names)
_K8S_NAME_RE = re.compile(r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?")
_TRAFFIC_POLICIES = ("Cluster", "Local")
MAX_CLUSTER_FILE_BYTES = 256 * 1024 * 1024


class _Reader:
    """Typed access to one kubectl List: a wrong type is a UsageError naming the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def obj(self, value: Any, where: str, *, optional: bool = True) -> dict[str, Any]:
        if value is None and optional:
            return {}
        if not isinstance(value, dict):
            raise _bad(self.source, f"{where} is not an object")
        return value

    def arr(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _bad(self.source, f"{where} is not a list")
        return value

    def text(self, value: Any, where: str) -> str | None:
        if value is None or isinstance(value, str):
            return value
        raise _bad(self.source, f"{where} is not a string")

    def name(self, value: Any, where: str) -> str:
        text = self.text(value, where)
        if text is None:
            raise _bad(self.source, f"{where} is missing")
        if not _K8S_NAME_RE.fullmatch(text):
            raise _bad(self.source, f"{where} {text[:80]!r} is not a Kubernetes name")
        return text

    def ip(self, value: Any, where: str) -> IPAddress:
        text = self.text(value, where)
        try:
            return ipaddress.ip_address(text or "")
        except ValueError as exc:
            raise _bad(self.source, f"{where}: bad address {text!r:.80}") from exc


def _node(r: _Reader, item: dict[str, Any], at: str) -> Node | None:
    meta = r.obj(item.get("metadata"), f"{at}.metadata")
    name = r.name(meta.get("name"), f"{at}.metadata.name")
    labels = r.obj(meta.get("labels"), f"{at}.metadata.labels")
    for key, value in labels.items():
        r.text(value, f"{at}.metadata.labels.{key[:60]}")
    if EXCLUDE_LABEL in labels:
        return None  # MetalLB does not announce from excluded nodes
    status = r.obj(item.get("status"), f"{at}.status")
    addrs = r.arr(status.get("addresses"), f"{at}.status.addresses")
    by_type: dict[str, IPAddress] = {}
    for i, a in enumerate(addrs):
        where = f"{at}.status.addresses[{i}]"
        entry = r.obj(a, where, optional=False)
        kind = r.text(entry.get("type"), f"{where}.type")
        if kind in ("InternalIP", "ExternalIP"):
            by_type.setdefault(kind, r.ip(entry.get("address"), f"{where}.address"))
    for kind in ("InternalIP", "ExternalIP"):
        if kind in by_type:
            return Node(
                name=name,
                address=by_type[kind],
                labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
            )
    return None


def _services(r: _Reader, item: dict[str, Any], at: str) -> tuple[list[ClusterService], str | None]:
    spec = r.obj(item.get("spec"), f"{at}.spec")
    if r.text(spec.get("type"), f"{at}.spec.type") != "LoadBalancer":
        return [], None
    meta = r.obj(item.get("metadata"), f"{at}.metadata")
    ns = r.name(meta.get("namespace", "default"), f"{at}.metadata.namespace")
    name = r.name(meta.get("name"), f"{at}.metadata.name")
    ports: list[int] = []
    for i, p in enumerate(r.arr(spec.get("ports"), f"{at}.spec.ports")):
        where = f"{at}.spec.ports[{i}]"
        port = r.obj(p, where, optional=False)
        protocol = r.text(port.get("protocol"), f"{where}.protocol") or "TCP"
        number = port.get("port")
        if type(number) is not int or not 0 < number < 65536:
            raise _bad(r.source, f"{where}.port is not a port number (1-65535)")
        if protocol == "TCP":
            ports.append(number)
    policy = r.text(spec.get("externalTrafficPolicy"), f"{at}.spec.externalTrafficPolicy")
    policy = policy or "Cluster"
    if policy not in _TRAFFIC_POLICIES:
        raise _bad(
            r.source, f"{at}.spec.externalTrafficPolicy {policy[:40]!r} is not Cluster or Local"
        )
    status = r.obj(item.get("status"), f"{at}.status")
    lb = r.obj(status.get("loadBalancer"), f"{at}.status.loadBalancer")
    out: list[ClusterService] = []
    for i, ing in enumerate(r.arr(lb.get("ingress"), f"{at}.status.loadBalancer.ingress")):
        where = f"{at}.status.loadBalancer.ingress[{i}]"
        ip = r.text(r.obj(ing, where, optional=False).get("ip"), f"{where}.ip")
        if not ip:
            continue  # a hostname-only ingress
        addr = r.ip(ip, f"{where}.ip")
        out.append(ClusterService(ns, name, addr, ports=tuple(ports), traffic_policy=policy))
    return out, (None if out else f"{ns}/{name}")


def from_kubectl_json(data: Any, *, source: str) -> ClusterState:
    """Read the JSON of ``kubectl get nodes,svc -A -o json`` (a v1 List).

    The boundary for cluster JSON: anything but a well-typed List is a UsageError naming
    ``source`` and the field (``items[3].spec.ports[0].port``), never another exception.
    """
    r = _Reader(source)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise _bad(source, "no 'items' list")
    nodes: list[Node] = []
    services: list[ClusterService] = []
    pending: list[str] = []
    for i, raw in enumerate(data["items"]):
        at = f"items[{i}]"
        item = r.obj(raw, at, optional=False)
        kind = r.text(item.get("kind"), f"{at}.kind")
        if kind == "Node":
            node = _node(r, item, at)
            if node is not None:
                nodes.append(node)
        elif kind == "Service":
            svcs, missing = _services(r, item, at)
            services += svcs
            if missing:
                pending.append(missing)
    if not nodes:
        raise _bad(source, "no Node with an InternalIP")
    return ClusterState(tuple(nodes), tuple(services), tuple(pending), source=source)


def _parse_json(text: str, *, source: str) -> Any:
    """``json.loads``, with every way it fails as ValueError (incl. deep nesting)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON (line {exc.lineno}: {exc.msg})") from exc
    except RecursionError as exc:
        raise ValueError("not JSON this tool reads (nested too deeply)") from exc
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise ValueError(f"not JSON this tool reads ({str(exc)[:80]})") from exc


def from_file(path: Path) -> ClusterState:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CLUSTER_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(
            f"cannot read cluster file {path}: {reason}",
            hint="pass --cluster kubectl or a file from 'kubectl get nodes,svc -A -o json'",
        ) from exc
    if len(raw) > MAX_CLUSTER_FILE_BYTES:
        raise _bad(str(path), f"larger than {MAX_CLUSTER_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(str(path), f"not UTF-8 (byte {exc.start})") from exc
    try:
        data = _parse_json(text, source=str(path))
    except ValueError as exc:
        raise _bad(str(path), str(exc)) from exc
    return from_kubectl_json(data, source=str(path))


def from_kubectl(
    *,
    kubectl: str | None = None,
    context: str | None = None,
    kubeconfig: Path | None = None,
    timeout: float = 30.0,
) -> ClusterState:
    """Run ``kubectl get nodes,svc -A -o json`` with the user's kubeconfig/context."""
    exe = kubectl or os.environ.get("ROUTERCTL_KUBECTL") or "kubectl"
    path = shutil.which(exe)
    if path is None:
        raise EnvironmentProblem(
            f"kubectl not found ({exe})",
            hint="install kubectl, or pass --cluster FILE with saved 'kubectl get nodes,svc "
            "-A -o json' output",
        )
    argv = [path]
    if kubeconfig is not None:
        argv += ["--kubeconfig", str(kubeconfig)]
    if context is not None:
        argv += ["--context", context]
    argv += ["get", "nodes,svc", "-A", "-o", "json", f"--request-timeout={int(timeout)}s"]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout + 5, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(
            f"kubectl did not answer within {timeout:.0f}s", hint="check the cluster is up"
        ) from exc
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        last = lines[-1] if lines else f"exit status {proc.returncode}"
        raise CommandError(
            f"kubectl get nodes,svc failed: {last}",
            hint="check kubectl works with this kubeconfig/context (--context, --kubeconfig)",
        )
    try:
        data = _parse_json(proc.stdout, source="kubectl")
    except ValueError as exc:
        raise CommandError(f"kubectl output is {exc}") from exc
    return from_kubectl_json(data, source="kubectl")


# -- the node set from the live cluster (cluster.nodes: {from: kubectl}, --nodes-from) --------

METALLB_NAMESPACE = "metallb-system"
SPEAKER_LABELS = (("component", "speaker"), ("app.kubernetes.io/component", "speaker"))


@dataclass(frozen=True)
class NodeVerdict:
    """One cluster node and whether (and why) it speaks BGP to the routers."""

    name: str
    address: IPAddress | None
    speaks: bool
    reason: str  # why it speaks ("Ready", "cordoned: ...") or why not
    labels: tuple[tuple[str, str], ...] = ()
    routers: tuple[str, ...] | None = None  # the routers its BGPPeers name; None = every one

    def node(self) -> Node:
        assert self.address is not None
        return Node(name=self.name, address=self.address, labels=self.labels)


@dataclass(frozen=True)
class NodeSelection:
    """The live cluster's nodes with MetalLB's rules applied (``select_nodes``)."""

    verdicts: tuple[NodeVerdict, ...]
    notes: tuple[str, ...] = ()
    source: str = "kubectl"

    def nodes(self, router: str | None = None) -> tuple[Node, ...]:
        """The speaking nodes (those a BGPPeer for ``router`` selects, when given)."""
        return tuple(
            v.node()
            for v in self.verdicts
            if v.speaks and (router is None or v.routers is None or router in v.routers)
        )

    def topology(self, topology: Topology, router: str | None = None) -> Topology:
        """``topology`` with ``cluster.nodes`` replaced by the speaking nodes.

        Refuses an empty set: a cluster read that lists no speaking node must not remove
        every neighbor from the router.
        """
        nodes = self.nodes(router)
        if not nodes:
            why = "; ".join(f"{v.name}: {v.reason}" for v in self.verdicts[:5]) or "no nodes"
            raise CommandError(
                f"{self.source}: no cluster node speaks BGP"
                + (f" to router {router}" if router else "")
                + f" ({why}); refusing to remove every neighbor",
                hint="check the nodes, the selector and MetalLB's BGPPeers "
                "(routerctl plan --nodes-from kubectl shows each node's reason)",
            )
        return replace(topology, cluster=replace(topology.cluster, nodes=nodes))

    def describe(self) -> list[str]:
        """One line per node: who speaks and who does not, and why."""
        out = []
        for v in self.verdicts:
            addr = f" ({v.address})" if v.address is not None else ""
            mark = "speaks" if v.speaks else "skipped"
            out.append(f"node {v.name}{addr}: {mark}: {v.reason}")
        return out + [f"note: {n}" for n in self.notes]

    def changes(self, added: list[str], removed: list[str]) -> list[str]:
        """Why each neighbor a plan adds or removes comes or goes, by node."""
        by_addr = {str(v.address): v for v in self.verdicts if v.address is not None}
        out = []
        for addr in added:
            v = by_addr.get(addr)
            who = f"node {v.name} ({addr})" if v else addr
            out.append(f"+ {who}: {v.reason if v else 'in the cluster'}")
        for addr in removed:
            v = by_addr.get(addr)
            if v is None:
                out.append(f"- {addr}: no node in the cluster has this address")
            else:
                out.append(f"- node {v.name} ({addr}): {v.reason}")
        return out


def _selector_matches(r: _Reader, sel: Any, labels: dict[str, str], at: str) -> bool:
    """A Kubernetes LabelSelector (matchLabels and matchExpressions); {} selects all."""
    sel = r.obj(sel, at, optional=False)
    for key, value in r.obj(sel.get("matchLabels"), f"{at}.matchLabels").items():
        if labels.get(key) != r.text(value, f"{at}.matchLabels.{key[:60]}"):
            return False
    for i, e in enumerate(r.arr(sel.get("matchExpressions"), f"{at}.matchExpressions")):
        where = f"{at}.matchExpressions[{i}]"
        expr = r.obj(e, where, optional=False)
        key = r.text(expr.get("key"), f"{where}.key") or ""
        op = r.text(expr.get("operator"), f"{where}.operator")
        values = [
            r.text(x, f"{where}.values") for x in r.arr(expr.get("values"), f"{where}.values")
        ]
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = labels.get(key) not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            raise _bad(
                r.source, f"{where}.operator {str(op)[:20]!r} is not In/NotIn/Exists/DoesNotExist"
            )
        if not ok:
            return False
    return True


def _peer_address(router: Any) -> str | None:
    """The address MetalLB's BGPPeer names for ``router`` (render.metallb's rule)."""
    from routerctl.render.metallb import peer_address  # noqa: PLC0415 - keeps cluster light

    try:
        return str(peer_address(router))
    except UsageError:
        return None


def _ready(r: _Reader, item: dict[str, Any], at: str) -> bool:
    status = r.obj(item.get("status"), f"{at}.status")
    for i, c in enumerate(r.arr(status.get("conditions"), f"{at}.status.conditions")):
        cond = r.obj(c, f"{at}.status.conditions[{i}]", optional=False)
        if r.text(cond.get("type"), f"{at}.status.conditions[{i}].type") == "Ready":
            return r.text(cond.get("status"), f"{at}.status.conditions[{i}].status") == "True"
    return False


def select_nodes(
    nodes_json: Any,
    metallb_json: Any,
    *,
    topology: Topology,
    spec: NodesFrom,
    source: str = "kubectl",
) -> NodeSelection:
    """Which of the cluster's nodes speak BGP, by MetalLB's own rules (pure).

    ``nodes_json`` is ``kubectl get nodes -o json``; ``metallb_json`` the speaker
    DaemonSet(s) and BGPPeers of ``spec.namespace`` (a v1 List), or None when MetalLB's
    CRDs are not installed. A node speaks when, in this order, it matches
    ``spec.selector``, the speaker DaemonSet's nodeSelector (the speaker runs there),
    carries no ``node.kubernetes.io/exclude-from-external-load-balancers`` label (MetalLB
    announces nothing from it), has an InternalIP of ``spec.family``, and a BGPPeer for
    one of the routers selects it. Cordoned nodes speak (draining evicts no DaemonSet pod:
    MetalLB's speaker stays up), and so do NotReady ones: MetalLB has no Ready rule for
    BGP, a dead node's session drops by itself (hold timer) and its routes with it, and
    removing its neighbor would turn every rolling upgrade into two applies per node.
    """
    r = _Reader(source)
    if not isinstance(nodes_json, dict) or not isinstance(nodes_json.get("items"), list):
        raise _bad(source, "no 'items' list")
    notes: list[str] = []
    speaker_selector: dict[str, str] | None = None
    peers: list[tuple[str, str, Any]] = []  # (BGPPeer name, router name, nodeSelectors)
    if metallb_json is None:
        notes.append("MetalLB's CRDs are not installed: no speaker or BGPPeer rule applied")
    else:
        if not isinstance(metallb_json, dict) or not isinstance(metallb_json.get("items"), list):
            raise _bad(source, "MetalLB objects: no 'items' list")
        addresses = {
            (addr, rt.asn): rt.name
            for rt in topology.routers
            if (addr := _peer_address(rt)) is not None
        }
        for i, raw in enumerate(metallb_json["items"]):
            at = f"metallb.items[{i}]"
            item = r.obj(raw, at, optional=False)
            kind = r.text(item.get("kind"), f"{at}.kind")
            meta = r.obj(item.get("metadata"), f"{at}.metadata")
            name = r.name(meta.get("name"), f"{at}.metadata.name")
            spec_ = r.obj(item.get("spec"), f"{at}.spec")
            if kind == "DaemonSet":
                labels = r.obj(meta.get("labels"), f"{at}.metadata.labels")
                if not any(labels.get(k) == v for k, v in SPEAKER_LABELS):
                    continue
                pod = r.obj(
                    r.obj(spec_.get("template"), f"{at}.spec.template").get("spec"),
                    f"{at}.spec.template.spec",
                )
                sel = r.obj(pod.get("nodeSelector"), f"{at}.spec.template.spec.nodeSelector")
                speaker_selector = {
                    str(k): r.text(v, f"{at}.spec.template.spec.nodeSelector") or ""
                    for k, v in sel.items()
                }
            elif kind == "BGPPeer":
                addr = r.text(spec_.get("peerAddress"), f"{at}.spec.peerAddress") or ""
                asn = spec_.get("peerASN")
                router = addresses.get((addr, asn)) if type(asn) is int else None
                if router is not None:
                    peers.append((name, router, spec_.get("nodeSelectors")))
        if speaker_selector is None:
            notes.append(f"no MetalLB speaker DaemonSet in {spec.namespace}: every node counted")
        if not peers:
            notes.append(
                f"no BGPPeer in {spec.namespace} names a router of the topology "
                "(peerAddress and peerASN): every node counted"
            )
    verdicts: list[NodeVerdict] = []
    for i, raw in enumerate(nodes_json["items"]):
        at = f"items[{i}]"
        item = r.obj(raw, at, optional=False)
        if r.text(item.get("kind"), f"{at}.kind") not in (None, "Node"):
            continue
        meta = r.obj(item.get("metadata"), f"{at}.metadata")
        name = r.name(meta.get("name"), f"{at}.metadata.name")
        raw_labels = r.obj(meta.get("labels"), f"{at}.metadata.labels")
        labels = {
            str(k): r.text(v, f"{at}.metadata.labels.{str(k)[:60]}") or ""
            for k, v in raw_labels.items()
        }
        label_tuple = tuple(sorted(labels.items()))
        status = r.obj(item.get("status"), f"{at}.status")
        address: IPAddress | None = None
        for j, a in enumerate(r.arr(status.get("addresses"), f"{at}.status.addresses")):
            where = f"{at}.status.addresses[{j}]"
            entry = r.obj(a, where, optional=False)
            if r.text(entry.get("type"), f"{where}.type") == "InternalIP":
                ip = r.ip(entry.get("address"), f"{where}.address")
                if ip.version == spec.version and address is None:
                    address = ip
        node_spec = r.obj(item.get("spec"), f"{at}.spec")
        cordoned = node_spec.get("unschedulable") is True
        ready = _ready(r, item, at)

        def verdict(
            speaks: bool,
            reason: str,
            routers: tuple[str, ...] | None = None,
            *,
            name: str = name,
            address: IPAddress | None = address,
            label_tuple: tuple[tuple[str, str], ...] = label_tuple,
        ) -> NodeVerdict:
            return NodeVerdict(name, address, speaks, reason, label_tuple, routers)

        if not labels_match(spec.selector, labels):
            want = ",".join(f"{k}={v}" for k, v in spec.selector)
            verdicts.append(verdict(False, f"not matched by cluster.nodes.selector ({want})"))
            continue
        if speaker_selector is not None and not labels_match(speaker_selector.items(), labels):
            want = ",".join(f"{k}={v}" for k, v in speaker_selector.items())
            verdicts.append(verdict(False, f"no MetalLB speaker (speaker nodeSelector {want})"))
            continue
        if EXCLUDE_LABEL in labels:
            verdicts.append(verdict(False, f"labelled {EXCLUDE_LABEL}"))
            continue
        if address is None:
            fam = "IPv6" if spec.version == 6 else "IPv4"
            verdicts.append(verdict(False, f"no {fam} InternalIP"))
            continue
        routers: tuple[str, ...] | None = None
        if peers:
            routers = tuple(
                sorted(
                    {
                        rt
                        for pname, rt, sels in peers
                        if sels is None
                        or sels == []
                        or any(
                            _selector_matches(r, s, labels, f"BGPPeer {pname}.nodeSelectors[{k}]")
                            for k, s in enumerate(r.arr(sels, f"BGPPeer {pname}.nodeSelectors"))
                        )
                    }
                )
            )
            if not routers:
                names = ", ".join(sorted({p for p, _, _ in peers}))
                verdicts.append(verdict(False, f"no BGPPeer's nodeSelectors select it ({names})"))
                continue
        state = ["Ready" if ready else "NotReady (kept: its session drops by itself)"]
        if cordoned:
            state.append("cordoned (kept: MetalLB's speaker keeps running)")
        verdicts.append(verdict(True, ", ".join(state), routers))
    return NodeSelection(tuple(verdicts), tuple(notes), source)


def kubectl_argv(
    args: list[str],
    *,
    kubectl: str | None = None,
    context: str | None = None,
    kubeconfig: Path | None = None,
) -> list[str]:
    """``kubectl [--kubeconfig F] [--context C] ARGS`` ($ROUTERCTL_KUBECTL names another)."""
    exe = kubectl or os.environ.get("ROUTERCTL_KUBECTL") or "kubectl"
    path = shutil.which(exe)
    if path is None:
        raise EnvironmentProblem(
            f"kubectl not found ({exe})",
            hint="install kubectl (Debian: apt install kubernetes-client), or list the nodes "
            "in the topology",
        )
    argv = [path]
    if kubeconfig is not None:
        argv += ["--kubeconfig", str(kubeconfig)]
    if context is not None:
        argv += ["--context", context]
    return argv + args


def _run_kubectl(
    args: list[str],
    *,
    kubectl: str | None,
    context: str | None,
    kubeconfig: Path | None,
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    argv = kubectl_argv(
        [*args, f"--request-timeout={int(timeout)}s"],
        kubectl=kubectl,
        context=context,
        kubeconfig=kubeconfig,
    )
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout + 5, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(
            f"kubectl did not answer within {timeout:.0f}s", hint="check the cluster is up"
        ) from exc


def _kubectl_failed(what: str, proc: subprocess.CompletedProcess[str]) -> CommandError:
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else f"exit status {proc.returncode}"
    return CommandError(
        f"kubectl get {what} failed: {last}",
        hint="check kubectl works with this kubeconfig/context (--context, --kubeconfig)",
    )


def live_nodes(
    topology: Topology,
    spec: NodesFrom | None = None,
    *,
    kubectl: str | None = None,
    context: str | None = None,
    kubeconfig: Path | None = None,
    timeout: float = 30.0,
) -> NodeSelection:
    """Read the nodes (and MetalLB's speaker DaemonSet and BGPPeers) with kubectl.

    Two reads: ``kubectl get nodes -o json``, then ``kubectl get
    daemonsets.apps,bgppeers.metallb.io -n NS -o json`` (a cluster without MetalLB's
    CRDs answers "doesn't have a resource type": no MetalLB rule is applied then).
    Any failure is a one-line error, before the router is touched.
    """
    spec = spec or topology.cluster.nodes_from or NodesFrom()
    context = context or spec.context
    kubeconfig = kubeconfig or spec.kubeconfig
    kw: dict[str, Any] = {
        "kubectl": kubectl,
        "context": context,
        "kubeconfig": kubeconfig,
        "timeout": timeout,
    }
    proc = _run_kubectl(["get", "nodes", "-o", "json"], **kw)
    if proc.returncode != 0:
        raise _kubectl_failed("nodes", proc)
    try:
        nodes_json = _parse_json(proc.stdout, source="kubectl")
    except ValueError as exc:
        raise CommandError(f"kubectl output is {exc}") from exc
    what = "daemonsets.apps,bgppeers.metallb.io"
    proc = _run_kubectl(["get", what, "-n", spec.namespace, "-o", "json"], **kw)
    metallb_json: Any = None
    if proc.returncode != 0:
        if "doesn't have a resource type" not in proc.stderr:
            raise _kubectl_failed(what, proc)
    else:
        try:
            metallb_json = _parse_json(proc.stdout, source="kubectl")
        except ValueError as exc:
            raise CommandError(f"kubectl output is {exc}") from exc
    return select_nodes(nodes_json, metallb_json, topology=topology, spec=spec, source="kubectl")
