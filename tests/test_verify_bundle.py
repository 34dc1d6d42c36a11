"""Support bundles: contents, and passwords never in them."""

from __future__ import annotations

import json
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.errors import EnvironmentProblem
from routerctl.ops import gather as ops_gather
from routerctl.ops.bundle import write_bundle
from routerctl.redact import redact
from routerctl.topology import BgpOptions, Secret
from tests.test_verify import state, topo
from tests.test_verify_cli import routers  # noqa: F401 - fixture

RUNNING = """\
frr version 8.4.4
hostname OpenWrt
password zebra
enable password s3cret-enable
router bgp 65000
 neighbor ROUTERCTL peer-group
 neighbor ROUTERCTL password Pa55-w0rd
 neighbor 198.51.100.5 password 7 0822455D0A16
 no neighbor 198.51.100.6 password Pa55-w0rd
interface br-lan
 ip ospf message-digest-key 1 md5 ospfkey
 description password policy for guests
"""


def test_redact_config_lines_by_position() -> None:
    # no literal replacement of the secret's text any more (issue 12 item 15: it revealed
    # the password wherever the same characters appeared); by position only
    out = redact(RUNNING)
    assert "Pa55-w0rd" not in out
    assert "s3cret-enable" not in out and "password zebra" not in out
    assert "0822455D0A16" not in out and "ospfkey" not in out
    assert " neighbor ROUTERCTL password <redacted>" in out
    assert " neighbor 198.51.100.5 password 7 <redacted>" in out
    assert " ip ospf message-digest-key 1 md5 <redacted>" in out
    assert "enable password <redacted>" in out
    assert " description password policy for guests" in out  # not a secret line
    assert "router bgp 65000" in out


def test_write_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("H6_BGP_PW", "Pa55-w0rd")
    t = replace(topo(), bgp=BgpOptions(password=Secret(env="H6_BGP_PW")))
    st = replace(
        state(),
        raw=(("show running-config", RUNNING), ("show bgp neighbors", "Password is Pa55-w0rd")),
    )
    path = write_bundle(tmp_path / "out", t, st, results=[], now=1_800_000_000)
    assert path.name == "routerctl-bundle-rtr-20270115T080000Z.tar.gz"
    with tarfile.open(path) as tar:
        files = {
            m.name.split("/", 1)[1]: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
        }
        modes = {m.mode for m in tar.getmembers()}
    assert modes == {0o600}
    assert set(files) == {
        "manifest.json",
        "outputs/00-show_running-config.txt",
        "outputs/01-show_bgp_neighbors.txt",
    }
    assert all("Pa55-w0rd" not in text for text in files.values())
    manifest = json.loads(files["manifest.json"])
    assert manifest["suite_version"] == "FRRouting 8.4.4"
    assert manifest["daemons"] == {"zebra": True, "bgpd": True}


def test_bundle_unwritable_dir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(EnvironmentProblem, match="cannot write the support bundle"):
        write_bundle(blocker / "sub", topo(), state())


def test_verify_bundle_option_same_exec(
    routers: dict[str, object],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code = main(["verify", "--no-state", "-r", "rtr1", "--bundle", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 0
    bundles = list((tmp_path / "b").glob("routerctl-bundle-rtr1-*.tar.gz"))
    assert len(bundles) == 1
    assert f"support bundle: {bundles[0]}" in err
    assert routers["rtr1"].execs == 1  # type: ignore[attr-defined]
    with tarfile.open(bundles[0]) as tar:
        names = [m.name.split("/", 1)[1] for m in tar.getmembers()]
    assert "verify.json" in names


def test_bundle_commands_are_per_suite_data() -> None:
    assert ops_gather.BUNDLE_COMMANDS["frr"][0] == "show running-config"
    assert ops_gather.BUNDLE_COMMANDS["quagga"][0] == "show running-config"


def test_support_bundle_command(
    routers: dict[str, object],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code = main(["support-bundle", "--dir", str(tmp_path)])
    out = capsys.readouterr().out.split()
    assert code == 0
    assert [Path(p).name.split("-2")[0] for p in out] == [
        "routerctl-bundle-rtr1",
        "routerctl-bundle-rtr2",
    ]
    routers["rtr2"].unreachable = True  # type: ignore[attr-defined]
    code = main(["support-bundle", "-r", "rtr2", "--dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 3
    assert err == "routerctl: error: cannot connect to rtr2 (198.51.100.9:22): timed out\n"
