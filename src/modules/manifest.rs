//! `manifest`: apply any multi-document YAML idempotently. The roles install
//! Calico and the load balancer controller's prerequisites with it, so the
//! target needs no Python library or kubectl.

use super::{APPLY_OPTIONS, ApplyArgs, Ctx, Failure, Module, ModuleDef};
use crate::error::Error;
use crate::kube::{CONNECTION_OPTIONS, Desired, Resolver, apply};
use crate::protocol::{Constraints, Kind, OptSpec, Outcome};
use crate::validate::Findings;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

mod compat;

const WAIT_CONDITION: &[OptSpec] = &[
    OptSpec::new("type", Kind::Str)
        .required()
        .doc("The condition's type, e.g. C(Ready), C(Available), C(Complete)."),
    OptSpec::new("status", Kind::Str)
        .default("\"True\"")
        .doc("The condition's status to wait for: C(True), C(False) or C(Unknown)."),
    OptSpec::new("reason", Kind::Str)
        .doc("The condition's reason too, when given (e.g. C(NewReplicaSetAvailable))."),
];

const SERVER_SIDE_APPLY: &[OptSpec] = &[
    OptSpec::new("field_manager", Kind::Str)
        .required()
        .doc("Same as O(field_manager); required, as in kubernetes.core.k8s."),
    OptSpec::new("force_conflicts", Kind::Bool).doc("Same as O(force_conflicts)."),
];

const OPTIONS: &[OptSpec] = &[
    OptSpec::new("src", Kind::Path).doc(
        "Path of a file of one or more YAML documents. On the local connection the action looks a relative path up on the controller as kubernetes.core does (the role's C(files/), then the play's); on other connections it is a path on the managed host.",
    ),
    OptSpec::new("template", Kind::Raw).doc(
        "A Jinja2 template of one or more YAML documents, rendered on the controller with the task's variables (the role's C(templates/), then the play's): a path, or a dict with C(path) and any of C(variable_start_string), C(variable_end_string), C(block_start_string), C(block_end_string), C(trim_blocks), C(lstrip_blocks), C(newline_sequence), or a list of those, as in kubernetes.core.k8s.",
    ),
    OptSpec::new("definition", Kind::Raw)
        .aliases(&["resource_definition", "inline"])
        .doc("Objects to apply: a dict, a list of dicts, or a string of one or more YAML documents. O(kind), O(api_version), O(name) and O(namespace) fill what an object leaves out."),
    OptSpec::new("kind", Kind::Str).doc(
        "Kind of the object, when the definition leaves it out or there is none: O(kind) and O(name) alone address an object, e.g. to delete it with O(state=absent) or to create a Namespace.",
    ),
    OptSpec::new("api_version", Kind::Str)
        .doc("apiVersion of the object, when the definition leaves it out; C(v1) when there is no definition."),
    OptSpec::new("name", Kind::Str).doc("metadata.name of the object, when the definition leaves it out."),
    OptSpec::new("namespace", Kind::Str)
        .doc("Namespace for namespaced objects that name none. Defaults to the kubeconfig context's namespace."),
    OptSpec::new("state", Kind::Str)
        .default("\"present\"")
        .choices(&["present", "absent", "patched"])
        .doc("C(present) applies the objects; C(absent) deletes them (unchanged when already gone); C(patched) applies only the objects that exist, and warns about the others, as kubernetes.core.k8s does."),
    OptSpec::new("wait", Kind::Bool)
        .default("false")
        .doc("Wait for Deployments, DaemonSets and StatefulSets to become available, Pods to become Ready, O(wait_condition) when given, and deleted objects to be gone; RV(result) then holds the object as it was when the wait ended. CRDs are always waited for until Established when custom resources follow them. Check mode never waits."),
    OptSpec::new("wait_timeout", Kind::Int).default("120").doc("Seconds to wait, per object."),
    OptSpec::new("wait_sleep", Kind::Int)
        .default("1")
        .doc("Seconds between two reads while waiting for O(wait_condition), a Pod or a deletion (kubernetes.core waits 5)."),
    OptSpec::new("wait_condition", Kind::Dict)
        .suboptions(WAIT_CONDITION)
        .doc("With O(wait), wait until the object has this condition in status.conditions."),
    OptSpec::new("apply", Kind::Bool).default("false").doc(
        "Accepted for kubernetes.core.k8s playbooks; netpath always applies with server-side apply, so it changes nothing.",
    ),
    OptSpec::new("server_side_apply", Kind::Dict)
        .suboptions(SERVER_SIDE_APPLY)
        .doc("kubernetes.core.k8s's form of O(field_manager) and O(force_conflicts)."),
    OptSpec::new("force", Kind::Bool).default("false").doc(
        "kubernetes.core.k8s's replace: netpath takes it as O(force_conflicts=true), so the definition's fields win over other managers'; fields only other managers set stay (a replace would drop them).",
    ),
    OptSpec::new("result_limit", Kind::Int).default("250").doc(
        "Live objects are returned in RV(result) for tasks of at most this many objects; a larger (bulk) task returns only RV(results), which keeps its memory bounded. V(0) never returns them.",
    ),
];

