//! What AWS itself must look like for the path: the subnets the AWS Load
//! Balancer Controller (v3.5.0) will choose, the instances behind the Nodes,
//! their security groups and rules, metadata options and source/destination
//! check. Pure: `crate::aws::read` fills `Facts` with the AWS SDK.

use crate::alb::model::Scheme;
use crate::validate::Findings;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

/// Findings naming single resources stop here; the rest are counted.
const NAMED: usize = 20;
/// pkg/networking/subnet_resolver.go defaultMinimalAvailableIPAddressCount.
pub const MIN_FREE_IPS: i32 = 8;
pub const ROLE_ELB: &str = "kubernetes.io/role/elb";
pub const ROLE_INTERNAL_ELB: &str = "kubernetes.io/role/internal-elb";
const CLUSTER_TAG_PREFIX: &str = "kubernetes.io/cluster";

#[derive(Debug, Clone, Default, Serialize)]
pub struct Subnet {
    pub id: String,
    pub az: String,
    pub cidr: String,
    pub available_ips: i32,
    pub tags: BTreeMap<String, String>,
    /// On an Outpost or in a local zone: not an availability-zone locale.
    pub outpost: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    pub id: String,
    pub main: bool,
    pub subnets: Vec<String>,
    /// A route whose gateway is an internet gateway (`igw-…`).
    pub igw_route: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Instance {
    pub id: String,
    pub state: String,
    pub vpc_id: Option<String>,
    pub subnet_id: Option<String>,
    pub private_ip: Option<String>,
    pub source_dest_check: Option<bool>,
    pub hop_limit: Option<i32>,
    /// `required` (IMDSv2 only) or `optional`.
    pub http_tokens: Option<String>,
    /// The ENI at device index 0 and its security groups.
    pub primary_eni: Option<(String, Vec<String>)>,
}

#[derive(Debug, Clone, Default)]
pub struct Permission {
    /// `tcp`, `udp`, `-1` (all), or a protocol number such as `4`.
    pub protocol: String,
    pub from: i32,
    pub to: i32,
    pub groups: Vec<String>,
    pub cidrs: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub tags: BTreeMap<String, String>,
    pub ingress: Vec<Permission>,
}

/// What was read from AWS for one netcheck run.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub vpc_id: Option<String>,
    /// None: not read (no VPC known, or the read failed).
    pub subnets: Option<Vec<Subnet>>,
    pub route_tables: Option<Vec<RouteTable>>,
    /// Instances found, by ID; None: not read.
    pub instances: Option<BTreeMap<String, Instance>>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    /// Custom ALB security groups (annotation values) resolved to IDs.
    pub named_groups: BTreeMap<String, Vec<String>>,
}

/// A Node as the checks need it.
#[derive(Debug, Clone)]
pub struct NodeRef {
    pub name: String,
    pub instance_id: String,
    /// Ready, not excluded, not leaving: the controller registers it.
    pub target: bool,
}

/// One ALB of the plan, as the AWS checks need it.
#[derive(Debug, Clone, Default)]
pub struct Alb {
    pub field: String,
    pub ingress: String,
    pub scheme: Scheme,
    /// The `subnets` annotation, split; empty means discovery.
    pub subnets: Vec<String>,
    /// The `security-groups` annotation, split; empty: the controller makes its own.
    pub security_groups: Vec<String>,
    pub controller_manages_rules: bool,
    pub instance_targets: bool,
    /// NodePorts the ALB reaches (instance targets), known ones only.
    pub node_ports: Vec<u16>,
}

/// What else the checks need to know.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub cluster_name: Option<String>,
    /// The controller asks instance metadata for its VPC or region.
    pub controller_uses_imds: bool,
    /// `vxlan`, `ipip`, `wireguard` or `none` (calico); None for aws-vpc-cni.
    pub encapsulation: Option<String>,
    /// Some IPPool has vxlanMode or ipipMode CrossSubnet.
    pub cross_subnet: bool,
    pub vxlan_port: u16,
}

