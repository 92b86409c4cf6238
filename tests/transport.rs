//! The HTTP stack under the modules (src/kube/transport.rs) against the real
//! kube-apiserver: HTTP/2 by ALPN, an HTTP CONNECT proxy with credentials,
//! and the module reading its arguments on stdin as the action plugin sends
//! them.

use crate::common::{self, module, plane};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

fn cm(ns: &str, name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": {"a": "1"}})
}

#[test]
fn the_api_server_is_spoken_to_over_http2() {
    let kc = kube::config::Kubeconfig::read_from(&plane().kubeconfig).unwrap();
    let (version, body) = common::block_on(async move {
        let config =
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
                .await
                .unwrap();
        let client = netpath::kube::transport::client(config).unwrap();
        let req = http::Request::get("/version")
            .body(Vec::new())
            .unwrap()
            .map(kube::client::Body::from);
        let res = client.send(req).await.unwrap();
        let version = res.version();
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        (version, body)
    });
    assert_eq!(version, http::Version::HTTP_2);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["gitVersion"].as_str().unwrap().starts_with("v1."), "{v}");
}

/// A real HTTP CONNECT proxy on loopback: it records each request head and
/// relays bytes both ways, as squid or tinyproxy would.
struct Proxy {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

fn start_proxy() -> Proxy {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || relay(client, &seen));
        }
    });
    Proxy { port, heads }
}

fn relay(client: TcpStream, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    seen.lock().unwrap().push(head.clone());
    let target = head
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let mut client_w = client;
    let Ok(upstream) = TcpStream::connect(&target) else {
        let _ = client_w.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
        return;
    };
    client_w
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .unwrap();
    let mut up_r = upstream.try_clone().unwrap();
    let mut up_w = upstream;
    let mut client_r = reader;
    let down = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_r, &mut client_w);
        let _ = client_w.shutdown(Shutdown::Write);
    });
    // Bytes the BufReader already holds belong to the tunnel too.
    let mut buf = [0u8; 16 * 1024];
    loop {
        match client_r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if up_w.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = up_w.shutdown(Shutdown::Write);
    let _ = down.join();
}

#[test]
fn an_http_proxy_tunnels_with_the_credentials_of_its_url() {
    let proxy = start_proxy();
    let ns = common::namespace("proxied");
    let args = json!({
        "kubeconfig": plane().kubeconfig.to_str().unwrap(),
        // '@' and ':' in a password must be percent-escaped in the URL.
        "proxy": format!("http://ops:s3cr%40t%3Ax@127.0.0.1:{}", proxy.port),
        "definition": [cm(&ns, "a"), cm(&ns, "b"), cm(&ns, "c")],
    });
    let r = module::run("manifest", args.clone(), module::Flags::default());
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    assert!(common::get("v1", "ConfigMap", Some(&ns), "c").is_some());
    let r = module::run("manifest", args, module::Flags::default());
    assert_eq!(r.json["changed"], json!(false), "{}", r.json);

    let heads = proxy.heads.lock().unwrap().clone();
    let server = plane().server.trim_start_matches("https://");
    assert!(!heads.is_empty(), "nothing went through the proxy");
    for head in &heads {
        assert!(head.starts_with(&format!("CONNECT {server} ")), "{head}");
        // base64("ops:s3cr@t:x")
        assert!(
            head.contains("proxy-authorization: Basic b3BzOnMzY3JAdDp4\r\n")
                || head.contains("Proxy-Authorization: Basic b3BzOnMzY3JAdDp4\r\n"),
            "{head}"
        );
    }
    // One HTTP/2 connection per module run carries all of its requests.
    assert_eq!(heads.len(), 2, "{heads:?}");
    // The password is a credential: never in the module's output.
    assert!(!r.stdout.contains("s3cr"), "{}", r.stdout);
}

#[test]
fn arguments_on_stdin_as_the_action_plugin_sends_them() {
    let ns = common::namespace("stdin");
    let args = json!({
        "_ansible_module_name": "netpath.calico_alb.manifest",
        "_ansible_check_mode": false,
        "kubeconfig": plane().kubeconfig.to_str().unwrap(),
        "definition": cm(&ns, "from-stdin"),
    });
    let out = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("netpath"))
        .arg("-")
        .write_stdin(serde_json::to_vec(&args).unwrap())
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["changed"], json!(true), "{r}");
    assert!(common::get("v1", "ConfigMap", Some(&ns), "from-stdin").is_some());
}
