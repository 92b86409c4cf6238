//! The `netcheck` module as Ansible runs it: from inputs only, and from the
//! live state of a real kube-apiserver. It never writes.

use crate::common::{self, module, with};
use serde_json::{Value, json};

module_plane!("netcheck");

fn run(args: Value, check: bool) -> Value {
    module::run(
        "netcheck",
        args,
        module::Flags {
            check,
            ..Default::default()
        },
    )
    .json
}

fn app(ns: &str, node_port: Option<i64>) -> Value {
    let mut svc = json!({"name": "app-service", "selector": {"app": "myapp"}, "port": 80, "target_port": 8080});
    if let Some(n) = node_port {
        svc["node_port"] = json!(n);
    }
    json!({"name": "app-ingress", "namespace": ns, "scheme": "internet-facing", "target_type": "instance",
        "listen_ports": [{"HTTP": 80}, {"HTTPS": 443}],
        "rules": [{"host": "example.com", "paths": [{"path": "/", "path_type": "Prefix", "service_name": "app-service", "service_port": 80}]}],
        "services": [svc]})
}

/// The seed's inputs, from inputs only.
fn seed(extra: Value) -> Value {
    with(
        json!({"live": false, "cni_plugin": "calico", "pod_cidr": "192.168.0.0/16", "vpc_cidrs": ["10.0.0.0/16"],
            "alb_security_group": "sg-0aaaaaaaaaaaaaaaa", "worker_security_group": "sg-0bbbbbbbbbbbbbbbb",
            "ingresses": [app("default", Some(30080))]}),
        extra,
    )
}

fn has_rule(r: &Value, proto: &str, from: i64, group: &str) -> bool {
    r["security_group_rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["proto"] == proto && x["from_port"] == from && x["group_id"] == group)
}

#[track_caller]
fn finding(r: &Value, severity: &str, needle: &str) -> Value {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["severity"] == severity && x["problem"].as_str().unwrap().contains(needle))
        .cloned()
        .unwrap_or_else(|| panic!("no {severity} finding containing {needle:?}: {r}"))
}

#[test]
fn seed_inputs_give_the_nodeport_and_vxlan_rules() {
    for check in [false, true] {
        let r = run(seed(json!({})), check);
        assert_eq!(r["failed"], json!(false), "{r}");
        assert_eq!(r["changed"], json!(false));
        assert!(
            has_rule(&r, "tcp", 30080, "sg-0aaaaaaaaaaaaaaaa"),
            "ALB → worker TCP NodePort: {r}"
        );
        assert!(
            has_rule(&r, "udp", 4789, "sg-0bbbbbbbbbbbbbbbb"),
            "node ↔ node UDP 4789: {r}"
        );
        let tf = &r["terraform"]["resource"]["aws_vpc_security_group_ingress_rule"];
        assert_eq!(
            tf["alb_to_worker_tcp_30080"],
            json!({"security_group_id": "sg-0bbbbbbbbbbbbbbbb", "referenced_security_group_id": "sg-0aaaaaaaaaaaaaaaa",
                "ip_protocol": "tcp", "from_port": 30080, "to_port": 30080,
                "description": "ALB to worker port 30080 (default/app-service:80)"})
        );
        assert_eq!(tf["worker_to_worker_udp_4789"]["ip_protocol"], "udp");
        assert_eq!(r["network"]["overlay"], json!(true));
        assert_eq!(
            r["network"]["alb_target_types_allowed"],
            json!(["instance"])
        );
        assert_eq!(r["node_ports"][0]["node_port"], 30080);
    }
    // Without a fixed node port, and by request, the whole range as in the seed.
    let r = run(seed(json!({"ingresses": [app("default", None)]})), false);
    assert!(has_rule(&r, "tcp", 30000, "sg-0aaaaaaaaaaaaaaaa"), "{r}");
    finding(&r, "warning", "not known yet");
    let r = run(seed(json!({"open_node_port_range": true})), false);
    let alb = r["security_group_rules"][0].clone();
    assert_eq!(
        (alb["from_port"].clone(), alb["to_port"].clone()),
        (json!(30000), json!(32767))
    );
    // Default group names are Terraform references.
    let mut defaults = seed(json!({}));
    defaults
        .as_object_mut()
        .unwrap()
        .remove("alb_security_group");
    let r = run(defaults, false);
    assert!(
        has_rule(&r, "tcp", 30080, "${aws_security_group.alb.id}"),
        "{r}"
    );
}

