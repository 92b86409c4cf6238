//! The controller half of the path as netcheck reads it live, on the real
//! plane: the Nodes and their providerIDs (and the `node_provider_id` fix),
//! and the AWS Load Balancer Controller's Deployment, IngressClass and
//! webhooks. Nodes are made by the test (there
//! is no kubelet); the instance metadata service is an IMDSv2 one on
//! loopback that, like a hardened instance, answers only requests carrying
//! its session token.

use crate::common::imds::Imds;
use crate::common::module::{self, Flags};
use crate::common::{self, block_on, resource_version, unique_name};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

module_plane!("controller-half");

/// A Node as kubelet registers it, with or without --provider-id, deleted
/// when the test ends (pass or panic).
fn node(ip: &str, provider_id: Option<&str>) -> common::Node<'static> {
    plane().node(&unique_name("ip-node"), provider_id, ip)
}

fn get_node(name: &str) -> Value {
    plane().get("v1", "Node", None, name).expect("Node exists")
}

fn args(extra: Value) -> Value {
    let mut a = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()});
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

/// A random private-looking address per test, so the InternalIP lookup
/// finds exactly this test's Node on the shared plane.
fn test_ip() -> String {
    let n = unique_name("x");
    let b = n
        .bytes()
        .fold(0u32, |a, c| a.wrapping_mul(31).wrapping_add(c as u32));
    format!(
        "10.{}.{}.{}",
        100 + b % 100,
        (b >> 8) % 250 + 1,
        (b >> 16) % 250 + 1
    )
}

#[test]
fn metadata_sets_provider_id_once_check_mode_writes_nothing() {
    let ip = test_ip();
    let name = node(&ip, None);
    let imds = Imds::start("i-0a1b2c3d4e5f60718", "eu-west-1b", &ip);
    let a = args(json!({"metadata_endpoint": imds.endpoint}));
    let rv = resource_version(&get_node(&name));

    let check = module::run(
        "node_provider_id",
        a.clone(),
        Flags {
            check: true,
            diff: true,
            ..Flags::default()
        },
    );
    assert_eq!(check.json["changed"], true, "{}", check.stdout);
    assert_eq!(check.json["node_name"], &*name);
    assert_eq!(
        check.json["provider_id"],
        "aws:///eu-west-1b/i-0a1b2c3d4e5f60718"
    );
    assert!(
        check.json["diff"]
            .to_string()
            .contains("i-0a1b2c3d4e5f60718"),
        "{}",
        check.stdout
    );
    assert_eq!(
        resource_version(&get_node(&name)),
        rv,
        "check mode wrote the Node"
    );

    let first = module::run("node_provider_id", a.clone(), Flags::default());
    assert_eq!(first.json["changed"], true, "{}", first.stdout);
    assert_eq!(first.json["source"], "metadata");
    let live = get_node(&name);
    assert_eq!(
        live["spec"]["providerID"],
        "aws:///eu-west-1b/i-0a1b2c3d4e5f60718"
    );
    let rv = resource_version(&live);

    let second = module::run("node_provider_id", a, Flags::default());
    assert_eq!(second.json["changed"], false, "{}", second.stdout);
    assert_eq!(
        resource_version(&get_node(&name)),
        rv,
        "the second run wrote"
    );

    // Every GET carried the IMDSv2 token; nothing fell back to IMDSv1.
    assert_eq!(imds.refused.load(Ordering::SeqCst), 0);
    let reqs = imds.requests.lock().unwrap().clone();
    assert!(
        reqs.iter().any(|r| r.starts_with("PUT /latest/api/token")),
        "{reqs:?}"
    );
}

