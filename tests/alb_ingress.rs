//! The `alb_ingress` module on a real kube-apiserver, run as Ansible runs it:
//! the seed's two patterns, idempotence, check mode, and every rule refusing
//! bad input before anything is written.

use crate::common::{self, module, plane, with};
use serde_json::{Value, json};

fn conn() -> Value {
    json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()})
}

fn run(args: Value) -> Value {
    module::run("alb_ingress", with(conn(), args), module::Flags::default()).json
}

fn run_check(args: Value) -> Value {
    module::run(
        "alb_ingress",
        with(conn(), args),
        module::Flags {
            check: true,
            diff: true,
            ..Default::default()
        },
    )
    .json
}

/// The seed's Pattern 1 YAML, verbatim (only the namespace is added).
const SEED_PATTERN_1: &str = r#"
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app-ingress
  annotations:
    kubernetes.io/ingress.class: alb
    alb.ingress.kubernetes.io/scheme: internet-facing
    alb.ingress.kubernetes.io/target-type: instance  # the key setting
    alb.ingress.kubernetes.io/listen-ports: '[{"HTTP": 80}, {"HTTPS": 443}]'
spec:
  rules:
  - host: example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: app-service
            port:
              number: 80
---
apiVersion: v1
kind: Service
metadata:
  name: app-service
spec:
  type: NodePort  # required with target-type: instance
  selector:
    app: myapp
  ports:
  - port: 80
    targetPort: 8080
    # nodePort: 30080  # can be assigned automatically
"#;

fn seed_docs() -> Vec<Value> {
    serde_saphyr::from_multiple(SEED_PATTERN_1).unwrap()
}

/// The seed's Pattern 1 as module options.
fn seed_app(ns: &str) -> Value {
    json!({
        "name": "app-ingress",
        "namespace": ns,
        "scheme": "internet-facing",
        "target_type": "instance",
        "listen_ports": [{"HTTP": 80}, {"HTTPS": 443}],
        "rules": [{"host": "example.com", "paths": [{"path": "/", "path_type": "Prefix", "service_name": "app-service", "service_port": 80}]}],
        "services": [{"name": "app-service", "selector": {"app": "myapp"}, "port": 80, "target_port": 8080}],
    })
}

