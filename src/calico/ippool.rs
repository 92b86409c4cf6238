//! Calico IPPool (`crd.projectcalico.org/v1`): rendering, every rule Calico
//! applies to a pool (and some it does not), and the decision what to write.
//!
//! The v1 CRD is stored almost unchecked on Calico releases before v3.32, so
//! all of libcalico-go's pool validation is repeated here, before any write.
//! The object carries Calico's defaults explicitly (what calicoctl would
//! store), so an unset vxlanMode cannot silently mean VXLAN (calico#6301).
//!
//! Pure functions only: `plan` needs the options, `decide` the live pools;
//! the module and the CLI do the I/O.

use super::mode::PoolMode;
use crate::kube::Desired;
use crate::net::cidr::{self, Family};
use crate::net::mtu::Encapsulation;
use crate::validate::Findings;
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub const API_VERSION: &str = "crd.projectcalico.org/v1";
pub const KIND: &str = "IPPool";
pub const MODES: &[&str] = PoolMode::NAMES;
pub const USES: &[&str] = AllowedUse::NAMES;
pub const DEFAULT_USES: &[AllowedUse] = &[AllowedUse::Workload, AllowedUse::Tunnel];
pub const DEFAULT_SELECTOR: &str = "all()";

/// One of a pool's `allowedUses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AllowedUse {
    Workload,
    Tunnel,
    LoadBalancer,
}

impl AllowedUse {
    /// The spec's choices, in Calico's spelling (the v3.32 CRD's enum).
    pub const NAMES: &'static [&'static str] = &["Workload", "Tunnel", "LoadBalancer"];

    pub fn as_str(self) -> &'static str {
        match self {
            AllowedUse::Workload => "Workload",
            AllowedUse::Tunnel => "Tunnel",
            AllowedUse::LoadBalancer => "LoadBalancer",
        }
    }
}

impl std::fmt::Display for AllowedUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pool's `assignmentMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AssignmentMode {
    Automatic,
    Manual,
}

impl AssignmentMode {
    /// The spec's choices, in Calico's spelling.
    pub const NAMES: &'static [&'static str] = &["Automatic", "Manual"];

    pub fn as_str(self) -> &'static str {
        match self {
            AssignmentMode::Automatic => "Automatic",
            AssignmentMode::Manual => "Manual",
        }
    }
}

/// `allowedUses` as Calico stores it.
fn uses_value(uses: &[AllowedUse]) -> Value {
    uses.iter().map(|u| json!(u.as_str())).collect()
}

/// Calico's default block size per family (libcalico-go ippool.go).
pub fn default_block_size(f: Family) -> u8 {
    match f {
        Family::V4 => 26,
        Family::V6 => 122,
    }
}

fn block_bounds(f: Family) -> (u8, u8) {
    match f {
        Family::V4 => (20, 32),
        Family::V6 => (116, 128),
    }
}

/// One pool's spec, with every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub cidr: IpNet,
    pub block_size: u8,
    pub vxlan_mode: PoolMode,
    pub ipip_mode: PoolMode,
    pub nat_outgoing: bool,
    pub node_selector: String,
    pub disabled: bool,
    pub disable_bgp_export: bool,
    pub allowed_uses: Vec<AllowedUse>,
    pub assignment_mode: AssignmentMode,
    /// spec.namespaceSelector; omitted when unset, as Calico stores it (omitempty).
    pub namespace_selector: Option<String>,
}

impl Pool {
    /// `spec` as Calico stores it: v3 field names, defaults explicit.
    pub fn spec(&self) -> Value {
        let mut spec = json!({
            "cidr": self.cidr.to_string(),
            "blockSize": self.block_size,
            "vxlanMode": self.vxlan_mode,
            "ipipMode": self.ipip_mode,
            "natOutgoing": self.nat_outgoing,
            "nodeSelector": self.node_selector,
            "disabled": self.disabled,
            "disableBGPExport": self.disable_bgp_export,
            "allowedUses": uses_value(&self.allowed_uses),
            "assignmentMode": self.assignment_mode.as_str(),
        });
        if let Some(ns) = &self.namespace_selector {
            spec["namespaceSelector"] = json!(ns);
        }
        spec
    }

    pub fn object(&self, name: &str) -> Value {
        json!({
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": name},
            "spec": self.spec(),
        })
    }
}

