"""The lab router's firewall: fw4's shape in nftables, generated from its uci config.

``lab up --openwrt R --firewall reject`` gives a release router OpenWrt's firewall path:
``/etc/config/network`` (the interface facing the nodes is ``wan``, as on a router whose
uplink is the cluster's network), ``/etc/config/firewall`` (OpenWrt's defaults: ``lan``
accepts, ``wan`` rejects input; Allow-DHCP-Renew, Allow-Ping, ...), and an
``/etc/init.d/firewall`` whose start/reload run this file on the router: it reads
``uci show firewall``/``network`` and loads an ``inet fw4`` table with ``nft -f -`` in the
router's network namespace, in the shape of fw4's default ruleset (input chain, one
``input_<zone>`` chain per zone with its rules, ``reject_from_<zone>``, ``handle_reject``).
Only input is filtered (forward rules are not rendered): the lab's client traffic passes.

MetalLB's own BGP speaker only dials out; the lab's GoBGP also listens, which would let
the router's outgoing connection bring a session up through a closed zone. So with a
firewall variant each node refuses inbound tcp/179 (``dial_only``), as MetalLB's does.

This file runs on the router with only the standard library (``python3 -I firewall.py
apply``), so it imports nothing from routerctl.
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

VARIANTS = ("reject",)
SHARE = "usr/share/routerctl-lab/firewall.py"
INIT = """#!/bin/sh
# routerctl lab: OpenWrt's firewall (fw4) stand-in: uci config -> nftables (table inet fw4)
case "$1" in
  boot|start|restart|reload) exec /usr/bin/python3 -I /usr/share/routerctl-lab/firewall.py apply ;;
  stop) nft delete table inet fw4 2>/dev/null; exit 0 ;;
  enabled) exit 0 ;;
  *) echo "usage: $0 start|stop|restart|reload" >&2; exit 1 ;;
esac
"""


def network_config(router_addr: str, prefixlen: int, *, client: bool) -> str:
    """/etc/config/network in uci's own file format (what ``uci commit`` writes)."""
    mask = str(ipaddress.ip_network(f"0.0.0.0/{prefixlen}").netmask)
    out = (
        "\nconfig interface 'loopback'\n\toption device 'lo'\n\toption proto 'static'\n"
        "\toption ipaddr '127.0.0.1'\n\toption netmask '255.0.0.0'\n"
        "\nconfig interface 'wan'\n\toption device 'br-lan'\n\toption proto 'static'\n"
        f"\toption ipaddr '{router_addr}'\n\toption netmask '{mask}'\n"
    )
    if client:
        out += "\nconfig interface 'lan'\n\toption device 'cli0'\n\toption proto 'static'\n"
    return out + "\n"


FIREWALL_CONFIG = """
config defaults
\toption syn_flood '1'
\toption input 'REJECT'
\toption output 'ACCEPT'
\toption forward 'REJECT'

config zone
\toption name 'lan'
\tlist network 'lan'
\toption input 'ACCEPT'
\toption output 'ACCEPT'
\toption forward 'ACCEPT'

config zone
\toption name 'wan'
\tlist network 'wan'
\tlist network 'wan6'
\toption input 'REJECT'
\toption output 'ACCEPT'
\toption forward 'REJECT'
\toption masq '1'
\toption mtu_fix '1'

config forwarding
\toption src 'lan'
\toption dest 'wan'

config rule
\toption name 'Allow-DHCP-Renew'
\toption src 'wan'
\toption proto 'udp'
\toption dest_port '68'
\toption target 'ACCEPT'
\toption family 'ipv4'

config rule
\toption name 'Allow-Ping'
\toption src 'wan'
\toption proto 'icmp'
\toption icmp_type 'echo-request'
\toption family 'ipv4'
\toption target 'ACCEPT'

config rule
\toption name 'Allow-IGMP'
\toption src 'wan'
\toption proto 'igmp'
\toption family 'ipv4'
\toption target 'ACCEPT'

config rule
\toption name 'Allow-ISAKMP'
\toption src 'wan'
\toption dest 'lan'
\toption dest_port '500'
\toption proto 'udp'
\toption target 'ACCEPT'

"""


