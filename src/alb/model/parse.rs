//! From the typed options to the model: defaults the controller and the API
//! server would apply, the annotation map (typed options first, then the raw
//! `annotations` dict), the derived target type and Service types, and the
//! rules that are judged on a single field while reading it.

use super::annotations::ANNOTATIONS;
use super::args::{BackendArgs, ClassArgs, IngressArgs, PlanArgs, ServiceArgs};
use super::check::{
    self, check_object_name, check_target_type_against_network, dns1035_problem,
    dns1123_label_problem,
};
use super::types::{
    Annotation, Backend, IngressClass, IngressSpec, PathRule, PathType, Plan, Port, PortProtocol,
    Rule as IngressRule, Service, ServicePort, ServiceType, State,
};
use super::{ANNOTATION_PREFIX, API_REJECTS, CLASS_ANNOTATION};
use crate::alb::{group, rules};
use crate::net::model::TargetType;
use crate::net::network::Network;
use crate::validate::Findings;
use serde_json::Value;

/// Parses `ingress_class` (absent: class `alb`, managed) and `ingresses`.
pub fn parse_plan(p: &PlanArgs, net: &Network, manage_class: bool, f: &mut Findings) -> Plan {
    let class = parse_class(p.ingress_class.as_ref(), manage_class);
    if manage_class {
        check::check_class(&class, net, f);
    } else if let Some(tt) = class
        .params
        .as_ref()
        .and_then(|m| m.get("targetType"))
        .and_then(Value::as_str)
    {
        // netcheck: the class is not ours to check, but its targetType is
        // what every target group uses.
        // (An unknown value is the API server's to refuse: it never gets here.)
        check_target_type_against_network(
            "ingress_class.params.targetType",
            TargetType::parse(tt),
            net,
            f,
        );
    }
    let class_annotation = p.ingress_class_annotation.unwrap_or(false);
    let ingresses: Vec<IngressSpec> = p
        .ingresses
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, v)| {
            parse_ingress(
                &format!("ingresses[{i}]"),
                v,
                &class,
                class_annotation,
                net,
                f,
            )
        })
        .collect();
    check::check_across_ingresses(&ingresses, f);
    group::check(
        &group::task_members(&ingresses, class.params.as_ref()),
        &[],
        f,
    );
    Plan { class, ingresses }
}

pub fn parse_class(c: Option<&ClassArgs>, managed: bool) -> IngressClass {
    let c = c.cloned().unwrap_or_default();
    IngressClass {
        name: c.name.unwrap_or_else(|| "alb".to_string()),
        present: c.state != Some(State::Absent),
        params: c.params.filter(|m| !m.is_empty()),
        is_default: c.is_default.unwrap_or(false),
        managed,
    }
}

