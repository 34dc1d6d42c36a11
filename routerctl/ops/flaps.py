"""Flap history: each session's connectionsDropped at the previous verify run.

A small JSON file (default ``$XDG_STATE_HOME/routerctl/flaps.json``):
``{"version": 1, "routers": {KEY: {"time": EPOCH, "dropped": {ADDR: N}, "up": [ADDR]}}}``,
KEY naming the router and how it is reached (``router_key``), so two topologies that both
call their router "rtr" do not share a history.
A lab (``routerctl lab up``/``down``) is a new router each time: ``forget_under`` drops the
records reached through an ssh_config inside the lab's folder, so a rebuilt lab of the same
name starts with no history instead of reading its young sessions as flaps.
It is a cache: an unreadable or foreign file counts as "no history" and is rewritten.
"""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from routerctl.errors import EnvironmentProblem
from routerctl.localfile import write_atomic
from routerctl.model import BgpNeighbor, FlapHistory
from routerctl.topology import Router

VERSION = 1


def default_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "routerctl" / "flaps.json"


def router_key(router: Router) -> str:
    """The history key: the router's name and SSH target (and ssh_config, if any)."""
    key = f"{router.name}@{router.ssh.host}"
    if router.ssh.port is not None:
        key += f":{router.ssh.port}"
    if router.ssh.ssh_config is not None:
        key += f"|{router.ssh.ssh_config}"
    return key


MAX_BYTES = 4 * 1024 * 1024  # far more than any real history; past it: no history
MAX_COUNTER = 2**63 - 1


def _read(path: Path) -> tuple[dict[str, Any], str | None]:
    """The ``routers`` mapping of the cache, and why it was unusable (None: fine or absent).

    Never raises: a missing file is no history; a special file (FIFO, device, directory),
    an oversized, non-UTF-8, non-JSON, too deeply nested or foreign file is no history
    plus a reason, and the next ``save`` rewrites it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, exc.strerror or str(exc)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}, "not a regular file"
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        return {}, exc.strerror or str(exc)
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        return {}, f"larger than {MAX_BYTES} bytes"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return {}, "not a routerctl flap history (unreadable JSON)"
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}, "not a routerctl flap history (unknown format)"
    routers = data.get("routers")
    if not isinstance(routers, dict):
        return {}, "not a routerctl flap history (no routers)"
    return routers, None


def _counter(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNTER:
        return value
    return None


def _entry(entry: object) -> tuple[float, dict[str, int], list[str] | None] | None:
    """One router's record, checked: (time, dropped counters, established), or None."""
    if not isinstance(entry, dict):
        return None
    dropped, when, up = entry.get("dropped"), entry.get("time"), entry.get("up")
    if not isinstance(dropped, dict) or isinstance(when, bool):
        return None
    if not isinstance(when, int | float) or not 0 <= when <= 2**53 or not math.isfinite(when):
        return None
    clean = {str(k): c for k, v in dropped.items() if (c := _counter(v)) is not None}
    established = [a for a in up if isinstance(a, str)] if isinstance(up, list) else None
    return float(when), clean, established


def load_all(
    path: Path, routers: Iterable[str], *, now: float
) -> tuple[dict[str, FlapHistory | None], str | None]:
    """The history of each of ``routers`` (None: none yet), read once; and why the file
    was ignored, if it was (for one warning)."""
    data, problem = _read(path)
    out: dict[str, FlapHistory | None] = {}
    for router in routers:
        parsed = _entry(data.get(router))
        if parsed is None:
            out[router] = None
            continue
        when, dropped, up = parsed
        out[router] = FlapHistory(
            dropped=dropped,
            seconds_since=max(0.0, now - when),
            established=frozenset(up) if up is not None else None,
        )
    return out, problem


def load(path: Path, router: str, *, now: float) -> FlapHistory | None:
    """The history for ``router``, or None when there is none yet (or it is unusable)."""
    return load_all(path, [router], now=now)[0][router]


def _ssh_config_of(key: str) -> Path | None:
    """The ssh_config part of a ``router_key`` (None: the key has none)."""
    _, sep, config = key.partition("|")
    return Path(config) if sep and config else None


def _clean(routers: dict[str, Any], *, drop: Callable[[str], bool]) -> dict[str, Any]:
    """The usable records, each checked and rebuilt (nothing odd survives), minus ``drop``."""
    out: dict[str, Any] = {}
    for key, entry in routers.items():
        parsed = _entry(entry)
        if parsed is not None and isinstance(key, str) and not drop(key):
            when, dropped, up = parsed
            out[key] = {"time": when, "dropped": dropped}
            if up is not None:
                out[key]["up"] = sorted(up)
    return out


def _write(path: Path, routers: dict[str, Any]) -> None:
    text = json.dumps({"version": VERSION, "routers": routers}, indent=1, sort_keys=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (text + "\n").encode("utf-8"), mode=0o600)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot write the flap state file {path}: {exc.strerror}",
            hint="pass --state-file PATH somewhere writable, or --no-state",
        ) from exc


def forget_under(path: Path, folder: Path) -> int:
    """Drop every record whose ssh_config lies inside ``folder`` (a lab's state folder);
    how many were dropped. The file is left untouched when none was (or it is absent)."""
    routers, _problem = _read(path)
    base = Path(os.path.abspath(folder))

    def inside(key: str) -> bool:
        config = _ssh_config_of(key)
        return config is not None and Path(os.path.abspath(config)).is_relative_to(base)

    gone = sum(1 for key in routers if isinstance(key, str) and inside(key))
    if gone:
        _write(path, _clean(routers, drop=inside))
    return gone


def save(path: Path, router: str, neighbors: Iterable[BgpNeighbor], *, now: float) -> None:
    """Record this run's drop counters for ``router`` (atomic replace)."""
    routers = _clean(_read(path)[0], drop=lambda key: key == router)
    routers[router] = {
        "time": now,
        "dropped": {
            str(n.address): n.connections_dropped
            for n in neighbors
            if n.address is not None and n.connections_dropped is not None
        },
        "up": sorted(str(n.address) for n in neighbors if n.address is not None and n.established),
    }
    _write(path, routers)
