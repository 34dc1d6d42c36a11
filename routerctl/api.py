"""routerctl's public library API: load a topology, plan, provision, verify, render MetalLB.

Every function returns data (frozen dataclasses) and never prints; failures are
``routerctl.errors.RouterctlError`` subclasses carrying a one-line message and the exit
code the CLI would use. The CLI, the Nornir plugin (``routerctl.integrations.nornir``)
and the Ansible collection (``ansible/``) are built on this module.

>>> from routerctl import api
>>> topo = api.load_topology("routerctl.yaml")            # doctest: +SKIP
>>> plan = api.plan(topo, "rtr")                           # doctest: +SKIP
>>> result = api.provision(topo, "rtr", confirm_timeout=60)  # doctest: +SKIP
>>> report = api.verify(topo, wait=60)                     # doctest: +SKIP
>>> report.ok, [c.name for c in report.failing]            # doctest: +SKIP

Connections: each function opens one SSH connection per router (``connector``, default
:func:`ssh_connector`) and closes it before it returns; pass your own connector (any
``Callable[[Router], Transport]``) to reuse connections, add logging or script a fake.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routerctl import cluster as cluster_mod
from routerctl.checks import CheckResult, Severity, worst
from routerctl.cluster import ClusterState
from routerctl.errors import ExitCode, UsageError
from routerctl.metallb.yamlio import dump_documents
from routerctl.ops.fleet import (
    DEFAULT_GATE_TIMEOUT,
    FleetResult,
    Outcome,
    RouterOutcome,
    default_parallel,
    run_fleet,
)
from routerctl.ops.provision import ProvisionResult, plan_router
from routerctl.ops.provision import provision as _provision
from routerctl.ops.verify import Connector, ProbeFrom, run_verify
from routerctl.plan import Plan
from routerctl.render.metallb import configmap_dropped, render_configmap, render_crds
from routerctl.topology import DEFAULT_TOPOLOGY, Router, Topology
from routerctl.topology import load_topology as _load_topology
from routerctl.transport import Transport, connect

Progress = Callable[[str], None]

__all__ = [
    "CheckResult",
    "ClusterState",
    "Connector",
    "FleetResult",
    "MetallbFormat",
    "MetallbRender",
    "Outcome",
    "Plan",
    "ProbeFrom",
    "ProvisionResult",
    "RouterOutcome",
    "RouterStatus",
    "Severity",
    "Topology",
    "VerifyReport",
    "default_parallel",
    "load_topology",
    "plan",
    "provision",
    "provision_fleet",
    "render_metallb",
    "router",
    "ssh_connector",
    "verify",
]


def _quiet(_msg: str) -> None:
    """The default progress callback: say nothing."""


# -- topology and connections -------------------------------------------------


def load_topology(path: str | Path | None = None) -> Topology:
    """Load and validate ``routerctl.yaml`` (default: ``$ROUTERCTL_TOPOLOGY``, else
    ``./routerctl.yaml``); a bad file raises ``TopologyError`` naming file, line and field."""
    if path is None:
        path = os.environ.get("ROUTERCTL_TOPOLOGY") or DEFAULT_TOPOLOGY
    return _load_topology(Path(path))


def router(topology: Topology, name: str | Router | None = None) -> Router:
    """The router named ``name`` (or the only one); ``TopologyError`` if unknown."""
    if isinstance(name, Router):
        return name
    return topology.router(name)


def ssh_connector(*, accept_new_host_key: bool = False) -> Connector:
    """The default connector: one SSH connection per call (``~/.ssh/config``,
    ssh-agent and known_hosts honoured; an unknown host key is refused unless
    ``accept_new_host_key``, a changed one always)."""

    def _connect(r: Router) -> Transport:
        return connect(r.ssh, accept_new_host_key=accept_new_host_key)

    return _connect


# -- plan and provision -------------------------------------------------------


def plan(
    topology: Topology,
    router_name: str | Router | None = None,
    *,
    connector: Connector | None = None,
) -> Plan:
    """Read-only: what :func:`provision` would change on the router (one connection).

    ``Plan.describe()`` is the human diff (passwords redacted), ``Plan.to_json()`` the
    machine one, ``Plan.empty`` says whether anything would change.
    """
    r = router(topology, router_name)
    with (connector or ssh_connector())(r) as t:
        return plan_router(t, topology, r)


def provision(
    topology: Topology,
    router_name: str | Router | None = None,
    *,
    dry_run: bool = False,
    confirm_timeout: float | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    progress: Progress | None = None,
    connector: Connector | None = None,
    reconnect: Connector | None = None,
) -> ProvisionResult:
    """Install the suite, apply the config delta, persist it, read it back; roll back on
    any failure (``RolledBackError``, exit code 5), refuse a foreign ``router bgp``
    (``RefusedError``, 4).

    ``dry_run``: plan only (nothing is installed or changed); the result has
    ``applied=False`` and an empty ``suite``. ``confirm`` is asked with the plan before
    anything is applied (default: yes). ``confirm_timeout``: wait up to that many seconds
    for every node's session to be Established, else roll back. ``reconnect`` opens a
    fresh connection for a rollback after a dropped one (default: an SSH connector that
    never trusts a new host key).
    """
    r = router(topology, router_name)
    if dry_run:
        p = plan(topology, r, connector=connector)
        return ProvisionResult(
            router=r.name,
            suite="",
            installed=(),
            plan=p,
            applied=False,
            lines_sent=0,
            written=False,
        )
    again = reconnect or (connector if connector is not None else ssh_connector())
    with (connector or ssh_connector())(r) as t:
        return _provision(
            t,
            topology,
            r,
            reconnect=lambda: again(r),
            confirm=confirm or (lambda _plan: True),
            confirm_timeout=confirm_timeout,
            progress=progress or _quiet,
        )


def provision_fleet(
    topology: Topology,
    routers: list[str] | None = None,
    *,
    parallel: int | None = None,
    rolling: bool = False,
    dry_run: bool = False,
    gate_timeout: float = DEFAULT_GATE_TIMEOUT,
    confirm_timeout: float | None = None,
    confirm: Callable[[Plan], bool] | None = None,
    cluster: ClusterState | None = None,
    progress: Progress | None = None,
    connector: Connector | None = None,
    reconnect: Connector | None = None,
    per_router: Mapping[str, Topology] | None = None,
    open_firewall: bool = False,
) -> FleetResult:
    """Provision several routers (default: every router in the topology).

    ``parallel``: at most that many at once (default ``min(4, routers)``). ``rolling``: one
    at a time, each followed by a verify gate (its sessions Established, every service
    routed via all announcing nodes, within ``gate_timeout`` seconds); a router that fails,
    rolls back or misses its gate stops the roll and the rest are skipped, untouched.
    Per-router failures are outcomes, not exceptions; ``FleetResult.exit_code`` is the
    worst. Ctrl-C: routers in flight finish or roll back, the rest are skipped
    (``FleetResult.interrupted``). ``per_router``: a router's own topology by name (its
    nodes read from the live cluster), else ``topology``. ``open_firewall``: own the
    ``routerctl-bgp`` firewall rule (as ``firewall: {manage: true}``).
    """
    targets = list(topology.routers) if routers is None else [router(topology, n) for n in routers]
    return run_fleet(
        topology,
        targets,
        connector=connector or ssh_connector(),
        reconnect=reconnect or (connector if connector is not None else ssh_connector()),
        parallel=parallel,
        rolling=rolling,
        dry_run=dry_run,
        confirm=confirm or (lambda _plan: True),
        confirm_timeout=confirm_timeout,
        gate_timeout=gate_timeout,
        cluster=cluster,
        progress=progress or _quiet,
        per_router=per_router,
        open_firewall=open_firewall,
    )


# -- verify -------------------------------------------------------------------


@dataclass(frozen=True)
class RouterStatus:
    """What verify learnt about one router (``error``: it could not be reached or read)."""

    name: str
    suite: str | None
    version: str | None
    error: str | None


@dataclass(frozen=True)
class VerifyReport:
    """Every check of one verify run, with its verdict and the CLI's exit code."""

    checks: tuple[CheckResult, ...]
    routers: tuple[RouterStatus, ...]
    cluster_source: str

    @property
    def status(self) -> Severity:
        return worst(self.checks)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failing(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.ok)

    @property
    def exit_code(self) -> int:
        """0 all ok; 3 only unknown (unreachable/unreadable) failures; else 1."""
        if self.status is Severity.OK:
            return ExitCode.OK
        if all(c.severity in (Severity.OK, Severity.UNKNOWN) for c in self.checks):
            return ExitCode.UNREACHABLE
        return ExitCode.FAILED

    def messages(self) -> list[str]:
        """One line per failing check: ``router: check: observed (expected ...)``."""
        return [
            f"{c.router + ': ' if c.router else ''}{c.name}: {c.observed} (expected {c.expected})"
            for c in self.failing
        ]


