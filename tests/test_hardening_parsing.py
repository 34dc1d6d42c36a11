"""Hardening of the router-output boundary (issue 12, items 4, 5 and 14).

Hostile router output must give a parse result or a ``ParseError`` (exit 6), never
another exception, and never take super-linear time. The "does not hang" checks run
the parser in a subprocess with a generous bound: they guard against quadratic
regexes (a 1 MB line used to take hours), not a speed target.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from routerctl import parsing
from routerctl.parsing import detect

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
