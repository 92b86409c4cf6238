//! The options of `alb_ingress` and `netcheck` that describe IngressClass and
//! Ingresses, typed: what the module deserialises once from the validated
//! parameters (Ansible's coercions and defaults already applied). Nothing is
//! checked here; `parse` turns these into the model and the findings.

use super::annotations::{self, AnnotationDef, AnnotationInput};
use super::types::{Port, PortProtocol, ServiceType, State, TrafficPolicy};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The `ingress_class` option and its neighbours.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClassArgs {
    pub name: Option<String>,
    pub state: Option<State>,
    /// The IngressClassParams spec as given, in the controller's camelCase:
    /// it is the object's body (written as is, unknown fields refused by
    /// `check_class`), not options of netpath's own.
    pub params: Option<Map<String, Value>>,
    pub is_default: Option<bool>,
}

/// What `parse_plan` reads: the class, whether to write the deprecated class
/// annotation, and the entries of `ingresses`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PlanArgs {
    pub ingress_class: Option<ClassArgs>,
    pub ingress_class_annotation: Option<bool>,
    pub ingresses: Option<Vec<IngressArgs>>,
}

/// One entry of `ingresses`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IngressArgs {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub state: Option<State>,
    pub certificate_discovery: Option<bool>,
    pub annotations: Option<StringMap>,
    pub labels: Option<StringMap>,
    pub rules: Option<Vec<RuleArgs>>,
    pub default_backend: Option<BackendArgs>,
    pub services: Option<Vec<ServiceArgs>>,
    /// The typed annotation options (scheme, target_type, ...), in the
    /// order of `annotations::ANNOTATIONS`.
    #[serde(flatten)]
    pub typed: TypedAnnotations,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RuleArgs {
    pub host: Option<String>,
    pub paths: Option<Vec<HttpPathArgs>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HttpPathArgs {
    pub path: Option<String>,
    /// Kept as text: an unknown value is the API server's refusal, reported
    /// with its own words (rules::check_path).
    pub path_type: Option<String>,
    #[serde(flatten)]
    pub backend: BackendArgs,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BackendArgs {
    pub service_name: Option<String>,
    pub service_port: Option<PortArg>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServiceArgs {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<ServiceType>,
    pub port: Option<IntArg>,
    pub target_port: Option<PortArg>,
    pub node_port: Option<IntArg>,
    pub port_name: Option<String>,
    pub protocol: Option<PortProtocol>,
    pub selector: Option<StringMap>,
    pub external_traffic_policy: Option<TrafficPolicy>,
    pub labels: Option<StringMap>,
    pub annotations: Option<StringMap>,
    pub ports: Option<Vec<ServicePortArgs>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServicePortArgs {
    pub name: Option<String>,
    pub port: Option<IntArg>,
    pub target_port: Option<PortArg>,
    pub node_port: Option<IntArg>,
    pub protocol: Option<PortProtocol>,
}

/// A `raw` port option: set, and a port when it reads as one (a number, or
/// a string: digits are a number, anything else a name).
#[derive(Debug, Clone, Default)]
pub struct PortArg(pub Option<Port>);

impl<'de> Deserialize<'de> for PortArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(PortArg(Port::parse(&Value::deserialize(d)?)))
    }
}

/// An `int` option: set, and its value when it fits an i64 (a larger
/// unsigned number counts as no value, as before).
#[derive(Debug, Clone, Copy, Default)]
pub struct IntArg(pub Option<i64>);

impl<'de> Deserialize<'de> for IntArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(IntArg(Value::deserialize(d)?.as_i64()))
    }
}

/// A `dict` option whose values are written as strings (labels, selectors,
/// annotations), in the order given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringMap(pub Vec<(String, String)>);

impl StringMap {
    pub fn to_json(&self) -> Map<String, Value> {
        self.0
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect()
    }
}

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Map::<String, Value>::deserialize(d)?;
        Ok(StringMap(
            m.into_iter().map(|(k, v)| (k, scalar_string(&v))).collect(),
        ))
    }
}

/// A scalar as the annotation text Kubernetes stores.
pub(super) fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The typed annotation options an entry sets, each read by its
/// definition's conversion, in definition order.
#[derive(Debug, Clone, Default)]
pub struct TypedAnnotations(pub Vec<(&'static AnnotationDef, AnnotationInput)>);

impl TypedAnnotations {
    pub fn is_set(&self, option: &str) -> bool {
        self.0.iter().any(|(d, _)| d.option == option)
    }
}

impl<'de> Deserialize<'de> for TypedAnnotations {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Map::<String, Value>::deserialize(d)?;
        Ok(TypedAnnotations(
            annotations::ANNOTATIONS
                .iter()
                .filter_map(|def| {
                    let v = m.get(def.option).filter(|v| !v.is_null())?;
                    Some((def, def.conv.read(v)))
                })
                .collect(),
        ))
    }
}