#[test]
fn inventory_ids_by_node_name() {
    let name = node(&test_ip(), None);
    let a = args(
        json!({"node_name": &*name, "instance_id": "i-0123456789abcdef0", "availability_zone": "eu-west-1a"}),
    );
    let out = module::run("node_provider_id", a.clone(), Flags::default());
    assert_eq!(out.json["changed"], true, "{}", out.stdout);
    assert_eq!(out.json["source"], "inventory");
    assert_eq!(
        get_node(&name)["spec"]["providerID"],
        "aws:///eu-west-1a/i-0123456789abcdef0"
    );
    let again = module::run("node_provider_id", a, Flags::default());
    assert_eq!(again.json["changed"], false, "{}", again.stdout);
}

#[test]
fn a_different_provider_id_is_reported_never_changed() {
    let name = node(&test_ip(), Some("aws:///eu-west-1a/i-00000000000000001"));
    let rv = resource_version(&get_node(&name));
    let out = module::run(
        "node_provider_id",
        args(json!({"node_name": &*name, "provider_id": "aws:///eu-west-1a/i-00000000000000002"})),
        Flags::default(),
    );
    assert_eq!(out.json["failed"], true, "{}", out.stdout);
    let msg = out.json["msg"].as_str().unwrap();
    assert!(
        msg.contains("already has providerID aws:///eu-west-1a/i-00000000000000001"),
        "{msg}"
    );
    assert!(msg.contains("--provider-id"), "{msg}");
    assert_eq!(resource_version(&get_node(&name)), rv);
}

#[test]
fn bad_input_writes_nothing() {
    let ip = test_ip();
    let name = node(&ip, None);
    let rv = resource_version(&get_node(&name));
    let cases = [
        (
            json!({"node_name": &*name, "provider_id": "i-0123456789abcdef0"}),
            "provider_id: \"i-0123456789abcdef0\" is not of the form aws:///<availability-zone>/<instance-id>",
        ),
        (
            json!({"node_name": &*name, "instance_id": "i-xyz", "availability_zone": "eu-west-1a"}),
            "instance_id: \"i-xyz\" is not an EC2 instance ID",
        ),
        (
            json!({"node_name": &*name, "instance_id": "i-0abc"}),
            "availability_zone",
        ),
        (
            json!({"node_name": "no-such-node-np", "provider_id": "aws:///eu-west-1a/i-0abc"}),
            "Node \"no-such-node-np\" does not exist",
        ),
        // Nothing listens on port 9: the lookup fails with the way out.
        (
            json!({"metadata_endpoint": "http://127.0.0.1:9"}),
            "give instance_id and availability_zone",
        ),
    ];
    for (a, want) in cases {
        let out = module::run("node_provider_id", args(a.clone()), Flags::default());
        assert_eq!(out.json["failed"], true, "{a}: {}", out.stdout);
        let msg = out.json["msg"].as_str().unwrap();
        assert!(msg.contains(want), "{a}: {msg}");
    }
    // No endpoint given and metadata turned off as the SDKs turn it off.
    let out = module::run_env(
        "node_provider_id",
        args(json!({})),
        Flags::default(),
        &[("AWS_EC2_METADATA_DISABLED", "true")],
    );
    assert!(
        out.json["msg"]
            .as_str()
            .unwrap()
            .contains("AWS_EC2_METADATA_DISABLED=true"),
        "{}",
        out.stdout
    );
    assert_eq!(
        resource_version(&get_node(&name)),
        rv,
        "a refused run wrote the Node"
    );
}

/// netcheck's Ingress with `target-node-labels` on a label only this test's
/// Nodes carry, so other Nodes of the shared plane are not its targets.
fn netcheck_args(label: &str, kubeconfig_context: Option<&str>) -> Value {
    let mut a = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap(),
        "cni_plugin": "calico", "pod_cidr": "192.168.0.0/16", "vpc_cidrs": ["10.0.0.0/16"],
        "ingresses": [{"name": "app-ingress", "namespace": "default", "scheme": "internet-facing",
            "target_type": "instance", "listen_ports": [{"HTTP": 80}],
            "annotations": {"alb.ingress.kubernetes.io/target-node-labels": format!("netpath-test={label}")},
            "rules": [{"host": "example.com", "paths": [{"path": "/", "service_name": "app-service", "service_port": 80}]}],
            "services": [{"name": "app-service", "port": 80, "target_port": 8080, "node_port": 30080}]}]});
    if let Some(c) = kubeconfig_context {
        a["context"] = json!(c);
    }
    a
}

