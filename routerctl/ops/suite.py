"""Install, enable and start the routing suite on a router (over a ``Transport``).

The facts are ``routerctl.platform`` data; this module only runs them: one detection
round trip, the package manager's update/install, the suite's enable script and init
script, then a poll (with a deadline) until vtysh answers.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from routerctl.errors import BackendError, RefusedError
from routerctl.platform.openwrt import (
    PACKAGE_MANAGERS,
    RouterFacts,
    choose_suite,
    detect_script,
    installed_suite,
    packages_to_install,
    parse_facts,
)
from routerctl.platform.suites import PROFILES, SuiteProfile
from routerctl.transport import CommandResult, Transport

Progress = Callable[[str], None]


def detect(transport: Transport, *, timeout: float = 30.0) -> RouterFacts:
    """One round trip: release, package manager, installed packages, free space."""
    res = transport.run(detect_script(), timeout=timeout)
    return parse_facts(res.stdout, host=transport.host)


def _failure_lines(res: CommandResult) -> str:
    """The useful part of a package manager's failure output, on one line."""
    text = f"{res.stdout}\n{res.stderr}"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    picked = [
        ln
        for ln in lines
        if ln.startswith(("*", "ERROR", "Unknown package", "Only have"))
        or "no such package" in ln
        or "No space" in ln
    ]
    return "; ".join(dict.fromkeys(picked or lines[-3:]))


@dataclass(frozen=True)
class EnsureResult:
    suite: SuiteProfile
    facts: RouterFacts
    installed: tuple[str, ...]  # packages this run installed
    enabled: bool  # daemon config changed
    restarted: bool
    acted: bool = True  # ran anything on the router beyond the detection it was given


def ensure_suite(
    transport: Transport,
    *,
    pin: str = "auto",
    progress: Progress = lambda _msg: None,
    ready_timeout: float = 60.0,
    install_timeout: float = 600.0,
    facts: RouterFacts | None = None,
    before_install: Callable[[SuiteProfile], None] | None = None,
) -> EnsureResult:
    """Detect, install what is missing, enable the daemons, (re)start, wait for vtysh.

    ``facts``: what ``detect_script()`` found moments ago in the caller's own round
    trip (provision runs it under its lock); None detects here. ``before_install`` sees
    the suite about to be installed and may refuse it (raise) before anything is installed.
    """
    if facts is None:
        facts = detect(transport)
    progress(
        f"detected {facts.description or 'OpenWrt ' + facts.release} ({facts.package_manager})"
    )
    pm = PACKAGE_MANAGERS[facts.package_manager]
    available: frozenset[str] | None = None
    present = installed_suite(facts)
    if pin != "auto" and present not in (None, pin):
        raise RefusedError(
            f"{transport.host} has {present} installed but the topology pins suite {pin}",
            hint=f"remove {present} by hand, or set routers[].suite to {present} or auto",
        )
    have = present if pin == "auto" else pin
    need_install = (
        have is None
        or not all(p in facts.installed for p in PROFILES[have].packages)
        or "/usr/bin/vtysh" not in facts.files
    )
    todo: list[str] = []
    if need_install:
        progress(f"{pm.update} (packages to install)")
        upd = transport.run(pm.update, timeout=install_timeout)
        if not upd.ok:
            raise BackendError(
                f"'{pm.update}' failed on {transport.host} (exit {upd.exit_status}): "
                f"{_failure_lines(upd)}",
                hint="check the router's internet access and feeds; nothing was configured",
            )
        if pm.list_available is not None:
            lst = transport.run(pm.list_available, timeout=install_timeout)
            available = pm.parse_available(lst.stdout) if lst.ok else None
    suite = choose_suite(facts, pin=pin, available=available)
    if need_install:
        todo = packages_to_install(suite, facts, available=available)
    if todo and before_install is not None:
        before_install(suite)
    progress(f"suite {suite.name}" + (f": installing {' '.join(todo)}" if todo else ""))
    if todo:
        sizes = dict(suite.size_kb)
        need_kb = sum(sizes.get(p, 500) for p in todo)
        free = facts.overlay_free_kb
        if free is not None and free < need_kb:
            raise BackendError(
                f"not enough space on /overlay of {transport.host}: {free} KB free, "
                f"about {need_kb} KB needed for {' '.join(todo)}",
                hint="free space (remove packages) or set up extroot; nothing was installed",
            )
        cmd = f"{pm.install} {' '.join(shlex.quote(p) for p in todo)}"
        res = transport.run(cmd, timeout=install_timeout)
        if not res.ok:
            raise BackendError(
                f"'{cmd}' failed on {transport.host} (exit {res.exit_status}): "
                f"{_failure_lines(res)}",
                hint="nothing was configured; fix the package problem and rerun provision",
            )
        facts = detect(transport)
        still = [p for p in todo if p not in facts.installed and p in suite.packages]
        if still:
            raise BackendError(
                f"'{cmd}' exited 0 but {' '.join(still)} is still not installed on "
                f"{transport.host}",
                hint="nothing was configured; check the package manager's output by hand",
            )
    if not todo and facts.ready(suite):
        progress(f"{suite.name} is enabled and running")
        return EnsureResult(
            suite=suite, facts=facts, installed=(), enabled=False, restarted=False, acted=False
        )
    en = transport.run(suite.enable_script, timeout=30)
    if not en.ok:
        raise BackendError(
            f"cannot enable {suite.name} daemons on {transport.host}: {en.stderr.strip()}"
        )
    changed = "changed" in en.stdout.split()
    running = facts.running.get(suite.name, False)
    action = "restart" if changed else ("" if running else "start")
    init = f"{suite.init_script} enable"
    if action:
        init += f" && {suite.init_script} {action}"
        progress(f"{suite.init_script} {action}")
    res = transport.run(init, timeout=120)
    if not res.ok:
        raise BackendError(
            f"'{init}' failed on {transport.host} (exit {res.exit_status}): "
            f"{(res.stderr or res.stdout).strip()}",
        )
    wait_ready(transport, suite, timeout=ready_timeout)
    progress(f"{suite.name} answers on {transport.host}")
    return EnsureResult(
        suite=suite,
        facts=facts,
        installed=tuple(todo),
        enabled=changed,
        restarted=bool(action),
    )


def wait_ready(transport: Transport, suite: SuiteProfile, *, timeout: float) -> None:
    """Poll (with a deadline) until vtysh answers and bgpd is up."""
    deadline = time.monotonic() + timeout
    while True:
        if transport.run(suite.ready_check, timeout=max(5.0, timeout)).ok:
            return
        if time.monotonic() > deadline:
            raise BackendError(
                f"{suite.name} on {transport.host} did not answer vtysh within {timeout:g}s",
                hint=f"check '{suite.init_script} status' and the system log on the router",
            )
        time.sleep(0.2)  # poll interval between round trips, bounded by the deadline
