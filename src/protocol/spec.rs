//! Argument specs with AnsibleModule's semantics.
//!
//! Ansible hands binary modules the user's values exactly as typed in YAML
//! (no coercion, no `~` expansion), so this ports the parts of
//! `ansible.module_utils.common.parameters` and `validation` that modules rely
//! on. Each module declares its spec once, as consts; the same spec renders
//! the module's documentation (`netpath doc MODULE`), so docs cannot drift.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    Int,
    Float,
    Path,
    Raw,
    /// A list whose elements are coerced to the inner kind.
    List(&'static Kind),
    /// A dict; with `suboptions` its keys are checked like top-level options.
    Dict,
}

impl Kind {
    pub fn ansible_name(&self) -> &'static str {
        match self {
            Kind::Str => "str",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Path => "path",
            Kind::Raw => "raw",
            Kind::List(_) => "list",
            Kind::Dict => "dict",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct OptSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// Default as a JSON literal, e.g. `"26"`, `"\"Always\""`, `"true"`.
    pub default: Option<&'static str>,
    pub choices: &'static [&'static str],
    pub aliases: &'static [&'static str],
    pub no_log: bool,
    /// Environment variables read (in order) when the option is not given.
    pub env: &'static [&'static str],
    pub suboptions: &'static [OptSpec],
    pub description: &'static str,
}

impl OptSpec {
    pub const fn new(name: &'static str, kind: Kind) -> Self {
        OptSpec {
            name,
            kind,
            required: false,
            default: None,
            choices: &[],
            aliases: &[],
            no_log: false,
            env: &[],
            suboptions: &[],
            description: "",
        }
    }
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub const fn default(mut self, json: &'static str) -> Self {
        self.default = Some(json);
        self
    }
    pub const fn choices(mut self, c: &'static [&'static str]) -> Self {
        self.choices = c;
        self
    }
    pub const fn aliases(mut self, a: &'static [&'static str]) -> Self {
        self.aliases = a;
        self
    }
    pub const fn no_log(mut self) -> Self {
        self.no_log = true;
        self
    }
    pub const fn env(mut self, e: &'static [&'static str]) -> Self {
        self.env = e;
        self
    }
    pub const fn suboptions(mut self, s: &'static [OptSpec]) -> Self {
        self.suboptions = s;
        self
    }
    pub const fn doc(mut self, d: &'static str) -> Self {
        self.description = d;
        self
    }

    fn default_value(&self) -> Option<Value> {
        self.default
            .map(|d| serde_json::from_str(d).expect("spec default is valid JSON"))
    }
}

