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
use crate::kube::connect::ConnectionArgs;
use crate::kube::{self, Connection, Report, apply};
use crate::protocol::output::Redactor;
use crate::protocol::{Constraints, Kind, OptSpec, Outcome, Params};
use crate::validate::Findings;
use futures::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;
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
    /// Runs the module on its validated parameters: `entry::<M>` of the
    /// module's `Module` implementation.
    pub run: Entry,
}

/// How a module is started: the generic runner, instantiated for it.
pub type Entry = for<'a> fn(&'a mut Ctx, Params) -> LocalBoxFuture<'a, Result<Outcome, Failure>>;

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

/// One module's own steps. `run` calls them in this order, and stops with
/// the findings (nothing written) when a step leaves an error among them:
/// `plan` before any connection, `read` and `check` before any write.
// Async hooks without a `Send` bound: the module runs on one
// current-thread runtime, so no future crosses threads.
#[allow(async_fn_in_trait)]
pub trait Module {
    /// The options, typed: deserialised once from the validated parameters.
    type Args: DeserializeOwned;
    /// What the arguments mean, derived without the cluster.
    type Plan;
    /// What the live reads found (and the checks concluded).
    type Live;

    /// Derives the plan. None, or an error in `f`, stops the run.
    async fn plan(
        args: Self::Args,
        ctx: &mut Ctx,
        f: &mut Findings,
    ) -> Result<Option<Self::Plan>, Failure>;

    /// The live reads (`ctx.connect()` connects on first use; a plan that
    /// needs no cluster never connects). A read the user may not make is a
    /// warning in `f`, not a failure. What the reads resolve (apiVersions
    /// from discovery, say) may refine the plan.
    async fn read(
        plan: &mut Self::Plan,
        ctx: &mut Ctx,
        f: &mut Findings,
    ) -> Result<Self::Live, Failure>;

    /// Checks against the live state; may record what it concluded in `live`.
    fn check(_plan: &Self::Plan, _live: &mut Self::Live, _f: &mut Findings) {}

    /// Renders, writes and summarises.
    async fn write(plan: Self::Plan, live: Self::Live, ctx: &mut Ctx) -> Result<Outcome, Failure>;
}

/// The one pipeline every module runs: typed arguments, plan, live reads,
/// live checks, write; findings stop it before anything is written.
pub async fn run<M: Module>(ctx: &mut Ctx, params: Params) -> Result<Outcome, Failure> {
    let values = Value::Object(params.values);
    ctx.connection = ConnectionArgs::deserialize(&values).map_err(|e| args_bug(ctx.module, e))?;
    let args = M::Args::deserialize(values).map_err(|e| args_bug(ctx.module, e))?;
    let mut f = Findings::new();
    let mut plan = match M::plan(args, ctx, &mut f).await? {
        Some(plan) if !f.has_errors() => plan,
        _ => return Err(Error::Invalid(f.0).into()),
    };
    let mut live = M::read(&mut plan, ctx, &mut f).await?;
    M::check(&plan, &mut live, &mut f);
    if f.has_errors() {
        return Err(Error::Invalid(f.0).into());
    }
    ctx.warnings.extend(f.warnings().map(ToString::to_string));
    M::write(plan, live, ctx).await
}

/// `run::<M>` as a `ModuleDef::run`.
pub fn entry<M: Module + 'static>(
    ctx: &mut Ctx,
    params: Params,
) -> LocalBoxFuture<'_, Result<Outcome, Failure>> {
    Box::pin(run::<M>(ctx, params))
}

/// The spec validated and coerced the parameters, so typed arguments that
/// do not fit them are a disagreement between the spec and `Args`.
fn args_bug(module: &ModuleDef, e: serde_json::Error) -> Failure {
    Error::Other(anyhow::anyhow!(
        "netpath internal error (please report it): the {} module's validated options do not fit its typed arguments: {e}",
        module.name
    ))
    .into()
}

/// The options of every module that writes through the apply engine, typed.
#[derive(Debug, Clone, Deserialize)]
pub struct ApplyArgs {
    pub field_manager: String,
    pub force_conflicts: bool,
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
    pub check_mode: bool,
    pub diff: bool,
    pub redactor: Redactor,
    pub warnings: Vec<String>,
    /// Set by `run` from the parameters.
    connection: ConnectionArgs,
    conn: Option<Connection>,
}

