"""CLI commands: ``routerctl lab ...`` -- the seed's network from real parts (root needed)."""

from __future__ import annotations

import enum
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from routerctl.cli_common import OutputFormat, OutputOption, Suite, print_json
from routerctl.errors import LabError

# The lab is imported where a subcommand runs, so `import routerctl.cli` loads none of it.
if TYPE_CHECKING:
    from routerctl.lab import Lab

lab_app = typer.Typer(
    help="The lab: an OpenWrt-like router (FRR, Dropbear), MetalLB-like nodes (GoBGP), "
    "a client, in network namespaces. Needs root.",
    no_args_is_help=True,
)

NameOption = Annotated[
    str, typer.Option("--name", "-n", help="Lab name (prefixes its namespaces and state folder).")
]
LabRouterOption = Annotated[
    str | None, typer.Option("--router", "-r", help="Router (rtr, or rtr1.. with --routers N).")
]


DEFAULT_SUITE = Suite("frr")


class Pkg(str, enum.Enum):
    opkg = "opkg"
    apk = "apk"


class LinkAction(str, enum.Enum):
    down = "down"
    up = "up"


class SpeakerKind(str, enum.Enum):
    gobgp = "gobgp"
    frr = "frr"
    mixed = "mixed"


class SpeakerAction(str, enum.Enum):
    stop = "stop"
    start = "start"


def _attach(name: str) -> Lab:
    """The running lab called ``name``, after checking root and the lab's binaries."""
    from routerctl.lab import Lab, check_environment  # noqa: PLC0415 (lazy, see above)

    check_environment()
    return Lab.attach(name)


def _progress(text: str) -> None:
    typer.echo(f"  {text}", err=True)