/// The `ippool` module's options (modules/ippool.rs), typed.
#[derive(Debug, Clone, Deserialize)]
pub struct Args {
    pub name: String,
    pub state: crate::kube::State,
    pub cidr: Option<String>,
    pub block_size: Option<i64>,
    /// None: `PoolMode::default_vxlan`.
    pub vxlan_mode: Option<PoolMode>,
    pub ipip_mode: PoolMode,
    pub nat_outgoing: bool,
    pub node_selector: String,
    pub namespace_selector: Option<String>,
    pub disabled: bool,
    pub disable_bgp_export: bool,
    pub allowed_uses: Vec<AllowedUse>,
    pub assignment_mode: AssignmentMode,
    pub migrate: bool,
    pub migrate_name: Option<String>,
    pub vpc_cidrs: Option<Vec<String>>,
    pub service_cidr: Option<String>,
    pub node_cidrs: Option<Vec<String>>,
    pub pod_subnet: Option<String>,
}

/// What the options ask for, validated without a cluster.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub present: bool,
    /// The pool to apply; None when `state: absent`.
    pub pool: Option<Pool>,
    pub migrate: bool,
    /// Name of the pool a migration creates (given or derived).
    pub migrate_name: Option<String>,
    /// `pod_subnet` as given: (text, ranges). None: read kubeadm-config.
    pub pod_subnet: Option<(String, Vec<IpNet>)>,
}

/// Whether a pool mode given as text (spec.vxlanMode, spec.ipipMode)
/// encapsulates at all; unknown text does not.
pub fn mode_on(m: &str) -> bool {
    PoolMode::parse(m).is_some_and(PoolMode::is_on)
}

/// `mode::encapsulation` for modes given as text, unset modes being the
/// seed's (vxlanMode Always, ipipMode Never), for the options not typed yet.
pub fn encapsulation(vxlan_mode: Option<&str>, ipip_mode: Option<&str>) -> Encapsulation {
    let mode =
        |m: Option<&str>, unset| m.map_or(unset, |m| PoolMode::parse(m).unwrap_or(PoolMode::Never));
    super::mode::encapsulation(
        mode(vxlan_mode, PoolMode::Always),
        mode(ipip_mode, PoolMode::Never),
    )
}

/// Why `name` is not a DNS-1123 subdomain (what Calico requires of resource names).
pub fn name_problem(name: &str) -> Option<String> {
    (!crate::kube::names::is_dns_subdomain(name)).then(|| {
        format!(
            "'{name}' is not a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', \
             at most 253 characters, alphanumeric at both ends of each label)"
        )
    })
}

