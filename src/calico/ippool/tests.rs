//! Each rule: one case that obeys it, one that breaks it with its message.

use super::*;
use crate::modules::ippool::MODULE;
use crate::protocol::spec;
use crate::validate::Severity;

/// Options as the module receives them: coerced, defaults filled in.
fn params(v: Value) -> Args {
    spec::validate(
        "ippool",
        MODULE.options,
        &MODULE.constraints,
        v.as_object().unwrap(),
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e:?}"))
    .typed()
    .unwrap()
}

fn seed(extra: Value) -> Args {
    let mut v = json!({"cidr": "192.168.0.0/16"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    params(v)
}

fn errors(f: &Findings) -> Vec<String> {
    f.errors().map(ToString::to_string).collect()
}

/// Asserts exactly one error, at `field`, whose text contains `needle`.
fn broken(p: &Args, field: &str, needle: &str) {
    let (_, f) = plan(p);
    let e: Vec<&crate::validate::Finding> = f.errors().collect();
    assert!(
        e.iter()
            .any(|x| x.field == field && x.to_string().contains(needle)),
        "want {field}: {needle}, got {:#?}",
        errors(&f)
    );
}

fn ok(p: &Args) -> Plan {
    let (plan, f) = plan(p);
    assert!(!f.has_errors(), "{:#?}", errors(&f));
    plan
}

#[test]
fn seed_pool_renders_as_calico_stores_it() {
    let plan = ok(&seed(json!({})));
    let obj = plan.pool.unwrap().object(&plan.name);
    assert_eq!(
        obj,
        json!({
            "apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
            "metadata": {"name": "default-ipv4-ippool"},
            "spec": {"cidr": "192.168.0.0/16", "blockSize": 26, "vxlanMode": "Always",
                "ipipMode": "Never", "natOutgoing": true, "nodeSelector": "all()",
                "disabled": false, "disableBGPExport": false,
                "allowedUses": ["Workload", "Tunnel"], "assignmentMode": "Automatic"}
        })
    );
    let (rendered, warnings) = render(&seed(json!({}))).unwrap();
    assert_eq!(rendered, obj);
    assert!(warnings.0.is_empty(), "{warnings:?}");
}

#[test]
fn ipip_asked_for_turns_the_default_vxlan_off() {
    let plan = ok(&seed(json!({"ipip_mode": "Always"})));
    let pool = plan.pool.unwrap();
    assert_eq!(
        (pool.vxlan_mode.as_str(), pool.ipip_mode.as_str()),
        ("Never", "Always")
    );
}

#[test]
fn ipv6_defaults_block_size_122() {
    let plan = ok(&params(json!({"cidr": "fd00:10::/48"})));
    assert_eq!(plan.pool.unwrap().block_size, 122);
}

#[test]
fn cidr_must_be_strictly_masked() {
    ok(&seed(json!({"cidr": "192.168.0.0/16"})));
    broken(
        &seed(json!({"cidr": "192.168.1.0/16"})),
        "cidr",
        "IPPool CIDR is not strictly masked",
    );
    broken(
        &seed(json!({"cidr": "not-a-cidr"})),
        "cidr",
        "is not a valid CIDR",
    );
}

#[test]
fn block_size_bounds_per_family() {
    ok(&seed(json!({"block_size": 20})));
    ok(&seed(json!({"block_size": 32})));
    broken(
        &seed(json!({"block_size": 19})),
        "block_size",
        "IPv4 block size must be between 20 and 32",
    );
    broken(
        &seed(json!({"block_size": 33})),
        "block_size",
        "IPv4 block size must be between 20 and 32",
    );
    ok(&params(json!({"cidr": "fd00:10::/48", "block_size": 116})));
    broken(
        &params(json!({"cidr": "fd00:10::/48", "block_size": 64})),
        "block_size",
        "IPv6 block size must be between 116 and 128",
    );
}

#[test]
fn pool_at_least_one_block() {
    ok(&seed(json!({"cidr": "10.64.0.0/26", "block_size": 26})));
    broken(
        &seed(json!({"cidr": "10.64.0.0/27", "block_size": 26})),
        "block_size",
        "IP pool size is too small for use with Calico IPAM",
    );
}

/// Calico skips the size check for a disabled pool (validateIPPoolSpec:
/// `if !pool.Disabled`), so a small disabled pool is valid.
#[test]
fn a_disabled_pool_may_be_smaller_than_a_block() {
    let plan = ok(&seed(
        json!({"cidr": "10.64.0.0/28", "block_size": 26, "disabled": true}),
    ));
    assert_eq!(plan.pool.unwrap().spec()["disabled"], true);
    broken(
        &seed(json!({"cidr": "10.64.0.0/28", "block_size": 26, "disabled": false})),
        "block_size",
        "IP pool size is too small for use with Calico IPAM",
    );
}

/// LoadBalancer pools: BGP export on, nodeSelector all() (validateIPPoolSpec).
#[test]
fn loadbalancer_pools_export_bgp_from_every_node() {
    let lb = |extra: Value| {
        let mut v = json!({"cidr": "10.200.0.0/24", "allowed_uses": ["LoadBalancer"]});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        params(v)
    };
    ok(&lb(
        json!({"node_selector": "all()", "disable_bgp_export": false}),
    ));
    broken(
        &lb(json!({"disable_bgp_export": true})),
        "disable_bgp_export",
        "LoadBalancer IP pools cannot disable BGP export",
    );
    broken(
        &lb(json!({"node_selector": "zone == 'a'"})),
        "node_selector",
        "IP Pool with AllowedUse LoadBalancer must have nodeSelector set to all()",
    );
    // Workload pools may do both.
    ok(&seed(
        json!({"disable_bgp_export": true, "node_selector": "zone == 'a'"}),
    ));
}

#[test]
fn namespace_selector_syntax_and_uses() {
    let plan = ok(&seed(
        json!({"namespace_selector": "team == 'web'", "allowed_uses": ["Workload"]}),
    ));
    assert_eq!(
        plan.pool.unwrap().spec()["namespaceSelector"],
        "team == 'web'"
    );
    // Unset: not written at all, as Calico stores it (omitempty).
    let plan = ok(&seed(json!({})));
    assert!(plan.pool.unwrap().spec().get("namespaceSelector").is_none());
    broken(
        &seed(json!({"namespace_selector": "team == web", "allowed_uses": ["Workload"]})),
        "namespace_selector",
        "",
    );
    broken(
        &seed(json!({"namespace_selector": "global()", "allowed_uses": ["Workload"]})),
        "namespace_selector",
        "global() is not allowed",
    );
    // The default uses include Tunnel.
    broken(
        &seed(json!({"namespace_selector": "team == 'web'"})),
        "namespace_selector",
        "IP Pool with AllowedUse Tunnel cannot have namespaceSelector",
    );
}

/// A namespaceSelector the task no longer sets is cleared on the live pool;
/// a pool that never had one is left alone.
#[test]
fn a_dropped_namespace_selector_is_cleared() {
    let spec = json!({"cidr": "192.168.0.0/16", "ipipMode": "Never", "vxlanMode": "Always",
        "natOutgoing": true, "allowedUses": ["Workload"]});
    let mut with = spec.clone();
    with["namespaceSelector"] = json!("team == 'web'");
    let task = seed(json!({"allowed_uses": ["Workload"]}));
    let (d, _) = decided(&task, &live(vec![pool_obj("default-ipv4-ippool", with)]));
    assert_eq!(d.steps[0][0].object["spec"]["namespaceSelector"], "");
    let (d, _) = decided(
        &task,
        &live(vec![pool_obj("default-ipv4-ippool", spec.clone())]),
    );
    let sent = &d.steps[0][0].object;
    assert!(sent["spec"].get("namespaceSelector").is_none(), "{sent}");
    assert!(crate::kube::diff::is_subset(&sent["spec"], &spec), "{sent}");
}

#[test]
fn vxlan_and_ipip_not_both() {
    ok(&seed(
        json!({"vxlan_mode": "CrossSubnet", "ipip_mode": "Never"}),
    ));
    broken(
        &seed(json!({"vxlan_mode": "Always", "ipip_mode": "CrossSubnet"})),
        "ipip_mode",
        "Cannot enable both VXLAN and IPIP on the same IPPool",
    );
}

#[test]
fn no_ipip_on_ipv6() {
    ok(&params(
        json!({"cidr": "fd00:10::/48", "vxlan_mode": "Always"}),
    ));
    broken(
        &params(json!({"cidr": "fd00:10::/48", "vxlan_mode": "Never", "ipip_mode": "Always"})),
        "ipip_mode",
        "IPIP is not supported on an IPv6 IP pool",
    );
}

#[test]
fn not_link_local() {
    ok(&seed(json!({"cidr": "169.0.0.0/16"})));
    broken(
        &seed(json!({"cidr": "169.254.0.0/20"})),
        "cidr",
        "IPPool CIDR overlaps with IPv4 Link Local range 169.254.0.0/16",
    );
}

#[test]
fn no_overlap_with_vpc_service_or_nodes() {
    ok(&seed(
        json!({"vpc_cidrs": ["10.0.0.0/16"], "service_cidr": "10.96.0.0/12",
        "node_cidrs": ["10.0.1.0/24"]}),
    ));
    broken(
        &seed(json!({"vpc_cidrs": ["10.0.0.0/16", "192.168.128.0/20"]})),
        "cidr",
        "192.168.0.0/16 contains vpc_cidrs[1] (192.168.128.0/20)",
    );
    broken(
        &seed(json!({"service_cidr": "192.168.0.0/24"})),
        "cidr",
        "contains service_cidr (192.168.0.0/24): a pod could get the same address as a Service ClusterIP",
    );
    broken(
        &seed(json!({"node_cidrs": ["192.168.10.0/24"]})),
        "cidr",
        "contains node_cidrs[0]",
    );
    broken(
        &seed(json!({"vpc_cidrs": ["10.0.0.1/16"]})),
        "vpc_cidrs[0]",
        "not strictly masked",
    );
}

#[test]
fn inside_pod_subnet_when_given() {
    ok(&seed(json!({"pod_subnet": "192.168.0.0/16"})));
    ok(&seed(json!({"pod_subnet": "fd00::/48,192.168.0.0/15"})));
    broken(
        &seed(json!({"pod_subnet": "10.244.0.0/16"})),
        "cidr",
        "IPPool 192.168.0.0/16 is not within the platform's configured pod network CIDR(s) [10.244.0.0/16] (pod_subnet)",
    );
    broken(
        &seed(json!({"pod_subnet": "fd00::/48"})),
        "cidr",
        "has no IPv4 range",
    );
}

#[test]
fn node_selector_syntax() {
    ok(&seed(
        json!({"node_selector": "kubernetes.io/os == 'linux'"}),
    ));
    broken(
        &seed(json!({"node_selector": "kubernetes.io/os = linux"})),
        "node_selector",
        "invalid selector",
    );
}

#[test]
fn allowed_uses_rules() {
    ok(&seed(json!({"allowed_uses": ["Workload"]})));
    ok(&seed(
        json!({"allowed_uses": ["LoadBalancer"], "vxlan_mode": "Never"}),
    ));
    broken(
        &seed(json!({"allowed_uses": ["LoadBalancer", "Workload"], "vxlan_mode": "Never"})),
        "allowed_uses",
        "LoadBalancer cannot be combined with Workload or Tunnel",
    );
    let (_, f) = plan(&seed(json!({"allowed_uses": ["LoadBalancer"]})));
    assert!(f.0.is_empty(), "{f:?}");
    broken(
        &seed(json!({"allowed_uses": ["LoadBalancer"], "vxlan_mode": "Always"})),
        "allowed_uses",
        "LoadBalancer IP pool cannot have IPIP or VXLAN enabled",
    );
    broken(
        &seed(json!({"allowed_uses": []})),
        "allowed_uses",
        "allowed_uses is empty",
    );
    broken(
        &seed(json!({"allowed_uses": ["Workload", "Workload"]})),
        "allowed_uses",
        "listed twice",
    );
}

#[test]
fn names_are_dns_subdomains() {
    ok(&seed(json!({"name": "pool-a.v4"})));
    broken(
        &seed(json!({"name": "Pool_A"})),
        "name",
        "is not a DNS-1123 subdomain",
    );
    broken(
        &seed(json!({"migrate": true, "migrate_name": "x/y"})),
        "migrate_name",
        "is not a DNS-1123 subdomain",
    );
    broken(
        &seed(json!({"migrate": true, "migrate_name": "default-ipv4-ippool"})),
        "migrate_name",
        "migrate_name is the pool's own name",
    );
}

#[test]
fn warnings_for_nat_and_unencapsulated_pools() {
    let (_, f) = plan(&seed(json!({"nat_outgoing": false})));
    assert!(!f.has_errors());
    assert!(f.warnings().any(|w| w.field == "nat_outgoing"));
    let (_, f) = plan(&seed(json!({"vxlan_mode": "Never"})));
    assert!(
        f.warnings()
            .any(|w| w.problem.contains("source/destination check")),
        "{f:?}"
    );
}

#[test]
fn derived_migration_names() {
    let v4: IpNet = "10.244.0.0/16".parse().unwrap();
    assert_eq!(
        derived_migrate_name("default-ipv4-ippool", v4),
        "default-ipv4-ippool-10-244-0-0-16"
    );
    let v6: IpNet = "fd00:10::/48".parse().unwrap();
    assert_eq!(derived_migrate_name("p6", v6), "p6-fd00-10-48");
    assert!(name_problem(&derived_migrate_name("p6", v6)).is_none());
}

// --- decide: live state -----------------------------------------------------

fn pool_obj(name: &str, spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec})
}

