"""The router-side health check: render its UCI config, install/uninstall its package,
read its status file. Talks to the router only through a ``Transport``.

The check itself is ``openwrt-feed/net/routerctl-healthcheck/files/routerctl-health``
(POSIX sh, runs from cron on the router); the package is built from the same feed
Makefile the OpenWrt SDK uses (``routerctl.ipk``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from routerctl.errors import BackendError, CommandError, ParseError, UsageError
from routerctl.ipk import PackageSpec, build_ipk, parse_makefile
from routerctl.platform.openwrt import (
    APK_PACKAGE_INFO_DIR,
    PACKAGE_MANAGERS,
    PROBE_ORDER,
    PackageManager,
    apk_mkpkg_command,
    apk_version,
)
from routerctl.topology import Router, Topology
from routerctl.transport import CommandResult, Transport

PACKAGE = "routerctl-healthcheck"
UCI_PATH = "/etc/config/routerctl"
SCRIPT_PATH = "/usr/sbin/routerctl-health"
CRONTAB = "/etc/crontabs/root"
DEFAULT_STATUS = "/var/run/routerctl-health.json"

# Where the check may write (and `uninstall` may delete) its run-time files: directories
# that are tmpfs on OpenWrt (/var is a symlink to /tmp there, so no flash wear) and hold
# no system files. /var/lib/node_exporter/textfile_collector is node_exporter's usual
# textfile directory, /var/prometheus the one OpenWrt's prometheus-node-exporter-lua
# textfile collector reads. Not /etc, /www, /overlay, /usr: flash, served, or the system.
RUNTIME_DIRS = ("/tmp/", "/var/run/", "/var/lib/", "/var/prometheus/")
_SAFE_PATH = re.compile(r"[A-Za-z0-9._+/-]{1,240}")


def runtime_path_problem(path: str, *, suffix: str) -> str | None:
    """Why ``path`` is not acceptable as a run-time file of the check, or None.

    A normalized absolute file path (no ``..``, ``.``, ``//``, trailing ``/``), of plain
    characters, under one of ``RUNTIME_DIRS``, named ``*{suffix}``.
    """
    if not _SAFE_PATH.fullmatch(path):
        return "must be an absolute path of letters, digits and . _ + - / (no spaces or quotes)"
    if not path.startswith("/"):
        return "must be an absolute path"
    if posixpath.normpath(path) != path or path.startswith("//") or path.endswith("/"):
        return "must be a normalized file path (no '..', '.', '//' or trailing '/')"
    if not any(path.startswith(d) and len(path) > len(d) for d in RUNTIME_DIRS):
        return "must be a file under " + ", ".join(RUNTIME_DIRS)
    name = posixpath.basename(path)
    if not name.endswith(suffix) or name == suffix or name.startswith("."):
        return f"must name a {suffix} file"
    return None


@dataclass(frozen=True)
class HealthSettings:
    """Knobs of the check that are not in the topology (``healthcheck install`` options)."""

    interval: int = 1  # minutes between cron runs
    min_established: int = 1
    check_routes: bool = True
    self_heal: bool = False
    heal_after: int = 3
    max_restarts: int = 3  # per hour
    backoff: int = 300  # seconds, doubled per restart in the last hour
    vtysh_timeout: int = 10
    status_file: str = DEFAULT_STATUS
    prometheus_file: str = ""

    def validate(self) -> None:
        limits = {
            "interval": (self.interval, 1, 59),
            "min_established": (self.min_established, 0, 10_000),
            "heal_after": (self.heal_after, 1, 1000),
            "max_restarts": (self.max_restarts, 0, 60),
            "backoff": (self.backoff, 0, 86_400),
            "vtysh_timeout": (self.vtysh_timeout, 1, 600),
        }
        for name, (value, lo, hi) in limits.items():
            if not lo <= value <= hi:
                opt = "--" + name.replace("_", "-")
                raise UsageError(f"{opt} {value} is out of range", hint=f"use {lo}..{hi}")
        for name, path, suffix in (
            ("status-file", self.status_file, ".json"),
            ("prometheus-file", self.prometheus_file, ".prom"),
        ):
            problem = runtime_path_problem(path, suffix=suffix) if path else None
            if problem:
                raise UsageError(
                    f"--{name} {path!r} {problem}",
                    hint="e.g. /var/lib/node_exporter/textfile_collector/routerctl.prom"
                    if suffix == ".prom"
                    else None,
                )


def feed_package_dir() -> Path:
    """The feed package folder (in a wheel: ``routerctl/openwrt-feed``; else the checkout)."""
    packaged = files("routerctl").joinpath(f"openwrt-feed/net/{PACKAGE}")
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "openwrt-feed" / "net" / PACKAGE


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def uci_quote(value: object) -> str:
    """``value`` as one UCI word: single-quoted, ``'`` as ``'\\''``.

    Control characters (newlines included) are refused: uci would keep them inside the
    quotes, but the health check reads ``uci show`` line by line.
    """
    text = str(value)
    bad = _CONTROL.search(text)
    if bad:
        raise UsageError(
            f"cannot write {text!r} into {UCI_PATH}: it holds the control character {bad.group()!r}"
        )
    return "'" + text.replace("'", "'\\''") + "'"


def _uci_comment(text: str) -> str:
    """``text`` made safe for a ``#`` comment line: control characters escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def render_uci(
    topology: Topology,
    router: Router,
    settings: HealthSettings,
    *,
    follow_cluster: bool = False,
) -> str:
    """``/etc/config/routerctl`` for ``router``: its nodes, the IPv4 pools and services.

    ``follow_cluster``: the node set was read from the live cluster (it changes without
    a new install), so no ``list neighbor`` is written: the check then expects every
    neighbor the router has, which provision and watch keep equal to the cluster's nodes.
    """
    settings.validate()
    nodes = topology.nodes_for(router)
    if settings.min_established > len(nodes):
        raise UsageError(
            f"--min-established {settings.min_established} is more than the "
            f"{len(nodes)} nodes peering with router {router.name}",
            hint=f"use at most {len(nodes)}",
        )
    pools = [n for n in topology.iter_pool_networks() if n.version == 4]
    routes = [s.address for s in topology.services if s.address.version == 4]
    source = _uci_comment(str(topology.source or "the topology"))
    lines = [
        f"# Rendered by `routerctl healthcheck install` from {source} "
        f"for router {_uci_comment(router.name)}.",
        "# Options are described in the package's default /etc/config/routerctl.",
        "",
        "config health",
    ]
    entries: list[tuple[str, str, object]] = [
        ("option", "enabled", 1),
        ("option", "interval", settings.interval),
    ]
    if follow_cluster:
        lines.insert(
            2,
            f"# Neighbors: not listed, the {len(nodes)} nodes came from the live cluster and"
            " change with it: every BGP neighbor of the router is expected Established.",
        )
    else:
        entries += [("list", "neighbor", n.address) for n in nodes]
    entries.append(("option", "min_established", settings.min_established))
    entries += [("list", "pool", p) for p in pools]
    entries += [("list", "route", ipaddress.ip_network(a)) for a in sorted(set(routes))]
    entries += [
        ("option", "check_routes", int(settings.check_routes)),
        ("option", "status_file", settings.status_file),
        ("option", "prometheus_file", settings.prometheus_file),
        ("option", "vtysh_timeout", settings.vtysh_timeout),
        ("option", "self_heal", int(settings.self_heal)),
        ("option", "heal_after", settings.heal_after),
        ("option", "max_restarts", settings.max_restarts),
        ("option", "backoff", settings.backoff),
        ("option", "init_script", ""),
        ("option", "bgpd_pidfile", ""),
    ]
    lines += [f"\t{kind} {name} {uci_quote(value)}" for kind, name, value in entries]
    return "\n".join(lines) + "\n"


