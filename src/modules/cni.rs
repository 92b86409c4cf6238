//! `cni`: the CNI settings of the seed's `cni_plugin`, and the network model
//! as facts. For calico: two keys of `calico-config` and FelixConfiguration
//! `default`, MTUs derived from the host MTU. For aws-vpc-cni: facts only,
//! no cluster connection.

use super::{ApplyArgs, Ctx, Failure, Module, ModuleDef};
use crate::calico::cni::{self, Calico};
use crate::calico::mode::{Backend, PoolMode};
use crate::error::Error;
use crate::kube::read;
use crate::kube::{CONNECTION_OPTIONS, Desired, Resolver, apply};
use crate::net::model::CniPlugin;
use crate::protocol::{Constraints, Kind, OptSpec, Outcome};
use crate::validate::Findings;
use serde_json::{Map, Value, json};

const OPTIONS: &[OptSpec] = &[
    OptSpec::new("cni_plugin", Kind::Str)
        .required()
        .choices(CniPlugin::CHOICES)
        .doc("The seed's CNI choice: C(calico) (VXLAN overlay, pods outside the VPC, ALB instance targets) or C(aws-vpc-cni) (pods get VPC addresses; nothing of Calico is written)."),
    OptSpec::new("calico_backend", Kind::Str)
        .default("\"vxlan\"")
        .choices(Backend::NAMES)
        .doc("calico-config calico_backend: C(vxlan) (no BGP), C(bird) (BGP, TCP 179; with O(ipip_mode) for IP-in-IP) or C(none)."),
    OptSpec::new("host_mtu", Kind::Int)
        .default("9001")
        .doc("MTU of the nodes' primary interface: 9001 on most AWS instance types (jumbo frames), 1500 otherwise. The pod and tunnel MTUs are derived from it."),
    OptSpec::new("veth_mtu", Kind::Int).doc(
        "calico-config veth_mtu, the pod MTU. Default: O(host_mtu) minus the largest overhead in use (VXLAN 50 over IPv4 or 70 over IPv6, IPIP 20, WireGuard 60): 8951 on AWS with VXLAN. Larger than that is rejected; 0 lets Calico detect it.",
    ),
    OptSpec::new("vxlan_enabled", Kind::Bool).doc(
        "FelixConfiguration vxlanEnabled. Default: true with calico_backend vxlan, false otherwise.",
    ),
    OptSpec::new("vxlan_port", Kind::Int)
        .default("4789")
        .doc("FelixConfiguration vxlanPort: the UDP port nodes must allow from each other."),
    OptSpec::new("vxlan_vni", Kind::Int)
        .default("4096")
        .doc("FelixConfiguration vxlanVNI."),
    OptSpec::new("ipip_mode", Kind::Str)
        .choices(PoolMode::NAMES)
        .doc("The IPPool's spec.ipipMode (the ippool module's O(ipip_mode), the cni role's cni_ipip_mode): FelixConfiguration ipipEnabled is true unless C(Never). IP-in-IP needs calico_backend bird (its routes come from BGP). Default: C(Never)."),
    OptSpec::new("ipip_enabled", Kind::Bool)
        .doc("Deprecated: set O(ipip_mode), the pool's field, from which FelixConfiguration ipipEnabled follows. Still read (with a warning) when O(ipip_mode) is unset."),
    OptSpec::new("wireguard", Kind::Bool).default("false").doc(
        "Whether Calico's WireGuard encryption is on (set elsewhere: FelixConfiguration wireguardEnabled). Lowers the pod MTU by 60 (80 over IPv6) and adds UDP 51820 to the node rules.",
    ),
    OptSpec::new("aws_src_dst_check", Kind::Str)
        .default("\"DoNothing\"")
        .choices(cni::SRC_DST_CHECK)
        .doc("FelixConfiguration awsSrcDstCheck. C(Disable) is needed when pod packets go unencapsulated (bird without IPIP, or none); Felix then needs IAM ec2:ModifyNetworkInterfaceAttribute."),
    OptSpec::new("typha", Kind::Bool)
        .default("false")
        .doc("Calico runs Typha: nodes must allow TCP 5473 from each other (node rules in the facts)."),
    OptSpec::new("calico_namespace", Kind::Str)
        .default("\"kube-system\"")
        .doc("Namespace of the calico-config ConfigMap (kube-system in Calico's manifest install)."),
    OptSpec::new("pod_cidr", Kind::Str)
        .default("\"192.168.0.0/16\"")
        .doc("The pod network (the Calico pool's cidr, or the VPC range VPC CNI pods use), for the facts and the checks."),
    OptSpec::new("vpc_cidrs", Kind::List(&Kind::Str))
        .default("[]")
        .doc("The VPC's CIDRs: a Calico pod_cidr must not overlap them; an aws-vpc-cni pod_cidr must lie inside one."),
    OptSpec::new("ip_family", Kind::Str)
        .choices(&["ipv4", "ipv6"])
        .doc("Address family of pods and tunnels (VXLAN overhead 50 or 70; vxlanMTU or vxlanMTUV6). Default: the family of pod_cidr."),
    OptSpec::new("calico_manifest", Kind::Str).doc(
        "Calico's manifest install (e.g. calico-vxlan.yaml of a pinned release) as YAML text, applied in the same task: its calico-config gets this module's calico_backend and veth_mtu before anything is written, so the install and the settings have one owner and a second run changes nothing.",
    ),
    OptSpec::new("calico_manifest_src", Kind::Path)
        .doc("Like O(calico_manifest), from a file on the managed host."),
    OptSpec::new("wait", Kind::Bool)
        .default("false")
        .doc("With a Calico manifest: wait for calico-node and calico-kube-controllers to become available."),
    OptSpec::new("wait_timeout", Kind::Int).default("300").doc("Seconds to wait, per workload."),
    OptSpec::new("field_manager", Kind::Str)
        .default("\"netpath-cni\"")
        .doc("Server-side apply field manager. Its own by default, so applying the two calico-config keys never removes the keys the Calico manifest (applied as C(netpath)) owns."),
    OptSpec::new("force_conflicts", Kind::Bool).default("false").doc(
        "Take over fields another field manager owns, e.g. veth_mtu as set by the Calico manifest. Without it such a conflict fails and names the other manager.",
    ),
];

