"""``routerctl watch``: keep the routers' neighbors following the cluster's nodes.

Three parts, the first two pure and driven by an injected clock in tests:

- ``Debouncer``: a burst of node changes (nodes replaced one after another, a label put on
  many nodes) becomes ONE apply: it fires ``quiet`` seconds after the last relevant
  change, and at the latest ``max_delay`` seconds after the first one. A rolling upgrade
  (cordon, drain, reboot: NotReady, Ready, uncordon) changes no verdict and costs nothing.
- ``Backoff``: after a failed read or apply, wait ``base``, doubling up to ``cap``.
- ``Reconciler``: events in (from kubectl's watch), applies out. An event counts only
  when it changes what decides a node's verdict (its labels, InternalIPs); status
  heartbeats, Ready flips and cordons do not. When the debouncer fires it reads the node
  set again (``live_nodes``: the watch is only a trigger, the full read decides), logs
  one line per node that comes or goes, and runs ``provision`` (lock, backup, one vtysh
  session, read-back, rollback: the same code and safety as the command) on each router.

``run_watch`` wires them to a ``kubectl get nodes --watch`` child process and a stop
event (SIGTERM in the CLI): the loop never stops mid-apply, it exits after it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from routerctl.cluster import NodeSelection
from routerctl.errors import RouterctlError
from routerctl.ops.provision import ProvisionResult, provision
from routerctl.topology import Router, Topology
from routerctl.transport import Transport

Log = Callable[[str], None]


class Debouncer:
    """Fire ``quiet`` s after the last change, at most ``max_delay`` s after the first."""

    def __init__(self, *, quiet: float = 10.0, max_delay: float = 60.0) -> None:
        self.quiet = quiet
        self.max_delay = max(max_delay, quiet)
        self.first: float | None = None
        self.last: float | None = None

    def change(self, now: float) -> None:
        if self.first is None:
            self.first = now
        self.last = now

    @property
    def pending(self) -> bool:
        return self.first is not None

    def deadline(self) -> float | None:
        if self.first is None or self.last is None:
            return None
        return min(self.last + self.quiet, self.first + self.max_delay)

    def due(self, now: float) -> bool:
        d = self.deadline()
        return d is not None and now >= d

    def reset(self) -> None:
        self.first = self.last = None


class Backoff:
    """Bounded exponential backoff: ``base``, 2x per failure, at most ``cap`` seconds."""

    def __init__(self, *, base: float = 2.0, cap: float = 300.0) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def failure(self) -> float:
        delay = min(self.cap, self.base * (2**self.failures))
        self.failures = min(self.failures + 1, 32)
        return float(delay)

    def success(self) -> None:
        self.failures = 0


def fingerprint(obj: Any) -> tuple[object, ...] | None:
    """What in a Node object can change its verdict; None when it is not a Node."""
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    assert isinstance(meta, dict) and isinstance(status, dict)
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    assert isinstance(labels, dict)
    addrs = status.get("addresses") if isinstance(status.get("addresses"), list) else []
    assert isinstance(addrs, list)
    internal = sorted(
        str(a.get("address"))
        for a in addrs
        if isinstance(a, dict) and a.get("type") == "InternalIP"
    )
    return (
        tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        tuple(internal),
    )


@dataclass
class Stats:
    events: int = 0
    relevant: int = 0
    reads: int = 0
    applies: int = 0  # provision runs that changed a router
    provisions: int = 0  # provision runs (changed or not)
    failures: int = 0


ReadNodes = Callable[[], NodeSelection]
Apply = Callable[[Topology, Router], ProvisionResult]


@dataclass
class Reconciler:
    """The watch loop's decisions, with time passed in (``now``), no I/O of its own."""

    topology: Topology
    routers: list[Router]
    read_nodes: ReadNodes
    apply: Apply
    log: Log
    debouncer: Debouncer = field(default_factory=Debouncer)
    backoff: Backoff = field(default_factory=Backoff)
    stats: Stats = field(default_factory=Stats)
    seen: dict[str, tuple[object, ...]] = field(default_factory=dict)
    speaking: dict[str, str] | None = None  # name -> address after the last good read
    applied: dict[str, frozenset[tuple[str, str]]] = field(default_factory=dict)
    retry_at: float | None = None
    # a full read and a provision run on every router this often, changes or not: picks up
    # MetalLB's BGPPeer/speaker changes (not watched) and undoes drift on the router (a
    # neighbor removed by hand, a reboot without the saved config); None: never
    resync_every: float | None = None
    last_sync: float | None = None

    def start(self, now: float) -> None:
        """The first sync runs at once."""
        self.debouncer.change(now - self.debouncer.max_delay)

    def on_event(self, event: Any, now: float) -> bool:
        """One watch event; True when it may change the node set (and is debounced)."""
        self.stats.events += 1
        if not isinstance(event, dict):
            return False
        obj = event.get("object")
        kind = event.get("type")
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(name, str):
            return False
        if kind == "DELETED":
            self.seen.pop(name, None)
            relevant = True
        elif kind in ("ADDED", "MODIFIED"):
            fp = fingerprint(obj)
            if fp is None:
                return False
            relevant = self.seen.get(name) != fp
            self.seen[name] = fp
        else:  # ERROR, BOOKMARK
            return False
        if relevant:
            self.stats.relevant += 1
            self.debouncer.change(now)
        return relevant

    def resync(self, now: float) -> None:
        """After a watch restart events may be lost: read again (debounced)."""
        self.debouncer.change(now)

    def _resync_at(self) -> float | None:
        if self.resync_every is None or self.last_sync is None:
            return None
        return self.last_sync + self.resync_every

    def wakeup(self, now: float) -> float | None:
        """Seconds until ``tick`` has something to do (None: only an event can start it)."""
        deadline = self.debouncer.deadline()
        if deadline is None:
            deadline = self._resync_at()
        times = [t for t in (deadline, self.retry_at) if t is not None]
        if not times:
            return None
        when = max(times) if self.retry_at is not None else min(times)
        return max(0.0, when - now)

    def tick(self, now: float) -> bool:
        """Read and apply when the burst is over (and no backoff holds); True if it ran."""
        resync_at = self._resync_at()
        if not self.debouncer.pending and resync_at is not None and now >= resync_at:
            self.applied.clear()  # provision every router: drift on the router is undone too
            self.debouncer.change(now - self.debouncer.max_delay)
        if not self.debouncer.due(now):
            return False
        if self.retry_at is not None and now < self.retry_at:
            return False
        try:
            self._sync()
        except RouterctlError as exc:
            self.stats.failures += 1
            delay = self.backoff.failure()
            self.retry_at = now + delay
            self.log(f"failed: {exc.one_line()}; retrying in {delay:g}s")
            return True
        self.backoff.success()
        self.retry_at = None
        self.debouncer.reset()
        self.last_sync = now
        return True

    def _sync(self) -> None:
        self.stats.reads += 1
        selection = self.read_nodes()
        now_speaking = {n.name: str(n.address) for n in selection.nodes()}
        if self.speaking is not None:
            reasons = {v.name: v.reason for v in selection.verdicts}
            for name in sorted(set(now_speaking) - set(self.speaking)):
                self.log(f"node {name} ({now_speaking[name]}) joins: {reasons.get(name)}")
            for name in sorted(set(self.speaking) - set(now_speaking)):
                why = reasons.get(name, "no longer in the cluster")
                self.log(f"node {name} ({self.speaking[name]}) leaves: {why}")
            for name in sorted(set(now_speaking) & set(self.speaking)):
                if now_speaking[name] != self.speaking[name]:
                    self.log(f"node {name} moves: {self.speaking[name]} -> {now_speaking[name]}")
        else:
            self.log(
                f"{len(now_speaking)} nodes speak: " + (" ".join(sorted(now_speaking)) or "none")
            )
        failed: list[str] = []
        for router in self.routers:
            try:
                topo = selection.topology(self.topology, router.name)
            except RouterctlError as exc:
                self.log(f"{router.name}: not applied: {exc.message}")
                failed.append(router.name)
                continue
            want = frozenset((n.name, str(n.address)) for n in topo.nodes_for(router))
            if self.applied.get(router.name) == want:
                continue  # in sync since the last apply: the router is not contacted
            try:
                res = self.apply(topo, router)
            except RouterctlError as exc:
                self.applied.pop(router.name, None)
                self.log(f"{router.name}: {exc.one_line()}")
                failed.append(router.name)
                continue
            self.applied[router.name] = want
            self.stats.provisions += 1
            if res.applied:
                self.stats.applies += 1
                self.log(
                    f"{router.name}: applied {res.lines_sent} config lines "
                    f"({len(topo.nodes_for(router))} neighbors), persisted"
                )
        self.speaking = now_speaking
        if failed:
            raise _Failed(f"not applied on {', '.join(failed)}")


