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
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn

from bench import netmiko_reads, verify_large_table
from bench import parsers as parser_bench
from bench.stats import Goal, Row, Sample, Table, per_second, ratios
from routerctl.cluster import from_topology
from routerctl.errors import RouterctlError
from routerctl.lab import Lab, LabSpec, core, poll
from routerctl.lab.core import ROUTER_PATH
from routerctl.ops import gather as routerstate
from routerctl.ops.healthcheck import HealthSettings, render_uci
from routerctl.ops.provision import provision
from routerctl.ops.verify import run_verify
from routerctl.topology import Router, Topology, load_topology
from routerctl.transport import CommandResult, Transport, connect

REPO = Path(__file__).resolve().parent.parent
HEALTH_SCRIPT = REPO / "openwrt-feed/net/routerctl-healthcheck/files/routerctl-health"
UCI_STANDIN = REPO / "tests/fixtures_healthcheck/bin/uci"  # the lab's root has no uci
ROUTER_ENV = {"PATH": ROUTER_PATH, "HOME": "/root", "LANG": "C"}
ITEMS = ("1", "2", "3", "4", "5", "6", "7", "8")


class BenchError(Exception):
    """A bench step failed (the lab did not behave); one line for the user."""


@dataclass
class Options:
    runs: int = 7
    conv_runs: int = 3
    routes: int = 100_000
    fleet: int = 8
    parser_sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    parser_runs: int = 3
    parser_big_runs: int = 2
    only: frozenset[str] = frozenset(ITEMS)
    markdown: Path | None = None


