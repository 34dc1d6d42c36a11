"""Benchmark: verify time against the lab router with and without 100 000 unrelated routes.

Usage (root): python bench/verify_large_table.py [--routes N] [--runs N]
Brings up its own lab (name "vbench"), measures ``run_verify`` (one SSH connection,
one exec) median over --runs, adds N blackhole /32s in 10.0.0.0/8 as kernel routes in
the router namespace (no traffic), waits until zebra has them, measures again, prints
both medians and the ratio, checks the verdicts are identical, and tears the lab down.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from routerctl.cluster import from_topology
from routerctl.commands.verify import run_verify
from routerctl.lab import core, spec
from routerctl.topology import Router, load_topology
from routerctl.transport import Transport, connect

PROTO = "99"  # our routes' kernel protocol number, so they can be flushed exactly


def measure(topology_file: Path, runs: int) -> tuple[float, list[tuple[str, bool, str]]]:
    t = load_topology(topology_file)
    times: list[float] = []
    verdict: list[tuple[str, bool, str]] = []
    for _ in range(runs):

        def conn(router: Router) -> Transport:
            return connect(router.ssh)

        start = time.perf_counter()
        results, _ = run_verify(t, router_name=None, cluster=from_topology(t), connector=conn)
        times.append(time.perf_counter() - start)
        verdict = [(r.name, r.ok, r.severity.value) for r in results]
    return statistics.median(times), verdict


def add_routes(netns: str, n: int) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".batch", delete=False) as f:
        for i in range(n):
            a, b, c = i >> 16 & 255, i >> 8 & 255, i & 255
            f.write(f"route add blackhole 10.{a}.{b}.{c}/32 proto {PROTO}\n")
    subprocess.run(["ip", "-n", netns, "-batch", f.name], check=True)
    Path(f.name).unlink()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--routes", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    core.down("vbench")
    lab = core.up(spec.LabSpec(name="vbench", configure=True))
    try:
        lab.wait_established(timeout=60)
        base, v1 = measure(lab.topology_file, args.runs)
        add_routes(lab.spec.netns("rtr"), args.routes)
        deadline = time.monotonic() + 120
        while str(args.routes) not in lab.vtysh("show ip route summary"):
            if time.monotonic() > deadline:
                raise SystemExit("zebra did not learn the routes within 120 s")
            time.sleep(0.5)
        big, v2 = measure(lab.topology_file, args.runs)
        print(f"verify median over {args.runs} runs: {base * 1000:.0f} ms with an empty table")
        print(f"verify median over {args.runs} runs: {big * 1000:.0f} ms with {args.routes} routes")
        print(f"ratio {big / base:.2f} (goal <= 1.2); verdicts identical: {v1 == v2}")
        return 0 if v1 == v2 else 1
    finally:
        core.down("vbench")


if __name__ == "__main__":
    sys.exit(main())
