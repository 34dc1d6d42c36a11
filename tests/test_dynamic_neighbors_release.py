"""Dynamic neighbors on a release router: OpenWrt 25.12's FRR 10.4.1 (apk), installed by
provision from the lab's feed. The listen range is applied, read back and idempotent; a
node that joins the running lab peers as ``*ADDR`` without a provision and verify counts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from routerctl.lab import Lab
from tests.release_lab import cli, poll, release_lab

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def frr10() -> Iterator[Lab]:
    yield from release_lab("25.12", "y", provision=False)


def _dynamic(lab: Lab, tmp_path: Path) -> Path:
    doc = yaml.safe_load(Path(lab.topology_file).read_text(encoding="utf-8"))
    doc["routers"][0]["dynamic_neighbors"] = {"listen_range": "198.51.100.0/24", "limit": 20}
    path = tmp_path / "dynamic.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def test_listen_range_on_frr10_and_a_node_joining(frr10: Lab, tmp_path: Path) -> None:
    path = _dynamic(frr10, tmp_path)
    res = cli(path, "provision", "--yes")
    assert res.returncode == 0, res.stdout + res.stderr
    running = frr10.vtysh("show running-config")
    block = running[running.index("router bgp 65000") :]
    lines = [ln.strip() for ln in block.splitlines()[:8]]
    assert lines.index("bgp listen limit 20") + 1 == lines.index(
        "bgp listen range 198.51.100.0/24 peer-group ROUTERCTL"
    )
    assert "neighbor 198.51.100.5" not in running  # the nodes are dynamic peers
    again = cli(path, "provision", "--yes")
    assert again.returncode == 0 and "no changes" in again.stdout + again.stderr

    def dynamic_peers() -> set[str]:
        text = frr10.vtysh("show ip bgp summary")
        return {ln.split()[0][1:] for ln in text.splitlines() if ln.startswith("*198.")}

    poll(lambda: dynamic_peers() == {"198.51.100.5", "198.51.100.6"}, timeout=60,
         what="both nodes as dynamic peers")  # fmt: skip
    address = frr10.add_node("joiner")
    try:
        poll(lambda: address in dynamic_peers(), timeout=60, what=f"*{address}")
        assert frr10.vtysh("show running-config") == running  # no provision, no change
        grown = _dynamic(frr10, tmp_path)  # the lab's topology file lists the new node now

        def green() -> bool:
            res = cli(grown, "verify", "-o", "json", "--no-state", "--nagios")
            return res.returncode == 0

        poll(green, timeout=60, what="verify green with the joined node")
        res = cli(grown, "verify", "-o", "json", "--no-state", "--nagios")
        checks = {c["name"]: c for c in json.loads(res.stdout)["checks"]}
        assert (
            checks["dynamic neighbors"]["observed"] == "3 dynamic peers (3 of the expected nodes)"
        )
        assert checks["session joiner"]["ok"]
    finally:
        frr10.remove_node("joiner")
    poll(lambda: address not in dynamic_peers(), timeout=60, what=f"*{address} to go")
