"""Pure renderers: Topology in, config text/structures out (no I/O)."""
