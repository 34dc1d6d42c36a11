"""Read a router's BGP state in ONE exec and ONE vtysh start (services: ``routerctl.ops.probe``).

One shell script per run: it checks the daemons, then starts vtysh once with
``-E -c 'show version' -c ...`` -- the version (which names the suite) and only what
verify needs: the BGP summary, the pools, the service lookups. ``-E`` echoes each
command behind the prompt, which splits the outputs (both FRR's JSON and Quagga's text)
without a second vtysh start (a vtysh start costs ~50 ms on the lab's router, its own
``--help`` as much). The commands are the suite's the router is pinned to, else a guess
from the suites' pid dirs; when the version names another suite, ``gather`` runs once
more with that suite pinned (a second exec, only then). FRR answers in JSON, Quagga in
text (TextFSM via ``routerctl.parsing``). Which commands each suite gets is its platform
profile's data.
"""

from __future__ import annotations

import json
import secrets
import shlex
from collections.abc import Sequence

from routerctl.errors import CommandError, ParseError
from routerctl.model import BgpSummary, IPAddress, PoolPath, Route, RouterState
from routerctl.parsing import parse_bgp_summary, parse_bgp_table, parse_routes
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
        table = c.table_v6 if net.version == 6 else c.table_v4
        if table is not None:
            out.append((f"table {net}", (table.format(net=net),)))
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


VERSION_COMMAND = "show version"


def _batch(
    topology: Topology, router: Router, suite: str, addresses: Sequence[IPAddress]
) -> list[str]:
    """The commands of the one vtysh start: ``show version`` first, then the planned ones."""
    planned = _commands_for(topology, router, suite, addresses)
    return [VERSION_COMMAND, *(c for _, cmds in planned for c in cmds)]


def build_script(
    topology: Topology,
    router: Router,
    marker: str,
    *,
    addresses: Sequence[IPAddress] = (),
    bundle: bool = False,
    suite: str | None = None,
) -> str:
    """The POSIX-sh (busybox ash) script that gathers everything in one exec.

    ``suite``: the commands to run (default: the router's pinned suite, else a guess
    from the suites' pid dirs, first profile first).
    """
    lines = [
        f"M={marker}",
        # shell builtins only up to vtysh (read, not cat or $(...)): every fork is a
        # process start in the router, the floor is one vtysh start
        'echo "$M release"',
        'while IFS= read -r l || [ -n "$l" ]; do printf \'%s\\n\' "$l"; done '
        "2>/dev/null </etc/openwrt_release",
        'echo "$M daemons"',
        # pid files first (namespace-correct), pidof only where no suite pid dir exists
        f"for d in {' '.join(DAEMONS)}; do s=0; n=0; for r in {' '.join(PID_DIRS)}; do "
        '[ -d "$r" ] && n=1; p=; [ -r "$r/$d.pid" ] && read -r p <"$r/$d.pid"; '
        '[ -n "$p" ] && kill -0 "$p" 2>/dev/null && s=1; done; '
        '[ "$n" = 0 ] && pidof "$d" >/dev/null 2>&1 && s=1; echo "$d $s"; done',
    ]
    forced = suite if suite in COMMANDS else router.suite if router.suite in COMMANDS else None
    if forced:
        lines.append(f"S={forced}")
    else:
        # a guess only (the version in the batch decides): the first profile unless only
        # another suite's pid dir exists
        first, *others = PROFILES.values()
        lines.append(f"S={first.name}")
        for p in others:
            lines.append(f"[ -d {first.pid_dir} ] || {{ [ -d {p.pid_dir} ] && S={p.name}; }}")
    for name in COMMANDS:
        lines.append(f'if [ "$S" = {name} ]; then')
        args = " ".join(f"-c {shlex.quote(c)}" for c in _batch(topology, router, name, addresses))
        lines.append(f'  echo "$M batch {name}"; vtysh -E {args} 2>&1; echo "$M rc $?"')
        if bundle:
            for i, cmd in enumerate(BUNDLE_COMMANDS[name]):
                lines.append(
                    f'  echo "$M extra {i}"; vtysh -c {shlex.quote(cmd)} 2>&1; echo "$M rc $?"'
                )
        lines.append("fi")
    lines.append('echo "$M end"')
    return "\n".join(lines) + "\n"


