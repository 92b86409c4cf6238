//! Locating: each object's REST path, namespace and name, with the object
//! kept as its JSON text. A tree (`serde_json::Value`) takes ~8 times the
//! bytes of its text; holding text keeps a 20,000-object task small, and the
//! text is what the writes send anyway. It is parsed again only to compare
//! with a live object or to show a diff.

use super::{Desired, State, strip_server_fields};
use crate::error::{Error, Result};
use crate::kube::names::{namespace_problem, path_segment_problem};
use crate::kube::resource::{Resolver, Resource};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::sync::Arc;

pub(super) struct Item {
    /// The desired object as applied: server-owned fields stripped, the
    /// namespace filled in for namespaced kinds.
    pub body: Box<RawValue>,
    pub state: State,
    pub resource: Arc<Resource>,
    pub namespace: Option<String>,
    pub name: String,
    /// For a CustomResourceDefinition: the group and plural it serves.
    pub serves: Option<(String, String)>,
}

impl Item {
    /// The desired object as a tree (for comparing and diffs).
    pub fn object(&self) -> Value {
        // Text this module wrote from a Value: it parses.
        serde_json::from_str(self.body.get()).unwrap_or(Value::Null)
    }

    #[cfg(test)]
    pub fn for_test(object: Value, namespace: Option<&str>) -> Item {
        let resource = Resolver::known(
            object["apiVersion"].as_str().unwrap_or_default(),
            object["kind"].as_str().unwrap_or_default(),
        )
        .expect("a known kind");
        Item {
            name: object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .into(),
            body: to_raw(&object).expect("serialisable"),
            state: State::Present,
            resource: Arc::new(resource),
            namespace: namespace.map(str::to_string),
            serves: None,
        }
    }
}

fn to_raw(v: &Value) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(v).map_err(|e| Error::Other(e.into()))
}

/// An object checked and compacted, its kind not yet resolved.
struct Pending {
    api_version: String,
    kind: String,
    name: String,
    namespace: Option<String>,
    body: Box<RawValue>,
    state: State,
    serves: Option<(String, String)>,
}

impl Pending {
    fn new(d: Desired, resolver: &mut Resolver) -> Result<Pending> {
        let Desired { mut object, state } = d;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let api_version = text(&object["apiVersion"]);
        let kind = text(&object["kind"]);
        let name = text(&object["metadata"]["name"]);
        if api_version.is_empty() || kind.is_empty() || name.is_empty() {
            return Err(Error::Input(format!(
                "every object needs apiVersion, kind and metadata.name; got apiVersion={api_version:?} kind={kind:?} name={name:?}"
            )));
        }
        if let Some(why) = path_segment_problem(&name) {
            return Err(Error::Input(format!(
                "{kind} {name:?}: metadata.name cannot be used: {why}. Kubernetes names are DNS names like my-app or app.example.com"
            )));
        }
        let mut serves = None;
        if kind == "CustomResourceDefinition" && state == State::Present {
            // Its custom resources anywhere in this task resolve from it,
            // without a discovery request that would find nothing yet.
            resolver.learn_crd(&object);
            let spec = &object["spec"];
            serves = Some((text(&spec["group"]), text(&spec["names"]["plural"])));
        }
        strip_server_fields(&mut object);
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_string);
        Ok(Pending {
            body: to_raw(&object)?,
            api_version,
            kind,
            name,
            namespace,
            state,
            serves,
        })
    }

    fn into_item(self, resource: Arc<Resource>, default_ns: &str) -> Result<Item> {
        let Pending {
            mut body,
            kind,
            name,
            namespace,
            state,
            serves,
            ..
        } = self;
        let namespace = if resource.namespaced {
            let ns = namespace.clone().unwrap_or_else(|| default_ns.to_string());
            if let Some(why) = namespace_problem(&ns) {
                return Err(Error::Input(format!("{kind} {name}: namespace {why}")));
            }
            if namespace.is_none() {
                let mut object: Value =
                    serde_json::from_str(body.get()).map_err(|e| Error::Other(e.into()))?;
                object["metadata"]["namespace"] = Value::from(ns.clone());
                body = to_raw(&object)?;
            }
            Some(ns)
        } else {
            if namespace.is_some() {
                let mut object: Value =
                    serde_json::from_str(body.get()).map_err(|e| Error::Other(e.into()))?;
                if let Some(m) = object["metadata"].as_object_mut() {
                    m.remove("namespace");
                }
                body = to_raw(&object)?;
            }
            None
        };
        Ok(Item {
            body,
            state,
            resource,
            namespace,
            name,
            serves,
        })
    }
}

/// Checks, compacts and locates every object. All CRDs of the task are
/// learnt before any kind is resolved, so a custom resource may come before
/// its CRD in the task.
pub(super) async fn locate_all(
    client: &kube::Client,
    resolver: &mut Resolver,
    objects: impl IntoIterator<Item = Desired>,
    default_ns: &str,
) -> Result<Vec<Item>> {
    let objects = objects.into_iter();
    let mut pending = Vec::with_capacity(objects.size_hint().0);
    for d in objects {
        pending.push(Pending::new(d, resolver)?);
    }
    // One shared Resource per kind: a bulk task has thousands of objects
    // and a handful of kinds.
    let mut kinds: HashMap<(String, String), Arc<Resource>> = HashMap::new();
    let mut items = Vec::with_capacity(pending.len());
    for p in pending {
        let key = (p.api_version.clone(), p.kind.clone());
        let resource = match kinds.get(&key) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(resolver.resolve(client, &key.0, &key.1).await?);
                kinds.insert(key, r.clone());
                r
            }
        };
        items.push(p.into_item(resource, default_ns)?);
    }
    Ok(items)
}
