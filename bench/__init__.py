"""Benchmarks of routerctl against the lab (``python -m bench``; see docs/readme/bench.md)."""
