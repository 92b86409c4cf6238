#!/usr/bin/env python3
# Copyright: netpath developers
# SPDX-License-Identifier: Apache-2.0
"""netpath against what its users would otherwise run, side by side, on one
control plane and in one run (bench/run starts the plane and calls this).

Sides alternate (A B, then B A, ...) so machine drift falls on both equally;
every figure is a median over repetitions with its spread, and the ratios
come from the same run. Sections:

  seed     per task through ansible-playbook: the seed's objects by netpath
           modules vs kubernetes.core.k8s, first apply and no-op re-run, and
           20 no-op tasks of each; netpath also with NETPATH_DIRECT=0
           (Ansible's own temp-dir path for binary modules), to show what
           the collection's direct action saves
  process  the module process alone: no-op apply of one object, start to exit
  bulk     1,000 Ingress + Service pairs in one task vs kubectl apply
           --server-side, first apply and no-op (--bulk-concurrency 8,32
           adds netpath sides with that many requests in flight)
  bulk20k  20,000 objects in one task (--bulk-large): netpath's peak RSS
           and time, first apply and no-op, beside kubectl's (not default)
  memory   peak RSS of each module process, re-running the exact module
           invocations Ansible made (kept with ANSIBLE_KEEP_REMOTE_FILES)

Writes results.json and summary.md into --out and prints the summary.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PLAYBOOKS = os.path.join(HERE, "playbooks")

# What ansible-core 2.21 sends a module besides the user's options.
INTERNAL = {
    "_ansible_check_mode": False,
    "_ansible_diff": False,
    "_ansible_no_log": False,
    "_ansible_debug": False,
    "_ansible_verbosity": 0,
    "_ansible_version": "2.21.5",
    "_ansible_keep_remote_files": False,
    "_ansible_tracebacks_for": [],
    "_ansible_inject_invocation": False,
    "_ansible_target_log_info": None,
}


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


# --- measurement -------------------------------------------------------------


class Proc:
    """One finished process: wall ms, peak RSS MB, output."""

    def __init__(self, ms, rss_mb, rc, out, err):
        self.ms, self.rss_mb, self.rc, self.out, self.err = ms, rss_mb, rc, out, err


GNU_TIME = "/usr/bin/time"


def run_proc(cmd, env=None, cwd=None, check=True, rss=False):
    """Runs CMD; wall time from spawn to reaping. With RSS, also the peak RSS
    of CMD itself, through GNU time: Python starts children with vfork, and
    the kernel then charges the parent's RSS (this harness, ~17 MB) to the
    child's ru_maxrss. time's own ~1 MB before exec is below any figure
    here, and it adds ~1 ms, so timed runs of small processes go without it."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rf:
        argv = [GNU_TIME, "-q", "-f", "%M", "-o", rf.name, *cmd] if rss else cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
        p.wait()
        ms = (time.perf_counter() - t0) * 1000
        out.seek(0)
        err.seek(0)
        peak = None
        if rss:
            text = rf.read().strip().splitlines()
            peak = int(text[-1]) / 1024 if text and text[-1].isdigit() else None
        r = Proc(ms, peak, p.returncode, out.read().decode(errors="replace"), err.read().decode(errors="replace"))
    if check and r.rc != 0:
        raise SystemExit("command failed (rc %d): %s\nstdout: %s\nstderr: %s" % (r.rc, " ".join(cmd), r.out[-3000:], r.err[-3000:]))
    return r


def stats(xs):
    xs = sorted(xs)
    if not xs:
        return None
    q = lambda f: xs[round(f * (len(xs) - 1))]
    return {
        "n": len(xs),
        "median": statistics.median(xs),
        "min": xs[0],
        "max": xs[-1],
        "p10": q(0.1),
        "p90": q(0.9),
    }


def fmt_ms(s):
    """median with spread: p10–p90 for many runs, min–max for few."""
    if s is None:
        return "–"
    lo, hi = (s["p10"], s["p90"]) if s["n"] >= 10 else (s["min"], s["max"])
    f = (lambda v: "%.0f" % v) if s["median"] >= 100 else (lambda v: "%.1f" % v)
    return "%s ms (%s–%s, n=%d)" % (f(s["median"]), f(lo), f(hi), s["n"])


def fmt_mb(s):
    if s is None:
        return "–"
    return "%.1f MB (max %.1f)" % (s["median"], s["max"])


def ratio(a, b):
    """a/b of medians."""
    if not a or not b or not b["median"]:
        return None
    return a["median"] / b["median"]


