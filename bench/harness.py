"""What every bench item uses: the options and the run's context (log, rows), labs,
timed transports and verifies, timed commands, and ``interleave``.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import Row, Sample, Table
from routerctl.cluster import from_topology
from routerctl.errors import RouterctlError
from routerctl.lab import Lab, LabSpec, down, poll, up
from routerctl.ops import gather as routerstate
from routerctl.ops.provision import provision
from routerctl.ops.verify import run_verify
from routerctl.topology import Router, Topology
from routerctl.transport import CommandResult, Transport, connect

ITEMS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "14")


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
        lab = up(spec)
    except RouterctlError as exc:  # a shared, loaded machine: one retry, said out loud
        ctx.log(f"lab up {spec.name} failed ({exc.one_line()}); retrying once")
        lab = up(spec)
    try:
        yield lab
    finally:
        down(spec.name)
        ctx.log(f"lab down {spec.name}")


class TimedTransport:
    """A Transport that times its exec round trips (and counts them, like the real one)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.host = inner.host
        self.exec_seconds = 0.0
        self.exec_times: list[float] = []  # each exec round trip, in order
        self.exec_count = inner.exec_count

    def run(self, command: str, *, stdin: bytes | None = None, timeout: float) -> CommandResult:
        t = time.perf_counter()
        try:
            return self.inner.run(command, stdin=stdin, timeout=timeout)
        finally:
            self.exec_times.append(time.perf_counter() - t)
            self.exec_seconds += self.exec_times[-1]
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


def provision_router(topo: Topology, router: Router) -> tuple[float, int, bool]:
    """One provision (library call, as the CLI makes it): seconds, execs, plan empty."""
    t = time.perf_counter()
    with connect(router.ssh) as tr:
        res = provision(tr, topo, router)
        execs = tr.exec_count
    return time.perf_counter() - t, execs, res.plan.empty


def provision_timed(topo: Topology, router: Router) -> tuple[float, list[float], bool]:
    """One provision like ``provision_router``: seconds, each exec's seconds, plan empty."""
    t = time.perf_counter()
    with connect(router.ssh) as tr:
        timed = TimedTransport(tr)
        res = provision(timed, topo, router)  # type: ignore[arg-type]
    return time.perf_counter() - t, timed.exec_times, res.plan.empty


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


TICK = os.sysconf("SC_CLK_TCK")  # clock ticks per second (/proc stat fields)


def _namespace_cpu(holder: int) -> tuple[float, frozenset[int]]:
    """CPU seconds used so far by the processes in ``holder``'s PID namespace (each live
    process's own time plus its reaped children's), and their PIDs."""
    want = os.readlink(f"/proc/{holder}/ns/pid")
    ticks, pids = 0, set()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{d}/ns/pid") != want:
                continue
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:  # gone meanwhile: its time is in its reaper's
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state ppid ... utime stime cutime cstime
        ticks += sum(int(f) for f in fields[11:15])
        pids.add(int(d))
    return ticks / TICK, frozenset(pids)


def routers_cpu(lab: Lab, names: list[str]) -> tuple[float, frozenset[int]]:
    total, pids = 0.0, frozenset[int]()
    for r in names:
        cpu, some = _namespace_cpu(lab.state.holders[r])
        total, pids = total + cpu, pids | some
    return total, pids


def settled_cpu(lab: Lab, names: list[str], before: frozenset[int]) -> float:
    """The routers' CPU once the provision's sessions have ended (their processes reaped):
    polled until no process is left that was not there before, 5 s at most."""
    deadline = time.monotonic() + 5.0
    while True:
        cpu, pids = routers_cpu(lab, names)
        if pids <= before or time.monotonic() > deadline:
            return cpu
        time.sleep(0.02)  # poll interval, bounded by the deadline


def cpu_per_verify(lab: Lab, topo: Topology, router: str, runs: int) -> tuple[float, float, float]:
    """(router-side, proxy, routerctl) CPU seconds per verify of ``router``, measured
    over ``runs`` verifies back to back (each waits for the router's sessions to be reaped,
    so their CPU has reached the counters)."""
    base, procs = routers_cpu(lab, [router])
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = 0.0
    for _ in range(runs):
        v = verify_once(topo, router_name=router)
        require_green(v, "CPU per verify")
        own += v.cpu_seconds
    after = settled_cpu(lab, [router], procs)
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    proxy = (done.ru_utime + done.ru_stime) - (children.ru_utime + children.ru_stime)
    return (after - base) / runs, proxy / runs, own / runs


def msec(seconds: Sequence[float]) -> Sample:
    return Sample.of([x * 1000 for x in seconds])


def interleave(runs: int, *steps: Callable[[], None]) -> None:
    """Run every step once per round, rotating which goes first."""
    for i in range(runs):
        k = i % len(steps)
        for step in steps[k:] + steps[:k]:
            step()
