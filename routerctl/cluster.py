"""The cluster side of verify's expectations: nodes and LoadBalancer services.

From the topology (``from_topology``), from ``kubectl get nodes,svc -A -o json``
(``from_kubectl``), or from a file holding that JSON (``from_file``).
"""

from __future__ import annotations

import ipaddress
import json
import os
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


def _node(item: dict[str, Any], source: str) -> Node | None:
    meta = item.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str):
        raise _bad(source, "a Node without metadata.name")
    labels = meta.get("labels") or {}
    if EXCLUDE_LABEL in labels:
        return None  # MetalLB does not announce from excluded nodes
    addrs = (item.get("status") or {}).get("addresses") or []
    for kind in ("InternalIP", "ExternalIP"):
        for a in addrs:
            if a.get("type") == kind:
                try:
                    address = ipaddress.ip_address(a.get("address", ""))
                except ValueError as exc:
                    raise _bad(source, f"node {name}: bad address {a.get('address')!r}") from exc
                return Node(
                    name=name,
                    address=address,
                    labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
                )
    return None


def _services(item: dict[str, Any], source: str) -> tuple[list[ClusterService], str | None]:
    spec = item.get("spec") or {}
    if spec.get("type") != "LoadBalancer":
        return [], None
    meta = item.get("metadata") or {}
    ns = str(meta.get("namespace", "default"))
    name = str(meta.get("name", "?"))
    ports = tuple(
        int(p["port"]) for p in spec.get("ports") or [] if p.get("protocol", "TCP") == "TCP"
    )
    policy = str(spec.get("externalTrafficPolicy") or "Cluster")
    ingress = ((item.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    out: list[ClusterService] = []
    for ing in ingress:
        ip = ing.get("ip")
        if not ip:
            continue
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError as exc:
            raise _bad(source, f"service {ns}/{name}: bad ingress IP {ip!r}") from exc
        out.append(ClusterService(ns, name, addr, ports=ports, traffic_policy=policy))
    return out, (None if out else f"{ns}/{name}")


def from_kubectl_json(data: Any, *, source: str) -> ClusterState:
    """Read the JSON of ``kubectl get nodes,svc -A -o json`` (a v1 List)."""
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise _bad(source, "no 'items' list")
    nodes: list[Node] = []
    services: list[ClusterService] = []
    pending: list[str] = []
    for item in data["items"]:
        if not isinstance(item, dict):
            raise _bad(source, "an item that is not an object")
        kind = item.get("kind")
        if kind == "Node":
            node = _node(item, source)
            if node is not None:
                nodes.append(node)
        elif kind == "Service":
            svcs, missing = _services(item, source)
            services += svcs
            if missing:
                pending.append(missing)
    if not nodes:
        raise _bad(source, "no Node with an InternalIP")
    return ClusterState(tuple(nodes), tuple(services), tuple(pending), source=source)


def from_file(path: Path) -> ClusterState:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot read cluster file {path}: {exc.strerror}",
            hint="pass --cluster kubectl or a file from 'kubectl get nodes,svc -A -o json'",
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(str(path), f"not JSON (line {exc.lineno}: {exc.msg})") from exc
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
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise CommandError(f"kubectl printed no JSON ({exc.msg})") from exc
    return from_kubectl_json(data, source="kubectl")
