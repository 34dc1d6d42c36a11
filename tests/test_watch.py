"""``routerctl watch`` (issue 14 item 2): debounce, backoff and the reconcile decisions
with an injected clock (no sleeps), then the loop with the real kubectl's watch against
the API-server emulation, and the command's clean exit on SIGTERM."""

from __future__ import annotations

import configparser
import io
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from routerctl.cli import app
from routerctl.cluster import NodeSelection, kubectl_argv, live_nodes, select_nodes
from routerctl.commands import watch as watch_command
from routerctl.errors import CommandError, ExitCode, RolledBackError
from routerctl.ops.provision import ProvisionResult
from routerctl.ops.watch import (
    Backoff,
    Debouncer,
    Reconciler,
    fingerprint,
    parse_stream,
    run_watch,
)
from routerctl.plan import Plan
from routerctl.topology import NodesFrom, Router, Topology
from tests import kubeapi
from tests.test_verify import topo

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed (scripts/setup)")


def test_debouncer_quiet_and_max_delay() -> None:
    d = Debouncer(quiet=10, max_delay=60)
    assert not d.pending and d.deadline() is None and not d.due(1e9)
    d.change(100)
    assert d.deadline() == 110 and not d.due(109.9) and d.due(110)
    d.change(105)  # the burst goes on: the quiet window moves
    assert d.deadline() == 115
    for t in range(106, 200, 5):  # a change every 5 s, never 10 s quiet
        d.change(t)
    assert d.deadline() == 160  # max_delay after the first change caps it
    d.reset()
    assert d.deadline() is None


