"""The lab's router parts built from source by scripts/build/lab-build (run by scripts/setup).

Two halves:
- the built trees really run: Quagga 1.2.4, FRR 10.4.1 (with mgmtd), opkg, apk 3.0.6, uci on a
  temp confdir, and busybox-static's crond, each with the library path it needs on the host;
- the cache key: every input (tarball, patch, build script, dependency) changes it, and a
  failed build leaves one line naming the step and no half tree.

The built-tree tests skip only when the cache is absent and we are not root (nothing could have
built it); as root (CI, after scripts/setup) an absent tree is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAB_BUILD = ROOT / "scripts/build/lab-build"
SOURCES = Path(os.environ.get("ROUTERCTL_LAB_SOURCES", ROOT.parent / "shared/sources"))
OPENWRT_REF = Path(
    os.environ.get("ROUTERCTL_LAB_OPENWRT_REF", ROOT.parent / "shared/openwrt-reference")
)
COMPONENTS = ["libubox", "uci", "opkg", "apk-tools", "busybox-static", "quagga", "libyang", "frr"]

needs_sources = pytest.mark.skipif(
    not SOURCES.is_dir() or not OPENWRT_REF.is_dir(),
    reason=f"no build inputs at {SOURCES} and {OPENWRT_REF}",
)


def lab_build(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LAB_BUILD), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def tree(component: str) -> Path:
    """The built staging root of a component (skip or fail when it is not built)."""
    proc = lab_build("--path", component)
    if proc.returncode != 0:
        why = f"{component} not built ({proc.stderr.strip()})"
        if os.geteuid() == 0:
            pytest.fail(f"{why}: scripts/setup builds it")
        pytest.skip(f"{why} and not root to build it")
    return Path(proc.stdout.strip()) / "root"


def run(
    binary: Path, *args: str, libs: tuple[Path, ...] = (), check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a built binary with its trees' usr/lib on LD_LIBRARY_PATH (in a router they are in
    /usr/lib, which every binary has as RUNPATH)."""
    env = {**os.environ, "LD_LIBRARY_PATH": ":".join(str(t / "usr/lib") for t in libs)}
    proc = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, check=False, env=env, timeout=30
    )
    if check:
        assert proc.returncode == 0, (binary, args, proc.stdout, proc.stderr)
    return proc


