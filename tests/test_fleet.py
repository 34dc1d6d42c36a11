"""The fleet scheduler (routerctl.ops.fleet) offline: concurrency bound, rolling stop,
outcomes and exit codes, Ctrl-C. The one-router provision and the verify gate are
replaced by scripted stand-ins here; test_fleet_lab.py runs the real ones on four routers.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from routerctl import api
from routerctl.checks import CheckResult, Severity
from routerctl.cli import main
from routerctl.errors import ExitCode, RefusedError, RolledBackError, UsageError
from routerctl.ops import fleet as fleet_mod
from routerctl.ops.provision import ProvisionResult
from routerctl.plan import Change, Plan
from routerctl.topology import Router, Topology
from routerctl.transport import Transport
from routerctl.transport.fake import FakeTransport

TOPOLOGY = """\
routers:
{routers}
cluster:
  asn: 64513
  nodes:
    - {{name: node1, address: 198.51.100.5}}
  pools:
    - {{name: default, addresses: [203.0.113.30-203.0.113.39]}}
"""


def topology(tmp_path: Path, n: int) -> Topology:
    routers = "\n".join(
        f"  - {{name: rtr{i}, ssh: {{host: 198.51.100.{i + 1}}}, asn: 64512, "
        f"router_id: 198.51.100.{i + 1}}}"
        for i in range(1, n + 1)
    )
    f = tmp_path / "routerctl.yaml"
    f.write_text(TOPOLOGY.format(routers=routers))
    return api.load_topology(f)


def connector(r: Router) -> Transport:
    return FakeTransport(r.name)


class Script:
    """Stands in for ops.provision.provision and run_verify; records what ran when."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.started: list[str] = []
        self.behaviour: dict[str, Callable[[], None]] = {}
        self.changes: dict[str, bool] = {}
        self.red_gate: set[str] = set()
        self.gated: list[str] = []

    def provision(self, t: Transport, topo: Topology, r: Router, **kw: Any) -> ProvisionResult:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.started.append(r.name)
        try:
            self.behaviour.get(r.name, lambda: None)()
            changed = self.changes.get(r.name, True)
            plan = Plan(
                router=r.name,
                asn=r.asn,
                changes=(Change("add", "", "router bgp 64512"),) if changed else (),
            )
            if changed and not kw["confirm"](plan):
                return ProvisionResult(r.name, "frr", (), plan, False, 0, False)
            return ProvisionResult(r.name, "frr", (), plan, changed, int(changed), changed)
        finally:
            with self.lock:
                self.running -= 1

    def run_verify(
        self, topo: Topology, *, router_name: str, **_: Any
    ) -> tuple[list[CheckResult], list[Any]]:
        self.gated.append(router_name)
        ok = router_name not in self.red_gate
        return [
            CheckResult(
                "session node1",
                ok,
                Severity.OK if ok else Severity.CRITICAL,
                "Established",
                "Established" if ok else "Active",
                router=router_name,
            )
        ], []


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Script:
    s = Script()
    monkeypatch.setattr(fleet_mod, "provision", s.provision)
    monkeypatch.setattr(fleet_mod, "run_verify", s.run_verify)
    return s


def test_parallel_is_bounded_and_every_router_runs(tmp_path: Path, script: Script) -> None:
    topo = topology(tmp_path, 6)
    both = threading.Barrier(2, timeout=10)
    for i in range(1, 7):
        script.behaviour[f"rtr{i}"] = both.wait  # two at a time must be running together
    res = api.provision_fleet(topo, parallel=2, connector=connector)
    assert script.peak == 2
    assert sorted(script.started) == [f"rtr{i}" for i in range(1, 7)]
    assert [o.outcome for o in res.outcomes] == [api.Outcome.changed] * 6
    assert res.exit_code == 0 and res.ok and not script.gated


def test_default_parallel_is_min_4_routers() -> None:
    assert [fleet_mod.default_parallel(n) for n in (1, 2, 4, 8)] == [1, 2, 4, 4]


def test_outcomes_and_the_worst_exit_code(tmp_path: Path, script: Script) -> None:
    topo = topology(tmp_path, 4)
    script.changes["rtr1"] = False

    def rolled() -> None:
        raise RolledBackError("vtysh rejected 1 line(s) on rtr2; the previous config was restored")

    def refused() -> None:
        raise RefusedError("router busy: rtr3 is being provisioned by someone")

    script.behaviour |= {"rtr2": rolled, "rtr3": refused}
    res = api.provision_fleet(topo, connector=connector)
    kinds = {o.router: o.outcome for o in res.outcomes}
    assert kinds == {
        "rtr1": api.Outcome.unchanged,
        "rtr2": api.Outcome.rolled_back,
        "rtr3": api.Outcome.failed,
        "rtr4": api.Outcome.changed,
    }
    assert res.outcome("rtr2").exit_code == ExitCode.ROLLED_BACK
    assert res.outcome("rtr3").exit_code == ExitCode.REFUSED
    assert res.exit_code == ExitCode.ROLLED_BACK
    js = res.to_json()
    assert js[1]["outcome"] == "rolled back" and "rtr2" in str(js[1]["detail"])