/// Every field of `want` has the same value in `live` (lists element-wise).
#[track_caller]
fn assert_contains(want: &Value, live: &Value, at: &str) {
    match (want, live) {
        (Value::Object(w), Value::Object(l)) => {
            for (k, v) in w {
                assert_contains(v, l.get(k).unwrap_or(&Value::Null), &format!("{at}.{k}"));
            }
        }
        (Value::Array(w), Value::Array(l)) => {
            assert_eq!(w.len(), l.len(), "{at}: {live}");
            for (i, (a, b)) in w.iter().zip(l).enumerate() {
                assert_contains(a, b, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(want, live, "{at}"),
    }
}

fn ingress(ns: &str, name: &str) -> Option<Value> {
    common::get("networking.k8s.io/v1", "Ingress", Some(ns), name)
}

fn service(ns: &str, name: &str) -> Option<Value> {
    common::get("v1", "Service", Some(ns), name)
}

fn rv(v: &Option<Value>) -> String {
    common::resource_version(v.as_ref().expect("object exists"))
}

/// A node port no Service on the plane holds (tests run in parallel: random).
fn free_node_port() -> i64 {
    use k8s_openapi::api::core::v1::Service;
    let used: Vec<i64> = common::block_on(async {
        let api: kube::Api<Service> = kube::Api::all(plane().client());
        api.list(&Default::default()).await.expect("list services")
    })
    .items
    .iter()
    .flat_map(|s| s.spec.iter().flat_map(|sp| sp.ports.iter().flatten()))
    .filter_map(|p| p.node_port.map(i64::from))
    .collect();
    let seed = common::unique_name("p");
    let mut h: u64 = seed
        .bytes()
        .fold(7, |a, b| a.wrapping_mul(31).wrapping_add(b as u64));
    loop {
        let port = 30000 + (h % 2768) as i64;
        if !used.contains(&port) {
            return port;
        }
        h = h.wrapping_add(1);
    }
}

#[test]
fn seed_pattern_1_equals_the_seed_yaml_and_second_run_writes_nothing() {
    let ns = common::namespace("seed1");
    // The seed's annotation names class `alb`; only this test uses that class.
    let args = json!({"ingress_class_annotation": true, "ingresses": [seed_app(&ns)]});
    let r = run(args.clone());
    assert_eq!(r["failed"], json!(false), "{r}");
    assert_eq!(r["changed"], json!(true), "{r}");
    assert!(
        r["warnings"].to_string().contains("no certificate-arn"),
        "HTTPS without a certificate is a warning: {r}"
    );

    let docs = seed_docs();
    let live_ing = ingress(&ns, "app-ingress").expect("Ingress created");
    let live_svc = service(&ns, "app-service").expect("Service created");
    // Every field of the seed's YAML, and exactly its annotations.
    assert_contains(&docs[0]["spec"], &live_ing["spec"], "Ingress.spec");
    assert_eq!(
        live_ing["metadata"]["annotations"],
        docs[0]["metadata"]["annotations"]
    );
    assert_eq!(live_ing["spec"]["ingressClassName"], "alb");
    assert_contains(&docs[1]["spec"], &live_svc["spec"], "Service.spec");
    let node_port = live_svc["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
    assert!((30000..=32767).contains(&node_port));
    let class = common::get("networking.k8s.io/v1", "IngressClass", None, "alb").unwrap();
    assert_eq!(class["spec"]["controller"], "ingress.k8s.aws/alb");

    let summary = &r["ingresses"][0];
    assert_eq!(summary["target_type"], "instance");
    assert_eq!(summary["services"][0]["type"], "NodePort");
    assert_eq!(summary["services"][0]["ports"][0]["node_port"], node_port);

    let before = (
        rv(&ingress(&ns, "app-ingress")),
        rv(&service(&ns, "app-service")),
        common::resource_version(&class),
    );
    let r = run(args);
    assert_eq!(r["changed"], json!(false), "{r}");
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["action"] == "unchanged"),
        "{r}"
    );
    let after = (
        rv(&ingress(&ns, "app-ingress")),
        rv(&service(&ns, "app-service")),
        common::resource_version(
            &common::get("networking.k8s.io/v1", "IngressClass", None, "alb").unwrap(),
        ),
    );
    assert_eq!(before, after, "the second run must not write");
    assert_eq!(
        r["ingresses"][0]["services"][0]["ports"][0]["node_port"],
        node_port
    );
}

#[test]
fn pattern_2_vpc_cni_gives_ip_targets_and_a_cluster_ip_service() {
    let ns = common::namespace("seed2");
    let class = common::unique_name("alb-p2");
    let mut app = seed_app(&ns);
    app.as_object_mut().unwrap().remove("target_type");
    let r = run(
        json!({"cni_plugin": "aws-vpc-cni", "vpc_cidrs": ["10.0.0.0/16"],
        "ingress_class": {"name": class}, "ingresses": [app]}),
    );
    assert_eq!(r["failed"], json!(false), "{r}");
    let ing = ingress(&ns, "app-ingress").unwrap();
    assert_eq!(
        ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"],
        "ip"
    );
    assert_eq!(ing["spec"]["ingressClassName"], class.as_str());
    assert!(
        ing["metadata"]["annotations"]
            .get("kubernetes.io/ingress.class")
            .is_none(),
        "the deprecated annotation only on request"
    );
    let svc = service(&ns, "app-service").unwrap();
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert!(svc["spec"]["ports"][0].get("nodePort").is_none());
    assert_eq!(r["ingresses"][0]["target_type"], "ip");
    common::delete("networking.k8s.io/v1", "IngressClass", None, &class);
}

#[test]
fn check_mode_writes_nothing_then_apply_and_update() {
    let ns = common::namespace("check");
    let class = common::unique_name("alb-check");
    let args = |app: Value| json!({"ingress_class": {"name": class}, "ingresses": [app]});
    let r = run_check(args(seed_app(&ns)));
    assert_eq!(r["changed"], json!(true), "{r}");
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["action"] == "created"),
        "{r}"
    );
    assert!(r["diff"].as_array().is_some_and(|d| d.len() == 3), "{r}");
    assert!(
        ingress(&ns, "app-ingress").is_none(),
        "check mode must not write"
    );
    assert!(service(&ns, "app-service").is_none());
    assert!(common::get("networking.k8s.io/v1", "IngressClass", None, &class).is_none());
    assert_eq!(
        r["ingresses"][0]["services"][0]["ports"][0]["node_port"],
        Value::Null
    );

    assert_eq!(run(args(seed_app(&ns)))["changed"], json!(true));
    let rv_svc = rv(&service(&ns, "app-service"));

    // A changed annotation: check mode reports it and leaves it alone, a run applies it.
    let changed = with(seed_app(&ns), json!({"healthcheck_path": "/healthz"}));
    let r = run_check(args(changed.clone()));
    assert_eq!(r["changed"], json!(true), "{r}");
    assert!(
        ingress(&ns, "app-ingress").unwrap()["metadata"]["annotations"]
            .get("alb.ingress.kubernetes.io/healthcheck-path")
            .is_none()
    );
    let r = run(args(changed));
    let actions: Vec<(&str, &str)> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["kind"].as_str().unwrap(), x["action"].as_str().unwrap()))
        .collect();
    assert!(actions.contains(&("Ingress", "updated")), "{actions:?}");
    assert!(actions.contains(&("Service", "unchanged")), "{actions:?}");
    assert_eq!(rv(&service(&ns, "app-service")), rv_svc);
    assert_eq!(
        ingress(&ns, "app-ingress").unwrap()["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthcheck-path"],
        "/healthz"
    );
    common::delete("networking.k8s.io/v1", "IngressClass", None, &class);
}

