//! The `ippool` module on a real kube-apiserver with the project's IPPool CRD,
//! run exactly as Ansible runs it.
//!
//! IPPools are cluster-scoped and overlap checks see every pool, so each test
//! uses its own pool names and a random /24 from 10.64.0.0/10 (declared as the
//! pod network), and deletes its pools at the end; only the seed test uses
//! the seed's 192.168.0.0/16.

use crate::common::{self, module, with};
use serde_json::{Value, json};

module_plane!("ippool");

const API: &str = "crd.projectcalico.org/v1";
/// Where the tests' pools live; passed as pod_subnet so a kubeadm-config on
/// the plane does not matter to them.
const TEST_RANGE: &str = "10.64.0.0/10";

fn run(args: Value, check: bool, diff: bool) -> Value {
    let args = with(
        json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()}),
        args,
    );
    module::run(
        "ippool",
        args,
        module::Flags {
            check,
            diff,
            ..Default::default()
        },
    )
    .json
}

fn pool(name: &str) -> Option<Value> {
    plane().get(API, "IPPool", None, name)
}

fn rv(name: &str) -> String {
    common::resource_version(&pool(name).unwrap_or_else(|| panic!("pool {name} exists")))
}

/// A /24 in 10.64.0.0/10 no other test of this run picks.
fn cidr() -> String {
    use std::sync::Mutex;
    static TAKEN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    loop {
        let n: u32 = u32::from_str_radix(&common::unique_name("x")[2..], 36).unwrap() % 16384;
        let mut taken = TAKEN.lock().unwrap();
        if !taken.contains(&n) {
            taken.push(n);
            return format!("10.{}.{}.0/24", 64 + n / 256, n % 256);
        }
    }
}

fn args(name: &str, cidr: &str) -> Value {
    json!({"name": name, "cidr": cidr, "pod_subnet": TEST_RANGE})
}

fn msg(r: &Value) -> &str {
    r["msg"].as_str().unwrap_or_default()
}

fn cleanup(names: &[&str]) {
    for n in names {
        plane().delete(API, "IPPool", None, n);
    }
}

#[test]
fn seed_pool_created_as_written_then_idempotent_updated_and_cidr_refused() {
    // Another test suite sharing the plane may hold 192.168.0.0/16 already.
    let foreign: Vec<String> = plane()
        .list(API, "IPPool", None)
        .iter()
        .filter(|p| p["metadata"]["name"] != "default-ipv4-ippool")
        .filter(|p| {
            p["spec"]["cidr"]
                .as_str()
                .is_some_and(|c| c.starts_with("192.168."))
        })
        .map(|p| p["metadata"]["name"].as_str().unwrap_or("?").to_string())
        .collect();
    if !foreign.is_empty() {
        eprintln!("SKIP: pools {foreign:?} on this shared plane already hold the seed's range");
        return;
    }
    cleanup(&["default-ipv4-ippool"]);
    // The seed's YAML, option for option.
    let seed = json!({"name": "default-ipv4-ippool", "cidr": "192.168.0.0/16",
        "ipip_mode": "Never", "vxlan_mode": "Always", "nat_outgoing": true});

    let r = run(seed.clone(), false, false);
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(r["results"][0]["action"], "created");
    let live = pool("default-ipv4-ippool").unwrap();
    assert_eq!(
        live["spec"],
        json!({"cidr": "192.168.0.0/16", "ipipMode": "Never", "vxlanMode": "Always",
            "natOutgoing": true, "blockSize": 26, "nodeSelector": "all()", "disabled": false,
            "disableBGPExport": false, "allowedUses": ["Workload", "Tunnel"],
            "assignmentMode": "Automatic"}),
        "the seed's fields as written, Calico's defaults explicit"
    );
    assert_eq!(r["ippool"]["spec"], live["spec"]);
    let before = rv("default-ipv4-ippool");

    let r = run(seed.clone(), false, false);
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(r["results"][0]["action"], "unchanged");
    assert_eq!(
        rv("default-ipv4-ippool"),
        before,
        "a second run writes nothing"
    );

    // Check mode with a change: reported with its diff, nothing written.
    let nat_off = with(seed.clone(), json!({"nat_outgoing": false}));
    let r = run(nat_off.clone(), true, true);
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(r["results"][0]["action"], "updated");
    assert!(
        r["diff"][0]["after"]
            .as_str()
            .unwrap()
            .contains("natOutgoing: false"),
        "{r}"
    );
    assert_eq!(
        rv("default-ipv4-ippool"),
        before,
        "check mode writes nothing"
    );

    let r = run(nat_off.clone(), false, false);
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(r["results"][0]["action"], "updated");
    assert_eq!(
        pool("default-ipv4-ippool").unwrap()["spec"]["natOutgoing"],
        false
    );
    let after_update = rv("default-ipv4-ippool");
    let r = run(nat_off, false, false);
    assert_eq!(r["changed"], false, "{r}");

    // cidr is immutable: refused before any write.
    let r = run(
        with(seed.clone(), json!({"cidr": "172.20.0.0/16"})),
        false,
        false,
    );
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        msg(&r).contains("IPPool CIDR cannot be modified") && msg(&r).contains("migrate: true"),
        "{r}"
    );
    assert_eq!(rv("default-ipv4-ippool"), after_update);
    assert_eq!(
        pool("default-ipv4-ippool").unwrap()["spec"]["cidr"],
        "192.168.0.0/16"
    );

    let r = run(
        json!({"name": "default-ipv4-ippool", "state": "absent"}),
        false,
        false,
    );
    assert_eq!(r["results"][0]["action"], "deleted", "{r}");
    assert!(pool("default-ipv4-ippool").is_none());
}

