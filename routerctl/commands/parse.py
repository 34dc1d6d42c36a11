"""CLI command: ``routerctl parse`` -- read a pasted or saved router output into the model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from routerctl.cli_common import OutputFormat, OutputOption, Suite, print_json, safe, stdout
from routerctl.errors import UsageError
from routerctl.model import BgpNeighbor, BgpSummary, PoolPath, Route
from routerctl.parsing import Parsed, parse
from routerctl.platform import TEXT_SUMMARY_COMMAND


def _read(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    path = Path(file)
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(
            f"cannot read {file}: {exc.strerror or exc}",
            hint="give a file with the router output, or - for stdin",
        ) from exc


def parse_cmd(
    file: Annotated[
        str, typer.Argument(help="File with the router output; - (default) reads stdin.")
    ] = "-",
    suite: Annotated[
        Suite | None,
        typer.Option(
            "--suite", "-s", help="Routing suite (default: detected).", case_sensitive=False
        ),
    ] = None,
    command: Annotated[
        str | None,
        typer.Option(
            "--command",
            "-c",
            help=f'The show command that printed it, e.g. "{TEXT_SUMMARY_COMMAND}" '
            "(default: the echoed command line, else detected from the content).",
        ),
    ] = None,
    output: OutputOption = OutputFormat.table,
) -> None:
    """Parse a Quagga/FRR `show` output (text or FRR JSON) and print the typed model."""
    parsed = parse(_read(file), command=command, suite=suite.value if suite else None)
    if output is OutputFormat.json:
        print_json(parsed)
    else:
        _print_table(parsed)


def _print_table(parsed: Parsed) -> None:
    if isinstance(parsed, dict):
        stdout.print(_neighbor_table("BGP neighbors", list(parsed.values())))
        return
    if not parsed:
        stdout.print("(no routes)")
        return
    first = parsed[0]
    if isinstance(first, BgpSummary):
        for s in parsed:
            assert isinstance(s, BgpSummary)
            if s.instance_missing:
                stdout.print("no BGP instance on this router")
                continue
            title = (
                f"BGP {s.afi} {s.safi}"
                + (f" vrf {s.vrf}" if s.vrf else "")
                + f" — router-id {s.router_id or '?'}, local AS {s.local_as or '?'}"
            )
            stdout.print(_neighbor_table(safe(title), list(s.neighbors)))
        return
    if isinstance(first, PoolPath):
        stdout.print(_path_table([p for p in parsed if isinstance(p, PoolPath)]))
        return
    stdout.print(_route_table([r for r in parsed if isinstance(r, Route)]))


def _path_table(paths: list[PoolPath]) -> Table:
    table = Table(title="BGP table (valid paths)", title_justify="left")
    for col in ("Network", "Next hop", "Best", "Multipath"):
        table.add_column(col)
    for p in paths:
        cells = (p.prefix, _dash(p.peer), "yes" if p.best else "", "yes" if p.multipath else "")
        table.add_row(*(safe(str(c)) for c in cells))
    return table


def _dash(value: object) -> str:
    return "-" if value is None else str(value)


def _neighbor_table(title: str, neighbors: list[BgpNeighbor]) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("Neighbor", "AS", "State", "Up (s)", "PfxRcd", "PfxSnt", "Description"):
        table.add_column(col)
    for n in neighbors:
        name = str(n.address) if n.address is not None else (n.interface or "?")
        if n.hostname:
            name = f"{n.hostname}({name})"
        rcd = "(Policy)" if n.policy_blocked_in else _dash(n.prefixes_received)
        snt = "(Policy)" if n.policy_blocked_out else _dash(n.prefixes_sent)
        cells = (name, n.remote_as, n.state.value, _dash(n.uptime), rcd, snt, n.description or "")
        table.add_row(*(safe(c) for c in cells))
    return table


def _route_table(routes: list[Route]) -> Table:
    table = Table(title="Routes", title_justify="left")
    for col in ("Prefix", "Protocol", "Sel", "FIB", "Dist/Metric", "Next hops"):
        table.add_column(col)
    for r in routes:
        hops = []
        for nh in r.nexthops:
            where = (
                str(nh.address)
                if nh.address is not None
                else ("blackhole" if nh.blackhole else "unreachable" if nh.unreachable else "")
            )
            if nh.interface:
                where = f"{where} {nh.interface}".strip()
            flags = [f for f, on in (("fib", nh.fib), ("inactive", not nh.active)) if on]
            hops.append(where + (f" [{','.join(flags)}]" if flags else ""))
        prefix = str(r.prefix) + (f" vrf {r.vrf}" if r.vrf else "")
        status = "r" if r.rejected else "q" if r.queued else "*" if r.fib else ""
        table.add_row(
            safe(prefix),
            safe(r.protocol),
            ">" if r.selected else "",
            status,
            safe(f"{_dash(r.distance)}/{_dash(r.metric)}"),
            "\n".join(safe(h) for h in hops),
        )
    return table


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("parse")(parse_cmd)