/// `required_if`: when `key` equals `value`, `requirements` must be given
/// (all of them, or at least one when `any`).
#[derive(Debug, Clone, Copy)]
pub struct RequiredIf {
    pub key: &'static str,
    pub value: &'static str,
    pub requirements: &'static [&'static str],
    pub any: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Constraints {
    pub mutually_exclusive: &'static [&'static [&'static str]],
    pub required_together: &'static [&'static [&'static str]],
    pub required_one_of: &'static [&'static [&'static str]],
    pub required_if: &'static [RequiredIf],
}

/// Validated parameters, after coercion and defaults.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub values: Map<String, Value>,
    /// Every no_log value seen, so output can mask it wherever it shows up.
    pub secrets: BTreeSet<String>,
    pub warnings: Vec<String>,
}

impl Params {
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.values.get(k).filter(|v| !v.is_null())
    }
    pub fn str(&self, k: &str) -> Option<&str> {
        self.get(k).and_then(Value::as_str)
    }
    pub fn bool(&self, k: &str) -> bool {
        self.get(k).and_then(Value::as_bool).unwrap_or(false)
    }
    pub fn int(&self, k: &str) -> Option<i64> {
        self.get(k).and_then(Value::as_i64)
    }
    pub fn list(&self, k: &str) -> &[Value] {
        self.get(k)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
    pub fn str_list(&self, k: &str) -> Vec<String> {
        self.list(k)
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    }
    pub fn is_set(&self, k: &str) -> bool {
        self.get(k).is_some()
    }

    /// The values as a module's typed arguments (`modules::Module::Args`).
    pub fn typed<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_value(Value::Object(self.values))
    }
}

/// Validates `input` against `options` and `constraints` the way AnsibleModule
/// does; `module` names the module in messages. All problems are reported
/// together.
pub fn validate(
    module: &str,
    options: &[&[OptSpec]],
    constraints: &Constraints,
    input: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Params, Vec<String>> {
    let specs: Vec<&OptSpec> = options.iter().flat_map(|s| s.iter()).collect();
    let mut out = Params::default();
    let mut errors = Vec::new();
    out.values = validate_level(
        module,
        "",
        &specs,
        Some(constraints),
        input,
        env,
        &mut out,
        &mut errors,
        true,
    );
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[allow(clippy::too_many_arguments)]
fn validate_level(
    module: &str,
    context: &str,
    specs: &[&OptSpec],
    constraints: Option<&Constraints>,
    input: &Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
    out: &mut Params,
    errors: &mut Vec<String>,
    top: bool,
) -> Map<String, Value> {
    let found_in = if context.is_empty() {
        String::new()
    } else {
        format!(" found in {context}")
    };
    let mut values = Map::new();

    // Unknown keys first: a typo is the likeliest mistake, and Ansible says it first too.
    let mut unknown = Vec::new();
    for key in input.keys() {
        if top && key.starts_with("_ansible_") {
            continue;
        }
        if !specs
            .iter()
            .any(|s| s.name == key || s.aliases.contains(&key.as_str()))
        {
            unknown.push(key.clone());
        }
    }
    if !unknown.is_empty() {
        let mut supported: Vec<String> = specs
            .iter()
            .flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied()))
            .map(str::to_string)
            .collect();
        supported.sort();
        let what = if context.is_empty() {
            format!("({module}) module")
        } else {
            context.to_string()
        };
        errors.push(format!(
            "Unsupported parameters for {what}: {}. Supported parameters include: {}.",
            unknown.join(", "),
            supported.join(", ")
        ));
    }

    let mut missing = Vec::new();
    for spec in specs {
        let given: Vec<(&str, &Value)> = std::iter::once(spec.name)
            .chain(spec.aliases.iter().copied())
            .filter_map(|k| input.get(k).map(|v| (k, v)))
            .collect();
        if given.len() > 1 {
            let names: Vec<&str> = given.iter().map(|(k, _)| *k).collect();
            errors.push(format!(
                "parameters are mutually exclusive: {}{found_in}",
                names.join("|")
            ));
            continue;
        }
        let mut raw = given.first().map(|(_, v)| (*v).clone());
        if raw.as_ref().is_none_or(Value::is_null) {
            raw = spec.env.iter().find_map(|e| env(e)).map(|s| {
                if spec.kind == Kind::Bool {
                    // kubernetes.core's rule for K8S_AUTH_* booleans.
                    Value::Bool(!matches!(s.to_lowercase().as_str(), "0" | "false" | "no"))
                } else {
                    Value::String(s)
                }
            });
        }
        let raw = match raw {
            Some(v) if !v.is_null() => v,
            _ => {
                if spec.required {
                    missing.push(spec.name);
                }
                let d = spec.default_value().unwrap_or(Value::Null);
                values.insert(spec.name.to_string(), d);
                continue;
            }
        };
        let field = if context.is_empty() {
            spec.name.to_string()
        } else {
            format!("{context}.{}", spec.name)
        };
        match coerce(&field, spec, &raw, module, out, errors) {
            Ok(v) => {
                if spec.no_log {
                    collect_secrets(&v, &mut out.secrets);
                }
                values.insert(spec.name.to_string(), v);
            }
            Err(e) => errors.push(e),
        }
    }
    if !missing.is_empty() {
        errors.push(format!(
            "missing required arguments: {}{found_in}",
            missing.join(", ")
        ));
    }

    if let Some(c) = constraints {
        check_constraints(c, &values, &found_in, errors);
    }
    values
}

fn is_given(values: &Map<String, Value>, k: &str) -> bool {
    values.get(k).is_some_and(|v| !v.is_null())
}

fn check_constraints(
    c: &Constraints,
    values: &Map<String, Value>,
    found_in: &str,
    errors: &mut Vec<String>,
) {
    for group in c.mutually_exclusive {
        let set: Vec<&str> = group
            .iter()
            .copied()
            .filter(|k| is_given(values, k))
            .collect();
        if set.len() > 1 {
            errors.push(format!(
                "parameters are mutually exclusive: {}{found_in}",
                group.join("|")
            ));
        }
    }
    for group in c.required_together {
        let n = group.iter().filter(|k| is_given(values, k)).count();
        if n > 0 && n < group.len() {
            errors.push(format!(
                "parameters are required together: {}{found_in}",
                group.join(", ")
            ));
        }
    }
    for group in c.required_one_of {
        if !group.iter().any(|k| is_given(values, k)) {
            errors.push(format!(
                "one of the following is required: {}{found_in}",
                group.join(", ")
            ));
        }
    }
    for r in c.required_if {
        let expected: Value =
            serde_json::from_str(r.value).unwrap_or(Value::String(r.value.into()));
        if values.get(r.key) != Some(&expected) {
            continue;
        }
        let missing: Vec<&str> = r
            .requirements
            .iter()
            .copied()
            .filter(|k| !is_given(values, k))
            .collect();
        let broken = if r.any {
            missing.len() == r.requirements.len()
        } else {
            !missing.is_empty()
        };
        if broken {
            let shown = expected
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| expected.to_string());
            errors.push(format!(
                "{} is {} but {} of the following are missing: {}{found_in}",
                r.key,
                shown,
                if r.any { "any" } else { "all" },
                missing.join(", ")
            ));
        }
    }
}

