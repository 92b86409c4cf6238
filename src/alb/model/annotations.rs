//! One definition per typed annotation option (ripgrep's one `Flag` per
//! flag): the option's name, the annotation it writes, how its value becomes
//! the annotation's text, its documentation, and its rule. The module's
//! option specs (and so its docs), the options' deserialisation, the
//! annotations written and the checks all come from `ANNOTATIONS`.

use super::args::scalar_string;
use super::check::check_target_type_against_network;
use super::types::{Annotation, IngressClass, IngressSpec};
use super::{ANNOTATION_PREFIX, LBC_FAILS};
use crate::alb::rules;
use crate::net::network::Network;
use crate::protocol::{Kind, OptSpec};
use crate::validate::Findings;
use serde_json::Value;

/// How an option's value becomes the annotation's text.
#[derive(Debug, Clone, Copy)]
pub enum Conv {
    /// A string, written as is.
    Str,
    /// An int, written in decimal.
    Int,
    /// A bool, written `true`/`false`.
    Bool,
    /// A list of strings, written comma-separated.
    List,
    /// A dict, written `k=v,k2=v2` (the controller's stringMap).
    StringMap,
    /// A list of `{PROTOCOL: port}` or the controller's JSON text, written as
    /// the controller's JSON.
    ListenPorts,
}

impl Conv {
    /// The option's Ansible type.
    pub const fn kind(self) -> Kind {
        match self {
            Conv::Str => Kind::Str,
            Conv::Int => Kind::Int,
            Conv::Bool => Kind::Bool,
            Conv::List => Kind::List(&Kind::Str),
            Conv::StringMap => Kind::Dict,
            Conv::ListenPorts => Kind::Raw,
        }
    }

    /// Reads the validated option value (done once, when options are typed).
    pub fn read(self, v: &Value) -> AnnotationInput {
        match (self, v) {
            (Conv::List, Value::Array(a)) => AnnotationInput::List(
                a.iter()
                    .map(|x| scalar_string(x).trim().to_string())
                    .collect(),
            ),
            (Conv::StringMap, Value::Object(m)) => AnnotationInput::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), scalar_string(v)))
                    .collect(),
            ),
            (Conv::ListenPorts, Value::String(s)) => AnnotationInput::ListenPorts(s.clone()),
            (Conv::ListenPorts, other) => AnnotationInput::ListenPorts(other.to_string()),
            (_, other) => AnnotationInput::Text(scalar_string(other)),
        }
    }
}

/// A typed annotation option's value, read by its `Conv`.
#[derive(Debug, Clone, PartialEq)]
pub enum AnnotationInput {
    Text(String),
    List(Vec<String>),
    Map(Vec<(String, String)>),
    /// The listeners as JSON text, not yet checked.
    ListenPorts(String),
}