fn cluster_tag(c: &str) -> String {
    format!("{CLUSTER_TAG_PREFIX}/{c}")
}

/// pkg/networking/subnet_resolver.go isSubnetContainsEligibleClusterTag: no
/// cluster tag, or one for this cluster.
fn eligible_cluster_tag(s: &Subnet, cluster: &str) -> bool {
    let mine = cluster_tag(cluster);
    s.tags.contains_key(&mine) || !s.tags.keys().any(|k| k.starts_with(CLUSTER_TAG_PREFIX))
}

/// isSubnetContainsRouteToIGW: the subnet's route table (explicit, else the
/// VPC's main one) has a route to an `igw-…` gateway.
fn routes_to_igw(subnet: &str, tables: &[RouteTable]) -> bool {
    tables
        .iter()
        .find(|t| t.subnets.iter().any(|s| s == subnet))
        .or_else(|| tables.iter().find(|t| t.main))
        .is_some_and(|t| t.igw_route)
}

/// The subnets v3.5.0 discovers for `scheme` (ResolveViaDiscovery): those
/// with the role tag (value "" or "1"), else, with SubnetDiscoveryByReachability
/// (default on), those whose IGW route matches the scheme; then
/// chooseAndValidateSubnetsPerAZ. Ok: the chosen subnets; Err: the
/// controller's own words.
pub fn discover(
    subnets: &[Subnet],
    tables: &[RouteTable],
    scheme: Scheme,
    cluster: &str,
) -> (Result<Vec<Subnet>, String>, &'static str) {
    let public = scheme == Scheme::InternetFacing;
    let role = if public { ROLE_ELB } else { ROLE_INTERNAL_ELB };
    let tagged: Vec<&Subnet> = subnets
        .iter()
        .filter(|s| s.tags.get(role).is_some_and(|v| v.is_empty() || v == "1"))
        .collect();
    let (candidates, how) = if tagged.is_empty() {
        (
            subnets
                .iter()
                .filter(|s| routes_to_igw(&s.id, tables) == public)
                .collect(),
            "reachability",
        )
    } else {
        (tagged, "role tag")
    };
    let mut other_cluster = 0;
    let mut few_ips = 0;
    let mut by_az: BTreeMap<&str, Vec<&Subnet>> = BTreeMap::new();
    for s in &candidates {
        if !eligible_cluster_tag(s, cluster) {
            other_cluster += 1;
        } else if s.available_ips < MIN_FREE_IPS {
            few_ips += 1;
        } else {
            by_az.entry(s.az.as_str()).or_default().push(s);
        }
    }
    let mine = cluster_tag(cluster);
    // chooseSubnetsPerAZ: this cluster's tag first, then the lowest ID.
    let mut chosen: Vec<Subnet> = by_az
        .into_values()
        .map(|mut v| {
            v.sort_by_key(|s| (!s.tags.contains_key(&mine), s.id.clone()));
            v[0].clone()
        })
        .collect();
    chosen.sort_by(|a, b| a.id.cmp(&b.id));
    if chosen.is_empty() {
        return (
            Err(format!(
                "couldn't auto-discover subnets: unable to resolve at least one subnet. Evaluated {} subnets: {other_cluster} are tagged for other clusters, and {few_ips} have insufficient available IP addresses",
                candidates.len()
            )),
            how,
        );
    }
    // validateSubnetsMinimalCount: an ALB in availability zones needs 2.
    if chosen.len() < 2 && !chosen.iter().any(|s| s.outpost) {
        return (
            Err(format!(
                "subnets count less than minimal required count: {} < 2",
                chosen.len()
            )),
            how,
        );
    }
    (Ok(chosen), how)
}

