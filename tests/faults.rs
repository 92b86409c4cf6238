//! Faults a production run meets, each against a real kube-apiserver: the
//! server unreachable or hanging, killed in the middle of a 200-object task,
//! credentials rejected (401) or not allowed (403), a wrong CA, concurrent
//! writers, and ten ansible-playbook forks at once. Every run must end in one
//! JSON result with a clear message, in bounded time, and leave a state that a
//! rerun converges.

use crate::common::{self, Plane, module, plane, with};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn cm(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

fn kubeconfig_of(p: &Plane) -> Value {
    json!({"kubeconfig": p.kubeconfig.to_str().unwrap()})
}

fn assert_clean_failure(r: &module::Output, want: &[&str]) {
    assert_eq!(r.json["failed"], json!(true), "{}", r.json);
    let msg = r.json["msg"].as_str().unwrap_or_default();
    for w in want {
        assert!(msg.contains(w), "want {w:?} in: {msg}");
    }
    for s in [&r.stdout, &r.stderr] {
        assert!(
            !s.contains("panicked") && !s.contains("internal error"),
            "{s}"
        );
    }
}

/// Writes `args` (plus Ansible's internal keys) and starts the module without waiting.
fn spawn_module(module: &str, args: &Value, dir: &Path) -> Child {
    let mut all = args.clone();
    all["_ansible_module_name"] = json!(format!("netpath.calico_alb.{module}"));
    let file = dir.join("args");
    std::fs::write(&file, serde_json::to_vec(&all).unwrap()).unwrap();
    let exe = dir.join(format!("AnsiballZ_{module}"));
    let _ = std::fs::remove_file(&exe);
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin!("netpath"), &exe).unwrap();
    Command::new(exe)
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> module::Output {
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {stdout} {stderr}"));
    module::Output {
        json,
        stdout,
        stderr,
    }
}

fn apiserver_pid(p: &Plane) -> u32 {
    p.pids()
        .into_iter()
        .rev()
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("kube-apiserver"))
        })
        .expect("kube-apiserver pid")
}

fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill -{sig} {pid}");
}

