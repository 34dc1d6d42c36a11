"""The lab's stand-in for the Kubernetes API server, served to the real ``kubectl``.

Nothing of Kubernetes runs in the lab, so this small emulation answers where the API
server would: the tests and the bench point the real kubectl at it with a kubeconfig and
change the cluster with ``put``/``delete``. It behaves like a real API server towards
kubectl, errors included (NotFound, an unknown resource type, a refused connection while
paused), so what routerctl reads and prints is what it would read from a real cluster.

A stdlib ``ThreadingHTTPServer`` on 127.0.0.1 (random port, plain http: a kubeconfig with
``server: http://127.0.0.1:PORT`` is all kubectl needs). It serves what routerctl asks
kubectl for, shaped like a real API server (v1.32) answers:

- discovery: ``/version``; ``/api`` and ``/apis`` both as the aggregated discovery
  documents (``apidiscovery.k8s.io/v2`` ``APIGroupDiscoveryList``, what kubectl >= 1.30
  asks for first) and, when the client does not ask for that, as the legacy
  ``APIVersions``/``APIGroupList`` (what Debian's older kubectl asks for); the legacy
  per-group ``APIResourceList`` documents (``/api/v1``, ``/apis/apps/v1``, ...);
- resources: nodes (cluster-scoped), services (namespaced), apps/v1 daemonsets and
  metallb.io/v1beta2 bgppeers (namespaced): list (all namespaces or one), get by name,
  ``labelSelector`` (=, ==, !=, exists, !exists, in, notin) and ``fieldSelector``
  (metadata.name, metadata.namespace), and ``?watch=true``: a chunked stream of
  ``{"type": "ADDED|MODIFIED|DELETED", "object": ...}`` lines from ``resourceVersion``;
- errors as ``Status`` objects (404 NotFound for an unknown object, resource or path,
  405 for other verbs), so kubectl prints its own error lines;
- ``kubectl get`` without ``-o``: the server-side ``Table`` (nodes: NAME STATUS ROLES AGE
  VERSION, with a fixed age of 9d; other kinds: NAME AGE).

List items carry no ``kind``/``apiVersion`` (the server leaves them out; kubectl adds
them), every object gets ``metadata.resourceVersion``/``uid``/``creationTimestamp``.
Tests change the cluster with ``put``/``delete`` (watchers see the events) and can take
the server down (``pause``) to emulate an outage: connections are then refused.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
    "gitTreeState": "clean",
    "buildDate": "2025-04-22T16:02:27Z",
    "goVersion": "go1.23.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@dataclass(frozen=True)
class Resource:
    group: str  # "" = core
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


RESOURCES = (
    Resource("", "v1", "nodes", "node", "Node", False, ("no",)),
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",)),
    Resource("", "v1", "services", "service", "Service", True, ("svc",), ("all",)),
    Resource("apps", "v1", "daemonsets", "daemonset", "DaemonSet", True, ("ds",), ("all",)),
    Resource("metallb.io", "v1beta2", "bgppeers", "bgppeer", "BGPPeer", True),
)
BY_KIND = {r.kind: r for r in RESOURCES}


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> Any:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": details or {},
        "code": code,
    }


# -- label and field selectors ------------------------------------------------


def _split_terms(text: str) -> list[str]:
    terms, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        terms.append(cur.strip())
    return terms


def label_match(selector: str, labels: dict[str, str]) -> bool:
    """Kubernetes label selector syntax; a term it cannot read raises ValueError."""
    for term in _split_terms(selector):
        words = term.split()
        if len(words) == 3 and words[1] in ("in", "notin"):
            values = {v.strip() for v in words[2].strip("()").split(",")}
            has = labels.get(words[0]) in values
            if has != (words[1] == "in"):
                return False
        elif "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = (s.strip() for s in term.replace("==", "=").split("=", 1))
            if labels.get(k) != v:
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term and " " not in term:
            if term not in labels:
                return False
        else:
            raise ValueError(term)
    return True


def field_match(selector: str, obj: dict[str, Any]) -> bool:
    meta = obj.get("metadata", {})
    for term in _split_terms(selector):
        neg = "!=" in term
        k, v = (s.strip() for s in term.replace("!=", "=").replace("==", "=").split("=", 1))
        if k not in ("metadata.name", "metadata.namespace"):
            raise ValueError(k)
        if (meta.get(k.split(".")[1], "") == v) == neg:
            return False
    return True


# -- objects shaped like the real ones ------------------------------------------


def node(
    name: str,
    address: str | None = None,
    *,
    ipv6: str | None = None,
    labels: dict[str, str] | None = None,
    ready: bool = True,
    unschedulable: bool = False,
) -> dict[str, Any]:
    """A Node as ``kubectl get node NAME -o json`` shows a kubeadm worker."""
    addresses = []
    if address is not None:
        addresses.append({"address": address, "type": "InternalIP"})
    if ipv6 is not None:
        addresses.append({"address": ipv6, "type": "InternalIP"})
    addresses.append({"address": name, "type": "Hostname"})
    all_labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    all_labels.update(labels or {})
    spec: dict[str, Any] = {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}
    if unschedulable:
        spec["unschedulable"] = True
        spec["taints"] = [
            {
                "effect": "NoSchedule",
                "key": "node.kubernetes.io/unschedulable",
                "timeAdded": "2026-11-20T10:00:00Z",
            }
        ]
    cond = {
        "lastHeartbeatTime": "2026-11-20T10:00:00Z",
        "lastTransitionTime": "2026-11-20T09:15:00Z",
        "message": "kubelet is posting ready status"
        if ready
        else "Kubelet stopped posting node status.",
        "reason": "KubeletReady" if ready else "NodeStatusUnknown",
        "status": "True" if ready else "Unknown",
        "type": "Ready",
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
            "labels": all_labels,
            "name": name,
        },
        "spec": spec,
        "status": {
            "addresses": addresses,
            "conditions": [cond],
            "nodeInfo": {
                "architecture": "amd64",
                "kubeletVersion": "v1.32.4",
                "operatingSystem": "linux",
            },
        },
    }


def service(
    name: str, ip: str | None, *, namespace: str = "default", port: int = 80
) -> dict[str, Any]:
    """A LoadBalancer Service (ingress ``ip``, or pending when None)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "type": "LoadBalancer",
            "externalTrafficPolicy": "Cluster",
            "ports": [{"port": port, "protocol": "TCP", "targetPort": port, "nodePort": 30080}],
            "selector": {"app": name},
        },
        "status": {"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}] if ip else []}},
    }


