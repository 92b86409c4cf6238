//! `ippool`: one Calico IPPool, validated against Calico's rules, the VPC,
//! the other pools and the cluster's pod network before anything is written;
//! cidr and blockSize changes only through an explicit migration.

use super::{APPLY_OPTIONS, ApplyArgs, Ctx, Failure, Module, ModuleDef};
use crate::calico::ippool::{self, Decision, Live, Plan};
use crate::calico::mode::PoolMode;
use crate::error::Error;
use crate::kube::read;
use crate::kube::{CONNECTION_OPTIONS, Report, Resolver, apply};
use crate::protocol::{Constraints, Kind, OptSpec, Outcome, RequiredIf};
use crate::validate::Findings;
use serde_json::{Map, Value, json};

const OPTIONS: &[OptSpec] = &[
    OptSpec::new("name", Kind::Str)
        .default("\"default-ipv4-ippool\"")
        .doc("metadata.name of the pool (Calico's manifest install names its pool default-ipv4-ippool)."),
    OptSpec::new("state", Kind::Str)
        .default("\"present\"")
        .choices(&["present", "absent"])
        .doc("C(present) creates or updates the pool; C(absent) deletes it (disable it and recreate its pods first)."),
    OptSpec::new("cidr", Kind::Str).doc(
        "spec.cidr: the pool's range, strictly masked (no host bits). Required with C(state=present). Immutable in Calico: a different cidr on an existing pool fails unless O(migrate=true).",
    ),
    OptSpec::new("block_size", Kind::Int).doc(
        "spec.blockSize: prefix length of the per-node allocation blocks; 20-32 for IPv4 (default 26), 116-128 for IPv6 (default 122). Immutable like cidr.",
    ),
    OptSpec::new("vxlan_mode", Kind::Str)
        .choices(PoolMode::NAMES)
        .doc("spec.vxlanMode. Default C(Always) (the seed's VXLAN overlay), or C(Never) when O(ipip_mode) enables IP-in-IP or O(allowed_uses) has C(LoadBalancer). Always written explicitly: an unset mode turned VXLAN on unexpectedly in some Calico releases."),
    OptSpec::new("ipip_mode", Kind::Str)
        .default("\"Never\"")
        .choices(PoolMode::NAMES)
        .doc("spec.ipipMode. Not together with VXLAN, and never on IPv6 pools."),
    OptSpec::new("nat_outgoing", Kind::Bool)
        .default("true")
        .doc("spec.natOutgoing: SNAT pod traffic leaving the pool to the node's address; needed for overlay pods to reach the internet and VPC services."),
    OptSpec::new("node_selector", Kind::Str)
        .default("\"all()\"")
        .doc("spec.nodeSelector in Calico selector syntax, e.g. C(all()) or C(kubernetes.io/os == 'linux'). Only C(all()) on C(LoadBalancer) pools."),
    OptSpec::new("namespace_selector", Kind::Str)
        .doc("spec.namespaceSelector in Calico selector syntax, e.g. C(team == 'web'): only pods of matching namespaces get addresses from the pool. Not on pools with C(Tunnel) in O(allowed_uses) (tunnel addresses belong to nodes). Unset by default; removing it from the task clears it."),
    OptSpec::new("disabled", Kind::Bool)
        .default("false")
        .doc("spec.disabled: no new addresses are allocated from a disabled pool; existing ones stay."),
    OptSpec::new("disable_bgp_export", Kind::Bool)
        .default("false")
        .doc("spec.disableBGPExport: do not advertise the pool's routes over BGP. Not on C(LoadBalancer) pools."),
    OptSpec::new("allowed_uses", Kind::List(&Kind::Str))
        .default("[\"Workload\", \"Tunnel\"]")
        .choices(ippool::USES)
        .doc("spec.allowedUses. C(LoadBalancer) only alone, and only without encapsulation."),
    OptSpec::new("assignment_mode", Kind::Str)
        .default("\"Automatic\"")
        .choices(ippool::AssignmentMode::NAMES)
        .doc("spec.assignmentMode: C(Manual) pools give addresses only to pods that ask for them."),
    OptSpec::new("migrate", Kind::Bool).default("false").doc(
        "When the live pool differs in cidr or block_size, do Calico's migration instead of failing: create a new pool (O(migrate_name)) with the requested settings, then set disabled on the old one. The result's C(migration) lists what is left to do (recreate pods, delete the old pool).",
    ),
    OptSpec::new("migrate_name", Kind::Str).doc(
        "Name of the pool a migration creates. Default: O(name) and the new cidr, e.g. C(default-ipv4-ippool-10-244-0-0-16).",
    ),
    OptSpec::new("vpc_cidrs", Kind::List(&Kind::Str))
        .doc("VPC CIDRs (and peered, VPN or on-premises ranges) the pool must not overlap."),
    OptSpec::new("service_cidr", Kind::Str)
        .doc("The Service ClusterIP range (kubeadm networking.serviceSubnet) the pool must not overlap."),
    OptSpec::new("node_cidrs", Kind::List(&Kind::Str))
        .doc("The nodes' subnets the pool must not overlap."),
    OptSpec::new("pod_subnet", Kind::Str).doc(
        "The platform's pod network (comma-separated for dual stack) the pool must lie in. Default: networking.podSubnet of the kube-system/kubeadm-config ConfigMap when it exists; no check otherwise.",
    ),
];

