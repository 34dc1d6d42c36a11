"""Benchmark: the health check's CPU per run beside vtysh alone, on the lab router.

Usage (root): python bench/healthcheck.py [--loops N] [--rounds N]
Brings up its own lab (name "hcbench", FRR configured, both sessions Established,
two ECMP service routes), installs the package with `routerctl healthcheck install`
(the lab router has OpenWrt's real uci, /sbin/uci), then inside the router runs, per
round, N times each: vtysh with the check's commands alone, and the whole check; CPU
is user+sys of the children from the shell's `times` (10 ms ticks, so N runs per
sample). Prints min/median/max ms per run and the check's overhead on top of vtysh
(goal: < 20 ms), for the route check on and off; tears the lab down.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from typing import Any

from routerctl.cli import main as cli_main
from routerctl.lab import LabSpec, down, up

LAB = "hcbench"
GOAL_MS = 20.0
_TIMES = re.compile(r"(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s")


def children_cpu_ms(lab: Any, command: str, loops: int) -> float:
    """CPU (user+sys, ms) per run of ``command``, measured by the router's shell."""
    script = f"i=0; while [ $i -lt {loops} ]; do {command} >/dev/null 2>&1; i=$((i+1)); done; times"
    out = lab.router_sh(script, timeout=600).stdout
    rows = _TIMES.findall(out)
    if len(rows) < 2:
        raise SystemExit(f"cannot read `times` output: {out!r}")
    m1, s1, m2, s2 = rows[1]  # second line: children
    total = int(m1) * 60 + float(s1) + int(m2) * 60 + float(s2)
    return total * 1000.0 / loops


def stats(values: list[float]) -> str:
    return f"{min(values):6.1f} {statistics.median(values):6.1f} {max(values):6.1f}"


def measure(lab: Any, *, routes: bool, loops: int, rounds: int) -> tuple[list[float], list[float]]:
    flag = "1" if routes else "0"
    lab.router_sh(
        f"sed -i \"s/option check_routes '.'/option check_routes '{flag}'/\" /etc/config/routerctl"
    )
    vty = "vtysh -c 'show ip bgp summary'" + (" -c 'show ip route bgp'" if routes else "")
    vtysh, check = [], []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        vtysh.append(children_cpu_ms(lab, vty, loops))
        check.append(children_cpu_ms(lab, "/usr/sbin/routerctl-health", loops))
    return vtysh, check


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loops", type=int, default=40, help="runs per sample")
    ap.add_argument("--rounds", type=int, default=5, help="samples (median over them)")
    args = ap.parse_args()
    down(LAB)
    lab = up(LabSpec(name=LAB, configure=True))
    try:
        lab.wait_established(timeout=60)
        rc = cli_main(["healthcheck", "install", "-t", str(lab.topology_file)])
        if rc != 0:
            return rc
        print(f"health check CPU per run on the lab router ({args.rounds} x {args.loops} runs)")
        print(f"{'':40} {'min':>6} {'median':>6} {'max':>6}  ms")
        verdict = 0
        for routes in (True, False):
            vtysh, check = measure(lab, routes=routes, loops=args.loops, rounds=args.rounds)
            extra = [c - v for c, v in zip(check, vtysh, strict=True)]
            what = "summary + route bgp" if routes else "summary only"
            print(f"{'vtysh alone (' + what + ')':40} {stats(vtysh)}")
            print(f"{'routerctl-health (' + what + ')':40} {stats(check)}")
            ok = statistics.median(extra) < GOAL_MS
            verdict |= 0 if ok else 1
            print(
                f"  check adds (median): {statistics.median(extra):.1f} ms "
                f"(goal < {GOAL_MS:.0f} ms: {'met' if ok else 'MISSED'})"
            )
        uci = [children_cpu_ms(lab, "uci -q show 'routerctl.@health[0]'", args.loops)]
        print(
            f"  of the check's CPU, OpenWrt's uci (/sbin/uci, one small C binary) takes "
            f"{uci[0]:.1f} ms"
        )
        return verdict
    finally:
        down(LAB)


if __name__ == "__main__":
    sys.exit(main())
