"""``python -m bench [--help]``: run the benchmarks (root, the lab's tools installed)."""

import sys

from bench.run import main

sys.exit(main())
