#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: routerctl authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: routerctl_provision
short_description: Provision an OpenWrt router as a BGP peer for MetalLB with routerctl
version_added: "0.1.0"
description:
  - Installs the routing suite if needed, applies the delta between the router's running
    BGP config and the one the topology file describes in one vtysh session, persists it and
    reads it back; any failure restores the previous config (reported as a failure with
    C(rolled_back=true)).
  - Runs on the controller (C(delegate_to) set to C(localhost)) and connects to the router over SSH
    itself, through routerctl's library API C(routerctl.api).
  - In check mode it only computes routerctl's plan; C(changed) says whether the router
    would change. With C(--diff) the plan is shown (passwords redacted).
options:
  topology:
    description:
      - The routerctl topology file. Default C($ROUTERCTL_TOPOLOGY), else C(./routerctl.yaml).
    type: path
  router:
    description:
      - The router's name in the topology; usually C({{ inventory_hostname }}).
      - May be omitted when the topology has exactly one router.
    type: str
  confirm_timeout:
    description:
      - After applying, wait up to this many seconds for every node's BGP session to be
        Established; roll back if not.
    type: float
requirements:
  - routerctl (the Python package) on the controller
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
author:
  - routerctl authors
"""

EXAMPLES = r"""
- name: Provision the router (plan in check mode)
  routerctl.routerctl.routerctl_provision:
    topology: routerctl.yaml
    router: "{{ inventory_hostname }}"
    confirm_timeout: 60
  delegate_to: localhost
"""

RETURN = r"""
plan:
  description: The plan (routerctl's owned-subset diff), passwords redacted.
  returned: always
  type: dict
  sample: {"router": "rtr1", "asn": 65000, "changed": true, "notes": [], "changes": []}
result:
  description: What provision did (suite, packages installed, lines sent, sessions Established).
  returned: when not in check mode
  type: dict
exit_code:
  description:
    - The exit code the routerctl CLI would use (0 ok, 3 unreachable, 4 refused, 5 rolled back).
  returned: always
  type: int
rolled_back:
  description: On failure, whether the router was restored to its previous config.
  returned: failure
  type: bool
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
            confirm_timeout=dict(type="float"),
        ),
        supports_check_mode=True,
    )
    require_routerctl(module)
    topology = load(module)
    try:
        res = api.provision(
            topology,
            module.params["router"],
            dry_run=module.check_mode,
            confirm_timeout=module.params["confirm_timeout"],
        )
    except RouterctlError as exc:
        fail(module, exc)
    plan = res.plan
    changed = (not plan.empty) if module.check_mode else res.applied
    out = dict(changed=changed, plan=plan.to_json(), exit_code=0)
    if not module.check_mode:
        out["result"] = res.to_json()
    if module._diff and not plan.empty:
        out["diff"] = dict(prepared=plan.describe())
    module.exit_json(**out)


if __name__ == "__main__":
    main()
