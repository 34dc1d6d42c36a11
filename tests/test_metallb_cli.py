"""The metallb commands end to end through the CLI: stdout is YAML for `kubectl apply -f -`,
notes go to stderr, every bad input is one line and exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from routerctl.cli import main

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "metallb"
FULL_CM = SHARED / "configmaptocrs-testdata/configmap-yaml/config-yaml-full.yaml"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_render_crds_is_applyable_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["render", "metallb", "-t", str(REPO / "examples/seed.yaml")], capsys)
    assert code == 0
    docs = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in docs] == ["BGPPeer", "IPAddressPool", "BGPAdvertisement"]
    assert "Secret metallb-system/routerctl-bgp-password" in err


def test_render_uses_routerctl_topology_env(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROUTERCTL_TOPOLOGY", str(REPO / "examples/seed.yaml"))
    code, out, _ = run(["render", "metallb", "--format", "configmap", "--include-secret"], capsys)
    assert code == 2  # the password variable is not set
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "x-test")
    code, out, _ = run(["render", "metallb", "--format", "configmap", "--include-secret"], capsys)
    assert code == 0
    assert yaml.safe_load(out)["kind"] == "ConfigMap"


def test_convert_output_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["metallb", "convert", str(FULL_CM)], capsys)
    assert code == 0
    kinds = [d["kind"] for d in yaml.safe_load_all(out)]
    assert kinds == [
        "BGPPeer",
        "IPAddressPool",
        "IPAddressPool",
        "BGPAdvertisement",
        "BFDProfile",
        "Community",
    ]
    assert "protocol 'l2' is neither bgp nor layer2" in err
    assert out.startswith("# Converted by routerctl from ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "metallb", "-t", "/nonexistent/routerctl.yaml"], "topology file not found"),
        (["render", "metallb", "-t", "examples/seed.yaml", "--format", "helm"], "invalid value"),
        (
            ["render", "metallb", "-t", "examples/seed.yaml", "-f", "configmap"],
            "pass --include-secret",
        ),
        (
            ["render", "metallb", "-t", "examples/seed.yaml", "-f", "configmap", "-r", "openwrt"],
            "--router applies to --format crds only",
        ),
        (["render", "metallb", "-t", "examples/seed.yaml", "-r", "nope"], "no router named 'nope'"),
        (["metallb", "convert", "/nonexistent.yaml"], "/nonexistent.yaml: no such file"),
        (
            ["metallb", "convert", "examples/seed.yaml"],
            "examples/seed.yaml:1: no MetalLB config here",
        ),
        (["metallb", "import", "examples/seed.yaml"], "document 1: no 'kind'"),
        (["metallb", "import"], "missing argument"),
    ],
)
def test_errors_are_one_line_exit_2(
    args: list[str],
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("ROUTERCTL_BGP_PASSWORD", "x-test")
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    if err.startswith("routerctl: error:"):
        assert err.count("\n") == 1


def test_pipe_render_into_import(tmp_path: Path) -> None:
    """`routerctl render metallb | routerctl metallb import -` as a user would run it."""
    env = {**os.environ, "ROUTERCTL_BGP_PASSWORD": "pipe-test-secret"}
    render = subprocess.run(
        [
            sys.executable,
            "-m",
            "routerctl",
            "render",
            "metallb",
            "-t",
            "examples/seed.yaml",
            "--include-secret",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    imported = subprocess.run(
        [sys.executable, "-m", "routerctl", "metallb", "import", "-"],
        input=render.stdout,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert imported.returncode == 0, imported.stderr
    data = yaml.safe_load(imported.stdout)
    assert data["routers"][0]["name"] == "openwrt"
    assert data["bgp"] == {"password": {"env": "ROUTERCTL_BGP_PASSWORD"}}
    assert "pipe-test-secret" not in imported.stdout + imported.stderr
