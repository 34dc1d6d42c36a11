"""Property tests for the topology boundary (issue 12): hostile YAML, text and bytes give
a ``Topology`` or a one-line ``TopologyError`` (exit 2) -- never another exception, never
a control character in the message, never a value pasted where a secret belongs.

Seeded (``derandomize``) and bounded; ``test_zz_report_inputs_tried`` prints the counts.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerctl.errors import ExitCode, TopologyError
from routerctl.names import control_character
from routerctl.topology import Topology, load_topology

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {p.name: p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))}
TRIED = {"text_mutations": 0, "field_edits": 0, "bytes": 0, "loaded_ok": 0, "refused": 0}
MARKER = "Zq9pasted"  # put where a secret may land by mistake; must never be echoed

SETTINGS = settings(
    derandomize=True, max_examples=300, deadline=None, suppress_health_check=list(HealthCheck)
)

_hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "\n",
            "\x00",
            "\x1b[31m",
            "\u202e",
            "\u2028",
            "\t",
            "- ",
            ": ",
            "{",
            "[",
            "]]",
            "&a ",
            "*a",
            "!!python/object:os.system ",
            "!!binary ",
            "? ",
            "|",
            ">-",
            "'",
            '"',
            "#",
            "~nosuchuser/x",
            "9" * 5000,
            "1e400",
            ".nan",
            "-.inf",
            "0x" + "f" * 50,
            "rtr$(touch${IFS}x)",
            "[" * 2000,
            "<<: *a",
        ]
    ),
)


def _check(path: Path, *, secret_marker: bool = False) -> None:
    try:
        topo = load_topology(path)
    except TopologyError as exc:
        TRIED["refused"] += 1
        _check_error(exc, secret_marker=secret_marker)
        return
    TRIED["loaded_ok"] += 1
    assert isinstance(topo, Topology) and topo.routers and topo.cluster.nodes
    if topo.bgp.password is not None:
        try:
            value = topo.bgp.password.resolve()
        except TopologyError as exc:
            _check_error(exc, secret_marker=True)
        else:
            assert isinstance(value, str) and value


def _check_error(exc: TopologyError, *, secret_marker: bool) -> None:
    assert exc.exit_code == ExitCode.USAGE
    line = exc.one_line()
    assert "\n" not in line
    assert control_character(line) is None, repr(line)
    assert len(line) < 1000, line[:200]
    if secret_marker:
        assert MARKER not in line, line


@SETTINGS
@given(
    name=st.sampled_from(sorted(EXAMPLES)),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 40), _hostile_text), min_size=1, max_size=4
    ),
)
def test_property_text_mutations(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    edits: list[tuple[float, int, str]],
) -> None:
    """Random edits of examples/*.yaml: cut ``n`` characters at a point, insert text."""
    TRIED["text_mutations"] += 1
    text = EXAMPLES[name]
    for where, cut, insert in edits:
        i = int(where * len(text))
        text = text[:i] + insert + text[i + cut :]
    path = tmp_path_factory.getbasetemp() / "prop-text.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    _check(path)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


DOCS = {n: yaml.safe_load(t) for n, t in EXAMPLES.items()}
PATHS = sorted(
    {(n, p) for n, d in DOCS.items() for p in _paths(d) if p}, key=lambda x: (x[0], repr(x[1]))
)
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(),
    _hostile_text,
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.builds(lambda s: f"{MARKER}{s}", st.text(max_size=8)),
)
_value = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _put(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc[path[0]] = _put(doc[path[0]], path[1:], value)
    return doc


@SETTINGS
@given(
    edits=st.lists(st.tuples(st.sampled_from(PATHS), _value), min_size=1, max_size=3),
    depth=st.sampled_from([0, 0, 0, 10, 30, 40]),
)
def test_property_field_edits(
    tmp_path_factory: pytest.TempPathFactory,
    edits: list[tuple[tuple[str, tuple[Any, ...]], Any]],
    depth: int,
) -> None:
    """Any field of an example replaced by a hostile value (any type, nested, huge)."""
    TRIED["field_edits"] += 1
    name = edits[0][0][0]
    doc = copy.deepcopy(DOCS[name])
    marker = False
    for (n, path), value in edits:
        if n != name:
            continue
        secret_place = len(path) >= 2 and path[:2] == ("bgp", "password")
        if MARKER in repr(value) and not secret_place:
            continue  # the marker only goes where a secret belongs
        nested = value
        for _ in range(depth):
            nested = [nested]
        try:
            doc = _put(doc, path, nested)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed the path
        marker = marker or secret_place
    try:
        text = yaml.safe_dump(doc, allow_unicode=True)
    except (yaml.YAMLError, RecursionError):
        return  # not representable as YAML: nothing to load
    path_ = tmp_path_factory.getbasetemp() / "prop-fields.yaml"
    path_.write_text(text, encoding="utf-8", errors="surrogatepass")
    _check(path_, secret_marker=marker)


@SETTINGS
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.builds(lambda n: b"a: " + b"[" * n, st.integers(0, 3000)),
        st.builds(
            lambda n: b"a:\n" + b"".join(b" " * i + b"- \n" for i in range(n)), st.integers(0, 300)
        ),
        st.builds(
            lambda name, cut, junk: EXAMPLES[name].encode()[:cut] + junk,
            st.sampled_from(sorted(EXAMPLES)),
            st.integers(0, 2000),
            st.binary(max_size=20),
        ),
    )
)
def test_property_bytes(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    """Arbitrary bytes, truncated examples with junk, deep flow and block nesting."""
    TRIED["bytes"] += 1
    path = tmp_path_factory.getbasetemp() / "prop-bytes.yaml"
    path.write_bytes(content)
    _check(path)


def test_zz_report_inputs_tried() -> None:
    """How many generated inputs the topology boundary saw in this run (issue 12 notes)."""
    print(f"\ninputs tried: {TRIED}")
