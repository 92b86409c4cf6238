//! Role variables (cli::roles): what a module run through one of the roles
//! (`_netpath_role`) refuses and how it names things, against the real
//! plane; then the roles themselves with ansible-playbook, including
//! module_defaults on the oldest and the newest ansible-core.

use crate::common;

use crate::common::module::{self, Flags};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

module_plane!("role-vars");

fn role(role: &str, variables: &[&str]) -> Value {
    json!({"role": role, "variables": variables})
}

fn msg(o: &module::Output) -> String {
    o.json["msg"].as_str().unwrap_or_default().to_string()
}

fn pool(name: &str, cidr: &str) -> Value {
    json!({
        "name": name,
        "cidr": cidr,
        "kubeconfig": plane().kubeconfig,
    })
}

const IPPOOL: (&str, &str) = ("crd.projectcalico.org/v1", "IPPool");

#[test]
fn unknown_role_variable_is_refused_before_anything_is_written() {
    let name = common::unique_name("typo");
    let mut args = pool(&name, "10.251.0.0/16");
    args["_netpath_role"] = role("cni", &["cni_pod_cird", "cni_vpc_cidrs", "netpath_network"]);
    let o = module::run("ippool", args.clone(), Flags::default());
    assert_eq!(o.json["failed"], true, "{}", o.json);
    let m = msg(&o);
    assert!(m.contains("1 problem found, nothing was written"), "{m}");
    assert!(
        m.contains("cni_pod_cird: no netpath role reads this variable"),
        "{m}"
    );
    assert!(m.contains("Fix: did you mean cni_pod_cidr?"), "{m}");
    assert!(plane().get(IPPOOL.0, IPPOOL.1, None, &name).is_none());

    // Registered facts and the cni module's fact are the roles' own.
    args["_netpath_role"] = role(
        "cni",
        &["cni_pod_cidr", "netcheck_result", "netpath_network"],
    );
    let o = module::run("ippool", args, Flags::default());
    assert_eq!(o.json["failed"], false, "{}", o.json);
    assert!(plane().get(IPPOOL.0, IPPOOL.1, None, &name).is_some());
    plane().delete(IPPOOL.0, IPPOOL.1, None, &name);
}

#[test]
fn string_where_a_role_list_goes_is_refused_with_the_list_to_write() {
    let name = common::unique_name("liststr");
    let mut args = pool(&name, "10.252.0.0/16");
    args["vpc_cidrs"] = json!("10.0.0.0/16, 10.1.0.0/16");
    let mut through_role = args.clone();
    through_role["_netpath_role"] = role("cni", &["cni_vpc_cidrs"]);
    let o = module::run("ippool", through_role, Flags::default());
    let m = msg(&o);
    assert_eq!(o.json["failed"], true, "{}", o.json);
    assert!(
        m.contains(
            "cni_vpc_cidrs: is the string \"10.0.0.0/16, 10.1.0.0/16\" where a list is expected"
        ),
        "{m}"
    );
    assert!(
        m.contains("Fix: write a YAML list: cni_vpc_cidrs: [10.0.0.0/16, 10.1.0.0/16]"),
        "{m}"
    );
    assert!(plane().get(IPPOOL.0, IPPOOL.1, None, &name).is_none());

    // The preflight: netcheck run by its role refuses it too, naming the
    // variable the user set.
    let o = module::run(
        "netcheck",
        json!({"vpc_cidrs": "10.0.0.0/16, 10.1.0.0/16", "live": false,
               "_netpath_role": role("netcheck", &["cni_vpc_cidrs", "cni_pod_cidr"])}),
        Flags::default(),
    );
    assert!(
        msg(&o).contains("cni_vpc_cidrs: is the string"),
        "{}",
        o.json
    );

    // Called directly the module keeps Ansible's list conversion (split at
    // commas) and never mentions role variables.
    let o = module::run("ippool", args, Flags::default());
    assert!(!msg(&o).contains("YAML list"), "{}", o.json);
    if o.json["failed"] == false {
        plane().delete(IPPOOL.0, IPPOOL.1, None, &name);
    }
}

fn ip_target_app() -> Value {
    json!([{
        "name": "app", "namespace": "default", "target_type": "ip",
        "rules": [{"host": "example.com", "paths": [{"path": "/", "service_name": "svc", "service_port": 80}]}],
        "services": [{"name": "svc", "port": 80, "target_port": 8080, "selector": {"app": "a"}}],
    }])
}

