# Copyright: netpath developers
# SPDX-License-Identifier: Apache-2.0
"""Records every task result of a k8s_compat run as one JSON line.

The runner tags each task it rewrote with ``compat_task_id`` (and
``compat_expect_failure`` where the target itself ignores errors) in the
task's own vars; this callback writes those with the outcome to the file
named by ``NETPATH_COMPAT_RECORD``.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: compat_record
type: aggregate
short_description: Records task outcomes for tests/k8s_compat/run
description: Writes one JSON line per task result to NETPATH_COMPAT_RECORD.
requirements: [enabled in callbacks_enabled]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "compat_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get("NETPATH_COMPAT_RECORD")

    def _write(self, result, status):
        if not self._path:
            return
        task = result._task
        own = task.vars or {}
        res = result._result or {}
        msg = res.get("msg") or res.get("message") or ""
        if not msg and res.get("assertion"):
            msg = "assertion failed: %s" % res.get("assertion")
        if not msg and status == "failed" and res.get("results"):
            msgs = [r.get("msg") for r in res["results"] if isinstance(r, dict) and r.get("failed")]
            msg = "; ".join(str(m) for m in msgs if m)
        entry = {
            "id": own.get("compat_task_id"),
            "expect_failure": bool(own.get("compat_expect_failure")),
            "name": task.get_name(),
            "action": task.action,
            "status": status,
            "msg": str(msg)[:600],
        }
        with open(self._path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def v2_runner_on_ok(self, result):
        self._write(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._write(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._write(result, "failed")
