"""Read a router's BGP state in ONE exec (services are probed by ``routerctl.ops.probe``).

One shell script per run: it detects the suite (``vtysh -c 'show version'``), checks
the daemons, then runs only what verify needs -- the BGP summary and
``show ip route <pool> longer-prefixes`` per pool CIDR -- with a random marker
line between outputs. FRR answers in JSON, Quagga in text (TextFSM via
``routerctl.parsing``). Which commands each suite gets is its platform profile's data.
"""

from __future__ import annotations

import json
import secrets
import shlex
from collections.abc import Sequence

from routerctl.errors import CommandError, ParseError
from routerctl.model import BgpSummary, IPAddress, PoolPath, Route, RouterState
from routerctl.parsing import parse_bgp_summary, parse_routes
from routerctl.parsing.frr_state import (
    json_docs,
    parse_frr_last_errors,
    parse_frr_pool_paths,
    parse_frr_summary,
)
from routerctl.platform import PROFILES, SuiteCommands, identify
from routerctl.platform.suites import DAEMONS, PID_DIRS
from routerctl.topology import Router, Topology
from routerctl.transport import Transport

# which commands each suite gets is its profile's ``commands``
COMMANDS: dict[str, SuiteCommands] = {name: p.commands for name, p in PROFILES.items()}


def _commands_for(
    topology: Topology, router: Router, suite: str, addresses: Sequence[IPAddress] = ()
) -> list[tuple[str, tuple[str, ...]]]:
    """(key, commands) for one suite; several commands under one key share one vtysh."""
    c = COMMANDS[suite]
    nets = list(dict.fromkeys(topology.iter_pool_networks()))
    v6 = any(n.version == 6 for n in nets) or any(
        n.address.version == 6 for n in topology.nodes_for(router)
    )
    out: list[tuple[str, tuple[str, ...]]] = [("summary4", (c.summary_v4,))]
    if v6:
        out.append(("summary6", (c.summary_v6,)))
    if c.neighbors is not None:
        out.append(("neighbors", (c.neighbors,)))
    for net in nets:
        tmpl = c.pool_v6 if net.version == 6 else c.pool_v4
        out.append((f"pool {net}", (tmpl.format(net=net),)))
    lookups = []
    for addr in dict.fromkeys(addresses):
        tmpl_l = c.lookup_v6 if addr.version == 6 else c.lookup_v4
        if tmpl_l is not None:
            lookups.append(tmpl_l.format(addr=addr))
    if lookups:
        out.append(("lookup", tuple(lookups)))
    return out


# extra outputs for support bundles (same exec), per suite
BUNDLE_COMMANDS: dict[str, tuple[str, ...]] = {
    name: p.bundle_commands for name, p in PROFILES.items()
}


def build_script(
    topology: Topology,
    router: Router,
    marker: str,
    *,
    addresses: Sequence[IPAddress] = (),
    bundle: bool = False,
) -> str:
    """The POSIX-sh (busybox ash) script that gathers everything in one exec."""
    lines = [
        f"M={marker}",
        'echo "$M release"; cat /etc/openwrt_release 2>/dev/null',
        'echo "$M daemons"',
        # pid files first (namespace-correct), pidof only where no suite pid dir exists
        f"for d in {' '.join(DAEMONS)}; do s=0; n=0; for r in {' '.join(PID_DIRS)}; do "
        '[ -d "$r" ] && n=1; [ -r "$r/$d.pid" ] && kill -0 "$(cat "$r/$d.pid")" 2>/dev/null '
        '&& s=1; done; [ "$n" = 0 ] && pidof "$d" >/dev/null 2>&1 && s=1; echo "$d $s"; done',
        "V=$(vtysh -c 'show version' 2>&1); R=$?",
        'echo "$M version $R"; printf "%s\\n" "$V" | head -n 1',
    ]
    forced = router.suite if router.suite in COMMANDS else None
    if forced:
        lines.append(f'S={forced}; [ "$R" = 0 ] || S=none')
    else:
        # the shell form of ``identify(version=...)``: version markers in profile order
        case = " ".join(f"*{p.version_marker}*) S={p.name} ;;" for p in PROFILES.values())
        lines.append(f'S=none; if [ "$R" = 0 ]; then case "$V" in {case} esac; fi')
    lines.append('echo "$M suite $S"')
    for suite, spec in COMMANDS.items():
        lines.append(f'if [ "$S" = {suite} ]; then')
        planned = _commands_for(topology, router, suite, addresses)
        groups = (
            [("all", tuple(c for _, cmds in planned for c in cmds))] if spec.one_vtysh else planned
        )
        for key, cmds in groups:
            args = " ".join(f"-c {shlex.quote(cmd)}" for cmd in cmds)
            lines.append(f'  echo "$M cmd {key}"; vtysh {args} 2>&1; echo "$M rc $?"')
        if bundle:
            for i, cmd in enumerate(BUNDLE_COMMANDS[suite]):
                lines.append(
                    f'  echo "$M extra {i}"; vtysh -c {shlex.quote(cmd)} 2>&1; echo "$M rc $?"'
                )
        lines.append("fi")
    lines.append('echo "$M end"')
    return "\n".join(lines) + "\n"