def build_package(config_text: str | None = None) -> tuple[PackageSpec, bytes]:
    """The package spec and .ipk bytes, with ``config_text`` as /etc/config/routerctl."""
    spec = parse_makefile(feed_package_dir())
    overrides = {UCI_PATH: config_text.encode()} if config_text is not None else None
    return spec, build_ipk(spec, overrides=overrides)


# --- on the router ------------------------------------------------------------------------

_PROBE = (
    "for c in opkg apk vtysh uci; do command -v $c >/dev/null 2>&1 && echo have=$c; done; "
    "[ -e {script} ] && echo have=script; "
    "grep -q routerctl-health {crontab} 2>/dev/null && echo have=cron; "
    "[ -e {uci} ] && echo have=config; true"
)


@dataclass(frozen=True)
class RouterProbe:
    """What the router has: package manager, vtysh, uci, and our pieces."""

    have: frozenset[str]

    @property
    def package_manager(self) -> str | None:
        for pm in PROBE_ORDER:
            if pm in self.have:
                return pm
        return None


def probe(transport: Transport, *, timeout: float = 30.0) -> RouterProbe:
    cmd = _PROBE.format(script=SCRIPT_PATH, crontab=shlex.quote(CRONTAB), uci=shlex.quote(UCI_PATH))
    res = transport.run(cmd, timeout=timeout)
    have = {ln[5:].strip() for ln in res.stdout.splitlines() if ln.startswith("have=")}
    return RouterProbe(frozenset(have))