@dataclass
class Context:
    opts: Options
    table: Table = field(default_factory=Table)
    t0: float = field(default_factory=time.monotonic)
    facts: dict[str, str] = field(default_factory=dict)

    def log(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", file=sys.stderr, flush=True)

    def row(self, *args: Any, **kw: Any) -> None:
        r = self.table.add(Row(*args, **kw))
        s = r.sample
        self.log(f"  {r.item} {r.name}: median {s.median:.4g} (min {s.min:.4g}, max {s.max:.4g})")


# -- labs and connections --------------------------------------------------------------


@contextlib.contextmanager
def lab_up(ctx: Context, spec: LabSpec) -> Iterator[Lab]:
    ctx.log(f"lab up {spec.name} (routers {spec.routers}, suite installed: {spec.installed})")
    try:
        lab = core.up(spec)
    except RouterctlError as exc:  # a shared, loaded machine: one retry, said out loud
        ctx.log(f"lab up {spec.name} failed ({exc.one_line()}); retrying once")
        lab = core.up(spec)
    try:
        yield lab
    finally:
        core.down(spec.name)
        ctx.log(f"lab down {spec.name}")


class TimedTransport:
    """A Transport that times its exec round trips (and counts them, like the real one)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.host = inner.host
        self.exec_seconds = 0.0
        self.exec_count = inner.exec_count

    def run(self, command: str, *, stdin: bytes | None = None, timeout: float) -> CommandResult:
        t = time.perf_counter()
        try:
            return self.inner.run(command, stdin=stdin, timeout=timeout)
        finally:
            self.exec_seconds += time.perf_counter() - t
            self.exec_count = self.inner.exec_count

    def write_file(
        self, path: str, data: bytes, *, mode: int = 0o600, timeout: float = 30.0
    ) -> None:
        self.inner.write_file(path, data, mode=mode, timeout=timeout)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> TimedTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CountingConnector:
    """A verify connector that keeps every transport it opened, timing connects and execs."""

    def __init__(self) -> None:
        self.transports: list[TimedTransport] = []
        self.connect_seconds = 0.0

    def __call__(self, router: Router) -> Transport:
        t0 = time.perf_counter()
        t = TimedTransport(connect(router.ssh))
        self.connect_seconds += time.perf_counter() - t0
        self.transports.append(t)
        return t

    @property
    def execs(self) -> int:
        return sum(t.exec_count for t in self.transports)

    @property
    def exec_seconds(self) -> float:
        return sum(t.exec_seconds for t in self.transports)


@dataclass(frozen=True)
class VerifyRun:
    seconds: float
    connections: int
    execs: int
    ok: bool
    verdict: tuple[tuple[str, str, bool, str], ...]
    connect_seconds: float = 0.0  # summed over routers (they run concurrently)
    exec_seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process (all threads): paramiko, parsing, checks


def verify_once(topo: Topology, *, router_name: str | None = None) -> VerifyRun:
    """routerctl's verify in-process: connect, one gather per router, the checks."""
    conn = CountingConnector()
    c = time.process_time()
    t = time.perf_counter()
    results, _ = run_verify(
        topo, router_name=router_name, cluster=from_topology(topo), connector=conn
    )
    dt = time.perf_counter() - t
    cpu = time.process_time() - c
    verdict = tuple((r.router or "", r.name, r.ok, r.severity.value) for r in results)
    ok = all(r.ok for r in results)
    n = len(conn.transports)
    return VerifyRun(dt, n, conn.execs, ok, verdict, conn.connect_seconds, conn.exec_seconds, cpu)


def wait_green(topo: Topology, *, timeout: float, router_name: str | None = None) -> float:
    """Poll verify until every check passes; returns the monotonic time it did."""
    seen: list[VerifyRun] = []

    def green() -> bool:
        seen.append(verify_once(topo, router_name=router_name))
        return seen[-1].ok

    try:
        poll(green, timeout=timeout, interval=0.1, what="verify to be green")
    except RouterctlError as exc:
        bad = [f"{v[0]} {v[1]}" for v in (seen[-1].verdict if seen else ()) if not v[2]]
        raise BenchError(f"{exc.message}; failing: {', '.join(bad[:4])}") from exc
    return time.monotonic()


def require_green(run: VerifyRun, what: str) -> None:
    if not run.ok:
        bad = [f"{v[0]} {v[1]}" for v in run.verdict if not v[2]]
        raise BenchError(f"{what}: verify was not green ({', '.join(bad[:4])})")


class SessionWatch:
    """Polls the router's sessions from the host (nsenter + vtysh, not SSH) every 50 ms.

    ``wait()`` returns the monotonic time all ``want`` were first seen Established.
    """

    def __init__(self, lab: Lab, want: set[str]) -> None:
        self.lab, self.want = lab, want
        self.at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            states = self.lab.sessions()
            if all(states.get(a) == "Established" for a in self.want):
                self.at = time.monotonic()
                return
            self._stop.wait(0.05)

    def __enter__(self) -> SessionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def wait(self, *, timeout: float) -> float:
        self._thread.join(timeout=timeout)
        if self.at is None:
            raise BenchError(f"item 6: sessions {sorted(self.want)} never seen Established")
        return self.at


def provision_router(topo: Topology, router: Router) -> tuple[float, int, bool]:
    """One provision (library call, as the CLI makes it): seconds, execs, plan empty."""
    t = time.perf_counter()
    with connect(router.ssh) as tr:
        res = provision(tr, topo, router)
        execs = tr.exec_count
    return time.perf_counter() - t, execs, res.plan.empty


def floor_argv(lab: Lab, topo: Topology, router: Router) -> list[str]:
    """One OpenSSH connection running one vtysh with verify's own show commands."""
    addresses = [s.address for s in from_topology(topo).services]
    planned = routerstate._commands_for(topo, router, "frr", addresses)
    cmds = ["show version", *(c for _, group in planned for c in group)]
    remote = "vtysh " + " ".join(f"-c {shlex.quote(c)}" for c in cmds)
    return ["ssh", "-F", str(lab.ssh_config), "-o", "BatchMode=yes", router.ssh.host, remote]


def script_argv(lab: Lab, router: Router) -> list[str]:
    """The same OpenSSH connection running routerctl's gather script (``sh -s``)."""
    return ["ssh", "-F", str(lab.ssh_config), "-o", "BatchMode=yes", router.ssh.host, "sh -s"]


def timed_run(argv: Sequence[str], *, what: str, stdin: str | None = None) -> float:
    t = time.perf_counter()
    proc = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        raise BenchError(f"{what} exited {proc.returncode}: {last[:160]}")
    return dt


def routerctl_argv() -> list[str]:
    exe = Path(sys.executable).parent / "routerctl"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "routerctl"]


def msec(seconds: Sequence[float]) -> Sample:
    return Sample.of([x * 1000 for x in seconds])


def interleave(runs: int, *steps: Callable[[], None]) -> None:
    """Run every step once per round, rotating which goes first."""
    for i in range(runs):
        k = i % len(steps)
        for step in steps[k:] + steps[:k]:
            step()


# -- items -------------------------------------------------------------------------


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