class _Failed(RouterctlError):
    """Some router was not brought in sync: retried after the backoff."""


def parse_stream(chunks: Iterator[str]) -> Iterator[Any]:
    """The JSON documents of kubectl's watch output (one per line, or pretty-printed)."""
    decoder = json.JSONDecoder()
    buf = ""
    for chunk in chunks:
        buf += chunk
        while True:
            buf = buf.lstrip()
            if not buf:
                break
            try:
                doc, end = decoder.raw_decode(buf)
            except json.JSONDecodeError:
                break  # incomplete: wait for more
            yield doc
            buf = buf[end:]
        if len(buf) > 64 * 1024 * 1024:
            raise ValueError("a watch event larger than 64 MiB")


class KubectlWatch:
    """``kubectl get nodes --watch --output-watch-events -o json`` in a child process;
    a thread turns its output into ``("event", doc)`` and, at its end, ``("ended", why)``
    items on ``events``."""

    def __init__(self, argv: list[str], events: queue.Queue[tuple[str, Any]]) -> None:
        self.argv = argv
        self.events = events
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        try:
            for doc in parse_stream(iter(proc.stdout.readline, "")):
                self.events.put(("event", doc))
        except ValueError as exc:
            self.events.put(("ended", str(exc)))
            return
        err = proc.stderr.read().strip().splitlines()
        code = proc.wait()
        why = err[-1] if err else f"kubectl exited {code}"
        self.events.put(("ended", why))

    def stop(self) -> None:
        """End the child (by its pid) and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def provision_apply(
    connector: Callable[[Router], Transport],
    *,
    confirm_timeout: float | None = None,
    progress: Log = lambda _m: None,
) -> Apply:
    """Apply with provision itself (lock, backup, apply, read-back, rollback), no prompt."""

    def apply(topology: Topology, router: Router) -> ProvisionResult:
        with connector(router) as t:
            return provision(
                t,
                topology,
                router,
                reconnect=lambda: connector(router),
                confirm=lambda _plan: True,
                confirm_timeout=confirm_timeout,
                progress=progress,
            )

    return apply


def run_watch(
    reconciler: Reconciler,
    watch_argv: list[str],
    *,
    stop: threading.Event,
    clock: Callable[[], float],
    watch_backoff: Backoff | None = None,
) -> Stats:
    """The loop: follow the watch, debounce, apply; restart the watch with backoff when it
    ends (API outage, the server's watch timeout); return when ``stop`` is set."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    backoff = watch_backoff or Backoff(base=1.0, cap=60.0)
    watcher: KubectlWatch | None = None
    restart_at: float | None = clock()
    reconciler.start(clock())
    try:
        while not stop.is_set():
            now = clock()
            if watcher is None and restart_at is not None and now >= restart_at:
                watcher = KubectlWatch(watch_argv, events)
                try:
                    watcher.start()
                except OSError as exc:
                    watcher = None
                    delay = backoff.failure()
                    restart_at = now + delay
                    reconciler.log(f"cannot start kubectl: {exc}; retrying in {delay:g}s")
                else:
                    restart_at = None
            reconciler.tick(now)
            waits = [w for w in (reconciler.wakeup(now),) if w is not None]
            if restart_at is not None:
                waits.append(max(0.0, restart_at - now))
            timeout = min([*waits, 1.0])  # wake at least once a second to see ``stop``
            try:
                kind, item = events.get(timeout=timeout)
            except queue.Empty:
                continue
            now = clock()
            if kind == "event":
                backoff.success()
                reconciler.on_event(item, now)
            else:
                if watcher is not None:
                    watcher.stop()
                watcher = None
                delay = backoff.failure()
                restart_at = now + delay
                reconciler.log(f"watch ended ({item}); restarting in {delay:g}s")
                reconciler.resync(now + delay)
    finally:
        if watcher is not None:
            watcher.stop()
    return reconciler.stats
