//! The `cni` module on a real kube-apiserver with the project's
//! FelixConfiguration CRD, run exactly as Ansible runs it.
//!
//! FelixConfiguration `default` is one cluster-wide object, so the tests that
//! write or compare it hold `FELIX`; each keeps its calico-config in its own
//! namespace (calico_namespace).

use crate::common::{self, module, with};
use serde_json::{Value, json};
use std::sync::{Mutex, MutexGuard};

module_plane!("cni");

const FELIX_API: &str = "crd.projectcalico.org/v1";

fn felix_lock() -> MutexGuard<'static, ()> {
    static FELIX: Mutex<()> = Mutex::new(());
    FELIX.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(args: Value, check: bool) -> Value {
    let args = with(
        json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()}),
        args,
    );
    module::run(
        "cni",
        args,
        module::Flags {
            check,
            diff: true,
            ..Default::default()
        },
    )
    .json
}

fn msg(r: &Value) -> &str {
    r["msg"].as_str().unwrap_or_default()
}

/// calico-config as Calico's manifest ships it (calico-vxlan.yaml).
fn manifest_config(ns: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "calico-config", "namespace": ns},
        "data": {"typha_service_name": "none", "calico_backend": "vxlan", "veth_mtu": "0",
            "cni_network_config": "{\"name\": \"k8s-pod-network\", \"plugins\": []}"}})
}

fn config(ns: &str) -> Value {
    plane()
        .get("v1", "ConfigMap", Some(ns), "calico-config")
        .unwrap()
}

fn felix() -> Option<Value> {
    plane().get(FELIX_API, "FelixConfiguration", None, "default")
}

fn versions(ns: &str) -> (String, String) {
    (
        common::resource_version(&config(ns)),
        common::resource_version(&felix().unwrap()),
    )
}

fn calico(ns: &str) -> Value {
    json!({"cni_plugin": "calico", "calico_namespace": ns, "host_mtu": 9001,
        "pod_cidr": "192.168.0.0/16", "vpc_cidrs": ["10.0.0.0/16"]})
}

#[test]
fn calico_settings_applied_over_a_manifest_install_then_idempotent() {
    let _g = felix_lock();
    let ns = plane().namespace("cni");
    // As `kubectl apply -f calico-vxlan.yaml` leaves it.
    plane().apply_as("kubectl-client-side-apply", &manifest_config(&ns));

    // veth_mtu belongs to the manifest's manager: a conflict, named, nothing written.
    let rv_cm = common::resource_version(&config(&ns));
    let r = run(calico(&ns), false);
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        msg(&r).contains("kubectl-client-side-apply") && msg(&r).contains("force_conflicts"),
        "{r}"
    );
    assert_eq!(common::resource_version(&config(&ns)), rv_cm);

    let r = run(with(calico(&ns), json!({"force_conflicts": true})), false);
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["changed"], true, "{r}");
    let cm = config(&ns);
    assert_eq!(cm["data"]["veth_mtu"], "8951", "AWS 9001 - 50");
    assert_eq!(cm["data"]["calico_backend"], "vxlan");
    assert_eq!(cm["data"]["typha_service_name"], "none", "other keys kept");
    assert!(
        cm["data"]["cni_network_config"].is_string(),
        "other keys kept"
    );
    let spec = felix().unwrap()["spec"].clone();
    for (k, v) in [
        ("vxlanEnabled", json!(true)),
        ("vxlanPort", json!(4789)),
        ("vxlanVNI", json!(4096)),
        ("vxlanMTU", json!(8951)),
        ("ipipEnabled", json!(false)),
        ("awsSrcDstCheck", json!("DoNothing")),
    ] {
        assert_eq!(spec[k], v, "{k}: {spec}");
    }
    let facts = &r["ansible_facts"]["netpath_network"];
    assert_eq!(facts["cni_plugin"], "calico");
    assert_eq!(facts["overlay"], true);
    assert_eq!(facts["pod_cidr"], "192.168.0.0/16");
    assert_eq!(facts["alb_target_types_allowed"], json!(["instance"]));
    assert_eq!(
        facts["node_security_group_rules"][0],
        json!({"protocol": "udp", "from_port": 4789, "to_port": 4789,
            "source": "worker_security_group", "description": "Calico VXLAN between nodes"})
    );

    // Second run, without force: netpath-cni owns its keys now; nothing written.
    let before = versions(&ns);
    let r = run(calico(&ns), false);
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(versions(&ns), before);

    // Check mode with another host MTU: reported, nothing written.
    let r = run(with(calico(&ns), json!({"host_mtu": 1500})), true);
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(r["ansible_facts"]["netpath_network"]["mtu"]["pod"], 1450);
    assert_eq!(versions(&ns), before, "check mode writes nothing");

    // An explicit MTU above the limit: refused, nothing written.
    let r = run(with(calico(&ns), json!({"veth_mtu": 9001})), false);
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        msg(&r)
            .contains("MTU 9001 is larger than the host MTU 9001 minus the 50-byte VXLAN overhead"),
        "{r}"
    );
    assert_eq!(versions(&ns), before);

    // A real change is applied.
    let r = run(with(calico(&ns), json!({"host_mtu": 1500})), false);
    assert_eq!(r["changed"], true, "{r}");
    assert_eq!(config(&ns)["data"]["veth_mtu"], "1450");
    assert_eq!(felix().unwrap()["spec"]["vxlanMTU"], 1450);
}

