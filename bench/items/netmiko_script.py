"""Item 4: a netmiko script doing the same reads through an interactive shell."""

from __future__ import annotations

import shlex
import time

from bench import netmiko_reads
from bench.harness import (
    BenchError,
    Context,
    interleave,
    msec,
    require_green,
    verify_once,
)
from bench.stats import ratios
from routerctl.cluster import from_topology
from routerctl.lab import Lab
from routerctl.ops import gather as routerstate
from routerctl.topology import Router, Topology


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
