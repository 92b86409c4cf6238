//! The `alb_controller` module on a real kube-apiserver, run exactly as
//! Ansible runs it: the controller's objects apply, a second run and check
//! mode write nothing, the webhook certificate is kept until it is due, and
//! bad variables are refused before any write. And the objects against the
//! controller's own source (../shared): every RBAC rule and webhook its
//! kubebuilder markers declare.
//!
//! Its ClusterRole and webhook configurations are cluster-wide, so the tests
//! that write them hold `LOCK`, on a plane of this module's own. Once
//! written, the webhooks (failurePolicy Fail, no controller behind them)
//! refuse Services and Ingresses on that plane: no test here writes either.

use crate::common::{self, module, with};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

// A plane of this module's own: the webhooks the module writes are
// cluster-wide and fail closed, and would refuse other modules' Services and
// Ingresses on the shared plane.
module_plane!("lbc-controller");

fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn args(ns: &str, extra: Value) -> Value {
    with(
        json!({
            "kubeconfig": plane().kubeconfig.to_str().unwrap(),
            "namespace": ns,
            "cluster_name": "netpath",
            "region": "eu-west-1",
            "vpc_id": "vpc-0123456789abcdef0",
        }),
        extra,
    )
}

fn run(args: Value, check: bool) -> module::Output {
    module::run(
        "alb_controller",
        args,
        module::Flags {
            check,
            diff: true,
            inject_invocation: true,
        },
    )
}

/// (kind, namespace, name) of every object the module writes in `ns`.
fn objects(ns: &str) -> Vec<(&'static str, &'static str, Option<String>, String)> {
    let n = |s: &str| s.to_string();
    let nsd = Some(ns.to_string());
    vec![
        (
            "v1",
            "ServiceAccount",
            nsd.clone(),
            n("aws-load-balancer-controller"),
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "Role",
            nsd.clone(),
            n("aws-load-balancer-controller-leader-election-role"),
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            nsd.clone(),
            n("aws-load-balancer-controller-leader-election-rolebinding"),
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            None,
            n("aws-load-balancer-controller-role"),
        ),
        (
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            None,
            n("aws-load-balancer-controller-rolebinding"),
        ),
        (
            "v1",
            "Secret",
            nsd.clone(),
            n("aws-load-balancer-webhook-ca"),
        ),
        ("v1", "Secret", nsd.clone(), n("aws-load-balancer-tls")),
        (
            "v1",
            "Service",
            nsd.clone(),
            n("aws-load-balancer-webhook-service"),
        ),
        (
            "apps/v1",
            "Deployment",
            nsd,
            n("aws-load-balancer-controller"),
        ),
        (
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            None,
            n("aws-load-balancer-webhook"),
        ),
        (
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            None,
            n("aws-load-balancer-webhook"),
        ),
    ]
}

fn versions(ns: &str) -> Vec<Option<String>> {
    objects(ns)
        .into_iter()
        .map(|(av, k, ns, name)| {
            plane()
                .get(av, k, ns.as_deref(), &name)
                .map(|o| common::resource_version(&o))
        })
        .collect()
}

fn secret(ns: &str, name: &str) -> Value {
    plane().get("v1", "Secret", Some(ns), name).expect("secret")
}