#[test]
fn errors_through_a_role_name_the_role_variable() {
    let base = json!({"ingresses": ip_target_app(), "kubeconfig": plane().kubeconfig});
    let mut args = base.clone();
    args["_netpath_role"] = role("alb_ingress", &["alb_ingress_apps", "cni_plugin"]);
    let o = module::run(
        "alb_ingress",
        args,
        Flags {
            check: true,
            ..Default::default()
        },
    );
    let m = msg(&o);
    assert!(
        m.contains("\n- alb_ingress_apps[0].target_type: target-type ip"),
        "{m}"
    );
    assert!(!m.contains("- ingresses[0]"), "{m}");
    assert_eq!(
        o.json["findings"][0]["field"],
        "alb_ingress_apps[0].target_type"
    );
    // alb_ingress_apps is the old name of alb_ingress_ingresses: still read,
    // with a warning that says the new one.
    let warned = |o: &module::Output| {
        o.json["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .any(|w| {
                w.contains("alb_ingress_apps is deprecated")
                    && w.contains("rename it to alb_ingress_ingresses")
            })
    };
    assert!(warned(&o), "{}", o.json);
    let mut args = base.clone();
    args["_netpath_role"] = role("alb_ingress", &["alb_ingress_ingresses"]);
    let o = module::run(
        "alb_ingress",
        args,
        Flags {
            check: true,
            ..Default::default()
        },
    );
    assert_eq!(
        o.json["findings"][0]["field"],
        "alb_ingress_ingresses[0].target_type"
    );
    assert!(!warned(&o), "{}", o.json);

    // Module-level messages stay as they are when the module is called directly.
    let o = module::run(
        "alb_ingress",
        base.clone(),
        Flags {
            check: true,
            ..Default::default()
        },
    );
    assert!(
        msg(&o).contains("\n- ingresses[0].target_type: target-type ip"),
        "{}",
        o.json
    );

    // netcheck (the preflight): its findings, failed or published, name
    // alb_ingress_apps, which the user set (netcheck_ingresses was not).
    let o = module::run(
        "netcheck",
        json!({"ingresses": ip_target_app(), "live": false,
               "_netpath_role": role("netcheck", &["alb_ingress_apps", "cni_pod_cidr"])}),
        Flags::default(),
    );
    assert!(
        msg(&o).contains("- alb_ingress_apps[0].target_type: target-type ip"),
        "{}",
        o.json
    );
    assert_eq!(
        o.json["findings"][0]["field"],
        "alb_ingress_apps[0].target_type"
    );

    // Argument-spec errors too.
    let mut bad = base;
    bad["ingresses"][0]["services"][0]["port"] = json!("eighty");
    bad["_netpath_role"] = role("alb_ingress", &["alb_ingress_apps"]);
    let o = module::run(
        "alb_ingress",
        bad,
        Flags {
            check: true,
            ..Default::default()
        },
    );
    assert!(
        msg(&o)
            .contains("argument 'alb_ingress_apps[0].services[0].port' is of type <class 'str'>"),
        "{}",
        o.json
    );
}

#[test]
fn the_role_connection_wins_only_when_the_role_variable_is_set() {
    let p = plane();
    // kubeconfig as module_defaults give it, the role passing none: used.
    let o = module::run_env(
        "netcheck",
        json!({"live": true, "kubeconfig": p.kubeconfig,
               "_netpath_role": role("netcheck", &[])}),
        Flags::default(),
        &[("KUBECONFIG", "/nonexistent/kubeconfig")],
    );
    assert_eq!(o.json["failed"], false, "{}", o.json);
    // netpath_kubeconfig set: it wins, and a failure names it.
    let o = module::run_env(
        "netcheck",
        json!({"live": true, "kubeconfig": p.kubeconfig,
               "_netpath_role": {"role": "netcheck", "variables": ["netpath_kubeconfig"],
                                 "kubeconfig": "/nonexistent/admin.conf"}}),
        Flags::default(),
        &[("KUBECONFIG", "/nonexistent/kubeconfig")],
    );
    let m = msg(&o);
    assert_eq!(o.json["failed"], true, "{}", o.json);
    assert!(m.contains("/nonexistent/admin.conf"), "{m}");
    assert!(
        m.contains("kubeconfig is the role variable netpath_kubeconfig"),
        "{m}"
    );
}