/// ENI security groups as resolveEndpointSGForENI sees them
/// (pkg/networking/networking_manager.go): one, or exactly one of several
/// tagged for the cluster.
fn endpoint_sg<'a>(
    sgs: &'a [String],
    facts: &'a Facts,
    cluster: &str,
) -> Result<&'a str, Vec<&'a str>> {
    if sgs.len() == 1 {
        return Ok(&sgs[0]);
    }
    let tag = cluster_tag(cluster);
    // Sorted, as the controller lists them (sets.String.List()).
    let mut tagged: Vec<&str> = sgs
        .iter()
        .filter(|id| {
            facts
                .security_groups
                .get(id.as_str())
                .is_some_and(|g| g.tags.contains_key(&tag))
        })
        .map(String::as_str)
        .collect();
    tagged.sort_unstable();
    if tagged.len() == 1 {
        Ok(tagged[0])
    } else {
        Err(tagged)
    }
}

fn proto_matches(rule: &str, want: &str) -> bool {
    rule == "-1" || rule.eq_ignore_ascii_case(want) || (want == "4" && rule == "ipencap")
}

fn port_in(p: &Permission, port: u16) -> bool {
    p.protocol == "-1" || (p.from <= i32::from(port) && i32::from(port) <= p.to)
}

fn cidr_contains(cidr: &str, ip: Option<Ipv4Addr>) -> bool {
    let (Ok(net), Some(ip)) = (cidr.parse::<ipnet::Ipv4Net>(), ip) else {
        return false;
    };
    net.contains(&ip)
}

/// Whether the groups `on` admit `proto`/`port` from a member of `from` (or
/// from an address in a CIDR rule).
fn admits(
    facts: &Facts,
    on: &[String],
    proto: &str,
    port: u16,
    from: &[String],
    from_ip: Option<Ipv4Addr>,
) -> bool {
    on.iter()
        .filter_map(|id| facts.security_groups.get(id))
        .flat_map(|g| &g.ingress)
        .any(|p| {
            proto_matches(&p.protocol, proto)
                && (proto == "4" || port_in(p, port))
                && (p.groups.iter().any(|g| from.contains(g))
                    || p.cidrs.iter().any(|c| cidr_contains(c, from_ip)))
        })
}

fn list(v: &[String]) -> String {
    if v.len() <= NAMED {
        v.join(", ")
    } else {
        format!("{} and {} more", v[..NAMED].join(", "), v.len() - NAMED)
    }
}

/// Every AWS finding for the path.
pub fn check(facts: &Facts, nodes: &[NodeRef], albs: &[Alb], cx: &Context, f: &mut Findings) {
    let cluster = cx.cluster_name.as_deref();
    check_subnets(facts, albs, cluster, f);
    let Some(instances) = &facts.instances else {
        return;
    };
    // Each instance a providerID names exists and runs
    // (pkg/backend/endpoint_resolver.go; DescribeInstances by ID).
    let mut missing = Vec::new();
    let mut stopped = Vec::new();
    for n in nodes.iter().filter(|n| n.target) {
        match instances.get(&n.instance_id) {
            None => missing.push(format!("{} ({})", n.instance_id, n.name)),
            Some(i) if i.state != "running" => {
                stopped.push(format!("{} ({}, {})", i.id, n.name, i.state))
            }
            Some(_) => {}
        }
    }
    if !missing.is_empty() {
        f.error(
            "nodes",
            format!(
                "the providerID of these Ready Nodes names an instance EC2 does not have: {}. The controller's DescribeInstances then fails (\"InvalidInstanceID.NotFound: The instance ID '{}' does not exist\"), which blocks the target updates of every instance target group.",
                list(&missing),
                missing[0].split(' ').next().unwrap_or_default()
            ),
            "delete the Node and rejoin it from its instance (a providerID cannot be changed), with kubelet --provider-id=aws:///<az>/<instance-id> or the node_provider_id module; or remove Nodes of terminated instances.",
        );
    }
    if !stopped.is_empty() {
        f.error(
            "nodes",
            format!(
                "these Ready Nodes' instances are not running: {}. RegisterTargets refuses instances that are not running, so the target groups do not converge.",
                list(&stopped)
            ),
            "start the instances, or drain and delete their Nodes (kubectl delete node).",
        );
    }
    let targets: Vec<&Instance> = nodes
        .iter()
        .filter(|n| n.target)
        .filter_map(|n| instances.get(&n.instance_id))
        .collect();
    let all: Vec<&Instance> = {
        let ids: BTreeSet<&str> = nodes.iter().map(|n| n.instance_id.as_str()).collect();
        ids.iter().filter_map(|id| instances.get(*id)).collect()
    };
    let instance_albs: Vec<&Alb> = albs.iter().filter(|a| a.instance_targets).collect();
    if let Some(cluster) = cluster
        && instance_albs.iter().any(|a| a.controller_manages_rules)
    {
        check_eni_groups(facts, &targets, cluster, f);
    }
    check_node_port_rules(facts, &targets, &instance_albs, f);
    check_overlay_rules(facts, &all, cx, f);
    if cx.controller_uses_imds {
        check_hop_limit(&all, f);
    }
    check_source_dest(&all, cx, f);
}

