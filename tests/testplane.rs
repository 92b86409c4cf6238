//! The test plane itself (scripts/testplane + tests/common): real TLS, the
//! three credentials, the project CRDs, and isolation/cleanup of planes.

use crate::common::{self, Plane, block_on, plane};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn configmap(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: kube::api::ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Default::default()
    }
}

/// Who the server thinks a context is: (username, groups).
async fn whoami(client: kube::Client) -> (String, Vec<String>) {
    let review = Api::<SelfSubjectReview>::all(client)
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("SelfSubjectReview");
    let user = review.status.and_then(|s| s.user_info).expect("user info");
    (
        user.username.unwrap_or_default(),
        user.groups.unwrap_or_default(),
    )
}

#[test]
fn configmap_roundtrip_with_client_cert_and_token_over_verified_tls() {
    let p = plane();
    let ns = common::namespace("auth");
    for (context, expect_user) in [
        ("admin", "netpath-test-admin"),
        ("token", "netpath-token-admin"),
    ] {
        let cfg = p.config(context);
        assert!(
            !cfg.accept_invalid_certs,
            "{context}: TLS verification must be on"
        );
        assert!(
            cfg.root_cert.is_some(),
            "{context}: the plane CA must come from the kubeconfig"
        );
        let ns = ns.clone();
        block_on(async move {
            let client = p.client_as(context);
            let (user, groups) = whoami(client.clone()).await;
            assert_eq!(
                user, expect_user,
                "{context} authenticates as the wrong user"
            );
            assert!(
                groups.iter().any(|g| g == "system:masters"),
                "{context}: groups {groups:?}"
            );

            let api: Api<ConfigMap> = Api::namespaced(client, &ns);
            let name = format!("by-{context}");
            api.create(
                &PostParams::default(),
                &configmap(&name, &[("who", context)]),
            )
            .await
            .expect("create");
            let back = api.get(&name).await.expect("read back");
            assert_eq!(back.data.unwrap()["who"], context);
        });
    }
    // And through the sync helpers (admin context).
    let cm = common::get("v1", "ConfigMap", Some(&ns), "by-token").expect("visible to admin");
    assert_eq!(cm["data"]["who"], "token");
    assert_eq!(common::list("v1", "ConfigMap", Some(&ns)).len(), 2);
}

#[test]
fn limited_token_user_is_authenticated_but_not_authorized() {
    let p = plane();
    let ns = common::namespace("limited");
    block_on(async move {
        let client = p.client_as("limited");
        let (user, groups) = whoami(client.clone()).await;
        assert_eq!(user, "limited");
        assert_eq!(groups, vec!["system:authenticated".to_string()]);
        let err = Api::<ConfigMap>::namespaced(client, &ns)
            .create(&PostParams::default(), &configmap("nope", &[]))
            .await
            .expect_err("limited user must not create ConfigMaps");
        match err {
            kube::Error::Api(s) => assert_eq!(s.code, 403, "{s:?}"),
            other => panic!("expected 403 Forbidden, got {other}"),
        }
    });
}

#[test]
fn server_certificate_is_verified_against_the_plane_ca() {
    let p = plane();
    // A CA that did not sign the serving cert.
    let dir = tempfile::tempdir().unwrap();
    let (_, der) = common::unrelated_ca(dir.path());

    let mut wrong = p.config("admin");
    wrong.root_cert = Some(vec![std::fs::read(&der).unwrap()]);
    wrong.root_cert_file = None;
    let right = p.config("admin");
    block_on(async move {
        let err = kube::Client::try_from(wrong)
            .unwrap()
            .apiserver_version()
            .await
            .expect_err("wrong CA must fail");
        // A TLS failure never reaches the API: no HTTP status at all.
        assert!(
            !matches!(err, kube::Error::Api(_)),
            "expected a TLS error, got {err}"
        );
        let text = format!("{err:?}");
        assert!(
            text.contains("Certificate") || text.contains("certificate"),
            "not a certificate error: {text}"
        );

        let info = kube::Client::try_from(right)
            .unwrap()
            .apiserver_version()
            .await
            .expect("right CA works");
        assert_eq!(info.git_version, "v1.35.4");
    });
}

