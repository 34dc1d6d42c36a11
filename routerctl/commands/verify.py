"""CLI commands: ``verify`` (prove the whole path works) and ``support-bundle``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from routerctl import cluster as cluster_mod
from routerctl.checks import NAGIOS, CheckResult, Severity, worst
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
from routerctl.cluster import ClusterState
from routerctl.commands.nodes_from import (
    ContextOption,
    KubeconfigOption,
    NodesFromOption,
    node_selection,
)
from routerctl.errors import ExitCode, RouterctlError, UsageError
from routerctl.ops import flaps
from routerctl.ops.verify import Connector, ProbeFrom, Target, run_verify
from routerctl.topology import DEFAULT_TOPOLOGY, Router, Topology
from routerctl.transport import Transport, connect


def _default_connector(*, accept_new_host_key: bool) -> Connector:
    def _connect(router: Router) -> Transport:
        return connect(router.ssh, accept_new_host_key=accept_new_host_key)

    return _connect


def _load_cluster(
    topology: Topology,
    spec: str | None,
    *,
    context: str | None,
    kubeconfig: Path | None,
    live_nodes: bool = False,
) -> ClusterState:
    if spec is None:
        if (context or kubeconfig) and not live_nodes:
            raise UsageError(
                "--context/--kubeconfig need --cluster kubectl", hint="add --cluster kubectl"
            )
        return cluster_mod.from_topology(topology)
    if spec == "kubectl":
        return cluster_mod.from_kubectl(context=context, kubeconfig=kubeconfig)
    return cluster_mod.from_file(Path(spec))


def _exit_code(results: list[CheckResult]) -> int:
    """0 all ok; 3 only unknown (unreachable/unreadable) failures; else 1 -- as the
    library's ``VerifyReport.exit_code`` (the CLI runs ``run_verify`` itself: importing
    ``routerctl.api`` costs start-up time, issue 17)."""
    if worst(results) is Severity.OK:
        return ExitCode.OK
    if all(r.severity in (Severity.OK, Severity.UNKNOWN) for r in results):
        return ExitCode.UNREACHABLE
    return ExitCode.FAILED


def _router_status(t: Target) -> dict[str, Any]:
    """One router's entry of ``-o json`` (the fields of ``api.RouterStatus``)."""
    return {
        "name": t.router.name,
        "suite": t.state.suite if t.state else None,
        "version": t.state.version if t.state else None,
        "error": t.error,
    }


def _render_table(results: list[CheckResult], *, multi: bool) -> None:
    from rich.table import Table  # noqa: PLC0415 (start-up: `-o json` needs no rich)

    table = Table(show_lines=False, header_style="bold")
    hints = any(r.hint for r in results)
    if multi:
        table.add_column("Router")
    for col in ("Check", "Status", "Expected", "Observed", *(("Hint",) if hints else ())):
        table.add_column(col, overflow="fold")
    styles = {
        Severity.OK: "green",
        Severity.WARNING: "yellow",
        Severity.CRITICAL: "red",
        Severity.UNKNOWN: "magenta",
    }
    for r in results:
        status = f"[{styles[r.severity]}]{r.severity.value.upper()}[/]"
        row = [
            safe(r.name),
            status,
            safe(r.expected),
            safe(r.observed),
            *((safe(r.hint or ""),) if hints else ()),
        ]
        table.add_row(*([safe(r.router or "")] if multi else []), *row)
    stdout.print(table)


def _summary_line(results: list[CheckResult], *, multi: bool) -> str:
    sev = worst(results)
    bad = [r for r in results if not r.ok]
    if not bad:
        return f"ROUTERCTL OK - {len(results)} checks ok"
    parts = [f"{(str(r.router) + ': ') if multi else ''}{r.name} ({r.observed})" for r in bad[:6]]
    more = f"; +{len(bad) - 6} more" if len(bad) > 6 else ""
    return f"ROUTERCTL {sev.value.upper()} - {len(bad)} of {len(results)} failing: " + (
        "; ".join(parts) + more
    )