def _failure(res: CommandResult) -> str:
    text = (res.stderr.strip() or res.stdout.strip()).splitlines()
    return " / ".join(text[-3:]) if text else f"exit status {res.exit_status}"


def _pm(transport: Transport, found: RouterProbe) -> PackageManager:
    pm = found.package_manager
    if pm is None:
        raise BackendError(
            f"{transport.host}: no package manager (opkg or apk) found",
            hint="is this an OpenWrt router?",
        )
    if PACKAGE_MANAGERS[pm].install_file is None:
        raise BackendError(
            f"{transport.host}: {pm} cannot install a local package file",
            hint=f"build {PACKAGE} with the OpenWrt SDK from openwrt-feed/ (see the README)",
        )
    return PACKAGE_MANAGERS[pm]


def _apk_build_script(
    spec: PackageSpec, pm: PackageManager, *, private: str, ipk: str
) -> tuple[str, str, str]:
    """Turn the uploaded ``.ipk`` into an ``.apk`` on the router itself (apk-tools 3's
    ``apk mkpkg``): the same files, modes and scripts, one builder for both formats.

    Returns (the sh commands, the .apk's path, the unpacked postinst's path).
    """
    q = shlex.quote
    ctl, root = f"{private}/control", f"{private}/files"
    out = f"{private}/{spec.name}-{apk_version(spec.version)}.apk"
    info_dir = root + APK_PACKAGE_INFO_DIR
    listing = sorted(f.dest for f in spec.files)
    scripts = {
        kind: f"{ctl}/{script}"
        for script in spec.scripts
        for kind in pm.script_names.get(script, ())
    }
    info = {
        "name": spec.name,
        "version": apk_version(spec.version),
        "description": spec.fields.get("TITLE", spec.name),
        "arch": "noarch" if spec.architecture == "all" else spec.architecture,
        "license": spec.license,
        "origin": spec.name,
        "maintainer": spec.maintainer,
    }
    if spec.depends():
        info["depends"] = " ".join(spec.depends())
    lines = [
        f"mkdir {q(ctl)} {q(root)}",
        f"tar -xzf {q(ipk)} -C {q(ctl)}",
        f"tar -xzf {q(ctl)}/data.tar.gz -C {q(root)}",
        f"tar -xzf {q(ctl)}/control.tar.gz -C {q(ctl)}",
        f"mkdir -p {q(info_dir)}",
        f"printf '%s\\n' {' '.join(q(x) for x in listing)} > {q(info_dir)}/{spec.name}.list",
    ]
    if spec.conffiles:
        lines.append(
            f"printf '%s\\n' {' '.join(q(x) for x in spec.conffiles)}"
            f" > {q(info_dir)}/{spec.name}.conffiles"
        )
    lines.append(apk_mkpkg_command(info=info, scripts=scripts, files_dir=root, output=out))
    return " && ".join(lines), out, f"{ctl}/postinst"


@dataclass
class InstallResult:
    router: str
    package: str
    version: str
    config: str
    status: dict[str, Any] | None = None
    check_exit: int | None = None
    output: list[str] = field(default_factory=list)


