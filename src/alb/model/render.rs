//! The model as the objects written: IngressClassParams, IngressClass,
//! Services and Ingresses, in apply order.

use super::types::{Backend, IngressClass, IngressSpec, Plan, Port, Service};
use super::{CONTROLLER, DEFAULT_CLASS_ANNOTATION, PARAMS_API_GROUP, PARAMS_API_VERSION};
use crate::kube::Desired;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};

fn port_json(p: &Port) -> Value {
    match p {
        Port::Number(n) => json!({"number": n}),
        Port::Name(s) => json!({"name": s}),
    }
}

fn backend_json(b: &Backend) -> Value {
    json!({"service": {"name": b.service, "port": port_json(&b.port)}})
}

pub fn render_ingress(app: &IngressSpec) -> Value {
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
                    .map(|p| json!({"path": p.path, "pathType": p.path_type.as_str(), "backend": backend_json(&p.backend)}))
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
            m.insert("protocol".into(), json!(p.protocol.as_str()));
            Value::Object(m)
        })
        .collect();
    let mut spec = json!({"type": svc.type_.as_str()});
    if !svc.selector.is_empty() {
        spec["selector"] = Value::Object(svc.selector.clone());
    }
    spec["ports"] = Value::Array(ports);
    if let Some(etp) = &svc.external_traffic_policy {
        spec["externalTrafficPolicy"] = json!(etp.as_str());
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
    for app in &plan.ingresses {
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
                        && lp["protocol"].as_str().unwrap_or("TCP") == p.protocol.as_str()
                })?["nodePort"]
                    .as_i64()
            });
            (p.port, from_live.or(p.node_port.filter(|n| *n != 0)))
        })
        .collect()
}
