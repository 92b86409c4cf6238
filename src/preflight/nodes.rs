//! Which Nodes the AWS Load Balancer Controller (v3.5.0) registers as
//! instance targets, and which of them will make it fail.
//!
//! The controller lists Nodes matching its default selector (and the
//! Ingress's `target-node-labels`), drops the ones being removed, keeps the
//! Ready ones, and takes each one's instance ID from `spec.providerID`
//! (pkg/backend/endpoint_resolver.go ResolveNodePortEndpoints). One Node
//! without a usable providerID fails that whole resolution, and the
//! networking reconcile does the same for every Node
//! (pkg/networking/node_info_provider.go), so one bad Node blocks the
//! target updates of every instance target group.

use crate::alb::model::Plan;
use crate::net::model::TargetType;
use crate::validate::Findings;
use k8s_openapi::api::core::v1::Node;
use std::collections::BTreeMap;

/// The labels that keep a Node out of every target group
/// (pkg/backend/endpoint_utils.go defaultTrafficProxyNodeLabelSelector).
/// kubeadm puts the first on its control-plane Nodes.
pub const EXCLUDE_LABELS: &[&str] = &[
    "node.kubernetes.io/exclude-from-external-load-balancers",
    "node-role.kubernetes.io/master",
    "alpha.service-controller.kubernetes.io/exclude-balancer",
];
/// Taints that mark a Node as leaving (IsNodeSuitableAsTrafficProxy).
const LEAVING_TAINTS: &[(&str, Option<&str>)] = &[
    ("ToBeDeletedByClusterAutoscaler", None),
    ("karpenter.sh/disrupted", Some("NoSchedule")),
];
/// Findings naming single Nodes stop here; the rest are counted.
const NAMED: usize = 20;

/// The parts of a Node the controller looks at (kept small: clusters have
/// thousands).
#[derive(Debug, Clone, Default)]
pub struct NodeView {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub provider_id: Option<String>,
    /// status of the Ready condition: "True", "False", "Unknown", or None.
    pub ready: Option<String>,
    pub leaving: bool,
}

impl NodeView {
    pub fn from_node(n: &Node) -> NodeView {
        let spec = n.spec.as_ref();
        let ready = n
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status.clone());
        let leaving = spec.and_then(|s| s.taints.as_ref()).is_some_and(|ts| {
            ts.iter().any(|t| {
                LEAVING_TAINTS
                    .iter()
                    .any(|(k, effect)| t.key == *k && effect.is_none_or(|e| t.effect == e))
            })
        });
        NodeView {
            name: n.metadata.name.clone().unwrap_or_default(),
            labels: n.metadata.labels.clone().unwrap_or_default(),
            provider_id: spec
                .and_then(|s| s.provider_id.clone())
                .filter(|p| !p.is_empty()),
            ready,
            leaving,
        }
    }

    pub fn excluded_by(&self) -> Option<&'static str> {
        if self
            .labels
            .get("eks.amazonaws.com/compute-type")
            .map(String::as_str)
            == Some("fargate")
        {
            return Some("eks.amazonaws.com/compute-type=fargate");
        }
        EXCLUDE_LABELS
            .iter()
            .copied()
            .find(|l| self.labels.contains_key(*l))
    }
}

impl NodeView {
    /// The controller registers it: not excluded, Ready, not leaving
    /// (target-node-labels aside).
    pub fn is_target(&self) -> bool {
        self.excluded_by().is_none() && !self.leaving && self.ready.as_deref() == Some("True")
    }

    /// The instance ID of a usable providerID (its last segment).
    pub fn instance_id(&self) -> Option<&str> {
        let id = self.provider_id.as_deref()?;
        let last = id.rsplit('/').next()?;
        (provider_id_problem(&self.name, id).is_none() && last.starts_with("i-")).then_some(last)
    }
}

/// Why a providerID gives the controller no instance ID (pkg/k8s/node_utils.go
/// ExtractNodeInstanceID): its last `/` segment must match `^i-[^/]*$`.
pub fn provider_id_problem(node: &str, id: &str) -> Option<String> {
    let last = id.rsplit('/').next().unwrap_or_default();
    if id.starts_with("eks-hybrid://") {
        return None;
    }
    if !last.starts_with("i-") {
        return Some(format!(
            "providerID {id} is invalid for EC2 instances, node: {node}"
        ));
    }
    None
}

