"""Checked access to parsed YAML: every bad value is a one-line ``UsageError``
naming the file and the field path (``peers[2].peer-asn``) and what is allowed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from routerctl.errors import UsageError
from routerctl.metallb.yamlio import line_of


class Reader:
    """One mapping in a file, with its path for error messages."""

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        source: str,
        path: str = "",
        name: str = "",
        labels: Mapping[str, str] | None = None,
    ) -> None:
        self.data = data
        self.source = source
        self.path = path
        self.name = name  # the object's metadata.name, for a spec
        self.labels = dict(labels or {})  # the object's metadata.labels, for a spec

    @classmethod
    def of(cls, value: Any, *, source: str, path: str) -> Reader:
        if not isinstance(value, Mapping):
            raise cls._fail(source, path, f"expected a mapping, got {_kind(value)}")
        return cls(value, source=source, path=path)

    @staticmethod
    def _fail(
        source: str, path: str, message: str, hint: str | None = None, line: int | None = None
    ) -> UsageError:
        file = f"{source}:{line}" if line else source
        where = f"{file}: {path}" if path else file
        return UsageError(f"{where}: {message}", hint=hint)

    def fail(self, key: str | None, message: str, hint: str | None = None) -> UsageError:
        top = re.split(r"[.\[]", key, maxsplit=1)[0] if key else None
        line = line_of(self.data, top)
        return self._fail(self.source, self.sub(key) if key else self.path, message, hint, line)

    def sub(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def check_keys(self, allowed: Iterable[str]) -> None:
        allowed = list(allowed)
        for key in self.data:
            if key not in allowed:
                raise self.fail(str(key), "unknown key", hint=f"allowed here: {', '.join(allowed)}")

    def require(self, key: str) -> Any:
        if self.data.get(key) is None:
            raise self.fail(key, "missing", hint="this field is required")
        return self.data[key]

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self.require(key) if required else self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, f"expected a string, got {_kind(value)}")
        text = str(value)
        if required and not text.strip():
            raise self.fail(key, "must not be empty")
        return text

    def integer(
        self, key: str, *, lo: int, hi: int, required: bool = False, what: str = "an integer"
    ) -> int | None:
        value = self.require(key) if required else self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected {what} ({lo}..{hi}), got {value!r}")
        if not lo <= value <= hi:
            raise self.fail(key, f"{value} is out of range", hint=f"allowed: {lo}..{hi}")
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value

    def items(self, key: str, *, required: bool = False) -> list[Any]:
        value = self.require(key) if required else self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list, got {_kind(value)}")
        return value

    def strings(self, key: str, *, required: bool = False) -> list[str]:
        out = []
        for i, item in enumerate(self.items(key, required=required)):
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise self.fail(f"{key}[{i}]", f"expected a string, got {_kind(item)}")
            out.append(str(item))
        if required and not out:
            raise self.fail(key, "must not be empty")
        return out

    def readers(self, key: str, *, required: bool = False) -> list[Reader]:
        return [
            Reader.of(item, source=self.source, path=f"{self.sub(key)}[{i}]")
            for i, item in enumerate(self.items(key, required=required))
        ]

    def mapping(self, key: str) -> Reader | None:
        value = self.data.get(key)
        return None if value is None else Reader.of(value, source=self.source, path=self.sub(key))

    def str_map(self, key: str) -> dict[str, str]:
        sub = self.mapping(key)
        if sub is None:
            return {}
        return {str(k): v for k in sub.data if (v := sub.string(str(k), required=True))}


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"{value!r}"
