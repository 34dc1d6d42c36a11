"""The flap cache boundary (issue 12 item 16): whatever the cache file holds, verify treats it
as history or as no history (one warning line on stderr, then the file is rewritten);
never an exception, never exit 70."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerctl.cli import main
from routerctl.model import BgpNeighbor, FlapHistory, SessionState
from routerctl.ops import flaps
from tests.test_verify_cli import Router, routers  # noqa: F401 - the fixture

TRIED = {"flap_cache_load": 0, "flap_cache_cli": 0}
KEY = "rtr1@rtr1"


def _nbr() -> BgpNeighbor:
    return BgpNeighbor(None, 65001, SessionState.ESTABLISHED)


HOSTILE: list[bytes] = [
    b"",
    b"\x00\xff\xfe garbage",
    b"[" * 100_000 + b"]" * 100_000,  # RecursionError in json
    b'{"version": 1, "routers": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    b"1" * 5000,  # int too long to convert
    json.dumps({"version": 1, "routers": {KEY: {"time": 10**400, "dropped": {}}}}).encode(),
    json.dumps({"version": 1, "routers": {KEY: {"time": 1e308 * 10, "dropped": {}}}}).encode(),
    b'{"version": 1, "routers": {"rtr1@rtr1": {"time": NaN, "dropped": {}}}}',
    b'{"version": 1, "routers": {"rtr1@rtr1": {"time": -Infinity, "dropped": {"a": 1}}}}',
    json.dumps({"version": 1, "routers": {KEY: {"time": True, "dropped": {"a": True}}}}).encode(),
    json.dumps({"version": 1, "routers": {KEY: {"time": 1, "dropped": {"a": -5}}}}).encode(),
    json.dumps({"version": 1, "routers": {KEY: {"time": 1, "dropped": {"a": 2**80}}}}).encode(),
    json.dumps({"version": 1, "routers": {KEY: {"time": 1, "dropped": [], "up": "x"}}}).encode(),
    json.dumps(
        {"version": 1, "routers": {KEY: {"time": 1, "dropped": {}, "up": [1, None]}}}
    ).encode(),
    json.dumps({"version": 1, "routers": []}).encode(),
    json.dumps({"version": [1], "routers": {}}).encode(),
    json.dumps([1, 2, 3]).encode(),
]


@pytest.mark.parametrize("content", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_cache_is_history_or_none(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "flaps.json"
    path.write_bytes(content)
    hist, _problem = flaps.load_all(path, [KEY], now=100.0)
    h = hist[KEY]
    assert h is None or (isinstance(h, FlapHistory) and math.isfinite(h.seconds_since))
    flaps.save(path, KEY, [_nbr()], now=200.0)  # and the cache is rewritten cleanly
    assert json.loads(path.read_text())["routers"][KEY]["time"] == 200.0


def test_special_files_are_no_history(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # would block a plain open() for ever
    for path in (tmp_path, fifo, Path("/dev/zero"), tmp_path / "missing"):
        hist, problem = flaps.load_all(path, [KEY], now=1.0)
        assert hist == {KEY: None}
        assert (problem is None) == (path.name == "missing")


def test_verify_warns_once_and_continues(
    routers: dict[str, Router],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    state = tmp_path / "flaps.json"
    state.write_bytes(b"[" * 100_000)
    code = main(["verify", "--state-file", str(state)])
    _, err = capsys.readouterr()
    assert code == 0, err
    warnings = [ln for ln in err.splitlines() if "flap history" in ln]
    assert len(warnings) == 1 and warnings[0].startswith("routerctl: warning: ")
    assert json.loads(state.read_text())["version"] == 1  # rewritten
    assert main(["verify", "--state-file", str(state)]) == 0
    assert "flap history" not in capsys.readouterr().err


# --- property-based: generated hostile cache contents -----------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**100), max_value=2**100),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
_json = st.recursive(
    _scalars,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=30,
)
_entry = st.fixed_dictionaries(
    {},
    optional={
        "time": _json,
        "dropped": st.dictionaries(st.text(max_size=15), _json, max_size=4) | _json,
        "up": st.lists(_json, max_size=4) | _json,
    },
)
_doc = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from([1, 1, 1, 2, "1", None]),
        "routers": st.dictionaries(st.sampled_from([KEY, "other", ""]), _entry, max_size=3) | _json,
    },
)


def _encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


_content = st.one_of(
    _doc.map(_encode),
    _json.map(_encode),
    st.binary(max_size=300),
    _doc.map(_encode).flatmap(
        lambda b: st.integers(0, max(0, len(b) - 1)).map(lambda n: b[:n])  # truncated
    ),
)

SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(content=_content)
def test_generated_cache_contents_never_raise(content: bytes, tmp_path: Path) -> None:
    TRIED["flap_cache_load"] += 1
    path = tmp_path / "flaps.json"
    path.write_bytes(content)
    hist, _ = flaps.load_all(path, [KEY, "other"], now=1000.0)
    for h in hist.values():
        assert h is None or math.isfinite(h.seconds_since)
        assert h is None or all(isinstance(v, int) and v >= 0 for v in h.dropped.values())
    flaps.save(path, KEY, [_nbr()], now=2000.0)
    assert flaps.load_all(path, [KEY], now=2001.0)[1] is None


@settings(SETTINGS, max_examples=30)
@given(content=_content)
def test_generated_cache_contents_through_verify(
    routers: dict[str, Router],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes,
) -> None:
    TRIED["flap_cache_cli"] += 1
    state = tmp_path / "flaps-cli.json"
    state.write_bytes(content)
    code = main(["verify", "-r", "rtr1", "--state-file", str(state)])
    _, err = capsys.readouterr()
    assert code in (0, 1), err  # ok, or a flap judged from a plausible history
    assert "internal error" not in err
    assert len([ln for ln in err.splitlines() if ln.startswith("routerctl:")]) <= 1


def test_zz_report_inputs_tried() -> None:
    print(f"\ninputs tried: {TRIED}")