fn parse_ingress(
    at: &str,
    v: &IngressArgs,
    class: &IngressClass,
    class_annotation: bool,
    net: &Network,
    f: &mut Findings,
) -> IngressSpec {
    let name = v.name.clone().unwrap_or_default();
    let namespace = v.namespace.clone().unwrap_or_else(|| "default".to_string());
    let present = v.state != Some(State::Absent);
    check_object_name(&format!("{at}.name"), "Ingress", &name, f);
    if let Some(p) = dns1123_label_problem(&namespace) {
        f.error(
            format!("{at}.namespace"),
            format!("namespace '{namespace}' is invalid: {p}. {API_REJECTS}"),
            "use lower case letters, digits and '-', e.g. web.",
        );
    }

    // Typed options first, then the raw dict; the same key twice must agree.
    let mut annotations: Vec<Annotation> = Vec::new();
    if class_annotation {
        annotations.push(Annotation {
            key: CLASS_ANNOTATION.into(),
            value: class.name.clone(),
            field: "ingress_class_annotation".into(),
        });
    }
    for (def, input) in &v.typed.0 {
        let field = format!("{at}.{}", def.option);
        annotations.push(Annotation {
            key: def.key(),
            value: input.text(&field, f),
            field,
        });
    }
    for (key, value) in v.annotations.iter().flat_map(|m| m.0.iter()) {
        let field = format!("{at}.annotations[\"{key}\"]");
        match annotations.iter().find(|a| &a.key == key) {
            Some(a) if &a.value == value => {}
            Some(a) => f.error(
                field,
                format!(
                    "{key} is '{value}' here but '{}' from {}; only one value can be written, \
                     and the wrong one would silently win.",
                    a.value, a.field
                ),
                format!("set it in one place only (preferably {}).", a.field),
            ),
            None => annotations.push(Annotation {
                key: key.clone(),
                value: value.clone(),
                field,
            }),
        }
    }

    // The target type: explicit, from IngressClassParams, or derived.
    let tt_key = format!("{ANNOTATION_PREFIX}target-type");
    let params_tt = class
        .params
        .as_ref()
        .and_then(|m| m.get("targetType"))
        .and_then(Value::as_str);
    let (target_type, target_type_field) = match annotations.iter().find(|a| a.key == tt_key) {
        Some(a) => (TargetType::parse(&a.value), a.field.clone()),
        None => {
            // Under IngressClassParams' targetType, write that one: a derived
            // value that differs would only be overridden.
            let derived = params_tt
                .and_then(TargetType::parse)
                .unwrap_or_else(|| net.model.recommended_target_type());
            // In definition order, after the typed options before it.
            let before = ANNOTATIONS
                .iter()
                .take_while(|d| d.option != "target_type")
                .filter(|d| v.typed.is_set(d.option))
                .count();
            annotations.insert(
                usize::from(class_annotation) + before,
                Annotation {
                    key: tt_key.clone(),
                    value: derived.as_str().into(),
                    field: format!("{at}.target_type"),
                },
            );
            (Some(derived), format!("{at}.target_type"))
        }
    };
    let class_target_type = params_tt.and_then(TargetType::parse).is_some();
    let (target_type, target_type_field) = match (
        params_tt.and_then(TargetType::parse),
        target_type,
    ) {
        (Some(ptt), Some(tt)) if ptt != tt => {
            f.warning(
                &target_type_field,
                format!(
                    "the IngressClassParams of class {} set targetType {}, which overrides \
                     target-type {} of this Ingress.",
                    class.name,
                    ptt.as_str(),
                    tt.as_str()
                ),
                "set the target type in one place: drop it from the Ingress or from ingress_class.params.",
            );
            (Some(ptt), "ingress_class.params.targetType".to_string())
        }
        (_, tt) => (tt, target_type_field),
    };
    let target_type = target_type.unwrap_or(TargetType::Instance);

    let mut rules_out = Vec::new();
    for (ri, rv) in v.rules.iter().flatten().enumerate() {
        let rf = format!("{at}.rules[{ri}]");
        let host = rv.host.clone().filter(|h| !h.is_empty());
        if let Some(h) = &host {
            rules::check_host(&format!("{rf}.host"), h, f);
        }
        let mut paths = Vec::new();
        for (pi, pv) in rv.paths.iter().flatten().enumerate() {
            let pf = format!("{rf}.paths[{pi}]");
            let path = pv.path.clone().unwrap_or_else(|| "/".to_string());
            let path_type = pv.path_type.as_deref().unwrap_or("Prefix");
            rules::check_path(&format!("{pf}.path"), &path, path_type, f);
            if let Some(b) = parse_backend(&pv.backend, pf, f) {
                paths.push(PathRule {
                    path,
                    // An unknown type is refused above; it matches like
                    // ImplementationSpecific meanwhile.
                    path_type: PathType::parse(path_type)
                        .unwrap_or(PathType::ImplementationSpecific),
                    backend: b,
                });
            }
        }
        rules_out.push(IngressRule { host, paths });
    }
    let default_backend = v
        .default_backend
        .as_ref()
        .and_then(|d| parse_backend(d, format!("{at}.default_backend"), f));
    if present && default_backend.is_none() && rules_out.iter().all(|r| r.paths.is_empty()) {
        f.error(
            at,
            format!(
                "spec: Invalid value: either `defaultBackend` or `rules` must be specified. \
                 {API_REJECTS}"
            ),
            "add rules with paths (host, paths: [{path: /, service_name, service_port}]) or a default_backend.",
        );
    }

    let services = v
        .services
        .iter()
        .flatten()
        .enumerate()
        .map(|(si, sv)| {
            parse_service(
                &format!("{at}.services[{si}]"),
                sv,
                &namespace,
                (
                    target_type,
                    class_target_type.then_some(class.name.as_str()),
                ),
                net,
                f,
            )
        })
        .collect();

    let ingress = IngressSpec {
        name,
        namespace,
        present,
        class_name: class.name.clone(),
        annotations,
        labels: v.labels.clone().unwrap_or_default().to_json(),
        rules: rules_out,
        default_backend,
        services,
        target_type,
        target_type_field,
        class_target_type,
        certificate_discovery: v.certificate_discovery.unwrap_or(false),
        field: at.to_string(),
    };
    if present {
        check::check_ingress(&ingress, class, net, f);
    }
    ingress
}