def alternate(rep, sides):
    """A B C, then C B A, ...: each side leads and trails equally often."""
    return list(sides) if rep % 2 == 0 else list(reversed(sides))


# --- environment -------------------------------------------------------------


class Bench:
    def __init__(self, a):
        self.a = a
        self.out = os.path.abspath(a.out)
        os.makedirs(self.out, exist_ok=True)
        self.kubeconfig = os.path.abspath(a.kubeconfig)
        self.bin = os.path.abspath(a.bin)
        self.kubectl_bin = os.path.abspath(a.kubectl)
        self.python = sys.executable
        self.results = {"config": vars(a).copy()}
        self.timer_out = os.path.join(self.out, "timer.jsonl")
        self.remote_tmp = os.path.join(self.out, "remote-tmp")
        inv = os.path.join(self.out, "inventory.ini")
        with open(inv, "w") as f:
            f.write("localhost ansible_connection=local ansible_python_interpreter=%s\n" % self.python)
        cfg = os.path.join(self.out, "ansible.cfg")
        with open(cfg, "w") as f:
            f.write("[defaults]\n")  # settings come from the environment below
        self.env = dict(os.environ)
        for k in [k for k in self.env if k.startswith("ANSIBLE_") or k.startswith("K8S_AUTH_")]:
            del self.env[k]
        self.env.update(
            ANSIBLE_CONFIG=cfg,
            ANSIBLE_INVENTORY=inv,
            ANSIBLE_COLLECTIONS_PATH=os.path.abspath(a.collections),
            ANSIBLE_CALLBACK_PLUGINS=os.path.join(PLAYBOOKS, "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="bench_timer",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCAL_TEMP=os.path.join(self.out, "local-tmp"),
            ANSIBLE_REMOTE_TMP=self.remote_tmp,
            BENCH_TIMER_OUT=self.timer_out,
        )
        self.env.pop("KUBECONFIG", None)
        self.netpath_modules = self.module_list()
        real = all(m in self.netpath_modules for m in ("ippool", "cni", "alb_ingress"))
        self.seed_netpath_file = os.path.join(PLAYBOOKS, "seed-netpath.yml" if real else "seed-manifest.yml")
        self.results["seed_netpath_tasks"] = os.path.relpath(self.seed_netpath_file, ROOT)
        with open(os.path.join(PLAYBOOKS, "seed-objects.yml")) as f:
            self.seed_vars = yaml.safe_load(f)
        self.seed_ns = self.seed_vars["seed_namespace"]

    def module_list(self):
        p = run_proc([self.bin, "doc"], check=False)
        for line in (p.err + p.out).splitlines():
            if line.startswith("netpath doc: name one of:"):
                return [m.strip() for m in line.split(":", 2)[2].replace(",", " ").split()]
        return ["manifest"]

    def kubectl(self, *args, check=True):
        return run_proc([self.kubectl_bin, "--kubeconfig", self.kubeconfig, *args], check=check)

    # --- ansible ---------------------------------------------------------------

    def playbook(self, name, tasks, *, extra_vars=None):
        """Writes a one-play playbook of TASKS; connection set once per play
        with module_defaults, as a user would."""
        play = {
            "name": name,
            "hosts": "localhost",
            # The netpath action checks the target is x86_64 Linux; with
            # facts it need not ask (one `uname` round trip less per task).
            "gather_facts": True,
            "gather_subset": ["!all"],
            "vars_files": [os.path.join(PLAYBOOKS, "seed-objects.yml")],
            "vars": extra_vars or {},
            "module_defaults": {
                "group/netpath.calico_alb.k8s": {"kubeconfig": self.kubeconfig},
                "group/kubernetes.core.k8s": {"kubeconfig": self.kubeconfig},
            },
            "tasks": tasks,
        }
        path = os.path.join(self.out, name + ".yml")
        with open(path, "w") as f:
            yaml.safe_dump([play], f, sort_keys=False)
        return path

    def run_playbook(self, path, expect_changed=None, keep_files=False, env_extra=None):
        """Runs PATH; returns (wall ms, [task records]) for the play's tasks."""
        if os.path.exists(self.timer_out):
            os.unlink(self.timer_out)
        env = dict(self.env, **(env_extra or {}))
        if keep_files:
            env["ANSIBLE_KEEP_REMOTE_FILES"] = "1"
        p = run_proc([os.path.join(os.path.dirname(self.python), "ansible-playbook"), path], env=env, check=False)
        with open(self.timer_out) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        recs = [r for r in recs if r["action"] not in ("gather_facts", "ansible.builtin.gather_facts", "setup")]
        bad = [r for r in recs if r["status"] != "ok"]
        if p.rc != 0 or bad:
            raise SystemExit("playbook %s failed (rc %d): %s\n%s" % (path, p.rc, bad, p.out[-4000:]))
        if expect_changed is not None:
            changed = [r["changed"] for r in recs]
            ok = any(changed) if expect_changed else not any(changed)
            if not ok:
                raise SystemExit("playbook %s: expected %s, got changed=%s" % (path, "a change" if expect_changed else "no change", changed))
        return p.ms, recs

    # --- state -----------------------------------------------------------------

    def setup(self):
        for ns in (self.seed_ns, "bench-bulk"):
            if self.kubectl("get", "namespace", ns, check=False).rc != 0:
                self.kubectl("create", "namespace", ns)

    def delete_seed(self):
        """Removes the seed's objects (not timed): every first apply creates."""
        for group in self.seed_vars["seed_objects"].values():
            for o in group:
                kind = o["kind"]
                res = {
                    "IPPool": "ippools.crd.projectcalico.org",
                    "FelixConfiguration": "felixconfigurations.crd.projectcalico.org",
                    "IngressClass": "ingressclasses.networking.k8s.io",
                    "Ingress": "ingresses.networking.k8s.io",
                    "Service": "services",
                    "ConfigMap": "configmaps",
                }[kind]
                args = ["delete", res, o["metadata"]["name"], "--ignore-not-found"]
                if "namespace" in o["metadata"]:
                    args += ["-n", o["metadata"]["namespace"]]
                self.kubectl(*args)

    # --- sections --------------------------------------------------------------

    def seed_tasks(self, side):
        path = self.seed_netpath_file if side.startswith("netpath") else os.path.join(PLAYBOOKS, "seed-k8s.yml")
        with open(path) as f:
            return yaml.safe_load(f)

    def twenty(self, side):
        base = self.seed_tasks(side)
        tasks = []
        for i in range(20):
            t = dict(base[i % len(base)])
            t["name"] = "%s %02d" % (t["name"], i + 1)
            tasks.append(t)
        return tasks

    # Sides of the seed section: netpath as shipped, netpath through Ansible's
    # own binary-module path, and kubernetes.core.k8s.
    SEED_ENV = {"netpath": {}, "netpath_tmpdir": {"NETPATH_DIRECT": "0"}, "k8s": {}}

    def section_seed(self):
        reps = self.a.reps
        sides = list(self.SEED_ENV)
        books = {s: self.playbook("seed-" + s, self.seed_tasks(s)) for s in sides}
        twenty = {s: self.playbook("noop20-" + s, self.twenty(s)) for s in sides}
        empty = self.playbook("empty", [{"name": "nothing", "ansible.builtin.meta": "noop"}])
        data = {s: {"first_task": [], "noop_task": [], "first_total": [], "noop_total": [], "noop20_total": [],
                    "noop20_task": [], "first_wall": [], "noop_wall": [], "noop20_wall": []} for s in sides}
        data["empty_wall"] = []
        play = lambda s, book, expect: self.run_playbook(book, expect_changed=expect, env_extra=self.SEED_ENV[s])
        # Warm-up (not counted): page cache, kubernetes.core's discovery cache.
        for s in sides:
            self.delete_seed()
            play(s, books[s], True)
            play(s, books[s], False)
        for rep in range(reps):
            for s in alternate(rep, sides):
                self.delete_seed()
                ms, recs = play(s, books[s], True)
                d = data[s]
                d["first_wall"].append(ms)
                d["first_task"].append([r["seconds"] * 1000 for r in recs])
                d["first_total"].append(sum(r["seconds"] for r in recs) * 1000)
                ms, recs = play(s, books[s], False)
                d["noop_wall"].append(ms)
                d["noop_task"].append([r["seconds"] * 1000 for r in recs])
                d["noop_total"].append(sum(r["seconds"] for r in recs) * 1000)
                ms, recs = play(s, twenty[s], False)
                assert len(recs) == 20, recs
                d["noop20_wall"].append(ms)
                d["noop20_total"].append(sum(r["seconds"] for r in recs) * 1000)
                d["noop20_task"].extend(r["seconds"] * 1000 for r in recs)
            ms, _ = self.run_playbook(empty)
            data["empty_wall"].append(ms)
            log("seed rep %d/%d done" % (rep + 1, reps))
        names = [t["name"] for t in self.seed_tasks("netpath")]
        out = {"task_names": names, "raw": data}
        for s in sides:
            d = data[s]
            out[s] = {
                "first_total": stats(d["first_total"]),
                "noop_total": stats(d["noop_total"]),
                "noop20_total": stats(d["noop20_total"]),
                "noop20_per_task": stats(d["noop20_task"]),
                "first_wall": stats(d["first_wall"]),
                "noop_wall": stats(d["noop_wall"]),
                "noop20_wall": stats(d["noop20_wall"]),
                "first_by_task": [stats([r[i] for r in d["first_task"]]) for i in range(len(names))],
                "noop_by_task": [stats([r[i] for r in d["noop_task"]]) for i in range(len(names))],
            }
        out["empty_wall"] = stats(data["empty_wall"])
        self.results["seed"] = out

    def args_file(self, name, module, params):
        args = dict(params, kubeconfig=self.kubeconfig, _ansible_module_name="netpath.calico_alb." + module, **INTERNAL)
        path = os.path.join(self.out, name + ".args.json")
        with open(path, "w") as f:
            json.dump(args, f)
        return path

    def netpath_module(self, args_path, expect_changed=None, rss=False, env=None):
        p = run_proc([self.bin, args_path], rss=rss, env=env)
        res = json.loads(p.out)
        if res.get("failed"):
            raise SystemExit("netpath failed: %s" % p.out[:3000])
        if expect_changed is not None and res.get("changed") != expect_changed:
            raise SystemExit("netpath: expected changed=%s, got %s" % (expect_changed, p.out[:2000]))
        return p

    def capture(self, playbook_path, names):
        """Runs PLAYBOOK once with the remote files kept; returns the module
        invocations Ansible made ([argv, cwd]) in order, for re-running alone."""
        shutil.rmtree(self.remote_tmp, ignore_errors=True)
        self.run_playbook(playbook_path, keep_files=True)
        calls = []
        for d in sorted(glob.glob(os.path.join(self.remote_tmp, "ansible-tmp-*")), key=lambda p: float(os.path.basename(p).split("-")[2])):
            for n in names:
                exe = os.path.join(d, "AnsiballZ_" + n)
                if os.path.exists(exe):
                    calls.append(([exe, os.path.join(d, "args")], d))
                elif os.path.exists(exe + ".py"):
                    calls.append(([self.python, exe + ".py"], d))
        keep = os.path.join(self.out, "captured-" + os.path.basename(playbook_path)[:-4])
        shutil.rmtree(keep, ignore_errors=True)
        os.rename(self.remote_tmp, keep)
        return [([a.replace(self.remote_tmp, keep) for a in argv], cwd.replace(self.remote_tmp, keep)) for argv, cwd in calls]

    def run_call(self, call, expect_changed, rss=False):
        argv, cwd = call
        p = run_proc(argv, cwd=cwd, env=self.env, rss=rss)
        res = json.loads(p.out[p.out.index("{"):])
        if res.get("failed") or res.get("changed") != expect_changed:
            raise SystemExit("%s: expected changed=%s: %s" % (argv, expect_changed, p.out[:3000]))
        return p

    def section_process(self):
        """The module process alone, as Ansible starts it, no-op of one object."""
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench-noop", "namespace": self.seed_ns}, "data": {"k": "v"}}
        args = self.args_file("noop-configmap", "manifest", {"definition": cm})
        self.netpath_module(args)  # creates it (or finds it)
        book_k8s = self.playbook("noop1-k8s", [{"name": "noop", "kubernetes.core.k8s": {"state": "present", "definition": cm}}])
        book_np = self.playbook("noop1-netpath", [{"name": "noop", "netpath.calico_alb.manifest": {"definition": cm}}])
        self.run_playbook(book_k8s)
        (py_call,) = self.capture(book_k8s, ["k8s"])
        (np_call,) = self.capture(book_np, ["manifest"])
        runs, py_every = self.a.noop_runs, max(1, self.a.noop_runs // self.a.py_noop_runs)
        np_ms, np_rss, np_ansible_ms, np_ansible_rss, py_ms, py_rss = [], [], [], [], [], []
        for _ in range(2):  # warm-up
            self.netpath_module(args, expect_changed=False)
            self.run_call(py_call, False)
        for i in range(runs):
            np_ms.append(self.netpath_module(args, expect_changed=False).ms)
            # The copy Ansible ran, from its temp dir, with its args file.
            np_ansible_ms.append(self.run_call(np_call, False).ms)
            if i % 10 == 0:  # peak RSS in runs of their own (see run_proc)
                np_rss.append(self.netpath_module(args, expect_changed=False, rss=True).rss_mb)
                np_ansible_rss.append(self.run_call(np_call, False, rss=True).rss_mb)
            if i % py_every == 0:
                py_ms.append(self.run_call(py_call, False).ms)
                py_rss.append(self.run_call(py_call, False, rss=True).rss_mb)
        self.results["process"] = {
            "netpath": stats(np_ms),
            "netpath_rss": stats(np_rss),
            "netpath_ansible_copy": stats(np_ansible_ms),
            "netpath_ansible_copy_rss": stats(np_ansible_rss),
            "k8s": stats(py_ms),
            "k8s_rss": stats(py_rss),
        }
        log("process done")

    def section_memory(self):
        """Peak RSS per task: the exact module invocations Ansible made for
        the seed, re-run alone, first apply and no-op."""
        out = {}
        for side, names in (("netpath", self.netpath_modules), ("k8s", ["k8s"])):
            book = self.playbook("seed-capture-" + side, self.seed_tasks(side))
            self.delete_seed()
            calls = self.capture(book, names)
            self.delete_seed()
            first = [self.run_call(c, True, rss=True) for c in calls]
            noop = [self.run_call(c, False, rss=True) for c in calls]
            out[side] = {
                "first_rss_mb": [p.rss_mb for p in first],
                "noop_rss_mb": [p.rss_mb for p in noop],
                "first_ms": [p.ms for p in first],
                "noop_ms": [p.ms for p in noop],
            }
        self.results["memory"] = out
        log("memory done")

    def write_bulk(self, n=None, file="bulk.yaml", service_type="NodePort"):
        n = self.a.bulk if n is None else n
        docs = []
        for i in range(n):
            name = "app-%05d" % i
            docs.append({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": name, "namespace": "bench-bulk", "annotations": {
                    "alb.ingress.kubernetes.io/scheme": "internet-facing",
                    "alb.ingress.kubernetes.io/target-type": "instance",
                    "alb.ingress.kubernetes.io/group.name": "bench",
                    "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP": 80}]'}},
                "spec": {"ingressClassName": "alb", "rules": [{"host": "%s.example.com" % name, "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]},
            })
            docs.append({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": "bench-bulk", "labels": {"app": name}},
                "spec": {"type": service_type, "selector": {"app": name},
                         "ports": [{"name": "http", "port": 80, "targetPort": 8000, "protocol": "TCP"}]},
            })
        path = os.path.join(self.out, file)
        with open(path, "w") as f:
            yaml.safe_dump_all(docs, f, sort_keys=False)
        return path

    def delete_bulk(self):
        # --wait=true waits object by object (minutes for 2,000); nothing
        # here has finalizers, so poll the namespace instead.
        self.kubectl("delete", "ingresses.networking.k8s.io,services", "--all", "-n", "bench-bulk", "--wait=false")
        for _ in range(1000):
            left = self.kubectl("get", "ingresses.networking.k8s.io,services", "-n", "bench-bulk", "-o", "name").out.split()
            if not left:
                return
            time.sleep(0.2)
        raise SystemExit("bulk clean-up left %d objects" % len(left))

    def section_bulk(self):
        path = self.write_bulk()
        n = 2 * self.a.bulk
        args = self.args_file("bulk", "manifest", {"src": path})
        book = self.playbook("bulk-netpath", [{"name": "bulk", "netpath.calico_alb.manifest": {"src": path}}])
        kubectl = [self.kubectl_bin, "--kubeconfig", self.kubeconfig, "apply", "--server-side",
                   "--field-manager=kubectl-bench", "-f", path]
        sides = ["netpath", "kubectl", "netpath-ansible"]
        # The engine's requests in flight, swept side by side (the default
        # side "netpath" runs with the binary's own setting).
        conc = [int(c) for c in self.a.bulk_concurrency.split(",") if c.strip()]
        sides += ["netpath-c%d" % c for c in conc]
        data = {s: {"first": [], "noop": [], "first_rss": [], "noop_rss": []} for s in sides}

        def netpath_run(expect, env=None):
            p = self.netpath_module(args, expect_changed=expect, rss=True, env=env)
            res = json.loads(p.out)
            want = "%d created" % n if expect else "%d unchanged" % n
            if want not in res.get("msg", ""):
                raise SystemExit("bulk: expected %s: %s" % (want, res.get("msg")))
            return p.ms, p.rss_mb

        def kubectl_run(_expect):
            p = run_proc(kubectl, rss=True)
            lines = [x for x in p.out.splitlines() if x.strip()]
            if len(lines) != n:
                raise SystemExit("kubectl applied %d objects, expected %d" % (len(lines), n))
            return p.ms, p.rss_mb

        def ansible_run(expect):
            _, recs = self.run_playbook(book, expect_changed=expect)
            return recs[0]["seconds"] * 1000, None

        run = {"netpath": netpath_run, "kubectl": kubectl_run, "netpath-ansible": ansible_run}
        for c in conc:
            env = dict(os.environ, NETPATH_CONCURRENCY=str(c))
            run["netpath-c%d" % c] = lambda expect, env=env: netpath_run(expect, env)
        # Warm-up (not counted): kubectl's discovery cache, page cache.
        self.delete_bulk()
        kubectl_run(True)
        self.delete_bulk()
        netpath_run(True)
        for rep in range(self.a.bulk_reps):
            for s in alternate(rep, sides):
                self.delete_bulk()
                ms, rss = run[s](True)
                data[s]["first"].append(ms)
                data[s]["first_rss"].append(rss)
                ms, rss = run[s](False)
                data[s]["noop"].append(ms)
                data[s]["noop_rss"].append(rss)
            log("bulk rep %d/%d done" % (rep + 1, self.a.bulk_reps))
        out = {"objects": n, "raw": data, "concurrency": conc}
        for s in sides:
            d = data[s]
            out[s] = {
                "first": stats(d["first"]),
                "noop": stats(d["noop"]),
                "first_rss": stats([x for x in d["first_rss"] if x is not None]),
                "noop_rss": stats([x for x in d["noop_rss"] if x is not None]),
            }
        self.delete_bulk()
        self.results["bulk"] = out

    def section_bulk20k(self):
        """20,000 objects in one task: netpath's peak RSS (target 64 MB) and
        time, first apply and no-op, beside kubectl's once each."""
        pairs = self.a.bulk_large // 2
        # ClusterIP: 10,000 NodePort Services would not fit the 2,768 ports
        # of the default NodePort range.
        path = self.write_bulk(pairs, "bulk20k.yaml", "ClusterIP")
        n = 2 * pairs
        args = self.args_file("bulk20k", "manifest", {"src": path})
        kubectl = [self.kubectl_bin, "--kubeconfig", self.kubeconfig, "apply", "--server-side",
                   "--field-manager=kubectl-bench", "-f", path]
        out = {"objects": n}
        for side in alternate(0, ["netpath", "kubectl"]):
            self.delete_bulk()
            for phase, expect in (("first", True), ("noop", False)):
                if side == "netpath":
                    p = self.netpath_module(args, expect_changed=expect, rss=True)
                    want = "%d created" % n if expect else "%d unchanged" % n
                    if want not in json.loads(p.out).get("msg", ""):
                        raise SystemExit("bulk20k: expected %s" % want)
                else:
                    p = run_proc(kubectl, rss=True)
                out.setdefault(side, {})[phase] = {"ms": p.ms, "rss_mb": p.rss_mb}
                log("bulk20k %s %s: %.0f ms, %.1f MB" % (side, phase, p.ms, p.rss_mb or 0))
        self.delete_bulk()
        self.results["bulk20k"] = out

    # --- report ----------------------------------------------------------------

    def versions(self):
        v = {}
        v["netpath"] = run_proc([self.bin, "--version"], check=False).out.strip() or "see Cargo.toml"
        v["ansible-core"] = run_proc([self.python, "-c", "import ansible; print(ansible.__version__)"]).out.strip()
        v["python"] = platform.python_version()
        v["kubernetes (python)"] = run_proc([self.python, "-c", "import kubernetes; print(kubernetes.__version__)"]).out.strip()
        mf = glob.glob(os.path.join(os.path.dirname(os.path.dirname(self.python)), "lib", "python*", "site-packages",
                                    "ansible_collections", "kubernetes", "core", "MANIFEST.json"))
        if mf:
            with open(mf[0]) as f:
                v["kubernetes.core"] = json.load(f)["collection_info"]["version"]
        kv = json.loads(self.kubectl("version", "-o", "json").out)
        v["kubectl"] = kv["clientVersion"]["gitVersion"]
        v["kube-apiserver"] = kv["serverVersion"]["gitVersion"]
        return v

    def machine(self):
        m = {"kernel": platform.release(), "cores": os.cpu_count()}
        try:
            with open("/proc/cpuinfo") as f:
                m["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        with open("/proc/meminfo") as f:
            m["memory_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
        return m

    def summary(self):
        r = self.results
        L = []
        L.append("load average before/after: %s / %s" % (r["load_before"], r["load_after"]))
        L.append("")
        L.append("| measurement | netpath | other | ratio netpath/other | target | holds |")
        L.append("|---|---|---|---|---|---|")

        def row(what, a, b, target=None, fmt=fmt_ms):
            x = ratio(a, b)
            better = "less" if fmt is fmt_mb else "faster"
            holds = ""
            if target is not None and x is not None:
                holds = "yes" if x <= target else "NO"
            L.append("| %s | %s | %s | %s | %s | %s |" % (what, fmt(a), fmt(b), "%.3f (%.1f× %s)" % (x, 1 / x, better) if x else "–",
                                                     "≤ %.2f" % target if target is not None else "", holds))

        if "seed" in r:
            s = r["seed"]
            tgt = 0.1
            row("seed, first apply, sum of %d tasks (vs kubernetes.core.k8s)" % len(s["task_names"]), s["netpath"]["first_total"], s["k8s"]["first_total"], tgt)
            row("seed, no-op re-run, sum of %d tasks (vs k8s)" % len(s["task_names"]), s["netpath"]["noop_total"], s["k8s"]["noop_total"], tgt)
            for i, name in enumerate(s["task_names"]):
                row("  task %s, first apply" % name, s["netpath"]["first_by_task"][i], s["k8s"]["first_by_task"][i], tgt)
                row("  task %s, no-op" % name, s["netpath"]["noop_by_task"][i], s["k8s"]["noop_by_task"][i], tgt)
            row("20 no-op tasks, sum (vs k8s)", s["netpath"]["noop20_total"], s["k8s"]["noop20_total"], tgt)
            row("20 no-op tasks, per task (vs k8s)", s["netpath"]["noop20_per_task"], s["k8s"]["noop20_per_task"], tgt)
            row("seed playbook wall time incl. ansible-playbook start, first apply", s["netpath"]["first_wall"], s["k8s"]["first_wall"])
            row("seed playbook wall time, no-op", s["netpath"]["noop_wall"], s["k8s"]["noop_wall"])
            row("20-task playbook wall time, no-op", s["netpath"]["noop20_wall"], s["k8s"]["noop20_wall"])
            L.append("| empty playbook wall time (ansible-playbook start, facts) | %s | | | | |" % fmt_ms(s["empty_wall"]))
            if "netpath_tmpdir" in s:
                t = s["netpath_tmpdir"]
                row("seed, first apply, netpath through Ansible's temp-dir path (NETPATH_DIRECT=0, vs k8s)", t["first_total"], s["k8s"]["first_total"], tgt)
                row("seed, no-op, temp-dir path (vs k8s)", t["noop_total"], s["k8s"]["noop_total"], tgt)
                for i, name in enumerate(s["task_names"]):
                    row("  task %s, first apply, temp-dir path" % name, t["first_by_task"][i], s["k8s"]["first_by_task"][i], tgt)
                row("20 no-op tasks, per task, temp-dir path (vs k8s)", t["noop20_per_task"], s["k8s"]["noop20_per_task"], tgt)
                row("20 no-op tasks, per task: direct action vs temp-dir path", s["netpath"]["noop20_per_task"], t["noop20_per_task"])
        if "process" in r:
            p = r["process"]
            row("module process alone, no-op of 1 object (vs k8s module process)", p["netpath"], p["k8s"])
            L.append("| module process alone, no-op, netpath median | %s | | | ≤ 15 ms | %s |" % (fmt_ms(p["netpath"]), "yes" if p["netpath"]["median"] <= 15 else "NO"))
            row("  the copy Ansible ran, from its temp dir", p["netpath_ansible_copy"], p["k8s"])
            row("  peak RSS, module process (vs k8s module process)", p["netpath_rss"], p["k8s_rss"], fmt=fmt_mb)
        if "bulk" in r:
            b = r["bulk"]
            row("bulk %d objects, first apply, module process (vs kubectl)" % b["objects"], b["netpath"]["first"], b["kubectl"]["first"], 0.3)
            row("bulk, no-op, module process (vs kubectl)" , b["netpath"]["noop"], b["kubectl"]["noop"], 0.05)
            row("bulk, first apply, one ansible task (vs kubectl)", b["netpath-ansible"]["first"], b["kubectl"]["first"], 0.3)
            row("bulk, no-op, one ansible task (vs kubectl)", b["netpath-ansible"]["noop"], b["kubectl"]["noop"], 0.05)
            for c in b.get("concurrency", []):
                k = "netpath-c%d" % c
                row("  bulk, first apply, %d requests in flight (vs kubectl)" % c, b[k]["first"], b["kubectl"]["first"], 0.3)
                row("  bulk, no-op, %d requests in flight (vs kubectl)" % c, b[k]["noop"], b["kubectl"]["noop"], 0.05)
            row("bulk, peak RSS, first apply (vs kubectl)", b["netpath"]["first_rss"], b["kubectl"]["first_rss"], fmt=fmt_mb)
            row("bulk, peak RSS, no-op (vs kubectl)", b["netpath"]["noop_rss"], b["kubectl"]["noop_rss"], fmt=fmt_mb)
        if "bulk20k" in r:
            b = r["bulk20k"]
            for phase in ("first", "noop"):
                one = lambda side, key: {"median": b[side][phase][key], "min": b[side][phase][key], "max": b[side][phase][key]}
                row("%d objects in one task, %s (vs kubectl)" % (b["objects"], phase), one("netpath", "ms"), one("kubectl", "ms"))
                L.append("| %d objects, %s, netpath peak RSS | %.1f MB | %.1f MB (kubectl) | | ≤ 64 MB | %s |" % (
                    b["objects"], phase, b["netpath"][phase]["rss_mb"], b["kubectl"][phase]["rss_mb"],
                    "yes" if b["netpath"][phase]["rss_mb"] <= 64 else "NO"))
        if "memory" in r:
            m = r["memory"]
            peak = lambda side: max(m[side]["first_rss_mb"] + m[side]["noop_rss_mb"])
            L.append("| seed tasks, peak RSS per module process (first apply / no-op) | %s / %s MB | %s / %s MB | | | |" % (
                "/".join("%.1f" % x for x in m["netpath"]["first_rss_mb"]), "/".join("%.1f" % x for x in m["netpath"]["noop_rss_mb"]),
                "/".join("%.1f" % x for x in m["k8s"]["first_rss_mb"]), "/".join("%.1f" % x for x in m["k8s"]["noop_rss_mb"])))
            L.append("| seed tasks, highest peak RSS | %.1f MB | %.1f MB | %.3f | | |" % (peak("netpath"), peak("k8s"), peak("netpath") / peak("k8s")))
        rss_all = []
        if "process" in r:
            rss_all.append(r["process"]["netpath_rss"]["max"])
        if "bulk" in r:
            rss_all += [r["bulk"]["netpath"]["first_rss"]["max"], r["bulk"]["netpath"]["noop_rss"]["max"]]
        if "memory" in r:
            rss_all.append(max(r["memory"]["netpath"]["first_rss_mb"] + r["memory"]["netpath"]["noop_rss_mb"]))
        if rss_all:
            L.append("| netpath peak RSS, any case | %.1f MB | | | ≤ 30 MB | %s |" % (max(rss_all), "yes" if max(rss_all) <= 30 else "NO"))
        return "\n".join(L) + "\n"

    def main(self):
        self.results["machine"] = self.machine()
        self.results["versions"] = self.versions()
        self.results["load_before"] = open("/proc/loadavg").read().split()[:3]
        log("versions:", json.dumps(self.results["versions"]))
        log("seed tasks through netpath from", self.results["seed_netpath_tasks"])
        self.setup()
        for section in self.a.sections.split(","):
            t0 = time.time()
            getattr(self, "section_" + section)()
            log("section %s took %.0f s" % (section, time.time() - t0))
            self.results["load_after"] = open("/proc/loadavg").read().split()[:3]
            with open(os.path.join(self.out, "results.json"), "w") as f:
                json.dump(self.results, f, indent=1)
        text = self.summary()
        with open(os.path.join(self.out, "summary.md"), "w") as f:
            f.write(text)
        print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--bin", required=True, help="the static netpath release binary")
    ap.add_argument("--kubectl", required=True)
    ap.add_argument("--collections", required=True, help="ANSIBLE_COLLECTIONS_PATH holding netpath.calico_alb")
    ap.add_argument("--out", required=True)
    ap.add_argument("--sections", default="process,seed,memory,bulk")
    ap.add_argument("--reps", type=int, default=5, help="repetitions per side of each playbook")
    ap.add_argument("--noop-runs", type=int, default=200, help="runs of the netpath module process alone")
    ap.add_argument("--py-noop-runs", type=int, default=20, help="runs of the Python module process alone")
    ap.add_argument("--bulk", type=int, default=1000, help="Ingress + Service pairs")
    ap.add_argument("--bulk-reps", type=int, default=3)
    ap.add_argument("--bulk-concurrency", default="", help="extra netpath sides in bulk with NETPATH_CONCURRENCY set, e.g. 8,32")
    ap.add_argument("--bulk-large", type=int, default=20000, help="objects in the bulk20k section")
    Bench(ap.parse_args()).main()


if __name__ == "__main__":
    main()
