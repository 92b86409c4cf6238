//! No credential ever leaves netpath: every output stream, diff, warning and
//! error of the fault runs (success with diff, check mode with invocation,
//! bad arguments, 401, 403, wrong CA, unreachable, TLS client-key problems,
//! the CLI) is searched for the bearer tokens, the client key material and
//! the no_log values that went in.

use crate::common::{self, module, plane, with};
use serde_json::{Value, json};

fn cm(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"k": "v"}})
}

/// Everything secret that this plane's credentials contain: tokens, the
/// admin client key (PEM, its base64 lines, and the kubeconfig's base64 of it).
fn plane_secrets() -> Vec<String> {
    let p = plane();
    let mut s = vec![p.token.clone(), p.limited_token.clone()];
    let key_pem = std::fs::read_to_string(p.dir.join("pki/admin.key")).unwrap();
    s.extend(
        key_pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 16)
            .map(str::to_string),
    );
    let kc = std::fs::read_to_string(&p.kubeconfig).unwrap();
    let key_data = kc
        .lines()
        .find_map(|l| l.trim().strip_prefix("client-key-data: "))
        .unwrap()
        .to_string();
    // Any 32-character slice of the base64 key counts as a leak.
    s.extend(
        key_data
            .as_bytes()
            .chunks(32)
            .filter(|c| c.len() == 32)
            .map(|c| String::from_utf8_lossy(c).to_string()),
    );
    s
}

struct Leaks {
    secrets: Vec<String>,
    checked: usize,
}

impl Leaks {
    fn new(extra: &[&str]) -> Self {
        let mut secrets = plane_secrets();
        secrets.extend(extra.iter().map(|s| s.to_string()));
        Leaks {
            secrets,
            checked: 0,
        }
    }

    fn check(&mut self, what: &str, texts: &[&str]) {
        for t in texts {
            for s in &self.secrets {
                assert!(
                    !t.contains(s.as_str()),
                    "{what}: secret {s:?} leaked in:\n{t}"
                );
            }
        }
        self.checked += 1;
    }

    fn run(&mut self, what: &str, args: Value, flags: module::Flags) -> module::Output {
        let r = module::run("manifest", args, flags);
        // stdout carries msg, diff, warnings, invocation and results alike.
        self.check(what, &[&r.stdout, &r.stderr]);
        r
    }
}

const NO_LOG_PASSWORD: &str = "hunter2-no-log-password";
const NO_LOG_API_KEY: &str = "netpath-no-log-api-key-0000";