/// Starts kube-apiserver again with the exact command line it had, on the
/// same etcd (so objects survive), and records it so the plane's teardown
/// stops it too. Waits for /readyz; the caller reaps it after `p.stop()`.
// On the panic paths the test process ends, and the plane's watcher stops it.
#[allow(clippy::zombie_processes)]
fn restart_apiserver(p: &Plane, cmdline: &[String]) -> Child {
    let log = std::fs::File::create(p.dir.join("kube-apiserver.restart.log")).unwrap();
    let child = Command::new(&cmdline[0])
        .args(&cmdline[1..])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut pids = std::fs::OpenOptions::new()
        .append(true)
        .open(p.dir.join("pids"))
        .unwrap();
    std::io::Write::write_all(&mut pids, format!("{}\n", child.id()).as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ok = Command::new("curl")
            .args(["-sf", "--noproxy", "*", "--max-time", "2", "--cacert"])
            .arg(&p.ca)
            .arg(format!("{}/readyz", p.server))
            .output()
            .is_ok_and(|o| o.stdout == b"ok");
        if ok {
            return child;
        }
        assert!(
            Instant::now() < deadline,
            "kube-apiserver did not come back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

// ------------------------------------------------------------ unreachable

#[test]
fn unreachable_server_fails_within_request_timeout() {
    // Nothing listens on port 1: refused at once.
    let started = Instant::now();
    let args = json!({"host": "https://127.0.0.1:1", "api_key": "x-token-value", "request_timeout": 3,
        "definition": cm("default", "x", json!({}))});
    let r = module::run("manifest", args, module::Flags::default());
    assert_clean_failure(&r, &["unreachable", "request_timeout"]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn silent_server_is_bounded_by_request_timeout() {
    // A listener that accepts TCP but never speaks TLS: without a timeout the
    // handshake would wait forever.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for (timeout, limit) in [(2, 20), (5, 30)] {
        let started = Instant::now();
        let args = json!({"host": format!("https://127.0.0.1:{port}"), "api_key": "x-token-value",
            "request_timeout": timeout, "definition": cm("default", "x", json!({}))});
        let r = module::run("manifest", args, module::Flags::default());
        let took = started.elapsed();
        assert_clean_failure(&r, &["unreachable"]);
        assert!(
            took >= Duration::from_secs(timeout),
            "gave up before request_timeout: {took:?}"
        );
        assert!(
            took < Duration::from_secs(limit),
            "request_timeout {timeout}s took {took:?}"
        );
    }
    drop(listener);
}

#[test]
fn hung_server_is_bounded_by_request_timeout_and_rerun_converges() {
    let p = common::private_plane("faults");
    let ns = p.namespace("hang");
    let docs: Vec<Value> = (0..20)
        .map(|i| cm(&ns, &format!("h-{i}"), json!({"i": i.to_string()})))
        .collect();
    let args = with(
        kubeconfig_of(&p),
        json!({"definition": docs, "request_timeout": 3}),
    );
    let pid = apiserver_pid(&p);
    signal(pid, "STOP");
    let started = Instant::now();
    let r = module::run("manifest", args.clone(), module::Flags::default());
    let took = started.elapsed();
    signal(pid, "CONT");
    assert_clean_failure(&r, &["unreachable"]);
    assert!(
        took < Duration::from_secs(30),
        "a stopped server must not hang the run: {took:?}"
    );
    let r = module::run("manifest", args.clone(), module::Flags::default());
    assert_eq!(r.json["failed"], json!(false), "{}", r.json);
    assert_eq!(p.list("v1", "ConfigMap", Some(&ns)).len(), 20);
    p.stop();
}

// ------------------------------------------------------ killed mid-task

#[test]
fn server_killed_mid_task_reports_what_was_applied_and_rerun_converges() {
    let p = common::private_plane("faults");
    let n = 200;
    let pid = apiserver_pid(&p);
    let cmdline: Vec<String> = std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap()
        .split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).to_string())
        .collect();
    let client = p.config("admin");
    let dir = tempfile::tempdir().unwrap();
    // A fast machine may finish the task before the kill lands: try again then.
    let mut attempt = 0;
    let (ns, args, child, seen) = loop {
        attempt += 1;
        let ns = p.namespace("kill");
        let docs: Vec<Value> = (0..n)
            .map(|i| cm(&ns, &format!("cm-{i:03}"), json!({"i": i.to_string()})))
            .collect();
        let args = with(
            kubeconfig_of(&p),
            json!({"definition": docs, "request_timeout": 5}),
        );
        let mut child = spawn_module("manifest", &args, dir.path());
        // Freeze the server as soon as some objects exist, then kill it.
        let url = format!("/api/v1/namespaces/{ns}/configmaps");
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen < 20 && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            seen = count_objects(&client, &url);
            std::thread::sleep(Duration::from_millis(5));
        }
        if child.try_wait().unwrap().is_some() && attempt < 3 {
            continue;
        }
        break (ns, args, child, seen);
    };
    signal(pid, "STOP");
    signal(pid, "KILL");
    let started = Instant::now();
    let first = finish(child);
    let took = started.elapsed();
    let mut restarted = restart_apiserver(&p, &cmdline);

    let live: Vec<String> = p
        .list("v1", "ConfigMap", Some(&ns))
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        seen >= 20 && live.len() < n,
        "the kill did not land mid-task (saw {seen}, live {})",
        live.len()
    );
    assert_clean_failure(&first, &["unreachable"]);
    assert!(took < Duration::from_secs(30), "killed server: {took:?}");
    // Every object the result reports as applied is there.
    let reported: Vec<&str> = first.json["results"]
        .as_array()
        .expect("a failed run still returns results")
        .iter()
        .map(|r| {
            assert_eq!(r["action"], "created", "{r}");
            r["name"].as_str().unwrap()
        })
        .collect();
    assert!(
        !reported.is_empty(),
        "objects written before the kill must be reported: {}",
        first.json
    );
    for name in &reported {
        assert!(
            live.iter().any(|l| l == name),
            "{name} reported applied but absent"
        );
    }
    assert_eq!(
        first.json["changed"],
        json!(true),
        "writes happened, so changed"
    );

    // Rerun: creates only what is missing, then nothing.
    let second = module::run("manifest", args.clone(), module::Flags::default());
    assert_eq!(second.json["failed"], json!(false), "{}", second.json);
    let results = second.json["results"].as_array().unwrap();
    assert_eq!(results.len(), n);
    let created = results.iter().filter(|r| r["action"] == "created").count();
    assert_eq!(
        created,
        n - live.len(),
        "rerun creates exactly the missing objects"
    );
    let all = p.list("v1", "ConfigMap", Some(&ns));
    assert_eq!(all.len(), n, "no duplicates, none missing");
    let third = module::run("manifest", args, module::Flags::default());
    assert_eq!(third.json["changed"], json!(false), "{}", third.json["msg"]);
    p.stop();
    let _ = restarted.wait();
}

