"""CLI plumbing: exit codes and one-line errors, never a traceback."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer.core

from routerctl import cli
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


# -- Ctrl-C: one line `routerctl: interrupted` on stderr, exit 130, for every command ------------
# typer (non-standalone) turns a KeyboardInterrupt into a silent `return 130`; the root group
# carries it past typer so main prints the line.


def _topology_on(port: int, path: Path) -> Path:
    path.write_text(
        "routers:\n"
        f"  - {{name: rtr, asn: 65000, ssh: {{host: 127.0.0.1, port: {port}}}}}\n"
        "cluster:\n"
        "  asn: 65001\n"
        "  nodes: [{name: n1, address: 192.0.2.5}]\n"
        '  pools: [{name: p, addresses: ["203.0.113.0/28"]}]\n'
    )
    return path


def test_ctrl_c_in_a_blocked_command_prints_one_line_and_exits_130(tmp_path: Path) -> None:
    """SIGINT to a real `routerctl verify` waiting for an SSH banner that never comes."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(60)
        topo = _topology_on(srv.getsockname()[1], tmp_path / "topology.yaml")
        argv = ["verify", "-t", str(topo), "--timeout", "300", "--no-state"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "routerctl", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            conn, _ = srv.accept()  # routerctl is inside the command, reading the banner
            with conn:
                proc.send_signal(signal.SIGINT)
                out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert (proc.returncode, err, out) == (130, "routerctl: interrupted\n", "")


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "-t", "x.yaml"],
        ["plan", "-t", "x.yaml"],
        ["provision", "-t", "x.yaml", "--yes"],
        ["lab", "status"],
        ["healthcheck", "status", "-t", "x.yaml"],
        ["render", "router", "-t", "x.yaml"],
    ],
)
def test_ctrl_c_in_any_command(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(self: object, ctx: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(typer.core.TyperCommand, "invoke", interrupted)
    assert main(argv) == 130
    assert capsys.readouterr().err == "routerctl: interrupted\n"


def test_ctrl_c_while_loading_the_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(argv: list[str]) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_register_for", interrupted)
    assert main(["verify"]) == 130
    assert capsys.readouterr().err == "routerctl: interrupted\n"
