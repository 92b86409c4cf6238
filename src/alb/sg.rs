//! Security-group rules the ALB path needs on the worker security group:
//! ALB → worker on the NodePorts in use (instance targets) or the pod ports
//! (ip targets), and node ↔ node for the overlay. Rendered for
//! `amazon.aws.ec2_security_group` (`rules:`) and as Terraform JSON
//! (`aws_vpc_security_group_ingress_rule`).

use crate::net::model::{Peer, SgRule};
use crate::validate::Findings;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The two security groups, as IDs, names or Terraform references.
#[derive(Debug, Clone)]
pub struct Groups {
    pub alb: String,
    pub worker: String,
}

pub const DEFAULT_ALB_GROUP: &str = "${aws_security_group.alb.id}";
pub const DEFAULT_WORKER_GROUP: &str = "${aws_security_group.worker.id}";

/// A port on the workers the ALB must reach; `port` is None when it cannot
/// be known yet (a NodePort Kubernetes has still to assign).
#[derive(Debug, Clone)]
pub struct Target {
    pub port: Option<u16>,
    /// What uses it, e.g. `default/app-service:80`.
    pub what: String,
    pub field: String,
}

/// ALB security group → worker security group, TCP: one rule per exact port,
/// or the whole node port range when asked or when a port is still unknown.
pub fn alb_rules(
    targets: &[Target],
    range: (u16, u16),
    open_range: bool,
    f: &mut Findings,
) -> Vec<SgRule> {
    let unknown: Vec<&Target> = targets.iter().filter(|t| t.port.is_none()).collect();
    for t in &unknown {
        f.warning(
            &t.field,
            format!(
                "the NodePort of {} is assigned by Kubernetes and not known yet, so the \
                 ALB → worker rule has to cover the whole range {}-{}.",
                t.what, range.0, range.1
            ),
            "set node_port to a fixed port in the range, or run netcheck against the cluster \
             after alb_ingress applied the Service (it then reads the assigned port).",
        );
    }
    let range_rule = || SgRule {
        protocol: "tcp".into(),
        from_port: i32::from(range.0),
        to_port: i32::from(range.1),
        source: Peer::AlbSecurityGroup,
        description: format!("ALB to worker NodePort range {}-{}", range.0, range.1),
    };
    if open_range || !unknown.is_empty() {
        return if targets.is_empty() && !open_range {
            Vec::new()
        } else {
            vec![range_rule()]
        };
    }
    let mut by_port: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for t in targets {
        if let Some(p) = t.port {
            let users = by_port.entry(p).or_default();
            if !users.contains(&t.what.as_str()) {
                users.push(&t.what);
            }
        }
    }
    by_port
        .into_iter()
        .map(|(port, users)| SgRule {
            protocol: "tcp".into(),
            from_port: i32::from(port),
            to_port: i32::from(port),
            source: Peer::AlbSecurityGroup,
            description: truncate(format!("ALB to worker port {port} ({})", users.join(", "))),
        })
        .collect()
}

/// What the AWS Load Balancer Controller itself opens on the worker
/// security group when it manages the backend rules (it made the ALB's
/// frontend SG, or `manage-backend-security-group-rules: "true"`): from its
/// one shared backend SG, ONE rule per protocol spanning [min, max] of every
/// port sharing it (`computeRestrictedIngressPermissionsPerSG`, v3.5.0), so
/// every port in between is open too. netpath's own rules stay exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerRange {
    pub from_port: u16,
    pub to_port: u16,
    /// The ports in use, each with what uses it.
    pub in_use: Vec<(u16, String)>,
}

pub fn controller_range(ports: &[(u16, String)]) -> Option<ControllerRange> {
    let from_port = ports.iter().map(|p| p.0).min()?;
    let to_port = ports.iter().map(|p| p.0).max()?;
    let mut in_use = ports.to_vec();
    in_use.sort();
    in_use.dedup();
    Some(ControllerRange {
        from_port,
        to_port,
        in_use,
    })
}

