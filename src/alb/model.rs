//! The typed ingress model: options of `alb_ingress` (and `netcheck`) parsed
//! into IngressClass, Ingress and Service objects, checked against the
//! network model and the controller's, API server's and AWS's rules.
//!
//! Typed options and the raw `annotations` dict end up in one annotation map,
//! and every check reads that map: a rule copied from a hand-written manifest
//! (`annotations: {alb.ingress.kubernetes.io/target-type: ip}`) is checked
//! exactly like `target_type: ip`.

use super::rules::{self, PortRef, Protocol};
use crate::kube::Desired;
use crate::net::cidr;
use crate::net::model::{CniPlugin, NetworkModel, TargetType};
use crate::net::mtu::Encapsulation;
use crate::protocol::Params;
use crate::validate::{Finding, Findings};
use ipnet::IpNet;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

pub const ANNOTATION_PREFIX: &str = "alb.ingress.kubernetes.io/";
pub const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";
pub const CONTROLLER: &str = "ingress.k8s.aws/alb";
pub const PARAMS_API_GROUP: &str = "elbv2.k8s.aws";
pub const PARAMS_API_VERSION: &str = "elbv2.k8s.aws/v1beta1";
pub const DEFAULT_POD_CIDR: &str = "192.168.0.0/16";
pub const DEFAULT_NODE_PORT_RANGE: &str = "30000-32767";

pub(crate) const LBC_FAILS: &str = "The AWS Load Balancer Controller fails to build the Ingress group \
                         (event FailedBuildModel), so the ALB is neither created nor updated.";
const API_REJECTS: &str = "The API server rejects the object, so it is never applied.";

// ------------------------------------------------------------------ network

/// The network facts the ALB path depends on.
#[derive(Debug, Clone)]
pub struct Network {
    pub model: NetworkModel,
    pub node_port_range: (u16, u16),
}

impl Network {
    /// The VPC's ranges, labelled for overlap findings.
    pub fn vpc_ranges(&self) -> Vec<(&'static str, IpNet)> {
        self.model
            .vpc_cidrs
            .iter()
            .map(|v| ("the VPC CIDR", *v))
            .collect()
    }
}

/// An overlay's pod CIDR must stay clear of the VPC and of link-local
/// addresses (alb_ingress and netcheck both check it; ippool and cni check
/// the pool itself).
pub fn check_pod_cidrs(net: &Network, f: &mut Findings) {
    if net.model.cni_plugin != CniPlugin::Calico {
        return;
    }
    let vpcs = net.vpc_ranges();
    for pod in &net.model.pod_cidrs {
        f.extend(cidr::check_not_in_vpc("pod_cidr", *pod, &vpcs));
        if let Some(x) = cidr::check_not_link_local("pod_cidr", *pod) {
            f.push(x);
        }
    }
}

/// Reads `cni_plugin`, `pod_cidr`, `vpc_cidrs`, `node_port_range` (and, for
/// netcheck, `encapsulation`, `vxlan_port`, `bgp`, `typha`).
pub fn parse_network(p: &Params, f: &mut Findings) -> Network {
    let cni = p
        .str("cni_plugin")
        .and_then(CniPlugin::parse)
        .unwrap_or(CniPlugin::Calico);
    let (vpc_cidrs, bad) = cidr::parse_list("vpc_cidrs", &p.str_list("vpc_cidrs"));
    bad.into_iter().for_each(|x| f.push(x));
    let vpc_cidrs: Vec<IpNet> = vpc_cidrs.into_iter().map(|(_, n)| n).collect();
    let pod_cidrs = match p.str("pod_cidr") {
        Some(s) => match cidr::parse_cidr("pod_cidr", s) {
            Ok(n) => vec![n],
            Err(e) => {
                f.push(e);
                Vec::new()
            }
        },
        // VPC CNI gives pods addresses of the VPC subnets.
        None if cni == CniPlugin::AwsVpcCni => vpc_cidrs.clone(),
        None => vec![DEFAULT_POD_CIDR.parse().expect("valid default")],
    };
    let encapsulation = match p.str("encapsulation") {
        Some("ipip") => Encapsulation::Ipip,
        Some("wireguard") => Encapsulation::Wireguard,
        Some("none") => Encapsulation::None,
        Some(_) => Encapsulation::Vxlan,
        None if cni == CniPlugin::AwsVpcCni => Encapsulation::None,
        // The pool's modes, translated where the cni module translates them.
        None => crate::calico::ippool::encapsulation(p.str("vxlan_mode"), p.str("ipip_mode")),
    };
    let vxlan_port = match p.int("vxlan_port") {
        Some(n) if (1..=65535).contains(&n) => n as u16,
        Some(n) => {
            f.error(
                "vxlan_port",
                format!(
                    "VXLAN port {n} is outside 1-65535, so nodes cannot exchange overlay traffic."
                ),
                "use Calico's default 4789 unless FelixConfiguration sets another vxlanPort.",
            );
            4789
        }
        None => 4789,
    };
    let node_port_range = parse_node_port_range(
        "node_port_range",
        p.str("node_port_range").unwrap_or(DEFAULT_NODE_PORT_RANGE),
        f,
    );
    Network {
        model: NetworkModel {
            cni_plugin: cni,
            pod_cidrs,
            vpc_cidrs,
            encapsulation,
            vxlan_port,
            bgp: p
                .get("bgp")
                .and_then(Value::as_bool)
                .unwrap_or(cni == CniPlugin::Calico && p.str("calico_backend") == Some("bird")),
            typha: p.bool("typha"),
        },
        node_port_range,
    }
}

/// `30000-32767`, as kube-apiserver's `--service-node-port-range` (a single
/// port or `base+size` are accepted there too).
pub fn parse_node_port_range(field: &str, s: &str, f: &mut Findings) -> (u16, u16) {
    let s = s.trim();
    let parsed = if let Some((a, b)) = s.split_once('-') {
        a.trim()
            .parse::<u16>()
            .ok()
            .zip(b.trim().parse::<u16>().ok())
    } else if let Some((a, n)) = s.split_once('+') {
        match (a.trim().parse::<u16>(), n.trim().parse::<u16>()) {
            (Ok(a), Ok(n)) if n > 0 => a.checked_add(n - 1).map(|b| (a, b)),
            _ => None,
        }
    } else {
        s.parse::<u16>().ok().map(|p| (p, p))
    };
    match parsed {
        Some((lo, hi)) if lo > 0 && lo <= hi => (lo, hi),
        _ => {
            f.error(
                field,
                format!(
                    "'{s}' is not a node port range: it must read like kube-apiserver's \
                     --service-node-port-range, e.g. 30000-32767. NodePort checks and the \
                     security-group rules depend on it."
                ),
                "write FIRST-LAST with FIRST <= LAST, e.g. 30000-32767 (the Kubernetes default).",
            );
            rules::DEFAULT_NODE_PORT_RANGE
        }
    }
}

