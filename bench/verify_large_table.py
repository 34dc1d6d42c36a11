"""Item 3: verify with 0 vs N unrelated routes on the router (kernel routes zebra learns).

The routes are blackhole /32s in 10.0.0.0/8 added with ``ip -batch`` in the router's
namespace under their own kernel protocol number, so they carry no traffic and can be
flushed exactly. The item is bench/items/large_table.py; ``python -m bench --only 3``
runs it inside the bench, and so does this script, standalone:

    python bench/verify_large_table.py [--routes N] [--runs N]     (root)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: the repository's packages first
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import main as bench_main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    argv = ["--only", "3", "--routes", str(args.routes), "--runs", str(args.runs)]
    return bench_main(argv)


if __name__ == "__main__":
    sys.exit(main())