def verify(
    topology: Topology,
    router_name: str | None = None,
    *,
    cluster: ClusterState | None = None,
    connector: Connector | None = None,
    probe: ProbeFrom | str | None = None,
    probe_attempts: int = 4,
    wait: float | None = None,
    bundle_dir: Path | None = None,
    state_file: Path | None = None,
    interval: float | None = None,
    timeout: float = 30.0,
    progress: Progress | None = None,
    warn: Progress | None = None,
) -> VerifyReport:
    """Prove the path works on every router (concurrently) or the one named: daemons,
    sessions Established, each service routed via exactly its announcing nodes, and
    (``probe``: ``"local"`` or ``"router"``) the services answering. ``wait``: poll until
    green, up to that many seconds. ``cluster``: expectations (default: the topology's;
    see ``routerctl.cluster.from_kubectl``/``from_file``). ``state_file``: the flap
    history (default: none kept). Failed checks are data, not exceptions."""
    clus = cluster or cluster_mod.from_topology(topology)
    results, targets = run_verify(
        topology,
        router_name=router_name,
        cluster=clus,
        connector=connector or ssh_connector(),
        probe=ProbeFrom(probe) if probe is not None else None,
        probe_attempts=probe_attempts,
        wait=wait,
        bundle_dir=bundle_dir,
        state_file=state_file,
        interval=interval,
        timeout=timeout,
        progress=progress,
        warn=warn,
    )
    return VerifyReport(
        checks=tuple(results),
        routers=tuple(
            RouterStatus(
                name=t.router.name,
                suite=t.state.suite if t.state else None,
                version=t.state.version if t.state else None,
                error=t.error,
            )
            for t in targets
        ),
        cluster_source=clus.source,
    )