fn check_subnets(facts: &Facts, albs: &[Alb], cluster: Option<&str>, f: &mut Findings) {
    let (Some(subnets), Some(tables)) = (&facts.subnets, &facts.route_tables) else {
        return;
    };
    let vpc = facts.vpc_id.as_deref().unwrap_or("the VPC");
    let mut done = BTreeSet::new();
    for a in albs {
        if !a.subnets.is_empty() {
            check_given_subnets(subnets, a, vpc, f);
            continue;
        }
        if !done.insert(a.scheme) {
            continue;
        }
        let Some(cluster) = cluster else {
            f.warning(
                &a.field,
                "the subnets the controller would discover were not checked: no cluster name is known (cluster_name, or the controller's --cluster-name).",
                "set cluster_name to the controller's --cluster-name.",
            );
            continue;
        };
        let public = a.scheme == Scheme::InternetFacing;
        let role = if public { ROLE_ELB } else { ROLE_INTERNAL_ELB };
        let (result, how) = discover(subnets, tables, a.scheme, cluster);
        let azs: BTreeSet<&str> = subnets.iter().map(|s| s.az.as_str()).collect();
        let per_az: Vec<String> = azs
            .iter()
            .filter_map(|az| {
                subnets
                    .iter()
                    .filter(|s| s.az == *az && s.available_ips >= MIN_FREE_IPS)
                    .find(|s| eligible_cluster_tag(s, cluster))
                    .map(|s| format!("{} ({az})", s.id))
            })
            .collect();
        match result {
            Err(why) => f.error(
                &a.field,
                format!(
                    "Ingress {} ({}) gets no ALB: the controller finds no subnets for it in {vpc} ({}) and reports \"{why}\" (FailedBuildModel).",
                    a.ingress,
                    a.scheme.as_str(),
                    if how == "role tag" {
                        format!("it takes the subnets tagged {role}, then drops those tagged for other clusters and those with fewer than {MIN_FREE_IPS} free addresses")
                    } else {
                        format!(
                            "no subnet is tagged {role}, and v3.5.0 then takes the subnets whose route table {} an internet gateway",
                            if public { "routes 0.0.0.0/0 to" } else { "has no route to" }
                        )
                    }
                ),
                format!(
                    "tag one subnet in each of at least two availability zones with {role}=1 (and kubernetes.io/cluster/{cluster}=shared), e.g. {}; or give the subnets explicitly (subnets).",
                    if per_az.is_empty() { "the VPC has no subnet with 8 free addresses".into() } else { per_az.join(", ") }
                ),
            ),
            Ok(chosen) if public => {
                let no_igw: Vec<String> = chosen
                    .iter()
                    .filter(|s| !routes_to_igw(&s.id, tables))
                    .map(|s| s.id.clone())
                    .collect();
                if !no_igw.is_empty() {
                    f.warning(
                        &a.field,
                        format!(
                            "the internet-facing ALB of {} would use subnets without a route to an internet gateway: {}. The ALB is created but no client on the internet reaches it.",
                            a.ingress,
                            no_igw.join(", ")
                        ),
                        "route 0.0.0.0/0 of those subnets' route table to the VPC's internet gateway, or move the kubernetes.io/role/elb tag to public subnets.",
                    );
                }
            }
            Ok(_) => {}
        }
    }
}

