//! netcheck's AWS reads (the AWS SDK for Rust) against the controller rig:
//! moto on loopback seeded with the seed's VPC, the plane with the rig's
//! Nodes, and the real AWS Load Balancer Controller v3.5.0. Each break is
//! made in the emulated AWS (or the cluster), found by netcheck before
//! anything is applied, and, where the rig can show it, refused by the
//! controller in its own words; each has its passing case.

use crate::common;

use crate::common::lbc::{self, Rig, Test};
use serde_json::{Value, json};

/// netcheck's options for the seed's path in `ns` (the roles' values).
fn args(rig: &Rig, ns: &str) -> Value {
    let seed = lbc::seed_args(ns);
    let mut apps = seed["ingresses"].clone();
    for a in apps.as_array_mut().unwrap() {
        a["services"][0]["node_port"] = json!(31555);
    }
    json!({
        "kubeconfig": rig.plane.kubeconfig.to_str().unwrap(),
        "cni_plugin": "calico", "pod_cidr": seed["pod_cidr"], "vpc_cidrs": seed["vpc_cidrs"],
        "cluster_name": "netpath",
        "aws": true,
        "ingresses": apps,
    })
}

/// AWS configuration of the rig: moto's endpoint, dummy keys, no metadata.
fn env(rig: &Rig) -> Vec<(String, String)> {
    [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_EC2_METADATA_DISABLED",
    ]
    .iter()
    .map(|k| (k.to_string(), rig.env(k).to_string()))
    .collect()
}

fn netcheck_env(rig: &Rig, a: Value, extra: &[(&str, &str)]) -> Value {
    let mut e = env(rig);
    e.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    common::module::run_env("netcheck", a, common::module::Flags::default(), &e).json
}

fn netcheck(rig: &Rig, a: Value) -> Value {
    netcheck_env(rig, a, &[])
}

fn errors(r: &Value) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| format!("{}: {} | {}", f["field"], f["problem"], f["fix"]))
        .collect()
}

#[track_caller]
fn clean(r: &Value) {
    assert_eq!(r["failed"], json!(false), "{r}");
    assert!(errors(r).is_empty(), "{:?}", errors(r));
    assert_eq!(r["aws"]["read"], json!(true), "{}", r["aws"]);
}

#[track_caller]
fn found(r: &Value, text: &str) -> String {
    assert_eq!(r["failed"], json!(true), "{r}");
    errors(r)
        .into_iter()
        .find(|e| e.contains(text))
        .unwrap_or_else(|| panic!("no error with {text:?} in {:?}", errors(r)))
}

/// Undoes a change to the emulated AWS when the test ends, pass or panic.
struct Undo(&'static Rig, &'static str, Vec<String>);

impl Drop for Undo {
    fn drop(&mut self) {
        let a: Vec<&str> = self.2.iter().map(String::as_str).collect();
        self.0.aws(self.1, &a);
    }
}

/// The overlay rule the seed's worker SG needs (netcheck asks for it); the
/// rig's worker SG has none, and must have none again for the next test.
fn vxlan_rule(rig: &'static Rig) -> Undo {
    let sg = rig.worker_sg().to_string();
    rig.aws("sg-rule", &["add", &sg, "udp", "4789", "4789", &sg]);
    Undo(
        rig,
        "sg-rule",
        vec![
            "remove".into(),
            sg.clone(),
            "udp".into(),
            "4789".into(),
            "4789".into(),
            sg,
        ],
    )
}

fn begin(prefix: &str) -> Option<(&'static Rig, Test)> {
    let rig = lbc::rig()?;
    Some((rig, rig.begin(prefix)))
}

