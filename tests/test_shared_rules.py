"""Rules that used to be written several times, now once (issue 11): the duration
parser and the node selector; each former copy answers the same."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from routerctl.checks import expected_nodes
from routerctl.cluster import ClusterState
from routerctl.durations import parse_duration, whole_seconds
from routerctl.errors import LabError, TopologyError
from routerctl.lab import gobgp
from routerctl.metallb import convert, importer
from routerctl.topology import Node, Router, SshTarget, labels_match, load_topology

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "examples" / "seed.yaml").read_text()


def test_one_duration_parser_everywhere() -> None:
    assert convert.parse_duration is parse_duration
    assert importer.parse_duration is parse_duration
    for text, seconds in [("90s", 90), ("1m30s", 90), ("1h", 3600), ("1.5m", 90), ("0", 0)]:
        assert parse_duration(text) == seconds
        assert whole_seconds(text) == seconds
        assert gobgp.duration_seconds(text, where="x") == seconds


@pytest.mark.parametrize(
    "text", ["", "90", "s", "1m30", "1d", "1m 30s", "--2s", "1e3s", "9" * 400 + "h", "9" * 65]
)
def test_bad_durations_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
    with pytest.raises(LabError, match="bad duration"):
        gobgp.duration_seconds(text, where="x")


def test_whole_seconds_refuses_fractions_and_negatives() -> None:
    with pytest.raises(ValueError, match="whole number"):
        whole_seconds("500ms")
    with pytest.raises(ValueError, match="negative"):
        whole_seconds("-5s")


@pytest.mark.parametrize(
    ("value", "seconds"), [("1m30s", 90), ("1.5m", 90), ("'90'", None), ("500ms", None)]
)
def test_topology_timers_take_go_durations(tmp_path: Path, value: str, seconds: int | None) -> None:
    f = tmp_path / "t.yaml"
    f.write_text(SEED.replace("ecmp: 8", f"ecmp: 8\n  hold_time: {value}"))
    if seconds is None:
        with pytest.raises(TopologyError, match=r"bgp\.hold_time: .* is not a duration"):
            load_topology(f)
    else:
        assert load_topology(f).bgp.hold_time == seconds


def _router(**selector: str) -> Router:
    return Router("r", SshTarget("r"), asn=65000, node_selector=tuple(selector.items()))


def test_one_node_selector() -> None:
    a = Node("a", ip_address("198.51.100.5"), labels=(("zone", "x"),))
    b = Node("b", ip_address("198.51.100.6"), labels=(("zone", "y"),))
    assert _router().nodes([a, b]) == (a, b)  # no selector: every node
    assert _router(zone="x").nodes([a, b]) == (a,)
    assert _router(**{"kubernetes.io/hostname": "b"}).nodes([a, b]) == (b,)
    assert not _router(zone="x", rack="1").selects(a)
    cluster = ClusterState(nodes=(a, b), services=(), source="test")
    topo = load_topology(ROOT / "examples" / "full.yaml")
    assert expected_nodes(topo, _router(zone="y"), cluster) == (b,)
    # the lab's MetalLB LabelSelector: matchLabels is the same rule
    assert gobgp._selector_matches({"matchLabels": {"zone": "x"}}, a.label_map())
    assert not gobgp._selector_matches({"matchLabels": {"zone": "x"}}, b.label_map())
    assert labels_match((), {}) and not labels_match((("k", "v"),), {})
