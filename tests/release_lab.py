"""What the release-router test files share: a module's lab on one OpenWrt release
(``lab up --openwrt R``, no suite installed, optionally provisioned once), the CLI as a
subprocess, and polling with a deadline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from routerctl.errors import LabError, RouterctlError
from routerctl.lab import Lab, LabSpec, check_environment, down, up
from routerctl.lab import feed as lab_feed
from routerctl.lab.spec import OPENWRT


def cli(topology: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``routerctl ARGS -t TOPOLOGY`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "routerctl", *args, "-t", str(topology)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def poll(cond: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.2)  # polling interval, bounded by the deadline


def release_lab(release: str, tag: str, *, provision: bool) -> Iterator[Lab]:
    """For a module-scoped fixture (``yield from``): the lab ``t<pid><tag><release>``,
    skipped with the reason when the lab or the build cache is missing; with ``provision``,
    routerctl has installed the suite from the feed and both sessions are Established.
    ``lab.up_time`` is how long ``up`` took."""
    try:
        check_environment()
    except LabError as exc:
        pytest.skip(f"lab unavailable: {exc.one_line()}")
    try:
        lab_feed.tool_roots()
        lab_feed.tree("quagga" if OPENWRT[release][0] == "quagga" else "frr")
    except RouterctlError as exc:
        pytest.skip(f"build cache incomplete: {exc.one_line()}")
    name = f"t{os.getpid()}{tag}{release.replace('.', '')}"
    t0 = time.monotonic()
    try:
        lab = up(LabSpec(name=name, openwrt=release, installed=False))
    except LabError:
        down(name)
        raise
    lab.up_time = time.monotonic() - t0  # type: ignore[attr-defined]
    try:
        if provision:
            res = cli(lab.topology_file, "provision", "--yes", "--confirm-timeout", "60")
            assert res.returncode == 0, res.stdout + res.stderr
        yield lab
    finally:
        down(name)