fn live(pools: Vec<Value>) -> Live {
    Live {
        pools,
        kubeadm_config: None,
    }
}

fn decided(p: &Args, l: &Live) -> (Decision, Findings) {
    let plan = ok(p);
    let (d, f) = decide(&plan, l);
    (d.expect("a decision"), f)
}

#[test]
fn equal_live_pool_is_left_alone_even_without_explicit_defaults() {
    // What `kubectl apply` of the seed's YAML plus calicoctl's defaults leaves.
    let kubectl = pool_obj(
        "default-ipv4-ippool",
        json!({"cidr": "192.168.0.0/16", "ipipMode": "Never", "vxlanMode": "Always",
            "natOutgoing": true}),
    );
    let (d, f) = decided(&seed(json!({})), &live(vec![kubectl.clone()]));
    assert!(!f.has_errors(), "{f:?}");
    let sent = &d.steps[0][0].object;
    assert!(
        crate::kube::diff::is_subset(&sent["spec"], &kubectl["spec"]),
        "equal pools send nothing new: {sent}"
    );
    // Unset modes never count as equal: they meant VXLAN on some releases.
    let unset = pool_obj(
        "default-ipv4-ippool",
        json!({"cidr": "192.168.0.0/16", "natOutgoing": true}),
    );
    let (d, _) = decided(&seed(json!({})), &live(vec![unset]));
    assert_eq!(d.steps[0][0].object["spec"]["vxlanMode"], "Always");
    assert_eq!(d.steps[0][0].object["spec"]["blockSize"], 26);
}