#[test]
fn every_typed_option_applies_and_is_idempotent() {
    let ns = common::namespace("typed");
    let class = common::unique_name("alb-typed");
    let np = free_node_port();
    const COND: &str = r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Env","values":["prod"]}}]"#;
    let app = json!({
        "name": "web", "namespace": ns, "scheme": "internal", "target_type": "instance",
        "listen_ports": "[{\"HTTP\":80},{\"HTTPS\":443}]",
        "certificate_arn": ["arn:aws:acm:us-east-1:123456789012:certificate/abcd"],
        "ssl_redirect": 443, "group_name": "web.prod", "group_order": 10,
        "healthcheck_path": "/healthz", "healthcheck_port": "traffic-port", "healthcheck_protocol": "HTTP",
        "healthcheck_interval_seconds": 30, "healthcheck_timeout_seconds": 10,
        "healthy_threshold_count": 3, "unhealthy_threshold_count": 4, "success_codes": "200-299",
        "subnets": ["subnet-0123abcd", "subnet-4567abcd"], "security_groups": ["sg-0123abcd"],
        "manage_backend_security_group_rules": true, "ip_address_type": "ipv4",
        "backend_protocol": "HTTP", "backend_protocol_version": "HTTP1", "load_balancer_name": "web-prod",
        "load_balancer_attributes": {"idle_timeout.timeout_seconds": "60"},
        "target_group_attributes": {"deregistration_delay.timeout_seconds": 30},
        "tags": {"env": "prod", "team": "web"},
        "annotations": {"alb.ingress.kubernetes.io/conditions.web": COND},
        "labels": {"app": "web"},
        "rules": [
            {"host": "web.example.com", "paths": [
                {"path": "/", "service_name": "web", "service_port": "http"},
                {"path": "/api", "path_type": "Exact", "service_name": "web", "service_port": 443}]},
            {"host": "*.example.com", "paths": [{"path": "/", "service_name": "web", "service_port": 80}]}],
        "default_backend": {"service_name": "web", "service_port": 80},
        "services": [{"name": "web", "selector": {"app": "web"}, "external_traffic_policy": "Local", "labels": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "target_port": "http", "node_port": np},
                      {"name": "https", "port": 443, "target_port": 8443}]}],
    });
    let args = json!({"ingress_class": {"name": class}, "ingresses": [app]});
    let r = run(args.clone());
    assert_eq!(r["failed"], json!(false), "{r}");
    assert!(
        r.get("warnings").is_none(),
        "no doubts about valid input: {r}"
    );
    let ing = ingress(&ns, "web").unwrap();
    let ann = &ing["metadata"]["annotations"];
    for (k, v) in [
        ("listen-ports", "[{\"HTTP\": 80}, {\"HTTPS\": 443}]"),
        ("ssl-redirect", "443"),
        ("group.order", "10"),
        ("subnets", "subnet-0123abcd,subnet-4567abcd"),
        ("manage-backend-security-group-rules", "true"),
        ("tags", "env=prod,team=web"),
        (
            "target-group-attributes",
            "deregistration_delay.timeout_seconds=30",
        ),
        ("conditions.web", COND),
    ] {
        assert_eq!(
            ann[format!("alb.ingress.kubernetes.io/{k}")],
            v,
            "{k}: {ann}"
        );
    }
    assert_eq!(
        ing["spec"]["defaultBackend"]["service"]["port"]["number"],
        80
    );
    assert_eq!(
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["name"],
        "http"
    );
    let svc = service(&ns, "web").unwrap();
    assert_eq!(svc["spec"]["externalTrafficPolicy"], "Local");
    assert_eq!(svc["spec"]["ports"][0]["nodePort"], np);
    assert_eq!(
        r["ingresses"][0]["services"][0]["ports"][0]["node_port"],
        np
    );

    let before = (rv(&ingress(&ns, "web")), rv(&service(&ns, "web")));
    let r = run(args);
    assert_eq!(r["changed"], json!(false), "{r}");
    assert_eq!(before, (rv(&ingress(&ns, "web")), rv(&service(&ns, "web"))));
    common::delete("networking.k8s.io/v1", "IngressClass", None, &class);
}