pub const MODULE: ModuleDef = ModuleDef {
    name: "ippool",
    short_description: "Validate and apply a Calico IPPool, with a safe migration for cidr and blockSize",
    description: &[
        "Applies one Calico IPPool (crd.projectcalico.org/v1) with server-side apply, written as Calico itself stores it: every default explicit (blockSize, vxlanMode, ipipMode, nodeSelector, allowedUses, assignmentMode).",
        "Before anything is written it checks Calico's own pool rules (strict CIDR, block size bounds, VXLAN and IPIP not both on, no IPIP on IPv6, no link-local overlap, node and namespace selector syntax, LoadBalancer pools exported over BGP from all() nodes, no namespaceSelector on Tunnel pools, the block-size minimum only for enabled pools) and the ones Calico leaves to you: no overlap with other live pools, the VPC, node subnets or the Service range, and the pool inside the cluster's pod network (kubeadm's podSubnet).",
        "A live pool that already means the same (Calico's defaults counted) is not written: a second run reports C(changed=false).",
        "cidr and blockSize are immutable in Calico. A change fails and explains why, unless O(migrate=true): then the new pool is created under a new name and the old one disabled, as Calico's migration guide does.",
        "Check mode writes nothing and reports the same actions, diff and migration plan.",
    ],
    options: &[OPTIONS, APPLY_OPTIONS, CONNECTION_OPTIONS],
    constraints: Constraints {
        mutually_exclusive: &[],
        required_together: &[],
        required_one_of: &[],
        required_if: &[RequiredIf {
            key: "state",
            value: "present",
            requirements: &["cidr"],
            any: false,
        }],
    },
    examples: r#"- name: The seed's pool, VXLAN overlay outside the VPC
  netpath.calico_alb.ippool:
    name: default-ipv4-ippool
    cidr: 192.168.0.0/16
    vxlan_mode: Always
    ipip_mode: Never
    nat_outgoing: true
    vpc_cidrs: [10.0.0.0/16]
    service_cidr: 10.96.0.0/12

- name: Move pods to another range (Calico's migration)
  netpath.calico_alb.ippool:
    name: default-ipv4-ippool
    cidr: 10.244.0.0/16
    migrate: true
  register: pool

- name: Show what is left to do
  ansible.builtin.debug:
    var: pool.migration.remaining

- name: Later, when no pod uses the old range any more
  netpath.calico_alb.ippool:
    name: default-ipv4-ippool
    state: absent
"#,
    returns: r#"ippool:
  description: The pool as the server holds it after the run (as it would be written, in check mode). With a migration, the new pool.
  returned: when state is present
  type: dict
  sample:
    apiVersion: crd.projectcalico.org/v1
    kind: IPPool
    metadata: {name: default-ipv4-ippool}
    spec: {cidr: 192.168.0.0/16, blockSize: 26, vxlanMode: Always, ipipMode: Never, natOutgoing: true, nodeSelector: all(), disabled: false, disableBGPExport: false, allowedUses: [Workload, Tunnel], assignmentMode: Automatic}
results:
  description: One entry per object written or checked, with its action (created, updated, unchanged, deleted).
  returned: always
  type: list
  elements: dict
migration:
  description: With migrate and a cidr or block_size change, the migration (from, to, steps done or planned, and what remains for the operator).
  returned: when a migration runs
  type: dict
  sample:
    from: {name: default-ipv4-ippool, cidr: 192.168.0.0/16, block_size: 26}
    to: {name: default-ipv4-ippool-10-244-0-0-16, cidr: 10.244.0.0/16, block_size: 26}
    steps:
      - {step: "create IPPool default-ipv4-ippool-10-244-0-0-16 (10.244.0.0/16, blockSize 26)", status: done}
      - {step: "disable IPPool default-ipv4-ippool (disabled: true): no new addresses from 192.168.0.0/16", status: done}
    remaining:
      - Recreate every pod that still has an address in 192.168.0.0/16 ...
"#,
    run: super::entry::<IpPool>,
};

#[derive(serde::Deserialize)]
pub struct Args {
    #[serde(flatten)]
    pool: ippool::Args,
    #[serde(flatten)]
    apply: ApplyArgs,
}

pub struct IpPool;

/// The plan, and how the pool is applied.
pub struct Planned {
    plan: Plan,
    apply: ApplyArgs,
}

/// The live pools and kubeadm's pod network, then what `decide` made of them.
pub struct Found {
    live: Live,
    decision: Option<Decision>,
}

impl Module for IpPool {
    type Args = Args;
    type Plan = Planned;
    type Live = Found;

    async fn plan(args: Args, _: &mut Ctx, f: &mut Findings) -> Result<Option<Planned>, Failure> {
        let (plan, found) = ippool::plan(&args.pool);
        f.extend(found.0);
        Ok(Some(Planned {
            plan,
            apply: args.apply,
        }))
    }

    async fn read(p: &mut Planned, ctx: &mut Ctx, f: &mut Findings) -> Result<Found, Failure> {
        let client = ctx.connect().await?.client;
        let pools = match read::list(&client, read::IPPOOLS).await? {
            Some(pools) => pools,
            // Check mode in a play that installs Calico first: report the create.
            None if ctx.check_mode => {
                f.warning(
                    "name",
                    "the cluster does not serve crd.projectcalico.org/v1 IPPool yet, so the pool \
                     was checked against no other pool.",
                    "install Calico (its CRDs) before the real run.",
                );
                Vec::new()
            }
            None => {
                f.error(
                    "name",
                    "the cluster does not serve crd.projectcalico.org/v1 IPPool: Calico's CRDs are \
                     not installed, so there is nowhere to put the pool.",
                    "install Calico first (the cni role, or the manifest module with Calico's manifest).",
                );
                return Err(Error::Invalid(std::mem::take(&mut f.0)).into());
            }
        };
        let kubeadm_config = if p.plan.present && p.plan.pod_subnet.is_none() {
            match read::get(&client, read::KUBEADM_CONFIG).await {
                Ok(cm) => cm,
                Err(e) if read::status(&e) == Some(403) => {
                    f.warning(
                        "pod_subnet",
                        format!("cannot read kube-system/kubeadm-config ({e}), so the pool was not checked against the cluster's pod network."),
                        "set pod_subnet, or grant get on that ConfigMap.",
                    );
                    None
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            None
        };
        Ok(Found {
            live: Live {
                pools,
                kubeadm_config,
            },
            decision: None,
        })
    }

    fn check(p: &Planned, found: &mut Found, f: &mut Findings) {
        let (decision, more) = ippool::decide(&p.plan, &found.live);
        f.extend(more.0);
        found.decision = decision;
    }

    async fn write(p: Planned, found: Found, ctx: &mut Ctx) -> Result<Outcome, Failure> {
        let Planned { plan, apply } = p;
        // `check` left no error, so it decided.
        let Some(decision) = found.decision else {
            return Err(Error::Invalid(Vec::new()).into());
        };
        let conn = ctx.connect().await?;
        let client = &conn.client;
        write(ctx, &conn, client, &plan, decision, &apply).await
    }
}

async fn write(
    ctx: &mut Ctx,
    conn: &crate::kube::Connection,
    client: &kube::Client,
    plan: &Plan,
    decision: Decision,
    apply_args: &ApplyArgs,
) -> Result<Outcome, Failure> {
    // Steps in order; a failed step stops the rest (the old pool is never
    // disabled unless the new one exists).
    let opts = apply::Options {
        // The result reports the pool as the server holds it.
        keep_live: true,
        ..ctx.apply_options(conn, apply_args)
    };
    let mut resolver = Resolver::default();
    let mut report = Report::default();
    let mut sent = Vec::new();
    for step in decision.steps {
        sent.extend(step.iter().map(|d| d.object.clone()));
        let r = apply::apply(client, &mut resolver, step, &opts).await;
        report.results.extend(r.results);
        if r.error.is_some() {
            report.error = r.error;
            break;
        }
    }

    let mut extra = Map::new();
    if plan.present {
        let pool = report
            .results
            .iter()
            .find(|r| r.name == decision.target)
            .and_then(|r| r.live.clone())
            .or_else(|| {
                sent.iter()
                    .find(|o| o["metadata"]["name"] == decision.target.as_str())
                    .cloned()
            })
            .unwrap_or(Value::Null);
        extra.insert("ippool".into(), strip(pool));
    }
    if let Some(m) = &decision.migration {
        extra.insert("migration".into(), m.report(ctx.check_mode));
    }
    let mut out = super::finish(report, extra)?;
    if let Some(m) = &decision.migration {
        out.msg = format!(
            "migration {} ({}) -> {} ({}): {}",
            m.old_name, m.old_cidr, m.new_name, m.new_cidr, out.msg
        );
    }
    Ok(out)
}

/// The pool without server bookkeeping (managedFields), as users read it.
fn strip(mut v: Value) -> Value {
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    if v.is_object() && v.get("apiVersion").is_none() {
        v["apiVersion"] = json!(ippool::API_VERSION);
        v["kind"] = json!(ippool::KIND);
    }
    v
}