def item_1_2(ctx: Context, lab: Lab, topo: Topology, router: Router) -> None:
    n = ctx.opts.runs
    ctx.log(f"items 1+2: verify vs the floor, no-op provision ({n} rounds)")
    floor_cmd = floor_argv(lab, topo, router)
    cli_cmd = [*routerctl_argv(), "verify", "-t", str(lab.topology_file), "--no-state"]
    cli_cmd += ["-o", "json"]
    imp_cmd = [sys.executable, "-c", "import routerctl.cli"]
    addresses = [s.address for s in from_topology(topo).services]
    batches = (
        1
        if routerstate.COMMANDS["frr"].one_vtysh
        else len(routerstate._commands_for(topo, router, "frr", addresses))
    )
    vtysh_runs = 1 + batches  # `show version` (suite detection), then the show commands
    marker = routerstate.new_marker()
    script = routerstate.build_script(topo, router, marker, addresses=addresses)
    connect_cmd = [*floor_cmd[:-1], "true"]  # the same ssh, no vtysh: OpenSSH's connect cost
    vtysh_cmd = [*lab.router_cmd(), "sh", "-c", floor_cmd[-1]]  # the floor's vtysh, no SSH
    floor: list[float] = []
    ssh_only: list[float] = []
    local_script: list[float] = []
    local_vtysh: list[float] = []
    ssh_script: list[float] = []
    inproc: list[VerifyRun] = []
    cli: list[float] = []
    imp: list[float] = []
    prov: list[tuple[float, int, bool]] = []
    exec_first: list[float] = []
    exec_later: list[float] = []

    def one_verify() -> None:
        v = verify_once(topo)
        require_green(v, "item 1")
        inproc.append(v)

    def one_execs() -> None:
        with connect(router.ssh) as tr:
            for i in range(4):
                t = time.perf_counter()
                if not tr.run("true", timeout=30).ok:
                    raise BenchError("item 2: 'true' failed on the router")
                (exec_first if i == 0 else exec_later).append(time.perf_counter() - t)

    def one_provision() -> None:
        p = provision_router(topo, router)
        if not p[2]:
            raise BenchError("item 2: provision on a provisioned router planned changes")
        prov.append(p)

    interleave(
        n,
        lambda: floor.append(timed_run(floor_cmd, what="the floor (ssh + vtysh)")),
        lambda: ssh_only.append(timed_run(connect_cmd, what="ssh rtr true")),
        lambda: local_script.append(
            timed_run([*lab.router_cmd(), "sh", "-s"], what="gather script", stdin=script)
        ),
        lambda: local_vtysh.append(timed_run(vtysh_cmd, what="one vtysh")),
        lambda: ssh_script.append(
            timed_run(script_argv(lab, router), what="ssh + gather script", stdin=script)
        ),
        one_verify,
        lambda: cli.append(timed_run(cli_cmd, what="routerctl verify")),
        lambda: imp.append(timed_run(imp_cmd, what="python -c 'import routerctl.cli'")),
        one_provision,
        one_execs,
    )
    v_s = [v.seconds for v in inproc]
    if "1" in ctx.opts.only:
        r = ctx.row
        r("1", 'floor: ssh rtr "vtysh -c .. -c .." (same cmds)', "ms", msec(floor))
        r("1", "  floor: ssh rtr true (OpenSSH connect+exec)", "ms", msec(ssh_only))
        r("1", "verify in-process (connect+gather+checks)", "ms", msec(v_s))
        r("1", "verify in-process / floor", "x", ratios(v_s, floor), Goal("<=", 1.3))
        r(
            "1",
            "  verify: paramiko connect (ProxyCommand)",
            "ms",
            msec([v.connect_seconds for v in inproc]),
        )
        r(
            "1",
            "  verify: the one exec (gather script)",
            "ms",
            msec([v.exec_seconds for v in inproc]),
        )
        local = [v.seconds - v.connect_seconds - v.exec_seconds for v in inproc]
        r("1", "  verify: parse + checks + close", "ms", msec(local))
        r(
            "1",
            "  verify: routerctl CPU (this process)",
            "ms",
            msec([v.cpu_seconds for v in inproc]),
        )
        r(
            "1",
            "ssh rtr 'sh -s' < verify's gather script",
            "ms",
            msec(ssh_script),
            note=f"{vtysh_runs} vtysh runs vs the floor's 1",
        )
        r("1", "  in the router, no SSH: the gather script", "ms", msec(local_script))
        r("1", "  in the router, no SSH: the floor's one vtysh", "ms", msec(local_vtysh))
        r("1", "`routerctl verify` CLI (process)", "ms", msec(cli))
        r("1", "`routerctl verify` CLI / floor", "x", ratios(cli, floor), Goal("<=", 1.3))
        r(
            "1",
            "  CLI: python start + import routerctl.cli",
            "ms",
            msec(imp),
            note="no router involved",
        )
    if "2" in ctx.opts.only:
        ctx.row(
            "2",
            "verify: SSH connections",
            "n",
            Sample.of([v.connections for v in inproc]),
            Goal("<=", 1),
        )
        ctx.row(
            "2", "verify: exec channels", "n", Sample.of([v.execs for v in inproc]), Goal("<=", 2)
        )
        ctx.row(
            "2",
            "no-op provision: SSH connections",
            "n",
            Sample.of([1.0] * len(prov)),
            note="one connect() per provision",
        )
        ctx.row("2", "no-op provision: exec channels", "n", Sample.of([p[1] for p in prov]))
        ctx.row("2", "no-op provision", "ms", msec([p[0] for p in prov]))
        ctx.row("2", "  exec 'true', 1st on a connection", "ms", msec(exec_first))
        ctx.row(
            "2",
            "  exec 'true', 2nd-4th on the same one",
            "ms",
            msec(exec_later),
            note="each exec after the first",
        )
        ctx.row(
            "2",
            "no-op provision / verify",
            "x",
            ratios([p[0] for p in prov], v_s),
            Goal("<=", 1.5),
            note=f"{statistics.median(p[1] for p in prov):.0f} execs vs verify's 1",
        )