fn collect_secrets(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) if !s.is_empty() => {
            out.insert(s.clone());
        }
        Value::Number(n) => {
            out.insert(n.to_string());
        }
        Value::Array(a) => a.iter().for_each(|x| collect_secrets(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_secrets(x, out)),
        _ => {}
    }
}

fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

/// Python's str() of a scalar, as AnsibleModule's conversions print it.
fn py_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(true) => Some("True".into()),
        Value::Bool(false) => Some("False".into()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

const BOOLEANS_TRUE: &[&str] = &["y", "yes", "on", "1", "true", "t"];
const BOOLEANS_FALSE: &[&str] = &["n", "no", "off", "0", "false", "f"];

pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => {
            let l = s.to_lowercase();
            if BOOLEANS_TRUE.contains(&l.as_str()) {
                Some(true)
            } else if BOOLEANS_FALSE.contains(&l.as_str()) {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn coerce_scalar(field: &str, kind: &Kind, v: &Value) -> Result<Value, String> {
    let unable = |to: &str, why: String| {
        format!(
            "argument '{field}' is of type {} and we were unable to convert to {to}: {why}",
            py_type(v)
        )
    };
    match kind {
        Kind::Raw => Ok(v.clone()),
        Kind::Str | Kind::Path => {
            let s = py_str(v).ok_or_else(|| unable("str", format!("{} cannot be converted to a str", py_type(v))))?;
            if *kind == Kind::Path { Ok(Value::String(expand_path(&s))) } else { Ok(Value::String(s)) }
        }
        Kind::Bool => to_bool(v).map(Value::Bool).ok_or_else(|| {
            unable(
                "bool",
                format!(
                    "The value '{}' is not a valid boolean.  Valid booleans include: 'yes', 'no', 'true', 'false', 'on', 'off', '1', '0', 'y', 'n', 't', 'f', 1, 0",
                    py_str(v).unwrap_or_else(|| v.to_string())
                ),
            )
        }),
        Kind::Int => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Value::from(f as i64)),
                _ => Err(unable("int", format!("{} cannot be converted to an int", py_type(v)))),
            },
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| unable("int", format!("invalid literal for int() with base 10: '{s}'"))),
            _ => Err(unable("int", format!("{} cannot be converted to an int", py_type(v)))),
        },
        Kind::Float => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| unable("float", format!("could not convert string to float: '{s}'"))),
            _ => Err(unable("float", format!("{} cannot be converted to a float", py_type(v)))),
        },
        Kind::List(_) | Kind::Dict => unreachable!("containers are coerced by coerce()"),
    }
}

