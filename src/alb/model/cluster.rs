//! Checks against what the cluster already has (read by the module): node
//! ports other Services hold, backends outside the task, and IngressClasses.

use super::types::{Plan, ServiceType};
use super::{ANNOTATION_PREFIX, API_REJECTS, CONTROLLER, DEFAULT_CLASS_ANNOTATION, LBC_FAILS};
use crate::net::model::TargetType;
use crate::validate::Findings;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

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
        .ingresses
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
    for app in plan.ingresses.iter().filter(|a| a.present) {
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
                    if tt == TargetType::Instance
                        && !ServiceType::parse(ty).is_some_and(ServiceType::opens_node_ports)
                    {
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
