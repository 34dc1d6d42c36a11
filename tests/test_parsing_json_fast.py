"""The FRR JSON path's fast parts give the reference's results and errors (issue 17).

``_RouteCache.route`` (fast) against ``_route(_Obj(...))`` (the reference) on every
route fixture and on entries altered in each field the reference reads; the text
depth check against the object walk on nested documents.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerctl.errors import ParseError
from routerctl.parsing import json_path, parse_routes
from routerctl.parsing.detect import prepare
from routerctl.parsing.json_path import MAX_DEPTH, _check_depth, _Obj, _route, _shallow_text

ROOT = Path(__file__).resolve().parent.parent
ROUTE_JSON = sorted(ROOT.glob("fixtures/frr/show_ip*_route_json/*.raw"))


def reference(doc: Any) -> list[Any]:
    """The conversion before issue 17: every entry through ``_route``."""
    out: list[Any] = []
    for key, entries in doc.items():
        if isinstance(entries, dict):
            out.extend(reference(entries))
        else:
            out.extend(_route(_Obj(e, f"{key}[{i}]")) for i, e in enumerate(entries))
    return out


def outcome(convert: Any, doc: Any) -> Any:
    try:
        return convert(doc)
    except ParseError as exc:
        return ("error", str(exc))


def entries(doc: Any) -> list[dict[str, Any]]:
    found = []
    for value in doc.values():
        if isinstance(value, dict):
            found.extend(entries(value))
        elif isinstance(value, list):
            found.extend(e for e in value if isinstance(e, dict))
    return found


def texts() -> list[str]:
    """The fixtures' JSON documents (prompt lines dropped; error cases left out)."""
    out = []
    for raw in ROUTE_JSON:
        text = "\n".join(prepare(raw.read_text(encoding="utf-8")).lines)
        try:
            json.loads(text)
        except ValueError:
            continue
        out.append(text)
    return out


def docs() -> list[Any]:
    return [json.loads(text) for text in texts()]


def test_every_route_fixture_converts_as_the_reference() -> None:
    docs_ = docs()
    assert sum(len(entries(d)) for d in docs_) > 20
    for doc in docs_:
        assert json_path.routes(doc) == reference(doc)


ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    1.0,
    -1,
    256,
    2**32,
    2**64,
    "",
    "7",
    "x",
    "default",
    "00:01:02",
    "1d02h03m",
    "never",
    "10.0.0.1",
    "2001:db8::1",
    "10.0.0.0/24",
    [],
    {},
    [1],
]
ROUTE_KEYS = [
    "prefix",
    "protocol",
    "selected",
    "installed",
    "distance",
    "metric",
    "uptime",
    "failed",
    "queued",
    "vrfName",
    "nexthops",
]
NEXTHOP_KEYS = list(json_path._NEXTHOP_KEYS)


def altered_docs() -> list[tuple[str, Any]]:
    base = next(d for d in docs() if any(e.get("nexthops") for e in entries(d)))
    out = []
    for key in ROUTE_KEYS:
        for value in [*ODD_VALUES, "missing"]:
            doc = copy.deepcopy(base)
            entry = entries(doc)[0]
            if value == "missing":
                entry.pop(key, None)
            else:
                entry[key] = value
            out.append((f"route.{key}={value!r}", doc))
    for key in NEXTHOP_KEYS:
        for value in [*ODD_VALUES, "missing"]:
            doc = copy.deepcopy(base)
            hops = next(e for e in entries(doc) if e.get("nexthops"))["nexthops"]
            if value == "missing":
                hops[0].pop(key, None)
            else:
                hops[0][key] = value
            out.append((f"nexthop.{key}={value!r}", doc))
    return out


@pytest.mark.parametrize(
    ("name", "doc"), altered_docs(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_an_altered_field_gives_the_references_result_or_error(name: str, doc: Any) -> None:
    assert outcome(json_path.routes, doc) == outcome(reference, doc)


def test_equal_values_of_other_types_are_not_one_cache_entry() -> None:
    """1 == 1.0 == True: a weight of each kind converts (or fails) on its own."""
    hop = {"ip": "198.51.100.11", "fib": True, "active": True}
    doc = {
        f"10.0.0.{i}/32": [
            {"prefix": f"10.0.0.{i}/32", "protocol": "bgp", "nexthops": [{**hop, "weight": w}]}
        ]
        for i, w in enumerate([1, 1.0, True])
    }
    assert outcome(json_path.routes, doc) == outcome(reference, doc)
    assert outcome(json_path.routes, doc)[0] == "error"
    good = {k: v for k, v in doc.items() if k == "10.0.0.0/32"}
    assert [nh.weight for r in json_path.routes(good) for nh in r.nexthops] == [1]


def test_a_bad_entry_fails_without_the_fast_paths_exception_as_its_context() -> None:
    text = json.dumps({"10.0.0.0/8": [{"prefix": "10.0.0.0/8", "protocol": 5}]})
    with pytest.raises(ParseError, match=r"protocol: expected a string") as info:
        parse_routes(text)
    cause = info.value.__cause__
    assert isinstance(cause, ParseError) or cause is None
    assert info.value.__context__ is None or isinstance(info.value.__context__, ParseError)


# --- the depth check -------------------------------------------------------------------------


def walk_depth_ok(doc: Any) -> bool:
    """The depth check before issue 17, word for word."""
    level: list[Any] = [doc]
    for _ in range(MAX_DEPTH + 1):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return True
    return False


def check(doc: Any, text: str | None) -> bool:
    try:
        _check_depth(doc, "x", text)
    except ParseError:
        return False
    return True


def nested(depth: int, leaf: Any = 1, *, string: str = "k") -> Any:
    doc: Any = leaf
    for level in range(depth):
        doc = {string: doc} if level % 2 else [doc, string]
    return doc


@pytest.mark.parametrize("depth", [0, 1, 2, 31, 32, 33, 34, 35, 40, 66])
@pytest.mark.parametrize("string", ["k", "[", "}{", '"', "\\", "é", "]]]]"])
def test_depth_check_equals_the_walk(depth: int, string: str) -> None:
    doc = nested(depth, string=string)
    text = json.dumps(doc)
    assert check(doc, text) == check(doc, None) == walk_depth_ok(doc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='ab[]{}"\\ é', max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='ab[]{}"\\', max_size=3), inner, max_size=3)
    ),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(json_values, st.integers(0, 40))
def test_property_depth_check_equals_the_walk(doc: Any, extra: int) -> None:
    doc = nested(extra, doc)
    for text in (json.dumps(doc), json.dumps(doc, ensure_ascii=False), json.dumps(doc, indent=1)):
        assert check(doc, text) == walk_depth_ok(doc)
    assert check(doc, None) == walk_depth_ok(doc)


def test_the_text_check_answers_for_an_frr_document() -> None:
    """The fast answer is taken for FRR's own output (no backslashes, no brackets in
    strings), not only correct when it falls back."""
    found = texts()
    assert len(found) > 20
    for text in found:
        assert _shallow_text(text)
