//! Argument coercion (AnsibleModule semantics) against every module's real
//! spec, and the rendered failure: no panic, and a no_log value given by the
//! user never appears in the output of a failed validation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netpath::modules::MODULES;
use netpath::protocol::{ModuleInput, spec};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let module = MODULES[pick as usize % MODULES.len()];
    let Ok(Value::Object(args)) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let no_env = |_: &str| None;
    let fqcn = format!("netpath.calico_alb.{}", module.name);
    match spec::validate(&fqcn, module.options, &module.constraints, &args, &no_env) {
        Ok(params) => {
            // Every declared option is present after defaults, under its main name.
            for s in module.options.iter().flat_map(|s| s.iter()) {
                assert!(params.values.contains_key(s.name), "{} missing", s.name);
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            // The whole module front door, stopping at validation: secrets stay masked.
            let input = ModuleInput {
                module: module.name.into(),
                fqcn,
                args: args.clone(),
                ..Default::default()
            };
            let out = netpath::ansible::run_input(input);
            for key in ["api_key", "password"] {
                if let Some(Value::String(secret)) = args.get(key)
                    && secret.len() >= 3
                    && !MASKS.iter().any(|m| m.contains(secret.as_str()))
                {
                    // Strings of the result, keys included; JSON punctuation is
                    // no leak ("true," once matched `"failed":true,`).
                    let mut strings = Vec::new();
                    collect(&out, &mut strings);
                    for s in strings {
                        assert!(
                            !s.contains(secret.as_str()),
                            "{key} value {secret:?} leaked in {s:?}: {out}"
                        );
                    }
                }
            }
        }
    }
});

/// What masked values become: a secret inside them is found, but not leaked.
const MASKS: &[&str] = &["********", "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"];

fn collect<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k);
            collect(x, out);
        }),
        _ => {}
    }
}
