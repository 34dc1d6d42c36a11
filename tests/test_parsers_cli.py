"""`routerctl parse`: stdin and files, table and JSON output, one-line errors with exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.errors import ExitCode

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SEED = FIXTURES / "quagga/show_ip_bgp_summary/seed_openwrt_peers_active_never.raw"


def test_stdin_through_the_real_console_script() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "routerctl", "parse", "--output", "json"],
        input=SEED.read_text(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (summary,) = json.loads(proc.stdout)
    assert summary["local_as"] == 65000
    assert [n["state"] for n in summary["neighbors"]] == ["Active", "Active"]


def test_table_output_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(SEED.read_text()))
    assert main(["parse", "-"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "192.168.1.5" in out and "Active" in out and "65000" in out


def test_json_routes_file_with_explicit_suite_and_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw = FIXTURES / "frr/show_ip_route/frr84_established_ecmp_longer_prefixes.raw"
    args = ["parse", "-s", "frr", "-c", "show ip route 203.0.113.0/24 longer-prefixes"]
    assert main([*args, "-o", "json", str(raw)]) == ExitCode.OK
    routes = json.loads(capsys.readouterr().out)
    assert [r["prefix"] for r in routes] == ["203.0.113.10/32", "203.0.113.11/32"]
    assert [nh["address"] for nh in routes[0]["nexthops"]] == ["198.51.100.11", "198.51.100.12"]


def test_edgeos_fails_with_parse_exit_code_and_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    raw = FIXTURES / "edgeos/show_ip_route/edgeos_not_quagga_format.raw"
    assert main(["parse", str(raw)]) == ExitCode.PARSE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "show_ip_route.textfsm: line 3:" in err


def test_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["parse", str(tmp_path / "nope.txt")]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "cannot read" in err and "nope.txt" in err


def test_bad_suite_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--suite", "bird", str(SEED)]) == ExitCode.USAGE
    assert "Traceback" not in capsys.readouterr().err


def test_no_bgp_instance_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    raw = FIXTURES / "frr/show_ip_bgp_summary/frr84_no_bgp.raw"
    assert main(["parse", "-o", "json", str(raw)]) == ExitCode.OK
    (summary,) = json.loads(capsys.readouterr().out)
    assert summary["instance_missing"] is True
