"""Support bundle: raw router outputs, running config, versions, verify results.

Secrets are redacted by position (``routerctl.redact``), never by searching for their text.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tarfile
import time
from collections.abc import Sequence
from pathlib import Path

from routerctl import __version__
from routerctl.checks import CheckResult, verify_router
from routerctl.cluster import ClusterState
from routerctl.errors import EnvironmentProblem
from routerctl.localfile import write_atomic
from routerctl.model import RouterState
from routerctl.ops import gather
from routerctl.redact import redact
from routerctl.topology import Router, Topology
from routerctl.transport import Transport


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "output"


def write_bundle(
    directory: Path,
    topology: Topology,
    state: RouterState,
    *,
    results: Sequence[CheckResult] = (),
    now: float | None = None,
) -> Path:
    """Write ``DIR/routerctl-bundle-<router>-<time>.tar.gz``; return its path."""
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    name = f"routerctl-bundle-{_safe(state.router)}-{stamp}"
    files: dict[str, str] = {}
    manifest: dict[str, object] = {
        "routerctl": __version__,
        "router": state.router,
        "created": stamp,
        "suite": state.suite,
        "suite_version": state.version,
        "daemons": dict(state.daemons),
        "files": [],
    }
    for i, (command, output) in enumerate(state.raw):
        fname = f"outputs/{i:02d}-{_safe(command)}.txt"
        files[fname] = f"# {command}\n{output}\n"
    if results:
        files["verify.json"] = json.dumps(
            [
                {
                    "name": r.name,
                    "ok": r.ok,
                    "severity": r.severity.value,
                    "expected": r.expected,
                    "observed": r.observed,
                    "hint": r.hint,
                }
                for r in results
            ],
            indent=2,
        )
    if topology.source is not None:
        with contextlib.suppress(OSError):
            files["topology.yaml"] = topology.source.read_text(encoding="utf-8")
    manifest["files"] = sorted(files)
    files["manifest.json"] = json.dumps(manifest, indent=2)
    target = directory / f"{name}.tar.gz"
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for fname, text in sorted(files.items()):
            data = redact(text).encode("utf-8")
            info = tarfile.TarInfo(f"{name}/{fname}")
            info.size = len(data)
            info.mtime = int(now)
            info.mode = 0o600
            tar.addfile(info, io.BytesIO(data))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        write_atomic(target, archive.getvalue(), mode=0o600)  # a planted symlink is replaced
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot write the support bundle to {directory}: {exc.strerror}",
            hint="pass a writable directory",
        ) from exc
    return target


def support_bundle(
    transport: Transport,
    topology: Topology,
    router: Router,
    cluster: ClusterState,
    directory: Path,
) -> Path:
    """Gather ``router``'s state with the bundle extras (one exec), check it, write it."""
    addresses = [s.address for s in cluster.services]
    state = gather.gather(transport, topology, router, addresses=addresses, bundle=True)
    results = verify_router(topology, router, state, cluster)
    return write_bundle(directory, topology, state, results=results)