#[test]
fn fault_runs_leak_no_credential() {
    let p = plane();
    let ns = common::namespace("leak");
    let mut leaks = Leaks::new(&[NO_LOG_PASSWORD, NO_LOG_API_KEY]);
    let kc = json!({"kubeconfig": p.kubeconfig.to_str().unwrap()});
    let all_flags = module::Flags {
        check: false,
        diff: true,
        inject_invocation: true,
    };

    // Success, with diff and invocation: client-cert user, then token user.
    for context in ["admin", "token"] {
        let r = leaks.run(
            context,
            with(
                kc.clone(),
                json!({"context": context, "definition": cm(&ns, context)}),
            ),
            all_flags,
        );
        assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    }
    // The real token as a no_log option, echoed in invocation: masked.
    let r = leaks.run(
        "api_key invocation",
        json!({"host": p.server, "api_key": p.token, "ca_cert": p.ca.to_str().unwrap(), "definition": cm(&ns, "by-key")}),
        module::Flags { check: true, diff: true, inject_invocation: true },
    );
    assert_eq!(
        r.json["invocation"]["module_args"]["api_key"], "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
        "{}",
        r.json
    );
    // Bad arguments next to no_log values: the error path masks them too.
    let r = leaks.run(
        "bad args",
        with(kc.clone(), json!({"password": NO_LOG_PASSWORD, "api_key": NO_LOG_API_KEY, "colour": NO_LOG_PASSWORD,
            "state": NO_LOG_API_KEY, "definition": cm(&ns, "x")})),
        all_flags,
    );
    assert_eq!(r.json["failed"], json!(true));
    // A no_log value used where a bool is expected still stays hidden.
    leaks.run("no_log as bool", with(kc.clone(), json!({"password": NO_LOG_PASSWORD, "wait": NO_LOG_PASSWORD, "definition": cm(&ns, "x")})), all_flags);
    // 401: a wrong token, and basic auth the server does not accept.
    let r = leaks.run(
        "401",
        json!({"host": p.server, "api_key": NO_LOG_API_KEY, "ca_cert": p.ca.to_str().unwrap(), "definition": cm(&ns, "y")}),
        all_flags,
    );
    assert!(
        r.json["msg"].as_str().unwrap().contains("401"),
        "{}",
        r.json
    );
    leaks.run(
        "basic auth",
        json!({"host": p.server, "username": "admin", "password": NO_LOG_PASSWORD, "ca_cert": p.ca.to_str().unwrap(), "definition": cm(&ns, "y")}),
        all_flags,
    );
    // 403 with the limited user.
    let r = leaks.run(
        "403",
        with(
            kc.clone(),
            json!({"context": "limited", "definition": cm(&ns, "z")}),
        ),
        all_flags,
    );
    assert!(
        r.json["msg"].as_str().unwrap().contains("403"),
        "{}",
        r.json
    );
    // Unreachable and TLS failures carry the token in the request, never in the error.
    leaks.run("unreachable", json!({"host": "https://127.0.0.1:1", "api_key": p.token, "request_timeout": 2, "definition": cm(&ns, "u")}), all_flags);
    let r = leaks.run(
        "no CA",
        json!({"host": p.server, "api_key": p.token, "definition": cm(&ns, "u")}),
        all_flags,
    );
    assert_eq!(r.json["failed"], json!(true));
    let r = leaks.run(
        "insecure",
        json!({"host": p.server, "api_key": p.token, "validate_certs": false, "definition": cm(&ns, "insecure")}),
        all_flags,
    );
    assert!(r.stdout.contains("validate_certs is false"), "{}", r.json);
    // Client key from files: a key that does not match the certificate, and the key given as the CA.
    let key = p.dir.join("pki/admin.key");
    let other_cert = p.dir.join("pki/apiserver.crt");
    leaks.run(
        "mismatched client key",
        json!({"host": p.server, "ca_cert": p.ca.to_str().unwrap(), "client_cert": other_cert.to_str().unwrap(),
            "client_key": key.to_str().unwrap(), "definition": cm(&ns, "k")}),
        all_flags,
    );
    leaks.run(
        "key as CA",
        json!({"host": p.server, "api_key": p.token, "ca_cert": key.to_str().unwrap(), "definition": cm(&ns, "k")}),
        all_flags,
    );
    leaks.run(
        "key as kubeconfig",
        json!({"kubeconfig": key.to_str().unwrap(), "definition": cm(&ns, "k")}),
        all_flags,
    );
    // A kubeconfig dict with inline key data, failing after connect (bad namespace).
    let kc_text = std::fs::read_to_string(&p.kubeconfig).unwrap();
    let kc_value: Value = serde_saphyr::from_str(&kc_text).unwrap();
    leaks.run(
        "kubeconfig dict",
        json!({"kubeconfig": kc_value, "namespace": "Bad_NS", "definition": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}}}),
        all_flags,
    );
    // The API key from the environment, as kubernetes.core reads it.
    let out = module::command()
        .env("K8S_AUTH_API_KEY", NO_LOG_API_KEY)
        .env("K8S_AUTH_HOST", &p.server)
        .env("K8S_AUTH_CA_CERT", &p.ca)
        .arg(args_file(&json!({"_ansible_module_name": "netpath.calico_alb.manifest", "_ansible_inject_invocation": true,
            "_ansible_diff": true, "definition": cm(&ns, "env")})))
        .output()
        .unwrap();
    leaks.check(
        "K8S_AUTH_API_KEY",
        &[
            &String::from_utf8_lossy(&out.stdout),
            &String::from_utf8_lossy(&out.stderr),
        ],
    );
    // The human CLI on a failing and a diffing run.
    for extra in [
        vec!["--context", "token", "--diff"],
        vec!["--context", "limited"],
    ] {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("m.yaml");
        std::fs::write(&f, serde_json::to_string(&cm(&ns, "cli")).unwrap()).unwrap();
        let out = module::command()
            .args([
                "apply",
                "-f",
                f.to_str().unwrap(),
                "--kubeconfig",
                p.kubeconfig.to_str().unwrap(),
            ])
            .args(&extra)
            .output()
            .unwrap();
        leaks.check(
            "cli",
            &[
                &String::from_utf8_lossy(&out.stdout),
                &String::from_utf8_lossy(&out.stderr),
            ],
        );
    }
    assert!(leaks.checked >= 18, "{} runs checked", leaks.checked);
}