def split_echoed(text: str, commands: Sequence[str]) -> tuple[str, list[str]]:
    """Split the output of ``vtysh -E -c C1 -c C2 ...`` at its echo lines (``<prompt>C``).

    Returns what came before the first echo line (stderr of a failing vtysh, say) and
    one output per command that was echoed, in order; a batch that stopped early (vtysh
    exits at the first failing command) has fewer outputs than commands.
    """
    lines = text.split("\n")
    lead: list[str] = []
    outs: list[list[str]] = []
    prompt: str | None = None
    cur = lead
    for line in lines:
        i = len(outs)
        if i < len(commands):
            cmd = commands[i]
            if prompt is None:
                if line.endswith("# " + cmd):
                    prompt = line[: len(line) - len(cmd)]
                    cur = []
                    outs.append(cur)
                    continue
            elif line == prompt + cmd:
                cur = []
                outs.append(cur)
                continue
        cur.append(line)
    return "\n".join(lead), ["\n".join(o) for o in outs]


# Bytes of script per SSH message. Through a ProxyCommand like busybox nc (the lab's;
# it reads 1 KiB at a time) a longer message leaves in two TCP writes, and the second
# waits for the router's delayed ACK of the first (Nagle on the proxy's socket): measured
# +40 ms per verify for the lab's 1,144-byte script. So a longer script travels in two
# messages with a round trip between: the first part in the exec request (the router
# answers it), the rest as stdin (sent with the EOF in one write).
MESSAGE_BYTES = 850


def exec_parts(script: str) -> tuple[str, str]:
    """(command, stdin) that run ``script`` in sh, each at most ~``MESSAGE_BYTES``."""
    if len(script) <= MESSAGE_BYTES:
        return "sh -s", script
    tail = 'eval "$(cat)"'
    cut = 0  # only before a top-level statement: a suite's block or the end marker
    for i, ch in enumerate(script):
        if ch != "\n" or not script.startswith(("if ", 'echo "$M end"'), i + 1):
            continue
        if len(shlex.quote(script[: i + 1] + tail)) + 6 > MESSAGE_BYTES:
            break
        cut = i + 1
    if cut == 0:
        return "sh -s", script
    return "sh -c " + shlex.quote(script[:cut] + tail), script[cut:]


def script_of(command: str, stdin: str) -> str:
    """The script ``exec_parts`` split (for fakes that answer the script)."""
    if command == "sh -s":
        return stdin
    head = shlex.split(command)[2]
    return head.removesuffix('eval "$(cat)"') + stdin


class WrongSuite(Exception):
    """The batch's version names another suite than the one the script guessed."""

    def __init__(self, suite: str) -> None:
        super().__init__(suite)
        self.suite = suite


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