#[test]
fn applies_keeps_its_certificate_and_writes_nothing_twice() {
    let _l = lock();
    let ns = plane().namespace("lbc");

    // Check mode on an empty namespace: the creates are reported, nothing is written.
    let r = run(args(&ns, json!({})), true);
    assert_eq!(r.json["changed"], json!(true), "{}", r.stdout);
    assert!(
        versions(&ns)[..3].iter().all(Option::is_none),
        "check mode wrote"
    );
    assert!(
        plane()
            .get("v1", "Secret", Some(&ns), "aws-load-balancer-tls")
            .is_none()
    );

    let r = run(args(&ns, json!({})), false);
    assert_eq!(r.json["changed"], json!(true), "{}", r.stdout);
    assert!(
        r.json["msg"].as_str().unwrap().contains("new webhook CA"),
        "{}",
        r.json["msg"]
    );
    let first = versions(&ns);
    assert!(first.iter().all(Option::is_some), "{first:?}");

    // What was written: the chart's objects with netpath's certificate.
    let d = plane()
        .get(
            "apps/v1",
            "Deployment",
            Some(&ns),
            "aws-load-balancer-controller",
        )
        .unwrap();
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    let got: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        got,
        r.json["controller"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
    );
    for a in [
        "--cluster-name=netpath",
        "--aws-region=eu-west-1",
        "--aws-vpc-id=vpc-0123456789abcdef0",
        "--enable-waf=false",
        "--enable-wafv2=false",
        "--enable-shield=false",
    ] {
        assert!(got.contains(&a), "{a}: {got:?}");
    }
    let tls = secret(&ns, "aws-load-balancer-tls");
    assert_eq!(tls["type"], "kubernetes.io/tls");
    let ca = tls["data"]["ca.crt"].as_str().unwrap().to_string();
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        let w = plane()
            .get(
                "admissionregistration.k8s.io/v1",
                kind,
                None,
                "aws-load-balancer-webhook",
            )
            .unwrap();
        for h in w["webhooks"].as_array().unwrap() {
            assert_eq!(
                h["clientConfig"]["caBundle"],
                json!(ca),
                "{kind} {}",
                h["name"]
            );
            assert_eq!(h["clientConfig"]["service"]["namespace"], json!(ns));
        }
    }
    assert_eq!(
        r.json["iam_policy"]["source"],
        "https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/v3.5.0/docs/install/iam_policy.json"
    );
    assert!(r.json["iam_policy_terraform"]["resource"]["aws_iam_policy"].is_object());

    // Second run and check mode: no write, every resourceVersion as it was.
    let r = run(args(&ns, json!({})), false);
    assert_eq!(r.json["changed"], json!(false), "{}", r.stdout);
    assert_eq!(
        r.json["controller"]["webhook_certificate"]["issued"],
        Value::Null
    );
    let r = run(args(&ns, json!({})), true);
    assert_eq!(r.json["changed"], json!(false), "{}", r.stdout);
    assert_eq!(versions(&ns), first);
    let key = secret(&ns, "aws-load-balancer-tls")["data"]["tls.key"].clone();

    // A setting changes only the Deployment.
    let r = run(
        args(
            &ns,
            json!({"log_level": "debug", "replicas": 1,
        "resources": {"requests": {"cpu": "0.1", "memory": "128Mi"}}}),
        ),
        false,
    );
    assert_eq!(r.json["changed"], json!(true), "{}", r.stdout);
    let updated: Vec<&str> = r.json["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["action"] != "unchanged")
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(updated, ["Deployment"], "{}", r.stdout);
    let r = run(
        args(
            &ns,
            json!({"log_level": "debug", "replicas": 1,
        "resources": {"requests": {"cpu": "0.1", "memory": "128Mi"}}}),
        ),
        false,
    );
    assert_eq!(
        r.json["changed"],
        json!(false),
        "quantities as stored: {}",
        r.stdout
    );

    // Renewal on request: a new serving key from the same CA; the webhooks'
    // caBundle and the CA Secret stay.
    let before = versions(&ns);
    let renew = json!({"log_level": "debug", "replicas": 1, "webhook_cert_renew": true,
        "resources": {"requests": {"cpu": "0.1", "memory": "128Mi"}}});
    let r = run(args(&ns, renew), false);
    assert!(
        r.json["msg"]
            .as_str()
            .unwrap()
            .contains("renewal was requested"),
        "{}",
        r.json["msg"]
    );
    let after = versions(&ns);
    let moved: Vec<String> = objects(&ns)
        .iter()
        .zip(before.iter().zip(&after))
        .filter(|(_, (b, a))| b != a)
        .map(|(o, _)| o.3.clone())
        .collect();
    assert_eq!(moved, ["aws-load-balancer-tls"]);
    let tls = secret(&ns, "aws-load-balancer-tls");
    assert_ne!(tls["data"]["tls.key"], key);
    assert_eq!(tls["data"]["ca.crt"], json!(ca));

    // Renewal before expiry: a 2-day certificate is kept with a 1-day
    // threshold, and renewed once the threshold (5 days) covers its expiry.
    let short = |validity: i64, before: i64| {
        json!({"log_level": "debug", "replicas": 1,
               "resources": {"requests": {"cpu": "0.1", "memory": "128Mi"}},
               "webhook_cert_validity_days": validity, "webhook_cert_renew_before_days": before})
    };
    let r = run(
        args(&ns, with(short(2, 1), json!({"webhook_cert_renew": true}))),
        false,
    );
    assert_eq!(r.json["changed"], json!(true));
    let r = run(args(&ns, short(2, 1)), false);
    assert_eq!(r.json["changed"], json!(false), "{}", r.stdout);
    let r = run(args(&ns, short(10, 5)), false);
    assert!(
        r.json["msg"]
            .as_str()
            .unwrap()
            .contains("expires within the renewal threshold"),
        "{}",
        r.json["msg"]
    );
    let r = run(args(&ns, short(10, 5)), false);
    assert_eq!(r.json["changed"], json!(false), "{}", r.stdout);
}

