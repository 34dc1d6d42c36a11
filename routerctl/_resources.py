"""Access to data shipped inside the package (TextFSM templates)."""

from __future__ import annotations

import sys
from importlib.resources import files
from pathlib import Path

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:
    from importlib.abc import Traversable


def parsers_dir() -> Traversable:
    """The TextFSM template folder.

    In a wheel the top-level ``parsers/`` is mapped to ``routerctl/parsers`` at build
    time; in a source checkout (editable install) it is the sibling folder.
    """
    packaged = files("routerctl").joinpath("parsers")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "parsers"
