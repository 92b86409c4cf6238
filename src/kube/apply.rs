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
    /// Keep each object's live state in the report (`ObjectResult::live`),
    /// for modules that read it back (assigned node ports, the pool). Off,
    /// a bulk task holds no live object beyond the LIST page in hand.
    pub keep_live: bool,
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
            keep_live: false,
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
    /// The object as the server holds it after this run, without
    /// `managedFields` (absent when deleted, in check mode for a create, and
    /// unless `Options::keep_live`).
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
/// Objects per LIST page: bounds what a bulk task holds while deciding.
const LIST_PAGE: usize = 250;
/// Requests in flight at once: enough to hide latency, few enough not to
/// trip API priority and fairness on a busy server. Over HTTP/2 (see
/// transport.rs) they share one connection.
const CONCURRENCY: usize = 8;

/// An object with what the run will do to it, decided against its live
/// state as soon as that was read.
struct Decided {
    item: Item,
    action: Action,
    /// The live object, kept only with `Options::keep_live`.
    live: Option<Value>,
    diff: Option<DiffEntry>,
    /// The phase whose writes this object's admission reads (see
    /// `admission_waits_for`): it is dry-run only once that phase is written.
    waits_for: Option<u8>,
}

struct Item {
    desired: Desired,
    resource: Resource,
    namespace: Option<String>,
    name: String,
}

/// Write order: what admission of later objects reads comes first (a
/// namespace, a kind's CRD, and an Ingress's class and its parameters, which
/// the AWS Load Balancer Controller's Ingress webhook looks up); deletes run
/// in the reverse order.
fn phase(kind: &str, state: State) -> u8 {
    let p = match kind {
        "Namespace" => 0,
        "CustomResourceDefinition" => 1,
        "IngressClassParams" => 2,
        "IngressClass" => 3,
        _ => 4,
    };
    if state == State::Absent { 10 - p } else { p }
}

