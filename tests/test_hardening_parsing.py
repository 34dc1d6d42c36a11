"""Hardening of the router-output boundary (issue 12, items 4, 5 and 14).

Hostile router output must give a parse result or a ``ParseError`` (exit 6), never
another exception, and never take super-linear time. The "does not hang" checks run
the parser in a subprocess with a generous bound: they guard against quadratic
regexes (a 1 MB line used to take hours), not a speed target.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerctl import parsing
from routerctl.errors import ExitCode, ParseError
from routerctl.parsing import detect, json_path

ONE_MB = 1_000_000
HANG_BOUND = 30  # seconds for a 1 MB input; linear code needs well under one


def _finishes(code: str) -> None:
    """Run ``code`` (with the parsing package imported) in a fresh interpreter; it must end."""
    program = "from routerctl import parsing\nfrom routerctl.parsing import detect\n" + code
    try:
        proc = subprocess.run(
            [sys.executable, "-c", program],
            check=False,
            capture_output=True,
            text=True,
            timeout=HANG_BOUND,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {HANG_BOUND}s (super-linear regex?):\n{code}")
    assert proc.returncode == 0, proc.stderr


# --- item 4: the vtysh prompt regex ---------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "'#' + ' ' * N + 'x'",  # prompt, a run of blanks, not a command
        "'r1# sh ' + ' ' * N + 'y'",  # the lazy command group against the trailing blanks
        "'r1# vtysh -c \"show ' + '\\t' * N + 'x\"x'",
        "'a#' * (N // 2) + ' x'",
        "'D>' + '\\t' * N + ' 10.0.0.0/8'",
    ],
)
def test_prompt_detection_is_linear_on_a_1mb_line(line: str) -> None:
    _finishes(
        textwrap.dedent(
            f"""
            N = {ONE_MB}
            text = {line} + "\\nBGP router identifier 1.1.1.1, local AS number 65000\\n"
            detect.prepare(text)
            detect.detect_command(text)
            detect.is_json(text)
            """
        )
    )


def test_prompt_detection_unchanged() -> None:
    """The linear regex reads the same prompts and echoes as before."""
    cases = {
        "OpenWrt# show ip bgp summary": "show ip bgp summary",
        "r1(config)# do show ipv6 route": "show ipv6 route",
        'root@host:/var/log/frr# vtysh -c "show ip route table 10012"': (
            "show ip route table 10012"
        ),
        "eva# sh ip bgp summ   ": "show ip bgp summary",
        "eva#  show ip route  ": "show ip route",
    }
    for line, command in cases.items():
        assert detect.prepare(line + "\nx\n").command == command, line
    for line in ("eva#", "eva#   ", "r1(config)#", "root@host:~$"):
        assert detect.prepare(line + "\nx\n").lines == ["x"], line
        assert detect.prepare("x\n" + line).lines == ["x"], line


# --- the same class in the templates and the parsing API ----------------------------------

_FRR_DESC_HEAD = (
    "BGP router identifier 198.51.100.1, local AS number 64512 vrf-id 0\n\n"
    "Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down"
    " State/PfxRcd   PfxSnt Desc\n"
)


@pytest.mark.parametrize(
    ("text", "command", "suite"),
    [
        # an ECMP continuation line that is all blanks (\s+ status \s+ competed)
        ("'Codes: K - kernel\\n' + ' ' * N + 'x'", "show ip route", "frr"),
        ("'Codes: K - kernel\\n' + ' ' * N + 'x'", "show ip route", "quagga"),
        ("' ' * N + '#'", "show ip route", None),
        # "% BGP instance not found" detection (\s*%?\s* competed)
        ("' ' * N + 'x'", "show ip bgp summary", None),
        ("'\\t' * N + 'x'", "show ip bgp summary", "quagga"),
        # a description with a long inner blank run (lazy (\S.*?) against \s*$)
        (
            "HEAD + '198.51.100.11 4 64513 4 3 0 0 0 00:00:02 2 0 a' + ' ' * N + 'b!'",
            "show ip bgp summary",
            "frr",
        ),
    ],
)
def test_parse_is_linear_on_a_1mb_line(text: str, command: str, suite: str | None) -> None:
    _finishes(
        textwrap.dedent(
            f"""
            from routerctl.errors import ParseError
            N = {ONE_MB}
            HEAD = {_FRR_DESC_HEAD!r}
            try:
                parsing.parse({text}, command={command!r}, suite={suite!r})
            except ParseError:
                pass
            """
        )
    )


def test_description_with_inner_blanks_unchanged() -> None:
    text = _FRR_DESC_HEAD + (
        "198.51.100.11 4 64513 4 3 0 0 0 00:00:02 2 0 k8s  node  one   \n"
        "198.51.100.12 4 64513 4 3 0 0 0 00:00:02 1 0 x\n"
    )
    summary = parsing.parse_bgp_summary(text, suite="frr")
    assert [n.description for n in summary.neighbors] == ["k8s  node  one", "x"]


def test_continuation_line_status_unchanged() -> None:
    text = (
        "B>* 203.0.113.10/32 [20/0] via 198.51.100.5, br-lan, weight 1, 00:00:26\n"
        "  *                      via 198.51.100.6, br-lan, weight 1, 00:00:26\n"
        "                         via 198.51.100.7, br-lan inactive, weight 1, 00:00:26\n"
    )
    (route,) = parsing.parse_routes(text, suite="frr", command="show ip route")
    assert [nh.fib for nh in route.nexthops] == [True, True, False]
    assert [str(nh.address) for nh in route.nexthops] == [
        "198.51.100.5",
        "198.51.100.6",
        "198.51.100.7",
    ]


# --- item 5: odd router output is a ParseError naming the field ---------------------------

_SUMMARY_HEAD = (
    "BGP router identifier 1.1.1.1, local AS number 65000\n\n"
    "Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n"
)
_PEER = '{"routerId":"1.1.1.1","as":65000,"peers":{"10.0.0.1":{"state":"Established",%s}}}'
_ROUTE = '{"1.0.0.0/8":[{"prefix":"1.0.0.0/8","protocol":"bgp",%s}]}'


@pytest.mark.parametrize(
    ("text", "command", "message"),
    [
        ('{"routerId":"1.1.1.1","as":"abc","peers":{}}', "json", "summary.as: 'abc' is not an AS"),
        ('{"routerId":"1.1.1.1","as":-5,"peers":{}}', "json", "summary.as: -5 is not an AS"),
        ('{"routerId":"1.1.1.1","as":0,"peers":{}}', "json", "summary.as: 0 is not an AS"),
        ('{"routerId":"1.1.1.1","as":true,"peers":{}}', "json", "summary.as: True is not an AS"),
        (f'{{"routerId":"1.1.1.1","as":{2**80},"peers":{{}}}}', "json", "summary.as: 12089"),
        ('{"routerId":"1.1.1.1","as":"70000.1","peers":{}}', "json", "is not an AS number"),
        ('{"routerId":1,"as":65000}', "json", "summary.routerId: expected a string"),
        ('{"routerId":"1.1.1.1","as":1,"peers":[]}', "json", "summary.peers: expected an object"),
        ('{"ipv4Unicast":[1]}', "json", "ipv4Unicast: expected an object, got an array"),
        (_PEER % '"remoteAs":-1', "json", "peers.10.0.0.1.remoteAs: -1 is not an AS"),
        (_PEER % '"remoteAs":1,"msgRcvd":-1', "json", "10.0.0.1.msgRcvd: -1 is not a count"),
        (_PEER % f'"remoteAs":1,"pfxRcd":{2**80}', "json", "10.0.0.1.pfxRcd: 1208925"),
        (_PEER % '"remoteAs":1,"pfxRcd":1e400', "json", "10.0.0.1.pfxRcd: inf is not a count"),
        (_PEER % '"remoteAs":1,"inq":1.5', "json", "10.0.0.1.inq: 1.5 is not a count"),
        (_PEER % '"remoteAs":1,"desc":["x"]', "json", "10.0.0.1.desc: expected a string"),
        ('{"10.0.0.1":{"bgpState":5,"remoteAs":1}}', "neighbors", "bgpState: unknown BGP state 5"),
        (
            '{"10.0.0.1":{"bgpState":"Idle","remoteAs":1,"addressFamilyInfo":{"x":5}}}',
            "neighbors",
            "neighbors.10.0.0.1.addressFamilyInfo.x: expected an object",
        ),
        ('{"1.0.0.0/8":[5]}', "route json", "1.0.0.0/8[0]: expected an object"),
        (_ROUTE % '"nexthops":{"a":1}', "route json", "nexthops: expected an array"),
        (_ROUTE % '"nexthops":[{"ip":"x"}]', "route json", "nexthops[0].ip: 'x' is not an address"),
        (_ROUTE % '"uptime":5', "route json", "uptime: unknown uptime format 5"),
        (_ROUTE % '"distance":256', "route json", "distance: 256 is not a count"),
        ('{"1.0.0.0/8":[{"prefix":"zz","protocol":"bgp"}]}', "route json", "'zz' is not a prefix"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "json", "nested too deeply"),
        ('{"a":' * 200000 + "1" + "}" * 200000, "json", "nested too deeply"),
        ('{"x":' + "1" * 5000 + "}", "route json", "a number too long to read"),
        ("B>* 1aaa.0.0.0/8 [20/0] via 10.0.0.1, eth0, 00:00:01", "route", "'1aaa.0.0.0/8': not a"),
        ("B>* 1.0.0.0/8 [2000/0] via 10.0.0.1, eth0, 00:00:01", "route", "distance: '2000' is"),
        ("B>* 1.0.0.0/8 [20/0] via 10.0.0.1aa, eth0, 00:00:01", "route", "'10.0.0.1aa' is not an"),
        ("B>* 1.0.0.0/8 [20/0] via 1.1.1.1, e, 9999999999d00h00m", "route", "unknown uptime"),
        (
            _SUMMARY_HEAD + "10.0.0.1 4 " + "9" * 400 + " 1 0 0 0 0 00:00:01 1",
            "summary",
            "neighbor '10.0.0.1': AS: '999",
        ),
        (
            _SUMMARY_HEAD + "10.0.0.1 4 65001 1 0 0 0 0 00:00:01 " + "9" * 400,
            "summary",
            "neighbor '10.0.0.1': State/PfxRcd: '999",
        ),
        (
            _SUMMARY_HEAD + "10.0.0.1 4 65001 " + "9" * 5000 + " 0 0 0 0 00:00:01 1",
            "summary",
            "neighbor '10.0.0.1': MsgRcvd: '999",
        ),
        (_SUMMARY_HEAD + "10.0.0.1 4 4294967296 1 0 0 0 0 00:00:01 1", "summary", "AS: '42949"),
    ],
)
def test_odd_output_is_a_parse_error_naming_the_field(
    text: str, command: str, message: str
) -> None:
    commands = {
        "json": "show bgp summary json",
        "neighbors": "show bgp neighbors json",
        "route json": "show ip route json",
        "route": "show ip route",
        "summary": "show ip bgp summary",
    }
    with pytest.raises(ParseError) as info:
        parsing.parse(text, command=commands[command])
    line = info.value.one_line()
    assert message in line
    assert len(line) < 400  # one readable line, not the 5000-digit value


def test_limits_still_accept_the_extremes() -> None:
    peer = _PEER % f'"remoteAs":0,"pfxRcd":{2**64 - 1}'
    summary = parsing.parse_bgp_summary(peer.replace("65000", "4294967295"))
    assert summary.local_as == 4294967295
    assert summary.neighbors[0].remote_as == 0  # FRR: AS not known yet
    assert summary.neighbors[0].prefixes_received == 2**64 - 1
    text = _SUMMARY_HEAD + "10.0.0.1 4 65535.65535 1 0 0 0 0 00:00:01 1\n"
    assert parsing.parse_bgp_summary(text).neighbors[0].remote_as == 4294967295


def test_the_boundary_turns_anything_unforeseen_into_a_parse_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The net under the checks: an exception nobody foresaw leaves as ParseError (exit 6)
    naming the innermost field path being read."""

    def broken(_name: str) -> None:
        raise AttributeError("'NoneType' object has no attribute 'x'")

    monkeypatch.setattr(json_path, "parse_neighbor_name", broken)
    with pytest.raises(ParseError) as info:
        parsing.parse(_PEER % '"remoteAs":1', command="show bgp summary json")
    assert info.value.exit_code == ExitCode.PARSE
    assert "at summary: AttributeError:" in info.value.one_line()
    assert isinstance(info.value.__cause__, AttributeError)

    def deep(_name: str) -> None:
        raise RecursionError

    monkeypatch.setattr(json_path, "parse_neighbor_name", deep)
    with pytest.raises(ParseError, match="nested too deeply"):
        parsing.parse(_PEER % '"remoteAs":1', command="show bgp summary json")