/// The seed's AWS is clean, and the calls do not grow with the Ingresses.
#[test]
fn seed_aws_is_clean_and_the_calls_do_not_grow_with_ingresses() {
    let Some((rig, t)) = begin("aws-ok") else {
        return;
    };
    let _vxlan = vxlan_rule(rig);
    let a = args(rig, &t.ns);
    let r = netcheck(rig, a.clone());
    clean(&r);
    assert_eq!(
        r["aws"]["vpc_id"], rig.seed["vpc"],
        "VPC learned from the instances"
    );
    assert_eq!(r["aws"]["instances"], json!(2), "{}", r["aws"]);
    let calls = r["aws"]["calls"].clone();
    assert_eq!(
        calls,
        json!({"DescribeInstances": 1, "DescribeRouteTables": 1, "DescribeSecurityGroups": 1, "DescribeSubnets": 1}),
        "{}",
        r["aws"]
    );
    // Twenty Ingresses: the same calls.
    let mut many = a.clone();
    let one = a["ingresses"][0].clone();
    many["ingresses"] = json!(
        (0..20)
            .map(|i| {
                let mut x = one.clone();
                x["name"] = json!(format!("app-{i}"));
                x["services"][0]["name"] = json!(format!("svc-{i}"));
                x["services"][0]["node_port"] = json!(31000 + i);
                x["rules"][0]["paths"][0]["service_name"] = json!(format!("svc-{i}"));
                x
            })
            .collect::<Vec<_>>()
    );
    let r = netcheck(rig, many);
    clean(&r);
    assert_eq!(r["aws"]["calls"], calls, "{}", r["aws"]);
}

/// Without the VXLAN rule between the workers, netcheck names the group and the rule.
#[test]
fn break_worker_sg_without_vxlan_between_nodes() {
    let Some((rig, t)) = begin("aws-vxlan") else {
        return;
    };
    let r = netcheck(rig, args(rig, &t.ns));
    let e = found(&r, "do not admit UDP 4789");
    let sg = rig.worker_sg();
    assert!(
        e.contains(&format!(
            "--group-id {sg} --protocol udp --port 4789 --source-group {sg}"
        )),
        "{e}"
    );
}

/// Untagged subnets without a route to an internet gateway: netcheck
/// reports the controller's words before apply; the controller, given the
/// Ingress anyway, fails exactly so. With the route back they are found by
/// reachability (see tests/lbc.rs for the controller's side of that).
#[test]
fn break_untagged_subnets_without_an_igw_route() {
    let Some((rig, t)) = begin("aws-subnet") else {
        return;
    };
    let _vxlan = vxlan_rule(rig);
    rig.aws("elb-tag", &["remove"]);
    let _tag = Undo(rig, "elb-tag", vec!["add".into()]);
    // Reachability alone: still fine.
    clean(&netcheck(rig, args(rig, &t.ns)));
    rig.aws("igw-route", &["remove"]);
    let _route = Undo(rig, "igw-route", vec!["add".into()]);
    let r = netcheck(rig, args(rig, &t.ns));
    let e = found(
        &r,
        "unable to resolve at least one subnet. Evaluated 0 subnets: 0 are tagged for other clusters, and 0 have insufficient available IP addresses",
    );
    assert!(e.contains("kubernetes.io/role/elb=1"), "{e}");
    for s in rig.subnet_ids() {
        assert!(e.contains(&s), "names {s}: {e}");
    }
    // The controller's own words for the same state.
    let mut ing = args(rig, &t.ns);
    for k in ["cluster_name", "aws", "kubeconfig"] {
        ing.as_object_mut().unwrap().remove(k);
    }
    ing["ingress_class"] = json!({"name": "alb"});
    let w = rig.module("alb_ingress", ing);
    assert_eq!(w["failed"], json!(false), "{w}");
    let msg = rig.wait("the controller's FailedBuildModel", 60, || {
        rig.events(&t.ns)
            .into_iter()
            .find(|(_, m)| m.contains("couldn't auto-discover subnets"))
    });
    assert_eq!(msg.0, "FailedBuildModel", "{msg:?}");
    assert!(msg.1.contains("Evaluated 0 subnets"), "{msg:?}");
}