# -- uci show -> sections ----------------------------------------------------------


def parse_uci(text: str) -> list[tuple[str, str, dict[str, list[str]]]]:
    """``uci show`` -> [(section id, type, {option: [values]})] in order."""
    order: list[str] = []
    types: dict[str, str] = {}
    opts: dict[str, dict[str, list[str]]] = {}
    for raw in text.splitlines():
        key, sep, value = raw.partition("=")
        if not sep:
            continue
        parts = key.split(".")
        if len(parts) not in (2, 3):
            raise ValueError(f"uci show: line not understood: {raw[:80]!r}")
        sid = parts[1]
        if sid not in types:
            order.append(sid)
            types[sid] = ""
            opts[sid] = {}
        if len(parts) == 2:
            types[sid] = value.strip("'")
        else:
            opts[sid][parts[2]] = shlex.split(value)
    return [(s, types[s], opts[s]) for s in order]


def _one(options: dict[str, list[str]], name: str, default: str = "") -> str:
    vals = options.get(name)
    return " ".join(vals) if vals else default


def _list(options: dict[str, list[str]], name: str) -> list[str]:
    return [w for v in options.get(name, []) for w in v.split()]


def _set(items: Sequence[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def _rule_lines(options: dict[str, list[str]]) -> list[str]:
    """nft statements for one input rule (several: one per protocol and family)."""
    target = {"ACCEPT": "accept", "REJECT": "jump handle_reject", "DROP": "drop"}.get(
        _one(options, "target", "DROP").upper()
    )
    if target is None:
        return []
    family = _one(options, "family", "any")
    protos = [p.lower() for p in _list(options, "proto")] or ["tcpudp"]
    expanded: list[str] = []
    for p in protos:
        expanded += ["tcp", "udp"] if p == "tcpudp" else [p]
    ports = [p.replace(":", "-") for p in _list(options, "dest_port")]
    sources = _list(options, "src_ip")
    by_family: dict[int, list[str]] = {}
    for s in sources:
        net = ipaddress.ip_network(s, strict=False)  # a name or a negation: ValueError
        by_family.setdefault(net.version, []).append(str(net))
    families = sorted(by_family) if sources else [0]
    comment = f' comment "!fw4: {_one(options, "name", "rule")}"'
    out = []
    for fam in families:
        if (family == "ipv4" and fam == 6) or (family == "ipv6" and fam == 4):
            continue
        match = []
        if fam == 4 or (fam == 0 and family == "ipv4"):
            match.append("meta nfproto ipv4")
        elif fam == 6 or (fam == 0 and family == "ipv6"):
            match.append("meta nfproto ipv6")
        if fam:
            match.append(f"{'ip' if fam == 4 else 'ip6'} saddr {_set(by_family[fam])}")
        for p in expanded:
            m = list(match)
            if p in ("all", "any"):
                pass
            elif p in ("tcp", "udp") and ports:
                m.append(f"{p} dport {_set(ports)}")
            elif p == "icmp" and _list(options, "icmp_type"):
                m.append(f"icmp type {_set(_list(options, 'icmp_type'))}")
            else:
                m.append(f"meta l4proto {p}")
            out.append(" ".join([*m, "counter", target]) + comment)
    return out


def render_ruleset(firewall_show: str, network_show: str) -> str:
    """The ``nft -f`` script for the router's uci firewall, in fw4's default shape."""
    fw = parse_uci(firewall_show)
    net = parse_uci(network_show)
    devices: dict[str, list[str]] = {
        sid: _list(o, "device") + _list(o, "ifname") for sid, t, o in net if t == "interface"
    }
    defaults = next((o for _, t, o in fw if t == "defaults"), {})
    default_input = _one(defaults, "input", "ACCEPT").upper()
    policy = "accept" if default_input == "ACCEPT" else "drop"
    zones = []
    for _, t, o in fw:
        if t != "zone":
            continue
        devs = [d for n in _list(o, "network") for d in devices.get(n, [])] + _list(o, "device")
        if devs:
            zones.append((_one(o, "name"), _one(o, "input", default_input).upper(), devs))
    lines = [
        "table inet fw4",
        "delete table inet fw4",
        "table inet fw4 {",
        "\tchain input {",
        f"\t\ttype filter hook input priority filter; policy {policy};",
        '\t\tiifname "lo" accept comment "!fw4: Accept traffic from loopback"',
        "\t\tct state vmap { established : accept, related : accept } "
        'comment "!fw4: Handle inbound flows"',
    ]
    for name, _, devs in zones:
        quoted = _set([f'"{d}"' for d in dict.fromkeys(devs)])
        lines.append(
            f'\t\tiifname {quoted} jump input_{name} comment "!fw4: Handle {name} IPv4/IPv6 '
            'input traffic"'
        )
    if default_input == "REJECT":
        lines.append("\t\tjump handle_reject")
    lines += [
        "\t}",
        "\tchain handle_reject {",
        '\t\tmeta l4proto tcp reject with tcp reset comment "!fw4: Reject TCP traffic"',
        '\t\treject comment "!fw4: Reject any other traffic"',
        "\t}",
    ]
    for name, zpolicy, devs in zones:
        quoted = _set([f'"{d}"' for d in dict.fromkeys(devs)])
        lines.append(f"\tchain input_{name} {{")
        for _, t, o in fw:
            if t != "rule" or _one(o, "enabled", "1") == "0" or _one(o, "dest"):
                continue
            if _one(o, "src") not in (name, "*"):
                continue
            try:
                lines += [f"\t\t{r}" for r in _rule_lines(o)]
            except ValueError:
                continue  # a source it cannot render (an ipset, a negation): skipped
        verdict = {"ACCEPT": "accept", "DROP": "drop"}.get(zpolicy, "reject")
        lines += [f"\t\tjump {verdict}_from_{name}", "\t}"]
        action = {"accept": "accept", "drop": "drop", "reject": "jump handle_reject"}[verdict]
        lines += [
            f"\tchain {verdict}_from_{name} {{",
            f'\t\tiifname {quoted} counter {action} comment "!fw4: {verdict} {name} IPv4/IPv6 '
            'input traffic"',
            "\t}",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- host side: the router's files, the nodes ----------------------------------------


def prepare_upper(upper: Path, *, router_addr: str, prefixlen: int, client: bool) -> None:
    """The router's network and firewall config, the init script, this generator."""
    files = {
        "etc/config/network": (network_config(router_addr, prefixlen, client=client), 0o644),
        "etc/config/firewall": (FIREWALL_CONFIG, 0o644),
        "etc/init.d/firewall": (INIT, 0o755),
        SHARE: (Path(__file__).read_text(encoding="utf-8"), 0o644),
    }
    for rel, (text, mode) in files.items():
        path = upper / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(mode)
    link = upper / "etc/rc.d/S19firewall"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        os.symlink("../init.d/firewall", link)


SPEAKER_RULES = """table inet routerctl_lab_speaker
delete table inet routerctl_lab_speaker
table inet routerctl_lab_speaker {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\ttcp dport 179 ct state new reject with tcp reset comment "MetalLB's speaker only dials out"
\t}
}
"""


def dial_only(netns: Sequence[str]) -> None:
    """Each node namespace refuses inbound BGP connections, like MetalLB's speaker."""
    for ns in netns:
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, "nft", "-f", "-"],
            input=SPEAKER_RULES,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"nft in {ns}: {proc.stderr.strip()[:200]}")


# -- router side: /etc/init.d/firewall reload -------------------------------------------


def _uci_show(config: str) -> str:
    proc = subprocess.run(
        ["uci", "-q", "show", config], capture_output=True, text=True, check=False
    )
    return proc.stdout


def main(argv: Sequence[str]) -> int:
    if list(argv) != ["apply"]:
        print("usage: firewall.py apply", file=sys.stderr)
        return 2
    ruleset = render_ruleset(_uci_show("firewall"), _uci_show("network"))
    proc = subprocess.run(["nft", "-f", "-"], input=ruleset, text=True, check=False)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