#[test]
fn secret_object_data_never_appears_in_diffs() {
    let ns = common::namespace("secret-diff");
    let kc = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()});
    let value = "cGFzc3dvcmQtaW4tYS1zZWNyZXQ="; // base64 of password-in-a-secret
    let string_value = "plain-string-data-secret";
    let secret = |v: &str, s: &str| {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": ns},
            "type": "Opaque", "data": {"password": v}, "stringData": {"token": s}})
    };
    let flags = module::Flags {
        check: false,
        diff: true,
        inject_invocation: false,
    };
    let mut leaks = Leaks::new(&[value, string_value, "password-in-a-secret"]);
    let r = leaks.run(
        "create secret",
        with(
            kc.clone(),
            json!({"definition": secret(value, string_value)}),
        ),
        flags,
    );
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    let diff = r.json["diff"][0]["after"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(diff.contains("password"), "keys stay visible: {diff}");
    // A changed value: the diff says so without showing either value.
    let new = "bmV3LXBhc3N3b3Jk";
    let mut leaks = Leaks::new(&[value, string_value, new, "new-password"]);
    let r = leaks.run(
        "update secret",
        with(kc.clone(), json!({"definition": secret(new, string_value)})),
        module::Flags {
            check: true,
            ..flags
        },
    );
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    let d = &r.json["diff"][0];
    assert_ne!(
        d["before"], d["after"],
        "a changed secret value must still show as a change: {d}"
    );
    assert!(d["after"].as_str().unwrap().contains("(changed)"), "{d}");
    // Inline Secret values are masked in invocation too.
    let r = leaks.run(
        "invocation of a secret",
        with(kc, json!({"definition": secret(new, string_value)})),
        module::Flags {
            check: true,
            diff: true,
            inject_invocation: true,
        },
    );
    assert!(
        r.json["invocation"]["module_args"]["definition"]["data"]["password"].is_string(),
        "{}",
        r.json
    );
}

fn args_file(v: &Value) -> std::path::PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let f = dir.join("args");
    std::fs::write(&f, serde_json::to_vec(v).unwrap()).unwrap();
    f
}

/// The alb_controller module's webhook keys (the CA's and the serving
/// certificate's, made by netpath) never leave the process: not in msg,
/// results, diffs or invocation, on the create, a renewal (an update of the
/// Secret) and check mode.
#[test]
fn webhook_private_keys_never_appear() {
    // Its own plane: the webhooks are cluster-wide and fail closed.
    let p = common::private_plane("lbc-keys");
    let ns = p.namespace("lbc-keys");
    let base = json!({"kubeconfig": p.kubeconfig.to_str().unwrap(), "namespace": ns,
        "cluster_name": "netpath", "region": "eu-west-1", "vpc_id": "vpc-0123456789abcdef0"});
    let flags = module::Flags {
        check: false,
        diff: true,
        inject_invocation: true,
    };
    let mut outputs = Vec::new();
    let mut keys = Vec::new();
    let read_keys = |keys: &mut Vec<String>| {
        for name in ["aws-load-balancer-tls", "aws-load-balancer-webhook-ca"] {
            let s = p.get("v1", "Secret", Some(&ns), name).expect(name);
            let b64 = s["data"]["tls.key"].as_str().unwrap().to_string();
            keys.extend(
                b64.as_bytes()
                    .chunks(32)
                    .filter(|c| c.len() == 32)
                    .map(|c| String::from_utf8_lossy(c).to_string()),
            );
            use base64::Engine;
            let pem = String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(&b64)
                    .unwrap(),
            )
            .unwrap();
            keys.extend(
                pem.lines()
                    .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                    .map(str::to_string),
            );
        }
    };
    let r = module::run("alb_controller", base.clone(), flags);
    assert_eq!(r.json["changed"], json!(true), "{}", r.stdout);
    outputs.push(r);
    read_keys(&mut keys);
    let renew = with(base.clone(), json!({"webhook_cert_renew": true}));
    let r = module::run("alb_controller", renew.clone(), flags);
    assert_eq!(r.json["changed"], json!(true), "{}", r.stdout);
    assert!(
        r.json["diff"].as_array().unwrap().iter().any(|d| d["after"]
            .as_str()
            .unwrap_or_default()
            .contains("(changed)")),
        "the renewed key shows as a change: {}",
        r.stdout
    );
    outputs.push(r);
    read_keys(&mut keys);
    outputs.push(module::run(
        "alb_controller",
        renew,
        module::Flags {
            check: true,
            ..flags
        },
    ));
    outputs.push(module::run("alb_controller", base, flags));
    let mut leaks = Leaks::new(&keys.iter().map(String::as_str).collect::<Vec<_>>());
    for (i, r) in outputs.iter().enumerate() {
        assert!(!r.stdout.contains("PRIVATE KEY"), "run {i}: {}", r.stdout);
        leaks.check(&format!("alb_controller run {i}"), &[&r.stdout, &r.stderr]);
    }
    assert!(keys.len() > 8, "{} key fragments checked", keys.len());
}

