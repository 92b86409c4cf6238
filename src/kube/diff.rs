//! Desired-versus-live comparison on the fields netpath manages.
//!
//! An object is unchanged when (1) every field netpath sets already has that
//! value live, and (2) netpath's server-side-apply ownership (managedFields)
//! claims no field the desired object has dropped, since applying would then
//! remove it. Server defaults (nodePort, clusterIP, protocol...) and fields of
//! other managers are outside both sets, so they never cause a write.

use serde_json::{Map, Value};

/// True when every field of `desired` has the same value in `live`.
pub fn is_subset(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => is_subset(dv, lv),
            // The API server omits zero values (Go's omitempty): a manifest's
            // `readOnly: false` or `preserveUnknownFields: false` is stored as
            // absence, and means the same.
            None => is_zero(dv),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(a, b)| is_subset(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b || (is_zero(a) && is_zero(b)),
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.values().all(is_zero),
        Value::Array(a) => a.is_empty(),
    }
}

/// The `fieldsV1` netpath owns through apply, if any.
pub fn owned_fields<'a>(live: &'a Value, manager: &str) -> Option<&'a Map<String, Value>> {
    live["metadata"]["managedFields"]
        .as_array()?
        .iter()
        .find_map(|m| {
            (m["manager"].as_str() == Some(manager) && m["operation"].as_str() == Some("Apply"))
                .then(|| m["fieldsV1"].as_object())
                .flatten()
        })
}

/// True when every field in the `fieldsV1` set is present in `desired`.
/// Keys are `f:name`, `k:{json key}` (list entry by its merge keys), `v:json`
/// (set member) and `i:N` (list index); `.` marks the node itself.
pub fn covers(fields: &Map<String, Value>, desired: &Value) -> bool {
    fields.iter().all(|(key, sub)| {
        if key == "." {
            return true;
        }
        let sub = sub.as_object();
        let next = if let Some(name) = key.strip_prefix("f:") {
            desired.get(name)
        } else if let Some(k) = key.strip_prefix("k:") {
            let Ok(Value::Object(want)) = serde_json::from_str::<Value>(k) else {
                return false;
            };
            desired.as_array().and_then(|items| {
                items.iter().find(|item| {
                    want.iter()
                        .all(|(wk, wv)| loosely_equal(&item[wk.as_str()], wv))
                })
            })
        } else if let Some(v) = key.strip_prefix("v:") {
            let Ok(want) = serde_json::from_str::<Value>(v) else {
                return false;
            };
            desired
                .as_array()
                .and_then(|items| items.iter().find(|item| loosely_equal(item, &want)))
        } else if let Some(i) = key.strip_prefix("i:") {
            i.parse::<usize>()
                .ok()
                .and_then(|i| desired.as_array()?.get(i))
        } else {
            None
        };
        match (next, sub) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(n), Some(s)) => covers(s, n),
        }
    })
}

/// A Secret's `fieldsV1` with the keys owned under `stringData` moved to
/// `data`, where the server stores them: a key applied in one form and
/// desired in the other is the same field.
pub fn string_data_owned_as_data(fields: &Map<String, Value>) -> Map<String, Value> {
    let mut out = fields.clone();
    let Some(Value::Object(sd)) = out.remove("f:stringData") else {
        return out;
    };
    let data = out
        .entry("f:data")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(data) = data {
        for (k, v) in sd {
            if k != "." {
                data.insert(k, v);
            }
        }
    }
    out
}

/// Merge keys are written with their server type (`"protocol":"TCP"` is
/// filled in by the server even when netpath left it out).
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::String(s)) => s == "TCP",
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// `live` cut down to the shape of `desired`: what the diff's "before" shows.
pub fn project(desired: &Value, live: &Value) -> Value {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            let mut out = Map::new();
            for (k, dv) in d {
                if let Some(lv) = l.get(k) {
                    out.insert(k.clone(), project(dv, lv));
                }
            }
            Value::Object(out)
        }
        (Value::Array(d), Value::Array(l)) => Value::Array(
            l.iter()
                .enumerate()
                .map(|(i, lv)| match d.get(i) {
                    Some(dv) => project(dv, lv),
                    None => lv.clone(),
                })
                .collect(),
        ),
        (_, l) => l.clone(),
    }
}

pub fn to_yaml(v: &Value) -> String {
    if v.is_null() {
        return String::new();
    }
    serde_saphyr::to_string(v)
        .unwrap_or_else(|_| serde_json::to_string_pretty(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_defaults_do_not_count() {
        let desired =
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": 8080}]}});
        let live = json!({"spec": {"type": "NodePort", "clusterIP": "10.96.0.12",
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP", "nodePort": 31234}]}});
        assert!(is_subset(&desired, &live));
        let changed =
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": 8081}]}});
        assert!(!is_subset(&changed, &live));
    }

    #[test]
    fn zero_values_the_server_omits_are_equal_to_absence() {
        let desired = json!({"spec": {"preserveUnknownFields": false, "template": {"spec": {"containers": [
            {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/x", "readOnly": false}], "resources": {}}]}}}});
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/x"}]}]}}}});
        assert!(is_subset(&desired, &live));
        // A non-zero value still has to be there.
        let desired = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/x", "readOnly": true}]}]}}}});
        assert!(!is_subset(&desired, &live));
        // And a zero value differs from a live non-zero one.
        assert!(!is_subset(&json!({"replicas": 0}), &json!({"replicas": 3})));
    }

    #[test]
    fn dropped_owned_field_is_a_change() {
        let fields = json!({"f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}},
            "f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}}});
        let f = fields.as_object().unwrap();
        let full = json!({"metadata": {"labels": {"app": "a", "tier": "b"}}, "spec": {"ports": [{"port": 80}]}});
        assert!(covers(f, &full));
        let dropped =
            json!({"metadata": {"labels": {"app": "a"}}, "spec": {"ports": [{"port": 80}]}});
        assert!(!covers(f, &dropped));
        let other_port = json!({"metadata": {"labels": {"app": "a", "tier": "b"}}, "spec": {"ports": [{"port": 81}]}});
        assert!(!covers(f, &other_port));
    }

    #[test]
    fn string_data_ownership_is_data_ownership() {
        let f =
            json!({"f:stringData": {".": {}, "f:foo": {}}, "f:data": {"f:x": {}}, "f:type": {}});
        let moved = string_data_owned_as_data(f.as_object().unwrap());
        assert_eq!(
            Value::Object(moved.clone()),
            json!({"f:data": {"f:x": {}, "f:foo": {}}, "f:type": {}})
        );
        assert!(covers(
            &moved,
            &json!({"data": {"x": "eA==", "foo": "YmFy"}, "type": "Opaque"})
        ));
        // A key dropped from both forms is still a change.
        assert!(!covers(
            &moved,
            &json!({"data": {"x": "eA=="}, "type": "Opaque"})
        ));
    }

    #[test]
    fn projection_shows_only_managed_shape() {
        let desired = json!({"spec": {"cidr": "10.0.0.0/16"}});
        let live = json!({"spec": {"cidr": "192.168.0.0/16", "other": 1}, "status": {}});
        assert_eq!(
            project(&desired, &live),
            json!({"spec": {"cidr": "192.168.0.0/16"}})
        );
    }
}
