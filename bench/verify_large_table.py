"""Item 3: verify with 0 vs N unrelated routes on the router (kernel routes zebra learns).

The routes are blackhole /32s in 10.0.0.0/8 added with ``ip -batch`` in the router's
namespace under their own kernel protocol number, so they carry no traffic and can be
flushed exactly. ``python -m bench --only 3`` runs this inside the bench; standalone:

    python bench/verify_large_table.py [--routes N] [--runs N]     (root)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from routerctl.lab import Lab, poll

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    from bench.run import main as bench_main  # noqa: PLC0415 (standalone entry)

    argv = ["--only", "3", "--routes", str(args.routes), "--runs", str(args.runs)]
    return bench_main(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
