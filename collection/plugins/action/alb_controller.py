# Copyright: netpath developers
# SPDX-License-Identifier: Apache-2.0
"""Action for netpath.calico_alb.alb_controller: refuses hosts that cannot run the binary, then runs it."""

from __future__ import annotations

from ansible_collections.netpath.calico_alb.plugins.plugin_utils.binary_module import BinaryModuleAction


class ActionModule(BinaryModuleAction):
    """See plugins/plugin_utils/binary_module.py."""
