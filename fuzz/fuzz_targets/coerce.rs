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
            let out = netpath::ansible::run_input(input).to_string();
            for key in ["api_key", "password"] {
                if let Some(Value::String(s)) = args.get(key)
                    && s.len() >= 3
                    && !is_noise(s)
                {
                    let encoded = serde_json::to_string(s).unwrap();
                    let inner = &encoded[1..encoded.len() - 1];
                    assert!(!out.contains(inner), "{key} value {s:?} leaked: {out}");
                }
            }
        }
    }
});

/// Strings that occur in every output anyway (JSON keys and punctuation,
/// booleans): finding them proves nothing about a leak.
fn is_noise(s: &str) -> bool {
    s.chars().all(|c| !c.is_alphanumeric())
        || ["failed", "changed", "true", "false", "msg", "null"]
            .iter()
            .any(|w| w.contains(s))
}
