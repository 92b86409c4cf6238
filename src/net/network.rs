//! The network facts the ALB path depends on, read from the options
//! `alb_ingress` and `netcheck` share (`cni_plugin`, `pod_cidr`,
//! `vpc_cidrs`, `node_port_range`, and for netcheck the overlay's
//! `encapsulation`, `vxlan_port`, `bgp`, `typha`).

use super::cidr;
use super::model::{CniPlugin, NetworkModel};
use super::mtu::Encapsulation;
use crate::validate::Findings;
use ipnet::IpNet;
use serde::Deserialize;

pub const DEFAULT_POD_CIDR: &str = "192.168.0.0/16";
pub const DEFAULT_NODE_PORT_RANGE: &str = "30000-32767";
/// The range a broken `node_port_range` is replaced with, so later checks run.
pub const DEFAULT_NODE_PORTS: (u16, u16) = (30000, 32767);
pub const DEFAULT_VXLAN_PORT: u16 = 4789;

/// The network options as validated (typed, not yet checked).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NetworkArgs {
    pub cni_plugin: Option<CniPlugin>,
    pub pod_cidr: Option<String>,
    pub vpc_cidrs: Option<Vec<String>>,
    pub node_port_range: Option<String>,
    pub encapsulation: Option<Encapsulation>,
    pub vxlan_port: Option<i64>,
    pub bgp: Option<bool>,
    pub typha: Option<bool>,
}

/// The network facts the ALB path depends on.
#[derive(Debug, Clone)]
pub struct Network {
    pub model: NetworkModel,
    pub node_port_range: (u16, u16),
}

impl Network {
    /// Checks and derives the network from its options; what is broken is a
    /// finding and replaced by the default, so the other checks still run.
    pub fn parse(a: &NetworkArgs, f: &mut Findings) -> Network {
        let cni = a.cni_plugin.unwrap_or(CniPlugin::Calico);
        let vpc_cidrs = parse_cidr_list("vpc_cidrs", a.vpc_cidrs.as_deref().unwrap_or(&[]), f);
        let pod_cidrs = match a.pod_cidr.as_deref() {
            Some(s) => match cidr::parse_cidr("pod_cidr", s) {
                Ok(n) => vec![n],
                Err(e) => {
                    f.push(e);
                    Vec::new()
                }
            },
            // VPC CNI gives pods addresses of the VPC subnets.
            None if cni == CniPlugin::AwsVpcCni => vpc_cidrs.clone(),
            None => vec![DEFAULT_POD_CIDR.parse().expect("valid default")],
        };
        let encapsulation = match a.encapsulation {
            Some(e) => e,
            None if cni == CniPlugin::AwsVpcCni => Encapsulation::None,
            None => Encapsulation::Vxlan,
        };
        let vxlan_port = match a.vxlan_port {
            Some(n) if (1..=65535).contains(&n) => n as u16,
            Some(n) => {
                f.error(
                    "vxlan_port",
                    format!(
                        "VXLAN port {n} is outside 1-65535, so nodes cannot exchange overlay traffic."
                    ),
                    "use Calico's default 4789 unless FelixConfiguration sets another vxlanPort.",
                );
                DEFAULT_VXLAN_PORT
            }
            None => DEFAULT_VXLAN_PORT,
        };
        let node_port_range = parse_node_port_range(
            "node_port_range",
            a.node_port_range
                .as_deref()
                .unwrap_or(DEFAULT_NODE_PORT_RANGE),
            f,
        );
        Network {
            model: NetworkModel {
                cni_plugin: cni,
                pod_cidrs,
                vpc_cidrs,
                encapsulation,
                vxlan_port,
                bgp: a.bgp.unwrap_or(false),
                typha: a.typha.unwrap_or(false),
            },
            node_port_range,
        }
    }

    /// The VPC's ranges, labelled for overlap findings.
    pub fn vpc_ranges(&self) -> Vec<(&'static str, IpNet)> {
        self.model
            .vpc_cidrs
            .iter()
            .map(|v| ("the VPC CIDR", *v))
            .collect()
    }
}

/// A list option of CIDRs (`vpc_cidrs`): the networks that parse, and a
/// finding `field[i]` for each that does not (cidr::parse_list).
pub fn parse_cidr_list(field: &str, items: &[String], f: &mut Findings) -> Vec<IpNet> {
    let (nets, bad) = cidr::parse_list(field, items);
    f.extend(bad);
    nets.into_iter().map(|(_, n)| n).collect()
}

/// An overlay's pod CIDR must stay clear of the VPC and of link-local
/// addresses (alb_ingress and netcheck both check it; ippool and cni check
/// the pool itself).
pub fn check_pod_cidrs(net: &Network, f: &mut Findings) {
    if net.model.cni_plugin != CniPlugin::Calico {
        return;
    }
    let vpcs = net.vpc_ranges();
    for pod in &net.model.pod_cidrs {
        cidr::check_not_in_vpc("pod_cidr", *pod, &vpcs, f);
        cidr::check_not_link_local("pod_cidr", *pod, f);
    }
}

/// `30000-32767`, as kube-apiserver's `--service-node-port-range` (a single
/// port or `base+size` are accepted there too).
pub fn parse_node_port_range(field: &str, s: &str, f: &mut Findings) -> (u16, u16) {
    let s = s.trim();
    let parsed = if let Some((a, b)) = s.split_once('-') {
        a.trim()
            .parse::<u16>()
            .ok()
            .zip(b.trim().parse::<u16>().ok())
    } else if let Some((a, n)) = s.split_once('+') {
        match (a.trim().parse::<u16>(), n.trim().parse::<u16>()) {
            (Ok(a), Ok(n)) if n > 0 => a.checked_add(n - 1).map(|b| (a, b)),
            _ => None,
        }
    } else {
        s.parse::<u16>().ok().map(|p| (p, p))
    };
    match parsed {
        Some((lo, hi)) if lo > 0 && lo <= hi => (lo, hi),
        _ => {
            f.error(
                field,
                format!(
                    "'{s}' is not a node port range: it must read like kube-apiserver's \
                     --service-node-port-range, e.g. 30000-32767. NodePort checks and the \
                     security-group rules depend on it."
                ),
                "write FIRST-LAST with FIRST <= LAST, e.g. 30000-32767 (the Kubernetes default).",
            );
            DEFAULT_NODE_PORTS
        }
    }
}

#[cfg(test)]
mod tests;
