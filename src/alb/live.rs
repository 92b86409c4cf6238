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
pub async fn list(client: &kube::Client, url: &str) -> Result<Option<Vec<Value>>> {
    // Items are moved out, not copied: a cluster-wide LIST can be thousands.
    Ok(get(client, url)
        .await?
        .map(|mut l| match l.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        }))
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
pub const KUBEADM_CONFIG: &str = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config";
pub const INGRESS_CLASS_PARAMS_API: &str = "/apis/elbv2.k8s.aws/v1beta1";