/// The latest phase whose writes in this task `d`'s admission depends on:
/// its namespace is new, its kind comes with a CRD of this task, or it is an
/// Ingress while this task writes an IngressClass or IngressClassParams.
/// Such an object cannot be dry-run before that phase is written.
fn admission_waits_for(d: &Decided, all: &[Decided]) -> Option<u8> {
    let it = &d.item;
    if d.action == Action::Unchanged || it.desired.state == State::Absent {
        return None;
    }
    let written = |kind: &str| {
        all.iter().any(|o| {
            o.item.resource.kind == kind && matches!(o.action, Action::Created | Action::Updated)
        })
    };
    let mut after = None;
    let new_namespace = it.namespace.as_deref().is_some_and(|ns| {
        all.iter().any(|o| {
            o.item.resource.kind == "Namespace" && o.action == Action::Created && o.item.name == ns
        })
    });
    if new_namespace {
        after = Some(phase("Namespace", State::Present));
    }
    let task_kind = all.iter().any(|o| {
        let spec = &o.item.desired.object["spec"];
        o.item.resource.kind == "CustomResourceDefinition"
            && o.item.desired.state == State::Present
            && spec["group"].as_str() == Some(it.resource.group.as_str())
            && spec["names"]["plural"].as_str() == Some(it.resource.plural.as_str())
    });
    if task_kind {
        after = Some(phase("CustomResourceDefinition", State::Present));
    }
    if it.resource.kind == "Ingress" {
        for kind in ["IngressClassParams", "IngressClass"] {
            if written(kind) {
                after = Some(phase(kind, State::Present));
            }
        }
    }
    after
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
    // Everything that can fail on bad input happens before the first write:
    // locating every object (unknown kinds, unusable names), reading and
    // deciding, and a server-side dry run of every planned write (schema,
    // admission, RBAC, conflicts). A task is then applied whole or not at all.
    let mut items = Vec::with_capacity(objects.len());
    for d in objects {
        items.push(locate(client, resolver, d, &opts.default_namespace).await?);
    }
    let mut decided = read_and_decide(client, items, opts).await?;
    let waits: Vec<Option<u8>> = decided
        .iter()
        .map(|d| admission_waits_for(d, &decided))
        .collect();
    for (d, w) in decided.iter_mut().zip(waits) {
        d.waits_for = w;
    }
    if !opts.check_mode {
        dry_run(client, &decided, opts).await?;
    }
    let mut phases: Vec<(u8, Vec<Decided>)> = Vec::new();
    for d in decided {
        let p = phase(&d.item.resource.kind, d.item.desired.state);
        match phases.iter_mut().find(|(q, _)| *q == p) {
            Some((_, v)) => v.push(d),
            None => phases.push((p, vec![d])),
        }
    }
    phases.sort_by_key(|(p, _)| *p);

    for i in 0..phases.len() {
        if !opts.check_mode {
            let p = phases[i].0;
            let ready: Vec<&Decided> = phases[i..]
                .iter()
                .flat_map(|(_, v)| v)
                .filter(|d| d.waits_for.is_some_and(|q| q < p))
                .collect();
            if !ready.is_empty() {
                dry_run_after_writes(client, &ready, report, opts).await?;
                for (_, v) in &mut phases[i..] {
                    for d in v.iter_mut().filter(|d| d.waits_for.is_some_and(|q| q < p)) {
                        d.waits_for = None;
                    }
                }
            }
        }
        let decided = std::mem::take(&mut phases[i].1);
        let writes = stream::iter(decided.into_iter().map(|d| async move {
            let after = if opts.check_mode || d.action == Action::Unchanged {
                Ok(None)
            } else {
                write(client, &d.item, d.action, opts).await
            };
            (d, after)
        }))
        .buffered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;

        let mut first_error = None;
        let mut established = Vec::new();
        for (d, after) in writes {
            let after = match after {
                Ok(a) => a,
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let Decided {
                item,
                action,
                live,
                diff,
                ..
            } = d;
            if item.resource.kind == "CustomResourceDefinition"
                && matches!(action, Action::Created | Action::Updated)
                && !opts.check_mode
            {
                established.push(item.name.clone());
            }
            // Nothing written: the live object read before is the result.
            let live = match after {
                Some(written) => Some(without_managed_fields(written)),
                None if action == Action::Deleted => None,
                None => live,
            };
            report.results.push(ObjectResult {
                kind: item.resource.kind.clone(),
                api_version: item.resource.api_version(),
                namespace: item.namespace.clone(),
                name: item.name.clone(),
                action,
                diff,
                live,
            });
        }
        if let Some(e) = first_error {
            return Err(with_written(e, report, opts));
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

/// Fields the server owns: a manifest may carry them (exported objects, CRDs
/// with an empty `status`), but they are never applied, so comparing them
/// would report a change on every run. kubectl ignores them too.
pub(crate) fn strip_server_fields(obj: &mut Value) {
    if let Some(o) = obj.as_object_mut() {
        o.remove("status");
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        for k in [
            "creationTimestamp",
            "resourceVersion",
            "uid",
            "generation",
            "managedFields",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            m.remove(k);
        }
    }
}

/// Dry-runs every planned write when there is more than one (a single write
/// that fails has written nothing anyway), except those whose admission
/// reads objects this task writes first (`admission_waits_for`): those are
/// dry-run once their phase is written, by `dry_run_after_writes`.
async fn dry_run(client: &kube::Client, decided: &[Decided], opts: &Options) -> Result<()> {
    let planned = decided
        .iter()
        .filter(|d| d.action != Action::Unchanged)
        .count();
    if planned < 2 {
        return Ok(());
    }
    let checks: Vec<&Decided> = decided
        .iter()
        .filter(|d| d.action != Action::Unchanged && d.waits_for.is_none())
        .collect();
    // Answers are not even parsed: only errors matter here.
    let results = stream::iter(
        checks
            .into_iter()
            .map(|d| async move { write_once(client, &d.item, d.action, opts, true).await }),
    )
    .buffered(CONCURRENCY)
    .collect::<Vec<_>>()
    .await;
    for r in results {
        r.map_err(|e| with_context(e, " (server-side dry run; nothing was written)"))?;
    }
    Ok(())
}

/// How long a dry run right after the objects its admission reads were
/// written may be denied: webhooks read them through informer caches (the
/// AWS Load Balancer Controller's IngressClass lookup), as do admission
/// policies their params, and those lag the write by milliseconds.
const ADMISSION_CACHE_WAIT: Duration = Duration::from_secs(5);

/// Dry-runs the objects whose admission needed this task's earlier phases,
/// now written, before anything else is. Always, even for one object: its
/// denial right after those writes is retried (see ADMISSION_CACHE_WAIT).
async fn dry_run_after_writes(
    client: &kube::Client,
    ready: &[&Decided],
    report: &Report,
    opts: &Options,
) -> Result<()> {
    let start = Instant::now();
    let results = stream::iter(ready.iter().map(|d| async move {
        let mut pause = Duration::from_millis(25);
        loop {
            match write_once(client, &d.item, d.action, opts, true).await {
                Err(Error::Admission {
                    refusal: crate::error::Refusal::Denied,
                    ..
                }) if start.elapsed() < ADMISSION_CACHE_WAIT => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }))
    .buffered(CONCURRENCY)
    .collect::<Vec<_>>()
    .await;
    for r in results {
        r.map_err(|e| {
            let note = match written_summary(report, opts) {
                Some(w) => format!(
                    " (server-side dry run after writing what its admission reads: {w}; \
                     nothing else was written)"
                ),
                None => " (server-side dry run; nothing was written)".to_string(),
            };
            with_context(e, &note)
        })?;
    }
    Ok(())
}

/// What this run has written so far, e.g. `created IngressClass alb`.
fn written_summary(report: &Report, opts: &Options) -> Option<String> {
    if opts.check_mode {
        return None;
    }
    let w: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.action != Action::Unchanged)
        .map(|r| {
            let action = serde_json::to_value(r.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            match &r.namespace {
                Some(ns) => format!("{action} {} {ns}/{}", r.kind, r.name),
                None => format!("{action} {} {}", r.kind, r.name),
            }
        })
        .collect();
    (!w.is_empty()).then(|| w.join(", "))
}

/// A write failed after earlier phases were written: say which were.
fn with_written(e: Error, report: &Report, opts: &Options) -> Error {
    match written_summary(report, opts) {
        Some(w) => with_context(e, &format!(" (written in this run before it failed: {w})")),
        None => e,
    }
}

fn with_context(e: Error, note: &str) -> Error {
    match e {
        Error::Api {
            context,
            message,
            status,
        } => Error::Api {
            context: format!("{context}{note}"),
            message,
            status,
        },
        Error::Admission {
            context,
            by,
            message,
            refusal,
        } => Error::Admission {
            context: format!("{context}{note}"),
            by,
            message,
            refusal,
        },
        other => other,
    }
}

/// Why `name` cannot be sent as one URL path segment, if it cannot: such a
/// name would address another resource (`x/status`) or inject a query.
pub fn name_problem(name: &str) -> Option<String> {
    if name == "." || name == ".." {
        return Some(format!("{name:?} is not a name"));
    }
    if name.len() > 253 {
        return Some(format!(
            "it is {} characters long; the limit is 253",
            name.len()
        ));
    }
    // RFC 3986 pchar without percent-encoding: what a path segment holds as is.
    let bad: Vec<String> = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(*c)))
        .map(|c| format!("{c:?}"))
        .collect();
    (!bad.is_empty()).then(|| format!("it contains {}", bad.join(", ")))
}

/// Why `ns` is not a namespace name (a DNS-1123 label), if it is not.
pub fn namespace_problem(ns: &str) -> Option<String> {
    (!super::names::is_dns_label(ns)).then(|| {
        format!("{ns:?} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63, alphanumeric at both ends)")
    })
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
    if let Some(why) = name_problem(&name) {
        return Err(Error::Input(format!(
            "{kind} {name:?}: metadata.name cannot be used: {why}. Kubernetes names are DNS names like my-app or app.example.com"
        )));
    }
    let resource = resolver.resolve(client, &api_version, &kind).await?;
    let mut desired = d;
    strip_server_fields(&mut desired.object);
    let namespace = if resource.namespaced {
        let ns = desired.object["metadata"]["namespace"]
            .as_str()
            .unwrap_or(default_ns)
            .to_string();
        if let Some(why) = namespace_problem(&ns) {
            return Err(Error::Input(format!("{kind} {name}: namespace {why}")));
        }
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
            // Admission control answers 403 (webhooks) or 422 (policies)
            // too: its own message, never the RBAC hint.
            if let Some((by, refusal)) = crate::error::admission_refusal(&s.message) {
                return Error::Admission {
                    context,
                    by,
                    message: s.message.clone(),
                    refusal,
                };
            }
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
            let hint = transport_hint(&detail);
            Error::api(context, format!("{detail}{hint}"), None)
        }
    }
}

/// What a transport failure (no HTTP status) means for the user.
fn transport_hint(detail: &str) -> &'static str {
    // A connection cut mid-request (server killed) also mentions TLS
    // (no close_notify): it is not a certificate problem.
    let lost = [
        "close_notify",
        "onnection reset",
        "roken pipe",
        "connection closed",
        "IncompleteMessage",
    ]
    .iter()
    .any(|p| detail.contains(p));
    if lost {
        " (API server unreachable: the connection broke off mid-request, so the server stopped or restarted; objects listed in results were applied, re-run the task to converge)"
    } else if detail.contains("certificate")
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
    }
}

/// Reads every object's live state and decides on it as it arrives: one
/// paged LIST per kind and namespace from `LIST_THRESHOLD` objects on, else
/// one GET each. A live object is dropped once decided (and diffed) unless
/// `keep_live`, so a bulk task holds one LIST page at a time.
async fn read_and_decide(
    client: &kube::Client,
    items: Vec<Item>,
    opts: &Options,
) -> Result<Vec<Decided>> {
    let mut slots: Vec<Option<Decided>> = Vec::with_capacity(items.len());
    slots.resize_with(items.len(), || None);
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        groups
            .entry(it.resource.collection_url(it.namespace.as_deref()))
            .or_default()
            .push(i);
    }
    let mut items: Vec<Option<Item>> = items.into_iter().map(Some).collect();
    let mut single = Vec::new();
    for (url, members) in groups {
        if members.len() < LIST_THRESHOLD {
            single.extend(members);
            continue;
        }
        let plural = items[members[0]]
            .as_ref()
            .expect("unread")
            .resource
            .plural
            .clone();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for &i in &members {
            by_name
                .entry(items[i].as_ref().expect("unread").name.clone())
                .or_default()
                .push(i);
        }
        let mut found = |live: Option<&Value>, idx: &[usize], items: &mut Vec<Option<Item>>| {
            for &i in idx {
                let item = items[i].take().expect("decided once");
                slots[i] = Some(decided(item, live, opts));
            }
        };
        list_pages(client, &url, &plural, |page| {
            for obj in page {
                let name = obj["metadata"]["name"].as_str().unwrap_or_default();
                if let Some(idx) = by_name.remove(name) {
                    found(Some(&obj), &idx, &mut items);
                }
            }
        })
        .await?;
        // Not in the LIST (or the kind's CRD comes with this task): absent.
        for idx in by_name.into_values() {
            found(None, &idx, &mut items);
        }
    }

    let gets = stream::iter(single.into_iter().map(|i| {
        let item = items[i].take().expect("unread");
        async move {
            let url = item
                .resource
                .object_url(item.namespace.as_deref(), &item.name);
            let live = match request(client, http::Method::GET, &url, None).await {
                Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
                    Error::api(format!("read {}", describe(&item)), e.to_string(), None)
                })?,
                Err(e) if status_of(&e).is_some_and(|s| s.code == 404) => None,
                Err(e) => return Err(api_error(format!("read {}", describe(&item)), e)),
            };
            Ok((i, decided(item, live.as_ref(), opts)))
        }
    }))
    .buffered(CONCURRENCY)
    .collect::<Vec<Result<(usize, Decided)>>>()
    .await;
    for g in gets {
        let (i, d) = g?;
        slots[i] = Some(d);
    }
    Ok(slots
        .into_iter()
        .map(|d| d.expect("every object decided"))
        .collect())
}

