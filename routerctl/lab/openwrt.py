"""A lab router that runs an OpenWrt release (``lab up --openwrt R``) and its feed.

The router's upper layer gets OpenWrt's userland from the build cache (real opkg or apk,
uci + libuci + libubox, busybox-static's crond, syslogd and logger), OpenWrt's paths
(``/sbin/uci``, ``/bin/opkg``, ``/etc/opkg.conf`` or ``/etc/apk/repositories.d``), the
user ``network`` the daemons run as, and whiteouts that hide Debian's FRR. The suite is
not there: the real package manager installs it from the lab's feed, which a busybox
httpd serves from the ``<lab>-feed`` namespace on the LAN.

Stand-ins, because no procd/logd/base-files run here: ``/etc/rc.common`` with a tiny procd
(``files/openwrt/rc.common``), ``/lib/functions.sh`` (the helpers init and maintainer
scripts use), ``/etc/init.d/log`` (busybox syslogd writing ``/var/log/messages``).
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
from importlib.resources import files
from pathlib import Path

from routerctl.errors import LabError
from routerctl.lab import feed
from routerctl.lab.netns import poll, run
from routerctl.lab.spec import FEED_ADDR, OPENWRT, LabSpec
from routerctl.lab.state import RunningLab, write_file

# what each cache tree gives the router: (path in the tree, path in the router)
TOOL_FILES: dict[str, tuple[tuple[str, str], ...]] = {
    "libubox": (
        ("usr/lib/libubox.so", "/usr/lib/libubox.so"),
        ("usr/lib/libblobmsg_json.so", "/usr/lib/libblobmsg_json.so"),
        ("usr/lib/libjson_script.so", "/usr/lib/libjson_script.so"),
    ),
    "uci": (("usr/bin/uci", "/sbin/uci"), ("usr/lib/libuci.so", "/usr/lib/libuci.so")),
    "opkg": (("bin/opkg", "/bin/opkg"),),
    "apk-tools": (
        ("usr/bin/apk", "/usr/bin/apk"),
        ("usr/lib/libapk.so.3.0.0", "/usr/lib/libapk.so.3.0.0"),
    ),
    "busybox-static": (("bin/busybox", "/bin/busybox"),),
}
# busybox applets OpenWrt has where Debian has another program (or none)
APPLETS = (
    "/usr/sbin/crond",
    "/usr/bin/crontab",
    "/sbin/syslogd",
    "/usr/bin/logger",
    "/sbin/logread",
    "/bin/ash",
    "/bin/sh",
    "/sbin/start-stop-daemon",
)
# not wget: busybox-static's (static glibc) segfaults in apk's fetches; the host's wget
# (GNU wget, or Debian's dynamic busybox) stays visible to apk's wget URL backend
# Debian's FRR (the default lab's suite) must not be seen by a release's router
DEBIAN_FRR_PACKAGES = ("frr", "frr-pythontools")
NETWORK_UID = 101


def tool_roots() -> dict[str, Path]:
    """The cache trees the router's userland comes from (looked up once per process and
    cache folder: each look-up runs ``lab-build --path`` per tree, ~0.4 s)."""
    roots = _tool_roots(str(feed.cache_dir()))
    if not all(r.is_dir() for r in roots.values()):  # rebuilt or removed since
        _tool_roots.cache_clear()
        roots = _tool_roots(str(feed.cache_dir()))
    return dict(roots)


@functools.lru_cache(maxsize=4)
def _tool_roots(cache: str) -> dict[str, Path]:
    try:
        return feed.tool_roots()
    except feed.FeedError as exc:
        raise LabError(f"the lab's router userland: {exc.message}", hint=exc.hint) from exc


def in_upper(upper: Path, path: str) -> Path:
    """Where ``path`` of the router lives in the upper layer: through the host's
    merged-/usr symlinks (``/sbin`` is ``usr/sbin`` on Debian), so that writing it never
    shadows a lower-layer symlink with a directory."""
    parent = os.path.realpath(os.path.dirname(path))
    return upper / parent.lstrip("/") / os.path.basename(path)


def _whiteout(path: Path) -> None:
    """Hide ``path`` of the lower layer (unless it, or a folder above it, is hidden already)."""
    for p in (path, *path.parents):
        if (p.is_symlink() or p.exists()) and (p == path or stat.S_ISCHR(p.lstat().st_mode)):
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(0, 0))


def _debian_frr_paths() -> list[str]:
    proc = subprocess.run(
        ["dpkg-query", "-L", *DEBIAN_FRR_PACKAGES], capture_output=True, text=True, check=False
    )
    out = []
    for line in proc.stdout.splitlines():
        p = line.strip()
        if not p.startswith("/") or p.startswith(("/usr/share/doc", "/usr/share/man")):
            continue
        if os.path.isdir(p):  # a real folder or a merged-/usr link (/lib): only frr's own
            if not os.path.islink(p) and "frr" in os.path.basename(p):
                out.append(p)  # the whole directory (/etc/frr, /usr/lib/frr, ...)
        elif os.path.lexists(p):
            out.append(p)
    return out


def resource(name: str) -> bytes:
    return files("routerctl.lab").joinpath("files").joinpath("openwrt").joinpath(name).read_bytes()


def prepare_upper(spec: LabSpec, upper: Path, feed_root: Path, apk_key: str) -> None:
    """OpenWrt's userland, users, package manager config and init scripts in ``upper``."""
    roots = tool_roots()
    wanted = ["libubox", "uci", "busybox-static", "opkg" if spec.pkg == "opkg" else "apk-tools"]
    for name in wanted:
        for src, dst in TOOL_FILES[name]:
            target = in_upper(upper, dst)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(roots[name] / src, target, follow_symlinks=True)
    if spec.pkg == "apk":
        os.symlink("libapk.so.3.0.0", in_upper(upper, "/usr/lib/libapk.so.3.0"))
    for path in APPLETS:
        target = in_upper(upper, path)
        if target.is_symlink() or target.exists():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/bin/busybox", target)
    # Debian's FRR is not this router's: hide every file of it
    for p in _debian_frr_paths():
        _whiteout(in_upper(upper, p))
    for p in ("/var/run/frr", "/var/lib/frr", "/var/log/frr", "/etc/quagga", "/var/run/quagga"):
        _whiteout(in_upper(upper, p))
    # the daemons' user and group, as OpenWrt's base-files has them (101 there; here the
    # first id from 101 that the host's files leave free)
    passwd = in_upper(upper, "/etc/passwd")
    group = Path("/etc/group").read_text(encoding="utf-8")
    taken = {ln.split(":")[2] for ln in passwd.read_text(encoding="utf-8").splitlines() if ln}
    taken |= {ln.split(":")[2] for ln in group.splitlines() if ln.count(":") >= 2}
    uid = next(i for i in range(NETWORK_UID, 60000) if str(i) not in taken)
    with open(passwd, "a", encoding="utf-8") as fh:
        fh.write(f"network:x:{uid}:{uid}:network:/var:/bin/false\n")
    write_file(in_upper(upper, "/etc/group"), group + f"network:x:{uid}:\n")
    # init: rc.common with the procd stand-in, cron and log enabled as on a fresh router
    write_file(in_upper(upper, "/etc/rc.common"), resource("rc.common"), mode=0o755)
    write_file(in_upper(upper, "/lib/functions.sh"), resource("functions.sh"))
    for script, start in (("cron", 50), ("log", 12)):
        write_file(in_upper(upper, f"/etc/init.d/{script}"), resource(script), mode=0o755)
        link = in_upper(upper, f"/etc/rc.d/S{start}{script}")
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f"../init.d/{script}", link)
    (in_upper(upper, "/etc/crontabs/root")).parent.mkdir(parents=True, exist_ok=True)
    write_file(in_upper(upper, "/etc/crontabs/root"), "", mode=0o600)
    write_file(
        in_upper(upper, "/etc/config/system"),
        "\nconfig system\n\toption hostname 'OpenWrt'\n\toption timezone 'UTC'\n"
        "\toption log_size '64'\n\toption cronloglvl '5'\n",
    )
    # the package manager, pointed at the lab's feed
    if spec.pkg == "opkg":
        write_file(in_upper(upper, "/etc/opkg.conf"), feed.opkg_conf(spec.feed_url))
        (in_upper(upper, "/usr/lib/opkg/info/x")).parent.mkdir(parents=True, exist_ok=True)
        write_file(in_upper(upper, "/usr/lib/opkg/status"), "")
    else:
        write_file(in_upper(upper, "/etc/apk/repositories"), feed.apk_repositories(spec.feed_url))
        write_file(in_upper(upper, "/etc/apk/arch"), f"{feed.ARCH}\n")
        key = Path(apk_key)
        shutil.copy2(key, _mkparent(in_upper(upper, f"/etc/apk/keys/{key.name}")))
        (in_upper(upper, "/var/cache/apk/x")).parent.mkdir(parents=True, exist_ok=True)
    (in_upper(upper, "/var/lock/x")).parent.mkdir(parents=True, exist_ok=True)
    (in_upper(upper, "/var/log/x")).parent.mkdir(parents=True, exist_ok=True)