def test_backoff_is_bounded_and_resets() -> None:
    b = Backoff(base=2, cap=300)
    assert [b.failure() for _ in range(10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    for _ in range(100):
        assert b.failure() == 300  # no overflow after many failures
    b.success()
    assert b.failure() == 2


def test_parse_stream_split_and_pretty() -> None:
    docs = [{"type": "ADDED", "object": {"metadata": {"name": f"n{i}"}}} for i in range(3)]
    text = json.dumps(docs[0]) + "\n" + json.dumps(docs[1], indent=4) + "\n" + json.dumps(docs[2])
    chunks = [text[i : i + 7] for i in range(0, len(text), 7)]
    assert list(parse_stream(iter(chunks))) == docs


def node_obj(name: str, ip: str, **kw: Any) -> dict[str, Any]:
    return kubeapi.node(name, ip, **kw)


class FakeCluster:
    """What ``live_nodes`` would read: node objects run through the real ``select_nodes``."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.nodes: dict[str, dict[str, Any]] = {}
        self.down = False
        self.reads = 0

    def read(self) -> NodeSelection:
        self.reads += 1
        if self.down:
            raise CommandError("kubectl get nodes failed: The connection to the server was refused")
        return select_nodes(
            {"items": list(self.nodes.values())},
            None,
            topology=self.topology,
            spec=NodesFrom(),
        )

    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        if kind == "DELETED":
            self.nodes.pop(obj["metadata"]["name"])
        else:
            self.nodes[obj["metadata"]["name"]] = obj
        return {"type": kind, "object": obj}


class FakeRouter:
    def __init__(self) -> None:
        self.neighbors: frozenset[str] = frozenset()
        self.applies: list[tuple[frozenset[str], frozenset[str]]] = []  # (added, removed)
        self.calls = 0
        self.fail: RolledBackError | None = None

    def apply(self, topology: Topology, router: Router) -> ProvisionResult:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        want = frozenset(str(n.address) for n in topology.nodes_for(router))
        changed = want != self.neighbors
        if changed:
            self.applies.append((want - self.neighbors, self.neighbors - want))
        self.neighbors = want
        return ProvisionResult(
            router=router.name,
            suite="frr",
            installed=(),
            plan=Plan(router=router.name, asn=router.asn),
            applied=changed,
            lines_sent=2 if changed else 0,
            written=changed,
        )


def reconciler(
    quiet: float = 10, max_delay: float = 60
) -> tuple[Reconciler, FakeCluster, FakeRouter, list[str]]:
    t = topo()
    cluster, router, log = FakeCluster(t), FakeRouter(), []
    rec = Reconciler(
        topology=t,
        routers=list(t.routers),
        read_nodes=cluster.read,
        apply=router.apply,
        log=log.append,
        debouncer=Debouncer(quiet=quiet, max_delay=max_delay),
        backoff=Backoff(base=2, cap=60),
    )
    return rec, cluster, router, log


def ip(i: int) -> str:
    return f"198.51.{100 + i // 250}.{i % 250 + 1}"


def test_first_sync_then_one_apply_per_burst() -> None:
    rec, cluster, router, log = reconciler()
    for i in range(2):
        rec.on_event(cluster.event("ADDED", node_obj(f"n{i}", ip(i))), 0)
    rec.start(0)
    assert rec.tick(0) and router.neighbors == {ip(0), ip(1)}
    assert log[-2:] == [
        "2 nodes speak: n0 n1",
        "rtr: applied 2 config lines (2 neighbors), persisted",
    ]
    # a burst: two nodes join 3 s apart, then nothing
    rec.on_event(cluster.event("ADDED", node_obj("n2", ip(2))), 100)
    assert not rec.tick(105)
    rec.on_event(cluster.event("ADDED", node_obj("n3", ip(3))), 103)
    assert rec.wakeup(105) == 8  # quiet 10 s after the last change (113)
    assert not rec.tick(112.9)
    assert rec.tick(113)
    assert router.applies[-1] == (frozenset({ip(2), ip(3)}), frozenset())
    assert [ln for ln in log if "joins" in ln] == [
        f"node n2 ({ip(2)}) joins: Ready",
        f"node n3 ({ip(3)}) joins: Ready",
    ]
    assert len(router.applies) == 2 and rec.stats.applies == 2


def test_heartbeats_ready_flips_and_cordons_cost_nothing() -> None:
    """A rolling upgrade (cordon, NotReady, Ready, uncordon on every node, status updates)
    changes no verdict: no read, no router contact after the first sync."""
    rec, cluster, router, _ = reconciler()
    for i in range(5):
        rec.on_event(cluster.event("ADDED", node_obj(f"n{i}", ip(i))), 0)
    rec.start(0)
    rec.tick(0)
    reads, calls = cluster.reads, router.calls
    now = 10.0
    for i in range(5):
        for kw in ({"unschedulable": True}, {"ready": False}, {"ready": True}, {}):
            now += 30
            assert not rec.on_event(cluster.event("MODIFIED", node_obj(f"n{i}", ip(i), **kw)), now)
            rec.tick(now)
    assert (cluster.reads, router.calls) == (reads, calls)
    assert rec.stats.relevant == 5 and rec.stats.events == 25


def test_removed_and_excluded_nodes_go_once() -> None:
    rec, cluster, router, log = reconciler()
    for i in range(4):
        rec.on_event(cluster.event("ADDED", node_obj(f"n{i}", ip(i))), 0)
    rec.start(0)
    rec.tick(0)
    rec.on_event(cluster.event("DELETED", cluster.nodes["n3"]), 50)
    excluded = node_obj("n2", ip(2), labels={kubeapi_exclude(): ""})
    rec.on_event(cluster.event("MODIFIED", excluded), 52)
    rec.tick(62)
    assert router.applies[-1] == (frozenset(), frozenset({ip(2), ip(3)}))
    assert log[-3:-1] == [
        f"node n2 ({ip(2)}) leaves: labelled node.kubernetes.io/"
        "exclude-from-external-load-balancers",
        f"node n3 ({ip(3)}) leaves: no longer in the cluster",
    ]


def kubeapi_exclude() -> str:
    return "node.kubernetes.io/exclude-from-external-load-balancers"


def test_200_nodes_churn_is_one_apply_per_burst() -> None:
    """200 nodes: a scale-up, a replacement wave (every node deleted and a new one
    added, one every 2 s: 400 events over 800 s) and a scale-down each cost one apply per
    max_delay window, never one per node, and the router ends with exactly the cluster."""
    rec, cluster, router, _ = reconciler(quiet=10, max_delay=60)
    rec.on_event(cluster.event("ADDED", node_obj("a0", ip(0))), 0)
    rec.start(0)
    rec.tick(0)
    now = 0.0
    for i in range(1, 200):
        now += 0.05
        rec.on_event(cluster.event("ADDED", node_obj(f"a{i}", ip(i))), now)
        rec.tick(now)
    now += 10
    rec.tick(now)
    assert len(router.applies) == 2 and len(router.neighbors) == 200
    del router.applies[0]
    for i in range(200):  # replacement wave
        now += 1
        rec.on_event(cluster.event("DELETED", cluster.nodes[f"a{i}"]), now)
        rec.tick(now)
        now += 1
        rec.on_event(cluster.event("ADDED", node_obj(f"b{i}", ip(i + 200))), now)
        rec.tick(now)
    now += 10
    rec.tick(now)
    wave = len(router.applies) - 1
    assert wave <= 800 / 60 + 1, wave  # at most one apply per max_delay window
    assert router.neighbors == {ip(i + 200) for i in range(200)}
    for i in range(150):  # scale down to 50 in a burst
        now += 0.1
        rec.on_event(cluster.event("DELETED", cluster.nodes[f"b{i}"]), now)
        rec.tick(now)
    now += 10
    rec.tick(now)
    assert len(router.applies) == wave + 2
    assert router.neighbors == {ip(i + 200) for i in range(150, 200)}
    assert rec.stats.relevant == 200 + 400 + 150


def test_api_outage_and_router_outage_back_off() -> None:
    rec, cluster, router, log = reconciler()
    rec.on_event(cluster.event("ADDED", node_obj("n0", ip(0))), 0)
    cluster.down = True
    rec.start(0)
    times = []
    now = 0.0
    while len(times) < 8 and now < 1000:
        if rec.tick(now):
            times.append(now)
        now = now + (rec.wakeup(now) or 1)
    assert [b - a for a, b in itertools.pairwise(times)] == [2, 4, 8, 16, 32, 60, 60]
    assert log[0] == (
        "failed: kubectl get nodes failed: The connection to the server was refused; retrying in 2s"
    )
    assert router.calls == 0  # a failed read never touches the router
    cluster.down = False
    router.fail = RolledBackError("connection to rtr dropped mid-apply; restored")
    rec.tick(now)
    assert log[-2:] == [
        "rtr: connection to rtr dropped mid-apply; restored",
        "failed: not applied on rtr; retrying in 60s",  # the backoff was not reset
    ]
    router.fail = None
    rec.tick(now + 60)
    assert router.neighbors == {ip(0)} and rec.backoff.failures == 0 and rec.retry_at is None


def test_fingerprint_ignores_status_noise() -> None:
    a = node_obj("n0", ip(0))
    b = node_obj("n0", ip(0), ready=False, unschedulable=True)
    b["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-11-21T00:00:00Z"
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(node_obj("n0", ip(1)))
    assert fingerprint(a) != fingerprint(node_obj("n0", ip(0), labels={"x": "y"}))
    assert fingerprint("garbage") is None


# -- the loop with the real kubectl watch ---------------------------------------------


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[kubeapi.KubeAPI]:
    with kubeapi.running(kubeapi.node("n0", ip(0)), kubeapi.node("n1", ip(1))) as server:
        monkeypatch.setenv("KUBECONFIG", str(server.kubeconfig(tmp_path / "kubeconfig")))
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.delenv("ROUTERCTL_KUBECTL", raising=False)
        yield server


def poll(cond: Any, what: str, deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # poll interval, bounded by the deadline


@needs_kubectl
def test_run_watch_follows_kubectl_watch(api: kubeapi.KubeAPI) -> None:
    t = topo()
    router, log = FakeRouter(), []
    lock = threading.Lock()

    def logline(line: str) -> None:
        with lock:
            log.append(line)

    rec = Reconciler(
        topology=t,
        routers=list(t.routers),
        read_nodes=lambda: live_nodes(t, timeout=5),
        apply=router.apply,
        log=logline,
        debouncer=Debouncer(quiet=0.3, max_delay=2),
        backoff=Backoff(base=0.2, cap=1),
    )
    stop = threading.Event()
    argv = kubectl_argv(["get", "nodes", "--watch", "--output-watch-events", "-o", "json"])
    result: list[Any] = []
    th = threading.Thread(
        target=lambda: result.append(
            run_watch(
                rec, argv, stop=stop, clock=time.monotonic, watch_backoff=Backoff(base=0.2, cap=1)
            )
        )
    )
    th.start()
    try:
        poll(lambda: router.neighbors == {ip(0), ip(1)}, "the first sync")
        api.put(kubeapi.node("n2", ip(2)), kubeapi.node("n3", ip(3)))
        poll(lambda: router.neighbors == {ip(i) for i in range(4)}, "two nodes added")
        assert len(router.applies) == 2  # one apply for the burst of two
        api.put(kubeapi.node("n1", ip(1), ready=False))  # NotReady: no change
        api.pause()  # API outage: the watch ends, and comes back with the server
        poll(lambda: any("watch ended" in ln for ln in log), "the watch to end")
        api.start()
        api.delete("Node", "n3")
        poll(lambda: router.neighbors == {ip(i) for i in range(3)}, "n3 removed")
        assert len(router.applies) == 3
    finally:
        stop.set()
        th.join(timeout=15)
    assert not th.is_alive() and result[0].applies == 3
    assert f"node n3 ({ip(3)}) leaves: no longer in the cluster" in log


@needs_kubectl
def test_watch_command_exits_cleanly_on_sigterm(api: kubeapi.KubeAPI, tmp_path: Path) -> None:
    """The router is unreachable (port 9 on loopback): watch logs the failure, backs off,
    and a SIGTERM ends it with exit 0 and its summary line, its kubectl child reaped."""
    path = tmp_path / "routerctl.yaml"
    path.write_text(
        "routers:\n  - name: rtr\n    ssh: {host: 127.0.0.1, port: 9, user: root}\n"
        "    asn: 65000\n    router_id: 198.51.100.2\n"
        "cluster:\n  asn: 65001\n  nodes: {from: kubectl}\n"
        "  pools:\n    - {name: default, addresses: [203.0.113.0/24]}\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "routerctl", "watch", "-t", str(path), "--quiet", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        assert proc.stdout is not None
        lines = []
        end = time.monotonic() + 60
        while time.monotonic() < end:
            line = proc.stdout.readline()
            lines.append(line.strip())
            if "retrying in" in line:
                break
        assert any(ln.startswith("failed: not applied on rtr; retrying in 2s") for ln in lines), (
            lines
        )
        assert "2 nodes speak: n0 n1" in lines
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    tail = out.strip().splitlines()
    assert "SIGTERM: stopping" in tail  # (a retry may still log while it finishes)
    assert re.fullmatch(
        r"stopped: \d+ node changes, 0 provision runs, 0 applied, [1-9]\d* failed", tail[-1]
    ), tail
    assert "Traceback" not in err


def test_systemd_unit_matches_the_cli() -> None:
    """packaging/systemd/routerctl-watch.service runs a `routerctl watch` the CLI accepts,
    and does not restart on the exit codes that need a human."""
    unit = Path(__file__).parent.parent / "packaging" / "systemd" / "routerctl-watch.service"
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(unit.read_text())
    argv = cp["Service"]["ExecStart"].split()
    assert argv[0].endswith("/routerctl") and argv[1] == "watch"
    watch = typer.main.get_command(app).commands["watch"]  # type: ignore[attr-defined]
    ctx = watch.make_context("watch", argv[2:], resilient_parsing=True)
    assert str(ctx.params["topology"]) == "/etc/routerctl/routerctl.yaml"
    assert cp["Service"]["RestartPreventExitStatus"].split() == [
        str(ExitCode.USAGE),
        str(ExitCode.ENVIRONMENT),
    ]
    assert cp["Service"]["KillSignal"] == "SIGTERM"


def test_resync_reads_and_provisions_without_events() -> None:
    """Every --resync seconds: one read and one provision per router (drift undone), no
    apply when nothing changed; events still debounce as before."""
    rec, cluster, router, _ = reconciler()
    rec.resync_every = 600
    rec.on_event(cluster.event("ADDED", node_obj("n0", ip(0))), 0)
    rec.start(0)
    assert rec.tick(0) and (cluster.reads, router.calls) == (1, 1)
    assert rec.wakeup(10) == 590
    assert not rec.tick(599)
    router.neighbors = frozenset()  # someone removed the neighbor by hand
    assert rec.tick(600) and (cluster.reads, router.calls) == (2, 2)
    assert router.neighbors == {ip(0)} and len(router.applies) == 2
    assert not rec.tick(700) and rec.wakeup(700) == 500


def test_a_stop_signal_inside_a_flush_of_stdout_sets_stop_and_logs_after_the_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The signal lands while a line is being written (the handler runs right there, in the
    main thread, stdout's lock held): no "reentrant call" error (the Debian 13 run's exit 70
    in the SIGTERM test above), stop is set and the notice follows the whole line."""
    written: list[bytes] = []

    class SignalOnFirstWrite(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            written.append(bytes(b))
            if len(written) == 1:
                os.kill(os.getpid(), signal.SIGTERM)
            return len(written[-1])

    out = io.TextIOWrapper(io.BufferedWriter(SignalOnFirstWrite()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", out)
    stop = threading.Event()
    handler = watch_command._StopOnSignal(stop)
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        watch_command._log("failed: not applied on rtr; retrying in 2s")
    finally:
        signal.signal(signal.SIGTERM, previous)
    handler.join()
    assert stop.is_set()
    assert b"".join(written).decode() == (
        "failed: not applied on rtr; retrying in 2s\nSIGTERM: stopping\n"
    )
