"""CLI plumbing: exit codes and one-line errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from routerctl.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("routerctl 0.")


def test_unknown_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err == "routerctl: no such command 'no-such-command'. (try --help)\n"
    assert "Traceback" not in err


def test_console_script_runs() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "routerctl", "--help"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0
    assert "routerctl" in proc.stdout
