"""Item 5: fleet: verify of 1 vs --fleet routers in one ``verify``."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench.harness import (
    Context,
    VerifyRun,
    cpu_per_verify,
    interleave,
    lab_up,
    msec,
    provision_router,
    require_green,
    verify_once,
    wait_green,
)
from bench.stats import Goal, Sample, ratios
from routerctl.lab import LabSpec
from routerctl.topology import load_topology


def item_5(ctx: Context) -> None:
    n, count = ctx.opts.runs, ctx.opts.fleet
    with lab_up(ctx, LabSpec(name="bnfleet", routers=count)) as lab:
        topo = load_topology(lab.topology_file)
        ctx.log(f"item 5: provisioning {count} routers concurrently")
        with ThreadPoolExecutor(max_workers=count) as pool:
            for _ in pool.map(lambda r: provision_router(topo, r), topo.routers):
                pass
        wait_green(topo, timeout=90)
        first = topo.routers[0].name
        one: list[VerifyRun] = []
        all_: list[VerifyRun] = []

        def run(dest: list[VerifyRun], name: str | None) -> Callable[[], None]:
            def go() -> None:
                v = verify_once(topo, router_name=name)
                require_green(v, "item 5")
                dest.append(v)

            return go

        ctx.log(f"item 5: verify 1 vs {count} routers ({n} rounds)")
        interleave(n, run(one, first), run(all_, None))
        one_s, all_s = [v.seconds for v in one], [v.seconds for v in all_]
        ctx.row("5", "verify 1 router", "ms", msec(one_s))
        ctx.row(
            "5",
            f"verify {count} routers (one verify)",
            "ms",
            msec(all_s),
            note=f"{all_[0].connections} connections, {all_[0].execs} execs",
        )
        ctx.row("5", f"verify {count} / 1 router", "x", ratios(all_s, one_s), Goal("<=", 2.0))
        ctx.row("5", "  gather exec, 1 router", "ms", msec([v.exec_seconds for v in one]))
        ctx.row(
            "5",
            f"  gather exec per router, {count} at once",
            "ms",
            msec([v.exec_seconds / v.connections for v in all_]),
            note=f"all lab routers share the host's {os.cpu_count()} CPUs",
        )
        ctx.row("5", "  routerctl CPU, verify 1 router", "ms", msec([v.cpu_seconds for v in one]))
        ctx.row(
            "5",
            f"  routerctl CPU, verify {count} routers",
            "ms",
            msec([v.cpu_seconds for v in all_]),
            note="this process, all threads",
        )
        ctx.row(
            "5",
            f"  routerctl CPU per router, {count} / 1",
            "x",
            ratios([v.cpu_seconds / count for v in all_], [v.cpu_seconds for v in one]),
            Goal("<=", 1.2),
            note="flat: each router costs routerctl the same",
        )
        # the floor this machine puts under the ratio: every router's verify costs CPU in
        # the router (Dropbear, sh, vtysh, FRR answering), in its proxy and in routerctl;
        # N routers on C CPUs cannot finish before N x that / C
        batch = max(10, n)
        rtr, proxy, own = cpu_per_verify(lab, topo, first, batch)
        cpus = os.cpu_count() or 1
        ctx.row(
            "5",
            "  CPU per router verify: router side",
            "ms",
            msec([rtr]),
            note=f"Dropbear, sh, vtysh, FRR answering; {batch} verifies, the router PIDs' ticks",
        )
        ctx.row("5", "  CPU per router verify: proxy + routerctl", "ms", msec([proxy + own]))
        one_median = Sample.of(one_s).median
        ctx.row(
            "5",
            f"  floor of verify {count} / 1 on {cpus} CPUs",
            "x",
            Sample.of([max(1.0, count * (rtr + proxy + own) / cpus / one_median)]),
            note=f"{count} x all CPU per router verify / {cpus} CPUs / verify 1 router; "
            "the goal above is out of reach on this machine when this exceeds it",
        )
