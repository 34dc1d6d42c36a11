"""The Nornir plugin offline: the inventory built from routerctl.yaml, the task contract
(failures are failed Results with routerctl's exit code, never a traceback). The lab
scenarios (parallel, rolling) are in test_fleet_lab.py."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nornir")

from nornir import InitNornir
from nornir.core import Nornir

from routerctl.errors import ExitCode
from routerctl.integrations import nornir as rn
from routerctl.ops.provision import ProvisionResult
from routerctl.plan import Change, Plan
from routerctl.topology import Topology

TOPOLOGY = """\
routers:
  - {{name: rtr1, ssh: {{host: 127.0.0.1, port: {port}, user: root}}, asn: 64512,
      router_id: 198.51.100.2}}
  - {{name: rtr2, ssh: {{host: 127.0.0.1, port: {port}}}, asn: 64512, router_id: 198.51.100.3,
      suite: frr}}
cluster:
  asn: 64513
  nodes:
    - {{name: node1, address: 198.51.100.5}}
    - {{name: node2, address: 198.51.100.6}}
  pools:
    - {{name: default, addresses: [203.0.113.30-203.0.113.39]}}
"""


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make(tmp_path: Path, *, dry_run: bool = False) -> Nornir:
    f = tmp_path / "routerctl.yaml"
    f.write_text(TOPOLOGY.format(port=closed_port()))
    return InitNornir(
        inventory={"plugin": "RouterctlInventory", "options": {"topology_file": str(f)}},
        runner={"plugin": "threaded", "options": {"num_workers": 2}},
        logging={"enabled": False},
        dry_run=dry_run,
    )


def test_inventory_routers_as_hosts_cluster_as_defaults(tmp_path: Path) -> None:
    nr = make(tmp_path)
    hosts = nr.inventory.hosts
    assert list(hosts) == ["rtr1", "rtr2"]
    assert hosts["rtr1"].hostname == "127.0.0.1" and hosts["rtr1"].username == "root"
    assert hosts["rtr2"].username is None and hosts["rtr2"]["suite"] == "frr"
    assert hosts["rtr1"]["asn"] == 64512 and hosts["rtr1"]["router_id"] == "198.51.100.2"
    cluster = hosts["rtr2"]["cluster"]  # shared data, through the defaults
    assert cluster["asn"] == 64513
    assert [n["address"] for n in cluster["nodes"]] == ["198.51.100.5", "198.51.100.6"]
    assert isinstance(nr.inventory.defaults.data[rn.TOPOLOGY_KEY], Topology)


def test_unreachable_router_is_a_failed_result_with_exit_3(tmp_path: Path) -> None:
    nr = make(tmp_path, dry_run=True)
    for task in (rn.plan, rn.provision, rn.verify):
        agg = nr.run(task=task, on_failed=True)  # the hosts failed the previous task
        assert agg.failed, task
        for name in ("rtr1", "rtr2"):
            r = agg[name][0]
            assert r.failed and not r.changed
            assert r.exit_code in (ExitCode.UNREACHABLE, ExitCode.FAILED), (task, r.result)
            if task is not rn.verify:
                assert r.exit_code == ExitCode.UNREACHABLE and "127.0.0.1" in r.result
            else:
                assert r.result.exit_code == ExitCode.UNREACHABLE  # a VerifyReport


def test_rolling_stops_at_the_first_failed_host(tmp_path: Path) -> None:
    nr = make(tmp_path)
    done = rn.rolling_provision(nr, gate_timeout=1)
    assert list(done) == ["rtr1"]  # rtr2 never ran
    assert done["rtr1"].failed


def test_provision_dry_run_follows_nornir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dry_run: the plan only (api.provision(dry_run=True)), changed = the plan is not empty."""
    calls: list[bool] = []

    def fake_provision(topo: Topology, name: str, *, dry_run: bool, **_: object) -> object:
        calls.append(dry_run)
        plan = Plan(router=name, asn=64512, changes=(Change("add", "", "router bgp 64512"),))
        return ProvisionResult(name, "", (), plan, not dry_run, 0 if dry_run else 1, not dry_run)

    monkeypatch.setattr(rn.api, "provision", fake_provision)
    r = make(tmp_path, dry_run=True).run(task=rn.provision)["rtr1"][0]
    assert calls == [True, True]
    assert r.changed and not r.failed and "+ router bgp 64512" in r.diff
    calls.clear()
    r = make(tmp_path).run(task=rn.provision, dry_run=True)["rtr2"][0]  # per-task override
    assert set(calls) == {True} and r.changed


def test_core_never_imports_nornir() -> None:
    code = (
        "import sys, routerctl.cli, routerctl.api\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'nornir'))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"
