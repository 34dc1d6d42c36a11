"""Item 14: a node add end to end: the cluster changes -> the router's route for a service
IP has the new node as a next hop in its FIB (issue 14's done-when).

One lab per speaker kind (``bnjoing``: GoBGP, MetalLB's native speaker; ``bnjoinf``: FRR as
MetalLB's FRR mode renders it), 3 nodes, each speaker running from the start. The cluster
is the lab's stand-in for the Kubernetes API server (``routerctl.lab.kubeapi``, read by the
real kubectl); it lists node1 and node2, the router peers with those two. Each round, node3
appears in the cluster, and the clock runs until ``203.0.113.30/32`` has node3's address
as an installed next hop; then node3 leaves again (timed the same way, to the next hop
gone). Three paths, one after the other on the same lab:

- provision: the node appears, ``routerctl provision --yes`` (the CLI, nodes from kubectl)
  runs at once;
- watch: ``routerctl watch`` (its defaults: ``--quiet 10``) is running; nothing else;
- dynamic neighbors: the router has ``bgp listen range`` over the LAN (one provision before
  the rounds); ``lab node add`` brings up a new node (its namespace, speaker, HTTP server)
  and nothing else runs: no provision, no cluster read. Then ``lab node remove``.

Before each provision and watch round node3's speaker is restarted and waited for until it
is ready for the router's dial (Active/Connect), as a new node's speaker is: one the
router has just sent a Cease (the round before) idles for a while first.

The route is polled from the host (nsenter + vtysh, not SSH) every 50 ms.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import yaml

from bench.harness import BenchError, Context, lab_up, routerctl_argv
from bench.stats import Sample
from routerctl.lab import Lab, LabSpec, kubeapi
from routerctl.lab.nodes import GOBGP_API
from routerctl.lab.spec import LAN, SERVICES

SERVICE = f"{SERVICES[0][2]}/32"
SPEAKERS = (("gobgp", "bnjoing", "GoBGP"), ("frr", "bnjoinf", "FRR"))
POLL = 0.05
TIMEOUT = 120.0


def fib_nexthops(route_json: str, prefix: str) -> frozenset[str]:
    """The installed next hops of the selected route for ``prefix`` in FRR's ``show ip
    route PREFIX json`` (empty when there is no such route)."""
    data = json.loads(route_json or "{}")
    return frozenset(
        nh["ip"]
        for r in data.get(prefix, [])
        if r.get("selected")
        for nh in r.get("nexthops", [])
        if nh.get("fib") and "ip" in nh
    )


def speaker_state(lab: Lab, node: str, peer: str) -> str:
    """The node's speaker's BGP state towards ``peer`` (the router), lower case: ``idle``,
    ``connect``, ``active``, ... (GoBGP's table abbreviates: ``establ``)."""
    if lab.speaker_kind(node) == "frr":
        out = lab.node_vtysh(node, f"show bgp neighbors {peer} json")
        return str(json.loads(out or "{}").get(peer, {}).get("bgpState", "?")).lower()
    host, port = GOBGP_API.split(":")
    argv = [*lab.netns_cmd(node), "gobgp", "-u", host, "-p", port, "neighbor"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False).stdout
    return gobgp_state(out, peer)


def gobgp_state(table: str, peer: str) -> str:
    """``peer``'s State column in ``gobgp neighbor``'s table, lower case ("?": not listed)."""
    for line in table.splitlines():
        words = line.split()
        if words[:1] == [peer] and len(words) > 3:
            return words[3].lower()
    return "?"


def fresh_speaker(lab: Lab, node: str, peer: str) -> None:
    """Restart the node's speaker and wait until it is ready for the router's dial (Active
    or Connect): every round starts like a new node's speaker, not one just sent a Cease
    by the router (GoBGP then idles before it accepts again; the round would time that)."""
    lab.stop_speaker(node)
    lab.start_speaker(node)
    deadline = time.monotonic() + TIMEOUT
    while (state := speaker_state(lab, node, peer)) not in ("active", "connect"):
        if time.monotonic() > deadline:
            raise BenchError(f"item 14: {node}'s speaker stayed {state!r} towards {peer}")
        time.sleep(0.2)  # the polling interval, bounded by the deadline


def wait_nexthops(
    lab: Lab, cond: Callable[[frozenset[str]], bool], *, what: str, timeout: float = TIMEOUT
) -> float:
    """Poll the router's FIB route for the service until ``cond``; the monotonic time."""
    deadline = time.monotonic() + timeout
    seen: frozenset[str] = frozenset()
    while time.monotonic() < deadline:
        seen = fib_nexthops(lab.vtysh(f"show ip route {SERVICE} json", check=False), SERVICE)
        if cond(seen):
            return time.monotonic()
        time.sleep(POLL)  # the polling interval, bounded by the deadline
    raise BenchError(f"item 14: {what} not seen within {timeout:.0f}s (next hops {sorted(seen)})")


class LineLog:
    """Reads a child's stdout in a thread, each line with the monotonic time it arrived."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()

    def wait(self, needle: str, *, after: float, timeout: float = TIMEOUT) -> float:
        """The time of the first line containing ``needle`` that arrived after ``after``."""

        def found() -> float | None:
            return next((t for t, ln in self.lines if t >= after and needle in ln), None)

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None, timeout=timeout):
                tail = [ln for _, ln in self.lines[-3:]]
                raise BenchError(f"item 14: watch never logged {needle!r} (last: {tail})")
            at = found()
        assert at is not None
        return at

    def join(self) -> None:
        self._thread.join(timeout=10)


def cli(env: dict[str, str], *args: str) -> None:
    proc = subprocess.run(
        [*routerctl_argv(), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip() or "no output").splitlines()[-1]
        raise BenchError(f"item 14: routerctl {args[0]} exited {proc.returncode}: {last[:160]}")


@contextmanager
def watching(env: dict[str, str], topo: Path) -> Iterator[LineLog]:
    proc = subprocess.Popen(
        [*routerctl_argv(), "watch", "-t", str(topo)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    log = LineLog(proc.stdout)
    try:
        yield log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.join()


def _topology(lab: Lab, path: Path, *, dynamic: bool) -> Path:
    doc: dict[str, Any] = yaml.safe_load(lab.topology_file.read_text(encoding="utf-8"))
    if dynamic:
        doc["routers"][0]["dynamic_neighbors"] = {"listen_range": str(LAN)}
    else:
        doc["cluster"]["nodes"] = {"from": "kubectl"}
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def one_speaker(ctx: Context, speaker: str, lab_name: str, label: str) -> None:
    n = ctx.opts.runs
    with (
        tempfile.TemporaryDirectory(prefix="bench-join-") as tmp,
        lab_up(ctx, LabSpec(name=lab_name, nodes=3, speaker=speaker)) as lab,
    ):
        spec = lab.spec
        node1, node2, joiner = spec.node_names()
        addr = {x: str(spec.node_addr(x)) for x in (node1, node2, joiner)}
        base = frozenset((addr[node1], addr[node2]))
        peer = str(spec.router_addr("rtr"))
        api = kubeapi.KubeAPI()
        api.put(kubeapi.node(node1, addr[node1]), kubeapi.node(node2, addr[node2]))
        api.start()
        try:
            env = {
                **os.environ,
                "KUBECONFIG": str(api.kubeconfig(Path(tmp) / "kubeconfig")),
                "HOME": tmp,  # kubectl's discovery cache
            }
            static = _topology(lab, Path(tmp) / "static.yaml", dynamic=False)
            cli(env, "provision", "-t", str(static), "--yes")
            wait_nexthops(lab, lambda h: h == base, what="2-node ECMP")

            # provision: the node appears, provision runs at once
            add: list[float] = []
            leave: list[float] = []
            ctx.log(f"item 14 ({label}): node add -> route, one provision ({n} rounds)")
            for _ in range(n):
                fresh_speaker(lab, joiner, peer)
                t0 = time.monotonic()
                api.put(kubeapi.node(joiner, addr[joiner]))
                cli(env, "provision", "-t", str(static), "--yes")
                t1 = wait_nexthops(lab, lambda h: addr[joiner] in h, what="the new next hop")
                add.append(t1 - t0)
                t0 = time.monotonic()
                api.delete("Node", joiner)
                cli(env, "provision", "-t", str(static), "--yes")
                leave.append(wait_nexthops(lab, lambda h: h == base, what="next hop gone") - t0)
            ctx.row("14", f"{label}: node add -> route, provision at once", "s", Sample.of(add))
            ctx.row("14", f"{label}: node leaves -> next hop gone, provision", "s",
                    Sample.of(leave))  # fmt: skip

            # watch: running; the node appears, nothing else
            add, leave, seen, applied = [], [], [], []
            ctx.log(f"item 14 ({label}): node add -> route with watch running ({n} rounds)")
            with watching(env, static) as log:
                log.wait("2 nodes speak", after=0.0)
                for _ in range(n):
                    fresh_speaker(lab, joiner, peer)
                    t0 = time.monotonic()
                    api.put(kubeapi.node(joiner, addr[joiner]))
                    t_join = log.wait(f"node {joiner} ({addr[joiner]}) joins", after=t0)
                    t_apply = log.wait("applied", after=t_join)
                    t1 = wait_nexthops(lab, lambda h: addr[joiner] in h, what="the new next hop")
                    add.append(t1 - t0)
                    seen.append(t_join - t0)
                    applied.append(t_apply - t_join)
                    t0 = time.monotonic()
                    api.delete("Node", joiner)
                    leave.append(wait_nexthops(lab, lambda h: h == base, what="next hop gone") - t0)
                    log.wait("applied", after=t0)  # the removal is done before the next round
            ctx.row("14", f"{label}: node add -> route, watch running", "s", Sample.of(add),
                    note="watch's defaults (--quiet 10)")  # fmt: skip
            ctx.row("14", "  of which: change -> watch reads it (debounce)", "s", Sample.of(seen))
            ctx.row("14", "  of which: read -> applied (provision)", "s", Sample.of(applied))
            ctx.row("14", f"{label}: node leaves -> next hop gone, watch", "s", Sample.of(leave))

            # dynamic neighbors: lab node add, no provision
            dynamic = _topology(lab, Path(tmp) / "dynamic.yaml", dynamic=True)
            cli(env, "provision", "-t", str(dynamic), "--yes")
            everyone = frozenset(addr.values())
            wait_nexthops(lab, lambda h: h == everyone, what="3-node ECMP (dynamic)")
            add, command, leave = [], [], []
            ctx.log(f"item 14 ({label}): lab node add -> route, dynamic neighbors ({n} rounds)")
            for i in range(n):
                name = f"joiner{i + 1}"
                t0 = time.monotonic()
                new = lab.add_node(name)
                command.append(time.monotonic() - t0)
                t1 = wait_nexthops(lab, lambda h, a=new: a in h, what="the new next hop")
                add.append(t1 - t0)
                t0 = time.monotonic()
                lab.remove_node(name)
                gone = wait_nexthops(
                    lab, lambda h: h == everyone, what="next hop gone", timeout=240
                )
                leave.append(gone - t0)
            ctx.row("14", f"{label}: lab node add -> route, dynamic neighbors", "s",
                    Sample.of(add), note="no provision")  # fmt: skip
            ctx.row("14", "  of which: lab node add itself", "s", Sample.of(command))
            ctx.row("14", f"{label}: lab node remove -> next hop gone", "s", Sample.of(leave),
                    note="the speaker exits: its session closes")  # fmt: skip
        finally:
            api.stop()


def item_14(ctx: Context) -> None:
    if shutil.which("kubectl") is None:
        raise BenchError("item 14: kubectl is missing (scripts/setup installs it)")
    for speaker, lab_name, label in SPEAKERS:
        one_speaker(ctx, speaker, lab_name, label)
