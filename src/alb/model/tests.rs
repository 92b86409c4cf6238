use super::*;
use crate::alb::rules;
use crate::modules::alb_ingress;
use crate::net::model::TargetType;
use crate::protocol::Params;
use crate::validate::Findings;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn params(v: Value) -> Params {
    let env = |_: &str| None;
    crate::protocol::spec::validate(
        "t",
        alb_ingress::MODULE.options,
        &alb_ingress::MODULE.constraints,
        v.as_object().unwrap(),
        &env,
    )
    .unwrap_or_else(|e| panic!("spec: {e:?}"))
}

fn plan_of(v: Value) -> (Plan, Findings) {
    alb_ingress::plan(&params(v))
}

/// The seed's Pattern 1, as options.
fn seed_app() -> Value {
    json!({
        "name": "app-ingress",
        "scheme": "internet-facing",
        "target_type": "instance",
        "listen_ports": [{"HTTP": 80}, {"HTTPS": 443}],
        "rules": [{"host": "example.com", "paths": [{"path": "/", "path_type": "Prefix", "service_name": "app-service", "service_port": 80}]}],
        "services": [{"name": "app-service", "selector": {"app": "myapp"}, "port": 80, "target_port": 8080}],
    })
}

fn merge(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

/// Findings of the seed app changed by `app` (merged) and `top` (top-level options).
fn findings(app: Value, top: Value) -> Findings {
    let args = merge(json!({"ingresses": [merge(seed_app(), app)]}), top);
    plan_of(args).1
}

#[track_caller]
fn has(f: &Findings, severity: Severity, field: &str, needle: &str) {
    assert!(
        f.0.iter().any(|x| x.severity == severity
            && x.field.contains(field)
            && x.problem.contains(needle)),
        "no {severity:?} at {field} containing {needle:?} in {:#?}",
        f.0
    );
}

#[track_caller]
fn error(f: &Findings, field: &str, needle: &str) {
    has(f, Severity::Error, field, needle);
}

#[track_caller]
fn clean(f: &Findings) {
    assert!(!f.has_errors(), "unexpected errors: {:#?}", f.0);
}

use crate::validate::Severity;

#[test]
fn seed_pattern_1_renders_the_seed_yaml() {
    let (plan, f) = plan_of(json!({"ingress_class_annotation": true, "ingresses": [seed_app()]}));
    clean(&f);
    // Only the HTTPS-without-certificate doubt: hosts allow discovery.
    assert_eq!(f.0.len(), 1, "{:#?}", f.0);
    has(
        &f,
        Severity::Warning,
        "ingresses[0].listen_ports",
        "no certificate-arn",
    );
    let ing = render_ingress(&plan.ingresses[0]);
    assert_eq!(
        ing["metadata"]["annotations"],
        json!({
            "kubernetes.io/ingress.class": "alb",
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "instance",
            "alb.ingress.kubernetes.io/listen-ports": "[{\"HTTP\": 80}, {\"HTTPS\": 443}]",
        })
    );
    assert_eq!(
        ing["spec"],
        json!({"ingressClassName": "alb", "rules": [{"host": "example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "app-service", "port": {"number": 80}}}}]}}]})
    );
    let svc = render_service(&plan.ingresses[0].services[0]);
    assert_eq!(
        svc,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app-service", "namespace": "default"},
            "spec": {"type": "NodePort", "selector": {"app": "myapp"}, "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]}})
    );
    let class = render_class(&plan.class);
    assert_eq!(
        class,
        vec![
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "alb"}, "spec": {"controller": "ingress.k8s.aws/alb"}})
        ]
    );
    assert_eq!(render(&plan).len(), 3);
}

#[test]
fn target_type_is_derived_and_always_written() {
    let app = merge(seed_app(), json!({"target_type": null}));
    let (plan, f) = plan_of(json!({"ingresses": [app.clone()]}));
    clean(&f);
    let ing = render_ingress(&plan.ingresses[0]);
    assert_eq!(
        ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"],
        "instance"
    );
    assert!(
        ing["metadata"]["annotations"]
            .get(CLASS_ANNOTATION)
            .is_none()
    );
    assert_eq!(plan.ingresses[0].services[0].type_, ServiceType::NodePort);

    // Pattern 2: EKS with the VPC CNI derives ip and a ClusterIP Service.
    let (plan, f) = plan_of(json!({"cni_plugin": "aws-vpc-cni", "ingresses": [app]}));
    clean(&f);
    assert_eq!(plan.ingresses[0].target_type, TargetType::Ip);
    assert_eq!(plan.ingresses[0].services[0].type_, ServiceType::ClusterIp);
    let ing = render_ingress(&plan.ingresses[0]);
    assert_eq!(
        ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/target-type"],
        "ip"
    );
}

#[test]
fn ip_needs_vpc_routable_pods() {
    // The seed's central rule: calico overlay + ip is refused, however it is asked for.
    let f = findings(json!({"target_type": "ip"}), json!({}));
    error(
        &f,
        "ingresses[0].target_type",
        "target-type ip registers pod IPs",
    );
    error(&f, "ingresses[0].target_type", "no VPC route");
    let f = findings(
        json!({"target_type": null, "annotations": {"alb.ingress.kubernetes.io/target-type": "ip"}}),
        json!({}),
    );
    error(
        &f,
        "annotations[\"alb.ingress.kubernetes.io/target-type\"]",
        "target-type ip",
    );
    let f = findings(
        json!({}),
        json!({"ingress_class": {"params": {"targetType": "ip"}}}),
    );
    error(&f, "ingress_class.params.targetType", "target-type ip");
    // VPC CNI: pods inside the VPC pass, pods outside fail.
    let ok = findings(
        json!({"target_type": "ip"}),
        json!({"cni_plugin": "aws-vpc-cni"}),
    );
    clean(&ok);
    let f = findings(
        json!({"target_type": "ip"}),
        json!({"cni_plugin": "aws-vpc-cni", "pod_cidr": "100.64.0.0/16"}),
    );
    error(&f, "ingresses[0].target_type", "outside every VPC CIDR");
    let f = findings(json!({"target_type": "IP"}), json!({}));
    error(&f, "target_type", "unknown targetType: IP");
}

#[test]
fn instance_needs_a_node_port_service() {
    let f = findings(
        json!({"services": [{"name": "app-service", "type": "ClusterIP", "port": 80, "selector": {"app": "a"}}]}),
        json!({}),
    );
    error(
        &f,
        "services[0].type",
        "TargetGroup port is empty. When using Instance targets",
    );
    let ok = findings(
        json!({"services": [{"name": "app-service", "type": "LoadBalancer", "port": 80, "selector": {"app": "a"}}]}),
        json!({}),
    );
    clean(&ok);
}

#[test]
fn node_ports_in_range_and_unique() {
    let svc = |np: i64| json!({"services": [{"name": "app-service", "port": 80, "node_port": np, "selector": {"app": "a"}}]});
    clean(&findings(svc(30080), json!({})));
    error(
        &findings(svc(80), json!({})),
        "services[0].node_port",
        "provided port is not in the valid range. The range of valid ports is 30000-32767",
    );
    let custom = json!({"node_port_range": "31000-31999"});
    clean(&findings(svc(31500), custom.clone()));
    error(&findings(svc(30080), custom), "node_port", "31000-31999");
    error(
        &findings(json!({}), json!({"node_port_range": "32767-30000"})),
        "node_port_range",
        "is not a node port range",
    );
    // Two Services of this task asking for the same port.
    let two = json!({"services": [
        {"name": "app-service", "port": 80, "node_port": 30080, "selector": {"app": "a"}},
        {"name": "other", "port": 81, "node_port": 30080, "selector": {"app": "b"}}]});
    error(
        &findings(two, json!({})),
        "services[1].node_port",
        "already allocated",
    );
    let dup = json!({"services": [{"name": "app-service", "selector": {"app": "a"}, "ports": [
        {"name": "http", "port": 80, "node_port": 30080}, {"name": "alt", "port": 81, "node_port": 30080}]}]});
    error(
        &findings(dup, json!({})),
        "ports[1].node_port",
        "Duplicate value: 30080",
    );
}

#[test]
fn node_port_and_traffic_policy_need_an_external_service() {
    let f = findings(
        json!({"target_type": null, "services": [{"name": "app-service", "type": "ClusterIP", "port": 80, "node_port": 30080,
            "external_traffic_policy": "Local", "selector": {"app": "a"}}]}),
        json!({"cni_plugin": "aws-vpc-cni"}),
    );
    error(
        &f,
        "node_port",
        "may not be used when `type` is 'ClusterIP'",
    );
    error(
        &f,
        "external_traffic_policy",
        "may only be set for externally-accessible services",
    );
    let ok = findings(
        json!({"services": [{"name": "app-service", "port": 80, "node_port": 30080, "external_traffic_policy": "Local", "selector": {"app": "a"}}]}),
        json!({}),
    );
    clean(&ok);
}

#[test]
fn listen_ports() {
    let (plan, f) = plan_of(
        json!({"ingresses": [merge(seed_app(), json!({"listen_ports": "[{\"HTTP\":80},{\"HTTPS\":443}]"}))]}),
    );
    clean(&f);
    assert_eq!(
        plan.ingresses[0].annotation("listen-ports").unwrap().value,
        "[{\"HTTP\": 80}, {\"HTTPS\": 443}]",
        "written as the controller's JSON"
    );
    error(
        &findings(json!({"listen_ports": "[{\"HTTP\": 80}"}), json!({})),
        "listen_ports",
        "failed to parse listen-ports configuration",
    );
    error(
        &findings(json!({"listen_ports": [{"HTTP": 0}]}), json!({})),
        "listen_ports",
        "listen port must be within [1, 65535]: 0",
    );
    error(
        &findings(json!({"listen_ports": [{"TCP": 80}]}), json!({})),
        "listen_ports",
        "listen protocol must be within [HTTP, HTTPS]: TCP",
    );
}

#[test]
fn https_certificates() {
    const ARN: &str = "arn:aws:acm:us-east-1:123456789012:certificate/abcd";
    // With a certificate: nothing to say.
    let f = findings(json!({"certificate_arn": [ARN]}), json!({}));
    assert!(f.0.is_empty(), "{:#?}", f.0);
    // Hosts but no certificate: a warning, silenced when discovery is requested.
    has(
        &findings(json!({}), json!({})),
        Severity::Warning,
        "listen_ports",
        "no certificate-arn",
    );
    assert!(
        findings(json!({"certificate_discovery": true}), json!({}))
            .0
            .is_empty()
    );
    // No host to discover by: an error, even when discovery is requested.
    let no_host = json!({"certificate_discovery": true, "rules": [{"paths": [{"path": "/", "service_name": "app-service", "service_port": 80}]}]});
    error(
        &findings(no_host, json!({})),
        "listen_ports",
        "no rule host",
    );
    error(
        &findings(
            json!({"certificate_arn": ["arn:aws:acm:us-east-1:1234:certificate/x"]}),
            json!({}),
        ),
        "certificate_arn[0]",
        "not 12 digits",
    );
}

#[test]
fn ssl_redirect() {
    clean(&findings(json!({"ssl_redirect": 443}), json!({})));
    error(
        &findings(json!({"ssl_redirect": 80}), json!({})),
        "ssl_redirect",
        "listener protocol non-SSL for SSLRedirect port: 80",
    );
    error(
        &findings(json!({"ssl_redirect": 8443}), json!({})),
        "ssl_redirect",
        "listener does not exist for SSLRedirect port: 8443",
    );
}

#[test]
fn groups() {
    clean(&findings(
        json!({"group_name": "web.prod-1", "group_order": 10}),
        json!({}),
    ));
    error(
        &findings(json!({"group_name": "Web_App"}), json!({})),
        "group_name",
        "must consist of lower case alphanumeric",
    );
    error(
        &findings(json!({"group_order": 1001}), json!({})),
        "group_order",
        "explicit Ingress group order must be within [-1000:1000]",
    );
}

#[test]
fn health_checks() {
    let good = json!({"healthcheck_path": "/healthz", "healthcheck_port": "traffic-port", "healthcheck_protocol": "HTTP",
        "healthcheck_interval_seconds": 30, "healthcheck_timeout_seconds": 10, "healthy_threshold_count": 2,
        "unhealthy_threshold_count": 10, "success_codes": "200-299"});
    let (plan, f) = plan_of(json!({"ingresses": [merge(seed_app(), good)]}));
    clean(&f);
    let ing = render_ingress(&plan.ingresses[0]);
    assert_eq!(
        ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/healthcheck-interval-seconds"],
        "30"
    );
    assert_eq!(
        ing["metadata"]["annotations"]["alb.ingress.kubernetes.io/success-codes"],
        "200-299"
    );
    error(
        &findings(json!({"healthcheck_interval_seconds": 4}), json!({})),
        "healthcheck_interval_seconds",
        "outside the AWS limit 5-300",
    );
    error(
        &findings(json!({"healthcheck_timeout_seconds": 15}), json!({})),
        "healthcheck_timeout_seconds",
        "not smaller than the interval 15",
    );
    error(
        &findings(json!({"healthcheck_interval_seconds": 5}), json!({})),
        "healthcheck_interval_seconds",
        "not smaller than the interval 5",
    );
    error(
        &findings(json!({"unhealthy_threshold_count": 11}), json!({})),
        "unhealthy_threshold_count",
        "outside the AWS limit 2-10",
    );
    error(
        &findings(json!({"success_codes": "500"}), json!({})),
        "success_codes",
        "outside 200-499",
    );
    error(
        &findings(json!({"healthcheck_path": "healthz"}), json!({})),
        "healthcheck_path",
        "must start with '/'",
    );
    error(
        &findings(json!({"healthcheck_protocol": "TCP"}), json!({})),
        "healthcheck_protocol",
        "healthCheckProtocol",
    );
}

#[test]
fn named_healthcheck_port_with_ip_and_named_target_port() {
    let app = json!({"target_type": "ip", "healthcheck_port": "http",
        "services": [{"name": "app-service", "port": 80, "port_name": "http", "target_port": "http", "selector": {"app": "a"}}]});
    error(
        &findings(app.clone(), json!({"cni_plugin": "aws-vpc-cni"})),
        "healthcheck_port",
        "cannot use named healthCheckPort for IP TargetType",
    );
    clean(&findings(
        merge(app, json!({"healthcheck_port": "8080"})),
        json!({"cni_plugin": "aws-vpc-cni"}),
    ));
}

#[test]
fn load_balancer_name_and_enums() {
    clean(&findings(
        json!({"load_balancer_name": "web-prod", "ip_address_type": "dualstack", "backend_protocol": "HTTPS", "backend_protocol_version": "HTTP2"}),
        json!({}),
    ));
    error(
        &findings(json!({"load_balancer_name": "a".repeat(33)}), json!({})),
        "load_balancer_name",
        "cannot be longer than 32 characters",
    );
    error(
        &findings(json!({"scheme": "public"}), json!({})),
        "scheme",
        "unknown scheme: public",
    );
    error(
        &findings(json!({"ip_address_type": "ipv6"}), json!({})),
        "ip_address_type",
        "unknown IPAddressType",
    );
    error(
        &findings(json!({"backend_protocol": "GRPC"}), json!({})),
        "backend_protocol",
        "backend protocol must be within",
    );
}

#[test]
fn hosts_and_paths() {
    let rule = |host: &str, path: &str, ty: &str| json!({"rules": [{"host": host, "paths": [{"path": path, "path_type": ty, "service_name": "app-service", "service_port": 80}]}]});
    clean(&findings(rule("*.example.com", "/api", "Exact"), json!({})));
    error(
        &findings(rule("10.0.0.1", "/", "Prefix"), json!({})),
        "rules[0].host",
        "must be a DNS name, not an IP address",
    );
    error(
        &findings(rule("example.com", "api", "Prefix"), json!({})),
        "paths[0].path",
        "must be an absolute path",
    );
    error(
        &findings(rule("example.com", "/", "prefix"), json!({})),
        "paths[0].path",
        "Unsupported value: \"prefix\"",
    );
    error(
        &findings(rule("example.com", "/api/*", "Prefix"), json!({})),
        "paths[0].path",
        "prefix path shouldn't contain wildcards",
    );
    error(
        &findings(json!({"rules": [], "default_backend": null}), json!({})),
        "ingresses[0]",
        "either `defaultBackend` or `rules` must be specified",
    );
    let (plan, f) = plan_of(
        json!({"ingresses": [merge(seed_app(), json!({"rules": [], "default_backend": {"service_name": "app-service", "service_port": 80}, "certificate_discovery": true, "listen_ports": [{"HTTP": 80}]}))]}),
    );
    clean(&f);
    assert_eq!(
        render_ingress(&plan.ingresses[0])["spec"]["defaultBackend"],
        json!({"service": {"name": "app-service", "port": {"number": 80}}})
    );
}

#[test]
fn backend_ports_resolve() {
    let app = json!({"rules": [{"host": "example.com", "paths": [{"path": "/", "service_name": "app-service", "service_port": "http"}]}],
        "services": [{"name": "app-service", "port": 80, "port_name": "http", "target_port": 8080, "selector": {"app": "a"}}]});
    let (plan, f) = plan_of(json!({"ingresses": [merge(seed_app(), app)]}));
    clean(&f);
    assert_eq!(
        render_ingress(&plan.ingresses[0])["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
            ["port"],
        json!({"name": "http"})
    );
    let f = findings(
        json!({"rules": [{"host": "example.com", "paths": [{"path": "/", "service_name": "app-service", "service_port": 8080}]}]}),
        json!({}),
    );
    error(
        &f,
        "paths[0].service_port",
        "unable to find port 8080 on service default/app-service",
    );
    let f = findings(
        json!({"rules": [{"host": "example.com", "paths": [{"path": "/", "service_name": "app-service", "service_port": 0}]}]}),
        json!({}),
    );
    error(&f, "service_port", "must be between 1 and 65535");
}

#[test]
fn multi_port_services_need_names() {
    let svc = |ports: Value| json!({"services": [{"name": "app-service", "selector": {"app": "a"}, "ports": ports}]});
    clean(&findings(
        svc(
            json!([{"name": "http", "port": 80, "target_port": 8080}, {"name": "https", "port": 443, "target_port": 8443}]),
        ),
        json!({}),
    ));
    error(
        &findings(svc(json!([{"port": 80}, {"port": 443}])), json!({})),
        "services[0].ports[0].name",
        "Required value",
    );
    error(
        &findings(
            json!({"services": [{"name": "app-service", "port": 80, "selector": {"app": "a"}, "ports": [{"name": "a", "port": 80}]}]}),
            json!({}),
        ),
        "services[0].port",
        "set together with ports",
    );
    error(
        &findings(
            json!({"services": [{"name": "app-service", "selector": {"app": "a"}}]}),
            json!({}),
        ),
        "services[0].port",
        "spec.ports: Required value",
    );
    error(
        &findings(json!({"name": "App_Ingress"}), json!({})),
        "ingresses[0].name",
        "Ingress name 'App_Ingress' is invalid",
    );
    error(
        &findings(json!({"namespace": "Web"}), json!({})),
        "ingresses[0].namespace",
        "namespace 'Web' is invalid",
    );
    error(
        &findings(json!({}), json!({"ingress_class": {"name": "ALB"}})),
        "ingress_class.name",
        "IngressClass name 'ALB'",
    );
    clean(&findings(
        json!({"name": "app.v2"}),
        json!({"ingress_class": {"name": "alb.internal"}}),
    ));
    error(
        &findings(
            json!({"services": [{"name": "1app", "port": 80, "selector": {"app": "a"}}]}),
            json!({}),
        ),
        "services[0].name",
        "DNS-1035",
    );
    error(
        &findings(
            json!({"services": [{"name": "app-service", "port": 80, "target_port": "8080x_", "selector": {"app": "a"}}]}),
            json!({}),
        ),
        "target_port",
        "port name '8080x_' is invalid",
    );
    has(
        &findings(
            json!({"services": [{"name": "app-service", "port": 80}]}),
            json!({}),
        ),
        Severity::Warning,
        "services[0].selector",
        "no selector",
    );
}

#[test]
fn raw_annotations_are_checked_and_must_agree() {
    let (plan, f) = plan_of(
        json!({"ingresses": [merge(seed_app(), json!({"annotations": {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/actions.ssl-redirect": "{}",
        "alb.ingress.kubernetes.io/ssl-redirect": 443}}))]}),
    );
    clean(&f);
    let ann = &render_ingress(&plan.ingresses[0])["metadata"]["annotations"];
    assert_eq!(
        ann["alb.ingress.kubernetes.io/ssl-redirect"], "443",
        "annotation values are strings"
    );
    assert_eq!(ann["alb.ingress.kubernetes.io/actions.ssl-redirect"], "{}");
    error(
        &findings(
            json!({"annotations": {"alb.ingress.kubernetes.io/scheme": "internal"}}),
            json!({}),
        ),
        "annotations[\"alb.ingress.kubernetes.io/scheme\"]",
        "'internet-facing' from ingresses[0].scheme",
    );
    error(
        &findings(
            json!({"annotations": {"alb.ingress.kubernetes.io/group.order": "first"}}),
            json!({}),
        ),
        "group.order",
        "failed to parse int32 annotation, alb.ingress.kubernetes.io/group.order: first",
    );
    error(
        &findings(
            json!({"annotations": {"kubernetes.io/ingress.class": "nginx"}}),
            json!({}),
        ),
        "kubernetes.io/ingress.class",
        "must match `ingressClassName` when both are specified",
    );
}

#[test]
fn string_maps() {
    let (plan, f) = plan_of(
        json!({"ingresses": [merge(seed_app(), json!({"tags": {"env": "prod", "team": "web"},
        "load_balancer_attributes": {"idle_timeout.timeout_seconds": 60}}))]}),
    );
    clean(&f);
    let ann = &render_ingress(&plan.ingresses[0])["metadata"]["annotations"];
    assert_eq!(ann["alb.ingress.kubernetes.io/tags"], "env=prod,team=web");
    assert_eq!(
        ann["alb.ingress.kubernetes.io/load-balancer-attributes"],
        "idle_timeout.timeout_seconds=60"
    );
    // A comma in a value is escaped, as v3.5.0's splitKeyValuePairs reads it.
    let (plan, f) =
        plan_of(json!({"ingresses": [merge(seed_app(), json!({"tags": {"a": "x,y", "b": "c"}}))]}));
    clean(&f);
    let ann = &render_ingress(&plan.ingresses[0])["metadata"]["annotations"];
    assert_eq!(ann["alb.ingress.kubernetes.io/tags"], "a=x\\,y,b=c");
    assert_eq!(
        rules::parse_stringmap(ann["alb.ingress.kubernetes.io/tags"].as_str().unwrap()).unwrap(),
        vec![("a".into(), "x,y".into()), ("b".into(), "c".into())]
    );
    // A key with '=' would be read as another key.
    error(
        &findings(json!({"tags": {"a=b": "c"}}), json!({})),
        "tags.a=b",
        "would read key 'a' with value 'b=c'",
    );
    error(
        &findings(json!({"tags": {" ": "c"}}), json!({})),
        "tags",
        "has an empty key: failed to parse stringMap annotation",
    );
    error(
        &findings(
            json!({"annotations": {"alb.ingress.kubernetes.io/tags": "a=b,broken"}}),
            json!({}),
        ),
        "tags",
        "failed to parse stringMap annotation",
    );
}

#[test]
fn subnets_security_groups_inbound() {
    clean(&findings(
        json!({"subnets": ["subnet-0123abcd", "subnet-4567abcd"], "inbound_cidrs": ["0.0.0.0/0"]}),
        json!({}),
    ));
    error(
        &findings(json!({"subnets": ["subnet-0123abcd"]}), json!({})),
        "subnets",
        "subnets count less than minimal",
    );
    error(
        &findings(json!({"security_groups": ["sg-12"]}), json!({})),
        "security_groups[0]",
        "not one",
    );
    let f = findings(json!({"inbound_cidrs": ["10.0.0.1/8"]}), json!({}));
    clean(&f);
    has(
        &f,
        Severity::Warning,
        "inbound_cidrs[0]",
        "EC2 stores the rule as 10.0.0.0/8",
    );
    has(
        &findings(
            json!({"inbound_cidrs": ["10.0.0.0/8"], "security_groups": ["sg-0123abcd"]}),
            json!({}),
        ),
        Severity::Warning,
        "inbound_cidrs",
        "ignored when security-groups is set",
    );
}

#[test]
fn ingress_class_and_params() {
    let (plan, f) = plan_of(json!({"ingress_class": {"name": "web", "is_default": true,
        "params": {"scheme": "internet-facing", "group": {"name": "web"}}}, "ingresses": [seed_app()]}));
    clean(&f);
    let objs = render_class(&plan.class);
    assert_eq!(objs[0]["kind"], "IngressClassParams");
    assert_eq!(objs[0]["spec"]["group"]["name"], "web");
    assert_eq!(
        objs[1]["spec"],
        json!({"controller": CONTROLLER, "parameters": {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": "web"}})
    );
    assert_eq!(
        objs[1]["metadata"]["annotations"][DEFAULT_CLASS_ANNOTATION],
        "true"
    );
    assert_eq!(
        render_ingress(&plan.ingresses[0])["spec"]["ingressClassName"],
        "web"
    );
    error(
        &findings(
            json!({}),
            json!({"ingress_class": {"params": {"targetTyp": "ip"}}}),
        ),
        "ingress_class.params.targetTyp",
        "IngressClassParams has no field",
    );
    error(
        &findings(
            json!({}),
            json!({"ingress_class": {"params": {"scheme": "public"}}}),
        ),
        "ingress_class.params.scheme",
        "spec.scheme: Unsupported value: \"public\": supported values: \"internal\", \"internet-facing\". The API server rejects",
    );
    has(
        &findings(
            json!({"scheme": "internal"}),
            json!({"ingress_class": {"params": {"scheme": "internet-facing"}}}),
        ),
        Severity::Warning,
        "ingresses[0].scheme",
        "overrides",
    );
    // Absent: deleted, with its params.
    let (plan, _) = plan_of(
        json!({"ingress_class": {"state": "absent", "params": {"scheme": "internal"}}, "ingresses": []}),
    );
    let d = render(&plan);
    assert!(d.iter().all(|x| x.state == crate::kube::State::Absent) && d.len() == 2);
}

#[test]
fn duplicates_across_ingresses() {
    let f = plan_of(json!({"ingresses": [seed_app(), seed_app()]})).1;
    error(&f, "ingresses[1].name", "appears twice");
    // The same Service shared by two Ingresses is fine when identical.
    let other = merge(seed_app(), json!({"name": "other"}));
    clean(&plan_of(json!({"ingresses": [seed_app(), other.clone()]})).1);
    let differs = merge(
        other,
        json!({"services": [{"name": "app-service", "port": 80, "target_port": 9090, "selector": {"app": "myapp"}}]}),
    );
    error(
        &plan_of(json!({"ingresses": [seed_app(), differs]})).1,
        "ingresses[1].services[0].name",
        "defined again, differently",
    );
}

#[test]
fn absent_ingress_skips_checks_and_deletes() {
    let (plan, f) = plan_of(
        json!({"ingresses": [merge(seed_app(), json!({"state": "absent", "target_type": "ip"}))]}),
    );
    clean(&f);
    let d = render(&plan);
    assert_eq!(d.len(), 3);
    assert_eq!(d[1].state, crate::kube::State::Absent);
    assert_eq!(d[2].object["kind"], "Ingress");
}

fn live_svc(ns: &str, name: &str, ty: &str, node_port: Option<i64>) -> Value {
    let mut port = json!({"port": 80, "protocol": "TCP"});
    if let Some(n) = node_port {
        port["nodePort"] = json!(n);
    }
    json!({"metadata": {"namespace": ns, "name": name}, "spec": {"type": ty, "ports": [port]}})
}

#[test]
fn live_node_ports_and_backends() {
    let app = merge(
        seed_app(),
        json!({"services": [{"name": "app-service", "port": 80, "node_port": 30080, "selector": {"app": "a"}}]}),
    );
    let (plan, f) = plan_of(json!({"ingresses": [app]}));
    clean(&f);
    // Its own live Service holding the port is not a conflict.
    let mut f = Findings::new();
    check_live_services(
        &plan,
        &[live_svc("default", "app-service", "NodePort", Some(30080))],
        &mut f,
    );
    clean(&f);
    let mut f = Findings::new();
    check_live_services(
        &plan,
        &[live_svc("other", "db", "NodePort", Some(30080))],
        &mut f,
    );
    error(
        &f,
        "services[0].node_port",
        "provided port is already allocated (by Service other/db)",
    );

    // Backends outside the task: must be NodePort for instance targets.
    let app = merge(seed_app(), json!({"services": []}));
    let (plan, _) = plan_of(json!({"ingresses": [app]}));
    let mut f = Findings::new();
    check_live_services(
        &plan,
        &[live_svc("default", "app-service", "ClusterIP", None)],
        &mut f,
    );
    error(
        &f,
        "paths[0]",
        "your service be must of type 'NodePort' or 'LoadBalancer' (Service default/app-service is ClusterIP)",
    );
    let mut f = Findings::new();
    check_live_services(
        &plan,
        &[live_svc("default", "app-service", "NodePort", Some(31000))],
        &mut f,
    );
    assert!(f.0.is_empty(), "{:#?}", f.0);
    let mut f = Findings::new();
    check_live_services(&plan, &[], &mut f);
    has(
        &f,
        Severity::Warning,
        "paths[0]",
        "neither in this task nor in the cluster",
    );
}

#[test]
fn live_ingress_classes() {
    let (plan, _) =
        plan_of(json!({"ingress_class": {"is_default": true}, "ingresses": [seed_app()]}));
    let mut f = Findings::new();
    check_live_classes(
        &plan,
        &[json!({"metadata": {"name": "alb"}, "spec": {"controller": CONTROLLER}})],
        &mut f,
    );
    assert!(f.0.is_empty());
    check_live_classes(
        &plan,
        &[
            json!({"metadata": {"name": "alb"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
            json!({"metadata": {"name": "nginx", "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
        ],
        &mut f,
    );
    error(&f, "ingress_class.name", "spec.controller is immutable");
    has(
        &f,
        Severity::Warning,
        "ingress_class.is_default",
        "already the default",
    );
}

#[test]
fn assigned_node_ports_prefer_live() {
    let (plan, _) = plan_of(json!({"ingresses": [seed_app()]}));
    let svc = &plan.ingresses[0].services[0];
    assert_eq!(assigned_node_ports(svc, None), BTreeMap::from([(80, None)]));
    let live = live_svc("default", "app-service", "NodePort", Some(31234));
    assert_eq!(
        assigned_node_ports(svc, Some(&live)),
        BTreeMap::from([(80, Some(31234))])
    );
}

/// A redirect action under use-annotation: no Service is looked for, no
/// port is required of the Service that happens to share its name.
#[test]
fn use_annotation_backends_are_actions_not_services() {
    let redirect = json!({"annotations": {"alb.ingress.kubernetes.io/actions.app-service":
        r#"{"type": "redirect", "redirectConfig": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}"#},
        "rules": [{"host": "example.com", "paths": [
            {"path": "/old", "service_name": "app-service", "service_port": "use-annotation"},
            {"path": "/", "service_name": "app-service", "service_port": 80}]}]});
    let f = findings(redirect.clone(), json!({}));
    clean(&f);
    assert!(
        f.0.iter()
            .all(|x| !x.problem.contains("unable to find port")),
        "{:#?}",
        f.0
    );
    let (plan, _) = plan_of(json!({"ingresses": [merge(seed_app(), redirect)]}));
    let refs = plan.ingresses[0].service_backends();
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs[0].port, Port::Number(80));
    // Against the cluster: the action is not reported as a missing Service.
    let mut lf = Findings::new();
    let (plan, _) = plan_of(json!({"ingresses": [merge(seed_app(), json!({
        "annotations": {"alb.ingress.kubernetes.io/actions.ssl-redirect":
            r#"{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_301"}}"#},
        "rules": [{"host": "example.com", "paths": [
            {"path": "/", "service_name": "ssl-redirect", "service_port": "use-annotation"},
            {"path": "/", "service_name": "app-service", "service_port": 80}]}]}))]}));
    check_live_services(&plan, &[], &mut lf);
    assert!(lf.0.is_empty(), "{:#?}", lf.0);
    // A real missing Service still is.
    let (plan, _) = plan_of(json!({"ingresses": [merge(seed_app(), json!({"services": []}))]}));
    check_live_services(&plan, &[], &mut lf);
    has(
        &lf,
        Severity::Warning,
        "paths[0]",
        "neither in this task nor in the cluster",
    );
}

/// A forward action's Services are backends: their ports are checked.
#[test]
fn forward_action_services_are_checked_like_backends() {
    let fwd = |port: &str| {
        json!({"annotations": {"alb.ingress.kubernetes.io/actions.weighted": format!(
            r#"{{"type": "forward", "forwardConfig": {{"targetGroups": [{{"serviceName": "app-service", "servicePort": "{port}"}}]}}}}"#)},
            "rules": [{"host": "example.com", "paths": [
                {"path": "/", "service_name": "weighted", "service_port": "use-annotation"}]}]})
    };
    clean(&findings(fwd("80"), json!({})));
    error(
        &findings(fwd("81"), json!({})),
        "actions.weighted\"].forwardConfig.targetGroups[0].servicePort",
        "unable to find port 81 on service default/app-service",
    );
}

/// A Service's target-type annotation overrides the Ingress's for its
/// target groups (MergeStringMap(svc.Annotations, ing.Annotations)).
#[test]
fn service_target_type_overrides_the_ingress_per_backend() {
    let svc_instance = json!([{"name": "app-service", "selector": {"app": "myapp"}, "port": 80,
        "target_port": 8080, "annotations": {"alb.ingress.kubernetes.io/target-type": "instance"}}]);
    let f = findings(
        json!({"target_type": "ip", "services": svc_instance.clone()}),
        json!({"cni_plugin": "calico", "vpc_cidrs": ["10.0.0.0/16"]}),
    );
    clean(&f);
    let (plan, _) = plan_of(
        json!({"ingresses": [merge(seed_app(), json!({"target_type": "ip", "services": svc_instance}))]}),
    );
    let app = &plan.ingresses[0];
    assert_eq!(app.target_type_for("app-service").0, TargetType::Instance);
    // instance targets get a NodePort Service by default.
    assert_eq!(app.services[0].type_, ServiceType::NodePort);
    // A second backend without the override still uses ip: refused on calico.
    let two = json!({"target_type": "ip",
        "rules": [{"host": "example.com", "paths": [
            {"path": "/", "service_name": "app-service", "service_port": 80},
            {"path": "/b", "service_name": "other", "service_port": 80}]}],
        "services": [
            {"name": "app-service", "selector": {"app": "myapp"}, "port": 80, "target_port": 8080,
             "annotations": {"alb.ingress.kubernetes.io/target-type": "instance"}},
            {"name": "other", "selector": {"app": "b"}, "port": 80, "target_port": 8080}]});
    error(
        &findings(two, json!({})),
        "ingresses[0].target_type",
        "target-type ip registers pod IPs",
    );
    // And the reverse: a Service asking for ip under an instance Ingress is refused.
    let svc_ip = json!([{"name": "app-service", "selector": {"app": "myapp"}, "port": 80,
        "target_port": 8080, "annotations": {"alb.ingress.kubernetes.io/target-type": "ip"}}]);
    error(
        &findings(json!({"services": svc_ip}), json!({})),
        "services[0].annotations",
        "target-type ip registers pod IPs",
    );
}

/// A named healthcheck-port must be a port name of the backend Service
/// (buildTargetGroupHealthCheckPort, k8s.LookupServicePort).
#[test]
fn named_healthcheck_port_must_name_a_service_port() {
    let svc = |name: &str| {
        json!([{"name": "app-service", "selector": {"app": "myapp"},
            "ports": [{"name": name, "port": 80, "target_port": 8080}]}])
    };
    clean(&findings(
        json!({"healthcheck_port": "http", "services": svc("http")}),
        json!({}),
    ));
    clean(&findings(
        json!({"healthcheck_port": "traffic-port"}),
        json!({}),
    ));
    clean(&findings(json!({"healthcheck_port": "8080"}), json!({})));
    error(
        &findings(
            json!({"healthcheck_port": "health", "services": svc("http")}),
            json!({}),
        ),
        "ingresses[0].healthcheck_port",
        "failed to resolve healthCheckPort: unable to find port health on service default/app-service",
    );
    // The Service's own annotation is the one read for its target group.
    let mut s = svc("http");
    s[0]["annotations"] = json!({"alb.ingress.kubernetes.io/healthcheck-port": "nope"});
    error(
        &findings(
            json!({"healthcheck_port": "http", "services": s}),
            json!({}),
        ),
        "services[0].annotations",
        "unable to find port nope",
    );
}

/// target-control-port.<svc>.<port>: only on ip target groups (buildTargetGroupSpec).
#[test]
fn target_control_port_is_refused_on_instance_target_groups() {
    let ann = json!({"alb.ingress.kubernetes.io/target-control-port.app-service.80": "3000"});
    error(
        &findings(json!({"annotations": ann.clone()}), json!({})),
        "target-control-port.app-service.80",
        "target control port is not supported for instance target target group",
    );
    let ip = json!({"cni_plugin": "aws-vpc-cni", "vpc_cidrs": ["10.0.0.0/16"]});
    clean(&findings(
        json!({"annotations": ann, "target_type": "ip"}),
        ip.clone(),
    ));
    error(
        &findings(
            json!({"target_type": "ip", "annotations": {"alb.ingress.kubernetes.io/target-control-port.app-service.80": "x"}}),
            ip,
        ),
        "target-control-port.app-service.80",
        "failed to parse int32 annotation",
    );
}

/// A refused interval is one finding: no second error asking for a timeout
/// below the (invalid) interval.
#[test]
fn a_bad_interval_is_not_reported_twice() {
    let f = findings(json!({"healthcheck_interval_seconds": 1}), json!({}));
    let errs: Vec<_> = f.errors().collect();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].field.contains("healthcheck_interval_seconds"));
    // With a valid interval the comparison still runs.
    error(
        &findings(
            json!({"healthcheck_interval_seconds": 10, "healthcheck_timeout_seconds": 10}),
            json!({}),
        ),
        "healthcheck_timeout_seconds",
        "",
    );
}

/// IngressClassParams' targetType replaces the merged annotations' value
/// before it is parsed (buildTargetGroupTargetType): a Service's or the
/// Ingress's target-type is then never read, valid or not, and the class's
/// value is what the CNI must route. It is judged once, on the class.
#[test]
fn class_target_type_wins_over_service_and_ingress_annotations() {
    let svc_ip = json!([{"name": "app-service", "selector": {"app": "myapp"}, "port": 80,
        "target_port": 8080, "annotations": {"alb.ingress.kubernetes.io/target-type": "ip"}}]);
    let class_instance = json!({"ingress_class": {"params": {"targetType": "instance"}}});
    let f = findings(json!({"services": svc_ip.clone()}), class_instance.clone());
    clean(&f);
    has(
        &f,
        Severity::Warning,
        "services[0].annotations",
        "set targetType instance, which overrides target-type 'ip' of this Service",
    );
    let (plan, _) = plan_of(
        json!({"ingress_class": {"params": {"targetType": "instance"}},
        "ingresses": [merge(seed_app(), json!({"services": svc_ip, "target_type": null}))]}),
    );
    assert_eq!(plan.ingresses[0].services[0].type_, ServiceType::NodePort);
    assert_eq!(
        plan.ingresses[0].target_type_for("app-service").0,
        TargetType::Instance
    );
    // Not even an unknown value is read under the class's targetType.
    clean(&findings(
        json!({"annotations": {"alb.ingress.kubernetes.io/target-type": "pods"}, "target_type": null}),
        class_instance,
    ));
    // The reverse: ip from the class is refused on calico, once, whatever
    // the Service and the Ingress say.
    let svc_instance = json!([{"name": "app-service", "selector": {"app": "myapp"}, "port": 80,
        "target_port": 8080, "annotations": {"alb.ingress.kubernetes.io/target-type": "instance"}}]);
    let f = findings(
        json!({"services": svc_instance}),
        json!({"ingress_class": {"params": {"targetType": "ip"}}}),
    );
    let errs: Vec<_> = f.errors().collect();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].field, "ingress_class.params.targetType");
    assert!(errs[0].problem.contains("target-type ip registers pod IPs"));
}

/// Messages claim what the controller does: a bad group.order fails the
/// group's load (no model, no Event); an unknown IngressClassParams enum is
/// the API server's refusal.
#[test]
fn messages_name_the_stage_that_fails() {
    let f = findings(
        json!({"annotations": {"alb.ingress.kubernetes.io/group.order": "ten"}}),
        json!({}),
    );
    error(
        &f,
        "group.order",
        "failed to load Ingress group order for ingress: default/app-ingress: failed to parse int32 annotation",
    );
    assert!(
        f.errors().all(|x| !x.problem.contains("FailedBuildModel")),
        "{:#?}",
        f.0
    );
    // strconv.ParseInt takes no spaces.
    error(
        &findings(
            json!({"annotations": {"alb.ingress.kubernetes.io/healthcheck-interval-seconds": " 30"}}),
            json!({}),
        ),
        "healthcheck-interval-seconds",
        "failed to parse int32 annotation",
    );
    let f = findings(
        json!({}),
        json!({"ingress_class": {"params": {"targetType": "Ip", "ipAddressType": "ipv6"}}}),
    );
    error(
        &f,
        "ingress_class.params.targetType",
        "spec.targetType: Unsupported value: \"Ip\": supported values: \"instance\", \"ip\". The API server rejects",
    );
    error(
        &f,
        "ingress_class.params.ipAddressType",
        "spec.ipAddressType: Unsupported value: \"ipv6\"",
    );
    assert!(f.errors().all(|x| !x.problem.contains("controller fails")));
}

/// A backend Service's own target-group annotations are what its target
/// groups get (MergeStringMap(svc.Annotations, ing.Annotations)): checked
/// like the Ingress's, the timing on the merged values.
#[test]
fn service_target_group_annotations_are_checked() {
    let svc = |anns: Value| {
        json!({"services": [{"name": "app-service", "selector": {"app": "myapp"}, "port": 80,
            "target_port": 8080, "annotations": anns}]})
    };
    let k = |s: &str| format!("alb.ingress.kubernetes.io/{s}");
    clean(&findings(
        svc(
            json!({k("backend-protocol"): "HTTPS", k("healthcheck-path"): "/ready",
            k("healthcheck-interval-seconds"): "30", k("healthcheck-timeout-seconds"): "10",
            k("tags"): "team=web", k("success-codes"): "200-299"}),
        ),
        json!({}),
    ));
    for (anns, field, want) in [
        (
            json!({k("backend-protocol"): "TCP"}),
            "backend-protocol",
            "backend protocol must be within [HTTP, HTTPS]: TCP",
        ),
        (
            json!({k("healthcheck-protocol"): "http"}),
            "healthcheck-protocol",
            "healthCheckProtocol must be within [HTTP, HTTPS]",
        ),
        (
            json!({k("healthcheck-path"): "ready"}),
            "healthcheck-path",
            "must start with '/'",
        ),
        (
            json!({k("healthcheck-port"): "70000"}),
            "healthcheck-port",
            "health check port 70000 is outside 1-65535",
        ),
        (
            json!({k("healthy-threshold-count"): "1"}),
            "healthy-threshold-count",
            "outside the AWS limit 2-10",
        ),
        (
            json!({k("tags"): "a=b,c"}),
            "tags",
            "failed to parse stringMap annotation, alb.ingress.kubernetes.io/tags",
        ),
        (
            json!({k("success-codes"): "600"}),
            "success-codes",
            "success code 600 is outside 200-499",
        ),
        (
            json!({k("backend-protocol-version"): "GRPC", k("success-codes"): "200"}),
            "success-codes",
            "outside 0-99, the range allowed for gRPC",
        ),
    ] {
        error(&findings(svc(anns), json!({})), field, want);
    }
    // Timing on merged values: the Service's timeout against the Ingress's interval.
    error(
        &findings(
            merge(
                svc(json!({k("healthcheck-timeout-seconds"): "20"})),
                json!({"healthcheck_interval_seconds": 10}),
            ),
            json!({}),
        ),
        "services[0].annotations[\"alb.ingress.kubernetes.io/healthcheck-timeout-seconds\"]",
        "health check timeout 20 s is not smaller than the interval 10 s",
    );
    // A bad Service interval is one finding, not two.
    let f = findings(
        svc(json!({k("healthcheck-interval-seconds"): "1"})),
        json!({}),
    );
    assert_eq!(f.errors().count(), 1, "{:#?}", f.0);
}

/// IngressClassParams' certificateArn and sslRedirectPort come before the
/// Ingress's annotations (computeIngressExplicitTLSCertARNs,
/// buildSSLRedirectConfig).
#[test]
fn class_certificates_and_redirect_port_come_first() {
    let cert = json!(["arn:aws:acm:us-east-1:123456789012:certificate/abcd"]);
    // With the class's certificate the default listener is HTTPS:443, so a
    // redirect to 443 has its listener.
    let app = json!({"listen_ports": null, "ssl_redirect": 443});
    error(
        &findings(app.clone(), json!({})),
        "ssl_redirect",
        "listener does not exist for SSLRedirect port: 443",
    );
    clean(&findings(
        app,
        json!({"ingress_class": {"params": {"certificateArn": cert}}}),
    ));
    // The class's port is judged on each Ingress's listeners.
    let f = findings(
        json!({"listen_ports": [{"HTTP": 80}]}),
        json!({"ingress_class": {"params": {"sslRedirectPort": "443"}}}),
    );
    error(
        &f,
        "ingress_class.params.sslRedirectPort",
        "Ingress default/app-ingress: listener does not exist for SSLRedirect port: 443",
    );
    clean(&findings(
        json!({}),
        json!({"ingress_class": {"params": {"sslRedirectPort": "443", "certificateArn": cert}}}),
    ));
    error(
        &findings(
            json!({}),
            json!({"ingress_class": {"params": {"sslRedirectPort": "https"}}}),
        ),
        "ingress_class.params.sslRedirectPort",
        "sets up no HTTPS redirect for any Ingress of the class",
    );
}
