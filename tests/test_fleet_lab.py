"""Fleets on four real lab routers (one LAN, two GoBGP nodes): ``provision --parallel``,
``--rolling`` with router 2's vtysh made to fail, Ctrl-C mid-provision, and the same
scenarios through Nornir and ``ansible-playbook``.

One module-scoped lab; every test starts from the routers' fresh state (``fresh``:
routerctl's owned config removed again and the persisted config file put back, checked
byte for byte), so the tests do not depend on their order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from routerctl import api
from routerctl.lab import Lab
from routerctl.plan import compute_restore
from routerctl.platform.suites import FRR
from routerctl.topology import Topology

pytestmark = pytest.mark.lab

ROUTERS = ("rtr1", "rtr2", "rtr3", "rtr4")
FAIL_FLAG = "/tmp/routerctl-test-vtysh-fail-once"
STASHED_VTYSH = "/usr/bin/vtysh.routerctl-test-real"  # the package's vtysh while broken
# rtr2's vtysh: the first config session read from stdin (provision's apply) gets an
# unknown command after its first line, so the real vtysh rejects it; later sessions (the
# rollback) pass untouched. Only while FAIL_FLAG exists, on that router only.
FAILING_VTYSH = f"""#!/bin/sh
if [ $# -eq 0 ] && [ -e {FAIL_FLAG} ]; then
  rm -f {FAIL_FLAG}
  {{ IFS= read -r first; printf '%s\\n' "$first" routerctl-lab-no-such-command; cat; }} |
    {STASHED_VTYSH}
  exit $?
fi
exec {STASHED_VTYSH} "$@"
"""


@dataclass(frozen=True)
class Snapshot:
    running: str  # `show running-config`, exactly
    persisted: bytes | None  # the suite's config file, None: absent


@dataclass
class Fleet:
    lab: Lab
    topo: Topology
    fresh: dict[str, Snapshot]

    @property
    def topology_file(self) -> Path:
        return self.lab.topology_file

    def snapshot(self, router: str) -> Snapshot:
        path = self.lab.router_file(FRR.persisted_files[0], router=router)
        return Snapshot(
            running=self.lab.vtysh("show running-config", router=router),
            persisted=path.read_bytes() if path.exists() else None,
        )

    def configured(self, router: str) -> bool:
        """routerctl's plan for the router is empty: fully provisioned."""
        return api.plan(self.topo, router).empty

    def reset(self, router: str) -> None:
        """Back to the fresh state: remove what routerctl added, put the file back."""
        r = self.topo.router(router)
        before = self.fresh[router]
        current = self.lab.vtysh("show running-config", router=router)
        restore = compute_restore(router=router, asn=r.asn, current=current, saved=before.running)
        if not restore.empty:
            script = "configure terminal\n" + "\n".join(restore.script) + "\nend\n"
            self.lab.router_sh("vtysh", router=router, input=script)
        path = self.lab.router_file(FRR.persisted_files[0], router=router)
        if before.persisted is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before.persisted)
        assert self.snapshot(router) == before, f"{router}: reset did not restore it"

    def break_vtysh(self, router: str) -> None:
        self.lab.router_sh(
            f"[ -e {STASHED_VTYSH} ] || mv /usr/bin/vtysh {STASHED_VTYSH}; "
            f"cat > /usr/bin/vtysh && chmod 755 /usr/bin/vtysh && touch {FAIL_FLAG}",
            router=router,
            input=FAILING_VTYSH,
        )

    def mend_vtysh(self, router: str) -> None:
        self.lab.router_sh(
            f"rm -f {FAIL_FLAG}; if [ -e {STASHED_VTYSH} ]; then mv -f {STASHED_VTYSH} "
            "/usr/bin/vtysh; fi",
            router=router,
        )


@pytest.fixture(scope="module")
def module_fleet(module_lab_factory: Callable[..., Lab]) -> Fleet:
    lab = module_lab_factory(routers=4, nodes=2)
    topo = api.load_topology(lab.topology_file)
    fleet = Fleet(lab=lab, topo=topo, fresh={})
    fleet.fresh = {r: fleet.snapshot(r) for r in ROUTERS}
    return fleet


@pytest.fixture
def fleet(module_fleet: Fleet) -> Iterator[Fleet]:
    for r in ROUTERS:
        module_fleet.reset(r)
    yield module_fleet
    for r in ROUTERS:
        module_fleet.mend_vtysh(r)


