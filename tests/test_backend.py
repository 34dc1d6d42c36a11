"""Backend: detection output parsing and suite/package choice (pure), apk and space (lab)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from routerctl.errors import BackendError
from routerctl.lab import Lab
from routerctl.platform import PROFILES as SUITES
from routerctl.platform.openwrt import (
    RouterFacts,
    choose_suite,
    detect_script,
    installed_suite,
    packages_to_install,
    parse_facts,
    release_tuple,
)

SEP = "@@routerctl@@"


def facts_text(
    *,
    release: str = "23.05.5",
    pm: str = "opkg",
    installed: str = "",
    df: str = "Filesystem 1K-blocks Used Available Use% Mounted on\noverlayfs:/overlay 7680 332 7348 4% /",
    files: str = "",
    daemons: str = "",
    running: str = "",
    enabled: str = "",
) -> str:
    return (
        f"{SEP}release\nDISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='{release}'\n"
        f"DISTRIB_DESCRIPTION='OpenWrt {release} r1-abc'\n"
        f"{SEP}pm\n{pm}\n{installed}\n{SEP}overlay\n{df}\n{SEP}files\n{files}\n"
        f"{SEP}daemons\n{daemons}\n{SEP}running\n{running}\n{SEP}enabled\n{enabled}\n"
    )


def test_detect_script_is_posix_and_one_round_trip() -> None:
    script = detect_script()
    assert "apk info" in script and "opkg list-installed" in script
    assert "[[" not in script and "function " not in script
    proc = subprocess.run(["busybox", "sh", "-n", "-c", script], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_parse_facts_opkg() -> None:
    f = parse_facts(
        facts_text(
            installed="base-files - 1554-r24106\nfrr - 8.5.4-1\nfrr-zebra - 8.5.4-1",
            files="/etc/init.d/frr\n/usr/bin/vtysh",
            daemons="bgpd=no",
            running="",
        ),
        host="rtr",
    )
    assert f.release == "23.05.5" and f.description == "OpenWrt 23.05.5 r1-abc"
    assert f.package_manager == "opkg"
    assert f.installed == frozenset({"base-files", "frr", "frr-zebra"})
    assert f.overlay_free_kb == 7348
    assert f.files == frozenset({"/etc/init.d/frr", "/usr/bin/vtysh"})
    assert f.bgpd_enabled is False
    assert f.running == {"frr": False, "quagga": False}
    assert not f.ready(SUITES["frr"])


def test_parse_facts_apk_and_wrapped_df() -> None:
    f = parse_facts(
        facts_text(
            release="25.12.0",
            pm="apk",
            installed="frr\nfrr-bgpd\nfrr-zebra",
            df="Filesystem 1K-blocks Used Available Use% Mounted on\n"
            "/dev/loop0-with-a-very-long-name\n  14336 1200 13136 8% /overlay",
            daemons="bgpd=yes",
            running="frr",
            enabled="frr",
        ),
        host="rtr",
    )
    assert f.package_manager == "apk" and f.overlay_free_kb == 13136
    assert installed_suite(f) == "frr" and f.bgpd_enabled and f.running["frr"]
    assert f.ready(SUITES["frr"]) and not f.ready(SUITES["quagga"])


def test_not_openwrt_is_a_clear_error() -> None:
    text = facts_text().replace("DISTRIB_RELEASE='23.05.5'\n", "")
    with pytest.raises(BackendError, match="rtr has no readable /etc/openwrt_release"):
        parse_facts(text, host="rtr")
    with pytest.raises(BackendError, match="neither opkg nor apk"):
        parse_facts(facts_text(pm=""), host="rtr")


def _facts(release: str, installed: set[str] | None = None) -> RouterFacts:
    return RouterFacts(
        release=release,
        description="",
        package_manager="opkg",
        installed=frozenset(installed or ()),
        overlay_free_kb=None,
        files=frozenset(),
        bgpd_enabled=False,
    )


FEED_2305 = frozenset(
    {
        "frr",
        "frr-zebra",
        "frr-bgpd",
        "frr-vtysh",
        "quagga",
        "quagga-zebra",
        "quagga-bgpd",
        "quagga-vtysh",
    }
)
FEED_NO_QVTYSH = FEED_2305 - {"quagga-vtysh"}
FEED_1907 = frozenset({"quagga", "quagga-zebra", "quagga-bgpd", "quagga-vtysh"})
FEED_2410 = frozenset({"frr", "frr-zebra", "frr-bgpd"})  # vtysh merged into frr


@pytest.mark.parametrize(
    ("release", "feed", "installed", "pin", "suite", "todo"),
    [
        ("23.05.5", FEED_2305, set(), "auto", "frr", ["frr", "frr-zebra", "frr-bgpd", "frr-vtysh"]),
        (
            "19.07.10",
            FEED_1907,
            set(),
            "auto",
            "quagga",
            ["quagga", "quagga-zebra", "quagga-bgpd", "quagga-vtysh"],
        ),
        ("24.10.0", FEED_2410, set(), "auto", "frr", ["frr", "frr-zebra", "frr-bgpd"]),
        (
            "23.05.5",
            FEED_2305,
            {"quagga", "quagga-zebra", "quagga-bgpd"},
            "auto",
            "quagga",
            ["quagga-vtysh"],
        ),
        ("23.05.5", FEED_2305, {"frr", "frr-zebra"}, "auto", "frr", ["frr-bgpd", "frr-vtysh"]),
        (
            "23.05.5",
            FEED_NO_QVTYSH,
            set(),
            "quagga",
            "quagga",
            ["quagga", "quagga-zebra", "quagga-bgpd"],
        ),
        # apk (no feed listing): release data decides
        ("25.12.0", None, set(), "auto", "frr", ["frr", "frr-zebra", "frr-bgpd"]),
        ("21.02.7", None, set(), "auto", "frr", ["frr", "frr-zebra", "frr-bgpd", "frr-vtysh"]),
        (
            "19.07.10",
            None,
            set(),
            "auto",
            "quagga",
            ["quagga", "quagga-zebra", "quagga-bgpd", "quagga-vtysh"],
        ),
    ],
)
def test_suite_and_packages(
    release: str,
    feed: frozenset[str] | None,
    installed: set[str],
    pin: str,
    suite: str,
    todo: list[str],
) -> None:
    facts = _facts(release, installed)
    chosen = choose_suite(facts, pin=pin, available=feed)
    assert chosen.name == suite
    # a pinned quagga on a feed without quagga-vtysh does not ask for it
    assert packages_to_install(chosen, facts, available=feed) == todo


def test_feed_without_any_suite_is_a_clear_error() -> None:
    with pytest.raises(BackendError, match="neither frr nor quagga is in the package feed"):
        choose_suite(_facts("23.05.5"), pin="auto", available=frozenset({"luci"}))


def test_release_tuple() -> None:
    assert release_tuple("23.05.5") == (23, 5)
    assert release_tuple("SNAPSHOT") is None
    assert SUITES["frr"].init_script == "/etc/init.d/frr"
    assert SUITES["quagga"].persisted_files == ("/etc/quagga/zebra.conf", "/etc/quagga/bgpd.conf")


# ---------------------------------------------------------------------------
# lab: apt's FRR on apk (OpenWrt 25.12's split), a full overlay, a pinned suite
# ---------------------------------------------------------------------------


def cli(topology: object, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routerctl", *args, "-t", str(topology)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        check=False,
    )


@pytest.mark.lab
def test_apk_layout_installs_frr_without_separate_vtysh(
    lab_factory: Callable[..., Lab],
) -> None:
    lab = lab_factory(pkg="apk", installed=False)
    res = cli(lab.topology_file, "provision", "--yes", "--confirm-timeout", "60")
    assert res.returncode == 0, res.stderr
    # the real apk installed apt's FRR from the feed, in 25.12's split (vtysh inside frr)
    world = lab.router_sh("cat /etc/apk/world; command -v vtysh opkg; exit 0").stdout.split()
    assert {"frr", "frr-zebra", "frr-bgpd"} <= set(world) and "frr-vtysh" not in world
    assert "/usr/bin/vtysh" in world and not any(w.endswith("/opkg") for w in world)
    assert "(apk)" in res.stderr and "2 sessions Established" in res.stdout


@pytest.mark.lab
def test_full_overlay_is_refused_before_installing(lab_factory: Callable[..., Lab]) -> None:
    lab = lab_factory(installed=False, overlay_free_kb=900)
    res = cli(lab.topology_file, "provision", "--yes")
    assert res.returncode == 1, res.stderr
    assert "not enough space on /overlay of rtr (198.51.100.2:22)" in res.stderr
    assert (
        "KB free, about 6000 KB needed for frr frr-zebra frr-bgpd frr-vtysh" in res.stderr
        and "Traceback" not in res.stderr
    )
    # checked before installing anything
    assert "frr" not in lab.router_sh("opkg list-installed").stdout


@pytest.mark.lab
def test_pinned_suite_other_than_the_installed_one_is_refused(
    lab_factory: Callable[..., Lab], tmp_path: Path
) -> None:
    # the OpenWrt 21.02 router (real Quagga 1.2.4), configured by hand as in the seed:
    # Quagga's own files, init script and `write file` (lab up --configure)
    lab = lab_factory(suite="quagga", configure=True)
    lab.wait_established(timeout=60)
    for conf in ("zebra.conf", "bgpd.conf"):
        saved = lab.router_sh(f"cat /etc/quagga/{conf}").stdout
        assert "configuration saved from vty" in saved  # written by the daemon itself
    assert (
        "neighbor 198.51.100.6 remote-as 65001" in lab.router_sh("cat /etc/quagga/bgpd.conf").stdout
    )
    topo = tmp_path / "pinned.yaml"
    topo.write_text(
        lab.topology_file.read_text().replace("  asn: 65000\n", "  asn: 65000\n  suite: frr\n", 1)
    )
    before = lab.router_sh("opkg list-installed").stdout
    res = cli(topo, "provision", "--yes")
    assert res.returncode == 4, res.stderr
    assert "has quagga installed but the topology pins suite frr" in res.stderr
    assert lab.router_sh("opkg list-installed").stdout == before