/// AWS allows 255 characters in a rule description.
pub(crate) fn truncate(mut s: String) -> String {
    if s.len() > 255 {
        let mut cut = 252;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

fn has_ports(protocol: &str) -> bool {
    matches!(protocol, "tcp" | "udp")
}

fn source_group<'a>(g: &'a Groups, peer: &'a Peer) -> Result<&'a str, &'a str> {
    match peer {
        Peer::AlbSecurityGroup => Ok(&g.alb),
        Peer::WorkerSecurityGroup => Ok(&g.worker),
        Peer::Cidr(c) => Err(c),
    }
}

/// Rules for the worker group's `rules:` in `amazon.aws.ec2_security_group`.
pub fn ec2_rules(rules: &[SgRule], g: &Groups) -> Vec<Value> {
    rules
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert("proto".into(), json!(r.protocol));
            if has_ports(&r.protocol) {
                m.insert("from_port".into(), json!(r.from_port));
                m.insert("to_port".into(), json!(r.to_port));
            }
            match source_group(g, &r.source) {
                // IDs (and Terraform-style references) go in group_id, names in group_name.
                Ok(id) if id.starts_with("sg-") || id.starts_with("${") => {
                    m.insert("group_id".into(), json!(id));
                }
                Ok(name) => {
                    m.insert("group_name".into(), json!(name));
                }
                Err(cidr) if cidr.contains(':') => {
                    m.insert("cidr_ipv6".into(), json!(cidr));
                }
                Err(cidr) => {
                    m.insert("cidr_ip".into(), json!(cidr));
                }
            }
            m.insert("rule_desc".into(), json!(r.description));
            Value::Object(m)
        })
        .collect()
}

fn resource_name(r: &SgRule) -> String {
    let from = match r.source {
        Peer::AlbSecurityGroup => "alb_to_worker",
        Peer::WorkerSecurityGroup => "worker_to_worker",
        Peer::Cidr(_) => "cidr_to_worker",
    };
    let proto = match r.protocol.as_str() {
        "4" => "ipip".to_string(),
        p => p.to_string(),
    };
    if !has_ports(&r.protocol) {
        format!("{from}_{proto}")
    } else if r.from_port == r.to_port {
        format!("{from}_{proto}_{}", r.from_port)
    } else {
        format!("{from}_{proto}_{}_{}", r.from_port, r.to_port)
    }
}

