"""OpenWrt as data: its package managers (opkg, apk), what its releases ship, and the
one detection script (release, package manager, installed packages, suite state).

``PACKAGE_MANAGERS`` holds every package-manager command (update, install, remove,
query, install a local file); the suites' own facts are ``routerctl.platform.suites``.
Nothing here talks to a router: ``routerctl.ops.suite`` runs these scripts.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from routerctl.errors import BackendError, UsageError
from routerctl.platform.suites import FRR_DAEMONS_FILE, PROFILES, SuiteProfile, identify


def _names_opkg(text: str) -> frozenset[str]:
    """``opkg list-installed`` / ``opkg list``: ``name - version[ - description]``."""
    return frozenset(ln.split(" - ", 1)[0].strip() for ln in text.splitlines() if " - " in ln)


def _names_lines(text: str) -> frozenset[str]:
    """``apk info``: one installed package name per line."""
    return frozenset(ln.strip() for ln in text.splitlines() if ln.strip())


# Which package manager a router uses when it has more than one: apk first. OpenWrt
# 25.12 replaced opkg with apk, so where apk exists it owns the package database and
# an opkg binary is a leftover or a compat shim; before 25.12 there is no apk at all.
PROBE_ORDER = ("apk", "opkg")


@dataclass(frozen=True)
class PackageManager:
    name: str
    list_installed: str
    parse_installed: Callable[[str], frozenset[str]]
    update: str
    install: str  # package names are appended
    list_available: str | None  # after ``update``; None: decide from release data
    remove: str  # {name}
    query_installed: str  # {name}: prints the package when installed
    install_file: str | None  # {path}: a local package file (None: cannot install .ipk)
    postinst: str | None  # {name}: the package's postinst script, where it is kept
    parse_available: Callable[[str], frozenset[str]] = _names_opkg
    # the file a package's upgrade writes beside a user-modified conffile
    conffile_new: str = "{path}-opkg"
    # its own package format; "apk": built on the router with ``apk mkpkg`` (below)
    package_format: str = "ipk"
    # opkg's maintainer-script names -> this manager's (apk runs post-upgrade, not
    # post-install, on an upgrade, where opkg runs postinst for both)
    script_names: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {s: (s,) for s in ("preinst", "postinst", "prerm", "postrm")}
    )


PACKAGE_MANAGERS: dict[str, PackageManager] = {
    # OpenWrt <= 24.10
    "opkg": PackageManager(
        name="opkg",
        list_installed="opkg list-installed",
        parse_installed=_names_opkg,
        update="opkg update",
        install="opkg install",
        list_available="opkg list",
        remove="opkg remove {name}",
        query_installed="opkg list-installed {name}",
        # same version again (a changed config or script) must still replace the files
        install_file="opkg --force-reinstall install {path}",
        postinst="/usr/lib/opkg/info/{name}.postinst",
    ),
    # OpenWrt 25.12+
    "apk": PackageManager(
        name="apk",
        list_installed="apk info",
        parse_installed=_names_lines,
        update="apk update",
        install="apk add",
        list_available=None,
        remove="apk del {name}",
        query_installed="apk info -e {name}",
        # a local, unsigned .apk (routerctl builds it on the router: apk_mkpkg_command)
        install_file="apk add --allow-untrusted {path}",
        postinst=None,  # kept inside /lib/apk/db/scripts.tar: not runnable in place
        conffile_new="{path}.apk-new",
        package_format="apk",
        script_names={
            "preinst": ("pre-install", "pre-upgrade"),
            "postinst": ("post-install", "post-upgrade"),
            "prerm": ("pre-deinstall",),
            "postrm": ("post-deinstall",),
        },
    ),
}


def apk_version(version: str) -> str:
    """OpenWrt's apk spelling of an opkg ``VERSION-RELEASE``: ``0.1.0-1`` -> ``0.1.0-r1``."""
    base, sep, release = version.rpartition("-")
    return f"{base}-r{release}" if sep and release.isdigit() else version


def apk_mkpkg_command(
    *,
    info: Mapping[str, str],
    scripts: Mapping[str, str],
    files_dir: str,
    output: str,
) -> str:
    """``apk mkpkg`` (apk-tools 3, on OpenWrt 25.12's router itself) as one sh command.

    ``info``: ADB package fields (name, version, arch, description, ...); ``scripts``:
    apk script name (post-install, ...) -> path of the script file; ``files_dir``: the
    staged root of the package's files (their modes and owners are taken as they are).
    """
    words = ["apk", "mkpkg"]
    for key, value in info.items():
        words += ["--info", f"{key}:{value}"]
    for kind, path in scripts.items():
        words += ["--script", f"{kind}:{path}"]
    words += ["--files", files_dir, "--output", output]
    return " ".join(shlex.quote(w) for w in words)