/// A write that fails after its dry run passed, while the task's other
/// writes are in flight: each of them is reported, and the rerun writes only
/// what is left. The failure is a real admission policy that lets dry runs
/// through and denies the write (what changed between the two, in life).
#[test]
fn a_write_failing_among_concurrent_writes_reports_every_other_and_rerun_converges() {
    let p = plane();
    let ns = p.namespace("midway");
    let policy = format!("deny-writes-{ns}");
    p.create(&json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": policy},
        "spec": {"failurePolicy": "Fail",
            "matchConstraints": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
                    "operations": ["CREATE"], "resources": ["services"]}]},
            "validations": [{"expression": "request.dryRun == true",
                "message": "no Service may be written here"}]}
    }));
    p.create(&json!({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy},
        "spec": {"policyName": policy, "validationActions": ["Deny"]}
    }));
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "late", "namespace": ns},
        "spec": {"selector": {"app": "late"}, "ports": [{"port": 80, "targetPort": 8080}]}});
    // The policy comes into force through an informer: wait until it denies.
    let start = Instant::now();
    while p.try_create(&svc).is_ok() {
        p.delete("v1", "Service", Some(&ns), "late");
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the policy never came into force"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Over result_limit (250): the bulk path, objects kept compact.
    let n = 300;
    let mut docs: Vec<Value> = (0..n)
        .map(|i| cm(&ns, &format!("cm-{i:03}"), json!({"i": i.to_string()})))
        .collect();
    // In the middle, so writes before and after it are in flight with it.
    docs.insert(n / 2, svc);
    let args = with(kubeconfig_of(p), json!({"definition": docs}));

    let first = module::run("manifest", args.clone(), module::Flags::default());
    assert_clean_failure(
        &first,
        &[
            "apply Service",
            "no Service may be written here",
            "written in this run before it failed",
        ],
    );
    assert!(
        !first.json["msg"].as_str().unwrap().contains("dry run"),
        "{}",
        first.json["msg"]
    );
    let reported: Vec<&str> = first.json["results"]
        .as_array()
        .expect("a failed run still returns results")
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(reported.len(), n, "every ConfigMap written is reported");
    assert_eq!(p.list("v1", "ConfigMap", Some(&ns)).len(), n);
    assert!(p.get("v1", "Service", Some(&ns), "late").is_none());

    p.delete(
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
        None,
        &policy,
    );
    p.delete(
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
        None,
        &policy,
    );
    let start = Instant::now();
    let second = loop {
        let r = module::run("manifest", args.clone(), module::Flags::default());
        if r.json["failed"] == json!(false) || start.elapsed() > Duration::from_secs(20) {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(second.json["failed"], json!(false), "{}", second.json);
    assert_eq!(
        second.json["msg"],
        json!(format!("1 created, 0 updated, 0 deleted, {n} unchanged"))
    );
    let third = module::run("manifest", args, module::Flags::default());
    assert_eq!(third.json["changed"], json!(false), "{}", third.json["msg"]);
}

fn count_objects(config: &kube::Config, url: &str) -> usize {
    let (config, url) = (config.clone(), url.to_string());
    common::block_on(async move {
        let client = kube::Client::try_from(config).unwrap();
        let req = http::Request::get(url).body(Vec::new()).unwrap();
        match tokio::time::timeout(Duration::from_secs(2), client.request_text(req)).await {
            Ok(Ok(text)) => serde_json::from_str::<Value>(&text)
                .map(|v| v["items"].as_array().map_or(0, Vec::len))
                .unwrap_or(0),
            _ => 0,
        }
    })
}

// ------------------------------------------------------------ credentials

#[test]
fn invalid_token_is_401_and_writes_nothing() {
    let ns = common::namespace("401");
    let p = plane();
    let bad = "netpath-wrong-token-0123456789";
    let by_host = json!({"host": p.server, "api_key": bad, "ca_cert": p.ca.to_str().unwrap(),
        "definition": [cm(&ns, "a", json!({})), cm(&ns, "b", json!({}))]});
    let r = module::run("manifest", by_host, module::Flags::default());
    assert_clean_failure(&r, &["401 Unauthorized"]);
    assert!(
        !r.stdout.contains(bad),
        "the rejected token is still a secret: {}",
        r.stdout
    );
    // The same through a kubeconfig context whose token is wrong.
    let kc = std::fs::read_to_string(&p.kubeconfig)
        .unwrap()
        .replace(&p.token, bad);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kubeconfig");
    std::fs::write(&file, kc).unwrap();
    let r = module::run(
        "manifest",
        json!({"kubeconfig": file.to_str().unwrap(), "context": "token", "definition": cm(&ns, "c", json!({}))}),
        module::Flags::default(),
    );
    assert_clean_failure(&r, &["401 Unauthorized"]);
    assert!(!r.stdout.contains(bad));
    assert!(common::list("v1", "ConfigMap", Some(&ns)).is_empty());
}

#[test]
fn rbac_forbidden_write_is_403_and_nothing_is_half_applied() {
    // User `limited` may read ConfigMaps in both namespaces but write only in `open`.
    let open = common::namespace("403-open");
    let shut = common::namespace("403-shut");
    for (ns, verbs) in [
        (&open, json!(["get", "list", "create", "patch", "update"])),
        (&shut, json!(["get", "list"])),
    ] {
        common::create(
            &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "cm", "namespace": ns},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": verbs}]}),
        );
        common::create(
            &json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "cm", "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm"},
            "subjects": [{"kind": "User", "name": "limited", "apiGroup": "rbac.authorization.k8s.io"}]}),
        );
    }
    let args = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap(), "context": "limited",
        "definition": [cm(&open, "a", json!({"k": "v"})), cm(&shut, "b", json!({"k": "v"}))]});
    // RBAC caches may take a moment to see the new bindings.
    let mut r = module::run("manifest", args.clone(), module::Flags::default());
    for _ in 0..20 {
        if r.json["msg"].as_str().unwrap_or_default().contains("403") {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        r = module::run("manifest", args.clone(), module::Flags::default());
    }
    assert_clean_failure(&r, &["403 Forbidden", "RBAC", &shut, "nothing was written"]);
    assert!(!r.stdout.contains(&plane().limited_token));
    assert!(
        common::get("v1", "ConfigMap", Some(&open), "a").is_none(),
        "the allowed half must not be written"
    );
    // Alone, the allowed object applies with the same credentials.
    let ok = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap(), "context": "limited",
        "definition": cm(&open, "a", json!({"k": "v"}))});
    let r = module::run("manifest", ok, module::Flags::default());
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
}

