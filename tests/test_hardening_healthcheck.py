"""The health-check package's prerm (issue 12 item 1): it removes only the files the
check wrote: regular files, not through symlinks, under /var, /tmp or /run, whose
first line is what the check writes. Never a directory, never `/`. (No test hands it
`/` itself: a regression would then remove the test machine's files. A directory in the
scratch dir stands in for it; the script refuses `/` as a config error.)"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from routerctl.ipk import parse_makefile

ROOT = Path(__file__).resolve().parent.parent
FEED = ROOT / "openwrt-feed/net/routerctl-healthcheck"
BUSYBOX = shutil.which("busybox")

pytestmark = pytest.mark.skipif(BUSYBOX is None, reason="busybox not installed")

STATUS = '{"version":1,"time":1,"state":"ok"}\n'
PROM = "# TYPE routerctl_health_neighbor_up gauge\n"


def run_prerm(tmp_path: Path, *, status: str = "", prom: str = "") -> None:
    """The packaged prerm under busybox ash; uci answers from the arguments, and the
    crontab it edits is a scratch file (the real /etc is never touched)."""
    script = parse_makefile(FEED).scripts["prerm"]
    script = script.replace("/etc/crontabs/root", str(tmp_path / "crontab"))
    script = script.replace("/etc/init.d/cron", str(tmp_path / "no-cron"))
    stub = tmp_path / "stubbin"
    stub.mkdir(exist_ok=True)
    uci = stub / "uci"
    uci.write_text(
        '#!/bin/sh\ncase "$*" in\n'
        '*status_file) printf "%s\\n" "$HC_STATUS" ;;\n'
        '*prometheus_file) printf "%s\\n" "$HC_PROM" ;;\n'
        "esac\n"
    )
    uci.chmod(0o755)
    (tmp_path / "crontab").write_text("* * * * * /usr/sbin/routerctl-health\n")
    env = {"PATH": f"{stub}:{os.environ['PATH']}", "HC_STATUS": status, "HC_PROM": prom}
    proc = subprocess.run(
        [BUSYBOX or "busybox", "ash", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr


def test_removes_the_files_the_check_wrote(tmp_path: Path) -> None:
    status = tmp_path / "run" / "routerctl-health.json"
    status.parent.mkdir()
    status.write_text(STATUS)
    Path(f"{status}.state").write_text("state=ok\nsig=ok: x\n")
    Path(f"{status}.lock").mkdir()
    Path(f"{status}.lock/pid").write_text("123\n")
    prom = tmp_path / "routerctl.prom"
    prom.write_text(PROM)
    run_prerm(tmp_path, status=str(status), prom=str(prom))
    assert list(status.parent.iterdir()) == []
    assert not prom.exists()
    assert (tmp_path / "crontab").read_text() == ""


@pytest.mark.parametrize("which", ["status", "prom"])
def test_never_removes_a_directory(tmp_path: Path, which: str) -> None:
    victim = tmp_path / "etc"
    victim.mkdir()
    (victim / "passwd").write_text(PROM if which == "prom" else STATUS)
    run_prerm(tmp_path, **{which: str(victim)})
    assert (victim / "passwd").exists()
    run_prerm(tmp_path, **{which: str(victim) + "/"})
    assert (victim / "passwd").exists()


@pytest.mark.parametrize("which", ["status", "prom"])
def test_never_removes_a_file_it_did_not_write(tmp_path: Path, which: str) -> None:
    victim = tmp_path / "config"
    victim.write_text("config important\n")
    run_prerm(tmp_path, **{which: str(victim)})
    assert victim.exists()


def test_never_follows_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "target.prom"
    target.write_text(PROM)
    link = tmp_path / "link.prom"
    link.symlink_to(target)
    run_prerm(tmp_path, prom=str(link))
    assert target.exists() and link.is_symlink()


def test_never_walks_out_of_the_allowed_dirs(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    victim = tmp_path / "x.prom"
    victim.write_text(PROM)
    run_prerm(tmp_path, prom=f"{tmp_path}/sub/../x.prom")
    assert victim.exists()