#[test]
fn pool_created_outside_netpath_with_the_same_meaning_is_not_rewritten() {
    let name = common::unique_name("kubectl-pool");
    let c = cidr();
    // As kubectl apply of a calicoctl-style pool leaves it: false booleans omitted.
    plane().create(
        &json!({"apiVersion": API, "kind": "IPPool", "metadata": {"name": name},
        "spec": {"cidr": c, "blockSize": 26, "ipipMode": "Never", "vxlanMode": "Always",
            "natOutgoing": true, "nodeSelector": "all()"}}),
    );
    let before = rv(&name);
    let r = run(args(&name, &c), false, false);
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(rv(&name), before);
    cleanup(&[&name]);
}

#[test]
fn check_mode_create_writes_nothing_and_returns_the_pool() {
    let name = common::unique_name("check-pool");
    let c = cidr();
    let r = run(args(&name, &c), true, true);
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(r["results"][0]["action"], "created");
    assert_eq!(r["ippool"]["spec"]["cidr"], c.as_str());
    assert!(pool(&name).is_none(), "check mode created the pool");
}

/// Every static rule broken on the real binary: the expected message, and
/// nothing on the plane.
#[test]
fn broken_rules_write_nothing() {
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"cidr": "10.64.1.1/24"}),
            "IPPool CIDR is not strictly masked",
        ),
        (
            json!({"block_size": 19}),
            "IPv4 block size must be between 20 and 32",
        ),
        (
            json!({"cidr": "fd00:10::/48", "block_size": 64}),
            "IPv6 block size must be between 116 and 128",
        ),
        (
            json!({"block_size": 23}),
            "IP pool size is too small for use with Calico IPAM",
        ),
        (
            json!({"ipip_mode": "Always", "vxlan_mode": "Always"}),
            "Cannot enable both VXLAN and IPIP on the same IPPool",
        ),
        (
            json!({"cidr": "fd00:10::/48", "ipip_mode": "Always"}),
            "IPIP is not supported on an IPv6 IP pool",
        ),
        (
            json!({"cidr": "169.254.0.0/16", "pod_subnet": "169.254.0.0/16"}),
            "IPPool CIDR overlaps with IPv4 Link Local range 169.254.0.0/16",
        ),
        (
            json!({"vpc_cidrs": ["10.64.0.0/10"]}),
            "lies inside vpc_cidrs[0] (10.64.0.0/10)",
        ),
        (
            json!({"service_cidr": "10.64.0.0/10"}),
            "lies inside service_cidr (10.64.0.0/10)",
        ),
        (
            json!({"node_cidrs": ["10.0.0.0/8"]}),
            "lies inside node_cidrs[0] (10.0.0.0/8)",
        ),
        (
            json!({"pod_subnet": "10.244.0.0/16"}),
            "is not within the platform's configured pod network CIDR(s) [10.244.0.0/16]",
        ),
        (
            json!({"node_selector": "kubernetes.io/os = 'linux'"}),
            "invalid selector",
        ),
    ];
    for (extra, want) in cases {
        let name = common::unique_name("broken");
        let r = run(with(args(&name, &cidr()), extra.clone()), false, false);
        assert_eq!(r["failed"], true, "{extra}: {r}");
        assert!(
            msg(&r).contains(want),
            "{extra}: want {want:?} in {}",
            msg(&r)
        );
        assert!(msg(&r).contains("nothing was written"), "{r}");
        assert!(pool(&name).is_none(), "{extra}: a refused pool was written");
    }
}