def cli(fleet: Fleet, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routerctl", "provision", "-t", str(fleet.topology_file), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_parallel_4_fresh_routers_all_established(fleet: Fleet) -> None:
    proc = cli(fleet, "--yes", "--parallel", "4", "--confirm-timeout", "90", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert [(d["router"], d["outcome"], d["exit_code"]) for d in doc] == [
        (r, "changed", 0) for r in ROUTERS
    ]
    nodes = {str(n.address) for n in fleet.topo.cluster.nodes}
    for d in doc:
        assert set(d["established"]) == nodes  # --confirm-timeout: every session Established
    for r in ROUTERS:
        fleet.lab.wait_established(router=r, timeout=60)
        assert fleet.configured(r)
    # a second run changes nothing
    again = cli(fleet, "--yes", "-o", "json")
    assert again.returncode == 0, again.stderr
    assert {d["outcome"] for d in json.loads(again.stdout)} == {"unchanged"}


def test_rolling_stops_at_router_2_and_leaves_3_and_4_untouched(fleet: Fleet) -> None:
    fleet.break_vtysh("rtr2")
    proc = cli(fleet, "--yes", "--rolling", "--gate-timeout", "90")
    assert proc.returncode == 5, proc.stderr
    rows = {
        line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if "│ rtr" in line
    }
    assert "changed" in rows["rtr1"] and "rolled back" in rows["rtr2"]
    assert "skipped" in rows["rtr3"] and "skipped" in rows["rtr4"]
    assert "4 routers (rolling): 1 changed, 1 rolled back, 2 skipped; exit 5" in proc.stdout
    assert "routerctl-lab-no-such-command" in proc.stdout  # the rejected line, named
    # router 1: changed and green
    assert fleet.configured("rtr1")
    assert api.verify(fleet.topo, "rtr1", wait=60).ok
    # router 2: rolled back, byte-identical; routers 3-4: untouched
    for r in ("rtr2", "rtr3", "rtr4"):
        assert fleet.snapshot(r) == fleet.fresh[r], r
    gone = fleet.lab.router_sh("ls -d /var/lock/routerctl.lock", router="rtr2", check=False)
    assert gone.returncode != 0  # the lock is released after the rollback


def test_ctrl_c_mid_parallel_provision_leaves_no_router_half_configured(fleet: Fleet) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "routerctl",
            "provision",
            "-t",
            str(fleet.topology_file),
            "--yes",
            "--parallel",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen: list[str] = []
    try:
        for line in proc.stderr:  # progress, line by line, until a router is mid-apply
            seen.append(line)
            if "applying" in line:
                os.kill(proc.pid, signal.SIGINT)
                break
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any("applying" in line for line in seen), "".join(seen)
    assert proc.returncode == 130, err
    assert "interrupted: no new router starts" in err
    configured, untouched = [], []
    for r in ROUTERS:
        if fleet.configured(r):
            configured.append(r)
        else:
            assert fleet.snapshot(r) == fleet.fresh[r], f"{r} is half-configured"
            untouched.append(r)
        lock = fleet.lab.router_sh("ls -d /var/lock/routerctl.lock", router=r, check=False)
        assert lock.returncode != 0, f"{r}: lock left behind"
    assert configured, "the router that was mid-apply finished"
    assert untouched, "routers not started yet stayed untouched"
    assert "skipped" in out and "interrupted" in out


# -- the same scenarios through Nornir ------------------------------------------------------


def nornir_for(fleet: Fleet, *, workers: int = 4) -> Any:
    nornir = pytest.importorskip("nornir")
    return nornir.InitNornir(
        inventory={
            "plugin": "RouterctlInventory",
            "options": {"topology_file": str(fleet.topology_file)},
        },
        runner={"plugin": "threaded", "options": {"num_workers": workers}},
        logging={"enabled": False},
    )


def test_nornir_parallel_dry_run_then_provision_then_no_change(fleet: Fleet) -> None:
    from routerctl.integrations import nornir as rn  # noqa: PLC0415 (optional extra)

    nr = nornir_for(fleet)
    assert list(nr.inventory.hosts) == list(ROUTERS)
    dry = nr.run(task=rn.provision, dry_run=True)
    assert not dry.failed
    assert {h: r[0].changed for h, r in dry.items()} == dict.fromkeys(ROUTERS, True)
    assert all("router bgp 65000" in r[0].diff for r in dry.values())
    for r in ROUTERS:  # a dry run changes nothing
        assert fleet.snapshot(r) == fleet.fresh[r], r
    real = nr.run(task=rn.provision, confirm_timeout=90)
    assert not real.failed, {h: r[0].result for h, r in real.items()}
    nodes = {str(n.address) for n in fleet.topo.cluster.nodes}
    for r in ROUTERS:
        result = real[r][0]
        assert result.changed and result.result.applied
        assert set(result.result.established) == nodes
    again = nr.run(task=rn.provision)
    assert {h: r[0].changed for h, r in again.items()} == dict.fromkeys(ROUTERS, False)
    checked = nr.run(task=rn.verify, wait=60)
    assert not checked.failed, {h: r[0].failing for h, r in checked.items()}


def test_nornir_rolling_stops_at_router_2(fleet: Fleet) -> None:
    from routerctl.integrations import nornir as rn  # noqa: PLC0415 (optional extra)

    fleet.break_vtysh("rtr2")
    done = rn.rolling_provision(nornir_for(fleet, workers=1), gate_timeout=90)
    assert list(done) == ["rtr1", "rtr2"]  # rtr3 and rtr4 never ran
    first, second = done["rtr1"]["rtr1"][0], done["rtr2"]["rtr2"][0]
    assert first.changed and not first.failed
    assert second.failed and second.rolled_back and second.exit_code == 5
    assert "routerctl-lab-no-such-command" in second.result
    assert fleet.configured("rtr1")
    for r in ("rtr2", "rtr3", "rtr4"):
        assert fleet.snapshot(r) == fleet.fresh[r], r


# -- the same scenarios through ansible-playbook -----------------------------------------------

PLAYBOOKS = Path(__file__).resolve().parents[1] / "ansible" / "playbooks"


@pytest.fixture(scope="module")
def ansible_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_ansible import install_collection  # noqa: PLC0415 (ansible-core: dev extra)

    home = tmp_path_factory.mktemp("ansible")
    install_collection(home)
    return home


def playbook(
    fleet: Fleet, home: Path, name: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, int]]]:
    """``ansible-playbook`` on the four routers; returns the run and its PLAY RECAP."""
    from tests.test_ansible import ansible_env  # noqa: PLC0415

    inventory = home / "inventory.ini"
    inventory.write_text("[routers]\n" + "".join(f"{r}\n" for r in ROUTERS))
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            str(inventory),
            str(PLAYBOOKS / name),
            "-e",
            f"routerctl_topology={fleet.topology_file}",
            "--forks",
            "4",
            *args,
        ],
        capture_output=True,
        text=True,
        env=ansible_env(home),
        timeout=600,
        check=False,
    )
    recap: dict[str, dict[str, int]] = {}
    lines = proc.stdout.splitlines()
    for line in lines[next((i for i, x in enumerate(lines) if "PLAY RECAP" in x), len(lines)) :]:
        host, sep, counts = line.partition(" : ")
        if sep:
            recap[host.strip()] = {k: int(v) for k, v in (c.split("=") for c in counts.split())}
    return proc, recap


