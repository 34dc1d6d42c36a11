"""Dynamic neighbors on a Quagga router (OpenWrt 21.02's Quagga 1.2.4, as OpenWrt packaged
it): ``bgp listen range`` does not exist there, so provision refuses with one line naming
the alternative, before it installs or applies anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from routerctl.lab import Lab
from tests.release_lab import cli, release_lab

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def quagga() -> Iterator[Lab]:
    yield from release_lab("21.02", "d", provision=False)


def _dynamic(lab: Lab, tmp_path: Path) -> Path:
    doc = yaml.safe_load(Path(lab.topology_file).read_text(encoding="utf-8"))
    doc["routers"][0]["dynamic_neighbors"] = {"listen_range": "198.51.100.0/24", "limit": 10}
    path = tmp_path / "dynamic.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def _refused(res: object, path: Path) -> None:
    rc, err = res.returncode, res.stderr  # type: ignore[attr-defined]
    assert rc == 2, err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"routerctl: error: {path}:")
    assert "routers[0].dynamic_neighbors" in line
    assert "quagga" in line and "static neighbors" in line
    assert "Traceback" not in err


def test_quagga_refuses_dynamic_neighbors_before_anything(quagga: Lab, tmp_path: Path) -> None:
    path = _dynamic(quagga, tmp_path)
    # no suite yet: refused before opkg installs Quagga
    _refused(cli(path, "provision", "--yes"), path)
    installed = quagga.router_sh("opkg list-installed").stdout
    assert "quagga" not in installed
    # with Quagga installed and configured by routerctl: refused, the config untouched
    res = cli(quagga.topology_file, "provision", "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    before = quagga.vtysh("show running-config")
    _refused(cli(path, "provision", "--yes"), path)
    _refused(cli(path, "plan"), path)
    assert quagga.vtysh("show running-config") == before
    # the lock is gone: the next provision runs
    assert cli(quagga.topology_file, "provision", "--yes").returncode == 0
