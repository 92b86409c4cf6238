use super::*;
use crate::modules::netcheck as module;
use crate::validate::Severity;

fn params(v: Value) -> PathArgs {
    let env = |_: &str| None;
    let p = crate::protocol::spec::validate(
        "t",
        module::MODULE.options,
        &module::MODULE.constraints,
        v.as_object().unwrap(),
        &env,
    )
    .unwrap_or_else(|e| panic!("spec: {e:?}"));
    module::Args::from_params(&p).expect("typed options").path
}

fn app(node_port: Option<i64>) -> Value {
    let mut svc = json!({"name": "app-service", "selector": {"app": "myapp"}, "port": 80, "target_port": 8080});
    if let Some(n) = node_port {
        svc["node_port"] = json!(n);
    }
    json!({"name": "app-ingress", "scheme": "internet-facing", "certificate_discovery": true,
        "listen_ports": [{"HTTP": 80}, {"HTTPS": 443}],
        "rules": [{"host": "example.com", "paths": [{"path": "/", "service_name": "app-service", "service_port": 80}]}],
        "services": [svc]})
}

/// The seed's inputs.
fn seed(extra: Value) -> Value {
    let mut v = json!({"cni_plugin": "calico", "pod_cidr": "192.168.0.0/16", "vpc_cidrs": ["10.0.0.0/16"],
        "alb_security_group": "sg-0aaaaaaaaaaaaaaaa", "worker_security_group": "sg-0bbbbbbbbbbbbbbbb",
        "ingresses": [app(Some(30080))]});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn run_with(v: Value, live: Option<&Live>) -> Report {
    run(&params(v), live)
}

#[track_caller]
fn has(r: &Report, severity: Severity, field: &str, needle: &str) {
    assert!(
        r.findings.0.iter().any(|x| x.severity == severity
            && x.field.contains(field)
            && x.problem.contains(needle)),
        "no {severity:?} at {field} containing {needle:?} in {:#?}",
        r.findings.0
    );
}

fn rule<'a>(r: &'a Report, proto: &str, from: i32, to: i32) -> Option<&'a SgRule> {
    r.rules
        .iter()
        .find(|x| x.protocol == proto && x.from_port == from && x.to_port == to)
}

#[test]
fn seed_needs_alb_to_nodeport_and_vxlan_between_nodes() {
    let r = run_with(seed(json!({})), None);
    assert!(r.findings.0.is_empty(), "{:#?}", r.findings.0);
    let alb = rule(&r, "tcp", 30080, 30080).expect("ALB → worker NodePort rule");
    assert_eq!(alb.source, Peer::AlbSecurityGroup);
    let vxlan = rule(&r, "udp", 4789, 4789).expect("node ↔ node VXLAN rule");
    assert_eq!(vxlan.source, Peer::WorkerSecurityGroup);
    assert_eq!(r.rules.len(), 2);
    assert_eq!(
        r.ec2_rules[0],
        json!({"proto": "tcp", "from_port": 30080, "to_port": 30080, "group_id": "sg-0aaaaaaaaaaaaaaaa",
            "rule_desc": "ALB to worker port 30080 (default/app-service:80)"})
    );
    assert_eq!(r.ec2_rules[1]["group_id"], "sg-0bbbbbbbbbbbbbbbb");
    let tf = &r.terraform["resource"]["aws_vpc_security_group_ingress_rule"];
    assert_eq!(
        tf["alb_to_worker_tcp_30080"]["security_group_id"],
        "sg-0bbbbbbbbbbbbbbbb"
    );
    assert_eq!(
        tf["alb_to_worker_tcp_30080"]["referenced_security_group_id"],
        "sg-0aaaaaaaaaaaaaaaa"
    );
    assert_eq!(tf["worker_to_worker_udp_4789"]["ip_protocol"], "udp");
    assert_eq!(r.network["alb_target_type_recommended"], "instance");
    assert_eq!(r.node_ports[0]["node_port"], 30080);
    assert_eq!(r.node_ports[0]["source"], "input");
}

#[test]
fn seed_flags_ip_with_calico() {
    let mut a = app(Some(30080));
    a["target_type"] = json!("ip");
    a["services"][0]
        .as_object_mut()
        .unwrap()
        .remove("node_port");
    let r = run_with(seed(json!({"ingresses": [a]})), None);
    has(
        &r,
        Severity::Error,
        "ingresses[0].target_type",
        "target-type ip registers pod IPs",
    );
}