/// Each broken rule: the task fails with the rule's message and writes nothing.
#[test]
fn every_rule_refuses_bad_input_and_writes_nothing() {
    let ns = common::namespace("bad");
    let class = common::unique_name("alb-bad");
    let svc = |extra: Value| {
        with(
            json!({"name": "app-service", "selector": {"app": "myapp"}, "port": 80}),
            extra,
        )
    };
    let cases: Vec<(&str, Value, Value, &str)> = vec![
        (
            "ip with calico",
            json!({"target_type": "ip"}),
            json!({}),
            "target-type ip registers pod IPs",
        ),
        (
            "ip with pods outside the VPC",
            json!({"target_type": "ip"}),
            json!({"cni_plugin": "aws-vpc-cni", "pod_cidr": "100.64.0.0/16"}),
            "outside every VPC CIDR",
        ),
        (
            "instance with ClusterIP",
            json!({"services": [svc(json!({"type": "ClusterIP"}))]}),
            json!({}),
            "When using Instance targets, your service be must of type 'NodePort' or 'LoadBalancer'",
        ),
        (
            "node port out of range",
            json!({"services": [svc(json!({"node_port": 8080}))]}),
            json!({}),
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
        ),
        (
            "node port outside a custom range",
            json!({"services": [svc(json!({"node_port": 30080}))]}),
            json!({"node_port_range": "31000-31999"}),
            "The range of valid ports is 31000-31999",
        ),
        (
            "listen-ports malformed",
            json!({"listen_ports": "[{\"HTTP\": 80"}),
            json!({}),
            "failed to parse listen-ports configuration",
        ),
        (
            "listen port out of range",
            json!({"listen_ports": [{"HTTP": 70000}]}),
            json!({}),
            "listen port must be within [1, 65535]: 70000",
        ),
        (
            "listen protocol",
            json!({"listen_ports": [{"TCP": 80}]}),
            json!({}),
            "listen protocol must be within [HTTP, HTTPS]: TCP",
        ),
        (
            "HTTPS without certificate or host",
            json!({"rules": [], "default_backend": {"service_name": "app-service", "service_port": 80}}),
            json!({}),
            "has no certificate-arn and no rule host",
        ),
        (
            "ssl-redirect to HTTP",
            json!({"ssl_redirect": 80}),
            json!({}),
            "listener protocol non-SSL for SSLRedirect port: 80",
        ),
        (
            "ssl-redirect to no listener",
            json!({"ssl_redirect": 8443}),
            json!({}),
            "listener does not exist for SSLRedirect port: 8443",
        ),
        (
            "group name",
            json!({"group_name": "Web_App"}),
            json!({}),
            "must consist of lower case alphanumeric characters",
        ),
        (
            "group order",
            json!({"group_order": -1001}),
            json!({}),
            "explicit Ingress group order must be within [-1000:1000]",
        ),
        (
            "health check interval",
            json!({"healthcheck_interval_seconds": 301}),
            json!({}),
            "health check interval 301 is outside the AWS limit 5-300",
        ),
        (
            "health check timeout",
            json!({"healthcheck_interval_seconds": 10, "healthcheck_timeout_seconds": 10}),
            json!({}),
            "not smaller than the interval 10",
        ),
        (
            "health check threshold",
            json!({"healthy_threshold_count": 1}),
            json!({}),
            "outside the AWS limit 2-10",
        ),
        (
            "success codes",
            json!({"success_codes": "200-600"}),
            json!({}),
            "success code 600 is outside 200-499",
        ),
        (
            "load balancer name",
            json!({"load_balancer_name": "a-very-long-load-balancer-name-x1"}),
            json!({}),
            "load balancer name cannot be longer than 32 characters",
        ),
        (
            "path",
            json!({"rules": [{"host": "example.com", "paths": [{"path": "api", "service_name": "app-service", "service_port": 80}]}]}),
            json!({}),
            "must be an absolute path",
        ),
        (
            "host",
            json!({"rules": [{"host": "10.0.0.1", "paths": [{"path": "/", "service_name": "app-service", "service_port": 80}]}]}),
            json!({}),
            "must be a DNS name, not an IP address",
        ),
        (
            "ports without names",
            json!({"services": [{"name": "app-service", "selector": {"app": "myapp"}, "ports": [{"port": 80}, {"port": 443}]}]}),
            json!({}),
            "must name every port",
        ),
    ];
    for (what, app, top, needle) in cases {
        let mut app = with(seed_app(&ns), app);
        app["name"] = json!("ing");
        let args = with(
            json!({"ingress_class": {"name": class}, "ingresses": [app]}),
            top,
        );
        let r = run(args);
        assert_eq!(r["failed"], json!(true), "{what}: {r}");
        assert_eq!(r["changed"], json!(false), "{what}: {r}");
        let msg = r["msg"].as_str().unwrap();
        assert!(msg.contains(needle), "{what}: {msg}");
        assert!(msg.contains("nothing was written"), "{what}: {msg}");
        assert!(
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["problem"].as_str().unwrap().contains(needle)
                    && !x["fix"].as_str().unwrap().is_empty()),
            "{what}: {r}"
        );
        assert!(ingress(&ns, "ing").is_none(), "{what}: nothing written");
        assert!(
            service(&ns, "app-service").is_none(),
            "{what}: nothing written"
        );
        assert!(
            common::get("networking.k8s.io/v1", "IngressClass", None, &class).is_none(),
            "{what}"
        );
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let ns = common::namespace("many");
    let app = with(
        seed_app(&ns),
        json!({"target_type": "ip", "group_order": 5000, "ssl_redirect": 80}),
    );
    let r = run(json!({"ingresses": [app]}));
    assert_eq!(r["failed"], json!(true));
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .starts_with("3 problems found, nothing was written"),
        "{r}"
    );
}