# OpenWrt 25.12 keeps NAME.list (the package's files) and NAME.conffiles (kept by
# sysupgrade) in this directory, shipped inside each .apk
APK_PACKAGE_INFO_DIR = "/lib/apk/packages"


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

    def ready(self, suite: SuiteProfile) -> bool:
        """Installed, enabled at boot, configured to run bgpd, and answering."""
        return (
            self.running.get(suite.name, False)
            and self.enabled.get(suite.name, False)
            and (self.bgpd_enabled or not suite.needs_bgpd_yes)
            and all(f in self.files for f in suite.required_files)
        )


_PROBED_FILES = tuple(
    dict.fromkeys(f for p in PROFILES.values() for f in (p.init_script, *p.probed_files))
)


def detect_script() -> str:
    """One POSIX-sh script printing every fact detection needs, in sections."""
    return "\n".join([*detect_lines(), "exit 0"])


def detect_lines(*, batched_ready: bool = False) -> list[str]:
    """``detect_script()`` without its ``exit``: to run inside a bigger script.

    ``batched_ready``: leave out the ready checks of the suites with a ``ready_command``;
    the caller runs that command in its own vtysh and decides ``running`` for them.
    """
    pm_probe = " el".join(
        f"if command -v {pm.name} >/dev/null 2>&1; then echo {pm.name}; {pm.list_installed} "
        "2>/dev/null; "
        for pm in (PACKAGE_MANAGERS[name] for name in PROBE_ORDER)
    )
    files = " ".join(_PROBED_FILES)
    running = "; ".join(
        f"if {s.ready_check}; then echo {s.name}; fi"
        for s in PROFILES.values()
        if not (batched_ready and s.ready_command)
    )
    enabled = "; ".join(
        f"if [ -x {s.init_script} ] && {s.init_script} enabled; then echo {s.name}; fi"
        for s in PROFILES.values()
    )
    return [
        f"echo {_SECTION}release; cat /etc/openwrt_release 2>/dev/null",
        f"echo {_SECTION}pm; {pm_probe}fi",
        f"echo {_SECTION}overlay; df -k /overlay 2>/dev/null || df -k / 2>/dev/null",
        f'echo {_SECTION}files; for f in {files}; do [ -e "$f" ] && echo "$f"; done',
        f"echo {_SECTION}daemons; grep -E '^bgpd=' {FRR_DAEMONS_FILE} 2>/dev/null",
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
        running={name: name in {ln.strip() for ln in sec.get("running", [])} for name in PROFILES},
        enabled={name: name in {ln.strip() for ln in sec.get("enabled", [])} for name in PROFILES},
    )


def installed_suite(facts: RouterFacts) -> str | None:
    """The suite whose packages are all installed (FRR first), if any."""
    return identify(installed=facts.installed)


def choose_suite(facts: RouterFacts, *, pin: str, available: frozenset[str] | None) -> SuiteProfile:
    """FRR when available, Quagga where only it exists, or the user's pin.

    ``available`` is the feed's package list (None: decide from release data).
    """
    if pin != "auto":
        if pin not in PROFILES:
            raise UsageError(
                f"unknown suite {pin!r}", hint=f"use one of: auto, {', '.join(PROFILES)}"
            )
        return PROFILES[pin]
    have = installed_suite(facts)
    if have is not None:
        return PROFILES[have]
    if available is not None:
        for suite in PROFILES.values():  # FRR first
            if suite.packages[0] in available:
                return suite
        raise BackendError(
            f"neither frr nor quagga is in the package feed of OpenWrt {facts.release}",
            hint="check the feeds in /etc/opkg/distfeeds.conf",
        )
    version = release_tuple(facts.release)
    if version is None or version >= FRR_SINCE:
        return PROFILES["frr"]
    if version <= QUAGGA_UNTIL:
        return PROFILES["quagga"]
    return PROFILES["frr"]


def packages_to_install(
    suite: SuiteProfile, facts: RouterFacts, *, available: frozenset[str] | None
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
