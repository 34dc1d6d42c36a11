"""The firewall section of the topology, and provision's firewall path on a fake router
(one rule per zone, applied after the BGP config, restored by the rollback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from routerctl.errors import TopologyError
from routerctl.topology import load_topology

BASE = """routers:
  - name: gw
    ssh: {host: 198.51.100.2, user: root}
    asn: 64500
cluster:
  asn: 64501
  nodes:
    - {name: n1, address: 198.51.100.5}
  pools:
    - name: default
      addresses: [203.0.113.0/28]
"""


def load(tmp_path: Path, extra: str) -> object:
    p = tmp_path / "routerctl.yaml"
    p.write_text(BASE + extra, encoding="utf-8")
    return load_topology(p)


def test_firewall_manage_is_read(tmp_path: Path) -> None:
    assert load(tmp_path, "firewall: {manage: true}\n").firewall.manage is True  # type: ignore[attr-defined]
    assert load(tmp_path, "").firewall.manage is False  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ("firewall: {manage: yes please}\n", r"routerctl.yaml:12: firewall.manage: "),
        ("firewall: {mange: true}\n", r"routerctl.yaml:12: firewall.mange: unknown key"),
        ("firewall: true\n", r"routerctl.yaml:12: firewall: expected a mapping"),
    ],
)
def test_bad_firewall_section_is_one_line_with_file_and_line(
    tmp_path: Path, extra: str, match: str
) -> None:
    with pytest.raises(TopologyError, match=match) as exc:
        load(tmp_path, extra)
    assert "\n" not in exc.value.one_line() and "manage" in exc.value.one_line()
