"""FRR JSON outputs verify gathers beyond the parsers' typed getters: the summary with
each peer's ``connectionsDropped``, the pools' BGP-table paths, the last reset reasons,
and the split of one vtysh call's back-to-back JSON documents."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from routerctl.errors import ParseError
from routerctl.model import BgpSummary, IPAddress, PoolPath
from routerctl.parsing.api import parse_bgp_summary


def _load_json(text: str, command: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        first = text.strip().splitlines()[0] if text.strip() else "(empty)"
        raise ParseError(
            f"'{command}' did not return JSON (line {exc.lineno}): {first[:80]}",
            hint="is this FRR >= 7? pin suite: quagga in the topology for Quagga routers",
        ) from exc


def parse_frr_summary(text: str, *, command: str = "show bgp summary json") -> BgpSummary:
    """FRR's summary JSON via routerctl.parsing, plus each peer's connectionsDropped
    (which flap detection needs and the summary model leaves to ``neighbors json``)."""
    summary = parse_bgp_summary(text, suite="frr", command=command)
    data = _load_json(text, command)
    peers: Any = data.get("peers") if isinstance(data, dict) else None
    if peers is None and isinstance(data, dict):
        inner = [v for k, v in data.items() if k.endswith("Unicast") and isinstance(v, dict)]
        peers = inner[0].get("peers") if inner else None
    dropped = {
        str(k): int(v["connectionsDropped"])
        for k, v in (peers or {}).items()
        if isinstance(v, dict) and isinstance(v.get("connectionsDropped"), int)
    }
    neighbors = tuple(
        n
        if n.connections_dropped is not None
        else replace(n, connections_dropped=dropped.get(str(n.address or n.interface)))
        for n in summary.neighbors
    )
    return replace(summary, neighbors=neighbors)


def json_docs(text: str, commands: Sequence[str]) -> list[Any]:
    """The JSON documents one vtysh call with several ``-c`` printed, one per command."""
    dec = json.JSONDecoder()
    docs: list[Any] = []
    pos = 0
    while len(docs) < len(commands):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            doc, pos = dec.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            rest = text[pos:].strip().splitlines()
            raise ParseError(
                f"'{commands[len(docs)]}' did not return JSON: {rest[0][:80] if rest else ''}",
                hint="see 'routerctl support-bundle' for the raw output",
            ) from exc
        docs.append(doc)
    if len(docs) != len(commands):
        raise ParseError(f"'{commands[len(docs)]}' printed nothing")
    return docs


def parse_frr_pool_paths(text: str, *, command: str) -> list[PoolPath]:
    """FRR's ``show bgp <afi> unicast <net> longer-prefixes json``: every valid path."""
    data = _load_json(text, command)
    paths: list[PoolPath] = []
    for prefix, entries in ((data or {}).get("routes") or {}).items():
        net = ipaddress.ip_network(prefix)
        for e in entries:
            if not e.get("valid", False):
                continue
            peer = e.get("peerId")
            try:
                addr: IPAddress | None = ipaddress.ip_address(peer) if peer else None
            except ValueError:
                addr = None
            paths.append(
                PoolPath(
                    net,
                    addr,
                    best=bool(e.get("bestpath", False)),
                    multipath=bool(e.get("multipath", False)),
                )
            )
    return paths


def parse_frr_last_errors(text: str, *, command: str) -> list[tuple[str, str]]:
    """(neighbor, reason) from ``show bgp neighbors json`` for sessions not Established."""
    data = _load_json(text, command)
    out: list[tuple[str, str]] = []
    for addr, n in (data or {}).items():
        if not isinstance(n, dict) or n.get("bgpState") == "Established":
            continue
        reason = n.get("lastNotificationReason") or ""
        due = n.get("lastResetDueTo") or ""
        text_ = reason or (due if due and due != "Unknown" else "")
        if text_:
            out.append((addr, text_))
    return out
