//! CNI settings for the seed's `cni_plugin`: for Calico the `calico-config`
//! keys of a manifest install and FelixConfiguration `default`, with the MTU
//! derived from the host MTU; for the AWS VPC CNI nothing of Calico. Either
//! way the network model the ALB side needs (target types, node rules).
//!
//! Pure functions only; the module reads live state and writes.

use super::mode::{Backend, PoolMode};
use crate::net::cidr::{self, Family};
use crate::net::model::{CniPlugin, NetworkModel, Peer, SgRule};
use crate::net::mtu::{self, Encapsulation};
use crate::validate::Findings;
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub const CONFIG_MAP: &str = "calico-config";
pub const FELIX_API_VERSION: &str = "crd.projectcalico.org/v1";
pub const FELIX_NAME: &str = "default";
pub const BACKENDS: &[&str] = Backend::NAMES;
pub const SRC_DST_CHECK: &[&str] = SrcDstCheck::NAMES;
/// The calico-config keys this module owns; the rest belong to the manifest.
pub const CONFIG_KEYS: &[&str] = &["calico_backend", "veth_mtu"];
pub const WIREGUARD_PORT: i32 = 51820;

/// FelixConfiguration `awsSrcDstCheck`: what Felix does to the EC2
/// instance's source/destination check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SrcDstCheck {
    DoNothing,
    Enable,
    Disable,
}

impl SrcDstCheck {
    /// The spec's choices, in Calico's spelling.
    pub const NAMES: &'static [&'static str] = &["DoNothing", "Enable", "Disable"];

    pub fn as_str(self) -> &'static str {
        match self {
            SrcDstCheck::DoNothing => "DoNothing",
            SrcDstCheck::Enable => "Enable",
            SrcDstCheck::Disable => "Disable",
        }
    }
}

/// Calico settings to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Calico {
    pub namespace: String,
    pub backend: Backend,
    pub family: Family,
    pub vxlan_enabled: bool,
    pub ipip_enabled: bool,
    pub wireguard: bool,
    pub vxlan_port: u16,
    pub vxlan_vni: u32,
    pub host_mtu: u16,
    /// Pod (veth) MTU; 0 lets Calico detect it.
    pub veth_mtu: u16,
    /// MTU of the VXLAN device; 0 lets Felix detect it.
    pub vxlan_mtu: u16,
    pub aws_src_dst_check: SrcDstCheck,
}

impl Calico {
    /// The two calico-config keys; server-side apply leaves the others alone.
    pub fn config_map(&self) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIG_MAP, "namespace": self.namespace},
            "data": {"calico_backend": self.backend, "veth_mtu": self.veth_mtu.to_string()},
        })
    }

    pub fn felix_configuration(&self) -> Value {
        let mut spec = Map::new();
        spec.insert("vxlanEnabled".into(), json!(self.vxlan_enabled));
        spec.insert("vxlanPort".into(), json!(self.vxlan_port));
        spec.insert("vxlanVNI".into(), json!(self.vxlan_vni));
        let mtu_key = match self.family {
            Family::V4 => "vxlanMTU",
            Family::V6 => "vxlanMTUV6",
        };
        spec.insert(mtu_key.into(), json!(self.vxlan_mtu));
        spec.insert("ipipEnabled".into(), json!(self.ipip_enabled));
        spec.insert(
            "awsSrcDstCheck".into(),
            json!(self.aws_src_dst_check.as_str()),
        );
        json!({
            "apiVersion": FELIX_API_VERSION,
            "kind": "FelixConfiguration",
            "metadata": {"name": FELIX_NAME},
            "spec": spec,
        })
    }
}

/// The Calico side of the `cni` module's options (modules/cni.rs), typed.
#[derive(Debug, Clone, Deserialize)]
pub struct Args {
    /// Checked by `plan`, which names the choices when it is unknown.
    pub cni_plugin: String,
    pub calico_backend: Backend,
    pub host_mtu: i64,
    pub veth_mtu: Option<i64>,
    /// None: on with the vxlan backend.
    pub vxlan_enabled: Option<bool>,
    pub vxlan_port: i64,
    pub vxlan_vni: i64,
    /// The pool's ipipMode, from which Felix's ipipEnabled follows.
    pub ipip_mode: Option<PoolMode>,
    /// Deprecated: Felix's ipipEnabled itself, read when ipip_mode is unset.
    pub ipip_enabled: Option<bool>,
    pub wireguard: bool,
    pub aws_src_dst_check: SrcDstCheck,
    pub typha: bool,
    pub calico_namespace: String,
    pub pod_cidr: Option<String>,
    pub vpc_cidrs: Vec<String>,
    pub ip_family: Option<IpFamily>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    Ipv4,
    Ipv6,
}