/// The migration target's default name: `<name>-<cidr>` with `.`, `:` and `/` as `-`.
pub fn derived_migrate_name(name: &str, cidr: IpNet) -> String {
    let mut out = format!("{name}-");
    for c in cidr.to_string().chars() {
        let c = if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '-'
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_end_matches('-').to_string()
}

fn parse_list(f: &mut Findings, field: &str, items: &[String]) -> Vec<(String, IpNet)> {
    let (nets, bad) = cidr::parse_list(field, items);
    bad.into_iter().for_each(|x| f.push(x));
    nets
}

/// Comma-separated CIDRs (kubeadm's podSubnet format).
fn parse_subnets(f: &mut Findings, field: &str, s: &str) -> Vec<IpNet> {
    s.split(',')
        .map(str::trim)
        .filter_map(|c| cidr::parse_cidr(field, c).map_err(|x| f.push(x)).ok())
        .collect()
}

/// Validates the options and renders the pool. Every rule that needs no
/// cluster runs here; all findings are returned together.
pub fn plan(p: &Args) -> (Plan, Findings) {
    let mut f = Findings::new();
    let name = p.name.clone();
    if let Some(why) = name_problem(&name) {
        f.error(
            "name",
            format!("{why}: Calico refuses such a pool name."),
            "use a name like default-ipv4-ippool.",
        );
    }
    let present = p.state == crate::kube::State::Present;
    let migrate = p.migrate;
    let mut plan = Plan {
        name: name.clone(),
        present,
        pool: None,
        migrate,
        migrate_name: None,
        pod_subnet: None,
    };
    if !present {
        return (plan, f);
    }

    let cidr = match p.cidr.as_deref() {
        Some(s) => cidr::parse_cidr("cidr", s).map_err(|x| f.push(x)).ok(),
        None => {
            f.error(
                "cidr",
                "cidr is required with state: present: a pool without a range gives no addresses.",
                "set cidr, e.g. cidr: 192.168.0.0/16.",
            );
            None
        }
    };
    let family = cidr.map(cidr::family);

    let block_size = match (p.block_size, family) {
        (Some(b), Some(fam)) => {
            let (lo, hi) = block_bounds(fam);
            if b < lo as i64 || b > hi as i64 {
                f.error(
                    "block_size",
                    format!(
                        "{} block size must be between {lo} and {hi} (got {b}): Calico refuses \
                         the pool, and IPAM could not carve per-node blocks from it.",
                        fam.as_str()
                    ),
                    format!(
                        "use {} (Calico's default) or another value in {lo}-{hi}.",
                        default_block_size(fam)
                    ),
                );
                None
            } else {
                Some(b as u8)
            }
        }
        (None, Some(fam)) => Some(default_block_size(fam)),
        _ => None,
    };
    // Only enabled pools must hold a block: Calico skips the check for
    // disabled ones (libcalico-go/lib/validator/v3/validator.go:
    // validateIPPoolSpec, `if !pool.Disabled`; v3.32 CEL on IPPoolSpec:
    // `(has(self.disabled) && self.disabled) || ...`).
    let disabled = p.disabled;
    if let (Some(net), Some(b)) = (cidr, block_size)
        && net.prefix_len() > b
        && !disabled
    {
        f.error(
            "block_size",
            format!(
                "IP pool size is too small for use with Calico IPAM. It must be equal to or \
                 greater than the block size: cidr {net} is a /{} but blocks are /{b}, so not \
                 even one block fits and no pod gets an address.",
                net.prefix_len()
            ),
            format!(
                "use a cidr of /{b} or larger, or block_size: {} or more.",
                net.prefix_len()
            ),
        );
    }

    let allowed_uses = p.allowed_uses.clone();
    let ipip_mode = p.ipip_mode;
    let vxlan_mode = p.vxlan_mode.unwrap_or_else(|| {
        PoolMode::default_vxlan(ipip_mode, allowed_uses.contains(&AllowedUse::LoadBalancer))
    });
    if vxlan_mode.is_on() && ipip_mode.is_on() {
        f.error(
            "ipip_mode",
            format!(
                "Cannot enable both VXLAN and IPIP on the same IPPool (vxlan_mode: {vxlan_mode}, \
                 ipip_mode: {ipip_mode}): Calico refuses the pool; a node can encapsulate a \
                 pod's packet only one way."
            ),
            "choose one: vxlan_mode: Always with ipip_mode: Never (the seed's overlay), or the reverse.",
        );
    }
    if family == Some(Family::V6) && ipip_mode.is_on() {
        f.error(
            "ipip_mode",
            format!(
                "IPIP is not supported on an IPv6 IP pool (ipip_mode: {ipip_mode}): IP-in-IP \
                 carries IPv4 only, so Calico refuses the pool."
            ),
            "set ipip_mode: Never and use vxlan_mode: Always for IPv6 pools.",
        );
    }
    if let Some(net) = cidr {
        cidr::check_not_link_local("cidr", net, &mut f);
    }

    let node_selector = p.node_selector.clone();
    if let Err(x) = crate::calico::selector::validate_selector("node_selector", &node_selector) {
        f.push(x);
    }

    let namespace_selector = p.namespace_selector.clone().filter(|s| !s.is_empty());
    if let Some(ns) = &namespace_selector
        && let Err(x) = crate::calico::selector::validate_selector("namespace_selector", ns)
    {
        f.push(x);
    }
    let disable_bgp_export = p.disable_bgp_export;

    check_uses(&allowed_uses, vxlan_mode, ipip_mode, &mut f);
    check_use_fields(
        &allowed_uses,
        &node_selector,
        disable_bgp_export,
        namespace_selector.as_deref(),
        &mut f,
    );

    let nat_outgoing = p.nat_outgoing;
    if !nat_outgoing && (vxlan_mode.is_on() || ipip_mode.is_on()) {
        f.warning(
            "nat_outgoing",
            "natOutgoing is off on an overlay pool: pod traffic to the internet or to VPC \
             services leaves with a pod address the VPC has no route back to, so replies are lost.",
            "set nat_outgoing: true (Calico recommends it for every VXLAN or IPIP pool).",
        );
    }
    let lb_only = allowed_uses.iter().all(|u| *u == AllowedUse::LoadBalancer);
    if lb_only {
        // Service addresses, not pod traffic: the encapsulation rules do not apply.
    } else if !vxlan_mode.is_on() && !ipip_mode.is_on() {
        f.warning(
            "vxlan_mode",
            "no encapsulation (vxlan_mode and ipip_mode Never): pod packets go on the wire with \
             pod addresses, which EC2 drops while the instances' source/destination check is \
             on, and which no VPC route table knows.",
            "use vxlan_mode: Always (the seed's overlay), or disable the source/destination \
             check (cni module: aws_src_dst_check: Disable) and route the pool in the VPC.",
        );
    } else if vxlan_mode == PoolMode::CrossSubnet || ipip_mode == PoolMode::CrossSubnet {
        f.warning(
            "vxlan_mode",
            "CrossSubnet sends pod packets unencapsulated between nodes of one subnet, which \
             EC2 drops while the instances' source/destination check is on.",
            "disable the check (cni module: aws_src_dst_check: Disable), or use Always.",
        );
    }

    // Ranges the pool must not share addresses with.
    let vpcs = parse_list(
        &mut f,
        "vpc_cidrs",
        p.vpc_cidrs.as_deref().unwrap_or_default(),
    );
    let nodes = parse_list(
        &mut f,
        "node_cidrs",
        p.node_cidrs.as_deref().unwrap_or_default(),
    );
    let service = p.service_cidr.as_deref().and_then(|s| {
        cidr::parse_cidr("service_cidr", s)
            .map_err(|x| f.push(x))
            .ok()
    });
    if let Some(net) = cidr {
        let labelled: Vec<(&str, IpNet)> = vpcs.iter().map(|(l, n)| (l.as_str(), *n)).collect();
        cidr::check_not_in_vpc("cidr", net, &labelled, &mut f);
        if let Some(s) = service {
            cidr::check_no_overlap(
                "cidr",
                net,
                &[("service_cidr", s)],
                "a pod could get the same address as a Service ClusterIP, and kube-proxy \
                 would intercept traffic meant for the pod.",
                &mut f,
            );
        }
        let node_refs: Vec<(&str, IpNet)> = nodes.iter().map(|(l, n)| (l.as_str(), *n)).collect();
        cidr::check_no_overlap(
            "cidr",
            net,
            &node_refs,
            "Calico could give a node's own address to a pod, and traffic to that node would \
             be routed to the pod instead.",
            &mut f,
        );
    }

    if let Some(s) = p.pod_subnet.as_deref() {
        let nets = parse_subnets(&mut f, "pod_subnet", s);
        if let Some(net) = cidr {
            check_in_pod_subnet(net, s, &nets, "pod_subnet", true, &mut f);
        }
        plan.pod_subnet = Some((s.to_string(), nets));
    }

    if migrate && let Some(net) = cidr {
        let m = p
            .migrate_name
            .clone()
            .unwrap_or_else(|| derived_migrate_name(&name, net));
        if let Some(why) = name_problem(&m) {
            f.error(
                "migrate_name",
                format!("{why}: Calico refuses such a pool name."),
                "give migrate_name a name like default-ipv4-ippool-2.",
            );
        } else if m == name {
            f.error(
                "migrate_name",
                format!(
                    "migrate_name is the pool's own name '{name}': a migration creates a second \
                     pool next to the old one, so it needs another name."
                ),
                "omit migrate_name (netpath derives one from the new cidr) or choose another name.",
            );
        }
        plan.migrate_name = Some(m);
    }

    if let (Some(cidr), Some(block_size)) = (cidr, block_size) {
        plan.pool = Some(Pool {
            cidr,
            block_size,
            vxlan_mode,
            ipip_mode,
            nat_outgoing,
            node_selector,
            disabled,
            disable_bgp_export,
            allowed_uses,
            assignment_mode: p.assignment_mode,
            namespace_selector,
        });
    }
    (plan, f)
}

/// allowedUses rules (Calico's CEL rules from v3.32, and libcalico-go before).
fn check_uses(uses: &[AllowedUse], vxlan: PoolMode, ipip: PoolMode, f: &mut Findings) {
    if uses.is_empty() {
        f.error(
            "allowed_uses",
            "allowed_uses is empty: the pool could be used for nothing, so no pod or tunnel \
             gets an address from it.",
            "omit allowed_uses (Workload and Tunnel), or list the uses.",
        );
        return;
    }
    let lb = uses.contains(&AllowedUse::LoadBalancer);
    if lb
        && uses
            .iter()
            .any(|u| matches!(u, AllowedUse::Workload | AllowedUse::Tunnel))
    {
        f.error(
            "allowed_uses",
            "LoadBalancer cannot be combined with Workload or Tunnel allowed uses: Calico \
             refuses the pool, since LoadBalancer addresses are handed to Services, not pods.",
            "use a separate pool for LoadBalancer addresses.",
        );
    }
    if lb && (vxlan.is_on() || ipip.is_on()) {
        f.error(
            "allowed_uses",
            "LoadBalancer IP pool cannot have IPIP or VXLAN enabled: Calico refuses the pool, \
             because Service addresses are advertised, not tunnelled.",
            "set vxlan_mode: Never and ipip_mode: Never on the LoadBalancer pool.",
        );
    }
    let mut seen = Vec::new();
    for u in uses {
        if seen.contains(&u) {
            f.error(
                "allowed_uses",
                format!(
                    "{u} is listed twice; allowedUses is a set, so the server refuses duplicates."
                ),
                "list each use once.",
            );
        }
        seen.push(u);
    }
}

/// Fields Calico forbids for some uses: a LoadBalancer pool is advertised
/// from every node, and tunnel addresses belong to nodes, not namespaces.
/// Texts: the v3.32 CEL rules on IPPoolSpec
/// (api/pkg/apis/projectcalico/v3/ippool.go), which replaced the checks of
/// libcalico-go/lib/validator/v3/validator.go: validateIPPoolSpec.
fn check_use_fields(
    uses: &[AllowedUse],
    node_selector: &str,
    disable_bgp_export: bool,
    namespace_selector: Option<&str>,
    f: &mut Findings,
) {
    let lb = uses.contains(&AllowedUse::LoadBalancer);
    // validateIPPoolSpec: `isLoadBalancer && pool.DisableBGPExport`.
    if lb && disable_bgp_export {
        f.error(
            "disable_bgp_export",
            "LoadBalancer IP pools cannot disable BGP export: Calico refuses the pool, since \
             Service LoadBalancer addresses reach clients only through the routes BGP \
             advertises.",
            "set disable_bgp_export: false on the LoadBalancer pool.",
        );
    }
    // validateIPPoolSpec: `isLoadBalancer && pool.NodeSelector != "all()"`.
    if lb && node_selector != DEFAULT_SELECTOR {
        f.error(
            "node_selector",
            format!(
                "IP Pool with AllowedUse LoadBalancer must have nodeSelector set to all() (it \
                 is {node_selector:?}): Calico refuses the pool, since LoadBalancer addresses \
                 are not per-node."
            ),
            "omit node_selector (all()) on the LoadBalancer pool.",
        );
    }
    // validateIPPoolSpec: `hasTunnelUse && pool.NamespaceSelector != ""`.
    if let Some(ns) = namespace_selector
        && uses.contains(&AllowedUse::Tunnel)
    {
        f.error(
            "namespace_selector",
            format!(
                "IP Pool with AllowedUse Tunnel cannot have namespaceSelector ({ns:?}): tunnel \
                 IPs are not namespaced resources, so Calico refuses the pool."
            ),
            "set allowed_uses: [Workload] on a pool with namespace_selector, and keep a \
             separate pool for Tunnel addresses.",
        );
    }
}

/// The pool must lie in a same-family range of the platform's pod network.
fn check_in_pod_subnet(
    net: IpNet,
    text: &str,
    subnets: &[IpNet],
    field: &str,
    explicit: bool,
    f: &mut Findings,
) {
    let same: Vec<&IpNet> = subnets
        .iter()
        .filter(|s| cidr::family(**s) == cidr::family(net))
        .collect();
    if same.is_empty() {
        if explicit && !subnets.is_empty() {
            f.error(
                "cidr",
                format!(
                    "{field} ({text}) has no {} range, so the {} pool {net} cannot lie in the \
                     platform's pod network: nodes get no podCIDR of that family.",
                    cidr::family(net).as_str(),
                    cidr::family(net).as_str()
                ),
                format!(
                    "add the pool's range to {field}, or use a pool of the family {field} has."
                ),
            );
        }
        return;
    }
    if !same.iter().any(|s| cidr::contains(**s, net)) {
        f.error(
            "cidr",
            format!(
                "IPPool {net} is not within the platform's configured pod network CIDR(s) \
                 [{text}] ({field}): kube-controller-manager gives nodes podCIDRs that do not \
                 match the pods' addresses, the Tigera operator marks itself Degraded, and \
                 tools that trust the podSubnet (kube-proxy --cluster-cidr) treat pod traffic \
                 as external."
            ),
            format!(
                "choose a cidr inside {text}, or change the cluster's pod network \
                 (kubeadm networking.podSubnet) first."
            ),
        );
    }
}

/// `data.ClusterConfiguration` of kube-system/kubeadm-config → networking.podSubnet.
pub fn kubeadm_pod_subnet(cm: &Value) -> Option<String> {
    let text = cm["data"]["ClusterConfiguration"].as_str()?;
    let cfg: Value = serde_saphyr::from_str(text).ok()?;
    cfg["networking"]["podSubnet"]
        .as_str()
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
}

/// Live state `decide` needs: every IPPool, and kube-system/kubeadm-config if any.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub pools: Vec<Value>,
    pub kubeadm_config: Option<Value>,
}