#[test]
fn bad_variables_are_refused_before_any_write_with_the_role_variable() {
    let ns = plane().namespace("lbc-bad");
    let role = json!({"role": "alb_controller",
        "variables": ["alb_controller_cluster_name", "alb_controller_region", "alb_controller_vpc_id"]});
    let r = run(
        args(
            &ns,
            json!({"cluster_name": "", "region": "", "vpc_id": "vpc-123",
            "_netpath_role": role}),
        ),
        false,
    );
    assert_eq!(r.json["failed"], json!(true), "{}", r.stdout);
    let msg = r.json["msg"].as_str().unwrap();
    for want in [
        "alb_controller_cluster_name",
        "kubernetes cluster name must be specified",
        "alb_controller_region",
        "eu-west-1",
        "alb_controller_vpc_id",
        "vpc-0123456789abcdef0",
    ] {
        assert!(msg.contains(want), "{want} in {msg}");
    }
    assert!(
        plane()
            .get(
                "v1",
                "ServiceAccount",
                Some(&ns),
                "aws-load-balancer-controller"
            )
            .is_none()
    );
    assert!(
        plane()
            .get("v1", "Secret", Some(&ns), "aws-load-balancer-tls")
            .is_none()
    );

    // Each rule alone: passes when obeyed (check mode), refuses when broken.
    for (field, bad, good, text) in [
        (
            "cluster_name",
            "my cluster",
            "my-cluster",
            "allow only letters",
        ),
        ("region", "eu-west-1a", "eu-central-1", "availability zone"),
        (
            "vpc_id",
            "vpc-0123456789ABCDEF0",
            "vpc-0a1b2c3d",
            "8 or 17 hex digits",
        ),
    ] {
        let r = run(args(&ns, json!({field: bad})), true);
        assert_eq!(r.json["failed"], json!(true), "{field}: {}", r.stdout);
        assert!(
            r.json["msg"].as_str().unwrap().contains(text),
            "{field}: {}",
            r.json["msg"]
        );
        let r = run(args(&ns, json!({field: good})), true);
        assert_ne!(r.json["failed"], json!(true), "{field}: {}", r.stdout);
    }
}

/// Every `+kubebuilder:rbac` marker of the controller's source (the rules the
/// chart's ClusterRole is generated from) is granted, and every
/// `+kubebuilder:webhook` marker's path, name and failure policy is
/// registered (GlobalAccelerator's only behind its feature gate, off by
/// default, as in the chart).
#[test]
fn rbac_and_webhooks_are_the_controllers_markers() {
    let tarball = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/upstream/aws-load-balancer-controller/v3.5.0/src.tar.gz");
    if !tarball.exists() {
        eprintln!("SKIPPED: ../shared is absent, so the controller's source cannot be compared");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let mut markers = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "go") {
                let text = std::fs::read_to_string(&p).unwrap();
                markers.extend(
                    text.lines()
                        .filter_map(|l| l.trim().strip_prefix("//"))
                        .map(|l| l.trim().to_string())
                        .filter(|l| {
                            l.starts_with("+kubebuilder:rbac:")
                                || l.starts_with("+kubebuilder:webhook:")
                        }),
                );
            }
        }
    }
    let kv = |m: &str| -> std::collections::HashMap<String, String> {
        m.split_once(':')
            .and_then(|(_, r)| r.split_once(':'))
            .map(|(_, r)| r)
            .unwrap_or_default()
            .split(',')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect()
    };
    let role = netpath::lbc::cluster_role();
    let rules = role["rules"].as_array().unwrap();
    let granted = |g: &str, r: &str, v: &str| {
        rules.iter().any(|rule| {
            let has = |k: &str, x: &str| rule[k].as_array().unwrap().iter().any(|y| y == x);
            has("apiGroups", g) && has("resources", r) && has("verbs", v)
        })
    };
    let (mut rbac, mut hooks) = (0, 0);
    for m in markers
        .iter()
        .filter(|m| m.starts_with("+kubebuilder:rbac:"))
    {
        let f = kv(m);
        for g in f["groups"].split(';') {
            let g = if g == "core" { "" } else { g };
            for r in f["resources"].split(';') {
                for v in f["verbs"].split(';') {
                    assert!(granted(g, r, v), "not granted: {g}/{r} {v} ({m})");
                    rbac += 1;
                }
            }
        }
    }
    assert!(rbac > 50, "{rbac} rules checked");

    let spec = &netpath::modules::alb_controller::MODULE;
    let params = netpath::protocol::spec::validate(
        "alb_controller",
        spec.options,
        &spec.constraints,
        json!({"cluster_name": "x", "region": "eu-west-1", "vpc_id": "vpc-0123abcd"})
            .as_object()
            .unwrap(),
        &|_| None,
    )
    .unwrap();
    let plan = netpath::lbc::plan(&params.typed().unwrap()).0.unwrap();
    let c = netpath::lbc::cert::decide(
        &netpath::lbc::cert::Want {
            dns_names: &plan.dns_names(),
            validity_days: 365,
            renew_before_days: 30,
            renew: false,
        },
        None,
        None,
        netpath::lbc::cert::now(),
    )
    .unwrap();
    let objs = plan.objects(&c);
    // (mutating, webhook) of both configurations.
    let registered: Vec<(bool, &Value)> = objs
        .iter()
        .filter(|o| {
            o["kind"]
                .as_str()
                .unwrap()
                .ends_with("WebhookConfiguration")
        })
        .flat_map(|o| {
            let mutating = o["kind"] == "MutatingWebhookConfiguration";
            o["webhooks"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |w| (mutating, w))
        })
        .collect();
    for m in markers
        .iter()
        .filter(|m| m.starts_with("+kubebuilder:webhook:"))
    {
        let f = kv(m);
        if f["name"] == "vglobalaccelerator.aga.k8s.aws" {
            continue;
        }
        let (mutating, w) = registered
            .iter()
            .find(|(_, w)| w["name"] == f["name"].as_str())
            .unwrap_or_else(|| panic!("webhook {} not registered ({m})", f["name"]));
        assert_eq!(mutating.to_string(), f["mutating"], "{m}");
        assert_eq!(
            w["clientConfig"]["service"]["path"],
            f["path"].as_str(),
            "{m}"
        );
        assert_eq!(
            w["failurePolicy"].as_str().unwrap().to_lowercase(),
            f["failurePolicy"].to_lowercase(),
            "{m}"
        );
        let ops: Vec<String> = w["rules"][0]["operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_lowercase())
            .collect();
        assert_eq!(ops.join(";"), f["verbs"], "{m}");
        hooks += 1;
    }
    assert_eq!(
        hooks,
        registered.len(),
        "every registered webhook has a marker"
    );
}

