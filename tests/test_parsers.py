"""Parsers: every template has fixtures, every fixture parses to its .yml, text == JSON."""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from routerctl.errors import ExitCode, ParseError
from routerctl.model import BgpNeighbor, BgpSummary, Route, SessionState
from routerctl.parsing import detect_suite, parse, parse_bgp_summaries, parse_routes
from routerctl.parsing.detect import normalise_command
from routerctl.parsing.text import index

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
PARSERS = ROOT / "parsers"


@dataclass(frozen=True)
class Fixture:
    raw: Path
    suite: str  # folder name: frr | quagga | edgeos (a foreign format that must fail)
    folder: str  # command folder, e.g. show_ip_bgp_summary_json
    command: str
    expected: Any  # parsed_sample, or None for an error case
    error: str | None

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.folder}/{self.raw.stem}"

    @property
    def text(self) -> str:
        return self.raw.read_text(encoding="utf-8")


def load_fixtures() -> list[Fixture]:
    out = []
    for raw in sorted(FIXTURES.glob("*/*/*.raw")):
        spec = yaml.safe_load(raw.with_suffix(".yml").read_text(encoding="utf-8"))
        out.append(
            Fixture(
                raw=raw,
                suite=raw.parent.parent.name,
                folder=raw.parent.name,
                command=spec["command"],
                expected=spec.get("parsed_sample"),
                error=spec.get("error"),
            )
        )
    return out


def compact(obj: Any) -> Any:
    """The model as plain data, leaving out fields that hold their default value."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if f.default is not dataclasses.MISSING and value == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
                continue
            out[f.name] = compact(value)
        return out
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(obj)
    if isinstance(obj, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): compact(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [compact(v) for v in obj]
    return obj


ALL = load_fixtures()
GOOD = [f for f in ALL if f.error is None]
BAD = [f for f in ALL if f.error is not None]


def _suite(f: Fixture) -> str | None:
    return f.suite if f.suite in ("frr", "quagga") else None


def test_fixture_set_is_not_empty() -> None:
    assert len(GOOD) >= 60
    assert {f.suite for f in ALL} == {"frr", "quagga", "edgeos"}


@pytest.mark.parametrize("fixture", GOOD, ids=lambda f: f.id)
def test_fixture_parses_to_its_yml(fixture: Fixture) -> None:
    parsed = parse(fixture.text, command=fixture.command, suite=_suite(fixture))
    assert compact(parsed) == fixture.expected


@pytest.mark.parametrize("fixture", GOOD, ids=lambda f: f.id)
def test_fixture_parses_with_everything_detected(fixture: Fixture) -> None:
    """No --suite, no --command: detection must find the same answer."""
    first = fixture.text.lstrip()
    if not first or first.replace("\n", "").replace(" ", "") == "{}":
        pytest.skip("empty output (no routes, no BGP): only --command can say what it is")
    if first.startswith("Neighbor"):
        pytest.skip("a table fragment without header or echo: the command is ambiguous")
    if "ipv6 unicast" in fixture.command and not first.startswith(("IPv6", "r1", "router#")):
        pytest.skip("flat `show bgp ipv6 unicast summary` never prints its AFI: pass --command")
    assert compact(parse(fixture.text)) == compact(
        parse(fixture.text, command=fixture.command, suite=_suite(fixture))
    )


@pytest.mark.parametrize("fixture", BAD, ids=lambda f: f.id)
def test_bad_fixture_fails_with_its_error(fixture: Fixture) -> None:
    with pytest.raises(ParseError) as info:
        parse(fixture.text, command=fixture.command, suite=_suite(fixture))
    assert info.value.exit_code == ExitCode.PARSE
    assert fixture.error in info.value.one_line()


def test_every_template_has_fixtures() -> None:
    used: Counter[str] = Counter()
    for f in GOOD:
        if f.folder.endswith("_json"):
            continue
        for entry in index():
            if entry.suite == f.suite and entry.command.fullmatch(f.command):
                used[entry.template] += 1
                break
    templates = {p.name for p in PARSERS.glob("*.textfsm")}
    assert templates == {e.template for e in index()}
    for template in templates:
        assert used[template] >= 3, f"{template} has {used[template]} fixtures"


def test_every_template_errors_on_unknown_lines_and_has_no_eof_record() -> None:
    for path in PARSERS.glob("*.textfsm"):
        states = path.read_text().split("\n\n")
        rule_blocks = [b for b in states if b.strip() and not b.lstrip().startswith(("Value", "#"))]
        for block in rule_blocks:
            lines = [ln for ln in block.strip().splitlines() if not ln.startswith("#")]
            if lines == ["EOF"]:
                continue
            assert lines[-1].strip() == "^. -> Error", f"{path.name}: state {lines[0]!r}"
        for line in path.read_text().splitlines():
            if line.startswith("Value "):
                words = line.split("(")[0].split()[1:]
                name = next(w for w in words if w not in ("Filldown", "Required", "List", "Key"))
                assert name == name.upper(), f"{path.name}: {name}"


def _pairs() -> list[tuple[Fixture, Fixture]]:
    by_key = {(f.suite, f.folder, f.raw.stem): f for f in GOOD}
    out = []
    for (suite, folder, stem), f in sorted(by_key.items()):
        if folder.endswith("_json") and (suite, folder[:-5], stem) in by_key:
            out.append((by_key[(suite, folder[:-5], stem)], f))
    return out


PAIRS = _pairs()


def _text_equivalent(obj: object) -> object:
    """JSON carries the full description; FRR's text table cuts it to 20 characters."""
    if isinstance(obj, list):
        return [_text_equivalent(o) for o in obj]
    if isinstance(obj, BgpSummary):
        return dataclasses.replace(obj, neighbors=tuple(_cut(n) for n in obj.neighbors))
    return obj


