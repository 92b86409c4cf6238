//! The generic reads every module makes: one GET (not-found as `None`, as
//! kube-rs `Api::get_opt`), a paged LIST, whether a kind is served, and the
//! 403 a read-only check may meet. The apply engine reads with these too.

use crate::error::{Error, Result};
use crate::kube::request::{api_error, is_not_found, send, unbuildable};
use crate::kube::resource::Resource;
use kube::core::Request;
use kube::core::params::{GetParams, ListParams};
use serde_json::Value;

/// Objects per LIST page: bounds what a caller holds at once.
pub const LIST_PAGE: u32 = 250;

/// Sends one GET; None when the API server answers 404 (read off the
/// status code, never the message). `what` names the read in errors.
async fn get_opt(
    client: &kube::Client,
    req: http::Request<Vec<u8>>,
    what: &dyn Fn() -> String,
) -> Result<Option<Value>> {
    match send(client, req).await {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::api(what(), e.to_string(), None)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(api_error(what(), e)),
    }
}

/// GET one object of `res` by name; None when it does not exist. `context`
/// names the read in errors (e.g. "read Deployment ns/name").
pub async fn get_object(
    client: &kube::Client,
    res: &Resource,
    namespace: Option<&str>,
    name: &str,
    context: &dyn Fn() -> String,
) -> Result<Option<Value>> {
    let req = Request::new(res.collection_url(namespace))
        .get(name, &GetParams::default())
        .map_err(|e| unbuildable(&context(), e))?;
    get_opt(client, req, context).await
}

/// GET `url` (an object's or a discovery document's path); None when it
/// does not exist (404).
pub async fn get(client: &kube::Client, url: &str) -> Result<Option<Value>> {
    let what = || format!("read {url}");
    let req = http::Request::get(url)
        .body(Vec::new())
        .map_err(|e| Error::Input(format!("{}: {e}", what())))?;
    get_opt(client, req, &what).await
}

/// LISTs the collection at `path` (no query string: `params` carries the
/// selectors) page by page, handing each page's items to `each`. False when
/// the kind is not served (404: its CRD is not installed, or comes later).
pub async fn list_pages(
    client: &kube::Client,
    path: &str,
    params: &ListParams,
    context: &dyn Fn() -> String,
    mut each: impl FnMut(Vec<Value>),
) -> Result<bool> {
    #[derive(serde::Deserialize)]
    struct Page {
        #[serde(default)]
        items: Vec<Value>,
        #[serde(default)]
        metadata: PageMeta,
    }
    #[derive(serde::Deserialize, Default)]
    struct PageMeta {
        #[serde(rename = "continue", default)]
        next: Option<String>,
    }
    let mut params = params.clone();
    if params.limit.is_none() {
        params = params.limit(LIST_PAGE);
    }
    loop {
        let req = Request::new(path)
            .list(&params)
            .map_err(|e| unbuildable(&context(), e))?;
        let page: Page = match send(client, req).await {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| Error::api(context(), e.to_string(), None))?,
            Err(e) if is_not_found(&e) => return Ok(false),
            Err(e) => return Err(api_error(context(), e)),
        };
        each(page.items);
        match page.metadata.next.filter(|t| !t.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(true),
        }
    }
}

/// Every item of the collection at `path` matching `params`, read in pages;
/// None when the kind is not served (its CRD is not installed).
/// A LIST is consistent, so one made within ~100 ms of any write to the
/// cluster waits for the API server's watch cache to catch up (80 ms on an
/// idle kube-apiserver 1.35): prefer `get` where a name is known.
pub async fn list_with(
    client: &kube::Client,
    path: &str,
    params: &ListParams,
) -> Result<Option<Vec<Value>>> {
    let mut all = Vec::new();
    let what = || format!("read {path}");
    let served = list_pages(client, path, params, &what, |page| all.extend(page)).await?;
    Ok(served.then_some(all))
}

/// `list_with` without selectors.
pub async fn list(client: &kube::Client, path: &str) -> Result<Option<Vec<Value>>> {
    list_with(client, path, &ListParams::default()).await
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
