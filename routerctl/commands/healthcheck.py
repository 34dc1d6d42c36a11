"""CLI commands: ``healthcheck install|status|uninstall|build|config``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

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
from routerctl.commands.nodes_from import (
    ContextOption,
    KubeconfigOption,
    NodesFromOption,
    node_selection,
)
from routerctl.errors import EnvironmentProblem, ExitCode, UsageError
from routerctl.ipk import build_ipk, parse_makefile
from routerctl.localfile import write_atomic
from routerctl.ops import healthcheck as hc
from routerctl.topology import DEFAULT_TOPOLOGY, Router, Topology
from routerctl.transport import connect

healthcheck_app = typer.Typer(
    help="The router-side health check (an OpenWrt package run by cron).",
    no_args_is_help=True,
)


def _settings(
    *,
    interval: int,
    min_established: int,
    check_routes: bool,
    self_heal: bool,
    heal_after: int,
    max_restarts: int,
    backoff: int,
    vtysh_timeout: int,
    prometheus_file: str,
) -> hc.HealthSettings:
    settings = hc.HealthSettings(
        interval=interval,
        min_established=min_established,
        check_routes=check_routes,
        self_heal=self_heal,
        heal_after=heal_after,
        max_restarts=max_restarts,
        backoff=backoff,
        vtysh_timeout=vtysh_timeout,
        prometheus_file=prometheus_file,
    )
    settings.validate()
    return settings


# The options that shape /etc/config/routerctl (shared by `install` and `config`).
IntervalOpt = Annotated[int, typer.Option("--interval", help="Minutes between cron runs (1-59).")]
MinEstOpt = Annotated[
    int,
    typer.Option("--min-established", help="Fewer usable sessions than this is critical."),
]
RoutesOpt = Annotated[
    bool,
    typer.Option("--check-routes/--no-check-routes", help="Also check the service routes."),
]
HealOpt = Annotated[
    bool,
    typer.Option("--self-heal/--no-self-heal", help="Restart the suite when bgpd is down."),
]
HealAfterOpt = Annotated[
    int, typer.Option("--heal-after", help="Consecutive failed runs before a restart.")
]
MaxRestartsOpt = Annotated[int, typer.Option("--max-restarts", help="Restarts allowed per hour.")]
BackoffOpt = Annotated[
    int, typer.Option("--backoff", help="Seconds between restarts (doubles each time).")
]
TimeoutOpt = Annotated[
    int, typer.Option("--vtysh-timeout", help="Seconds before a hanging vtysh is killed.")
]
PromOpt = Annotated[
    str,
    typer.Option("--prometheus-file", help="Write node-exporter textfile metrics here."),
]


def _items(value: object) -> list[dict[str, Any]]:
    """The objects of a list in the router's status file (anything else: none)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _status_table(router: str, status: dict[str, Any]) -> Table:
    """The router's status file as a table; every string in it is the router's, so safe()."""
    age = status.get("age_seconds")
    title = f"{router}: {status.get('state')} - {status.get('summary')}" + (
        f" ({age}s ago)" if age is not None else ""
    )
    table = Table(title=safe(title), title_justify="left")
    for col in ("neighbor / route", "state", "prefixes / next hops", "note"):
        table.add_column(col)
    for n in _items(status.get("neighbors")):
        note = "no inbound policy (Policy)" if n.get("policy_blocked") else ""
        cells = (n.get("address", "?"), n.get("state", "?"), n.get("prefixes_received", "-"))
        table.add_row(*(safe(c) for c in cells), note)
    routes = status.get("routes")
    routes = routes if isinstance(routes, dict) else {}
    for r in _items(routes.get("pool_routes")):
        hops = r.get("nexthops")
        via = ", ".join(map(str, hops)) if isinstance(hops, list) and hops else "-"
        flag = "" if r.get("selected") and r.get("fib") else "not installed"
        table.add_row(safe(r.get("prefix", "?")), "BGP route", safe(via), flag)
    missing = routes.get("missing")
    for m in missing if isinstance(missing, list) else []:
        table.add_row(safe(m), "missing", "-", "expected service route")
    return table


