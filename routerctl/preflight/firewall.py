"""The firewall path from each node to the router's bgpd (pure), and the one UCI rule per
zone routerctl owns (``firewall.routerctl_bgp_<zone>``, named ``routerctl-bgp``).

fw4 (and fw3) semantics used here: a packet for the router enters the zone whose
``network`` (or ``device``) list holds the interface it arrives on; the zone's ``input``
policy applies unless an input rule (``src`` = the zone or ``*``, no ``dest``) accepts it
first. A rule's defaults: proto tcp+udp, any port, any source, target DROP. ``forwarding``
sections only govern traffic through the router, never to it, so they do not matter here.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from routerctl.model import IPAddress
from routerctl.platform.preflight import FIREWALL_INIT, RULE_NAME, RULE_SECTION_PREFIX
from routerctl.preflight.parse import UciSection

BGP_PORT = 179


@dataclass(frozen=True)
class NodePath:
    """How one node's BGP connection to the router meets the firewall."""

    node: str
    address: IPAddress
    device: str | None  # the router's interface toward the node (``ip route get``)
    zone: str | None  # the firewall zone of that interface; None: in no zone
    policy: str  # the input policy that applies (the zone's, or the defaults')
    accepted_by: str | None  # what accepts tcp/179 ("input policy ACCEPT", "rule 'x'")

    @property
    def open(self) -> bool:
        return self.accepted_by is not None


def owned(section: UciSection) -> bool:
    """A rule routerctl wrote: its section name and its ``name`` option say so."""
    return (
        section.type == "rule"
        and section.id.startswith(RULE_SECTION_PREFIX)
        and section.get("name") == RULE_NAME
    )


def section_for(zone: str) -> str:
    """The named UCI section routerctl owns for ``zone``."""
    return RULE_SECTION_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", zone)


def _interfaces_of(device: str, network: Sequence[UciSection]) -> set[str]:
    out: set[str] = set()
    for s in network:
        if s.type != "interface":
            continue
        devs = set(s.items("device")) | set(s.items("ifname"))
        if s.get("type") == "bridge":
            devs.add(f"br-{s.id}")
        if device in devs:
            out.add(s.id)
    return out


def _device_match(pattern: str, device: str) -> bool:
    if pattern.endswith("+"):
        return device.startswith(pattern[:-1])
    return pattern == device


def zone_of(
    device: str, firewall: Sequence[UciSection], network: Sequence[UciSection]
) -> UciSection | None:
    """The zone section the interface ``device`` belongs to, if any."""
    nets = _interfaces_of(device, network)
    for s in firewall:
        if s.type != "zone":
            continue
        if nets & set(s.items("network")) or any(
            _device_match(p, device) for p in s.items("device")
        ):
            return s
    return None


def _defaults(firewall: Sequence[UciSection]) -> UciSection | None:
    return next((s for s in firewall if s.type == "defaults"), None)


def _ports(spec: str) -> list[tuple[int, int]] | None:
    out = []
    for tok in spec.replace(",", " ").split():
        a, sep, b = tok.replace(":", "-").partition("-")
        if not a.isdigit() or (sep and not b.isdigit()):
            return None
        out.append((int(a), int(b) if sep else int(a)))
    return out


def _in_sources(addr: IPAddress, items: Sequence[str]) -> bool:
    for tok in items:
        if tok.startswith("!"):
            return False  # a negation: not judged, so not counted as accepting
        try:
            if addr in ipaddress.ip_network(tok, strict=False):
                return True
        except ValueError:
            return False  # a name (ipset, host): not judged
    return False


def rule_accepts(rule: UciSection, zone: str | None, addr: IPAddress) -> bool:
    """Does this input rule accept tcp/179 from ``addr`` arriving in ``zone``?"""
    if rule.type != "rule" or rule.get("enabled", "1") == "0":
        return False
    if rule.get("dest") or rule.get("target", "DROP").upper() != "ACCEPT":
        return False
    src = rule.get("src")
    if src != "*" and (zone is None or src != zone):
        return False
    family = rule.get("family", "any")
    if (family == "ipv4" and addr.version != 4) or (family == "ipv6" and addr.version != 6):
        return False
    protos = rule.items("proto") or ("tcpudp",)
    if not any(p.lower() in ("tcp", "tcpudp", "all", "any", "6") for p in protos):
        return False
    if rule.get("src_port") or rule.get("src_mac") or rule.get("ipset"):
        return False  # BGP's source port is ephemeral; MACs and sets are not judged
    ports = rule.get("dest_port")
    if ports:
        ranges = _ports(ports)
        if ranges is None or not any(a <= BGP_PORT <= b for a, b in ranges):
            return False
    sources = rule.items("src_ip")
    return not sources or _in_sources(addr, sources)


def _rule_label(rule: UciSection) -> str:
    name = rule.get("name")
    return f"rule {name!r}" if name else f"rule {rule.id}"


