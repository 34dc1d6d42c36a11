"""FastFSM (routerctl/parsing/fsm.py) gives TextFSM's own rows and errors.

Every template in parsers/ runs over every text fixture (matching or not, so the Error
paths are compared too), and small templates exercise each option and operator the
compiled loop implements; templates it does not implement take TextFSM's loop.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import textfsm
from hypothesis import given, settings
from hypothesis import strategies as st

from routerctl.parsing.fsm import FastFSM

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "parsers").glob("*.textfsm"))
TEXTS = sorted(p for p in (ROOT / "fixtures").glob("*/*/*.raw") if "json" not in p.parent.name)


class _StockCounting(textfsm.TextFSM):  # type: ignore[misc]
    """TextFSM's own loop, counting the lines it consumed."""

    def __init__(self, template: io.StringIO) -> None:
        super().__init__(template)
        self.lines_seen = 0

    def _CheckLine(self, line: str) -> Any:
        self.lines_seen += 1
        return super()._CheckLine(line)


def outcome(cls: type[textfsm.TextFSM], template: str, text: str) -> tuple[Any, ...]:
    fsm = cls(io.StringIO(template))
    try:
        rows = fsm.ParseText(text)
    except textfsm.TextFSMError as exc:
        return ("error", str(exc), fsm.lines_seen)
    return ("rows", fsm.header, rows, fsm.lines_seen)


def assert_same(template: str, text: str) -> tuple[Any, ...]:
    fast = outcome(FastFSM, template, text)
    assert fast == outcome(_StockCounting, template, text)
    return fast


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_every_template_is_compiled(template: Path) -> None:
    assert FastFSM(io.StringIO(template.read_text(encoding="utf-8"))).fast


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
def test_every_fixture_gives_textfsms_rows_or_error(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    kinds = set()
    for raw in TEXTS:
        kinds.add(assert_same(source, raw.read_text(encoding="utf-8"))[0])
    assert kinds == {"rows", "error"}  # both paths were compared


OPTIONS = """\
Value Filldown VRF (\\S+)
Value Required NAME (\\w+)
Value List ITEMS (\\d+)
Value Key,Filldown AREA (\\d+)
Value PLAIN (x?)

Start
  ^vrf ${VRF} -> Continue
  ^area ${AREA}
  ^name ${NAME}(?: ${PLAIN})? -> Record
  ^item ${ITEMS}
  ^clear -> Clear
  ^clearall -> Clearall
  ^record -> Record
  ^next -> Next.Record Second
  ^error -> Error "bad line"
  ^fail -> Error
  ^end -> End
  ^eof -> EOF
  ^\\s*$$

Second
  ^back -> Start
  ^item ${ITEMS} -> Continue.Record
  ^item ${ITEMS}
  ^name ${NAME}
"""

LINES = [
    "vrf red",
    "area 1",
    "name a",
    "name b x",
    "name c ",
    "item 1",
    "item 2",
    "clear",
    "clearall",
    "record",
    "next",
    "back",
    "error",
    "fail",
    "end",
    "eof",
    "",
    "zzz",
]


def test_options_and_operators_one_by_one() -> None:
    text = "\n".join(LINES[:12]) + "\nname d\nitem 3\nnext\nitem 4\nname e\nitem 5\n"
    _, header, rows, _ = assert_same(OPTIONS, text)
    assert header == ["VRF", "NAME", "ITEMS", "AREA", "PLAIN"]
    assert rows[0] == ["red", "a", [], "1", ""]
    assert ["red", "b", [], "1", "x"] in rows


@pytest.mark.parametrize("line", ["error", "fail"])
def test_error_rules_raise_textfsms_error(line: str) -> None:
    kind, message, seen = assert_same(OPTIONS, f"name a\n{line}\nname b\n")
    assert (kind, seen) == ("error", 2)
    assert message.startswith('Error: "bad line"' if line == "error" else "State Error raised")


@pytest.mark.parametrize("stop", ["end", "eof"])
def test_end_and_eof_stop_the_input(stop: str) -> None:
    _, _, rows, seen = assert_same(OPTIONS, f"item 1\nname a\nitem 2\n{stop}\nname b\n")
    assert seen == 4 and [r[1] for r in rows] == ["a"]


def test_an_eof_state_suppresses_the_last_record() -> None:
    template = "Value A (\\w+)\n\nStart\n  ^${A}\n\nEOF\n"
    assert assert_same(template, "x\ny\n")[2] == []


@pytest.mark.parametrize(
    "values",
    [
        "Value Fillup A (\\w+)",
        "Value Filldown,Required A (\\w+)",
        "Value List A ((?P<x>\\w)(?P<y>\\w))",
    ],
)
def test_other_options_take_textfsms_loop(values: str) -> None:
    template = f"{values}\nValue B (\\d)\n\nStart\n  ^${{A}} ${{B}} -> Record\n  ^${{B}}\n"
    assert not FastFSM(io.StringIO(template)).fast
    assert_same(template, "ab 1\n2\ncd 3\n4\n")


def test_a_second_parsetext_continues_as_textfsm_does() -> None:
    template = "Value Filldown A ([a-z]+)\nValue B (\\d)\n\nStart\n  ^${A}\n  ^${B} -> Record\n"
    fast, stock = FastFSM(io.StringIO(template)), textfsm.TextFSM(io.StringIO(template))
    for fsm in (fast, stock):
        fsm.ParseText("x\n1\n", eof=False)
    assert fast.ParseText("2\n") == stock.ParseText("2\n") == [["x", "1"], ["x", "2"], ["x", ""]]
    fast.Reset()
    stock.Reset()
    assert fast.ParseText("3\n") == stock.ParseText("3\n") == [["", "3"]]


@pytest.mark.parametrize("stop", ["end", "eof", "next", "error"])
def test_a_second_parsetext_after_a_state_change_or_error(stop: str) -> None:
    fast, stock = FastFSM(io.StringIO(OPTIONS)), _StockCounting(io.StringIO(OPTIONS))
    for text in (f"vrf red\nname a\nitem 1\n{stop}\n", "item 2\nname b\nback\nname c\n"):
        outcomes = []
        for fsm in (fast, stock):
            try:
                outcomes.append((fsm.ParseText(text, eof=False), fsm.lines_seen))
            except textfsm.TextFSMError as exc:
                outcomes.append((str(exc), fsm.lines_seen))
        assert outcomes[0] == outcomes[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*LINES, "name f", "item 9", "vrf blue", "area 2"]), max_size=30))
def test_property_any_line_order_gives_textfsms_outcome(lines: list[str]) -> None:
    assert_same(OPTIONS, "\n".join(lines) + "\n")


def test_value_names_reach_the_right_groups() -> None:
    """Group numbers, not names, index the match: a Value regex with its own inner
    (unnamed) groups must not shift the ones after it."""
    template = "Value A ((\\w)(\\w))\nValue B (\\d)\n\nStart\n  ^${A}-${B} -> Record\n"
    assert assert_same(template, "ab-1\n")[2] == [["ab", "1"]]
    assert re.compile("(?P<A>(\\w)(\\w))-(?P<B>\\d)").groupindex["B"] == 4
