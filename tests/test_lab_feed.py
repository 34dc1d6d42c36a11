"""The lab's package feeds (routerctl.lab.feed), installed by the real opkg and apk.

Each feed is built from the lab-build cache into a temp dir and installed into an offline root
with the real package manager (opkg ``--offline-root``, apk ``--root --initdb``; maintainer
scripts are not run offline). The tests check that files land where OpenWrt puts them with
OpenWrt's modes, that the package manager lists the right versions, that opkg and apk refuse
a package whose bytes differ from the index, and that the installed bgpd really runs.

As in test_lab_build: without the built trees the tests skip when not root (nothing could
have built them) and fail as root (scripts/setup builds them).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from routerctl.ipk import build_ipk, parse_makefile
from routerctl.lab import feed as feedmod
from routerctl.lab.feed import Feed, FeedError, build_feed, build_healthcheck_apk, tool_roots

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="apk --root needs root (chown)")

SUITE_VERSION = {"quagga": "1.2.4", "frr": "10.4.1"}
# where OpenWrt's Makefiles put the files (path, mode)
EXPECTED = {
    "quagga": [
        ("/usr/sbin/zebra", 0o755),
        ("/usr/sbin/bgpd", 0o755),
        ("/usr/bin/vtysh", 0o755),
        ("/usr/sbin/quagga.init", 0o755),
        ("/etc/init.d/quagga", 0o755),
        ("/etc/quagga", 0o750),
        ("/etc/quagga/zebra.conf", 0o600),
        ("/etc/quagga/bgpd.conf", 0o600),
    ],
    "frr": [
        ("/usr/sbin/zebra", 0o755),
        ("/usr/sbin/bgpd", 0o755),
        ("/usr/sbin/staticd", 0o755),
        ("/usr/sbin/mgmtd", 0o755),
        ("/usr/sbin/watchfrr", 0o755),
        ("/usr/sbin/watchfrr.sh", 0o755),
        ("/usr/sbin/frrcommon.sh", 0o755),
        ("/usr/bin/vtysh", 0o755),
        ("/etc/init.d/frr", 0o755),
        ("/etc/frr/daemons", 0o600),
        ("/etc/frr/frr.conf", 0o600),
        ("/etc/frr/vtysh.conf", 0o600),
    ],
}
LIBS = {
    "quagga": ["/usr/lib/libzebra.so.1"],
    "frr": ["/usr/lib/libfrr.so.0", "/usr/lib/libmgmt_be_nb.so.0", "/usr/lib/libyang.so.3"],
}


def _require_trees() -> None:
    try:
        tool_roots()
        for name in ("quagga", "frr", "libyang"):
            feedmod.tree(name)
    except FeedError as exc:
        pytest.fail(f"{exc.one_line()}: scripts/setup builds it")


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    _require_trees()
    with tempfile.TemporaryDirectory(prefix="routerctl-feed-test.") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="module")
def feeds(workdir: Path) -> dict[tuple[str, str], Feed]:
    """Every (pkg, suite) feed, the health check in each."""
    hc_ipk = workdir / "hc" / "routerctl-healthcheck_0.1.0-1_all.ipk"
    hc_ipk.parent.mkdir()
    hc_ipk.write_bytes(build_ipk(parse_makefile(feedmod.HEALTHCHECK_DIR)))
    hc_apk = build_healthcheck_apk(workdir / "hc")
    out = {}
    for pkg, extra in (("opkg", hc_ipk), ("apk", hc_apk)):
        for suite in ("quagga", "frr"):
            out[pkg, suite] = build_feed(
                pkg=pkg, suite=suite, dest=workdir / "feeds", extra=[extra]
            )
    return out


def run(*cmd: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


class Opkg:
    def __init__(self, root: Path, feed_root: Path) -> None:
        self.root = root
        (root / "var/lock").mkdir(parents=True)
        (root / "etc").mkdir(parents=True, exist_ok=True)
        self.conf = root / "etc/opkg.conf"
        self.conf.write_text(feedmod.opkg_conf(f"file://{feed_root}"))
        self.binary = tool_roots()["opkg"] / "bin/opkg"

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run(
            self.binary, "-f", self.conf, "-o", self.root, "--offline-root", self.root, *args
        )


class Apk:
    def __init__(self, root: Path, feed: Feed) -> None:
        self.root = root
        (root / "etc/apk/keys").mkdir(parents=True)
        assert feed.apk_key is not None
        shutil.copy(feed.apk_key, root / "etc/apk/keys" / feed.apk_key.name)
        (root / "etc/apk/repositories").write_text(feedmod.apk_repositories(f"file://{feed.root}"))
        apk_root = tool_roots()["apk-tools"]
        self.binary = apk_root / "usr/bin/apk"
        self.env = {"LD_LIBRARY_PATH": str(apk_root / "usr/lib")}
        self.initialised = False

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        init = () if self.initialised else ("--initdb",)
        self.initialised = True
        # maintainer scripts are not run here (opkg --offline-root does not run them either)
        scripts = ("--no-scripts",) if args[0] in {"add", "del"} else ()
        return run(self.binary, "--root", self.root, *init, *scripts, *args, env=self.env)


def _versions_opkg(opkg: Opkg) -> dict[str, str]:
    proc = opkg("list-installed")
    assert proc.returncode == 0, proc.stderr
    return dict(line.split(" - ", 1) for line in proc.stdout.splitlines() if " - " in line)


def _versions_apk(apk: Apk) -> dict[str, str]:
    proc = apk("list", "--installed")
    assert proc.returncode == 0, proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        nv = line.split()[0]
        name, _, version = nv.rpartition("-r")[0].rpartition("-")
        out[name] = f"{version}-r{nv.rpartition('-r')[2]}"
    return out


def _assert_layout(root: Path, suite: str) -> None:
    for path, mode in EXPECTED[suite]:
        p = root / path.lstrip("/")
        assert p.exists(), f"{path} not installed"
        assert p.stat().st_mode & 0o7777 == mode, f"{path}: {oct(p.stat().st_mode)}"
        assert p.stat().st_uid == 0
    for lib in LIBS[suite]:
        assert (root / lib.lstrip("/")).exists(), f"{lib} not installed"


def _bgpd_version(root: Path) -> str:
    """``bgpd --version`` of the installed bgpd, its libraries from the installed root."""
    proc = run(root / "usr/sbin/bgpd", "--version", env={"LD_LIBRARY_PATH": str(root / "usr/lib")})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[0]


@pytest.mark.parametrize("suite", ["quagga", "frr"])
def test_opkg_installs_the_suite_as_openwrt_lays_it_out(
    feeds: dict[tuple[str, str], Feed], workdir: Path, suite: str
) -> None:
    feed = feeds["opkg", suite]
    opkg = Opkg(workdir / f"root-opkg-{suite}", feed.root)
    assert opkg("update").returncode == 0
    proc = opkg("install", *feed.install, "routerctl-healthcheck")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _assert_layout(opkg.root, suite)
    versions = _versions_opkg(opkg)
    for name in feed.install:
        assert versions[name] == feed.version
    assert feed.version == f"{SUITE_VERSION[suite]}-{2 if suite == 'quagga' else 1}"
    assert versions["routerctl-healthcheck"] == "0.1.0-1"
    assert (opkg.root / "usr/sbin/routerctl-health").stat().st_mode & 0o777 == 0o755
    assert (opkg.root / "etc/config/routerctl").is_file()
    # conffiles recorded as OpenWrt declares them
    status = (opkg.root / "usr/lib/opkg/status").read_text()
    conf = "/etc/quagga/bgpd.conf" if suite == "quagga" else "/etc/frr/daemons"
    assert f" {conf} " in status
    assert SUITE_VERSION[suite] in _bgpd_version(opkg.root)
    # a package's own files, removed by opkg; conffile left when changed (opkg's rule)
    assert opkg("remove", "routerctl-healthcheck").returncode == 0
    assert not (opkg.root / "usr/sbin/routerctl-health").exists()


@pytest.mark.parametrize("suite", ["frr", "quagga"])
def test_apk_installs_the_suite_as_openwrt_lays_it_out(
    feeds: dict[tuple[str, str], Feed], workdir: Path, suite: str
) -> None:
    feed = feeds["apk", suite]
    apk = Apk(workdir / f"root-apk-{suite}", feed)
    # no --allow-untrusted: the index is signed with the lab key in /etc/apk/keys
    proc = apk("add", "--arch", "x86_64", *feed.install, "routerctl-healthcheck")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _assert_layout(apk.root, suite)
    versions = _versions_apk(apk)
    for name in feed.install:
        assert versions[name] == feed.version
    assert feed.version == f"{SUITE_VERSION[suite]}-r{2 if suite == 'quagga' else 1}"
    assert versions["routerctl-healthcheck"] == "0.1.0-r1"
    assert (apk.root / "usr/sbin/routerctl-health").stat().st_mode & 0o777 == 0o755
    assert (apk.root / "etc/config/routerctl").stat().st_mode & 0o777 == 0o600
    listing = (apk.root / f"lib/apk/packages/{suite}.list").read_text().split()
    assert f"/etc/init.d/{suite}" in listing
    assert (apk.root / "lib/apk/packages/routerctl-healthcheck.conffiles").read_text() == (
        "/etc/config/routerctl\n"
    )
    assert SUITE_VERSION[suite] in _bgpd_version(apk.root)
    info = apk("info", "-v")
    assert f"{suite}-{feed.version}" in info.stdout.split()
    assert apk("del", "routerctl-healthcheck").returncode == 0
    assert not (apk.root / "usr/sbin/routerctl-health").exists()


def test_opkg_refuses_a_package_whose_bytes_differ_from_the_index(
    feeds: dict[tuple[str, str], Feed], workdir: Path
) -> None:
    feed = feeds["opkg", "quagga"]
    bad = workdir / "feed-corrupt"
    shutil.copytree(feed.root, bad)
    ipk = next(bad.glob("quagga-bgpd_*.ipk"))
    raw = bytearray(ipk.read_bytes())
    raw[len(raw) // 2] ^= 0x01  # same size, one bit differs: the SHA256sum catches it
    ipk.write_bytes(bytes(raw))
    opkg = Opkg(workdir / "root-opkg-corrupt", bad)
    assert opkg("update").returncode == 0
    proc = opkg("install", "quagga-bgpd")
    assert proc.returncode != 0
    assert "checksum or size mismatch" in (proc.stdout + proc.stderr).lower()
    assert not (opkg.root / "usr/sbin/bgpd").exists()
    # one byte longer, and the index's SHA256sum updated to match: only Size can catch it
    grown = bytes(raw) + b"\0"
    ipk.write_bytes(grown)
    index = (bad / "Packages").read_text()
    head, rest = index.split("Package: quagga-bgpd\n", 1)
    stanza, tail = rest.split("\n\n", 1) if "\n\n" in rest else (rest, "")
    old_sum = next(ln for ln in stanza.splitlines() if ln.startswith("SHA256sum: "))
    stanza = stanza.replace(old_sum, f"SHA256sum: {hashlib.sha256(grown).hexdigest()}")
    index = head + "Package: quagga-bgpd\n" + stanza + ("\n\n" + tail if tail else "")
    (bad / "Packages.gz").write_bytes(gzip.compress(index.encode()))
    assert opkg("update").returncode == 0
    proc = opkg("install", "quagga-bgpd")
    assert proc.returncode != 0
    assert "checksum or size mismatch" in (proc.stdout + proc.stderr).lower()
    assert not (opkg.root / "usr/sbin/bgpd").exists()
    # and the intact feed installs into the same root
    (opkg.root / "etc/opkg.conf").write_text(feedmod.opkg_conf(f"file://{feed.root}"))
    assert opkg("update").returncode == 0
    assert opkg("install", "quagga-bgpd").returncode == 0
    assert (opkg.root / "usr/sbin/bgpd").is_file()


def test_apk_refuses_a_package_whose_bytes_differ_from_the_index(
    feeds: dict[tuple[str, str], Feed], workdir: Path
) -> None:
    feed = feeds["apk", "frr"]
    bad = workdir / "apkfeed-corrupt"
    shutil.copytree(feed.root, bad)
    pkg = next(bad.glob("frr-bgpd-*.apk"))
    raw = bytearray(pkg.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    pkg.write_bytes(bytes(raw))
    apk = Apk(workdir / "root-apk-corrupt", feed)
    (apk.root / "etc/apk/repositories").write_text(feedmod.apk_repositories(f"file://{bad}"))
    proc = apk("add", "--arch", "x86_64", "frr-bgpd")
    assert proc.returncode != 0
    assert not (apk.root / "usr/sbin/bgpd").exists()
    # an index not signed by a trusted key is refused too
    other = Apk(workdir / "root-apk-nokey", feed)
    for key in (other.root / "etc/apk/keys").iterdir():
        key.unlink()
    proc = other("add", "--arch", "x86_64", "frr")
    assert proc.returncode != 0
    assert "UNTRUSTED" in proc.stdout + proc.stderr


def test_health_check_apk_carries_the_ipk_scripts(workdir: Path) -> None:
    apk_file = build_healthcheck_apk(workdir / "hc2")
    assert apk_file.name == "routerctl-healthcheck-0.1.0-r1.apk"
    spec = parse_makefile(feedmod.HEALTHCHECK_DIR)
    apk_root = tool_roots()["apk-tools"]
    dump = run(
        apk_root / "usr/bin/apk",
        "adbdump",
        apk_file,
        env={"LD_LIBRARY_PATH": str(apk_root / "usr/lib")},
    )
    assert dump.returncode == 0, dump.stderr
    for script in ("post-install", "post-upgrade", "pre-deinstall"):
        assert f"{script}: " in dump.stdout
    assert "arch: noarch" in dump.stdout
    # the scripts' bodies are the Makefile's (first distinctive line of each)
    assert "/usr/sbin/routerctl-health" in spec.scripts["postinst"]
    assert "routerctl-health >/dev/null" in dump.stdout
    assert "remove_owned" in dump.stdout


def test_feed_is_cached_by_its_inputs(feeds: dict[tuple[str, str], Feed], workdir: Path) -> None:
    dest = workdir / "cache-test"
    start = time.monotonic()
    first = build_feed(pkg="opkg", suite="quagga", dest=dest)
    cold = time.monotonic() - start
    start = time.monotonic()
    again = build_feed(pkg="opkg", suite="quagga", dest=dest)
    cached = time.monotonic() - start
    assert again == first
    assert cached < cold
    ipk = next(feeds["opkg", "quagga"].root.glob("routerctl-healthcheck_*.ipk"))
    with_extra = build_feed(pkg="opkg", suite="quagga", dest=dest, extra=[ipk])
    assert with_extra.root != first.root
    assert "routerctl-healthcheck" in with_extra.packages
    assert len([p for p in dest.iterdir() if p.name.startswith("opkg-quagga-")]) == 2
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # no leftover work dirs


def test_feed_contents_follow_openwrts_split(feeds: dict[tuple[str, str], Feed]) -> None:
    quagga = feeds["opkg", "quagga"]
    assert set(quagga.packages) == {
        "quagga",
        "quagga-libzebra",
        "quagga-zebra",
        "quagga-bgpd",
        "quagga-vtysh",
        "quagga-watchquagga",
        "routerctl-healthcheck",
    }
    frr = feeds["apk", "frr"]
    assert set(frr.packages) == {
        "libyang",
        "frr",
        "frr-watchfrr",
        "frr-zebra",
        "frr-bgpd",
        "frr-staticd",
        "routerctl-healthcheck",
    }
    index = feeds["opkg", "frr"].index.read_text()
    stanza = index.split("Package: frr-bgpd\n", 1)[1].split("\n\n", 1)[0]
    assert "Depends: frr, frr-watchfrr, frr-zebra" in stanza
    assert "Architecture: x86_64" in stanza
    for field in ("Installed-Size:", "Filename:", "Size:", "SHA256sum:"):
        assert field in stanza
    assert "Conflicts: quagga-zebra" in index.split("Package: frr-zebra\n", 1)[1]
    assert "Architecture: all" in index.split("Package: routerctl-healthcheck\n", 1)[1]
    assert (feeds["opkg", "frr"].root / "Packages.gz").is_file()


def test_apt_frr_feed_packages_the_hosts_frr_in_the_releases_split(workdir: Path) -> None:
    """The default lab's suite: apt's FRR, 23.05's split on opkg, 25.12's on apk, with the
    host build's own paths (daemons in /usr/lib/frr) and OpenWrt's init script."""
    if not Path("/usr/lib/frr/bgpd").is_file():
        pytest.skip("apt's frr is not installed (scripts/setup installs it)")
    opkg = build_feed(pkg="opkg", suite="apt-frr", dest=workdir / "apt")
    apk_pkgs, apk_install = feedmod._apt_frr_packages("apk")  # the split (not built: slow)
    daemons = {"frr", "frr-watchfrr", "frr-zebra", "frr-bgpd", "frr-staticd"}
    assert set(opkg.packages) == daemons | {"frr-libfrr", "frr-vtysh"}
    assert {p.name for p in apk_pkgs} == daemons  # 25.12: libfrr and vtysh inside frr
    assert "frr-vtysh" in opkg.install and "frr-vtysh" not in apk_install
    apk_frr = next(p for p in apk_pkgs if p.name == "frr")
    assert "/usr/bin/vtysh" in {e.dest for e in apk_frr.entries}
    index = opkg.index.read_text()
    bgpd = index.split("Package: frr-bgpd\n", 1)[1].split("\n\n", 1)[0]
    assert "Depends: frr, frr-watchfrr, frr-zebra" in bgpd
    assert "Depends: frr-libfrr" in index.split("Package: frr-vtysh\n", 1)[1].split("\n\n")[0]
    version = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "frr"], capture_output=True, text=True, check=True
    ).stdout
    assert opkg.version == version.split("-", 1)[0].split(":")[-1] + "-1"
    root = workdir / "apt-root"
    opkg_cmd = Opkg(root, opkg.root)
    assert opkg_cmd("update").returncode == 0
    res = opkg_cmd("install", *opkg.install)
    assert res.returncode == 0, res.stdout + res.stderr
    for path in (
        "usr/lib/frr/bgpd",
        "usr/lib/frr/watchfrr.sh",
        "etc/init.d/frr",
        "etc/frr/daemons",
    ):
        assert (root / path).is_file(), path
    assert os.readlink(root / "usr/sbin/frrcommon.sh") == "/usr/lib/frr/frrcommon.sh"
    common = (root / "usr/lib/frr/frrcommon.sh").read_text()
    assert 'D_PATH="/usr/lib/frr"' in common and 'FRR_USER="frr"' in common
    assert "all_daemon_list()" in common  # OpenWrt's init script calls it


def test_tool_roots_hold_the_binaries_the_router_copies() -> None:
    roots = tool_roots()
    assert (roots["opkg"] / "bin/opkg").is_file()
    assert (roots["apk-tools"] / "usr/bin/apk").is_file()
    assert (roots["uci"] / "usr/bin/uci").is_file()
    assert (roots["libubox"] / "usr/lib/libubox.so").is_file()
    assert (roots["busybox-static"] / "bin/busybox").is_file()


def test_bad_arguments_are_refused(workdir: Path) -> None:
    with pytest.raises(FeedError):
        build_feed(pkg="dpkg", suite="quagga", dest=workdir / "x")
    with pytest.raises(FeedError):
        build_feed(pkg="opkg", suite="bird", dest=workdir / "x")
    with pytest.raises(FeedError):
        build_feed(pkg="opkg", suite="quagga", dest=workdir / "x", extra=[workdir / "nope.apk"])


@pytest.fixture
def httpd(workdir: Path) -> Iterator[tuple[str, Path]]:
    """busybox httpd serving workdir/feeds on a free loopback port; a PATH dir with wget."""
    busybox = tool_roots()["busybox-static"] / "bin/busybox"
    bindir = workdir / "bin"
    bindir.mkdir(exist_ok=True)
    if not (bindir / "gzip").exists():
        (bindir / "gzip").symlink_to(busybox)
    (bindir / "wget").write_text(feedmod.wget_shim(str(busybox)))
    (bindir / "wget").chmod(0o755)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(busybox), "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(workdir / "feeds")]
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)  # poll interval, bounded by the deadline
        yield f"http://127.0.0.1:{port}", bindir
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_opkg_and_apk_install_over_http_with_busybox_wget(
    feeds: dict[tuple[str, str], Feed], workdir: Path, httpd: tuple[str, Path]
) -> None:
    base, bindir = httpd
    path = {"PATH": f"{bindir}:{os.environ['PATH']}"}  # busybox wget, as on the router
    feed = feeds["opkg", "quagga"]
    opkg = Opkg(workdir / "root-http-opkg", feed.root)
    opkg.conf.write_text(feedmod.opkg_conf(f"{base}/{feed.root.name}"))
    args = ("-f", opkg.conf, "-o", opkg.root, "--offline-root", opkg.root)
    assert run(opkg.binary, *args, "update", env=path).returncode == 0
    proc = run(opkg.binary, *args, "install", "quagga-bgpd", env=path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (opkg.root / "usr/sbin/bgpd").is_file()
    afeed = feeds["apk", "frr"]
    apk = Apk(workdir / "root-http-apk", afeed)
    (apk.root / "etc/apk/repositories").write_text(
        feedmod.apk_repositories(f"{base}/{afeed.root.name}")
    )
    proc = run(
        apk.binary,
        "--root",
        apk.root,
        "--initdb",
        "--no-scripts",
        "add",
        "--arch",
        "x86_64",
        "frr-bgpd",
        env={**apk.env, **path},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (apk.root / "usr/sbin/bgpd").is_file()