@lab_app.command("up")
def up_cmd(  # noqa: PLR0917 (typer options)
    name: NameOption = "lab",
    nodes: Annotated[int, typer.Option("--nodes", help="Number of cluster nodes.")] = 2,
    routers: Annotated[int, typer.Option("--routers", help="Number of routers on the LAN.")] = 1,
    suite: Annotated[
        Suite,
        typer.Option(
            "--suite",
            help="frr: apt's FRR as OpenWrt packages it (the default, fastest lab); "
            "quagga: the OpenWrt 21.02 router (real Quagga 1.2.4, as --openwrt 21.02).",
        ),
    ] = DEFAULT_SUITE,
    no_suite: Annotated[
        bool, typer.Option("--no-suite", help="The suite is not installed yet (provision it).")
    ] = False,
    pkg: Annotated[
        Pkg,
        typer.Option(
            "--pkg", help="Package manager of the default lab: opkg (23.05) or apk (25.12)."
        ),
    ] = Pkg.opkg,
    overlay_free: Annotated[
        int | None,
        typer.Option(
            "--overlay-free",
            help="Free space on /overlay in KB (default 98304; small: install fails).",
        ),
    ] = None,
    password: Annotated[
        bool,
        typer.Option(
            "--password",
            help="Use a BGP password: $ROUTERCTL_BGP_PASSWORD if set, else a generated one.",
        ),
    ] = False,
    configure: Annotated[
        bool, typer.Option("--configure", help="Configure the router by hand as in the seed.")
    ] = False,
    wait: Annotated[
        float,
        typer.Option("--wait", help="With --configure: wait up to SECONDS for Established."),
    ] = 0.0,
    openwrt: Annotated[
        str | None,
        typer.Option(
            "--openwrt",
            help="An OpenWrt release (21.02, 23.05, 24.10, 25.12): its real suite, opkg/apk, "
            "uci and crond, the suite from a feed the lab serves (overrides --suite, --pkg).",
        ),
    ] = None,
    speaker: Annotated[
        SpeakerKind,
        typer.Option(
            "--speaker",
            help="What the nodes run: gobgp (like MetalLB's native speaker), frr (FRR "
            "configured as MetalLB's FRR mode renders it), or mixed (alternating).",
        ),
    ] = SpeakerKind.gobgp,
    firewall: Annotated[
        str | None,
        typer.Option(
            "--firewall",
            help="With --openwrt: 'reject' puts the nodes behind a wan zone that rejects "
            "input (uci firewall config, fw4's ruleset in nftables).",
        ),
    ] = None,
    quagga_multipath: Annotated[
        int | None,
        typer.Option(
            "--quagga-multipath",
            help="With --openwrt 21.02: 1 installs Quagga built with --enable-multipath=1 "
            "(upstream's default) instead of OpenWrt's 8.",
        ),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Build the lab (cleaning leftovers of a lab with the same name first)."""
    from routerctl.lab import LabSpec, up  # noqa: PLC0415 (lazy, see above)
    from routerctl.lab.spec import CLIENT_ADDR, DEFAULT_OVERLAY_KB  # noqa: PLC0415

    spec = LabSpec(
        name=name,
        nodes=nodes,
        routers=routers,
        suite=suite.value,
        installed=not no_suite,
        pkg=pkg.value,
        overlay_free_kb=DEFAULT_OVERLAY_KB if overlay_free is None else overlay_free,
        password=password,
        configure=configure,
        openwrt=openwrt,
        speaker=speaker.value,
        firewall=firewall,
        quagga_multipath=quagga_multipath,
    )
    t0 = time.monotonic()
    lab = up(spec, progress=None if output is OutputFormat.json else _progress)
    elapsed = time.monotonic() - t0
    if configure and wait > 0:
        for r in spec.router_names():
            lab.wait_established(router=r, timeout=wait)
    if output is OutputFormat.json:
        print_json({"up_seconds": round(elapsed, 2), **lab.status()})
        return
    layout = f"{spec.suite} {'installed' if not no_suite else 'not installed'}, {spec.pkg}"
    layout = f"OpenWrt {spec.release}: {layout}"
    if spec.openwrt is None:
        layout += " (apt's FRR in OpenWrt's packages)"
    typer.echo(f"lab {name} up in {elapsed:.2f} s")
    for r in spec.router_names():
        typer.echo(f"  router {r:<6} {spec.router_addr(r)}  ({layout}; ns {spec.netns(r)})")
    for n in spec.node_names():
        kind = "FRR" if spec.node_speaker(n) == "frr" else "GoBGP"
        typer.echo(f"  node   {n:<6} {spec.node_addr(n)}  ({kind} AS 65001, http :8080)")
    typer.echo(f"  client        {CLIENT_ADDR}  (ns {spec.netns('client')})")
    typer.echo(f"topology: {spec.topology_file}")
    typer.echo(f"ssh:      ssh -F {spec.ssh_config} {spec.router_names()[0]}")
    if configure and wait > 0:
        typer.echo("sessions: Established")


@lab_app.command("down")
def down_cmd(name: NameOption = "lab") -> None:
    """Remove every namespace, mount and process of the lab (idempotent)."""
    from routerctl.lab import down  # noqa: PLC0415 (lazy, see above)

    removed = down(name)
    typer.echo(
        f"lab {name} down: {removed['processes']} processes, "
        f"{removed['namespaces']} namespaces removed"
    )


def _status_table(status: dict[str, Any]) -> None:
    typer.echo(f"lab {status['name']} ({status['state_dir']})")
    for ns, present in status["namespaces"].items():
        typer.echo(f"  netns {ns:<18} {'present' if present else 'MISSING'}")
    for r, info in status["routers"].items():
        daemons = " ".join(f"{d}:{'up' if ok else 'down'}" for d, ok in info["daemons"].items())
        typer.echo(f"  router {r:<6} {info['address']:<14} {daemons}")
        for addr, state in info["sessions"].items():
            typer.echo(f"    neighbor {addr:<14} {state}")
    for n, info in status["nodes"].items():
        typer.echo(
            f"  node {n:<8} {info['address']:<14} link:{info['link']} "
            f"speaker:{'up' if info['speaker'] else 'down'} http:{'up' if info['http'] else 'down'}"
        )


@lab_app.command("status")
def status_cmd(name: NameOption = "lab", output: OutputOption = OutputFormat.table) -> None:
    """Namespaces, daemons and BGP sessions of a running lab."""
    status = _attach(name).status()
    if output is OutputFormat.json:
        print_json(status)
    else:
        _status_table(status)


@lab_app.command("list")
def list_cmd(output: OutputOption = OutputFormat.table) -> None:
    """Labs on this machine (their state folders under /run/routerctl-lab)."""
    from routerctl.lab import check_environment, list_labs  # noqa: PLC0415 (lazy, see above)

    check_environment()
    labs = list_labs()
    if output is OutputFormat.json:
        print_json(labs)
        return
    if not labs:
        typer.echo("no labs")
    for entry in labs:
        owner = f"owner pid {entry['owner_pid']}" if entry["owner_alive"] else "no live owner"
        typer.echo(
            f"{entry['name']:<12} routers {entry['routers']} nodes {entry['nodes']} "
            f"({'running' if entry['running'] else 'DOWN'}, {owner})"
        )


@lab_app.command("topology")
def topology_cmd(name: NameOption = "lab") -> None:
    """Print the lab's topology file (routerctl.yaml pointing at the lab)."""
    lab = _attach(name)
    typer.echo(lab.topology_file.read_text(encoding="utf-8"), nl=False)


@lab_app.command("ssh", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ssh_cmd(ctx: typer.Context, name: NameOption = "lab", router: LabRouterOption = None) -> None:
    """SSH to the router (OpenSSH with the lab's ssh_config); extra args are the command."""
    lab = _attach(name)
    target = router or lab.spec.router_names()[0]
    if target not in lab.spec.router_names():
        raise LabError(f"no router {target!r} in lab {name}")
    try:
        rc = subprocess.call(["ssh", "-F", str(lab.ssh_config), target, *ctx.args])
    except FileNotFoundError as exc:
        raise LabError("ssh not found", hint="apt-get install openssh-client") from exc
    raise typer.Exit(rc)


@lab_app.command("vtysh")
def vtysh_cmd(
    commands: Annotated[list[str], typer.Option("--command", "-c", help="vtysh command.")],
    name: NameOption = "lab",
    router: LabRouterOption = None,
) -> None:
    """Run vtysh commands on the router (directly in its namespace)."""
    lab = _attach(name)
    args: list[str] = []
    for c in commands:
        args += ["-c", c]
    proc = subprocess.run(
        [*lab.router_cmd(router=router), "vtysh", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    raise typer.Exit(proc.returncode)


@lab_app.command("configure")
def configure_cmd(
    name: NameOption = "lab",
    router: LabRouterOption = None,
    wait: Annotated[float, typer.Option("--wait", help="Wait up to SECONDS for Established.")] = 0,
) -> None:
    """Configure the router by hand as in the seed (neighbors, descriptions; write memory)."""
    lab = _attach(name)
    lab.configure_seed(router=router)
    typer.echo(f"router {router or lab.spec.router_names()[0]} configured as in the seed")
    if wait > 0:
        lab.wait_established(router=router, timeout=wait)
        typer.echo("sessions: Established")


@lab_app.command("node")
def node_cmd(
    first: Annotated[
        str, typer.Argument(metavar="NODE|add|remove", help="A node name, or add / remove.")
    ],
    second: Annotated[
        str, typer.Argument(metavar="up|down|NAME", help="up / down (link), or the node's name.")
    ],
    name: NameOption = "lab",
) -> None:
    """`lab node NODE down|up`: cut or restore a node's link (fault injection);
    `lab node add NAME` / `lab node remove NAME`: a node joins or leaves the running lab."""
    from routerctl.errors import UsageError  # noqa: PLC0415

    if first in ("add", "remove"):
        lab = _attach(name)
        if first == "add":
            address = lab.add_node(second)
            kind = "FRR" if lab.speaker_kind(second) == "frr" else "GoBGP"
            typer.echo(f"node {second}: added at {address} ({kind}, ns {lab.spec.netns(second)})")
        else:
            lab.remove_node(second)
            typer.echo(f"node {second}: removed")
        return
    if second not in ("up", "down"):
        raise UsageError(
            f"unknown node action {second!r}",
            hint="use: lab node NODE up|down, lab node add NAME, lab node remove NAME",
        )
    _attach(name).node_link(first, up=second == LinkAction.up.value)
    typer.echo(f"node {first}: link {second}")


@lab_app.command("speaker")
def speaker_cmd(
    node: Annotated[str, typer.Argument(help="Node name (node1, node2, ...).")],
    action: Annotated[SpeakerAction, typer.Argument(help="stop or start its GoBGP speaker.")],
    name: NameOption = "lab",
) -> None:
    """Stop or start a node's BGP speaker (fault injection)."""
    lab = _attach(name)
    if action is SpeakerAction.stop:
        lab.stop_speaker(node)
    else:
        lab.start_speaker(node)
    done = "stopped" if action is SpeakerAction.stop else "started"
    typer.echo(f"node {node}: speaker {done}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(lab_app, name="lab")
