"""Item 9: fleet provision: ``provision --parallel 4`` on four fresh routers vs one router.

One lab with 4 routers (``bnfprov``); every round puts each router back to its fresh
state first (routerctl's owned config removed, the persisted config file restored, checked
byte for byte), then times, side by side: the library call the CLI makes
(``api.provision_fleet``) for rtr1 alone, and for all four with ``parallel=4``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.harness import BenchError, Context, interleave, lab_up, msec
from bench.stats import Goal, ratios
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


def item_9(ctx: Context) -> None:
    n = ctx.opts.runs
    with lab_up(ctx, LabSpec(name="bnfprov", routers=ROUTERS)) as lab:
        topo = api.load_topology(lab.topology_file)
        names = [r.name for r in topo.routers]
        fresh = {r: snapshot(lab, r) for r in names}
        one: list[float] = []
        four: list[float] = []

        def run(dest: list[float], routers: list[str]) -> Callable[[], None]:
            def go() -> None:
                for r in names:
                    reset(lab, topo, r, fresh[r])
                t = time.perf_counter()
                res = api.provision_fleet(topo, routers, parallel=ROUTERS)
                dest.append(time.perf_counter() - t)
                if [o.outcome for o in res.outcomes] != [api.Outcome.changed] * len(routers):
                    raise BenchError(f"item 9: provision {routers}: {res.to_json()}")

            return go

        ctx.log(f"item 9: provision 1 vs {ROUTERS} fresh routers, parallel ({n} rounds)")
        interleave(n, run(one, names[:1]), run(four, names))
        for r in names:
            lab.wait_established(router=r, timeout=90)
        ctx.row("9", "provision 1 fresh router", "ms", msec(one))
        ctx.row(
            "9",
            f"provision {ROUTERS} fresh routers, --parallel {ROUTERS}",
            "ms",
            msec(four),
            note=f"all lab routers share the host's {os.cpu_count()} CPUs",
        )
        ctx.row("9", f"provision {ROUTERS} / 1 router", "x", ratios(four, one), Goal("<=", 1.5))
