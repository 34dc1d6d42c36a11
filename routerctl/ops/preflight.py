"""Run the pre-flight: its lines ride in the exec that already reads the router
(provision's lock round trip, plan's detection, or ``routerctl preflight``'s own one).

``ROUTERCTL_TEST_KALLSYMS``: a file on the router read instead of /proc/kallsyms (and
/proc/config.gz is then skipped) -- how the lab tests show a kernel without TCP_MD5SIG.
"""

from __future__ import annotations

import os
from dataclasses import replace

from routerctl.errors import RefusedError
from routerctl.platform import PROFILES, openwrt
from routerctl.platform.preflight import KALLSYMS, KERNEL_CONFIG, maxpaths_line, preflight_lines
from routerctl.preflight import PreflightReport, evaluate, parse_preflight
from routerctl.topology import Router, Topology
from routerctl.transport import Transport

TEST_KALLSYMS_ENV = "ROUTERCTL_TEST_KALLSYMS"


class PreflightBlocked(RefusedError):
    """A blocking pre-flight check: nothing was changed (exit 4)."""


def lines_for(topology: Topology, router: Router) -> list[str]:
    """The pre-flight's shell lines for ``router``."""
    kallsyms, config = KALLSYMS, KERNEL_CONFIG
    override = os.environ.get(TEST_KALLSYMS_ENV)
    if override:
        kallsyms, config = override, "/nonexistent/config.gz"
    return preflight_lines(
        nodes=[str(n.address) for n in topology.nodes_for(router)],
        password=topology.bgp.password is not None,
        suites=[(p.name, (*p.packages, p.vtysh_package)) for p in PROFILES.values()],
        kallsyms=kallsyms,
        kernel_config=config,
    )


def judge(
    output: str,
    facts: openwrt.RouterFacts,
    *,
    topology: Topology,
    router: Router,
    manage_firewall: bool,
) -> PreflightReport:
    """The checks, from the exec's output and the detection facts read in it."""
    suite = openwrt.choose_suite(facts, pin=router.suite, available=None)
    todo: list[str] = []
    if openwrt.installed_suite(facts) is None or "/usr/bin/vtysh" not in facts.files:
        todo = openwrt.packages_to_install(suite, facts, available=None)
    return evaluate(
        parse_preflight(output),
        topology=topology,
        router=router,
        suite=suite.name,
        todo=todo,
        installed=facts.installed,
        overlay_free_kb=facts.overlay_free_kb,
        manage_firewall=manage_firewall,
    )


def manage_firewall(topology: Topology, open_firewall: bool) -> bool:
    return open_firewall or topology.firewall.manage


def refuse_if_blocked(report: PreflightReport, host: str, *, installed: bool = False) -> None:
    """Raise ``PreflightBlocked`` naming the first blocking check (and how many more)."""
    blocking = report.blocking
    if not blocking:
        return
    first = blocking[0]
    more = f" (and {len(blocking) - 1} more: {', '.join(c.name for c in blocking[1:])})"
    who = f"{first.subject}: " if first.subject else ""
    raise PreflightBlocked(
        f"pre-flight on {host} ({report.router}) blocks, "
        + (
            "the suite was installed, nothing configured: "
            if installed
            else "nothing was changed: "
        )
        + f"{first.name}: {who}{first.message}"
        + (more if len(blocking) > 1 else ""),
        hint=first.hint or "see 'routerctl preflight'",
    )


def check_installed_multipath(
    transport: Transport, topology: Topology, router: Router
) -> PreflightReport | None:
    """After an install: bgpd's compiled multipath limit vs ``bgp.ecmp`` (one exec).

    None when it fits (or cannot be read: the pre-flight already warned).
    """
    res = transport.run(maxpaths_line(), timeout=30)
    report = evaluate(parse_preflight(res.stdout), topology=topology, router=router, suite=None)
    blocking = [c for c in report.blocking if c.name == "suite-multipath"]
    return replace(report, checks=tuple(blocking)) if blocking else None


def run_preflight(
    transport: Transport,
    topology: Topology,
    router: Router,
    *,
    open_firewall: bool = False,
    timeout: float = 60.0,
) -> PreflightReport:
    """One exec: detection and every pre-flight fact; read-only."""
    script = "\n".join([*openwrt.detect_lines(), *lines_for(topology, router), "exit 0"])
    res = transport.run(script, timeout=timeout)
    facts = openwrt.parse_facts(res.stdout, host=transport.host)
    return judge(
        res.stdout,
        facts,
        topology=topology,
        router=router,
        manage_firewall=manage_firewall(topology, open_firewall),
    )
