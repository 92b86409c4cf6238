//! An IMDSv2 instance metadata service for one instance, on loopback: like a
//! hardened instance it answers only requests carrying its session token.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "AQAEAtoken-for-test";

/// An instance metadata service for one instance. Records every request line.
pub struct Imds {
    pub endpoint: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    pub refused: Arc<AtomicUsize>,
}

impl Imds {
    pub fn start(instance_id: &str, zone: &str, ipv4: &str) -> Imds {
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
