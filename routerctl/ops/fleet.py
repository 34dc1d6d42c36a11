"""Provision many routers: a bounded number at once, or rolling with a verify gate.

Each router runs the one-router ``provision`` (lock, backup, one vtysh session,
read-back, rollback) in a worker thread. Results are data: one ``RouterOutcome`` per
router (changed / unchanged / failed / rolled back / skipped) and the worst exit code.

Rolling: one router at a time; after each, a verify gate (its sessions Established,
every service routed via all the nodes announcing it) polls until green or
``gate_timeout``. A router that fails, rolls back or misses its gate stops the roll:
the routers after it are skipped, untouched.

Ctrl-C (SIGINT is delivered to the main thread only): no new router starts, routers
not yet started are skipped, and every router in flight runs to its end -- applied
and persisted, or rolled back by its own safety net -- so none is left half-configured.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from routerctl.checks import CheckResult, Severity
from routerctl.cluster import ClusterState, from_topology
from routerctl.errors import ExitCode, RolledBackError, RouterctlError, UsageError
from routerctl.ops.provision import ProvisionResult, plan_with_preflight, provision
from routerctl.ops.verify import run_verify
from routerctl.plan import Plan
from routerctl.topology import Router, Topology
from routerctl.transport import Transport

Connector = Callable[[Router], Transport]
Progress = Callable[[str], None]
DEFAULT_PARALLEL = 4
DEFAULT_GATE_TIMEOUT = 90.0
_SIGNAL_CHECK_SECONDS = 0.2


class Outcome(str, enum.Enum):
    changed = "changed"
    unchanged = "unchanged"
    failed = "failed"
    rolled_back = "rolled back"
    skipped = "skipped"


@dataclass(frozen=True)
class RouterOutcome:
    """What happened to one router of a fleet run."""

    router: str
    outcome: Outcome
    exit_code: int
    detail: str  # one line: what was done, or what went wrong and how to fix it
    result: ProvisionResult | None = None  # None: failed before a plan, or skipped
    gate: tuple[CheckResult, ...] = ()  # rolling: the gate's failing checks
    seconds: float = 0.0
    # the error as raised (the CLI re-raises it for a single router); not part of the data
    error: RouterctlError | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.changed, Outcome.unchanged)

    def to_json(self) -> dict[str, object]:
        base: dict[str, object] = {"router": self.router}
        if self.result is not None:
            base.update(self.result.to_json())
        base.update(
            {
                "outcome": self.outcome.value,
                "exit_code": self.exit_code,
                "detail": self.detail,
                "seconds": round(self.seconds, 3),
            }
        )
        if self.gate:
            base["gate"] = [
                {"check": c.name, "severity": c.severity.value, "observed": c.observed}
                for c in self.gate
            ]
        return base


@dataclass(frozen=True)
class FleetResult:
    outcomes: tuple[RouterOutcome, ...]
    rolling: bool = False
    dry_run: bool = False
    interrupted: bool = False  # Ctrl-C: in-flight routers finished, the rest skipped

    @property
    def exit_code(self) -> int:
        """The worst (highest) router exit code; 0 when every router is changed/unchanged."""
        return max((o.exit_code for o in self.outcomes), default=ExitCode.OK)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes) and not self.interrupted

    def outcome(self, router: str) -> RouterOutcome:
        return next(o for o in self.outcomes if o.router == router)

    def to_json(self) -> list[dict[str, object]]:
        return [o.to_json() for o in self.outcomes]


def default_parallel(routers: int) -> int:
    """How many routers ``provision`` runs at once by default: min(4, routers)."""
    return max(1, min(DEFAULT_PARALLEL, routers))


def _skipped(router: Router, why: str) -> RouterOutcome:
    return RouterOutcome(router.name, Outcome.skipped, ExitCode.OK, why)


@dataclass
class _Fleet:
    topology: Topology
    per_router: Mapping[str, Topology]  # a router's own topology (nodes read from kubectl)
    open_firewall: bool  # --open-firewall: own the routerctl-bgp firewall rule
    connector: Connector
    reconnect: Connector
    confirm: Callable[[Plan], bool]
    confirm_timeout: float | None
    progress: Progress
    prefix: bool
    dry_run: bool
    gate_timeout: float | None  # None: no gate (parallel)
    cluster: ClusterState
    stop: threading.Event = field(default_factory=threading.Event)
    # the routers that ran, recorded by their workers, and how many run right now: the
    # main thread waits on these, not on the executor's threads (a Ctrl-C landing inside
    # the executor's thread start or join can hide a running thread from it)
    done: dict[str, RouterOutcome] = field(default_factory=dict)
    running: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)
    confirm_lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, router: Router, msg: str) -> None:
        self.progress(f"{router.name}: {msg}" if self.prefix else msg)

    def ask(self, plan: Plan) -> bool:
        with self.confirm_lock:  # one question at a time on the terminal
            return self.confirm(plan)

    def one(self, r: Router) -> RouterOutcome:
        with self.changed:
            if self.stop.is_set():
                out = _skipped(r, "interrupted before it started")
                self.done[r.name] = out
                return out
            self.running += 1
        out = _skipped(r, "interrupted before it started")
        try:
            out = self._one(r)
        except Exception as exc:  # a bug: still one row in the table, not a lost router
            out = RouterOutcome(
                r.name,
                Outcome.failed,
                ExitCode.INTERNAL,
                f"internal error: {type(exc).__name__}: {exc} (this is a bug; report it)",
            )
        finally:
            with self.changed:
                self.done[r.name] = out
                self.running -= 1
                self.changed.notify_all()
        return out

    def settle(self, on_interrupt: Callable[[], None]) -> None:
        """Wait until no router runs (after ``stop`` or once every router was started)."""
        while True:
            try:
                with self.changed:
                    while self.running:
                        self.changed.wait(timeout=_SIGNAL_CHECK_SECONDS)
                return
            except KeyboardInterrupt:
                on_interrupt()

    def topo(self, r: Router) -> Topology:
        return self.per_router.get(r.name, self.topology)

    def _one(self, r: Router) -> RouterOutcome:
        """Provision (or plan) one router, then its gate; errors become the outcome."""
        t0 = time.monotonic()
        self.say(r, f"connecting to {r.name}")
        try:
            with self.connector(r) as t:
                if self.dry_run:
                    plan, report = plan_with_preflight(
                        t, self.topo(r), r, open_firewall=self.open_firewall
                    )
                    res = ProvisionResult(
                        r.name, "", (), plan, False, 0, False, (), report, report.firewall
                    )
                else:
                    res = provision(
                        t,
                        self.topo(r),
                        r,
                        reconnect=lambda: self.reconnect(r),
                        confirm=self.ask,
                        confirm_timeout=self.confirm_timeout,
                        progress=lambda m: self.say(r, m),
                        open_firewall=self.open_firewall,
                    )
        except RolledBackError as exc:
            return RouterOutcome(
                r.name,
                Outcome.rolled_back,
                exc.exit_code,
                exc.one_line(),
                seconds=time.monotonic() - t0,
                error=exc,
            )
        except RouterctlError as exc:
            return RouterOutcome(
                r.name,
                Outcome.failed,
                exc.exit_code,
                exc.one_line(),
                seconds=time.monotonic() - t0,
                error=exc,
            )
        if res.plan.empty and res.firewall.empty:
            outcome, detail = Outcome.unchanged, "no changes"
        elif self.dry_run:
            lines = len(res.plan.changes) + len(res.firewall.changes)
            outcome, detail = Outcome.changed, f"would change {lines} line(s)"
        elif not res.applied:
            return RouterOutcome(
                r.name,
                Outcome.skipped,
                ExitCode.FAILED,
                "not applied (declined)",
                res,
                seconds=time.monotonic() - t0,
            )
        else:
            outcome = Outcome.changed
            detail = f"applied {res.lines_sent} config lines, persisted, read back"
        if self.gate_timeout is not None and not self.dry_run:
            gate = self.gate(r)
            if gate:
                code = (
                    ExitCode.UNREACHABLE
                    if all(c.severity is Severity.UNKNOWN for c in gate)
                    else ExitCode.FAILED
                )
                names = ", ".join(c.name for c in gate[:4]) + (" ..." if len(gate) > 4 else "")
                return RouterOutcome(
                    r.name,
                    Outcome.failed,
                    code,
                    f"{detail}; verify gate failed after {self.gate_timeout:g}s: {names} "
                    "(the roll stopped here; run routerctl verify for details)",
                    res,
                    gate=gate,
                    seconds=time.monotonic() - t0,
                )
            detail += "; verify gate green"
        return RouterOutcome(
            r.name, outcome, ExitCode.OK, detail, res, seconds=time.monotonic() - t0
        )

    def gate(self, r: Router) -> tuple[CheckResult, ...]:
        """The failing checks of ``r`` once green or after ``gate_timeout`` (empty: green)."""
        self.say(r, f"verify gate: waiting up to {self.gate_timeout:g}s for green")
        results, _ = run_verify(
            self.topo(r),
            router_name=r.name,
            cluster=self.cluster,
            connector=self.connector,
            wait=self.gate_timeout,
        )
        return tuple(c for c in results if not c.ok)


def _wait_out(futures: Sequence[Future[RouterOutcome]], on_interrupt: Callable[[], None]) -> None:
    """Wait for every future; Ctrl-C (however often) only calls ``on_interrupt``."""
    pending = set(futures)
    while pending:
        try:
            # a bounded wait: Python runs the SIGINT handler in the main thread between
            # bytecodes, and a lock wait with no timeout is not woken by a signal that
            # another thread received
            _, pending = wait(pending, timeout=_SIGNAL_CHECK_SECONDS)
        except KeyboardInterrupt:
            on_interrupt()


def run_fleet(
    topology: Topology,
    routers: Sequence[Router],
    *,
    connector: Connector,
    reconnect: Connector | None = None,
    parallel: int | None = None,
    rolling: bool = False,
    dry_run: bool = False,
    confirm: Callable[[Plan], bool] = lambda _plan: True,
    confirm_timeout: float | None = None,
    gate_timeout: float = DEFAULT_GATE_TIMEOUT,
    cluster: ClusterState | None = None,
    progress: Progress = lambda _msg: None,
    per_router: Mapping[str, Topology] | None = None,
    open_firewall: bool = False,
) -> FleetResult:
    """Provision ``routers``: ``parallel`` at once (default min(4, routers)), or rolling."""
    if not routers:
        raise UsageError("no routers to provision", hint="check the topology's routers")
    if rolling and parallel is not None and parallel > 1:
        raise UsageError(
            "--rolling provisions one router at a time", hint="drop --parallel or --rolling"
        )
    if parallel is not None and parallel < 1:
        raise UsageError(f"--parallel {parallel} is out of range", hint="use 1 or more")
    workers = 1 if rolling else (parallel or default_parallel(len(routers)))
    fleet = _Fleet(
        topology=topology,
        per_router=per_router or {},
        open_firewall=open_firewall,
        connector=connector,
        reconnect=reconnect or connector,
        confirm=confirm,
        confirm_timeout=confirm_timeout,
        progress=progress,
        prefix=len(routers) > 1,
        dry_run=dry_run,
        gate_timeout=gate_timeout if rolling else None,
        cluster=cluster or from_topology(topology),
    )
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        if not interrupted:
            progress("interrupted: no new router starts; the routers in flight finish or roll back")
        interrupted = True
        fleet.stop.set()

    outcomes: dict[str, RouterOutcome] = {}
    futures: dict[str, Future[RouterOutcome]] = {}

    def stop_pending() -> None:
        interrupt()
        for f in futures.values():
            f.cancel()  # not started yet: never starts

    pool = ThreadPoolExecutor(max_workers=min(workers, len(routers)), thread_name_prefix="fleet")
    try:
        if rolling:
            for i, r in enumerate(routers):
                if fleet.stop.is_set():
                    break
                futures[r.name] = pool.submit(fleet.one, r)
                _wait_out([futures[r.name]], interrupt)
                out = futures[r.name].result()
                outcomes[r.name] = out
                if not out.ok:
                    for rest in routers[i + 1 :]:
                        outcomes[rest.name] = _skipped(
                            rest, f"not started: the roll stopped at {r.name} ({out.outcome.value})"
                        )
                    break
        else:
            for r in routers:
                futures[r.name] = pool.submit(fleet.one, r)
            _wait_out(list(futures.values()), stop_pending)
    except KeyboardInterrupt:  # while submitting, or between two routers of a roll
        stop_pending()
    finally:
        # every router in flight runs to its end; the idle threads exit by themselves
        pool.shutdown(wait=False, cancel_futures=True)
        fleet.settle(stop_pending)
    for r in routers:
        if r.name not in outcomes:
            outcomes[r.name] = fleet.done.get(r.name) or _skipped(
                r, "interrupted before it started"
            )
    return FleetResult(
        outcomes=tuple(outcomes[r.name] for r in routers),
        rolling=rolling,
        dry_run=dry_run,
        interrupted=interrupted,
    )