def install(
    transport: Transport,
    *,
    config_text: str,
    run_check: bool = True,
    timeout: float = 120.0,
) -> InstallResult:
    """Push the package (with ``config_text`` as its UCI config) and install it.

    The rendered config is also written after the install: opkg keeps a user-modified
    conffile on upgrade, and routerctl is the owner of this one.
    """
    found = probe(transport)
    pm = _pm(transport, found)
    if "vtysh" not in found.have:
        raise BackendError(
            f"{transport.host}: vtysh not found, so the health check could not read BGP state",
            hint="run `routerctl provision` first (it installs the routing suite)",
        )
    if "uci" not in found.have:
        raise BackendError(
            f"{transport.host}: uci not found; the health check reads its config with uci",
            hint="install the 'uci' package (part of every OpenWrt image)",
        )
    spec, ipk = build_package(config_text)
    private = _private_tmpdir(transport)
    remote = f"{private}/{spec.filename}"
    result = InstallResult(transport.host, spec.name, spec.version, UCI_PATH)
    try:
        transport.write_file(remote, ipk, mode=0o644)
        package, postinst = remote, str(pm.postinst).format(name=spec.name)
        build = ""
        if pm.package_format == "apk":
            build, package, postinst = _apk_build_script(spec, pm, private=private, ipk=remote)
            build = f"{{ {build}; }} || exit 3; "
        res = transport.run(
            build + str(pm.install_file).format(path=shlex.quote(package)), timeout=timeout
        )
        result.output += [ln for ln in res.stdout.splitlines() if ln.strip()]
        if not res.ok:
            what = (
                "building the .apk with apk mkpkg"
                if res.exit_status == 3 and build
                else (f"installing {posixpath.basename(package)}")
            )
            raise BackendError(
                f"{transport.host}: {what} failed: {_failure(res)}",
                hint="see the package manager's message; free space with `df /overlay`",
            )
        transport.write_file(UCI_PATH, config_text.encode(), mode=0o600)
        # the upgrade may have kept an older config (and written the new one beside it):
        # routerctl owns this file, so its rendered config wins; rerun postinst for the
        # cron line
        leftover = shlex.quote(pm.conffile_new.format(path=UCI_PATH))
        res = transport.run(
            f"rm -f {leftover}; [ -x {postinst} ] && {postinst} configure", timeout=timeout
        )
        if not res.ok:
            raise BackendError(f"{transport.host}: {postinst} failed: {_failure(res)}")
    finally:
        with contextlib.suppress(Exception):
            transport.run(f"rm -rf {shlex.quote(private)}", timeout=30.0)
    if run_check:
        result.check_exit, result.status = run_now(transport)
    return result


_PRIVATE_TMP = re.compile(r"/tmp/routerctl\.[A-Za-z0-9]{6,}")


def _private_tmpdir(transport: Transport) -> str:
    """A fresh 0700 directory on the router (``mktemp -d``) for the package upload, so no
    other user can plant a symlink at a predictable /tmp name."""
    res = transport.run("mktemp -d /tmp/routerctl.XXXXXX", timeout=30.0)
    path = res.stdout.strip()
    if not res.ok or not _PRIVATE_TMP.fullmatch(path):
        raise BackendError(
            f"{transport.host}: could not make a private temporary directory "
            f"(mktemp -d answered {safe_repr(path)})",
            hint="is /tmp writable? is mktemp (busybox) available?",
        )
    return path


def safe_repr(text: str, limit: int = 60) -> str:
    """A short, one-line ``repr`` of router output for a message."""
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def run_now(transport: Transport, *, timeout: float = 120.0) -> tuple[int, dict[str, Any]]:
    """Run the check once on the router; its exit status and the status it wrote."""
    res = transport.run(f"{SCRIPT_PATH} >/dev/null; echo rc=$?", timeout=timeout)
    rc = None
    for ln in res.stdout.splitlines():
        if ln.startswith("rc="):
            rc = int(ln[3:])
    if rc is None:
        raise CommandError(f"{transport.host}: could not run {SCRIPT_PATH}: {_failure(res)}")
    if rc == 127:
        raise CommandError(
            f"{transport.host}: {SCRIPT_PATH} is not installed",
            hint="run `routerctl healthcheck install`",
        )
    return rc, read_status(transport)