def split_output(text: str, marker: str) -> dict[str, str]:
    """Sections of the script's output keyed by the marker line's words."""
    sections: dict[str, list[str]] = {}
    key: str | None = None
    for line in text.splitlines():
        if line.startswith(marker + " "):
            head = line[len(marker) + 1 :]
            if head.startswith("rc ") and key is not None:
                sections[f"{key} rc"] = [head[3:]]
                key = None
                continue
            key = head
            sections[key] = []
            continue
        if key is not None:
            sections[key].append(line)
    return {k: "\n".join(v) for k, v in sections.items()}


def _check_vtysh(section: str, command: str, rc: str) -> None:
    first = section.strip().splitlines()[0] if section.strip() else ""
    if first.startswith("% BGP instance not found") or first.startswith("% No BGP process"):
        return
    if rc.strip() not in ("0", "") or first.startswith("%"):
        raise CommandError(
            f"vtysh -c '{command}' failed (exit {rc.strip()}): {first[:100]}",
            hint="is the routing suite healthy? see 'routerctl support-bundle'",
        )


def _split_batch(sec: dict[str, str], planned: Sequence[tuple[str, tuple[str, ...]]]) -> None:
    """Give each key its JSON documents out of the one-vtysh batch (in place)."""
    flat = [c for _, cmds in planned for c in cmds]
    out = sec["cmd all"]
    _check_vtysh(out, flat[0], sec.get("cmd all rc", "0"))
    docs = iter(json_docs(out, flat))
    for key, cmds in planned:
        sec[f"cmd {key}"] = "\n".join(json.dumps(next(docs), indent=1) for _ in cmds)
        sec[f"cmd {key} rc"] = "0"


