//! Running as an Ansible module: args file in, exactly one JSON object out.

use crate::cli::roles::RoleCall;
use crate::error::Error;
use crate::modules::{self, Ctx, Failure};
use crate::protocol::output::{self, NO_LOG_MASK, Redactor};
use crate::protocol::{ModuleInput, Outcome, spec};
use crate::validate::Findings;
use serde_json::{Map, Value};

/// Runs the module named in the args file and returns its result JSON.
pub fn run(args_path: &str, argv0: Option<&str>) -> Value {
    let input = match ModuleInput::read(args_path, argv0) {
        Ok(i) => i,
        Err(e) => return output::render(Err((e, Map::new())), &[], None, &Redactor::default()),
    };
    run_input(input)
}

pub fn run_input(mut input: ModuleInput) -> Value {
    let Some(module) = modules::find(&input.module) else {
        let names: Vec<&str> = modules::MODULES.iter().map(|m| m.name).collect();
        let e = Error::Input(format!(
            "unknown module {:?}; this binary provides: {}",
            input.fqcn,
            names.join(", ")
        ));
        return output::render(Err((e, Map::new())), &[], None, &Redactor::default());
    };
    // Through a role: its variables are checked first and named in errors.
    let role = match input.role.take().map(|r| RoleCall::new(module.name, &r)) {
        None => None,
        Some(Ok(mut r)) => {
            let findings = Findings::of(|f| r.check(module, &input.args, f));
            if !findings.is_empty() {
                let mut red = Redactor::default();
                secrets_of_args(module, &input.args, &mut red);
                return output::render(
                    Err((Error::Invalid(findings), Map::new())),
                    &[],
                    None,
                    &red,
                );
            }
            r.connection(&mut input.args);
            Some(r)
        }
        Some(Err(e)) => {
            return output::render(
                Err((Error::Input(e), Map::new())),
                &[],
                None,
                &Redactor::default(),
            );
        }
    };
    let env = |k: &str| std::env::var(k).ok();
    let fqcn = if input.fqcn.contains('.') {
        input.fqcn.clone()
    } else {
        format!("netpath.calico_alb.{}", module.name)
    };
    let mut params = match spec::validate(
        &fqcn,
        module.options,
        &module.constraints,
        &input.args,
        &env,
    ) {
        Ok(p) => p,
        Err(errors) => {
            let mut r = Redactor::default();
            secrets_of_args(module, &input.args, &mut r);
            let errors = match &role {
                Some(role) => errors.iter().map(|e| role.text(e)).collect(),
                None => errors,
            };
            return output::render(Err((Error::Args(errors), Map::new())), &[], None, &r);
        }
    };
    let mut redactor = Redactor::default();
    redactor.extend(params.secrets.iter().cloned());
    // A kubeconfig given as a dict carries every user's credentials, used or not.
    if let Some(kc) = params.values.get("kubeconfig") {
        kubeconfig_credentials(kc, &mut redactor);
    }
    let invocation = input
        .inject_invocation
        .then(|| invocation(&params.values, &params.secrets));
    let mut ctx = Ctx::new(module, input.check_mode, input.diff, redactor);
    ctx.warnings = std::mem::take(&mut params.warnings);
    // Renamed role variables the user still sets.
    ctx.warnings
        .extend(role.iter().flat_map(RoleCall::warnings));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = Error::Other(anyhow::anyhow!("cannot start the async runtime: {e}"));
            return output::render(Err((e, Map::new())), &[], None, &ctx.redactor);
        }
    };
    let result = rt.block_on((module.run)(&mut ctx, params));
    let mut result = result.map_err(|Failure { error, extra }| (*error, extra));
    if let Some(role) = &role {
        name_role_variables(role, &mut result, &mut ctx.warnings);
    }
    output::render(result, &ctx.warnings, invocation, &ctx.redactor)
}

/// Errors, findings and warnings of a task run through a role name the
/// role's variables, not the module's options.
fn name_role_variables(
    role: &RoleCall,
    result: &mut Result<Outcome, (Error, Map<String, Value>)>,
    warnings: &mut [String],
) {
    for w in warnings.iter_mut() {
        *w = role.text(w);
    }
    let extra = match result {
        Ok(o) => {
            o.warnings.iter_mut().for_each(|w| *w = role.text(w));
            &mut o.extra
        }
        Err((e, extra)) => {
            match e {
                Error::Invalid(f) => role.findings(f),
                Error::Args(a) => a.iter_mut().for_each(|x| *x = role.text(x)),
                Error::Connection(m) => {
                    if let Some(note) = role.connection_note() {
                        m.push_str(&note);
                    }
                }
                _ => {}
            }
            extra
        }
    };
    if let Some(f) = extra.get_mut("findings") {
        role.findings_json(f);
    }
}

/// Every string under `users[].user` of a kubeconfig dict: tokens, key data,
/// passwords, exec plugin environment.
fn kubeconfig_credentials(kc: &Value, r: &mut Redactor) {
    fn leaves(v: &Value, r: &mut Redactor) {
        match v {
            Value::String(s) => r.add(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| leaves(x, r)),
            Value::Object(o) => o.values().for_each(|x| leaves(x, r)),
            _ => {}
        }
    }
    for u in kc["users"].as_array().into_iter().flatten() {
        leaves(&u["user"], r);
    }
}

/// no_log values of options that failed validation are still secrets.
fn secrets_of_args(module: &modules::ModuleDef, args: &Map<String, Value>, r: &mut Redactor) {
    for spec in module
        .options
        .iter()
        .flat_map(|s| s.iter())
        .filter(|s| s.no_log)
    {
        for key in std::iter::once(spec.name).chain(spec.aliases.iter().copied()) {
            if let Some(v) = args.get(key) {
                let s = v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string());
                r.add(s);
            }
        }
    }
}

fn invocation(values: &Map<String, Value>, secrets: &std::collections::BTreeSet<String>) -> Value {
    let mut v = Value::Object(values.clone());
    fn mask(v: &mut Value, secrets: &std::collections::BTreeSet<String>) {
        match v {
            Value::String(s) if secrets.contains(s.as_str()) => *s = NO_LOG_MASK.to_string(),
            Value::Array(a) => a.iter_mut().for_each(|x| mask(x, secrets)),
            Value::Object(o) => o.values_mut().for_each(|x| mask(x, secrets)),
            _ => {}
        }
    }
    mask(&mut v, secrets);
    mask_secret_objects(&mut v);
    v
}

/// Values of Secret objects given inline (e.g. manifest's definition) are
/// credentials too: invocation shows their keys, never their values.
fn mask_secret_objects(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.get("kind").and_then(Value::as_str) == Some("Secret") {
                for field in ["data", "stringData"] {
                    if let Some(Value::Object(m)) = o.get_mut(field) {
                        m.values_mut()
                            .for_each(|x| *x = Value::String(NO_LOG_MASK.to_string()));
                    }
                }
            }
            o.values_mut().for_each(mask_secret_objects);
        }
        Value::Array(a) => a.iter_mut().for_each(mask_secret_objects),
        _ => {}
    }
}
