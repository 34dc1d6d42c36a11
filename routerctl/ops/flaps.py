"""Flap history: each session's connectionsDropped at the previous verify run.

A small JSON file (default ``$XDG_STATE_HOME/routerctl/flaps.json``):
``{"version": 1, "routers": {KEY: {"time": EPOCH, "dropped": {ADDR: N}, "up": [ADDR]}}}``,
KEY naming the router and how it is reached (``router_key``), so two topologies that both
call their router "rtr" do not share a history.
It is a cache: an unreadable or foreign file counts as "no history" and is rewritten.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
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


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return {}
    routers = data.get("routers")
    return routers if isinstance(routers, dict) else {}


def load(path: Path, router: str, *, now: float) -> FlapHistory | None:
    """The history for ``router``, or None when there is none yet."""
    entry = _read(path).get(router)
    if not isinstance(entry, dict):
        return None
    dropped = entry.get("dropped")
    when = entry.get("time")
    if not isinstance(dropped, dict) or not isinstance(when, int | float):
        return None
    clean = {str(k): int(v) for k, v in dropped.items() if isinstance(v, int)}
    up = entry.get("up")
    established = frozenset(str(a) for a in up) if isinstance(up, list) else None
    return FlapHistory(
        dropped=clean, seconds_since=max(0.0, now - float(when)), established=established
    )


def save(path: Path, router: str, neighbors: Iterable[BgpNeighbor], *, now: float) -> None:
    """Record this run's drop counters for ``router`` (atomic replace)."""
    routers = _read(path)
    routers[router] = {
        "time": now,
        "dropped": {
            str(n.address): n.connections_dropped
            for n in neighbors
            if n.address is not None and n.connections_dropped is not None
        },
        "up": sorted(str(n.address) for n in neighbors if n.address is not None and n.established),
    }
    text = json.dumps({"version": VERSION, "routers": routers}, indent=1, sort_keys=True)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, (text + "\n").encode("utf-8"), mode=0o600)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot write the flap state file {path}: {exc.strerror}",
            hint="pass --state-file PATH somewhere writable, or --no-state",
        ) from exc
