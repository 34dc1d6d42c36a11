"""Read a vtysh ``show running-config`` (FRR or Quagga) into the parts routerctl owns.

routerctl owns: the ``ROUTERCTL`` peer-group and its members, prefix-lists and
route-maps whose name starts with ``ROUTERCTL``, and the lines its desired config
sets under ``router bgp`` (router-id, maximum-paths, ...). The same parser reads the
rendered desired config, so both sides of a diff have one shape. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PEER_GROUP = "ROUTERCTL"
NAME_PREFIX = "ROUTERCTL"

# neighbor sub-commands that carry a value: the key is "neighbor X <cmd>"
_NEIGHBOR_VALUE_CMDS = frozenset(
    {
        "remote-as",
        "description",
        "password",
        "timers",
        "ebgp-multihop",
        "update-source",
        "peer-group",
        "port",
        "weight",
        "local-as",
        "advertisement-interval",
        "ttl-security",
        "allowas-in",
        "maximum-prefix",
        "interface",
    }
)
# neighbor sub-commands keyed by direction (the last word: in/out)
_NEIGHBOR_DIRECTIONAL = frozenset({"route-map", "prefix-list", "filter-list", "distribute-list"})
# global router-bgp commands that carry a value: key = these leading words
_GLOBAL_VALUE_CMDS = (
    ("bgp", "router-id"),
    ("maximum-paths", "ibgp"),
    ("maximum-paths",),
    ("timers", "bgp"),
    ("bgp", "cluster-id"),
    ("bgp", "listen", "limit"),
)
_LISTEN_RANGE = re.compile(rf"bgp listen range \S+ peer-group {PEER_GROUP}")
_LISTEN_LIMIT = re.compile(r"bgp listen limit \d+")
_ROUTER_BGP = re.compile(r"router bgp (\d+)(?:\s+(vrf|view)\s+(\S+))?")
_PREFIX_LIST = re.compile(r"(ipv6 |ip )prefix-list (\S+) (?:seq (\d+) )?(.*)")
_ROUTE_MAP = re.compile(r"route-map (\S+) (permit|deny) (\d+)")
_BLOCK_END = frozenset({"!", "exit", "end", "exit-address-family", "exit-vrf", "quit"})


@dataclass
class Stanza:
    """A top-level config block: its header line and its (stripped) body lines.

    Address-family sub-blocks of ``router bgp`` are kept in ``families``.
    """

    header: str
    lines: list[str] = field(default_factory=list)
    families: dict[str, list[str]] = field(default_factory=dict)


def parse_stanzas(text: str) -> list[Stanza]:
    """Split running-config text into top-level stanzas (comments and markers dropped)."""
    stanzas: list[Stanza] = []
    current: Stanza | None = None
    family: str | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        stripped = line.strip()
        indented = line[0] in " \t"
        if stripped.startswith("!") or stripped in ("Building configuration...", "end"):
            if not indented:
                current, family = None, None
            continue
        if stripped.startswith("Current configuration"):
            continue
        if not indented:
            if stripped in _BLOCK_END:
                current, family = None, None
                continue
            current = Stanza(header=_norm(stripped))
            family = None
            stanzas.append(current)
            continue
        if current is None:  # indented line without a block: keep as its own stanza
            current = Stanza(header="")
            stanzas.append(current)
        if stripped.startswith("address-family "):
            family = _norm(stripped)
            current.families.setdefault(family, [])
            continue
        if stripped in ("exit-address-family", "exit"):
            family = None
            continue
        if family is not None:
            current.families[family].append(_norm(stripped))
        else:
            current.lines.append(_norm(stripped))
    return stanzas


def _norm(line: str) -> str:
    return " ".join(line.split())


@dataclass(frozen=True)
class OwnedConfig:
    """What routerctl owns on one router, in a comparable form.

    ``bgp`` holds owned lines directly under ``router bgp`` (in order); ``families``
    maps ``address-family ...`` headers to owned lines; ``prefix_lists`` are full
    lines with explicit ``seq``; ``route_maps`` map headers to body lines.
    """

    asn: int | None
    other_asn: int | None = None  # a default-VRF ``router bgp`` with another ASN
    bgp: tuple[str, ...] = ()
    families: tuple[tuple[str, tuple[str, ...]], ...] = ()
    prefix_lists: tuple[str, ...] = ()
    route_maps: tuple[tuple[str, tuple[str, ...]], ...] = ()
    members: tuple[str, ...] = ()  # neighbors in the ROUTERCTL peer-group (and the group)
    default_ipv4_unicast: bool = True  # False when "no bgp default ipv4-unicast" is set
    unowned_bgp: tuple[str, ...] = ()  # the rest of router bgp, for keys we may override

    def family(self, header: str) -> tuple[str, ...]:
        return dict(self.families).get(header, ())


def neighbor_of(line: str) -> str | None:
    """The neighbor (address or group name) a ``neighbor ...`` line is about."""
    words = line.split()
    if len(words) >= 2 and words[0] == "neighbor":
        return words[1]
    return None


def line_key(line: str) -> str:
    """The part of a config line that identifies *what* it sets (not the value)."""
    words = line.split()
    if not words:
        return line
    if words[0] == "neighbor" and len(words) >= 3:
        cmd = words[2]
        if cmd == "timers" and len(words) >= 4 and words[3] == "connect":
            return " ".join(words[:4])
        if cmd in _NEIGHBOR_DIRECTIONAL and len(words) >= 5:
            return f"{' '.join(words[:3])} * {words[-1]}"
        if cmd in _NEIGHBOR_VALUE_CMDS:
            # "neighbor X peer-group" alone defines a group; with a name it is membership
            return " ".join(words[:3]) if len(words) > 3 else line
        return line
    m = _PREFIX_LIST.fullmatch(line)
    if m:
        return f"{m.group(1)}prefix-list {m.group(2)} seq {m.group(3)}"
    for lead in _GLOBAL_VALUE_CMDS:
        if tuple(words[: len(lead)]) == lead and len(words) > len(lead):
            return " ".join(lead)
    return line


def normalise_prefix_lists(lines: list[str]) -> list[str]:
    """Give every prefix-list entry an explicit ``seq`` the way FRR/Quagga number them."""
    out: list[str] = []
    last: dict[tuple[str, str], int] = {}
    for line in lines:
        m = _PREFIX_LIST.fullmatch(line)
        if not m:
            continue
        fam, name, seq, rest = m.group(1), m.group(2), m.group(3), m.group(4)
        if rest.startswith("description ") or rest.startswith("seq "):
            continue
        key = (fam, name)
        n = int(seq) if seq is not None else (last.get(key, 0) // 5 + 1) * 5
        last[key] = n
        out.append(f"{fam}prefix-list {name} seq {n} {rest}")
    return out


def _drop_inherited(lines: list[str]) -> list[str]:
    """Drop a member's line that only repeats the peer-group's own line.

    FRR 10 prints a flag the member inherits from its group under the member too
    (``neighbor 192.0.2.1 graceful-restart`` after ``neighbor ROUTERCTL graceful-restart``);
    FRR 8.4 does not. It is the group's setting, not one of the member's, so it must not
    count as a difference (the plan would delete it forever, the read-back never agree).
    """
    group = {
        ln.split(None, 2)[2]
        for ln in lines
        if neighbor_of(ln) == PEER_GROUP and len(ln.split()) > 2
    }
    return [
        ln
        for ln in lines
        if neighbor_of(ln) == PEER_GROUP or len(ln.split()) < 3 or ln.split(None, 2)[2] not in group
    ]


def is_listen_range(line: str) -> bool:
    """``bgp listen range X peer-group ROUTERCTL``: dynamic neighbors of routerctl's group."""
    return _LISTEN_RANGE.fullmatch(line) is not None


