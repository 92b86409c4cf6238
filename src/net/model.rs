//! The network model: what the CNI choice means for the load balancer path.
//!
//! `cni` returns it as facts, and `alb_ingress` and `netcheck` derive from it
//! the ALB target type and the security-group rules. It is the seed's central
//! rule in one place: an overlay's pod IPs are not routable from the VPC, so
//! only `instance` targets (NodePorts) reach them.

use super::mtu::Encapsulation;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CniPlugin {
    #[serde(rename = "calico")]
    Calico,
    #[serde(rename = "aws-vpc-cni")]
    AwsVpcCni,
}

impl CniPlugin {
    pub const CHOICES: &'static [&'static str] = &["calico", "aws-vpc-cni"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "calico" => Some(CniPlugin::Calico),
            "aws-vpc-cni" => Some(CniPlugin::AwsVpcCni),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CniPlugin::Calico => "calico",
            CniPlugin::AwsVpcCni => "aws-vpc-cni",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetType {
    Instance,
    Ip,
}

impl TargetType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "instance" => Some(TargetType::Instance),
            "ip" => Some(TargetType::Ip),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Instance => "instance",
            TargetType::Ip => "ip",
        }
    }
}

/// Where a security-group rule's traffic comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    /// The ALB's security group.
    AlbSecurityGroup,
    /// The worker security group itself (node ↔ node).
    WorkerSecurityGroup,
    Cidr(String),
}

/// One ingress rule on the worker security group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SgRule {
    /// `tcp`, `udp`, or an IP protocol number such as `4` (IPIP).
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub source: Peer,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NetworkModel {
    pub cni_plugin: CniPlugin,
    pub pod_cidrs: Vec<IpNet>,
    pub vpc_cidrs: Vec<IpNet>,
    pub encapsulation: Encapsulation,
    pub vxlan_port: u16,
    /// Calico's BGP (bird backend) peers between nodes.
    pub bgp: bool,
    pub typha: bool,
}

impl NetworkModel {
    /// Can the VPC route to pod IPs? Only when the VPC CNI hands out VPC
    /// addresses; Calico pod IPs are never in the VPC route tables, even when
    /// a pool happens to lie inside a VPC range.
    pub fn pods_vpc_routable(&self) -> bool {
        self.cni_plugin == CniPlugin::AwsVpcCni
            && !self.pod_cidrs.is_empty()
            && self
                .pod_cidrs
                .iter()
                .all(|p| self.vpc_cidrs.iter().any(|v| super::cidr::contains(*v, *p)))
    }

    pub fn overlay(&self) -> bool {
        self.cni_plugin == CniPlugin::Calico
    }

    pub fn allowed_target_types(&self) -> Vec<TargetType> {
        if self.pods_vpc_routable() || self.cni_plugin == CniPlugin::AwsVpcCni {
            vec![TargetType::Ip, TargetType::Instance]
        } else {
            vec![TargetType::Instance]
        }
    }

    pub fn recommended_target_type(&self) -> TargetType {
        match self.cni_plugin {
            CniPlugin::Calico => TargetType::Instance,
            CniPlugin::AwsVpcCni => TargetType::Ip,
        }
    }

    /// Node ↔ node rules the encapsulation and Calico's components need
    /// (Calico system requirements; domain-rules D.27).
    pub fn node_rules(&self) -> Vec<SgRule> {
        let mut rules = Vec::new();
        if self.cni_plugin != CniPlugin::Calico {
            return rules;
        }
        let node = |protocol: &str, from: i32, to: i32, description: &str| SgRule {
            protocol: protocol.to_string(),
            from_port: from,
            to_port: to,
            source: Peer::WorkerSecurityGroup,
            description: description.to_string(),
        };
        match self.encapsulation {
            Encapsulation::Vxlan => rules.push(node(
                "udp",
                self.vxlan_port as i32,
                self.vxlan_port as i32,
                "Calico VXLAN between nodes",
            )),
            Encapsulation::Ipip => rules.push(node(
                "4",
                -1,
                -1,
                "Calico IP-in-IP (IP protocol 4) between nodes",
            )),
            Encapsulation::Wireguard => {
                rules.push(node("udp", 51820, 51820, "Calico WireGuard between nodes"))
            }
            Encapsulation::None => {}
        }
        if self.bgp {
            rules.push(node("tcp", 179, 179, "Calico BGP between nodes"));
        }
        if self.typha {
            rules.push(node("tcp", 5473, 5473, "Calico Typha from Felix"));
        }
        rules
    }

    /// The facts `cni` returns (`ansible_facts.netpath_network`).
    pub fn facts(&self) -> Value {
        json!({
            "cni_plugin": self.cni_plugin,
            "overlay": self.overlay(),
            "pods_vpc_routable": self.pods_vpc_routable(),
            "pod_cidrs": self.pod_cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "vpc_cidrs": self.vpc_cidrs.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "encapsulation": match self.encapsulation {
                Encapsulation::Vxlan => "vxlan",
                Encapsulation::Ipip => "ipip",
                Encapsulation::Wireguard => "wireguard",
                Encapsulation::None => "none",
            },
            "alb_target_types_allowed": self.allowed_target_types(),
            "alb_target_type_recommended": self.recommended_target_type(),
            "node_security_group_rules": self.node_rules(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calico() -> NetworkModel {
        NetworkModel {
            cni_plugin: CniPlugin::Calico,
            pod_cidrs: vec!["192.168.0.0/16".parse().unwrap()],
            vpc_cidrs: vec!["10.0.0.0/16".parse().unwrap()],
            encapsulation: Encapsulation::Vxlan,
            vxlan_port: 4789,
            bgp: false,
            typha: false,
        }
    }

    #[test]
    fn seed_overlay_allows_only_instance_and_needs_udp_4789() {
        let m = calico();
        assert!(!m.pods_vpc_routable());
        assert_eq!(m.allowed_target_types(), vec![TargetType::Instance]);
        let rules = m.node_rules();
        assert_eq!(rules.len(), 1);
        assert_eq!(
            (rules[0].protocol.as_str(), rules[0].from_port),
            ("udp", 4789)
        );
    }

    #[test]
    fn vpc_cni_routes_pods_and_recommends_ip() {
        let m = NetworkModel {
            cni_plugin: CniPlugin::AwsVpcCni,
            pod_cidrs: vec!["10.0.0.0/16".parse().unwrap()],
            encapsulation: Encapsulation::None,
            ..calico()
        };
        assert!(m.pods_vpc_routable());
        assert_eq!(m.recommended_target_type(), TargetType::Ip);
        assert!(m.node_rules().is_empty());
    }

    #[test]
    fn ipip_bgp_typha_rules() {
        let m = NetworkModel {
            encapsulation: Encapsulation::Ipip,
            bgp: true,
            typha: true,
            ..calico()
        };
        let protos: Vec<(String, i32)> = m
            .node_rules()
            .into_iter()
            .map(|r| (r.protocol, r.from_port))
            .collect();
        assert_eq!(
            protos,
            vec![("4".into(), -1), ("tcp".into(), 179), ("tcp".into(), 5473)]
        );
    }
}
