//! The rules judged on the whole model: an Ingress's annotations together
//! (each definition's own rule, then the joint ones: listeners, certificates
//! and redirect; health-check timing), its Services and backends, the class,
//! and the task's Ingresses against each other. Every check pushes its
//! findings into `&mut Findings`.

use super::annotations::{ANNOTATIONS, Cx, Rule, ann_int, ann_list};
use super::render::render_service;
use super::types::{Annotation, IngressClass, IngressSpec, Port, Service};
use super::{ANNOTATION_PREFIX, API_REJECTS, CLASS_ANNOTATION, LBC_FAILS};
use crate::alb::group;
use crate::alb::rules::{self, Protocol};
use crate::net::model::{CniPlugin, TargetType};
use crate::net::network::Network;
use crate::validate::{Finding, Findings};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// The seed's central rule: `ip` targets need pod IPs the VPC routes.
pub fn check_target_type_against_network(
    field: &str,
    tt: Option<TargetType>,
    net: &Network,
    f: &mut Findings,
) {
    if tt != Some(TargetType::Ip) || net.model.pods_vpc_routable() {
        return;
    }
    let pods = net
        .model
        .pod_cidrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let vpcs = net
        .model
        .vpc_cidrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let why = match net.model.cni_plugin {
        CniPlugin::Calico => format!(
            "with cni_plugin calico pods get overlay addresses ({pods}) that no VPC route \
             table knows (VPC: {vpcs})"
        ),
        CniPlugin::AwsVpcCni => {
            format!("the pod CIDR {pods} is outside every VPC CIDR ({vpcs})")
        }
    };
    f.error(
        field,
        format!(
            "target-type ip registers pod IPs as ALB targets, but {why}. The controller does \
             not refuse this: it registers the IPs with AvailabilityZone \"all\", the ALB \
             cannot route to them, targets stay unhealthy and clients get 502/504."
        ),
        match net.model.cni_plugin {
            CniPlugin::Calico => {
                "use target_type: instance with a NodePort Service (the default for \
                 cni_plugin calico): ALB → node :NodePort → kube-proxy → pod."
            }
            CniPlugin::AwsVpcCni => {
                "add the pods' subnet CIDR (e.g. a secondary CIDR used by custom networking) \
                 to vpc_cidrs, or use target_type: instance with a NodePort Service."
            }
        },
    );
}

/// Every rule of one present Ingress, in a fixed order: the class
/// annotation, each annotation's own rule, the Service types, the joint
/// rules, target groups, actions, backends and the class's overrides.
pub fn check_ingress(app: &IngressSpec, class: &IngressClass, net: &Network, f: &mut Findings) {
    let cx = Cx {
        ingress: app,
        class,
        net,
    };
    for a in &app.annotations {
        if a.key == CLASS_ANNOTATION && a.value != app.class_name {
            f.error(
                &a.field,
                format!(
                    "annotations.kubernetes.io/ingress.class: Invalid value: \"{}\": must match \
                     `ingressClassName` when both are specified (ingressClassName is {}). \
                     {API_REJECTS}",
                    a.value, app.class_name
                ),
                "drop the annotation (spec.ingressClassName is set) or set \
                 ingress_class_annotation: true to write the matching value.",
            );
        }
    }
    for def in ANNOTATIONS {
        if let Rule::One(check) = def.rule
            && let Some(a) = app.annotation(def.suffix)
        {
            check(&cx, a, f);
        }
    }
    // parse always writes a target type; without one, the derived type is
    // what the network must route.
    if app.annotation("target-type").is_none() && !app.class_target_type {
        check_target_type_against_network(&app.target_type_field, Some(app.target_type), net, f);
    }
    for svc in &app.services {
        if app.target_type_for(&svc.name).0 == TargetType::Instance && !svc.type_.opens_node_ports()
        {
            f.error(
                format!("{}.type", svc.field),
                format!(
                    "TargetGroup port is empty. When using Instance targets, your service \
                         be must of type 'NodePort' or 'LoadBalancer' (Service {} is \
                         ClusterIP): with instance targets the ALB sends traffic to a port on \
                         the nodes, and a ClusterIP Service opens none. {LBC_FAILS}",
                    svc.name
                ),
                "make the Service type NodePort (the default for instance targets), or \
                     use target_type: ip with cni_plugin aws-vpc-cni.",
            );
        }
    }

    listeners(&cx, f);
    health_check_timing(&cx, f);
    check_backend_target_groups(app, f);
    check_service_target_group_annotations(&cx, f);
    crate::alb::actions::check(app, f);
    backend_ports(app, f);
    class_overrides(&cx, f);
}

