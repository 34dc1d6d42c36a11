"""Verify routers: gather each one's state (concurrently, one exec each), probe the
services, run the pure checks, poll until green with a deadline, keep the flap history
and write support bundles. The CLI (``routerctl verify``) and the bench call ``run_verify``.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from routerctl.checks import CheckResult, unreachable, unreadable, verify_router
from routerctl.cluster import ClusterState
from routerctl.errors import RouterctlError, TransportError
from routerctl.model import FlapHistory, RouterState
from routerctl.ops import flaps, gather
from routerctl.ops import probe as probe_mod
from routerctl.topology import Router, Topology
from routerctl.transport import Transport


class ProbeFrom(str, enum.Enum):
    local = "local"
    router = "router"


@dataclass
class Target:
    """One router being verified: its connection (kept across --wait polls) and last results."""

    router: Router
    transport: Transport | None = None
    error: str | None = None
    state: RouterState | None = None
    results: list[CheckResult] = field(default_factory=list)


Connector = Callable[[Router], Transport]


def run_once(
    t: Target,
    topology: Topology,
    cluster: ClusterState,
    *,
    connector: Connector,
    probe: ProbeFrom | None,
    probe_attempts: int,
    bundle: bool,
    history: dict[str, FlapHistory | None],
    interval: float | None,
    timeout: float,
    keep_going: bool = False,
) -> None:
    """Gather and check one router; connection problems become an ``unknown`` result,
    and so does unreadable output when ``keep_going`` (several routers)."""
    try:
        if t.transport is None:
            t.transport = connector(t.router)
        t.state = gather.gather(
            t.transport,
            topology,
            t.router,
            addresses=[svc.address for svc in cluster.services],
            bundle=bundle,
            timeout=timeout,
        )
        probes = []
        if probe is ProbeFrom.router:
            probes = probe_mod.probe_from_router(
                t.transport, cluster.services, attempts=probe_attempts
            )
        elif probe is ProbeFrom.local:
            probes = probe_mod.probe_local(cluster.services, attempts=probe_attempts)
        t.results = verify_router(
            topology,
            t.router,
            t.state,
            cluster,
            probes=probes,
            flaps=history.get(t.router.name),
            interval=interval,
            probe_requested=probe is not None,
        )
        t.error = None
    except TransportError as exc:
        t.error = exc.one_line()
        t.results = [unreachable(t.router, exc.one_line())]
        if t.transport is not None:
            t.transport.close()
            t.transport = None
    except RouterctlError as exc:
        if not keep_going:
            raise  # one router: its own exit code (6 parse, 1 command) and one line
        t.error = exc.one_line()
        t.results = [unreadable(t.router, exc.one_line())]


def failing_names(results: list[CheckResult], *, multi: bool) -> list[str]:
    return [f"{r.router}: {r.name}" if multi else r.name for r in results if not r.ok]


def run_verify(
    topology: Topology,
    *,
    router_name: str | None,
    cluster: ClusterState,
    connector: Connector,
    probe: ProbeFrom | None = None,
    probe_attempts: int = 4,
    wait: float | None = None,
    bundle_dir: Path | None = None,
    state_file: Path | None = None,
    interval: float | None = None,
    timeout: float = 30.0,
    progress: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> tuple[list[CheckResult], list[Target]]:
    """Verify every router (concurrently) or the one named; poll until green with --wait."""
    routers = topology.select_routers(router_name)
    targets = [Target(r) for r in routers]
    now = time.time()
    history: dict[str, FlapHistory | None] = {r.name: None for r in routers}
    if state_file is not None:
        keys = {r.name: flaps.router_key(r) for r in routers}
        found, problem = flaps.load_all(state_file, keys.values(), now=now)
        history = {name: found[key] for name, key in keys.items()}
        if problem is not None and warn is not None:
            warn(f"ignoring the flap history {state_file}: {problem}; it will be rewritten")
    deadline = time.monotonic() + (wait or 0)
    try:
        with ThreadPoolExecutor(max_workers=max(1, min(16, len(targets)))) as pool:
            while True:
                futures = [
                    pool.submit(
                        run_once,
                        t,
                        topology,
                        cluster,
                        connector=connector,
                        probe=probe,
                        probe_attempts=probe_attempts,
                        bundle=bundle_dir is not None,
                        history=history,
                        interval=interval,
                        timeout=timeout,
                        keep_going=len(targets) > 1,
                    )
                    for t in targets
                ]
                for f in futures:
                    f.result()
                results = [r for t in targets for r in t.results]
                left = deadline - time.monotonic()
                if all(r.ok for r in results) or wait is None or left <= 0:
                    break
                if progress is not None:
                    failing = failing_names(results, multi=len(targets) > 1)
                    progress(
                        f"waiting ({left:.0f}s left): {len(failing)} failing: "
                        + ", ".join(failing[:5])
                        + (" ..." if len(failing) > 5 else "")
                    )
                time.sleep(min(2.0, max(0.1, left)))  # poll interval, bounded by the deadline
    finally:
        for t in targets:
            if t.transport is not None:
                t.transport.close()
    if state_file is not None:
        for t in targets:
            if t.state is not None and t.state.summary is not None:
                flaps.save(
                    state_file,
                    flaps.router_key(t.router),
                    t.state.summary.neighbors,
                    now=time.time(),
                )
    if bundle_dir is not None:
        # only here: the bundle writer brings tarfile (start-up of a plain verify)
        from routerctl.ops import bundle as bundle_mod  # noqa: PLC0415

        for t in targets:
            if t.state is not None:
                path = bundle_mod.write_bundle(bundle_dir, topology, t.state, results=t.results)
                if progress is not None:
                    progress(f"support bundle: {path}")
    return results, targets