#[test]
fn overlap_with_another_live_pool_is_refused() {
    let other = common::unique_name("other-pool");
    let c = cidr();
    plane().apply_as(
        "calicoctl",
        &json!({"apiVersion": API, "kind": "IPPool", "metadata": {"name": other},
            "spec": {"cidr": c, "vxlanMode": "Always", "ipipMode": "Never", "disabled": true}}),
    );
    let name = common::unique_name("mine");
    let inside = c.replace(".0/24", ".128/25");
    let r = run(args(&name, &inside), false, false);
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        msg(&r).contains(&format!(
            "IPPool({name}) CIDR overlaps with IPPool({other}) CIDR {c}"
        )),
        "{r}"
    );
    assert!(pool(&name).is_none());

    let r = run(args(&name, &cidr()), false, false);
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["results"][0]["action"], "created");
    cleanup(&[&name, &other]);
}

#[test]
fn pool_must_lie_in_kubeadm_pod_subnet() {
    // The tests' range and the seed's: other tests stay valid whatever runs first.
    plane().apply_as(
        "kubeadm",
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
            "data": {"ClusterConfiguration": format!(
                "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nnetworking:\n  podSubnet: 192.168.0.0/16,{TEST_RANGE}\n  serviceSubnet: 10.96.0.0/12\n")}}),
    );
    let name = common::unique_name("kubeadm-pool");
    let r = run(json!({"name": name, "cidr": "172.20.0.0/24"}), false, false);
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        msg(&r).contains(&format!(
            "IPPool 172.20.0.0/24 is not within the platform's configured pod network CIDR(s) [192.168.0.0/16,{TEST_RANGE}] (kubeadm networking.podSubnet in kube-system/kubeadm-config)"
        )),
        "{r}"
    );
    assert!(pool(&name).is_none());

    let r = run(json!({"name": name, "cidr": cidr()}), false, false);
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["results"][0]["action"], "created");
    cleanup(&[&name]);
    plane().delete("v1", "ConfigMap", Some("kube-system"), "kubeadm-config");
}