def node_path(
    node: str,
    addr: IPAddress,
    device: str | None,
    firewall: Sequence[UciSection],
    network: Sequence[UciSection],
    *,
    include_owned: bool = True,
) -> NodePath:
    """The zone, policy and verdict for one node (``include_owned``: count routerctl's rules)."""
    zone = zone_of(device, firewall, network) if device else None
    defaults = _defaults(firewall)
    default_input = defaults.get("input", "ACCEPT").upper() if defaults else "ACCEPT"
    policy = zone.get("input", default_input).upper() if zone else default_input
    zname = zone.get("name") if zone else None
    accepted: str | None = None
    if policy == "ACCEPT":
        accepted = "input policy ACCEPT"
    else:
        for s in firewall:
            if not include_owned and owned(s):
                continue
            if rule_accepts(s, zname, addr):
                accepted = _rule_label(s)
                break
    return NodePath(node, addr, device, zname, policy, accepted)


# -- the rules routerctl owns ------------------------------------------------------


@dataclass(frozen=True)
class OwnedRule:
    zone: str
    src_ip: tuple[str, ...]

    @property
    def section(self) -> str:
        return section_for(self.zone)

    def options(self) -> list[tuple[str, str]]:
        return [
            ("name", RULE_NAME),
            ("src", self.zone),
            ("proto", "tcp"),
            ("dest_port", str(BGP_PORT)),
            ("target", "ACCEPT"),
        ]

    def describe(self) -> str:
        return (
            f"rule {RULE_NAME} (firewall.{self.section}): src {self.zone}, tcp dest_port "
            f"{BGP_PORT}, src_ip {' '.join(self.src_ip)}, ACCEPT"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "section": self.section,
            "name": RULE_NAME,
            "src": self.zone,
            "proto": "tcp",
            "dest_port": BGP_PORT,
            "src_ip": list(self.src_ip),
            "target": "ACCEPT",
        }


def current_rules(firewall: Sequence[UciSection]) -> dict[str, OwnedRule | None]:
    """routerctl's rules on the router, by section; None: owned but not in our shape."""
    out: dict[str, OwnedRule | None] = {}
    for s in firewall:
        if not owned(s):
            continue
        rule = OwnedRule(zone=s.get("src"), src_ip=tuple(s.items("src_ip")))
        shape_ok = rule.section == s.id and all(s.get(k) == v for k, v in rule.options())
        out[s.id] = rule if shape_ok else None
    return out


def desired_rules(paths: Sequence[NodePath]) -> list[OwnedRule]:
    """One rule per zone whose nodes nothing else lets in (paths computed without ours)."""
    zones: dict[str, list[str]] = {}
    for p in paths:
        if not p.open and p.zone is not None:
            zones.setdefault(p.zone, []).append(str(p.address))
    return [
        OwnedRule(zone=z, src_ip=tuple(sorted(set(a), key=ipaddress.ip_address)))
        for z, a in sorted(zones.items())
    ]


@dataclass(frozen=True)
class FirewallChange:
    action: str  # add | change | remove
    section: str
    rule: OwnedRule | None  # the desired rule (None: remove)

    def describe(self) -> str:
        sign = {"add": "+", "change": "~", "remove": "-"}[self.action]
        what = self.rule.describe() if self.rule else f"rule {RULE_NAME} (firewall.{self.section})"
        return f"{sign} {what}"

    def to_json(self) -> dict[str, object]:
        return {
            "action": self.action,
            "section": self.section,
            "rule": self.rule.to_json() if self.rule else None,
        }


@dataclass(frozen=True)
class FirewallPlan:
    changes: tuple[FirewallChange, ...] = ()
    managed: bool = False

    @property
    def empty(self) -> bool:
        return not self.changes

    def describe(self) -> str:
        if not self.managed:
            return ""
        head = "  firewall (rules routerctl owns):"
        if self.empty:
            return f"{head}\n    no changes"
        return "\n".join([head, *(f"    {c.describe()}" for c in self.changes)])

    def notes(self) -> tuple[str, ...]:
        """One line per change, for a plan's notes."""
        return tuple(f"firewall: {c.describe()}" for c in self.changes)

    def script(self) -> str:
        """POSIX sh: the uci edits, commit and the firewall reload (only owned sections)."""
        lines = []
        for c in self.changes:
            sec = f"firewall.{c.section}"
            lines.append(f"uci -q delete {sec} || true")
            if c.rule is None:
                continue
            lines.append(f"uci set {sec}=rule")
            for k, v in c.rule.options():
                lines.append(f"uci set {sec}.{k}={shlex.quote(v)}")
            for a in c.rule.src_ip:
                lines.append(f"uci add_list {sec}.src_ip={shlex.quote(a)}")
        lines.append("uci commit firewall")
        lines.append(f"if [ -x {FIREWALL_INIT} ]; then {FIREWALL_INIT} reload; fi")
        return "set -e\n" + "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, object]:
        return {"managed": self.managed, "changes": [c.to_json() for c in self.changes]}


def plan_firewall(
    paths_without_owned: Sequence[NodePath], firewall: Sequence[UciSection]
) -> FirewallPlan:
    """What to add, change or remove so that exactly the needed owned rules exist."""
    current = current_rules(firewall)
    want = {r.section: r for r in desired_rules(paths_without_owned)}
    changes: list[FirewallChange] = []
    for sec, rule in want.items():
        if sec not in current:
            changes.append(FirewallChange("add", sec, rule))
        elif current[sec] != rule:
            changes.append(FirewallChange("change", sec, rule))
    for sec in current:
        if sec not in want:
            changes.append(FirewallChange("remove", sec, None))
    return FirewallPlan(changes=tuple(changes), managed=True)