#[test]
fn a_real_difference_sends_the_full_explicit_spec() {
    let cur = pool_obj(
        "default-ipv4-ippool",
        json!({"cidr": "192.168.0.0/16", "ipipMode": "Never", "vxlanMode": "Always", "natOutgoing": true}),
    );
    let (d, _) = decided(&seed(json!({"nat_outgoing": false})), &live(vec![cur]));
    let spec = &d.steps[0][0].object["spec"];
    assert_eq!(spec["natOutgoing"], false);
    assert_eq!(spec["nodeSelector"], "all()");
    assert_eq!(spec["allowedUses"], json!(["Workload", "Tunnel"]));
}

#[test]
fn live_cidr_spelling_and_uses_order_are_kept() {
    let cur = pool_obj(
        "p6",
        json!({"cidr": "fd00:10:0::0/48", "blockSize": 122, "vxlanMode": "Always", "ipipMode": "Never",
            "allowedUses": ["Tunnel", "Workload"]}),
    );
    let (d, f) = decided(
        &params(json!({"name": "p6", "cidr": "fd00:10::/48"})),
        &live(vec![cur]),
    );
    assert!(!f.has_errors(), "{f:?}");
    let spec = &d.steps[0][0].object["spec"];
    assert_eq!(spec["cidr"], "fd00:10:0::0/48");
    assert_eq!(spec["allowedUses"], json!(["Tunnel", "Workload"]));
}