#[test]
fn no_rbac_at_all_is_403_on_the_first_read() {
    let ns = common::namespace("403-none");
    let args = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap(), "context": "limited",
        "definition": cm(&ns, "a", json!({}))});
    let r = module::run("manifest", args, module::Flags::default());
    assert_clean_failure(&r, &["403 Forbidden"]);
    assert!(common::get("v1", "ConfigMap", Some(&ns), "a").is_none());
}

#[test]
fn wrong_ca_is_a_tls_error_and_never_falls_back_to_insecure() {
    let ns = common::namespace("ca");
    let p = plane();
    let dir = tempfile::tempdir().unwrap();
    let (other_ca, _) = common::unrelated_ca(dir.path());
    let pem = std::fs::read_to_string(&other_ca).unwrap();
    // A kubeconfig whose CA data is another CA, with and without validate_certs spelled out.
    let kc = std::fs::read_to_string(&p.kubeconfig).unwrap();
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    };
    let real = b64(&std::fs::read_to_string(&p.ca).unwrap());
    assert!(kc.contains(&real));
    let file = dir.path().join("kubeconfig");
    std::fs::write(&file, kc.replace(&real, &b64(&pem))).unwrap();
    for extra in [
        json!({}),
        json!({"validate_certs": true}),
        json!({"context": "token"}),
    ] {
        let args = with(
            json!({"kubeconfig": file.to_str().unwrap(), "definition": cm(&ns, "x", json!({}))}),
            extra.clone(),
        );
        let r = module::run("manifest", args, module::Flags::default());
        assert_clean_failure(&r, &["TLS"]);
        assert!(!r.stdout.contains(&p.token), "{extra}");
    }
    // ca_cert pointing at the other CA overrides a correct kubeconfig: still refused.
    let args = json!({"kubeconfig": p.kubeconfig.to_str().unwrap(), "ca_cert": other_ca.to_str().unwrap(),
        "definition": cm(&ns, "x", json!({}))});
    let r = module::run("manifest", args, module::Flags::default());
    assert_clean_failure(&r, &["TLS"]);
    assert!(common::get("v1", "ConfigMap", Some(&ns), "x").is_none());
}