pub const MODULE: ModuleDef = ModuleDef {
    name: "manifest",
    short_description: "Apply Kubernetes manifests idempotently with server-side apply",
    description: &[
        "Applies one or many objects from a file, a template or inline YAML with server-side apply (field manager C(netpath)).",
        "Compares desired and live state before writing: an object whose managed fields already match is not written, so a second run reports C(changed=false) and leaves resourceVersion alone.",
        "Namespaces and CustomResourceDefinitions are applied first; custom resources wait for a CRD created in the same task.",
        "Check mode writes nothing and reports the same actions and diff a real run would.",
        "Takes the common kubernetes.core.k8s usage as it is: O(kind)/O(api_version)/O(name)/O(namespace) without a definition, O(src), O(template), O(wait_condition), the aliases C(resource_definition) and C(inline), and returns the live object in RV(result) (C(result.results) for several) for C(register).",
        "What stays different from kubernetes.core.k8s: every write is a server-side apply (O(apply) changes nothing, C(merge_type) is not taken, O(force) takes over fields instead of replacing the object), so objects carry no C(kubectl.kubernetes.io/last-applied-configuration) annotation, fields the schema does not know are refused, and a partial definition drops the fields the same O(field_manager) applied before (give a partial patch its own O(field_manager)); C(changed) is decided by comparing before writing, not from the server's answer (applying the same fields under a new O(field_manager) is no change); the diff shows creations too; RV(result) leaves out C(metadata.managedFields) and masks Secret values; a deleted object's RV(result) is empty; C(label_selectors), C(delete_all), C(delete_options), C(continue_on_error), C(validate), C(append_hash), C(generate_name) and C(hidden_fields) are not supported and are refused by name.",
    ],
    options: &[OPTIONS, APPLY_OPTIONS, CONNECTION_OPTIONS],
    constraints: Constraints {
        mutually_exclusive: &[
            &["src", "definition"],
            &["src", "template"],
            &["definition", "template"],
        ],
        required_together: &[],
        // kind (with name) addresses one object without a definition.
        required_one_of: &[&["src", "definition", "template", "kind"]],
        required_if: &[],
    },
    examples: r#"- name: Install Calico CRDs and operator from a local file
  netpath.calico_alb.manifest:
    src: /tmp/calico.yaml
    wait: true

- name: Apply an inline ConfigMap
  netpath.calico_alb.manifest:
    namespace: web
    definition:
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: app-config
      data:
        mode: production
  register: cm

- name: Use the live object, as with kubernetes.core.k8s
  ansible.builtin.debug:
    msg: "{{ cm.result.metadata.uid }}"

- name: Render a role's templates/app.yaml.j2 on the controller and apply it
  netpath.calico_alb.manifest:
    template: app.yaml.j2
    wait: true
    wait_condition:
      type: Available

- name: Delete a ConfigMap by name
  netpath.calico_alb.manifest:
    kind: ConfigMap
    name: app-config
    namespace: web
    state: absent
"#,
    returns: r#"results:
  description: One entry per object, in the order applied.
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: ConfigMap, api_version: v1, namespace: web, name: app-config, action: created}
result:
  description:
    - As kubernetes.core.k8s returns it. For one object, the object as the server holds it after the task (in check mode, as the server's dry run says it would be); empty when deleted or absent. Without C(metadata.managedFields); a Secret's values are masked.
    - For several objects, a dict with C(results), one entry per object with C(changed), C(method) and C(result) (and C(duration) after a wait).
    - Left out when the task has more objects than O(result_limit).
  returned: success
  type: dict
  sample: {apiVersion: v1, kind: ConfigMap, metadata: {name: app-config, namespace: web, uid: 0c4d1f0e-3b7a-4f5e-9d1a-2f6c8b9e7a10}, data: {mode: production}}
method:
  description: For one object, what was done to it as kubernetes.core.k8s names it (C(create), C(apply) or C(delete)).
  returned: success, with one object
  type: str
  sample: create
duration:
  description: For one object, seconds waited (with O(wait)).
  returned: after a wait, with one object
  type: int
  sample: 3
"#,
    run: super::entry::<Manifest>,
};