def speaker_daemonset(
    node_selector: dict[str, str] | None = None, *, namespace: str = "metallb-system"
) -> dict[str, Any]:
    """MetalLB's speaker DaemonSet (the manifests' labels), with its pod nodeSelector."""
    sel = {"kubernetes.io/os": "linux"}
    sel.update(node_selector or {})
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "labels": {"app": "metallb", "component": "speaker"},
            "name": "speaker",
            "namespace": namespace,
        },
        "spec": {
            "selector": {"matchLabels": {"app": "metallb", "component": "speaker"}},
            "template": {
                "metadata": {"labels": {"app": "metallb", "component": "speaker"}},
                "spec": {
                    "containers": [{"name": "speaker", "image": "quay.io/metallb/speaker:v0.14.9"}],
                    "nodeSelector": sel,
                },
            },
        },
    }


def bgppeer(
    name: str,
    peer_address: str,
    peer_asn: int,
    my_asn: int,
    *,
    node_selectors: list[dict[str, Any]] | None = None,
    namespace: str = "metallb-system",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"myASN": my_asn, "peerASN": peer_asn, "peerAddress": peer_address}
    if node_selectors is not None:
        spec["nodeSelectors"] = node_selectors
    return {
        "apiVersion": "metallb.io/v1beta2",
        "kind": "BGPPeer",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


# -- the server -------------------------------------------------------------------


class Cluster:
    """The stored objects, a resourceVersion counter and the event log watchers read."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.rv = 1000
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}  # (kind, ns, name)
        self.events: list[tuple[int, str, dict[str, Any]]] = []
        self.requests: list[str] = []

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace ``obj``; watchers get ADDED or MODIFIED."""
        obj = copy.deepcopy(obj)
        res = BY_KIND[obj["kind"]]
        meta = obj.setdefault("metadata", {})
        if res.namespaced:
            ns = meta.setdefault("namespace", "default")
            if ("Namespace", "", ns) not in self.objects:  # as a real cluster has it
                self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        key = (obj["kind"], meta.get("namespace", ""), meta["name"])
        with self.cond:
            self.rv += 1
            old = self.objects.get(key)
            meta["resourceVersion"] = str(self.rv)
            meta.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", "2026-11-20T09:14:03Z")
            self.objects[key] = obj
            self.events.append((self.rv, "MODIFIED" if old else "ADDED", obj))
            self.cond.notify_all()
        return obj

    def delete(self, kind: str, name: str, namespace: str = "") -> None:
        if BY_KIND[kind].namespaced and not namespace:
            namespace = "default"
        with self.cond:
            obj = self.objects.pop((kind, namespace, name))
            self.rv += 1
            gone = copy.deepcopy(obj)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self.events.append((self.rv, "DELETED", gone))
            self.cond.notify_all()

    def select(
        self, kind: str, namespace: str | None, labels: str | None, fields: str | None
    ) -> list[dict[str, Any]]:
        out = []
        for (k, ns, _), obj in sorted(self.objects.items()):
            if k != kind or (namespace is not None and ns != namespace):
                continue
            if labels and not label_match(labels, obj["metadata"].get("labels", {})):
                continue
            if fields and not field_match(fields, obj):
                continue
            out.append(obj)
        return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    cluster: Cluster
    stopping: threading.Event


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any, ctype: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self) -> None:
        self._send(404, status(404, "NotFound", "the server could not find the requested resource"))

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        self.server.cluster.requests.append(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/") if p]
        aggregated = AGGREGATED in self.headers.get("Accept", "")
        if parts == ["version"]:
            return self._send(200, VERSION)
        if parts == ["api"]:
            if aggregated:
                return self._send(200, _aggregated(core=True), AGGREGATED)
            return self._send(
                200,
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [
                        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
                    ],
                },
            )
        if parts == ["apis"]:
            if aggregated:
                return self._send(200, _aggregated(core=False), AGGREGATED)
            return self._send(200, _group_list())
        if parts in (["api", "v1"], *(["apis", *r.group_version.split("/")] for r in RESOURCES)):
            gv = "v1" if parts[0] == "api" else "/".join(parts[1:])
            return self._send(200, _resource_list(gv))
        # /api/v1/..., /apis/G/V/...
        if parts[:2] == ["api", "v1"]:
            gv, rest = "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return self._not_found()
        namespace: str | None = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        matches = (
            [r for r in RESOURCES if r.group_version == gv and r.plural == rest[:1][0]]
            if rest
            else []
        )
        if not matches or len(rest) > 2 or (namespace is not None and not matches[0].namespaced):
            return self._not_found()
        res = matches[0]
        if len(rest) == 2:
            return self._get(res, namespace, rest[1])
        try:
            if query.get("watch") in ("true", "1"):
                return self._watch(res, namespace, query)
            return self._list(res, namespace, query)
        except ValueError as exc:
            return self._send(
                400,
                status(400, "BadRequest", f"unable to parse requirement: {exc}"),
            )

    def do_POST(self) -> None:
        self._send(405, status(405, "MethodNotAllowed", "the server does not allow this method"))

    do_PUT = do_PATCH = do_DELETE = do_POST

    def _get(self, res: Resource, namespace: str | None, name: str) -> None:
        key = (res.kind, namespace or "" if res.namespaced else "", name)
        if res.namespaced and namespace is None:
            return self._not_found()
        with self.server.cluster.cond:
            obj = self.server.cluster.objects.get(key)
        if obj is None:
            group = f".{res.group}" if res.group else ""
            return self._send(
                404,
                status(
                    404,
                    "NotFound",
                    f'{res.plural}{group} "{name}" not found',
                    {"name": name, "group": res.group, "kind": res.plural}
                    if res.group
                    else {"name": name, "kind": res.plural},
                ),
            )
        return self._send(200, obj)

    def _list(self, res: Resource, namespace: str | None, query: dict[str, str]) -> None:
        c = self.server.cluster
        with c.cond:
            items = c.select(
                res.kind, namespace, query.get("labelSelector"), query.get("fieldSelector")
            )
            rv = c.rv
        if "as=Table" in self.headers.get("Accept", ""):  # kubectl's human output
            return self._send(200, _table(res, items, rv))
        stripped = []
        for obj in items:
            o = copy.deepcopy(obj)
            o.pop("kind", None)
            o.pop("apiVersion", None)
            stripped.append(o)
        return self._send(
            200,
            {
                "apiVersion": res.group_version,
                "items": stripped,
                "kind": f"{res.kind}List",
                "metadata": {"resourceVersion": str(rv)},
            },
        )

    def _watch(self, res: Resource, namespace: str | None, query: dict[str, str]) -> None:
        c = self.server.cluster
        labels, fields = query.get("labelSelector"), query.get("fieldSelector")
        start = query.get("resourceVersion", "")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def wanted(obj: dict[str, Any]) -> bool:
            meta = obj["metadata"]
            if obj["kind"] != res.kind:
                return False
            if namespace is not None and meta.get("namespace") != namespace:
                return False
            if labels and not label_match(labels, meta.get("labels", {})):
                return False
            return not (fields and not field_match(fields, obj))

        with c.cond:
            if start in ("", "0"):  # "send the current state, then changes"
                pending = [
                    (c.rv, "ADDED", o) for o in c.select(res.kind, namespace, labels, fields)
                ]
                seen = c.rv
            else:
                seen = int(start)
                pending = []
        try:
            while not self.server.stopping.is_set():
                for _, kind, obj in pending:
                    if wanted(obj):
                        chunk(json.dumps({"type": kind, "object": obj}).encode() + b"\n")

                def changed(s: int = seen) -> bool:
                    return c.rv > s or self.server.stopping.is_set()

                with c.cond:
                    c.cond.wait_for(changed, timeout=0.5)
                    pending = [e for e in c.events if e[0] > seen]
                    seen = c.rv
            chunk(b"")
        except OSError:
            pass  # the client went away
        self.close_connection = True