impl IpFamily {
    fn as_str(self) -> &'static str {
        match self {
            IpFamily::Ipv4 => "ipv4",
            IpFamily::Ipv6 => "ipv6",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub model: NetworkModel,
    pub pod_cidr: Option<IpNet>,
    pub wireguard: bool,
    /// None for aws-vpc-cni: nothing of Calico is written.
    pub calico: Option<Calico>,
}

impl Plan {
    /// Objects to apply, in order.
    pub fn objects(&self) -> Vec<Value> {
        self.calico
            .as_ref()
            .map(|c| vec![c.config_map(), c.felix_configuration()])
            .unwrap_or_default()
    }

    /// `ansible_facts.netpath_network`: the network model, plus the MTUs.
    pub fn facts(&self) -> Value {
        let mut facts = self.model.facts();
        if self.wireguard && self.model.encapsulation != Encapsulation::Wireguard {
            // The model names one encapsulation; WireGuard runs on top of it.
            let rule = SgRule {
                protocol: "udp".into(),
                from_port: WIREGUARD_PORT,
                to_port: WIREGUARD_PORT,
                source: Peer::WorkerSecurityGroup,
                description: "Calico WireGuard between nodes".into(),
            };
            if let Some(a) = facts["node_security_group_rules"].as_array_mut() {
                a.push(json!(rule));
            }
        }
        facts["pod_cidr"] = json!(self.pod_cidr.map(|c| c.to_string()));
        facts["wireguard"] = json!(self.wireguard);
        facts["bgp"] = json!(self.model.bgp);
        facts["typha"] = json!(self.model.typha);
        if let Some(c) = &self.calico {
            facts["vxlan_port"] = json!(c.vxlan_port);
            facts["calico_backend"] = json!(c.backend);
            facts["ip_family"] = json!(match c.family {
                Family::V4 => "ipv4",
                Family::V6 => "ipv6",
            });
            facts["mtu"] = json!({"host": c.host_mtu, "pod": c.veth_mtu, "vxlan": c.vxlan_mtu});
        }
        facts
    }
}

/// Largest per-packet overhead of the enabled encapsulations, and which one.
fn worst(encaps: &[Encapsulation], fam: Family) -> Encapsulation {
    encaps
        .iter()
        .copied()
        .max_by_key(|e| mtu::overhead(*e, fam))
        .unwrap_or(Encapsulation::None)
}

/// Validates the options and builds the plan; every rule that needs no
/// cluster runs here, and all findings come back together.
pub fn plan(p: &Args) -> (Option<Plan>, Findings) {
    let mut f = Findings::new();
    let plugin = match CniPlugin::parse(&p.cni_plugin) {
        Some(c) => c,
        None => {
            f.error(
                "cni_plugin",
                "cni_plugin is missing or unknown, so the pod network model is unknown.",
                "set cni_plugin: calico or cni_plugin: aws-vpc-cni.",
            );
            return (None, f);
        }
    };
    let pod_cidr = p
        .pod_cidr
        .as_deref()
        .and_then(|s| cidr::parse_cidr("pod_cidr", s).map_err(|x| f.push(x)).ok());
    let (vpc_cidrs, bad) = cidr::parse_list("vpc_cidrs", &p.vpc_cidrs);
    bad.into_iter().for_each(|x| f.push(x));
    let vpc_cidrs: Vec<IpNet> = vpc_cidrs.into_iter().map(|(_, n)| n).collect();
    let (typha, wireguard) = (p.typha, p.wireguard);

    if plugin == CniPlugin::AwsVpcCni {
        if let Some(pod) = pod_cidr {
            if vpc_cidrs.is_empty() {
                f.warning(
                    "vpc_cidrs",
                    "vpc_cidrs is not given, so it is not checked that pod_cidr lies in the VPC; \
                     the VPC CNI hands pods VPC addresses, and ALB ip targets rely on it.",
                    "set vpc_cidrs to the VPC's CIDRs (including secondary ones used for pods).",
                );
            } else if !vpc_cidrs.iter().any(|v| cidr::contains(*v, pod)) {
                f.error(
                    "pod_cidr",
                    format!(
                        "pod_cidr {pod} is not inside any VPC CIDR ({}): with aws-vpc-cni pods \
                         get addresses from the VPC subnets, so this range is not where pods \
                         live and the ALB ip targets and rules derived from it would be wrong.",
                        vpc_cidrs
                            .iter()
                            .map(|c| c.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "set pod_cidr to the VPC range the pods' subnets are in (custom networking: \
                     the secondary CIDR of the ENIConfig subnets), or use cni_plugin: calico.",
                );
            }
        }
        let model = NetworkModel {
            cni_plugin: plugin,
            pod_cidrs: pod_cidr.into_iter().collect(),
            vpc_cidrs,
            encapsulation: Encapsulation::None,
            vxlan_port: 0,
            bgp: false,
            typha: false,
        };
        let plan = Plan {
            model,
            pod_cidr,
            wireguard: false,
            calico: None,
        };
        return (Some(plan), f);
    }

    // Calico.
    if let Some(pod) = pod_cidr {
        let labelled: Vec<(String, IpNet)> = vpc_cidrs
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("vpc_cidrs[{i}]"), *n))
            .collect();
        let refs: Vec<(&str, IpNet)> = labelled.iter().map(|(l, n)| (l.as_str(), *n)).collect();
        cidr::check_not_in_vpc("pod_cidr", pod, &refs, &mut f);
        cidr::check_not_link_local("pod_cidr", pod, &mut f);
    }
    let family = match (p.ip_family, pod_cidr.map(cidr::family)) {
        (Some(IpFamily::Ipv6), Some(Family::V4)) | (Some(IpFamily::Ipv4), Some(Family::V6)) => {
            f.error(
                "ip_family",
                format!(
                    "ip_family {} does not match pod_cidr {}: the tunnel MTU and the Felix \
                     field (vxlanMTU or vxlanMTUV6) would be for the wrong family.",
                    p.ip_family.map_or("", IpFamily::as_str),
                    pod_cidr.map(|c| c.to_string()).unwrap_or_default()
                ),
                "omit ip_family (it follows pod_cidr), or make them agree.",
            );
            Family::V4
        }
        (Some(IpFamily::Ipv6), _) => Family::V6,
        (Some(IpFamily::Ipv4), _) => Family::V4,
        (None, fam) => fam.unwrap_or(Family::V4),
    };

    let backend = p.calico_backend;
    // IP-in-IP follows the pool's ipipMode (what the seed sets); Felix's own
    // ipip_enabled is the deprecated way to say it.
    let (ipip_field, ipip_enabled) = match p.ipip_mode {
        Some(m) => ("ipip_mode", m.is_on()),
        None => ("ipip_enabled", p.ipip_enabled.unwrap_or(false)),
    };
    let (ipip_on, ipip_off) = if ipip_field == "ipip_mode" {
        ("ipip_mode: Always", "ipip_mode: Never")
    } else {
        ("ipip_enabled: true", "ipip_enabled: false")
    };
    let vxlan_enabled = p.vxlan_enabled.unwrap_or(backend == Backend::Vxlan);
    if backend == Backend::Vxlan && !vxlan_enabled {
        f.error(
            "vxlan_enabled",
            "calico_backend: vxlan routes pods only through VXLAN, but vxlan_enabled is false: \
             Felix creates no VXLAN device and pods on different nodes cannot reach each other.",
            "omit vxlan_enabled (it follows calico_backend), or use calico_backend: bird.",
        );
    }
    if ipip_enabled && backend != Backend::Bird {
        f.error(
            ipip_field,
            format!(
                "IP-in-IP needs BGP (calico_backend: bird) to distribute its routes, but \
                 calico_backend is {backend}: nodes would have no routes to each other's pods."
            ),
            format!(
                "use calico_backend: bird with {ipip_on}, or keep VXLAN (calico_backend: \
                 vxlan, {ipip_off})."
            ),
        );
    }
    if ipip_enabled && vxlan_enabled {
        f.error(
            ipip_field,
            format!(
                "VXLAN (vxlan_enabled) and IP-in-IP ({ipip_on}) are both on: a pool can use \
                 only one of them (Calico refuses both on one IPPool), so one device and its \
                 security-group rule would be useless."
            ),
            "choose one encapsulation.",
        );
    }
    if ipip_enabled && family == Family::V6 {
        f.error(
            ipip_field,
            "IPIP is not supported on an IPv6 IP pool: IP-in-IP carries IPv4 only.",
            "use VXLAN for IPv6 (calico_backend: vxlan).",
        );
    }

    let mut encaps = Vec::new();
    if vxlan_enabled {
        encaps.push(Encapsulation::Vxlan);
    }
    if ipip_enabled {
        encaps.push(Encapsulation::Ipip);
    }
    if wireguard {
        encaps.push(Encapsulation::Wireguard);
    }
    let worst = worst(&encaps, family);

    let host_mtu = p.host_mtu;
    let host = u16::try_from(host_mtu).unwrap_or(0);
    let explicit = p.veth_mtu;
    if let Some(v) = explicit
        && u16::try_from(v).is_err()
    {
        f.error(
            "veth_mtu",
            format!("MTU {v} is not an MTU (0-65535), so no interface can be configured with it."),
            "omit veth_mtu to have it computed from host_mtu, or set 0 to let Calico detect it.",
        );
    }
    let requested = explicit.and_then(|v| u16::try_from(v).ok()).unwrap_or(0);
    for mut x in Findings::of(|c| mtu::check_mtu("veth_mtu", requested, host, worst, family, c)) {
        if !x.problem.starts_with("MTU ") {
            // The host MTU itself is what is wrong.
            x.field = "host_mtu".into();
            // A value beyond u16 reached the check as 0: name the value given.
            if u16::try_from(host_mtu).is_err() {
                x.problem = x.problem.replacen("MTU 0 ", &format!("MTU {host_mtu} "), 1);
            }
        }
        f.push(x);
    }
    let limit = mtu::max_pod_mtu(host, worst, family);
    let veth_mtu = explicit.map(|_| requested).unwrap_or(limit);
    // Explicit 0 means "detect" for the tunnel device too.
    let vxlan_mtu = if explicit == Some(0) {
        0
    } else {
        mtu::max_pod_mtu(host, Encapsulation::Vxlan, family)
    };

    let port = p.vxlan_port;
    if !(1..=65535).contains(&port) {
        f.error(
            "vxlan_port",
            format!(
                "vxlan_port {port} is not a UDP port (1-65535): Felix cannot bind the VXLAN device."
            ),
            "use 4789 (the IANA VXLAN port and Calico's default).",
        );
    }
    let vni = p.vxlan_vni;
    if !(0..=16_777_215).contains(&vni) {
        f.error(
            "vxlan_vni",
            format!("vxlan_vni {vni} does not fit VXLAN's 24-bit network identifier (0-16777215)."),
            "use 4096 (Calico's default) unless another VXLAN on the hosts uses it.",
        );
    }

    let src_dst = p.aws_src_dst_check;
    let unencapsulated = !vxlan_enabled && !ipip_enabled;
    if unencapsulated && src_dst != SrcDstCheck::Disable {
        f.warning(
            "aws_src_dst_check",
            format!(
                "pod packets go on the wire unencapsulated (calico_backend: {backend}, no VXLAN \
                 or IPIP), and EC2 drops packets whose addresses are not the instance's own \
                 while the source/destination check is on (aws_src_dst_check: {}).",
                src_dst.as_str()
            ),
            "set aws_src_dst_check: Disable (Felix then needs IAM ec2:DescribeInstances and \
             ec2:ModifyNetworkInterfaceAttribute), or use calico_backend: vxlan.",
        );
    }

    let encapsulation = if vxlan_enabled {
        Encapsulation::Vxlan
    } else if ipip_enabled {
        Encapsulation::Ipip
    } else if wireguard {
        Encapsulation::Wireguard
    } else {
        Encapsulation::None
    };
    let model = NetworkModel {
        cni_plugin: plugin,
        pod_cidrs: pod_cidr.into_iter().collect(),
        vpc_cidrs,
        encapsulation,
        vxlan_port: u16::try_from(port).unwrap_or(4789),
        bgp: backend == Backend::Bird,
        typha,
    };
    let namespace = p.calico_namespace.clone();
    if let Some(why) = crate::kube::apply::namespace_problem(&namespace) {
        f.error(
            "calico_namespace",
            format!("namespace {why}, so calico-config cannot be there."),
            "use the namespace of Calico's manifest install: kube-system.",
        );
    }
    let calico = Calico {
        namespace,
        backend,
        family,
        vxlan_enabled,
        ipip_enabled,
        wireguard,
        vxlan_port: model.vxlan_port,
        vxlan_vni: u32::try_from(vni).unwrap_or(4096),
        host_mtu: host,
        veth_mtu,
        vxlan_mtu,
        aws_src_dst_check: src_dst,
    };
    (
        Some(Plan {
            model,
            pod_cidr,
            wireguard,
            calico: Some(calico),
        }),
        f,
    )
}

/// Data keys of `calico-config` that `manager` owns through server-side
/// apply beyond this module's two. Applying only those two as that manager
/// would delete the others (e.g. cni_network_config), breaking the CNI.
pub fn foreign_keys_owned(cm: &Value, manager: &str) -> Vec<String> {
    let Some(fields) = crate::kube::diff::owned_fields(cm, manager) else {
        return Vec::new();
    };
    fields
        .get("f:data")
        .and_then(Value::as_object)
        .map(|d| {
            d.keys()
                .filter_map(|k| k.strip_prefix("f:"))
                .filter(|k| !CONFIG_KEYS.contains(k))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// For the CLI (no cluster): the objects the options render to (none for
/// aws-vpc-cni) and the facts, or every finding when any rule is broken.
/// `Ok` carries the warnings.
pub fn render(p: &Args) -> Result<(Vec<Value>, Value, Findings), Findings> {
    let (plan, f) = plan(p);
    match plan {
        Some(plan) if !f.has_errors() => Ok((plan.objects(), plan.facts(), f)),
        _ => Err(f),
    }
}

#[cfg(test)]
mod tests;
