//! What kubernetes.core.k8s playbooks rely on beyond applying: objects
//! addressed by `kind`/`name` alone, `server_side_apply`, waiting for a
//! condition or a deletion, and the live object returned as `result`.

use super::Args;
use crate::error::Error;
use crate::kube::apply::{self, Action, ObjectResult, Report};
use crate::kube::read;
use crate::kube::{Desired, Resolver};
use crate::protocol::output::MASK;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// The one object `kind`, `api_version` and `name` address when there is
/// no definition (kubernetes.core's `state: absent` by name, or a Namespace
/// created from its name).
pub fn addressed(params: &Args) -> Result<Vec<Value>, Error> {
    let Some(kind) = params.kind.as_deref() else {
        return Err(Error::Input(
            "one of src, definition or template is required, or kind and name to address one object (e.g. kind: ConfigMap, name: app-config, state: absent): without them there is nothing to apply or delete".into(),
        ));
    };
    let Some(name) = params.name.as_deref().filter(|n| !n.is_empty()) else {
        return Err(Error::Input(format!(
            "name is missing: with kind {kind} and no definition, name says which object to act on. netpath never acts on every {kind} of a namespace (kubernetes.core's delete_all and label_selectors are not supported): give name, or list the objects in definition"
        )));
    };
    // kind and apiVersion come from `fill_from_params`, like a definition
    // that leaves them out.
    let _ = kind;
    Ok(vec![json!({"metadata": {"name": name}})])
}

/// Fills what each object leaves out from `kind`, `api_version` and `name`,
/// as kubernetes.core does (the definition wins).
/// Returns, per object, whether its apiVersion is the v1 default (see
/// `default_api_versions`).
pub fn fill_from_params(objects: &mut [Value], params: &Args) -> Vec<bool> {
    let mut defaulted = vec![false; objects.len()];
    for (i, o) in objects.iter_mut().enumerate() {
        let Some(m) = o.as_object_mut() else { continue };
        // kubernetes.core's api_version defaults to v1; here only for an
        // object whose kind comes from the task too, so a definition that
        // names its kind but forgets apiVersion is still refused.
        let kind_from_task = !m.contains_key("kind") && params.kind.is_some();
        if let Some(kind) = &params.kind {
            m.entry("kind").or_insert_with(|| json!(kind));
        }
        match &params.api_version {
            Some(v) => {
                m.entry("apiVersion").or_insert_with(|| json!(v));
            }
            None if kind_from_task && !m.contains_key("apiVersion") => {
                m.insert("apiVersion".into(), json!("v1"));
                defaulted[i] = true;
            }
            None => {}
        }
        if let Some(name) = &params.name {
            let meta = m.entry("metadata").or_insert_with(|| json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.entry("name").or_insert_with(|| json!(name));
            }
        }
    }
    defaulted
}