#[test]
fn no_overlap_with_other_live_pools() {
    let other = pool_obj("other", json!({"cidr": "10.64.0.0/16"}));
    let (_, f) = decided(&seed(json!({})), &live(vec![other]));
    assert!(!f.has_errors(), "{f:?}");
    let other = pool_obj(
        "other",
        json!({"cidr": "192.168.128.0/17", "disabled": true}),
    );
    let (_, f) = decided(&seed(json!({})), &live(vec![other]));
    assert!(
        errors(&f).iter().any(|e| e.contains(
            "IPPool(default-ipv4-ippool) CIDR overlaps with IPPool(other) CIDR 192.168.128.0/17"
        )),
        "{f:?}"
    );
    let same = pool_obj("twin", json!({"cidr": "192.168.0.0/16"}));
    let (_, f) = decided(&seed(json!({})), &live(vec![same]));
    assert!(
        errors(&f).iter().any(|e| e.contains("set name: twin")),
        "{f:?}"
    );
}

#[test]
fn inside_kubeadm_pod_subnet_when_present() {
    let cm = |sub: &str| {
        json!({"data": {"ClusterConfiguration": format!(
            "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: {sub}\n  serviceSubnet: 10.96.0.0/12\n")}})
    };
    let l = |sub: &str| Live {
        pools: vec![],
        kubeadm_config: Some(cm(sub)),
    };
    let (_, f) = decided(&seed(json!({})), &l("192.168.0.0/16"));
    assert!(!f.has_errors(), "{f:?}");
    let (_, f) = decided(&seed(json!({})), &l("10.244.0.0/16,fd00::/56"));
    assert!(
        errors(&f).iter().any(|e| e.contains(
            "not within the platform's configured pod network CIDR(s) [10.244.0.0/16,fd00::/56] (kubeadm networking.podSubnet"
        )),
        "{f:?}"
    );
    // An explicit pod_subnet wins over the cluster's.
    let (_, f) = decided(
        &seed(json!({"pod_subnet": "192.168.0.0/16"})),
        &l("10.244.0.0/16"),
    );
    assert!(!f.has_errors(), "{f:?}");
    assert_eq!(
        kubeadm_pod_subnet(&cm("10.244.0.0/16")).as_deref(),
        Some("10.244.0.0/16")
    );
}

