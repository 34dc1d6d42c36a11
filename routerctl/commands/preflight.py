"""CLI command: ``preflight`` (read-only checks of what breaks BGP outside ``router bgp``)."""

from __future__ import annotations

from typing import Annotated

import typer

from routerctl.cli_common import (
    AcceptNewHostKeyOption,
    OutputFormat,
    OutputOption,
    RouterOption,
    TopologyOption,
    get_topology,
    print_json,
    safe,
)
from routerctl.ops.preflight import run_preflight
from routerctl.preflight import PreflightReport
from routerctl.transport import connect

OpenFirewallOption = Annotated[
    bool,
    typer.Option(
        "--open-firewall",
        help="Let routerctl own one 'routerctl-bgp' rule per firewall zone facing the nodes "
        "(like 'firewall: {manage: true}' in the topology).",
    ),
]


def _table(report: PreflightReport) -> str:
    out = [f"router {report.router}:"]
    width = max((len(c.name) for c in report.checks), default=8)
    for c in report.checks:
        who = f"{c.subject}: " if c.subject else ""
        out.append(f"  {c.status.upper():<8} {c.name:<{width}}  {who}{c.message}")
        if c.hint and c.status != "ok":
            out.append(f"  {'':<8} {'':<{width}}  -> {c.hint}")
    fw = report.firewall.describe()
    if fw:
        out.append(fw)
    b, w = len(report.blocking), len(report.warnings)
    out.append(f"  {b} blocking, {w} warning(s)")
    return "\n".join(out)


def _preflight(
    *,
    topology: TopologyOption = None,  # type: ignore[assignment]
    router: RouterOption = None,
    output: OutputOption = OutputFormat.table,
    open_firewall: OpenFirewallOption = False,
    accept_new_host_key: AcceptNewHostKeyOption = False,
) -> None:
    """Check the router before provisioning: firewall, kernel, suite, space, SSH (one exec)."""
    topo = get_topology(topology)
    reports: list[PreflightReport] = []
    for r in topo.select_routers(router):
        with connect(r.ssh, accept_new_host_key=accept_new_host_key) as t:
            reports.append(run_preflight(t, topo, r, open_firewall=open_firewall))
    if output is OutputFormat.json:
        print_json([rep.to_json() for rep in reports])
    else:
        for rep in reports:
            typer.echo(safe(_table(rep), markup=False, newlines=True))
    if any(rep.blocking for rep in reports):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("preflight")(_preflight)