#[test]
fn ip_with_calico_is_an_error_finding() {
    let mut a = app("default", None);
    a["target_type"] = json!("ip");
    let r = run(seed(json!({"ingresses": [a.clone()]})), false);
    assert_eq!(r["failed"], json!(true), "{r}");
    assert_eq!(r["changed"], json!(false));
    let f = finding(&r, "error", "target-type ip registers pod IPs");
    assert_eq!(f["field"], "ingresses[0].target_type");
    assert!(f["fix"].as_str().unwrap().contains("target_type: instance"));
    assert!(r["msg"].as_str().unwrap().contains("target-type ip"), "{r}");
    assert!(
        r["security_group_rules"].is_array(),
        "rules are returned even on failure: {r}"
    );

    let r = run(seed(json!({"ingresses": [a], "fail_on": "never"})), false);
    assert_eq!(r["failed"], json!(false), "{r}");
    finding(&r, "error", "target-type ip");
    assert!(r["msg"].as_str().unwrap().starts_with("1 error"), "{r}");
}

#[test]
fn fail_on_warning() {
    let r = run(
        seed(json!({"ingresses": [app("default", None)], "fail_on": "warning"})),
        false,
    );
    assert_eq!(r["failed"], json!(true), "{r}");
    assert!(
        r["msg"].as_str().unwrap().contains("fail_on: warning"),
        "{r}"
    );
    let r = run(
        seed(
            json!({"fail_on": "warning", "ingresses": [with(app("default", Some(30080)), json!({"certificate_discovery": true}))]}),
        ),
        false,
    );
    assert_eq!(r["failed"], json!(false), "no findings at all: {r}");
}

#[test]
fn cidr_problems_are_errors() {
    let r = run(seed(json!({"pod_cidr": "10.0.0.0/16"})), false);
    let f = finding(
        &r,
        "error",
        "is the same range as the VPC CIDR (10.0.0.0/16)",
    );
    assert_eq!(f["field"], "pod_cidr");
    let r = run(seed(json!({"service_cidr": "10.0.0.0/12"})), false);
    finding(&r, "error", "the VPC CIDR");
    assert_eq!(r["failed"], json!(true));
}

#[test]
fn without_a_cluster_it_works_from_inputs() {
    let mut args = seed(json!({"kubeconfig": "/nonexistent/kubeconfig"}));
    args.as_object_mut().unwrap().remove("live");
    let r = run(args.clone(), false);
    assert_eq!(r["failed"], json!(false), "{r}");
    finding(&r, "warning", "no cluster state was read");
    assert_eq!(r["network"]["live"], json!(false));
    assert!(has_rule(&r, "udp", 4789, "sg-0bbbbbbbbbbbbbbbb"));
    // Asked for live state explicitly: the connection problem is the failure.
    let r = run(with(args, json!({"live": true})), false);
    assert_eq!(r["failed"], json!(true), "{r}");
    assert!(r["msg"].as_str().unwrap().contains("kubeconfig"), "{r}");
}

