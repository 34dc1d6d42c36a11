"""MetalLB's own config: read it (legacy ConfigMap or CRDs), convert and import it."""