def parse_state(
    text: str,
    marker: str,
    *,
    topology: Topology,
    router: Router,
    addresses: Sequence[IPAddress] = (),
    suite: str | None = None,
) -> RouterState:
    """Turn the script's output into a ``RouterState``.

    ``suite``: the suite ``build_script`` was pinned to. Raises ``WrongSuite`` when the
    version names another suite than the script guessed (``gather`` then runs again).
    """
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
    batch_key = next((k for k in sec if k.startswith("batch ") and not k.endswith(" rc")), "")
    guessed = batch_key[6:] or None
    if guessed is not None and guessed not in COMMANDS:
        raise ParseError(
            f"the state script on {router.name} named an unknown suite {guessed[:40]!r}",
            hint="see 'routerctl support-bundle' for the raw output",
        )
    rc = sec.get(f"{batch_key} rc", "1").strip()
    batch_text = sec.get(batch_key, "")
    batch = _batch(topology, router, guessed, addresses) if guessed else []
    lead, outs = split_echoed(batch_text, batch)
    vtysh_ok = len(outs) > 1 or (len(outs) == 1 and rc == "0")
    version_text = outs[0].strip() if outs else lead.strip()
    # "FRRouting 8.4.4 (OpenWrt) on Linux(6.1.0)." -> "FRRouting 8.4.4 (OpenWrt)"
    version = version_text.split("\n", 1)[0].split(" on ", 1)[0] or None
    pinned = suite if suite in COMMANDS else router.suite if router.suite in COMMANDS else None
    found: str | None = None
    if vtysh_ok:
        found = pinned or identify(version=version_text)
        if found is None and rc == "0" and len(outs) == len(batch):
            found = guessed  # no known marker, but the guessed suite's batch all answered
        if found is not None and found != guessed:
            raise WrongSuite(found)
    raw: list[tuple[str, str]] = [("cat /etc/openwrt_release", sec.get("release", ""))]
    raw.append((f"vtysh -c '{VERSION_COMMAND}'", version_text))
    summary4: BgpSummary | None = None
    summary6: BgpSummary | None = None
    routes: list[Route] = []
    pool_paths: list[PoolPath] | None = None
    last_errors: list[tuple[str, str]] = []
    # the text dialect is what vtysh says it is (a pinned suite only picks the commands)
    text_suite = identify(version=version) if version else None
    suite = found
    if suite is not None:
        cmds = COMMANDS[suite]
        planned = _commands_for(topology, router, suite, addresses)
        # each command's output and exit status: vtysh stops at the first failing
        # command, which gets the batch's status (and, with no output, what it printed
        # before the echo lines); the ones after it never ran
        j = 1
        for key, group in planned:
            texts, rcs = [], []
            for _ in group:
                if j < len(outs):
                    failed = j == len(outs) - 1 and rc != "0"
                    texts.append(outs[j] if outs[j].strip() or not failed else lead)
                    rcs.append(rc if failed else "0")
                else:
                    texts.append(lead)
                    rcs.append(rc if rc != "0" else "1")
                j += 1
            sec[f"cmd {key}"] = "\n".join(texts)
            sec[f"cmd {key} rc"] = next((r for r in rcs if r != "0"), "0")
        healthy = all(up for _, up in daemons)
        if not healthy:
            shown = "\n".join(t for t in (lead, *outs[1:]) if t.strip())  # without the version
            raw.append((" ; ".join(c for _, cs in planned for c in cs), shown))
        else:
            if "extra 0" in sec:  # a support bundle: keep the batch exactly as printed
                raw.append(("vtysh batch (as printed)", batch_text))
            raw += [(" ; ".join(c), sec.get(f"cmd {key}", "")) for key, c in planned]
        raw += [
            (command, sec[f"extra {i}"])
            for i, command in enumerate(BUNDLE_COMMANDS[suite])
            if f"extra {i}" in sec
        ]
        # with a daemon down vtysh cannot answer the BGP commands; the daemons check says so
        if not all(up for _, up in daemons):
            planned = []
        if (cmds.pool_is_bgp_table or cmds.table_v4 is not None) and planned:
            pool_paths = []
        for key, commands in planned:
            out = sec.get(f"cmd {key}", "")
            command = commands[0]
            _check_vtysh(out, command, sec.get(f"cmd {key} rc", "0"))
            instance_missing = out.strip().startswith("%")
            if cmds.json and not instance_missing and out.lstrip()[:1] not in ("{", "["):
                first = out.strip().split("\n", 1)[0]
                raise ParseError(
                    f"'{command}' did not return JSON: {first[:80]}"
                    if first
                    else f"'{command}' printed nothing",
                    hint="see 'routerctl support-bundle' for the raw output",
                )
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
            elif key.startswith("table "):
                # Quagga's BGP table: which node announced what (zebra has the best only)
                if pool_paths is not None:
                    pool_paths += parse_bgp_table(out, suite=text_suite, command=command)
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
    """One exec on ``transport`` (two only when the pid dirs guessed the suite wrong):
    the whole router state verify needs (+ bundle extras).

    ``addresses``: the service IPs whose routes zebra is asked for (FRR).
    """
    suite: str | None = None
    for _ in range(2):
        marker = new_marker()
        script = build_script(
            topology, router, marker, addresses=addresses, bundle=bundle, suite=suite
        )
        command, rest = exec_parts(script)
        res = transport.run(command, stdin=rest.encode(), timeout=timeout)
        try:
            return parse_state(
                res.stdout,
                marker,
                topology=topology,
                router=router,
                addresses=addresses,
                suite=suite,
            )
        except WrongSuite as wrong:  # the pid dirs guessed wrong: once more, pinned
            suite = wrong.suite
        except ROUTER_OUTPUT_BUGS as exc:
            # the router-output boundary: whatever a parser missed is a parse error (exit 6,
            # one line), not an internal error; --debug shows the traceback (chained)
            raise ParseError(
                f"{transport.host}: unexpected router output "
                f"({type(exc).__name__}: {str(exc)[:120]})",
                hint="rerun with --debug and report it; 'routerctl support-bundle' saves the "
                "output",
            ) from exc
    raise AssertionError("unreachable: a pinned suite's script cannot guess wrong")
