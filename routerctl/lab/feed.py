"""The lab's package feeds: Quagga 1.2.4 / FRR 10.4.1 as OpenWrt packages them, for opkg or apk.

``build_feed(pkg=..., suite=..., dest=...)`` turns the trees ``scripts/build/lab-build`` left in
the per-machine cache (``/var/cache/routerctl-lab/NAME-KEY/root``) into a directory the lab
serves over HTTP as the feed's base URL, with real packages and a real index:

- ``pkg="opkg"``: OpenWrt ``.ipk`` files (a gzip'd tar of ``debian-binary``, ``control.tar.gz``,
  ``data.tar.gz``; what OpenWrt's ``ipkg-build`` writes, the only form opkg-lede takes) and
  ``Packages`` + ``Packages.gz`` (``Package``/``Version``/``Depends``/``Architecture``/
  ``Installed-Size``/``Filename``/``Size``/``SHA256sum``/...; opkg checks the last two).
- ``pkg="apk"``: apk v3 packages made with the built ``apk mkpkg`` and ``packages.adb`` made
  with ``apk mkndx``, the index signed with the lab's RSA key (``Feed.apk_key``, the public
  half, goes to the router's ``/etc/apk/keys/``); the packages themselves are unsigned, as
  apk trusts a package through the signed index's hash of it. ``--allow-untrusted`` works
  too but is not needed.

Package names, split, files, modes, conffiles and dependencies follow OpenWrt's Makefiles
(``../shared/openwrt-reference``): Quagga's routing-feed package (1.2.4, PKG_RELEASE 2) and
FRR's packages-feed package (whose 10.6.1 split we apply to the 10.4.1 the lab builds; OpenWrt
has no ``frr-vtysh``/``frr-libfrr``/``frr-mgmtd``: vtysh, mgmtd and libfrr are in ``frr``).
OpenWrt's library dependencies (librt, libreadline, libncurses, libjson-c, libcap, libatomic,
libpcre2, libprotobuf-c, ...) are dropped: the lab router's root is an overlay of the host's
``/``, so the host's libraries are there, and the built binaries carry ``RUNPATH /usr/lib`` so
they load the feed's ``libzebra``/``libfrr``/``libyang`` before any host copy. Not shipped
because the lab's build has none: FRR's ``libmlag_pb.so`` (built without protobuf, OpenWrt's
``frr-zebra`` has it).

``suite="apt-frr"`` packages the host's FRR -- Debian's apt package (8.4 on Debian 12, 10.x on
13), the default lab's suite -- the same way, from its installed files (``dpkg -L frr``), in the
split of the OpenWrt release the default lab stands for: 23.05's for opkg (``frr-libfrr`` and
``frr-vtysh`` packages of their own), 25.12's for apk (both in ``frr``). Debian's paths are
compiled into its binaries (daemons in ``/usr/lib/frr``, libfrr in its multiarch folder,
``watchfrr`` running ``/usr/lib/frr/watchfrr.sh``), so its files keep them; ``frr`` ships
OpenWrt's init script and config defaults, Debian's ``/etc/pam.d/frr`` (its vtysh asks PAM)
and OpenWrt's ``frrcommon.sh`` with this build's settings (daemon folder, user, groups) taken
from Debian's, sourced by the init script from ``/usr/sbin`` (a link).

Every package carries OpenWrt's generated maintainer scripts: ``postinst``/``prerm`` (opkg) or
``post-install``/``pre-deinstall`` (apk) that source ``/lib/functions.sh`` and call
``default_postinst``/``default_prerm`` -- which on OpenWrt enable and start the package's init
scripts -- and exit 0 when ``/lib/functions.sh`` does not exist. apk packages also ship
``/lib/apk/packages/NAME.list`` and ``NAME.conffiles`` as OpenWrt 25.12's do.

Router configuration (what the lab router needs):

- opkg, ``/etc/opkg.conf``::

      dest root /
      dest ram /tmp
      lists_dir ext /var/opkg-lists
      option overlay_root /overlay
      arch all 1
      arch noarch 1
      arch x86_64 10
      src/gz routerctl_lab http://ADDRESS:PORT/

  (``opkg_conf()`` renders it.) opkg needs ``gzip`` on PATH and a writable ``/var/lock``.
- apk: ``/etc/apk/repositories`` with the line ``http://ADDRESS:PORT/packages.adb`` (an
  ``ndx`` repository: packages are fetched next to the index), ``/etc/apk/arch`` = ``x86_64``,
  ``Feed.apk_key`` copied into ``/etc/apk/keys/`` (or pass ``--allow-untrusted``), an
  initialised database (``apk add --initdb`` once). ``apk_repositories()`` renders the line.

The feed is cached: ``dest/PKG-SUITE-HASH/`` where HASH covers this module's source, the cache
trees' ``NAME-KEY`` names, every OpenWrt reference file packaged and every ``extra`` package's
bytes; a second call with the same inputs returns the existing directory.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from routerctl.errors import ExitCode, RouterctlError
from routerctl.ipk import parse_makefile
from routerctl.platform import FRR

FRR_CONF = FRR.persisted_files[0]  # the integrated config, as the platform knows it

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_BUILD = REPO_ROOT / "scripts/build/lab-build"
HEALTHCHECK_DIR = REPO_ROOT / "openwrt-feed/net/routerctl-healthcheck"

ARCH = "x86_64"  # OpenWrt's package architecture for x86/64 (opkg and apk alike)
PKGS = ("opkg", "apk")
SUITES = ("quagga", "frr", "apt-frr")  # apt-frr: the host's (Debian's) FRR, for the default lab
TOOLS = ("opkg", "apk-tools", "uci", "libubox", "busybox-static")
APK_KEY_NAME = "routerctl-lab.rsa"
INDEX_NAME = {"opkg": "Packages", "apk": "packages.adb"}
_MTIME = 1700000000  # fixed: the same inputs give the same bytes


class FeedError(RouterctlError):
    """A feed cannot be built (a tree or tool missing, a packaging step failed)."""

    exit_code = ExitCode.ENVIRONMENT


@dataclass(frozen=True)
class Feed:
    root: Path  # directory to serve over HTTP as the feed's base URL
    pkg: str  # "opkg" | "apk"
    suite: str  # "quagga" | "frr"
    packages: tuple[str, ...]  # package names in the feed (suite + extra)
    install: tuple[str, ...]  # what a user installs for the suite
    version: str  # the suite's package version: "1.2.4-2" (opkg) / "10.4.1-r1" (apk)
    index: Path = Path()  # Packages (opkg) or packages.adb (apk), inside root
    files: tuple[tuple[str, int], ...] = ()  # (package file name, size in bytes)
    apk_key: Path | None = None  # public key for /etc/apk/keys/ (apk feeds)
    versions: tuple[tuple[str, str], ...] = ()  # (package, version) for every package


# --- where the built trees are -------------------------------------------------------------


def cache_dir() -> Path:
    return Path(os.environ.get("ROUTERCTL_LAB_CACHE", "/var/cache/routerctl-lab"))


def openwrt_reference() -> Path:
    default = REPO_ROOT.parent / "shared/openwrt-reference"
    return Path(os.environ.get("ROUTERCTL_LAB_OPENWRT_REF", default))


@functools.lru_cache(maxsize=32)
def _tree_cached(name: str) -> Path:
    return tree(name)


def tree(name: str) -> Path:
    """``NAME-KEY/root`` of a built component.

    ``lab-build --path NAME`` names the build this checkout's scripts would make; when it
    has none (the scripts changed since, or no checkout), the cache's ``NAME`` link -- the
    newest build on this machine -- is used.
    """
    if LAB_BUILD.is_file():
        proc = subprocess.run(
            [str(LAB_BUILD), "--path", name], capture_output=True, text=True, check=False
        )
        if proc.returncode == 0 and proc.stdout.strip():
            root = Path(proc.stdout.strip()) / "root"
            if root.is_dir():
                return root
    link = cache_dir() / name
    if (link / "root").is_dir():
        return (link / "root").resolve()
    raise FeedError(
        f"{name} is not built (no {cache_dir()}/{name}-KEY/root)",
        hint="run scripts/setup (scripts/build/lab-build) as root",
    )


def tool_roots() -> dict[str, Path]:
    """The cache roots of opkg, apk-tools, uci, libubox and busybox-static.

    Binaries inside: ``bin/opkg``; ``usr/bin/apk`` + ``usr/lib/libapk.so.*``; ``usr/bin/uci``
    + ``usr/lib/libuci.so``; ``usr/lib/libubox.so``, ``libblobmsg_json.so``,
    ``libjson_script.so``; ``bin/busybox``.
    """
    return {name: tree(name) for name in TOOLS}


def _component_version(root: Path, name: str) -> str:
    """The upstream version lab-build recorded in ``NAME-KEY/inputs``."""
    inputs = root.parent / "inputs"
    try:
        text = inputs.read_text(encoding="utf-8")
    except OSError as exc:
        raise FeedError(f"cannot read {inputs}: {exc.strerror}") from exc
    m = re.search(rf"^component={re.escape(name)} version=(\S+)", text, re.MULTILINE)
    if m is None:
        raise FeedError(f"{inputs}: no 'component={name} version=' line")
    return m.group(1)


def _makefile_var(makefile: Path, var: str) -> str:
    m = re.search(rf"^{var}\s*:=\s*(\S+)", makefile.read_text(encoding="utf-8"), re.MULTILINE)
    if m is None:
        raise FeedError(f"{makefile}: {var} is not set")
    return m.group(1)


# --- what a package is -----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One path in a package's data: a file (from ``source`` or ``data``), a dir or a link."""

    dest: str  # absolute path on the router
    kind: str  # "file" | "dir" | "link"
    mode: int = 0o755
    source: Path | None = None
    data: bytes | None = None
    target: str = ""

    def content(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.source is not None
        return _stripped(self.source)


@functools.lru_cache(maxsize=64)
def _stripped(path: Path) -> bytes:
    """A file's bytes; an ELF file ``strip --strip-all``'d first, as OpenWrt's RSTRIP does.

    Cached by path: the cache trees are immutable (a rebuild is a new ``NAME-KEY`` dir).
    """
    raw = path.read_bytes()
    if not raw.startswith(b"\x7fELF"):
        return raw
    with tempfile.TemporaryDirectory(prefix="routerctl-strip.") as tmp:
        out = Path(tmp) / path.name
        _run(["strip", "--strip-all", "-o", out, path], what=f"strip {path}")
        return out.read_bytes()


@dataclass
class Package:
    name: str
    version: str  # upstream version, e.g. 1.2.4
    release: int  # OpenWrt's PKG_RELEASE
    arch: str  # ARCH or "all"
    title: str
    source: str  # OpenWrt's Source: field, e.g. feeds/routing/quagga
    license: str
    maintainer: str
    section: str = "net"
    depends: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    conffiles: tuple[str, ...] = ()
    entries: list[Entry] = field(default_factory=list)

    def full_version(self, pkg: str) -> str:
        return (
            f"{self.version}-r{self.release}" if pkg == "apk" else f"{self.version}-{self.release}"
        )

    # OpenWrt's $(INSTALL_DIR), $(INSTALL_BIN), $(INSTALL_CONF), $(CP)
    def install_dir(self, path: str, mode: int | None = None) -> None:
        """``$(INSTALL_DIR)`` (0755), then ``chmod MODE`` when ``mode`` is given."""
        parts = PurePosixPath(path).parts[1:]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            at = next((j for j, e in enumerate(self.entries) if e.dest == d), None)
            if at is None:
                self.entries.append(Entry(d, "dir", 0o755))
                at = len(self.entries) - 1
            if i == len(parts) and mode is not None:
                self.entries[at] = Entry(d, "dir", mode)

    def install(self, source: Path, dest: str, mode: int) -> None:
        if not source.is_file():
            raise FeedError(f"{self.name}: {source} does not exist (is the tree complete?)")
        self.install_dir(str(PurePosixPath(dest).parent))
        self.entries.append(Entry(dest, "file", mode, source=source))

    def cp(self, tree_root: Path, pattern: str, dest_dir: str) -> None:
        """``$(CP) TREE/PATTERN DEST/`` (``cp -fpR``: symlinks stay symlinks)."""
        matches = sorted(tree_root.glob(pattern.lstrip("/")))
        if not matches:
            raise FeedError(f"{self.name}: nothing matches {tree_root}/{pattern.lstrip('/')}")
        self.install_dir(dest_dir)
        for src in matches:
            self._cp_one(src, f"{dest_dir.rstrip('/')}/{src.name}")

    def _cp_one(self, src: Path, dest: str) -> None:
        if src.is_symlink():
            self.entries.append(Entry(dest, "link", 0o777, target=os.readlink(src)))
        elif src.is_dir():
            self.install_dir(dest, src.stat().st_mode & 0o7777)
            for child in sorted(src.iterdir()):
                self._cp_one(child, f"{dest}/{child.name}")
        else:
            self.entries.append(Entry(dest, "file", src.stat().st_mode & 0o7777, source=src))

    def installed_size(self) -> int:
        return sum(len(e.content()) for e in self.entries if e.kind == "file")

    def control(self, pkg: str) -> str:
        lines = [f"Package: {self.name}", f"Version: {self.full_version(pkg)}"]
        if self.depends:
            lines.append(f"Depends: {', '.join(self.depends)}")
        if self.conflicts:
            lines.append(f"Conflicts: {', '.join(self.conflicts)}")
        lines += [
            f"Source: {self.source}",
            f"SourceName: {self.name}",
            f"License: {self.license}",
            f"Section: {self.section}",
            f"Maintainer: {self.maintainer}",
            f"Architecture: {self.arch}",
            f"Installed-Size: {self.installed_size()}",
            f"Description: {self.title}",
        ]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class _Origin:
    """What all packages of one OpenWrt Makefile share."""

    version: str
    release: int
    source: str
    license: str
    maintainer: str

    def fields(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _postinst(name: str, pkg: str) -> str:
    """OpenWrt's generated postinst (package-ipkg.mk) / post-install (package-pack.mk)."""
    if pkg == "opkg":
        return (
            "#!/bin/sh\n"
            '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0\n'
            '[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0\n'
            ". ${IPKG_INSTROOT}/lib/functions.sh\n"
            'default_postinst $0 "$@"\n'
        )
    return (
        "#!/bin/sh\n"
        '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0\n'
        '[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0\n'
        ". ${IPKG_INSTROOT}/lib/functions.sh\n"
        'export root="${IPKG_INSTROOT}"\n'
        f'export pkgname="{name}"\n'
        "add_group_and_user\n"
        "default_postinst\n"
    )


def _prerm(name: str, pkg: str) -> str:
    if pkg == "opkg":
        return (
            "#!/bin/sh\n"
            '[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0\n'
            ". ${IPKG_INSTROOT}/lib/functions.sh\n"
            'default_prerm $0 "$@"\n'
        )
    return (
        "#!/bin/sh\n"
        '[ -s "${IPKG_INSTROOT}/lib/functions.sh" ] || exit 0\n'
        ". ${IPKG_INSTROOT}/lib/functions.sh\n"
        'export root="${IPKG_INSTROOT}"\n'
        f'export pkgname="{name}"\n'
        "default_prerm\n"
    )


# --- the suites as OpenWrt splits them -------------------------------------------------------


def _quagga_packages(tree_name: str = "quagga") -> tuple[list[Package], tuple[str, ...]]:
    ref = openwrt_reference() / "quagga-1.2.4-openwrt"
    files = ref / "files"
    root = _tree_cached(tree_name)  # quagga-mp1: the same, built with --enable-multipath=1
    version = _component_version(root, tree_name)
    release = int(_makefile_var(ref / "Makefile", "PKG_RELEASE"))
    common = _Origin(
        version=version,
        release=release,
        source="feeds/routing/quagga",
        license=_makefile_var(ref / "Makefile", "PKG_LICENSE"),
        maintainer="Vasilis Tsiligiannis <acinonyx@openwrt.gr>",
    )
    quagga = Package(
        "quagga", arch=ARCH, title="The Quagga Software Routing Suite", **common.fields()
    )
    quagga.install(files / "quagga", "/usr/sbin/quagga.init", 0o755)
    quagga.install(files / "quagga.init", "/etc/init.d/quagga", 0o755)

    lib = Package(
        "quagga-libzebra", arch=ARCH, title="zebra library", depends=("quagga",), **common.fields()
    )
    lib.cp(root, "usr/lib/libzebra.so.*", "/usr/lib")

    def daemon(name: str, title: str) -> Package:
        p = Package(
            f"quagga-{name}",
            arch=ARCH,
            title=title,
            depends=("quagga", "quagga-libzebra"),
            conffiles=(f"/etc/quagga/{name}.conf",),
            **common.fields(),
        )
        p.install(root / f"usr/sbin/{name}", f"/usr/sbin/{name}", 0o755)
        p.install_dir("/etc/quagga", 0o750)
        p.install(files / "quagga.conf", f"/etc/quagga/{name}.conf", 0o600)
        return p

    zebra = daemon("zebra", "Zebra daemon")
    bgpd = daemon("bgpd", "BGPv4, BGPv4+, BGPv4- routing engine")
    vtysh = Package(
        "quagga-vtysh",
        arch=ARCH,
        title="integrated shell for Quagga routing software",
        depends=("quagga", "quagga-libzebra"),
        **common.fields(),
    )
    vtysh.install(root / "usr/bin/vtysh", "/usr/bin/vtysh", 0o755)
    watch = Package(
        "quagga-watchquagga",
        arch=ARCH,
        title="Quagga watchdog",
        depends=("quagga", "quagga-libzebra"),
        **common.fields(),
    )
    watch.install(root / "usr/sbin/watchquagga", "/usr/sbin/watchquagga", 0o755)
    install = ("quagga", "quagga-libzebra", "quagga-zebra", "quagga-bgpd", "quagga-vtysh")
    return [quagga, lib, zebra, bgpd, vtysh, watch], install


def _frr_packages() -> tuple[list[Package], tuple[str, ...]]:
    ref = openwrt_reference() / "frr-openwrt"
    files = ref / "files"
    root = _tree_cached("frr")
    yroot = _tree_cached("libyang")
    release = int(_makefile_var(ref / "Makefile", "PKG_RELEASE"))
    common = _Origin(
        version=_component_version(root, "frr"),
        release=release,
        source="feeds/packages/net/frr",
        license="GPL-2.0-only LGPL-2.1-only",
        maintainer="Lucian Cristian <lucian.cristian@gmail.com>",
    )
    libyang = Package(
        "libyang",
        version=_component_version(yroot, "libyang"),
        release=1,
        arch=ARCH,
        title="YANG data modeling language library",
        source="feeds/packages/libs/libyang",
        license="BSD-3-Clause",
        maintainer="Jakov Smolic <jakov.smolic@sartura.hr>",
        section="libs",
    )
    libyang.cp(yroot, "usr/lib/libyang.so*", "/usr/lib")
    libyang.cp(yroot, "usr/share/yang/modules/libyang/*", "/usr/share/yang/modules/libyang")

    frr = Package(
        "frr",
        arch=ARCH,
        title="The FRRouting (FRR) Software Routing Suite",
        depends=("libyang",),
        conffiles=("/etc/frr/daemons", FRR_CONF, "/etc/frr/vtysh.conf"),
        **common.fields(),
    )
    frr.install(files / "frrcommon.sh", "/usr/sbin/frrcommon.sh", 0o755)
    frr.install(files / "frr", FRR.init_script, 0o755)
    frr.install(root / "usr/bin/vtysh", "/usr/bin/vtysh", 0o755)
    frr.install(root / "usr/sbin/mgmtd", "/usr/sbin/mgmtd", 0o755)
    frr.install_dir("/etc/frr")
    frr.install(files / "vtysh.conf", "/etc/frr/vtysh.conf", 0o600)
    frr.cp(root, "usr/lib/libfrr.so*", "/usr/lib")
    frr.cp(root, "usr/lib/libmgmt_be_nb.so*", "/usr/lib")
    frr.install(files / PurePosixPath(FRR_CONF).name, FRR_CONF, 0o600)
    frr.install(files / "daemons", "/etc/frr/daemons", 0o600)

    watchfrr = Package(
        "frr-watchfrr", arch=ARCH, title="frr watchdog", depends=("frr",), **common.fields()
    )
    watchfrr.install(files / "watchfrr.sh", "/usr/sbin/watchfrr.sh", 0o755)
    watchfrr.install(root / "usr/sbin/watchfrr", "/usr/sbin/watchfrr", 0o755)

    zebra = Package(
        "frr-zebra",
        arch=ARCH,
        title="Zebra daemon",
        depends=("frr",),
        conflicts=("quagga-zebra",),
        **common.fields(),
    )
    zebra.install(root / "usr/sbin/zebra", "/usr/sbin/zebra", 0o755)

    def daemon(name: str) -> Package:
        p = Package(
            f"frr-{name}",
            arch=ARCH,
            title=f"{name} routing engine",
            depends=("frr", "frr-watchfrr", "frr-zebra"),
            **common.fields(),
        )
        p.install(root / f"usr/sbin/{name}", f"/usr/sbin/{name}", 0o755)
        return p

    pkgs = [libyang, frr, watchfrr, zebra, daemon("bgpd"), daemon("staticd")]
    install = ("frr", "frr-watchfrr", "frr-zebra", "frr-staticd", "frr-bgpd")
    return pkgs, install


# --- the host's FRR (apt), for the default lab ---------------------------------------------

APT_FRR_DAEMON_DIR = "/usr/lib/frr"  # Debian's --sbindir: watchfrr runs DIR/watchfrr.sh


def _apt_frr() -> tuple[str, list[str]]:
    """(upstream version, installed files) of apt's ``frr`` package."""
    proc = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}\\n${db:Status-Status}\\n", "frr"],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = proc.stdout.split()
    if proc.returncode != 0 or len(lines) < 2 or lines[1] != "installed":
        raise FeedError(
            "apt's frr package is not installed (the default lab's suite)",
            hint="run scripts/setup (apt-get install frr)",
        )
    listing = subprocess.run(
        ["dpkg-query", "-L", "frr"], capture_output=True, text=True, check=False
    ).stdout.split()
    # 8.4.4-1.1~deb12u2 -> 8.4.4 (an epoch, if any, dropped too)
    version = re.sub(r"^\d+:", "", lines[0]).split("-", 1)[0].split("+", 1)[0]
    return version, listing


def _apt_frr_packages(pkg: str) -> tuple[list[Package], tuple[str, ...]]:
    ref = openwrt_reference() / "frr-openwrt"
    files = ref / "files"
    version, listing = _apt_frr()
    host = Path("/")
    d = APT_FRR_DAEMON_DIR
    libdir = next(
        (PurePosixPath(x).parent for x in listing if re.search(r"/libfrr\.so\.\d+$", x)), None
    )
    if libdir is None:
        raise FeedError("apt's frr package has no libfrr.so (dpkg -L frr)")
    common = _Origin(
        version=version,
        release=1,
        source="feeds/packages/net/frr",
        license="GPL-2.0-only LGPL-2.1-only",
        maintainer="Lucian Cristian <lucian.cristian@gmail.com>",
    )
    merged = pkg == "apk"  # 25.12: libfrr and vtysh in frr; 23.05: packages of their own
    libfrr = Package(
        "frr-libfrr", arch=ARCH, title="zebra library", depends=("frr",), **common.fields()
    )
    frr = Package(
        "frr",
        arch=ARCH,
        title="The FRRouting (FRR) Software Routing Suite",
        conffiles=("/etc/frr/daemons", FRR_CONF, "/etc/frr/vtysh.conf"),
        **common.fields(),
    )
    frr.install(files / "frr", FRR.init_script, 0o755)
    # OpenWrt's frrcommon.sh (its init script calls all_daemon_list/in_list, which 8.4's
    # lacks) with this build's settings (daemon folder, user, groups, config mode: Debian's
    # frrcommon.sh has them), and mgmtd only where this FRR has one
    common_sh = (files / "frrcommon.sh").read_text(encoding="utf-8")
    debian_sh = (host / d.lstrip("/") / "frrcommon.sh").read_text(encoding="utf-8")
    for var in ("D_PATH", "FRR_USER", "FRR_GROUP", "FRR_VTY_GROUP", "FRR_CONFIG_MODE"):
        m = re.search(rf"^{var}=.*$", debian_sh, re.MULTILINE)
        if m is None:
            raise FeedError(f"{d}/frrcommon.sh (apt's frr) does not set {var}")
        common_sh = re.sub(rf"^{var}=.*$", m.group(0), common_sh, count=1, flags=re.MULTILINE)
    if not (host / d.lstrip("/") / "mgmtd").is_file():
        common_sh = common_sh.replace('DAEMONS="mgmtd ', 'DAEMONS="', 1)
        common_sh = common_sh.replace(' -o "$daemon" = mgmtd ]', " ]", 1)
    frr.install_dir(d)
    frr.entries.append(Entry(f"{d}/frrcommon.sh", "file", 0o755, data=common_sh.encode()))
    frr.install_dir("/usr/sbin")
    frr.entries.append(Entry("/usr/sbin/frrcommon.sh", "link", 0o777, target=f"{d}/frrcommon.sh"))
    frr.install_dir("/etc/frr")
    frr.install(files / "vtysh.conf", "/etc/frr/vtysh.conf", 0o600)
    frr.install(files / PurePosixPath(FRR_CONF).name, FRR_CONF, 0o600)
    frr.install(files / "daemons", "/etc/frr/daemons", 0o600)
    lib = frr if merged else libfrr
    for pattern in ("libfrr.so*", "libmgmt_be_nb.so*"):
        if any(host.joinpath(str(libdir).lstrip("/")).glob(pattern)):
            lib.cp(host, f"{libdir}/{pattern}", str(libdir))
    yang = [x for x in listing if x.startswith("/usr/share/yang/") and x.endswith(".yang")]
    for y in sorted(yang):
        frr.install(Path(y), y, 0o644)
    if (host / d.lstrip("/") / "mgmtd").is_file():  # FRR 10 (Debian 13): mgmtd is in frr
        frr.install(host / d.lstrip("/") / "mgmtd", f"{d}/mgmtd", 0o755)
    vtysh = Package(
        "frr-vtysh",
        arch=ARCH,
        title="integrated shell for frr routing software",
        depends=("frr-libfrr",),
        **common.fields(),
    )
    (frr if merged else vtysh).install(host / "usr/bin/vtysh", "/usr/bin/vtysh", 0o755)
    if "/etc/pam.d/frr" in listing:  # Debian's vtysh asks PAM (service frr) who may run it
        (frr if merged else vtysh).install(Path("/etc/pam.d/frr"), "/etc/pam.d/frr", 0o644)
    if not merged:
        frr.depends = ("frr-libfrr",)
        libfrr.depends = ()
    watchfrr = Package(
        "frr-watchfrr", arch=ARCH, title="frr watchdog", depends=("frr",), **common.fields()
    )
    watchfrr.install(host / d.lstrip("/") / "watchfrr", f"{d}/watchfrr", 0o755)
    watchfrr.install(host / d.lstrip("/") / "watchfrr.sh", f"{d}/watchfrr.sh", 0o755)
    zebra = Package(
        "frr-zebra",
        arch=ARCH,
        title="Zebra daemon",
        depends=("frr",),
        conflicts=("quagga-zebra",),
        **common.fields(),
    )
    zebra.install(host / d.lstrip("/") / "zebra", f"{d}/zebra", 0o755)

    def daemon(name: str) -> Package:
        p = Package(
            f"frr-{name}",
            arch=ARCH,
            title=f"{name} routing engine",
            depends=("frr", "frr-watchfrr", "frr-zebra"),
            **common.fields(),
        )
        p.install(host / d.lstrip("/") / name, f"{d}/{name}", 0o755)
        return p

    pkgs = [frr, watchfrr, zebra, daemon("bgpd"), daemon("staticd")]
    install: tuple[str, ...] = ("frr", "frr-watchfrr", "frr-zebra", "frr-staticd", "frr-bgpd")
    if not merged:
        pkgs[1:1] = [libfrr, vtysh]
        install += ("frr-vtysh",)
    return pkgs, install


# --- writers -------------------------------------------------------------------------------


def _tar_gz(members: Iterable[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            info.mtime = _MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=_MTIME)  # gzip -n (6)


def _member(
    name: str, entry_kind: str, mode: int, data: bytes = b"", target: str = ""
) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.mode = mode
    if entry_kind == "dir":
        info.type = tarfile.DIRTYPE
        return info, None
    if entry_kind == "link":
        info.type = tarfile.SYMTYPE
        info.linkname = target
        return info, None
    info.size = len(data)
    return info, data


def _write_ipk(p: Package, out_dir: Path) -> Path:
    data = [_member("./", "dir", 0o755)]
    for e in p.entries:
        name = "." + e.dest + ("/" if e.kind == "dir" else "")
        data.append(
            _member(name, e.kind, e.mode, e.content() if e.kind == "file" else b"", e.target)
        )
    control = [
        _member("./", "dir", 0o755),
        _member("./control", "file", 0o644, p.control("opkg").encode()),
    ]
    if p.conffiles:
        control.append(
            _member("./conffiles", "file", 0o644, ("\n".join(p.conffiles) + "\n").encode())
        )
    control.append(_member("./postinst", "file", 0o755, _postinst(p.name, "opkg").encode()))
    control.append(_member("./prerm", "file", 0o755, _prerm(p.name, "opkg").encode()))
    outer = _tar_gz(
        [
            _member("./debian-binary", "file", 0o644, b"2.0\n"),
            _member("./data.tar.gz", "file", 0o644, _tar_gz(data)),
            _member("./control.tar.gz", "file", 0o644, _tar_gz(control)),
        ]
    )
    path = out_dir / f"{p.name}_{p.full_version('opkg')}_{p.arch}.ipk"
    path.write_bytes(outer)
    return path


def _ipk_control(path: Path) -> str:
    """The control file of an .ipk (gzip'd tar or ar outer)."""
    raw = path.read_bytes()
    if raw.startswith(b"!<arch>\n"):
        pos, inner = 8, b""
        while pos < len(raw):
            header = raw[pos : pos + 60]
            size = int(header[48:58])
            if header[:16].decode().strip().rstrip("/") == "control.tar.gz":
                inner = raw[pos + 60 : pos + 60 + size]
            pos += 60 + size + (size % 2)
    else:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as outer:
            member = outer.extractfile("./control.tar.gz")
            if member is None:
                raise FeedError(f"{path}: no control.tar.gz")
            inner = member.read()
    with tarfile.open(fileobj=io.BytesIO(inner), mode="r:gz") as ctl:
        member = ctl.extractfile("./control")
        if member is None:
            raise FeedError(f"{path}: no ./control in control.tar.gz")
        return member.read().decode()


def _packages_index(ipks: Sequence[Path]) -> str:
    """OpenWrt's ``ipkg-make-index``: control fields + Filename, Size, SHA256sum."""
    stanzas = []
    for ipk in ipks:
        control = _ipk_control(ipk).rstrip("\n")
        raw = ipk.read_bytes()
        lines = control.splitlines()
        # Description (and its continuation lines) last, as ipkg-make-index writes it
        desc_at = next((i for i, ln in enumerate(lines) if ln.startswith("Description:")), None)
        head, tail = (lines, []) if desc_at is None else (lines[:desc_at], lines[desc_at:])
        head += [
            f"Filename: {ipk.name}",
            f"Size: {len(raw)}",
            f"SHA256sum: {hashlib.sha256(raw).hexdigest()}",
        ]
        stanzas.append("\n".join(head + tail) + "\n")
    return "\n".join(stanzas)


def _apk_tool() -> tuple[Path, dict[str, str]]:
    root = _tree_cached("apk-tools")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        [str(root / "usr/lib"), *filter(None, [env.get("LD_LIBRARY_PATH")])]
    )
    return root / "usr/bin/apk", env


def _run(cmd: Sequence[str | Path], *, env: dict[str, str] | None = None, what: str) -> str:
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, check=False, env=env
    )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise FeedError(f"{what} failed (exit {proc.returncode}): {' | '.join(detail[-3:])}")
    return proc.stdout