#[test]
fn the_manifests_own_field_manager_is_refused_before_it_deletes_keys() {
    let _g = felix_lock();
    let ns = plane().namespace("cni-owner");
    // Calico installed through the manifest module: manager `netpath` owns every key.
    let r = module::run(
        "manifest",
        json!({"kubeconfig": plane().kubeconfig.to_str().unwrap(),
            "definition": manifest_config(&ns)}),
        module::Flags::default(),
    );
    assert_eq!(r.json["failed"], false, "{}", r.json);
    let before = common::resource_version(&config(&ns));
    let felix_before = felix().map(|f| common::resource_version(&f));
    let r = run(
        with(calico(&ns), json!({"field_manager": "netpath"})),
        false,
    );
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        msg(&r).contains("field manager netpath also owns the calico-config keys cni_network_config, typha_service_name"),
        "{r}"
    );
    assert_eq!(common::resource_version(&config(&ns)), before);
    assert_eq!(
        felix().map(|f| common::resource_version(&f)),
        felix_before,
        "nothing written"
    );
}

#[test]
fn without_calico_config_only_felix_is_applied_with_a_warning() {
    let _g = felix_lock();
    let ns = plane().namespace("cni-operator");
    let r = run(calico(&ns), false);
    assert_eq!(r["failed"], false, "{r}");
    let warnings = r["warnings"].to_string();
    assert!(warnings.contains("calico-config does not exist"), "{r}");
    let kinds: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["FelixConfiguration"]);
    assert!(
        plane()
            .get("v1", "ConfigMap", Some(&ns), "calico-config")
            .is_none()
    );
}

#[test]
fn broken_settings_write_nothing() {
    let _g = felix_lock();
    let ns = plane().namespace("cni-broken");
    plane().apply_as("kubectl-client-side-apply", &manifest_config(&ns));
    let felix_before = felix().map(|f| common::resource_version(&f));
    let cm_before = common::resource_version(&config(&ns));
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"host_mtu": 1500, "veth_mtu": 1460}),
            "MTU 1460 is larger than the host MTU 1500",
        ),
        (
            json!({"wireguard": true, "veth_mtu": 8951}),
            "60-byte WireGuard overhead",
        ),
        (json!({"host_mtu": 100}), "not a real Ethernet MTU"),
        (
            json!({"ipip_enabled": true}),
            "IP-in-IP needs BGP (calico_backend: bird)",
        ),
        (
            json!({"vxlan_enabled": false}),
            "calico_backend: vxlan routes pods only through VXLAN",
        ),
        (json!({"vxlan_port": 70000}), "is not a UDP port"),
        (json!({"vxlan_vni": 16_777_216}), "24-bit"),
        (
            json!({"pod_cidr": "10.0.0.0/8"}),
            "10.0.0.0/8 contains vpc_cidrs[0] (10.0.0.0/16)",
        ),
        (json!({"pod_cidr": "169.254.0.0/16"}), "Link Local"),
    ];
    for (extra, want) in cases {
        let r = run(with(calico(&ns), extra.clone()), false);
        assert_eq!(r["failed"], true, "{extra}: {r}");
        assert!(
            msg(&r).contains(want),
            "{extra}: want {want:?} in {}",
            msg(&r)
        );
    }
    assert_eq!(common::resource_version(&config(&ns)), cm_before);
    assert_eq!(felix().map(|f| common::resource_version(&f)), felix_before);
}