/// ipip_enabled was Felix's field; the pool's ipipMode is what users set.
pub const DEPRECATED_IPIP_ENABLED: &str = "ipip_enabled is deprecated and will be removed: set \
     ipip_mode to the IPPool's ipipMode (Always, CrossSubnet or Never) instead; FelixConfiguration \
     ipipEnabled follows it.";

pub const MODULE: ModuleDef = ModuleDef {
    name: "cni",
    short_description: "Apply the CNI settings of cni_plugin and return the network model as facts",
    description: &[
        "For C(cni_plugin=calico): applies the calico-config ConfigMap keys calico_backend and veth_mtu (only those two; the manifest's other keys are left alone) and FelixConfiguration C(default) (vxlanEnabled, vxlanPort, vxlanVNI, vxlanMTU, ipipEnabled, awsSrcDstCheck), with MTUs computed from the host MTU.",
        "When calico-config does not exist (an operator install, or Calico not installed yet) only the FelixConfiguration is applied, with a warning.",
        "For C(cni_plugin=aws-vpc-cni): writes nothing and needs no cluster connection.",
        "Either way returns C(ansible_facts.netpath_network): overlay or VPC-routable pods, the pod CIDR, the allowed and recommended ALB target types, and the node-to-node security-group rules the encapsulation needs.",
        "Every rule is checked before anything is written; a second run with the same settings reports C(changed=false).",
    ],
    options: &[OPTIONS, CONNECTION_OPTIONS],
    constraints: Constraints {
        mutually_exclusive: &[
            &["calico_manifest", "calico_manifest_src"],
            &["ipip_mode", "ipip_enabled"],
        ],
        required_together: &[],
        required_one_of: &[],
        required_if: &[],
    },
    examples: r#"- name: Calico VXLAN on AWS jumbo frames (pod MTU 8951)
  netpath.calico_alb.cni:
    cni_plugin: calico
    calico_backend: vxlan
    host_mtu: 9001
    pod_cidr: 192.168.0.0/16
    vpc_cidrs: [10.0.0.0/16]

- name: EKS with the VPC CNI (facts only)
  netpath.calico_alb.cni:
    cni_plugin: aws-vpc-cni
    pod_cidr: 10.0.0.0/16
    vpc_cidrs: [10.0.0.0/16]

- name: Use the facts
  ansible.builtin.debug:
    msg: "ALB target type {{ ansible_facts.netpath_network.alb_target_type_recommended }}"
"#,
    returns: r#"ansible_facts:
  description: C(netpath_network), the network model.
  returned: always
  type: dict
  contains:
    netpath_network:
      description: cni_plugin, overlay, pods_vpc_routable, pod_cidr(s), vpc_cidrs, encapsulation, alb_target_types_allowed, alb_target_type_recommended, node_security_group_rules, and for calico the backend and MTUs (host, pod, vxlan).
      type: dict
      sample:
        cni_plugin: calico
        overlay: true
        pods_vpc_routable: false
        pod_cidr: 192.168.0.0/16
        encapsulation: vxlan
        alb_target_types_allowed: [instance]
        alb_target_type_recommended: instance
        node_security_group_rules:
          - {protocol: udp, from_port: 4789, to_port: 4789, source: worker_security_group, description: Calico VXLAN between nodes}
        mtu: {host: 9001, pod: 8951, vxlan: 8951}
results:
  description: One entry per object (calico-config, FelixConfiguration default) with its action; empty for aws-vpc-cni.
  returned: always
  type: list
  elements: dict
"#,
    run: super::entry::<Cni>,
};