/// Calico's create-and-disable migration, for the module's `migration` return.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    pub old_name: String,
    pub old_cidr: String,
    pub old_block_size: i64,
    pub new_name: String,
    pub new_cidr: String,
    pub new_block_size: i64,
}

impl Migration {
    /// The plan as returned: what was (or would be) done, and what is left
    /// for the operator.
    pub fn report(&self, check_mode: bool) -> Value {
        let status = if check_mode { "planned" } else { "done" };
        json!({
            "from": {"name": self.old_name, "cidr": self.old_cidr, "block_size": self.old_block_size},
            "to": {"name": self.new_name, "cidr": self.new_cidr, "block_size": self.new_block_size},
            "steps": [
                {"step": format!("create IPPool {} ({}, blockSize {})", self.new_name, self.new_cidr, self.new_block_size), "status": status},
                {"step": format!("disable IPPool {} (disabled: true): no new addresses from {}", self.old_name, self.old_cidr), "status": status},
            ],
            "remaining": [
                format!("Recreate every pod that still has an address in {} (kubectl rollout restart of each Deployment, DaemonSet and StatefulSet); new pods get addresses from {}.", self.old_cidr, self.new_cidr),
                format!("When no address of {} is in use (calicoctl ipam show --show-blocks), delete the old pool: netpath.calico_alb.ippool with name: {} and state: absent.", self.old_cidr, self.old_name),
                format!("Change this task to name: {} so later runs manage the new pool without migrate.", self.new_name),
            ],
        })
    }
}