/// A controller installed with Helm before (same names, other field
/// manager): the module refuses to take its fields silently and names the
/// manager; with force_conflicts it takes them over, and then converges.
#[test]
fn a_helm_install_is_taken_over_only_with_force_conflicts() {
    let _l = lock();
    let ns = plane().namespace("lbc-helm");
    // What `helm install` leaves: the chart's Deployment, written by manager "helm".
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "aws-load-balancer-controller", "namespace": ns,
                     "labels": {"app.kubernetes.io/managed-by": "Helm", "helm.sh/chart": "aws-load-balancer-controller-3.5.0"}},
        "spec": {"replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "aws-load-balancer-controller",
                                         "app.kubernetes.io/instance": "aws-load-balancer-controller"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "aws-load-balancer-controller",
                                                 "app.kubernetes.io/instance": "aws-load-balancer-controller"}},
                "spec": {"containers": [{"name": "aws-load-balancer-controller",
                    "image": "public.ecr.aws/eks/aws-load-balancer-controller:v3.4.0",
                    "args": ["--cluster-name=netpath", "--ingress-class=alb"]}]}}}});
    // (Helm 3 writes with updates; fields an update owns conflict alike.)
    plane().apply_as("helm", &d);
    let r = run(args(&ns, json!({})), false);
    assert_eq!(r.json["failed"], json!(true), "{}", r.stdout);
    let msg = r.json["msg"].as_str().unwrap();
    assert!(
        msg.contains("helm") && msg.contains("force_conflicts"),
        "{msg}"
    );
    let live = plane()
        .get(
            "apps/v1",
            "Deployment",
            Some(&ns),
            "aws-load-balancer-controller",
        )
        .unwrap();
    assert!(
        live["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .ends_with("v3.4.0")
    );
    let r = run(args(&ns, json!({"force_conflicts": true})), false);
    assert_eq!(r.json["changed"], json!(true), "{}", r.stdout);
    let live = plane()
        .get(
            "apps/v1",
            "Deployment",
            Some(&ns),
            "aws-load-balancer-controller",
        )
        .unwrap();
    let c = &live["spec"]["template"]["spec"]["containers"][0];
    assert!(c["image"].as_str().unwrap().ends_with("v3.5.0"), "{c}");
    assert_eq!(
        live["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "netpath"
    );
    let r = run(args(&ns, json!({"force_conflicts": true})), false);
    assert_eq!(r.json["changed"], json!(false), "{}", r.stdout);
}