/// Two security groups tagged for the cluster on the workers' ENIs.
#[test]
fn break_two_tagged_security_groups_on_one_eni() {
    let Some((rig, t)) = begin("aws-2sg") else {
        return;
    };
    let _vxlan = vxlan_rule(rig);
    let worker = rig.worker_sg().to_string();
    let second = rig.aws("sg", &["create", "netpath-extra", "netpath"]);
    let _delete = Undo(rig, "sg", vec!["delete".into(), second.clone()]);
    // Both groups on the ENIs, both tagged for the cluster.
    rig.aws("eni-sgs", &[&format!("{worker},{second}")]);
    let _restore = Undo(rig, "eni-sgs", vec![worker.clone()]);
    let r = netcheck(rig, args(rig, &t.ns));
    let e = found(
        &r,
        "expected exactly one securityGroup tagged with kubernetes.io/cluster/netpath for eni",
    );
    let mut both = [worker.clone(), second.clone()];
    both.sort();
    assert!(e.contains(&format!("got: [{}]", both.join(" "))), "{e}");
    assert!(e.contains("delete-tags --resources"), "{e}");
    // One group only: clean.
    rig.aws("eni-sgs", &[&worker]);
    clean(&netcheck(rig, args(rig, &t.ns)));
}

/// Custom security_groups: the controller adds no worker rule, so the
/// worker SG must admit the ALB's group on the NodePort.
#[test]
fn break_custom_security_groups_without_the_node_port_rule() {
    let Some((rig, t)) = begin("aws-cust") else {
        return;
    };
    let _vxlan = vxlan_rule(rig);
    let alb = rig.aws("sg", &["create", "netpath-alb"]);
    let _delete = Undo(rig, "sg", vec!["delete".into(), alb.clone()]);
    let mut a = args(rig, &t.ns);
    a["ingresses"][0]["security_groups"] = json!(["netpath-alb"]);
    let r = netcheck(rig, a.clone());
    let e = found(&r, "do not admit tcp 31555 from them");
    let worker = rig.worker_sg().to_string();
    assert!(
        e.contains(&format!(
            "--group-id {worker} --protocol tcp --port 31555 --source-group {alb}"
        )),
        "the Name tag resolved to {alb}: {e}"
    );
    rig.aws("sg-rule", &["add", &worker, "tcp", "31555", "31555", &alb]);
    let _rule = Undo(
        rig,
        "sg-rule",
        ["remove", &worker, "tcp", "31555", "31555", &alb]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    clean(&netcheck(rig, a));
}

/// The controller's Deployment without --aws-vpc-id on instances whose
/// IMDSv2 hop limit is 1: its Pod cannot introspect the VPC.
#[test]
fn break_controller_without_vpc_id_on_hop_limit_one() {
    let Some((rig, t)) = begin("aws-imds") else {
        return;
    };
    let _vxlan = vxlan_rule(rig);
    rig.aws("metadata", &["1", "required"]);
    let _md = Undo(rig, "metadata", vec!["2".into(), "optional".into()]);
    let ns = &t.ns;
    let deploy = |args: Vec<&str>| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "aws-load-balancer-controller", "namespace": ns},
            "spec": {"selector": {"matchLabels": {"app": "lbc"}},
                "template": {"metadata": {"labels": {"app": "lbc"}},
                    "spec": {"containers": [{"name": "aws-load-balancer-controller", "image": "lbc", "args": args}]}}}})
    };
    rig.plane.create(&deploy(vec![
        "--cluster-name=netpath",
        "--aws-region=eu-west-1",
    ]));
    rig.plane.patch_status(
        "apps/v1",
        "Deployment",
        Some(ns),
        "aws-load-balancer-controller",
        json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
    );
    let mut a = args(rig, ns);
    a["controller_namespace"] = json!(ns);
    let r = netcheck(rig, a.clone());
    let e = found(&r, "failed to introspect vpcID from EC2Metadata");
    for i in rig.instance_ids() {
        assert!(e.contains(&i), "names {i}: {e}");
    }
    assert!(e.contains("--http-put-response-hop-limit 2"), "{e}");
    // Hop limit 2: the Pod gets its token.
    rig.aws("metadata", &["2", "required"]);
    clean(&netcheck(rig, a.clone()));
    // Or the flag: no metadata needed, whatever the hop limit.
    rig.aws("metadata", &["1", "required"]);
    rig.plane.delete(
        "apps/v1",
        "Deployment",
        Some(ns),
        "aws-load-balancer-controller",
    );
    rig.plane.create(&deploy(vec![
        "--cluster-name=netpath",
        "--aws-region=eu-west-1",
        &format!("--aws-vpc-id={}", rig.seed["vpc"].as_str().unwrap()),
    ]));
    rig.plane.patch_status(
        "apps/v1",
        "Deployment",
        Some(ns),
        "aws-load-balancer-controller",
        json!({"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
    );
    clean(&netcheck(rig, a));
    rig.plane.delete(
        "apps/v1",
        "Deployment",
        Some(ns),
        "aws-load-balancer-controller",
    );
}

/// A Node whose providerID names no instance: found with DescribeInstances
/// before apply (tests/lbc.rs shows the controller's InvalidInstanceID.NotFound).
#[test]
fn break_provider_id_naming_no_instance() {
    let Some((rig, t)) = begin("aws-ghost") else {
        return;
    };
    let _vxlan = vxlan_rule(rig);
    clean(&netcheck(rig, args(rig, &t.ns)));
    t.add_node(
        "ip-10-0-0-97.eu-west-1.compute.internal",
        "aws:///eu-west-1a/i-0000000deadbeef00",
        "10.0.0.97",
    );
    let r = netcheck(rig, args(rig, &t.ns));
    let e = found(
        &r,
        "InvalidInstanceID.NotFound: The instance ID 'i-0000000deadbeef00' does not exist",
    );
    assert!(e.contains("ip-10-0-0-97.eu-west-1.compute.internal"), "{e}");
    t.delete_node("ip-10-0-0-97.eu-west-1.compute.internal");
    clean(&netcheck(rig, args(rig, &t.ns)));
}

/// AWS errors are findings, never failures of the read or panics; and no
/// credential reaches the output.
#[test]
fn aws_errors_are_findings_and_credentials_never_leak() {
    let Some((rig, t)) = begin("aws-err") else {
        return;
    };
    let secret = "npSecretKey-9f3b2c7d1e0a4b5c6d7e8f90";
    let token = "npSessionToken-1a2b3c4d5e6f7a8b9c0d";
    // Unreachable endpoint (a closed port on loopback).
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let r = netcheck_env(
        rig,
        args(rig, &t.ns),
        &[
            ("AWS_ENDPOINT_URL", &url),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_SESSION_TOKEN", token),
        ],
    );
    let e = found(&r, "AWS could not be read (DescribeInstances");
    assert_eq!(r["aws"]["read"], json!(false), "{}", r["aws"]);
    let out = r.to_string();
    assert!(!out.contains(secret) && !out.contains(token), "{out}");
    assert!(e.contains("aws: false"), "{e}");
    // Not asked for (aws unset, credentials in the environment): warnings only.
    let mut a = args(rig, &t.ns);
    a.as_object_mut().unwrap().remove("aws");
    a["fail_on"] = json!("error");
    let r = netcheck_env(
        rig,
        a,
        &[
            ("AWS_ENDPOINT_URL", &url),
            ("AWS_SECRET_ACCESS_KEY", secret),
        ],
    );
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "warning" && f["field"] == "aws"),
        "{r}"
    );
    assert!(!r.to_string().contains(secret));
    // Success with the same secret: not in the output either.
    let r = netcheck_env(rig, args(rig, &t.ns), &[("AWS_SECRET_ACCESS_KEY", secret)]);
    assert_eq!(r["aws"]["read"], json!(true), "{}", r["aws"]);
    assert!(!r.to_string().contains(secret));
}