/// kubernetes.core's default api_version `v1` names a version, not the core
/// group: `kind: DaemonSet` alone finds apps/v1. The same here, from
/// discovery, for objects whose apiVersion was defaulted and whose kind the
/// core group does not serve.
pub async fn default_api_versions(
    client: &kube::Client,
    desired: &mut [Desired],
    defaulted: &[bool],
) -> Result<(), Error> {
    let mut core: Option<Value> = None;
    let mut groups: Option<Vec<(String, Value)>> = None;
    for (d, _) in desired.iter_mut().zip(defaulted).filter(|(_, d)| **d) {
        let kind = d.object["kind"].as_str().unwrap_or_default().to_string();
        if Resolver::known("v1", &kind).is_some() {
            continue;
        }
        if core.is_none() {
            core = Some(read::get(client, "/api/v1").await?.unwrap_or(Value::Null));
        }
        if serves(core.as_ref().unwrap_or(&Value::Null), &kind) {
            continue;
        }
        if groups.is_none() {
            let mut found = Vec::new();
            let list = read::get(client, "/apis").await?.unwrap_or(Value::Null);
            for g in list["groups"].as_array().into_iter().flatten() {
                let has_v1 = g["versions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v["version"] == "v1");
                if let (true, Some(name)) = (has_v1, g["name"].as_str()) {
                    let gv = format!("{name}/v1");
                    if let Some(doc) = read::get(client, &format!("/apis/{gv}")).await? {
                        found.push((gv, doc));
                    }
                }
            }
            groups = Some(found);
        }
        if let Some((gv, _)) = groups.iter().flatten().find(|(_, doc)| serves(doc, &kind)) {
            d.object["apiVersion"] = json!(gv);
        }
    }
    Ok(())
}

fn serves(discovery: &Value, kind: &str) -> bool {
    discovery["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["kind"] == kind && !r["name"].as_str().unwrap_or_default().contains('/'))
}

/// state=patched: objects that do not exist are left out, with
/// kubernetes.core's warning, instead of being created.
pub async fn drop_missing(
    client: &kube::Client,
    resolver: &mut Resolver,
    desired: &mut Vec<Desired>,
    default_ns: &str,
) -> Result<Vec<String>, Error> {
    let mut warnings = Vec::new();
    let mut keep = Vec::with_capacity(desired.len());
    for d in desired.drain(..) {
        let o = &d.object;
        let (av, kind) = (
            o["apiVersion"].as_str().unwrap_or_default(),
            o["kind"].as_str().unwrap_or_default(),
        );
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        let res = resolver.resolve(client, av, kind).await?;
        let ns = res
            .namespaced
            .then(|| o["metadata"]["namespace"].as_str().unwrap_or(default_ns));
        if read::get(client, &res.object_url(ns, name))
            .await?
            .is_some()
        {
            keep.push(d);
        } else {
            warnings.push(format!(
                "resource 'kind={kind},name={name}' was not found but will not be created as 'state' parameter has been set to 'patched'"
            ));
        }
    }
    *desired = keep;
    Ok(warnings)
}

/// The Kubernetes status reason of a failed write, as kubernetes.core
/// returns it in `reason` (`Conflict`, `NotFound`, `Invalid`...).
pub fn reason(e: &Error) -> Option<&'static str> {
    match e {
        Error::Conflict { .. } => Some("Conflict"),
        Error::Api {
            status: Some(s), ..
        } => match s {
            400 => Some("BadRequest"),
            401 => Some("Unauthorized"),
            403 => Some("Forbidden"),
            404 => Some("NotFound"),
            409 => Some("Conflict"),
            410 => Some("Gone"),
            422 => Some("Invalid"),
            429 => Some("TooManyRequests"),
            500 => Some("InternalError"),
            504 => Some("Timeout"),
            _ => None,
        },
        Error::Timeout(_) => Some("Timeout"),
        _ => None,
    }
}

/// kubernetes.core's `server_side_apply` dict and `force` over the
/// top-level options.
pub fn server_side_apply_options(opts: &mut apply::Options, params: &Args) {
    if let Some(ssa) = &params.server_side_apply {
        opts.field_manager.clone_from(&ssa.field_manager);
        if ssa.force_conflicts == Some(true) {
            opts.force_conflicts = true;
        }
    }
    if params.force {
        opts.force_conflicts = true;
    }
}

pub struct Condition {
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
}

pub struct Waits {
    pub wait: bool,
    pub condition: Option<Condition>,
    pub timeout: Duration,
    pub sleep: Duration,
}

impl Waits {
    pub fn from_params(params: &Args, opts: &apply::Options) -> Self {
        let condition = params.wait_condition.as_ref().map(|c| Condition {
            kind: c.type_.clone(),
            status: normalise_status(&c.status),
            reason: c.reason.clone(),
        });
        Waits {
            wait: opts.wait && !opts.check_mode,
            condition,
            timeout: opts.wait_timeout,
            sleep: Duration::from_secs(params.wait_sleep.max(1) as u64),
        }
    }
}

/// YAML's `status: True` arrives as the string "true".
fn normalise_status(s: &str) -> String {
    match s.to_ascii_lowercase().as_str() {
        "true" => "True".into(),
        "false" => "False".into(),
        "unknown" => "Unknown".into(),
        _ => s.to_string(),
    }
}

/// One object's entry in `result`, as kubernetes.core.k8s shapes it.
pub struct Entry {
    pub changed: bool,
    pub method: &'static str,
    pub result: Value,
    pub duration: Option<u64>,
}

/// The live object of each result, in the order of the definitions: after a
/// wait, as the wait last read it; in check mode, as the server's dry run
/// says it would be. A wait that fails becomes the report's error.
pub async fn live_results(
    client: &kube::Client,
    resolver: &mut Resolver,
    report: &mut Report,
    desired: &[Desired],
    opts: &apply::Options,
    waits: &Waits,
) -> Vec<Entry> {
    let order = definition_order(&report.results, desired, &opts.default_namespace);
    let mut out = Vec::with_capacity(order.len());
    for (ri, di) in order {
        let r = &report.results[ri];
        let url = resolver
            .cached(&r.api_version, &r.kind)
            .or_else(|| Resolver::known(&r.api_version, &r.kind))
            .map(|res| res.object_url(r.namespace.as_deref(), &r.name));
        let mut object = match r.action {
            Action::Deleted => Value::Null,
            _ => r.live.clone().unwrap_or(Value::Null),
        };
        if opts.check_mode && matches!(r.action, Action::Created | Action::Updated) {
            object = match &url {
                Some(url) => dry_run(client, url, &desired[di].object, r, opts).await,
                None => None,
            }
            .unwrap_or_else(|| predicted(&desired[di].object, &object, r));
        }
        let mut duration = None;
        if let (true, None, Some(url)) = (waits.wait, &report.error, &url) {
            let start = Instant::now();
            match wait_one(client, url, r, waits).await {
                Ok(Some(waited)) => {
                    object = waited;
                    duration = Some(start.elapsed().as_secs());
                }
                Ok(None) => {}
                Err(e) => report.error = Some(e),
            }
        }
        out.push(Entry {
            changed: r.action != Action::Unchanged,
            method: match (r.action, desired[di].state) {
                (_, apply::State::Absent) => "delete",
                (Action::Created, _) => "create",
                _ => "apply",
            },
            result: presentable(object, r),
            duration,
        });
    }
    out
}

/// Pairs each result with its definition, in the definitions' order
/// (the engine applies Namespaces and CRDs first).
fn definition_order(
    results: &[ObjectResult],
    desired: &[Desired],
    default_ns: &str,
) -> Vec<(usize, usize)> {
    let mut used = vec![false; results.len()];
    let mut out = Vec::new();
    for (di, d) in desired.iter().enumerate() {
        let o = &d.object;
        let ns = o["metadata"]["namespace"].as_str().unwrap_or(default_ns);
        let found = results.iter().enumerate().position(|(ri, r)| {
            !used[ri]
                && o["kind"].as_str() == Some(r.kind.as_str())
                && o["metadata"]["name"].as_str() == Some(r.name.as_str())
                && r.namespace.as_deref().is_none_or(|rns| rns == ns)
        });
        if let Some(ri) = found {
            used[ri] = true;
            out.push((ri, di));
        }
    }
    out
}

/// The server's answer to a dry-run apply of the definition: what check
/// mode reports in `result`. None when it cannot answer (the namespace or
/// CRD comes with this task).
async fn dry_run(
    client: &kube::Client,
    url: &str,
    desired: &Value,
    r: &ObjectResult,
    opts: &apply::Options,
) -> Option<Value> {
    let mut body = desired.clone();
    apply::strip_server_fields(&mut body);
    if let Some(meta) = body["metadata"].as_object_mut() {
        match &r.namespace {
            Some(ns) => {
                meta.insert("namespace".into(), json!(ns));
            }
            None => {
                meta.remove("namespace");
            }
        }
    }
    let query = format!(
        "{url}?fieldManager={}&force={}&dryRun=All",
        url_encode(&opts.field_manager),
        opts.force_conflicts
    );
    let req = http::Request::builder()
        .method(http::Method::PATCH)
        .uri(query)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::CONTENT_TYPE, "application/apply-patch+yaml")
        .body(serde_json::to_vec(&body).ok()?)
        .ok()?;
    let text = client.request_text(req).await.ok()?;
    let mut v: Value = serde_json::from_str(&text).ok()?;
    if let Some(meta) = v["metadata"].as_object_mut() {
        meta.remove("managedFields");
    }
    Some(v)
}

