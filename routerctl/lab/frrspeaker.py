"""A lab node's FRR speaker, configured the way MetalLB's FRR mode renders its config.

``render_frr_conf`` is pure: the same ``SpeakerConfig`` the GoBGP speaker gets (derived
from the rendered MetalLB manifests by ``gobgp.speaker_config``) becomes an FRR config in
the shape of MetalLB's own goldens (``internal/bgp/frr/testdata``): no default
ipv4-unicast, ``activate`` per family, per-peer ``-in``/``-out`` route-maps with
``-allowed-ipv4``/``-allowed-ipv6`` prefix-lists, local-preference and community
entries with ``on-match next``, one ``network`` line per announced prefix.

The speaker is Debian's ``bgpd`` alone (``-Z``: no zebra; the node needs no routes from
the router, and ``no bgp network import-check`` announces the service /32s without a
RIB), with its own config, pid and vty socket under the node's state folder.
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from routerctl.errors import LabError
from routerctl.lab.gobgp import Announcement, Neighbor, SpeakerConfig
from routerctl.lab.netns import pid_alive, poll, run

BGPD = Path("/usr/lib/frr/bgpd")
CONF_NAME = "speaker.conf"  # the node's own file (not the router's suite layout)
VTYSH = "vtysh"
# MetalLB's FRR mode renders ``timers connect`` only from a BGPPeer's connectTime; FRR's
# own default is 120 s, so a node that dials before the router listens would wait two
# minutes. The lab uses 5 s, as its GoBGP speakers do.
LAB_CONNECT_RETRY = 5


def _family(prefix: str) -> int:
    return ipaddress.ip_network(prefix, strict=False).version


def _peer_policy(n: Neighbor, announcements: tuple[Announcement, ...]) -> list[str]:
    """The route-maps and prefix-lists of one peer, in the goldens' order."""
    peer = n.address
    out = [f"route-map {peer}-in deny 20"]
    seq = 0
    kw = {4: "ip", 6: "ipv6"}
    # local preference (iBGP only, as MetalLB), then communities: one entry per value
    by_pref: dict[tuple[int, int], list[str]] = {}
    for a in announcements:
        if a.local_pref is not None and n.peer_as == n.local_as:
            by_pref.setdefault((a.local_pref, _family(a.prefix)), []).append(a.prefix)
    for (pref, fam), prefixes in sorted(by_pref.items()):
        seq += 1
        name = f"{peer}-{pref}-{kw[fam]}-localpref-prefixes"
        out += [f"{kw[fam]} prefix-list {name} seq {i} permit {p}" for i, p in
                enumerate(prefixes, 1)]  # fmt: skip
        out += ["", f"route-map {peer}-out permit {seq}"]
        out += [f"  match {kw[fam]} address prefix-list {name}"]
        out += [f"  set local-preference {pref}", "  on-match next", ""]
    by_comm: dict[tuple[str, int], list[str]] = {}
    for a in announcements:
        for c in a.communities:
            by_comm.setdefault((c, _family(a.prefix)), []).append(a.prefix)
    for (comm, fam), prefixes in sorted(by_comm.items()):
        seq += 1
        name = f"{peer}-{comm}-{kw[fam]}-community-prefixes"
        out += [f"{kw[fam]} prefix-list {name} seq {i} permit {p}" for i, p in
                enumerate(prefixes, 1)]  # fmt: skip
        out += ["", f"route-map {peer}-out permit {seq}"]
        out += [f"  match {kw[fam]} address prefix-list {name}"]
        out += [f"  set community {comm} additive", "  on-match next", ""]
    for fam in (4, 6):
        prefixes = [a.prefix for a in announcements if _family(a.prefix) == fam]
        name = f"{peer}-allowed-ipv{fam}"
        out.append("")
        if prefixes:
            out += [f"{kw[fam]} prefix-list {name} seq {i} permit {p}" for i, p in
                    enumerate(prefixes, 1)]  # fmt: skip
        else:
            out.append(f"{kw[fam]} prefix-list {name} seq 1 deny any")
    for fam in (4, 6):
        seq += 1
        out += ["", f"route-map {peer}-out permit {seq}"]
        out.append(f"  match {kw[fam]} address prefix-list {peer}-allowed-ipv{fam}")
    return out


