"""TextFSM, run by a tighter loop: the same templates, the same rows, a fraction of the time.

``textfsm.TextFSM`` parses the template (Values, states, rules, their regexes: the
templates in ``parsers/`` stay the contract) and defines the semantics. Running them, it
spends most of its time outside the regexes: for every matched rule it walks
``groupdict()`` and finds each Value by a linear scan, and every record calls a method
per Value and per option (``OnSaveRecord``, ``ClearVar``, ``OnClearVar``...): about 4x
the time of its one-rule floor on ``show ip route`` (issue 17).

``FastFSM.ParseText`` runs the same state machine with that bookkeeping precomputed:
each rule becomes (match, [(group, value, kind)], record op, line op, next state), the
record is a plain list. It implements exactly the options our templates use, each
alone (none, ``Filldown``, ``Required``, ``List``; ``Key`` is a no-op when parsing), with
TextFSM 2.1's semantics; a template with anything else (``Fillup``, two options on one
Value, a List regex with nested groups, a custom options class) runs TextFSM's own
loop. ``tests/test_parsing_fsm.py`` holds it to TextFSM's rows and errors on every
fixture and on templates written to exercise each option and operator.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import textfsm

_PLAIN, _FILLDOWN, _REQUIRED, _LIST = range(4)
_KINDS: dict[frozenset[str], int] = {
    frozenset(): _PLAIN,
    frozenset({"Filldown"}): _FILLDOWN,
    frozenset({"Required"}): _REQUIRED,
    frozenset({"List"}): _LIST,
}
_OPTIONS = textfsm.TextFSM._DEFAULT_OPTIONS
_STOCK_OPTIONS = {
    _OPTIONS.Filldown,
    _OPTIONS.Required,
    _OPTIONS.List,
    _OPTIONS.Key,
}
_NO_RECORD, _RECORD, _CLEAR, _CLEARALL = range(4)
_RECORD_OPS = {"": _NO_RECORD, "NoRecord": _NO_RECORD, "Record": _RECORD}
_RECORD_OPS.update(Clear=_CLEAR, Clearall=_CLEARALL)
_NEXT, _CONTINUE, _ERROR = range(3)
_LINE_OPS = {"": _NEXT, "Next": _NEXT, "Continue": _CONTINUE, "Error": _ERROR}

# (match, sets, filldowns, appends, record op, line op, new state, the TextFSM rule); sets,
# filldowns and appends are ((position in Match.groups(), value index), ...): the Values a
# match assigns (not Lists), the Filldowns among them (remembered too), the Lists (appended)
_Rule = tuple[
    Callable[[str], "re.Match[str] | None"],
    tuple[tuple[int, int], ...],
    tuple[tuple[int, int], ...],
    tuple[tuple[int, int], ...],
    int,
    int,
    str,
    Any,
]


class FastFSM(textfsm.TextFSM):  # type: ignore[misc]
    """A ``textfsm.TextFSM`` whose ``ParseText`` runs a compiled loop (see the module).

    ``lines_seen`` counts the input lines consumed, for error messages, on both loops.
    Like TextFSM, a second ``ParseText`` continues from the state, record and results the
    first one left, until ``Reset()``.
    """

    def __init__(self, template: io.StringIO) -> None:
        super().__init__(template)
        self.lines_seen = 0
        self._by_name = {v.name: v for v in self.values}
        self._kinds = self._value_kinds()
        self._plan = self._compile() if self._kinds is not None else None

    @property
    def fast(self) -> bool:
        """True when ``ParseText`` takes the compiled loop for this template."""
        return self._plan is not None

    def _value_kinds(self) -> list[int] | None:
        kinds = []
        for value in self.values:
            if any(type(option) not in _STOCK_OPTIONS for option in value.options):
                return None
            kind = _KINDS.get(frozenset(value.OptionNames()) - {"Key"})
            if kind is None:
                return None
            if kind == _LIST and value.compiled_regex.groups > 1:
                return None  # TextFSM appends a dict of the nested groups: not done here
            kinds.append(kind)
        return kinds

    def _compile(self) -> dict[str, list[_Rule]]:
        assert self._kinds is not None
        kinds = self._kinds
        index = {v.name: i for i, v in enumerate(self.values)}
        plan: dict[str, list[_Rule]] = {}
        for name, rules in self.states.items():
            compiled: list[_Rule] = []
            for rule in rules:
                regex: re.Pattern[str] = rule.regex_obj.regex
                assigns = [
                    (number - 1, index[group])
                    for group, number in regex.groupindex.items()
                    if group in index
                ]
                compiled.append(
                    (
                        regex.match,
                        tuple((g, i) for g, i in assigns if kinds[i] != _LIST),
                        tuple((g, i) for g, i in assigns if kinds[i] == _FILLDOWN),
                        tuple((g, i) for g, i in assigns if kinds[i] == _LIST),
                        _RECORD_OPS[rule.record_op],
                        _LINE_OPS[rule.line_op],
                        rule.new_state,
                        rule,
                    )
                )
            plan[name] = compiled
        return plan

    # TextFSM's own loop (templates the compiled loop does not take): count the lines
    # and find a Value by name with a dict instead of TextFSM's linear scan.
    def _CheckLine(self, line: str) -> Any:
        self.lines_seen += 1
        return super()._CheckLine(line)

    def _AssignVar(self, matched: re.Match[str], value: str) -> None:
        self._value = self._by_name.get(value)
        if self._value is not None:
            self._value.AssignVar(matched.group(value))

    def Reset(self) -> None:
        super().Reset()
        # the compiled loop's: (state name, the state whose rules run, record, Filldowns)
        self._state: tuple[str, str, list[Any], list[Any]] | None = None

    def ParseText(self, text: str, eof: bool = True) -> list[list[Any]]:
        if self._plan is None:
            result: list[list[Any]] = super().ParseText(text, eof)
            return result
        self._run(text.splitlines() if text else [], eof)
        rows: list[list[Any]] = self._result
        return rows

    def _run(self, lines: list[str], eof: bool) -> None:
        """TextFSM 2.1's ``ParseText`` / ``_CheckLine`` / ``_Operations`` /
        ``_AppendRecord`` / ``_ClearRecord`` / ``_ClearAllRecord``, for the options in
        ``_KINDS``, on plain lists, appending to ``self._result``. Its state (current
        state, record, Filldown values) is kept in ``self._state``, not in the Values."""
        assert self._plan is not None and self._kinds is not None
        plan, kinds = self._plan, self._kinds
        n = len(kinds)
        lists = [i for i, k in enumerate(kinds) if k == _LIST]
        filldowns = [i for i, k in enumerate(kinds) if k == _FILLDOWN]
        required = [i for i, k in enumerate(kinds) if k == _REQUIRED]
        result: list[list[Any]] = self._result
        if self._state is None:
            cur: list[Any] = [None] * n  # each Value's value; a List's is its list so far
            for i in lists:
                cur[i] = []
            remembered: list[Any] = [None] * n  # Filldown's value for the next record
            state_name = rules_name = "Start"
        else:
            state_name, rules_name, cur, remembered = self._state
        rules = plan[rules_name]
        has_eof_state = "EOF" in self.states

        blank: list[Any] = [None] * n

        def clear() -> list[Any]:
            """_ClearRecord: a new record, Filldowns kept."""
            new = blank.copy()
            for i in filldowns:
                new[i] = remembered[i]
            for i in lists:
                new[i] = []
            return new

        def append() -> list[Any]:
            """_AppendRecord; returns the record to build next."""
            if n == 0:
                return cur
            if required:
                for i in required:
                    if not cur[i]:
                        return clear()
            elif all(v is None or v == [] for v in cur):
                return cur  # an empty record is neither output nor cleared
            # (with a Required value set, the record is not empty)
            result.append(["" if v is None else v for v in cur])
            return clear()

        seen = self.lines_seen
        for seen, line in enumerate(lines, seen + 1):  # noqa: B020 - seen: lines consumed
            for match, sets, fills, adds, record_op, line_op, new_state, rule in rules:
                m = match(line)
                if m is None:
                    continue
                if sets or adds:
                    groups = m.groups()
                    for g, i in sets:
                        cur[i] = groups[g]
                    for g, i in fills:
                        remembered[i] = groups[g]
                    for g, i in adds:
                        cur[i].append(groups[g])
                if record_op:
                    if record_op == _RECORD:
                        cur = append()
                    elif record_op == _CLEAR:
                        cur = clear()
                    else:
                        remembered = [None] * n
                        cur = clear()
                if line_op == _CONTINUE:
                    continue
                if line_op == _ERROR:
                    self.lines_seen = seen
                    self._state = (state_name, rules_name, cur, remembered)
                    if new_state:
                        raise textfsm.TextFSMError(
                            f"Error: {new_state}. Rule Line: {rule.line_num}. Input Line: {line}."
                        )
                    raise textfsm.TextFSMError(
                        f"State Error raised. Rule Line: {rule.line_num}. Input Line: {line}"
                    )
                if new_state:
                    if new_state not in ("End", "EOF"):
                        rules_name, rules = new_state, plan[new_state]
                    state_name = new_state
                break
            if state_name in ("End", "EOF"):
                break
        self.lines_seen = seen
        if state_name != "End" and not has_eof_state and eof:
            cur = append()
        self._state = (state_name, rules_name, cur, remembered)