fn check_given_subnets(subnets: &[Subnet], a: &Alb, vpc: &str, f: &mut Findings) {
    let mut found = Vec::new();
    for want in &a.subnets {
        let hit: Vec<&Subnet> = if want.starts_with("subnet-") {
            subnets.iter().filter(|s| &s.id == want).collect()
        } else {
            subnets
                .iter()
                .filter(|s| s.tags.get("Name") == Some(want))
                .collect()
        };
        if hit.is_empty() {
            f.error(
                &a.field,
                format!(
                    "subnet {want} of Ingress {} does not exist in {vpc}: the controller fails to build the ALB (FailedBuildModel).",
                    a.ingress
                ),
                format!("give subnet IDs or Name tags of {vpc}'s subnets (aws ec2 describe-subnets --filters Name=vpc-id,Values={vpc})."),
            );
        }
        found.extend(hit);
    }
    let azs: BTreeSet<&str> = found.iter().map(|s| s.az.as_str()).collect();
    if !found.is_empty() && azs.len() < 2 && !found.iter().any(|s| s.outpost) {
        f.error(
            &a.field,
            format!(
                "the subnets of Ingress {} lie in {} availability zone: an ALB needs two (\"subnets count less than minimal required count: 1 < 2\").",
                a.ingress,
                azs.len()
            ),
            "add a subnet of a second availability zone to subnets.",
        );
    }
}

fn check_eni_groups(facts: &Facts, targets: &[&Instance], cluster: &str, f: &mut Findings) {
    let tag = cluster_tag(cluster);
    let mut named = 0;
    for i in targets {
        let Some((eni, sgs)) = &i.primary_eni else {
            continue;
        };
        if let Err(tagged) = endpoint_sg(sgs, facts, cluster) {
            named += 1;
            if named > NAMED {
                continue;
            }
            f.error(
                format!("instances[{}]", i.id),
                format!(
                    "ENI {eni} of instance {} has security groups {} and {} of them tagged {tag}: the controller cannot pick the one to open the NodePorts on and fails with \"expected exactly one securityGroup tagged with {tag} for eni {eni}, got: [{}] (clusterName: {cluster})\" (FailedNetworkReconcile); traffic from the ALB is then dropped.",
                    i.id,
                    sgs.join(", "),
                    tagged.len(),
                    tagged.join(" "),
                ),
                if tagged.is_empty() {
                    format!("tag the worker security group (one of {}) with {tag}=owned.", sgs.join(", "))
                } else {
                    format!(
                        "keep {tag} on one of them only: aws ec2 delete-tags --resources {} --tags Key={tag}",
                        tagged[1..].join(" ")
                    )
                },
            );
        }
    }
    if named > NAMED {
        f.error(
            "instances",
            format!("{} more instances have the same security-group tag problem (the first {NAMED} are named above).", named - NAMED),
            format!("tag exactly one security group of each worker ENI with {tag}."),
        );
    }
}

