"""``load_topology``: read a file, compose its YAML (line numbers kept), validate each
section, then the checks across sections."""

from __future__ import annotations

from pathlib import Path

import yaml

from routerctl.errors import TopologyError
from routerctl.topology.model import (
    AddressRange,
    BgpOptions,
    Cluster,
    FirewallOptions,
    Node,
    Pool,
    Router,
    Service,
    Topology,
)
from routerctl.topology.validation import (
    _CLUSTER_KEYS,
    _FIREWALL_KEYS,
    _NODE_KEYS,
    _SERVICE_KEYS,
    _TOP_KEYS,
    _VERIFY_KEYS,
    PROBE_SOURCES,
    _asn,
    _bgp,
    _labels,
    _lan,
    _nodes_from,
    _overlaps,
    _pool,
    _router,
    _service,
    _Val,
)

TOPOLOGY_MAX = 1024 * 1024  # bytes: a topology is a few KiB; /dev/zero is not one
DEPTH_MAX = 32  # YAML nesting: a topology is about 6 levels deep


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


class _Loader(yaml.SafeLoader):
    """PyYAML's safe composer with a nesting limit: recursion (and PyYAML's slow scan of
    deep flow collections) stops at ``DEPTH_MAX`` instead of the interpreter's limit."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > DEPTH_MAX:
                raise _TooDeep(int(self.peek_event().start_mark.line) + 1)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_CLoader: type | None = getattr(yaml, "CSafeLoader", None)  # libyaml's composer, if built


def _depth_bound(text: str) -> int:
    """An upper bound of the YAML nesting depth of ``text`` (over-counts, never under):
    block nesting needs a deeper indent or another '- '/'? ' on the line, flow nesting
    an opening bracket (counted over the whole file)."""
    indent = 0
    for line in text.splitlines():
        body = line.lstrip(" -?:\t")
        indent = max(indent, len(line) - len(body))
    return indent + 1 + text.count("[") + text.count("{")


def _compose(text: str) -> yaml.Node | None:
    """The YAML node tree (line numbers kept): libyaml's composer when the text is surely
    within ``DEPTH_MAX`` (it has no depth limit of ours), else the Python one with it.
    Any YAML error is re-raised by the Python composer, so messages are the same."""
    if _CLoader is not None and _depth_bound(text) <= DEPTH_MAX:
        try:
            return yaml.compose(text, Loader=_CLoader)
        except yaml.YAMLError:
            pass  # the Python composer below says what is wrong, as it always did
    return yaml.compose(text, Loader=_Loader)


def load_topology(path: Path) -> Topology:
    """Read and validate a topology file. Raises ``TopologyError``."""
    file = str(path)
    try:
        with Path(path).open("rb") as f:
            data = f.read(TOPOLOGY_MAX + 1)
        if len(data) > TOPOLOGY_MAX:
            raise TopologyError(
                f"larger than {TOPOLOGY_MAX // 1024} KiB: not a topology file",
                file=file,
                hint="pass the routerctl.yaml with -t FILE",
            )
        text = data.decode("utf-8")
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
    except ValueError:  # a path with NUL
        raise TopologyError("not a valid file path", file=file) from None
    try:
        root = _compose(text)
    except (_TooDeep, RecursionError) as exc:
        raise TopologyError(
            f"the YAML is nested more than {DEPTH_MAX} levels deep",
            file=file,
            line=exc.line if isinstance(exc, _TooDeep) else None,
            hint="a topology is a few levels deep",
        ) from None
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
    nodes_from = None
    node_entries = []
    if isinstance(cm["nodes"].node, yaml.MappingNode):  # {from: kubectl, ...}
        nodes_from = _nodes_from(cm["nodes"])
    else:
        node_entries = cm["nodes"].items()
    if not node_entries and nodes_from is None:
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
            if not router.selects(node):
                continue
            if not any(node.address in net for net, _ in lan_vals):
                lans = ", ".join(str(n) for n, _ in lan_vals)
                nm["address"].error(
                    f"node {node.name!r} ({node.address}) is outside router"
                    f" {router.name!r} LAN {lans}",
                    "put the node on the LAN, fix 'lan', or set bgp.ebgp_multihop",
                )
    for router, rm, _ in routers:
        dyn = router.dynamic_neighbors
        if dyn is None:
            continue
        rv = rm["dynamic_neighbors"].mapping(("listen_range", "limit"))["listen_range"]
        for r, orv, pname in seen_ranges:
            net = dyn.listen_range
            if r.version == net.version and r.first <= net[-1] and net[0] <= r.last:  # type: ignore[operator]
                rv.error(
                    f"listen range {net} overlaps {r.text!r} of pool {pname!r} (line {orv.line})",
                    "the listen range is the nodes' subnet; LoadBalancer IPs lie outside it",
                )
    for router, rm, _ in routers:
        if router.suite == "quagga" and bgp.bfd:
            rm["suite"].error(
                "quagga's bgpd has no BFD, but bgp.bfd is true",
                "use suite frr (or auto), or set bgp.bfd: false",
            )
        if (
            nodes_from is None
            and router.node_selector
            and not any(router.selects(n) for n, _ in nodes)
        ):
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

    firewall = FirewallOptions()
    if "firewall" in m:
        fm = m["firewall"].mapping(_FIREWALL_KEYS)
        firewall = FirewallOptions(manage=fm["manage"].as_bool() if "manage" in fm else False)

    return Topology(
        routers=tuple(r for r, _, _ in routers),
        cluster=Cluster(
            asn=cluster_asn,
            nodes=tuple(n for n, _ in nodes),
            pools=tuple(p for p, _, _ in pools),
            nodes_from=nodes_from,
        ),
        bgp=bgp,
        services=tuple(services),
        source=Path(path),
        probe_from=probe_from,
        field_lines=tuple(sorted(field_lines.items())),
        firewall=firewall,
    )
