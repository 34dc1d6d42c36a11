"""Items 1 and 2: verify vs the floor (one OpenSSH ``ssh rtr "vtysh -c ... -c ..."`` of the
same commands); connections/execs per verify and per no-op provision.
"""

from __future__ import annotations

import statistics
import sys
import time

from bench.harness import (
    BenchError,
    Context,
    VerifyRun,
    floor_argv,
    interleave,
    msec,
    provision_router,
    require_green,
    routerctl_argv,
    script_argv,
    timed_run,
    verify_once,
)
from bench.stats import Goal, Sample, ratios
from routerctl.cluster import from_topology
from routerctl.lab import Lab
from routerctl.ops import gather as routerstate
from routerctl.topology import Router, Topology
from routerctl.transport import connect


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