def _uci(
    topo: Topology,
    rtr: Router,
    settings: hc.HealthSettings,
    *,
    nodes_from: NodesFromOption,
    context: ContextOption,
    kubeconfig: KubeconfigOption,
) -> str:
    """The UCI config; with nodes from the live cluster (``--nodes-from kubectl`` or
    ``cluster.nodes: {from: kubectl}``) the cluster is read first, before any SSH, and
    the neighbors are left to follow it (see ``render_uci``'s ``follow_cluster``)."""
    selection = node_selection(topo, nodes_from, context=context, kubeconfig=kubeconfig)
    if selection is None:
        return hc.render_uci(topo, rtr, settings)
    live = selection.topology(topo, rtr.name)
    return hc.render_uci(live, rtr, settings, follow_cluster=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(healthcheck_app, name="healthcheck")


@healthcheck_app.command("config")
def config_cmd(
    topology: TopologyOption = DEFAULT_TOPOLOGY,
    router: RouterOption = None,
    *,
    interval: IntervalOpt = 1,
    min_established: MinEstOpt = 1,
    check_routes: RoutesOpt = True,
    self_heal: HealOpt = False,
    heal_after: HealAfterOpt = 3,
    max_restarts: MaxRestartsOpt = 3,
    backoff: BackoffOpt = 300,
    vtysh_timeout: TimeoutOpt = 10,
    prometheus_file: PromOpt = "",
    nodes_from: NodesFromOption = None,
    context: ContextOption = None,
    kubeconfig: KubeconfigOption = None,
) -> None:
    """Print the /etc/config/routerctl that `install` would write."""
    topo = get_topology(topology)
    settings = _settings(
        interval=interval,
        min_established=min_established,
        check_routes=check_routes,
        self_heal=self_heal,
        heal_after=heal_after,
        max_restarts=max_restarts,
        backoff=backoff,
        vtysh_timeout=vtysh_timeout,
        prometheus_file=prometheus_file,
    )
    text = _uci(
        topo,
        topo.router(router),
        settings,
        nodes_from=nodes_from,
        context=context,
        kubeconfig=kubeconfig,
    )
    typer.echo(text, nl=False)


@healthcheck_app.command("build")
def build_cmd(
    *,
    out: Annotated[Path, typer.Option("--out", "-O", help="Folder to write the .ipk into.")] = Path(
        "."
    ),
    ar: Annotated[
        bool, typer.Option("--ar", help="Debian-style ar archive instead of OpenWrt's tar.gz.")
    ] = False,
) -> None:
    """Build the .ipk from openwrt-feed/ (no SDK needed) and print its path."""
    spec = parse_makefile(hc.feed_package_dir())
    data = build_ipk(spec, outer="ar" if ar else "tar")
    if not out.is_dir():
        raise UsageError(f"--out {out}: not a directory", hint="create it first")
    path = out / spec.filename
    try:
        write_atomic(path, data, mode=0o644)  # a package, no secret; a planted symlink is replaced
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {path}: {exc.strerror or exc}") from exc
    typer.echo(str(path))


@healthcheck_app.command("install")
def install_cmd(
    topology: TopologyOption = DEFAULT_TOPOLOGY,
    router: RouterOption = None,
    output: OutputOption = OutputFormat.table,
    *,
    interval: IntervalOpt = 1,
    min_established: MinEstOpt = 1,
    check_routes: RoutesOpt = True,
    self_heal: HealOpt = False,
    heal_after: HealAfterOpt = 3,
    max_restarts: MaxRestartsOpt = 3,
    backoff: BackoffOpt = 300,
    vtysh_timeout: TimeoutOpt = 10,
    prometheus_file: PromOpt = "",
    accept_new_host_key: AcceptNewHostKeyOption = False,
    nodes_from: NodesFromOption = None,
    context: ContextOption = None,
    kubeconfig: KubeconfigOption = None,
) -> None:
    """Render the UCI config from the topology, push the package and install it."""
    topo = get_topology(topology)
    rtr = topo.router(router)
    settings = _settings(
        interval=interval,
        min_established=min_established,
        check_routes=check_routes,
        self_heal=self_heal,
        heal_after=heal_after,
        max_restarts=max_restarts,
        backoff=backoff,
        vtysh_timeout=vtysh_timeout,
        prometheus_file=prometheus_file,
    )
    config_text = _uci(
        topo, rtr, settings, nodes_from=nodes_from, context=context, kubeconfig=kubeconfig
    )
    with connect(rtr.ssh, accept_new_host_key=accept_new_host_key) as transport:
        result = hc.install(transport, config_text=config_text)
    if output is OutputFormat.json:
        print_json(result)
        return
    for line in result.output:
        stderr.print(f"  {safe(line, markup=False)}", markup=False, highlight=False)
    stdout.print(
        safe(
            f"{rtr.name}: installed {result.package} {result.version}, cron every "
            f"{settings.interval} min, config {result.config}",
            markup=False,
        ),
        markup=False,
        highlight=False,
    )
    if result.status is not None:
        stdout.print(_status_table(rtr.name, result.status))


@healthcheck_app.command("status")
def status_cmd(
    topology: TopologyOption = DEFAULT_TOPOLOGY,
    router: RouterOption = None,
    output: OutputOption = OutputFormat.table,
    *,
    run: Annotated[
        bool, typer.Option("--run", help="Run the check now instead of reading the last run.")
    ] = False,
    max_age: Annotated[
        int, typer.Option("--max-age", help="Older status than this (seconds) counts as stale.")
    ] = 300,
    accept_new_host_key: AcceptNewHostKeyOption = False,
) -> None:
    """Show the router's last health status; exit 0 only when it is ok and fresh."""
    topo = get_topology(topology)
    rtr = topo.router(router)
    with connect(rtr.ssh, accept_new_host_key=accept_new_host_key) as transport:
        if run:
            _, status = hc.run_now(transport)
        else:
            status = hc.read_status(transport)
    stale = status.get("age_seconds", 0) > max_age
    status["stale"] = stale
    if output is OutputFormat.json:
        print_json(status)
    else:
        stdout.print(_status_table(rtr.name, status))
        if stale:
            stderr.print(
                safe(f"status is {status['age_seconds']}s old (> {max_age}s): is cron running?"),
                markup=False,
            )
    if status.get("state") != "ok" or stale:
        raise typer.Exit(ExitCode.FAILED)


@healthcheck_app.command("uninstall")
def uninstall_cmd(
    topology: TopologyOption = DEFAULT_TOPOLOGY,
    router: RouterOption = None,
    output: OutputOption = OutputFormat.table,
    *,
    accept_new_host_key: AcceptNewHostKeyOption = False,
) -> None:
    """Remove the package, its cron line, UCI config and status files."""
    topo = get_topology(topology)
    rtr = topo.router(router)
    with connect(rtr.ssh, accept_new_host_key=accept_new_host_key) as transport:
        result = hc.uninstall(transport)
    if output is OutputFormat.json:
        print_json(result)
        return
    for line in result.output:
        stderr.print(f"  {safe(line, markup=False)}", markup=False, highlight=False)
    what = "removed" if result.removed_package else "was not installed; cleaned up"
    stdout.print(
        f"{rtr.name}: {hc.PACKAGE} {what}; no cron line, config or status file left",
        markup=False,
        highlight=False,
    )
