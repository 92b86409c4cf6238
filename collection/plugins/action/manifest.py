# Copyright: netpath developers
# SPDX-License-Identifier: Apache-2.0
"""Action for netpath.calico_alb.manifest.

Before the binary runs, it does on the controller what kubernetes.core's
k8s action does, so kubernetes.core.k8s playbooks work unchanged:

- ``src``: on the local connection a relative path is looked up like any
  file a task names (the role's ``files/``, then the play's); on other
  connections it stays a path on the managed host.
- ``template``: rendered here with the task's variables (the role's
  ``templates/``, then the play's) and sent as ``definition``.

Then it runs the module as every netpath action does
(plugins/plugin_utils/binary_module.py).
"""

from __future__ import annotations

import copy

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.netpath.calico_alb.plugins.plugin_utils.binary_module import BinaryModuleAction

try:  # ansible-core 2.19 and later: templates must be trusted explicitly
    from ansible.template import trust_as_template
except ImportError:
    trust_as_template = None

# The template options kubernetes.core.k8s takes, with its defaults.
TEMPLATE_DEFAULTS = {
    "newline_sequence": "\n",
    "variable_start_string": None,
    "variable_end_string": None,
    "block_start_string": None,
    "block_end_string": None,
    "trim_blocks": True,
    "lstrip_blocks": False,
}
NEWLINES = {"\\n": "\n", "\\r": "\r", "\\r\\n": "\r\n", "\n": "\n", "\r": "\r", "\r\n": "\r\n"}
URL_PREFIXES = ("http://", "https://", "ftp://")


class ControllerInputError(Exception):
    """A src or template the controller cannot resolve: the task fails with it."""


def template_items(template):
    """kubernetes.core's template forms (a path, a dict with path and Jinja2
    options, or a list of those) as a list of option dicts."""
    items = template if isinstance(template, list) else [template]
    out = []
    for i, item in enumerate(items):
        where = "template[%d]" % i if isinstance(template, list) else "template"
        opts = dict(TEMPLATE_DEFAULTS)
        if isinstance(item, str):
            opts["path"] = item
        elif isinstance(item, dict):
            unknown = sorted(set(item) - set(TEMPLATE_DEFAULTS) - {"path"})
            if unknown:
                raise ControllerInputError(
                    "%s: unsupported keys %s; supported: path, %s" % (where, ", ".join(unknown), ", ".join(sorted(TEMPLATE_DEFAULTS)))
                )
            if not item.get("path"):
                raise ControllerInputError("%s: path is missing: name the template file, e.g. path: app.yaml.j2" % where)
            opts.update((k, v) for k, v in item.items() if v is not None)
            for k in ("trim_blocks", "lstrip_blocks"):
                try:
                    opts[k] = boolean(opts[k], strict=True)
                except TypeError:
                    raise ControllerInputError("%s.%s must be a boolean, got %r" % (where, k, opts[k]))
        else:
            raise ControllerInputError(
                "%s must be a path or a dict with path (as in kubernetes.core.k8s), got %s" % (where, type(item).__name__)
            )
        if opts["newline_sequence"] not in NEWLINES:
            raise ControllerInputError("%s.newline_sequence must be one of \\n, \\r or \\r\\n" % where)
        opts["newline_sequence"] = NEWLINES[opts["newline_sequence"]]
        out.append(opts)
    return out


class ActionModule(BinaryModuleAction):
    """Resolves src and template on the controller, then runs the module."""

    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        original = self._task.args
        try:
            args = self._controller_args(copy.deepcopy(dict(original)), task_vars)
        except ControllerInputError as e:
            result = super(BinaryModuleAction, self).run(tmp, task_vars)
            result.update(failed=True, msg=str(e))
            return result
        # The parent runs the module with the task's args: hand it ours.
        self._task.args = args
        try:
            return super().run(tmp, task_vars)
        finally:
            self._task.args = original

    def _controller_args(self, args, task_vars):
        src = args.get("src")
        if isinstance(src, str) and src and not src.startswith(URL_PREFIXES) and self._is_local():
            try:
                args["src"] = self._find_needle("files", src)
            except AnsibleError as e:
                raise ControllerInputError("src %s: %s" % (src, to_text(e)))
        template = args.pop("template", None)
        if template:
            args["definition"] = self._render(template, task_vars)
        return args

    def _render(self, template, task_vars):
        """Each template rendered with the task's variables, its YAML
        documents in one list (as kubernetes.core sends them)."""
        import yaml

        documents = []
        for opts in template_items(template):
            path = opts["path"]
            try:
                found = self._find_needle("templates", path)
                real = self._loader.get_real_file(found)
            except AnsibleError as e:
                raise ControllerInputError("template %s: %s" % (path, to_text(e)))
            try:
                with open(real, "rb") as f:
                    data = f.read().decode("utf-8")
            except UnicodeError:
                raise ControllerInputError("template %s: template files must be UTF-8" % path)
            finally:
                self._loader.cleanup_tmp_file(real)
            rendered = self._template(data, opts, task_vars)
            try:
                documents.extend(d for d in yaml.safe_load_all(rendered) if d is not None)
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                at = " at line %d" % (mark.line + 1) if mark else ""
                # No excerpt: the rendered text may hold a Secret's values.
                raise ControllerInputError("template %s rendered to invalid YAML%s; check the template's output" % (path, at))
        if not documents:
            # The module refuses an empty definition with its usual message.
            return ""
        return documents

    def _template(self, data, opts, task_vars):
        overrides = {
            k: opts[k]
            for k in (
                "variable_start_string",
                "variable_end_string",
                "block_start_string",
                "block_end_string",
                "trim_blocks",
                "lstrip_blocks",
                "newline_sequence",
            )
            if opts[k] is not None
        }
        try:
            if trust_as_template is not None:
                templar = self._templar.copy_with_new_env(available_variables=task_vars)
                return templar.template(
                    trust_as_template(data),
                    preserve_trailing_newlines=True,
                    escape_backslashes=False,
                    overrides=overrides,
                )
            # ansible-core < 2.19: Jinja2 options live on the environment.
            env = self._templar.environment
            saved = {k: getattr(env, k) for k in overrides if hasattr(env, k)}
            old_vars = self._templar.available_variables
            try:
                for k, v in overrides.items():
                    if hasattr(env, k):
                        setattr(env, k, v)
                self._templar.available_variables = task_vars
                return self._templar.do_template(data, preserve_trailing_newlines=True, escape_backslashes=False)
            finally:
                for k, v in saved.items():
                    setattr(env, k, v)
                self._templar.available_variables = old_vars
        except AnsibleError as e:
            raise ControllerInputError("template %s: %s" % (opts["path"], to_text(e)))
