"""The release matrix: ``lab up --openwrt R`` for every release, no suite installed.

Each release's router has OpenWrt's real userland (opkg or apk, uci, busybox crond and
syslogd) and installs its real suite (Quagga 1.2.4 on 21.02, FRR 10.4.1 on 23.05, 24.10
and 25.12) from the lab's feed when routerctl provisions it. Needs the build cache
(``scripts/setup``); skipped with the reason when it is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from routerctl.errors import LabError
from routerctl.lab import Lab
from routerctl.lab.spec import OPENWRT
from tests.release_lab import cli, poll, release_lab

pytestmark = pytest.mark.lab

SERVICES = ("203.0.113.30", "203.0.113.31")
NODES = {"198.51.100.5", "198.51.100.6"}


def _sh(lab: Lab, script: str) -> str:
    return lab.router_sh(script).stdout


@pytest.fixture(scope="module", params=list(OPENWRT))
def release(request: pytest.FixtureRequest) -> Iterator[Lab]:
    yield from release_lab(request.param, "m", provision=False)


def test_release_router_has_openwrt_userland_and_no_suite(release: Lab) -> None:
    suite, pkg, full, _ = OPENWRT[release.spec.openwrt or ""]
    assert f"DISTRIB_RELEASE='{full}'" in _sh(release, "cat /etc/openwrt_release")
    # Debian's FRR is invisible; no suite until a package installs one
    out = _sh(release, "ls /usr/lib/frr /etc/frr /usr/bin/vtysh /etc/quagga 2>&1; exit 0")
    assert out.count("No such file") == 4, out
    # the real package manager, pointed at the feed
    assert "/bin/opkg" in _sh(release, "command -v opkg apk; exit 0") or pkg == "apk"
    if pkg == "apk":
        assert "packages.adb" in _sh(release, "cat /etc/apk/repositories")
    # the user the daemons run as
    assert _sh(release, "id -un network").strip() == "network"
    assert suite in ("quagga", "frr")
    # lab up stays quick (the feed is cached after the first build)
    assert release.up_time < 60  # type: ignore[attr-defined]


def test_uci_is_real(release: Lab) -> None:
    _sh(release, "uci set system.@system[0].hostname=labtest && uci commit system")
    assert "system.@system[0].hostname='labtest'" in _sh(release, "uci show system")
    assert "option hostname 'labtest'" in _sh(release, "cat /etc/config/system")
    # real uci: `batch` exits 0 even when a line fails
    assert release.router_sh("echo 'set nosuch.x.y=1' | uci batch", check=False).returncode == 0


def test_provision_installs_the_suite_and_routes(release: Lab) -> None:
    suite, pkg, _, _ = OPENWRT[release.spec.openwrt or ""]
    res = cli(release.topology_file, "provision", "--yes", "--confirm-timeout", "60")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 sessions Established" in res.stdout, res.stdout
    installed = _sh(release, "opkg list-installed" if pkg == "opkg" else "apk info")
    assert (suite + "-bgpd") in installed
    # the suite started from its own init script, its daemons as user network
    ps = _sh(release, "ps w")
    # FRR 10: mgmtd too (staticd only where frr-staticd is installed: provision does not)
    for daemon in ("zebra", "bgpd") + (("mgmtd",) if suite == "frr" else ()):
        assert any(daemon in ln and "network" in ln for ln in ps.splitlines()), (daemon, ps)
    if suite == "frr":
        summary = json.loads(release.vtysh("show bgp summary json"))
        peers = summary.get("ipv4Unicast", summary).get("peers", {})
        assert {a for a, p in peers.items() if p.get("state") == "Established"} == NODES

    def routed() -> bool:
        try:
            return {release.curl(SERVICES[0], local_port=41000 + i) for i in range(8)} <= {
                "node1",
                "node2",
            }
        except LabError:
            return False

    poll(routed, timeout=30, what="curl through the router")


def test_second_provision_changes_nothing_and_verify_is_healthy(release: Lab) -> None:
    res = cli(release.topology_file, "provision", "--yes")
    assert res.returncode == 0 and res.stdout.strip().endswith("rtr: no changes"), res
    ver = cli(release.topology_file, "verify", "-o", "json", "--probe")
    doc = json.loads(ver.stdout)
    assert ver.returncode == 0 and doc["status"] == "ok", ver.stdout
    assert doc["routers"][0]["suite"] == OPENWRT[release.spec.openwrt or ""][0]
