"""The built wheel works from a fresh venv, outside the source tree, templates included."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(
        args, capture_output=True, text=True, check=False, timeout=600, env=env, **kw
    )  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(wheel, venv bin dir): the wheel built from this tree, installed into a fresh venv."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist = tmp / "dist"
    proc = _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)])
    if proc.returncode != 0:  # `build` missing: pip builds the same wheel
        proc = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(dist), str(ROOT)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = dist.glob("routerctl-*.whl")
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / "bin"
    proc = _run([str(bindir / "python"), "-m", "pip", "install", "-q", str(wheel)])
    assert proc.returncode == 0, proc.stderr[-2000:]
    yield wheel, bindir


def test_render_router_from_the_installed_wheel(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, bindir = installed
    proc = _run(
        [str(bindir / "routerctl"), "render", "router", "-t", str(ROOT / "examples" / "seed.yaml")],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    expected = (ROOT / "tests" / "golden" / "router" / "seed.frr.conf").read_text()
    assert proc.stdout == expected
    assert " neighbor 192.168.1.5 description ubuntu-dev1" in proc.stdout


def test_installed_package_is_not_the_source_tree(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, bindir = installed
    code = "import routerctl, routerctl._resources as r; print(routerctl.__file__); print(r.parsers_dir())"
    proc = _run([str(bindir / "python"), "-c", code], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    module_file, parsers = proc.stdout.splitlines()
    assert "site-packages" in module_file and not module_file.startswith(str(ROOT))
    templates = sorted(p.name for p in (ROOT / "parsers").glob("*.textfsm"))
    if templates:
        assert "site-packages" in parsers
        assert sorted(p.name for p in Path(parsers).glob("*.textfsm")) == templates


def test_wheel_ships_py_typed_and_templates(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "routerctl/py.typed" in names
    assert "routerctl/render/router.py" in names
    for template in (ROOT / "parsers").glob("*.textfsm"):
        assert f"routerctl/parsers/{template.name}" in names


def test_bad_topology_from_the_installed_wheel(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, bindir = installed
    (tmp_path / "routerctl.yaml").write_text("routers: []\n")
    proc = _run([str(bindir / "routerctl"), "render", "router"], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == (
        "routerctl: error: routerctl.yaml:1: cluster: required key is missing"
        " (add 'cluster:' at the top level)\n"
    )
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_pip_install_dot_into_a_fresh_venv(tmp_path: Path) -> None:
    """The README's path: ``pip install .`` gives a working ``routerctl``."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / "bin"
    proc = _run([str(bindir / "python"), "-m", "pip", "install", "-q", "."], cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = _run([str(bindir / "routerctl"), "--version"], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("routerctl 0.")
    seed = ROOT / "examples" / "seed.yaml"
    proc = _run([str(bindir / "routerctl"), "render", "router", "-t", str(seed)], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("router bgp 65000\n bgp router-id 192.168.1.2\n")