def register(app: typer.Typer) -> None:
    """Add ``verify`` and ``support-bundle`` to the root app."""

    @app.command("verify")
    def verify_cmd(  # noqa: PLR0917 - typer options
        topology: TopologyOption = DEFAULT_TOPOLOGY,
        output: OutputOption = OutputFormat.table,
        router: RouterOption = None,
        cluster: Annotated[
            str | None,
            typer.Option(
                "--cluster",
                help="Expectations from the live cluster: 'kubectl', or a FILE holding "
                "'kubectl get nodes,svc -A -o json'. Default: the topology.",
            ),
        ] = None,
        context: Annotated[
            str | None, typer.Option("--context", help="kubectl context (--cluster kubectl).")
        ] = None,
        kubeconfig: Annotated[
            Path | None, typer.Option("--kubeconfig", help="kubeconfig (--cluster kubectl).")
        ] = None,
        probe: Annotated[
            bool, typer.Option("--probe", help="Also connect to each service address:port.")
        ] = False,
        probe_from: Annotated[
            ProbeFrom | None,
            typer.Option(
                "--probe-from",
                help="Probe from this host or from the router "
                "(default: the topology's verify.probe_from, else local).",
                show_default=False,
            ),
        ] = None,
        probe_attempts: Annotated[
            int, typer.Option("--probe-attempts", min=1, max=64, help="Connections per port.")
        ] = 4,
        wait: Annotated[
            float | None,
            typer.Option("--wait", min=0, help="Poll until every check passes, up to SECONDS."),
        ] = None,
        nagios: Annotated[
            bool,
            typer.Option(
                "--nagios", help="Nagios exit codes: 0 ok, 1 warning, 2 critical, 3 unknown."
            ),
        ] = False,
        bundle: Annotated[
            Path | None,
            typer.Option("--bundle", help="Also write a support bundle into DIR."),
        ] = None,
        state_file: Annotated[
            Path | None,
            typer.Option(
                "--state-file",
                help="Flap history file (default $XDG_STATE_HOME/routerctl/flaps.json).",
            ),
        ] = None,
        no_state: Annotated[
            bool, typer.Option("--no-state", help="Neither read nor write the flap history.")
        ] = False,
        interval: Annotated[
            float | None,
            typer.Option(
                "--interval",
                min=1,
                help="Check interval in seconds: sessions up for less are flaps "
                "(default: time since the last run).",
            ),
        ] = None,
        timeout: Annotated[
            float, typer.Option("--timeout", min=1, help="Per-router command timeout, seconds.")
        ] = 30.0,
        accept_new_host_key: AcceptNewHostKeyOption = False,
        nodes_from: NodesFromOption = None,
    ) -> None:
        """Prove the whole path works: sessions, routes via every node, the services."""
        try:
            topo = get_topology(topology)
            selection = None
            if nodes_from is not None or topo.cluster.nodes_from is not None:
                selection = node_selection(topo, nodes_from, context=context, kubeconfig=kubeconfig)
            if selection is not None:
                # the union over the routers; each router's node_selector still applies
                topo = selection.topology(topo)
            clus = _load_cluster(
                topo,
                cluster,
                context=context,
                kubeconfig=kubeconfig,
                live_nodes=selection is not None,
            )
        except RouterctlError as exc:
            if not nagios:
                raise
            typer.echo(f"ROUTERCTL UNKNOWN - {safe(exc.one_line(), markup=False)}")
            raise typer.Exit(3) from exc
        results, targets = run_verify(
            topo,
            router_name=router,
            cluster=clus,
            connector=_default_connector(accept_new_host_key=accept_new_host_key),
            probe=(probe_from or ProbeFrom(topo.probe_from)) if probe else None,
            probe_attempts=probe_attempts,
            wait=wait,
            bundle_dir=bundle,
            state_file=None if no_state else (state_file or flaps.default_path()),
            interval=interval,
            timeout=timeout,
            progress=lambda line: stderr.print(
                safe(line, markup=False), highlight=False, markup=False
            ),
            warn=lambda line: typer.echo(
                f"routerctl: warning: {safe(line, markup=False)}", err=True
            ),
        )
        multi = len(targets) > 1
        status = worst(results)
        code = NAGIOS[status] if nagios else _exit_code(results)
        if output is OutputFormat.json:
            print_json(
                {
                    "status": status.value,
                    "exit_code": code,
                    "cluster_source": clus.source,
                    "routers": [_router_status(t) for t in targets],
                    "checks": results,
                }
            )
        else:
            if nagios:
                typer.echo(safe(_summary_line(results, multi=multi), markup=False))
            _render_table(results, multi=multi)
        raise typer.Exit(code)

    @app.command("support-bundle")
    def support_bundle_cmd(  # noqa: PLR0917 - typer options
        topology: TopologyOption = DEFAULT_TOPOLOGY,
        router: RouterOption = None,
        directory: Annotated[
            Path, typer.Option("--dir", "-d", help="Where to write the bundle.")
        ] = Path("."),
        accept_new_host_key: AcceptNewHostKeyOption = False,
        nodes_from: NodesFromOption = None,
        context: ContextOption = None,
        kubeconfig: KubeconfigOption = None,
    ) -> None:
        """Save raw outputs, running config, versions and verify results (passwords redacted)."""
        from routerctl.ops import bundle as bundle_mod  # noqa: PLC0415 (start-up)

        topo = get_topology(topology)
        # the live node set (cluster.nodes: {from: kubectl} or --nodes-from kubectl) is
        # read before any router is contacted, as verify does
        selection = node_selection(topo, nodes_from, context=context, kubeconfig=kubeconfig)
        if selection is not None:
            topo = selection.topology(topo)
        routers = topo.select_routers(router)
        clus = cluster_mod.from_topology(topo)
        for r in routers:
            with connect(r.ssh, accept_new_host_key=accept_new_host_key) as tr:
                path = bundle_mod.support_bundle(tr, topo, r, clus, directory)
            typer.echo(str(path))