def read_status(transport: Transport, *, timeout: float = 30.0) -> dict[str, Any]:
    """The router's last status file, plus ``age_seconds`` (router clock)."""
    cmd = (
        f"f=$(uci -q get routerctl.@health[0].status_file 2>/dev/null); "
        f'f=${{f:-{DEFAULT_STATUS}}}; echo "now=$(date +%s)"; echo "file=$f"; '
        f'[ -r "$f" ] && cat "$f"; true'
    )
    res = transport.run(cmd, timeout=timeout)
    now, path = 0, DEFAULT_STATUS
    body: list[str] = []
    for ln in res.stdout.splitlines():
        if ln.startswith("now=") and not body:
            now = int(ln[4:]) if ln[4:].isdigit() else 0
        elif ln.startswith("file=") and not body:
            path = ln[5:]
        else:
            body.append(ln)
    text = "\n".join(body).strip()
    if not text:
        raise CommandError(
            f"{transport.host}: no health status at {path}",
            hint="install it with `routerctl healthcheck install`; is cron running?",
        )
    try:
        status = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"{transport.host}: {path} is not valid JSON: {exc.msg}") from exc
    if not isinstance(status, dict) or "state" not in status:
        raise ParseError(f"{transport.host}: {path} is not a routerctl-health status file")
    if isinstance(status.get("time"), int) and now:
        status["age_seconds"] = max(0, now - status["time"])
    status["file"] = path
    return status


@dataclass
class UninstallResult:
    router: str
    removed_package: bool
    leftovers: list[str]
    output: list[str] = field(default_factory=list)


def uninstall(transport: Transport, *, timeout: float = 120.0) -> UninstallResult:
    """Remove the package, its cron line, its UCI config and run-time files; then check."""
    found = probe(transport)
    pm = _pm(transport, found)
    res = transport.run(pm.query_installed.format(name=PACKAGE), timeout=timeout)
    installed = any(ln.split(" ", 1)[0] == PACKAGE for ln in res.stdout.splitlines())
    result = UninstallResult(transport.host, removed_package=False, leftovers=[])
    # where the run-time files are, read before the config goes away with the package
    res = transport.run(
        "for o in status_file prometheus_file; do "
        'echo "$o=$(uci -q get routerctl.@health[0].$o 2>/dev/null)"; done',
        timeout=timeout,
    )
    paths = dict(ln.split("=", 1) for ln in res.stdout.splitlines() if "=" in ln)
    # the router's config may be hand-edited or from an older routerctl: delete only
    # paths that pass today's rule (never `rm -rf /etc`), and files with `rm -f`
    status_file = paths.get("status_file") or DEFAULT_STATUS
    if runtime_path_problem(status_file, suffix=".json"):
        status_file = DEFAULT_STATUS
    run_files = [status_file, f"{status_file}.state"]
    prom = paths.get("prometheus_file", "")
    if prom and not runtime_path_problem(prom, suffix=".prom"):
        run_files.append(prom)
    if installed:
        res = transport.run(pm.remove.format(name=PACKAGE), timeout=timeout)
        result.output += [ln for ln in res.stdout.splitlines() if ln.strip()]
        if not res.ok:
            raise BackendError(f"{transport.host}: removing {PACKAGE} failed: {_failure(res)}")
        result.removed_package = True
    quoted = " ".join(shlex.quote(f) for f in run_files)
    lock = shlex.quote(f"{status_file}.lock")  # the check's lock is a directory
    cleanup = (
        f"rm -f {quoted} {UCI_PATH} {shlex.quote(pm.conffile_new.format(path=UCI_PATH))}; "
        f"rm -rf {lock}; "
        f"if [ -f {CRONTAB} ] && grep -q routerctl-health {CRONTAB}; then "
        f"grep -v routerctl-health {CRONTAB} > {CRONTAB}.routerctl; "
        f"mv {CRONTAB}.routerctl {CRONTAB}; fi; "
        f'for f in {SCRIPT_PATH} {UCI_PATH} {quoted} {lock}; do [ -e "$f" ] && echo left=$f; done; '
        f"grep -q routerctl-health {CRONTAB} 2>/dev/null && echo left={CRONTAB}; true"
    )
    res = transport.run(cleanup, timeout=timeout)
    result.leftovers = [ln[5:] for ln in res.stdout.splitlines() if ln.startswith("left=")]
    if result.leftovers:
        raise BackendError(
            f"{transport.host}: uninstall left {', '.join(result.leftovers)} behind",
            hint="remove them by hand",
        )
    return result