def _write_apk(
    p: Package,
    out_dir: Path,
    work: Path,
    *,
    scripts: dict[str, str] | None = None,
) -> Path:
    """``apk mkpkg`` from a staging dir holding the package's entries."""
    apk, env = _apk_tool()
    stage = work / f"{p.name}.files"
    meta = work / f"{p.name}.scripts"
    meta.mkdir(parents=True)
    stage.mkdir(parents=True)
    for e in p.entries:
        target = stage / e.dest.lstrip("/")
        if e.kind == "dir":
            target.mkdir(parents=True, exist_ok=True)
        elif e.kind == "link":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(e.target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(e.content())
    # OpenWrt 25.12: /lib/apk/packages/NAME.list (default_postinst finds init scripts in
    # it) and NAME.conffiles (sysupgrade keeps them)
    listing = sorted(e.dest for e in p.entries if e.kind != "dir")
    pkgdir = stage / "lib/apk/packages"
    pkgdir.mkdir(parents=True, exist_ok=True)
    (pkgdir / f"{p.name}.list").write_text("".join(f"{x}\n" for x in listing))
    if p.conffiles:
        (pkgdir / f"{p.name}.conffiles").write_text("".join(f"{x}\n" for x in p.conffiles))
    for e in p.entries:  # modes last: a 0750 dir must not stop writing into it (we are root)
        if e.kind != "link":
            (stage / e.dest.lstrip("/")).chmod(e.mode)
    if scripts is None:
        scripts = {
            "post-install": _postinst(p.name, "apk"),
            "pre-deinstall": _prerm(p.name, "apk"),
        }
    cmd: list[str | Path] = [
        apk,
        "mkpkg",
        "--info",
        f"name:{p.name}",
        "--info",
        f"version:{p.full_version('apk')}",
        "--info",
        f"description:{p.title}",
        "--info",
        f"arch:{'noarch' if p.arch == 'all' else p.arch}",
        "--info",
        f"license:{p.license}",
        "--info",
        f"origin:{p.source.rsplit('/', 1)[-1]}",
        "--info",
        f"maintainer:{p.maintainer}",
    ]
    deps = [*p.depends, *(f"!{c}" for c in p.conflicts)]
    if deps:
        cmd += ["--info", f"depends:{' '.join(deps)}"]
    for kind, body in scripts.items():
        script = meta / kind
        script.write_text(body)
        script.chmod(0o755)
        cmd += ["--script", f"{kind}:{script}"]
    out = out_dir / f"{p.name}-{p.full_version('apk')}.apk"
    cmd += ["--files", stage, "--output", out]
    _run(cmd, env=env, what=f"apk mkpkg {p.name}")
    return out


def _apk_key(dest: Path) -> tuple[Path, Path]:
    """The lab's index-signing key pair under ``dest`` (made once, kept)."""
    keydir = dest / "apk-keys"
    private, public = keydir / APK_KEY_NAME, keydir / f"{APK_KEY_NAME}.pub"
    if private.is_file() and public.is_file():
        return private, public
    keydir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".key.", dir=keydir))
    try:
        _run(["openssl", "genrsa", "-out", tmp / "k", "2048"], what="openssl genrsa")
        _run(
            ["openssl", "rsa", "-in", tmp / "k", "-pubout", "-out", tmp / "k.pub"],
            what="openssl rsa",
        )
        (tmp / "k.pub").rename(public)
        (tmp / "k").rename(private)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return private, public