# --- property-based: generated hostile router output --------------------------------------
# Every boundary test: seeded (derandomize), bounded (max_examples, a per-example deadline),
# a few seconds each. Inputs tried are reported by `pytest --hypothesis-show-statistics`.

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
_TEXT_LINES = sorted(
    {
        line
        for raw in FIXTURES.glob("*/*/*.raw")
        if "json" not in raw.parent.name
        for line in raw.read_text(encoding="utf-8").splitlines()
    }
)
_JSON_DOCS = [
    json.loads("\n".join(detect.prepare(raw.read_text(encoding="utf-8")).lines))
    for raw in sorted(FIXTURES.glob("frr/*json/*.raw"))
    if detect.is_json(raw.read_text(encoding="utf-8"))
]
_COMMANDS = [
    None,
    "show ip bgp summary",
    "show bgp vrf all summary",
    "show ip route",
    "show ipv6 route",
    "show bgp summary json",
    "show ip route json",
    "show bgp neighbors json",
]
_HOSTILE_CHARS = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Z", "Cc"))
_NOISE = st.one_of(
    st.sampled_from(["a", "ff", "9", "0", ".", "/", "99999999999999999999999"]),  # in a value
    st.text(_HOSTILE_CHARS, max_size=40),
    st.sampled_from(["\t", "\r", "\r\n", "\x1b[31m", "\x00", " " * 500, "9" * 400, "#", "> "]),
    st.builds(
        lambda c, n: c * n,
        st.sampled_from([" ", "\t", "a", "1", ":", "(", "9"]),
        st.sampled_from([1, 2, 25, 400, 5000, 30000]),
    ),
)