def _mkparent(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def release_file(spec: LabSpec) -> str:
    release = spec.release
    revision = next(r for _, _, full, r in OPENWRT.values() if full == release)
    note = ""
    if spec.openwrt is None:
        note = (
            f"# routerctl lab: the host's FRR (apt) packaged as OpenWrt {release}'s "
            "stands in for the release's\n"
        )
    elif spec.openwrt in ("23.05", "24.10"):
        note = (
            f"# routerctl lab: OpenWrt {spec.openwrt} ships FRR 10.2.1; "
            "the lab's FRR 10.4.1 stands in for it\n"
        )
    return (
        f"{note}DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='{release}'\n"
        f"DISTRIB_REVISION='{revision}'\nDISTRIB_TARGET='x86/64'\nDISTRIB_ARCH='x86_64'\n"
        f"DISTRIB_DESCRIPTION='OpenWrt {release} {revision}'\nDISTRIB_TAINTS=''\n"
    )


def start_feed_server(lab: RunningLab, feed_root: Path) -> int:
    """busybox httpd serving ``feed_root`` in the ``<lab>-feed`` namespace; its PID."""
    busybox = tool_roots()["busybox-static"] / "bin/busybox"
    log = lab.state_dir / "feed-httpd.log"
    cmd = [
        *lab.netns_cmd("feed"),
        str(busybox), "httpd", "-f", "-v", "-p", f"{FEED_ADDR}:80", "-h", str(feed_root),
    ]  # fmt: skip
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh, start_new_session=True
        )

    def listening() -> bool:
        if proc.poll() is not None:
            raise LabError(f"the feed's httpd exited: {log.read_text(errors='replace')[-200:]}")
        probe = run([*lab.netns_cmd("feed"), "ss", "-Hltn", "sport", "=", ":80"], check=False)
        return str(FEED_ADDR) in probe.stdout

    poll(listening, timeout=5, what="the feed's httpd")
    return proc.pid