// -------------------------------------------------------------------- model

/// A port of a Service or of an Ingress backend: a number or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Port {
    Number(i64),
    Name(String),
}

impl Port {
    fn parse(v: &Value) -> Option<Port> {
        match v {
            Value::Number(n) => n.as_i64().map(Port::Number),
            // Templated values arrive as strings; digits mean a number.
            Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
                s.parse().ok().map(Port::Number)
            }
            Value::String(s) => Some(Port::Name(s.clone())),
            _ => None,
        }
    }

    fn as_ref(&self) -> PortRef<'_> {
        match self {
            Port::Number(n) => PortRef::Number(*n),
            Port::Name(s) => PortRef::Name(s),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Port::Number(n) => json!(n),
            Port::Name(s) => json!(s),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Port::Number(n) => n.to_string(),
            Port::Name(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Annotation {
    pub key: String,
    pub value: String,
    /// The option it came from, for findings.
    pub field: String,
}

#[derive(Debug, Clone)]
pub struct Backend {
    pub service: String,
    pub port: Port,
    pub field: String,
    /// Where the port is set: `<field>.service_port`, or an action's `servicePort`.
    pub port_field: String,
}

/// The port name that makes a backend an action (`actions.<service name>`).
pub const USE_ANNOTATION: &str = "use-annotation";

impl Backend {
    /// An action, not a Service (enhanced_backend_builder.go: magicServicePortUseAnnotation).
    pub fn is_action(&self) -> bool {
        matches!(&self.port, Port::Name(n) if n == USE_ANNOTATION)
    }
}

#[derive(Debug, Clone)]
pub struct PathRule {
    pub path: String,
    pub path_type: String,
    pub backend: Backend,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub host: Option<String>,
    pub paths: Vec<PathRule>,
}

#[derive(Debug, Clone)]
pub struct ServicePort {
    pub name: Option<String>,
    pub port: i64,
    pub target_port: Option<Port>,
    pub node_port: Option<i64>,
    pub protocol: String,
    pub field: String,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub namespace: String,
    pub type_: String,
    pub ports: Vec<ServicePort>,
    pub selector: Map<String, Value>,
    pub external_traffic_policy: Option<String>,
    pub labels: Map<String, Value>,
    pub annotations: Map<String, Value>,
    pub field: String,
}

/// One entry of `ingresses`: an Ingress and its Services.
#[derive(Debug, Clone)]
pub struct App {
    pub name: String,
    pub namespace: String,
    pub present: bool,
    pub class_name: String,
    pub annotations: Vec<Annotation>,
    pub labels: Map<String, Value>,
    pub rules: Vec<Rule>,
    pub default_backend: Option<Backend>,
    pub services: Vec<Service>,
    pub target_type: TargetType,
    /// Where the target type came from, for findings.
    pub target_type_field: String,
    /// IngressClassParams' targetType, which no annotation overrides.
    pub class_target_type: bool,
    pub field: String,
}

impl App {
    pub fn annotation(&self, suffix: &str) -> Option<&Annotation> {
        let key = format!("{ANNOTATION_PREFIX}{suffix}");
        self.annotations.iter().find(|a| a.key == key)
    }

    /// Every backend, default backend included.
    pub fn backends(&self) -> impl Iterator<Item = &Backend> {
        self.rules
            .iter()
            .flat_map(|r| r.paths.iter().map(|p| &p.backend))
            .chain(self.default_backend.iter())
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The value the controller reads for a target-group annotation of the
    /// backends of `svc`: the Service's annotation first, then the
    /// Ingress's (pkg/ingress/model_build_target_group.go:
    /// buildTargetGroupSpec, MergeStringMap(svc.Annotations, ing.Annotations)).
    /// Returns (value, field).
    pub fn tg_annotation(&self, svc: Option<&Service>, suffix: &str) -> Option<(String, String)> {
        let key = format!("{ANNOTATION_PREFIX}{suffix}");
        if let Some(svc) = svc
            && let Some(v) = svc.annotations.get(&key).and_then(Value::as_str)
        {
            return Some((
                v.to_string(),
                format!("{}.annotations[\"{key}\"]", svc.field),
            ));
        }
        self.annotation(suffix)
            .map(|a| (a.value.clone(), a.field.clone()))
    }

    /// The target type of the target groups of Service `name`:
    /// IngressClassParams first, then the Service's annotation, then the
    /// Ingress's (buildTargetGroupTargetType on the merged annotations).
    pub fn target_type_for(&self, name: &str) -> (TargetType, String) {
        if self.class_target_type {
            return (self.target_type, self.target_type_field.clone());
        }
        match self.service(name).and_then(|svc| {
            let (v, field) = self.tg_annotation(Some(svc), "target-type")?;
            Some((TargetType::parse(&v)?, field))
        }) {
            Some(x) => x,
            None => (self.target_type, self.target_type_field.clone()),
        }
    }

    /// Whether any target group uses the Ingress's own target type (a
    /// Service outside the task is assumed to; with no Service backend at
    /// all the Ingress's value is checked as before).
    fn ingress_target_type_used(&self) -> bool {
        let refs = self.service_backends();
        self.class_target_type
            || refs.is_empty()
            || refs.iter().any(|b| {
                self.service(&b.service).is_none_or(|svc| {
                    !svc.annotations
                        .contains_key(&format!("{ANNOTATION_PREFIX}target-type"))
                })
            })
    }

    /// The Service references the controller resolves: every backend that
    /// names a Service, and for `use-annotation` backends the Services their
    /// forward action lists. A redirect or fixed-response action reaches no
    /// Service (pkg/ingress/enhanced_backend_builder.go: Build,
    /// loadBackendServices).
    pub fn service_backends(&self) -> Vec<Backend> {
        let mut out = Vec::new();
        for b in self.backends() {
            if !b.is_action() {
                out.push(b.clone());
                continue;
            }
            let Some(a) = self.annotation(&format!("actions.{}", b.service)) else {
                continue;
            };
            out.extend(forward_services(&a.value, &a.field));
        }
        out
    }
}

/// A JSON object's field as Go's encoding/json finds it: the exact key,
/// else one equal ignoring case (the controller parses `actions.*` and
/// `conditions.*` with json.Unmarshal).
pub fn go_field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let m = v.as_object()?;
    m.get(key)
        .or_else(|| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}

/// The `serviceName`/`servicePort` pairs of an `actions.*` forward action;
/// a string port is read as a number when it is one, as the controller's
/// normalizeServicePortForBackwardsCompatibility does.
fn forward_services(json_text: &str, field: &str) -> Vec<Backend> {
    let Ok(v) = serde_json::from_str::<Value>(json_text) else {
        return Vec::new();
    };
    if go_field(&v, "type").and_then(Value::as_str) != Some("forward") {
        return Vec::new();
    }
    let groups = go_field(&v, "forwardConfig")
        .and_then(|c| go_field(c, "targetGroups"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    groups
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let at = format!("{field}.forwardConfig.targetGroups[{i}]");
            Some(Backend {
                service: go_field(t, "serviceName")?.as_str()?.to_string(),
                port: go_field(t, "servicePort").and_then(Port::parse)?,
                port_field: format!("{at}.servicePort"),
                field: at,
            })
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct IngressClass {
    pub name: String,
    pub present: bool,
    pub params: Option<Map<String, Value>>,
    pub is_default: bool,
    /// False when netcheck only needs the name.
    pub managed: bool,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub class: IngressClass,
    pub apps: Vec<App>,
}

// ------------------------------------------------------- typed annotations

#[derive(Clone, Copy)]
enum Conv {
    Str,
    Int,
    Bool,
    List,
    StringMap,
    ListenPorts,
}

/// Typed option → annotation suffix. Order is the order written.
const TYPED: &[(&str, &str, Conv)] = &[
    ("scheme", "scheme", Conv::Str),
    ("target_type", "target-type", Conv::Str),
    ("listen_ports", "listen-ports", Conv::ListenPorts),
    ("certificate_arn", "certificate-arn", Conv::List),
    ("ssl_redirect", "ssl-redirect", Conv::Int),
    ("group_name", "group.name", Conv::Str),
    ("group_order", "group.order", Conv::Int),
    ("healthcheck_path", "healthcheck-path", Conv::Str),
    ("healthcheck_port", "healthcheck-port", Conv::Str),
    ("healthcheck_protocol", "healthcheck-protocol", Conv::Str),
    (
        "healthcheck_interval_seconds",
        "healthcheck-interval-seconds",
        Conv::Int,
    ),
    (
        "healthcheck_timeout_seconds",
        "healthcheck-timeout-seconds",
        Conv::Int,
    ),
    (
        "healthy_threshold_count",
        "healthy-threshold-count",
        Conv::Int,
    ),
    (
        "unhealthy_threshold_count",
        "unhealthy-threshold-count",
        Conv::Int,
    ),
    ("success_codes", "success-codes", Conv::Str),
    ("subnets", "subnets", Conv::List),
    ("security_groups", "security-groups", Conv::List),
    (
        "manage_backend_security_group_rules",
        "manage-backend-security-group-rules",
        Conv::Bool,
    ),
    ("inbound_cidrs", "inbound-cidrs", Conv::List),
    ("ip_address_type", "ip-address-type", Conv::Str),
    ("backend_protocol", "backend-protocol", Conv::Str),
    (
        "backend_protocol_version",
        "backend-protocol-version",
        Conv::Str,
    ),
    ("load_balancer_name", "load-balancer-name", Conv::Str),
    (
        "load_balancer_attributes",
        "load-balancer-attributes",
        Conv::StringMap,
    ),
    (
        "target_group_attributes",
        "target-group-attributes",
        Conv::StringMap,
    ),
    ("tags", "tags", Conv::StringMap),
];

/// Names of the typed annotation options, for specs and docs.
pub fn typed_option_names() -> impl Iterator<Item = &'static str> {
    TYPED.iter().map(|(o, _, _)| *o)
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn typed_value(conv: Conv, v: &Value, field: &str, f: &mut Findings) -> Option<String> {
    Some(match conv {
        Conv::Str | Conv::Int | Conv::Bool => scalar_string(v),
        Conv::List => match v {
            Value::Array(a) => a
                .iter()
                .map(|x| scalar_string(x).trim().to_string())
                .collect::<Vec<_>>()
                .join(","),
            other => scalar_string(other),
        },
        Conv::StringMap => match v {
            Value::Object(m) => {
                for (k, val) in m {
                    let val = scalar_string(val);
                    // ParseStringMapAnnotation splits a pair at its first '='.
                    if k.trim().is_empty() {
                        f.error(
                            format!("{field}.{k}"),
                            format!(
                                "'{k}={val}' has an empty key: failed to parse stringMap \
                                 annotation. {LBC_FAILS}"
                            ),
                            "use plain keys and values, e.g. {env: prod, team: web}.",
                        );
                    } else if let Some((head, tail)) = k.split_once('=') {
                        f.error(
                            format!("{field}.{k}"),
                            format!(
                                "key '{k}' contains '=': the controller splits each pair at its \
                                 first '=' and would read key '{head}' with value \
                                 '{tail}={val}'."
                            ),
                            "use a key without '=', e.g. {env: prod, team: web}.",
                        );
                    }
                }
                // Commas and backslashes escaped, as splitKeyValuePairs reads them.
                m.iter()
                    .map(|(k, val)| {
                        format!(
                            "{}={}",
                            rules::escape_stringmap(k),
                            rules::escape_stringmap(&scalar_string(val))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            }
            other => scalar_string(other),
        },
        Conv::ListenPorts => {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            // Canonical form when valid; the checks report the broken text.
            match rules::parse_listen_ports(field, &text) {
                Ok(l) => rules::render_listen_ports(&l),
                Err(_) => text,
            }
        }
    })
}

// ------------------------------------------------------------------ parsing

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn int(v: &Value, k: &str) -> Option<i64> {
    v.get(k).and_then(Value::as_i64)
}

fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn map(v: &Value, k: &str) -> Map<String, Value> {
    v.get(k)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn string_map(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .map(|(k, v)| (k.clone(), Value::String(scalar_string(v))))
        .collect()
}

/// Parses `ingress_class` (absent: class `alb`, managed) and `ingresses`.
pub fn parse_plan(p: &Params, net: &Network, manage_class: bool, f: &mut Findings) -> Plan {
    let class_v = p.get("ingress_class").cloned().unwrap_or(json!({}));
    let class = IngressClass {
        name: s(&class_v, "name").unwrap_or("alb").to_string(),
        present: s(&class_v, "state") != Some("absent"),
        params: class_v
            .get("params")
            .and_then(Value::as_object)
            .cloned()
            .filter(|m| !m.is_empty()),
        is_default: class_v
            .get("is_default")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        managed: manage_class,
    };
    if manage_class {
        check_class(&class, net, f);
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
    let class_annotation = p.bool("ingress_class_annotation");
    let mut apps = Vec::new();
    for (i, v) in p.list("ingresses").iter().enumerate() {
        apps.push(parse_app(
            &format!("ingresses[{i}]"),
            v,
            &class,
            class_annotation,
            net,
            f,
        ));
    }
    check_across_apps(&apps, f);
    super::group::check(
        &super::group::task_members(&apps, class.params.as_ref()),
        &[],
        f,
    );
    Plan { class, apps }
}

fn parse_app(
    at: &str,
    v: &Value,
    class: &IngressClass,
    class_annotation: bool,
    net: &Network,
    f: &mut Findings,
) -> App {
    let name = s(v, "name").unwrap_or_default().to_string();
    let namespace = s(v, "namespace").unwrap_or("default").to_string();
    let present = s(v, "state") != Some("absent");
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
    for (opt, suffix, conv) in TYPED {
        let Some(val) = v.get(*opt).filter(|x| !x.is_null()) else {
            continue;
        };
        let field = format!("{at}.{opt}");
        if let Some(value) = typed_value(*conv, val, &field, f) {
            annotations.push(Annotation {
                key: format!("{ANNOTATION_PREFIX}{suffix}"),
                value,
                field,
            });
        }
    }
    for (key, val) in map(v, "annotations") {
        let field = format!("{at}.annotations[\"{key}\"]");
        let value = scalar_string(&val);
        match annotations.iter().find(|a| a.key == key) {
            Some(a) if a.value == value => {}
            Some(a) => f.error(
                field,
                format!(
                    "{key} is '{value}' here but '{}' from {}; only one value can be written, \
                     and the wrong one would silently win.",
                    a.value, a.field
                ),
                format!("set it in one place only (preferably {}).", a.field),
            ),
            None => annotations.push(Annotation { key, value, field }),
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
            annotations.insert(
                usize::from(class_annotation)
                    + usize::from(v.get("scheme").is_some_and(|x| !x.is_null())),
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

    let backend = |bv: &Value, field: String, f: &mut Findings| -> Option<Backend> {
        let service = s(bv, "service_name").unwrap_or_default().to_string();
        let port_field = format!("{field}.service_port");
        let port = match bv.get("service_port").and_then(Port::parse) {
            Some(p) => p,
            None => {
                f.error(
                    &port_field,
                    format!("port name or number is required. {API_REJECTS}"),
                    "set service_port to the Service's port number (e.g. 80) or its port name.",
                );
                return None;
            }
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
            Port::Name(n) => {
                if let Some(x) = rules::check_port_name(&port_field, n) {
                    f.push(x);
                }
            }
            _ => {}
        }
        Some(Backend {
            service,
            port,
            field,
            port_field,
        })
    };

    let mut rules_out = Vec::new();
    for (ri, rv) in list(v, "rules").iter().enumerate() {
        let rf = format!("{at}.rules[{ri}]");
        let host = s(rv, "host").filter(|h| !h.is_empty()).map(str::to_string);
        if let Some(h) = &host
            && let Some(x) = rules::check_host(&format!("{rf}.host"), h)
        {
            f.push(x);
        }
        let mut paths = Vec::new();
        for (pi, pv) in list(rv, "paths").iter().enumerate() {
            let pf = format!("{rf}.paths[{pi}]");
            let path = s(pv, "path").unwrap_or("/").to_string();
            let path_type = s(pv, "path_type").unwrap_or("Prefix").to_string();
            f.extend(rules::check_path(&format!("{pf}.path"), &path, &path_type));
            if let Some(b) = backend(pv, pf, f) {
                paths.push(PathRule {
                    path,
                    path_type,
                    backend: b,
                });
            }
        }
        rules_out.push(Rule { host, paths });
    }
    let default_backend = v
        .get("default_backend")
        .filter(|d| d.is_object())
        .and_then(|d| backend(d, format!("{at}.default_backend"), f));
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

    let services = list(v, "services")
        .iter()
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

    let app = App {
        name,
        namespace,
        present,
        class_name: class.name.clone(),
        annotations,
        labels: string_map(&map(v, "labels")),
        rules: rules_out,
        default_backend,
        services,
        target_type,
        target_type_field,
        class_target_type,
        field: at.to_string(),
    };
    if present {
        check_app(&app, v, class, net, f);
    }
    app
}

fn parse_service(
    at: &str,
    v: &Value,
    namespace: &str,
    // The Ingress's effective target type, and the class whose
    // IngressClassParams set it (then no annotation counts).
    (target_type, class_tt): (TargetType, Option<&str>),
    net: &Network,
    f: &mut Findings,
) -> Service {
    let name = s(v, "name").unwrap_or_default().to_string();
    if let Some(p) = dns1035_problem(&name) {
        f.error(
            format!("{at}.name"),
            format!("Service name '{name}' is invalid: {p}. {API_REJECTS}"),
            "use lower case letters, digits and '-', starting with a letter, e.g. app-service.",
        );
    }
    // The Service's own target-type annotation wins over the Ingress's,
    // IngressClassParams' targetType over both (buildTargetGroupTargetType).
    let own_tt = v
        .get("annotations")
        .filter(|_| class_tt.is_none())
        .and_then(|a| a.get(format!("{ANNOTATION_PREFIX}target-type")))
        .and_then(Value::as_str)
        .and_then(TargetType::parse);
    let type_ = s(v, "type").map(str::to_string).unwrap_or_else(|| {
        match own_tt.unwrap_or(target_type) {
            TargetType::Instance => "NodePort",
            TargetType::Ip => "ClusterIP",
        }
        .to_string()
    });
    let proto_default = s(v, "protocol").unwrap_or("TCP").to_string();
    let mut ports = Vec::new();
    let multi = list(v, "ports");
    if !multi.is_empty() {
        for key in ["port", "target_port", "node_port", "port_name"] {
            if v.get(key).is_some_and(|x| !x.is_null()) {
                f.error(
                    format!("{at}.{key}"),
                    format!(
                        "{key} is set together with ports; with a ports list every port is \
                         described there, so this value would be ignored."
                    ),
                    format!("move {key} into the entries of {at}.ports."),
                );
            }
        }
        for (i, pv) in multi.iter().enumerate() {
            ports.push(ServicePort {
                name: s(pv, "name").map(str::to_string),
                port: int(pv, "port").unwrap_or(0),
                target_port: pv.get("target_port").and_then(Port::parse),
                node_port: int(pv, "node_port"),
                protocol: s(pv, "protocol").unwrap_or(&proto_default).to_string(),
                field: format!("{at}.ports[{i}]"),
            });
        }
    } else if let Some(port) = int(v, "port") {
        ports.push(ServicePort {
            name: s(v, "port_name").map(str::to_string),
            port,
            target_port: v.get("target_port").and_then(Port::parse),
            node_port: int(v, "node_port"),
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
        if let Some(tp) = &sp.target_port
            && let Some(x) = rules::check_target_port(&pf("target_port"), tp.as_ref())
        {
            f.push(x);
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
            if type_ == "ClusterIP" {
                f.error(
                    pf("node_port"),
                    format!(
                        "spec.ports[].nodePort: Forbidden: may not be used when `type` is \
                         'ClusterIP'. {API_REJECTS}"
                    ),
                    "drop node_port, or make the Service type NodePort.",
                );
            } else if let Some(x) =
                rules::check_node_port(&pf("node_port"), np, net.node_port_range)
            {
                f.push(x);
            }
        }
    }
    let names: Vec<Option<&str>> = ports.iter().map(|p| p.name.as_deref()).collect();
    f.extend(rules::check_ports_named(&format!("{at}.ports"), &names));

    let etp = s(v, "external_traffic_policy").map(str::to_string);
    if etp.is_some() && type_ == "ClusterIP" {
        f.error(
            format!("{at}.external_traffic_policy"),
            format!(
                "spec.externalTrafficPolicy: Invalid value: may only be set for \
                 externally-accessible services. {API_REJECTS}"
            ),
            "drop external_traffic_policy, or make the Service type NodePort.",
        );
    }
    let selector = string_map(&map(v, "selector"));
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
    let annotations = string_map(&map(v, "annotations"));
    let tt_key = format!("{ANNOTATION_PREFIX}target-type");
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
            None => match rules::check_target_type(&field, tt) {
                Some(x) => f.push(x),
                None => check_target_type_against_network(&field, TargetType::parse(tt), net, f),
            },
        }
    }
    Service {
        name,
        namespace: namespace.to_string(),
        type_,
        ports,
        selector,
        external_traffic_policy: etp,
        labels: string_map(&map(v, "labels")),
        annotations,
        field: at.to_string(),
    }
}

// ------------------------------------------------------------------- checks

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

fn ann_int(a: &Annotation, f: &mut Findings) -> Option<i64> {
    ann_int_then(a, f, "", LBC_FAILS)
}

/// ParseInt32Annotation; `prefix` and `then` say where and what it fails.
fn ann_int_then(a: &Annotation, f: &mut Findings, prefix: &str, then: &str) -> Option<i64> {
    // strconv.ParseInt(raw, 10, 32): no spaces, an optional sign.
    match a.value.parse::<i32>() {
        Ok(n) => Some(i64::from(n)),
        Err(_) => {
            f.error(
                &a.field,
                format!(
                    "{prefix}failed to parse int32 annotation, {}: {}. {then}",
                    a.key, a.value
                ),
                "write a whole number.",
            );
            None
        }
    }
}

fn ann_list(a: &Annotation) -> Vec<&str> {
    a.value
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect()
}

fn check_app(app: &App, v: &Value, class: &IngressClass, net: &Network, f: &mut Findings) {
    let get = |suffix: &str| app.annotation(suffix);
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
    let one = |suffix: &str, f: &mut Findings, check: &dyn Fn(&str, &str) -> Option<Finding>| {
        if let Some(a) = get(suffix)
            && let Some(x) = check(&a.field, &a.value)
        {
            f.push(x);
        }
    };
    one("scheme", f, &rules::check_scheme);
    one("ip-address-type", f, &rules::check_ip_address_type);
    one("backend-protocol", f, &rules::check_backend_protocol);
    one(
        "backend-protocol-version",
        f,
        &rules::check_backend_protocol_version,
    );
    one(
        "healthcheck-protocol",
        f,
        &rules::check_healthcheck_protocol,
    );
    one("healthcheck-path", f, &rules::check_healthcheck_path);
    one("healthcheck-port", f, &rules::check_healthcheck_port);
    one("group.name", f, &rules::check_group_name);
    one("load-balancer-name", f, &rules::check_load_balancer_name);
    for suffix in [
        "load-balancer-attributes",
        "target-group-attributes",
        "tags",
    ] {
        let key = format!("{ANNOTATION_PREFIX}{suffix}");
        one(suffix, f, &|field, value| {
            rules::check_stringmap(field, &key, value)
        });
    }
    if let Some(a) = get("manage-backend-security-group-rules")
        && !matches!(
            a.value.as_str(),
            "1" | "t"
                | "T"
                | "TRUE"
                | "true"
                | "True"
                | "0"
                | "f"
                | "F"
                | "FALSE"
                | "false"
                | "False"
        )
    {
        f.error(
            &a.field,
            format!(
                "failed to parse bool annotation, {}: {}. {LBC_FAILS}",
                a.key, a.value
            ),
            "write true or false.",
        );
    }

    // Target type against the network: the seed's central rule, for the
    // value the target groups really get (a Service's annotation wins).
    match get("target-type") {
        // Under IngressClassParams' targetType the annotation is never
        // parsed (parse_app warns that it is overridden), and the class's
        // value is judged once, on the class (parse_plan), not per Ingress.
        _ if app.class_target_type => {}
        Some(a) => match rules::check_target_type(&a.field, &a.value) {
            Some(x) => f.push(x),
            None if app.ingress_target_type_used() => check_target_type_against_network(
                &app.target_type_field,
                Some(app.target_type),
                net,
                f,
            ),
            None => {}
        },
        None => {
            check_target_type_against_network(&app.target_type_field, Some(app.target_type), net, f)
        }
    }
    for svc in &app.services {
        if app.target_type_for(&svc.name).0 == TargetType::Instance && svc.type_ == "ClusterIP" {
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
        let discovery_requested = v
            .get("certificate_discovery")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let cert_field = get("certificate-arn")
            .map(|a| a.field.clone())
            .unwrap_or(field);
        let cert_field = if class_certs.is_empty() {
            cert_field
        } else {
            "ingress_class.params.certificateArn".to_string()
        };
        for x in rules::check_https_certificate(&cert_field, listeners, &certs, hosts) {
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
            && !super::group::in_explicit_group(app, class.params.as_ref())
        {
            let why = match u16::try_from(p) {
                Ok(p) => {
                    rules::check_ssl_redirect("ingress_class.params.sslRedirectPort", p, listeners)
                }
                Err(_) => Some(Finding::error(
                    "ingress_class.params.sslRedirectPort",
                    format!("listener does not exist for SSLRedirect port: {p}. {LBC_FAILS}"),
                    "set sslRedirectPort to the HTTPS listener's port (usually 443).",
                )),
            };
            if let Some(mut x) = why {
                x.problem = format!("Ingress {}/{}: {}", app.namespace, app.name, x.problem);
                f.push(x);
            }
        }
        // In an explicit group the redirect applies to the group's merged
        // listeners: judged there (group.rs, buildSSLRedirectConfig).
        if let Some(a) = get("ssl-redirect")
            && let Some(port) = ann_int(a, f)
            && class_redirect.is_none()
            && !super::group::in_explicit_group(app, class.params.as_ref())
        {
            match u16::try_from(port) {
                Ok(p) => {
                    if let Some(x) = rules::check_ssl_redirect(&a.field, p, listeners) {
                        f.push(x);
                    }
                }
                Err(_) => f.error(
                    &a.field,
                    format!("listener does not exist for SSLRedirect port: {port}. {LBC_FAILS}"),
                    "set ssl_redirect to the HTTPS listener's port (usually 443).",
                ),
            }
        }
    }

    // sortGroupMembers, while the group is loaded: no model is built at all.
    if let Some(a) = get("group.order")
        && let Some(n) = ann_int_then(
            a,
            f,
            &format!(
                "failed to load Ingress group order for ingress: {}/{}: ",
                app.namespace, app.name
            ),
            "The controller then fails to load the whole group (a reconcile error in its log, \
             no Event), so no member's rules reach the ALB.",
        )
        && let Some(x) = rules::check_group_order(&a.field, n)
    {
        f.push(x);
    }

    // Health checks: AWS's ranges, which the controller passes through unchecked.
    let interval = get("healthcheck-interval-seconds").and_then(|a| ann_int(a, f).map(|n| (n, a)));
    let timeout = get("healthcheck-timeout-seconds").and_then(|a| ann_int(a, f).map(|n| (n, a)));
    let mut interval_bad = false;
    if let Some((n, a)) = interval
        && let Some(x) = rules::check_healthcheck_interval(&a.field, n)
    {
        interval_bad = x.is_error();
        f.push(x);
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
        if let Some(x) = rules::check_healthcheck_timeout(&field, t, i) {
            f.push(x);
        }
    }
    for suffix in ["healthy-threshold-count", "unhealthy-threshold-count"] {
        if let Some(a) = get(suffix)
            && let Some(n) = ann_int(a, f)
            && let Some(x) = rules::check_healthcheck_threshold(&a.field, n)
        {
            f.push(x);
        }
    }
    let grpc = get("backend-protocol-version").is_some_and(|a| a.value == "GRPC");
    if let Some(a) = get("success-codes")
        && let Some(x) = rules::check_success_codes(&a.field, &a.value, grpc)
    {
        f.push(x);
    }
    check_backend_target_groups(app, f);
    check_service_target_group_annotations(app, f);
    super::actions::check(app, f);

    // Network placement of the ALB.
    if let Some(a) = get("subnets") {
        f.extend(rules::check_subnets(&a.field, &ann_list(a)));
    }
    if let Some(a) = get("security-groups") {
        f.extend(rules::check_security_groups(&a.field, &ann_list(a)));
    }
    if let Some(a) = get("inbound-cidrs") {
        f.extend(rules::check_inbound_cidrs(&a.field, &ann_list(a)));
        if get("security-groups").is_some() {
            f.warning(
                &a.field,
                "inbound-cidrs is ignored when security-groups is set: the controller only \
                 writes inbound rules to the security group it creates itself.",
                "allow these CIDRs in your own ALB security group, or drop security_groups.",
            );
        }
    }

    // Backends: each must reach a port of a Service this task defines.
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

    // IngressClassParams fields override the Ingress's annotations.
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
fn check_service_target_group_annotations(app: &App, f: &mut Findings) {
    type Check = fn(&str, &str) -> Option<Finding>;
    const ONE: &[(&str, Check)] = &[
        ("backend-protocol", rules::check_backend_protocol),
        (
            "backend-protocol-version",
            rules::check_backend_protocol_version,
        ),
        ("healthcheck-protocol", rules::check_healthcheck_protocol),
        ("healthcheck-path", rules::check_healthcheck_path),
        ("healthcheck-port", rules::check_healthcheck_port),
    ];
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
        for (suffix, check) in ONE {
            if let Some(a) = own(suffix)
                && let Some(x) = check(&a.field, &a.value)
            {
                f.push(x);
            }
        }
        // Success codes: gRPC's range when the effective version is GRPC.
        if own("success-codes").is_some() || own("backend-protocol-version").is_some() {
            let grpc = app
                .tg_annotation(Some(svc), "backend-protocol-version")
                .is_some_and(|(v, _)| v == "GRPC");
            if let Some((v, field)) = app.tg_annotation(Some(svc), "success-codes")
                && let Some(x) = rules::check_success_codes(&field, &v, grpc)
                && (own("success-codes").is_some() || x.problem.contains("gRPC"))
            {
                f.push(x);
            }
        }
        for suffix in ["target-group-attributes", "tags"] {
            if let Some(a) = own(suffix)
                && let Some(x) = rules::check_stringmap(&a.field, &a.key, &a.value)
            {
                f.push(x);
            }
        }
        for suffix in ["healthy-threshold-count", "unhealthy-threshold-count"] {
            if let Some(a) = own(suffix)
                && let Some(n) = ann_int(&a, f)
                && let Some(x) = rules::check_healthcheck_threshold(&a.field, n)
            {
                f.push(x);
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
        if let Some(a) = &interval_own
            && let Some(x) = rules::check_healthcheck_interval(&a.field, i)
        {
            interval_bad = true;
            f.push(x);
        }
        // An Ingress timeout out of range is the Ingress's finding already.
        if !interval_bad && (timeout_own.is_some() || (2..=120).contains(&t)) {
            let field = if timeout_own.is_some() {
                t_field
            } else {
                i_field
            };
            if let Some(x) = rules::check_healthcheck_timeout(&field, t, i) {
                f.push(x);
            }
        }
    }
}

/// Per target group (backend Service and port), on the effective
/// annotations: the named health-check port and the target control port
/// (model_build_target_group.go: buildTargetGroupHealthCheckPort,
/// buildTargetGroupSpec).
fn check_backend_target_groups(app: &App, f: &mut Findings) {
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
        && let Some(x) = rules::check_group_name("ingress_class.params.group.name", v)
    {
        f.push(x);
    }
    if let Some(v) = params.get("inboundCIDRs").and_then(Value::as_array) {
        let c: Vec<&str> = v.iter().filter_map(Value::as_str).collect();
        f.extend(rules::check_inbound_cidrs(
            "ingress_class.params.inboundCIDRs",
            &c,
        ));
    }
    if let Some(v) = params.get("certificateArn").and_then(Value::as_array) {
        for (i, arn) in v.iter().filter_map(Value::as_str).enumerate() {
            if let Some(x) = rules::check_certificate_arn(
                &format!("ingress_class.params.certificateArn[{i}]"),
                arn,
            ) {
                f.push(x);
            }
        }
    }
    if let Some(v) = str_field("loadBalancerName")
        && let Some(x) = rules::check_load_balancer_name("ingress_class.params.loadBalancerName", v)
    {
        f.push(x);
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

fn check_across_apps(apps: &[App], f: &mut Findings) {
    let mut ingresses = HashSet::new();
    let mut services: HashMap<(&str, &str), &Service> = HashMap::new();
    let mut node_ports: HashMap<i64, String> = HashMap::new();
    for app in apps {
        if !ingresses.insert((app.namespace.as_str(), app.name.as_str())) {
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
fn check_object_name(field: &str, kind: &str, name: &str, f: &mut Findings) {
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

fn dns1123_label_problem(s: &str) -> Option<&'static str> {
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

fn dns1035_problem(s: &str) -> Option<&'static str> {
    dns1123_label_problem(s).or_else(|| {
        (!s.starts_with(|c: char| c.is_ascii_lowercase())).then_some(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', \
             start with an alphabetic character, and end with an alphanumeric character",
        )
    })
}

// ---------------------------------------------------------------- live state

fn node_ports_of(obj: &Value) -> Vec<i64> {
    obj["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["nodePort"].as_i64())
        .collect()
}

fn ns_name(obj: &Value) -> (String, String) {
    (
        obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// Checks against the cluster's Services (one LIST over all namespaces):
/// fixed node ports another Service holds, and backends outside this task.
pub fn check_live_services(plan: &Plan, live: &[Value], f: &mut Findings) {
    let ours: HashSet<(String, String)> = plan
        .apps
        .iter()
        .filter(|a| a.present)
        .flat_map(|a| a.services.iter())
        .map(|s| (s.namespace.clone(), s.name.clone()))
        .collect();
    let mut taken: HashMap<i64, String> = HashMap::new();
    for obj in live {
        let (ns, name) = ns_name(obj);
        if ours.contains(&(ns.clone(), name.clone())) {
            continue;
        }
        for np in node_ports_of(obj) {
            taken.insert(np, format!("{ns}/{name}"));
        }
    }
    let by_name: HashMap<(String, String), &Value> = live.iter().map(|o| (ns_name(o), o)).collect();
    for app in plan.apps.iter().filter(|a| a.present) {
        for svc in &app.services {
            for p in &svc.ports {
                if let Some(np) = p.node_port
                    && let Some(owner) = taken.get(&np)
                {
                    f.error(
                        format!("{}.node_port", p.field),
                        format!(
                            "spec.ports[].nodePort: Invalid value: {np}: provided port is \
                             already allocated (by Service {owner}). {API_REJECTS}"
                        ),
                        "pick a free port in the node port range, or omit node_port to let \
                         Kubernetes assign one.",
                    );
                }
            }
        }
        for b in &app.service_backends() {
            if app.service(&b.service).is_some() {
                continue;
            }
            let key = (app.namespace.clone(), b.service.clone());
            match by_name.get(&key) {
                None => f.warning(
                    &b.field,
                    format!(
                        "Service {}/{} is neither in this task nor in the cluster; the \
                         controller answers the route with a fixed 503 \"Backend service does \
                         not exist\" (--tolerate-non-existent-backend-service, default true; \
                         a forward to several target groups fails the group's build instead).",
                        app.namespace, b.service
                    ),
                    "add the Service to services of this ingress, or create it first.",
                ),
                Some(obj) => {
                    let ty = obj["spec"]["type"].as_str().unwrap_or("ClusterIP");
                    // The live Service's own target-type wins, as for ours.
                    let tt = obj["metadata"]["annotations"]
                        [format!("{ANNOTATION_PREFIX}target-type")]
                    .as_str()
                    .and_then(TargetType::parse)
                    .filter(|_| !app.class_target_type)
                    .unwrap_or(app.target_type);
                    if tt == TargetType::Instance && !matches!(ty, "NodePort" | "LoadBalancer") {
                        f.error(
                            &b.field,
                            // buildTargetGroupSpec finds no NodePort on it.
                            format!(
                                "TargetGroup port is empty. When using Instance targets, your \
                                 service be must of type 'NodePort' or 'LoadBalancer' (Service \
                                 {}/{} is {ty}): with instance targets the ALB sends traffic \
                                 to a node port, and this Service opens none. {LBC_FAILS}",
                                app.namespace, b.service
                            ),
                            "make that Service type NodePort, or define it under services of \
                             this ingress so netpath manages it.",
                        );
                    }
                }
            }
        }
    }
}

/// Checks against existing IngressClasses: `spec.controller` is immutable,
/// and two default classes make class-less Ingresses ambiguous.
pub fn check_live_classes(plan: &Plan, live: &[Value], f: &mut Findings) {
    let class = &plan.class;
    if !class.managed || !class.present {
        return;
    }
    for obj in live {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let controller = obj["spec"]["controller"].as_str().unwrap_or_default();
        if name == class.name && controller != CONTROLLER {
            f.error(
                "ingress_class.name",
                format!(
                    "IngressClass {name} exists with spec.controller {controller}, and \
                     spec.controller is immutable: the API server would refuse the update, \
                     and Ingresses of this class would never reach the ALB controller."
                ),
                "choose another ingress_class.name (and ingress class for the Ingresses), or \
                 delete the existing IngressClass first.",
            );
        }
        if class.is_default
            && name != class.name
            && obj["metadata"]["annotations"][DEFAULT_CLASS_ANNOTATION] == "true"
        {
            f.warning(
                "ingress_class.is_default",
                format!(
                    "IngressClass {name} is already the default; with two defaults, Ingresses \
                     without a class are refused (\"multiple default IngressClasses found\")."
                ),
                format!("unset the default annotation on {name}, or set is_default: false."),
            );
        }
    }
}

// ---------------------------------------------------------------- rendering

fn port_json(p: &Port) -> Value {
    match p {
        Port::Number(n) => json!({"number": n}),
        Port::Name(s) => json!({"name": s}),
    }
}

fn backend_json(b: &Backend) -> Value {
    json!({"service": {"name": b.service, "port": port_json(&b.port)}})
}

pub fn render_ingress(app: &App) -> Value {
    let annotations: Map<String, Value> = app
        .annotations
        .iter()
        .map(|a| (a.key.clone(), Value::String(a.value.clone())))
        .collect();
    let mut metadata =
        json!({"name": app.name, "namespace": app.namespace, "annotations": annotations});
    if !app.labels.is_empty() {
        metadata["labels"] = Value::Object(app.labels.clone());
    }
    let mut spec = json!({"ingressClassName": app.class_name});
    if let Some(b) = &app.default_backend {
        spec["defaultBackend"] = backend_json(b);
    }
    let rules: Vec<Value> = app
        .rules
        .iter()
        .map(|r| {
            let mut rule = Map::new();
            if let Some(h) = &r.host {
                rule.insert("host".into(), json!(h));
            }
            if !r.paths.is_empty() {
                let paths: Vec<Value> = r
                    .paths
                    .iter()
                    .map(|p| json!({"path": p.path, "pathType": p.path_type, "backend": backend_json(&p.backend)}))
                    .collect();
                rule.insert("http".into(), json!({"paths": paths}));
            }
            Value::Object(rule)
        })
        .collect();
    if !rules.is_empty() {
        spec["rules"] = Value::Array(rules);
    }
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec})
}

pub fn render_service(svc: &Service) -> Value {
    let mut metadata = json!({"name": svc.name, "namespace": svc.namespace});
    if !svc.labels.is_empty() {
        metadata["labels"] = Value::Object(svc.labels.clone());
    }
    if !svc.annotations.is_empty() {
        metadata["annotations"] = Value::Object(svc.annotations.clone());
    }
    let ports: Vec<Value> = svc
        .ports
        .iter()
        .map(|p| {
            let mut m = Map::new();
            if let Some(n) = &p.name {
                m.insert("name".into(), json!(n));
            }
            m.insert("port".into(), json!(p.port));
            if let Some(tp) = &p.target_port {
                m.insert("targetPort".into(), tp.to_json());
            }
            if let Some(np) = p.node_port.filter(|n| *n != 0) {
                m.insert("nodePort".into(), json!(np));
            }
            m.insert("protocol".into(), json!(p.protocol));
            Value::Object(m)
        })
        .collect();
    let mut spec = json!({"type": svc.type_});
    if !svc.selector.is_empty() {
        spec["selector"] = Value::Object(svc.selector.clone());
    }
    spec["ports"] = Value::Array(ports);
    if let Some(etp) = &svc.external_traffic_policy {
        spec["externalTrafficPolicy"] = json!(etp);
    }
    json!({"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec})
}

pub fn render_class(class: &IngressClass) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(params) = &class.params {
        out.push(json!({
            "apiVersion": PARAMS_API_VERSION,
            "kind": "IngressClassParams",
            "metadata": {"name": class.name},
            "spec": params,
        }));
    }
    let mut metadata = json!({"name": class.name});
    if class.is_default {
        metadata["annotations"] = json!({DEFAULT_CLASS_ANNOTATION: "true"});
    }
    let mut spec = json!({"controller": CONTROLLER});
    if class.params.is_some() {
        spec["parameters"] =
            json!({"apiGroup": PARAMS_API_GROUP, "kind": "IngressClassParams", "name": class.name});
    }
    out.push(json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": metadata, "spec": spec}));
    out
}

/// Every object of the plan, in apply order, with its desired state.
pub fn render(plan: &Plan) -> Vec<Desired> {
    let mut out = Vec::new();
    if plan.class.managed {
        for o in render_class(&plan.class) {
            out.push(if plan.class.present {
                Desired::present(o)
            } else {
                Desired::absent(o)
            });
        }
    }
    let mut seen = HashSet::new();
    for app in &plan.apps {
        for svc in &app.services {
            if !seen.insert((svc.namespace.clone(), svc.name.clone())) {
                continue;
            }
            let o = render_service(svc);
            out.push(if app.present {
                Desired::present(o)
            } else {
                Desired::absent(o)
            });
        }
        let o = render_ingress(app);
        out.push(if app.present {
            Desired::present(o)
        } else {
            Desired::absent(o)
        });
    }
    out
}

/// Node ports each Service of the plan has, from live objects when known.
pub fn assigned_node_ports(svc: &Service, live: Option<&Value>) -> BTreeMap<i64, Option<i64>> {
    svc.ports
        .iter()
        .map(|p| {
            let from_live = live.and_then(|l| {
                l["spec"]["ports"].as_array()?.iter().find(|lp| {
                    lp["port"].as_i64() == Some(p.port)
                        && lp["protocol"].as_str().unwrap_or("TCP") == p.protocol
                })?["nodePort"]
                    .as_i64()
            });
            (p.port, from_live.or(p.node_port.filter(|n| *n != 0)))
        })
        .collect()
}

#[cfg(test)]
mod tests;
