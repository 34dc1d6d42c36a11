"""CLI commands: ``plan`` (read-only diff) and ``provision`` (install, configure, persist)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from routerctl import api
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
    stdout,
)
from routerctl.cluster import NodeSelection
from routerctl.commands.nodes_from import (
    ContextOption,
    KubeconfigOption,
    NodesFromOption,
    node_selection,
)
from routerctl.commands.preflight import OpenFirewallOption
from routerctl.errors import UsageError
from routerctl.ops.fleet import DEFAULT_GATE_TIMEOUT, FleetResult, Outcome
from routerctl.ops.provision import ProvisionResult
from routerctl.plan import Plan
from routerctl.preflight import PreflightReport
from routerctl.runningconfig import PEER_GROUP
from routerctl.topology import Router, Topology


def neighbor_moves(plan: Plan) -> tuple[list[str], list[str]]:
    """The neighbors a plan adds to and removes from routerctl's peer-group."""
    added: list[str] = []
    removed: list[str] = []
    for ch in plan.changes:
        words = ch.line.split()
        if words[:1] == ["neighbor"] and words[2:4] == ["peer-group", PEER_GROUP]:
            (added if ch.action == "add" else removed).append(words[1])
    return added, removed


def _routers(topology: Topology, name: str | None) -> list[Router]:
    return topology.select_routers(name)


def _for_router(topology: Topology, selection: NodeSelection | None, router: Router) -> Topology:
    return topology if selection is None else selection.topology(topology, router.name)


def _describe(plan: Plan, selection: NodeSelection | None) -> str:
    text = plan.describe()
    if selection is None:
        return text
    added, removed = neighbor_moves(plan)
    lines = [f"nodes from {selection.source}:", *(f"  {ln}" for ln in selection.describe())]
    if added or removed:
        lines.append(f"nodes that come and go on {plan.router}:")
        lines += [f"  {ln}" for ln in selection.changes(added, removed)]
    return "\n".join(lines) + "\n" + text


def _read_plans(
    topo: Topology,
    targets: list[Router],
    rtopos: dict[str, Topology],
    connector: api.Connector,
    *,
    open_firewall: bool = False,
) -> list[tuple[Plan, PreflightReport]]:
    """Each router's plan, read by the fleet runner (at most min(4, routers) at once), in
    the topology's order. As before fleets: the first router (in that order) that could
    not be read is the command's error, and nothing is printed."""
    fleet = api.provision_fleet(
        topo,
        [r.name for r in targets],
        dry_run=True,
        connector=connector,
        per_router=rtopos,
        open_firewall=open_firewall,
    )
    plans: list[tuple[Plan, PreflightReport]] = []
    for o in fleet.outcomes:
        if o.error is not None:
            raise o.error
        if o.result is None and o.outcome is Outcome.skipped:  # Ctrl-C: not started
            raise KeyboardInterrupt
        if o.result is None:  # a bug in the worker: its one line, exit 70
            typer.echo(
                f"routerctl: error: {safe(o.router, markup=False)}: {safe(o.detail, markup=False)}",
                err=True,
            )
            raise typer.Exit(o.exit_code)
        if o.result.preflight is None:  # a dry run always reads the pre-flight
            raise RuntimeError(f"{o.router}: the plan came without its pre-flight")
        plans.append((o.result.plan, o.result.preflight))
    if fleet.interrupted:
        raise KeyboardInterrupt
    return plans