def _apk_info(path: Path) -> tuple[str, str]:
    """(name, version) of an .apk, from ``apk adbdump``."""
    apk, env = _apk_tool()
    out = _run([apk, "adbdump", path], env=env, what=f"apk adbdump {path.name}")
    name = re.search(r"^\s*name: (\S+)", out, re.MULTILINE)
    version = re.search(r"^\s*version: (\S+)", out, re.MULTILINE)
    if name is None or version is None:
        raise FeedError(f"{path}: no name/version in its metadata")
    return name.group(1), version.group(1)


# --- the feed ------------------------------------------------------------------------------


def _input_hash(pkg: str, suite: str, extra: Sequence[Path], quagga_tree: str = "quagga") -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(f"pkg={pkg} suite={suite}\n".encode())
    names = {"quagga": [quagga_tree], "frr": ["frr", "libyang"], "apt-frr": []}[suite]
    if pkg == "apk":
        names.append("apk-tools")
    for name in names:
        h.update(f"tree={_tree_cached(name).parent.name}\n".encode())
    if suite == "apt-frr":  # the host's package: its version and its files' sizes and times
        version, listing = _apt_frr()
        h.update(f"apt-frr={version}\n".encode())
        for path in listing:
            if os.path.isfile(path):
                st = os.stat(path)
                h.update(f"{path} {st.st_size} {st.st_mtime_ns}\n".encode())
    refdir = openwrt_reference() / ("quagga-1.2.4-openwrt" if suite == "quagga" else "frr-openwrt")
    for ref in sorted([refdir / "Makefile", *(refdir / "files").iterdir()]):
        h.update(f"ref={ref.name} {hashlib.sha256(ref.read_bytes()).hexdigest()}\n".encode())
    for x in extra:
        h.update(f"extra={x.name} {hashlib.sha256(x.read_bytes()).hexdigest()}\n".encode())
    return h.hexdigest()[:16]