#[test]
fn node_port_taken_by_another_service_is_refused() {
    let other_ns = common::namespace("holder");
    let ns = common::namespace("taken");
    let class = common::unique_name("alb-taken");
    let np = free_node_port();
    common::create(
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "holder", "namespace": other_ns},
        "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80, "nodePort": np}]}}),
    );
    let app = |port: i64| {
        with(
            seed_app(&ns),
            json!({"services": [{"name": "app-service", "selector": {"app": "myapp"}, "port": 80, "node_port": port}]}),
        )
    };
    let r = run(json!({"ingress_class": {"name": class}, "ingresses": [app(np)]}));
    assert_eq!(r["failed"], json!(true), "{r}");
    assert!(
        r["msg"].as_str().unwrap().contains(&format!(
            "Invalid value: {np}: provided port is already allocated (by Service {other_ns}/holder)"
        )),
        "{r}"
    );
    assert!(service(&ns, "app-service").is_none() && ingress(&ns, "app-ingress").is_none());

    // A free port is taken, and keeping it is not a conflict with itself.
    let free = free_node_port();
    let r = run(json!({"ingress_class": {"name": class}, "ingresses": [app(free)]}));
    assert_eq!(r["failed"], json!(false), "{r}");
    assert_eq!(
        service(&ns, "app-service").unwrap()["spec"]["ports"][0]["nodePort"],
        free
    );
    let r = run(json!({"ingress_class": {"name": class}, "ingresses": [app(free)]}));
    assert_eq!(r["changed"], json!(false), "{r}");
    common::delete("networking.k8s.io/v1", "IngressClass", None, &class);
}

#[test]
fn backend_outside_the_task_must_be_a_node_port_service() {
    let ns = common::namespace("outside");
    let class = common::unique_name("alb-out");
    common::create(
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app-service", "namespace": ns},
        "spec": {"type": "ClusterIP", "selector": {"app": "x"}, "ports": [{"port": 80}]}}),
    );
    let app = with(seed_app(&ns), json!({"services": []}));
    let r = run(json!({"ingress_class": {"name": class}, "ingresses": [app.clone()]}));
    assert_eq!(r["failed"], json!(true), "{r}");
    assert!(
        r["msg"].as_str().unwrap().contains(&format!(
            "your service be must of type 'NodePort' or 'LoadBalancer' (Service {ns}/app-service is ClusterIP)"
        )),
        "{r}"
    );
    assert!(ingress(&ns, "app-ingress").is_none());

    let other = common::namespace("outside-np");
    common::create(
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app-service", "namespace": other},
        "spec": {"type": "NodePort", "selector": {"app": "x"}, "ports": [{"port": 80}]}}),
    );
    let r = run(
        json!({"ingress_class": {"name": class}, "ingresses": [with(app, json!({"namespace": other}))]}),
    );
    assert_eq!(r["failed"], json!(false), "{r}");
    common::delete("networking.k8s.io/v1", "IngressClass", None, &class);
}

#[test]
fn ingress_class_with_params_default_and_absent() {
    let class = common::unique_name("alb-params");
    let ns = common::namespace("params");
    let args = |state: &str| {
        json!({"ingress_class": {"name": class, "state": state, "is_default": false,
            "params": {"scheme": "internet-facing", "group": {"name": "shared"}, "ipAddressType": "ipv4"}},
            "ingresses": []})
    };
    let r = run(args("present"));
    assert_eq!(r["failed"], json!(false), "{r}");
    let params = common::get("elbv2.k8s.aws/v1beta1", "IngressClassParams", None, &class).unwrap();
    assert_eq!(params["spec"]["group"]["name"], "shared");
    let ic = common::get("networking.k8s.io/v1", "IngressClass", None, &class).unwrap();
    assert_eq!(ic["spec"]["parameters"]["kind"], "IngressClassParams");
    assert_eq!(ic["spec"]["parameters"]["name"], class.as_str());
    let rvs = (
        common::resource_version(&params),
        common::resource_version(&ic),
    );
    let r = run(args("present"));
    assert_eq!(r["changed"], json!(false), "{r}");
    let again = (
        common::resource_version(
            &common::get("elbv2.k8s.aws/v1beta1", "IngressClassParams", None, &class).unwrap(),
        ),
        common::resource_version(
            &common::get("networking.k8s.io/v1", "IngressClass", None, &class).unwrap(),
        ),
    );
    assert_eq!(rvs, again);

    // An Ingress of this class whose own scheme is overridden by the params: a warning.
    let app = with(seed_app(&ns), json!({"scheme": "internal"}));
    let r = run(with(args("present"), json!({"ingresses": [app]})));
    assert_eq!(r["failed"], json!(false), "{r}");
    assert!(r["warnings"].to_string().contains("overrides"), "{r}");

    let r = run(args("absent"));
    assert_eq!(r["changed"], json!(true), "{r}");
    assert!(common::get("networking.k8s.io/v1", "IngressClass", None, &class).is_none());
    assert!(common::get("elbv2.k8s.aws/v1beta1", "IngressClassParams", None, &class).is_none());
    assert_eq!(run(args("absent"))["changed"], json!(false));
}

