"""CLI command: ``watch`` (keep the routers' neighbors following the cluster's nodes)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from routerctl.cli_common import RouterOption, TopologyOption, get_topology, safe
from routerctl.cluster import kubectl_argv, live_nodes
from routerctl.commands.nodes_from import ContextOption, KubeconfigOption
from routerctl.ops.watch import Backoff, Debouncer, Reconciler, provision_apply, run_watch
from routerctl.topology import Router
from routerctl.transport import Transport, connect


def _log(line: str) -> None:
    """One line per event to stdout (journald adds its own time; a terminal gets ours)."""
    text = safe(line, markup=False)
    if sys.stdout.isatty():
        text = f"{datetime.now(timezone.utc).strftime('%H:%M:%S')} {text}"
    sys.stdout.write(f"{text}\n")  # one write: a line from the stop notice's thread stays whole
    sys.stdout.flush()


class _StopOnSignal:
    """The SIGTERM/SIGINT handler: sets ``stop`` and logs "SIGTERM: stopping" from a thread.

    A handler runs in the main thread wherever the signal lands, possibly inside the flush of
    a line being printed, with stdout's lock held: printing there raised "reentrant call
    inside <_io.BufferedWriter name='<stdout>'>" (exit 70, seen in a Debian 13 run). The
    thread waits for the lock instead; ``join`` before the last line keeps the notice first.
    """

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.notice: threading.Thread | None = None

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        if self.notice is None:
            line = f"{signal.Signals(signum).name}: stopping"
            self.notice = threading.Thread(target=_log, args=(line,), daemon=True)
            self.notice.start()
        self.stop.set()

    def join(self) -> None:
        if self.notice is not None:
            self.notice.join()


def _watch(
    *,
    topology: TopologyOption = None,  # type: ignore[assignment]
    router: RouterOption = None,
    context: ContextOption = None,
    kubeconfig: KubeconfigOption = None,
    quiet: Annotated[
        float,
        typer.Option(
            "--quiet",
            min=0,
            help="Apply once the cluster's nodes have been still for SECONDS (a burst of "
            "changes is one apply).",
            metavar="SECONDS",
        ),
    ] = 10.0,
    max_delay: Annotated[
        float,
        typer.Option(
            "--max-delay",
            min=0,
            help="Apply at the latest SECONDS after the first change of a burst.",
            metavar="SECONDS",
        ),
    ] = 60.0,
    backoff_cap: Annotated[
        float,
        typer.Option(
            "--backoff-cap",
            min=1,
            help="Longest wait between retries when the API or a router is down.",
            metavar="SECONDS",
        ),
    ] = 300.0,
    resync: Annotated[
        float,
        typer.Option(
            "--resync",
            min=0,
            help="Also read the cluster and provision every router this often, changes or "
            "not (MetalLB's BGPPeers, drift on the router); 0: never.",
            metavar="SECONDS",
        ),
    ] = 600.0,
    confirm_timeout: Annotated[
        float | None,
        typer.Option(
            "--confirm-timeout",
            min=1,
            help="After each apply, wait up to SECONDS for every session; roll back if not.",
            metavar="SECONDS",
        ),
    ] = None,
) -> None:
    """Follow the cluster's nodes (kubectl's watch) and apply each change to the routers.

    Runs until SIGTERM or SIGINT (it finishes an apply in progress first, then exits 0).
    """
    topo = get_topology(topology)
    routers = topo.select_routers(router)
    spec = topo.cluster.nodes_from
    kube_context = context or (spec.context if spec else None)
    kube_config: Path | None = kubeconfig or (spec.kubeconfig if spec else None)
    argv = kubectl_argv(
        ["get", "nodes", "--watch", "--output-watch-events", "-o", "json"],
        context=kube_context,
        kubeconfig=kube_config,
    )

    def connector(r: Router) -> Transport:
        return connect(r.ssh, accept_new_host_key=False)

    reconciler = Reconciler(
        topology=topo,
        routers=routers,
        read_nodes=lambda: live_nodes(topo, context=kube_context, kubeconfig=kube_config),
        apply=provision_apply(connector, confirm_timeout=confirm_timeout),
        log=_log,
        debouncer=Debouncer(quiet=quiet, max_delay=max_delay),
        backoff=Backoff(base=2.0, cap=backoff_cap),
        resync_every=resync or None,
    )
    stop = threading.Event()
    on_signal = _StopOnSignal(stop)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    _log(
        f"watching the cluster's nodes for {', '.join(r.name for r in routers)} "
        f"(quiet {quiet:g}s, max delay {max_delay:g}s)"
    )
    stats = run_watch(
        reconciler,
        argv,
        stop=stop,
        clock=time.monotonic,
        watch_backoff=Backoff(base=1.0, cap=min(60.0, backoff_cap)),
    )
    on_signal.join()
    _log(
        f"stopped: {stats.relevant} node changes, {stats.provisions} provision runs, "
        f"{stats.applies} applied, {stats.failures} failed"
    )


def register(app: typer.Typer) -> None:
    """Add ``watch`` to the root app."""
    app.command("watch")(_watch)
