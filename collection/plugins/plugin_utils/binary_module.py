# Copyright: netpath developers
# SPDX-License-Identifier: Apache-2.0
"""The action behind every netpath module.

The modules are one static x86_64 Linux binary. On any other host, running it
would end in an opaque "Exec format error", so the action first asks the
target what it is and fails with a message that says why.

Then it runs the binary directly: one command, the arguments as JSON on
stdin (``netpath -``). Ansible's own way for a binary module is a temp dir,
a copy of the 10 MB binary and an args file, chmod, exec and rm: four more
round trips and the copy on every task, which is most of a netpath task's
time (BENCHMARKS.md). On the local connection the collection's own
``libexec/netpath`` runs in place; on a remote host the binary is copied once
into ``~/.ansible/netpath/<sha256>/`` of the user that runs it (the host
variable ``netpath_remote_cache`` moves it), and later tasks run that copy.
Ansible's standard path is kept only where the direct one cannot run: async
tasks, ``keep_remote_files``, become without pipelining (a password prompt
needs the terminal that stdin would be), and ``NETPATH_DIRECT=0`` in the
controller's environment.

The result is handed back exactly as ``_execute_module`` would: ansible-core
changed how it decodes and cleans module results twice (data tagging in
2.19, result objects in 2.21), so the action asks the running ansible-core
what it has (the module JSON encoders, the shape `_parse_returned_data`
returns) instead of trusting a version number or a signature.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

display = Display()

# Names `uname -m` and the architecture fact use for the one platform shipped.
X86_64 = frozenset(("x86_64", "amd64"))

# The collection's root: plugins/plugin_utils/ is two levels below it.
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(COLLECTION_ROOT, "libexec", "netpath")
# Where a remote host keeps its copy, under the home of the user running it.
REMOTE_CACHE = "~/.ansible/netpath"
# The cache path goes unquoted into a shell command so that ~ expands.
SAFE_PATH = re.compile(r"^~?[A-Za-z0-9_./-]+$")
# sh's exit codes for a command it could not find or not execute.
NOT_RUNNABLE = (126, 127)


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


def binary_digest(path):
    """The binary's sha256: from the installed collection's FILES.json (no
    need to read 10 MB per task), else computed."""
    rel = os.path.relpath(path, COLLECTION_ROOT)
    try:
        with open(os.path.join(COLLECTION_ROOT, "FILES.json")) as f:
            for entry in json.load(f).get("files", []):
                if entry.get("name") == rel and entry.get("chksum_sha256"):
                    return entry["chksum_sha256"]
    except (OSError, ValueError):
        pass
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


try:
    # ansible-core 2.19+ (data tagging): arguments and results cross to and
    # from modules through a serialization profile; binary modules use
    # "legacy", and `_parse_returned_data` takes the profile.
    from ansible.module_utils.common.json import Direction, get_module_encoder
except ImportError:  # 2.16-2.18: plain JSON both ways
    Direction = get_module_encoder = None

# The profile `_execute_module` uses for binary modules (2.19+).
PROFILE = "legacy"


def encode_args(args):
    """Module arguments as the bytes `_execute_module` would send."""
    if get_module_encoder is None:
        return json.dumps(args).encode()
    return json.dumps(args, cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)).encode()


def clean_result(data):
    """What `_execute_module` does with a parsed result before returning it.

    2.21+ parses into a result object that cleans itself; 2.16-2.20 return a
    plain dict that `ansible.vars.clean.remove_internal_keys` cleans in place.
    """
    if hasattr(data, "remove_internal_keys"):
        data.remove_internal_keys()
        return data.as_result_dict(for_round_trip=True)
    from ansible.vars.clean import remove_internal_keys

    # No temp dir exists on this path, so there is nothing to keep.
    data.pop("_ansible_suppress_tmpdir_delete", None)
    remove_internal_keys(data)
    if get_module_encoder is None:
        # Before data tagging, module output is marked unsafe here so that
        # no later template expands what a module returned.
        from ansible.utils.unsafe_proxy import wrap_var

        data = wrap_var(data)
    return data


class BinaryModuleAction(ActionBase):
    """Checks the target platform, then runs the module (see module doc)."""

    _supports_check_mode = True
    _supports_async = True

    def _target_platform(self, task_vars):
        # Gathered facts describe the inventory host, not a delegate: only
        # trust them when the task runs on the inventory host itself.
        if not self._task.delegate_to:
            facts = task_vars.get("ansible_facts") or {}
            if facts.get("system") and facts.get("architecture"):
                return facts["system"], facts["architecture"]
        if self._is_local():
            # The target is this machine: no round trip to ask it.
            u = os.uname()
            return u.sysname, u.machine
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

        module = self._task.resolved_action or self._task.action
        direct = self._run_direct(module, task_vars) if self._direct_possible() else None
        if direct is not None:
            return merge_hash(result, direct)

        wrap_async = self._task.async_val
        result = merge_hash(result, self._execute_module(module_name=module, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    # --- direct execution --------------------------------------------------

    def _direct_possible(self):
        if os.environ.get("NETPATH_DIRECT", "1") == "0":
            return False
        if self._task.async_val or C.DEFAULT_KEEP_REMOTE_FILES:
            return False
        if not os.path.isfile(BINARY):
            return False
        if self._play_context.become and not self._connection.is_pipelining_enabled():
            return False
        return True

    def _is_local(self):
        return self._connection.transport in ("local", "ansible.builtin.local")

    def _run_direct(self, module, task_vars):
        """The module's result, or None to use Ansible's standard path."""
        args = dict(self._task.args)
        self._update_module_args(module, args, task_vars)
        data = encode_args(args)
        env = self._compute_environment_string()
        quote = self._connection._shell.quote

        if self._is_local():
            if not os.access(BINARY, os.X_OK):
                return None
            res = self._exec(env, quote(BINARY), data)
            if self._not_runnable(res):
                return None  # e.g. a become user who cannot read the collection
            return self._parsed(res)

        root = str(task_vars.get("netpath_remote_cache") or REMOTE_CACHE).rstrip("/")
        if not SAFE_PATH.match(root) or ".." in root.split("/"):
            return {
                "failed": True,
                "msg": "netpath_remote_cache %r: use a plain path like ~/.ansible/netpath "
                "(letters, digits, '_', '.', '-', '/', and ~ first)" % root,
            }
        digest = binary_digest(BINARY)
        cache = "%s/%s" % (root, digest)
        # Unquoted: the remote shell expands ~ for the user that runs it.
        remote = cache + "/netpath"
        res = self._exec(env, remote, data)
        if self._not_runnable(res):
            display.vvv("netpath: copying the binary to %s on the target, once" % cache)
            self._install(root, digest)
            res = self._exec(env, remote, data)
            if self._not_runnable(res):
                return None  # no writable home, noexec mount...: the standard way
        return self._parsed(res)

    def _exec(self, env, program, data):
        cmd = "%s %s -" % (env, program) if env else "%s -" % program
        return self._low_level_execute_command(cmd, sudoable=True, in_data=data)

    @staticmethod
    def _not_runnable(res):
        return res.get("rc") in NOT_RUNNABLE and not (res.get("stdout") or "").strip()

    def _install(self, root, digest):
        """Copies the binary through a temp dir (Ansible's transfer, with its
        permission fix-ups for become) into ROOT/DIGEST, atomically, and
        drops the copies of other versions."""
        cache = "%s/%s" % (root, digest)
        tmpdir = self._make_tmp_path()
        staged = self._connection._shell.join_path(tmpdir, "netpath")
        try:
            self._transfer_file(BINARY, staged)
            self._fixup_perms2([tmpdir, staged])
            part = "%s/.netpath.$$" % cache
            # Older copies go, but only directories named like a sha256 that
            # hold a netpath binary: the root may be shared with other files.
            cmd = (
                "umask 077 && mkdir -p {cache} && cp {staged} {part} && chmod 0700 {part} && mv -f {part} {cache}/netpath"
                " && {{ for old in {root}/*/netpath; do n=${{old%/netpath}}; n=${{n##*/}}; [ \"$n\" = {digest} ] && continue;"
                " [ ${{#n}} -eq 64 ] && [ -z \"$(printf %s \"$n\" | tr -d 0-9a-f)\" ] && rm -rf {root}/\"$n\"; done; true; }}"
            ).format(cache=cache, part=part, staged=self._connection._shell.quote(staged), root=root, digest=digest)
            res = self._low_level_execute_command(cmd, sudoable=True)
            if res.get("rc") != 0:
                display.warning("netpath: could not cache the binary in %s: %s" % (cache, (res.get("stderr") or "").strip()))
        finally:
            self._remove_tmp_path(tmpdir)

    def _parsed(self, res):
        """The result as `_execute_module` returns it."""
        if get_module_encoder is None:
            return clean_result(self._parse_returned_data(res))
        return clean_result(self._parse_returned_data(res, PROFILE))