/// `{"resource": {"aws_vpc_security_group_ingress_rule": {NAME: {...}}}}`,
/// ready for a `.tf.json` file.
pub fn terraform(rules: &[SgRule], g: &Groups) -> Value {
    let mut resources = Map::new();
    for r in rules {
        let mut m = Map::new();
        m.insert("security_group_id".into(), json!(g.worker));
        match source_group(g, &r.source) {
            Ok(id) => m.insert("referenced_security_group_id".into(), json!(id)),
            Err(c) if c.contains(':') => m.insert("cidr_ipv6".into(), json!(c)),
            Err(c) => m.insert("cidr_ipv4".into(), json!(c)),
        };
        m.insert("ip_protocol".into(), json!(r.protocol));
        if has_ports(&r.protocol) {
            m.insert("from_port".into(), json!(r.from_port));
            m.insert("to_port".into(), json!(r.to_port));
        }
        m.insert("description".into(), json!(r.description));
        let mut name = resource_name(r);
        let mut n = 2;
        while resources.contains_key(&name) {
            name = format!("{}_{n}", resource_name(r));
            n += 1;
        }
        resources.insert(name, Value::Object(m));
    }
    json!({"resource": {"aws_vpc_security_group_ingress_rule": resources}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(port: Option<u16>, what: &str) -> Target {
        Target {
            port,
            what: what.into(),
            field: "ingresses[0].services[0].node_port".into(),
        }
    }

    fn groups() -> Groups {
        Groups {
            alb: "sg-0aaaaaaaaaaaaaaaa".into(),
            worker: "${aws_security_group.worker.id}".into(),
        }
    }

    #[test]
    fn exact_ports_one_rule_each_deduplicated() {
        let mut f = Findings::new();
        let r = alb_rules(
            &[
                t(Some(30080), "default/a:80"),
                t(Some(30080), "default/b:80"),
                t(Some(30443), "x"),
            ],
            (30000, 32767),
            false,
            &mut f,
        );
        assert!(f.0.is_empty());
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].from_port, r[0].to_port), (30080, 30080));
        assert!(r[0].description.contains("default/a:80, default/b:80"));
    }

    #[test]
    fn unknown_port_or_request_opens_the_range() {
        let mut f = Findings::new();
        let r = alb_rules(&[t(None, "default/a:80")], (30000, 32767), false, &mut f);
        assert_eq!((r[0].from_port, r[0].to_port), (30000, 32767));
        assert!(f.0[0].problem.contains("not known yet"), "{:?}", f.0);
        let mut f = Findings::new();
        let r = alb_rules(&[t(Some(30080), "a")], (30000, 32767), true, &mut f);
        assert_eq!((r[0].from_port, r[0].to_port), (30000, 32767));
        assert!(f.0.is_empty());
        assert!(alb_rules(&[], (30000, 32767), false, &mut f).is_empty());
    }

    #[test]
    fn ec2_and_terraform_shapes() {
        let rules = vec![
            SgRule {
                protocol: "tcp".into(),
                from_port: 30080,
                to_port: 30080,
                source: Peer::AlbSecurityGroup,
                description: "ALB".into(),
            },
            SgRule {
                protocol: "udp".into(),
                from_port: 4789,
                to_port: 4789,
                source: Peer::WorkerSecurityGroup,
                description: "VXLAN".into(),
            },
            SgRule {
                protocol: "4".into(),
                from_port: -1,
                to_port: -1,
                source: Peer::WorkerSecurityGroup,
                description: "IPIP".into(),
            },
        ];
        let g = groups();
        let e = ec2_rules(&rules, &g);
        assert_eq!(
            e[0],
            json!({"proto": "tcp", "from_port": 30080, "to_port": 30080, "group_id": "sg-0aaaaaaaaaaaaaaaa", "rule_desc": "ALB"})
        );
        assert_eq!(e[1]["group_id"], "${aws_security_group.worker.id}");
        assert!(e[2].get("from_port").is_none());
        let named = ec2_rules(
            &rules[..1],
            &Groups {
                alb: "web-alb".into(),
                worker: "w".into(),
            },
        );
        assert_eq!(named[0]["group_name"], "web-alb");

        let tf = terraform(&rules, &g);
        let res = &tf["resource"]["aws_vpc_security_group_ingress_rule"];
        assert_eq!(
            res["alb_to_worker_tcp_30080"],
            json!({"security_group_id": "${aws_security_group.worker.id}", "referenced_security_group_id": "sg-0aaaaaaaaaaaaaaaa",
                   "ip_protocol": "tcp", "from_port": 30080, "to_port": 30080, "description": "ALB"})
        );
        assert_eq!(res["worker_to_worker_udp_4789"]["ip_protocol"], "udp");
        assert!(res["worker_to_worker_ipip"].get("from_port").is_none());
    }

    #[test]
    fn the_controller_opens_min_to_max() {
        // As measured with v3.5.0: two Ingresses on 31991 and 32414 -> one rule.
        let r = controller_range(&[
            (32414, "b".into()),
            (31991, "a".into()),
            (31991, "a".into()),
        ])
        .unwrap();
        assert_eq!((r.from_port, r.to_port), (31991, 32414));
        assert_eq!(r.in_use.len(), 2);
        assert!(controller_range(&[]).is_none());
    }

    #[test]
    fn long_descriptions_fit_aws() {
        assert_eq!(truncate("x".repeat(300)).len(), 255);
    }
}