/// What to write, in order: each step is one engine call that completes
/// before the next (Calico's order: the new pool exists before the old one
/// is disabled).
#[derive(Debug, Clone)]
pub struct Decision {
    pub steps: Vec<Vec<Desired>>,
    /// Name of the pool that carries the requested spec after the run.
    pub target: String,
    pub migration: Option<Migration>,
}

/// The live spec with Calico's defaults filled in, for comparison. The
/// encapsulation modes are left as they are: an unset mode meant VXLAN on
/// some Calico releases, so it never counts as equal.
pub fn effective_spec(spec: &Value) -> Map<String, Value> {
    let mut m = spec.as_object().cloned().unwrap_or_default();
    let fam = spec["cidr"]
        .as_str()
        .and_then(|c| c.parse::<IpNet>().ok())
        .map(cidr::family)
        .unwrap_or(Family::V4);
    let defaults = [
        ("blockSize", json!(default_block_size(fam))),
        ("nodeSelector", json!(DEFAULT_SELECTOR)),
        ("allowedUses", uses_value(DEFAULT_USES)),
        ("assignmentMode", json!(AssignmentMode::Automatic.as_str())),
        ("natOutgoing", json!(false)),
        ("disabled", json!(false)),
        ("disableBGPExport", json!(false)),
    ];
    for (k, v) in defaults {
        if m.get(k).is_none_or(Value::is_null) {
            m.insert(k.to_string(), v);
        }
    }
    m
}