// --- the roles, with ansible-playbook -------------------------------------

/// The ansible-core venvs to run the roles on: the pinned one, and 2.16
/// (the oldest claimed, whose omit handling differs) when scripts/venv-core
/// has made it.
fn cores() -> Vec<(String, PathBuf)> {
    let mut out = vec![("pinned".to_string(), common::venv_bin())];
    let cache = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cache/netpath-ansible-cores");
    for e in std::fs::read_dir(&cache).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("ansible-core-2.16.") && e.path().join(".complete").exists() {
            out.push((name, e.path().join("bin")));
        }
    }
    if out.len() == 1 {
        eprintln!(
            "skipping ansible-core 2.16: no venv in {} \
             (scripts/venv-core 2.16.19 3.11 makes it)",
            cache.display()
        );
    }
    out
}

struct Play {
    dir: tempfile::TempDir,
    collections: PathBuf,
}

impl Play {
    fn new() -> Play {
        let dir = tempfile::tempdir().unwrap();
        let collections = common::collection(dir.path());
        std::fs::write(
            dir.path().join("inventory.yml"),
            "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n      \
             ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n",
        )
        .unwrap();
        Play { dir, collections }
    }

    /// Runs PLAYBOOK (YAML text) with a KUBECONFIG that points nowhere, so
    /// only what the play configures can reach the plane. (success, output)
    fn run(&self, venv: &Path, playbook: &str) -> (bool, String) {
        let d = self.dir.path();
        std::fs::write(d.join("play.yml"), playbook).unwrap();
        let out = common::ansible_playbook(venv, d)
            .args(["-i", "inventory.yml", "play.yml"])
            .env("ANSIBLE_COLLECTIONS_PATH", &self.collections)
            .env("KUBECONFIG", d.join("no-such-kubeconfig"))
            .output()
            .expect("ansible-playbook runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

/// The site's first two roles with an IPPool of its own, and EXTRA vars.
fn site_play(pool: &str, connection: &str, extra: &str) -> String {
    format!(
        r#"- hosts: localhost
  gather_facts: false
{connection}
  vars:
    cni_ippool_name: {pool}
    cni_pod_cidr: 10.253.0.0/16
{extra}
  roles:
    - netpath.calico_alb.netcheck
    - netpath.calico_alb.cni
"#
    )
}

#[test]
fn roles_take_module_defaults_and_refuse_typos_and_strings_for_lists() {
    let p = plane();
    let play = Play::new();
    let defaults = format!(
        "  module_defaults:\n    group/netpath.calico_alb.k8s:\n      kubeconfig: {}\n      context: admin",
        p.kubeconfig.display()
    );
    for (core, venv) in cores() {
        let name = common::unique_name("md");
        // module_defaults reach every task of the roles (the netcheck role
        // reads the cluster with them: netcheck_live); another role's
        // cni_bin_dir, declared in netpath_other_variables, is no typo.
        let (ok, out) = play.run(
            &venv,
            &site_play(
                &name,
                &defaults,
                "    netcheck_live: true\n    cni_bin_dir: /opt/cni/bin\n    netpath_other_variables: [cni_bin_dir]\n    \
                 alb_ingress_apps: []",
            ),
        );
        assert!(ok, "{core}: {out}");
        // The renamed variable still counts, and the play says so.
        assert!(
            out.contains("alb_ingress_apps is deprecated"),
            "{core}: {out}"
        );
        assert!(
            plane().get(IPPOOL.0, IPPOOL.1, None, &name).is_some(),
            "{core}: {out}"
        );
        plane().delete(IPPOOL.0, IPPOOL.1, None, &name);

        // The role variable, when set, wins, and the error names it.
        let (ok, out) = play.run(
            &venv,
            &site_play(
                &name,
                &defaults,
                "    netpath_kubeconfig: /nonexistent/admin.conf\n    netcheck_live: true",
            ),
        );
        assert!(!ok, "{core}: {out}");
        assert!(
            out.contains("kubeconfig is the role variable netpath_kubeconfig"),
            "{core}: {out}"
        );

        // A typo: the preflight stops the play, nothing is written.
        let (ok, out) = play.run(
            &venv,
            &site_play(&name, &defaults, "    cni_pod_cird: 172.20.0.0/16"),
        );
        assert!(!ok, "{core}: {out}");
        assert!(
            out.contains("cni_pod_cird: no netpath role reads this variable"),
            "{core}: {out}"
        );
        assert!(out.contains("did you mean cni_pod_cidr?"), "{core}: {out}");
        assert!(
            out.contains("netpath.calico_alb.netcheck : Check the whole network path"),
            "{core}: {out}"
        );
        assert!(
            plane().get(IPPOOL.0, IPPOOL.1, None, &name).is_none(),
            "{core}: {out}"
        );

        // A string where a list goes: the preflight, not the IPPool task.
        let (ok, out) = play.run(
            &venv,
            &site_play(
                &name,
                &defaults,
                "    cni_vpc_cidrs: \"10.0.0.0/16, 10.1.0.0/16\"",
            ),
        );
        assert!(!ok, "{core}: {out}");
        assert!(
            out.contains("write a YAML list: cni_vpc_cidrs: [10.0.0.0/16, 10.1.0.0/16]"),
            "{core}: {out}"
        );
        assert!(!out.contains("Apply the Calico IPPool"), "{core}: {out}");
        assert!(
            plane().get(IPPOOL.0, IPPOOL.1, None, &name).is_none(),
            "{core}: {out}"
        );
    }
}

/// The alb_controller role through ansible-playbook: bad variables stop it
/// before any write, naming the role variable and the fix; then check mode
/// writes nothing, the first run installs, the second is changed=0 with
/// every resourceVersion as it was, and netcheck takes its settings.
/// (The CRDs come from ../shared when it is there, else are skipped.)
#[test]
fn alb_controller_role_installs_once_and_refuses_bad_variables() {
    // Its own plane: the controller's webhooks are cluster-wide and fail
    // closed, and its CRDs replace the plane's own.
    let p = &common::private_plane("lbc-role");
    let play = Play::new();
    let ns = p.namespace("lbc-role");
    let crds = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/upstream/aws-load-balancer-controller/v3.5.0/crds.yaml");
    let crds = if crds.exists() {
        crds.display().to_string()
    } else {
        eprintln!("../shared is absent: the role runs without the controller's CRDs");
        String::new()
    };
    let playbook = |vars: &str| {
        format!(
            r#"- hosts: localhost
  gather_facts: false
  module_defaults:
    group/netpath.calico_alb.k8s:
      kubeconfig: {kc}
  vars:
    alb_controller_namespace: {ns}
    alb_controller_crds: "{crds}"
    alb_controller_wait: false
    # The plane's own ingressclassparams CRD is another manager's.
    alb_controller_force_conflicts: true
{vars}
  roles:
    - netpath.calico_alb.alb_controller
  post_tasks:
    - name: The IAM policy is published
      ansible.builtin.assert:
        that:
          - alb_controller_iam_policy.document.Version == '2012-10-17'
          - alb_controller_iam_policy_terraform.resource.aws_iam_policy is mapping
        quiet: true
"#,
            kc = p.kubeconfig.display()
        )
    };
    let good = "    alb_controller_cluster_name: netpath\n    alb_controller_region: eu-west-1\n    \
                alb_controller_vpc_id: vpc-0123456789abcdef0";
    let (venv_name, venv) = cores().remove(0);
    let (ok, out) = play.run(
        &venv,
        &playbook("    alb_controller_cluster_name: netpath\n    alb_controller_vpc_id: vpc-123"),
    );
    assert!(!ok, "{venv_name}: {out}");
    for want in [
        "alb_controller_region: is empty",
        "alb_controller_vpc_id: \"vpc-123\" is not a VPC ID",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let deployment = || {
        p.get(
            "apps/v1",
            "Deployment",
            Some(&ns),
            "aws-load-balancer-controller",
        )
    };
    assert!(deployment().is_none(), "written before the refusal");
    let tgb_crd = || {
        p.get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            "targetgroupbindings.elbv2.k8s.aws",
        )
    };
    assert!(tgb_crd().is_none(), "CRDs written before the refusal");

    let recap = |out: &str, k: &str| -> u32 {
        out.lines()
            .filter(|l| l.starts_with("localhost") && l.contains(" ok="))
            .flat_map(|l| l.split_whitespace())
            .filter_map(|w| w.strip_prefix(&format!("{k}=")))
            .filter_map(|n| n.parse::<u32>().ok())
            .sum()
    };
    let checked = |vars: &str| {
        let d = play.dir.path();
        std::fs::write(d.join("play.yml"), playbook(vars)).unwrap();
        let out = common::ansible_playbook(&venv, d)
            .args(["-i", "inventory.yml", "play.yml", "--check"])
            .env("ANSIBLE_COLLECTIONS_PATH", &play.collections)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (ok, out) = checked(good);
    assert!(ok, "{out}");
    assert!(deployment().is_none(), "check mode wrote: {out}");

    let (ok, out) = play.run(&venv, &playbook(good));
    assert!(ok, "{out}");
    assert!(recap(&out, "changed") > 0, "{out}");
    let d = deployment().expect("the role wrote the Deployment");
    assert_eq!(tgb_crd().is_some(), !crds.is_empty(), "the CRDs: {out}");
    let rv = |o: &Value| o["metadata"]["resourceVersion"].clone();
    let secret = || {
        p.get("v1", "Secret", Some(&ns), "aws-load-balancer-tls")
            .unwrap()
    };
    let (d_rv, s_rv) = (rv(&d), rv(&secret()));

    let (ok, out) = play.run(&venv, &playbook(good));
    assert!(ok, "{out}");
    assert_eq!(recap(&out, "changed"), 0, "second run: {out}");
    let (ok, out) = checked(good);
    assert!(ok, "{out}");
    assert_eq!(recap(&out, "changed"), 0, "check after: {out}");
    assert_eq!(rv(&deployment().unwrap()), d_rv);
    assert_eq!(rv(&secret()), s_rv, "the webhook certificate was kept");
}

/// The netcheck role's providerID step (tasks_from: provider_id), as a play
/// on the workers runs it: the host's own instance metadata (an IMDSv2
/// server on loopback), its Node found by InternalIP, spec.providerID set
/// once; check mode writes nothing; a second run changes nothing.
#[test]
fn role_step_sets_the_provider_id_from_the_hosts_own_metadata() {
    let name = common::unique_name("ip-role");
    let ip = format!(
        "10.254.{}.{}",
        std::process::id() % 250 + 1,
        name.len() % 250 + 1
    );
    let p = plane();
    let _node = p.node(&name, None, &ip);
    let imds = common::imds::Imds::start("i-0fedcba9876543210", "eu-west-1c", &ip);
    let play = Play::new();
    let venv = common::venv_bin();
    let playbook = |check: bool| {
        format!(
            r#"- hosts: localhost
  gather_facts: false
  check_mode: {check}
  vars:
    netpath_kubeconfig: {kc}
    netcheck_metadata_endpoint: {ep}
  tasks:
    - name: Set this host's providerID
      ansible.builtin.include_role:
        name: netpath.calico_alb.netcheck
        tasks_from: provider_id
    - name: Show it
      ansible.builtin.debug:
        msg: "provider_id={{{{ netcheck_provider_id_result.provider_id }}}} source={{{{ netcheck_provider_id_result.source }}}}"
"#,
            kc = p.kubeconfig.display(),
            ep = imds.endpoint,
        )
    };
    let provider_id =
        || plane().get("v1", "Node", None, &name).unwrap()["spec"]["providerID"].clone();
    let (ok, out) = play.run(&venv, &playbook(true));
    assert!(ok, "{out}");
    assert!(
        out.contains("changed=1"),
        "check mode reports the change: {out}"
    );
    assert_eq!(
        provider_id(),
        Value::Null,
        "check mode wrote nothing: {out}"
    );
    let (ok, out) = play.run(&venv, &playbook(false));
    assert!(ok, "{out}");
    assert!(
        out.contains("provider_id=aws:///eu-west-1c/i-0fedcba9876543210 source=metadata"),
        "{out}"
    );
    assert!(out.contains("changed=1"), "{out}");
    assert_eq!(
        provider_id(),
        json!("aws:///eu-west-1c/i-0fedcba9876543210")
    );
    let (ok, out) = play.run(&venv, &playbook(false));
    assert!(ok, "{out}");
    assert!(
        out.contains("changed=0"),
        "the second run changes nothing: {out}"
    );
}
