"""Item 7: health check CPU per run vs vtysh alone (in the router's namespace)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.harness import (
    BenchError,
    Context,
    interleave,
)
from bench.stats import Goal, Sample
from routerctl.lab import Lab
from routerctl.lab.router import ROUTER_PATH
from routerctl.ops.healthcheck import HealthSettings, render_uci
from routerctl.topology import Router, Topology

REPO = Path(__file__).resolve().parents[2]
HEALTH_SCRIPT = REPO / "openwrt-feed/net/routerctl-healthcheck/files/routerctl-health"
ROUTER_ENV = {"PATH": ROUTER_PATH, "HOME": "/root", "LANG": "C"}


def cpu_of(argv: Sequence[str]) -> tuple[float, int]:
    """CPU seconds (user+sys) of a command and every child it waited for; its exit code."""
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ROUTER_ENV
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, proc.returncode


def item_7(ctx: Context, lab: Lab, topo: Topology, router: Router) -> None:
    n = max(ctx.opts.runs, 15)
    ctx.log(f"item 7: health check CPU vs vtysh alone, in the router's namespace ({n} rounds)")
    lab.router_sh(
        "cat > /usr/sbin/routerctl-health && chmod 755 /usr/sbin/routerctl-health",
        input=HEALTH_SCRIPT.read_text(),
    )
    uci = render_uci(topo, router, HealthSettings())
    lab.router_sh("mkdir -p /etc/config && cat > /etc/config/routerctl", input=uci)
    pre = lab.router_cmd()
    variants = {
        "check": [*pre, "/usr/sbin/routerctl-health"],
        "vtysh": [*pre, "vtysh", "-c", "show ip bgp summary", "-c", "show ip route bgp"],
        "summary": [*pre, "vtysh", "-c", "show ip bgp summary"],
        "uci": [*pre, "uci", "-q", "show", "routerctl.@health[0]"],
    }
    cpu: dict[str, list[float]] = {k: [] for k in variants}

    def step(key: str) -> Callable[[], None]:
        def run() -> None:
            sec, rc = cpu_of(variants[key])
            if rc != 0:
                raise BenchError(f"item 7: {key} exited {rc} (the lab should be healthy)")
            cpu[key].append(sec * 1000)

        return run

    interleave(n, *(step(k) for k in variants))
    status = json.loads(lab.router_sh("cat /var/run/routerctl-health.json").stdout)
    ctx.row(
        "7",
        "health check run (CPU, incl. its vtysh)",
        "ms",
        Sample.of(cpu["check"]),
        note=f"state {status.get('state', '?')}",
    )
    ctx.row("7", "vtysh alone, same 2 commands (CPU)", "ms", Sample.of(cpu["vtysh"]))
    ctx.row("7", "vtysh -c 'show ip bgp summary' (CPU)", "ms", Sample.of(cpu["summary"]))
    added = Sample.of([a - b for a, b in zip(cpu["check"], cpu["vtysh"], strict=True)])
    ctx.row("7", "check adds on top of vtysh (CPU)", "ms", added, Goal("<", 20.0))
    ctx.row(
        "7",
        "of which: uci show (CPU)",
        "ms",
        Sample.of(cpu["uci"]),
        note="OpenWrt's uci (C), /sbin/uci",
    )