def runpath(binary: Path) -> str:
    out = subprocess.run(
        ["readelf", "-d", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    m = re.search(r"\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[(.*)\]", out)
    return m.group(1) if m else ""


# --- the built parts run --------------------------------------------------------------------


def test_quagga_1_2_4_daemons_and_vtysh() -> None:
    q = tree("quagga")
    for daemon in ("bgpd", "zebra"):
        out = run(q / "usr/sbin" / daemon, "--version", libs=(q,)).stdout
        assert f"{daemon} version 1.2.4" in out
    vtysh = q / "usr/bin/vtysh"
    assert os.access(vtysh, os.X_OK)
    assert "Usage" in run(vtysh, "--help", libs=(q,)).stdout
    assert (q / "usr/sbin/watchquagga").is_file()
    assert (q / "usr/lib/libzebra.so.1").exists()
    # OpenWrt's compiled-in paths: the vty sockets and the config dir
    lib = (q / "usr/lib/libzebra.so.1").read_bytes() + vtysh.read_bytes()
    assert b"/var/run/quagga/bgpd.vty" in lib
    assert b"/etc/quagga/" in lib
    assert runpath(q / "usr/sbin/bgpd") == "/usr/lib"


def test_frr_10_4_1_with_mgmtd() -> None:
    f, y = tree("frr"), tree("libyang")
    libs = (f, y)
    for daemon in ("bgpd", "zebra", "mgmtd", "staticd"):
        out = run(f / "usr/sbin" / daemon, "-v", libs=libs).stdout
        assert f"{daemon} version 10.4.1" in out, out
    out = run(f / "usr/sbin/bgpd", "-v", libs=libs).stdout
    assert "--sysconfdir=/etc/frr/" in out and "--localstatedir=/var/run/frr" in out
    assert (f / "usr/sbin/watchfrr").is_file()
    # vtysh has no --version: its help runs, and it links libyang from the libyang tree
    assert "Usage" in run(f / "usr/bin/vtysh", "--help", libs=libs).stdout
    assert (y / "usr/lib/libyang.so.3").exists()
    assert b"/var/run/frr" in (f / "usr/lib/libfrr.so.0").read_bytes()
    assert runpath(f / "usr/sbin/bgpd") == "/usr/lib"
    assert runpath(f / "usr/lib/libfrr.so.0") == "/usr/lib"


def test_opkg_runs() -> None:
    o = tree("opkg")
    out = run(o / "bin/opkg", "--version").stdout
    assert out.startswith("opkg version 38eccbb"), out
    # libubox is linked in statically: opkg needs no library of the lab's
    proc = run(o / "bin/opkg", check=False)
    assert "usage: opkg" in proc.stdout + proc.stderr


def test_apk_3_0_6_runs() -> None:
    a = tree("apk-tools")
    out = run(a / "usr/bin/apk", "--version", libs=(a,)).stdout
    assert out.startswith("apk-tools 3.0.6"), out


def test_uci_sets_and_shows_on_a_temp_confdir(tmp_path: Path) -> None:
    u, ubox = tree("uci"), tree("libubox")
    uci = u / "usr/bin/uci"
    conf, save = tmp_path / "config", tmp_path / "save"
    conf.mkdir()
    (conf / "system").write_text("config system 'main'\n\toption hostname 'OpenWrt'\n")
    base = ("-c", str(conf), "-t", str(save))
    run(uci, *base, "set", "system.main.hostname=lab", libs=(u, ubox))
    run(uci, *base, "commit", "system", libs=(u, ubox))
    out = run(uci, *base, "show", libs=(u, ubox)).stdout
    assert "system.main=system" in out and "system.main.hostname='lab'" in out
    assert "option hostname 'lab'" in (conf / "system").read_text()
    # real uci: the config file must exist before set
    proc = run(uci, *base, "set", "network.lan=interface", libs=(u, ubox), check=False)
    assert proc.returncode != 0


def test_busybox_static_has_crond() -> None:
    b = tree("busybox-static")
    applets = set(run(b / "bin/busybox", "--list").stdout.split())
    missing = {"crond", "crontab", "httpd", "wget", "logger", "ash", "nc"} - applets
    assert not missing
    # static: it runs in any namespace without the host's libraries
    assert (
        "NEEDED"
        not in subprocess.run(
            ["readelf", "-d", str(b / "bin/busybox")], capture_output=True, text=True, check=False
        ).stdout
    )


def test_a_cached_build_only_checks() -> None:
    for c in COMPONENTS:
        tree(c)
    start = time.monotonic()
    proc = lab_build()
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert "building" not in proc.stderr, f"cached lab-build took {elapsed:.1f} s"


# --- the cache key --------------------------------------------------------------------------


def keys(env: dict[str, str], build: Path = LAB_BUILD) -> dict[str, str]:
    out = {}
    for c in COMPONENTS:
        proc = subprocess.run(
            [str(build), "--print-key", c],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **env},
        )
        assert proc.returncode == 0, proc.stderr
        out[c] = proc.stdout.strip()
    return out


def linked_sources(tmp_path: Path) -> Path:
    src = tmp_path / "sources"
    src.mkdir()
    for f in SOURCES.glob("*.tar.gz"):
        (src / f.name).symlink_to(f)
    return src


@needs_sources
def test_key_is_stable_and_names_its_inputs(tmp_path: Path) -> None:
    env = {"ROUTERCTL_LAB_SOURCES": str(linked_sources(tmp_path))}
    first = keys(env)
    assert all(re.fullmatch(r"[0-9a-f]{16}", k) for k in first.values())
    assert keys(env) == first
    assert keys({}) == first  # the same tarballs by another path: the same keys
    inputs = lab_build("--print-inputs", "frr").stdout
    for word in ("source=frr-10.4.1.tar.gz sha256=", "configure=", "--enable-mgmtd", "cc=", "os="):
        assert word in inputs
    assert re.search(r"^dep=libyang key=[0-9a-f]{16}$", inputs, re.M)


@needs_sources
def test_a_changed_tarball_changes_its_key_and_its_dependents(tmp_path: Path) -> None:
    src = linked_sources(tmp_path)
    before = keys({"ROUTERCTL_LAB_SOURCES": str(src)})
    tarball = src / "libubox-1aa36ee.tar.gz"
    data = tarball.read_bytes()
    tarball.unlink()
    tarball.write_bytes(data + b"\0")
    after = keys({"ROUTERCTL_LAB_SOURCES": str(src)})
    changed = {c for c in COMPONENTS if before[c] != after[c]}
    assert changed == {"libubox", "uci", "opkg"}


@needs_sources
def test_a_changed_patch_changes_quagga_only(tmp_path: Path) -> None:
    ref = tmp_path / "openwrt-reference"
    shutil.copytree(OPENWRT_REF, ref)
    before = keys({"ROUTERCTL_LAB_OPENWRT_REF": str(ref)})
    patch = ref / "quagga-1.2.4-openwrt/patches/200-gcc10.patch"
    patch.chmod(0o644)
    patch.write_text(patch.read_text() + "\n")
    after = keys({"ROUTERCTL_LAB_OPENWRT_REF": str(ref)})
    assert {c for c in COMPONENTS if before[c] != after[c]} == {"quagga"}


@needs_sources
def test_a_changed_build_script_changes_the_key(tmp_path: Path) -> None:
    scripts = tmp_path / "scripts/build"
    shutil.copytree(LAB_BUILD.parent, scripts)
    env = {"ROUTERCTL_LAB_SOURCES": str(SOURCES), "ROUTERCTL_LAB_OPENWRT_REF": str(OPENWRT_REF)}
    build = scripts / "lab-build"
    before = keys(env, build)
    assert before == keys({}), "a copy of the same scripts gives the same keys"
    comp = scripts / "components/libyang.sh"
    comp.write_text(comp.read_text().replace("-DENABLE_LYD_PRIV=ON", "-DENABLE_LYD_PRIV=ON -DX=1"))
    after = keys(env, build)
    assert {c for c in COMPONENTS if before[c] != after[c]} == {"libyang", "frr"}
    build.write_text(build.read_text() + "\n# changed\n")
    changed = keys(env, build)
    assert all(changed[c] != after[c] for c in COMPONENTS)


@needs_sources
def test_a_failed_build_names_its_step_and_leaves_no_tree(tmp_path: Path) -> None:
    src = linked_sources(tmp_path)
    (src / "libubox-1aa36ee.tar.gz").unlink()
    (src / "libubox-1aa36ee.tar.gz").write_bytes(b"not a tarball")
    cache = tmp_path / "cache"
    env = {"ROUTERCTL_LAB_SOURCES": str(src), "ROUTERCTL_LAB_CACHE": str(cache)}
    proc = lab_build("libubox", env=env)
    assert proc.returncode != 0
    key = keys(env)["libubox"]
    log = cache / f"logs/libubox-{key}.log"
    assert proc.stderr.strip().splitlines()[-1] == (
        f"setup: build libubox failed at unpack (log: {log})"
    )
    assert "gzip" in log.read_text()
    assert not (cache / f"libubox-{key}").exists() and not (cache / "libubox").exists()
    assert lab_build("--path", "libubox", env=env).returncode != 0


def test_build_scripts_are_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (scripts/setup installs it)")
    scripts = [LAB_BUILD, *sorted((LAB_BUILD.parent / "components").glob("*.sh"))]
    proc = subprocess.run(
        ["shellcheck", *map(str, scripts)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout
