//! The one place results and errors become Ansible JSON. Every string that
//! leaves the process passes through `Redactor`, so a token, key or no_log
//! value cannot leak through a message, a diff or an echoed object.

use crate::error::Error;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

pub const MASK: &str = "********";
/// What Ansible shows for no_log values in `invocation`.
pub const NO_LOG_MASK: &str = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffEntry {
    pub before_header: String,
    pub after_header: String,
    pub before: String,
    pub after: String,
}

/// What a module returns on success.
#[derive(Debug, Default)]
pub struct Outcome {
    pub changed: bool,
    pub msg: String,
    pub diff: Vec<DiffEntry>,
    pub warnings: Vec<String>,
    /// Module-specific return values (`results`, `ansible_facts`, ...).
    pub extra: Map<String, Value>,
}

/// Masks secret strings wherever they appear.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    secrets: BTreeSet<String>,
}

impl Redactor {
    pub fn add(&mut self, s: impl Into<String>) {
        let s = s.into();
        // Masking one- or two-character values would shred every message and
        // protect nothing; such values are still masked when they are a whole string.
        if !s.is_empty() {
            self.secrets.insert(s);
        }
    }

    pub fn extend(&mut self, it: impl IntoIterator<Item = String>) {
        it.into_iter().for_each(|s| self.add(s));
    }

    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        // Longest first, so a secret containing another is masked whole.
        let mut secrets: Vec<&String> = self.secrets.iter().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for secret in secrets {
            if out == *secret {
                return MASK.to_string();
            }
            if secret.len() >= 3 && out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    pub fn value(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Number(n) if self.secrets.contains(&n.to_string()) => {
                *v = Value::String(MASK.into())
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.value(x)),
            Value::Object(o) => {
                let keys: Vec<String> = o.keys().cloned().collect();
                for k in keys {
                    let masked = self.text(&k);
                    let mut x = o.remove(&k).unwrap_or(Value::Null);
                    self.value(&mut x);
                    o.insert(masked, x);
                }
            }
            _ => {}
        }
    }
}

/// Builds the final JSON for a run. `invocation` is included only when
/// Ansible asks for it (`_ansible_inject_invocation`, 2.21+).
pub fn render(
    result: Result<Outcome, (Error, Map<String, Value>)>,
    warnings: &[String],
    invocation: Option<Value>,
    redactor: &Redactor,
) -> Value {
    let mut out = Map::new();
    match result {
        Ok(o) => {
            out.insert("changed".into(), json!(o.changed));
            out.insert("failed".into(), json!(false));
            if !o.msg.is_empty() {
                out.insert("msg".into(), json!(o.msg));
            }
            if !o.diff.is_empty() {
                out.insert(
                    "diff".into(),
                    serde_json::to_value(&o.diff).unwrap_or(Value::Null),
                );
            }
            let mut w = warnings.to_vec();
            w.extend(o.warnings);
            if !w.is_empty() {
                out.insert("warnings".into(), json!(w));
            }
            out.extend(o.extra);
        }
        Err((e, extra)) => {
            out.insert(
                "changed".into(),
                json!(
                    extra
                        .get("changed")
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                ),
            );
            out.insert("failed".into(), json!(true));
            out.insert("msg".into(), json!(e.to_string()));
            if let Error::Invalid(findings) = &e {
                out.insert(
                    "findings".into(),
                    serde_json::to_value(findings).unwrap_or(Value::Null),
                );
            }
            if !warnings.is_empty() {
                out.insert("warnings".into(), json!(warnings));
            }
            for (k, v) in extra {
                out.entry(k).or_insert(v);
            }
        }
    }
    if let Some(inv) = invocation {
        out.insert("invocation".into(), json!({ "module_args": inv }));
    }
    let mut v = Value::Object(out);
    redactor.value(&mut v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_everywhere() {
        let mut r = Redactor::default();
        r.add("tok-123456");
        r.add("ab");
        let mut v =
            json!({"msg": "Bearer tok-123456 failed", "list": ["ab", "abc"], "tok-123456": 1});
        r.value(&mut v);
        let s = v.to_string();
        assert!(!s.contains("tok-123456"), "{s}");
        assert_eq!(v["list"], json!([MASK, "abc"]));
    }

    #[test]
    fn failure_shape() {
        let v = render(
            Err((Error::Input("bad".into()), Map::new())),
            &[],
            None,
            &Redactor::default(),
        );
        assert_eq!(v["failed"], json!(true));
        assert_eq!(v["msg"], json!("bad"));
        assert_eq!(v["changed"], json!(false));
    }
}
