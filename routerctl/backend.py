"""OpenWrt backend: detect release, package manager and routing suite; install and enable.

Platform differences are data: ``PACKAGE_MANAGERS`` (opkg, apk) and ``SUITES``
(FRR, Quagga) hold the commands, package names, paths and readiness checks; the
functions below only combine them. Every router interaction goes through a
``Transport``; one detection costs one round trip.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from routerctl.errors import BackendError, RefusedError, UsageError
from routerctl.transport import CommandResult, Transport

Progress = Callable[[str], None]


def _names_opkg(text: str) -> frozenset[str]:
    """``opkg list-installed`` / ``opkg list``: ``name - version[ - description]``."""
    return frozenset(ln.split(" - ", 1)[0].strip() for ln in text.splitlines() if " - " in ln)


def _names_lines(text: str) -> frozenset[str]:
    """``apk info``: one installed package name per line."""
    return frozenset(ln.strip() for ln in text.splitlines() if ln.strip())


@dataclass(frozen=True)
class PackageManager:
    name: str
    list_installed: str
    parse_installed: Callable[[str], frozenset[str]]
    update: str
    install: str  # package names are appended
    list_available: str | None  # after ``update``; None: decide from release data
    parse_available: Callable[[str], frozenset[str]] = _names_opkg


PACKAGE_MANAGERS: dict[str, PackageManager] = {
    # OpenWrt <= 24.10
    "opkg": PackageManager(
        name="opkg",
        list_installed="opkg list-installed",
        parse_installed=_names_opkg,
        update="opkg update",
        install="opkg install",
        list_available="opkg list",
    ),
    # OpenWrt 25.12+
    "apk": PackageManager(
        name="apk",
        list_installed="apk info",
        parse_installed=_names_lines,
        update="apk update",
        install="apk add",
        list_available=None,
    ),
}


@dataclass(frozen=True)
class Suite:
    """A routing suite as OpenWrt packages it."""

    name: str  # frr | quagga (also the render dialect)
    packages: tuple[str, ...]  # always needed
    vtysh_package: str  # installed only where the feed has it as its own package
    init_script: str
    enable_script: str  # POSIX sh: make the daemons start; prints "changed" if it changed files
    ready_check: str  # exits 0 once vtysh answers and bgpd is up
    size_kb: tuple[tuple[str, int], ...]  # rough installed size per package (with its libs)
    summary_command: str  # BGP summary for the confirm wait (parsed by routerctl.parsing)
    persisted_files: tuple[str, ...]  # what ``write memory``/``write file`` rewrites
    needs_bgpd_yes: bool  # /etc/frr/daemons must say bgpd=yes
    required_files: tuple[str, ...]  # must exist for the daemons to start


_FRR_ENABLE = r"""f=/etc/frr/daemons
[ -f "$f" ] || { echo "missing $f" >&2; exit 1; }
if ! grep -q '^bgpd=yes' "$f"; then
  if grep -q '^bgpd=' "$f"; then sed -i 's/^bgpd=.*/bgpd=yes/' "$f"; else echo bgpd=yes >> "$f"; fi
  echo changed
fi
if grep -q '^zebra=no' "$f"; then sed -i 's/^zebra=no/zebra=yes/' "$f"; echo changed; fi
exit 0"""

_QUAGGA_ENABLE = r"""for d in zebra bgpd; do
  f=/etc/quagga/$d.conf
  if [ ! -f "$f" ]; then
    mkdir -p /etc/quagga && ( umask 027; : > "$f" ) || exit 1
    id quagga >/dev/null 2>&1 && chown quagga:quagga "$f"
    echo changed
  fi
