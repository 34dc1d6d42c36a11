"""Benchmark the parsers on generated ``show ip route`` outputs (10k, 100k, 1M routes).

For each size it times, in a fresh child process each (so peak RSS is per run):
  floorrx   the floor rule's regex alone, line by line (no TextFSM)
  regex     our template's Start-state regexes tried in rule order (no TextFSM): the
            regex cost, compared with floorrx (pathological regexes would show here)
  floor     TextFSM with a one-rule template (``^${LINE} -> Record``) on the same text
  template  our frr_show_ip_route.textfsm alone (TextFSM rows, no model)
  text      parse_routes(): template + conversion to Route/NextHop objects
  jsonfloor json.loads() alone on the equivalent FRR 8.4 ``show ip route json``: the
            JSON path's floor (its decoder, in C, before any routerctl code)
  json      parse_routes() on that JSON
and prints lines/s (routes/s for JSON), CPU seconds, and the peak memory the parse
added on top of the loaded input (peak RSS growth).
The cyclic GC is off in every run, as routerctl.parsing keeps it while parsing.

    python bench/parsers.py            # 10k, 100k, 1M (about 2-3 minutes)
    python bench/parsers.py 10000      # just one size
"""

from __future__ import annotations

import gc
import io
import ipaddress
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import textfsm

from routerctl._resources import parsers_dir
from routerctl.parsing import parse_routes
from routerctl.parsing.detect import prepare
from routerctl.parsing.text import run_template

LEGEND = """Codes: K - kernel route, C - connected, S - static, R - RIP,
       O - OSPF, I - IS-IS, B - BGP, E - EIGRP, N - NHRP,
       T - Table, v - VNC, V - VNC-Direct, A - Babel, F - PBR,
       f - OpenFabric,
       > - selected route, * - FIB route, q - queued, r - rejected, b - backup
       t - trapped, o - offload failure

"""
FLOOR_TEMPLATE = "Value LINE (.*)\n\nStart\n  ^${LINE} -> Record\n"
NODES = ("198.51.100.11", "198.51.100.12")


def _prefix(i: int) -> str:
    return f"{ipaddress.IPv4Address(0x0A000000 + i)}/32"


def generate_text(n: int) -> str:
    """FRR 8.4 layout; every second route is ECMP over both nodes (a continuation line)."""
    out = [LEGEND]
    for i in range(n):
        p = _prefix(i)
        out.append(f"B>* {p} [20/0] via {NODES[0]}, br-lan, weight 1, 00:00:01\n")
        if i % 2 == 0:
            pad = " " * (len(p) + 5)
            out.append(f"  * {pad}via {NODES[1]}, br-lan, weight 1, 00:00:01\n")
    return "".join(out)


def generate_json(n: int) -> str:
    """The same routes as FRR 8.4 ``show ip route json`` (its keys, compact separators)."""
    doc = {}
    for i in range(n):
        p = _prefix(i)
        hops = [NODES[0], NODES[1]] if i % 2 == 0 else [NODES[0]]
        doc[p] = [
            {
                "prefix": p,
                "prefixLen": 32,
                "protocol": "bgp",
                "vrfId": 0,
                "vrfName": "default",
                "selected": True,
                "destSelected": True,
                "distance": 20,
                "metric": 0,
                "installed": True,
                "table": 254,
                "internalStatus": 16,
                "internalFlags": 8,
                "internalNextHopNum": len(hops),
                "internalNextHopActiveNum": len(hops),
                "nexthopGroupId": 15,
                "installedNexthopGroupId": 15,
                "uptime": "00:00:01",
                "nexthops": [
                    {
                        "flags": 3,
                        "fib": True,
                        "ip": h,
                        "afi": "ipv4",
                        "interfaceIndex": 2,
                        "interfaceName": "br-lan",
                        "active": True,
                        "weight": 1,
                    }
                    for h in hops
                ],
            }
        ]
    return json.dumps(doc, separators=(",", ":"))