#[test]
fn aws_vpc_cni_needs_no_cluster_and_writes_nothing() {
    // No connection options at all, and a kubeconfig that cannot work.
    let args = json!({"cni_plugin": "aws-vpc-cni", "pod_cidr": "10.0.0.0/16",
        "vpc_cidrs": ["10.0.0.0/16"]});
    let r = module::run_env(
        "cni",
        args.clone(),
        module::Flags::default(),
        &[("KUBECONFIG", "/nonexistent/kubeconfig")],
    )
    .json;
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["changed"], false, "{r}");
    assert_eq!(r["results"], json!([]));
    let facts = &r["ansible_facts"]["netpath_network"];
    assert_eq!(facts["cni_plugin"], "aws-vpc-cni");
    assert_eq!(facts["overlay"], false);
    assert_eq!(facts["pods_vpc_routable"], true);
    assert_eq!(facts["alb_target_types_allowed"], json!(["ip", "instance"]));
    assert_eq!(facts["alb_target_type_recommended"], "ip");
    assert_eq!(facts["node_security_group_rules"], json!([]));

    let r = module::run(
        "cni",
        json!({"cni_plugin": "aws-vpc-cni", "vpc_cidrs": ["10.0.0.0/16"]}),
        module::Flags::default(),
    )
    .json;
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        msg(&r).contains("pod_cidr 192.168.0.0/16 is not inside any VPC CIDR (10.0.0.0/16)"),
        "{r}"
    );
}

/// Calico's manifest install in the same task: the manifest's calico-config
/// carries this module's keys, so one field manager owns everything and a
/// second run writes nothing (no fight between the install and the settings).
#[test]
fn calico_manifest_installed_with_the_settings_then_idempotent() {
    let _g = felix_lock();
    let ns = plane().namespace("cniinst");
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "calico-node", "namespace": ns}});
    let docs: Vec<String> = [manifest_config(&ns), sa]
        .iter()
        .map(|d| serde_json::to_string(d).unwrap())
        .collect();
    let args = with(
        calico(&ns),
        json!({"calico_manifest": docs.join("\n---\n")}),
    );

    let r = run(args.clone(), true);
    assert_eq!(r["changed"], json!(true), "{r}");
    assert!(
        plane()
            .get("v1", "ConfigMap", Some(&ns), "calico-config")
            .is_none(),
        "check mode wrote"
    );

    let r = run(args.clone(), false);
    assert_eq!(r["changed"], json!(true), "{r}");
    let cm = config(&ns);
    assert_eq!(
        cm["data"]["veth_mtu"], "8951",
        "the computed MTU replaces the manifest's 0"
    );
    assert_eq!(cm["data"]["calico_backend"], "vxlan");
    assert!(
        cm["data"]["cni_network_config"].is_string(),
        "the manifest's other keys stay"
    );
    assert!(
        plane()
            .get("v1", "ServiceAccount", Some(&ns), "calico-node")
            .is_some()
    );

    let before = versions(&ns);
    let r = run(args, false);
    assert_eq!(r["changed"], json!(false), "{r}");
    assert_eq!(versions(&ns), before, "the second run must not write");
}

#[test]
fn calico_manifest_without_calico_config_is_refused_before_any_write() {
    let ns = plane().namespace("cninocm");
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "tigera-operator", "namespace": ns}});
    let args = with(
        calico(&ns),
        json!({"calico_manifest": serde_json::to_string(&sa).unwrap()}),
    );
    let r = run(args, false);
    assert_eq!(r["failed"], json!(true), "{r}");
    assert!(
        msg(&r).contains("has no calico-config ConfigMap"),
        "{}",
        msg(&r)
    );
    assert!(
        plane()
            .get("v1", "ServiceAccount", Some(&ns), "tigera-operator")
            .is_none()
    );
}