def boot_services(lab: RunningLab, router: str) -> None:
    """What OpenWrt's boot does for the enabled services (/etc/rc.d/S*), in order; apk's
    database is initialised as an image build leaves it."""
    initdb = "apk add --initdb --quiet >/dev/null || exit 1\n" if lab.spec.pkg == "apk" else ""
    lab.router_sh(
        initdb + 'for s in /etc/rc.d/S*; do [ -x "$s" ] && "$s" boot; done; exit 0', router=router
    )

    def logging() -> bool:
        return lab.router_sh("[ -S /dev/log ]", router=router, check=False).returncode == 0

    poll(logging, timeout=5, what="syslogd's /dev/log in the router")


def build_release_feed(spec: LabSpec) -> feed.Feed:
    """The release's feed, built once per machine and cached (``routerctl.lab.feed``)."""
    try:
        return feed.build_feed(
            pkg=spec.pkg,
            suite=spec.feed_suite,
            dest=feed.cache_dir() / "feeds",
            quagga_tree="quagga-mp1" if spec.quagga_multipath == 1 else "quagga",
        )
    except feed.FeedError as exc:
        what = f"--openwrt {spec.openwrt}" if spec.openwrt else "the lab's feed"
        raise LabError(f"{what}: {exc.message}", hint=exc.hint) from exc


def install_suite(lab: RunningLab, router: str) -> None:
    """``lab up --openwrt R`` (without --no-suite): the release's package manager installs
    the suite from the feed, as a user would, then forgets its lists as a reboot does."""
    pkgs = " ".join(lab.state.feed_install)
    if lab.spec.pkg == "opkg":
        script = f"opkg update && opkg install {pkgs} && rm -rf /var/opkg-lists"
    else:
        script = f"apk update && apk add {pkgs}"
    # into a file, not our pipe: the daemons the postinst starts (watchfrr) inherit the
    # script's stdout/stderr, and a pipe they hold open would make this wait for them
    log = "/tmp/routerctl-lab-install.log"
    wrapped = f"( {script} ) >{log} 2>&1; rc=$?; [ $rc = 0 ] || tail -n 3 {log} >&2; exit $rc"
    proc = lab.router_sh(wrapped, router=router, check=False, timeout=120)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-3:]
        raise LabError(f"installing the suite on {router} failed: {' / '.join(tail)}")
