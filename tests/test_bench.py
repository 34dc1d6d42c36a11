"""The bench's figures and table (bench/stats.py) and its argument checks; no lab needed."""

from __future__ import annotations

import json
import os

import pytest

from bench.harness import interleave
from bench.items.large_table import route_batch
from bench.run import parse_args
from bench.stats import Goal, Row, Sample, Table, fmt, per_second, ratios


def test_sample_min_median_max() -> None:
    s = Sample.of([3.0, 1.0, 2.0, 10.0])
    assert (s.min, s.median, s.max, s.n) == (1.0, 2.5, 10.0, 4)
    assert Sample.of([7]).median == 7.0
    with pytest.raises(ValueError, match="at least one"):
        Sample.of([])


def test_ratios_are_pairwise() -> None:
    r = ratios([2.0, 3.0, 12.0], [1.0, 3.0, 4.0])
    assert r.values == (2.0, 1.0, 3.0)
    assert r.median == 2.0
    with pytest.raises(ValueError, match="differ in size"):
        ratios([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="positive"):
        ratios([1.0], [0.0])


def test_per_second() -> None:
    assert per_second(1000, [0.5, 2.0]).values == (2000.0, 500.0)


def test_goal_and_verdict() -> None:
    assert Goal("<=", 1.3).met(1.3)
    assert not Goal("<=", 1.3).met(1.31)
    assert Goal("<", 20).met(19.9) and not Goal("<", 20).met(20)
    assert Goal(">=", 2).met(2)
    with pytest.raises(ValueError, match="operator"):
        Goal("~", 1)
    # the verdict is on the median, not on the best run
    row = Row("1", "ratio", "x", Sample.of([1.0, 1.4, 1.5]), Goal("<=", 1.3))
    assert row.verdict == "MISSED"
    assert Row("1", "ratio", "x", Sample.of([1.0, 1.2, 9.0]), Goal("<=", 1.3)).verdict == "met"
    assert Row("1", "plain", "ms", Sample.of([1.0])).verdict == ""


def test_fmt_units() -> None:
    assert fmt(1.234, "x") == "1.23"
    assert fmt(7, "n") == "7"
    assert fmt(1.5, "n") == "1.5"
    assert fmt(147.4, "ms") == "147"
    assert fmt(34.12, "ms") == "34.1"
    assert fmt(2.345, "ms") == "2.35"
    assert fmt(41_500, "routes/s") == "42k"
    assert fmt(1_250_000, "routes/s") == "1.25M"


def test_table_text_and_markdown() -> None:
    t = Table()
    t.add(Row("1", "floor", "ms", Sample.of([150.0, 160.0, 200.0])))
    t.add(Row("1", "verify / floor", "x", Sample.of([1.1, 1.5, 1.6]), Goal("<=", 1.3), "a|b"))
    lines = t.text().splitlines()
    assert lines[0].split()[:3] == ["#", "measure", "min"]
    assert lines[1].split() == ["1", "floor", "150", "ms", "160", "ms", "200", "ms", "3"]
    assert "<= 1.30x" in lines[2] and "MISSED" in lines[2]
    assert lines[2].index("1.10x") > lines[2].index("verify / floor")
    md = t.markdown().splitlines()
    assert md[0].startswith("| # | measure | min | median | max |")
    assert md[3] == "| 1 | verify / floor | 1.10x | 1.50x | 1.60x | 3 | <= 1.30x | MISSED | a\\|b |"
    assert [r.name for r in t.missed()] == ["verify / floor"]


def test_interleave_rotates_the_order() -> None:
    seen: list[str] = []
    interleave(3, lambda: seen.append("a"), lambda: seen.append("b"), lambda: seen.append("c"))
    assert "".join(seen) == "abcbcacab"


def test_route_batch() -> None:
    lines = route_batch(70_000).splitlines()
    assert len(lines) == 70_000
    assert lines[0] == "route add blackhole 10.0.0.0/32 proto 99"
    assert lines[-1] == "route add blackhole 10.1.17.111/32 proto 99"  # 69999 = 1*65536+17*256+111
    assert len(set(lines)) == 70_000


def test_parse_args_rejects_bad_values(capsys: pytest.CaptureFixture[str]) -> None:
    opts = parse_args(["--only", "1,7", "--parser-sizes", "10,20", "--runs", "4"])
    assert opts.only == frozenset({"1", "7"}) and opts.parser_sizes == (10, 20)
    assert opts.runs == 4
    for bad in (["--only", "10"], ["--fleet", "1"], ["--runs", "0"], ["--parser-sizes", "x"]):
        with pytest.raises(SystemExit) as exc:
            parse_args(bad)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("python -m bench: error:")


def test_item_files_exist() -> None:
    """The file item 7 copies to the router, found from bench/items/ (two folders up); uci is
    the lab router's own (OpenWrt's /sbin/uci), no stand-in is copied."""
    import bench.items.health_cpu as item_7  # noqa: PLC0415

    assert item_7.HEALTH_SCRIPT.is_file()
    assert not hasattr(item_7, "UCI_STANDIN")


def test_item_14_reads_the_fib_nexthops() -> None:
    """Item 14 stops its clock on the selected route's installed next hops only."""
    from bench.items.node_add import fib_nexthops  # noqa: PLC0415

    route = {
        "203.0.113.30/32": [
            {
                "prefix": "203.0.113.30/32",
                "selected": True,
                "nexthops": [
                    {"ip": "198.51.100.5", "fib": True, "active": True},
                    {"ip": "198.51.100.6", "active": True},  # not (yet) in the FIB
                    {"ip": "198.51.100.7", "fib": True},
                ],
            },
            {"selected": False, "nexthops": [{"ip": "198.51.100.9", "fib": True}]},
        ]
    }
    assert fib_nexthops(json.dumps(route), "203.0.113.30/32") == {"198.51.100.5", "198.51.100.7"}
    assert fib_nexthops("", "203.0.113.30/32") == frozenset()
    assert fib_nexthops("{}", "203.0.113.30/32") == frozenset()
    assert parse_args(["--only", "14"]).only == frozenset({"14"})


def test_item_14_line_log_times_lines_as_they_come() -> None:
    from bench.harness import BenchError  # noqa: PLC0415
    from bench.items.node_add import LineLog  # noqa: PLC0415

    read, write = os.pipe()
    with os.fdopen(read) as rd, os.fdopen(write, "w") as wr:
        log = LineLog(rd)
        wr.write("2 nodes speak: node1 node2\n")
        wr.flush()
        t1 = log.wait("nodes speak", after=0.0, timeout=10)
        wr.write("node node3 (198.51.100.7) joins: Ready\nrtr: applied 2 config lines\n")
        wr.flush()
        t2 = log.wait("applied", after=t1, timeout=10)
        assert t2 >= t1
        assert log.wait("joins", after=t1, timeout=10) <= t2
        with pytest.raises(BenchError, match="never logged 'leaves'"):
            log.wait("leaves", after=0.0, timeout=0.2)
    log.join()
    assert [ln for _, ln in log.lines][-1] == "rtr: applied 2 config lines"


def test_item_14_reads_gobgp_neighbor_state() -> None:
    """``gobgp neighbor`` as GoBGP 3.10 prints it in the lab (never up, then Established)."""
    from bench.items.node_add import gobgp_state  # noqa: PLC0415

    table = (
        "Peer            AS  Up/Down State       |#Received  Accepted\n"
        "198.51.100.2 65000    never Active      |        0         0\n"
        "198.51.100.3 65000 00:00:01 Establ      |        0         0\n"
    )
    assert gobgp_state(table, "198.51.100.2") == "active"
    assert gobgp_state(table, "198.51.100.3") == "establ"
    assert gobgp_state(table, "198.51.100.4") == "?"
    assert gobgp_state("", "198.51.100.2") == "?"
