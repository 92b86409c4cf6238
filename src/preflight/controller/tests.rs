use super::*;

fn deploy(args: &[&str], available: bool) -> Value {
    json!({"spec": {"template": {"spec": {"containers": [{"name": "aws-load-balancer-controller", "args": args}]}}},
        "status": {"conditions": [{"type": "Available", "status": if available { "True" } else { "False" }}]}})
}

fn errors(f: &Findings) -> Vec<String> {
    f.errors()
        .map(|e| format!("{}: {}", e.field, e.problem))
        .collect()
}

fn warnings(f: &Findings) -> Vec<String> {
    f.warnings().map(|e| e.problem.clone()).collect()
}

const GOOD: &[&str] = &[
    "--cluster-name=netpath",
    "--aws-region=eu-west-1",
    "--aws-vpc-id",
    "vpc-0123",
];

#[test]
fn flags_both_forms_last_wins() {
    let a: Vec<String> = [
        "--x=1",
        "--cluster-name",
        "a",
        "--cluster-name=b",
        "--cluster-names=c",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(flag(&a, "cluster-name"), Some("b"));
    assert_eq!(flag(&a, "x"), Some("1"));
    assert_eq!(flag(&a, "y"), None);
}

#[test]
fn a_well_started_controller_passes() {
    let mut f = Findings::new();
    let expect = Expect {
        cluster_name: Some("netpath"),
        region: Some("eu-west-1"),
        vpc_id: Some("vpc-0123"),
    };
    let facts = check_deployment(
        "kube-system/aws-load-balancer-controller",
        Some(&deploy(GOOD, true)),
        &expect,
        &mut f,
    );
    assert!(f.0.is_empty(), "{:?}", f.0);
    assert_eq!(facts["vpc_id"], "vpc-0123");
    assert_eq!(facts["shared_backend_security_group"], true);
}

#[test]
fn missing_or_wrong_cluster_name() {
    let mut f = Findings::new();
    check_deployment(
        "d",
        Some(&deploy(
            &["--aws-region=eu-west-1", "--aws-vpc-id=vpc-1"],
            true,
        )),
        &Expect::default(),
        &mut f,
    );
    assert!(
        errors(&f)[0].contains("kubernetes cluster name must be specified"),
        "{:?}",
        errors(&f)
    );
    let mut f = Findings::new();
    let expect = Expect {
        cluster_name: Some("prod"),
        ..Expect::default()
    };
    check_deployment("d", Some(&deploy(GOOD, true)), &expect, &mut f);
    assert!(errors(&f)[0].starts_with("cluster_name: d runs with --cluster-name=netpath, but this path is tagged for cluster prod"), "{:?}", errors(&f));
}

#[test]
fn introspection_needs_hop_limit_two() {
    let mut f = Findings::new();
    check_deployment(
        "d",
        Some(&deploy(&["--cluster-name=netpath"], true)),
        &Expect::default(),
        &mut f,
    );
    let w = warnings(&f);
    assert!(
        w[0].contains("without --aws-region and --aws-vpc-id")
            && w[0].contains("failed to introspect vpcID from EC2Metadata"),
        "{w:?}"
    );
    // AWS_REGION in the container's environment is as good as the flag.
    let mut d = deploy(&["--cluster-name=netpath", "--aws-vpc-id=vpc-1"], true);
    d["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "AWS_REGION", "value": "eu-west-1"}]);
    let mut f = Findings::new();
    check_deployment("d", Some(&d), &Expect::default(), &mut f);
    assert!(f.0.is_empty(), "{:?}", f.0);
}

/// netcheck's AWS reads go where `started` says, before the checks: it
/// must say what `check_deployment` reports.
#[test]
fn started_is_what_the_facts_report() {
    let mut d = deploy(&["--cluster-name=netpath", "--aws-vpc-tags=k=v"], false);
    d["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "AWS_DEFAULT_REGION", "value": "eu-west-2"}]);
    let s = started(&d).expect("a container");
    let facts = check_deployment("d", Some(&d), &Expect::default(), &mut Findings::new());
    assert_eq!(s.cluster_name.as_deref(), Some("netpath"));
    assert_eq!(s.region.as_deref(), Some("eu-west-2"));
    assert_eq!(facts["region"], "eu-west-2");
    assert_eq!((s.vpc_id, facts["vpc_id"].clone()), (None, Value::Null));
    assert_eq!(facts["vpc_tags"], "k=v");
    assert!(started(&json!({"spec": {}})).is_none());
}

#[test]
fn wrong_vpc_and_unavailable() {
    let mut f = Findings::new();
    let expect = Expect {
        vpc_id: Some("vpc-9999"),
        ..Expect::default()
    };
    check_deployment("d", Some(&deploy(GOOD, false)), &expect, &mut f);
    let e = errors(&f);
    assert!(
        e.iter().any(|x| x.contains("has no available replica")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|x| x.starts_with("vpc_id: d runs with --aws-vpc-id=vpc-0123, not vpc-9999")),
        "{e:?}"
    );
}

#[test]
fn absent_controller_is_a_warning() {
    let mut f = Findings::new();
    let facts = check_deployment("kube-system/x", None, &Expect::default(), &mut f);
    assert_eq!(facts["found"], false);
    assert!(errors(&f).is_empty());
    assert!(warnings(&f)[0].contains("no Deployment kube-system/x"));
}

#[test]
fn ingress_class_of_another_controller() {
    let mut f = Findings::new();
    check_ingress_class(
        "alb",
        Some(&json!({"spec": {"controller": "ingress.k8s.aws/alb"}})),
        &mut f,
    );
    check_ingress_class("alb", None, &mut f);
    assert!(f.0.is_empty());
    check_ingress_class(
        "alb",
        Some(&json!({"spec": {"controller": "k8s.io/ingress-nginx"}})),
        &mut f,
    );
    assert!(
        errors(&f)[0].contains("IngressClass alb exists with controller k8s.io/ingress-nginx"),
        "{:?}",
        errors(&f)
    );
}

#[test]
fn fail_closed_webhooks_while_down() {
    let cfg = json!({"kind": "ValidatingWebhookConfiguration", "webhooks": [
        {"name": "vingress.elbv2.k8s.aws", "failurePolicy": "Fail"},
        {"name": "vtargetgroupbinding.elbv2.k8s.aws", "failurePolicy": "Ignore"}]});
    let mut f = Findings::new();
    let out = check_webhooks(std::slice::from_ref(&cfg), true, &mut f);
    assert_eq!(out.len(), 2);
    assert!(f.0.is_empty());
    check_webhooks(&[cfg], false, &mut f);
    let w = warnings(&f);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].contains("vingress.elbv2.k8s.aws has failurePolicy Fail"),
        "{w:?}"
    );
}