fn label_node(name: &str, labels: Value) {
    let n = name.to_string();
    block_on(async move {
        let api: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(plane().client());
        api.patch(
            &n,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&json!({"metadata": {"labels": labels}})),
        )
        .await
        .expect("label Node");
    });
}

#[test]
fn netcheck_names_the_node_without_provider_id_and_the_fix_clears_it() {
    let label = unique_name("l");
    let good = node(&test_ip(), Some("aws:///eu-west-1a/i-0123456789abcdef0"));
    let bad = node(&test_ip(), None);
    let control_plane = node(&test_ip(), None);
    for n in [&good, &bad, &control_plane] {
        label_node(n, json!({"netpath-test": label}));
    }
    // kubeadm's control-plane label: the controller never registers it.
    label_node(
        &control_plane,
        json!({"node.kubernetes.io/exclude-from-external-load-balancers": ""}),
    );

    let r = module::run("netcheck", netcheck_args(&label, None), Flags::default()).json;
    assert_eq!(r["failed"], true, "{r}");
    let node_errors: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" && f["field"].as_str().unwrap().starts_with("nodes["))
        .collect();
    assert_eq!(
        node_errors.len(),
        1,
        "only the Ready worker without providerID: {r}"
    );
    assert_eq!(node_errors[0]["field"], format!("nodes[{}]", &*bad));
    assert!(
        node_errors[0]["problem"]
            .as_str()
            .unwrap()
            .contains(&format!("providerID is not specified for node: {}", &*bad)),
        "{r}"
    );

    // The fix: netcheck then passes.
    let fixed = module::run(
        "node_provider_id",
        args(
            json!({"node_name": &*bad, "instance_id": "i-0fedcba9876543210", "availability_zone": "eu-west-1b"}),
        ),
        Flags::default(),
    );
    assert_eq!(fixed.json["changed"], true, "{}", fixed.stdout);
    let r = module::run("netcheck", netcheck_args(&label, None), Flags::default()).json;
    assert_eq!(r["failed"], false, "{r}");

    // Only the excluded control plane left: nothing can be registered.
    label_node(&good, json!({"netpath-test": null}));
    label_node(&bad, json!({"netpath-test": null}));
    let r = module::run("netcheck", netcheck_args(&label, None), Flags::default()).json;
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .contains("no Node can be registered as a target of Ingress default/app-ingress")
            && r["msg"]
                .as_str()
                .unwrap()
                .contains("1 labelled node.kubernetes.io/exclude-from-external-load-balancers"),
        "{r}"
    );
}

#[test]
fn netcheck_notes_nodes_it_may_not_list() {
    // A user of its own that may read all netcheck reads but Nodes
    // (impersonated by the admin, so no other test sees the grant).
    let user = unique_name("no-nodes");
    plane().create(&json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": user},
        "rules": [{"apiGroups": [""], "resources": ["services", "configmaps"], "verbs": ["get", "list"]},
                  {"apiGroups": ["crd.projectcalico.org"], "resources": ["ippools", "felixconfigurations"], "verbs": ["get", "list"]}]}));
    plane().create(
        &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": user},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": user},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]}),
    );
    let mut a = netcheck_args("x", None);
    a["impersonate_user"] = json!(user);
    let r = module::run("netcheck", a, Flags::default()).json;
    plane().delete(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        None,
        &user,
    );
    plane().delete("rbac.authorization.k8s.io/v1", "ClusterRole", None, &user);
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["network"]["live"], true, "the other reads were made: {r}");
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["problem"]
                .as_str()
                .unwrap()
                .contains("Nodes could not be listed (forbidden)")),
        "{r}"
    );
}