#[derive(serde::Deserialize)]
pub struct Args {
    #[serde(flatten)]
    cni: cni::Args,
    calico_manifest: Option<String>,
    calico_manifest_src: Option<String>,
    wait: bool,
    wait_timeout: i64,
    #[serde(flatten)]
    apply: ApplyArgs,
}

pub struct Cni;

pub struct Planned {
    plan: cni::Plan,
    /// Calico's manifest, with this module's calico-config keys.
    install: Option<Vec<Value>>,
    args: Args,
}

/// Without a manifest: whether calico-config exists (its keys are written
/// only then).
pub struct Live {
    config_map: bool,
}

impl Module for Cni {
    type Args = Args;
    type Plan = Planned;
    type Live = Live;

    async fn plan(args: Args, ctx: &mut Ctx, f: &mut Findings) -> Result<Option<Planned>, Failure> {
        if args.cni.ipip_enabled.is_some() {
            ctx.warnings.push(DEPRECATED_IPIP_ENABLED.into());
        }
        let (plan, found) = cni::plan(&args.cni);
        f.extend(found.0);
        let install = install_documents(&args, plan.as_ref(), f)?;
        Ok(plan.map(|plan| Planned {
            plan,
            install,
            args,
        }))
    }

    async fn read(p: &mut Planned, ctx: &mut Ctx, f: &mut Findings) -> Result<Live, Failure> {
        // aws-vpc-cni writes nothing; a manifest brings calico-config along.
        let Some(calico) = p.plan.calico.as_ref().filter(|_| p.install.is_none()) else {
            return Ok(Live { config_map: false });
        };
        let client = ctx.connect().await?.client;
        let served =
            read::served(&client, "crd.projectcalico.org/v1", "felixconfigurations").await?;
        if !served && ctx.check_mode {
            // Check mode in a play that installs Calico first: report the create.
            f.warning(
                "cni_plugin",
                "the cluster does not serve crd.projectcalico.org/v1 FelixConfiguration yet.",
                "install Calico before the real run.",
            );
        } else if !served {
            f.error(
                "cni_plugin",
                "the cluster does not serve crd.projectcalico.org/v1 FelixConfiguration: Calico is \
                 not installed, so its settings have nowhere to go.",
                "install Calico first (the cni role with cni_calico_install, or the manifest module).",
            );
        }
        let cm_url = format!(
            "/api/v1/namespaces/{}/configmaps/{}",
            calico.namespace,
            cni::CONFIG_MAP
        );
        let cm = read::get(&client, &cm_url).await?;
        let manager = &p.args.apply.field_manager;
        match &cm {
            None => f.warning(
                "calico_namespace",
                format!(
                    "{}/{} does not exist (an operator install, or Calico not installed yet), so \
                     calico_backend and veth_mtu were not written; with the Tigera operator the pod \
                     MTU is Installation spec.calicoNetwork.mtu ({}).",
                    calico.namespace,
                    cni::CONFIG_MAP,
                    calico.veth_mtu
                ),
                "install Calico's manifest first, or set the MTU in the operator's Installation.",
            ),
            Some(cm) => {
                let foreign = cni::foreign_keys_owned(cm, manager);
                if !foreign.is_empty() {
                    f.error(
                        "field_manager",
                        format!(
                            "field manager {manager} also owns the calico-config keys {} (it \
                             applied the whole ConfigMap, e.g. Calico's manifest through the \
                             manifest module). Applying only calico_backend and veth_mtu as \
                             {manager} would delete them, and calico-node would lose its CNI \
                             configuration.",
                            foreign.join(", ")
                        ),
                        "use a field manager of this module's own (the default, netpath-cni).",
                    );
                }
            }
        }
        Ok(Live {
            config_map: cm.is_some(),
        })
    }