#[derive(Deserialize)]
pub struct Args {
    src: Option<String>,
    /// Rendered by the collection's action into `definition`: only whether
    /// it reached the module matters.
    template: Option<serde::de::IgnoredAny>,
    /// A dict, a list of dicts, or YAML text: objects, taken as they are.
    definition: Option<Value>,
    kind: Option<String>,
    api_version: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    state: ManifestState,
    wait: bool,
    wait_timeout: i64,
    wait_sleep: i64,
    wait_condition: Option<WaitCondition>,
    server_side_apply: Option<ServerSideApply>,
    force: bool,
    result_limit: i64,
    #[serde(flatten)]
    apply: ApplyArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ManifestState {
    Present,
    Absent,
    Patched,
}

#[derive(Deserialize)]
struct WaitCondition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ServerSideApply {
    field_manager: String,
    force_conflicts: Option<bool>,
}

pub struct Manifest;

/// The task's objects, checked, each kept as JSON text: a tree per object
/// for 20,000 objects would be ~8 times the size.
pub struct Planned {
    args: Args,
    compact: Vec<Box<RawValue>>,
    /// Per object, whether its apiVersion is the task's v1 default.
    defaulted: Vec<bool>,
}

impl Planned {
    fn keep_live(&self) -> bool {
        self.compact.len() <= self.args.result_limit.max(0) as usize
    }

    /// A bulk task: the engine takes each object from its text as it
    /// locates it, and keeps it compact; nothing is read before.
    fn bulk(&self) -> bool {
        !(self.keep_live()
            || self.args.state == ManifestState::Patched
            || self.defaulted.contains(&true))
    }
}

/// Outside a bulk task: the objects as trees, with their apiVersions
/// resolved and (state=patched) only those that exist.
pub struct Live {
    desired: Vec<Desired>,
    resolver: Resolver,
}

impl Module for Manifest {
    type Args = Args;
    type Plan = Planned;
    type Live = Option<Live>;