fn same_set(a: &Value, b: &Value) -> bool {
    match (a.as_array(), b.as_array()) {
        (Some(x), Some(y)) => {
            x.len() == y.len() && x.iter().all(|v| y.contains(v)) && y.iter().all(|v| x.contains(v))
        }
        _ => false,
    }
}

/// Same network: canonical forms equal ("fd00::0/48" is "fd00::/48").
fn same_cidr(a: &Value, b: &Value) -> bool {
    let net = |v: &Value| v.as_str()?.parse::<IpNet>().ok().map(|n| n.trunc());
    net(a).is_some() && net(a) == net(b)
}

/// The object to hand the apply engine for `desired`, given the live pool.
///
/// When the live pool already means the same as `desired` (Calico's defaults
/// counted), fields absent live are left out, so the engine sees no
/// difference and writes nothing: a pool created by kubectl or calicoctl with
/// the same settings stays untouched. Otherwise the full explicit spec is
/// sent. Either way the live spelling of an equal cidr and the live order of
/// allowedUses are kept (Calico v3.32 refuses any change of the cidr text).
pub fn for_apply(desired: &Value, live: Option<&Value>) -> Value {
    let Some(live) = live else {
        return desired.clone();
    };
    let mut out = desired.clone();
    let live_spec = &live["spec"];
    let eff = effective_spec(live_spec);
    let Some(spec) = out["spec"].as_object_mut() else {
        return out;
    };
    if let Some(c) = live_spec.get("cidr")
        && same_cidr(&spec["cidr"], c)
    {
        spec.insert("cidr".into(), c.clone());
    }
    if let Some(u) = live_spec.get("allowedUses")
        && same_set(&spec["allowedUses"], u)
    {
        spec.insert("allowedUses".into(), u.clone());
    }
    // A namespaceSelector the task does not set is cleared, not kept; once
    // cleared, "" keeps being sent so the next run is a no-op.
    if !spec.contains_key("namespaceSelector") && live_spec["namespaceSelector"].is_string() {
        spec.insert("namespaceSelector".into(), json!(""));
    }
    let equal = spec.iter().all(|(k, v)| match k.as_str() {
        "allowedUses" => eff.get(k).is_some_and(|l| same_set(v, l)),
        _ => eff
            .get(k)
            .is_some_and(|l| crate::kube::diff::is_subset(v, l)),
    });
    if equal {
        spec.retain(|k, _| live_spec.get(k).is_some_and(|v| !v.is_null()));
    }
    out
}