def _plan(
    *,
    topology: TopologyOption = None,  # type: ignore[assignment]
    router: RouterOption = None,
    output: OutputOption = OutputFormat.table,
    open_firewall: OpenFirewallOption = False,
    accept_new_host_key: AcceptNewHostKeyOption = False,
    nodes_from: NodesFromOption = None,
    context: ContextOption = None,
    kubeconfig: KubeconfigOption = None,
) -> None:
    """Show what provision would change on the router (passwords redacted)."""
    topo = get_topology(topology)
    targets = _routers(topo, router)
    selection = node_selection(topo, nodes_from, context=context, kubeconfig=kubeconfig)
    rtopos = {r.name: _for_router(topo, selection, r) for r in targets}  # before any router
    plans = _read_plans(
        topo,
        targets,
        rtopos,
        api.ssh_connector(accept_new_host_key=accept_new_host_key),
        open_firewall=open_firewall,
    )
    if output is OutputFormat.json:
        out = []
        for p, rep in plans:
            doc = {**p.to_json(), "firewall": rep.firewall.to_json(), "preflight": rep.to_json()}
            if selection is not None:
                added, removed = neighbor_moves(p)
                doc["nodes"] = {
                    "source": selection.source,
                    "verdicts": [
                        {
                            "name": v.name,
                            "address": str(v.address) if v.address is not None else None,
                            "speaks": v.speaks,
                            "reason": v.reason,
                        }
                        for v in selection.verdicts
                    ],
                    "notes": list(selection.notes),
                    "added": added,
                    "removed": removed,
                }
            out.append(doc)
        print_json(out)
        return
    for p, rep in plans:
        text = _describe(p, selection)
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
    parallel: Annotated[
        int | None,
        typer.Option(
            "--parallel",
            help="Provision at most N routers at once (default: min(4, routers)).",
            metavar="N",
            min=1,
        ),
    ] = None,
    rolling: Annotated[
        bool,
        typer.Option(
            "--rolling",
            help="One router at a time, each followed by a verify gate (sessions "
            "Established, every service routed via all announcing nodes); a failure "
            "stops the roll and leaves the rest untouched.",
        ),
    ] = False,
    gate_timeout: Annotated[
        float,
        typer.Option(
            "--gate-timeout",
            help="--rolling: how long each router's verify gate may take to turn green.",
            metavar="SECONDS",
            min=1,
        ),
    ] = DEFAULT_GATE_TIMEOUT,
    open_firewall: OpenFirewallOption = False,
    accept_new_host_key: AcceptNewHostKeyOption = False,
    nodes_from: NodesFromOption = None,
    context: ContextOption = None,
    kubeconfig: KubeconfigOption = None,
) -> None:
    """Install the routing suite, apply the BGP config delta, persist it, verify it."""
    topo = get_topology(topology)
    targets = _routers(topo, router)
    selection = node_selection(topo, nodes_from, context=context, kubeconfig=kubeconfig)
    interactive = sys.stdin.isatty()
    if not yes and not interactive:
        raise UsageError(
            "provision needs confirmation but stdin is not a terminal",
            hint="pass --yes to apply without asking",
        )

    def progress(msg: str) -> None:
        stderr.print(f"[bold cyan]>[/] {safe(msg)}", highlight=False, markup=True)

    def confirm(plan: Plan) -> bool:
        text = safe(_describe(plan, selection), markup=False, newlines=True)
        if output is OutputFormat.json:
            stderr.print(text, highlight=False, markup=False)
        else:
            typer.echo(text)
        if yes:
            return True
        return typer.confirm("Apply these changes?", default=False, err=True)

    rtopos = {r.name: _for_router(topo, selection, r) for r in targets}  # before any router
    if selection is not None:
        nodes = selection.nodes()
        progress(f"{len(nodes)} nodes from {selection.source}: {' '.join(n.name for n in nodes)}")
    fleet = api.provision_fleet(
        topo,
        [r.name for r in targets],
        parallel=parallel,
        rolling=rolling,
        gate_timeout=gate_timeout,
        confirm=confirm,
        confirm_timeout=confirm_timeout,
        progress=progress,
        connector=api.ssh_connector(accept_new_host_key=accept_new_host_key),
        reconnect=api.ssh_connector(accept_new_host_key=False),
        per_router=rtopos,
        open_firewall=open_firewall,
    )
    if len(targets) == 1 and not rolling:
        # one router: its own error, summary line and exit code, as before fleets
        only = fleet.outcomes[0]
        if only.error is not None:
            raise only.error
        if only.result is None:  # interrupted before it started
            raise KeyboardInterrupt
        if output is OutputFormat.table:
            typer.echo(safe(_summary(only.result), markup=False))
    elif output is OutputFormat.table:
        _fleet_table(fleet)
    if output is OutputFormat.json:
        print_json(fleet.to_json())
    if fleet.interrupted:
        raise KeyboardInterrupt  # main: `routerctl: interrupted`, exit 130
    if fleet.exit_code:
        raise typer.Exit(fleet.exit_code)


_STYLES = {
    Outcome.changed: "green",
    Outcome.unchanged: "green",
    Outcome.failed: "red",
    Outcome.rolled_back: "yellow",
    Outcome.skipped: "magenta",
}


def _fleet_table(fleet: FleetResult) -> None:
    """One row per router: outcome, exit code, what happened; then the worst exit code."""
    table = Table(header_style="bold")
    for col in ("Router", "Outcome", "Exit", "Seconds", "Detail"):
        table.add_column(col, overflow="fold")
    for o in fleet.outcomes:
        table.add_row(
            safe(o.router),
            f"[{_STYLES[o.outcome]}]{o.outcome.value}[/]",
            str(o.exit_code),
            f"{o.seconds:.1f}",
            safe(o.detail),
        )
    stdout.print(table)
    mode = "rolling" if fleet.rolling else "parallel"
    counts = ", ".join(
        f"{sum(o.outcome is k for o in fleet.outcomes)} {k.value}"
        for k in Outcome
        if any(o.outcome is k for o in fleet.outcomes)
    )
    interrupted = "; interrupted" if fleet.interrupted else ""
    stdout.print(
        safe(
            f"{len(fleet.outcomes)} routers ({mode}): {counts}{interrupted}; exit {fleet.exit_code}"
        ),
        highlight=False,
    )


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