    async fn plan(args: Args, _: &mut Ctx, _: &mut Findings) -> Result<Option<Planned>, Failure> {
        if args.template.is_some() {
            // The action renders it and sends `definition`: reaching the module
            // means the module ran without the collection's action.
            return Err(Error::Input(
                "template is rendered on the controller by the collection's action plugin, which did not run: run the task through Ansible with the netpath.calico_alb collection installed, or pass the rendered YAML as definition".into(),
            )
            .into());
        }
        let mut checks = Checks::default();
        let mut compact: Vec<Box<RawValue>> = Vec::new();
        let mut defaulted = Vec::new();
        {
            let mut take = |mut o: Value| -> Result<(), Error> {
                defaulted.extend(compat::fill_from_params(
                    std::slice::from_mut(&mut o),
                    &args,
                ));
                checks.object(&o);
                compact
                    .push(serde_json::value::to_raw_value(&o).map_err(|e| Error::Other(e.into()))?);
                Ok(())
            };
            match (&args.src, &args.definition) {
                (Some(path), _) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| Error::Input(format!("src {path}: {e}")))?;
                    each_document("src", &text, take)?;
                }
                (None, Some(Value::String(text))) => each_document("definition", text, take)?,
                (None, Some(v)) => flatten("definition", v.clone())?
                    .into_iter()
                    .try_for_each(&mut take)?,
                (None, None) => compat::addressed(&args)?
                    .into_iter()
                    .try_for_each(&mut take)?,
            }
        }
        if compact.is_empty() {
            // A template or lookup that rendered nothing: succeeding would hide
            // that the objects the play relies on were never applied.
            let what = args
                .src
                .as_ref()
                .map_or("definition".to_string(), |p| format!("src {p}"));
            return Err(Error::Input(format!(
                "{what} holds no Kubernetes object (it is empty, or only empty documents and \
                 comments), so nothing would be applied and the resources the play relies on would \
                 be missing; kubectl refuses such input too (\"no objects passed to apply\"). Check \
                 the file, or the template or lookup that produced it."
            ))
            .into());
        }
        checks.finish()?;
        Ok(Some(Planned {
            args,
            compact,
            defaulted,
        }))
    }

    async fn read(
        p: &mut Planned,
        ctx: &mut Ctx,
        _: &mut Findings,
    ) -> Result<Option<Live>, Failure> {
        let conn = ctx.connect().await?;
        if p.bulk() {
            return Ok(None);
        }
        let state = p.args.state;
        let mut desired: Vec<Desired> = std::mem::take(&mut p.compact)
            .into_iter()
            .map(|raw| tree(&raw, state))
            .collect();
        compat::default_api_versions(&conn.client, &mut desired, &p.defaulted).await?;
        let mut resolver = Resolver::default();
        if state == ManifestState::Patched {
            let namespace = p
                .args
                .namespace
                .as_deref()
                .unwrap_or(&conn.default_namespace);
            let missing =
                compat::drop_missing(&conn.client, &mut resolver, &mut desired, namespace).await?;
            ctx.warnings.extend(missing);
        }
        Ok(Some(Live { desired, resolver }))
    }

    async fn write(p: Planned, live: Option<Live>, ctx: &mut Ctx) -> Result<Outcome, Failure> {
        let conn = ctx.connect().await?;
        let mut opts = apply::Options {
            wait: p.args.wait,
            wait_timeout: super::seconds(p.args.wait_timeout),
            default_namespace: p
                .args
                .namespace
                .clone()
                .unwrap_or_else(|| conn.default_namespace.clone()),
            keep_live: p.keep_live(),
            ..ctx.apply_options(&conn, &p.args.apply)
        };
        compat::server_side_apply_options(&mut opts, &p.args);
        let state = p.args.state;
        let Some(Live {
            desired,
            mut resolver,
        }) = live
        else {
            let report = apply::apply(
                &conn.client,
                &mut Resolver::default(),
                p.compact.into_iter().map(|raw| tree(&raw, state)),
                &opts,
            )
            .await;
            let mut extra = Map::new();
            if let Some(reason) = report.error.as_ref().and_then(compat::reason) {
                extra.insert("reason".into(), reason.into());
            }
            return super::finish(report, extra);
        };
        // The results read the task's objects back (kubernetes.core's `result`).
        let single = p.defaulted.len() == 1;
        let (apply_these, kept) = if opts.keep_live {
            (desired.clone(), desired)
        } else {
            (desired, Vec::new())
        };
        let mut report = apply::apply(&conn.client, &mut resolver, apply_these, &opts).await;
        let mut extra = Map::new();
        if opts.keep_live {
            let waits = compat::Waits::from_params(&p.args, &opts);
            let objects = compat::live_results(
                &conn.client,
                &mut resolver,
                &mut report,
                &kept,
                &opts,
                &waits,
            )
            .await;
            if objects.is_empty() && single {
                // state=patched and the object does not exist.
                extra.insert("result".into(), serde_json::json!({}));
            }
            compat::insert_result(&mut extra, objects);
        }
        if let Some(reason) = report.error.as_ref().and_then(compat::reason) {
            extra.insert("reason".into(), reason.into());
        }
        super::finish(report, extra)
    }
}

