"""The node set's options shared by plan, provision and verify (``--nodes-from``,
``--context``, ``--kubeconfig``) and the one function that reads it.

Kept apart from ``commands/provision.py`` so ``routerctl verify`` does not import the
provision machinery at start-up (tests/test_startup.py).
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from routerctl.cluster import NodeSelection, live_nodes
from routerctl.errors import UsageError
from routerctl.topology import Topology


class NodesFrom(str, enum.Enum):
    topology = "topology"
    kubectl = "kubectl"


NodesFromOption = Annotated[
    NodesFrom | None,
    typer.Option(
        "--nodes-from",
        help="Where the node set comes from: 'kubectl' (the live cluster, MetalLB's rules "
        "applied) or 'topology' (cluster.nodes). Default: the topology's cluster.nodes.",
        case_sensitive=False,
        show_default=False,
    ),
]
ContextOption = Annotated[
    str | None, typer.Option("--context", help="kubectl context (nodes from kubectl).")
]
KubeconfigOption = Annotated[
    Path | None, typer.Option("--kubeconfig", help="kubeconfig (nodes from kubectl).")
]


def node_selection(
    topology: Topology,
    nodes_from: NodesFrom | None,
    *,
    context: str | None = None,
    kubeconfig: Path | None = None,
) -> NodeSelection | None:
    """The live node set when ``--nodes-from kubectl`` or ``cluster.nodes: {from: kubectl}``
    asks for it (None: the topology's list). Read before any router is contacted."""
    if nodes_from is NodesFrom.topology:
        if topology.cluster.nodes_from is not None:
            raise UsageError(
                "--nodes-from topology, but the topology's cluster.nodes is {from: kubectl}",
                hint="list the nodes in the topology, or use --nodes-from kubectl",
            )
        return None
    if nodes_from is None and topology.cluster.nodes_from is None:
        if context or kubeconfig:
            raise UsageError(
                "--context/--kubeconfig need --nodes-from kubectl",
                hint="add --nodes-from kubectl",
            )
        return None
    return live_nodes(topology, context=context, kubeconfig=kubeconfig)