#[test]
fn migration_creates_the_new_pool_and_disables_the_old_one() {
    let name = common::unique_name("mig");
    let (a, b) = (cidr(), cidr());
    let r = run(args(&name, &a), false, false);
    assert_eq!(r["results"][0]["action"], "created", "{r}");
    let old_rv = rv(&name);

    // Without migrate: refused, with the way out.
    let r = run(args(&name, &b), false, false);
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        msg(&r).contains("Calico forbids changing either") && msg(&r).contains("set migrate: true"),
        "{r}"
    );
    assert_eq!(rv(&name), old_rv);

    let new = format!("{name}-{}", b.replace(['.', '/'], "-"));
    let migrate = with(args(&name, &b), json!({"migrate": true}));

    // Check mode: the plan, nothing written.
    let r = run(migrate.clone(), true, false);
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(r["migration"]["to"]["name"], new.as_str(), "{r}");
    assert_eq!(r["migration"]["steps"][0]["status"], "planned");
    assert!(pool(&new).is_none(), "check mode created the new pool");
    assert_eq!(rv(&name), old_rv, "check mode disabled the old pool");

    let r = run(migrate.clone(), false, false);
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["changed"], true, "{r}");
    let actions: Vec<(&str, &str)> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["name"].as_str().unwrap(), x["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        vec![(new.as_str(), "created"), (name.as_str(), "updated")]
    );
    assert_eq!(r["migration"]["from"]["cidr"], a.as_str());
    assert_eq!(r["migration"]["steps"][1]["status"], "done");
    assert!(
        r["migration"]["remaining"][0]
            .as_str()
            .unwrap()
            .contains("Recreate every pod"),
        "{r}"
    );
    assert_eq!(r["ippool"]["metadata"]["name"], new.as_str());
    let new_live = pool(&new).unwrap();
    assert_eq!(new_live["spec"]["cidr"], b.as_str());
    assert_eq!(new_live["spec"]["disabled"], false);
    let old_live = pool(&name).unwrap();
    assert_eq!(old_live["spec"]["disabled"], true);
    assert_eq!(
        old_live["spec"]["cidr"],
        a.as_str(),
        "the old pool keeps its range"
    );

    // Idempotent: the same task again changes nothing.
    let (rv_new, rv_old) = (rv(&new), rv(&name));
    let r = run(migrate, false, false);
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!((rv(&new), rv(&name)), (rv_new, rv_old));

    // The operator's remaining steps: delete the old pool, manage the new one.
    let r = run(json!({"name": name, "state": "absent"}), false, false);
    assert_eq!(r["results"][0]["action"], "deleted", "{r}");
    assert!(
        r.get("warnings").is_none(),
        "the old pool was disabled: {r}"
    );
    let r = run(args(&new, &b), false, false);
    assert_eq!(r["changed"], false, "{r}");
    cleanup(&[&new]);
}

/// namespace_selector is written, idempotent, and cleared when dropped; a
/// disabled pool smaller than a block is valid (issue 14).
#[test]
fn namespace_selector_round_trip_and_small_disabled_pool() {
    let name = common::unique_name("ns-pool");
    let c = cidr();
    let a = with(
        args(&name, &c),
        json!({"allowed_uses": ["Workload"], "namespace_selector": "team == 'web'"}),
    );
    let r = run(a.clone(), false, false);
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(
        pool(&name).unwrap()["spec"]["namespaceSelector"],
        "team == 'web'"
    );
    let before = rv(&name);
    let r = run(a, false, false);
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(rv(&name), before);
    // Dropped from the task: cleared, then stable.
    let a = with(args(&name, &c), json!({"allowed_uses": ["Workload"]}));
    let r = run(a.clone(), false, false);
    assert_eq!(r["changed"], true, "{r}");
    let ns = pool(&name).unwrap()["spec"]["namespaceSelector"].clone();
    assert!(ns.as_str().is_none_or(str::is_empty), "{ns}");
    let r = run(a, false, false);
    assert_eq!(r["changed"], false, "{r}");

    // A /28 with /26 blocks: refused enabled, accepted disabled.
    let small = format!("{}/28", c.trim_end_matches("/24"));
    let other = common::unique_name("small-pool");
    let r = run(args(&other, &small), false, false);
    assert_eq!(r["failed"], true, "{r}");
    assert!(msg(&r).contains("IP pool size is too small"), "{r}");
    assert!(pool(&other).is_none());
    cleanup(&[&name]);
    let r = run(
        with(args(&other, &small), json!({"disabled": true})),
        false,
        false,
    );
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(pool(&other).unwrap()["spec"]["disabled"], true);
    cleanup(&[&other]);
}
