"""`routerctl healthcheck` against the lab: real FRR + Dropbear router, GoBGP speakers.

The default lab's router has OpenWrt's real opkg, uci and crond; the first test hides
``/sbin/uci`` for a moment to show install refuses without it. The CLI runs in-process
through ``cli.main`` (exit codes as a user sees them); the tests run the installed check
the way cron would rather than wait for crond's minute (tests/test_healthcheck_release.py
waits for crond on every release).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from routerctl.cli import main

core = pytest.importorskip("routerctl.lab")

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root"),
]

CRON_LINE = "*/1 * * * * /usr/sbin/routerctl-health >/dev/null 2>&1"


def poll(cond: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def lab(module_lab_factory: Callable[..., Any]) -> Iterator[Any]:
    lab = module_lab_factory(configure=True)
    lab.wait_established(timeout=60)
    yield lab


def cli(lab: Any, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(["healthcheck", *args, "-t", str(lab.topology_file)])
    out, err = capsys.readouterr()
    return rc, out, err


def sh(lab: Any, script: str, **kw: Any) -> str:
    return str(lab.router_sh(script, check=False, **kw).stdout)


def run_check(lab: Any) -> dict[str, Any]:
    """One cron-like run of the installed check; the status it wrote."""
    out = sh(lab, "/usr/sbin/routerctl-health >/dev/null 2>&1; cat /var/run/routerctl-health.json")
    return dict(json.loads(out))


def test_install_refuses_without_uci(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    lab.router_sh("mv /sbin/uci /sbin/uci.hidden")
    try:
        assert sh(lab, "command -v uci || echo none").strip() == "none"
        rc, _, err = cli(lab, "install", capsys=capsys)
        assert rc == 1
        assert err.count("\n") == 1 and "uci not found" in err
        assert sh(lab, "[ -e /usr/sbin/routerctl-health ] || echo absent").strip() == "absent"
    finally:
        lab.router_sh("mv /sbin/uci.hidden /sbin/uci")


def test_install_healthy(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(lab, "install", "-o", "json", capsys=capsys)
    assert rc == 0, err
    result = json.loads(out)
    assert result["package"] == "routerctl-healthcheck"
    assert result["status"]["state"] == "ok", result["status"]
    assert result["status"]["summary"] == "2 of 2 neighbors Established, 2 pool routes"
    assert sh(lab, "cat /etc/crontabs/root").splitlines().count(CRON_LINE) == 1
    assert "list neighbor '198.51.100.5'" in sh(lab, "cat /etc/config/routerctl")
    assert "routerctl-healthcheck - 0.1.0-1" in sh(lab, "opkg list-installed")
    # installing again is idempotent (still one cron line) and replaces changed files
    sh(lab, "echo '# local edit' >> /usr/sbin/routerctl-health")
    rc, _, err = cli(lab, "install", capsys=capsys)
    assert rc == 0, err
    assert sh(lab, "cat /etc/crontabs/root").splitlines().count(CRON_LINE) == 1
    assert "# local edit" not in sh(lab, "cat /usr/sbin/routerctl-health")
    rc, out, _ = cli(lab, "status", "-o", "json", capsys=capsys)
    assert rc == 0
    status = json.loads(out)
    assert status["state"] == "ok" and status["stale"] is False
    assert [r["nexthops"] for r in status["routes"]["pool_routes"]] == [
        ["198.51.100.5", "198.51.100.6"],
        ["198.51.100.5", "198.51.100.6"],
    ]


def test_stopped_speaker_reported(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    lab.stop_speaker("node2")
    try:
        poll(
            lambda: run_check(lab)["state"] == "degraded",
            timeout=60,
            what="the check to report node2 down",
        )
        status = run_check(lab)
        assert status["summary"].startswith("not Established: 198.51.100.6 ")
        assert [r["nexthops"] for r in status["routes"]["pool_routes"]] == [
            ["198.51.100.5"],
            ["198.51.100.5"],
        ]
        rc, out, _ = cli(lab, "status", capsys=capsys)
        assert rc == 1
        assert "rtr: degraded - not Established: 198.51.100.6" in out
    finally:
        lab.start_speaker("node2")
        lab.wait_established(timeout=60)
    poll(lambda: run_check(lab)["state"] == "ok", timeout=60, what="healthy again")


def test_self_heal_restarts_killed_bgpd(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, err = cli(
        lab, "install", "--self-heal", "--heal-after", "1", "--backoff", "0", capsys=capsys
    )
    assert rc == 0, err
    old_pid = sh(lab, "cat /var/run/frr/bgpd.pid").strip()
    sh(lab, f"kill {old_pid}")
    poll(
        lambda: sh(lab, f"[ -e /proc/{old_pid} ] || echo gone").strip() == "gone",
        timeout=10,
        what="bgpd to exit",
    )
    status = run_check(lab)
    assert status["bgpd_running"] is False
    assert status["self_heal"]["action"] == "restart"
    assert status["self_heal"]["restarts_last_hour"] == 1
    new_pid = sh(lab, "cat /var/run/frr/bgpd.pid").strip()
    assert new_pid and new_pid != old_pid
    lab.wait_established(timeout=60)
    poll(lambda: run_check(lab)["state"] == "ok", timeout=60, what="healthy after restart")
    status = run_check(lab)
    assert status["self_heal"]["consecutive_failures"] == 0


def test_uninstall_leaves_nothing(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = cli(lab, "uninstall", capsys=capsys)
    assert rc == 0, err
    assert "routerctl-healthcheck removed" in out
    left = sh(
        lab,
        "for f in /usr/sbin/routerctl-health /etc/config/routerctl /etc/config/routerctl-opkg "
        "/var/run/routerctl-health.json /var/run/routerctl-health.json.state "
        "/var/run/routerctl-health.json.lock /usr/lib/opkg/info/routerctl-healthcheck.list; "
        'do [ -e "$f" ] && echo "$f"; done; grep routerctl /etc/crontabs/root; true',
    )
    assert left == ""
    assert "routerctl-healthcheck" not in sh(lab, "opkg list-installed")
    # again: nothing to remove, still clean, still exit 0
    rc, out, _ = cli(lab, "uninstall", capsys=capsys)
    assert rc == 0 and "was not installed" in out
    rc, _, err = cli(lab, "status", capsys=capsys)
    assert rc == 1 and err.count("\n") == 1 and "no health status" in err
