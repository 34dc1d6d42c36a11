"""Items 1 and 2: verify vs the floor (one OpenSSH ``ssh rtr "vtysh -c ... -c ..."`` of the
same commands), with both transports (paramiko; OpenSSH first and warm through its
ControlMaster); connections/execs per verify and per no-op provision; the issue 17 goals.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench.harness import (
    BenchError,
    Context,
    VerifyRun,
    floor_argv,
    interleave,
    msec,
    provision_timed,
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
from routerctl.ops import preflight as pf
from routerctl.ops.provision import gather_script
from routerctl.topology import Router, Topology
from routerctl.transport import connect
from routerctl.transport.openssh import OpenSshTransport


def item_1_2(ctx: Context, lab: Lab, topo: Topology, router: Router) -> None:
    n = ctx.opts.runs
    ctx.log(f"items 1+2: verify vs the floor, no-op provision ({n} rounds)")
    floor_cmd = floor_argv(lab, topo, router)
    cli_args = ["verify", "-t", str(lab.topology_file), "--no-state", "-o", "json"]
    cli_cmd = [*routerctl_argv(), *cli_args]
    imp_cmd = [sys.executable, "-c", "import routerctl.cli"]
    # every module a real `routerctl verify` process loads, imported without the verify:
    # what the CLI pays before its first byte to the router
    imp_all_cmd = [sys.executable, "-c", import_all_script(verify_modules(cli_args))]
    addresses = [s.address for s in from_topology(topo).services]
    vtysh_runs = 1  # `show version` and the show commands in one vtysh (issue 17)
    marker = routerstate.new_marker()
    script = routerstate.build_script(topo, router, marker, addresses=addresses)
    # the same topology through the OpenSSH transport (its control sockets in a private
    # temporary dir, removed at the end; each round ends its master)
    os_topo = replace(
        topo,
        routers=tuple(replace(r, ssh=replace(r.ssh, transport="openssh")) for r in topo.routers),
    )
    os_router = next(r for r in os_topo.routers if r.name == router.name)
    ctl_dir = tempfile.mkdtemp(prefix="rcb", dir="/tmp")
    old_ctl = os.environ.get("ROUTERCTL_SSH_CONTROL_DIR")
    os.environ["ROUTERCTL_SSH_CONTROL_DIR"] = ctl_dir
    os_first: list[float] = []
    os_warm: list[float] = []
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
    imp_all: list[float] = []
    prov: list[tuple[float, list[float], bool]] = []
    prov_read: list[float] = []
    # provision's read under the lock (detection, the pre-flight's facts, running-config)
    read_script = gather_script(marker, pf.lines_for(topo, router))
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

    def one_openssh() -> None:
        first = verify_once(os_topo, router_name=router.name)
        warm = verify_once(os_topo, router_name=router.name)  # through the master
        OpenSshTransport(os_router.ssh).stop()  # the next round's first pays the handshake
        require_green(first, "item 1 (openssh)")
        require_green(warm, "item 1 (openssh, warm)")
        os_first.append(first.seconds)
        os_warm.append(warm.seconds)

    def one_provision() -> None:
        p = provision_timed(topo, router)
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
        lambda: imp_all.append(timed_run(imp_all_cmd, what="python: verify's imports")),
        one_provision,
        lambda: prov_read.append(
            timed_run([*lab.router_cmd(), "sh", "-s"], what="provision's read", stdin=read_script)
        ),
        one_execs,
        one_openssh,
    )
    if old_ctl is None:
        os.environ.pop("ROUTERCTL_SSH_CONTROL_DIR", None)
    else:
        os.environ["ROUTERCTL_SSH_CONTROL_DIR"] = old_ctl
    shutil.rmtree(ctl_dir, ignore_errors=True)
    v_s = [v.seconds for v in inproc]
    if "1" in ctx.opts.only:
        r = ctx.row
        r("1", 'floor: ssh rtr "vtysh -c .. -c .." (same cmds)', "ms", msec(floor))
        r("1", "  floor: ssh rtr true (OpenSSH connect+exec)", "ms", msec(ssh_only))
        r("1", "verify in-process (connect+gather+checks)", "ms", msec(v_s))
        r("1", "verify in-process / floor", "x", ratios(v_s, floor), Goal("<=", 1.2))
        connects = [v.connect_seconds for v in inproc]
        r("1", "  verify: paramiko connect (ProxyCommand)", "ms", msec(connects))
        r(
            "1",
            "  paramiko connect / OpenSSH connect+exec true",
            "x",
            ratios(connects, ssh_only),
            Goal("<=", 1.0),
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
            note=f"{vtysh_runs} vtysh start, as the floor; whole script on stdin",
        )
        r("1", "  in the router, no SSH: the gather script", "ms", msec(local_script))
        r("1", "  in the router, no SSH: the floor's one vtysh", "ms", msec(local_vtysh))
        r(
            "1",
            "  in the router: gather script / floor's vtysh",
            "x",
            ratios(local_script, local_vtysh),
            Goal("<=", 1.1),
        )
        r("1", "verify, openssh transport, first", "ms", msec(os_first), note="handshake")
        r("1", "verify, openssh transport, first / floor", "x", ratios(os_first, floor))
        r("1", "verify, openssh transport, warm", "ms", msec(os_warm), note="ControlMaster")
        r("1", "verify, openssh transport, warm / floor", "x", ratios(os_warm, floor))
        r("1", "`routerctl verify` CLI (process)", "ms", msec(cli))
        r("1", "`routerctl verify` CLI / floor", "x", ratios(cli, floor), Goal("<=", 2.0))
        r(
            "1",
            "  CLI: python start + import routerctl.cli",
            "ms",
            msec(imp),
            note="no router involved",
        )
        r(
            "1",
            "  CLI: python start + every module a verify process loads",
            "ms",
            msec(imp_all),
            note=f"{len(verify_modules(cli_args))} modules, no router involved",
        )
        r(
            "1",
            "  CLI: those imports / floor",
            "x",
            ratios(imp_all, floor),
            note="before its first byte to the router; above the goal: out of reach "
            "for one Python process with typer and paramiko",
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
        if any(len(p[1]) != 1 for p in prov):
            raise BenchError("item 2: a no-op provision made more than one exec")
        ctx.row(
            "2",
            "no-op provision: SSH connections",
            "n",
            Sample.of([1.0] * len(prov)),
            note="one connect() per provision",
        )
        ctx.row("2", "no-op provision: exec channels", "n", Sample.of([len(p[1]) for p in prov]))
        ctx.row("2", "no-op provision", "ms", msec([p[0] for p in prov]))
        ctx.row(
            "2",
            "  exec 1: read without the lock (guards, detect, pre-flight, config)",
            "ms",
            msec([p[1][0] for p in prov]),
            note=f"{len(read_script)}-byte read script",
        )
        ctx.row("2", "  in the router, no SSH: provision's read script", "ms", msec(prov_read))
        ctx.row("2", "  in the router, no SSH: verify's gather script", "ms", msec(local_script))
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
            "  exec 2nd-4th / 1st",
            "x",
            ratios(
                [statistics.median(exec_later[i * 3 : i * 3 + 3]) for i in range(len(exec_first))],
                exec_first,
            ),
            Goal("<=", 1.1),
            note="equal: no delayed-ACK step",
        )
        ctx.row(
            "2",
            "no-op provision / verify",
            "x",
            ratios([p[0] for p in prov], v_s),
            Goal("<=", 1.2),
            note=f"{statistics.median(len(p[1]) for p in prov):.0f} execs vs verify's 1",
        )


_MODULES: dict[tuple[str, ...], list[str]] = {}


def verify_modules(args: list[str]) -> list[str]:
    """The modules a real ``routerctl verify ARGS`` process has loaded when it exits
    (recorded once per argument list: the verify runs against the lab)."""
    key = tuple(args)
    if key not in _MODULES:
        with tempfile.TemporaryDirectory(prefix="rcbmods") as d:
            out = Path(d) / "modules"
            code = (
                "import atexit, sys\n"
                f"atexit.register(lambda: open({str(out)!r}, 'w').write("
                "'\\n'.join(sorted(sys.modules))))\n"
                f"sys.argv = {['routerctl', *args]!r}\n"
                "from routerctl.cli import run\n"
                "run()\n"
            )
            subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
            if not out.exists():
                raise BenchError("item 1: could not record the modules of a verify process")
            _MODULES[key] = out.read_text().split()
    return _MODULES[key]


def import_all_script(modules: list[str]) -> str:
    """A ``python -c`` script importing ``modules`` (those not importable alone skipped)."""
    return (
        "import importlib\n"
        f"for m in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(m)\n"
        "    except Exception:\n"
        "        pass\n"
    )