fn coerce(
    field: &str,
    spec: &OptSpec,
    v: &Value,
    module: &str,
    out: &mut Params,
    errors: &mut Vec<String>,
) -> Result<Value, String> {
    let value = match spec.kind {
        Kind::List(elem) => {
            let items: Vec<Value> = match v {
                Value::Array(a) => a.clone(),
                // AnsibleModule splits strings on commas and wraps scalars.
                Value::String(s) => s.split(',').map(|x| Value::String(x.to_string())).collect(),
                Value::Number(_) | Value::Bool(_) => {
                    vec![Value::String(py_str(v).unwrap_or_default())]
                }
                _ => {
                    return Err(format!(
                        "argument '{field}' is of type {} and we were unable to convert to list: {} cannot be converted to a list",
                        py_type(v),
                        py_type(v)
                    ));
                }
            };
            let mut coerced = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let f = format!("{field}[{i}]");
                match elem {
                    Kind::Dict => {
                        let Value::Object(m) = item else {
                            return Err(format!(
                                "Elements value for option '{field}' is of type {} and we were unable to convert to dict",
                                py_type(item)
                            ));
                        };
                        coerced.push(coerce_dict(&f, spec, m, module, out, errors));
                    }
                    k => coerced.push(coerce_scalar(&f, k, item).map_err(|e| {
                        format!(
                            "Elements value for option '{field}' {}",
                            e.split_once(" is of type ")
                                .map(|(_, r)| format!("is of type {r}"))
                                .unwrap_or(e.clone())
                        )
                    })?),
                }
            }
            Value::Array(coerced)
        }
        Kind::Dict => {
            let m = match v {
                Value::Object(m) => m.clone(),
                Value::String(s) => parse_dict_string(s).ok_or_else(|| {
                    format!("argument '{field}' is of type <class 'str'> and we were unable to convert to dict: dictionary requested, could not parse JSON or key=value")
                })?,
                _ => {
                    return Err(format!(
                        "argument '{field}' is of type {} and we were unable to convert to dict: {} cannot be converted to a dict",
                        py_type(v),
                        py_type(v)
                    ));
                }
            };
            coerce_dict(field, spec, &m, module, out, errors)
        }
        ref k => coerce_scalar(field, k, v)?,
    };
    check_choices(field, spec, &value)?;
    Ok(value)
}

fn coerce_dict(
    field: &str,
    spec: &OptSpec,
    m: &Map<String, Value>,
    module: &str,
    out: &mut Params,
    errors: &mut Vec<String>,
) -> Value {
    if spec.suboptions.is_empty() {
        return Value::Object(m.clone());
    }
    let subs: Vec<&OptSpec> = spec.suboptions.iter().collect();
    // Sub-options never fall back to the environment.
    let no_env = |_: &str| None;
    Value::Object(validate_level(
        module, field, &subs, None, m, &no_env, out, errors, false,
    ))
}

fn check_choices(field: &str, spec: &OptSpec, value: &Value) -> Result<(), String> {
    if spec.choices.is_empty() {
        return Ok(());
    }
    let bad: Vec<String> = match value {
        Value::Array(a) => a
            .iter()
            .filter_map(py_str)
            .filter(|s| !spec.choices.contains(&s.as_str()))
            .collect(),
        other => py_str(other)
            .into_iter()
            .filter(|s| !spec.choices.contains(&s.as_str()))
            .collect(),
    };
    if bad.is_empty() {
        return Ok(());
    }
    Err(format!(
        "value of {field} must be one of: {}, got: {}",
        spec.choices.join(", "),
        bad.join(", ")
    ))
}

/// AnsibleModule's `check_type_dict` for strings: JSON, or `k=v` pairs.
fn parse_dict_string(s: &str) -> Option<Map<String, Value>> {
    let t = s.trim();
    if t.starts_with('{') {
        return serde_json::from_str(t).ok();
    }
    let mut m = Map::new();
    for pair in t.split([',', ' ']).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=')?;
        m.insert(k.trim().to_string(), Value::String(v.trim().to_string()));
    }
    if m.is_empty() { None } else { Some(m) }
}

