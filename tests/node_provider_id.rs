//! `node_provider_id` on the real plane: Nodes made by the test (there is no
//! kubelet), and an IMDSv2 instance metadata service on loopback that, like
//! a hardened instance, answers only requests carrying its session token.

mod common;

use common::module::{self, Flags};
use common::{block_on, plane, resource_version, unique_name};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "AQAEAtoken-for-test";

/// An instance metadata service for one instance. Records every request line.
struct Imds {
    endpoint: String,
    requests: Arc<Mutex<Vec<String>>>,
    refused: Arc<AtomicUsize>,
}

impl Imds {
    fn start(instance_id: &str, zone: &str, ipv4: &str) -> Imds {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(AtomicUsize::new(0));
        let data: Vec<(String, String)> = vec![
            ("/latest/meta-data/instance-id".into(), instance_id.into()),
            (
                "/latest/meta-data/placement/availability-zone".into(),
                zone.into(),
            ),
            ("/latest/meta-data/local-ipv4".into(), ipv4.into()),
        ];
        let (reqs, refs) = (requests.clone(), refused.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (data, reqs, refs) = (data.clone(), reqs.clone(), refs.clone());
                std::thread::spawn(move || serve(stream, &data, &reqs, &refs));
            }
        });
        Imds {
            endpoint,
            requests,
            refused,
        }
    }
}

fn serve(
    stream: std::net::TcpStream,
    data: &[(String, String)],
    reqs: &Mutex<Vec<String>>,
    refused: &AtomicUsize,
) {
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            headers.push(h.trim().to_ascii_lowercase());
        }
        let line = line.trim().to_string();
        reqs.lock().unwrap().push(line.clone());
        let mut parts = line.split(' ');
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let has = |p: &str| headers.iter().any(|h| h.starts_with(p));
        let (status, body) = if method == "PUT" && path == "/latest/api/token" {
            if has("x-aws-ec2-metadata-token-ttl-seconds:") {
                ("200 OK", TOKEN.to_string())
            } else {
                ("400 Bad Request", String::new())
            }
        } else if !headers
            .iter()
            .any(|h| h == &format!("x-aws-ec2-metadata-token: {}", TOKEN.to_ascii_lowercase()))
        {
            // IMDSv2 required: a GET without the token is refused.
            refused.fetch_add(1, Ordering::SeqCst);
            ("401 Unauthorized", String::new())
        } else {
            match data.iter().find(|(p, _)| p == path) {
                Some((_, v)) => ("200 OK", v.clone()),
                None => ("404 Not Found", String::new()),
            }
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if w.write_all(resp.as_bytes()).is_err() {
            return;
        }
    }
}

/// A Node as kubelet registers it without --provider-id: Ready, with an InternalIP.
fn node(ip: &str, provider_id: Option<&str>) -> String {
    let name = unique_name("ip-node");
    let mut obj = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}});
    if let Some(p) = provider_id {
        obj["spec"] = json!({"providerID": p});
    }
    plane().create(&obj);
    let status = json!({"status": {
        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": "2026-12-01T00:00:00Z", "lastTransitionTime": "2026-12-01T00:00:00Z"}],
    }});
    let n = name.clone();
    block_on(async move {
        let api: kube::Api<k8s_openapi::api::core::v1::Node> = kube::Api::all(plane().client());
        api.patch_status(
            &n,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&status),
        )
        .await
        .expect("patch Node status");
    });
    name
}

fn get_node(name: &str) -> Value {
    common::get("v1", "Node", None, name).expect("Node exists")
}

fn args(extra: Value) -> Value {
    let mut a = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()});
    for (k, v) in extra.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

/// A random private-looking address per test, so the InternalIP lookup
/// finds exactly this test's Node on the shared plane.
fn test_ip() -> String {
    let n = unique_name("x");
    let b = n
        .bytes()
        .fold(0u32, |a, c| a.wrapping_mul(31).wrapping_add(c as u32));
    format!(
        "10.{}.{}.{}",
        100 + b % 100,
        (b >> 8) % 250 + 1,
        (b >> 16) % 250 + 1
    )
}