_TEXT_FIXTURES = [
    raw.read_text(encoding="utf-8").splitlines()
    for raw in sorted(FIXTURES.glob("*/*/*.raw"))
    if "json" not in raw.parent.name
]


def _noisy(draw: st.DrawFn, line: str) -> str:
    """``line`` with noise at its start, at a token boundary, or anywhere."""
    cuts = [0, *(i for i, c in enumerate(line) if c == " "), len(line)]
    cut = draw(st.one_of(st.sampled_from(cuts), st.integers(0, len(line))))
    return line[:cut] + draw(_NOISE) + line[cut:]


@st.composite
def _router_text(draw: st.DrawFn) -> str:
    """A real output with one to three lines spliced with noise (so the templates get far
    enough to build records), or real lines of any outputs, cut and mixed."""
    if draw(st.integers(0, 3)):
        lines = list(draw(st.sampled_from(_TEXT_FIXTURES))) or [""]
        for _ in range(draw(st.integers(1, 3))):
            i = draw(st.integers(0, len(lines) - 1))
            lines[i] = _noisy(draw, lines[i])
    else:
        lines = [
            _noisy(draw, line) if draw(st.booleans()) else line
            for line in draw(st.lists(st.sampled_from(_TEXT_LINES), min_size=1, max_size=12))
        ]
    return draw(st.sampled_from(["\n", "\r\n"])).join(lines)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False),
    st.text(_HOSTILE_CHARS, max_size=20),
    st.sampled_from(["Established", "Idle", "1.1.1.1", "10.0.0.0/8", "1.10", "00:01:02", ""]),
)
_JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


