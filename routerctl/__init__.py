"""routerctl: an OpenWrt router as a verified BGP peer for MetalLB."""

__version__ = "0.1.0"