/// `wait: true` with the AWS reads: the ALB's own view of each target
/// (DescribeTargetHealth). Both workers running: the backend is healthy and
/// its targets are returned. Both stopped: the wait fails within its
/// timeout naming each instance, AWS's reason code and netpath's fix. One
/// stopped: the wait succeeds on the other and warns about this one.
#[test]
fn wait_with_aws_reads_reports_each_targets_health() {
    let Some((rig, t)) = begin("health") else {
        return;
    };
    let mut a = args(rig, &t.ns);
    a.as_object_mut().unwrap().remove("cluster_name");
    a["wait"] = json!(true);
    a["wait_timeout"] = json!(90);
    let e = env(rig);
    let e: Vec<(&str, &str)> = e.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let run = |a: &Value| {
        common::module::run_env(
            "alb_ingress",
            a.clone(),
            common::module::Flags::default(),
            &e,
        )
    };

    let out = run(&a);
    let r = &out.json;
    assert_eq!(r["failed"], json!(false), "{r}");
    let backend = &r["load_balancers"][0]["backends"][0];
    assert_eq!(backend["state"], "healthy", "{r}");
    assert!(
        backend["hostname"]
            .as_str()
            .is_some_and(|h| h.contains(".elb.")),
        "{r}"
    );
    let mut ids: Vec<&str> = backend["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["state"], "healthy", "{r}");
            assert_eq!(t["port"], json!(31555), "{r}");
            t["id"].as_str().unwrap()
        })
        .collect();
    ids.sort();
    let mut want = rig.instance_ids();
    want.sort();
    assert_eq!(ids, want, "{r}");
    let secret = rig.env("AWS_SECRET_ACCESS_KEY");
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));

    // `netpath verify` reads the same from the role variables, writing nothing.
    let vars = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        vars.path(),
        serde_json::to_string(&json!({
            "cni_plugin": "calico", "cni_pod_cidr": a["pod_cidr"], "cni_vpc_cidrs": a["vpc_cidrs"],
            "alb_ingress_ingresses": a["ingresses"],
        }))
        .unwrap(),
    )
    .unwrap();
    let verify = |extra: &[&str]| {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("netpath"));
        cmd.args(["verify", "-f", vars.path().to_str().unwrap()])
            .args([
                "--kubeconfig",
                rig.plane.kubeconfig.to_str().unwrap(),
                "--aws",
            ])
            .args(extra)
            .envs(e.iter().copied());
        let out = cmd.output().unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
        (out.status.code(), stdout, stderr)
    };
    let rv = t
        .rig
        .plane
        .get(
            "networking.k8s.io/v1",
            "Ingress",
            Some(&t.ns),
            "app-ingress",
        )
        .unwrap()["metadata"]["resourceVersion"]
        .clone();
    let (code, stdout, stderr) = verify(&["-o", "json"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["built"], json!(true), "{v}");
    assert_eq!(v["load_balancers"], r["load_balancers"], "{v}");
    let (code, stdout, stderr) = verify(&[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let host = backend["hostname"].as_str().unwrap();
    assert!(
        stdout.contains(&format!("Ingress {}/app-ingress: {host}", t.ns)),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("    {}:31555  healthy", want[0])),
        "{stdout}"
    );
    assert_eq!(
        t.rig
            .plane
            .get(
                "networking.k8s.io/v1",
                "Ingress",
                Some(&t.ns),
                "app-ingress"
            )
            .unwrap()["metadata"]["resourceVersion"],
        rv,
        "verify writes nothing"
    );

    // Both workers stopped: no healthy target, in AWS's words.
    rig.aws("instances", &["stop"]);
    let _start = Undo(rig, "instances", vec!["start".into()]);
    a["wait_timeout"] = json!(5);
    let started = std::time::Instant::now();
    let r = run(&a).json;
    assert_eq!(r["failed"], json!(true), "{r}");
    let msg = r["msg"].as_str().unwrap();
    for id in &want {
        assert!(
            msg.contains(&format!("{id} is unused (Target.InvalidState")),
            "{msg}"
        );
    }
    assert!(
        msg.contains("has no healthy target") && msg.contains("Fix: the instance is stopped"),
        "{msg}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        r["load_balancers"][0]["backends"][0]["state"], "unhealthy",
        "{r}"
    );

    // One back: the ALB serves again; the stopped one is a warning.
    rig.aws("instances", &["start", "1"]);
    let r = run(&a).json;
    assert_eq!(r["failed"], json!(false), "{r}");
    assert_eq!(
        r["load_balancers"][0]["backends"][0]["state"], "healthy",
        "{r}"
    );
    let stopped = &rig.instance_ids()[1];
    let warned = r["warnings"].to_string();
    assert!(
        warned.contains(&format!("{stopped} is unused (Target.InvalidState")),
        "{r}"
    );
}