/// A controller Deployment as the chart makes it, with these args, and its
/// status set as kube-controller-manager would (there is none here).
fn controller_deployment(ns: &str, args: &[&str], available: bool) {
    plane().create(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "aws-load-balancer-controller", "namespace": ns},
        "spec": {"selector": {"matchLabels": {"app": "lbc"}},
            "template": {"metadata": {"labels": {"app": "lbc"}},
                "spec": {"containers": [{"name": "aws-load-balancer-controller",
                    "image": "public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0", "args": args}]}}}}));
    let n = if available { 1 } else { 0 };
    let status = json!({"replicas": 1, "readyReplicas": n, "availableReplicas": n,
        "conditions": [{"type": "Available", "status": if available { "True" } else { "False" },
            "reason": "MinimumReplicasAvailable", "message": "test",
            "lastUpdateTime": "2026-12-01T00:00:00Z", "lastTransitionTime": "2026-12-01T00:00:00Z"}]});
    plane().patch_status(
        "apps/v1",
        "Deployment",
        Some(ns),
        "aws-load-balancer-controller",
        status,
    );
}

fn controller_netcheck(ns: &str, extra: Value) -> Value {
    let mut a = netcheck_args("none", None);
    a["controller_namespace"] = json!(ns);
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    module::run("netcheck", a, Flags::default()).json
}

fn findings(r: &Value, severity: &str) -> Vec<String> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| {
            format!(
                "{}: {}",
                f["field"].as_str().unwrap(),
                f["problem"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn netcheck_reads_the_controllers_deployment() {
    let ns = plane().namespace("lbc-good");
    controller_deployment(
        &ns,
        &[
            "--cluster-name=netpath",
            "--aws-region=eu-west-1",
            "--aws-vpc-id=vpc-0123",
        ],
        true,
    );
    let expect = json!({"cluster_name": "netpath", "region": "eu-west-1", "vpc_id": "vpc-0123"});
    let r = controller_netcheck(&ns, expect.clone());
    let controller_findings: Vec<String> = findings(&r, "error")
        .into_iter()
        .chain(findings(&r, "warning"))
        .filter(|f| {
            f.starts_with("controller_name")
                || f.starts_with("cluster_name")
                || f.starts_with("vpc_id")
                || f.starts_with("region")
        })
        .collect();
    assert!(
        controller_findings.is_empty(),
        "{controller_findings:?}\n{r}"
    );
    assert_eq!(r["controller"]["cluster_name"], "netpath", "{r}");
    assert_eq!(r["controller"]["available"], true, "{r}");

    // The same controller, against a path tagged for another cluster and VPC.
    let r = controller_netcheck(&ns, json!({"cluster_name": "prod", "vpc_id": "vpc-9999"}));
    let e = findings(&r, "error");
    assert!(
        e.iter().any(|x| x.contains(
            "runs with --cluster-name=netpath, but this path is tagged for cluster prod"
        )),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|x| x.contains("runs with --aws-vpc-id=vpc-0123, not vpc-9999")),
        "{e:?}"
    );
    assert_eq!(r["failed"], true);
}

#[test]
fn netcheck_warns_of_a_controller_that_must_introspect_or_is_down() {
    let ns = plane().namespace("lbc-bare");
    controller_deployment(&ns, &["--cluster-name=netpath"], false);
    let r = controller_netcheck(&ns, json!({}));
    let w = findings(&r, "warning");
    assert!(
        w.iter()
            .any(|x| x.contains("without --aws-region and --aws-vpc-id")
                && x.contains("failed to introspect vpcID from EC2Metadata")),
        "{w:?}"
    );
    assert!(
        findings(&r, "error")
            .iter()
            .any(|x| x.contains("has no available replica")),
        "{r}"
    );

    // No controller at all where it is looked for.
    let r = controller_netcheck(&plane().namespace("lbc-none"), json!({}));
    assert!(
        findings(&r, "warning")
            .iter()
            .any(|x| x.contains("no Deployment")
                && x.contains("nothing turns the Ingresses into an ALB")),
        "{r}"
    );
    assert_eq!(r["controller"]["found"], false);
}