fn tree(raw: &RawValue, state: ManifestState) -> Desired {
    Desired {
        object: serde_json::from_str(raw.get()).unwrap_or(Value::Null),
        state: match state {
            ManifestState::Absent => apply::State::Absent,
            ManifestState::Present | ManifestState::Patched => apply::State::Present,
        },
    }
}

/// Splits multi-document YAML; empty documents are skipped, `kind: List` expanded.
pub fn parse_documents(field: &str, text: &str) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    each_document(field, text, |v| {
        out.push(v);
        Ok(())
    })?;
    Ok(out)
}

/// Hands each object of multi-document YAML to `each` as it is parsed, so
/// a caller that keeps objects compact never holds every one as a tree.
/// Documents are split at their `---` lines (a line YAML forbids inside any
/// scalar, so the split is exact) and parsed one by one; when a part does
/// not parse alone (a directive, an error) the whole text is parsed, for
/// YAML's own answer with its line numbers, and the documents not yet handed
/// over are taken from it.
pub fn each_document(
    field: &str,
    text: &str,
    mut each: impl FnMut(Value) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut handle = |n: usize, d: Value| -> Result<(), Error> {
        if d.is_null() {
            return Ok(());
        }
        for o in flatten(&format!("{field} document {n}"), d)? {
            each(o)?;
        }
        Ok(())
    };
    let mut n = 0;
    for part in split_documents(text) {
        let Ok(docs) = parse_yaml(part) else {
            // The whole text from the document this part starts with.
            let all = parse_yaml(text).map_err(|e| yaml_error(field, e))?;
            for (i, d) in all.into_iter().enumerate().skip(n) {
                handle(i + 1, d)?;
            }
            return Ok(());
        };
        for d in docs {
            n += 1;
            handle(n, d)?;
        }
    }
    Ok(())
}

fn yaml_error(field: &str, e: serde_saphyr::Error) -> Error {
    Error::Input(format!("{field} is not valid YAML: {e}"))
}

fn parse_yaml(text: &str) -> Result<Vec<Value>, serde_saphyr::Error> {
    // No source snippet in errors: the lines around a typo may hold a Secret.
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    // The default budget stops at 1,024 documents and 250,000 nodes: a file
    // of 1,000 Ingress + Service pairs. Both grow only with the input's size,
    // which the byte limits still bound; the alias limits stay.
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = 1_000_000;
    budget.max_nodes = 50_000_000;
    options.budget = Some(budget);
    serde_saphyr::from_multiple_with_options(text, options)
}

/// `text` cut before each line that starts a document (`---` alone or
/// followed by a space or tab), each part keeping its `---` line.
fn split_documents(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let marker = body == "---" || body.starts_with("--- ") || body.starts_with("---\t");
        if marker && at > start {
            parts.push(&text[start..at]);
            start = at;
        }
        at += line.len();
    }
    if start < text.len() || parts.is_empty() {
        parts.push(&text[start..]);
    }
    parts
}

