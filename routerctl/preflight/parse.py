"""Parsers for the pre-flight sections (pure): ``uci show``, ``ip route get``, sysctls,
the bgpd multipath string, the MD5 signal, the package lists' closure."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from routerctl.errors import ParseError
from routerctl.platform.preflight import SECTION

UciValue = str | tuple[str, ...]


@dataclass(frozen=True)
class UciSection:
    """One section of ``uci show <config>``: its id, type and options (lists as tuples)."""

    id: str  # cfg0a1b2c, @zone[1] or a named section
    type: str
    options: dict[str, UciValue] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        v = self.options.get(name)
        if v is None:
            return default
        return v if isinstance(v, str) else " ".join(v)

    def items(self, name: str) -> tuple[str, ...]:
        """A list option's items (a plain option split on blanks, as fw4 reads it)."""
        v = self.options.get(name)
        if v is None:
            return ()
        return tuple(v.split()) if isinstance(v, str) else v


def sections(text: str) -> dict[str, str]:
    """The pre-flight sections of the script's output, keyed by what follows ``pf-``."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(SECTION):
            current = out.setdefault(line[len(SECTION) :].strip(), [])
        elif line.startswith("@@routerctl@@"):
            current = None  # another section (detection's)
        elif current is not None:
            current.append(line)
    return {k: "\n".join(v) for k, v in out.items()}


_UCI_LINE = re.compile(
    r"([A-Za-z0-9_-]+)\.((?:@[A-Za-z0-9_-]+\[-?\d+\])|[A-Za-z0-9_]+)(?:\.([A-Za-z0-9_]+))?=(.*)"
)


def parse_uci_show(text: str, *, config: str) -> list[UciSection]:
    """``uci show <config>`` in order. Fails loudly on a line it does not understand."""
    order: list[str] = []
    types: dict[str, str] = {}
    opts: dict[str, dict[str, UciValue]] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line:
            continue
        m = _UCI_LINE.fullmatch(line)
        if not m or m.group(1) != config:
            raise ParseError(
                f"uci show {config}: line {n} not understood: {line[:80]!r}",
                hint="rerun with --debug and report it",
            )
        sid, opt, value = m.group(2), m.group(3), m.group(4)
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ParseError(
                f"uci show {config}: line {n}: bad quoting: {line[:80]!r}",
                hint="rerun with --debug and report it",
            ) from exc
        if opt is None:
            if sid not in types:
                order.append(sid)
            types[sid] = value.strip("'")
            opts.setdefault(sid, {})
            continue
        if sid not in types:
            order.append(sid)
            types[sid] = ""
            opts.setdefault(sid, {})
        # uci prints a list as several quoted words, an option as one
        opts[sid][opt] = words[0] if len(words) == 1 else tuple(words)
    return [UciSection(id=s, type=types[s], options=opts[s]) for s in order]


def parse_route_device(text: str) -> str | None:
    """The ``dev`` of ``ip route get ADDR``'s first line (None: no route, or an error)."""
    m = re.search(r"\bdev (\S+)", text)
    return m.group(1) if m else None


def parse_sysctls(text: str) -> dict[str, int | None]:
    """``key value`` lines; ``none`` (the file does not exist) is None."""
    out: dict[str, int | None] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            out[parts[0]] = int(parts[1]) if parts[1].isdigit() else None
    return out


_MAXPATHS = re.compile(r"maximum-paths [<(]1-(\d+)[>)]")


def parse_maxpaths(text: str) -> tuple[str | None, int | None]:
    """(bgpd's path, its compiled ``maximum-paths`` limit); (None, None): no bgpd found."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    if not line:
        return None, None
    path, _, rest = line.partition(" ")
    m = _MAXPATHS.search(rest)
    return path, int(m.group(1)) if m else None


def parse_md5(text: str) -> tuple[bool | None, str]:
    """(kernel has CONFIG_TCP_MD5SIG, the signal used); None: no signal readable."""
    config: str | None = None
    kallsyms: str | None = None
    for line in text.splitlines():
        word, _, rest = line.partition(" ")
        if word == "config":
            config = rest.strip()
        elif word == "kallsyms":
            kallsyms = rest.strip()
    if config:  # "CONFIG_TCP_MD5SIG=y" or "# CONFIG_TCP_MD5SIG is not set"
        return config.endswith("=y"), "/proc/config.gz"
    if kallsyms is not None and kallsyms.isdigit():
        return int(kallsyms) > 0, "tcp_md5_do_add in /proc/kallsyms"
    return None, "neither /proc/config.gz nor /proc/kallsyms is readable"


def parse_ssh(text: str) -> tuple[str, tuple[str, ...]]:
    """(the serving process's name, the SSH server binaries present)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    comm = lines[0] if lines and not lines[0].startswith("/") else ""
    return comm, tuple(ln for ln in lines if ln.startswith("/"))


def parse_feed(text: str) -> dict[str, tuple[int, int]]:
    """``name Size Installed-Size`` lines (bytes) -> {name: (size, installed size)}."""
    out: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            out[parts[0]] = (int(parts[1]), int(parts[2]))
    return out