/// LISTs `url` page by page, handing each page's items to `each`. A kind
/// not served yet (its CRD comes earlier in this task, in check mode) lists
/// nothing.
async fn list_pages(
    client: &kube::Client,
    url: &str,
    plural: &str,
    mut each: impl FnMut(Vec<Value>),
) -> Result<()> {
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
    let mut next: Option<String> = None;
    loop {
        let page_url = match &next {
            None => format!("{url}?limit={LIST_PAGE}"),
            Some(token) => format!("{url}?limit={LIST_PAGE}&continue={}", urlencode(token)),
        };
        let page: Page = match request(client, http::Method::GET, &page_url, None).await {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| Error::api(format!("list {plural}"), e.to_string(), None))?,
            Err(e) if status_of(&e).is_some_and(|s| s.code == 404) => return Ok(()),
            Err(e) => return Err(api_error(format!("list {plural}"), e)),
        };
        each(page.items);
        match page.metadata.next.filter(|t| !t.is_empty()) {
            Some(token) => next = Some(token),
            None => return Ok(()),
        }
    }
}

/// Decides `item` against `live`, with its diff when asked for; keeps the
/// live object only when the module reads it back.
fn decided(item: Item, live: Option<&Value>, opts: &Options) -> Decided {
    let action = decide(&item, live, &opts.field_manager);
    let diff = (opts.diff && action != Action::Unchanged).then(|| diff_entry(&item, live, action));
    let live = if opts.keep_live {
        live.cloned().map(without_managed_fields)
    } else {
        None
    };
    Decided {
        item,
        action,
        live,
        diff,
        waits_for: None,
    }
}