/// With custom `security-groups` and no manage-backend-security-group-rules
/// the controller adds no worker rule (buildTargetGroupBindingNetworking):
/// the worker ENIs' groups must admit the ALB's groups on every NodePort.
fn check_node_port_rules(facts: &Facts, targets: &[&Instance], albs: &[&Alb], f: &mut Findings) {
    for a in albs
        .iter()
        .filter(|a| !a.controller_manages_rules && !a.security_groups.is_empty())
    {
        let alb_sgs: Vec<String> = a
            .security_groups
            .iter()
            .flat_map(|s| {
                facts
                    .named_groups
                    .get(s)
                    .cloned()
                    .unwrap_or_else(|| vec![s.clone()])
            })
            .collect();
        for port in &a.node_ports {
            let closed: Vec<&Instance> = targets
                .iter()
                .copied()
                .filter(|i| {
                    let sgs = i
                        .primary_eni
                        .as_ref()
                        .map(|(_, s)| s.clone())
                        .unwrap_or_default();
                    !admits(facts, &sgs, "tcp", *port, &alb_sgs, None)
                })
                .collect();
            if closed.is_empty() {
                continue;
            }
            let worker_sgs: BTreeSet<String> = closed
                .iter()
                .filter_map(|i| i.primary_eni.as_ref())
                .flat_map(|(_, s)| s.iter().cloned())
                .collect();
            let worker = worker_sgs.iter().next().cloned().unwrap_or_default();
            f.error(
                &a.field,
                format!(
                    "Ingress {} uses its own security groups ({}) and the controller adds no worker rule for them, but the security groups of {} ({}) do not admit tcp {port} from them: the ALB's health checks and requests to NodePort {port} time out (targets unhealthy, 504).",
                    a.ingress,
                    alb_sgs.join(", "),
                    list(&closed.iter().map(|i| i.id.clone()).collect::<Vec<_>>()),
                    worker_sgs.iter().cloned().collect::<Vec<_>>().join(", "),
                ),
                format!(
                    "aws ec2 authorize-security-group-ingress --group-id {worker} --protocol tcp --port {port} --source-group {} (netcheck's security_group_rules has it), or set manage-backend-security-group-rules: \"true\".",
                    alb_sgs.first().cloned().unwrap_or_default()
                ),
            );
        }
    }
}

/// Node to node: UDP vxlan_port for VXLAN, protocol 4 for IPIP, both ways.
/// Instances are grouped by their security groups, so the work grows with
/// the number of distinct group sets, not with instances squared.
fn check_overlay_rules(facts: &Facts, all: &[&Instance], cx: &Context, f: &mut Findings) {
    let (proto, port, what) = match cx.encapsulation.as_deref() {
        Some("vxlan") => ("udp", cx.vxlan_port, format!("UDP {}", cx.vxlan_port)),
        Some("ipip") => ("4", 0, "IP protocol 4 (IPIP)".to_string()),
        _ => return,
    };
    let mut sets: BTreeMap<Vec<String>, Vec<&Instance>> = BTreeMap::new();
    for i in all {
        if let Some((_, sgs)) = &i.primary_eni {
            let mut k = sgs.clone();
            k.sort();
            sets.entry(k).or_default().push(*i);
        }
    }
    for (to_sgs, to) in &sets {
        for (from_sgs, from) in &sets {
            let ip = from[0].private_ip.as_deref().and_then(|s| s.parse().ok());
            // One instance alone in its set needs no rule to itself.
            if to_sgs == from_sgs && from.len() < 2 {
                continue;
            }
            if admits(facts, to_sgs, proto, port, from_sgs, ip) {
                continue;
            }
            let target = to_sgs.first().cloned().unwrap_or_default();
            let source = from_sgs.first().cloned().unwrap_or_default();
            f.error(
                "encapsulation",
                format!(
                    "the security groups of {} ({}) do not admit {what} from the nodes in {} ({}): Calico's overlay between them is dropped, so pods on one node cannot reach pods on the other and the NodePort hop from the ALB fails half the time.",
                    list(&to.iter().map(|i| i.id.clone()).collect::<Vec<_>>()),
                    to_sgs.join(", "),
                    list(&from.iter().map(|i| i.id.clone()).collect::<Vec<_>>()),
                    from_sgs.join(", "),
                ),
                if proto == "udp" {
                    format!("aws ec2 authorize-security-group-ingress --group-id {target} --protocol udp --port {port} --source-group {source} (netcheck's security_group_rules has it).")
                } else {
                    format!("aws ec2 authorize-security-group-ingress --group-id {target} --ip-permissions IpProtocol=4,UserIdGroupPairs=[{{GroupId={source}}}]")
                },
            );
        }
    }
}

