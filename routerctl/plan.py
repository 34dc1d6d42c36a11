"""Plan: the owned delta between a router's running config and the desired one.

Pure (no I/O). ``compute_plan`` compares the parts routerctl owns (see
``runningconfig``) and yields the changes to show and the vtysh lines to send.
``compute_restore`` builds the reverse: from the config after a (partial) apply back
to the saved one, for rollback. Secrets appear only in ``Plan.script`` (sent over
stdin), never in ``Plan.describe()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from routerctl.errors import RefusedError
from routerctl.redact import redact
from routerctl.runningconfig import (
    PEER_GROUP,
    OwnedConfig,
    desired_global_lines,
    dynamic_lines,
    extract_owned,
    is_listen_range,
    line_key,
    neighbor_of,
    normalise_prefix_lists,
    parse_stanzas,
)


@dataclass(frozen=True)
class Change:
    """One line-level change inside a config section ("" = top level)."""

    action: str  # add | change | remove
    section: str
    line: str  # the new line (add/change) or the removed line
    old: str | None = None  # for change

    def describe(self) -> str:
        sign = {"add": "+", "change": "~", "remove": "-"}[self.action]
        text = f"{sign} {redact(self.line)}"
        if self.old is not None:
            text += f"   (was: {redact(self.old)})"
        return text


@dataclass(frozen=True)
class Plan:
    router: str
    asn: int
    changes: tuple[Change, ...] = ()
    script: tuple[str, ...] = ()  # vtysh config-mode lines, secrets included
    notes: tuple[str, ...] = ()
    creates_bgp: bool = False

    @property
    def empty(self) -> bool:
        return not self.changes

    def describe(self) -> str:
        """Human-readable diff, passwords redacted."""
        out = [f"router {self.router} (router bgp {self.asn}):"]
        out += [f"  note: {n}" for n in self.notes]
        if self.empty:
            out.append("  no changes")
            return "\n".join(out)
        section: str | None = None
        for ch in self.changes:
            if ch.section != section:
                section = ch.section
                out.append(f"  {section or '(top level)'}")
            out.append(f"    {ch.describe()}")
        adds = sum(c.action == "add" for c in self.changes)
        mods = sum(c.action == "change" for c in self.changes)
        rems = sum(c.action == "remove" for c in self.changes)
        out.append(f"  {adds} to add, {mods} to change, {rems} to remove")
        return "\n".join(out)

    def to_json(self) -> dict[str, object]:
        return {
            "router": self.router,
            "asn": self.asn,
            "changed": not self.empty,
            "notes": list(self.notes),
            "changes": [
                {
                    "action": c.action,
                    "section": c.section,
                    "line": redact(c.line),
                    **({"old": redact(c.old)} if c.old is not None else {}),
                }
                for c in self.changes
            ],
        }


def _negate(line: str) -> str:
    return line[3:] if line.startswith("no ") else f"no {line}"


@dataclass
class _Section:
    """Diff of one list of lines; ``removable`` says which running lines we may delete."""

    name: str
    enter: tuple[str, ...]  # lines to enter the section ("router bgp N", "address-family ...")
    leave: tuple[str, ...]
    changes: list[Change] = field(default_factory=list)
    script: list[str] = field(default_factory=list)


def _diff_lines(
    sec: _Section,
    running: list[str] | tuple[str, ...],
    desired: list[str] | tuple[str, ...],
    *,
    removable: bool,
    skip_neighbors: frozenset[str] = frozenset(),
) -> None:
    run_by_key = {line_key(ln): ln for ln in running if _subject(ln) not in skip_neighbors}
    des_keys = {line_key(ln) for ln in desired}
    if removable:  # removals first: "no match X" after "match Y" would undo the new match
        for key, ln in run_by_key.items():
            if key not in des_keys:
                sec.changes.append(Change("remove", sec.name, ln))
                sec.script.append(_negate(ln))
    for ln in desired:
        old = run_by_key.get(line_key(ln))
        if old == ln:
            continue
        if old is None:
            sec.changes.append(Change("add", sec.name, ln))
        else:
            sec.changes.append(Change("change", sec.name, ln, old=old))
        sec.script.append(ln)


def _subject(line: str) -> str | None:
    """Whom a line is about: its neighbor, or the group for the group's listen range
    (which FRR deletes together with the group)."""
    return PEER_GROUP if is_listen_range(line) else neighbor_of(line)


def _has_listen_range(text: str) -> bool:
    top, _ = desired_global_lines(text)
    return any(is_listen_range(ln) for ln in top)


def _implicit(line: str, *, family: str, default_ipv4: bool) -> bool:
    """Lines vtysh never shows because they are defaults (ipv4 unicast activate)."""
    return (
        default_ipv4
        and family == "address-family ipv4 unicast"
        and line.startswith("neighbor ")
        and line.endswith(" activate")
    )


def _build(
    router: str,
    asn: int,
    run: OwnedConfig,
    des: OwnedConfig,
    *,
    ensure_bgp: list[str],
    ensure_families: dict[str, list[str]],
    full: bool,
    delete_bgp: bool = False,
) -> Plan:
    """Shared diff engine; ``full`` treats every router-bgp line as owned (restore)."""
    default_ipv4 = des.default_ipv4_unicast
    removed_members = [m for m in run.members if m not in des.members and m != PEER_GROUP]
    group_removed = PEER_GROUP in run.members and PEER_GROUP not in des.members
    # a removed neighbor (or the whole group) goes with one "no neighbor" line
    skip = frozenset(removed_members + ([PEER_GROUP] if group_removed else []))
    # prefix-lists first (route-maps and neighbors refer to them); a changed entry is
    # removed and re-added under its seq
    pl_add = _Section("", (), ())
    run_pl = {line_key(ln): ln for ln in run.prefix_lists}
    for ln in des.prefix_lists:
        old = run_pl.get(line_key(ln))
        if old == ln:
            continue
        if old is None:
            pl_add.changes.append(Change("add", "", ln))
        else:
            pl_add.changes.append(Change("change", "", ln, old=old))
            pl_add.script.append(_negate(old))
        pl_add.script.append(ln)
    maps: list[_Section] = []
    run_maps = dict(run.route_maps)
    for hdr, body in des.route_maps:
        sec = _Section(hdr, (hdr,), ("exit",))
        if hdr not in run_maps:
            sec.changes.append(Change("add", hdr, hdr))
            sec.changes.extend(Change("add", hdr, ln) for ln in body)
            sec.script.extend(body or ["!"])  # entering the header creates the entry
        else:
            _diff_lines(sec, run_maps[hdr], body, removable=True)
        maps.append(sec)
    bgp = _Section(f"router bgp {asn}", (f"router bgp {asn}",), ("exit",))
    creates = run.asn is None and des.asn is not None and not delete_bgp
    if creates:
        bgp.changes.append(Change("add", bgp.name, f"router bgp {asn}"))
    run_global = list(run.unowned_bgp)
    run_global_top = [ln for ln in run_global if "|" not in ln]
    # removals first: a neighbor leaves the group before anything re-creates it
    for member in removed_members:
        bgp.changes.append(Change("remove", bgp.name, f"neighbor {member}"))
        bgp.script.append(f"no neighbor {member}")
    if group_removed:
        bgp.changes.append(Change("remove", bgp.name, f"neighbor {PEER_GROUP} peer-group"))
        bgp.script.append(f"no neighbor {PEER_GROUP} peer-group")
    if not full:
        # a hand-configured neighbor at a node's address is adopted: removed, then
        # re-created as a member of the peer-group
        standalone = {neighbor_of(ln.split("|", 1)[-1]) for ln in run_global}
        for member in des.members:
            if member != PEER_GROUP and member not in run.members and member in standalone:
                bgp.changes.append(
                    Change("remove", bgp.name, f"neighbor {member}   (hand-configured; adopted)")
                )
                bgp.script.append(f"no neighbor {member}")
                run_global = [
                    ln for ln in run_global if neighbor_of(ln.split("|", 1)[-1]) != member
                ]
                run_global_top = [ln for ln in run_global if "|" not in ln]
    # global lines routerctl sets (router-id, maximum-paths, policy switches)
    _diff_lines(bgp, run_global_top, ensure_bgp, removable=full)
    # owned neighbor lines: the peer-group definition first, then members
    _diff_lines(bgp, run.bgp, des.bgp, removable=True, skip_neighbors=skip)
    families: list[_Section] = []
    headers = list(dict.fromkeys([h for h, _ in des.families] + [h for h, _ in run.families]))
    headers += [h for h in ensure_families if h not in headers]
    for hdr in headers:
        sec = _Section(f"router bgp {asn} / {hdr}", (hdr,), ("exit-address-family",))
        want = [
            ln for ln in des.family(hdr) if not _implicit(ln, family=hdr, default_ipv4=default_ipv4)
        ]
        have = [
            ln for ln in run.family(hdr) if not _implicit(ln, family=hdr, default_ipv4=default_ipv4)
        ]
        run_fam_global = [ln.split("|", 1)[1] for ln in run_global if ln.startswith(f"{hdr}|")]
        _diff_lines(sec, run_fam_global, ensure_families.get(hdr, []), removable=full)
        _diff_lines(sec, have, want, removable=True, skip_neighbors=skip)
        families.append(sec)
    rm_top = _Section("", (), ())
    des_maps = dict(des.route_maps)
    for hdr, _body in run.route_maps:
        if hdr not in des_maps:
            rm_top.changes.append(Change("remove", "", hdr))
            rm_top.script.append(f"no {hdr}")
    des_pl = {line_key(ln) for ln in des.prefix_lists}
    for ln in run.prefix_lists:
        if line_key(ln) not in des_pl:
            rm_top.changes.append(Change("remove", "", ln))
            rm_top.script.append(_negate(ln))

    changes: list[Change] = [*pl_add.changes]
    script: list[str] = [*pl_add.script]
    for sec in maps:
        changes += sec.changes
        if sec.script:
            script += [*sec.enter, *sec.script, *sec.leave]
    bgp_changes = list(bgp.changes)
    bgp_script: list[str] = list(bgp.script)
    for sec in families:
        bgp_changes += sec.changes
        if sec.script:
            bgp_script += [*sec.enter, *sec.script, *sec.leave]
    if delete_bgp:
        changes.append(Change("remove", "", f"router bgp {asn}"))
        script.append(f"no router bgp {asn}")
    else:
        changes += bgp_changes
        if bgp_script or creates:
            script += [*bgp.enter, *bgp_script, *bgp.leave]
    changes += rm_top.changes
    script += rm_top.script
    return Plan(
        router=router,
        asn=asn,
        changes=tuple(changes),
        script=tuple(script),
        creates_bgp=creates,
    )


def _desired_globals(text: str, members: tuple[str, ...]) -> tuple[list[str], dict[str, list[str]]]:
    top, fams = desired_global_lines(text)
    owned = set(members) | {PEER_GROUP}
    dynamic = dynamic_lines(top)  # owned lines, diffed with the neighbors
    return (
        [ln for ln in top if neighbor_of(ln) not in owned and ln not in dynamic],
        {h: [ln for ln in lines if neighbor_of(ln) not in owned] for h, lines in fams.items()},
    )


def compute_plan(
    *,
    router: str,
    asn: int,
    running: str,
    desired: str,
    ibgp: bool = False,
) -> Plan:
    """Owned delta from ``running`` to ``desired`` (both vtysh config text).

    Raises ``RefusedError`` when the router runs ``router bgp`` with another ASN.
    """
    run = extract_owned(running, asn=asn, own_listen_limit=_has_listen_range(desired))
    if run.other_asn is not None:
        raise RefusedError(
            f"router {router} already runs 'router bgp {run.other_asn}' but the topology "
            f"says ASN {asn}; routerctl will not replace another BGP instance",
            hint=f"set routers[].asn to {run.other_asn}, or remove that instance by hand",
        )
    des = extract_owned(desired, asn=asn)
    ensure_bgp, ensure_fams = _desired_globals(desired, des.members)
    plan = _build(
        router, asn, run, des, ensure_bgp=ensure_bgp, ensure_families=ensure_fams, full=False
    )
    notes: list[str] = []
    if ibgp:
        notes.append(f"iBGP: router and cluster share ASN {asn}")
    if plan.creates_bgp:
        notes.append(f"router bgp {asn} does not exist yet and will be created")
    return Plan(
        router=plan.router,
        asn=plan.asn,
        changes=plan.changes,
        script=plan.script,
        notes=tuple(notes),
        creates_bgp=plan.creates_bgp,
    )


def compute_restore(*, router: str, asn: int, current: str, saved: str) -> Plan:
    """The lines that take ``current`` back to ``saved`` (every router-bgp line counts)."""
    cur = extract_owned(current, asn=asn, own_listen_limit=_has_listen_range(saved))
    old = extract_owned(saved, asn=asn, own_listen_limit=_has_listen_range(current))
    if old.asn is None:
        # routerctl created router bgp: removing it restores the previous state
        return _build(
            router,
            asn,
            cur,
            old,
            ensure_bgp=[],
            ensure_families={},
            full=True,
            delete_bgp=cur.asn is not None,
        )
    top, fams = _desired_globals(saved, old.members)
    return _build(router, asn, cur, old, ensure_bgp=top, ensure_families=fams, full=True)


def running_matches(*, running: str, desired: str, asn: int) -> list[str]:
    """Owned lines that differ between running and desired (empty = in sync)."""
    plan = compute_plan(router="-", asn=asn, running=running, desired=desired)
    return [c.describe() for c in plan.changes]


__all__ = [
    "Change",
    "Plan",
    "compute_plan",
    "compute_restore",
    "normalise_prefix_lists",
    "parse_stanzas",
    "running_matches",
]
