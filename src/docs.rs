//! Module documentation generated from the same specs the binary validates
//! with, as Ansible's sidecar YAML (DOCUMENTATION / EXAMPLES / RETURN).

use crate::modules::ModuleDef;
use crate::protocol::{Kind, OptSpec};
use serde_json::{Map, Value, json};

fn option_doc(o: &OptSpec) -> Value {
    let mut m = Map::new();
    let desc = if o.description.is_empty() {
        format!("The {} option.", o.name)
    } else {
        o.description.to_string()
    };
    // Module docs have no `env` key (validate-modules' schema; plugins do):
    // the variables go into the description.
    let mut description = vec![desc];
    if !o.env.is_empty() {
        let names: Vec<String> = o.env.iter().map(|e| format!("C({e})")).collect();
        description.push(format!(
            "Can also be set with the {} environment variable.",
            names.join(" or ")
        ));
    }
    m.insert("description".into(), json!(description));
    m.insert("type".into(), json!(o.kind.ansible_name()));
    if let Kind::List(e) = o.kind {
        m.insert("elements".into(), json!(e.ansible_name()));
    }
    if o.required {
        m.insert("required".into(), json!(true));
    }
    if let Some(d) = o.default {
        m.insert(
            "default".into(),
            serde_json::from_str(d).unwrap_or(Value::Null),
        );
    }
    if !o.choices.is_empty() {
        m.insert("choices".into(), json!(o.choices));
    }
    if !o.aliases.is_empty() {
        m.insert("aliases".into(), json!(o.aliases));
    }
    if !o.suboptions.is_empty() {
        let subs: Map<String, Value> = o
            .suboptions
            .iter()
            .map(|s| (s.name.to_string(), option_doc(s)))
            .collect();
        m.insert("suboptions".into(), Value::Object(subs));
    }
    Value::Object(m)
}

/// The collection release that brought each module; the rest came in 0.1.0.
const ADDED: &[(&str, &str)] = &[("node_provider_id", "0.2.0"), ("alb_controller", "0.2.0")];

fn version_added(module: &str) -> &'static str {
    ADDED
        .iter()
        .find(|(m, _)| *m == module)
        .map_or("0.1.0", |(_, v)| v)
}

pub fn documentation(m: &ModuleDef) -> Value {
    let options: Map<String, Value> = m
        .options
        .iter()
        .flat_map(|s| s.iter())
        .map(|o| (o.name.to_string(), option_doc(o)))
        .collect();
    json!({
        "module": m.name,
        "short_description": m.short_description,
        "version_added": version_added(m.name),
        // validate-modules wants a GitHub handle in every author.
        "author": ["netpath developers (@netpath)"],
        "description": m.description,
        "options": options,
        "attributes": {
            "check_mode": {"support": "full", "description": "Decides and reports without writing."},
            "diff_mode": {"support": "full", "description": "Shows before/after YAML of the fields netpath manages."},
            "platform": {"support": "full", "platforms": "posix", "description": "Static x86_64 Linux binary; needs no Python library on the target."},
        },
        "notes": ["Runs as a static binary: the managed host needs no Python Kubernetes library, kubectl or calicoctl."],
    })
}

/// Longest line of a folded description, past the indentation.
const WRAP: usize = 100;

/// YAML as ansible-lint's production profile wants it: sequences indented
/// under their key (yamllint `indent-sequences`), and long single-line
/// strings folded (`>-`) so no line runs past yamllint's 160 columns
/// (serde-saphyr keeps a string that needs quotes on one line otherwise;
/// a forced fold is `>`, so such a string ends with a newline).
fn to_yaml(v: &Value) -> String {
    let mut opts = serde_saphyr::SerializerOptions::default();
    opts.compact_list_indent = false;
    opts.folded_wrap_chars = WRAP;
    serde_saphyr::to_string_with_options(&Folded(v), opts).unwrap_or_default()
}

struct Folded<'a>(&'a Value);

impl serde::Serialize for Folded<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::String(s) if s.chars().count() > WRAP && !s.contains('\n') => {
                serde_saphyr::FoldStr(s).serialize(ser)
            }
            Value::Array(a) => {
                let mut seq = ser.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Folded(v))?;
                }
                seq.end()
            }
            Value::Object(o) => {
                let mut map = ser.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, &Folded(v))?;
                }
                map.end()
            }
            other => other.serialize(ser),
        }
    }
}