/// An "AWS endpoint" on loopback that answers every request with an EC2
/// error whose message is the request's headers (the SigV4 Authorization
/// with the access key ID, X-Amz-Security-Token): if netcheck quoted AWS's
/// words unmasked, the credentials would be in its output.
fn echoing_aws() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut w = s.try_clone().unwrap();
                let mut r = BufReader::new(s);
                loop {
                    let mut headers = String::new();
                    let mut len = 0usize;
                    loop {
                        let mut h = String::new();
                        if r.read_line(&mut h).unwrap_or(0) == 0 {
                            return;
                        }
                        if h == "\r\n" {
                            break;
                        }
                        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        headers.push_str(h.trim());
                        headers.push(' ');
                    }
                    let mut body = vec![0; len];
                    let _ = r.read_exact(&mut body);
                    let msg = headers.replace('&', "&amp;").replace('<', "&lt;");
                    let xml = format!(
                        "<Response><Errors><Error><Code>AuthFailure</Code><Message>{msg}</Message></Error></Errors><RequestID>x</RequestID></Response>"
                    );
                    let resp = format!(
                        "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
                        xml.len()
                    );
                    if w.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// netcheck's AWS reads: the access key ID, secret key and session token
/// never reach its output, whether AWS answers, refuses (quoting the
/// request), or cannot be reached.
#[test]
fn aws_credentials_never_leak_from_netcheck() {
    const KEY_ID: &str = "AKIANETPATHLEAKTEST01";
    const SECRET: &str = "npLeakSecretAccessKey-0123456789abcdef";
    const TOKEN: &str = "npLeakSessionToken-fedcba9876543210";
    let mut leaks = Leaks::new(&[KEY_ID, SECRET, TOKEN]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unreachable = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let echo = echoing_aws();
    let args = json!({"cni_plugin": "calico", "pod_cidr": "192.168.0.0/16", "vpc_cidrs": ["10.0.0.0/16"],
        "live": false, "aws": true, "region": "eu-west-1", "vpc_id": "vpc-0123456789abcdef0", "fail_on": "never",
        "ingresses": [{"name": "app", "rules": [{"host": "example.com", "paths": [{"path": "/", "service_name": "app", "service_port": 80}]}],
            "services": [{"name": "app", "port": 80, "target_port": 8080, "selector": {"app": "a"}}]}]});
    for (what, endpoint) in [
        ("refused, quoting the request", &echo),
        ("unreachable", &unreachable),
    ] {
        let r = module::run_env(
            "netcheck",
            args.clone(),
            module::Flags {
                check: false,
                diff: true,
                inject_invocation: true,
            },
            &[
                ("AWS_ENDPOINT_URL", endpoint),
                ("AWS_ACCESS_KEY_ID", KEY_ID),
                ("AWS_SECRET_ACCESS_KEY", SECRET),
                ("AWS_SESSION_TOKEN", TOKEN),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
        );
        leaks.check(what, &[&r.stdout, &r.stderr]);
        let aws = &r.json["aws"];
        assert_eq!(aws["read"], json!(false), "{what}: {}", r.json);
        if endpoint == &echo {
            // AWS's own words are there, the credentials in them masked.
            let e = aws["errors"][0].as_str().unwrap();
            assert!(
                e.contains("AuthFailure") && e.contains("********"),
                "{what}: {e}"
            );
        }
    }
    assert_eq!(leaks.checked, 2);
}