def build_feed(
    *, pkg: str, suite: str, dest: Path, extra: Sequence[Path] = (), quagga_tree: str = "quagga"
) -> Feed:
    """Build (or reuse) the ``pkg`` feed of ``suite`` under ``dest``; see the module doc.

    ``extra``: already-built package files (``.ipk`` for opkg, ``.apk`` for apk; e.g. the
    health check) added to the same feed and index.
    """
    _tree_cached.cache_clear()  # look the trees up once per call, afresh each call
    if pkg not in PKGS:
        raise FeedError(f"unknown package manager {pkg!r}", hint=f"one of {', '.join(PKGS)}")
    if suite not in SUITES:
        raise FeedError(f"unknown suite {suite!r}", hint=f"one of {', '.join(SUITES)}")
    suffix = ".ipk" if pkg == "opkg" else ".apk"
    extra = [Path(x) for x in extra]
    for x in extra:
        if x.suffix != suffix or not x.is_file():
            raise FeedError(f"extra package {x} is not an existing {suffix} file")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    key = _input_hash(pkg, suite, extra, quagga_tree)
    final = dest / f"{pkg}-{suite}-{key}"
    if suite == "quagga":
        pkgs, install = _quagga_packages(quagga_tree)
    elif suite == "apt-frr":
        pkgs, install = _apt_frr_packages(pkg)
    else:
        pkgs, install = _frr_packages()
    private_key, public_key = _apk_key(dest) if pkg == "apk" else (None, None)
    if not final.is_dir():
        work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=dest))
        try:
            out = work / "feed"
            out.mkdir()
            built = []
            for p in pkgs:
                if pkg == "opkg":
                    built.append(_write_ipk(p, out))
                else:
                    built.append(_write_apk(p, out, work / "stage"))
            for x in extra:
                shutil.copy2(x, out / x.name)
                built.append(out / x.name)
            if pkg == "opkg":
                index = _packages_index(built)
                (out / "Packages").write_text(index)
                (out / "Packages.gz").write_bytes(gzip.compress(index.encode(), mtime=_MTIME))
            else:
                apk, env = _apk_tool()
                _run(
                    [
                        apk,
                        "mkndx",
                        "--allow-untrusted",
                        "--sign-key",
                        private_key or "",
                        "--output",
                        out / "packages.adb",
                        *built,
                    ],
                    env=env,
                    what="apk mkndx",
                )
            out.chmod(0o755)
            try:
                out.rename(final)
            except OSError:
                if not final.is_dir():  # another builder won the race: theirs is as good
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    versions = [(p.name, p.full_version(pkg)) for p in pkgs]
    for x in extra:
        if pkg == "opkg":
            ctl = _ipk_control(final / x.name)
            name = re.search(r"^Package: (\S+)", ctl, re.MULTILINE)
            ver = re.search(r"^Version: (\S+)", ctl, re.MULTILINE)
            if name is None or ver is None:
                raise FeedError(f"{x}: no Package/Version in its control file")
            versions.append((name.group(1), ver.group(1)))
        else:
            versions.append(_apk_info(final / x.name))
    files = tuple(sorted((f.name, f.stat().st_size) for f in final.iterdir() if f.suffix == suffix))
    return Feed(
        root=final,
        pkg=pkg,
        suite=suite,
        packages=tuple(n for n, _ in versions),
        install=install,
        version=pkgs[[p.name for p in pkgs].index(suite.removeprefix("apt-"))].full_version(pkg),
        index=final / INDEX_NAME[pkg],
        files=files,
        apk_key=public_key,
        versions=tuple(versions),
    )


