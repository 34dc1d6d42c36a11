"""``python -m bench``: how fast routerctl does its job, against the floor and the alternatives.

Builds its own labs (names ``bnconv``, ``bnmain``, ``bnfleet``; each torn down in a
``finally``), measures every figure side by side in one run (the compared things
alternate run by run, so a noisy machine hits both alike), and prints one table with
min/median/max, the goal and whether it was met. Items (issue 8):

  1 verify vs the floor (one OpenSSH ``ssh rtr "vtysh -c ... -c ..."`` of the same commands)
  2 connections/execs per verify and per no-op provision; no-op provision vs verify time
  3 verify with 0 vs --routes unrelated kernel routes on the router
  4 a netmiko script doing the same reads through an interactive shell
  5 fleet: verify of 1 vs --fleet routers in one ``verify``
  6 convergence: provision start on a fresh ``--no-suite`` lab to verify green
  7 health check CPU per run vs vtysh alone (in the router's namespace)
  8 parser throughput (bench/parsers.py's children) at --parser-sizes
  9 fleet provision: --parallel 4 on four fresh routers vs one router
 14 node add -> route with the new next hop: provision, watch, dynamic neighbors (GoBGP, FRR)
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from bench.harness import (
    ITEMS,
    BenchError,
    Context,
    Options,
    lab_up,
    provision_router,
    wait_green,
)
from bench.items.convergence import item_6
from bench.items.fleet import item_5
from bench.items.fleet_provision import item_9
from bench.items.health_cpu import item_7
from bench.items.large_table import item_3
from bench.items.netmiko_script import item_4
from bench.items.node_add import item_14
from bench.items.parser_speed import item_8
from bench.items.verify_floor import item_1_2
from bench.report import machine_facts, report
from routerctl.errors import RouterctlError
from routerctl.lab import LabSpec, check_environment
from routerctl.topology import load_topology


def main_lab_items(ctx: Context) -> None:
    """Items 1, 2, 4, 7, 3 on one provisioned lab."""
    with lab_up(ctx, LabSpec(name="bnmain")) as lab:
        topo = load_topology(lab.topology_file)
        router = topo.routers[0]
        provision_router(topo, router)
        lab.wait_established(timeout=60)
        wait_green(topo, timeout=60)
        ctx.facts["FRR"] = lab.vtysh("show version").splitlines()[0]
        if ctx.opts.only & {"1", "2"}:
            item_1_2(ctx, lab, topo, router)
        if "4" in ctx.opts.only:
            item_4(ctx, lab, topo, router)
        if "7" in ctx.opts.only:
            item_7(ctx, lab, topo, router)
        if "3" in ctx.opts.only:
            item_3(ctx, lab, topo, router)


# -- the run -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not the whole usage
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv: Sequence[str] | None) -> Options:
    ap = _Parser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--runs", type=int, metavar="N", default=7, help="rounds per lab figure (default 7)"
    )
    ap.add_argument(
        "--conv-runs", type=int, metavar="N", default=3, help="fresh labs for item 6 (default 3)"
    )
    ap.add_argument(
        "--routes", type=int, metavar="N", default=100_000, help="item 3 (default 100000)"
    )
    ap.add_argument(
        "--fleet", type=int, metavar="N", default=8, help="routers for item 5 (2..8, default 8)"
    )
    ap.add_argument(
        "--parser-sizes",
        metavar="N,N,..",
        default="10000,100000,1000000",
        help="item 8, comma-separated (default 10000,100000,1000000)",
    )
    ap.add_argument("--parser-runs", type=int, metavar="N", default=3, help="item 8 (default 3)")
    ap.add_argument(
        "--parser-big-runs",
        type=int,
        metavar="N",
        default=2,
        help="item 8 at 1M routes and more (default 2)",
    )
    ap.add_argument(
        "--only", metavar="ITEMS", default=",".join(ITEMS), help="items to run, e.g. 1,2,7"
    )
    ap.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also write the table as Markdown here"
    )
    a = ap.parse_args(argv)
    try:
        sizes = tuple(int(s) for s in a.parser_sizes.split(",") if s.strip())
    except ValueError:
        ap.error(f"--parser-sizes {a.parser_sizes!r}: use numbers like 10000,100000")
    if a.markdown is not None and not a.markdown.parent.is_dir():
        ap.error(f"--markdown {a.markdown}: folder {a.markdown.parent} does not exist")
    only = frozenset(s.strip() for s in a.only.split(",") if s.strip())
    if not only <= set(ITEMS):
        ap.error(f"--only {a.only!r}: items are {','.join(ITEMS)}")
    if min(a.runs, a.conv_runs, a.parser_runs, a.parser_big_runs) < 1:
        ap.error("--runs, --conv-runs, --parser-runs and --parser-big-runs must be at least 1")
    if not 2 <= a.fleet <= 8:
        ap.error(f"--fleet {a.fleet}: the lab has 2..8 routers")
    if not 1 <= a.routes <= 1 << 24:
        ap.error(f"--routes {a.routes}: use 1..16777216")
    return Options(
        runs=a.runs,
        conv_runs=a.conv_runs,
        routes=a.routes,
        fleet=a.fleet,
        parser_sizes=sizes,
        parser_runs=a.parser_runs,
        parser_big_runs=a.parser_big_runs,
        only=only,
        markdown=a.markdown,
    )


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the labs' finally blocks


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(argv)
    if os.geteuid() != 0:
        print("bench: the lab needs root (network namespaces); run it as root", file=sys.stderr)
        return 2
    if shutil.which("ssh") is None:
        print("bench: the OpenSSH client (ssh) is missing; run scripts/setup", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _sigterm)
    ctx = Context(opts)
    ctx.facts.update(machine_facts())
    try:
        check_environment()
        if "6" in opts.only:
            item_6(ctx)
        if opts.only & {"1", "2", "3", "4", "7"}:
            main_lab_items(ctx)
        if "5" in opts.only:
            item_5(ctx)
        if "8" in opts.only:
            item_8(ctx)
        if "9" in opts.only:
            item_9(ctx)
        if "14" in opts.only:
            item_14(ctx)
    except KeyboardInterrupt:  # the labs are already down (their finally ran)
        print("bench: interrupted", file=sys.stderr)
        return 130
    except (RouterctlError, BenchError, subprocess.SubprocessError) as exc:
        msg = exc.one_line() if isinstance(exc, RouterctlError) else str(exc)
        print(f"bench: {msg}", file=sys.stderr)
        if ctx.table.rows:
            print(report(ctx))
        return 1
    ctx.facts["load at end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    ctx.facts["bench wall time"] = f"{time.monotonic() - ctx.t0:.0f} s"
    out = report(ctx)
    print(out)
    missed = ctx.table.missed()
    if missed:
        print(f"goals missed: {', '.join(f'{r.item} {r.name}' for r in missed)}")
    if opts.markdown is not None:
        facts = "\n".join(f"- {k}: {v}" for k, v in ctx.facts.items())
        opts.markdown.write_text(f"{facts}\n\n{ctx.table.markdown()}\n")
    return 0
