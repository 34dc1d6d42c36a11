"""Pre-flight (pure): what breaks BGP on OpenWrt outside ``router bgp``, judged before a
line is applied, and the firewall rules routerctl owns. See docs/preflight.md."""

from __future__ import annotations

from routerctl.preflight.checks import (
    BLOCKING,
    OK,
    WARNING,
    Check,
    PreflightFacts,
    PreflightReport,
    evaluate,
    parse_preflight,
)
from routerctl.preflight.firewall import FirewallPlan

__all__ = [
    "BLOCKING",
    "OK",
    "WARNING",
    "Check",
    "FirewallPlan",
    "PreflightFacts",
    "PreflightReport",
    "evaluate",
    "parse_preflight",
]