/// One test reads (and changes) the cluster-wide live state, so no other
/// test of this module sees its pools or kubeadm-config.
#[test]
fn live_state_from_the_cluster() {
    let ns = plane().namespace("live");
    let conn = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap(), "live": true});
    let pool_name = common::unique_name("netcheck-pool");
    let pool = |vxlan: &str, ipip: &str| {
        json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool", "metadata": {"name": pool_name},
            "spec": {"cidr": "192.168.0.0/16", "vxlanMode": vxlan, "ipipMode": ipip, "natOutgoing": true, "blockSize": 26}})
    };
    plane().apply_as("calico", &pool("Always", "Never"));
    plane().apply_as(
        "kubeadm",
        &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
            "data": {"ClusterConfiguration": "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: 192.168.0.0/16\n  serviceSubnet: 10.96.0.0/12\n"}}),
    );
    // The Service as alb_ingress (or a person) created it, with an assigned node port.
    let svc = plane().create(
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app-service", "namespace": ns},
        "spec": {"type": "NodePort", "selector": {"app": "myapp"}, "ports": [{"port": 80, "targetPort": 8080}]}}),
    );
    let node_port = svc["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
    let mut a = app(&ns, None);
    a["certificate_discovery"] = json!(true);
    let args = with(seed(json!({"ingresses": [a]})), conn);
    let before = common::resource_version(
        &plane()
            .get("v1", "Service", Some(&ns), "app-service")
            .unwrap(),
    );

    let r = run(args.clone(), false);
    assert_eq!(r["failed"], json!(false), "{r}");
    assert_eq!(r["network"]["live"], json!(true));
    assert!(
        has_rule(&r, "tcp", node_port, "sg-0aaaaaaaaaaaaaaaa"),
        "the exact live NodePort: {r}"
    );
    assert_eq!(r["node_ports"][0]["source"], "live");
    let mine: Vec<&Value> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| {
            x["field"].as_str().unwrap().contains(&pool_name)
                || x["field"] == "pod_cidr"
                || x["field"] == "service_cidr"
        })
        .collect();
    assert!(
        mine.is_empty(),
        "pool and kubeadm-config agree with the inputs: {mine:?}"
    );
    assert_eq!(
        common::resource_version(
            &plane()
                .get("v1", "Service", Some(&ns), "app-service")
                .unwrap()
        ),
        before,
        "netcheck never writes"
    );

    // A pool that switched to IP-in-IP: the rules would miss protocol 4.
    plane().apply_as("calico", &pool("Never", "Always"));
    let r = run(args.clone(), false);
    assert_eq!(r["failed"], json!(true), "{r}");
    let f = finding(&r, "error", &format!("pool {pool_name} uses IP-in-IP"));
    assert_eq!(f["field"], "encapsulation");
    let r = run(with(args.clone(), json!({"encapsulation": "ipip"})), false);
    assert!(
        r["security_group_rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["proto"] == "4"),
        "{r}"
    );
    plane().delete("crd.projectcalico.org/v1", "IPPool", None, &pool_name);

    // A fixed node port another Service holds is an error here too.
    let r = run(
        with(
            args.clone(),
            json!({"ingresses": [with(app("other-ns", Some(node_port)), json!({"certificate_discovery": true}))]}),
        ),
        false,
    );
    finding(
        &r,
        "error",
        &format!("provided port is already allocated (by Service {ns}/app-service)"),
    );
    // Felix on another VXLAN port: the node-to-node rule follows the cluster.
    let felix = |port: u16| {
        json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "FelixConfiguration",
            "metadata": {"name": "default"}, "spec": {"vxlanPort": port}})
    };
    plane().apply_as("calico", &felix(4790));
    let r = run(args.clone(), false);
    assert!(has_rule(&r, "udp", 4790, "sg-0bbbbbbbbbbbbbbbb"), "{r}");
    finding(
        &r,
        "warning",
        "differs from the cluster's FelixConfiguration default vxlanPort 4790",
    );
    plane().apply_as("calico", &felix(4789));
    plane().delete("v1", "ConfigMap", Some("kube-system"), "kubeadm-config");
}

/// The controller's own worker rule spans [min, max] of the NodePorts
/// behind its ALBs: read live, a Service between them that is no backend
/// is exposed too, and netcheck says so while its own rules stay exact.
#[test]
fn live_node_ports_show_what_the_controller_range_exposes() {
    let ns = plane().namespace("range");
    let mut ports: Vec<(i64, String)> = ["svc-a", "svc-b", "svc-c"]
        .iter()
        .map(|name| {
            let s = plane().create(&json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"type": "NodePort", "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}}));
            (s["spec"]["ports"][0]["nodePort"].as_i64().unwrap(), name.to_string())
        })
        .collect();
    ports.sort();
    let (lo, mid, hi) = (&ports[0], &ports[1], &ports[2]);
    let backend = |ingress: &str, svc: &str, host: &str| {
        let mut a = app(&ns, None);
        a["name"] = json!(ingress);
        a["services"] = json!([]);
        a["rules"][0]["host"] = json!(host);
        a["rules"][0]["paths"][0]["service_name"] = json!(svc);
        a
    };
    let args = with(
        seed(
            json!({"ingresses": [backend("low", &lo.1, "low.example.com"),
            backend("high", &hi.1, "high.example.com")]}),
        ),
        json!({"kubeconfig": plane().kubeconfig.to_str().unwrap(), "live": true}),
    );
    let r = run(args, false);
    assert_eq!(r["failed"], json!(false), "{r}");
    assert!(has_rule(&r, "tcp", lo.0, "sg-0aaaaaaaaaaaaaaaa"), "{r}");
    assert!(has_rule(&r, "tcp", hi.0, "sg-0aaaaaaaaaaaaaaaa"), "{r}");
    assert!(
        !has_rule(&r, "tcp", mid.0, "sg-0aaaaaaaaaaaaaaaa"),
        "exact: {r}"
    );
    let c = &r["controller_rule"];
    assert_eq!(
        (c["from_port"].as_i64(), c["to_port"].as_i64()),
        (Some(lo.0), Some(hi.0)),
        "{c}"
    );
    let exposed = format!("{ns}/{} ({})", mid.1, mid.0);
    assert!(
        c["also_opens_node_ports_of"]
            .as_array()
            .unwrap()
            .contains(&json!(exposed)),
        "{c}"
    );
    let w = finding(&r, "warning", &format!("tcp {}-{}", lo.0, hi.0));
    assert!(w["problem"].as_str().unwrap().contains(&exposed), "{w}");
}