/// Joint rule "listeners": listen-ports, certificate-arn and ssl-redirect
/// (with IngressClassParams' certificateArn and sslRedirectPort, which come
/// first).
fn listeners(cx: &Cx, f: &mut Findings) {
    let (app, class) = (cx.ingress, cx.class);
    let get = |suffix: &str| app.annotation(suffix);
    // Listeners, certificates and the redirect.
    // computeIngressExplicitTLSCertARNs: IngressClassParams' certificateArn
    // replaces the annotation's (its ARNs are checked with the class).
    let class_certs: Vec<&str> = class
        .params
        .as_ref()
        .and_then(|p| p.get("certificateArn"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let certs: Vec<&str> = if class_certs.is_empty() {
        get("certificate-arn").map(ann_list).unwrap_or_default()
    } else {
        class_certs.clone()
    };
    let listeners = match get("listen-ports") {
        Some(a) => match rules::parse_listen_ports(&a.field, &a.value) {
            Ok(l) => Some(l),
            Err(x) => {
                f.push(x);
                None
            }
        },
        None if certs.is_empty() => Some(vec![(Protocol::Http, 80)]),
        None => Some(vec![(Protocol::Https, 443)]),
    };
    if let Some(listeners) = &listeners {
        let field = get("listen-ports")
            .or(get("certificate-arn"))
            .map(|a| a.field.clone())
            .unwrap_or_else(|| format!("{}.listen_ports", app.field));
        let hosts = app.rules.iter().any(|r| r.host.is_some());
        let discovery_requested = app.certificate_discovery;
        let cert_field = get("certificate-arn")
            .map(|a| a.field.clone())
            .unwrap_or(field);
        let cert_field = if class_certs.is_empty() {
            cert_field
        } else {
            "ingress_class.params.certificateArn".to_string()
        };
        let found = Findings::of(|c| {
            rules::check_https_certificate(&cert_field, listeners, &certs, hosts, c)
        });
        for x in found {
            // Asked-for discovery is the documented way, not a doubt.
            if discovery_requested && !x.is_error() && certs.is_empty() {
                continue;
            }
            // The class's ARNs were checked with the class.
            if !class_certs.is_empty() && x.field.starts_with(&format!("{cert_field}[")) {
                continue;
            }
            f.push(x);
        }
        // buildSSLRedirectConfig: IngressClassParams' sslRedirectPort first
        // (unparsable: no redirect at all, reported with the class).
        let class_redirect = class
            .params
            .as_ref()
            .and_then(|p| p.get("sslRedirectPort"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        if let Some(raw) = class_redirect
            && let Ok(p) = raw.parse::<i32>()
            && !group::in_explicit_group(app, class.params.as_ref())
        {
            let why = match u16::try_from(p) {
                Ok(p) => Findings::of(|c| {
                    rules::check_ssl_redirect(
                        "ingress_class.params.sslRedirectPort",
                        p,
                        listeners,
                        c,
                    )
                }),
                Err(_) => vec![Finding::error(
                    "ingress_class.params.sslRedirectPort",
                    format!("listener does not exist for SSLRedirect port: {p}. {LBC_FAILS}"),
                    "set sslRedirectPort to the HTTPS listener's port (usually 443).",
                )],
            };
            for mut x in why {
                x.problem = format!("Ingress {}/{}: {}", app.namespace, app.name, x.problem);
                f.push(x);
            }
        }
        // In an explicit group the redirect applies to the group's merged
        // listeners: judged there (group.rs, buildSSLRedirectConfig).
        if let Some(a) = get("ssl-redirect")
            && let Some(port) = ann_int(a, f)
            && class_redirect.is_none()
            && !group::in_explicit_group(app, class.params.as_ref())
        {
            match u16::try_from(port) {
                Ok(p) => rules::check_ssl_redirect(&a.field, p, listeners, f),
                Err(_) => f.error(
                    &a.field,
                    format!("listener does not exist for SSLRedirect port: {port}. {LBC_FAILS}"),
                    "set ssl_redirect to the HTTPS listener's port (usually 443).",
                ),
            }
        }
    }
}

/// Joint rule "health-check timing": AWS's ranges for the interval, and the
/// timeout below it (the controller passes both through unchecked).
fn health_check_timing(cx: &Cx, f: &mut Findings) {
    let get = |suffix: &str| cx.ingress.annotation(suffix);
    let interval = get("healthcheck-interval-seconds").and_then(|a| ann_int(a, f).map(|n| (n, a)));
    let timeout = get("healthcheck-timeout-seconds").and_then(|a| ann_int(a, f).map(|n| (n, a)));
    let mut interval_bad = false;
    if let Some((n, a)) = interval {
        interval_bad = !rules::check_healthcheck_interval(&a.field, n, f);
    }
    // A refused interval is the finding; comparing the timeout with it would
    // add a second error whose fix (a timeout below 1 s) is impossible.
    if !interval_bad && (timeout.is_some() || interval.is_some()) {
        let i = interval.map_or(rules::DEFAULT_HEALTHCHECK_INTERVAL, |x| x.0);
        let t = timeout.map_or(rules::DEFAULT_HEALTHCHECK_TIMEOUT, |x| x.0);
        let field = timeout
            .or(interval)
            .map(|x| x.1.field.clone())
            .unwrap_or_default();
        rules::check_healthcheck_timeout(&field, t, i, f);
    }
}

/// Backends: each must reach a port of a Service this task defines.
fn backend_ports(app: &IngressSpec, f: &mut Findings) {
    for b in &app.service_backends() {
        let Some(svc) = app.service(&b.service) else {
            continue;
        };
        let found = svc.ports.iter().any(|p| match &b.port {
            Port::Number(n) => p.port == *n,
            Port::Name(n) => p.name.as_deref() == Some(n.as_str()),
        });
        if !found {
            f.error(
                &b.port_field,
                // buildTargetGroup: k8s.LookupServicePort.
                format!(
                    "unable to find port {} on service {}/{}: the backend refers to a port \
                     the Service does not have. {LBC_FAILS}",
                    b.port.describe(),
                    svc.namespace,
                    svc.name
                ),
                format!(
                    "use one of the Service's ports: {}.",
                    svc.ports
                        .iter()
                        .map(|p| match &p.name {
                            Some(n) => format!("{} ({n})", p.port),
                            None => p.port.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }
}

/// IngressClassParams fields override the Ingress's annotations.
fn class_overrides(cx: &Cx, f: &mut Findings) {
    let (app, class) = (cx.ingress, cx.class);
    let get = |suffix: &str| app.annotation(suffix);
    if let Some(params) = &class.params {
        for (pk, suffix) in [
            ("scheme", "scheme"),
            ("ipAddressType", "ip-address-type"),
            ("loadBalancerName", "load-balancer-name"),
        ] {
            if let (Some(pv), Some(a)) = (params.get(pk).and_then(Value::as_str), get(suffix))
                && pv != a.value
            {
                f.warning(
                    &a.field,
                    format!(
                        "IngressClassParams {} sets {pk}: {pv}, which overrides {} = '{}' of \
                         this Ingress.",
                        class.name, a.key, a.value
                    ),
                    "set it in one place: drop it from the Ingress or from ingress_class.params.",
                );
            }
        }
    }
}

/// A backend Service's own target-group annotations: the controller reads
/// them before the Ingress's (buildTargetGroupSpec:
/// MergeStringMap(svc.Annotations, ing.Annotations); the Service's tags
/// join the target group's, buildIngressBackendResourceTags), so each is
/// checked like the Ingress's, and the health-check timing on the values
/// the target group really gets.
fn check_service_target_group_annotations(cx: &Cx, f: &mut Findings) {
    let app = cx.ingress;
    let mut seen = HashSet::new();
    for b in app.service_backends() {
        let Some(svc) = app.service(&b.service) else {
            continue;
        };
        if !seen.insert(svc.name.clone()) {
            continue;
        }
        let own = |suffix: &str| {
            let key = format!("{ANNOTATION_PREFIX}{suffix}");
            let v = svc.annotations.get(&key)?.as_str()?.to_string();
            Some(Annotation {
                field: format!("{}.annotations[\"{key}\"]", svc.field),
                key,
                value: v,
            })
        };
        // The definitions' own rules of target-group settings.
        for def in ANNOTATIONS.iter().filter(|d| d.on_service) {
            if let Rule::One(check) = def.rule
                && let Some(a) = own(def.suffix)
            {
                check(cx, &a, f);
            }
        }
        // Success codes: gRPC's range when the effective version is GRPC.
        if own("success-codes").is_some() || own("backend-protocol-version").is_some() {
            let grpc = app
                .tg_annotation(Some(svc), "backend-protocol-version")
                .is_some_and(|(v, _)| v == "GRPC");
            if let Some((v, field)) = app.tg_annotation(Some(svc), "success-codes") {
                for x in Findings::of(|c| rules::check_success_codes(&field, &v, grpc, c)) {
                    if own("success-codes").is_some() || x.problem.contains("gRPC") {
                        f.push(x);
                    }
                }
            }
        }
        // Timing: only when the Service sets one of them (the Ingress's own
        // pair is checked with the Ingress).
        let interval_own = own("healthcheck-interval-seconds");
        let timeout_own = own("healthcheck-timeout-seconds");
        if interval_own.is_none() && timeout_own.is_none() {
            continue;
        }
        let effective =
            |own: &Option<Annotation>, suffix: &str, default: i64| -> Option<(i64, String)> {
                match own {
                    Some(a) => a
                        .value
                        .parse::<i32>()
                        .ok()
                        .map(|n| (i64::from(n), a.field.clone())),
                    None => match app.annotation(suffix) {
                        Some(a) => a
                            .value
                            .parse::<i32>()
                            .ok()
                            .map(|n| (i64::from(n), a.field.clone())),
                        None => Some((default, String::new())),
                    },
                }
            };
        let mut parsed_ok = true;
        for a in interval_own.iter().chain(timeout_own.iter()) {
            parsed_ok &= ann_int(a, f).is_some();
        }
        let (Some((i, i_field)), Some((t, t_field))) = (
            effective(
                &interval_own,
                "healthcheck-interval-seconds",
                rules::DEFAULT_HEALTHCHECK_INTERVAL,
            ),
            effective(
                &timeout_own,
                "healthcheck-timeout-seconds",
                rules::DEFAULT_HEALTHCHECK_TIMEOUT,
            ),
        ) else {
            continue;
        };
        if !parsed_ok {
            continue;
        }
        let mut interval_bad = false;
        if let Some(a) = &interval_own {
            interval_bad = !rules::check_healthcheck_interval(&a.field, i, f);
        }
        // An Ingress timeout out of range is the Ingress's finding already.
        if !interval_bad && (timeout_own.is_some() || (2..=120).contains(&t)) {
            let field = if timeout_own.is_some() {
                t_field
            } else {
                i_field
            };
            rules::check_healthcheck_timeout(&field, t, i, f);
        }
    }
}

/// Per target group (backend Service and port), on the effective
/// annotations: the named health-check port and the target control port
/// (model_build_target_group.go: buildTargetGroupHealthCheckPort,
/// buildTargetGroupSpec).
fn check_backend_target_groups(app: &IngressSpec, f: &mut Findings) {
    let mut seen = HashSet::new();
    let mut once = |f: &mut Findings, x: Finding| {
        if seen.insert((x.field.clone(), x.problem.clone())) {
            f.push(x);
        }
    };
    for b in &app.service_backends() {
        let Some(svc) = app.service(&b.service) else {
            continue;
        };
        let (tt, _) = app.target_type_for(&svc.name);
        if let Some((hc, field)) = app.tg_annotation(Some(svc), "healthcheck-port")
            && !hc.is_empty()
            && !hc.bytes().all(|c| c.is_ascii_digit())
            && hc != "traffic-port"
        {
            // k8s.LookupServicePort: a name matches spec.ports[].name only.
            match svc
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(hc.as_str()))
            {
                None => once(
                    f,
                    Finding::error(
                        &field,
                        format!(
                            "failed to resolve healthCheckPort: unable to find port {hc} on \
                             service {}/{}. {LBC_FAILS}",
                            svc.namespace, svc.name
                        ),
                        format!(
                            "name one of the Service's ports ({}), or give a number or \
                             traffic-port.",
                            svc.ports
                                .iter()
                                .map(|p| p.name.clone().unwrap_or_else(|| p.port.to_string()))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                ),
                Some(p) if tt == TargetType::Ip && matches!(p.target_port, Some(Port::Name(_))) => {
                    once(
                        f,
                        Finding::error(
                            &field,
                            format!(
                                "cannot use named healthCheckPort for IP TargetType when \
                                 service's targetPort is a named port (port {hc} of Service \
                                 {}). {LBC_FAILS}",
                                svc.name
                            ),
                            "give healthcheck_port as a number (the container port), or \
                             traffic-port.",
                        ),
                    )
                }
                Some(_) => {}
            }
        }
        // buildTargetGroupTargetControlPort: key target-control-port.<svc>.<port>.
        let suffix = format!("target-control-port.{}.{}", svc.name, b.port.describe());
        if let Some((v, field)) = app.tg_annotation(Some(svc), &suffix) {
            if v.trim().parse::<i32>().is_err() {
                once(
                    f,
                    Finding::error(
                        &field,
                        format!(
                            "failed to parse int32 annotation, {ANNOTATION_PREFIX}{suffix}: \
                             {v}. {LBC_FAILS}"
                        ),
                        "write the port number.",
                    ),
                );
            } else if tt == TargetType::Instance {
                once(
                    f,
                    Finding::error(
                        &field,
                        format!(
                            "target control port is not supported for instance target target \
                             group (Service {}, port {}). {LBC_FAILS}",
                            svc.name,
                            b.port.describe()
                        ),
                        "drop the target-control-port annotation, or use target_type: ip \
                         (which needs VPC-routable pod addresses).",
                    ),
                );
            }
        }
    }
}

pub fn check_class(class: &IngressClass, net: &Network, f: &mut Findings) {
    check_object_name("ingress_class.name", "IngressClass", &class.name, f);
    let Some(params) = &class.params else {
        return;
    };
    const KNOWN: &[&str] = &[
        "namespaceSelector",
        "group",
        "scheme",
        "ipAddressType",
        "tags",
        "loadBalancerAttributes",
        "loadBalancerName",
        "subnets",
        "certificateArn",
        "sslPolicy",
        "sslRedirectPort",
        "inboundCIDRs",
        "targetType",
        "listeners",
        "minimumLoadBalancerCapacity",
        "ipamConfiguration",
        "prefixListsIDs",
        "PrefixListsIDs",
        "wafv2AclArn",
        "wafv2AclName",
    ];
    for k in params.keys() {
        if !KNOWN.contains(&k.as_str()) {
            f.error(
                format!("ingress_class.params.{k}"),
                format!(
                    "IngressClassParams has no field '{k}'; the API server prunes unknown \
                     fields, so the setting would silently do nothing."
                ),
                format!(
                    "use the controller's camelCase field names: {}.",
                    KNOWN.join(", ")
                ),
            );
        }
    }
    let str_field = |k: &str| params.get(k).and_then(Value::as_str);
    // The CRD's enums (elbv2.k8s.aws IngressClassParams): the API server
    // refuses the object, the controller never sees the value.
    for (k, allowed) in [
        ("scheme", &["internal", "internet-facing"][..]),
        (
            "ipAddressType",
            &["ipv4", "dualstack", "dualstack-without-public-ipv4"][..],
        ),
        ("targetType", &["instance", "ip"][..]),
    ] {
        let Some(v) = str_field(k) else { continue };
        let field = format!("ingress_class.params.{k}");
        if !allowed.contains(&v) {
            let quoted: Vec<String> = allowed.iter().map(|a| format!("\"{a}\"")).collect();
            f.error(
                &field,
                format!(
                    "spec.{k}: Unsupported value: \"{v}\": supported values: {}. {API_REJECTS}",
                    quoted.join(", ")
                ),
                match allowed.iter().find(|a| a.eq_ignore_ascii_case(v.trim())) {
                    Some(a) => format!("write '{a}' (values are case-sensitive)."),
                    None => format!("use one of: {}.", allowed.join(", ")),
                },
            );
        } else if k == "targetType" {
            check_target_type_against_network(&field, TargetType::parse(v), net, f);
        }
    }
    if let Some(v) = params
        .get("group")
        .and_then(|g| g.get("name"))
        .and_then(Value::as_str)
    {
        rules::check_group_name("ingress_class.params.group.name", v, f);
    }
    if let Some(v) = params.get("inboundCIDRs").and_then(Value::as_array) {
        let c: Vec<&str> = v.iter().filter_map(Value::as_str).collect();
        rules::check_inbound_cidrs("ingress_class.params.inboundCIDRs", &c, f);
    }
    if let Some(v) = params.get("certificateArn").and_then(Value::as_array) {
        for (i, arn) in v.iter().filter_map(Value::as_str).enumerate() {
            rules::check_certificate_arn(
                &format!("ingress_class.params.certificateArn[{i}]"),
                arn,
                f,
            );
        }
    }
    if let Some(v) = str_field("loadBalancerName") {
        rules::check_load_balancer_name("ingress_class.params.loadBalancerName", v, f);
    }
    // buildSSLRedirectConfig: an unparsable port means no redirect at all.
    if let Some(v) = str_field("sslRedirectPort")
        && !v.is_empty()
        && v.parse::<i32>().is_err()
    {
        f.error(
            "ingress_class.params.sslRedirectPort",
            format!(
                "sslRedirectPort '{v}' is not a number: the controller then sets up no HTTPS \
                 redirect for any Ingress of the class (buildSSLRedirectConfig gives up \
                 silently), so plain-HTTP clients are served, not redirected."
            ),
            "write the HTTPS listener's port as a string of digits, e.g. \"443\".",
        );
    }
}

pub fn check_across_ingresses(ingresses: &[IngressSpec], f: &mut Findings) {
    let mut seen = HashSet::new();
    let mut services: HashMap<(&str, &str), &Service> = HashMap::new();
    let mut node_ports: HashMap<i64, String> = HashMap::new();
    for app in ingresses {
        if !seen.insert((app.namespace.as_str(), app.name.as_str())) {
            f.error(
                format!("{}.name", app.field),
                format!(
                    "Ingress {}/{} appears twice in ingresses; the second would silently \
                     override the first.",
                    app.namespace, app.name
                ),
                "merge the two entries or rename one.",
            );
        }
        if !app.present {
            continue;
        }
        for svc in &app.services {
            let key = (svc.namespace.as_str(), svc.name.as_str());
            if let Some(prev) = services.get(&key) {
                if render_service(prev) != render_service(svc) {
                    f.error(
                        format!("{}.name", svc.field),
                        format!(
                            "Service {}/{} is defined again, differently, at {}; one would \
                             silently override the other.",
                            svc.namespace, svc.name, prev.field
                        ),
                        "define the Service once and refer to it from both Ingresses.",
                    );
                }
                continue;
            }
            services.insert(key, svc);
            for p in &svc.ports {
                let Some(np) = p.node_port.filter(|n| *n != 0) else {
                    continue;
                };
                let here = format!("{}/{}", svc.namespace, svc.name);
                match node_ports.get(&np) {
                    Some(other) if *other != here => f.error(
                        format!("{}.node_port", p.field),
                        format!(
                            "spec.ports[].nodePort: Invalid value: {np}: provided port is \
                             already allocated (Service {other} in this task asks for it too). \
                             {API_REJECTS}"
                        ),
                        "give each Service its own node_port, or omit node_port to let \
                         Kubernetes assign one.",
                    ),
                    Some(_) => f.error(
                        format!("{}.node_port", p.field),
                        format!("spec.ports[].nodePort: Duplicate value: {np}. {API_REJECTS}"),
                        "give each port of the Service its own node_port.",
                    ),
                    None => {
                        node_ports.insert(np, here);
                    }
                }
            }
        }
    }
}

/// metadata.name of an Ingress, IngressClass or IngressClassParams: a DNS-1123 subdomain.
/// Ingress and IngressClass names: apimachinery's `NameIsDNSSubdomain`
/// (`ValidateIngressName`, `ValidateIngressClassName`), the one rule in
/// kube/names.rs. A subdomain has no 63-character limit per label.
pub(super) fn check_object_name(field: &str, kind: &str, name: &str, f: &mut Findings) {
    if crate::kube::names::is_dns_subdomain(name) {
        return;
    }
    let p = if name.len() > 253 {
        "must be no more than 253 characters"
    } else if name.split('.').any(str::is_empty) {
        "it is empty or has an empty label between dots"
    } else {
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
         '-' or '.', and must start and end with an alphanumeric character"
    };
    f.error(
        field,
        format!("{kind} name '{name}' is invalid: {p}. {API_REJECTS}"),
        "use lower case letters, digits, '-' and '.', e.g. app-ingress.",
    );
}

pub(super) fn dns1123_label_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("it is empty")
    } else if s.len() > 63 {
        Some("must be no more than 63 characters")
    } else if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || s.starts_with('-')
        || s.ends_with('-')
    {
        Some(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
             '-', and must start and end with an alphanumeric character",
        )
    } else {
        None
    }
}

pub(super) fn dns1035_problem(s: &str) -> Option<&'static str> {
    dns1123_label_problem(s).or_else(|| {
        (!s.starts_with(|c: char| c.is_ascii_lowercase())).then_some(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', \
             start with an alphabetic character, and end with an alphanumeric character",
        )
    })
}
