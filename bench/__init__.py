"""Benchmarks of routerctl against the lab (``python -m bench``; see the README, section "Benchmarks")."""