// --------------------------------------------------------- concurrent writers

/// Another client that keeps rewriting a field netpath does not own, with
/// optimistic concurrency (GET, then PUT with its resourceVersion).
fn start_noisy_writer(
    ns: String,
    name: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let config = plane().config("admin");
        common::block_on(async move {
            let client = kube::Client::try_from(config).unwrap();
            let url = format!("/api/v1/namespaces/{ns}/configmaps/{name}");
            let mut writes = 0;
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let get = http::Request::get(&url).body(Vec::new()).unwrap();
                let Ok(text) = client.request_text(get).await else {
                    continue;
                };
                let mut obj: Value = serde_json::from_str(&text).unwrap();
                obj["metadata"]["annotations"]["other/counter"] = json!(i.to_string());
                let put = http::Request::put(format!("{url}?fieldManager=other-writer"))
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&obj).unwrap())
                    .unwrap();
                if client.request_text(put).await.is_ok() {
                    writes += 1;
                }
            }
            writes
        })
    })
}

#[test]
fn concurrent_writer_of_other_fields_never_fails_netpath() {
    use std::sync::{Arc, atomic::AtomicBool};
    let ns = common::namespace("race");
    let conn = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()});
    let args = |v: usize| {
        with(
            conn.clone(),
            json!({"definition": cm(&ns, "shared", json!({"k": v.to_string()}))}),
        )
    };
    let r = module::run("manifest", args(0), module::Flags::default());
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_noisy_writer(ns.clone(), "shared".into(), stop.clone());
    for v in 1..=15 {
        let r = module::run("manifest", args(v), module::Flags::default());
        assert_eq!(
            r.json["failed"],
            json!(false),
            "run {v} failed under a concurrent writer: {}",
            r.json
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let writes = writer.join().unwrap();
    assert!(writes > 0, "the other writer never wrote");
    let live = common::get("v1", "ConfigMap", Some(&ns), "shared").unwrap();
    assert_eq!(live["data"]["k"], "15");
    assert!(
        live["metadata"]["annotations"]["other/counter"].is_string(),
        "the other writer's field survives"
    );
    let r = module::run("manifest", args(15), module::Flags::default());
    assert_eq!(r.json["changed"], json!(false), "{}", r.json);
}

#[test]
fn concurrent_writer_taking_netpath_fields_is_reported_not_overwritten() {
    let ns = common::namespace("steal");
    let conn = json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()});
    let args = |v: &str| {
        with(
            conn.clone(),
            json!({"definition": cm(&ns, "shared", json!({"k": v}))}),
        )
    };
    assert_eq!(
        module::run("manifest", args("ours"), module::Flags::default()).json["changed"],
        json!(true)
    );
    // Another controller forces the field to its own value (takes ownership).
    common::apply_as(
        "rival-controller",
        &cm(&ns, "shared", json!({"k": "theirs"})),
    );
    let before =
        common::resource_version(&common::get("v1", "ConfigMap", Some(&ns), "shared").unwrap());
    let r = module::run("manifest", args("ours"), module::Flags::default());
    assert_clean_failure(&r, &["rival-controller", ".data.k", "force_conflicts"]);
    let live = common::get("v1", "ConfigMap", Some(&ns), "shared").unwrap();
    assert_eq!(live["data"]["k"], "theirs");
    assert_eq!(
        common::resource_version(&live),
        before,
        "a reported conflict writes nothing"
    );
    let r = module::run(
        "manifest",
        with(args("ours"), json!({"force_conflicts": true})),
        module::Flags::default(),
    );
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
}