fn flatten(field: &str, v: Value) -> Result<Vec<Value>, Error> {
    match v {
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let at = format!("{field}[{i}]");
                match item {
                    // kubernetes.core takes YAML text as a list item too.
                    Value::String(text) => out.extend(parse_documents(&at, &text)?),
                    item => out.extend(flatten(&at, item)?),
                }
            }
            Ok(out)
        }
        Value::Object(ref m) if m.get("kind").and_then(Value::as_str) == Some("List") => flatten(
            field,
            m.get("items").cloned().unwrap_or(Value::Array(vec![])),
        ),
        // A typed list (ConfigMapList): its items may leave kind and
        // apiVersion out, as the server's own answers do.
        Value::Object(ref m)
            if m.get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.len() > 4 && k.ends_with("List"))
                && m.get("items").is_some_and(Value::is_array) =>
        {
            let kind = m["kind"]
                .as_str()
                .unwrap_or_default()
                .trim_end_matches("List");
            let mut items = m["items"].clone();
            for it in items.as_array_mut().into_iter().flatten() {
                if let Some(o) = it.as_object_mut() {
                    o.entry("kind").or_insert_with(|| Value::from(kind));
                    if let Some(av) = m.get("apiVersion") {
                        o.entry("apiVersion").or_insert_with(|| av.clone());
                    }
                }
            }
            flatten(field, items)
        }
        Value::Object(_) => Ok(vec![v]),
        Value::Null => Ok(vec![]),
        other => Err(Error::Input(format!(
            "{field} must be a Kubernetes object (a mapping), got {}",
            serde_json::to_string(&other)
                .unwrap_or_default()
                .chars()
                .take(80)
                .collect::<String>()
        ))),
    }
}

/// Objects must be addressable before anything is written: each is checked
/// as it is parsed, and every finding reported at once.
#[derive(Default)]
struct Checks {
    findings: Findings,
    seen: std::collections::HashSet<(String, String, String, String)>,
    node_ports: std::collections::HashMap<(i64, String), String>,
    n: usize,
}

impl Checks {
    fn object(&mut self, o: &Value) {
        let i = self.n;
        self.n += 1;
        let f = &mut self.findings;
        let at = format!("objects[{i}]");
        for (key, what) in [("apiVersion", "apiVersion"), ("kind", "kind")] {
            if o.get(key).and_then(Value::as_str).is_none_or(str::is_empty) {
                f.error(
                    format!("{at}.{what}"),
                    format!("{what} is missing, so the API path of the object is unknown."),
                    format!("set {what}, e.g. apiVersion: v1 and kind: ConfigMap"),
                );
            }
        }
        match o["metadata"]["name"].as_str() {
            None | Some("") => f.error(
                format!("{at}.metadata.name"),
                "metadata.name is missing; generateName cannot be applied idempotently.",
                "give every object a fixed metadata.name",
            ),
            Some(name) => {
                let key = (
                    o["apiVersion"].to_string(),
                    o["kind"].to_string(),
                    o["metadata"]["namespace"].to_string(),
                    name.to_string(),
                );
                if !self.seen.insert(key) {
                    f.error(
                        format!("{at}.metadata.name"),
                        format!("{} {name} appears twice in this task; the second would silently override the first.", o["kind"].as_str().unwrap_or("object")),
                        "remove the duplicate or give it another name",
                    );
                }
            }
        }
        self.node_ports(i, o);
    }