def render_frr_conf(config: SpeakerConfig, *, hostname: str, node_address: str) -> str:
    """The FRR config of one node, shaped like MetalLB's FRR-mode goldens (pure)."""
    lines = [
        "log stdout informational",
        "log timestamp precision 3",
        f"hostname {hostname}",
        "ip nht resolve-via-default",
        "ipv6 nht resolve-via-default",
    ]
    for n in config.neighbors:
        lines += _peer_policy(n, config.announcements)
    lines += [
        "",
        f"router bgp {config.asn}",
        "  no bgp ebgp-requires-policy",
        "  no bgp network import-check",
        "  no bgp default ipv4-unicast",
        "",
        f"  bgp router-id {config.router_id}",
    ]
    for n in config.neighbors:
        a = n.address
        lines.append(f"  neighbor {a} remote-as {n.peer_as}")
        if n.multihop:
            lines.append(f"  neighbor {a} ebgp-multihop")
        lines.append(f"  neighbor {a} port {n.port or 179}")
        if n.hold_time is not None:
            keepalive = n.keepalive if n.keepalive is not None else n.hold_time // 3
            lines.append(f"  neighbor {a} timers {keepalive} {n.hold_time}")
        lines.append(f"  neighbor {a} timers connect {n.connect_retry or LAB_CONNECT_RETRY}")
        if n.password:
            lines.append(f"  neighbor {a} password {n.password}")
        lines.append(f"  neighbor {a} update-source {n.source_address or node_address}")
    lines.append("")
    for n in config.neighbors:
        # MetalLB activates a session for both families when the peer is dual-stack capable;
        # the lab's sessions carry their own address family
        afi = "ipv6" if ipaddress.ip_address(n.address).version == 6 else "ipv4"
        lines += [
            f"  address-family {afi} unicast",
            f"    neighbor {n.address} activate",
            f"    neighbor {n.address} route-map {n.address}-in in",
            f"    neighbor {n.address} route-map {n.address}-out out",
            "  exit-address-family",
        ]
    for fam in (4, 6):
        prefixes = [a.prefix for a in config.announcements if _family(a.prefix) == fam]
        if prefixes and config.neighbors:
            lines.append(f"  address-family ipv{fam} unicast")
            lines += [f"    network {p}" for p in prefixes]
            lines.append("  exit-address-family")
    return "\n".join(lines) + "\n"


# ---- running it -----------------------------------------------------------------------------


def conf_dir(state_dir: Path, node: str) -> Path:
    return state_dir / node / "frr"


def start_bgpd(netns_cmd: list[str], cdir: Path, *, address: str) -> int:
    """Start ``bgpd -Z`` in the node's namespace; returns its PID once its vty answers."""
    if not BGPD.exists():
        raise LabError(f"{BGPD} is missing", hint="install Debian's frr (scripts/setup)")
    log = open(cdir / "bgpd.out", "ab")  # noqa: SIM115 (handed to the child)
    cmd = [
        *netns_cmd, str(BGPD), "-Z", "-S",
        "-f", str(cdir / CONF_NAME), "-i", str(cdir / "bgpd.pid"),
        "--vty_socket", str(cdir), "-P", "0", "-l", address,
        "--log", f"file:{cdir / 'bgpd.log'}",
    ]  # fmt: skip
    with log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )

    def vty_up() -> bool:
        if not pid_alive(proc.pid):
            tail = (cdir / "bgpd.out").read_text(errors="replace").strip().splitlines()[-1:]
            raise LabError(f"bgpd in {cdir} exited: {(tail or ['no output'])[0]}")
        return (cdir / "bgpd.vty").exists()

    poll(vty_up, timeout=10, interval=0.05, what=f"bgpd's vty in {cdir}")
    return proc.pid


def vtysh(netns_cmd: list[str], cdir: Path, *commands: str) -> str:
    """Run vtysh commands against a node's bgpd (its own vty socket)."""
    args: list[str] = []
    for c in commands:
        args += ["-c", c]
    return run([*netns_cmd, VTYSH, "--vty_socket", str(cdir), "-d", "bgpd", *args]).stdout
