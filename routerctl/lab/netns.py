"""Namespaces, veths, mounts and the processes in them: the lab's lowest layer.

Nothing here knows a ``Lab``: these take names, PIDs and a ``LabSpec``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from routerctl.errors import LabError
from routerctl.lab.spec import (
    CLIENT_ADDR,
    CLIENT_NET,
    CLIENT_ROUTER_ADDR,
    FEED_ADDR,
    LAN,
    SERVICES,
    LabSpec,
)


def run(
    cmd: Sequence[str],
    *,
    input: str | None = None,
    check: bool = True,
    timeout: float = 30.0,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            list(cmd),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
        )
    except FileNotFoundError as exc:
        raise LabError(f"{cmd[0]} not found", hint="run scripts/setup as root") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(cmd[:6])} did not finish within {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).strip().splitlines()
        last = err[-1] if err else f"exit {proc.returncode}"
        raise LabError(f"{' '.join(cmd[:6])} failed: {last}")
    return proc


def poll(
    condition: Callable[[], bool], *, timeout: float, interval: float = 0.05, what: str
) -> None:
    """Wait until ``condition()`` is true; LabError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise LabError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def process_token(pid: int) -> str:
    """``pid:start-time``: names one process even after its PID is reused ('' if gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return f"{pid}:{fh.read().rsplit(')', 1)[1].split()[19]}"
    except (OSError, IndexError):
        return ""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie of ours counts as gone
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def kill_pids(pids: Iterable[int], *, timeout: float = 3.0) -> list[int]:
    """SIGTERM, then SIGKILL what is left after ``timeout``; returns the PIDs killed."""
    live = sorted({p for p in pids if p > 1 and p != os.getpid() and pid_alive(p)})
    for pid in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in live):
            break
        time.sleep(0.02)
    for pid in live:
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def gone() -> bool:
        for p in live:
            _reap(p)
        return not any(pid_alive(p) for p in live)

    poll(gone, timeout=5, what="lab processes to exit")
    for pid in live:  # all dead now: reap those that are our children (no zombies left)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
    return live


def netns_list() -> list[str]:
    proc = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def netns_pids(ns: str) -> list[int]:
    proc = run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


# a lab member's name: lan, rtr.., node.., client, feed, or a node added by name
MEMBER_RE = r"(lan|rtr\d*|node\d+|client|feed|[a-z][a-z0-9]{0,11})"


def lab_netns(name: str, existing: Iterable[str] | None = None) -> list[str]:
    """This lab's namespaces that exist (exact pattern, so lab ``a`` never matches ``ab``)."""
    pattern = re.compile(
        rf"{re.escape(name)}-(lan|rtr\d*|node\d+|client|feed|[a-z][a-z0-9]{{0,11}})"
    )
    names = existing if existing is not None else netns_list()
    return [ns for ns in names if pattern.fullmatch(ns)]


def mounts_under(path: Path) -> list[str]:
    prefix = str(path) + "/"
    out = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            target = line.split()[4]
            if target.startswith(prefix) or target == str(path):
                out.append(target)
    return out


def build_network(spec: LabSpec) -> None:
    lan = spec.netns("lan")
    host = [f"netns add {ns}" for ns in spec.all_netns()]
    per_ns: dict[str, list[str]] = {ns: ["link set lo up"] for ns in spec.all_netns()}
    per_ns[lan] += ["link add sw type bridge", "link set sw up"]
    plen = LAN.prefixlen
    for i, r in enumerate(spec.router_names()):
        ns = spec.netns(r)
        host.append(f"link add lan0 netns {ns} type veth peer name {r} netns {lan}")
        per_ns[lan] += [f"link set {r} master sw", f"link set {r} up"]
        per_ns[ns] += [
            "link add br-lan type bridge",
            "link set lan0 master br-lan",
            "link set lan0 up",
            "link set br-lan up",
            f"addr add {spec.router_addr(r)}/{plen} dev br-lan",
        ]
        if i == 0:
            client = spec.netns("client")
            host.append(f"link add cli0 netns {ns} type veth peer name eth0 netns {client}")
            per_ns[ns] += [
                f"addr add {CLIENT_ROUTER_ADDR}/{CLIENT_NET.prefixlen} dev cli0",
                "link set cli0 up",
            ]
            per_ns[client] += [
                f"addr add {CLIENT_ADDR}/{CLIENT_NET.prefixlen} dev eth0",
                "link set eth0 up",
                f"route add default via {CLIENT_ROUTER_ADDR}",
            ]
    first_router = spec.router_addr(spec.router_names()[0])
    for n in spec.node_names():
        ns = spec.netns(n)
        host.append(f"link add eth0 netns {ns} type veth peer name {n} netns {lan}")
        per_ns[lan] += [f"link set {n} master sw", f"link set {n} up"]
        per_ns[ns] += [
            f"addr add {spec.node_addr(n)}/{plen} dev eth0",
            "link set eth0 up",
            f"route add default via {first_router}",
        ]
        per_ns[ns] += [f"addr add {addr}/32 dev lo" for _, _, addr in SERVICES]
    # the feed's HTTP server sits on the LAN, as a mirror would
    feed = spec.netns("feed")
    host.append(f"link add eth0 netns {feed} type veth peer name feed netns {lan}")
    per_ns[lan] += ["link set feed master sw", "link set feed up"]
    per_ns[feed] += [f"addr add {FEED_ADDR}/{plen} dev eth0", "link set eth0 up"]
    run(["ip", "-batch", "-"], input="\n".join(host) + "\n")
    for ns, lines in per_ns.items():
        run(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines) + "\n")
    sysctl = {
        "net.ipv4.conf.all.rp_filter": "0",
        "net.ipv4.conf.default.rp_filter": "0",
    }
    for ns in spec.all_netns():
        values = dict(sysctl)
        if ns in {spec.netns(r) for r in spec.router_names()}:
            values["net.ipv4.ip_forward"] = "1"
            values["net.ipv4.fib_multipath_hash_policy"] = "1"  # L4 hashing: ECMP observable
        run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                *(f"{k}={v}" for k, v in values.items()),
            ]
        )


def add_node_network(spec: LabSpec, node: str) -> None:
    """One more node on a running lab's LAN: namespace, veth to the switch, addresses (the
    same as ``build_network`` gives each node)."""
    ns, lan = spec.netns(node), spec.netns("lan")
    if ns in netns_list():
        raise LabError(f"namespace {ns} exists already", hint=f"lab node remove {node} first")
    first_router = spec.router_addr(spec.router_names()[0])
    run(["ip", "netns", "add", ns])
    try:
        run(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", node,
             "netns", lan])  # fmt: skip
        run(
            ["ip", "-n", lan, "-batch", "-"],
            input=f"link set {node} master sw\nlink set {node} up\n",
        )
        lines = [
            "link set lo up",
            f"addr add {spec.node_addr(node)}/{LAN.prefixlen} dev eth0",
            "link set eth0 up",
            f"route add default via {first_router}",
            *(f"addr add {addr}/32 dev lo" for _, _, addr in SERVICES),
        ]
        run(["ip", "-n", ns, "-batch", "-"], input="\n".join(lines) + "\n")
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0",
             "net.ipv4.conf.default.rp_filter=0"])  # fmt: skip
    except LabError:
        remove_node_network(spec, node)
        raise


def remove_node_network(spec: LabSpec, node: str) -> None:
    """Kill what still runs in the node's namespace and delete it (its veth goes with it)."""
    ns = spec.netns(node)
    if ns not in netns_list():
        return
    kill_pids(netns_pids(ns))
    run(["ip", "netns", "del", ns], check=False)
