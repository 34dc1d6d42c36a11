"""Shared pytest fixtures: the lab (real FRR, Dropbear, GoBGP in network namespaces).

- ``lab``: session-scoped, FRR installed on the router but not configured, two nodes
  whose GoBGP speakers announce 203.0.113.30/.31. Treat it as read-mostly; a test
  that changes the router should use a factory.
- ``lab_factory(**LabSpec fields)``: a fresh lab per call (``installed=False``,
  ``pkg="apk"``, ``suite="quagga"``, ``configure=True``, ``password=True``, ...), torn
  down after the test. ``module_lab_factory`` is the same, torn down after the module.
Every lab gets a unique name (``t<pid>...``), so several test runs can share a machine;
labs left by a killed run (their pid is gone) are removed at session start.
Mark tests that use them ``@pytest.mark.lab``; they skip with the reason when the
machine cannot run the lab (not root, binaries missing).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from routerctl.errors import LabError
from routerctl.lab import LAB_ROOT, Lab, LabSpec, check_environment, down, up

_counter = itertools.count(1)
_STALE = re.compile(r"^t(\d+)(?:f\d+)?$")


def lab_unavailable() -> str | None:
    """Why the lab cannot run here, or None."""
    try:
        check_environment()
    except LabError as exc:
        return f"lab unavailable: {exc.one_line()}"
    return None


def _reap_stale_labs() -> None:
    """Labs of test runs whose process no longer exists (killed runs)."""
    if not LAB_ROOT.is_dir():
        return
    for entry in LAB_ROOT.iterdir():
        m = _STALE.match(entry.name)
        if m and int(m.group(1)) != os.getpid() and not os.path.exists(f"/proc/{m.group(1)}"):
            down(entry.name)


def _skip_unless_lab() -> None:
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    _skip_unless_lab()
    _reap_stale_labs()
    name = f"t{os.getpid()}"
    try:
        yield up(LabSpec(name=name))
    finally:
        down(name)


def _factory() -> Iterator[Callable[..., Lab]]:
    _skip_unless_lab()
    names: list[str] = []

    def make(**fields: Any) -> Lab:
        name = f"t{os.getpid()}f{next(_counter)}"
        names.append(name)
        return up(LabSpec(name=name, **fields))

    try:
        yield make
    finally:
        for name in names:
            down(name)


@pytest.fixture
def lab_factory() -> Iterator[Callable[..., Lab]]:
    yield from _factory()


@pytest.fixture(scope="module")
def module_lab_factory() -> Iterator[Callable[..., Lab]]:
    yield from _factory()


@pytest.fixture
def lab_required() -> None:
    """Skip the test when the lab cannot run here (for tests that call up() themselves)."""
    _skip_unless_lab()
