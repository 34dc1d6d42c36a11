"""Item 9: fleet provision: ``provision --parallel 4`` on four fresh routers vs one router.

One lab with 4 routers (``bnfprov``); every round puts each router back to its fresh
state first (routerctl's owned config removed, the persisted config file restored, checked
byte for byte), then times, side by side: the library call the CLI makes
(``api.provision_fleet``) for rtr1 alone, and for all four with ``parallel=4``.

Where the time goes: the CPU every process in the routers' PID namespaces used during a
provision (the SSH sessions' shells, vtysh, the package manager, the daemons; a process
that ended is counted in its reaper's ``cutime``/``cstime``), and routerctl's own CPU
(this process, all threads). All lab routers share the host's CPUs, so the four
provisions' CPU over the CPU count is a floor under their wall time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import (
    TICK,
    BenchError,
    Context,
    interleave,
    lab_up,
    msec,
    routers_cpu,
    settled_cpu,
)
from bench.stats import Goal, Sample, ratios
from routerctl import api
from routerctl.lab import Lab, LabSpec
from routerctl.plan import compute_restore
from routerctl.platform.suites import FRR
from routerctl.topology import Topology

ROUTERS = 4


@dataclass(frozen=True)
class Fresh:
    running: str
    persisted: bytes | None


def _config_file(lab: Lab, router: str) -> Path:
    return lab.router_file(FRR.persisted_files[0], router=router)


def snapshot(lab: Lab, router: str) -> Fresh:
    path = _config_file(lab, router)
    return Fresh(
        lab.vtysh("show running-config", router=router),
        path.read_bytes() if path.exists() else None,
    )


def reset(lab: Lab, topo: Topology, router: str, fresh: Fresh) -> None:
    """Undo a provision: the owned config back to ``fresh``, the config file restored."""
    current = lab.vtysh("show running-config", router=router)
    asn = topo.router(router).asn
    restore = compute_restore(router=router, asn=asn, current=current, saved=fresh.running)
    if not restore.empty:
        script = "configure terminal\n" + "\n".join(restore.script) + "\nend\n"
        lab.router_sh("vtysh", router=router, input=script)
    path = _config_file(lab, router)
    if fresh.persisted is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(fresh.persisted)
    if snapshot(lab, router) != fresh:
        raise BenchError(f"item 9: could not put {router} back to its fresh state")


def host_busy() -> float:
    """CPU seconds the whole host has been busy (all CPUs, every process; /proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK  # minus idle and iowait


@dataclass
class Round:
    wall: float
    router_cpu: float  # every router's namespace, all processes
    routerctl_cpu: float  # this process, all threads
    host_cpu: float  # the whole host during the provision (other work included)


def item_9(ctx: Context) -> None:
    n = ctx.opts.runs
    with lab_up(ctx, LabSpec(name="bnfprov", routers=ROUTERS)) as lab:
        topo = api.load_topology(lab.topology_file)
        names = [r.name for r in topo.routers]
        fresh = {r: snapshot(lab, r) for r in names}
        one: list[Round] = []
        four: list[Round] = []
        last: list[str] = []  # the routers the last round provisioned (every round resets all)

        def run(dest: list[Round], routers: list[str]) -> Callable[[], None]:
            def go() -> None:
                for r in names:
                    reset(lab, topo, r, fresh[r])
                cpu0, pids = routers_cpu(lab, names)
                c, h = time.process_time(), host_busy()
                t = time.perf_counter()
                res = api.provision_fleet(topo, routers, parallel=ROUTERS)
                last[:] = routers
                wall = time.perf_counter() - t
                mine, host = time.process_time() - c, host_busy() - h
                dest.append(Round(wall, settled_cpu(lab, names, pids) - cpu0, mine, host))
                if [o.outcome for o in res.outcomes] != [api.Outcome.changed] * len(routers):
                    raise BenchError(f"item 9: provision {routers}: {res.to_json()}")

            return go

        ctx.log(f"item 9: provision 1 vs {ROUTERS} fresh routers, parallel ({n} rounds)")
        interleave(n, run(one, names[:1]), run(four, names))
        for r in last:
            lab.wait_established(router=r, timeout=90)
        cpus = os.cpu_count() or 1
        ctx.row("9", "provision 1 fresh router", "ms", msec([r.wall for r in one]))
        ctx.row(
            "9",
            f"provision {ROUTERS} fresh routers, --parallel {ROUTERS}",
            "ms",
            msec([r.wall for r in four]),
            note=f"all lab routers share the host's {cpus} CPUs",
        )
        ctx.row(
            "9",
            f"provision {ROUTERS} / 1 router",
            "x",
            ratios([r.wall for r in four], [r.wall for r in one]),
            Goal("<=", 1.5),
        )
        ctx.row(
            "9",
            "  router CPU, 1 fresh router",
            "ms",
            msec([r.router_cpu for r in one]),
            note="all processes in the router (10 ms ticks)",
        )
        ctx.row(
            "9",
            f"  router CPU, {ROUTERS} fresh routers (sum)",
            "ms",
            msec([r.router_cpu for r in four]),
        )
        ctx.row("9", "  routerctl CPU, 1 router", "ms", msec([r.routerctl_cpu for r in one]))
        ctx.row(
            "9", f"  routerctl CPU, {ROUTERS} routers", "ms", msec([r.routerctl_cpu for r in four])
        )
        floors = [(r.router_cpu + r.routerctl_cpu) / cpus for r in four]
        ctx.row(
            "9",
            f"  CPU floor of {ROUTERS}: (router + routerctl CPU) / {cpus} CPUs",
            "ms",
            msec(floors),
            note="no schedule finishes sooner on this host",
        )
        ctx.row(
            "9",
            f"  CPU floor of {ROUTERS} / 1 router's wall time",
            "x",
            ratios(floors, [r.wall for r in one]),
            note="the 4/1 ratio this host allows at best",
        )
        ctx.row(
            "9",
            f"  wall / CPU floor, {ROUTERS} routers",
            "x",
            Sample.of([r.wall / f for r, f in zip(four, floors, strict=True)]),
            note="1.00x: CPU-bound; the rest is waiting",
        )
        ctx.row(
            "9",
            f"  host busy during {ROUTERS} routers / ({cpus} CPUs x wall)",
            "x",
            Sample.of([r.host_cpu / (cpus * r.wall) for r in four]),
            note="1.00x: every CPU busy the whole time",
        )
        ctx.row(
            "9",
            f"  of the host's busy CPU, the provisions' share ({ROUTERS} routers)",
            "x",
            Sample.of([(r.router_cpu + r.routerctl_cpu) / r.host_cpu for r in four]),
            note="the rest: other work on the host",
        )
