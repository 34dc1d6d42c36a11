#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: routerctl authors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: routerctl_render
short_description: Render MetalLB manifests from a routerctl topology
version_added: "0.1.0"
description:
  - The cluster side of the topology file - MetalLB CRDs (MetalLB 0.13 and later) or the
    legacy ConfigMap - as a list of manifests to feed C(kubernetes.core.k8s), and as YAML.
  - Changes nothing; runs on the controller through routerctl's library API C(routerctl.api).
options:
  topology:
    description:
      - The routerctl topology file. Default C($ROUTERCTL_TOPOLOGY), else C(./routerctl.yaml).
    type: path
  format:
    description:
      - C(crds) for MetalLB 0.13 and later, C(configmap) for the legacy ConfigMap.
    type: str
    choices: [crds, configmap]
    default: crds
  router:
    description:
      - Only this router as a BGP peer (C(crds) only). Default every router.
    type: str
  include_secret:
    description:
      - Write the BGP password (a Secret for C(crds), inline for C(configmap)).
    type: bool
    default: false
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
- name: Render MetalLB's config
  routerctl.routerctl.routerctl_render:
    topology: routerctl.yaml
  delegate_to: localhost
  register: metallb

- name: Apply it
  kubernetes.core.k8s:
    definition: "{{ item }}"
  loop: "{{ metallb.manifests }}"
"""

RETURN = r"""
manifests:
  description: The manifests, in apply order.
  returned: always
  type: list
  elements: dict
yaml:
  description: The same as multi-document YAML for C(kubectl apply -f -).
  returned: always
  type: str
notes:
  description: What to know - a Secret to create, settings the format cannot express.
  returned: always
  type: list
  elements: str
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
            format=dict(type="str", choices=["crds", "configmap"], default="crds"),
            router=dict(type="str"),
            include_secret=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    require_routerctl(module)
    topology = load(module)
    try:
        rendered = api.render_metallb(
            topology,
            format=module.params["format"],
            router_name=module.params["router"],
            include_secret=module.params["include_secret"],
        )
    except RouterctlError as exc:
        fail(module, exc)
    module.exit_json(
        changed=False,
        manifests=list(rendered.docs),
        yaml=rendered.yaml,
        notes=list(rendered.notes),
    )


if __name__ == "__main__":
    main()
