"""Public parsing API: text or JSON in, typed model out."""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from routerctl.errors import ParseError
from routerctl.model import BgpNeighbor, BgpSummary, PoolPath, Route
from routerctl.parsing import json_path, text
from routerctl.parsing.detect import (
    SUITES,
    Prepared,
    detect_command,
    detect_suite,
    normalise_command,
    prepare,
)
from routerctl.parsing.values import shown
from routerctl.platform import TEXT_SUMMARY_COMMAND

Parsed = list[BgpSummary] | list[Route] | list[PoolPath] | dict[str, BgpNeighbor]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _boundary(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """The one way into the parsers: router output is external input, so whatever it
    makes go wrong leaves as a ``ParseError`` (exit code 6), never as a ValueError,
    TypeError, RecursionError... (exit 70). The parsers check shapes and ranges and name
    the field themselves; this is the net for what they did not foresee, naming the
    innermost field being read (a ``where`` in the parsing frames) when there is one.

    Also runs without the cyclic GC: building a million small objects otherwise triggers
    full collections over an ever larger heap (3x slower at 100k routes). Whatever
    cycles TextFSM leaves behind are collected once the GC is back on."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        except (ParseError, MemoryError):
            raise
        except RecursionError as exc:
            raise ParseError(
                "router output nested too deeply to parse", hint="not a Quagga/FRR output"
            ) from exc
        except Exception as exc:
            where = _innermost_field(exc)
            raise ParseError(
                f"cannot read router output{f' at {where}' if where else ''}: "
                f"{type(exc).__name__}: {shown(str(exc))}",
                hint="not a Quagga/FRR output this parser knows; if it is, report it with --debug",
            ) from exc
        finally:
            if enabled:
                gc.enable()

    return wrapper


def _innermost_field(exc: BaseException) -> str | None:
    """The ``where`` (field path) of the innermost parsing frame that has one."""
    where = None
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals.get("__name__", "").startswith("routerctl.parsing"):
            local = frame.f_locals.get("where")
            if isinstance(local, str):
                where = local
        tb = tb.tb_next
    return where


# fullmatch on the stripped line (a ``\s*%?\s*`` prefix is quadratic on a run of blanks)
_NO_INSTANCE = re.compile(
    r"%?\s*(?:BGP instance not found|No BGP process is configured|"
    r"No BGP instances? (?:found|configured)|BGP is not running)\.?"
)
_BGP_SUMMARY = re.compile(r"show (?:ip |ipv6 )?bgp\b.*\bsummary\b.*")
_BGP_NEIGHBORS = re.compile(r"show (?:ip )?bgp\b.*\bneighbors?\b.*")
_ROUTE = re.compile(r"show (?:ip|ipv6) route\b.*")
# the BGP table (Quagga's text): the whole table or a pool's longer-prefixes
_BGP_TABLE = re.compile(
    r"show (?:ip bgp|ipv6 bgp|bgp(?: ipv4| ipv6)?(?: unicast)?)(?: \S+/\d+ longer-prefixes)?"
)


def _check_suite(suite: str | None) -> None:
    if suite is not None and suite not in SUITES:
        raise ParseError(f"unknown suite {suite!r}", hint=f"use {' or '.join(SUITES)}")


def _strip_json(command: str) -> str:
    return command[:-5] if command.endswith(" json") else command


def _prepare(output: str) -> Prepared:
    prepared = prepare(output)
    if not any(line.strip() for line in prepared.lines):
        raise ParseError("empty router output: nothing to parse", hint="pass the command's output")
    return prepared


def _run_text(
    prepared: Prepared, *, suite: str | None, command: str, output: str
) -> tuple[str, text.Table]:
    """Run the suite's template; if the suite was guessed and fails, try the other one."""
    _check_suite(suite)
    first = suite or detect_suite(output)
    order = [first] if suite else [first, *(s for s in SUITES if s != first)]
    error: ParseError | None = None
    for candidate in order:
        try:
            template = text.template_for(candidate, command)
        except ParseError as exc:
            error = error or exc
            continue
        try:
            return candidate, text.run_template(template, prepared)
        except ParseError as exc:
            error = error or exc
    assert error is not None
    raise error


def _afi_hint(command: str) -> tuple[str, str]:
    """(afi, safi) a command asks for, for outputs that do not print it."""
    m = re.search(r" (ipv4|ipv6)(?: (unicast|multicast|unreachability))?", command)
    return (m[1], m[2] or "unicast") if m else ("ipv4", "unicast")


@_boundary
def parse_bgp_summaries(
    output: str, *, suite: str | None = None, command: str | None = None
) -> list[BgpSummary]:
    """Every (VRF, AFI/SAFI) section of a ``show ... bgp ... summary`` output, text or JSON.

    Quagga 1.2.4 prints nothing at all (exit 0) when there is no ``router bgp`` -- and also
    when bgpd is not running (tell those apart by the daemons, not by this output): with
    ``suite="quagga"`` empty output is ``instance_missing``; without a suite it stays an error.
    """
    if suite == "quagga" and not output.strip():
        return [BgpSummary(router_id=None, local_as=None, instance_missing=True)]
    prepared = _prepare(output)
    cmd = normalise_command(command) if command else prepared.command
    if not cmd or not _BGP_SUMMARY.fullmatch(cmd):
        cmd = TEXT_SUMMARY_COMMAND
    cmd = _strip_json(cmd)
    if prepared.lines[0].lstrip().startswith("{"):
        return json_path.summaries(
            json_path.load(prepared, what="BGP summary"), afi_hint=_afi_hint(cmd)
        )
    body = [line for line in prepared.lines if line.strip()]
    if all(_NO_INSTANCE.fullmatch(line.strip()) for line in body):
        return [BgpSummary(router_id=None, local_as=None, instance_missing=True)]
    _, rows = _run_text(prepared, suite=suite, command=cmd, output=output)
    result = text.summaries_from_rows(rows.dicts(), afi_hint=_afi_hint(cmd))
    if not result:
        raise ParseError(
            "no BGP summary found in the output",
            hint=f"pass the output of `{TEXT_SUMMARY_COMMAND}`",
        )
    return result


@_boundary
def parse_bgp_summary(
    output: str,
    *,
    suite: str | None = None,
    afi: str | None = None,
    vrf: str | None = None,
    command: str | None = None,
) -> BgpSummary:
    """One BgpSummary: the section for ``afi``/``vrf`` (default: IPv4 of the default VRF).

    ``command`` tells the AFI of outputs that do not print it (``show bgp ipv6 unicast
    summary``).
    ``% BGP instance not found`` gives ``BgpSummary(instance_missing=True)``.
    """
    sections = parse_bgp_summaries(output, suite=suite, command=command)
    if sections[0].instance_missing:
        return sections[0]
    want_afi = afi or "ipv4"
    for s in sections:
        if s.afi == want_afi and s.vrf == vrf:
            return s
    if afi is None and vrf is None:
        return sections[0]
    return BgpSummary(
        router_id=sections[0].router_id, local_as=sections[0].local_as, vrf=vrf, afi=want_afi
    )


@_boundary
def parse_routes(
    output: str, *, suite: str | None = None, command: str | None = None
) -> list[Route]:
    """``show ip|ipv6 route [...]`` (text, any suite, or FRR JSON) as Route entries.

    Empty output is no routes: FRR prints nothing at all for a ``longer-prefixes``
    query that matches nothing."""
    prepared = prepare(output)
    if not any(line.strip() for line in prepared.lines):
        return []
    cmd = normalise_command(command) if command else prepared.command
    if not cmd or not _ROUTE.fullmatch(cmd):
        cmd = detect_command(output) or "show ip route"
        if not _ROUTE.fullmatch(cmd):
            cmd = "show ip route"
    cmd = _strip_json(cmd)
    if prepared.lines[0].lstrip().startswith("{"):
        return json_path.routes(json_path.load(prepared, what="routes"))
    used, rows = _run_text(prepared, suite=suite, command=cmd, output=output)
    return text.routes_from_table(rows, suite=used)


@_boundary
def parse_bgp_table(
    output: str, *, suite: str | None = None, command: str | None = None
) -> list[PoolPath]:
    """Quagga's ``show ip bgp [A.B.C.D/M longer-prefixes]`` / ``show bgp ipv6 ...`` (text):
    every valid path, its next hop as the peer.

    Empty output is no paths (a ``longer-prefixes`` query that matches nothing), and so is
    "No BGP process is configured"."""
    prepared = prepare(output)
    body = [line.strip() for line in prepared.lines if line.strip()]
    if not body or all(_NO_INSTANCE.fullmatch(line) for line in body):
        return []
    cmd = normalise_command(command) if command else prepared.command
    if not cmd or not _BGP_TABLE.fullmatch(cmd):
        cmd = "show ip bgp"
    _, rows = _run_text(prepared, suite=suite, command=cmd, output=output)
    return text.pool_paths_from_rows(rows.dicts())


@_boundary
def parse_bgp_neighbors_json(output: str) -> dict[str, BgpNeighbor]:
    """FRR ``show bgp [vrf X|all] neighbors json`` keyed by neighbor address or interface."""
    prepared = _prepare(output)
    if not prepared.lines[0].lstrip().startswith("{"):
        raise ParseError(
            "`show bgp neighbors` is parsed from JSON only",
            hint="run `show bgp neighbors json` (FRR) instead",
        )
    return json_path.neighbors(json_path.load(prepared, what="BGP neighbors"))


@_boundary
def parse(output: str, *, command: str | None = None, suite: str | None = None) -> Parsed:
    """Parse any supported output; ``command`` and ``suite`` are detected when not given."""
    _check_suite(suite)
    cmd = normalise_command(command) if command else detect_command(output)
    if cmd is None:
        raise ParseError(
            "cannot tell which command printed this output",
            hint=f'pass --command, e.g. --command "{TEXT_SUMMARY_COMMAND}"',
        )
    if _BGP_SUMMARY.fullmatch(cmd):
        return parse_bgp_summaries(output, suite=suite, command=cmd)
    if _BGP_NEIGHBORS.fullmatch(cmd):
        return parse_bgp_neighbors_json(output)
    if _ROUTE.fullmatch(cmd):
        return parse_routes(output, suite=suite, command=cmd)
    if _BGP_TABLE.fullmatch(cmd):
        return parse_bgp_table(output, suite=suite, command=cmd)
    raise ParseError(
        f"unsupported command {cmd!r}",
        hint="supported: show [ip] bgp ... summary, show ip|ipv6 route ..., "
        "show ip bgp [NET longer-prefixes] (Quagga), show bgp neighbors json",
    )
