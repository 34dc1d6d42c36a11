"""``lab up --speaker frr``: every node runs FRR configured as MetalLB's FRR mode renders
it; verify sees the same healthy / degraded / critical states as with GoBGP nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root"),
]


def poll(cond: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.2)  # polling interval, bounded by the deadline


def routerctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "routerctl", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def lab(module_lab_factory: Callable[..., Any]) -> Any:
    return module_lab_factory(nodes=2, speaker="frr")


def test_frr_nodes_healthy_degraded_critical(lab: Any) -> None:
    topo = str(lab.topology_file)
    assert {lab.speaker_kind(n) for n in lab.spec.node_names()} == {"frr"}
    res = routerctl("provision", "-t", topo, "--yes")
    assert res.returncode == 0, res.stdout + res.stderr

    def ecmp() -> bool:
        data = json.loads(lab.vtysh("show ip route 203.0.113.0/24 longer-prefixes json") or "{}")
        want = {"198.51.100.5", "198.51.100.6"}
        return all(
            {h["ip"] for h in data.get(p, [{}])[0].get("nexthops", []) if h.get("fib")} == want
            for p in ("203.0.113.30/32", "203.0.113.31/32")
        )

    poll(ecmp, timeout=60, what="2-way ECMP from the FRR nodes")

    def verify() -> tuple[int, dict[str, Any]]:
        res = routerctl("verify", "-t", topo, "-o", "json", "--no-state", "--nagios")
        return res.returncode, {c["name"]: c for c in json.loads(res.stdout)["checks"]}

    rc, checks = verify()
    assert rc == 0, {k: v["observed"] for k, v in checks.items() if not v["ok"]}
    lab.stop_speaker("node1")
    poll(lambda: lab.sessions().get("198.51.100.5") != "Established", timeout=30,
         what="node1's session to go")  # fmt: skip
    rc, checks = verify()
    assert rc == 1 and checks["session node1"]["severity"] == "warning"
    assert checks["route default/nginx-lb 203.0.113.30"]["severity"] == "warning"
    lab.stop_speaker("node2")
    poll(lambda: "Established" not in lab.sessions().values(), timeout=30,
         what="both sessions to go")  # fmt: skip
    rc, checks = verify()
    assert rc == 2 and checks["session node2"]["severity"] == "critical"
    # back: the speakers restart from their config and the sessions return
    for n in ("node1", "node2"):
        lab.start_speaker(n)
    poll(ecmp, timeout=60, what="ECMP back after the FRR speakers restart")