def _node_cells(obj: dict[str, Any]) -> list[Any]:
    status = obj.get("status", {})
    ready = [c for c in status.get("conditions", []) if c.get("type") == "Ready"]
    state = "Ready" if ready and ready[0].get("status") == "True" else "NotReady"
    if obj.get("spec", {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted(
        k.split("/", 1)[1]
        for k in obj["metadata"].get("labels", {})
        if k.startswith("node-role.kubernetes.io/")
    )
    version = status.get("nodeInfo", {}).get("kubeletVersion", "")
    return [obj["metadata"]["name"], state, ",".join(roles) or "<none>", "9d", version]


def _table(res: Resource, items: list[dict[str, Any]], rv: int) -> Any:
    """The ``meta.k8s.io/v1`` Table the server prints for ``kubectl get`` without ``-o``
    (nodes with their real columns; other kinds with Name and Age)."""
    if res.kind == "Node":
        names = ["Name", "Status", "Roles", "Age", "Version"]
        rows = [_node_cells(o) for o in items]
    else:
        names = ["Name", "Age"]
        rows = [[o["metadata"]["name"], "9d"] for o in items]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": str(rv)},
        "columnDefinitions": [
            {
                "name": n,
                "type": "string",
                "format": "name" if n == "Name" else "",
                "description": "",
                "priority": 0,
            }
            for n in names
        ],
        "rows": [
            {
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"],
                },
            }
            for cells, o in zip(rows, items, strict=True)
        ],
    }


