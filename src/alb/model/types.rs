//! The model the options are parsed into: an IngressClass, and per entry of
//! `ingresses` an Ingress with its annotations, rules and Services.

use super::ANNOTATION_PREFIX;
use crate::alb::rules::PortRef;
use crate::net::model::TargetType;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Declares a string enum with its Kubernetes spelling, used for the option's
/// value (serde) and the object's field (`as_str`).
macro_rules! spelled {
    ($(#[$m:meta])* $name:ident { $($v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $s)] $v),+
        }
        impl $name {
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$v),)+ _ => None }
            }
        }
    };
}

spelled! {
    /// Service spec.type (the option's choices).
    ServiceType { ClusterIp = "ClusterIP", NodePort = "NodePort", LoadBalancer = "LoadBalancer" }
}

spelled! {
    /// Service spec.ports[].protocol.
    PortProtocol { Tcp = "TCP", Udp = "UDP", Sctp = "SCTP" }
}

spelled! {
    /// Service spec.externalTrafficPolicy.
    TrafficPolicy { Cluster = "Cluster", Local = "Local" }
}

spelled! {
    /// Ingress spec.rules[].http.paths[].pathType.
    PathType { Exact = "Exact", Prefix = "Prefix", ImplementationSpecific = "ImplementationSpecific" }
}

spelled! {
    /// alb.ingress.kubernetes.io/scheme.
    Scheme { Internal = "internal", InternetFacing = "internet-facing" }
}

spelled! {
    /// `state` of an Ingress or of the IngressClass.
    State { Present = "present", Absent = "absent" }
}

/// The controller's default scheme.
impl Default for Scheme {
    fn default() -> Self {
        Scheme::Internal
    }
}

impl ServiceType {
    /// Whether the Service opens a port on every node (what instance targets need).
    pub fn opens_node_ports(self) -> bool {
        self != ServiceType::ClusterIp
    }
}

/// A port of a Service or of an Ingress backend: a number or a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Port {
    Number(i64),
    Name(String),
}

impl Port {
    /// A port as an option or an action's JSON gives it; None when it is neither.
    pub fn parse(v: &Value) -> Option<Port> {
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

    pub fn as_ref(&self) -> PortRef<'_> {
        match self {
            Port::Number(n) => PortRef::Number(*n),
            Port::Name(s) => PortRef::Name(s),
        }
    }

    pub fn to_json(&self) -> Value {
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
    pub path_type: PathType,
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
    pub protocol: PortProtocol,
    pub field: String,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub namespace: String,
    pub type_: ServiceType,
    pub ports: Vec<ServicePort>,
    pub selector: Map<String, Value>,
    pub external_traffic_policy: Option<TrafficPolicy>,
    pub labels: Map<String, Value>,
    pub annotations: Map<String, Value>,
    pub field: String,
}

/// One entry of `ingresses`: an Ingress and its Services.
#[derive(Debug, Clone)]
pub struct IngressSpec {
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
    /// HTTPS listeners rely on the controller's certificate discovery.
    pub certificate_discovery: bool,
    pub field: String,
}

impl IngressSpec {
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
    pub fn ingress_target_type_used(&self) -> bool {
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
    pub ingresses: Vec<IngressSpec>,
}