def item_4(ctx: Context, lab: Lab, topo: Topology, router: Router) -> None:
    try:
        version = netmiko_reads.ensure_netmiko()
    except RuntimeError as exc:
        ctx.log(f"item 4 skipped: {exc}")
        return
    ctx.facts["netmiko"] = version
    n = ctx.opts.runs
    ctx.log(f"item 4: netmiko (device_type linux, interactive shell) vs verify ({n} rounds)")
    addresses = [s.address for s in from_topology(topo).services]
    planned = routerstate._commands_for(topo, router, "frr", addresses)
    cmds = ["cat /etc/openwrt_release", "vtysh -c 'show version'"]
    cmds += [f"vtysh -c {shlex.quote(c)}" for _, group in planned for c in group]
    nm: list[float] = []
    rc: list[float] = []

    def one_netmiko() -> None:
        t = time.perf_counter()
        try:
            out = netmiko_reads.reads(lab.ssh_config, router.ssh.host, cmds)
        except Exception as exc:  # netmiko's and paramiko's own exception types
            raise BenchError(f"item 4: netmiko failed: {type(exc).__name__}: {exc}") from exc
        nm.append(time.perf_counter() - t)
        if "Established" not in out[cmds[2]]:
            raise BenchError("item 4: netmiko did not read the BGP summary")

    def one_verify() -> None:
        v = verify_once(topo)
        require_green(v, "item 4")
        rc.append(v.seconds)

    interleave(n, one_netmiko, one_verify)
    ctx.row("4", f"netmiko script ({len(cmds)} send_command)", "ms", msec(nm))
    ctx.row("4", "verify in-process (same round)", "ms", msec(rc))
    ctx.row("4", "speed-up: netmiko / verify", "x", ratios(nm, rc), note="higher is better")


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
    lab.router_sh("cat > /usr/bin/uci && chmod 755 /usr/bin/uci", input=UCI_STANDIN.read_text())
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
        "of which: uci stand-in (sh+awk) (CPU)",
        "ms",
        Sample.of(cpu["uci"]),
        note="OpenWrt's uci is C",
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
    verify_large_table.set_routes(lab, big)
    learn = time.monotonic() - t
    ctx.log(f"  zebra holds {big} kernel routes after {learn:.1f}s")
    loaded = measure(f"{big} routes")
    verify_large_table.set_routes(lab, 0)
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


