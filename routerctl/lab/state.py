"""The lab's saved state on disk (``/run/routerctl-lab/NAME/``), and what a running lab
offers the router and node steps (``RunningLab``; ``Lab`` is one).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from routerctl.errors import LabError
from routerctl.lab.netns import process_token
from routerctl.lab.spec import LAB_ROOT, LabSpec


def write_file(path: Path, text: str | bytes, *, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    path.chmod(mode)


@dataclass
class LabState:
    """What ``up`` started, saved as ``state.json`` for ``down``/``status``."""

    spec: LabSpec
    holders: dict[str, int] = field(default_factory=dict)  # router -> namespace holder PID
    speakers: dict[str, int] = field(default_factory=dict)  # node -> gobgpd PID
    httpds: dict[str, int] = field(default_factory=dict)  # node -> HTTP server PID
    host_keys: dict[str, str] = field(default_factory=dict)  # router -> "ssh-ed25519 AAAA..."
    password_source: str | None = None  # "env" | "file"
    feed_pid: int = 0  # --openwrt: the feed namespace's httpd
    feed_root: str = ""  # --openwrt: what it serves
    feed_install: list[str] = field(default_factory=list)  # --openwrt: the suite's packages
    feed_apk_key: str = ""  # --openwrt with apk: the public key the feed's index is signed with
    up_seconds: float = 0.0
    owner: str = field(default_factory=lambda: process_token(os.getpid()))

    def save(self) -> None:
        data = {
            "spec": self.spec.to_json(),
            "holders": self.holders,
            "speakers": self.speakers,
            "httpds": self.httpds,
            "host_keys": self.host_keys,
            "password_source": self.password_source,
            "feed_pid": self.feed_pid,
            "feed_root": self.feed_root,
            "feed_install": self.feed_install,
            "feed_apk_key": self.feed_apk_key,
            "up_seconds": self.up_seconds,
            "owner": self.owner,
        }
        path = self.spec.state_dir / "state.json"
        tmp = path.with_name(f".state.{os.getpid()}.{threading.get_ident()}.json")
        write_file(tmp, json.dumps(data, indent=2), mode=0o600)
        os.replace(tmp, path)  # atomic: a concurrent reader never sees half a file

    @classmethod
    def load(cls, name: str, *, root: Path = LAB_ROOT) -> LabState:
        path = root / name / "state.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise LabError(
                f"no lab named {name!r} is up ({path} is missing)",
                hint=f"start it with: routerctl lab up --name {name}",
            ) from exc
        except (OSError, ValueError) as exc:
            raise LabError(f"{path}: unreadable lab state ({exc})", hint="run lab down") from exc
        return cls(
            spec=LabSpec.from_json(data["spec"], root=root),
            holders={k: int(v) for k, v in data["holders"].items()},
            speakers={k: int(v) for k, v in data["speakers"].items()},
            httpds={k: int(v) for k, v in data["httpds"].items()},
            host_keys=dict(data["host_keys"]),
            password_source=data.get("password_source"),
            feed_pid=int(data.get("feed_pid", 0)),
            feed_root=str(data.get("feed_root", "")),
            feed_install=[str(p) for p in data.get("feed_install", [])],
            feed_apk_key=str(data.get("feed_apk_key", "")),
            up_seconds=float(data.get("up_seconds", 0.0)),
            owner=str(data.get("owner", "")),
        )


class RunningLab(Protocol):
    """What the router and node steps use of a running lab (``Lab`` is one)."""

    state: LabState
    spec: LabSpec

    @property
    def state_dir(self) -> Path: ...

    def router_dir(self, router: str) -> Path: ...

    def router_file(self, path: str, *, router: str | None = None) -> Path: ...

    def router_cmd(self, *, router: str | None = None) -> list[str]: ...

    def router_sh(
        self,
        script: str,
        *,
        router: str | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 30.0,
    ) -> subprocess.CompletedProcess[str]: ...

    def netns_cmd(self, member: str) -> list[str]: ...

    def password(self) -> str | None: ...