/// `k=v,k2=v2` of `target-node-labels`, as the controller parses a stringMap.
fn selector(s: &str) -> Vec<(String, String)> {
    s.split(',')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// Findings on the live Nodes for the instance-target Ingresses of `plan`.
pub fn check(nodes: &[NodeView], plan: &Plan, f: &mut Findings) {
    let instance_ingresses: Vec<_> = plan
        .ingresses
        .iter()
        .filter(|a| a.present && a.target_type == TargetType::Instance)
        .collect();
    if instance_ingresses.is_empty() {
        return;
    }
    if nodes.is_empty() {
        f.warning(
            "live",
            "the cluster has no Nodes yet, so the ALB's instance target groups will have no targets until workers join.",
            "join the workers (kubeadm join) before relying on the ALB; re-run netcheck then.",
        );
        return;
    }

    // The controller resolves each Node once per target group; a broken
    // one is reported once, against the first Ingress that would use it.
    let mut reported = std::collections::HashSet::new();
    let mut named = 0usize;
    let mut unnamed = 0usize;
    for app in &instance_ingresses {
        let labels = app
            .annotation("target-node-labels")
            .map(|a| (a.field.clone(), selector(&a.value)));
        let mut excluded: BTreeMap<&str, usize> = BTreeMap::new();
        let mut not_ready = 0usize;
        let mut unmatched = 0usize;
        let mut eligible = 0usize;
        for n in nodes {
            if let Some(l) = n.excluded_by() {
                *excluded.entry(l).or_default() += 1;
                continue;
            }
            if let Some((_, want)) = &labels
                && !want.iter().all(|(k, v)| n.labels.get(k) == Some(v))
            {
                unmatched += 1;
                continue;
            }
            if n.leaving {
                continue;
            }
            if n.ready.as_deref() != Some("True") {
                not_ready += 1;
                continue;
            }
            eligible += 1;
            let problem = match &n.provider_id {
                None => Some(format!("providerID is not specified for node: {}", n.name)),
                Some(id) => provider_id_problem(&n.name, id),
            };
            if let Some(p) = problem {
                if !reported.insert(n.name.clone()) {
                    continue;
                }
                if named == NAMED {
                    unnamed += 1;
                    continue;
                }
                named += 1;
                f.error(
                    format!("nodes[{}]", n.name),
                    format!(
                        "Node {} is a Ready instance target, but the controller cannot map it to an EC2 instance (\"{p}\"): \
                         it then fails the target update of every instance target group, not only this Ingress's.",
                        n.name
                    ),
                    "set spec.providerID to aws:///<availability-zone>/<instance-id>: start kubelet with --provider-id, \
                     run the AWS cloud-controller-manager, or use the node_provider_id module (it reads the instance metadata).",
                );
            }
        }
        if eligible == 0 {
            let mut why: Vec<String> = excluded
                .iter()
                .map(|(l, c)| format!("{c} labelled {l}"))
                .collect();
            if unmatched > 0 {
                why.push(format!("{unmatched} not matching target-node-labels"));
            }
            if not_ready > 0 {
                why.push(format!("{not_ready} not Ready"));
            }
            let field = labels
                .as_ref()
                .map_or_else(|| app.target_type_field.clone(), |(f, _)| f.clone());
            f.error(
                field,
                format!(
                    "no Node can be registered as a target of Ingress {}/{}: of {} Nodes, {}. The ALB would have no healthy targets.",
                    app.namespace,
                    app.name,
                    nodes.len(),
                    if why.is_empty() { "none is eligible".to_string() } else { why.join(", ") }
                ),
                "join Ready workers without those labels (kubeadm labels only control planes), or fix target_node_labels.",
            );
        }
    }
    if unnamed > 0 {
        f.error(
            "nodes",
            format!("{unnamed} more Ready Nodes have no usable providerID (the first {NAMED} are named above)."),
            "set spec.providerID on every worker (kubelet --provider-id, the AWS cloud-controller-manager, or node_provider_id).",
        );
    }
}

#[cfg(test)]
mod tests;
