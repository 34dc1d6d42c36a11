"""The router-output boundary of verify/gather (issue 12): whatever a router answers --
random text or bytes, truncated or duplicated markers, JSON garbage, huge or negative
numbers, control characters -- ``routerctl verify`` exits with a documented code
(``routerctl.errors.ExitCode``; never 70), any error is one line on stderr, and no raw
control sequence reaches the terminal. Seeded and bounded (hypothesis)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerctl.cli import main
from routerctl.errors import ExitCode
from tests.test_verify_cli import Router, routers  # noqa: F401 - the fixture

TRIED: dict[str, int] = {"router_output": 0}
OUTCOMES: dict[int, int] = {}
NET: dict[str, int] = {}  # parser exceptions the gather boundary turned into exit 6
DOCUMENTED = {
    ExitCode.OK,
    ExitCode.FAILED,
    ExitCode.USAGE,
    ExitCode.UNREACHABLE,
    ExitCode.REFUSED,
    ExitCode.PARSE,
}

_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63, 2**64, -1, 10**30, 0]),
    st.floats(allow_nan=False, allow_infinity=False),
)
_scalar = st.one_of(st.none(), st.booleans(), _numbers, st.text(max_size=12))
_json = st.recursive(
    _scalar,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=12,
)
PEER_FIELDS = [
    "remoteAs",
    "state",
    "peerUptimeMsec",
    "pfxRcd",
    "connectionsDropped",
    "msgRcvd",
    "desc",
    "hostname",
]
_hostile_text = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            "[/]",
            "[link=http://x]y",
            "\x1b]8;;http://x\x07a\x1b]8;;\x07",
            "\x1b[2J",
            "{" * 5000,
            "9" * 5000,
            '{"routerId":"1.1.1.1","as":"abc","peers":{}}',
            '{"routerId":"1.1.1.1","as":-5,"peers":{}}',
            '{"routerId":"1.1.1.1","as":1208925819614629174706176,"peers":{}}',
            "% Unknown command.",
            "",
        ]
    ),
)


@st.composite
def hostile_answer(draw: st.DrawFn) -> tuple[str, Any]:
    """How to spoil the router's answer: (kind, parameter)."""
    kind = draw(
        st.sampled_from(
            [
                "replace",  # the whole answer
                "truncate",  # cut anywhere (markers included)
                "section",  # one section's body replaced
                "peer_field",  # one peer field gets a hostile JSON value
                "summary_json",  # the summary is generated JSON
                "duplicate_marker",
                "inject_line",
            ]
        )
    )
    if kind == "replace":
        return kind, draw(_hostile_text)
    if kind == "truncate":
        return kind, draw(st.floats(min_value=0, max_value=1))
    if kind == "section":
        return kind, (draw(st.integers(0, 12)), draw(_hostile_text))
    if kind == "peer_field":
        return kind, (draw(st.sampled_from(PEER_FIELDS)), draw(_json))
    if kind == "summary_json":
        return kind, draw(_json)
    if kind == "duplicate_marker":
        return kind, draw(st.integers(0, 12))
    return kind, (draw(st.integers(0, 200)), draw(_hostile_text))


def spoil(router: Router, kind: str, param: Any, script: str) -> str:
    if kind == "peer_field":
        field, value = param
        router.peers["198.51.100.5"] = {**router.peers["198.51.100.5"], field: value}
        return Router.answer(router, script)
    if kind == "summary_json":
        original = router.summary
        router.summary = lambda: param  # type: ignore[method-assign]
        try:
            return Router.answer(router, script)
        finally:
            router.summary = original  # type: ignore[method-assign]
    good = Router.answer(router, script)
    if kind == "replace":
        return str(param)
    if kind == "truncate":
        return good[: int(len(good) * param)]
    mk = re.match(r"M=(\S+)", script).group(1)  # type: ignore[union-attr]
    parts = good.split(mk)
    if kind == "section":
        i, text = param
        i %= len(parts)
        head = parts[i].split("\n", 1)[0]
        parts[i] = f"{head}\n{text}\n"
        return mk.join(parts)
    if kind == "duplicate_marker":
        i = param % len(parts)
        parts.insert(i, parts[i])
        return mk.join(parts)
    pos, text = param
    lines = good.split("\n")
    lines.insert(pos % (len(lines) + 1), text)
    return "\n".join(lines)


@pytest.mark.parametrize(
    ("field", "value"), [("remoteAs", None), ("pfxRcd", "abc"), ("state", 5), ("msgRcvd", [])]
)
def test_a_parser_miss_is_a_parse_error_not_internal(
    routers: dict[str, Router],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    field: str,
    value: object,
) -> None:
    routers["rtr1"].peers["198.51.100.5"][field] = value
    code = main(["verify", "-r", "rtr1", "--no-state"])
    _, err = capsys.readouterr()
    assert code == ExitCode.PARSE, err
    assert err.count("\n") == 1 and err.startswith("routerctl: error: ")


SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(spoiler=hostile_answer(), nagios=st.booleans(), json_out=st.booleans())
def test_hostile_router_output_gives_a_documented_exit_and_one_line(
    routers: dict[str, Router],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    spoiler: tuple[str, Any],
    nagios: bool,
    json_out: bool,
) -> None:
    TRIED["router_output"] += 1
    kind, param = spoiler
    r = routers["rtr1"]
    saved = dict(r.peers)
    monkeypatch.setattr(r, "answer", lambda script: spoil(r, kind, param, script))
    args = ["verify", "-r", "rtr1", "--no-state"]
    args += ["--nagios"] if nagios else []
    args += ["-o", "json"] if json_out else []
    try:
        code = main(args)
    finally:
        r.peers = saved
    out, err = capsys.readouterr()
    OUTCOMES[code] = OUTCOMES.get(code, 0) + 1
    m = re.search(r"unexpected router output \((\w+): (.{0,50})", err)
    if m:
        NET[f"{m.group(1)}: {m.group(2)}"] = NET.get(f"{m.group(1)}: {m.group(2)}", 0) + 1
    assert code != ExitCode.INTERNAL, err
    assert code in DOCUMENTED, (code, err)
    errors = [ln for ln in err.splitlines() if ln.startswith("routerctl:")]
    assert len(errors) <= 1 and err.count("\n") <= 1, err
    for seq in ("\x1b", "\x07", "\x9b"):
        assert seq not in out + err
    if json_out and code != ExitCode.PARSE and out:
        json.loads(out)  # machine output stays valid JSON


def test_zz_report_inputs_tried() -> None:
    print(f"\ninputs tried: {TRIED}; exit codes seen: {dict(sorted(OUTCOMES.items()))}")
    print(f"parser exceptions caught at the gather boundary: {NET}")
