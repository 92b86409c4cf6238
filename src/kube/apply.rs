//! The apply engine every module shares.
//!
//! Callers render and validate every object first; this module then reads
//! live state (one LIST per kind and namespace when a task has many objects),
//! decides per object whether anything differs, and writes only those with
//! server-side apply. Check mode stops before the first write and reports
//! the same actions and diffs a real run would.

use super::diff;
use super::resource::{Resolver, Resource};
use crate::error::{Error, Result};
use crate::protocol::DiffEntry;
use futures::{StreamExt, stream};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Present,
    Absent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    Deleted,
}

#[derive(Debug, Clone)]
pub struct Desired {
    /// Full object: apiVersion, kind, metadata.name (and namespace when namespaced).
    pub object: Value,
    pub state: State,
}

impl Desired {
    pub fn present(object: Value) -> Self {
        Desired {
            object,
            state: State::Present,
        }
    }
    pub fn absent(object: Value) -> Self {
        Desired {
            object,
            state: State::Absent,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub field_manager: String,
    pub force_conflicts: bool,
    pub check_mode: bool,
    pub diff: bool,
    /// Wait for Deployments and DaemonSets to become available.
    pub wait: bool,
    pub wait_timeout: Duration,
    /// Namespace for namespaced objects that name none.
    pub default_namespace: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            field_manager: "netpath".into(),
            force_conflicts: false,
            check_mode: false,
            diff: false,
            wait: false,
            wait_timeout: Duration::from_secs(120),
            default_namespace: "default".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectResult {
    pub kind: String,
    pub api_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    pub action: Action,
    #[serde(skip)]
    pub diff: Option<DiffEntry>,
    /// The object as the server holds it after this run (absent when deleted
    /// or in check mode for a create).
    #[serde(skip)]
    pub live: Option<Value>,
}

/// What happened, including when it stopped part-way: `results` lists every
/// object that was decided or written before `error`.
#[derive(Debug, Default)]
pub struct Report {
    pub results: Vec<ObjectResult>,
    pub error: Option<Error>,
}

impl Report {
    pub fn changed(&self) -> bool {
        self.results.iter().any(|r| r.action != Action::Unchanged)
    }

    pub fn diffs(&self) -> Vec<DiffEntry> {
        self.results.iter().filter_map(|r| r.diff.clone()).collect()
    }
}

/// A task reads with one LIST per kind and namespace from this many objects on.
const LIST_THRESHOLD: usize = 4;
/// Writes in flight at once: enough to hide latency, few enough not to
/// trip API priority and fairness on a busy server.
const WRITE_CONCURRENCY: usize = 8;

struct Item {
    desired: Desired,
    resource: Resource,
    namespace: Option<String>,
    name: String,
}

fn phase(kind: &str, state: State) -> u8 {
    let p = match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        _ => 2,
    };
    if state == State::Absent { 10 - p } else { p }
}

pub async fn apply(
    client: &kube::Client,
    resolver: &mut Resolver,
    objects: Vec<Desired>,
    opts: &Options,
) -> Report {
    let mut report = Report::default();
    if let Err(e) = run(client, resolver, objects, opts, &mut report).await {
        report.error = Some(e);
    }
    report
}

async fn run(
    client: &kube::Client,
    resolver: &mut Resolver,
    objects: Vec<Desired>,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    for d in &objects {
        if d.object["kind"] == "CustomResourceDefinition" && d.state == State::Present {
            resolver.learn_crd(&d.object);
        }
    }
    let mut phases: Vec<(u8, Vec<Desired>)> = Vec::new();
    for d in objects {
        let p = phase(d.object["kind"].as_str().unwrap_or_default(), d.state);
        match phases.iter_mut().find(|(q, _)| *q == p) {
            Some((_, v)) => v.push(d),
            None => phases.push((p, vec![d])),
        }
    }
    phases.sort_by_key(|(p, _)| *p);

    for (_, batch) in phases {
        let mut items = Vec::with_capacity(batch.len());
        for d in batch {
            items.push(locate(client, resolver, d, &opts.default_namespace).await?);
        }
        let live = read_live(client, &items).await?;
        let decided: Vec<(Item, Option<Value>, Action)> = items
            .into_iter()
            .zip(live)
            .map(|(item, live)| {
                let action = decide(&item, live.as_ref(), &opts.field_manager);
                (item, live, action)
            })
            .collect();

        let writes = stream::iter(decided.into_iter().map(|(item, live, action)| async move {
            let after = if opts.check_mode || action == Action::Unchanged {
                Ok(if action == Action::Deleted {
                    None
                } else {
                    live.clone()
                })
            } else {
                write(client, &item, action, opts).await
            };
            (item, live, action, after)
        }))
        .buffered(WRITE_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;

        let mut first_error = None;
        let mut established = Vec::new();
        for (item, before, action, after) in writes {
            let after = match after {
                Ok(a) => a,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            if item.resource.kind == "CustomResourceDefinition"
                && matches!(action, Action::Created | Action::Updated)
                && !opts.check_mode
            {
                established.push(item.name.clone());
            }
            let diff = (opts.diff && action != Action::Unchanged)
                .then(|| diff_entry(&item, before.as_ref(), action));
            report.results.push(ObjectResult {
                kind: item.resource.kind.clone(),
                api_version: item.resource.api_version(),
                namespace: item.namespace.clone(),
                name: item.name.clone(),
                action,
                diff,
                live: after,
            });
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        // Custom resources later in this task need their CRD served.
        for name in established {
            wait_for(
                client,
                &crd_resource(),
                None,
                &name,
                opts.wait_timeout,
                crd_established,
            )
            .await?;
        }
    }

    if opts.wait && !opts.check_mode {
        let waits: Vec<(Resource, Option<String>, String)> = report
            .results
            .iter()
            .filter(|r| matches!(r.kind.as_str(), "Deployment" | "DaemonSet" | "StatefulSet"))
            .filter(|r| r.action != Action::Deleted)
            .filter_map(|r| {
                Resolver::known(&r.api_version, &r.kind)
                    .map(|res| (res, r.namespace.clone(), r.name.clone()))
            })
            .collect();
        for (res, ns, name) in waits {
            wait_for(
                client,
                &res,
                ns.as_deref(),
                &name,
                opts.wait_timeout,
                workload_available,
            )
            .await?;
        }
    }
    Ok(())
}

async fn locate(
    client: &kube::Client,
    resolver: &mut Resolver,
    d: Desired,
    default_ns: &str,
) -> Result<Item> {
    let obj = &d.object;
    let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if api_version.is_empty() || kind.is_empty() || name.is_empty() {
        return Err(Error::Input(format!(
            "every object needs apiVersion, kind and metadata.name; got apiVersion={api_version:?} kind={kind:?} name={name:?}"
        )));
    }
    let resource = resolver.resolve(client, &api_version, &kind).await?;
    let mut desired = d;
    let namespace = if resource.namespaced {
        let ns = desired.object["metadata"]["namespace"]
            .as_str()
            .unwrap_or(default_ns)
            .to_string();
        desired.object["metadata"]["namespace"] = json!(ns);
        Some(ns)
    } else {
        if let Some(m) = desired.object["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        None
    };
    Ok(Item {
        desired,
        resource,
        namespace,
        name,
    })
}

fn describe(item: &Item) -> String {
    match &item.namespace {
        Some(ns) => format!("{} {}/{}", item.resource.kind, ns, item.name),
        None => format!("{} {}", item.resource.kind, item.name),
    }
}

async fn request(
    client: &kube::Client,
    method: http::Method,
    url: &str,
    body: Option<(&str, Vec<u8>)>,
) -> kube::Result<String> {
    let mut b = http::Request::builder()
        .method(method)
        .uri(url)
        .header(http::header::ACCEPT, "application/json");
    let body = match body {
        Some((content_type, bytes)) => {
            b = b.header(http::header::CONTENT_TYPE, content_type);
            bytes
        }
        None => Vec::new(),
    };
    let req = b.body(body).map_err(kube::Error::HttpError)?;
    client.request_text(req).await
}

fn status_of(e: &kube::Error) -> Option<&kube::core::Status> {
    match e {
        kube::Error::Api(s) => Some(s),
        _ => None,
    }
}

/// Turns a client error into netpath's, with the object named and, for
/// transport failures, the underlying cause (refused, TLS, timeout).
pub fn api_error(context: String, e: kube::Error) -> Error {
    match status_of(&e) {
        Some(s) => {
            let mut message = s.message.clone();
            match s.code {
                401 => message.push_str(" (401 Unauthorized: the token or client certificate was rejected; check the credentials in the kubeconfig or api_key)"),
                403 => message.push_str(" (403 Forbidden: the user is authenticated but RBAC does not allow this; grant the verb on this resource)"),
                _ => {}
            }
            Error::api(context, message, Some(s.code))
        }
        None => {
            let detail = super::connect::chain(&e);
            let hint = if detail.contains("certificate")
                || detail.contains("UnknownIssuer")
                || detail.contains("tls")
            {
                " (TLS verification failed: the server's certificate is not signed by the configured CA; set ca_cert or fix certificate-authority-data, never validate_certs: false in production)"
            } else if detail.contains("onnection refused")
                || detail.contains("timed out")
                || detail.contains("elapsed")
            {
                " (API server unreachable: check host/kubeconfig server address, that the API server runs, and request_timeout)"
            } else {
                ""
            };
            Error::api(context, format!("{detail}{hint}"), None)
        }
    }
}

async fn read_live(client: &kube::Client, items: &[Item]) -> Result<Vec<Option<Value>>> {
    let key = |it: &Item| {
        (
            it.resource.collection_url(it.namespace.as_deref()),
            it.resource.plural.clone(),
        )
    };
    let mut groups: HashMap<(String, String), usize> = HashMap::new();
    for it in items {
        *groups.entry(key(it)).or_default() += 1;
    }
    let mut listed: HashMap<(String, String), HashMap<String, Value>> = HashMap::new();
    for ((url, plural), n) in groups {
        if n < LIST_THRESHOLD {
            continue;
        }
        let by_name = match request(client, http::Method::GET, &url, None).await {
            Ok(text) => {
                let list: Value = serde_json::from_str(&text)
                    .map_err(|e| Error::api(format!("list {plural}"), e.to_string(), None))?;
                list["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| Some((o["metadata"]["name"].as_str()?.to_string(), o.clone())))
                    .collect()
            }
            // The kind's CRD is created earlier in this same task (check mode).
            Err(e) if status_of(&e).is_some_and(|s| s.code == 404) => HashMap::new(),
            Err(e) => return Err(api_error(format!("list {plural}"), e)),
        };
        listed.insert((url, plural), by_name);
    }

    let gets = stream::iter(items.iter().map(|it| {
        let (listed, key) = (&listed, &key);
        async move {
            if let Some(by_name) = listed.get(&key(it)) {
                return Ok(by_name.get(&it.name).cloned());
            }
            let url = it.resource.object_url(it.namespace.as_deref(), &it.name);
            match request(client, http::Method::GET, &url, None).await {
                Ok(text) => serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| Error::api(format!("read {}", describe(it)), e.to_string(), None)),
                Err(e) if status_of(&e).is_some_and(|s| s.code == 404) => Ok(None),
                Err(e) => Err(api_error(format!("read {}", describe(it)), e)),
            }
        }
    }))
    .buffered(WRITE_CONCURRENCY)
    .collect::<Vec<Result<Option<Value>>>>()
    .await;
    gets.into_iter().collect()
}

/// The desired object as compared: apiVersion and kind are not in LIST items.
fn comparable(desired: &Value) -> Value {
    let mut d = desired.clone();
    if let Some(m) = d.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
    }
    d
}

fn decide(item: &Item, live: Option<&Value>, manager: &str) -> Action {
    match (item.desired.state, live) {
        (State::Absent, None) => Action::Unchanged,
        (State::Absent, Some(_)) => Action::Deleted,
        (State::Present, None) => Action::Created,
        (State::Present, Some(live)) => {
            let d = comparable(&item.desired.object);
            let same = diff::is_subset(&d, live)
                && diff::owned_fields(live, manager).is_none_or(|f| diff::covers(f, &d));
            if same {
                Action::Unchanged
            } else {
                Action::Updated
            }
        }
    }
}

fn diff_entry(item: &Item, before: Option<&Value>, action: Action) -> DiffEntry {
    let d = comparable(&item.desired.object);
    let before_v = before.map(|l| diff::project(&d, l)).unwrap_or(Value::Null);
    let after_v = if action == Action::Deleted {
        Value::Null
    } else {
        d
    };
    let what = describe(item);
    DiffEntry {
        before_header: format!("{what} (live)"),
        after_header: format!(
            "{what} ({})",
            if action == Action::Deleted {
                "deleted"
            } else {
                "desired"
            }
        ),
        before: diff::to_yaml(&before_v),
        after: diff::to_yaml(&after_v),
    }
}

async fn write(
    client: &kube::Client,
    item: &Item,
    action: Action,
    opts: &Options,
) -> Result<Option<Value>> {
    let url = item
        .resource
        .object_url(item.namespace.as_deref(), &item.name);
    if action == Action::Deleted {
        return match request(
            client,
            http::Method::DELETE,
            &format!("{url}?propagationPolicy=Background"),
            None,
        )
        .await
        {
            Ok(_) => Ok(None),
            Err(e) if status_of(&e).is_some_and(|s| s.code == 404) => Ok(None),
            Err(e) => Err(api_error(format!("delete {}", describe(item)), e)),
        };
    }
    let query = format!(
        "{url}?fieldManager={}&force={}",
        urlencode(&opts.field_manager),
        opts.force_conflicts
    );
    let body = serde_json::to_vec(&item.desired.object).map_err(|e| Error::Other(e.into()))?;
    match request(
        client,
        http::Method::PATCH,
        &query,
        Some(("application/apply-patch+yaml", body)),
    )
    .await
    {
        Ok(text) => Ok(serde_json::from_str(&text).ok()),
        Err(e) => match status_of(&e) {
            Some(s) if s.code == 409 && s.reason == "Conflict" => Err(conflict(item, s)),
            _ => Err(api_error(format!("apply {}", describe(item)), e)),
        },
    }
}

fn conflict(item: &Item, s: &kube::core::Status) -> Error {
    let causes = s
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    let mut managers: Vec<String> = causes
        .iter()
        .filter_map(|c| c.message.split('"').nth(1).map(str::to_string))
        .collect();
    managers.sort();
    managers.dedup();
    let fields: Vec<&str> = causes
        .iter()
        .map(|c| c.field.as_str())
        .filter(|f| !f.is_empty())
        .collect();
    Error::Conflict {
        object: describe(item),
        managers: if managers.is_empty() {
            s.message.clone()
        } else {
            managers.join(", ")
        },
        fields: if fields.is_empty() {
            "(see message)".into()
        } else {
            fields.join(", ")
        },
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn crd_resource() -> Resource {
    Resolver::known("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        .expect("CRD is a known kind")
}

fn condition_true(obj: &Value, ty: &str) -> bool {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == ty && c["status"] == "True")
}

fn crd_established(obj: &Value) -> bool {
    condition_true(obj, "Established")
}

fn workload_available(obj: &Value) -> bool {
    let status = &obj["status"];
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(0);
    if status["observedGeneration"].as_i64().unwrap_or(-1) < generation {
        return false;
    }
    match obj["kind"].as_str() {
        Some("DaemonSet") => {
            let want = status["desiredNumberScheduled"].as_i64().unwrap_or(0);
            status["numberAvailable"].as_i64().unwrap_or(0) >= want
                && status["updatedNumberScheduled"].as_i64().unwrap_or(0) >= want
        }
        _ => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            status["availableReplicas"].as_i64().unwrap_or(0) >= want
                && status["updatedReplicas"].as_i64().unwrap_or(0) >= want
        }
    }
}

async fn wait_for(
    client: &kube::Client,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    timeout: Duration,
    ready: fn(&Value) -> bool,
) -> Result<()> {
    let url = res.object_url(ns, name);
    let start = Instant::now();
    let what = match ns {
        Some(ns) => format!("{} {ns}/{name}", res.kind),
        None => format!("{} {name}", res.kind),
    };
    loop {
        match request(client, http::Method::GET, &url, None).await {
            Ok(text) => {
                if serde_json::from_str::<Value>(&text).is_ok_and(|o| ready(&o)) {
                    return Ok(());
                }
            }
            Err(e) if status_of(&e).is_some_and(|s| s.code == 404) => {}
            Err(e) => return Err(api_error(format!("wait for {what}"), e)),
        }
        if start.elapsed() >= timeout {
            return Err(Error::Timeout(format!(
                "{what} was applied but not ready after {}s; raise wait_timeout or check its status",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_order_namespaces_and_crds_first_and_last_on_delete() {
        assert!(
            phase("Namespace", State::Present) < phase("CustomResourceDefinition", State::Present)
        );
        assert!(
            phase("CustomResourceDefinition", State::Present) < phase("IPPool", State::Present)
        );
        assert!(phase("IPPool", State::Absent) < phase("CustomResourceDefinition", State::Absent));
        assert!(
            phase("CustomResourceDefinition", State::Absent) < phase("Namespace", State::Absent)
        );
    }

    #[test]
    fn readiness() {
        let ok = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "availableReplicas": 2, "updatedReplicas": 2}});
        assert!(workload_available(&ok));
        let stale = json!({"kind": "Deployment", "metadata": {"generation": 3}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "availableReplicas": 2, "updatedReplicas": 2}});
        assert!(!workload_available(&stale));
        assert!(crd_established(
            &json!({"status": {"conditions": [{"type": "Established", "status": "True"}]}})
        ));
    }

    #[test]
    fn encodes_field_manager() {
        assert_eq!(urlencode("net path/1"), "net%20path%2F1");
    }
}