#[test]
fn immutable_fields_fail_without_migrate() {
    let cur = pool_obj(
        "default-ipv4-ippool",
        json!({"cidr": "192.168.0.0/16", "blockSize": 26, "vxlanMode": "Always", "ipipMode": "Never"}),
    );
    // Same cidr written differently, blockSize defaulted: not a change.
    let unset_bs = pool_obj("default-ipv4-ippool", json!({"cidr": "192.168.0.0/16"}));
    let (_, f) = decided(&seed(json!({})), &live(vec![unset_bs]));
    assert!(!f.has_errors(), "{f:?}");

    let (_, f) = decided(
        &seed(json!({"cidr": "10.64.0.0/16"})),
        &live(vec![cur.clone()]),
    );
    let e = errors(&f);
    assert!(
        e.iter().any(|x| x
            .starts_with("cidr: IPPool default-ipv4-ippool exists with cidr 192.168.0.0/16")
            && x.contains("IPPool CIDR cannot be modified")
            && x.contains("set migrate: true")),
        "{e:#?}"
    );
    let (_, f) = decided(&seed(json!({"block_size": 24})), &live(vec![cur]));
    assert!(
        f.errors().any(|x| x.field == "block_size"
            && x.problem.contains("IPPool BlockSize cannot be modified")),
        "{f:?}"
    );
}

