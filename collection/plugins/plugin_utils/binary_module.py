# Copyright: netpath developers
# SPDX-License-Identifier: Apache-2.0
"""The action behind every netpath module.

The modules are one static x86_64 Linux binary. On any other host, running it
would end in an opaque "Exec format error", so the action first asks the
target what it is and fails with a message that says why.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

# Names `uname -m` and the architecture fact use for the one platform shipped.
X86_64 = frozenset(("x86_64", "amd64"))


def unsupported_reason(host, system, machine):
    """Return why HOST cannot run the binary, or None when it can."""
    if system == "Linux" and machine in X86_64:
        return None
    return (
        "netpath modules ship only an x86_64 Linux binary; "
        "%s is %s %s: no arm64 build exists yet" % (host, system or "unknown-os", machine or "unknown-arch")
    )


def parse_uname(stdout):
    """Split `uname -s -m` output into (system, machine)."""
    parts = (stdout or "").split()
    if len(parts) < 2:
        return None, None
    return parts[0], parts[-1]


class BinaryModuleAction(ActionBase):
    """Checks the target platform, then runs the module like the normal action."""

    _supports_check_mode = True
    _supports_async = True

    def _target_platform(self, task_vars):
        # Gathered facts describe the inventory host, not a delegate: only
        # trust them when the task runs on the inventory host itself.
        if not self._task.delegate_to:
            facts = task_vars.get("ansible_facts") or {}
            if facts.get("system") and facts.get("architecture"):
                return facts["system"], facts["architecture"]
        res = self._low_level_execute_command("uname -s -m", sudoable=False)
        if res.get("rc") != 0:
            return None, None
        return parse_uname(res.get("stdout"))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.6

        host = task_vars.get("inventory_hostname", "the target")
        if self._task.delegate_to:
            host = self._task.delegate_to
        reason = unsupported_reason(host, *self._target_platform(task_vars))
        if reason:
            result.update(failed=True, msg=reason)
            return result

        wrap_async = self._task.async_val
        module = self._task.resolved_action or self._task.action
        result = merge_hash(result, self._execute_module(module_name=module, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
