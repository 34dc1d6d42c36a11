"""`routerctl healthcheck` without a router: the rendered UCI config, options, build."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.errors import UsageError
from routerctl.ops import healthcheck as hc
from routerctl.platform.openwrt import PROBE_ORDER
from routerctl.topology import load_topology

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed.yaml"
FIX = Path(__file__).resolve().parent / "fixtures_healthcheck"
SCRIPT = hc.feed_package_dir() / "files" / "routerctl-health"


def test_render_uci_from_seed_topology() -> None:
    topo = load_topology(SEED)
    text = hc.render_uci(topo, topo.router(), hc.HealthSettings())
    lines = [ln.strip() for ln in text.splitlines()]
    assert "config health" in lines
    assert [ln for ln in lines if ln.startswith("list neighbor")] == [
        "list neighbor '192.168.1.5'",
        "list neighbor '192.168.1.6'",
    ]
    # 192.168.0.30-192.168.0.49 as the CIDRs that cover exactly that range
    assert [ln for ln in lines if ln.startswith("list pool")] == [
        "list pool '192.168.0.30/31'",
        "list pool '192.168.0.32/28'",
        "list pool '192.168.0.48/31'",
    ]
    assert [ln for ln in lines if ln.startswith("list route")] == ["list route '192.168.0.30/32'"]
    assert "option self_heal '0'" in lines
    assert "option interval '1'" in lines


def test_render_uci_settings() -> None:
    topo = load_topology(SEED)
    settings = hc.HealthSettings(
        interval=5,
        min_established=2,
        self_heal=True,
        heal_after=4,
        max_restarts=2,
        backoff=60,
        check_routes=False,
        prometheus_file="/tmp/node-exporter/routerctl.prom",
    )
    text = hc.render_uci(topo, topo.router(), settings)
    for line in (
        "option interval '5'",
        "option min_established '2'",
        "option self_heal '1'",
        "option heal_after '4'",
        "option max_restarts '2'",
        "option backoff '60'",
        "option check_routes '0'",
        "option prometheus_file '/tmp/node-exporter/routerctl.prom'",
    ):
        assert f"\t{line}\n" in text


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (hc.HealthSettings(interval=0), "--interval 0 is out of range"),
        (hc.HealthSettings(interval=60), "--interval 60 is out of range"),
        (hc.HealthSettings(vtysh_timeout=0), "--vtysh-timeout 0 is out of range"),
        (hc.HealthSettings(prometheus_file="metrics.prom"), "must be an absolute path"),
        (hc.HealthSettings(prometheus_file="/tmp/a b"), "no spaces or quotes"),
        (hc.HealthSettings(min_established=3), "more than the 2 nodes"),
    ],
)
def test_bad_settings(settings: hc.HealthSettings, message: str) -> None:
    topo = load_topology(SEED)
    with pytest.raises(UsageError, match=message):
        hc.render_uci(topo, topo.router(), settings)


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox not installed")
def test_rendered_config_drives_the_check(tmp_path: Path) -> None:
    """Seed topology -> rendered UCI -> the script on the seed's own vtysh outputs."""
    topo = load_topology(SEED)
    status_file = tmp_path / "run" / "status.json"
    text = hc.render_uci(
        topo, topo.router(), hc.HealthSettings(status_file=str(status_file))
    ).replace("option bgpd_pidfile ''", f"option bgpd_pidfile '{tmp_path}/none'")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "routerctl").write_text(text)
    env = {
        "PATH": f"{FIX / 'bin'}:{os.environ['PATH']}",
        "HC_CASE": str(FIX / "quagga_seed_all_down"),
        "HC_LOG": str(tmp_path / "log"),
        "ROUTERCTL_HEALTH_UCI_DIR": str(tmp_path / "config"),
    }
    proc = subprocess.run(
        ["busybox", "ash", str(SCRIPT)], env=env, capture_output=True, text=True, check=False
    )
    status = json.loads(status_file.read_text())
    assert proc.returncode == 2, proc.stderr
    assert {n["address"]: n["state"] for n in status["neighbors"]} == {
        "192.168.1.5": "Active",
        "192.168.1.6": "Active",
    }
    # the seed's routes are in the pool, and the seed's service route is there
    assert [r["prefix"] for r in status["routes"]["pool_routes"]] == [
        "192.168.0.30/32",
        "192.168.0.31/32",
    ]
    assert status["routes"]["missing"] == []


def test_cli_config(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["healthcheck", "config", "-t", str(SEED), "--interval", "2", "--self-heal"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "\toption interval '2'\n" in out and "\toption self_heal '1'\n" in out
    rc = main(["healthcheck", "config", "-t", str(SEED), "--min-established", "9"])
    out, err = capsys.readouterr()
    assert rc == 2
    assert err.count("\n") == 1 and "--min-established 9 is more than the 2 nodes" in err


def test_cli_build(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["healthcheck", "build", "--out", str(tmp_path)])
    out, _ = capsys.readouterr()
    assert rc == 0
    ipk = Path(out.strip())
    assert ipk == tmp_path / "routerctl-healthcheck_0.1.0-1_all.ipk"
    with tarfile.open(ipk, "r:gz") as tar:
        assert tar.getnames() == ["./debian-binary", "./data.tar.gz", "./control.tar.gz"]
    rc = main(["healthcheck", "build", "--out", str(tmp_path / "nope")])
    _, err = capsys.readouterr()
    assert rc == 2 and "not a directory" in err


def test_cli_install_bad_option_before_connecting(capsys: pytest.CaptureFixture[str]) -> None:
    """Option errors come before any SSH attempt (the seed's router is not reachable)."""
    rc = main(["healthcheck", "install", "-t", str(SEED), "--interval", "90"])
    _, err = capsys.readouterr()
    assert rc == 2
    assert err.strip() == "routerctl: error: --interval 90 is out of range (use 1..59)"


def test_package_uses_the_rendered_config() -> None:
    topo = load_topology(SEED)
    text = hc.render_uci(topo, topo.router(), hc.HealthSettings())
    spec, ipk = hc.build_package(text)
    with tarfile.open(fileobj=io.BytesIO(ipk), mode="r:gz") as outer:
        data = outer.extractfile("./data.tar.gz")
        assert data is not None
        with tarfile.open(fileobj=io.BytesIO(data.read()), mode="r:gz") as inner:
            conf = inner.extractfile("./etc/config/routerctl")
            assert conf is not None
            assert conf.read().decode() == text
    assert spec.name == hc.PACKAGE


def test_wheel_ships_the_feed(tmp_path: Path) -> None:
    """`healthcheck install` from an installed wheel needs the feed inside the package."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("routerctl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    base = "routerctl/openwrt-feed/net/routerctl-healthcheck/"
    assert {
        base + "Makefile",
        base + "files/routerctl-health",
        base + "files/routerctl.config",
    } <= (names)


def test_package_manager_probe_prefers_apk_like_provision() -> None:
    """One precedence for both probes (issue 11): apk when present, then opkg."""
    assert PROBE_ORDER == ("apk", "opkg")
    assert hc.RouterProbe(frozenset({"opkg", "apk"})).package_manager == "apk"
    assert hc.RouterProbe(frozenset({"opkg"})).package_manager == "opkg"
