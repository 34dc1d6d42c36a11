"""Router output (Quagga/FRR text via TextFSM, FRR JSON) into routerctl's typed model."""

from __future__ import annotations

from routerctl.errors import ParseError
from routerctl.parsing.api import (
    Parsed,
    parse,
    parse_bgp_neighbors_json,
    parse_bgp_summaries,
    parse_bgp_summary,
    parse_bgp_table,
    parse_routes,
)
from routerctl.parsing.detect import detect_command, detect_suite, is_json

__all__ = [
    "ParseError",
    "Parsed",
    "detect_command",
    "detect_suite",
    "is_json",
    "parse",
    "parse_bgp_neighbors_json",
    "parse_bgp_summaries",
    "parse_bgp_summary",
    "parse_bgp_table",
    "parse_routes",
]
