"""The node namespaces: a GoBGP speaker each, configured from the MetalLB manifests
routerctl renders (as MetalLB's native speaker would be), and an HTTP server.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any

from routerctl.errors import LabError
from routerctl.lab import frrspeaker, gobgp
from routerctl.lab.netns import pid_alive, poll, run
from routerctl.lab.spec import SERVICE_PORT, SERVICES
from routerctl.lab.state import RunningLab, write_file
from routerctl.topology import Topology

GOBGP_API = "127.0.0.1:50051"


def render_manifests(topology: Topology, *, with_secret: bool) -> list[dict[str, Any]]:
    # the cluster side, exactly as users apply it
    from routerctl.render.metallb import render_crds  # noqa: PLC0415 (lazy: heavy, optional)

    return render_crds(topology, include_secret=with_secret)


def prepare_node(
    lab: RunningLab, node: str, manifests: list[dict[str, Any]], password: str | None
) -> None:
    spec = lab.spec
    ndir = lab.state_dir / node
    addr = str(spec.node_addr(node))
    config = gobgp.speaker_config(
        manifests,
        node_name=node,
        node_address=addr,
        service_ips=[str(a) for _, _, a in SERVICES],
        password=password,
    )
    write_file(ndir / "gobgpd.toml", gobgp.render_toml(config, listen=addr), mode=0o600)
    write_file(
        ndir / "announce.json", json.dumps([gobgp.rib_add_args(a) for a in config.announcements])
    )
    # the same speaker config as MetalLB's FRR mode renders it, for an FRR node
    frr_conf = frrspeaker.render_frr_conf(config, hostname=node, node_address=addr)
    cdir = frrspeaker.conf_dir(lab.state_dir, node)
    write_file(cdir / frrspeaker.CONF_NAME, frr_conf, mode=0o600)
    write_file(ndir / "www/index.html", f"{node}\n")


def start_gobgpd(lab: RunningLab, node: str) -> int:
    ndir = lab.state_dir / node
    log = open(ndir / "gobgpd.log", "ab")  # noqa: SIM115 (handed to the child)
    cmd = [
        *lab.netns_cmd(node),
        "gobgpd", "-f", str(ndir / "gobgpd.toml"), "-t", "toml", "-p", "-l", "info",
        f"--api-hosts={GOBGP_API}", "--pprof-disable",
    ]  # fmt: skip
    with log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    return proc.pid


def start_speaker(lab: RunningLab, node: str) -> int:
    """Start the node's speaker (GoBGP or FRR, per the lab's ``--speaker``); its PID."""
    if lab.spec.node_speaker(node) == "frr":
        cdir = frrspeaker.conf_dir(lab.state_dir, node)
        for stale in ("bgpd.pid", "bgpd.vty"):
            (cdir / stale).unlink(missing_ok=True)
        return frrspeaker.start_bgpd(
            lab.netns_cmd(node), cdir, address=str(lab.spec.node_addr(node))
        )
    return start_gobgpd(lab, node)


def start_httpd(lab: RunningLab, node: str) -> int:
    ndir = lab.state_dir / node
    cmd = [*lab.netns_cmd(node), "busybox", "httpd", "-f", "-p", str(SERVICE_PORT)]
    cmd += ["-h", str(ndir / "www")]
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return proc.pid


def announce(lab: RunningLab, nodes: Sequence[str]) -> None:
    """Add each node's announcements once its gobgpd API answers."""
    host, port = GOBGP_API.split(":")
    for n in nodes:
        if lab.spec.node_speaker(n) != "gobgp":
            continue  # FRR announces from its config (network lines)
        ndir = lab.state_dir / n
        base = [*lab.netns_cmd(n), "gobgp", "-u", host, "-p", port]
        pid = lab.state.speakers[n]

        def api_up(base: list[str] = base, pid: int = pid, node: str = n) -> bool:
            if not pid_alive(pid):
                log = (lab.state_dir / node / "gobgpd.log").read_text(errors="replace")
                tail = log.strip().splitlines()[-1:] or ["no output"]
                raise LabError(f"gobgpd on {node} exited: {tail[0]}")
            return run([*base, "global"], check=False, timeout=5).returncode == 0

        poll(api_up, timeout=10, interval=0.05, what=f"gobgpd's API on {n}")
        for args in json.loads((ndir / "announce.json").read_text()):
            run([*base, "global", "rib", *args])
