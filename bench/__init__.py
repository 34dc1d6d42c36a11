"""Benchmarks of routerctl against the lab (``python -m bench``; README: "Benchmarks")."""
