//! Deciding: does the live object already hold what is desired, on the
//! fields netpath's field manager owns? Equal means no write at all.

use super::locate::Item;
use super::{Action, Decided, Options, State, describe};
use crate::kube::diff;
use crate::protocol::DiffEntry;
use serde_json::{Value, json};

/// Decides `item` against `live`, with its diff when asked for; keeps the
/// live object only when the module reads it back.
pub(super) fn decided(item: Item, live: Option<&Value>, opts: &Options) -> Decided {
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
pub(super) fn without_managed_fields(mut obj: Value) -> Value {
    if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    obj
}

/// The desired object as compared: apiVersion and kind are not in LIST items.
fn comparable(item: &Item) -> Value {
    let mut d = item.object();
    if let Some(m) = d.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
    }
    d
}

fn is_secret(item: &Item) -> bool {
    item.resource.kind == "Secret" && item.resource.group.is_empty()
}

fn decide(item: &Item, live: Option<&Value>, manager: &str) -> Action {
    match (item.state, live) {
        (State::Absent, None) => Action::Unchanged,
        (State::Absent, Some(_)) => Action::Deleted,
        (State::Present, None) => Action::Created,
        (State::Present, Some(live)) => {
            let mut d = comparable(item);
            let secret = is_secret(item);
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
    let d = comparable(item);
    let mut before_v = before.map(|l| diff::project(&d, l)).unwrap_or(Value::Null);
    let mut after_v = if action == Action::Deleted {
        Value::Null
    } else {
        d
    };
    if is_secret(item) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_object_equal_on_netpaths_fields_is_unchanged() {
        let item = Item::for_test(
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "1"}}),
            Some("n"),
        );
        let live = json!({"metadata": {"name": "c", "namespace": "n", "resourceVersion": "7",
            "managedFields": [{"manager": "netpath", "operation": "Apply",
                "fieldsV1": {"f:data": {"f:a": {}}}}]}, "data": {"a": "1", "b": "2"}});
        assert_eq!(decide(&item, Some(&live), "netpath"), Action::Unchanged);
        let changed = json!({"metadata": {"name": "c", "namespace": "n"}, "data": {"a": "2"}});
        assert_eq!(decide(&item, Some(&changed), "netpath"), Action::Updated);
        assert_eq!(decide(&item, None, "netpath"), Action::Created);
    }
}