def _cut(n: BgpNeighbor) -> BgpNeighbor:
    """FRR's bgp_peer_description_stripped(): longer than 20, cut at the last word break."""
    desc = n.description
    if desc and len(desc) > 20:
        last_space = 0
        for i in range(1, 20):
            if desc[i] == " " and last_space != i - 1:
                last_space = i
        desc = desc[:last_space] or None
    return dataclasses.replace(n, description=desc)


def test_there_are_text_json_pairs() -> None:
    assert len(PAIRS) >= 20


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p[1].id)
def test_text_and_json_give_equal_models(pair: tuple[Fixture, Fixture]) -> None:
    text_fixture, json_fixture = pair
    from_text = parse(text_fixture.text, command=text_fixture.command, suite="frr")
    from_json = parse(json_fixture.text, command=json_fixture.command)
    assert from_text == _text_equivalent(from_json)
    if text_fixture.text.strip():  # empty (no routes) on both sides is the one exception
        assert from_text  # an empty list on both sides would prove nothing


def test_description_cut_is_the_only_pair_difference_allowed() -> None:
    f = next(f for f in GOOD if f.id == "frr/show_ip_bgp_summary_json/frr84_description")
    (summary,) = parse_bgp_summaries(f.text)
    assert summary.neighbors[0].description == "k8s node one (rack 2)"


# --- behaviour the fixtures do not show on their own -----------------------------------------


def test_seed_bgp_summary_values() -> None:
    raw = FIXTURES / "quagga/show_ip_bgp_summary/seed_openwrt_peers_active_never.raw"
    (s,) = parse_bgp_summaries(raw.read_text())
    assert s.local_as == 65000
    assert str(s.router_id) == "192.168.1.2"
    assert [(str(n.address), n.state, n.uptime) for n in s.neighbors] == [
        ("192.168.1.5", SessionState.ACTIVE, None),
        ("192.168.1.6", SessionState.ACTIVE, None),
    ]


def test_ecmp_route_has_both_nodes_in_fib() -> None:
    raw = FIXTURES / "frr/show_ip_route/frr84_established_ecmp.raw"
    routes = {str(r.prefix): r for r in parse_routes(raw.read_text())}
    ecmp: Route = routes["203.0.113.10/32"]
    assert {str(a) for a in ecmp.fib_nexthop_addresses} == {"198.51.100.11", "198.51.100.12"}
    assert ecmp.protocol == "bgp" and ecmp.selected and ecmp.distance == 20