done
exit 0"""

SUITES: dict[str, Suite] = {
    "frr": Suite(
        name="frr",
        packages=("frr", "frr-zebra", "frr-bgpd"),
        vtysh_package="frr-vtysh",  # merged into frr since 2024
        init_script="/etc/init.d/frr",
        enable_script=_FRR_ENABLE,
        ready_check="vtysh -c 'show daemons' 2>/dev/null | grep -qw bgpd",
        size_kb=(("frr", 1700), ("frr-zebra", 1000), ("frr-bgpd", 2700), ("frr-vtysh", 600)),
        summary_command="show bgp summary json",
        persisted_files=("/etc/frr/frr.conf",),
        needs_bgpd_yes=True,
        required_files=(),
    ),
    "quagga": Suite(
        name="quagga",
        packages=("quagga", "quagga-zebra", "quagga-bgpd"),
        vtysh_package="quagga-vtysh",
        init_script="/etc/init.d/quagga",
        enable_script=_QUAGGA_ENABLE,
        # Quagga's vtysh has no "show daemons" and may exit 0 with bgpd down
        ready_check="pidof bgpd >/dev/null && vtysh -c 'show ip bgp summary' >/dev/null 2>&1",
        size_kb=(
            ("quagga", 700),
            ("quagga-zebra", 400),
            ("quagga-bgpd", 700),
            ("quagga-vtysh", 200),
        ),
        summary_command="show ip bgp summary",
        persisted_files=("/etc/quagga/zebra.conf", "/etc/quagga/bgpd.conf"),
        needs_bgpd_yes=False,
        required_files=("/etc/quagga/zebra.conf", "/etc/quagga/bgpd.conf"),
    ),
}

# What OpenWrt releases ship, for when the feed cannot be listed (apk): FRR from
# 21.02, Quagga until 23.05 (removed after), frr-vtysh merged into frr from 24.10.
FRR_SINCE = (21, 2)
QUAGGA_UNTIL = (23, 5)
FRR_VTYSH_MERGED_SINCE = (24, 10)

_RELEASE_VERSION = re.compile(r"^(\d+)\.(\d+)")
_SECTION = "@@routerctl@@"


def release_tuple(release: str) -> tuple[int, int] | None:
    """(23, 5) for "23.05.5"; None for SNAPSHOT and the like."""
    m = _RELEASE_VERSION.match(release)
    return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass(frozen=True)
class RouterFacts:
    """What one detection round trip found on the router."""

    release: str  # DISTRIB_RELEASE, e.g. "23.05.5"
    description: str  # DISTRIB_DESCRIPTION
    package_manager: str  # opkg | apk
    installed: frozenset[str]
    overlay_free_kb: int | None
    files: frozenset[str]  # which of the probed paths exist
    bgpd_enabled: bool  # FRR: bgpd=yes in /etc/frr/daemons
    running: dict[str, bool] = field(default_factory=dict)  # suite -> vtysh/bgpd answering
    enabled: dict[str, bool] = field(default_factory=dict)  # suite -> init script enabled

    def ready(self, suite: Suite) -> bool:
        """Installed, enabled at boot, configured to run bgpd, and answering."""
        return (
            self.running.get(suite.name, False)
            and self.enabled.get(suite.name, False)
            and (self.bgpd_enabled or not suite.needs_bgpd_yes)
            and all(f in self.files for f in suite.required_files)
        )


_PROBED_FILES = (
    "/etc/init.d/frr",
    "/etc/init.d/quagga",
    "/usr/bin/vtysh",
    "/etc/frr/daemons",
    "/etc/quagga/zebra.conf",
    "/etc/quagga/bgpd.conf",
)


def detect_script() -> str:
    """One POSIX-sh script printing every fact detection needs, in sections."""
    return "\n".join([*detect_lines(), "exit 0"])


def detect_lines() -> list[str]:
    """``detect_script()`` without its ``exit``: to run inside a bigger script."""
    pm_probe = " el".join(
        f"if command -v {pm.name} >/dev/null 2>&1; then echo {pm.name}; {pm.list_installed} "
        "2>/dev/null; "
        for pm in (PACKAGE_MANAGERS["apk"], PACKAGE_MANAGERS["opkg"])
    )
    files = " ".join(_PROBED_FILES)
    running = "; ".join(f"if {s.ready_check}; then echo {s.name}; fi" for s in SUITES.values())
    enabled = "; ".join(
        f"if [ -x {s.init_script} ] && {s.init_script} enabled; then echo {s.name}; fi"
        for s in SUITES.values()
    )
    return [
        f"echo {_SECTION}release; cat /etc/openwrt_release 2>/dev/null",
        f"echo {_SECTION}pm; {pm_probe}fi",
        f"echo {_SECTION}overlay; df -k /overlay 2>/dev/null || df -k / 2>/dev/null",
        f'echo {_SECTION}files; for f in {files}; do [ -e "$f" ] && echo "$f"; done',
        f"echo {_SECTION}daemons; grep -E '^bgpd=' /etc/frr/daemons 2>/dev/null",
        f"echo {_SECTION}running; {running}",
        f"echo {_SECTION}enabled; {enabled}",
    ]


def _sections(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(_SECTION):
            current = out.setdefault(line[len(_SECTION) :].strip(), [])
        elif current is not None:
            current.append(line)
    return out


def _df_available(lines: list[str]) -> int | None:
    words = " ".join(lines[1:]).split()  # busybox df may wrap a long device name
    try:
        return int(words[3])
    except (IndexError, ValueError):
        return None


def parse_facts(text: str, *, host: str) -> RouterFacts:
    """Read the output of ``detect_script()``."""
    sec = _sections(text)
    release_vars: dict[str, str] = {}
    for line in sec.get("release", []):
        key, sep, value = line.partition("=")
        if sep:
            release_vars[key.strip()] = value.strip().strip("'\"")
    if "DISTRIB_RELEASE" not in release_vars:
        raise BackendError(
            f"{host} has no readable /etc/openwrt_release: not an OpenWrt router",
            hint="routerctl provisions OpenWrt; check the SSH target in the topology",
        )
    pm_lines = sec.get("pm", [])
    if not pm_lines or pm_lines[0].strip() not in PACKAGE_MANAGERS:
        raise BackendError(
            f"{host} has neither opkg nor apk",
            hint="install the routing suite by hand, then rerun provision",
        )
    pm = PACKAGE_MANAGERS[pm_lines[0].strip()]
    daemons = sec.get("daemons", [])
    return RouterFacts(
        release=release_vars["DISTRIB_RELEASE"],
        description=release_vars.get("DISTRIB_DESCRIPTION", ""),
        package_manager=pm.name,
        installed=pm.parse_installed("\n".join(pm_lines[1:])),
        overlay_free_kb=_df_available(sec.get("overlay", [])),
        files=frozenset(ln.strip() for ln in sec.get("files", []) if ln.strip()),
        bgpd_enabled=any(ln.strip() == "bgpd=yes" for ln in daemons),
        running={name: name in {ln.strip() for ln in sec.get("running", [])} for name in SUITES},
        enabled={name: name in {ln.strip() for ln in sec.get("enabled", [])} for name in SUITES},
    )


def detect(transport: Transport, *, timeout: float = 30.0) -> RouterFacts:
    """One round trip: release, package manager, installed packages, free space."""
    res = transport.run(detect_script(), timeout=timeout)
    return parse_facts(res.stdout, host=transport.host)


def installed_suite(facts: RouterFacts) -> str | None:
    """The suite whose packages are all installed (FRR first), if any."""
    for suite in SUITES.values():
        if all(p in facts.installed for p in suite.packages):
            return suite.name
    return None


def choose_suite(facts: RouterFacts, *, pin: str, available: frozenset[str] | None) -> Suite:
    """FRR when available, Quagga where only it exists, or the user's pin.

    ``available`` is the feed's package list (None: decide from release data).
    """
    if pin != "auto":
        if pin not in SUITES:
            raise UsageError(
                f"unknown suite {pin!r}", hint=f"use one of: auto, {', '.join(SUITES)}"
            )
        return SUITES[pin]
    have = installed_suite(facts)
    if have is not None:
        return SUITES[have]
    if available is not None:
        for suite in SUITES.values():  # FRR first
            if suite.packages[0] in available:
                return suite
        raise BackendError(
            f"neither frr nor quagga is in the package feed of OpenWrt {facts.release}",
            hint="check the feeds in /etc/opkg/distfeeds.conf",
        )
    version = release_tuple(facts.release)
    if version is None or version >= FRR_SINCE:
        return SUITES["frr"]
    if version <= QUAGGA_UNTIL:
        return SUITES["quagga"]
    return SUITES["frr"]


def packages_to_install(
    suite: Suite, facts: RouterFacts, *, available: frozenset[str] | None
) -> list[str]:
    """The suite's packages that are missing (vtysh only where it is its own package)."""
    missing = [p for p in suite.packages if p not in facts.installed]
    vtysh_separate: bool
    if available is not None:
        vtysh_separate = suite.vtysh_package in available
    else:
        version = release_tuple(facts.release)
        vtysh_separate = suite.name != "frr" or (
            version is not None and version < FRR_VTYSH_MERGED_SINCE
        )
    if vtysh_separate and suite.vtysh_package not in facts.installed:
        missing.append(suite.vtysh_package)
    return missing


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
    suite: Suite
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
) -> EnsureResult:
    """Detect, install what is missing, enable the daemons, (re)start, wait for vtysh.

    ``facts``: what ``detect_script()`` found moments ago in the caller's own round
    trip (provision runs it under its lock); None detects here.
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
        or not all(p in facts.installed for p in SUITES[have].packages)
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


def wait_ready(transport: Transport, suite: Suite, *, timeout: float) -> None:
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