def _resource_doc(r: Resource) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": {"group": "", "version": "", "kind": r.kind},
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": VERBS,
    }
    if r.short:
        doc["shortNames"] = list(r.short)
    if r.categories:
        doc["categories"] = list(r.categories)
    return doc


def _groups() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for r in RESOURCES:
        if r.group and r.version not in groups.setdefault(r.group, []):
            groups[r.group].append(r.version)
    return groups


def _aggregated(*, core: bool) -> Any:
    items = []
    names = [""] if core else list(_groups())
    for g in names:
        versions = sorted({r.version for r in RESOURCES if r.group == g})
        item: dict[str, Any] = {"metadata": {"creationTimestamp": None}}
        if g:
            item["metadata"]["name"] = g
        item["versions"] = [
            {
                "version": v,
                "resources": [
                    _resource_doc(r) for r in RESOURCES if r.group == g and r.version == v
                ],
                "freshness": "Current",
            }
            for v in versions
        ]
        items.append(item)
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def _group_list() -> Any:
    groups = []
    for g, versions in _groups().items():
        vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
        groups.append({"name": g, "versions": vs, "preferredVersion": vs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _resource_list(gv: str) -> Any:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": [
            {
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": VERBS,
                **({"shortNames": list(r.short)} if r.short else {}),
                **({"categories": list(r.categories)} if r.categories else {}),
            }
            for r in RESOURCES
            if r.group_version == gv
        ],
    }