#[test]
fn metadata_sets_provider_id_once_check_mode_writes_nothing() {
    let ip = test_ip();
    let name = node(&ip, None);
    let imds = Imds::start("i-0a1b2c3d4e5f60718", "eu-west-1b", &ip);
    let a = args(json!({"metadata_endpoint": imds.endpoint}));
    let rv = resource_version(&get_node(&name));

    let check = module::run(
        "node_provider_id",
        a.clone(),
        Flags {
            check: true,
            diff: true,
            ..Flags::default()
        },
    );
    assert_eq!(check.json["changed"], true, "{}", check.stdout);
    assert_eq!(check.json["node_name"], name.as_str());
    assert_eq!(
        check.json["provider_id"],
        "aws:///eu-west-1b/i-0a1b2c3d4e5f60718"
    );
    assert!(
        check.json["diff"]
            .to_string()
            .contains("i-0a1b2c3d4e5f60718"),
        "{}",
        check.stdout
    );
    assert_eq!(
        resource_version(&get_node(&name)),
        rv,
        "check mode wrote the Node"
    );

    let first = module::run("node_provider_id", a.clone(), Flags::default());
    assert_eq!(first.json["changed"], true, "{}", first.stdout);
    assert_eq!(first.json["source"], "metadata");
    let live = get_node(&name);
    assert_eq!(
        live["spec"]["providerID"],
        "aws:///eu-west-1b/i-0a1b2c3d4e5f60718"
    );
    let rv = resource_version(&live);

    let second = module::run("node_provider_id", a, Flags::default());
    assert_eq!(second.json["changed"], false, "{}", second.stdout);
    assert_eq!(
        resource_version(&get_node(&name)),
        rv,
        "the second run wrote"
    );

    // Every GET carried the IMDSv2 token; nothing fell back to IMDSv1.
    assert_eq!(imds.refused.load(Ordering::SeqCst), 0);
    let reqs = imds.requests.lock().unwrap().clone();
    assert!(
        reqs.iter().any(|r| r.starts_with("PUT /latest/api/token")),
        "{reqs:?}"
    );
}

#[test]
fn inventory_ids_by_node_name() {
    let name = node(&test_ip(), None);
    let a = args(
        json!({"node_name": name, "instance_id": "i-0123456789abcdef0", "availability_zone": "eu-west-1a"}),
    );
    let out = module::run("node_provider_id", a.clone(), Flags::default());
    assert_eq!(out.json["changed"], true, "{}", out.stdout);
    assert_eq!(out.json["source"], "inventory");
    assert_eq!(
        get_node(&name)["spec"]["providerID"],
        "aws:///eu-west-1a/i-0123456789abcdef0"
    );
    let again = module::run("node_provider_id", a, Flags::default());
    assert_eq!(again.json["changed"], false, "{}", again.stdout);
}

#[test]
fn a_different_provider_id_is_reported_never_changed() {
    let name = node(&test_ip(), Some("aws:///eu-west-1a/i-00000000000000001"));
    let rv = resource_version(&get_node(&name));
    let out = module::run(
        "node_provider_id",
        args(json!({"node_name": name, "provider_id": "aws:///eu-west-1a/i-00000000000000002"})),
        Flags::default(),
    );
    assert_eq!(out.json["failed"], true, "{}", out.stdout);
    let msg = out.json["msg"].as_str().unwrap();
    assert!(
        msg.contains("already has providerID aws:///eu-west-1a/i-00000000000000001"),
        "{msg}"
    );
    assert!(msg.contains("--provider-id"), "{msg}");
    assert_eq!(resource_version(&get_node(&name)), rv);
}

#[test]
fn bad_input_writes_nothing() {
    let ip = test_ip();
    let name = node(&ip, None);
    let rv = resource_version(&get_node(&name));
    let cases = [
        (
            json!({"node_name": name, "provider_id": "i-0123456789abcdef0"}),
            "provider_id: \"i-0123456789abcdef0\" is not of the form aws:///<availability-zone>/<instance-id>",
        ),
        (
            json!({"node_name": name, "instance_id": "i-xyz", "availability_zone": "eu-west-1a"}),
            "instance_id: \"i-xyz\" is not an EC2 instance ID",
        ),
        (
            json!({"node_name": name, "instance_id": "i-0abc"}),
            "availability_zone",
        ),
        (
            json!({"node_name": "no-such-node-np", "provider_id": "aws:///eu-west-1a/i-0abc"}),
            "Node \"no-such-node-np\" does not exist",
        ),
        // Nothing listens on port 9: the lookup fails with the way out.
        (
            json!({"metadata_endpoint": "http://127.0.0.1:9"}),
            "give instance_id and availability_zone",
        ),
    ];
    for (a, want) in cases {
        let out = module::run("node_provider_id", args(a.clone()), Flags::default());
        assert_eq!(out.json["failed"], true, "{a}: {}", out.stdout);
        let msg = out.json["msg"].as_str().unwrap();
        assert!(msg.contains(want), "{a}: {msg}");
    }
    // No endpoint given and metadata turned off as the SDKs turn it off.
    let out = module::run_env(
        "node_provider_id",
        args(json!({})),
        Flags::default(),
        &[("AWS_EC2_METADATA_DISABLED", "true")],
    );
    assert!(
        out.json["msg"]
            .as_str()
            .unwrap()
            .contains("AWS_EC2_METADATA_DISABLED=true"),
        "{}",
        out.stdout
    );
    assert_eq!(
        resource_version(&get_node(&name)),
        rv,
        "a refused run wrote the Node"
    );
}
