"""Hardening of file writes (issue 12 item 12): a symlink planted at a predictable name is
replaced, never followed; secrets-bearing files are 0600; router-side temporary files live
in a private ``mktemp -d`` directory or a ``mktemp`` name."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from routerctl.cli import main
from routerctl.errors import BackendError
from routerctl.localfile import write_atomic
from routerctl.model import BgpNeighbor, SessionState
from routerctl.ops import flaps
from routerctl.ops import healthcheck as hc
from routerctl.ops.bundle import write_bundle
from routerctl.topology import load_topology
from routerctl.transport import CommandResult, write_file_command
from routerctl.transport.fake import FakeTransport
from tests.test_verify import state, topo

SEED = Path(__file__).resolve().parent.parent / "examples" / "seed.yaml"


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    return victim


def _assert_untouched(victim: Path, written: Path, mode: int) -> None:
    assert victim.read_text() == "precious\n"
    assert not written.is_symlink()
    assert stat.S_IMODE(written.stat().st_mode) == mode


def test_write_atomic_replaces_a_planted_symlink(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    target = tmp_path / "out"
    target.symlink_to(victim)
    write_atomic(target, b"new")
    _assert_untouched(victim, target, 0o600)
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "victim"]  # no temp left


def test_write_atomic_leaves_nothing_on_failure(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(OSError):
        write_atomic(tmp_path / "d", b"x")  # a directory cannot be replaced by a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_bundle_at_a_planted_symlink_is_0600_and_the_target_untouched(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    planted = out / "routerctl-bundle-rtr-20270115T080000Z.tar.gz"  # the predictable name
    planted.symlink_to(victim)
    path = write_bundle(out, topo(), state(), now=1_800_000_000)
    assert path == planted
    _assert_untouched(victim, path, 0o600)


def test_flap_cache_at_a_planted_symlink(tmp_path: Path) -> None:
    victim = _victim(tmp_path)
    cache = tmp_path / "flaps.json"
    cache.symlink_to(victim)
    flaps.save(cache, "rtr@x", [BgpNeighbor(None, 65001, SessionState.ESTABLISHED)], now=1.0)
    _assert_untouched(victim, cache, 0o600)


def test_healthcheck_build_at_a_planted_symlink(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = _victim(tmp_path)
    spec = hc.parse_makefile(hc.feed_package_dir())
    (tmp_path / spec.filename).symlink_to(victim)
    assert main(["healthcheck", "build", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    _assert_untouched(victim, tmp_path / spec.filename, 0o644)


# --- the router side --------------------------------------------------------------------


@pytest.mark.parametrize("shell", ["sh", "busybox"])
def test_write_file_command_never_follows_a_planted_temp(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} not installed")
    victim = _victim(tmp_path)
    path = tmp_path / "pkg.ipk"
    for name in (f"{path}.routerctl-tmp", f"{path}.tmp", f"{tmp_path}/.pkg.ipk.routerctl"):
        Path(name).symlink_to(victim)
    argv = [shell, "-c"] if shell == "sh" else [shell, "sh", "-c"]
    cmd = write_file_command(str(path), mode=0o640)
    proc = subprocess.run([*argv, cmd], input=b"data", capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    _assert_untouched(victim, path, 0o640)
    assert path.read_bytes() == b"data"
    left = {p.name for p in tmp_path.iterdir()} - {"victim", "pkg.ipk"}
    assert left == {"pkg.ipk.routerctl-tmp", "pkg.ipk.tmp", ".pkg.ipk.routerctl"}  # ours gone
    # a failing write leaves no temporary file behind and fails
    bad = subprocess.run([*argv, cmd.replace("cat >", "false &&  cat >")], input=b"x", check=False)
    assert bad.returncode != 0
    assert {p.name for p in tmp_path.iterdir()} - {"victim", "pkg.ipk"} == left


def test_healthcheck_package_is_uploaded_into_a_private_directory() -> None:
    topo_ = load_topology(SEED)
    config = hc.render_uci(topo_, topo_.router(), hc.HealthSettings())

    def respond(command: str, stdin: bytes | None) -> CommandResult | str:
        if command.startswith("for c in opkg"):
            return "have=opkg\nhave=vtysh\nhave=uci\n"
        if command.startswith("mktemp -d"):
            return "/tmp/routerctl.Ab3dE9\n"
        return ""

    t = FakeTransport("rtr", respond)
    hc.install(t, config_text=config, run_check=False)
    ipk = [p for p in t.files if p.endswith(".ipk")]
    assert ipk == ["/tmp/routerctl.Ab3dE9/routerctl-healthcheck_0.1.0-1_all.ipk"]
    commands = [c for c, _ in t.commands]
    assert any(c.startswith("mktemp -d /tmp/routerctl.") for c in commands)
    (install,) = [i for i, c in enumerate(commands) if "install" in c and ".ipk" in c]
    # the private directory goes once the package is in (a finally: also when it failed)
    assert commands[-1] == "rm -rf /tmp/routerctl.Ab3dE9" and install < len(commands) - 1


@pytest.mark.parametrize("answer", ["", "/etc\n", "/tmp/x y\n", "/tmp/routerctl.X/../../etc\n"])
def test_healthcheck_refuses_an_odd_mktemp_answer(answer: str) -> None:
    def respond(command: str, stdin: bytes | None) -> CommandResult | str:
        if command.startswith("for c in opkg"):
            return "have=opkg\nhave=vtysh\nhave=uci\n"
        if command.startswith("mktemp -d"):
            return answer
        return ""

    t = FakeTransport("rtr", respond)
    with pytest.raises(BackendError, match="private temporary directory"):
        hc.install(t, config_text="", run_check=False)
    assert not t.files


def test_no_local_write_bypasses_the_helper() -> None:
    """Every local file write in the package goes through localfile.write_atomic."""
    root = Path(__file__).resolve().parent.parent / "routerctl"
    pattern = re.compile(r"write_text\(|write_bytes\(|open\([^)]*['\"][wax]b?['\"]|mkstemp\(")
    offenders = []
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).as_posix()
        if rel in ("localfile.py",) or rel.startswith("lab/"):  # the lab runs as root in /run
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and "fileobj=" not in line:
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []
    assert os.sep == "/"