class KubeAPI:
    """One emulated API server: ``start``, write a kubeconfig, change objects, ``stop``."""

    def __init__(self) -> None:
        self.cluster = Cluster()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> KubeAPI:
        """Serve (again, on the same port after ``pause``)."""
        server = _Server(("127.0.0.1", self.port), _Handler, bind_and_activate=False)
        server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.server_bind()
        server.server_activate()
        server.cluster = self.cluster
        server.stopping = threading.Event()
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def pause(self) -> None:
        """Stop serving (an API outage: connections are refused); ``start`` resumes."""
        if self._server is None:
            return
        self._server.stopping.set()
        with self.cluster.cond:
            self.cluster.cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    stop = pause

    def kubeconfig(self, path: Path, *, context: str = "emu") -> Path:
        """Write a kubeconfig naming this server (context ``context``, the current one)."""
        path.write_text(
            "apiVersion: v1\nkind: Config\n"
            f'clusters:\n- cluster: {{server: "{self.url}"}}\n  name: {context}\n'
            f"contexts:\n- context: {{cluster: {context}, user: admin}}\n  name: {context}\n"
            f"current-context: {context}\n"
            "users:\n- name: admin\n  user: {token: emulated}\n"
        )
        return path

    # shortcuts for tests
    def put(self, *objs: dict[str, Any]) -> None:
        for obj in objs:
            self.cluster.put(obj)

    def delete(self, kind: str, name: str, namespace: str = "") -> None:
        self.cluster.delete(kind, name, namespace)

    def set_nodes(self, *nodes: dict[str, Any]) -> None:
        """Make the node set exactly ``nodes`` (others deleted, the rest put)."""
        keep = {n["metadata"]["name"] for n in nodes}
        with self.cluster.cond:
            gone = [k[2] for k in self.cluster.objects if k[0] == "Node" and k[2] not in keep]
        for name in gone:
            self.delete("Node", name)
        self.put(*nodes)


@contextmanager
def running(*objs: dict[str, Any]) -> Iterator[KubeAPI]:
    api = KubeAPI()
    api.put(*objs)
    api.start()
    try:
        yield api
    finally:
        api.stop()
