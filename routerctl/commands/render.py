"""CLI commands: ``render router`` and the ``render`` group (``render metallb`` is
added to ``render_app`` by ``routerctl.commands.metallb``)."""

from __future__ import annotations

from typing import Annotated

import typer

from routerctl.cli_common import (
    OutputFormat,
    OutputOption,
    RouterOption,
    Suite,
    TopologyOption,
    get_topology,
    print_json,
)
from routerctl.commands.nodes_from import (
    ContextOption,
    KubeconfigOption,
    NodesFromOption,
    node_selection,
)
from routerctl.render.router import render_router

render_app = typer.Typer(
    help="Render config derived from the topology (router side, cluster side).",
    no_args_is_help=True,
)


@render_app.command("router")
def render_router_cmd(
    topology: TopologyOption = None,  # type: ignore[assignment]
    router: RouterOption = None,
    suite: Annotated[
        Suite | None,
        typer.Option(
            "--suite",
            "-s",
            help="Routing suite dialect (default: the router's 'suite', else frr).",
            case_sensitive=False,
        ),
    ] = None,
    show_secrets: Annotated[
        bool, typer.Option("--show-secrets", help="Print the BGP password instead of <redacted>.")
    ] = False,
    output: OutputOption = OutputFormat.table,
    *,
    nodes_from: NodesFromOption = None,
    context: ContextOption = None,
    kubeconfig: KubeconfigOption = None,
) -> None:
    """Print the vtysh config block the router should run (password redacted).

    With nodes from the live cluster (``--nodes-from kubectl`` or ``cluster.nodes:
    {from: kubectl}``) the neighbors are the nodes kubectl lists now, as plan sees them.
    """
    topo = get_topology(topology)
    selection = node_selection(topo, nodes_from, context=context, kubeconfig=kubeconfig)
    if selection is not None:
        topo = selection.topology(topo, topo.router(router).name)
    cfg = render_router(topo, router, suite=suite.value if suite else None, redact=not show_secrets)
    if output is OutputFormat.json:
        print_json(cfg)
    else:
        typer.echo(cfg.text(), nl=False)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(render_app, name="render")
