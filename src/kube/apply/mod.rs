//! The apply engine every module shares.
//!
//! Callers render and validate every object first; the engine then, phase by
//! phase (one file each):
//! - `locate`: finds each object's REST path and keeps it compact (its JSON
//!   text, not a tree), so a task of 20,000 objects stays small;
//! - `read`: reads live state (one paged LIST per kind and namespace when a
//!   task has many objects) and `decide`s per object, as each page arrives,
//!   whether anything differs;
//! - `write`: dry-runs every planned write, then writes only what differs
//!   with server-side apply, many requests in flight over one connection;
//! - `wait`: for CRDs to be served and, when asked, workloads to be available.
//!
//! Check mode stops before the first write and reports the same actions and
//! diffs a real run would.

mod decide;
mod locate;
mod read;
mod wait;
mod write;

pub use super::names::namespace_problem;
pub use super::request::api_error;

use crate::error::{Error, Result};
use crate::protocol::DiffEntry;
use locate::Item;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Duration;

use super::resource::Resolver;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// Requests in flight at once (reads, dry runs, writes). Over HTTP/2 (see
/// transport.rs) they share one connection. 8, 16 and 32 were measured side
/// by side on bulk tasks (BENCHMARKS.md): when the API server is CPU-bound,
/// more in flight only queues there (32 was the slowest), and API priority
/// and fairness would queue them on a busy cluster anyway.
/// `NETPATH_CONCURRENCY` (1-64) overrides it, for measuring.
pub(crate) fn concurrency() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("NETPATH_CONCURRENCY")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|n| (1..=64).contains(n))
            .unwrap_or(8)
    })
}

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

/// What this task writes that admission of its other objects may read,
/// gathered once: asked per object of a 20,000-object task, a scan of the
/// whole task each time would be 400 million steps.
struct TaskWrites<'a> {
    new_namespaces: HashSet<&'a str>,
    /// (group, plural) served by a CRD of this task.
    crd_kinds: HashSet<(&'a str, &'a str)>,
    written_kinds: HashSet<&'a str>,
}

impl<'a> TaskWrites<'a> {
    fn of(all: &'a [Decided]) -> Self {
        let mut w = TaskWrites {
            new_namespaces: HashSet::new(),
            crd_kinds: HashSet::new(),
            written_kinds: HashSet::new(),
        };
        for o in all {
            let it = &o.item;
            if it.resource.kind == "Namespace" && o.action == Action::Created {
                w.new_namespaces.insert(it.name.as_str());
            }
            if let (State::Present, Some((group, plural))) = (it.state, &it.serves) {
                w.crd_kinds.insert((group.as_str(), plural.as_str()));
            }
            if matches!(o.action, Action::Created | Action::Updated) {
                w.written_kinds.insert(it.resource.kind.as_str());
            }
        }
        w
    }
}

/// The latest phase whose writes in this task `d`'s admission depends on:
/// its namespace is new, its kind comes with a CRD of this task, or it is an
/// Ingress while this task writes an IngressClass or IngressClassParams.
/// Such an object cannot be dry-run before that phase is written.
fn admission_waits_for(d: &Decided, task: &TaskWrites) -> Option<u8> {
    let it = &d.item;
    if d.action == Action::Unchanged || it.state == State::Absent {
        return None;
    }
    let mut after = None;
    if it
        .namespace
        .as_deref()
        .is_some_and(|ns| task.new_namespaces.contains(ns))
    {
        after = Some(phase("Namespace", State::Present));
    }
    if task
        .crd_kinds
        .contains(&(it.resource.group.as_str(), it.resource.plural.as_str()))
    {
        after = Some(phase("CustomResourceDefinition", State::Present));
    }
    if it.resource.kind == "Ingress" {
        for kind in ["IngressClassParams", "IngressClass"] {
            if task.written_kinds.contains(kind) {
                after = Some(phase(kind, State::Present));
            }
        }
    }
    after
}

/// Applies `objects` (all rendered and validated by the caller). Each is
/// made compact as it is taken, so a caller may hand over a lazy iterator
/// and never hold every object as a tree.
pub async fn apply(
    client: &kube::Client,
    resolver: &mut Resolver,
    objects: impl IntoIterator<Item = Desired>,
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
    objects: impl IntoIterator<Item = Desired>,
    opts: &Options,
    report: &mut Report,
) -> Result<()> {
    // Everything that can fail on bad input happens before the first write:
    // locating every object (unknown kinds, unusable names), reading and
    // deciding, and a server-side dry run of every planned write (schema,
    // admission, RBAC, conflicts). A task is then applied whole or not at all.
    let items = locate::locate_all(client, resolver, objects, &opts.default_namespace).await?;
    let mut decided = read::read_and_decide(client, items, opts).await?;
    let task = TaskWrites::of(&decided);
    let waits: Vec<Option<u8>> = decided
        .iter()
        .map(|d| admission_waits_for(d, &task))
        .collect();
    drop(task);
    for (d, w) in decided.iter_mut().zip(waits) {
        d.waits_for = w;
    }
    if !opts.check_mode {
        write::dry_run(client, &decided, opts).await?;
    }
    let mut phases: Vec<(u8, Vec<Decided>)> = Vec::new();
    for d in decided {
        let p = phase(&d.item.resource.kind, d.item.state);
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
                write::dry_run_after_writes(client, &ready, report, opts).await?;
                for (_, v) in &mut phases[i..] {
                    for d in v.iter_mut().filter(|d| d.waits_for.is_some_and(|q| q < p)) {
                        d.waits_for = None;
                    }
                }
            }
        }
        let established =
            write::write_phase(client, std::mem::take(&mut phases[i].1), report, opts).await?;
        // Custom resources later in this task need their CRD served.
        for name in established {
            wait::crd_served(client, &name, opts.wait_timeout).await?;
        }
    }

    if opts.wait && !opts.check_mode {
        wait::workloads(client, report, opts.wait_timeout).await?;
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

fn describe(item: &Item) -> String {
    match &item.namespace {
        Some(ns) => format!("{} {}/{}", item.resource.kind, ns, item.name),
        None => format!("{} {}", item.resource.kind, item.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            let object =
                json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
            Decided {
                item: Item::for_test(object, ns),
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
        let writes = TaskWrites::of(&task);
        let waits: Vec<Option<u8>> = task
            .iter()
            .map(|x| admission_waits_for(x, &writes))
            .collect();
        let class = phase("IngressClass", State::Present);
        assert_eq!(waits, [None, None, Some(class), None, Some(0)]);
        // An unchanged class is there already: nothing to wait for.
        let mut task = task;
        task[1].action = Action::Unchanged;
        assert_eq!(admission_waits_for(&task[2], &TaskWrites::of(&task)), None);
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
}