fn parse_backend(bv: &BackendArgs, field: String, f: &mut Findings) -> Option<Backend> {
    let service = bv.service_name.clone().unwrap_or_default();
    let port_field = format!("{field}.service_port");
    let Some(port) = bv.service_port.as_ref().and_then(|p| p.0.clone()) else {
        f.error(
            &port_field,
            format!("port name or number is required. {API_REJECTS}"),
            "set service_port to the Service's port number (e.g. 80) or its port name.",
        );
        return None;
    };
    match &port {
        Port::Number(n) if !(1..=65535).contains(n) => f.error(
            &port_field,
            format!(
                "backend.service.port.number: Invalid value: {n}: must be between 1 and \
                 65535, inclusive. {API_REJECTS}"
            ),
            "use the Service's port (spec.ports[].port), e.g. 80.",
        ),
        Port::Name(n) => rules::check_port_name(&port_field, n, f),
        _ => {}
    }
    Some(Backend {
        service,
        port,
        field,
        port_field,
    })
}

fn parse_service(
    at: &str,
    v: &ServiceArgs,
    namespace: &str,
    // The Ingress's effective target type, and the class whose
    // IngressClassParams set it (then no annotation counts).
    (target_type, class_tt): (TargetType, Option<&str>),
    net: &Network,
    f: &mut Findings,
) -> Service {
    let name = v.name.clone().unwrap_or_default();
    if let Some(p) = dns1035_problem(&name) {
        f.error(
            format!("{at}.name"),
            format!("Service name '{name}' is invalid: {p}. {API_REJECTS}"),
            "use lower case letters, digits and '-', starting with a letter, e.g. app-service.",
        );
    }
    let annotations = v.annotations.clone().unwrap_or_default().to_json();
    let tt_key = format!("{ANNOTATION_PREFIX}target-type");
    // The Service's own target-type annotation wins over the Ingress's,
    // IngressClassParams' targetType over both (buildTargetGroupTargetType).
    let own_tt = annotations
        .get(&tt_key)
        .filter(|_| class_tt.is_none())
        .and_then(Value::as_str)
        .and_then(TargetType::parse);
    let type_ = v.type_.unwrap_or(match own_tt.unwrap_or(target_type) {
        TargetType::Instance => ServiceType::NodePort,
        TargetType::Ip => ServiceType::ClusterIp,
    });
    let proto_default = v.protocol.unwrap_or(PortProtocol::Tcp);
    let mut ports = Vec::new();
    let multi = v.ports.as_deref().unwrap_or(&[]);
    if !multi.is_empty() {
        let set = [
            ("port", v.port.is_some()),
            ("target_port", v.target_port.is_some()),
            ("node_port", v.node_port.is_some()),
            ("port_name", v.port_name.is_some()),
        ];
        for (key, _) in set.iter().filter(|(_, set)| *set) {
            f.error(
                format!("{at}.{key}"),
                format!(
                    "{key} is set together with ports; with a ports list every port is \
                     described there, so this value would be ignored."
                ),
                format!("move {key} into the entries of {at}.ports."),
            );
        }
        for (i, pv) in multi.iter().enumerate() {
            ports.push(ServicePort {
                name: pv.name.clone(),
                port: pv.port.and_then(|p| p.0).unwrap_or(0),
                target_port: pv.target_port.as_ref().and_then(|p| p.0.clone()),
                node_port: pv.node_port.and_then(|p| p.0),
                protocol: pv.protocol.unwrap_or(proto_default),
                field: format!("{at}.ports[{i}]"),
            });
        }
    } else if let Some(port) = v.port.and_then(|p| p.0) {
        ports.push(ServicePort {
            name: v.port_name.clone(),
            port,
            target_port: v.target_port.as_ref().and_then(|p| p.0.clone()),
            node_port: v.node_port.and_then(|p| p.0),
            protocol: proto_default,
            field: at.to_string(),
        });
    } else {
        f.error(
            format!("{at}.port"),
            format!("Service {name} has no port: spec.ports: Required value. {API_REJECTS}"),
            "set port (and target_port, the container port), or a ports list.",
        );
    }

    for sp in &ports {
        let pf = |k: &str| {
            if sp.field == at {
                format!("{at}.{k}")
            } else {
                format!("{}.{k}", sp.field)
            }
        };
        if !(1..=65535).contains(&sp.port) {
            f.error(
                pf("port"),
                format!(
                    "spec.ports.port: Invalid value: {}: must be between 1 and 65535, \
                     inclusive. {API_REJECTS}",
                    sp.port
                ),
                "use the port the Ingress backend refers to, e.g. 80.",
            );
        }
        if let Some(tp) = &sp.target_port {
            rules::check_target_port(&pf("target_port"), tp.as_ref(), f);
        }
        if let Some(n) = &sp.name
            && let Some(p) = dns1123_label_problem(n)
        {
            f.error(
                pf(if sp.field == at { "port_name" } else { "name" }),
                format!("port name '{n}' is invalid: {p}. {API_REJECTS}"),
                "use lower case letters, digits and '-', e.g. http.",
            );
        }
        if let Some(np) = sp.node_port {
            if !type_.opens_node_ports() {
                f.error(
                    pf("node_port"),
                    format!(
                        "spec.ports[].nodePort: Forbidden: may not be used when `type` is \
                         'ClusterIP'. {API_REJECTS}"
                    ),
                    "drop node_port, or make the Service type NodePort.",
                );
            } else {
                rules::check_node_port(&pf("node_port"), np, net.node_port_range, f);
            }
        }
    }
    let names: Vec<Option<&str>> = ports.iter().map(|p| p.name.as_deref()).collect();
    rules::check_ports_named(&format!("{at}.ports"), &names, f);

    let etp = v.external_traffic_policy;
    if etp.is_some() && !type_.opens_node_ports() {
        f.error(
            format!("{at}.external_traffic_policy"),
            format!(
                "spec.externalTrafficPolicy: Invalid value: may only be set for \
                 externally-accessible services. {API_REJECTS}"
            ),
            "drop external_traffic_policy, or make the Service type NodePort.",
        );
    }
    let selector = v.selector.clone().unwrap_or_default().to_json();
    if selector.is_empty() {
        f.warning(
            format!("{at}.selector"),
            format!(
                "Service {name} has no selector, so Kubernetes fills no endpoints and every \
                 ALB target stays unhealthy unless you manage EndpointSlices yourself."
            ),
            "set selector to the pod labels, e.g. {app: myapp}.",
        );
    }
    if let Some(tt) = annotations.get(&tt_key).and_then(Value::as_str) {
        let field = format!("{at}.annotations[\"{tt_key}\"]");
        match class_tt {
            // buildTargetGroupTargetType replaces the annotation's value
            // before it is parsed: it is never read, valid or not.
            Some(class) if tt != target_type.as_str() => f.warning(
                &field,
                format!(
                    "the IngressClassParams of class {class} set targetType {}, which \
                     overrides target-type '{tt}' of this Service: its target groups use {}.",
                    target_type.as_str(),
                    target_type.as_str()
                ),
                "set the target type in one place: drop it from the Service or from \
                 ingress_class.params.",
            ),
            Some(_) => {}
            None => {
                if rules::check_target_type(&field, tt, f) {
                    check_target_type_against_network(&field, TargetType::parse(tt), net, f);
                }
            }
        }
    }
    Service {
        name,
        namespace: namespace.to_string(),
        type_,
        ports,
        selector,
        external_traffic_policy: etp,
        labels: v.labels.clone().unwrap_or_default().to_json(),
        annotations,
        field: at.to_string(),
    }
}
