//! Conformance with upstream Calico's own CRDs (v3.31.7, then an upgrade to
//! v3.32.1) from ../shared/upstream: the seed's pool applies cleanly and is
//! idempotent on both, and a cidr change is refused by netpath itself, before
//! the server's rule (v3.32.1's CEL `self == oldSelf`) is ever reached.
//!
//! Runs on a private plane whose project CRDs for IPPool and
//! FelixConfiguration are replaced by upstream's. Skipped, with a message,
//! when ../shared/upstream is absent (the files are never copied here).

use crate::common::{self, Plane, module};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const API: &str = "crd.projectcalico.org/v1";
const CRD_API: &str = "apiextensions.k8s.io/v1";
const VERSIONS: &[&str] = &["v3.31.7", "v3.32.1"];

fn upstream() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream/calico");
    VERSIONS
        .iter()
        .all(|v| dir.join(v).join("crds.yaml").is_file())
        .then_some(dir)
}

/// Stops the private plane even when an assertion fails.
struct Stop<'a>(&'a Plane);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Makes room for upstream's Calico CRDs: the plane starts with the project's.
fn drop_project_crds(p: &Plane) {
    for crd in [
        "ippools.crd.projectcalico.org",
        "felixconfigurations.crd.projectcalico.org",
    ] {
        p.delete(CRD_API, "CustomResourceDefinition", None, crd);
        wait_until(&format!("{crd} deleted"), || {
            p.get(CRD_API, "CustomResourceDefinition", None, crd)
                .is_none()
        });
    }
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{what}: not after 60s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn established(p: &Plane, crd: &str) -> bool {
    p.get(CRD_API, "CustomResourceDefinition", None, crd)
        .is_some_and(|c| {
            c["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|x| x["type"] == "Established" && x["status"] == "True")
        })
}

fn run(p: &Plane, name: &str, args: Value) -> Value {
    let mut a = args;
    a["kubeconfig"] = json!(p.kubeconfig.to_str().unwrap());
    module::run(name, a, module::Flags::default()).json
}

fn rv(p: &Plane, name: &str) -> String {
    common::resource_version(&p.get(API, "IPPool", None, name).unwrap())
}

/// A server-side dry run of a cidr change, as kubectl would send it: the
/// server's own verdict, without writing.
fn server_verdict_on_cidr_change(p: &Plane, name: &str, cidr: &str) -> Result<(), String> {
    let config = p.config("admin");
    let (name, cidr) = (name.to_string(), cidr.to_string());
    common::block_on(async move {
        let client = kube::Client::try_from(config).expect("client");
        let ar = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("crd.projectcalico.org", "v1", "IPPool"),
            "ippools",
        );
        let api: Api<DynamicObject> = Api::all_with(client, &ar);
        let patch = json!({"apiVersion": API, "kind": "IPPool", "metadata": {"name": name},
            "spec": {"cidr": cidr}});
        api.patch(
            &name,
            &PatchParams::apply("kubectl").force().dry_run(),
            &Patch::Apply(&patch),
        )
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
    })
}

#[test]
fn seed_pool_on_upstream_calico_crds() {
    let Some(upstream) = upstream() else {
        eprintln!(
            "SKIP calico_conformance: ../shared/upstream/calico/{{{}}}/crds.yaml not found next to the repository",
            VERSIONS.join(",")
        );
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("netpath-conformance-")
        .tempdir()
        .unwrap();
    let p = Plane::start(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let _stop = Stop(&p);

    drop_project_crds(&p);

    let seed = json!({"name": "default-ipv4-ippool", "cidr": "192.168.0.0/16",
        "ipip_mode": "Never", "vxlan_mode": "Always", "nat_outgoing": true});

    // Calico not installed yet: refused with the reason; check mode (a play
    // that installs Calico first) reports the create with a warning.
    let r = run(&p, "ippool", seed.clone());
    assert_eq!(r["failed"], true, "{r}");
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .contains("does not serve crd.projectcalico.org/v1 IPPool"),
        "{r}"
    );
    let mut check = seed.clone();
    check["kubeconfig"] = json!(p.kubeconfig.to_str().unwrap());
    let r = module::run(
        "ippool",
        check,
        module::Flags {
            check: true,
            ..Default::default()
        },
    )
    .json;
    assert_eq!(r["failed"], false, "{r}");
    assert_eq!(r["results"][0]["action"], "created", "{r}");
    assert!(r["warnings"].to_string().contains("does not serve"), "{r}");
    for (i, version) in VERSIONS.iter().enumerate() {
        let src = upstream.join(version).join("crds.yaml");
        let r = run(&p, "manifest", json!({"src": src.to_str().unwrap()}));
        assert_eq!(r["failed"], false, "{version} CRDs: {r}");
        wait_until(&format!("{version} IPPool CRD established"), || {
            established(&p, "ippools.crd.projectcalico.org")
                && established(&p, "felixconfigurations.crd.projectcalico.org")
        });
        let crd = p
            .get(
                CRD_API,
                "CustomResourceDefinition",
                None,
                "ippools.crd.projectcalico.org",
            )
            .unwrap();
        let cidr_rules = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
            ["properties"]["cidr"]["x-kubernetes-validations"];
        assert_eq!(
            cidr_rules.is_array(),
            *version == "v3.32.1",
            "{version}: upstream's own cidr rule is present from v3.32 only"
        );

        // The seed's pool: created on the first version, untouched by the upgrade.
        let r = run(&p, "ippool", seed.clone());
        assert_eq!(r["failed"], false, "{version}: {r}");
        let want = if i == 0 { "created" } else { "unchanged" };
        assert_eq!(r["results"][0]["action"], want, "{version}: {r}");
        let before = rv(&p, "default-ipv4-ippool");
        let r = run(&p, "ippool", seed.clone());
        assert_eq!(r["changed"], false, "{version}: {r}");
        assert_eq!(
            rv(&p, "default-ipv4-ippool"),
            before,
            "{version}: second run wrote"
        );
        assert_eq!(
            p.get(API, "IPPool", None, "default-ipv4-ippool").unwrap()["spec"]["vxlanMode"],
            "Always"
        );

        // A pool created on this version applies cleanly too.
        let other = format!("pool-{}", version.replace('.', "-"));
        let c = format!("10.{}.0.0/16", 64 + i);
        let args = json!({"name": other, "cidr": c});
        let r = run(&p, "ippool", args.clone());
        assert_eq!(r["results"][0]["action"], "created", "{version}: {r}");
        let r = run(&p, "ippool", args);
        assert_eq!(r["changed"], false, "{version}: {r}");

        // The cidr change: what the server alone would do, then netpath.
        let verdict = || server_verdict_on_cidr_change(&p, "default-ipv4-ippool", "172.20.0.0/16");
        if *version == "v3.32.1" {
            // The server loads an updated CRD schema asynchronously.
            wait_until("v3.32.1's cidr rule in force", || verdict().is_err());
            let e = verdict().expect_err("v3.32.1 refuses a cidr change itself");
            assert!(e.contains("CIDR cannot be changed"), "{e}");
        } else {
            let verdict = verdict();
            assert!(
                verdict.is_ok(),
                "v3.31.7 stores a changed cidr unchecked, which is why netpath checks: {verdict:?}"
            );
        }
        let r = run(
            &p,
            "ippool",
            json!({"name": "default-ipv4-ippool", "cidr": "172.20.0.0/16"}),
        );
        assert_eq!(r["failed"], true, "{version}: {r}");
        let m = r["msg"].as_str().unwrap();
        assert!(
            m.contains("IPPool CIDR cannot be modified") && m.contains("nothing was written"),
            "{version}: netpath's own refusal: {m}"
        );
        assert!(
            !m.contains("CIDR cannot be changed; follow"),
            "{version}: {m}"
        );
        assert_eq!(rv(&p, "default-ipv4-ippool"), before);

        // Felix settings fit upstream's FelixConfiguration schema.
        let cni = json!({"cni_plugin": "calico", "vpc_cidrs": ["10.0.0.0/16"]});
        let r = run(&p, "cni", cni.clone());
        assert_eq!(r["failed"], false, "{version}: {r}");
        let r = run(&p, "cni", cni);
        assert_eq!(r["changed"], false, "{version}: {r}");
        let felix = p.get(API, "FelixConfiguration", None, "default").unwrap();
        assert_eq!(felix["spec"]["vxlanMTU"], 8951, "{version}");
    }
}

/// Calico's own manifest install, through the `cni` module the cni role uses:
/// the whole upstream calico-vxlan.yaml with the computed calico-config keys,
/// then a second run that writes nothing (CRDs with `status` blocks and
/// `preserveUnknownFields: false`, DaemonSets with `readOnly: false`).
#[test]
fn upstream_calico_manifest_install_is_idempotent() {
    let Some(upstream) = upstream() else {
        eprintln!(
            "SKIP calico_conformance: ../shared/upstream/calico not found next to the repository"
        );
        return;
    };
    for version in VERSIONS {
        let manifest = upstream.join(version).join("calico-vxlan.yaml");
        let dir = tempfile::Builder::new()
            .prefix("netpath-conformance-")
            .tempdir()
            .unwrap();
        let p = Plane::start(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let _stop = Stop(&p);
        drop_project_crds(&p);
        let args = json!({"cni_plugin": "calico", "host_mtu": 9001,
            "calico_manifest_src": manifest.to_str().unwrap()});
        let r = run(&p, "cni", args.clone());
        assert_eq!(r["changed"], true, "{version}: {r}");
        let cm = p
            .get("v1", "ConfigMap", Some("kube-system"), "calico-config")
            .unwrap();
        assert_eq!(cm["data"]["veth_mtu"], "8951", "{version}");
        let node = p
            .get("apps/v1", "DaemonSet", Some("kube-system"), "calico-node")
            .unwrap();
        let before = node["metadata"]["resourceVersion"].clone();
        let r = run(&p, "cni", args);
        assert_eq!(
            r["changed"], false,
            "{version}: second run changed {}",
            r["results"]
        );
        let node = p
            .get("apps/v1", "DaemonSet", Some("kube-system"), "calico-node")
            .unwrap();
        assert_eq!(node["metadata"]["resourceVersion"], before, "{version}");
    }
}
