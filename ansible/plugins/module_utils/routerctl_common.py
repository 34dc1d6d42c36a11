# -*- coding: utf-8 -*-
# Copyright: routerctl authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the routerctl modules share: importing routerctl, loading the topology, errors."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    from routerctl import api
    from routerctl.errors import RolledBackError, RouterctlError

    HAS_ROUTERCTL = True
    ROUTERCTL_IMPORT_ERROR = None
except ImportError:
    HAS_ROUTERCTL = False
    ROUTERCTL_IMPORT_ERROR = traceback.format_exc()

TOPOLOGY_OPTION = dict(type="path", default=None)


def require_routerctl(module):
    if not HAS_ROUTERCTL:
        module.fail_json(msg=missing_required_lib("routerctl"), exception=ROUTERCTL_IMPORT_ERROR)


def fail(module, exc, **extra):
    """One line (what, where, how to fix) and routerctl's exit code, never a traceback."""
    module.fail_json(
        msg=exc.one_line(),
        exception="",  # an expected failure: its one line says it all, no traceback
        exit_code=exc.exit_code,
        rolled_back=isinstance(exc, RolledBackError),
        **extra,
    )


def load(module):
    """The topology named by the ``topology`` option (default ``$ROUTERCTL_TOPOLOGY`` or
    ``./routerctl.yaml``)."""
    try:
        return api.load_topology(module.params["topology"])
    except RouterctlError as exc:
        fail(module, exc)