/// Who wrote which field is the server's bookkeeping: nothing after the
/// decision reads it, and it is ~40 % of an object's size.
fn without_managed_fields(mut obj: Value) -> Value {
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    obj
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
            let mut d = comparable(&item.desired.object);
            let secret = item.resource.kind == "Secret" && item.resource.group.is_empty();
            if secret {
                string_data_into_data(&mut d);
            }
            let same = diff::is_subset(&d, live)
                && diff::owned_fields(live, manager).is_none_or(|f| {
                    // Ownership is recorded for the fields as applied: a key
                    // applied as stringData is owned there, yet stored (and
                    // now desired) in data. Both forms are one field.
                    if secret {
                        diff::covers(&diff::string_data_owned_as_data(f), &d)
                    } else {
                        diff::covers(f, &d)
                    }
                });
            if same {
                Action::Unchanged
            } else {
                Action::Updated
            }
        }
    }
}

/// A Secret's `stringData` as the server stores it: base64 in `data`, where
/// it wins over a `data` key of the same name. Returns the `stringData`
/// taken out. Compared as given, it is never live, and every run would
/// report a change.
fn string_data_into_data(d: &mut Value) -> Option<Value> {
    use base64::Engine;
    let sd = d.as_object_mut()?.remove("stringData")?;
    if let Some(entries) = sd.as_object() {
        let data = d
            .as_object_mut()?
            .entry("data")
            .or_insert_with(|| json!({}));
        if let Some(data) = data.as_object_mut() {
            for (k, v) in entries {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                data.insert(
                    k.clone(),
                    json!(base64::engine::general_purpose::STANDARD.encode(text)),
                );
            }
        }
    }
    Some(sd)
}