def test_ansible_check_mode_then_apply_then_changed_0(fleet: Fleet, ansible_home: Path) -> None:
    check, recap = playbook(fleet, ansible_home, "provision.yml", "--check", "--diff")
    assert check.returncode == 0, check.stdout + check.stderr
    assert {h: (c["changed"], c["failed"]) for h, c in recap.items()} == dict.fromkeys(
        ROUTERS, (1, 0)
    )
    assert check.stdout.count("router bgp 65000") >= 4  # --diff: each router's plan
    for r in ROUTERS:  # check mode changed nothing
        assert fleet.snapshot(r) == fleet.fresh[r], r
    real, recap = playbook(fleet, ansible_home, "provision.yml")
    assert real.returncode == 0, real.stdout + real.stderr
    assert {h: (c["changed"], c["failed"]) for h, c in recap.items()} == dict.fromkeys(
        ROUTERS, (1, 0)
    )
    for r in ROUTERS:
        assert fleet.configured(r)
        fleet.lab.wait_established(router=r, timeout=60)
    again, recap = playbook(fleet, ansible_home, "provision.yml")
    assert again.returncode == 0, again.stdout + again.stderr
    assert {h: c["changed"] for h, c in recap.items()} == dict.fromkeys(ROUTERS, 0)


def test_ansible_rolling_serial_1_stops_at_router_2(fleet: Fleet, ansible_home: Path) -> None:
    fleet.break_vtysh("rtr2")
    proc, recap = playbook(fleet, ansible_home, "rolling.yml")
    assert proc.returncode != 0
    assert set(recap) == {"rtr1", "rtr2"}, proc.stdout  # rtr3 and rtr4 never ran
    assert recap["rtr1"]["changed"] == 1 and recap["rtr1"]["failed"] == 0
    assert recap["rtr2"]["failed"] == 1
    assert "routerctl-lab-no-such-command" in proc.stdout
    assert '"rolled_back": true' in proc.stdout
    assert fleet.configured("rtr1")
    for r in ("rtr2", "rtr3", "rtr4"):
        assert fleet.snapshot(r) == fleet.fresh[r], r