/// Without the server's dry run: the definition over the live object.
fn predicted(desired: &Value, live: &Value, r: &ObjectResult) -> Value {
    let mut out = if live.is_object() {
        live.clone()
    } else {
        json!({})
    };
    merge(&mut out, desired);
    if let Some(ns) = &r.namespace {
        out["metadata"]["namespace"] = json!(ns);
    }
    out
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b.clone(),
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn describe(r: &ObjectResult) -> String {
    match &r.namespace {
        Some(ns) => format!("{} {ns}/{}", r.kind, r.name),
        None => format!("{} {}", r.kind, r.name),
    }
}

/// Waits as kubernetes.core does: a deleted object until it is gone; with
/// `wait_condition`, until the object has that condition; a Pod until
/// Ready. Returns the object as last read (None when there is nothing to
/// read back). Workloads were waited for by the engine: they are read again.
async fn wait_one(
    client: &kube::Client,
    url: &str,
    r: &ObjectResult,
    waits: &Waits,
) -> Result<Option<Value>, Error> {
    let what = describe(r);
    if r.action == Action::Deleted {
        let start = Instant::now();
        loop {
            let Some(obj) = read::get(client, url).await? else {
                return Ok(None);
            };
            if start.elapsed() >= waits.timeout {
                let finalizers = obj["metadata"]["finalizers"].to_string();
                let spec_finalizers = obj["spec"]["finalizers"].to_string();
                return Err(Error::Timeout(format!(
                    "{what} was deleted but is still there after {}s (finalizers {finalizers}, spec.finalizers {spec_finalizers}): the controller that removes them has not finished; raise wait_timeout, or check that controller",
                    waits.timeout.as_secs()
                )));
            }
            tokio::time::sleep(waits.sleep).await;
        }
    }
    if matches!(r.action, Action::Unchanged) && r.live.is_none() {
        return Ok(None); // absent and already gone
    }
    let ready_pod;
    let condition = match (&waits.condition, r.kind.as_str()) {
        (Some(c), _) => Some(c),
        (None, "Pod") => {
            ready_pod = Condition {
                kind: "Ready".into(),
                status: "True".into(),
                reason: None,
            };
            Some(&ready_pod)
        }
        _ => None,
    };
    let Some(c) = condition else {
        return read::get(client, url).await;
    };
    let start = Instant::now();
    loop {
        let obj = read::get(client, url).await?;
        if obj.as_ref().is_some_and(|o| has_condition(o, c)) {
            return Ok(obj);
        }
        if start.elapsed() >= waits.timeout {
            let seen = obj
                .as_ref()
                .map(|o| o["status"]["conditions"].to_string())
                .unwrap_or_else(|| "(object not found)".into());
            return Err(Error::Timeout(format!(
                "{what} was applied but has no condition {}={}{} after {}s (status.conditions: {seen}); raise wait_timeout or check its status",
                c.kind,
                c.status,
                c.reason
                    .as_deref()
                    .map(|r| format!(" (reason {r})"))
                    .unwrap_or_default(),
                waits.timeout.as_secs()
            )));
        }
        tokio::time::sleep(waits.sleep).await;
    }
}

fn has_condition(obj: &Value, c: &Condition) -> bool {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| {
            x["type"] == c.kind.as_str()
                && x["status"] == c.status.as_str()
                && c.reason.as_deref().is_none_or(|r| x["reason"] == r)
        })
}

