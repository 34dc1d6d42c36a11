"""``routerctl plan`` across routers reads them with the fleet runner's bounded concurrency
(min(4, routers) at once), prints in the topology's order, and keeps the one-error
contract: the first router (in that order) that cannot be read is the command's error.

The router reads are scripted stand-ins for ``plan_with_preflight`` (fake transports); the lab
runs the real plan in test_fleet_lab.py and test_watch_lab.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from routerctl import api
from routerctl.cli import main
from routerctl.errors import ExitCode, TransportError
from routerctl.ops import fleet as fleet_mod
from routerctl.plan import Change, Plan
from routerctl.preflight import PreflightReport
from routerctl.topology import Router, Topology
from routerctl.transport import Transport
from routerctl.transport.fake import FakeTransport
from tests.test_fleet import topology


class Reads:
    """Stands in for ops.provision.plan_with_preflight: records how many read at once."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.running = 0
        self.peak = 0
        self.finished: list[str] = []
        self.before: dict[str, Any] = {}
        self.fail: dict[str, Exception] = {}

    def plan_with_preflight(
        self, t: Transport, topo: Topology, r: Router, *, open_firewall: bool = False
    ) -> tuple[Plan, PreflightReport]:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            self.before.get(r.name, lambda: None)()
            if r.name in self.fail:
                raise self.fail[r.name]
            line = f"neighbor 198.51.100.{r.name[3:]} peer-group ROUTERCTL"
            plan = Plan(router=r.name, asn=r.asn, changes=(Change("add", "", line),))
            return plan, PreflightReport(router=r.name, checks=())
        finally:
            with self.lock:
                self.running -= 1
                self.finished.append(r.name)
                self.lock.notify_all()


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    s = Reads()
    monkeypatch.setattr(fleet_mod, "plan_with_preflight", s.plan_with_preflight)
    monkeypatch.setattr(api, "ssh_connector", lambda **_: lambda r: FakeTransport(r.name))
    return s


def test_plan_reads_four_at_once_and_prints_in_order(
    tmp_path: Path, reads: Reads, capsys: pytest.CaptureFixture[str]
) -> None:
    topology(tmp_path, 6)
    four = threading.Barrier(4, timeout=20)  # rtr1-4 must be read at the same time
    for i in (2, 3, 4):
        reads.before[f"rtr{i}"] = four.wait

    def first_waits_for_the_others() -> None:
        four.wait()
        with reads.lock:
            assert reads.lock.wait_for(lambda: len(reads.finished) >= 5, timeout=20)

    reads.before["rtr1"] = first_waits_for_the_others
    code = main(["plan", "-t", str(tmp_path / "routerctl.yaml")])
    out = capsys.readouterr().out
    assert code == 0
    assert reads.peak == 4
    assert reads.finished[-1] == "rtr1"  # read last ...
    heads = [ln.split()[1] for ln in out.splitlines() if ln.startswith("router rtr")]
    assert heads == [f"rtr{i}" for i in range(1, 7)]  # ... printed first
    assert out.count("+ neighbor 198.51.100.") == 6
    # JSON: the same order
    reads.finished.clear()
    reads.before.clear()
    code = main(["plan", "-t", str(tmp_path / "routerctl.yaml"), "-o", "json"])
    assert code == 0
    assert [p["router"] for p in json.loads(capsys.readouterr().out)] == [
        f"rtr{i}" for i in range(1, 7)
    ]


def test_plan_first_failing_router_is_the_error(
    tmp_path: Path, reads: Reads, capsys: pytest.CaptureFixture[str]
) -> None:
    topology(tmp_path, 5)
    reads.fail["rtr4"] = TransportError("cannot connect to 198.51.100.5:22: refused")
    reads.fail["rtr2"] = TransportError("cannot connect to 198.51.100.3:22: refused")
    code = main(["plan", "-t", str(tmp_path / "routerctl.yaml")])
    out = capsys.readouterr()
    assert code == ExitCode.UNREACHABLE
    assert out.out == ""  # no half output
    errors = [ln for ln in out.err.splitlines() if ln.startswith("routerctl: ")]
    assert errors == ["routerctl: error: cannot connect to 198.51.100.3:22: refused"]
    assert sorted(reads.finished) == [f"rtr{i}" for i in range(1, 6)]  # read-only: all read

    # one router named: only that one is read
    reads.finished.clear()
    code = main(["plan", "-t", str(tmp_path / "routerctl.yaml"), "-r", "rtr3"])
    assert code == 0 and reads.finished == ["rtr3"]
    assert "router rtr3" in capsys.readouterr().out


def test_plan_a_bug_in_one_read_is_one_line_exit_70(
    tmp_path: Path, reads: Reads, capsys: pytest.CaptureFixture[str]
) -> None:
    topology(tmp_path, 2)
    reads.fail["rtr2"] = ZeroDivisionError("division by zero")
    code = main(["plan", "-t", str(tmp_path / "routerctl.yaml")])
    out = capsys.readouterr()
    assert code == ExitCode.INTERNAL and out.out == ""
    (line,) = [ln for ln in out.err.splitlines() if ln.startswith("routerctl: ")]
    assert line.startswith("routerctl: error: rtr2: internal error: ZeroDivisionError")
    assert "Traceback" not in out.err