def _template_fsm() -> textfsm.TextFSM:
    source = parsers_dir().joinpath("frr_show_ip_route.textfsm").read_text()
    return textfsm.TextFSM(io.StringIO(source))


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since exec) from /proc/self/status, in MB.

    Not getrusage's ru_maxrss: Linux carries the parent's peak into a forked child."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def child(mode: str, path: str) -> None:
    """Run one measurement; print a JSON line {seconds, rows, peak_mb}.

    peak_mb is the growth of the peak RSS over the RSS with the input loaded. It is
    exact once parsing needs more than reading did (about twice the input size),
    which holds for the text and JSON paths; the floor/template rows stay below it.
    """
    text = Path(path).read_text()
    gc.disable()  # as routerctl.parsing does while parsing; same for every mode
    base = _status_mb("VmRSS")
    t0 = time.process_time()
    if mode == "floor":
        fsm = textfsm.TextFSM(io.StringIO(FLOOR_TEMPLATE))
        rows = len(fsm.ParseText(text))
    elif mode == "regex":  # our Start-state regexes tried in rule order, no TextFSM
        rules = [(r.regex_obj, r.line_op == "Continue") for r in _template_fsm().states["Start"]]
        rows = 0
        for line in text.splitlines():
            for rx, cont in rules:
                if rx.match(line) and not cont:
                    rows += 1
                    break
    elif mode == "floorrx":  # the floor rule's regex alone
        rx = textfsm.TextFSM(io.StringIO(FLOOR_TEMPLATE)).states["Start"][0].regex_obj
        rows = sum(1 for line in text.splitlines() if rx.match(line))
    elif mode == "jsonfloor":  # the JSON path's floor: the decoder alone
        rows = len(json.loads(text))
    elif mode == "template":
        rows = len(run_template("frr_show_ip_route.textfsm", prepare(text)).rows)
    else:  # text / json: the public API, model objects included
        rows = len(parse_routes(text, suite="frr", command="show ip route"))
    seconds = time.process_time() - t0  # CPU seconds: the machine may be shared
    peak = _status_mb("VmHWM") - base
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_mb": max(peak, 0.0)}))


def _run(mode: str, path: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(proc.stdout)
    return result


def main(sizes: list[int]) -> None:
    print(
        f"{'routes':>8} {'path':<9} {'lines':>9} {'seconds':>8} {'lines/s':>10} "
        f"{'routes/s':>10} {'peak MB':>8} {'KB/route':>8} {'vs floor':>8}"
        "  (regex vs floorrx; template, text vs floor; json vs jsonfloor)"
    )
    with tempfile.TemporaryDirectory(prefix="routerctl-bench-") as tmp:
        for n in sizes:
            text_path = Path(tmp) / f"routes-{n}.txt"
            json_path = Path(tmp) / f"routes-{n}.json"
            text_path.write_text(generate_text(n))
            json_path.write_text(generate_json(n))
            lines = text_path.read_text().count("\n")
            floor = 0.0
            for mode, path in (
                ("floorrx", text_path),
                ("regex", text_path),
                ("floor", text_path),
                ("template", text_path),
                ("text", text_path),
                ("jsonfloor", json_path),
                ("json", json_path),
            ):
                r = _run(mode, path)
                if mode in ("floor", "floorrx", "jsonfloor"):
                    floor = r["seconds"]
                ratio = (
                    f"{r['seconds'] / floor:.2f}x"
                    if mode in ("template", "text", "regex", "json")
                    else ""
                )
                is_json = mode.startswith("json")
                shown_lines = "" if is_json else str(lines)
                lps = "" if is_json else f"{lines / r['seconds']:,.0f}"
                print(
                    f"{n:>8} {mode:<9} {shown_lines:>9} {r['seconds']:>8.2f} {lps:>10} "
                    f"{n / r['seconds']:>10,.0f} {r['peak_mb']:>8.1f} "
                    f"{r['peak_mb'] * 1024 / n:>8.2f} {ratio:>8}",
                    flush=True,
                )
            text_path.unlink()
            json_path.unlink()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000])
