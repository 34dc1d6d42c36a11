"""CLI commands: ``plan`` (read-only diff) and ``provision`` (install, configure, persist)."""

from __future__ import annotations

import sys
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
    stderr,
)
from routerctl.commands.preflight import OpenFirewallOption
from routerctl.errors import UsageError
from routerctl.ops.provision import ProvisionResult, plan_with_preflight, provision
from routerctl.plan import Plan
from routerctl.preflight import PreflightReport
from routerctl.topology import Router, Topology
from routerctl.transport import Transport, connect


def _routers(topology: Topology, name: str | None) -> list[Router]:
    return topology.select_routers(name)


def _plan(
    *,
    topology: TopologyOption = None,  # type: ignore[assignment]
    router: RouterOption = None,
    output: OutputOption = OutputFormat.table,
    open_firewall: OpenFirewallOption = False,
    accept_new_host_key: AcceptNewHostKeyOption = False,
) -> None:
    """Show what provision would change on the router (passwords redacted)."""
    topo = get_topology(topology)
    plans: list[tuple[Plan, PreflightReport]] = []
    for r in _routers(topo, router):
        with connect(r.ssh, accept_new_host_key=accept_new_host_key) as t:
            plans.append(plan_with_preflight(t, topo, r, open_firewall=open_firewall))
    if output is OutputFormat.json:
        print_json(
            [
                {**p.to_json(), "firewall": rep.firewall.to_json(), "preflight": rep.to_json()}
                for p, rep in plans
            ]
        )
        return
    for p, rep in plans:
        text = p.describe()
        if rep.firewall.managed:
            text += "\n" + rep.firewall.describe()
        typer.echo(safe(text, markup=False, newlines=True))


def _provision(
    *,
    topology: TopologyOption = None,  # type: ignore[assignment]
    router: RouterOption = None,
    output: OutputOption = OutputFormat.table,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Apply without asking for confirmation.")
    ] = False,
    confirm_timeout: Annotated[
        float | None,
        typer.Option(
            "--confirm-timeout",
            help="After applying, wait up to SECONDS for every node's session to be "
            "Established; roll back if not.",
            metavar="SECONDS",
            min=1,
        ),
    ] = None,
    open_firewall: OpenFirewallOption = False,
    accept_new_host_key: AcceptNewHostKeyOption = False,
) -> None:
    """Install the routing suite, apply the BGP config delta, persist it, verify it."""
    topo = get_topology(topology)
    targets = _routers(topo, router)
    interactive = sys.stdin.isatty()
    if not yes and not interactive:
        raise UsageError(
            "provision needs confirmation but stdin is not a terminal",
            hint="pass --yes to apply without asking",
        )

    def progress(msg: str) -> None:
        stderr.print(f"[bold cyan]>[/] {safe(msg)}", highlight=False, markup=True)

    def confirm(plan: Plan) -> bool:
        text = safe(plan.describe(), markup=False, newlines=True)
        if output is OutputFormat.json:
            stderr.print(text, highlight=False, markup=False)
        else:
            typer.echo(text)
        if yes:
            return True
        return typer.confirm("Apply these changes?", default=False, err=True)

    results: list[ProvisionResult] = []
    for r in targets:
        progress(f"connecting to {r.name}")

        def reconnect(r: Router = r) -> Transport:
            return connect(r.ssh, accept_new_host_key=False)

        with connect(r.ssh, accept_new_host_key=accept_new_host_key) as t:
            res = provision(
                t,
                topo,
                r,
                reconnect=reconnect,
                confirm=confirm,
                confirm_timeout=confirm_timeout,
                progress=progress,
                open_firewall=open_firewall,
            )
        results.append(res)
        if output is OutputFormat.table:
            typer.echo(safe(_summary(res), markup=False))
    if output is OutputFormat.json:
        print_json([res.to_json() for res in results])
    if any(not (res.plan.empty and res.firewall.empty) and not res.applied for res in results):
        raise typer.Exit(1)  # the user declined


def _summary(res: ProvisionResult) -> str:
    if res.plan.empty and res.firewall.empty:
        head = f"{res.router}: no changes"
    elif res.plan.empty and res.applied:
        head = f"{res.router}: firewall rules changed ({len(res.firewall.changes)})"
    elif not res.applied:
        head = f"{res.router}: not applied (declined)"
    else:
        head = (
            f"{res.router}: applied {res.lines_sent} config lines, persisted, "
            "running config verified"
        )
    extra = []
    if res.installed:
        extra.append(f"installed {' '.join(res.installed)}")
    if res.established:
        extra.append(f"{len(res.established)} sessions Established")
    return head + (f" ({'; '.join(extra)})" if extra else "")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("plan")(_plan)
    app.command("provision")(_provision)