def parse_state(
    text: str,
    marker: str,
    *,
    topology: Topology,
    router: Router,
    addresses: Sequence[IPAddress] = (),
) -> RouterState:
    """Turn the script's output into a ``RouterState``."""
    sec = split_output(text, marker)
    if "end" not in sec:
        raise CommandError(
            f"the state script on {router.name} stopped early",
            hint="see 'routerctl support-bundle' for the raw output",
        )
    daemons: list[tuple[str, bool]] = []
    for line in sec.get("daemons", "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            daemons.append((parts[0], parts[1] == "1"))
    version_key = next((k for k in sec if k.startswith("version ")), "version 1")
    vtysh_ok = version_key == "version 0"
    # "FRRouting 8.4.4 (OpenWrt) on Linux(6.1.0)." -> "FRRouting 8.4.4 (OpenWrt)"
    version = sec.get(version_key, "").strip().split(" on ", 1)[0] or None
    suite_key = next((k for k in sec if k.startswith("suite ")), "suite none")
    named = [*suite_key.split(), "none"][1]
    suite: str | None = None if named == "none" else named
    if suite is not None and suite not in COMMANDS:
        raise ParseError(
            f"the state script on {router.name} named an unknown suite {suite[:40]!r}",
            hint="see 'routerctl support-bundle' for the raw output",
        )
    raw: list[tuple[str, str]] = [("cat /etc/openwrt_release", sec.get("release", ""))]
    raw.append(("vtysh -c 'show version'", sec.get(version_key, "")))
    summary4: BgpSummary | None = None
    summary6: BgpSummary | None = None
    routes: list[Route] = []
    pool_paths: list[PoolPath] | None = None
    last_errors: list[tuple[str, str]] = []
    # the text dialect is what vtysh says it is (a pinned suite only picks the commands)
    text_suite = identify(version=version) if version else None
    if suite is not None:
        cmds = COMMANDS[suite]
        planned = _commands_for(topology, router, suite, addresses)
        healthy = all(up for _, up in daemons)
        if cmds.one_vtysh and "cmd all" in sec and not healthy:
            flat = " ; ".join(c for _, cs in planned for c in cs)
            raw.append((flat, sec["cmd all"]))
        else:
            if cmds.one_vtysh and "cmd all" in sec:
                if "extra 0" in sec:  # a support bundle: keep the batch exactly as printed
                    raw.append(("vtysh batch (as printed)", sec["cmd all"]))
                _split_batch(sec, planned)
            raw += [(" ; ".join(c), sec.get(f"cmd {key}", "")) for key, c in planned]
        raw += [
            (command, sec[f"extra {i}"])
            for i, command in enumerate(BUNDLE_COMMANDS[suite])
            if f"extra {i}" in sec
        ]
        # with a daemon down vtysh cannot answer the BGP commands; the daemons check says so
        if not all(up for _, up in daemons):
            planned = []
        if cmds.pool_is_bgp_table and planned:
            pool_paths = []
        for key, commands in planned:
            out = sec.get(f"cmd {key}", "")
            command = commands[0]
            _check_vtysh(out, command, sec.get(f"cmd {key} rc", "0"))
            instance_missing = out.strip().startswith("%")
            if key.startswith("summary"):
                if cmds.json:
                    s = parse_frr_summary(out, command=command)
                elif instance_missing:
                    s = BgpSummary(router_id=None, local_as=None, instance_missing=True)
                else:
                    s = parse_bgp_summary(out, suite=text_suite, command=command)
                if key == "summary4":
                    summary4 = s
                else:
                    summary6 = s
            elif key == "neighbors":
                last_errors += parse_frr_last_errors(out, command=command)
            elif key == "lookup":
                for cmd, doc in zip(commands, json_docs(out, commands), strict=True):
                    routes += parse_routes(json.dumps(doc), suite="frr", command=cmd)
            elif instance_missing:
                continue  # no BGP instance: nothing in the pools
            elif cmds.pool_is_bgp_table and pool_paths is not None:
                pool_paths += parse_frr_pool_paths(out, command=command)
            elif cmds.json:
                routes += parse_routes(out, suite="frr", command=command)
            else:
                routes += parse_routes(out, suite=text_suite, command=command)
    return RouterState(
        router=router.name,
        suite=suite,
        version=version,
        vtysh_ok=vtysh_ok,
        daemons=tuple(daemons),
        summary=summary4,
        summary_v6=summary6,
        routes=tuple(dict.fromkeys(routes)),
        pool_paths=None if pool_paths is None else tuple(pool_paths),
        last_errors=tuple(last_errors),
        raw=tuple(raw),
    )


# What a parser may raise on output it did not foresee (instead of a ParseError)
ROUTER_OUTPUT_BUGS = (
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    RecursionError,
    OverflowError,
    ZeroDivisionError,
)


def new_marker() -> str:
    return f"@@ROUTERCTL-{secrets.token_hex(6)}"


def gather(
    transport: Transport,
    topology: Topology,
    router: Router,
    *,
    addresses: Sequence[IPAddress] = (),
    bundle: bool = False,
    timeout: float = 30.0,
) -> RouterState:
    """One exec on ``transport``: the whole router state verify needs (+ bundle extras).

    ``addresses``: the service IPs whose routes zebra is asked for (FRR).
    """
    marker = new_marker()
    script = build_script(topology, router, marker, addresses=addresses, bundle=bundle)
    res = transport.run("sh -s", stdin=script.encode(), timeout=timeout)
    try:
        return parse_state(
            res.stdout, marker, topology=topology, router=router, addresses=addresses
        )
    except ROUTER_OUTPUT_BUGS as exc:
        # the router-output boundary: whatever a parser missed is a parse error (exit 6,
        # one line), not an internal error; --debug shows the traceback (chained)
        raise ParseError(
            f"{transport.host}: unexpected router output ({type(exc).__name__}: {str(exc)[:120]})",
            hint="rerun with --debug and report it; 'routerctl support-bundle' saves the output",
        ) from exc
