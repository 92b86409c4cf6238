//! Each rule: one case that obeys it, one that breaks it with its message.

use super::*;
use crate::modules::alb_controller::MODULE;
use crate::protocol::spec;

fn params(extra: Value) -> Args {
    let mut v = json!({"cluster_name": "netpath", "region": "eu-west-1",
                       "vpc_id": "vpc-0123456789abcdef0"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    spec::validate(
        "alb_controller",
        MODULE.options,
        &MODULE.constraints,
        v.as_object().unwrap(),
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e:?}"))
    .typed()
    .unwrap()
}

fn errors(extra: Value) -> Vec<(String, String)> {
    let (p, f) = plan(&params(extra));
    assert!(p.is_none(), "expected a refusal");
    f.errors()
        .map(|e| (e.field.clone(), format!("{} {}", e.problem, e.fix)))
        .collect()
}

#[test]
fn the_seed_renders_the_charts_objects() {
    let (p, f) = plan(&params(json!({})));
    assert!(!f.has_errors(), "{:?}", f.0);
    let p = p.unwrap();
    assert_eq!(
        p.args(),
        [
            "--cluster-name=netpath",
            "--ingress-class=alb",
            "--aws-region=eu-west-1",
            "--aws-vpc-id=vpc-0123456789abcdef0",
            "--enable-shield=false",
            "--enable-waf=false",
            "--enable-wafv2=false",
            "--log-level=info",
            "--enable-backend-security-group=true",
        ]
    );
    let c = cert::decide(
        &cert::Want {
            dns_names: &p.dns_names(),
            validity_days: 365,
            renew_before_days: 30,
            renew: false,
        },
        None,
        None,
        cert::now(),
    )
    .unwrap();
    let objs = p.objects(&c);
    let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ClusterRole",
            "ClusterRoleBinding",
            "Secret",
            "Secret",
            "Service",
            "Deployment",
            "MutatingWebhookConfiguration",
            "ValidatingWebhookConfiguration",
        ]
    );
    let d = &objs[8];
    assert_eq!(d["spec"]["replicas"], 2);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["volumes"][0]["secret"]["secretName"], TLS_SECRET);
    assert_eq!(pod["containers"][0]["image"], DEFAULT_IMAGE);
    // Every webhook reaches the Service with the CA netpath made.
    for w in objs[9..]
        .iter()
        .flat_map(|o| o["webhooks"].as_array().unwrap())
    {
        assert_eq!(w["clientConfig"]["service"]["name"], WEBHOOK_SERVICE);
        assert_eq!(w["clientConfig"]["caBundle"], cert::b64(&c.ca.cert));
    }
    assert_eq!(
        p.dns_names(),
        [
            "aws-load-balancer-webhook-service.kube-system",
            "aws-load-balancer-webhook-service.kube-system.svc",
            "aws-load-balancer-webhook-service.kube-system.svc.cluster.local",
        ]
    );
}

#[test]
fn settings_reach_the_deployment() {
    let (p, f) = plan(&params(json!({
        "image": "mirror.example.com/lbc:v3.5.0", "replicas": 1,
        "node_selector": {"node-role.kubernetes.io/control-plane": ""},
        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}],
        "resources": {"requests": {"cpu": "0.1", "memory": "128Mi"}, "limits": {"memory": "1024Mi"}},
        "log_level": "debug", "enable_wafv2": true, "enable_backend_security_group": false,
        "ingress_class": "web", "env": {"HTTPS_PROXY": "http://proxy:3128"},
    })));
    assert!(!f.has_errors(), "{:?}", f.0);
    let d = p.unwrap().deployment();
    let pod = &d["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "mirror.example.com/lbc:v3.5.0");
    assert_eq!(c["resources"]["requests"]["cpu"], "100m");
    assert_eq!(c["resources"]["limits"]["memory"], "1Gi");
    assert_eq!(c["env"][0]["name"], "HTTPS_PROXY");
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for a in [
        "--log-level=debug",
        "--enable-wafv2=true",
        "--enable-backend-security-group=false",
        "--ingress-class=web",
    ] {
        assert!(args.contains(&a), "{a}: {args:?}");
    }
    assert_eq!(pod["tolerations"][0]["operator"], "Exists");
    assert_eq!(
        pod["nodeSelector"]["node-role.kubernetes.io/control-plane"],
        ""
    );
}

#[test]
fn cluster_name_follows_the_tag_key_rules() {
    assert!(
        plan(&params(json!({"cluster_name": "prod-eu_1"})))
            .0
            .is_some()
    );
    let e = errors(json!({"cluster_name": ""}));
    assert_eq!(e[0].0, "cluster_name");
    assert!(
        e[0].1.contains("kubernetes cluster name must be specified"),
        "{e:?}"
    );
    let e = errors(json!({"cluster_name": "my cluster"}));
    assert!(e[0].1.contains("contains ' '"), "{e:?}");
    let e = errors(json!({"cluster_name": "x".repeat(107)}));
    assert!(e[0].1.contains("128-character"), "{e:?}");
    assert!(
        plan(&params(json!({"cluster_name": "x".repeat(106)})))
            .0
            .is_some()
    );
}

#[test]
fn region_and_vpc_id_have_their_aws_forms() {
    for ok in ["eu-west-1", "us-gov-west-1", "cn-north-1", "ap-southeast-2"] {
        assert!(is_region(ok), "{ok}");
    }
    for bad in ["eu-west-1a", "EU-WEST-1", "euwest1", "eu-west-", "e-west-1"] {
        assert!(!is_region(bad), "{bad}");
    }
    let e = errors(json!({"region": ""}));
    assert_eq!(e[0].0, "region");
    assert!(e[0].1.contains("instance metadata"), "{e:?}");
    let e = errors(json!({"region": "eu-west-1a"}));
    assert!(e[0].1.contains("availability zone"), "{e:?}");
    assert!(is_vpc_id("vpc-0123abcd") && is_vpc_id("vpc-0123456789abcdef0"));
    for bad in [
        "vpc-123",
        "vpc-0123456789ABCDEF0",
        "subnet-0123abcd",
        "vpc-0123456789abcdef",
    ] {
        assert!(!is_vpc_id(bad), "{bad}");
    }
    let e = errors(json!({"vpc_id": "vpc-123"}));
    assert_eq!(e[0].0, "vpc_id");
    assert!(e[0].1.contains("8 or 17 hex digits"), "{e:?}");
}

#[test]
fn every_bad_setting_is_named_at_once() {
    let e = errors(json!({
        "replicas": 0, "namespace": "Kube_System",
        "tolerations": [{"key": "a", "operator": "Sometimes"}],
        "resources": {"requests": {"cpu": "lots"}},
        "env": {"AWS_SECRET_ACCESS_KEY": "x"},
        "webhook_cert_renew_before_days": 400,
        "webhook_cert_extra_names": ["not a name"],
    }));
    let fields: Vec<&str> = e.iter().map(|(f, _)| f.as_str()).collect();
    for f in [
        "replicas",
        "namespace",
        "tolerations[0].operator",
        "resources.requests.cpu",
        "env.AWS_SECRET_ACCESS_KEY",
        "webhook_cert_renew_before_days",
        "webhook_cert_extra_names[0]",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let env = e
        .iter()
        .find(|(f, _)| f == "env.AWS_SECRET_ACCESS_KEY")
        .unwrap();
    assert!(env.1.contains("IAM role"), "{env:?}");
}