def opkg_conf(url: str, *, name: str = "routerctl_lab") -> str:
    """An ``/etc/opkg.conf`` for the lab router using the feed at ``url``."""
    return (
        "dest root /\n"
        "dest ram /tmp\n"
        "lists_dir ext /var/opkg-lists\n"
        "option overlay_root /overlay\n"
        "arch all 1\n"
        "arch noarch 1\n"
        f"arch {ARCH} 10\n"
        f"src/gz {name} {url.rstrip('/')}\n"
    )


def wget_shim(busybox: str = "/bin/busybox") -> str:
    """A ``/usr/bin/wget`` for the router that drops ``-T SECONDS`` and runs busybox wget.

    apk's URL backend runs ``wget -q -T N URL -O -``; Debian 12's busybox-static 1.35 wget
    segfaults (SIGSEGV, exit 139) whenever ``-T`` is given, so apk over HTTP fails with
    "wget: killed by signal 11". opkg runs ``wget -q -O FILE URL`` (no ``-T``) and is
    unaffected.
    """
    return (
        "#!/bin/sh\n"
        "# apk passes -T N; busybox 1.35's wget segfaults on -T (routerctl.lab.feed.wget_shim)\n"
        "n=$#\n"
        "while [ $n -gt 0 ]; do\n"
        "\ta=$1; shift; n=$((n - 1))\n"
        "\tcase $a in\n"
        "\t-T) shift; n=$((n - 1)) ;;\n"
        "\t-T?*) ;;\n"
        '\t*) set -- "$@" "$a" ;;\n'
        "\tesac\n"
        "done\n"
        f'exec {busybox} wget "$@"\n'
    )