#[test]
fn existing_class_of_another_controller_is_refused() {
    let class = common::unique_name("nginx");
    common::create(
        &json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": class},
        "spec": {"controller": "k8s.io/ingress-nginx"}}),
    );
    let ns = common::namespace("nginx");
    let r = run(json!({"ingress_class": {"name": class}, "ingresses": [seed_app(&ns)]}));
    assert_eq!(r["failed"], json!(true), "{r}");
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .contains("spec.controller is immutable"),
        "{r}"
    );
    assert!(ingress(&ns, "app-ingress").is_none());
    common::delete("networking.k8s.io/v1", "IngressClass", None, &class);
}

#[test]
fn state_absent_deletes_the_ingress_and_its_services() {
    let ns = common::namespace("absent");
    let class = common::unique_name("alb-absent");
    let args = |state: &str| json!({"ingress_class": {"name": class}, "ingresses": [with(seed_app(&ns), json!({"state": state}))]});
    assert_eq!(run(args("present"))["failed"], json!(false));
    assert!(ingress(&ns, "app-ingress").is_some());
    let r = run_check(args("absent"));
    assert_eq!(r["changed"], json!(true));
    assert!(
        ingress(&ns, "app-ingress").is_some(),
        "check mode must not delete"
    );
    let r = run(args("absent"));
    assert_eq!(r["changed"], json!(true), "{r}");
    assert!(ingress(&ns, "app-ingress").is_none());
    assert!(service(&ns, "app-service").is_none());
    let r = run(args("absent"));
    let actions: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["kind"] != "IngressClass")
        .map(|x| x["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["unchanged", "unchanged"], "{r}");
    common::delete("networking.k8s.io/v1", "IngressClass", None, &class);
}

#[test]
fn unknown_option_is_refused_like_ansible() {
    let r = run(json!({"ingresses": [{"name": "x", "target_typ": "ip"}]}));
    assert_eq!(r["failed"], json!(true));
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .contains("Unsupported parameters for ingresses[0]: target_typ"),
        "{r}"
    );
}

