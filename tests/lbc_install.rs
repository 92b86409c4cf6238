//! End to end for the alb_controller module: what it writes runs the real
//! AWS Load Balancer Controller v3.5.0. On a rig with no controller started
//! (`scripts/lbc-harness up --no-controller`), the module installs it in
//! kube-system; the test then reads the live Deployment and starts the
//! controller binary with exactly its container's args and env, plus only
//! the overrides running out of cluster against loopback needs (kubeconfig,
//! AWS endpoints and test credentials, bind addresses, certificate dir,
//! leader-election namespace). It authenticates as the module's
//! ServiceAccount (a TokenRequest), so the module's RBAC is what it gets;
//! it serves the certificate from the module's Secret, and the API server
//! calls it through the module's webhook configurations (their clientConfig
//! pointed at loopback, caBundle kept). The seed's Ingress then reconciles
//! into an ALB with both workers as targets. Skips when ../shared is absent.

use crate::common::lbc;

use crate::common::block_on;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const NS: &str = "kube-system";
const NAME: &str = "aws-load-balancer-controller";
const WEBHOOK_CONFIGURATION: &str = "aws-load-balancer-webhook";

/// The controller process this test started, killed when dropped.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn request(rig: &lbc::Rig, method: http::Method, url: &str, body: Option<Value>) -> Value {
    let config = rig.plane.config("admin");
    let url = url.to_string();
    block_on(async move {
        let client = kube::Client::try_from(config).unwrap();
        let mut b = http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Accept", "application/json");
        let body = match body {
            Some(v) => {
                b = b.header("Content-Type", "application/json");
                serde_json::to_vec(&v).unwrap()
            }
            None => Vec::new(),
        };
        let text = client
            .request_text(b.body(body).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        serde_json::from_str(&text).unwrap()
    })
}