impl AnnotationInput {
    /// The annotation's text; what the controller could not read back is a
    /// finding at `field`.
    pub fn text(&self, field: &str, f: &mut Findings) -> String {
        match self {
            AnnotationInput::Text(s) => s.clone(),
            AnnotationInput::List(items) => items.join(","),
            AnnotationInput::Map(pairs) => {
                for (k, val) in pairs {
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
                pairs
                    .iter()
                    .map(|(k, val)| {
                        format!(
                            "{}={}",
                            rules::escape_stringmap(k),
                            rules::escape_stringmap(val)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            }
            // Canonical form when valid; the checks report the broken text.
            AnnotationInput::ListenPorts(text) => match rules::parse_listen_ports(field, text) {
                Ok(l) => rules::render_listen_ports(&l),
                Err(_) => text.clone(),
            },
        }
    }
}

/// What a rule sees besides the annotation: the Ingress it is on (its other
/// annotations), the class and the network.
pub struct Cx<'a> {
    pub ingress: &'a IngressSpec,
    pub class: &'a IngressClass,
    pub net: &'a Network,
}

pub type Check = fn(&Cx, &Annotation, &mut Findings);

#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// Checked on its own value (and, for `target-type`, the network).
    One(Check),
    /// Checked together with others, by the named rule of `check.rs`.
    Joint(&'static str),
}

#[derive(Debug)]
pub struct AnnotationDef {
    /// The option of an `ingresses` entry.
    pub option: &'static str,
    /// The annotation, after `alb.ingress.kubernetes.io/`.
    pub suffix: &'static str,
    pub conv: Conv,
    pub doc: &'static str,
    pub rule: Rule,
    /// A target-group setting the controller also reads from a backend
    /// Service's annotations (first), so the rule checks those too.
    pub on_service: bool,
}

impl AnnotationDef {
    pub const fn spec(&self) -> OptSpec {
        OptSpec::new(self.option, self.conv.kind()).doc(self.doc)
    }

    pub fn key(&self) -> String {
        format!("{ANNOTATION_PREFIX}{}", self.suffix)
    }
}

const fn def(
    option: &'static str,
    suffix: &'static str,
    conv: Conv,
    rule: Rule,
    doc: &'static str,
) -> AnnotationDef {
    AnnotationDef {
        option,
        suffix,
        conv,
        doc,
        rule,
        on_service: false,
    }
}

/// Also read from a backend Service's annotations.
const fn tg(mut d: AnnotationDef) -> AnnotationDef {
    d.on_service = true;
    d
}

use Conv::*;
use Rule::{Joint, One};

/// Every typed annotation option, in the order written and documented.
#[rustfmt::skip]
pub const ANNOTATIONS: &[AnnotationDef] = &[
    def("scheme", "scheme", Str, One(scheme),
        "alb.ingress.kubernetes.io/scheme: C(internal) (controller default) or C(internet-facing)."),
    def("target_type", "target-type", Str, One(target_type),
        "alb.ingress.kubernetes.io/target-type: C(instance) or C(ip). Default from cni_plugin (calico: instance, aws-vpc-cni: ip); always written explicitly. C(ip) is refused unless pod IPs are VPC addresses."),
    def("listen_ports", "listen-ports", ListenPorts, Joint("listeners"),
        "alb.ingress.kubernetes.io/listen-ports, as a list (C([{HTTP: 80}, {HTTPS: 443}])) or the controller's JSON string; written as the controller's JSON."),
    def("certificate_arn", "certificate-arn", List, Joint("listeners"),
        "alb.ingress.kubernetes.io/certificate-arn: ACM or IAM certificate ARNs; the first is the default certificate."),
    def("ssl_redirect", "ssl-redirect", Int, Joint("listeners"),
        "alb.ingress.kubernetes.io/ssl-redirect: the HTTPS listener port HTTP is redirected to."),
    def("group_name", "group.name", Str, One(group_name),
        "alb.ingress.kubernetes.io/group.name: share one ALB among Ingresses."),
    def("group_order", "group.order", Int, One(group_order),
        "alb.ingress.kubernetes.io/group.order, -1000 to 1000."),
    tg(def("healthcheck_path", "healthcheck-path", Str, One(healthcheck_path),
        "alb.ingress.kubernetes.io/healthcheck-path.")),
    tg(def("healthcheck_port", "healthcheck-port", Str, One(healthcheck_port),
        "alb.ingress.kubernetes.io/healthcheck-port: C(traffic-port), a number or a port name.")),
    tg(def("healthcheck_protocol", "healthcheck-protocol", Str, One(healthcheck_protocol),
        "alb.ingress.kubernetes.io/healthcheck-protocol: C(HTTP) or C(HTTPS).")),
    def("healthcheck_interval_seconds", "healthcheck-interval-seconds", Int, Joint("health-check timing"),
        "alb.ingress.kubernetes.io/healthcheck-interval-seconds, 5-300."),
    def("healthcheck_timeout_seconds", "healthcheck-timeout-seconds", Int, Joint("health-check timing"),
        "alb.ingress.kubernetes.io/healthcheck-timeout-seconds, 2-120 and below the interval."),
    tg(def("healthy_threshold_count", "healthy-threshold-count", Int, One(threshold),
        "alb.ingress.kubernetes.io/healthy-threshold-count, 2-10.")),
    tg(def("unhealthy_threshold_count", "unhealthy-threshold-count", Int, One(threshold),
        "alb.ingress.kubernetes.io/unhealthy-threshold-count, 2-10.")),
    def("success_codes", "success-codes", Str, One(success_codes),
        "alb.ingress.kubernetes.io/success-codes: C(200), C(200,201) or C(200-299) (gRPC: 0-99)."),
    def("subnets", "subnets", List, One(subnets),
        "alb.ingress.kubernetes.io/subnets: IDs or Name tags, one per AZ, at least two."),
    def("security_groups", "security-groups", List, One(security_groups),
        "alb.ingress.kubernetes.io/security-groups: IDs or Name tags of the ALB's own groups."),
    def("manage_backend_security_group_rules", "manage-backend-security-group-rules", Bool, One(go_bool),
        "alb.ingress.kubernetes.io/manage-backend-security-group-rules."),
    def("inbound_cidrs", "inbound-cidrs", List, One(inbound_cidrs),
        "alb.ingress.kubernetes.io/inbound-cidrs (ignored by the controller with security_groups)."),
    def("ip_address_type", "ip-address-type", Str, One(ip_address_type),
        "alb.ingress.kubernetes.io/ip-address-type: C(ipv4), C(dualstack), C(dualstack-without-public-ipv4)."),
    tg(def("backend_protocol", "backend-protocol", Str, One(backend_protocol),
        "alb.ingress.kubernetes.io/backend-protocol: C(HTTP) or C(HTTPS).")),
    tg(def("backend_protocol_version", "backend-protocol-version", Str, One(backend_protocol_version),
        "alb.ingress.kubernetes.io/backend-protocol-version: C(HTTP1), C(HTTP2) or C(GRPC).")),
    def("load_balancer_name", "load-balancer-name", Str, One(load_balancer_name),
        "alb.ingress.kubernetes.io/load-balancer-name, at most 32 characters."),
    def("load_balancer_attributes", "load-balancer-attributes", StringMap, One(string_map),
        "alb.ingress.kubernetes.io/load-balancer-attributes, as a dict (written k=v,k2=v2)."),
    tg(def("target_group_attributes", "target-group-attributes", StringMap, One(string_map),
        "alb.ingress.kubernetes.io/target-group-attributes, as a dict.")),
    tg(def("tags", "tags", StringMap, One(string_map),
        "alb.ingress.kubernetes.io/tags, as a dict.")),
];

/// The `ingresses` suboptions of the typed annotations, in definition order.
pub const OPTION_SPECS: [OptSpec; ANNOTATIONS.len()] = {
    let mut out = [OptSpec::new("", Kind::Str); ANNOTATIONS.len()];
    let mut i = 0;
    while i < ANNOTATIONS.len() {
        out[i] = ANNOTATIONS[i].spec();
        i += 1;
    }
    out
};

// ------------------------------------------------------------------- rules

/// ParseInt32Annotation, failing the group's build.
pub(super) fn ann_int(a: &Annotation, f: &mut Findings) -> Option<i64> {
    ann_int_then(a, f, "", LBC_FAILS)
}

/// ParseInt32Annotation; `prefix` and `then` say where and what it fails.
pub(super) fn ann_int_then(
    a: &Annotation,
    f: &mut Findings,
    prefix: &str,
    then: &str,
) -> Option<i64> {
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

/// ParseStringSliceAnnotation: comma-separated, blanks dropped.
pub(super) fn ann_list(a: &Annotation) -> Vec<&str> {
    a.value
        .split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect()
}

fn scheme(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_scheme(&a.field, &a.value, f);
}

fn ip_address_type(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_ip_address_type(&a.field, &a.value, f);
}

fn backend_protocol(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_backend_protocol(&a.field, &a.value, f);
}

fn backend_protocol_version(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_backend_protocol_version(&a.field, &a.value, f);
}

fn healthcheck_protocol(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_healthcheck_protocol(&a.field, &a.value, f);
}

fn healthcheck_path(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_healthcheck_path(&a.field, &a.value, f);
}

fn healthcheck_port(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_healthcheck_port(&a.field, &a.value, f);
}

fn group_name(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_group_name(&a.field, &a.value, f);
}

fn load_balancer_name(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_load_balancer_name(&a.field, &a.value, f);
}

fn string_map(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_stringmap(&a.field, &a.key, &a.value, f);
}

fn threshold(_: &Cx, a: &Annotation, f: &mut Findings) {
    if let Some(n) = ann_int(a, f) {
        rules::check_healthcheck_threshold(&a.field, n, f);
    }
}

/// strconv.ParseBool, as ParseBoolAnnotation reads it.
fn go_bool(_: &Cx, a: &Annotation, f: &mut Findings) {
    const GO_BOOLS: &[&str] = &[
        "1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False",
    ];
    if !GO_BOOLS.contains(&a.value.as_str()) {
        f.error(
            &a.field,
            format!(
                "failed to parse bool annotation, {}: {}. {LBC_FAILS}",
                a.key, a.value
            ),
            "write true or false.",
        );
    }
}

/// The seed's central rule, for the value the target groups really get (a
/// Service's annotation wins).
fn target_type(cx: &Cx, a: &Annotation, f: &mut Findings) {
    let ing = cx.ingress;
    // Under IngressClassParams' targetType the annotation is never parsed
    // (parse warns that it is overridden), and the class's value is judged
    // once, on the class (parse_plan), not per Ingress.
    if ing.class_target_type {
        return;
    }
    if rules::check_target_type(&a.field, &a.value, f) && ing.ingress_target_type_used() {
        check_target_type_against_network(&ing.target_type_field, Some(ing.target_type), cx.net, f);
    }
}

/// sortGroupMembers, while the group is loaded: no model is built at all.
fn group_order(cx: &Cx, a: &Annotation, f: &mut Findings) {
    let prefix = format!(
        "failed to load Ingress group order for ingress: {}/{}: ",
        cx.ingress.namespace, cx.ingress.name
    );
    if let Some(n) = ann_int_then(
        a,
        f,
        &prefix,
        "The controller then fails to load the whole group (a reconcile error in its log, \
         no Event), so no member's rules reach the ALB.",
    ) {
        rules::check_group_order(&a.field, n, f);
    }
}

fn success_codes(cx: &Cx, a: &Annotation, f: &mut Findings) {
    let grpc = cx
        .ingress
        .annotation("backend-protocol-version")
        .is_some_and(|a| a.value == "GRPC");
    rules::check_success_codes(&a.field, &a.value, grpc, f);
}

fn subnets(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_subnets(&a.field, &ann_list(a), f);
}

fn security_groups(_: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_security_groups(&a.field, &ann_list(a), f);
}

fn inbound_cidrs(cx: &Cx, a: &Annotation, f: &mut Findings) {
    rules::check_inbound_cidrs(&a.field, &ann_list(a), f);
    if cx.ingress.annotation("security-groups").is_some() {
        f.warning(
            &a.field,
            "inbound-cidrs is ignored when security-groups is set: the controller only \
             writes inbound rules to the security group it creates itself.",
            "allow these CIDRs in your own ALB security group, or drop security_groups.",
        );
    }
}

#[cfg(test)]
mod tests;
