//! One file per Ansible module: its spec, and glue from options to the
//! rendering, validation and apply code that does the work.

pub mod alb_controller;
pub mod alb_ingress;
pub mod cni;
pub mod ippool;
pub mod manifest;
pub mod netcheck;
pub mod node_provider_id;

use crate::error::Error;
use crate::kube::{self, Connection, Report, apply};
use crate::protocol::output::Redactor;
use crate::protocol::{Constraints, Kind, OptSpec, Outcome, Params};
use serde_json::{Map, Value, json};

/// A module: what `netpath` dispatches on and `netpath doc` documents.
pub struct ModuleDef {
    pub name: &'static str,
    pub short_description: &'static str,
    pub description: &'static [&'static str],
    pub options: &'static [&'static [OptSpec]],
    pub constraints: Constraints,
    /// EXAMPLES, as YAML text.
    pub examples: &'static str,
    /// RETURN, as YAML text.
    pub returns: &'static str,
}

pub const MODULES: &[&ModuleDef] = &[
    &manifest::MODULE,
    &alb_ingress::MODULE,
    &netcheck::MODULE,
    &ippool::MODULE,
    &cni::MODULE,
    &node_provider_id::MODULE,
    &alb_controller::MODULE,
];

pub fn find(name: &str) -> Option<&'static ModuleDef> {
    MODULES.iter().copied().find(|m| m.name == name)
}

/// Options of every module that writes through the apply engine.
pub const APPLY_OPTIONS: &[OptSpec] = &[
    OptSpec::new("field_manager", Kind::Str)
        .default("\"netpath\"")
        .doc("Server-side apply field manager that owns the fields netpath sets."),
    OptSpec::new("force_conflicts", Kind::Bool).default("false").doc(
        "Take over fields another field manager owns. Without it such a conflict fails and names the other manager.",
    ),
];

/// A failure that may still carry results (objects applied before it).
pub struct Failure {
    pub error: Box<Error>,
    pub extra: Map<String, Value>,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure {
            error: Box::new(error),
            extra: Map::new(),
        }
    }
}

pub struct Ctx {
    pub module: &'static ModuleDef,
    pub params: Params,
    pub check_mode: bool,
    pub diff: bool,
    pub redactor: Redactor,
    pub warnings: Vec<String>,
}

impl Ctx {
    pub async fn connect(&mut self) -> Result<Connection, Error> {
        let conn = kube::connect::connect(&self.params, &mut self.redactor).await?;
        self.warnings.extend(conn.warnings.iter().cloned());
        Ok(conn)
    }

    pub fn apply_options(&self, conn: &Connection) -> apply::Options {
        apply::Options {
            field_manager: self
                .params
                .str("field_manager")
                .unwrap_or("netpath")
                .to_string(),
            force_conflicts: self.params.bool("force_conflicts"),
            check_mode: self.check_mode,
            diff: self.diff,
            wait: self.params.bool("wait"),
            wait_timeout: std::time::Duration::from_secs(
                self.params.int("wait_timeout").unwrap_or(120).max(1) as u64,
            ),
            default_namespace: self
                .params
                .str("namespace")
                .unwrap_or(&conn.default_namespace)
                .to_string(),
            keep_live: false,
        }
    }
}

/// Turns an engine report into the module result: `changed`, per-object
/// `results`, and diffs; a failure keeps the results written before it.
pub fn finish(report: Report, mut extra: Map<String, Value>) -> Result<Outcome, Failure> {
    let changed = report.changed();
    extra.insert(
        "results".into(),
        serde_json::to_value(&report.results).unwrap_or(Value::Null),
    );
    let counts = |a: apply::Action| report.results.iter().filter(|r| r.action == a).count();
    let msg = format!(
        "{} created, {} updated, {} deleted, {} unchanged",
        counts(apply::Action::Created),
        counts(apply::Action::Updated),
        counts(apply::Action::Deleted),
        counts(apply::Action::Unchanged)
    );
    if let Some(error) = report.error {
        extra.insert("changed".into(), json!(changed));
        return Err(Failure {
            error: Box::new(error),
            extra,
        });
    }
    Ok(Outcome {
        changed,
        msg,
        diff: report.diffs(),
        warnings: Vec::new(),
        extra,
    })
}

pub async fn run(ctx: &mut Ctx) -> Result<Outcome, Failure> {
    match ctx.module.name {
        "manifest" => manifest::run(ctx).await,
        "alb_ingress" => alb_ingress::run(ctx).await,
        "netcheck" => netcheck::run(ctx).await,
        "ippool" => ippool::run(ctx).await,
        "cni" => cni::run(ctx).await,
        "node_provider_id" => node_provider_id::run(ctx).await,
        "alb_controller" => alb_controller::run(ctx).await,
        other => Err(Error::Input(format!(
            "module {other} is declared but has no implementation"
        ))
        .into()),
    }
}