GARBAGE = "Welcome to OpenWrt\nthis is not a router table\n"


def test_garbage_names_template_line_number_and_line() -> None:
    with pytest.raises(ParseError) as info:
        parse(GARBAGE, command="show ip route", suite="frr")
    msg = info.value.one_line()
    assert "frr_show_ip_route.textfsm" in msg
    assert "line 1" in msg
    assert "Welcome to OpenWrt" in msg


def test_error_line_number_counts_stripped_echo_lines() -> None:
    text = "OpenWrt# show ip route\nC>* 10.0.0.0/8 is directly connected, lo\nbogus line\n"
    with pytest.raises(ParseError) as info:
        parse(text, suite="quagga")
    assert "line 3" in info.value.one_line()
    assert "bogus line" in info.value.one_line()


def test_undetectable_command_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match="cannot tell which command"):
        parse(GARBAGE)


def test_unknown_suite_is_a_clear_error() -> None:
    with pytest.raises(ParseError, match="unknown suite"):
        parse("% BGP instance not found\n", command="show ip bgp summary", suite="bird")


def test_truncated_json_names_line() -> None:
    with pytest.raises(ParseError, match="line 3"):
        parse('{\n  "routerId":"192.0.2.1",\n  "as":\n', command="show bgp summary json")


def test_empty_output_is_no_routes_but_no_summary() -> None:
    assert parse_routes("\n", command="show ip route 203.0.113.0/24 longer-prefixes") == []
    with pytest.raises(ParseError, match="empty"):
        parse("\n\n", command="show ip bgp summary")


def test_no_instance_variants() -> None:
    for text in ("% BGP instance not found\n", "No BGP process is configured\n", "{}\n"):
        (s,) = parse_bgp_summaries(text)
        assert s.instance_missing, text


def test_quagga_show_ipv6_bgp_summary_takes_afi_from_the_command() -> None:
    raw = FIXTURES / "quagga/show_ip_bgp_summary/vyos11_max_multipaths_line_weeks_uptime.raw"
    text = raw.read_text().replace("IPv4 Unicast - max multipaths: ebgp 1 ibgp 1\n", "")
    (s,) = parse_bgp_summaries(text, suite="quagga", command="show ipv6 bgp summary")
    assert s.afi == "ipv6"
    assert s.neighbors[0].uptime == 3 * 7 * 86400


def test_quagga_wrapped_long_ipv6_neighbor() -> None:
    """Quagga wraps a neighbor longer than 15 characters onto its own line (layout of the
    cumulus_wrapped_long_neighbor fixture, with an IPv6 address as the long name)."""
    raw = FIXTURES / "quagga/show_ip_bgp_summary/cumulus_wrapped_long_neighbor_idle_admin.raw"
    text = raw.read_text().replace("leaf-11-really-long-name(swp1)", "2001:db8:64::1234")
    (s,) = parse_bgp_summaries(text, suite="quagga")
    first = s.neighbors[0]
    assert str(first.address) == "2001:db8:64::1234"
    assert (first.remote_as, first.state, first.prefixes_received) == (
        65101,
        SessionState.ESTABLISHED,
        10,
    )
    assert first.uptime == 14 * 60 + 15
    assert s.neighbors[1].state is SessionState.ADMIN_DOWN


def test_queued_and_offload_status_characters() -> None:
    """No sample has a queued route: the FRR 10.4 rejected-ECMP sample with 'q' for 'r'."""
    raw = FIXTURES / "frr/show_ipv6_route/frr104_rejected_ecmp_vrf_header.raw"
    text = raw.read_text().replace("S>r ", "S>q ").replace("  r   ", "  q   ")
    route = parse_routes(text)[0]
    assert (route.queued, route.rejected, route.fib) == (True, False, False)
    assert len(route.nexthops) == 3
    offloaded = parse_routes(raw.read_text().replace("C>* fe80", "C>o fe80"))[1]
    assert offloaded.fib and not offloaded.nexthops[0].fib