/// Without --aws-vpc-id/--aws-region the controller asks instance metadata
/// from its Pod, one hop further than the instance (pkg/aws/cloud.go).
fn check_hop_limit(all: &[&Instance], f: &mut Findings) {
    let low: Vec<&&Instance> = all
        .iter()
        .filter(|i| i.hop_limit.is_some_and(|h| h < 2))
        .collect();
    let (required, optional): (Vec<&&Instance>, Vec<&&Instance>) = low
        .into_iter()
        .partition(|i| i.http_tokens.as_deref() == Some("required"));
    let ids = |v: &[&&Instance]| list(&v.iter().map(|i| i.id.clone()).collect::<Vec<_>>());
    let fix = |v: &[&&Instance]| {
        format!(
            "start the controller with --aws-region and --aws-vpc-id (the alb_controller role does), or raise the hop limit: aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2 --instance-id {}",
            v.first().map(|i| i.id.as_str()).unwrap_or_default()
        )
    };
    if !required.is_empty() {
        f.error(
            "controller_name",
            format!(
                "the controller is started without --aws-vpc-id or --aws-region, so it asks the instance metadata service, but instances {} require IMDSv2 with HttpPutResponseHopLimit 1: the token never reaches a Pod, and the controller exits with \"failed to introspect vpcID from EC2Metadata\".",
                ids(&required)
            ),
            fix(&required),
        );
    }
    if !optional.is_empty() {
        f.warning(
            "controller_name",
            format!(
                "the controller is started without --aws-vpc-id or --aws-region and instances {} have HttpPutResponseHopLimit 1: its Pod gets no IMDSv2 token and falls back to IMDSv1 after a timeout; making IMDSv2 required there stops the controller (\"failed to introspect vpcID from EC2Metadata\").",
                ids(&optional)
            ),
            fix(&optional),
        );
    }
}

/// Pod IPs on the wire unencapsulated (encapsulation none, or CrossSubnet
/// within one subnet) are dropped by EC2 unless source/destination check is
/// off (Calico docs reference/public-cloud/aws).
fn check_source_dest(all: &[&Instance], cx: &Context, f: &mut Findings) {
    let needs: Vec<&&Instance> = match cx.encapsulation.as_deref() {
        Some("none") => all.iter().collect(),
        Some("vxlan" | "ipip") if cx.cross_subnet => {
            let mut per_subnet: BTreeMap<&str, usize> = BTreeMap::new();
            for i in all {
                *per_subnet
                    .entry(i.subnet_id.as_deref().unwrap_or_default())
                    .or_default() += 1;
            }
            all.iter()
                .filter(|i| per_subnet[i.subnet_id.as_deref().unwrap_or_default()] > 1)
                .collect()
        }
        _ => return,
    };
    let on: Vec<String> = needs
        .iter()
        .filter(|i| i.source_dest_check != Some(false))
        .map(|i| i.id.clone())
        .collect();
    if on.is_empty() {
        return;
    }
    let why = if cx.encapsulation.as_deref() == Some("none") {
        "without encapsulation"
    } else {
        "with CrossSubnet, between nodes of one subnet,"
    };
    f.error(
        "encapsulation",
        format!(
            "source/destination check is on for instances {}: {why} pod traffic leaves them with pod IPs as source or destination, which EC2 drops, so pods on different nodes cannot reach each other.",
            list(&on)
        ),
        format!(
            "aws ec2 modify-instance-attribute --no-source-dest-check --instance-id {} (each instance), or let Felix do it: FelixConfiguration awsSrcDstCheck: Disable (needs ec2:ModifyNetworkInterfaceAttribute).",
            on[0]
        ),
    );
}

#[cfg(test)]
mod tests;
