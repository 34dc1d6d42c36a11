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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routerctl.errors import CommandError, EnvironmentProblem, UsageError
from routerctl.model import IPAddress
from routerctl.topology import Node, Topology

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
