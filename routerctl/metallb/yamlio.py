"""YAML in and out for Kubernetes manifests.

Loading follows YAML 1.2 for numbers, as Kubernetes does: ``64512:1`` (a BGP
community) stays a string instead of becoming the YAML 1.1 base-60 integer
3870721. Duplicate keys are errors. Dumping writes multi-document YAML that
``kubectl apply -f -`` accepts, multi-line strings as ``|`` blocks.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import yaml

from routerctl.errors import UsageError

# \Z, not $: "$" also matches before a final newline
_INT = re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o[0-7_]+)\Z")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z"
)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def user_input_boundary(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """The way in for MetalLB files (user input): whatever a hostile or broken file makes
    go wrong leaves as a one-line ``UsageError`` (exit 2) naming the file, never as a
    TypeError, RecursionError... (exit 70). The readers check shapes and name the field
    themselves; this is the net for what they did not foresee."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except (UsageError, MemoryError):
            raise
        except RecursionError as exc:
            raise UsageError(
                f"{_source_of(args, kwargs)}: nested too deeply",
                hint="MetalLB's config is a few levels deep",
            ) from exc
        except Exception as exc:
            text = " ".join(str(exc).split())
            raise UsageError(
                f"{_source_of(args, kwargs)}: cannot read it as MetalLB config: "
                f"{type(exc).__name__}: {text[:120]!r}",
                hint="pass MetalLB's ConfigMap or its CRDs",
            ) from exc

    return wrapper


def _source_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    source = kwargs.get("source")
    if source is None and args:
        source = getattr(args[0], "source", None)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(source or "input"))


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 numbers (no base-60) and duplicate keys refused."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if not tag.endswith((":int", ":float"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


class Map(dict[Any, Any]):
    """A loaded mapping that remembers its line and each key's line (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Map:
    loader.flatten_mapping(node)
    offset = getattr(loader, "line_offset", 0)
    key_lines: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping or list as a key", key_node.start_mark
            ) from None
        if key in key_lines:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        key_lines[key] = key_node.start_mark.line + 1 + offset
    out = Map(loader.construct_mapping(node, deep=True))
    out.line = node.start_mark.line + 1 + offset
    out.key_lines = key_lines
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _where(source: str, exc: yaml.YAMLError, offset: int) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"{source}:{mark.line + 1 + offset}" if mark is not None else source


def _problem(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc)
    return " ".join(str(problem).split())


@user_input_boundary
def load_text(text: str, *, source: str, line_offset: int = 0) -> list[Any]:
    """Every non-empty document in ``text``; ``source`` names it in errors, and
    ``line_offset`` makes line numbers count from where ``text`` sits in that file."""
    loader = type("_OffsetLoader", (_Loader,), {"line_offset": line_offset})
    try:
        _check_depth(text, loader, source, line_offset)
        return [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
    except yaml.YAMLError as exc:
        raise UsageError(
            f"{_where(source, exc, line_offset)}: not valid YAML: {_problem(exc)}",
            hint="check indentation and quoting there",
        ) from exc


MAX_DEPTH = 64  # MetalLB's deepest field is ~8 levels; PyYAML's composer recurses


def _check_depth(text: str, loader: type[_Loader], source: str, offset: int) -> None:
    """Refuse documents nested deeper than MAX_DEPTH from PyYAML's event stream (which
    does not recurse) before the composer would recurse into them."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                line = event.start_mark.line + 1 + offset if event.start_mark else None
                raise UsageError(
                    f"{source}:{line}: nested deeper than {MAX_DEPTH} levels",
                    hint="MetalLB's config is a few levels deep",
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def line_of(data: Any, key: Any = None) -> int | None:
    """The line of ``key`` in a loaded mapping (or of the mapping itself), if known."""
    if not isinstance(data, Map):
        return None
    if key is not None and key in data.key_lines:
        return data.key_lines[key]
    return data.line or None


def load_file(path: Path) -> list[Any]:
    """Read ``path`` (``-`` is not special) as multi-document YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: no such file", hint="check the path") from exc
    except IsADirectoryError as exc:
        raise UsageError(f"{path}: is a directory, expected a YAML file") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a text file (not UTF-8)", hint="pass a YAML file") from exc
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from exc
    return load_text(text, source=str(path))


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_str(data)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(Map, yaml.SafeDumper.represent_dict)


def dump(data: Any) -> str:
    """One YAML document (block style, keys in insertion order)."""
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def dump_documents(docs: Iterable[Mapping[str, Any]], *, header: str | None = None) -> str:
    """Multi-document YAML: each document starts with ``---``."""
    parts = [f"# {line}\n" if line else "#\n" for line in (header or "").splitlines()]
    for doc in docs:
        parts.append("---\n")
        parts.append(dump(dict(doc)))
    return "".join(parts)


def load_source(path: Path) -> tuple[list[Any], str]:
    """Documents from ``path``, or from stdin when ``path`` is ``-``; and the name for errors."""
    if str(path) == "-":
        source = "<stdin>"
        return expand_lists(load_text(sys.stdin.read(), source=source), source=source), source
    return expand_lists(load_file(path), source=str(path)), str(path)


@user_input_boundary
def expand_lists(docs: list[Any], *, source: str) -> list[Any]:
    """A ``kind: List`` (what ``kubectl get -o yaml`` prints) replaced by its items."""
    out: list[Any] = []
    for doc in docs:
        if isinstance(doc, Mapping) and doc.get("kind") == "List" and "items" in doc:
            items = doc["items"] or []
            if not isinstance(items, list):
                raise UsageError(f"{source}: items of the List is not a list")
            out.extend(items)
        else:
            out.append(doc)
    return out