impl Ctx {
    pub fn new(
        module: &'static ModuleDef,
        check_mode: bool,
        diff: bool,
        redactor: Redactor,
    ) -> Self {
        Ctx {
            module,
            check_mode,
            diff,
            redactor,
            warnings: Vec::new(),
            connection: ConnectionArgs::default(),
            conn: None,
        }
    }

    /// The cluster connection, made on first use.
    pub async fn connect(&mut self) -> Result<Connection, Error> {
        if let Some(conn) = &self.conn {
            return Ok(conn.clone());
        }
        let conn = kube::connect::connect(&self.connection, &mut self.redactor).await?;
        self.warnings.extend(conn.warnings.iter().cloned());
        self.conn = Some(conn.clone());
        Ok(conn)
    }

    /// The engine's options for this task: its field manager, check and
    /// diff mode, the context's namespace; no waiting, no live objects kept.
    pub fn apply_options(&self, conn: &Connection, a: &ApplyArgs) -> apply::Options {
        apply::Options {
            field_manager: a.field_manager.clone(),
            force_conflicts: a.force_conflicts,
            check_mode: self.check_mode,
            diff: self.diff,
            wait: false,
            wait_timeout: std::time::Duration::from_secs(120),
            default_namespace: conn.default_namespace.clone(),
            keep_live: false,
        }
    }
}

/// Seconds of a validated `wait_timeout`, at least one.
pub fn seconds(n: i64) -> std::time::Duration {
    std::time::Duration::from_secs(n.max(1) as u64)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's coerced values, defaults filled in, fit the module's Args
    /// (and the connection's): a disagreement would fail every task.
    fn fits<M: Module>(def: &'static ModuleDef, input: Value) {
        let p = crate::protocol::spec::validate(
            def.name,
            def.options,
            &def.constraints,
            input.as_object().unwrap(),
            &|_| None,
        )
        .unwrap_or_else(|e| panic!("{}: {e:?}", def.name));
        let values = Value::Object(p.values.clone());
        ConnectionArgs::deserialize(&values).unwrap_or_else(|e| panic!("{}: {e}", def.name));
        if let Err(e) = p.typed::<M::Args>() {
            panic!("{}: {e}", def.name);
        }
    }

    #[test]
    fn every_spec_fits_its_args() {
        fits::<manifest::Manifest>(&manifest::MODULE, json!({"kind": "Namespace", "name": "a"}));
        fits::<manifest::Manifest>(
            &manifest::MODULE,
            json!({"definition": [{"kind": "Namespace"}], "wait_condition": {"type": "Ready"},
                   "server_side_apply": {"field_manager": "m"}, "state": "patched"}),
        );
        fits::<ippool::IpPool>(&ippool::MODULE, json!({"cidr": "10.0.0.0/16"}));
        fits::<ippool::IpPool>(
            &ippool::MODULE,
            json!({"cidr": "10.0.0.0/16", "vxlan_mode": "CrossSubnet", "block_size": 24,
                   "vpc_cidrs": ["10.1.0.0/16"], "node_cidrs": "10.2.0.0/16", "state": "absent"}),
        );
        fits::<cni::Cni>(&cni::MODULE, json!({"cni_plugin": "calico"}));
        fits::<cni::Cni>(
            &cni::MODULE,
            json!({"cni_plugin": "calico", "calico_backend": "bird", "ip_family": "ipv6",
                   "veth_mtu": "1400", "vxlan_enabled": false}),
        );
        let lbc = json!({"cluster_name": "c", "region": "eu-west-1", "vpc_id": "vpc-01234567"});
        fits::<alb_controller::AlbController>(&alb_controller::MODULE, lbc);
        fits::<node_provider_id::NodeProviderId>(&node_provider_id::MODULE, json!({}));
        fits::<alb_ingress::AlbIngress>(&alb_ingress::MODULE, json!({}));
        fits::<netcheck::Netcheck>(
            &netcheck::MODULE,
            json!({"kubeconfig": {"apiVersion": "v1"}, "impersonate_groups": "a,b"}),
        );
    }

    #[test]
    fn a_kubeconfig_of_another_shape_is_kept_for_connect_to_refuse() {
        let c: ConnectionArgs = serde_json::from_value(json!({"kubeconfig": [1]})).unwrap();
        assert!(matches!(
            c.kubeconfig,
            Some(kube::connect::KubeconfigArg::Other("list"))
        ));
    }
}