def dynamic_lines(lines: list[str] | tuple[str, ...], *, own_limit: bool = False) -> set[str]:
    """The dynamic-neighbor lines routerctl owns: its group's listen ranges, and the
    (instance-wide) ``bgp listen limit`` while routerctl has a listen range (or
    ``own_limit``: the desired config has one, so the limit is routerctl's to set)."""
    ranges = {ln for ln in lines if is_listen_range(ln)}
    if not ranges and not own_limit:
        return set()
    return ranges | {ln for ln in lines if _LISTEN_LIMIT.fullmatch(ln)}


def extract_owned(
    text: str, *, asn: int | None = None, own_listen_limit: bool = False
) -> OwnedConfig:
    """The owned parts of a config (running or rendered).

    ``asn`` is the desired ASN: a default-VRF ``router bgp`` with another number is
    reported in ``other_asn`` (the caller refuses). Global router-bgp lines are all
    kept in ``unowned_bgp`` too; which of them routerctl sets is decided by the plan.
    ``own_listen_limit``: count ``bgp listen limit`` as routerctl's even without a listen
    range of its own (the desired config has one).
    """
    stanzas = parse_stanzas(text)
    bgp: Stanza | None = None
    other: int | None = None
    found_asn: int | None = None
    prefix_raw: list[str] = []
    route_maps: list[tuple[str, tuple[str, ...]]] = []
    for st in stanzas:
        m = _ROUTER_BGP.fullmatch(st.header)
        if m and m.group(2) is None:
            n = int(m.group(1))
            if asn is not None and n != asn:
                other = n
                continue
            found_asn, bgp = n, st
            continue
        pm = _PREFIX_LIST.fullmatch(st.header)
        if pm and pm.group(2).startswith(NAME_PREFIX):
            prefix_raw.append(st.header)
            continue
        rm = _ROUTE_MAP.fullmatch(st.header)
        if rm and rm.group(1).startswith(NAME_PREFIX):
            route_maps.append((st.header, tuple(st.lines)))
    if bgp is None:
        return OwnedConfig(
            asn=None,
            other_asn=other,
            prefix_lists=tuple(normalise_prefix_lists(prefix_raw)),
            route_maps=tuple(route_maps),
        )
    all_lines = bgp.lines + [ln for lines in bgp.families.values() for ln in lines]
    members = {PEER_GROUP} | {
        ln.split()[1] for ln in all_lines if ln.split()[2:] == ["peer-group", PEER_GROUP]
    }
    dynamic = dynamic_lines(bgp.lines, own_limit=own_listen_limit)
    owned = _drop_inherited([ln for ln in bgp.lines if neighbor_of(ln) in members or ln in dynamic])
    rest = [ln for ln in bgp.lines if neighbor_of(ln) not in members and ln not in dynamic]
    families = tuple(
        (hdr, tuple(_drop_inherited([ln for ln in lines if neighbor_of(ln) in members])))
        for hdr, lines in bgp.families.items()
    )
    fam_rest = [
        f"{hdr}|{ln}"
        for hdr, lines in bgp.families.items()
        for ln in lines
        if neighbor_of(ln) not in members
    ]
    has_group = f"neighbor {PEER_GROUP} peer-group" in bgp.lines
    return OwnedConfig(
        asn=found_asn,
        other_asn=other,
        bgp=tuple(owned),
        families=families,
        prefix_lists=tuple(normalise_prefix_lists(prefix_raw)),
        route_maps=tuple(route_maps),
        members=tuple(sorted(members)) if has_group or len(members) > 1 else (),
        default_ipv4_unicast="no bgp default ipv4-unicast" not in bgp.lines,
        unowned_bgp=tuple(rest + fam_rest),
    )


def desired_global_lines(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """All ``router bgp`` lines of a rendered desired config: (global, per family)."""
    for st in parse_stanzas(text):
        m = _ROUTER_BGP.fullmatch(st.header)
        if m and m.group(2) is None:
            return list(st.lines), {k: list(v) for k, v in st.families.items()}
    return [], {}
