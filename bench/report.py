"""The run's report: the machine's facts and the table, items in order."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from pathlib import Path

from bench.harness import ITEMS, Context


def machine_facts() -> dict[str, str]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 2**20:.0f} GiB"
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False).stderr.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{cpu}, {os.cpu_count()} CPUs, {mem} RAM, Linux {platform.release()}",
        "python": platform.python_version(),
        "OpenSSH": ssh.split(",")[0],
        "load at start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def report(ctx: Context) -> str:
    order = {k: i for i, k in enumerate(ITEMS)}
    ctx.table.rows.sort(key=lambda r: order[r.item])
    facts = "\n".join(f"{k}: {v}" for k, v in ctx.facts.items())
    return f"{facts}\n\n{ctx.table.text()}\n"
