#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: routerctl authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: routerctl_verify
short_description: Verify that an OpenWrt router routes MetalLB's services, with routerctl
version_added: "0.1.0"
description:
  - Reads the router's state in one SSH exec and checks it against the topology file - the
    routing daemons, the BGP instance, every node's session Established, every service
    address routed via exactly the nodes announcing it, no stale routes.
  - Fails with the failing checks' messages; every check is returned as data either way.
  - Read-only, so it runs the same in check mode. Runs on the controller
    (C(delegate_to) set to C(localhost)) through routerctl's library API C(routerctl.api).
options:
  topology:
    description:
      - The routerctl topology file. Default C($ROUTERCTL_TOPOLOGY), else C(./routerctl.yaml).
    type: path
  router:
    description:
      - The router's name in the topology; usually C({{ inventory_hostname }}).
      - Default every router.
    type: str
  wait:
    description:
      - Poll until every check passes, up to this many seconds.
    type: float
requirements:
  - routerctl (the Python package) on the controller
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - routerctl authors
"""

EXAMPLES = r"""
- name: Verify the router (gate of a rolling update)
  routerctl.routerctl.routerctl_verify:
    topology: routerctl.yaml
    router: "{{ inventory_hostname }}"
    wait: 90
  delegate_to: localhost
"""

RETURN = r"""
ok:
  description: Whether every check passed.
  returned: always
  type: bool
status:
  description: The worst severity (ok, warning, critical, unknown).
  returned: always
  type: str
checks:
  description: Every check - name, ok, severity, expected, observed, hint, router.
  returned: always
  type: list
  elements: dict
failing:
  description: One line per failing check.
  returned: always
  type: list
  elements: str
exit_code:
  description: The exit code C(routerctl verify) would use (0 ok, 1 failing, 3 only unknown).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.routerctl.routerctl.plugins.module_utils.routerctl_common import (
    TOPOLOGY_OPTION,
    fail,
    load,
    require_routerctl,
)

try:
    from routerctl import api
    from routerctl.errors import RouterctlError
except ImportError:
    pass  # reported by require_routerctl


def main():
    module = AnsibleModule(
        argument_spec=dict(
            topology=TOPOLOGY_OPTION,
            router=dict(type="str"),
            wait=dict(type="float"),
        ),
        supports_check_mode=True,
    )
    require_routerctl(module)
    topology = load(module)
    try:
        report = api.verify(topology, module.params["router"], wait=module.params["wait"])
    except RouterctlError as exc:
        fail(module, exc)
    checks = [
        dict(
            name=c.name,
            ok=c.ok,
            severity=c.severity.value,
            expected=c.expected,
            observed=c.observed,
            hint=c.hint,
            router=c.router,
        )
        for c in report.checks
    ]
    out = dict(
        changed=False,
        ok=report.ok,
        status=report.status.value,
        checks=checks,
        failing=report.messages(),
        exit_code=report.exit_code,
    )
    if not report.ok:
        module.fail_json(msg="; ".join(report.messages()), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
