"""The bench items, one module each (items 1 and 2 are measured in the same rounds)."""