#[test]
fn project_crds_are_established_and_accept_valid_objects_only() {
    for name in [
        "ippools.crd.projectcalico.org",
        "felixconfigurations.crd.projectcalico.org",
        "ingressclassparams.elbv2.k8s.aws",
    ] {
        let crd = common::get(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            name,
        )
        .unwrap_or_else(|| panic!("CRD {name} missing"));
        let established = crd["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Established" && c["status"] == "True");
        assert!(established, "{name} not Established: {}", crd["status"]);
        assert_eq!(crd["spec"]["scope"], "Cluster", "{name}");
    }

    let pool = common::unique_name("pool");
    let spec = json!({
        "cidr": "10.244.0.0/16", "blockSize": 26, "vxlanMode": "CrossSubnet", "ipipMode": "Never",
        "natOutgoing": true, "disabled": false, "disableBGPExport": false, "nodeSelector": "all()",
        "namespaceSelector": "", "allowedUses": ["Workload", "Tunnel"], "assignmentMode": "Automatic",
    });
    let ippool = |name: &str, spec: Value| json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool", "metadata": {"name": name}, "spec": spec});
    let created = common::create(&ippool(&pool, spec.clone()));
    assert_eq!(created["spec"], spec);
    let back =
        common::get("crd.projectcalico.org/v1", "IPPool", None, &pool).expect("IPPool reads back");
    assert_eq!(back["spec"], spec);
    assert_eq!(
        common::resource_version(&back),
        common::resource_version(&created)
    );
    assert!(
        common::list("crd.projectcalico.org/v1", "IPPool", None)
            .iter()
            .any(|o| o["metadata"]["name"] == pool.as_str())
    );

    // The schemas are enforced: enum, type and required-field violations are 422s.
    for (what, bad) in [
        (
            "enum",
            json!({"cidr": "10.1.0.0/16", "vxlanMode": "Sometimes"}),
        ),
        ("type", json!({"cidr": "10.1.0.0/16", "blockSize": "26"})),
        ("required", json!({"blockSize": 26})),
        (
            "array enum",
            json!({"cidr": "10.1.0.0/16", "allowedUses": ["Everything"]}),
        ),
    ] {
        match common::try_create(&ippool(&common::unique_name("bad"), bad)) {
            Err(kube::Error::Api(s)) => assert_eq!(s.code, 422, "{what}: {s:?}"),
            other => panic!("{what}: expected 422, got {other:?}"),
        }
    }

    // FelixConfiguration keeps fields the schema does not list.
    let felix = common::unique_name("felix");
    common::apply_as(
        "testplane-test",
        &json!({"apiVersion": "crd.projectcalico.org/v1", "kind": "FelixConfiguration", "metadata": {"name": felix},
            "spec": {"vxlanEnabled": true, "vxlanMTU": 8951, "awsSrcDstCheck": "Disable", "someFutureSetting": "kept"}}),
    );
    let back = common::get(
        "crd.projectcalico.org/v1",
        "FelixConfiguration",
        None,
        &felix,
    )
    .unwrap();
    assert_eq!(back["spec"]["someFutureSetting"], "kept");
    assert_eq!(back["spec"]["vxlanMTU"], 8951);

    let icp = |name: &str, scheme: &str| {
        json!({"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams", "metadata": {"name": name},
            "spec": {"scheme": scheme, "group": {"name": "shared"}, "targetType": "ip", "ipAddressType": "ipv4",
                "namespaceSelector": {"matchLabels": {"team": "a"}}, "tags": [{"key": "env", "value": "test"}],
                "loadBalancerAttributes": [{"key": "idle_timeout.timeout_seconds", "value": "60"}],
                "subnets": {"ids": ["subnet-0abc"]}, "certificateArn": ["arn:aws:acm:eu-west-1:111122223333:certificate/x"],
                "sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "inboundCIDRs": ["10.0.0.0/8"]}})
    };
    let good = common::unique_name("icp");
    let created = common::create(&icp(&good, "internal"));
    assert_eq!(created["spec"]["group"]["name"], "shared");
    match common::try_create(&icp(&common::unique_name("icp"), "public")) {
        Err(kube::Error::Api(s)) => assert_eq!(s.code, 422, "{s:?}"),
        other => panic!("scheme enum: expected 422, got {other:?}"),
    }

    common::delete("crd.projectcalico.org/v1", "IPPool", None, &pool);
    assert!(common::get("crd.projectcalico.org/v1", "IPPool", None, &pool).is_none());
    common::delete("crd.projectcalico.org/v1", "IPPool", None, &pool); // absent is fine
}

/// Gone, or a zombie: PID 1 here reaps orphans late, and a zombie holds nothing.
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn watcher_pid(dir: &Path) -> Option<u32> {
    std::fs::read_to_string(dir.join("watcher.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[test]
fn two_planes_do_not_interfere_and_down_leaves_nothing_behind() {
    let first = plane();
    let dir = tempfile::tempdir().unwrap();
    let second = Plane::start(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(first.server, second.server);

    let only_second = common::unique_name("only-second");
    let only_first = common::unique_name("only-first");
    let cm = |name: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}});
    second.create(&cm(&only_second));
    first.create(&cm(&only_first));
    assert!(
        second
            .get("v1", "ConfigMap", Some("default"), &only_second)
            .is_some()
    );
    assert!(
        first
            .get("v1", "ConfigMap", Some("default"), &only_second)
            .is_none(),
        "second plane's object leaked into the first"
    );
    assert!(
        second
            .get("v1", "ConfigMap", Some("default"), &only_first)
            .is_none(),
        "first plane's object leaked into the second"
    );

    let mut pids = second.pids();
    assert_eq!(pids.len(), 2, "etcd and kube-apiserver: {pids:?}");
    pids.extend(watcher_pid(dir.path()));
    assert_eq!(pids.len(), 3, "the --owner-pid watcher is running");
    assert!(pids.iter().all(|&p| !gone(p)));

    second.stop();
    let left: Vec<u32> = pids.iter().copied().filter(|&p| !gone(p)).collect();
    assert!(left.is_empty(), "still running after down: {left:?}");
    second.stop(); // idempotent

    // The first plane is untouched.
    assert!(
        first
            .get("v1", "ConfigMap", Some("default"), &only_first)
            .is_some()
    );
}

#[test]
fn watcher_stops_the_plane_when_the_owner_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut owner = Command::new("sleep").arg("600").spawn().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testplane");
    let out = Command::new(&script)
        .arg("up")
        .arg(dir.path())
        .args(["--owner-pid", &owner.id().to_string()])
        .output()
        .unwrap();
    if !out.status.success() {
        let _ = owner.kill();
        panic!("up failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        dir.path()
            .join("kubeconfig")
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
    );
    let mut pids = Plane::attach(dir.path()).unwrap().pids();
    pids.extend(watcher_pid(dir.path()));
    assert_eq!(pids.len(), 3, "{pids:?}");
    assert!(pids.iter().all(|&p| !gone(p)));

    owner.kill().unwrap();
    owner.wait().unwrap();
    // The watcher polls once a second; apiserver shutdown takes ~2 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    while pids.iter().any(|&p| !gone(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let left: Vec<u32> = pids.iter().copied().filter(|&p| !gone(p)).collect();
    assert!(
        left.is_empty(),
        "owner exited but these still run: {left:?}"
    );
    // down after the watcher did it is a no-op.
    assert!(
        Command::new(&script)
            .arg("down")
            .arg(dir.path())
            .status()
            .unwrap()
            .success()
    );
}