/// An object as `result` shows it: apiVersion and kind always (LIST items
/// lack them), no managedFields, a Secret's values masked.
fn presentable(object: Value, r: &ObjectResult) -> Value {
    let Value::Object(mut m) = object else {
        return json!({});
    };
    m.entry("apiVersion")
        .or_insert_with(|| json!(r.api_version));
    m.entry("kind").or_insert_with(|| json!(r.kind));
    if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    if r.kind == "Secret" && r.api_version == "v1" {
        for field in ["data", "stringData"] {
            if let Some(d) = m.get_mut(field).and_then(Value::as_object_mut) {
                for v in d.values_mut() {
                    *v = json!(MASK);
                }
            }
        }
        // The last-applied annotation of a kubectl client-side apply holds
        // the values in clear.
        if let Some(a) = m["metadata"]["annotations"].as_object_mut() {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
        }
    }
    Value::Object(m)
}

/// `result` (and `method`, `duration`) for one object; `result.results`
/// for several, as kubernetes.core.k8s returns them.
pub fn insert_result(extra: &mut Map<String, Value>, mut entries: Vec<Entry>) {
    match entries.len() {
        0 => {}
        1 => {
            let e = entries.remove(0);
            extra.insert("result".into(), e.result);
            extra.insert("method".into(), json!(e.method));
            if let Some(d) = e.duration {
                extra.insert("duration".into(), json!(d));
            }
        }
        _ => {
            let results: Vec<Value> = entries
                .into_iter()
                .map(|e| {
                    let mut m =
                        json!({"changed": e.changed, "method": e.method, "result": e.result});
                    if let Some(d) = e.duration {
                        m["duration"] = json!(d);
                    }
                    m
                })
                .collect();
            extra.insert("result".into(), json!({ "results": results }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, ns: Option<&str>, name: &str, action: Action) -> ObjectResult {
        ObjectResult {
            kind: kind.into(),
            api_version: "v1".into(),
            namespace: ns.map(str::to_string),
            name: name.into(),
            action,
            diff: None,
            live: None,
        }
    }

    #[test]
    fn conditions_match_type_status_and_reason() {
        let o = json!({"status": {"conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}});
        let c = |t: &str, s: &str, r: Option<&str>| Condition {
            kind: t.into(),
            status: normalise_status(s),
            reason: r.map(str::to_string),
        };
        assert!(has_condition(&o, &c("Available", "true", None)));
        assert!(has_condition(
            &o,
            &c("Available", "True", Some("MinimumReplicasAvailable"))
        ));
        assert!(!has_condition(&o, &c("Available", "True", Some("Other"))));
        assert!(!has_condition(&o, &c("Available", "False", None)));
        assert!(!has_condition(&o, &c("Progressing", "True", None)));
    }

    #[test]
    fn results_follow_the_definitions_order() {
        let results = vec![
            obj("Namespace", None, "a", Action::Created),
            obj("ConfigMap", Some("a"), "c", Action::Created),
        ];
        let desired = vec![
            Desired::present(
                json!({"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}}),
            ),
            Desired::present(json!({"kind": "Namespace", "metadata": {"name": "a"}})),
        ];
        assert_eq!(
            definition_order(&results, &desired, "default"),
            vec![(1, 0), (0, 1)]
        );
    }

    #[test]
    fn secret_values_are_masked_in_result() {
        let r = obj("Secret", Some("a"), "s", Action::Created);
        let out = presentable(
            json!({"metadata": {"name": "s", "managedFields": []}, "data": {"k": "aHVudGVyMg=="}}),
            &r,
        );
        assert_eq!(out["data"]["k"], MASK);
        assert_eq!(out["kind"], "Secret");
        assert!(out["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn one_object_is_result_several_are_result_results() {
        let e = |n: &str| Entry {
            changed: true,
            method: "create",
            result: json!({"metadata": {"name": n}}),
            duration: None,
        };
        let mut one = Map::new();
        insert_result(&mut one, vec![e("a")]);
        assert_eq!(one["result"]["metadata"]["name"], "a");
        assert_eq!(one["method"], "create");
        let mut two = Map::new();
        insert_result(&mut two, vec![e("a"), e("b")]);
        assert_eq!(
            two["result"]["results"][1]["result"]["metadata"]["name"],
            "b"
        );
        assert_eq!(two["result"]["results"][0]["changed"], true);
    }
}