def item_6(ctx: Context) -> None:
    total: list[float] = []
    prov: list[float] = []
    install: list[float] = []
    bgp: list[float] = []
    bgp_only: list[float] = []
    lag: list[float] = []
    for i in range(ctx.opts.conv_runs):
        with lab_up(ctx, LabSpec(name="bnconv", installed=False)) as lab:
            topo = load_topology(lab.topology_file)
            router = topo.routers[0]
            marks: dict[str, float] = {}

            def progress(msg: str, marks: dict[str, float] = marks) -> None:
                marks.setdefault(msg.split(maxsplit=1)[0], time.monotonic())

            ctx.log(f"item 6: convergence run {i + 1}/{ctx.opts.conv_runs}")
            want = {str(n.address) for n in topo.cluster.nodes}
            watch = SessionWatch(lab, want)
            t0 = time.monotonic()
            with watch, connect(router.ssh, accept_new_host_key=True) as tr:
                res = provision(tr, topo, router, progress=progress)
                t_prov = time.monotonic()
                if not res.applied or not res.installed:
                    raise BenchError("item 6: provision on a fresh lab did not install and apply")
                t_green = wait_green(topo, timeout=120)
                t_est = watch.wait(timeout=10)
            t_applied = marks.get("applying", t_prov)  # neighbors configured from here on
            t_answers = marks.get(res.suite, t0)  # "<suite> answers on ...": installed
            total.append(t_green - t0)
            prov.append(t_prov - t0)
            install.append(t_answers - t0)
            bgp.append(t_est - t_applied)
            bgp_only.append(max(0.0, t_est - t_prov))
            lag.append(t_green - max(t_est, t_prov))
    ctx.row("6", "provision start -> verify green (fresh lab)", "s", Sample.of(total))
    ctx.row("6", "provision (install+apply+persist)", "s", Sample.of(prov), note="routerctl")
    ctx.row("6", "  of which: connect+lock+install", "s", Sample.of(install), note="opkg stand-in")
    ctx.row(
        "6",
        "BGP connect: config applied -> last Established",
        "s",
        Sample.of(bgp),
        note="sessions polled every 50 ms",
    )
    ctx.row(
        "6", "BGP wait after provision returned", "s", Sample.of(bgp_only), note="BGP's own delay"
    )
    ctx.row(
        "6", "verify green after Established", "s", Sample.of(lag), note="poll 0.1s + one verify"
    )
    rc_share = [t - b for t, b in zip(total, bgp_only, strict=True)]
    ctx.row("6", "routerctl's own time (total - BGP wait)", "s", Sample.of(rc_share))


BIG = 1_000_000  # parser sizes from here on: --parser-big-runs, no template-only mode


def item_8(ctx: Context) -> None:
    with tempfile.TemporaryDirectory(prefix="routerctl-bench-") as tmp:
        text_path, json_path = Path(tmp) / "routes.txt", Path(tmp) / "routes.json"
        for size in ctx.opts.parser_sizes:
            big = size >= BIG
            runs = ctx.opts.parser_big_runs if big else ctx.opts.parser_runs
            modes = ("floor", "text", "json") if big else ("floor", "template", "text", "json")
            ctx.log(f"item 8: parsers at {size} routes ({runs} runs: {', '.join(modes)})")
            text_path.write_text(parser_bench.generate_text(size))
            json_path.write_text(parser_bench.generate_json(size))
            sec: dict[str, list[float]] = {m: [] for m in modes}

            def step(
                mode: str, size: int = size, sec: dict[str, list[float]] = sec
            ) -> Callable[[], None]:
                path = json_path if mode == "json" else text_path

                def go() -> None:
                    r = parser_bench._run(mode, path)  # a fresh child process, CPU seconds
                    if int(r["rows"]) < (1 if mode == "template" else size):
                        raise BenchError(f"item 8: {mode} parsed {r['rows']} of {size} routes")
                    sec[mode].append(float(r["seconds"]))

                return go

            interleave(runs, *(step(m) for m in modes))
            label = f"{size // 1000}k" if size < BIG else f"{size / BIG:g}M"
            names = {
                "floor": "TextFSM 1-rule floor (same text)",
                "template": "TextFSM, our template (no model)",
                "text": "text: parse_routes (TextFSM+model)",
                "json": "json: parse_routes (FRR JSON+model)",
            }
            for mode in modes:
                ctx.row("8", f"{names[mode]}, {label}", "routes/s", per_second(size, sec[mode]))
            if not big:
                ctx.row(
                    "8",
                    f"template / floor time, {label}",
                    "x",
                    ratios(sec["template"], sec["floor"]),
                    Goal("<=", 1.2),
                    note="regex cost",
                )
            ctx.row(
                "8",
                f"text / floor time, {label}",
                "x",
                ratios(sec["text"], sec["floor"]),
                Goal("<=", 1.2),
                note="regex + building the model",
            )


# -- the run -----------------------------------------------------------------------------


def machine_facts() -> dict[str, str]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False).stderr.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{cpu}, {os.cpu_count()} CPUs, {mem} RAM, Linux {platform.release()}",
        "python": platform.python_version(),
        "OpenSSH": ssh.split(",")[0],
        "load at start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


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


def report(ctx: Context) -> str:
    order = {k: i for i, k in enumerate(ITEMS)}
    ctx.table.rows.sort(key=lambda r: order[r.item])
    facts = "\n".join(f"{k}: {v}" for k, v in ctx.facts.items())
    return f"{facts}\n\n{ctx.table.text()}\n"


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
        core.check_environment()
        if "6" in opts.only:
            item_6(ctx)
        if opts.only & {"1", "2", "3", "4", "7"}:
            main_lab_items(ctx)
        if "5" in opts.only:
            item_5(ctx)
        if "8" in opts.only:
            item_8(ctx)
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