#[test]
fn the_installed_controller_builds_the_seeds_alb() {
    let Some(rig) = lbc::bare_rig() else { return };
    let t = rig.begin("install");
    let vpc = rig.seed["vpc"].as_str().unwrap().to_string();
    let args = json!({
        "namespace": NS,
        "cluster_name": rig.env("LBC_CLUSTER"),
        "region": rig.env("AWS_REGION"),
        "vpc_id": vpc,
        // Out of cluster the API server reaches the webhook on loopback.
        "webhook_cert_extra_names": ["127.0.0.1"],
        "replicas": 1,
    });

    // 1. Install; a second run writes nothing.
    let r = rig.module("alb_controller", args.clone());
    assert_eq!(r["failed"], json!(false), "{r}");
    assert_eq!(r["changed"], json!(true), "{r}");
    let r = rig.module("alb_controller", args);
    assert_eq!(r["changed"], json!(false), "{r}");

    // 2. Exactly the Deployment's container, plus the loopback overrides.
    let d = rig
        .plane
        .get("apps/v1", "Deployment", Some(NS), NAME)
        .expect("the module wrote the Deployment");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(d["spec"]["template"]["spec"]["serviceAccountName"], NAME);
    let mut argv: Vec<String> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    assert!(argv.contains(&format!("--aws-vpc-id={vpc}")), "{argv:?}");
    let env: Vec<(String, String)> = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();

    // Its certificate, from the module's Secret, where the Pod mounts it.
    let secret = rig
        .plane
        .get("v1", "Secret", Some(NS), "aws-load-balancer-tls")
        .unwrap();
    let certs = tempfile::tempdir().unwrap();
    for k in ["tls.crt", "tls.key"] {
        use base64::Engine;
        let pem = base64::engine::general_purpose::STANDARD
            .decode(secret["data"][k].as_str().unwrap())
            .unwrap();
        std::fs::write(certs.path().join(k), pem).unwrap();
    }

    // Its identity: the module's ServiceAccount, so its RBAC is the module's.
    let token = request(
        rig,
        http::Method::POST,
        &format!("/api/v1/namespaces/{NS}/serviceaccounts/{NAME}/token"),
        Some(
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                     "spec": {"expirationSeconds": 3600}}),
        ),
    )["status"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let kubeconfig = certs.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: plane\n  cluster:\n    server: {}\n    certificate-authority: {}\n\
             users:\n- name: lbc\n  user:\n    token: {token}\ncontexts:\n- name: lbc\n  context: {{cluster: plane, user: lbc}}\ncurrent-context: lbc\n",
            rig.plane.server,
            rig.plane.ca.display()
        ),
    )
    .unwrap();

    let port = |url: &str| {
        url.rsplit(':')
            .next()
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string()
    };
    let (metrics, health) = (
        port(rig.env("LBC_METRICS_URL")),
        port(rig.env("LBC_HEALTH_URL")),
    );
    let webhook_port = rig.env("LBC_WEBHOOK_PORT").to_string();
    argv.extend([
        format!("--kubeconfig={}", kubeconfig.display()),
        format!("--aws-api-endpoints={}", rig.env("LBC_AWS_API_ENDPOINTS")),
        "--aws-max-retries=2".to_string(),
        format!("--metrics-bind-addr=127.0.0.1:{metrics}"),
        format!("--health-probe-bind-addr=127.0.0.1:{health}"),
        format!("--webhook-bind-port={webhook_port}"),
        format!("--webhook-cert-dir={}", certs.path().display()),
        // In a Pod it is read from the ServiceAccount's mount.
        format!("--leader-election-namespace={NS}"),
    ]);
    let log = std::fs::OpenOptions::new()
        .append(true)
        .open(rig.env("LBC_LOG"))
        .unwrap();
    let mark = rig.log_mark();
    let _controller = Controller(
        Command::new(rig.env("LBC_BIN"))
            .args(&argv)
            .env_clear()
            .envs(env)
            .env("PATH", "/usr/bin:/bin")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", rig.env("AWS_ENDPOINT_URL"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the controller"),
    );
    rig.wait("the controller to be ready", 60, || {
        Command::new("curl")
            .args(["-sf", "--noproxy", "*", "--max-time", "2"])
            .arg(rig.env("LBC_HEALTH_URL"))
            .stdout(Stdio::null())
            .status()
            .ok()
            .filter(|s| s.success())
    });
    // It leads (the leader-election Role of the module lets it take the lease).
    rig.wait("the controller to hold its lease", 60, || {
        rig.plane
            .get(
                "coordination.k8s.io/v1",
                "Lease",
                Some(NS),
                "aws-load-balancer-controller-leader",
            )
            .filter(|l| l["spec"]["holderIdentity"].is_string())
    });

    // 3. The module's webhook configurations, pointed at loopback for the
    // test: each webhook keeps its path and the module's caBundle.
    for (kind, plural) in [
        (
            "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations",
        ),
        (
            "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations",
        ),
    ] {
        let url = format!("/apis/admissionregistration.k8s.io/v1/{plural}/{WEBHOOK_CONFIGURATION}");
        let mut w = request(rig, http::Method::GET, &url, None);
        for h in w["webhooks"].as_array_mut().unwrap() {
            let cc = &h["clientConfig"];
            assert_eq!(
                cc["service"]["name"], "aws-load-balancer-webhook-service",
                "{kind}"
            );
            h["clientConfig"] = json!({
                "url": format!("https://127.0.0.1:{webhook_port}{}", cc["service"]["path"].as_str().unwrap()),
                "caBundle": cc["caBundle"],
            });
        }
        request(rig, http::Method::PUT, &url, Some(w));
    }

    // 4. The seed's Ingress and Service, through the webhooks (mservice
    // mutates the Service, vingress validates the Ingress, both Fail).
    let t0 = Instant::now();
    let r = rig.module("alb_ingress", lbc::seed_args(&t.ns));
    assert_eq!(r["failed"], json!(false), "{r}");
    let np = rig
        .plane
        .get("v1", "Service", Some(&t.ns), "app-service")
        .unwrap()["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .unwrap();
    let mut want: Vec<String> = rig
        .instance_ids()
        .iter()
        .map(|i| format!("{i}:{np}"))
        .collect();
    want.sort();
    let stack = format!("{}/app-ingress", t.ns);
    let s = rig.wait(
        &format!("the ALB of {stack} with both workers as targets"),
        120,
        || {
            let s = rig.aws_state();
            let lb = rig.load_balancer(&s, &stack)?;
            let tgs = rig.target_groups(&s, lb);
            (tgs.len() == 1 && tgs[0]["targets"] == json!(want)).then(|| s.clone())
        },
    );
    eprintln!(
        "lbc install: targets registered {:.1}s after the Ingress was applied",
        t0.elapsed().as_secs_f64()
    );
    let lb = rig.load_balancer(&s, &stack).unwrap();
    assert_eq!(lb["scheme"], "internet-facing");

    // The webhooks were called with netpath's certificate, and the
    // controller had every permission it used.
    let log = rig.log_since(mark);
    assert!(
        !log.contains("is forbidden"),
        "the controller lacked an RBAC permission:\n{}",
        log.lines()
            .filter(|l| l.contains("forbidden"))
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    for path in [
        "/validate-networking-v1-ingress",
        "/mutate-v1-service",
        "/mutate-elbv2-k8s-aws-v1beta1-targetgroupbinding",
        "/validate-elbv2-k8s-aws-v1beta1-targetgroupbinding",
    ] {
        assert!(webhook_called(rig, path), "webhook {path} was not called");
    }
    assert_eq!(
        rig.failed_calls(),
        Default::default(),
        "AWS calls not answered 200"
    );
    let errors = rig.errors_since(mark);
    assert!(
        errors.is_empty(),
        "controller errors:\n{}",
        errors.join("\n")
    );

    // Deleted while the controller runs: its finalizer cleans AWS up.
    rig.plane.delete(
        "networking.k8s.io/v1",
        "Ingress",
        Some(&t.ns),
        "app-ingress",
    );
    rig.wait("AWS to be clean of the Ingress's ALB", 90, || {
        let s = rig.aws_state();
        (rig.load_balancer(&s, &stack).is_none() && s["targetGroups"] == json!([])).then_some(())
    });
}

/// controller-runtime's webhook metrics: `path` answered 200 at least once.
fn webhook_called(rig: &lbc::Rig, path: &str) -> bool {
    let out = Command::new("curl")
        .args(["-sf", "--noproxy", "*", "--max-time", "5"])
        .arg(rig.env("LBC_METRICS_URL"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().any(|l| {
        l.starts_with("controller_runtime_webhook_requests_total")
            && l.contains(&format!("webhook=\"{path}\""))
            && l.contains("code=\"200\"")
            && !l.ends_with(" 0")
    })
}