/// The sidecar file `plugins/modules/<name>.yml`.
pub fn sidecar(m: &ModuleDef) -> String {
    let doc = to_yaml(&documentation(m));
    let returns: Value = serde_saphyr::from_str(m.returns).unwrap_or(Value::Null);
    let mut out = String::from(
        "# Generated by `netpath doc` from the module's argument spec; do not edit.\n",
    );
    out.push_str("DOCUMENTATION:\n");
    out.push_str(&indent(&doc));
    out.push_str("EXAMPLES: |\n");
    out.push_str(&indent(m.examples));
    out.push_str("RETURN:\n");
    out.push_str(&indent(&to_yaml(&returns)));
    out
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("  {l}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_documents_every_option_in_valid_yaml() {
        for m in crate::modules::MODULES {
            let doc: Value = serde_saphyr::from_str(&sidecar(m)).expect("sidecar is YAML");
            let options = doc["DOCUMENTATION"]["options"].as_object().unwrap();
            for o in m.options.iter().flat_map(|s| s.iter()) {
                assert!(
                    options.contains_key(o.name),
                    "{}: {} undocumented",
                    m.name,
                    o.name
                );
                assert!(
                    !o.description.is_empty(),
                    "{}: {} has no description",
                    m.name,
                    o.name
                );
            }
            let examples: Value = serde_saphyr::from_str(m.examples).expect("EXAMPLES is YAML");
            assert!(
                examples.as_array().is_some_and(|a| !a.is_empty()),
                "{}: no examples",
                m.name
            );
            assert!(doc["RETURN"].is_object(), "{}: RETURN missing", m.name);
        }
    }

    /// What ansible-lint's yaml rule checks: sequences indented under their
    /// key, lines within 160 columns; and the folding loses no text.
    #[test]
    fn sidecars_indent_sequences_and_keep_lines_short() {
        for m in crate::modules::MODULES {
            let text = sidecar(m);
            // EXAMPLES is a literal block: its text is the module's own.
            let (head, rest) = text.split_once("EXAMPLES: |").unwrap();
            let (_, returns) = rest.split_once("\nRETURN:").unwrap();
            let lines: Vec<&str> = head.lines().chain(returns.lines()).collect();
            for (i, pair) in lines.windows(2).enumerate() {
                let (key, item) = (pair[0], pair[1]);
                if key.trim_end().ends_with(':') && item.trim_start().starts_with("- ") {
                    let depth = |l: &str| l.len() - l.trim_start().len();
                    assert!(
                        depth(item) > depth(key),
                        "{}.yml:{}: sequence not indented under {key:?}",
                        m.name,
                        i + 2
                    );
                }
            }
            let long = lines.iter().find(|l| l.chars().count() > 160);
            assert!(
                long.is_none(),
                "{}: line over 160 columns: {long:?}",
                m.name
            );
            let doc: Value = serde_saphyr::from_str(&text).unwrap();
            // A forced fold (`>`) clips: the text gains one final newline.
            fn unclip(v: &Value) -> Value {
                match v {
                    Value::String(s) => json!(s.strip_suffix('\n').unwrap_or(s)),
                    Value::Array(a) => Value::Array(a.iter().map(unclip).collect()),
                    Value::Object(o) => {
                        Value::Object(o.iter().map(|(k, v)| (k.clone(), unclip(v))).collect())
                    }
                    other => other.clone(),
                }
            }
            assert_eq!(
                unclip(&doc["DOCUMENTATION"]),
                documentation(m),
                "{}",
                m.name
            );
        }
    }

    #[test]
    fn docs_pass_validate_modules_schema_rules() {
        let doc = documentation(&crate::modules::manifest::MODULE);
        for (name, o) in doc["options"].as_object().unwrap() {
            for key in ["env", "no_log"] {
                assert!(o.get(key).is_none(), "{name} has {key}");
            }
        }
        let api_key = doc["options"]["api_key"]["description"].to_string();
        assert!(
            api_key.contains("Can also be set with the C(K8S_AUTH_API_KEY) environment variable."),
            "{api_key}"
        );
        assert_eq!(doc["author"], json!(["netpath developers (@netpath)"]));
    }
}
