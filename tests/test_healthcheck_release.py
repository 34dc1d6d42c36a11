"""The health check package on the release routers (issue 13 item 3): installed and
removed by the REAL opkg (21.02 Quagga 1.2.4, 23.05 and 24.10 FRR 10) and the REAL apk (25.12 FRR
10.4.1, the .apk built on the router by its own ``apk mkpkg``); run by the real busybox
crond; conffiles kept on upgrade; on Quagga, bgpd down (vtysh: nothing, exit 0) is
critical and self-heal restarts it through /etc/init.d/quagga.

Needs the lab and its build cache (``scripts/setup``); skipped with the reason otherwise.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from routerctl.ipk import build_ipk, parse_makefile
from routerctl.lab import Lab
from routerctl.lab.spec import OPENWRT
from routerctl.ops import healthcheck as hc
from routerctl.platform.openwrt import PACKAGE_MANAGERS
from tests.release_lab import cli, poll, release_lab

pytestmark = pytest.mark.lab

RELEASES = ("21.02", "23.05", "24.10", "25.12")
STATUS = hc.DEFAULT_STATUS
CRON_LINE = "*/1 * * * * /usr/sbin/routerctl-health >/dev/null 2>&1"


def _sh(lab: Lab, script: str) -> str:
    return lab.router_sh(script, check=False, timeout=90).stdout


def _pm(lab: Lab) -> str:
    return OPENWRT[lab.spec.openwrt or ""][1]


def _installed(lab: Lab) -> bool:
    pm = PACKAGE_MANAGERS[_pm(lab)]
    out = _sh(lab, pm.query_installed.format(name=hc.PACKAGE))
    return any(ln.split(" ", 1)[0] == hc.PACKAGE for ln in out.splitlines())


def _status(lab: Lab) -> dict[str, Any] | None:
    text = _sh(lab, f"cat {STATUS} 2>/dev/null")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


@pytest.fixture(scope="module", params=RELEASES)
def release(request: pytest.FixtureRequest) -> Iterator[Lab]:
    yield from release_lab(request.param, "h", provision=True)


def test_install_runs_postinst_and_crond_runs_the_check(release: Lab) -> None:
    res = cli(release.topology_file, "healthcheck", "install", "--interval", "1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _installed(release)
    # postinst: exactly one cron line, crond (re)started; the UCI config in place
    crontab = _sh(release, "cat /etc/crontabs/root")
    assert crontab.count("routerctl-health") == 1 and CRON_LINE in crontab, crontab
    assert "running" in _sh(release, "/etc/init.d/cron status")
    assert "198.51.100.5" in _sh(release, "uci -q get routerctl.@health[0].neighbor")
    if _pm(release) == "apk":
        assert "/etc/config/routerctl" in _sh(
            release, "cat /lib/apk/packages/routerctl-healthcheck.conffiles"
        )
    assert _sh(release, "ls /tmp | grep -c '^routerctl\\.'; true").strip() == "0"
    # the run install did is gone; a fresh status can only come from crond
    _sh(release, f"rm -f {STATUS} {STATUS}.state")
    t0 = int(_sh(release, "date +%s").strip())
    poll(
        lambda: (_status(release) or {}).get("time", 0) >= t0,
        timeout=75,  # crond fires at the top of each minute
        what="crond to run routerctl-health",
    )
    status = _status(release)
    assert status is not None and status["state"] == "ok", status
    assert status["suite"] == OPENWRT[release.spec.openwrt or ""][0]
    # a state change from "none" is logged through logger -> syslogd
    assert "routerctl-health: ok (was none)" in _sh(release, "cat /var/log/messages")


# the Quagga vtysh quirk (bgpd down: no output, exit 0): the release that runs Quagga
@pytest.mark.parametrize("release", ["21.02"], indirect=True)
def test_quagga_bgpd_down_is_critical_and_self_heal_restarts_it(release: Lab) -> None:
    assert OPENWRT[release.spec.openwrt or ""][0] == "quagga"
    pid = _sh(release, "cat /var/run/quagga/bgpd.pid").strip()
    assert pid.isdigit()
    _sh(release, f"kill {pid}")
    poll(
        lambda: _sh(release, f"[ -e /proc/{pid} ] || echo gone").strip() == "gone",
        timeout=15,
        what="bgpd to exit",
    )
    # the quirk the check must see through: zebra up, bgpd down -> nothing, exit 0
    out = _sh(release, "vtysh -c 'show ip bgp summary'; echo rc=$?")
    assert out.strip() == "rc=0", out
    rc = _sh(release, f"{hc.SCRIPT_PATH} >/dev/null; echo $?").strip()
    status = _status(release)
    assert rc == "2" and status is not None, (rc, status)
    assert status["state"] == "critical" and status["problems"] == ["bgpd is not running"]
    assert status["bgpd_running"] is False
    # self-heal on (UCI, as a user would): the next run restarts bgpd via init.d/quagga
    _sh(
        release,
        "uci set routerctl.@health[0].self_heal=1 && uci set routerctl.@health[0].heal_after=1"
        " && uci commit routerctl",
    )
    rc = _sh(release, f"{hc.SCRIPT_PATH} >/dev/null; echo $?").strip()
    status = _status(release)
    assert status is not None and status["self_heal"]["action"] == "restart", status
    assert "restarting via /etc/init.d/quagga" in _sh(release, "cat /var/log/messages")

    def ok_again() -> bool:
        _sh(release, f"{hc.SCRIPT_PATH} >/dev/null")
        return (_status(release) or {}).get("state") == "ok"

    poll(ok_again, timeout=60, what="bgpd back and the check ok")
    new_pid = _sh(release, "cat /var/run/quagga/bgpd.pid").strip()
    assert new_pid.isdigit() and new_pid != pid


def test_upgrade_keeps_the_users_conffile(release: Lab) -> None:
    """Upgrade with the real package manager (not `healthcheck install`, which owns the
    file and writes it on purpose): a user-modified /etc/config/routerctl is kept."""
    pm_name = _pm(release)
    pm = PACKAGE_MANAGERS[pm_name]
    _sh(release, "uci set routerctl.@health[0].min_established=2 && uci commit routerctl")
    spec = dataclasses.replace(parse_makefile(hc.feed_package_dir()), version="0.1.0-99")
    ipk = build_ipk(spec)
    release.router_file(f"/tmp/{spec.filename}").write_bytes(ipk)
    path = f"/tmp/{spec.filename}"
    if pm_name == "apk":
        _sh(release, "rm -rf /tmp/hcup && mkdir /tmp/hcup")
        build, path, _ = hc._apk_build_script(spec, pm, private="/tmp/hcup", ipk=path)
        res = release.router_sh(build, check=False, timeout=60)
        assert res.returncode == 0, res.stdout + res.stderr
        install = pm.install_file
    else:
        install = "opkg install {path}"  # an upgrade: a newer version, no force
    assert install is not None
    res = release.router_sh(install.format(path=path), check=False, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    version = "0.1.0-r99" if pm_name == "apk" else "0.1.0-99"
    listed = _sh(release, "apk info -v 2>/dev/null; opkg list-installed 2>/dev/null")
    assert version in listed, listed
    assert _sh(release, "uci -q get routerctl.@health[0].min_established").strip() == "2"
    new_copy = pm.conffile_new.format(path=hc.UCI_PATH)
    assert _sh(release, f"[ -f {new_copy} ] && echo yes").strip() == "yes"
    # post-upgrade (apk) / postinst (opkg) ran again: still exactly one cron line
    assert _sh(release, "grep -c routerctl-health /etc/crontabs/root").strip() == "1"
    _sh(release, f"rm -rf /tmp/hcup /tmp/{spec.filename}")


def test_remove_by_the_package_manager_runs_prerm(release: Lab) -> None:
    pm = PACKAGE_MANAGERS[_pm(release)]
    _sh(release, f"{hc.SCRIPT_PATH} >/dev/null")  # status files to remove
    assert _sh(release, f"ls {STATUS} {STATUS}.state").count(STATUS) == 2
    res = release.router_sh(pm.remove.format(name=hc.PACKAGE), check=False, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not _installed(release)
    assert "routerctl-health" not in _sh(release, "cat /etc/crontabs/root")
    left = _sh(release, f"ls {STATUS} {STATUS}.state {hc.SCRIPT_PATH} 2>/dev/null; true")
    assert left.strip() == "", left
    # routerctl's own uninstall then finds nothing installed and cleans the config
    res = cli(release.topology_file, "healthcheck", "uninstall")
    assert res.returncode == 0, res.stdout + res.stderr
    assert _sh(release, "ls /etc/config/ | grep routerctl; true").strip() == ""