fn pool_cidr(p: &Value) -> Option<IpNet> {
    p["spec"]["cidr"]
        .as_str()?
        .parse::<IpNet>()
        .ok()
        .map(|n| n.trunc())
}

fn pool_name(p: &Value) -> &str {
    p["metadata"]["name"].as_str().unwrap_or_default()
}

fn live_block_size(p: &Value) -> i64 {
    effective_spec(&p["spec"])["blockSize"]
        .as_i64()
        .unwrap_or(0)
}

/// Whether the live pool `live` has the same cidr and blockSize as `pool`
/// (Calico's immutable fields; cidr compared canonically).
fn immutable_equal(pool: &Pool, live: &Value) -> bool {
    pool_cidr(live) == Some(pool.cidr) && live_block_size(live) == pool.block_size as i64
}

/// Runs the rules that need live state (other pools, kubeadm's podSubnet,
/// immutable fields) and decides what to write.
pub fn decide(plan: &Plan, live: &Live) -> (Option<Decision>, Findings) {
    let mut f = Findings::new();
    let find = |name: &str| live.pools.iter().find(|p| pool_name(p) == name);
    let current = find(&plan.name);

    if !plan.present {
        if let Some(cur) = current
            && !cur["spec"]["disabled"].as_bool().unwrap_or(false)
        {
            f.warning(
                "state",
                format!(
                    "IPPool {} is deleted while enabled: pods keep addresses from {} that no \
                     pool owns any more, and IPAM may hand them out again.",
                    plan.name,
                    cur["spec"]["cidr"].as_str().unwrap_or("?")
                ),
                "disable the pool first (disabled: true, or a migration), recreate its pods, then delete it.",
            );
        }
        let obj = json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": plan.name}});
        return (
            Some(Decision {
                steps: vec![vec![Desired::absent(obj)]],
                target: plan.name.clone(),
                migration: None,
            }),
            f,
        );
    }
    let Some(pool) = &plan.pool else {
        return (None, f);
    };

    // Immutable fields of the pool that has this name.
    let mut migration = None;
    let mut target = plan.name.clone();
    if let Some(cur) = current
        && !immutable_equal(pool, cur)
    {
        let old_cidr = cur["spec"]["cidr"].as_str().unwrap_or("?").to_string();
        let old_bs = live_block_size(cur);
        let what = if pool_cidr(cur) != Some(pool.cidr) {
            "cidr"
        } else {
            "block_size"
        };
        if !plan.migrate {
            let next = derived_migrate_name(&plan.name, pool.cidr);
            f.error(
                what,
                format!(
                    "IPPool {} exists with cidr {old_cidr} and blockSize {old_bs}, and the task \
                     asks for {} with blockSize {}. Calico forbids changing either (\"IPPool CIDR \
                     cannot be modified\", \"IPPool BlockSize cannot be modified\"; the v3.32 CRD \
                     also refuses it): every allocation block and pod address already handed \
                     out belongs to the old range, so an in-place change corrupts IPAM.",
                    plan.name, pool.cidr, pool.block_size
                ),
                format!(
                    "keep cidr: {old_cidr} and block_size: {old_bs}, or set migrate: true for \
                     Calico's migration: netpath creates pool {next} with the new settings and \
                     disables {}; you then recreate the pods and delete {} with state: absent.",
                    plan.name, plan.name
                ),
            );
        } else if let Some(new_name) = &plan.migrate_name {
            target = new_name.clone();
            migration = Some(Migration {
                old_name: plan.name.clone(),
                old_cidr,
                old_block_size: old_bs,
                new_name: new_name.clone(),
                new_cidr: pool.cidr.to_string(),
                new_block_size: pool.block_size as i64,
            });
        }
    }
    let target_live = find(&target);
    if migration.is_some()
        && let Some(t) = target_live
        && !immutable_equal(pool, t)
    {
        f.error(
            "migrate_name",
            format!(
                "IPPool {target} (the migration's new pool) already exists with cidr {} and \
                 blockSize {}, not {} and {}: its cidr and blockSize cannot change either.",
                t["spec"]["cidr"].as_str().unwrap_or("?"),
                live_block_size(t),
                pool.cidr,
                pool.block_size
            ),
            "give migrate_name a name no pool has.",
        );
    }

    // No other pool may share addresses with this one (Calico checks this on
    // create only, and with v1 CRDs not at all). The old pool of a migration
    // counts too: Calico cannot hold two pools over one range.
    for other in &live.pools {
        let oname = pool_name(other);
        if oname == target {
            continue;
        }
        let Some(onet) = pool_cidr(other) else {
            continue;
        };
        if !cidr::overlaps(pool.cidr, onet) {
            continue;
        }
        let (problem, fix) = if migration.as_ref().is_some_and(|m| m.old_name == oname) {
            (
                format!(
                    "IPPool({target}) CIDR overlaps with IPPool({oname}) CIDR {onet}: the new \
                     pool of a migration must not overlap the old one, since Calico cannot \
                     hold two pools (or two block sizes) over one range."
                ),
                format!(
                    "migrate in two steps as Calico documents for block-size changes: first to \
                     a temporary range outside {onet} (migrate: true, cidr: <temporary>), \
                     recreate the pods and delete {oname}; then migrate to the final cidr and \
                     block_size the same way."
                ),
            )
        } else if onet == pool.cidr {
            (
                format!(
                    "IPPool({target}) CIDR overlaps with IPPool({oname}) CIDR {onet}: pool \
                     {oname} already has exactly this range, so Calico would refuse a second \
                     pool over it and IPAM would hand out the same addresses twice."
                ),
                format!(
                    "to manage that pool, set name: {oname} (e.g. after a migration); otherwise \
                     choose another cidr."
                ),
            )
        } else {
            (
                format!(
                    "IPPool({target}) CIDR overlaps with IPPool({oname}) CIDR {onet}: Calico \
                     refuses overlapping pools, and IPAM could hand the same address to two \
                     pods."
                ),
                format!("choose a cidr that shares no address with {onet}."),
            )
        };
        f.error("cidr", problem, fix);
    }

    // The platform's pod network, when the task did not name it.
    if plan.pod_subnet.is_none()
        && let Some(cm) = &live.kubeadm_config
        && let Some(s) = kubeadm_pod_subnet(cm)
    {
        let mut scratch = Findings::new();
        let nets = parse_subnets(&mut scratch, "pod_subnet", &s);
        check_in_pod_subnet(
            pool.cidr,
            &s,
            &nets,
            "kubeadm networking.podSubnet in kube-system/kubeadm-config",
            false,
            &mut f,
        );
    }

    let mut steps = vec![vec![Desired::present(for_apply(
        &pool.object(&target),
        target_live,
    ))]];
    if let (Some(m), Some(cur)) = (&migration, current) {
        // The old pool as it is, plus disabled: true. Only its own fields are
        // sent back, so nothing else about it changes.
        let mut old = json!({
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": m.old_name},
            "spec": cur["spec"].clone(),
        });
        old["spec"]["disabled"] = json!(true);
        steps.push(vec![Desired::present(old)]);
    }
    (
        Some(Decision {
            steps,
            target,
            migration,
        }),
        f,
    )
}

/// For the CLI (no cluster): the IPPool object the options render to (for
/// `state: absent`, the object to delete), or every finding when any rule is
/// broken. `Ok` carries the warnings.
pub fn render(p: &Args) -> Result<(Value, Findings), Findings> {
    let (plan, f) = plan(p);
    if f.has_errors() {
        return Err(f);
    }
    match plan.pool {
        Some(pool) => Ok((pool.object(&plan.name), f)),
        None => Ok((
            json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": plan.name}}),
            f,
        )),
    }
}

#[cfg(test)]
mod tests;