/// A real admission check that, like the AWS Load Balancer Controller's
/// Ingress webhook (`vingress.elbv2.k8s.aws`), denies an Ingress in `ns`
/// while the IngressClass `class` does not exist: a ValidatingAdmissionPolicy
/// whose params are that IngressClass, with parameterNotFoundAction Deny.
/// Served by kube-apiserver itself; returns once it is in force.
fn require_ingress_class_by_admission(ns: &str, class: &str) {
    let name = format!("class-exists-{ns}");
    common::create(&json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {"failurePolicy": "Fail",
            "paramKind": {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass"},
            "matchConstraints": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                "resourceRules": [{"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"], "resources": ["ingresses"]}]},
            "validations": [{"expression": "object.spec.ingressClassName == params.metadata.name",
                "message": format!("the Ingress must name IngressClass {class}")}]}
    }));
    common::create(&json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"],
            "paramRef": {"name": class, "parameterNotFoundAction": "Deny"}}
    }));
    // The policy reaches admission through an informer: wait until it denies
    // (an Ingress naming another class, whether or not `class` exists).
    let probe = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "probe", "namespace": ns},
        "spec": {"ingressClassName": format!("{class}-probe"),
            "defaultBackend": {"service": {"name": "probe", "port": {"number": 80}}}}});
    let start = std::time::Instant::now();
    loop {
        let denied = common::block_on(async {
            use kube::api::{Api, DynamicObject, PostParams};
            let ar = kube::core::ApiResource::from_gvk(&kube::core::GroupVersionKind::gvk(
                "networking.k8s.io",
                "v1",
                "Ingress",
            ));
            let api: Api<DynamicObject> = Api::namespaced_with(plane().client(), ns, &ar);
            let obj: DynamicObject = serde_json::from_value(probe.clone()).unwrap();
            let pp = PostParams {
                dry_run: true,
                ..Default::default()
            };
            matches!(api.create(&pp, &obj).await, Err(kube::Error::Api(s)) if s.message.contains("ValidatingAdmissionPolicy"))
        });
        if denied {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the ValidatingAdmissionPolicy never came into force"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Admission of an Ingress may read its IngressClass (the LBC's webhook
/// does). netpath writes the class first and only then dry-runs the rest:
/// without that, the dry run is denied on every run and nothing is written.
#[test]
fn ingress_class_is_written_before_ingresses_meet_admission() {
    let ns = common::namespace("admission");
    let class = common::unique_name("alb-adm");
    require_ingress_class_by_admission(&ns, &class);
    let args = |class: &str| {
        json!({"ingress_class": {"name": class, "is_default": false},
            "ingresses": [seed_app(&ns)]})
    };
    assert!(
        common::get("networking.k8s.io/v1", "IngressClass", None, &class).is_none(),
        "the class must be new"
    );
    let r = run(args(&class));
    assert_eq!(r["failed"], json!(false), "{r}");
    assert_eq!(r["changed"], json!(true), "{r}");
    assert!(common::get("networking.k8s.io/v1", "IngressClass", None, &class).is_some());
    let ing = ingress(&ns, "app-ingress");
    assert_eq!(
        ing.as_ref().unwrap()["spec"]["ingressClassName"],
        class.as_str()
    );
    let rvs = (rv(&ing), rv(&service(&ns, "app-service")));
    let r = run(args(&class));
    assert_eq!(r["changed"], json!(false), "{r}");
    assert_eq!(
        (
            rv(&ingress(&ns, "app-ingress")),
            rv(&service(&ns, "app-service"))
        ),
        rvs,
        "a converged task writes nothing"
    );

    // Denied by admission after the class was written: reported as the
    // policy's denial (never as RBAC), saying what was written and that
    // nothing else was.
    let ns2 = common::namespace("admission-deny");
    require_ingress_class_by_admission(&ns2, &class);
    let other = common::unique_name("alb-other");
    let r = run(
        json!({"ingress_class": {"name": other, "is_default": false},
        "ingresses": [seed_app(&ns2)]}),
    );
    let msg = r["msg"].as_str().unwrap_or_default();
    assert_eq!(r["failed"], json!(true), "{r}");
    for want in [
        "ValidatingAdmissionPolicy",
        "denied request",
        &format!("the Ingress must name IngressClass {class}"),
        "refused by admission control, not by RBAC",
        &format!("created IngressClass {other}"),
        "nothing else was written",
    ] {
        assert!(msg.contains(want), "{want:?} missing in: {msg}");
    }
    assert!(!msg.contains("RBAC does not allow"), "{msg}");
    assert!(ingress(&ns2, "app-ingress").is_none());
    assert!(service(&ns2, "app-service").is_none());
    common::delete("networking.k8s.io/v1", "IngressClass", None, &other);
}

/// IngressGroup members already in the cluster are compared with the task's
/// (issue 14): what the controller merges must agree, or nothing is written.
#[test]
fn ingress_group_members_in_the_cluster_must_agree() {
    let ns = common::namespace("grp-live");
    let class = common::unique_name("alb-grp");
    let group = common::unique_name("g");
    let member = |name: &str, extra: Value| {
        with(
            json!({"name": name, "namespace": ns, "group_name": group, "scheme": "internet-facing",
                "listen_ports": [{"HTTP": 80}],
                "rules": [{"host": format!("{name}.example.com"), "paths": [{"path": "/", "service_name": name, "service_port": 80}]}],
                "services": [{"name": name, "selector": {"app": name}, "port": 80, "target_port": 8080}]}),
            extra,
        )
    };
    let task = |apps: Value| json!({"ingress_class": {"name": class}, "ingresses": apps});
    let backend =
        |name: &str| json!({"default_backend": {"service_name": name, "service_port": 80}});
    let r = run(task(json!([member("app-a", backend("app-a"))])));
    assert_eq!(r["failed"], json!(false), "{r}");

    // Another controller's Ingress naming the same group is no member.
    common::create(
        &json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "nginx", "namespace": ns, "annotations": {
            "alb.ingress.kubernetes.io/group.name": group, "alb.ingress.kubernetes.io/scheme": "internal"}},
        "spec": {"ingressClassName": "nginx", "defaultBackend": {"service": {"name": "x", "port": {"number": 80}}}}}),
    );

    for (extra, want) in [
        (
            json!({"scheme": "internal"}),
            format!(
                "ingresses[0].scheme: conflicting scheme: map[internal:{{}} internet-facing:{{}}], set by {ns}/app-a, {ns}/app-b (IngressGroup {group})"
            ),
        ),
        (
            backend("app-b"),
            format!(
                "ingresses[0].default_backend: multiple ingress defined default backend: [{ns}/app-a {ns}/app-b] (listener port 80"
            ),
        ),
        (
            json!({"listen_ports": [{"HTTPS": 80}], "certificate_arn": ["arn:aws:acm:us-east-1:123456789012:certificate/abcd"]}),
            format!("conflicting protocol, {ns}/app-a: HTTP | {ns}/app-b: HTTPS"),
        ),
    ] {
        let r = run(task(json!([member("app-b", extra)])));
        assert_eq!(r["failed"], json!(true), "{r}");
        assert!(r["msg"].as_str().unwrap().contains(&want), "{want}\n{r}");
        assert!(ingress(&ns, "app-b").is_none(), "nothing written");
        assert!(service(&ns, "app-b").is_none(), "nothing written");
    }
    // A member that agrees is applied; the task's own Ingress, live, is the
    // task's (app-a's second run compares with app-b only).
    let r = run(task(json!([member("app-b", json!({}))])));
    assert_eq!(r["failed"], json!(false), "{r}");
    let r = run(task(json!([member("app-a", backend("app-a"))])));
    assert_eq!(r["failed"], json!(false), "{r}");
    assert_eq!(r["changed"], json!(false), "{r}");
    common::delete("networking.k8s.io/v1", "IngressClass", None, &class);
}