@pytest.mark.parametrize(
    ("path", "suite"),
    [
        ("quagga/show_ip_bgp_summary/seed_openwrt_peers_active_never.raw", "quagga"),
        ("quagga/show_ip_route/seed_openwrt_bgp_host_routes.raw", "quagga"),
        ("quagga/show_ipv6_route/quagga10_config_echo_distance_4.raw", "quagga"),
        ("quagga/show_ip_bgp_summary/vyos11_max_multipaths_line_weeks_uptime.raw", "quagga"),
        ("frr/show_ip_bgp_summary/lab_established_ecmp.raw", "frr"),
        ("frr/show_ip_route/lab_established_ecmp.raw", "frr"),
        ("frr/show_ip_route_json/lab_established_ecmp.raw", "frr"),
    ],
)
def test_detect_suite(path: str, suite: str) -> None:
    assert detect_suite((FIXTURES / path).read_text()) == suite


def test_json_of_another_command_is_an_error_not_an_empty_result() -> None:
    routes_json = (FIXTURES / "frr/show_ip_route_json/lab_established_ecmp.raw").read_text()
    summary_json = (FIXTURES / "frr/show_ip_bgp_summary_json/lab_established_ecmp.raw").read_text()
    with pytest.raises(ParseError, match="no BGP summary"):
        parse(routes_json, command="show ip bgp summary json")
    with pytest.raises(ParseError, match="not a list of route entries"):
        parse(summary_json, command="show ip route json")
    with pytest.raises(ParseError, match="missing key 'bgpState'"):
        parse(summary_json, command="show bgp neighbors json")


TEXT_GOOD = [f for f in GOOD if not f.folder.endswith("_json") and len(f.text.splitlines()) >= 3]


@pytest.mark.parametrize("fixture", TEXT_GOOD, ids=lambda f: f.id)
def test_a_foreign_line_anywhere_fails_with_its_line_number(fixture: Fixture) -> None:
    lines = fixture.text.splitlines()
    body = [i for i, ln in enumerate(lines) if ln.strip() and not ln.rstrip().endswith("#")]
    at = body[len(body) // 2]  # before the middle line of the output
    lines.insert(at, "garbage ~~~ 42")
    with pytest.raises(ParseError) as info:
        parse("\n".join(lines), command=fixture.command, suite=_suite(fixture))
    assert f"line {at + 1}: cannot parse 'garbage ~~~ 42'" in info.value.one_line()


def test_command_abbreviations_are_expanded() -> None:
    assert normalise_command("sh ip ro") == "show ip route"
    assert normalise_command("show bgp vrf all ipv4 uni summ") == (
        "show bgp vrf all ipv4 unicast summary"
    )
    assert normalise_command("Show  IP BGP Summary | include 192") == "show ip bgp summary"
    assert normalise_command("show ip route 203.0.113.0/24 longer") == (
        "show ip route 203.0.113.0/24 longer-prefixes"
    )


def test_next_hop_flags_in_frr_source_order() -> None:
    """Flags FRR prints in show_route_nexthop_helper() order that no sample shows."""
    text = (
        "B>* 203.0.113.7/32 [20/0] via 198.51.100.5, br-lan (duplicate nexthop removed),"
        " weight 1, 00:00:05\n"
        "  *                      via 198.51.100.6, br-lan linkdown, weight 1, 00:00:05\n"
        "  *                      via 198.51.100.7, br-lan, rmapsrc 198.51.100.1, 00:00:05\n"
        "S>* 203.0.113.8/32 [1/0] unreachable (ICMP admin-prohibited), weight 1, 00:00:05\n"
        "S>* 203.0.113.9/32 [1/0] unreachable, weight 1, 00:00:05\n"
    )
    first, admin, bare = parse_routes(text, suite="frr", command="show ip route")
    assert [str(nh.address) for nh in first.nexthops] == [
        "198.51.100.5",
        "198.51.100.6",
        "198.51.100.7",
    ]
    assert {nh.interface for nh in first.nexthops} == {"br-lan"}
    assert (admin.nexthops[0].unreachable, admin.nexthops[0].blackhole) == (True, False)
    assert bare.nexthops[0].unreachable and bare.nexthops[0].weight == 1
