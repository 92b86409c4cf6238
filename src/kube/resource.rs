//! Maps apiVersion/kind to the REST path of a resource.
//!
//! The kinds netpath manages are known in advance, so they need no discovery
//! round trip; any other kind costs one request for its group/version, and a
//! kind whose CRD is applied in the same task is read from that CRD.

use crate::error::{Error, Result};
use kube::core::GroupVersionKind;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// Collection URL (for LIST), in `namespace` when the kind is namespaced.
    pub fn collection_url(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}/namespaces/{}/{}", self.prefix(), ns, self.plural),
            _ => format!("{}/{}", self.prefix(), self.plural),
        }
    }

    pub fn object_url(&self, namespace: Option<&str>, name: &str) -> String {
        format!("{}/{}", self.collection_url(namespace), name)
    }
}

// (apiVersion, kind, plural, namespaced) for kinds netpath and its roles apply.
const KNOWN: &[(&str, &str, &str, bool)] = &[
    ("v1", "Namespace", "namespaces", false),
    ("v1", "ConfigMap", "configmaps", true),
    ("v1", "Secret", "secrets", true),
    ("v1", "Service", "services", true),
    ("v1", "ServiceAccount", "serviceaccounts", true),
    ("v1", "Pod", "pods", true),
    ("v1", "Node", "nodes", false),
    ("apps/v1", "Deployment", "deployments", true),
    ("apps/v1", "DaemonSet", "daemonsets", true),
    ("apps/v1", "StatefulSet", "statefulsets", true),
    ("networking.k8s.io/v1", "Ingress", "ingresses", true),
    (
        "networking.k8s.io/v1",
        "IngressClass",
        "ingressclasses",
        false,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        false,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
    ),
    ("rbac.authorization.k8s.io/v1", "Role", "roles", true),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
    ),
    (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
    ),
    (
        "policy/v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
    ),
    ("crd.projectcalico.org/v1", "IPPool", "ippools", false),
    (
        "crd.projectcalico.org/v1",
        "FelixConfiguration",
        "felixconfigurations",
        false,
    ),
    (
        "elbv2.k8s.aws/v1beta1",
        "IngressClassParams",
        "ingressclassparams",
        false,
    ),
];

fn split_api_version(api_version: &str) -> (String, String) {
    match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version.to_string()),
    }
}

/// Resolves kinds, asking the server only for kinds it does not know.
#[derive(Default)]
pub struct Resolver {
    cache: HashMap<(String, String), Resource>,
}

impl Resolver {
    pub fn known(api_version: &str, kind: &str) -> Option<Resource> {
        KNOWN
            .iter()
            .find(|(av, k, _, _)| *av == api_version && *k == kind)
            .map(|(av, k, plural, ns)| {
                let (group, version) = split_api_version(av);
                Resource {
                    group,
                    version,
                    kind: k.to_string(),
                    plural: plural.to_string(),
                    namespaced: *ns,
                }
            })
    }

    /// Registers the kinds a CRD in this task defines, so its custom resources
    /// resolve before the server has even seen the CRD.
    pub fn learn_crd(&mut self, crd: &Value) {
        let spec = &crd["spec"];
        let (Some(group), Some(kind), Some(plural)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
        ) else {
            return;
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        for v in spec["versions"].as_array().into_iter().flatten() {
            if let Some(version) = v["name"].as_str() {
                let r = Resource {
                    group: group.to_string(),
                    version: version.to_string(),
                    kind: kind.to_string(),
                    plural: plural.to_string(),
                    namespaced,
                };
                self.cache.insert((r.api_version(), kind.to_string()), r);
            }
        }
    }

    pub fn cached(&self, api_version: &str, kind: &str) -> Option<Resource> {
        Self::known(api_version, kind).or_else(|| {
            self.cache
                .get(&(api_version.to_string(), kind.to_string()))
                .cloned()
        })
    }

    pub async fn resolve(
        &mut self,
        client: &kube::Client,
        api_version: &str,
        kind: &str,
    ) -> Result<Resource> {
        if let Some(r) = self.cached(api_version, kind) {
            return Ok(r);
        }
        let (group, version) = split_api_version(api_version);
        let gvk = GroupVersionKind::gvk(&group, &version, kind);
        let (ar, caps) = kube::discovery::pinned_kind(client, &gvk).await.map_err(|e| {
            let detail = super::connect::chain(&e);
            let gv = if group.is_empty() { version.clone() } else { format!("{group}/{version}") };
            if not_served(&e) {
                Error::api(
                    format!("{kind} ({gv})"),
                    format!(
                        "the API server does not serve kind {kind} in {gv}: install the CRD that defines it (or apply it in the same task), or fix apiVersion/kind"
                    ),
                    Some(404),
                )
            } else {
                Error::api(format!("discovery of {kind} ({gv})"), detail, None)
            }
        })?;
        let r = Resource {
            group: ar.group,
            version: ar.version,
            kind: ar.kind,
            plural: ar.plural,
            namespaced: caps.scope == kube::discovery::Scope::Namespaced,
        };
        self.cache
            .insert((api_version.to_string(), kind.to_string()), r.clone());
        Ok(r)
    }
}

/// Discovery's answer that the group/version or the kind is not served: a
/// 404 for the group/version (kube turns even the API server's plain-text
/// "404 page not found" into a `Status` with that code), or a served
/// group/version without the kind (e.g. `kind: configmap`): the same fix.
fn not_served(e: &kube::Error) -> bool {
    use kube::error::DiscoveryError;
    match e {
        kube::Error::Api(status) => status.code == 404 || status.is_not_found(),
        kube::Error::Discovery(
            DiscoveryError::MissingKind(_)
            | DiscoveryError::MissingResource(_)
            | DiscoveryError::MissingApiGroup(_),
        ) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn not_served_is_decided_by_the_error_type() {
        use kube::core::Status;
        use kube::error::DiscoveryError;
        let plain_404 =
            Status::failure("404 page not found", "Failed to parse error data").with_code(404);
        assert!(not_served(&kube::Error::Api(plain_404.boxed())));
        let kind = DiscoveryError::MissingKind("configmap".into());
        assert!(not_served(&kube::Error::Discovery(kind)));
        // A message that merely mentions 404 or "not found" is not the answer.
        let forbidden =
            Status::failure("secret \"404\" not found in cache", "Forbidden").with_code(403);
        assert!(!not_served(&kube::Error::Api(forbidden.boxed())));
        let invalid = DiscoveryError::InvalidGroupVersion("not found/v1/x".into());
        assert!(!not_served(&kube::Error::Discovery(invalid)));
    }

    #[test]
    fn urls() {
        let svc = Resolver::known("v1", "Service").unwrap();
        assert_eq!(
            svc.object_url(Some("web"), "app"),
            "/api/v1/namespaces/web/services/app"
        );
        let pool = Resolver::known("crd.projectcalico.org/v1", "IPPool").unwrap();
        assert_eq!(
            pool.object_url(Some("ignored"), "p"),
            "/apis/crd.projectcalico.org/v1/ippools/p"
        );
    }

    #[test]
    fn learns_from_crd() {
        let mut r = Resolver::default();
        r.learn_crd(&json!({"spec": {"group": "x.io", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"}, "versions": [{"name": "v1"}]}}));
        assert_eq!(
            r.cached("x.io/v1", "Widget")
                .unwrap()
                .collection_url(Some("a")),
            "/apis/x.io/v1/namespaces/a/widgets"
        );
    }
}