/// `os.path.expanduser(os.path.expandvars(p))`.
pub fn expand_path(p: &str) -> String {
    let mut s = String::with_capacity(p.len());
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            s.push(c);
            continue;
        }
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphanumeric() || n == '_' {
                name.push(n);
                chars.next();
            } else {
                break;
            }
        }
        if braced && chars.peek() == Some(&'}') {
            chars.next();
        }
        match std::env::var(&name) {
            Ok(v) if !name.is_empty() => s.push_str(&v),
            _ => {
                s.push('$');
                if braced {
                    s.push('{');
                }
                s.push_str(&name);
                if braced {
                    s.push('}');
                }
            }
        }
    }
    if (s == "~" || s.starts_with("~/"))
        && let Ok(home) = std::env::var("HOME")
    {
        s.replace_range(..1, &home);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SUB: &[OptSpec] = &[
        OptSpec::new("path", Kind::Str).required(),
        OptSpec::new("port", Kind::Int),
    ];
    const OPTS: &[OptSpec] = &[
        OptSpec::new("name", Kind::Str)
            .required()
            .aliases(&["pool"]),
        OptSpec::new("size", Kind::Int).default("26"),
        OptSpec::new("nat", Kind::Bool).default("true"),
        OptSpec::new("mode", Kind::Str)
            .choices(&["Always", "Never"])
            .default("\"Never\""),
        OptSpec::new("token", Kind::Str)
            .no_log()
            .env(&["TEST_TOKEN"]),
        OptSpec::new("tags", Kind::List(&Kind::Str)),
        OptSpec::new("rules", Kind::List(&Kind::Dict)).suboptions(SUB),
        OptSpec::new("home", Kind::Path),
        OptSpec::new("a", Kind::Str),
        OptSpec::new("b", Kind::Str),
    ];
    const C: Constraints = Constraints {
        mutually_exclusive: &[&["a", "b"]],
        required_together: &[],
        required_one_of: &[],
        required_if: &[RequiredIf {
            key: "mode",
            value: "\"Always\"",
            requirements: &["a"],
            any: false,
        }],
    };

    fn run(v: Value) -> Result<Params, Vec<String>> {
        let env = |k: &str| {
            if k == "TEST_TOKEN" {
                Some("s3cret-env".to_string())
            } else {
                None
            }
        };
        validate("t.m", &[OPTS], &C, v.as_object().unwrap(), &env)
    }

    #[test]
    fn coerces_like_ansible() {
        let p = run(json!({"pool": "x", "size": "24", "nat": "no", "tags": "a,b", "_ansible_whatever": 1, "home": "~/k"}))
            .unwrap();
        assert_eq!(p.str("name"), Some("x"));
        assert_eq!(p.int("size"), Some(24));
        assert!(!p.bool("nat"));
        assert_eq!(p.str_list("tags"), vec!["a", "b"]);
        assert_eq!(p.str("mode"), Some("Never"));
        assert!(!p.str("home").unwrap().starts_with('~'));
        assert!(
            p.secrets.contains("s3cret-env"),
            "env fallback of a no_log option is a secret"
        );
    }

    #[test]
    fn reports_every_problem_at_once() {
        let e = run(json!({"size": "big", "nat": "maybe", "mode": "Sometimes", "bogus": 1}))
            .unwrap_err();
        let all = e.join("\n");
        assert!(
            all.contains(
                "Unsupported parameters for (t.m) module: bogus. Supported parameters include:"
            ),
            "{all}"
        );
        assert!(all.contains("missing required arguments: name"), "{all}");
        assert!(
            all.contains("invalid literal for int() with base 10: 'big'"),
            "{all}"
        );
        assert!(
            all.contains("The value 'maybe' is not a valid boolean"),
            "{all}"
        );
        assert!(
            all.contains("value of mode must be one of: Always, Never, got: Sometimes"),
            "{all}"
        );
    }

    #[test]
    fn constraints_and_suboptions() {
        let e = run(json!({"name": "x", "a": "1", "b": "2", "rules": [{"port": "x"}]}))
            .unwrap_err()
            .join("\n");
        assert!(e.contains("parameters are mutually exclusive: a|b"), "{e}");
        assert!(
            e.contains("missing required arguments: path found in rules[0]"),
            "{e}"
        );
        assert!(e.contains("'rules[0].port'"), "{e}");
        let e = run(json!({"name": "x", "mode": "Always"}))
            .unwrap_err()
            .join("\n");
        assert!(
            e.contains("mode is Always but all of the following are missing: a"),
            "{e}"
        );
        let p = run(json!({"name": "x", "rules": [{"path": "/", "port": "80"}]})).unwrap();
        assert_eq!(p.list("rules")[0]["port"], json!(80));
    }

    #[test]
    fn bools_and_ints_edge_cases() {
        for (v, b) in [
            (json!("YES"), true),
            (json!(1), true),
            (json!("off"), false),
            (json!(0.0), false),
        ] {
            assert_eq!(to_bool(&v), Some(b), "{v}");
        }
        assert_eq!(to_bool(&json!("2")), None);
        assert!(run(json!({"name": "x", "size": 1.5})).is_err());
        assert_eq!(
            run(json!({"name": "x", "size": 2.0})).unwrap().int("size"),
            Some(2)
        );
        assert!(run(json!({"name": ["x"]})).is_err(), "a list is not a str");
        assert_eq!(run(json!({"name": 12})).unwrap().str("name"), Some("12"));
    }
}