    async fn write(p: Planned, live: Live, ctx: &mut Ctx) -> Result<Outcome, Failure> {
        let mut extra = Map::new();
        extra.insert(
            "ansible_facts".into(),
            json!({"netpath_network": p.plan.facts()}),
        );
        let Some(calico) = &p.plan.calico else {
            extra.insert("results".into(), json!([]));
            return Ok(Outcome {
                changed: false,
                msg: "aws-vpc-cni: pods use VPC addresses; nothing of Calico is written".into(),
                diff: Vec::new(),
                warnings: Vec::new(),
                extra,
            });
        };
        let conn = ctx.connect().await?;
        let opts = apply::Options {
            wait: p.args.wait,
            wait_timeout: super::seconds(p.args.wait_timeout),
            ..ctx.apply_options(&conn, &p.args.apply)
        };
        let mut desired: Vec<Desired> = Vec::new();
        let installed = p.install.is_some();
        if let Some(docs) = p.install {
            // The manifest's CRDs, workloads and calico-config, plus Felix, in one apply.
            desired.extend(docs.into_iter().map(Desired::present));
        } else if live.config_map {
            desired.push(Desired::present(calico.config_map()));
        }
        desired.push(Desired::present(calico.felix_configuration()));
        let report = apply::apply(&conn.client, &mut Resolver::default(), desired, &opts).await;
        let mut out = super::finish(report, extra)?;
        out.msg = summary(calico, installed, &out.msg);
        Ok(out)
    }
}

fn summary(calico: &Calico, installed: bool, msg: &str) -> String {
    if installed {
        format!(
            "calico {} installed from its manifest (pod MTU {}): {msg}",
            calico.backend, calico.veth_mtu
        )
    } else {
        format!(
            "calico {} (pod MTU {}): {msg}",
            calico.backend, calico.veth_mtu
        )
    }
}

/// The Calico manifest to install, with this module's calico-config keys in
/// its ConfigMap; `None` when no manifest is given.
fn install_documents(
    args: &Args,
    plan: Option<&cni::Plan>,
    f: &mut Findings,
) -> Result<Option<Vec<Value>>, Failure> {
    let (field, text) = match (&args.calico_manifest, &args.calico_manifest_src) {
        (Some(t), _) => ("calico_manifest", t.clone()),
        (None, Some(path)) => (
            "calico_manifest_src",
            std::fs::read_to_string(path)
                .map_err(|e| Error::Input(format!("calico_manifest_src {path}: {e}")))?,
        ),
        (None, None) => return Ok(None),
    };
    let mut docs = super::manifest::parse_documents(field, &text)?;
    let Some(calico) = plan.and_then(|p| p.calico.as_ref()) else {
        if plan.is_some() {
            f.error(
                field,
                "a Calico manifest is given but cni_plugin is aws-vpc-cni: installing Calico next to the VPC CNI would give pods two networks.",
                "set cni_plugin: calico, or drop the manifest.",
            );
        }
        return Ok(None);
    };
    let wanted = calico.config_map();
    let config_map = docs
        .iter_mut()
        .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == cni::CONFIG_MAP);
    match config_map {
        Some(cm) => {
            for (k, v) in wanted["data"].as_object().into_iter().flatten() {
                cm["data"][k] = v.clone();
            }
        }
        None => f.error(
            field,
            format!(
                "the manifest has no {} ConfigMap, so it is not Calico's manifest install (the Tigera operator keeps its settings in the Installation) and calico_backend and veth_mtu would go nowhere.",
                cni::CONFIG_MAP
            ),
            "pass Calico's calico.yaml / calico-vxlan.yaml here, or install the operator with the manifest module.",
        ),
    }
    Ok(Some(docs))
}