/// A user that may not list Ingresses cluster-wide still applies a group
/// member: the comparison with the cluster's members is skipped with a
/// warning that says so (issue 14). On a plane of its own, since `limited`
/// gets rights there.
#[test]
fn group_members_unreadable_is_a_warning() {
    let p = common::private_plane("grp-403");
    let ns = p.namespace("grp-403");
    let class = common::unique_name("alb-403");
    let rbac = "rbac.authorization.k8s.io";
    let limited = json!([{"kind": "User", "name": "limited", "apiGroup": rbac}]);
    let rw = json!(["get", "list", "create", "patch", "update"]);
    p.create(&json!({"apiVersion": format!("{rbac}/v1"), "kind": "Role",
        "metadata": {"name": "apps", "namespace": ns},
        "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": rw},
                  {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": rw}]}));
    p.create(
        &json!({"apiVersion": format!("{rbac}/v1"), "kind": "RoleBinding",
        "metadata": {"name": "apps", "namespace": ns},
        "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "apps"}, "subjects": limited}),
    );
    p.create(&json!({"apiVersion": format!("{rbac}/v1"), "kind": "ClusterRole",
        "metadata": {"name": "classes"},
        "rules": [{"apiGroups": ["networking.k8s.io"], "resources": ["ingressclasses"], "verbs": rw}]}));
    p.create(&json!({"apiVersion": format!("{rbac}/v1"), "kind": "ClusterRoleBinding",
        "metadata": {"name": "classes"},
        "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "classes"}, "subjects": limited}));
    let args = json!({"kubeconfig": p.kubeconfig.to_str().unwrap(), "context": "limited",
        "ingress_class": {"name": class},
        "ingresses": [with(seed_app(&ns), json!({"group_name": "shared"}))]});
    // RBAC caches may take a moment to see the new bindings.
    let mut r = module::run("alb_ingress", args.clone(), module::Flags::default()).json;
    for _ in 0..20 {
        if r["failed"] == json!(false) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        r = module::run("alb_ingress", args.clone(), module::Flags::default()).json;
    }
    assert_eq!(r["failed"], json!(false), "{r}");
    assert!(
        r["warnings"].to_string().contains(
            "cannot list Ingresses (forbidden), so the settings of IngressGroup members outside this task were not compared"
        ),
        "{r}"
    );
    p.stop();
}

/// An Ingress name is a DNS subdomain (apimachinery's NameIsDNSSubdomain):
/// a label of 64 characters is accepted by the API server, so by
/// alb_ingress too, as by every module (one rule, in kube/names.rs).
#[test]
fn an_ingress_name_with_a_64_character_label_is_accepted_as_the_api_server_does() {
    let ns = common::namespace("long-label");
    let name = format!("{}.example", "a".repeat(64));
    let mut app = seed_app(&ns);
    app["name"] = json!(name);
    let r = run(json!({"ingresses": [app]}));
    assert_eq!(r["failed"], json!(false), "{r}");
    assert!(ingress(&ns, &name).is_some(), "{r}");
    let r = run(json!({"ingresses": [with_name(seed_app(&ns), "Bad_Name")]}));
    assert_eq!(r["failed"], json!(true), "{r}");
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .contains("Ingress name 'Bad_Name' is invalid"),
        "{r}"
    );
}

fn with_name(mut app: Value, name: &str) -> Value {
    app["name"] = json!(name);
    app
}
