use super::*;
use crate::modules::netcheck as module;
use serde_json::{Value, json};

fn plan(ingress_extra: Value) -> Plan {
    let mut app = json!({"name": "app-ingress", "scheme": "internet-facing",
        "rules": [{"host": "example.com", "paths": [{"path": "/", "service_name": "app-service", "service_port": 80}]}],
        "services": [{"name": "app-service", "port": 80, "target_port": 8080, "node_port": 30080}]});
    for (k, v) in ingress_extra.as_object().unwrap() {
        app[k] = v.clone();
    }
    let v = json!({"cni_plugin": "calico", "pod_cidr": "192.168.0.0/16", "vpc_cidrs": ["10.0.0.0/16"], "ingresses": [app]});
    let env = |_: &str| None;
    let p = crate::protocol::spec::validate(
        "t",
        module::MODULE.options,
        &module::MODULE.constraints,
        v.as_object().unwrap(),
        &env,
    )
    .unwrap_or_else(|e| panic!("spec: {e:?}"));
    let args = module::Args::from_params(&p).expect("typed options");
    crate::preflight::path::run(&args.path, None).plan
}

fn node(name: &str, provider_id: Option<&str>, ready: &str, labels: Value) -> NodeView {
    let mut n = json!({"metadata": {"name": name, "labels": labels},
        "status": {"conditions": [{"type": "Ready", "status": ready}]}});
    if let Some(p) = provider_id {
        n["spec"] = json!({"providerID": p});
    }
    NodeView::from_node(&serde_json::from_value(n).unwrap())
}

fn errors(f: &Findings) -> Vec<String> {
    f.errors()
        .map(|e| format!("{}: {}", e.field, e.problem))
        .collect()
}

const GOOD: &str = "aws:///eu-west-1a/i-0123456789abcdef0";

#[test]
fn good_workers_and_an_excluded_control_plane_pass() {
    let nodes = [
        node("w1", Some(GOOD), "True", json!({})),
        node(
            "w2",
            Some("aws:///eu-west-1b/i-0fedcba9876543210"),
            "True",
            json!({}),
        ),
        // kubeadm's control plane: excluded, so its missing providerID is harmless.
        node(
            "cp",
            None,
            "True",
            json!({"node.kubernetes.io/exclude-from-external-load-balancers": ""}),
        ),
        // Not Ready: the controller skips it.
        node("w3", None, "False", json!({})),
    ];
    let mut f = Findings::new();
    check(&nodes, &plan(json!({})), &mut f);
    assert!(errors(&f).is_empty(), "{:?}", errors(&f));
}

#[test]
fn a_ready_worker_without_provider_id_is_named() {
    let nodes = [
        node("w1", Some(GOOD), "True", json!({})),
        node("ip-10-0-0-99", None, "True", json!({})),
    ];
    let mut f = Findings::new();
    check(&nodes, &plan(json!({})), &mut f);
    let e = errors(&f);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("nodes[ip-10-0-0-99]: "), "{e:?}");
    assert!(
        e[0].contains("providerID is not specified for node: ip-10-0-0-99"),
        "{e:?}"
    );
    assert!(e[0].contains("every instance target group"), "{e:?}");
    assert!(f.0[0].fix.contains("node_provider_id"), "{:?}", f.0);
}

#[test]
fn a_provider_id_without_an_instance_id_is_refused() {
    let nodes = [node("w1", Some("kind://docker/kind/w1"), "True", json!({}))];
    let mut f = Findings::new();
    check(&nodes, &plan(json!({})), &mut f);
    assert!(
        errors(&f)[0]
            .contains("providerID kind://docker/kind/w1 is invalid for EC2 instances, node: w1"),
        "{:?}",
        errors(&f)
    );
}

#[test]
fn no_eligible_node_is_an_error_with_the_reasons() {
    let nodes = [
        node(
            "cp",
            Some(GOOD),
            "True",
            json!({"node.kubernetes.io/exclude-from-external-load-balancers": ""}),
        ),
        node("w1", Some(GOOD), "False", json!({})),
    ];
    let mut f = Findings::new();
    check(&nodes, &plan(json!({})), &mut f);
    let e = errors(&f);
    assert!(
        e.iter().any(|x| x
            .contains("no Node can be registered as a target of Ingress default/app-ingress")
            && x.contains("1 labelled node.kubernetes.io/exclude-from-external-load-balancers")
            && x.contains("1 not Ready")),
        "{e:?}"
    );
}

#[test]
fn target_node_labels_narrow_the_targets() {
    let nodes = [
        node("w1", Some(GOOD), "True", json!({"pool": "web"})),
        node("w2", None, "True", json!({"pool": "batch"})),
    ];
    // Only pool=web Nodes are targets: w2's missing providerID is not this Ingress's problem.
    let mut f = Findings::new();
    check(
        &nodes,
        &plan(json!({"annotations": {"alb.ingress.kubernetes.io/target-node-labels": "pool=web"}})),
        &mut f,
    );
    assert!(errors(&f).is_empty(), "{:?}", errors(&f));
    let mut f = Findings::new();
    check(
        &nodes,
        &plan(json!({"annotations": {"alb.ingress.kubernetes.io/target-node-labels": "pool=gpu"}})),
        &mut f,
    );
    assert!(
        errors(&f)
            .iter()
            .any(|e| e.contains("1 not matching target-node-labels")
                || e.contains("2 not matching target-node-labels")),
        "{:?}",
        errors(&f)
    );
}

#[test]
fn ip_targets_and_empty_clusters() {
    let nodes = [node("w1", None, "True", json!({}))];
    let mut f = Findings::new();
    check(&nodes, &plan(json!({"target_type": "ip"})), &mut f);
    // ip targets with calico is refused elsewhere; Nodes are not targets then.
    assert!(errors(&f).is_empty(), "{:?}", errors(&f));
    let mut f = Findings::new();
    check(&[], &plan(json!({})), &mut f);
    assert!(errors(&f).is_empty());
    assert!(f.warnings().any(|w| w.problem.contains("no Nodes yet")));
}

#[test]
fn many_bad_nodes_are_named_up_to_a_limit() {
    let nodes: Vec<_> = (0..30)
        .map(|i| node(&format!("w{i}"), None, "True", json!({})))
        .collect();
    let mut f = Findings::new();
    check(&nodes, &plan(json!({})), &mut f);
    let e = errors(&f);
    assert_eq!(e.len(), NAMED + 1, "{e:?}");
    assert!(
        e.last()
            .unwrap()
            .contains("10 more Ready Nodes have no usable providerID"),
        "{e:?}"
    );
}
