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
