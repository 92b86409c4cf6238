//! Admission control refusing netpath's writes, as a real cluster answers:
//! the AWS Load Balancer Controller v3.5.0's own validating webhooks,
//! registered as its Helm chart does (failurePolicy Fail), on the rig of
//! tests/lbc.rs. A denial is reported as the webhook's, never as RBAC, and
//! nothing is written. Skips (with a message) when ../shared is absent.

use crate::common;
use crate::common::lbc;

use serde_json::json;

#[test]
fn a_webhook_denial_is_reported_as_the_webhooks_and_nothing_is_written() {
    let Some(rig) = lbc::webhook_rig() else {
        return;
    };
    let t = rig.begin("deny");
    let class = common::unique_name("no-such-class");
    let definition = json!([
        {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": t.ns}, "data": {"k": "v"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "app", "namespace": t.ns},
            "spec": {"ingressClassName": class,
                "defaultBackend": {"service": {"name": "app", "port": {"number": 80}}}}},
    ]);
    let r = rig.module("manifest", json!({"definition": definition}));
    assert_eq!(r["failed"], json!(true), "{r}");
    let msg = r["msg"].as_str().unwrap_or_default();
    for want in [
        "(server-side dry run; nothing was written)",
        "admission webhook \"vingress.elbv2.k8s.aws\" denied the request",
        &format!("IngressClass.networking.k8s.io \"{class}\" not found"),
        "refused by admission control, not by RBAC",
    ] {
        assert!(msg.contains(want), "{want:?} missing in: {msg}");
    }
    assert!(!msg.contains("RBAC does not allow"), "{msg}");
    assert!(
        rig.plane
            .get("v1", "ConfigMap", Some(&t.ns), "settings")
            .is_none(),
        "all or nothing"
    );
}
