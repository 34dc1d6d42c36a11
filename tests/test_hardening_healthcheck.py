"""Hardening of the health check's settings and UCI config (issue 12 items 1 and 6).

Item 1: ``--prometheus-file`` (and the status file) must be a normalized absolute file
path under a run-time directory, so a later ``uninstall`` can never remove ``/etc`` or ``/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.ops import healthcheck as hc
from routerctl.transport import CommandResult
from routerctl.transport.fake import FakeTransport

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed.yaml"


@pytest.mark.parametrize(
    "path",
    [
        "/etc",
        "/",
        "/etc/",
        "/tmp",
        "/tmp/",
        "/etc/passwd.prom",
        "/overlay/x.prom",
        "/tmp/../etc/x.prom",
        "/tmp/./x.prom",
        "//tmp/x.prom",
        "/tmp//x.prom",
        "/tmp/x.txt",
        "/tmp/.prom",
        "/tmp/x.prom/",
        "/tmp/x\n.prom",
        "/tmp/x\x1b.prom",
        "/tmp/x$(reboot).prom",
        "tmp/x.prom",
        "/var/run/" + "a" * 300 + ".prom",
    ],
)
def test_prometheus_file_outside_runtime_dirs_is_refused(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["healthcheck", "config", "-t", str(SEED), "--prometheus-file", path])
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("routerctl: error: --prometheus-file ")


@pytest.mark.parametrize(
    "path",
    [
        "/tmp/routerctl.prom",
        "/tmp/node-exporter/routerctl.prom",
        "/var/run/routerctl.prom",
        "/var/lib/node_exporter/textfile_collector/routerctl.prom",
        "/var/prometheus/routerctl.prom",
    ],
)
def test_prometheus_file_in_runtime_dirs_is_accepted(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["healthcheck", "config", "-t", str(SEED), "--prometheus-file", path])
    out, _ = capsys.readouterr()
    assert rc == 0
    assert f"\toption prometheus_file '{path}'\n" in out


def _router(prom: str, status: str = "") -> FakeTransport:
    def respond(command: str, stdin: bytes | None) -> CommandResult | str:
        if command.startswith("for c in opkg"):
            return "have=opkg\nhave=vtysh\nhave=uci\n"
        if command.startswith("for o in status_file"):
            return f"status_file={status}\nprometheus_file={prom}\n"
        return ""

    return FakeTransport("rtr", respond)


@pytest.mark.parametrize("planted", ["/etc", "/", "/etc/passwd", "/tmp/../etc/x.prom"])
def test_uninstall_never_removes_a_hostile_prometheus_path(planted: str) -> None:
    """An old or hand-edited /etc/config/routerctl naming /etc: not removed."""
    t = _router(planted, status=planted)
    hc.uninstall(t)
    cleanup = [c for c, _ in t.commands if "rm -" in c]
    assert cleanup
    for c in cleanup:
        words = c.replace(";", " ").split()
        assert planted not in words, c
        assert f"'{planted}'" not in words, c


def test_uninstall_removes_valid_runtime_files_without_rm_rf_on_files() -> None:
    t = _router("/tmp/routerctl.prom")
    hc.uninstall(t)
    (cleanup,) = [c for c, _ in t.commands if "rm -" in c]
    first = cleanup.split("; ")[0]
    assert "/tmp/routerctl.prom" in first
    assert "/var/run/routerctl-health.json" in first
    assert "rm -rf /var/run/routerctl-health.json.lock" in cleanup
    assert "rm -rf /var/run/routerctl-health.json " not in cleanup