def _replace_leaf(doc: object, path: list[int], value: object) -> object:
    """``doc`` with the node chosen by ``path`` (indices into children) replaced."""
    if not path or not isinstance(doc, dict | list) or not doc:
        return value
    keys = list(doc) if isinstance(doc, dict) else list(range(len(doc)))
    key = keys[path[0] % len(keys)]
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[key] = _replace_leaf(doc[key], path[1:], value)  # type: ignore[index]
    return copy


@st.composite
def _router_json(draw: st.DrawFn) -> str:
    """A real FRR JSON document with one node replaced by a generated value; or a
    generated document; or a real one cut short or deeply nested."""
    how = draw(st.sampled_from(["mutate", "mutate", "generate", "cut", "nest"]))
    doc = draw(st.sampled_from(_JSON_DOCS))
    if how == "mutate":
        path = draw(st.lists(st.integers(0, 50), min_size=1, max_size=6))
        return json.dumps(_replace_leaf(doc, path, draw(_JSON_VALUES)))
    if how == "generate":
        return json.dumps(draw(st.dictionaries(st.sampled_from(_JSON_KEYS), _JSON_VALUES)))
    text = json.dumps(doc)
    if how == "cut":
        return text[: draw(st.integers(1, len(text)))]
    depth = draw(st.integers(30, 3000))
    return '{"ipv4Unicast":' * depth + text + "}" * depth


_JSON_KEYS = sorted(
    {k for doc in _JSON_DOCS for k in json.dumps(doc).split('"')[1::2] if k.isidentifier()}
)[:200]

_SETTINGS = settings(
    database=None,
    derandomize=True,
    max_examples=400,
    deadline=None,  # no timed assertions: a loaded machine made this flaky (the caps are tested by value)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _parse_or_parse_error(text: str, command: str | None, suite: str | None) -> None:
    try:
        parsing.parse(text, command=command, suite=suite)
    except ParseError as exc:
        assert exc.exit_code == ExitCode.PARSE
        assert "\n" not in exc.one_line()


@_SETTINGS
@given(_router_text(), st.sampled_from(_COMMANDS), st.sampled_from([None, "frr", "quagga"]))
def test_property_text_output_parses_or_is_a_parse_error(
    text: str, command: str | None, suite: str | None
) -> None:
    _parse_or_parse_error(text, command, suite)


@_SETTINGS
@given(
    _router_json(),
    st.sampled_from(
        ["show bgp summary json", "show ip route json", "show bgp neighbors json", None]
    ),
)
def test_property_json_output_parses_or_is_a_parse_error(text: str, command: str | None) -> None:
    _parse_or_parse_error(text, command, None)