#[test]
fn unknown_node_port_or_request_opens_the_range() {
    let r = run_with(seed(json!({"ingresses": [app(None)]})), None);
    assert!(rule(&r, "tcp", 30000, 32767).is_some(), "{:?}", r.rules);
    has(&r, Severity::Warning, "ingresses[0]", "not known yet");
    assert_eq!(r.node_ports[0]["source"], "unassigned");
    let r = run_with(
        seed(
            json!({"open_node_port_range": true, "node_port_range": "31000-31999", "ingresses": [app(Some(31080))]}),
        ),
        None,
    );
    assert!(rule(&r, "tcp", 31000, 31999).is_some(), "{:?}", r.rules);
    assert!(r.findings.0.is_empty(), "{:#?}", r.findings.0);
}

#[test]
fn live_services_give_the_assigned_node_port() {
    let svc = json!({"metadata": {"namespace": "default", "name": "app-service"},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP", "nodePort": 31234}]}});
    let live = Live {
        ippools: Some(vec![pool(
            "default-ipv4-ippool",
            "192.168.0.0/16",
            "Always",
            "Never",
            true,
        )]),
        services: Some(vec![svc]),
        kubeadm_config: None,
        felix: None,
    };
    let r = run_with(seed(json!({"ingresses": [app(None)]})), Some(&live));
    assert!(r.findings.0.is_empty(), "{:#?}", r.findings.0);
    assert!(rule(&r, "tcp", 31234, 31234).is_some(), "{:?}", r.rules);
    assert_eq!(r.node_ports[0]["source"], "live");
    assert_eq!(r.network["live"], true);
}

#[test]
fn cidr_overlaps() {
    let r = run_with(seed(json!({"pod_cidr": "10.0.128.0/17"})), None);
    has(&r, Severity::Error, "pod_cidr", "lies inside the VPC CIDR");
    let r = run_with(seed(json!({"service_cidr": "10.0.0.0/12"})), None);
    has(&r, Severity::Error, "service_cidr", "the VPC CIDR");
    let r = run_with(seed(json!({"service_cidr": "192.168.0.0/20"})), None);
    has(&r, Severity::Error, "pod_cidr", "the service CIDR");
    let r = run_with(seed(json!({"pod_cidr": "169.254.0.0/16"})), None);
    has(
        &r,
        Severity::Error,
        "pod_cidr",
        "IPPool CIDR overlaps with IPv4 Link Local range",
    );
    let r = run_with(seed(json!({"pod_cidr": "172.16.0.0/12"})), None);
    has(&r, Severity::Warning, "pod_cidr", "Docker's default bridge");
    let r = run_with(seed(json!({"service_cidr": "10.96.0.1/12"})), None);
    has(&r, Severity::Error, "service_cidr", "not strictly masked");
    // The VPC CNI puts pods inside the VPC on purpose.
    let mut a = app(None);
    a["target_type"] = json!("ip");
    let r = run_with(
        json!({"cni_plugin": "aws-vpc-cni", "vpc_cidrs": ["10.0.0.0/16"], "ingresses": [a]}),
        None,
    );
    assert!(!r.findings.has_errors(), "{:#?}", r.findings.0);
}

fn pool(name: &str, cidr: &str, vxlan: &str, ipip: &str, nat: bool) -> Value {
    json!({"metadata": {"name": name}, "spec": {"cidr": cidr, "vxlanMode": vxlan, "ipipMode": ipip, "natOutgoing": nat}})
}

fn with_pools(pools: Vec<Value>, extra: Value) -> Report {
    let live = Live {
        ippools: Some(pools),
        services: Some(vec![]),
        kubeadm_config: None,
        felix: None,
    };
    run_with(seed(extra), Some(&live))
}

#[test]
fn live_pools_must_match_the_encapsulation() {
    let ok = with_pools(
        vec![pool("p", "192.168.0.0/16", "CrossSubnet", "Never", true)],
        json!({}),
    );
    assert!(ok.findings.0.is_empty(), "{:#?}", ok.findings.0);
    let r = with_pools(
        vec![pool("p", "192.168.0.0/16", "Never", "Always", true)],
        json!({}),
    );
    has(&r, Severity::Error, "encapsulation", "uses IP-in-IP");
    let r = with_pools(
        vec![pool("p", "192.168.0.0/16", "Always", "Never", true)],
        json!({"encapsulation": "ipip"}),
    );
    has(&r, Severity::Error, "encapsulation", "uses VXLAN");
    assert!(
        rule(&r, "4", -1, -1).is_some(),
        "ipip input gives the protocol 4 rule"
    );
    let r = with_pools(
        vec![pool("p", "192.168.0.0/16", "Always", "Always", true)],
        json!({}),
    );
    has(
        &r,
        Severity::Error,
        "live IPPool p",
        "Cannot enable both VXLAN and IPIP",
    );
    let r = with_pools(
        vec![pool("p", "192.168.0.0/16", "Never", "Never", false)],
        json!({}),
    );
    has(&r, Severity::Warning, "live IPPool p", "not encapsulated");
    has(&r, Severity::Warning, "live IPPool p", "natOutgoing off");
    let r = with_pools(
        vec![pool("p", "10.0.0.0/16", "Always", "Never", true)],
        json!({}),
    );
    has(&r, Severity::Error, "live IPPool p", "the VPC CIDR");
    has(&r, Severity::Warning, "live IPPool p", "outside pod_cidr");
    // Disabled pools are ignored; none enabled is a warning.
    let mut off = pool("p", "10.0.0.0/16", "Always", "Never", true);
    off["spec"]["disabled"] = json!(true);
    let r = with_pools(vec![off], json!({}));
    has(&r, Severity::Warning, "pod_cidr", "no enabled IPPool");
    let live = Live::default();
    let r = run_with(seed(json!({})), Some(&live));
    has(
        &r,
        Severity::Warning,
        "cni_plugin",
        "Calico is not installed",
    );
}

fn kubeadm(cfg: &str) -> Live {
    Live {
        ippools: Some(vec![pool("p", "192.168.0.0/16", "Always", "Never", true)]),
        services: Some(vec![]),
        kubeadm_config: Some(json!({"data": {"ClusterConfiguration": cfg}})),
        felix: None,
    }
}

#[test]
fn kubeadm_config_is_compared() {
    let same = kubeadm("networking:\n  podSubnet: 192.168.0.0/16\n  serviceSubnet: 10.96.0.0/12\n");
    let r = run_with(seed(json!({})), Some(&same));
    assert!(r.findings.0.is_empty(), "{:#?}", r.findings.0);

    let other = kubeadm(
        "apiVersion: kubeadm.k8s.io/v1beta4\nnetworking:\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: 172.20.0.0/16\napiServer:\n  extraArgs:\n  - name: service-node-port-range\n    value: 31000-31999\n",
    );
    let r = run_with(seed(json!({"ingresses": [app(Some(30080))]})), Some(&other));
    has(
        &r,
        Severity::Warning,
        "pod_cidr",
        "IPPool 192.168.0.0/16 is not within the platform's configured pod network CIDR(s) [10.244.0.0/16]",
    );
    has(
        &r,
        Severity::Warning,
        "service_cidr",
        "differs from the cluster's serviceSubnet 172.20.0.0/16",
    );
    has(
        &r,
        Severity::Warning,
        "node_port_range",
        "--service-node-port-range 31000-31999",
    );
    // The cluster's range applies: 30080 is outside it.
    has(
        &r,
        Severity::Error,
        "node_port",
        "The range of valid ports is 31000-31999",
    );
    assert_eq!(r.network["service_cidr"], "172.20.0.0/16");

    let v1beta3 = kubeadm("apiServer:\n  extraArgs:\n    service-node-port-range: 30000-30999\n");
    let r = run_with(seed(json!({"open_node_port_range": true})), Some(&v1beta3));
    assert!(rule(&r, "tcp", 30000, 30999).is_some(), "{:?}", r.rules);
}

#[test]
fn ip_targets_open_the_pod_port() {
    let mut a = app(None);
    a["target_type"] = json!("ip");
    a["healthcheck_port"] = json!("9090");
    let r = run_with(
        json!({"cni_plugin": "aws-vpc-cni", "vpc_cidrs": ["10.0.0.0/16"], "ingresses": [a.clone()]}),
        None,
    );
    assert!(!r.findings.has_errors(), "{:#?}", r.findings.0);
    let pod = rule(&r, "tcp", 8080, 8080).expect("ALB → pod port");
    assert!(pod.description.contains("pod port 8080"));
    assert!(rule(&r, "tcp", 9090, 9090).is_some(), "health-check port");
    assert_eq!(
        r.rules.len(),
        2,
        "no overlay rules with the VPC CNI: {:?}",
        r.rules
    );
    a["services"][0]["target_port"] = json!("http");
    let r = run_with(json!({"cni_plugin": "aws-vpc-cni", "ingresses": [a]}), None);
    has(
        &r,
        Severity::Warning,
        "paths[0]",
        "named or unknown target port",
    );
}

#[test]
fn bgp_and_typha_rules() {
    let r = run_with(seed(json!({"bgp": true, "typha": true})), None);
    assert!(rule(&r, "tcp", 179, 179).is_some());
    assert!(rule(&r, "tcp", 5473, 5473).is_some());
}

#[test]
fn live_felix_vxlan_port_sets_the_node_rule() {
    let live = |port: u64| Live {
        ippools: Some(vec![pool("p", "192.168.0.0/16", "Always", "Never", true)]),
        services: Some(vec![]),
        kubeadm_config: None,
        felix: Some(json!({"metadata": {"name": "default"}, "spec": {"vxlanPort": port}})),
    };
    let r = run_with(seed(json!({})), Some(&live(4790)));
    assert!(rule(&r, "udp", 4790, 4790).is_some(), "{:?}", r.rules);
    assert!(rule(&r, "udp", 4789, 4789).is_none(), "{:?}", r.rules);
    let w = r
        .findings
        .0
        .iter()
        .find(|x| x.field == "vxlan_port")
        .expect("a warning names vxlan_port");
    assert!(
        w.problem.contains(
            "vxlan_port 4789 differs from the cluster's FelixConfiguration default vxlanPort 4790"
        ),
        "{}",
        w.problem
    );
    // The same port: nothing to say.
    let r = run_with(seed(json!({})), Some(&live(4789)));
    assert!(rule(&r, "udp", 4789, 4789).is_some(), "{:?}", r.rules);
    assert!(!r.findings.0.iter().any(|x| x.field == "vxlan_port"));
}

/// An HTTP → HTTPS redirect action (use-annotation) next to the one real
/// Service with a fixed node_port: the action is no Service, so the ALB →
/// worker rule stays that one port (issue 14: it opened 30000-32767).
fn redirect_app() -> Value {
    let mut a = app(Some(30080));
    a["annotations"] = json!({"alb.ingress.kubernetes.io/actions.ssl-redirect":
        r#"{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}"#});
    a["rules"][0]["paths"] = json!([
        {"path": "/", "service_name": "ssl-redirect", "service_port": "use-annotation"},
        {"path": "/", "service_name": "app-service", "service_port": 80},
    ]);
    a
}

#[test]
fn use_annotation_actions_never_widen_the_alb_rule() {
    let live = Live {
        ippools: None,
        services: Some(vec![]),
        kubeadm_config: None,
        felix: None,
    };
    for l in [None, Some(&live)] {
        let r = run_with(seed(json!({"ingresses": [redirect_app()]})), l);
        assert!(rule(&r, "tcp", 30080, 30080).is_some(), "{:?}", r.rules);
        assert!(
            !r.rules.iter().any(|x| x.from_port == 30000),
            "the action opened the range: {:?}",
            r.rules
        );
        assert!(
            r.findings
                .0
                .iter()
                .all(|x| !x.problem.contains("not known yet")
                    && !x.problem.contains("neither in this task")),
            "{:#?}",
            r.findings.0
        );
        assert_eq!(r.node_ports.len(), 1, "{:?}", r.node_ports);
        assert_eq!(r.node_ports[0]["service"], "app-service");
    }
}

#[test]
fn a_forward_action_counts_the_services_it_forwards_to() {
    let mut a = redirect_app();
    a["annotations"] = json!({"alb.ingress.kubernetes.io/actions.ssl-redirect":
        r#"{"type": "forward", "forwardConfig": {"targetGroups": [{"serviceName": "app-service", "servicePort": "80", "weight": 1}, {"serviceName": "canary", "servicePort": 80, "weight": 1}]}}"#});
    let r = run_with(seed(json!({"ingresses": [a]})), None);
    // canary's node port is unknown: that one really widens the rule.
    assert!(rule(&r, "tcp", 30000, 32767).is_some(), "{:?}", r.rules);
    let services: Vec<&Value> = r.node_ports.iter().map(|n| &n["service"]).collect();
    assert_eq!(services, [&json!("app-service"), &json!("canary")]);
}

/// A Service's target-type annotation decides its target group's path:
/// instance under an ip Ingress needs the NodePort rule, not the pod port.
#[test]
fn a_service_target_type_annotation_decides_the_rule() {
    let mut a = app(Some(30080));
    a["target_type"] = json!("ip");
    a["services"][0]["annotations"] = json!({"alb.ingress.kubernetes.io/target-type": "instance"});
    let r = run_with(seed(json!({"ingresses": [a]})), None);
    assert!(!r.findings.has_errors(), "{:#?}", r.findings.0);
    assert!(rule(&r, "tcp", 30080, 30080).is_some(), "{:?}", r.rules);
    assert!(rule(&r, "tcp", 8080, 8080).is_none(), "{:?}", r.rules);
}

fn second_app(node_port: i64) -> Value {
    let mut b = app(Some(node_port));
    b["name"] = json!("other-ingress");
    b["services"][0]["name"] = json!("other-service");
    b["rules"][0]["paths"][0]["service_name"] = json!("other-service");
    b["rules"][0]["host"] = json!("other.example.com");
    b
}

fn live_service(ns: &str, name: &str, node_port: i64) -> Value {
    json!({"metadata": {"namespace": ns, "name": name},
        "spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "TCP", "nodePort": node_port}]}})
}

/// With its shared backend SG the controller opens [min, max] of the
/// NodePorts behind its ALBs (measured: 31991 and 32414 gave 31991-32414);
/// netcheck reports that rule and warns for other Services it exposes.
#[test]
fn the_controller_rule_is_a_range_and_may_expose_other_services() {
    let live = Live {
        ippools: Some(vec![pool("p", "192.168.0.0/16", "Always", "Never", true)]),
        services: Some(vec![
            live_service("default", "app-service", 31991),
            live_service("default", "other-service", 32414),
            live_service("team-b", "admin", 32000),
            live_service("team-b", "outside", 30100),
        ]),
        kubeadm_config: None,
        felix: None,
    };
    let two = json!({"ingresses": [app(Some(31991)), second_app(32414)]});
    let r = run_with(seed(two.clone()), Some(&live));
    // netpath's own rules stay exact.
    assert!(rule(&r, "tcp", 31991, 31991).is_some(), "{:?}", r.rules);
    assert!(rule(&r, "tcp", 32414, 32414).is_some(), "{:?}", r.rules);
    assert!(rule(&r, "tcp", 31991, 32414).is_none(), "{:?}", r.rules);
    let c = &r.controller_rule;
    assert_eq!(
        (c["from_port"].as_i64(), c["to_port"].as_i64()),
        (Some(31991), Some(32414)),
        "{c}"
    );
    assert_eq!(
        c["also_opens_node_ports_of"],
        json!(["team-b/admin (32000)"])
    );
    has(&r, Severity::Warning, "ingresses[0]", "tcp 31991-32414");
    has(
        &r,
        Severity::Warning,
        "ingresses[0]",
        "team-b/admin (32000)",
    );
    assert!(!format!("{:?}", r.findings.0).contains("team-b/outside"));

    // Adjacent ports expose nothing else: no warning, the rule is still reported.
    let r = run_with(
        seed(json!({"ingresses": [app(Some(31991)), second_app(31992)]})),
        Some(&live),
    );
    assert!(r.findings.0.is_empty(), "{:#?}", r.findings.0);
    assert_eq!(r.controller_rule["to_port"], 31992);

    // Own security groups: the controller adds no worker rules at all.
    let mut a = app(Some(31991));
    a["security_groups"] = json!(["sg-0cccccccccccccccc"]);
    let mut b = second_app(32414);
    b["security_groups"] = json!(["sg-0cccccccccccccccc"]);
    let r = run_with(seed(json!({"ingresses": [a, b]})), Some(&live));
    assert_eq!(r.controller_rule, Value::Null);
    assert!(!format!("{:?}", r.findings.0).contains("port range"));
}