# -- MetalLB --------------------------------------------------------------------


class MetallbFormat(str, enum.Enum):
    crds = "crds"  # MetalLB >= 0.13
    configmap = "configmap"  # the legacy ConfigMap, MetalLB <= 0.12


@dataclass(frozen=True)
class MetallbRender:
    """MetalLB manifests derived from the topology: ``docs`` (for ``kubernetes.core.k8s``
    or any client), ``yaml`` (for ``kubectl apply -f -``) and ``notes`` (what the user
    should know: a Secret to create, settings the format cannot express)."""

    docs: tuple[dict[str, Any], ...]
    yaml: str
    notes: tuple[str, ...]


def render_metallb(
    topology: Topology,
    *,
    format: MetallbFormat | str = MetallbFormat.crds,
    router_name: str | None = None,
    include_secret: bool = False,
    source: str | Path | None = None,
) -> MetallbRender:
    """The cluster side of the topology (every router as a peer, or only ``router_name``;
    crds only). ``include_secret`` writes the BGP password (a Secret, or inline in the
    ConfigMap)."""
    fmt = MetallbFormat(format)
    notes: list[str] = []
    if fmt is MetallbFormat.crds:
        docs = render_crds(topology, router=router_name, include_secret=include_secret)
        if topology.bgp.password is not None and not include_secret:
            notes.append(
                "the BGPPeers reference Secret metallb-system/routerctl-bgp-password;"
                " create it (or re-run with --include-secret)"
            )
    else:
        if router_name is not None:
            raise UsageError(
                "--router applies to --format crds only",
                hint="the legacy ConfigMap lists every router as a peer",
            )
        docs = [render_configmap(topology, include_secret=include_secret)]
        notes += [
            f"not expressible in the legacy ConfigMap, left out: {item}"
            for item in configmap_dropped(topology)
        ]
    where = topology.source or source or DEFAULT_TOPOLOGY
    header = f"Rendered by routerctl from {where}: do not edit, re-render."
    return MetallbRender(
        docs=tuple(docs), yaml=dump_documents(docs, header=header), notes=tuple(notes)
    )
