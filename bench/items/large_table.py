"""Item 3: verify with 0 vs N unrelated routes on the router (kernel routes zebra learns).

The routes are blackhole /32s in 10.0.0.0/8 added with ``ip -batch`` in the router's
namespace under their own kernel protocol number, so they carry no traffic and can be
flushed exactly. Standalone: ``python bench/verify_large_table.py``.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from typing import Any

from bench.harness import (
    Context,
    floor_argv,
    interleave,
    msec,
    timed_run,
    verify_once,
)
from bench.stats import Goal, ratios
from routerctl.lab import Lab, poll
from routerctl.topology import Router, Topology

PROTO = "99"  # our routes' kernel protocol number, so they can be flushed exactly
KERNEL_LINE = re.compile(r"^kernel\s+(\d+)", re.MULTILINE)


def route_batch(n: int) -> str:
    """``ip -batch`` lines adding ``n`` blackhole /32s in 10.0.0.0/8."""
    if not 0 <= n <= 1 << 24:
        raise ValueError(f"{n} routes do not fit in 10.0.0.0/8")
    return "".join(
        f"route add blackhole 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/32 proto {PROTO}\n"
        for i in range(n)
    )


def add_routes(netns: str, n: int) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".batch", prefix="routerctl-bench-") as f:
        f.write(route_batch(n))
        f.flush()
        subprocess.run(["ip", "-n", netns, "-batch", f.name], check=True, timeout=300)


def flush_routes(netns: str) -> None:
    subprocess.run(["ip", "-n", netns, "route", "flush", "proto", PROTO], check=True, timeout=300)


def kernel_routes(lab: Lab) -> int:
    """How many kernel routes zebra has (``show ip route summary``)."""
    m = KERNEL_LINE.search(lab.vtysh("show ip route summary", check=False))
    return int(m.group(1)) if m else 0


def set_routes(lab: Lab, n: int, *, timeout: float = 180.0) -> None:
    """Make the router hold exactly ``n`` of our routes and wait until zebra agrees."""
    netns = lab.spec.netns(lab.spec.router_names()[0])
    flush_routes(netns)
    if n:
        add_routes(netns, n)
    poll(
        lambda: kernel_routes(lab) == n,
        timeout=timeout,
        interval=0.5,
        what=f"zebra to hold {n} kernel routes",
    )


def item_3(ctx: Context, lab: Lab, topo: Topology, router: Router) -> None:
    n, big = ctx.opts.runs, ctx.opts.routes
    ctx.log(f"item 3: verify with 0 vs {big} kernel routes ({n} runs each, 0 before and after)")
    floor_cmd = floor_argv(lab, topo, router)

    def measure(tag: str) -> tuple[list[float], list[float], set[tuple[Any, ...]]]:
        v: list[float] = []
        f: list[float] = []
        verdicts: set[tuple[Any, ...]] = set()

        def one_v() -> None:
            r = verify_once(topo)
            verdicts.add(r.verdict)
            v.append(r.seconds)

        interleave(n, one_v, lambda: f.append(timed_run(floor_cmd, what=f"floor ({tag})")))
        return v, f, verdicts

    before = measure("0 routes")
    t = time.monotonic()
    set_routes(lab, big)
    learn = time.monotonic() - t
    ctx.log(f"  zebra holds {big} kernel routes after {learn:.1f}s")
    loaded = measure(f"{big} routes")
    set_routes(lab, 0)
    after = measure("0 routes again")
    base_v = [(a + b) / 2 for a, b in zip(before[0], after[0], strict=True)]
    base_f = [(a + b) / 2 for a, b in zip(before[1], after[1], strict=True)]
    same = before[2] == loaded[2] == after[2] and len(before[2]) == 1
    label = f"{big // 1000}k" if big >= 1000 else str(big)
    ctx.row("3", "verify, 0 routes (runs before+after)", "ms", msec(base_v))
    ctx.row(
        "3",
        f"verify, {label} kernel routes",
        "ms",
        msec(loaded[0]),
        note=f"verdicts identical: {same}; zebra learned them in {learn:.0f} s",
    )
    ctx.row("3", f"verify {label} / 0 routes", "x", ratios(loaded[0], base_v), Goal("<=", 1.2))
    ctx.row(
        "3", f"floor {label} / 0 routes", "x", ratios(loaded[1], base_f), note="same cmds over ssh"
    )
