"""Probe services: HTTP GET each LoadBalancer address:port from the router (one exec,
busybox nc) or from where routerctl runs (a socket)."""

from __future__ import annotations

import shlex
import socket
from collections.abc import Sequence

from routerctl.cluster import ClusterService
from routerctl.model import IPAddress, ProbeResult
from routerctl.ops.gather import new_marker, split_output
from routerctl.transport import Transport


def _http_answer(raw: str) -> str:
    """The first body line of an HTTP answer, else the first line."""
    text = raw.replace("\r\n", "\n")
    head, sep, body = text.partition("\n\n")
    if sep and head.startswith("HTTP/"):
        line = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
        status = head.splitlines()[0].split(" ", 2)
        return line[:60] or " ".join(status[1:])
    return (text.strip().splitlines() or [""])[0][:60]


def _targets(services: Sequence[ClusterService]) -> list[tuple[ClusterService, int]]:
    return [(s, port) for s in services for port in s.ports]


def probe_from_router(
    transport: Transport,
    services: Sequence[ClusterService],
    *,
    attempts: int = 4,
    timeout: float = 3.0,
) -> list[ProbeResult]:
    """HTTP GET each service address:port from the router (busybox nc), one exec."""
    targets = _targets(services)
    if not targets:
        return []
    marker = new_marker()
    # OpenWrt's busybox has the nc applet; where it is not linked, call busybox directly
    lines = [f"M={marker}", 'NC=nc; command -v nc >/dev/null 2>&1 || NC="busybox nc"']
    for i, (svc, port) in enumerate(targets):
        req = f"GET / HTTP/1.0\\r\\nHost: {svc.address}\\r\\nConnection: close\\r\\n\\r\\n"
        for a in range(attempts):
            lines.append(
                f"echo \"$M p {i} {a}\"; printf '{req}' | $NC -w {int(timeout)} "
                f'{shlex.quote(str(svc.address))} {port} 2>&1; echo "$M rc $?"'
            )
    lines.append('echo "$M end"')
    budget = len(targets) * attempts * (timeout + 1) + 10
    res = transport.run("sh -s", stdin=("\n".join(lines) + "\n").encode(), timeout=budget)
    sec = split_output(res.stdout, marker)
    out: list[ProbeResult] = []
    for i, (svc, port) in enumerate(targets):
        ok, answers, error = 0, [], None
        for a in range(attempts):
            body = sec.get(f"p {i} {a}", "")
            rc = sec.get(f"p {i} {a} rc", "1").strip()
            if rc == "0" and body.strip():
                ok += 1
                answers.append(_http_answer(body))
            else:
                error = body.strip().splitlines()[-1] if body.strip() else f"nc exit {rc}"
        out.append(
            ProbeResult(
                service=svc.qualified_name,
                address=svc.address,
                port=port,
                source="router",
                attempts=attempts,
                succeeded=ok,
                answers=tuple(sorted(set(answers))),
                error=error,
            )
        )
    return out


def _probe_once(addr: IPAddress, port: int, timeout: float) -> str:
    with socket.create_connection((str(addr), port), timeout=timeout) as s:
        req = f"GET / HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        s.sendall(req.encode())
        chunks: list[bytes] = []
        try:
            while True:
                data = s.recv(4096)
                if not data or sum(len(c) for c in chunks) > 65536:
                    break
                chunks.append(data)
        except TimeoutError:
            pass
    return _http_answer(b"".join(chunks).decode("utf-8", "replace"))


def probe_local(
    services: Sequence[ClusterService], *, attempts: int = 4, timeout: float = 3.0
) -> list[ProbeResult]:
    """TCP connect + HTTP GET from where routerctl runs."""
    out: list[ProbeResult] = []
    for svc, port in _targets(services):
        ok, answers, error = 0, [], None
        for _ in range(attempts):
            try:
                answers.append(_probe_once(svc.address, port, timeout))
                ok += 1
            except OSError as exc:
                error = exc.strerror or type(exc).__name__
        out.append(
            ProbeResult(
                svc.qualified_name,
                svc.address,
                port,
                "local",
                attempts,
                ok,
                tuple(sorted({a for a in answers if a})),
                error,
            )
        )
    return out