    /// NodePorts the server's dry run cannot check (it validates ranges and
    /// in-task duplicates only when it allocates, i.e. on the real write), so
    /// a bad one would fail the task after other objects were written.
    fn node_ports(&mut self, i: usize, o: &Value) {
        if o["kind"] != "Service" {
            return;
        }
        let f = &mut self.findings;
        for (j, p) in o["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(port) = p["nodePort"].as_i64() else {
                continue;
            };
            let field = format!("objects[{i}].spec.ports[{j}].nodePort");
            if !(1..=65535).contains(&port) {
                f.error(
                    &field,
                    format!("nodePort {port} is not a port (1-65535); the API server rejects the Service."),
                    "use a port in the cluster's NodePort range (default 30000-32767), or omit nodePort to have one allocated",
                );
                continue;
            }
            let proto = p["protocol"].as_str().unwrap_or("TCP").to_string();
            let name = o["metadata"]["name"].as_str().unwrap_or("?");
            if let Some(first) = self
                .node_ports
                .insert((port, proto.clone()), name.to_string())
            {
                f.error(
                    &field,
                    format!("nodePort {port}/{proto} is also used by Service {first} in this task: a node port serves one Service, so the second is rejected."),
                    "give each Service its own nodePort, or omit nodePort to have one allocated",
                );
            }
        }
    }

    fn finish(self) -> Result<(), Error> {
        if self.findings.has_errors() {
            Err(Error::Invalid(self.findings.0))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
fn check_objects(objects: &[Value]) -> Result<(), Error> {
    let mut c = Checks::default();
    for o in objects {
        c.object(o);
    }
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ports_are_ports_and_unique_in_a_task() {
        let svc = |name: &str, port: i64| {
            serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": port}]}})
        };
        assert!(check_objects(&[svc("a", 30080), svc("b", 30081)]).is_ok());
        let e = check_objects(&[svc("a", 30080), svc("b", 30080)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nodePort 30080/TCP is also used by Service a"),
            "{e}"
        );
        let e = check_objects(&[svc("a", 99999)]).unwrap_err().to_string();
        assert!(e.contains("nodePort 99999 is not a port"), "{e}");
    }

    #[test]
    fn yaml_errors_do_not_quote_the_source() {
        let e = parse_documents(
            "src",
            "kind: Secret\nstringData:\n  password: hunter2-s3cret\n  bad: [\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("src is not valid YAML") && e.contains("line"),
            "{e}"
        );
        assert!(!e.contains("hunter2-s3cret"), "{e}");
    }

    #[test]
    fn multi_document_and_lists() {
        let objs = parse_documents(
            "x",
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\nkind: List\napiVersion: v1\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
        )
        .unwrap();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[1]["metadata"]["name"], "b");
    }

    #[test]
    fn documents_split_at_their_start_lines_only() {
        let text = "a: 1\n--- \nb: |\n  ---x\n  --- not a marker: indented\n---\n---\tc: 3\n";
        assert_eq!(
            split_documents(text),
            [
                "a: 1\n",
                "--- \nb: |\n  ---x\n  --- not a marker: indented\n",
                "---\n",
                "---\tc: 3\n"
            ]
        );
        assert_eq!(split_documents(""), [""]);
        assert_eq!(split_documents("---\na: 1"), ["---\na: 1"]);
    }

    #[test]
    fn documents_are_the_same_split_or_whole() {
        let text = "# c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  k: |\n    ---x\n...\n---\n---\nkind: List\napiVersion: v1\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n";
        let whole: Vec<Value> = parse_yaml(text)
            .unwrap()
            .into_iter()
            .filter(|d| !d.is_null())
            .flat_map(|d| flatten("x", d).unwrap())
            .collect();
        assert_eq!(parse_documents("x", text).unwrap(), whole);
        assert_eq!(whole.len(), 2);
        // A directive needs the whole stream: the same objects, parsed whole.
        let directive = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n...\n%YAML 1.2\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n";
        let objs = parse_documents("x", directive).unwrap();
        assert_eq!(objs.len(), 2, "{objs:?}");
        assert_eq!(objs[1]["metadata"]["name"], "b");
        // An error is YAML's, with the line in the whole file.
        let e = parse_documents("x", "a: 1\n---\nb: 2\n---\nc: [\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not valid YAML") && e.contains("line 5"), "{e}");
    }

    #[test]
    fn thousands_of_documents() {
        let doc = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: NodePort\n  ports: [{name: http, port: 80, targetPort: 8000, protocol: TCP}]\n  selector: {app: s}\n";
        let text = vec![doc; 6000].join("---\n");
        assert_eq!(parse_documents("x", &text).unwrap().len(), 6000);
    }

    #[test]
    fn rejects_unaddressable_and_duplicate_objects() {
        let objs = parse_documents("x", "kind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n").unwrap();
        let e = check_objects(&objs).unwrap_err().to_string();
        assert!(e.contains("objects[0].apiVersion"), "{e}");
        assert!(e.contains("appears twice"), "{e}");
        assert!(
            parse_documents("x", "a: [")
                .unwrap_err()
                .to_string()
                .contains("not valid YAML")
        );
        assert!(
            parse_documents("x", "- 1\n")
                .unwrap_err()
                .to_string()
                .contains("must be a Kubernetes object")
        );
    }
}