// ------------------------------------------------------ ansible-playbook forks

#[test]
fn ten_ansible_forks_apply_different_objects_to_one_plane() {
    let ns = common::namespace("forks");
    let venv = common::venv_bin();
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("library");
    std::fs::create_dir(&library).unwrap();
    // A binary module in library/: Ansible copies and runs it as on any node.
    std::fs::copy(
        assert_cmd::cargo::cargo_bin!("netpath"),
        library.join("manifest"),
    )
    .unwrap();
    let hosts: String = (0..10).map(|i| format!("node{i}\n")).collect();
    std::fs::write(
        dir.path().join("inventory.ini"),
        format!("[nodes]\n{hosts}\n[nodes:vars]\nansible_connection=local\nansible_python_interpreter={}\n", venv.join("python").display()),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("play.yml"),
        format!(
            r#"- hosts: nodes
  gather_facts: false
  tasks:
    - name: Each fork applies its own ConfigMap
      manifest:
        kubeconfig: {kc}
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata:
            name: "{{{{ inventory_hostname }}}}"
            namespace: {ns}
          data:
            host: "{{{{ inventory_hostname }}}}"
"#,
            kc = plane().kubeconfig.display()
        ),
    )
    .unwrap();
    let play = || {
        let out = common::ansible_playbook(&venv, dir.path())
            .args(["-i", "inventory.ini", "--forks", "10", "play.yml"])
            .env("ANSIBLE_LIBRARY", &library)
            .env("ANSIBLE_REMOTE_TEMP", dir.path().join("tmp-remote"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "ansible-playbook failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let recap = |text: &str, changed: usize| {
        for i in 0..10 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("node{i} ")))
                .unwrap_or_else(|| panic!("no recap for node{i}:\n{text}"));
            assert!(
                line.contains(&format!("changed={changed}")) && line.contains("failed=0"),
                "{line}"
            );
        }
    };
    recap(&play(), 1);
    let objs = common::list("v1", "ConfigMap", Some(&ns));
    assert_eq!(objs.len(), 10);
    let rvs: Vec<String> = objs.iter().map(common::resource_version).collect();
    recap(&play(), 0);
    let again: Vec<String> = common::list("v1", "ConfigMap", Some(&ns))
        .iter()
        .map(common::resource_version)
        .collect();
    assert_eq!(rvs, again, "the second playbook run must write nothing");
}
