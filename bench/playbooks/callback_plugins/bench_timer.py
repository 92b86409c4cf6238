# Copyright: netpath developers
# SPDX-License-Identifier: Apache-2.0
"""Per-task wall time for bench/run: from the strategy starting a task to its
result reaching the controller, i.e. everything Ansible does for that task
(templating, worker fork, temp dir, file transfer, the module, clean-up).

Writes one JSON line per task result to $BENCH_TIMER_OUT.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_timer
type: aggregate
short_description: per-task wall time as JSON lines (netpath benchmarks)
description: Writes {task, action, seconds, status, changed} per result to $BENCH_TIMER_OUT.
requirements: [enable in callbacks_enabled]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._start = None
        self._task = None
        path = os.environ.get("BENCH_TIMER_OUT")
        self._out = open(path, "a", encoding="utf-8") if path else None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task = task
        self._start = time.perf_counter()

    def _record(self, result, status):
        if self._out is None or self._start is None:
            return
        res = result._result
        line = {
            "task": self._task.get_name(),
            "action": self._task.action,
            "seconds": time.perf_counter() - self._start,
            "status": status,
            "changed": bool(res.get("changed")),
        }
        if status != "ok":
            line["msg"] = str(res.get("msg", ""))[:2000]
        self._out.write(json.dumps(line) + "\n")
        self._out.flush()

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._record(result, "unreachable")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")
