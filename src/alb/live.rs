//! The few live reads `alb_ingress` and `netcheck` need beyond the apply
//! engine's: one LIST per collection, one GET per object.

use crate::error::{Error, Result};
use crate::kube::apply::api_error;
use serde_json::Value;

async fn get_text(client: &kube::Client, url: &str) -> std::result::Result<String, kube::Error> {
    let req = http::Request::builder()
        .method(http::Method::GET)
        .uri(url)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(kube::Error::HttpError)?;
    client.request_text(req).await
}

/// GET `url`; None when it does not exist (404).
pub async fn get(client: &kube::Client, url: &str) -> Result<Option<Value>> {
    match get_text(client, url).await {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::api(format!("read {url}"), e.to_string(), None)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(e) => Err(api_error(format!("read {url}"), e)),
    }
}

/// LIST `url`; None when the kind is not served (its CRD is not installed).
/// A LIST is consistent, so one made within ~100 ms of any write to the
/// cluster waits for the API server's watch cache to catch up (80 ms on an
/// idle kube-apiserver 1.35): prefer `get` where a name is known.
pub async fn list(client: &kube::Client, url: &str) -> Result<Option<Vec<Value>>> {
    // Items are moved out, not copied: a cluster-wide LIST can be thousands.
    Ok(get(client, url)
        .await?
        .map(|mut l| match l.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        }))
}

/// Whether the API server serves `plural` in `group_version` (e.g.
/// `crd.projectcalico.org/v1`), from discovery: no LIST of the objects.
pub async fn served(client: &kube::Client, group_version: &str, plural: &str) -> Result<bool> {
    let url = if group_version.contains('/') {
        format!("/apis/{group_version}")
    } else {
        format!("/api/{group_version}")
    };
    Ok(get(client, &url).await?.is_some_and(|d| {
        d["resources"]
            .as_array()
            .is_some_and(|rs| rs.iter().any(|r| r["name"] == plural))
    }))
}

/// A read the user may not be allowed to make: 403 reads as nothing.
pub fn unless_forbidden<T>(read: Result<Option<T>>) -> Result<Option<T>> {
    match read {
        Err(e) if status(&e) == Some(403) => Ok(None),
        other => other,
    }
}

/// HTTP status of an API error, for callers that tolerate 403.
pub fn status(e: &Error) -> Option<u16> {
    match e {
        Error::Api { status, .. } => *status,
        _ => None,
    }
}

pub const SERVICES: &str = "/api/v1/services";
pub const INGRESS_CLASSES: &str = "/apis/networking.k8s.io/v1/ingressclasses";
pub const IPPOOLS: &str = "/apis/crd.projectcalico.org/v1/ippools";
pub const FELIX_DEFAULT: &str = "/apis/crd.projectcalico.org/v1/felixconfigurations/default";
pub const KUBEADM_CONFIG: &str = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config";
pub const INGRESS_CLASS_PARAMS_API: &str = "/apis/elbv2.k8s.aws/v1beta1";