def test_rolling_stops_at_the_first_failure(tmp_path: Path, script: Script) -> None:
    topo = topology(tmp_path, 4)
    script.behaviour["rtr2"] = lambda: (_ for _ in ()).throw(
        RolledBackError("vtysh rejected 1 line(s) on rtr2")
    )
    res = api.provision_fleet(topo, rolling=True, connector=connector)
    assert script.started == ["rtr1", "rtr2"]  # one at a time, in order
    assert script.gated == ["rtr1"]
    assert [o.outcome for o in res.outcomes] == [
        api.Outcome.changed,
        api.Outcome.rolled_back,
        api.Outcome.skipped,
        api.Outcome.skipped,
    ]
    assert "verify gate green" in res.outcomes[0].detail
    assert "roll stopped at rtr2" in res.outcomes[2].detail
    assert res.exit_code == ExitCode.ROLLED_BACK


def test_rolling_red_gate_stops_the_roll(tmp_path: Path, script: Script) -> None:
    topo = topology(tmp_path, 3)
    script.red_gate = {"rtr1"}
    res = api.provision_fleet(topo, rolling=True, gate_timeout=1, connector=connector)
    assert script.started == ["rtr1"]
    first = res.outcomes[0]
    assert first.outcome is api.Outcome.failed and first.exit_code == ExitCode.FAILED
    assert [c.name for c in first.gate] == ["session node1"]
    assert "verify gate failed" in first.detail
    assert [o.outcome for o in res.outcomes[1:]] == [api.Outcome.skipped] * 2


def test_rolling_and_parallel_together_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="one router at a time"):
        api.provision_fleet(topology(tmp_path, 2), rolling=True, parallel=2, connector=connector)


def test_ctrl_c_finishes_in_flight_and_skips_the_rest(tmp_path: Path, script: Script) -> None:
    """SIGINT's KeyboardInterrupt lands in the main thread while two routers are in flight."""
    topo = topology(tmp_path, 4)
    both = threading.Barrier(2, timeout=10)
    release = threading.Event()

    def in_flight() -> None:
        if both.wait() == 0:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does to this process
        assert release.wait(10)

    def progress(msg: str) -> None:
        if msg.startswith("interrupted"):  # the main thread saw Ctrl-C: let them finish
            release.set()

    script.behaviour |= {"rtr1": in_flight, "rtr2": in_flight}
    res = api.provision_fleet(topo, parallel=2, connector=connector, progress=progress)
    assert res.interrupted and not res.ok, res
    assert [o.outcome for o in res.outcomes][:2] == [api.Outcome.changed] * 2, res
    assert sorted(script.started) == ["rtr1", "rtr2"]  # nothing new started
    assert [o.outcome for o in res.outcomes] == [
        api.Outcome.changed,
        api.Outcome.changed,
        api.Outcome.skipped,
        api.Outcome.skipped,
    ]


def test_cli_table_json_and_exit_code(
    tmp_path: Path, script: Script, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    topology(tmp_path, 3)
    monkeypatch.setattr(api, "ssh_connector", lambda **_: connector)
    script.behaviour["rtr2"] = lambda: (_ for _ in ()).throw(RolledBackError("rtr2 restored"))
    code = main(["provision", "-t", str(tmp_path / "routerctl.yaml"), "--yes", "--rolling"])
    out = capsys.readouterr().out
    assert code == ExitCode.ROLLED_BACK
    rows = {
        line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│ rtr")
    }
    assert "changed" in rows["rtr1"] and "rolled back" in rows["rtr2"]
    assert "skipped" in rows["rtr3"]
    assert "3 routers (rolling): 1 changed, 1 rolled back, 1 skipped; exit 5" in out
    code = main(["provision", "-t", str(tmp_path / "routerctl.yaml"), "--yes", "-o", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == ExitCode.ROLLED_BACK
    assert [d["outcome"] for d in doc] == ["changed", "rolled back", "changed"]


def test_a_bug_in_one_router_is_its_row_not_a_lost_router(tmp_path: Path, script: Script) -> None:
    topo = topology(tmp_path, 2)

    def bug() -> None:
        raise ZeroDivisionError("division by zero")

    script.behaviour["rtr1"] = bug
    res = api.provision_fleet(topo, connector=connector)
    first = res.outcome("rtr1")
    assert first.outcome is api.Outcome.failed and first.exit_code == ExitCode.INTERNAL
    assert "ZeroDivisionError" in first.detail
    assert res.outcome("rtr2").outcome is api.Outcome.changed
    assert res.exit_code == ExitCode.INTERNAL