#[test]
fn migration_creates_then_disables() {
    let cur = pool_obj(
        "default-ipv4-ippool",
        json!({"cidr": "192.168.0.0/16", "blockSize": 26, "vxlanMode": "Always", "ipipMode": "Never",
            "natOutgoing": true, "nodeSelector": "all()"}),
    );
    let (d, f) = decided(
        &seed(json!({"cidr": "10.64.0.0/16", "migrate": true})),
        &live(vec![cur.clone()]),
    );
    assert!(!f.has_errors(), "{f:?}");
    assert_eq!(d.target, "default-ipv4-ippool-10-64-0-0-16");
    assert_eq!(
        d.steps.len(),
        2,
        "new pool first, then the old one disabled"
    );
    let new = &d.steps[0][0].object;
    assert_eq!(new["metadata"]["name"], "default-ipv4-ippool-10-64-0-0-16");
    assert_eq!(new["spec"]["cidr"], "10.64.0.0/16");
    let old = &d.steps[1][0].object;
    assert_eq!(old["metadata"]["name"], "default-ipv4-ippool");
    let mut want = cur["spec"].clone();
    want["disabled"] = json!(true);
    assert_eq!(old["spec"], want, "only disabled changes on the old pool");
    let m = d.migration.unwrap();
    let r = m.report(true);
    assert_eq!(r["steps"][0]["status"], "planned");
    assert!(
        r["remaining"][1]
            .as_str()
            .unwrap()
            .contains("state: absent")
    );

    // The new pool may not overlap the old one (blockSize-only changes).
    let (_, f) = decided(
        &seed(json!({"block_size": 24, "migrate": true})),
        &live(vec![cur]),
    );
    assert!(
        errors(&f)
            .iter()
            .any(|e| e.contains("must not overlap the old one") && e.contains("two steps")),
        "{f:?}"
    );
}

#[test]
fn migration_target_must_not_be_another_range() {
    let cur = pool_obj("p", json!({"cidr": "10.64.0.0/16"}));
    let taken = pool_obj("p-10-65-0-0-16", json!({"cidr": "10.66.0.0/16"}));
    let (_, f) = decided(
        &params(json!({"name": "p", "cidr": "10.65.0.0/16", "migrate": true})),
        &live(vec![cur, taken]),
    );
    assert!(
        f.errors().any(|x| x.field == "migrate_name"
            && x.problem.contains("already exists with cidr 10.66.0.0/16")),
        "{f:?}"
    );
}

#[test]
fn absent_deletes_and_warns_when_enabled() {
    let plan = ok(&params(json!({"name": "p", "state": "absent"})));
    let (d, f) = decide(
        &plan,
        &live(vec![pool_obj("p", json!({"cidr": "10.64.0.0/16"}))]),
    );
    let d = d.unwrap();
    assert_eq!(d.steps[0][0].state, crate::kube::State::Absent);
    assert!(
        f.0.iter()
            .any(|x| x.severity == Severity::Warning && x.field == "state")
    );
    let (_, f) = decide(
        &plan,
        &live(vec![pool_obj(
            "p",
            json!({"cidr": "10.64.0.0/16", "disabled": true}),
        )]),
    );
    assert!(f.0.is_empty(), "{f:?}");
}

#[test]
fn pool_modes_give_one_encapsulation() {
    use crate::net::mtu::Encapsulation::{Ipip, None as NoEncap, Vxlan};
    // Unset: the seed's modes (vxlanMode Always, ipipMode Never).
    assert_eq!(encapsulation(None, None), Vxlan);
    assert_eq!(encapsulation(Some("CrossSubnet"), Some("Never")), Vxlan);
    assert_eq!(encapsulation(Some("Never"), Some("Always")), Ipip);
    assert_eq!(encapsulation(None, Some("CrossSubnet")), Ipip);
    assert_eq!(encapsulation(Some("Never"), Some("Never")), NoEncap);
    assert!(mode_on("CrossSubnet") && !mode_on("Never"));
}

#[test]
fn uses_and_assignment_mode_render_in_calico_spelling() {
    for name in AssignmentMode::NAMES {
        let plan = ok(&seed(json!({"assignment_mode": name})));
        assert_eq!(plan.pool.unwrap().spec()["assignmentMode"], json!(name));
    }
    // The options' order is kept: the live order is what for_apply compares against.
    let plan = ok(&seed(json!({"allowed_uses": ["Tunnel", "Workload"]})));
    assert_eq!(
        plan.pool.unwrap().spec()["allowedUses"],
        json!(["Tunnel", "Workload"])
    );
    for name in AllowedUse::NAMES {
        let u: AllowedUse = serde_json::from_value(json!(name)).unwrap();
        assert_eq!(u.as_str(), *name);
    }
}