fn diff_entry(item: &Item, before: Option<&Value>, action: Action) -> DiffEntry {
    let d = comparable(&item.desired.object);
    let mut before_v = before.map(|l| diff::project(&d, l)).unwrap_or(Value::Null);
    let mut after_v = if action == Action::Deleted {
        Value::Null
    } else {
        d
    };
    if item.resource.kind == "Secret" && item.resource.group.is_empty() {
        hide_secret_values(&mut before_v, None);
        hide_secret_values(&mut after_v, before);
    }
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

/// A Secret's values never reach a diff: each shows as a mask, and as a
/// changed mask when it differs from `live` (stringData is compared with the
/// base64 `data` the server keeps).
fn hide_secret_values(v: &mut Value, live: Option<&Value>) {
    use base64::Engine;
    for field in ["data", "stringData"] {
        let Some(m) = v.get_mut(field).and_then(Value::as_object_mut) else {
            continue;
        };
        for (k, x) in m.iter_mut() {
            let same = live.is_none_or(|l| {
                let cur = &l["data"][k.as_str()];
                match (field, x.as_str()) {
                    ("data", _) => cur == x,
                    (_, Some(s)) => {
                        cur.as_str() == Some(&base64::engine::general_purpose::STANDARD.encode(s))
                    }
                    _ => false,
                }
            });
            *x = json!(if same {
                crate::protocol::output::MASK
            } else {
                "******** (changed)"
            });
        }
    }
}

/// Writes, retrying (briefly) when the server reports an optimistic-concurrency
/// conflict: the write is netpath's own, idempotent apply of its fields, so a
/// concurrent writer of other fields is no reason to fail. Conflicts over
/// fields another manager owns are never retried: they are reported.
async fn write(
    client: &kube::Client,
    item: &Item,
    action: Action,
    opts: &Options,
) -> Result<Option<Value>> {
    let mut attempt = 0;
    loop {
        match write_once(client, item, action, opts, false).await {
            Err(Error::Api {
                status: Some(409), ..
            }) if attempt < CONFLICT_RETRIES => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            other => return other,
        }
    }
}

const CONFLICT_RETRIES: u64 = 5;

async fn write_once(
    client: &kube::Client,
    item: &Item,
    action: Action,
    opts: &Options,
    dry_run: bool,
) -> Result<Option<Value>> {
    let url = item
        .resource
        .object_url(item.namespace.as_deref(), &item.name);
    let dry = if dry_run { "&dryRun=All" } else { "" };
    if action == Action::Deleted {
        return match request(
            client,
            http::Method::DELETE,
            &format!("{url}?propagationPolicy=Background{dry}"),
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
        "{url}?fieldManager={}&force={}{dry}",
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
        // A dry run's answer, or one no module reads back, is not parsed.
        Ok(text) if opts.keep_live && !dry_run => Ok(serde_json::from_str(&text).ok()),
        Ok(_) => Ok(None),
        Err(e) => match status_of(&e) {
            Some(s) if s.code == 409 && is_field_conflict(s) => Err(conflict(item, s)),
            _ => Err(api_error(format!("apply {}", describe(item)), e)),
        },
    }
}

/// A server-side apply conflict over fields another manager owns, as opposed
/// to an optimistic-concurrency conflict ("the object has been modified").
fn is_field_conflict(s: &kube::core::Status) -> bool {
    s.reason == "Conflict"
        && s.details
            .as_ref()
            .is_some_and(|d| d.causes.iter().any(|c| c.reason == "FieldManagerConflict"))
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
            phase("CustomResourceDefinition", State::Present)
                < phase("IngressClassParams", State::Present)
        );
        assert!(
            phase("IngressClassParams", State::Present) < phase("IngressClass", State::Present)
        );
        assert!(phase("IngressClass", State::Present) < phase("Ingress", State::Present));
        assert!(phase("Ingress", State::Absent) < phase("IngressClass", State::Absent));
        assert!(
            phase("CustomResourceDefinition", State::Present) < phase("IPPool", State::Present)
        );
        assert!(phase("IPPool", State::Absent) < phase("CustomResourceDefinition", State::Absent));
        assert!(
            phase("CustomResourceDefinition", State::Absent) < phase("Namespace", State::Absent)
        );
    }

    #[test]
    fn admission_waits_only_for_what_it_reads() {
        let d = |api_version: &str, kind: &str, ns: Option<&str>, name: &str, action: Action| {
            let resource = Resolver::known(api_version, kind).expect("known kind");
            Decided {
                item: Item {
                    desired: Desired::present(json!({"apiVersion": api_version, "kind": kind,
                        "metadata": {"name": name}})),
                    resource,
                    namespace: ns.map(str::to_string),
                    name: name.into(),
                },
                action,
                live: None,
                diff: None,
                waits_for: None,
            }
        };
        let task = vec![
            d("v1", "Namespace", None, "new", Action::Created),
            d(
                "networking.k8s.io/v1",
                "IngressClass",
                None,
                "alb",
                Action::Created,
            ),
            d(
                "networking.k8s.io/v1",
                "Ingress",
                Some("old"),
                "app",
                Action::Created,
            ),
            d("v1", "Service", Some("old"), "app", Action::Created),
            d("v1", "ConfigMap", Some("new"), "c", Action::Created),
        ];
        let waits: Vec<Option<u8>> = task.iter().map(|x| admission_waits_for(x, &task)).collect();
        let class = phase("IngressClass", State::Present);
        assert_eq!(waits, [None, None, Some(class), None, Some(0)]);
        // An unchanged class is there already: nothing to wait for.
        let mut task = task;
        task[1].action = Action::Unchanged;
        assert_eq!(admission_waits_for(&task[2], &task), None);
    }

    #[test]
    fn server_fields_are_not_desired() {
        let mut o = json!({"kind": "CustomResourceDefinition", "metadata": {"name": "x", "creationTimestamp": null,
            "resourceVersion": "5", "labels": {"a": "b"}}, "spec": {}, "status": {"storedVersions": null}});
        strip_server_fields(&mut o);
        assert_eq!(
            o,
            json!({"kind": "CustomResourceDefinition", "metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {}})
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
    fn names_must_be_one_plain_path_segment() {
        for ok in ["app", "app.example.com", "system:node-proxier", "a-1"] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("x/status", "contains '/'"),
            ("..", "is not a name"),
            ("x?dryRun=All", "contains '?'"),
            ("a b", "contains ' '"),
            ("a%2Fb", "contains '%'"),
            ("caf\u{e9}", "contains 'é'"),
        ] {
            let got = name_problem(bad).unwrap_or_default();
            assert!(got.contains(why), "{bad}: {got}");
        }
        assert!(
            name_problem(&"a".repeat(254))
                .unwrap()
                .contains("limit is 253")
        );
        assert_eq!(namespace_problem("kube-system"), None);
        for bad in ["", "Bad_NS", "-a", "a/b", &"a".repeat(64)] {
            assert!(namespace_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn only_field_manager_conflicts_are_reported_as_conflicts() {
        let status = |causes: serde_json::Value| -> kube::core::Status {
            serde_json::from_value(
                json!({"status": "Failure", "reason": "Conflict", "code": 409,
                "message": "m", "details": {"causes": causes}}),
            )
            .unwrap()
        };
        let owned = status(
            json!([{"reason": "FieldManagerConflict", "message": "conflict with \"helm\"", "field": ".data.a"}]),
        );
        assert!(is_field_conflict(&owned));
        // "the object has been modified": optimistic concurrency, retried.
        assert!(!is_field_conflict(&status(json!([]))));
    }

    #[test]
    fn a_cut_connection_is_not_called_a_certificate_problem() {
        // Seen when the API server was killed mid-task.
        let cut = "ServiceError: client error (SendRequest): connection error: peer closed connection without sending TLS close_notify";
        assert!(transport_hint(cut).contains("broke off mid-request"));
        let wrong_ca =
            "ServiceError: client error (Connect): invalid peer certificate: UnknownIssuer";
        assert!(transport_hint(wrong_ca).contains("TLS verification failed"));
        assert!(transport_hint("tcp connect error: Connection refused").contains("unreachable"));
    }

    #[test]
    fn secret_values_are_masked_but_changes_show() {
        let live = json!({"data": {"a": "MQ==", "b": "Mg=="}});
        let mut after =
            json!({"data": {"a": "MQ==", "b": "Mw=="}, "stringData": {"c": "1", "a": "1"}});
        hide_secret_values(&mut after, Some(&live));
        assert_eq!(
            after,
            json!({"data": {"a": "********", "b": "******** (changed)"},
                "stringData": {"c": "******** (changed)", "a": "********"}})
        );
    }

    #[test]
    fn string_data_compares_as_the_base64_data_the_server_keeps() {
        let mut d = json!({"data": {"a": "eA==", "b": "eQ=="}, "stringData": {"b": "2", "c": "3"}});
        let sd = string_data_into_data(&mut d).unwrap();
        assert_eq!(sd, json!({"b": "2", "c": "3"}));
        assert_eq!(d, json!({"data": {"a": "eA==", "b": "Mg==", "c": "Mw=="}}));
        let mut plain = json!({"data": {"a": "eA=="}});
        assert!(string_data_into_data(&mut plain).is_none());
    }

    #[test]
    fn encodes_field_manager() {
        assert_eq!(urlencode("net path/1"), "net%20path%2F1");
    }
}
