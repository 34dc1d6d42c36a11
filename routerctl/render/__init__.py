"""Renderers: pure functions from a Topology to config text or manifests (no I/O)."""