def apk_repositories(url: str) -> str:
    """The ``/etc/apk/repositories`` line for the feed at ``url`` (its base URL)."""
    return f"{url.rstrip('/')}/packages.adb\n"


# --- the health check as an .apk (OpenWrt 25.12) ---------------------------------------------


def build_healthcheck_apk(dest: Path) -> Path:
    """``routerctl-healthcheck-VERSION.apk`` in ``dest``, the same files the ``.ipk`` ships.

    Read from ``openwrt-feed/net/routerctl-healthcheck/Makefile`` (``routerctl.ipk``'s
    parser): files, modes, conffiles, depends; its ``postinst`` becomes apk's
    ``post-install`` and ``post-upgrade`` (opkg runs postinst on upgrade too, apk runs only
    post-upgrade), its ``prerm`` ``pre-deinstall``. Architecture ``noarch`` (OpenWrt's
    ``all``). Conffiles: apk protects everything under ``/etc`` (a changed file is kept and
    the new one written as ``.apk-new``); the list also goes to
    ``/lib/apk/packages/NAME.conffiles`` as on OpenWrt 25.12.
    """
    _tree_cached.cache_clear()
    spec = parse_makefile(HEALTHCHECK_DIR)
    version, _, release = spec.version.rpartition("-")
    p = Package(
        spec.name,
        version=version,
        release=int(release),
        arch="all",
        title=spec.fields.get("TITLE", spec.name),
        source=f"feeds/routerctl/net/{spec.name}",
        license=spec.license,
        maintainer=spec.maintainer,
        section=spec.fields.get("SECTION", "net"),
        depends=tuple(spec.depends()),
        conffiles=spec.conffiles,
    )
    for d in spec.dirs:
        p.install_dir(d)
    for f in spec.files:
        p.install(spec.directory / f.source, f.dest, f.mode)
    scripts = {}
    if "postinst" in spec.scripts:
        scripts["post-install"] = spec.scripts["postinst"]
        scripts["post-upgrade"] = spec.scripts["postinst"]
    if "prerm" in spec.scripts:
        scripts["pre-deinstall"] = spec.scripts["prerm"]
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".hc.", dir=dest))
    try:
        out = _write_apk(p, work, work / "stage", scripts=scripts)
        final = dest / out.name
        out.replace(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final
