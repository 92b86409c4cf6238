//! The `manifest` module and the apply engine against a real kube-apiserver,
//! run exactly as Ansible runs a binary module: an args file as argv[1].

mod common;

use common::{module, plane};
use serde_json::{Value, json};

fn cm(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

fn conn() -> Value {
    json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()})
}

fn with(base: Value, extra: Value) -> Value {
    let mut b = base;
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b
}

#[test]
fn lifecycle_create_noop_update_check_delete() {
    let ns = common::namespace("life");
    let args = |data: Value| with(conn(), json!({"definition": cm(&ns, "app", data)}));

    let r = module::run(
        "manifest",
        args(json!({"k": "1"})),
        module::Flags::default(),
    );
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    assert_eq!(r.json["results"][0]["action"], "created");
    let rv1 = common::resource_version(&common::get("v1", "ConfigMap", Some(&ns), "app").unwrap());

    let r = module::run(
        "manifest",
        args(json!({"k": "1"})),
        module::Flags::default(),
    );
    assert_eq!(r.json["changed"], json!(false), "{}", r.json);
    assert_eq!(r.json["results"][0]["action"], "unchanged");
    let rv2 = common::resource_version(&common::get("v1", "ConfigMap", Some(&ns), "app").unwrap());
    assert_eq!(rv1, rv2, "a no-op run must not write");

    // Check mode on a change: reports it, with a diff, writes nothing.
    let r = module::run(
        "manifest",
        args(json!({"k": "2"})),
        module::Flags {
            check: true,
            diff: true,
            ..Default::default()
        },
    );
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    assert_eq!(r.json["results"][0]["action"], "updated");
    let d = &r.json["diff"][0];
    assert!(
        d["before"].as_str().unwrap().contains("k: '1'")
            || d["before"].as_str().unwrap().contains("k: \"1\""),
        "{d}"
    );
    assert!(d["after"].as_str().unwrap().contains('2'), "{d}");
    let live = common::get("v1", "ConfigMap", Some(&ns), "app").unwrap();
    assert_eq!(
        common::resource_version(&live),
        rv1,
        "check mode must not write"
    );
    assert_eq!(live["data"]["k"], "1");

    let r = module::run(
        "manifest",
        args(json!({"k": "2"})),
        module::Flags {
            diff: true,
            ..Default::default()
        },
    );
    assert_eq!(r.json["changed"], json!(true));
    assert!(r.json["diff"].is_array());
    assert_eq!(
        common::get("v1", "ConfigMap", Some(&ns), "app").unwrap()["data"]["k"],
        "2"
    );

    // Removing a key netpath set is a change too (its ownership shrinks).
    let r = module::run(
        "manifest",
        args(json!({"k": "2", "extra": "x"})),
        module::Flags::default(),
    );
    assert_eq!(r.json["changed"], json!(true));
    let r = module::run(
        "manifest",
        args(json!({"k": "2"})),
        module::Flags::default(),
    );
    assert_eq!(
        r.json["changed"],
        json!(true),
        "dropping an owned key must be applied: {}",
        r.json
    );
    assert!(
        common::get("v1", "ConfigMap", Some(&ns), "app").unwrap()["data"]
            .get("extra")
            .is_none()
    );

    let absent = |check: bool| {
        module::run(
            "manifest",
            with(args(json!({"k": "2"})), json!({"state": "absent"})),
            module::Flags {
                check,
                ..Default::default()
            },
        )
    };
    let r = absent(true);
    assert_eq!(r.json["changed"], json!(true));
    assert!(
        common::get("v1", "ConfigMap", Some(&ns), "app").is_some(),
        "check mode must not delete"
    );
    let r = absent(false);
    assert_eq!(r.json["results"][0]["action"], "deleted", "{}", r.json);
    assert!(common::get("v1", "ConfigMap", Some(&ns), "app").is_none());
    let r = absent(false);
    assert_eq!(r.json["changed"], json!(false));
    assert_eq!(r.json["results"][0]["action"], "unchanged");
}

#[test]
fn check_mode_create_writes_nothing() {
    let ns = common::namespace("chk");
    let r = module::run(
        "manifest",
        with(
            conn(),
            json!({"definition": cm(&ns, "app", json!({"a": "b"}))}),
        ),
        module::Flags {
            check: true,
            diff: true,
            ..Default::default()
        },
    );
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    assert_eq!(r.json["results"][0]["action"], "created");
    assert!(common::get("v1", "ConfigMap", Some(&ns), "app").is_none());
}

#[test]
fn conflict_names_the_other_manager_and_force_takes_over() {
    let ns = common::namespace("conf");
    common::apply_as("helm-like", &cm(&ns, "shared", json!({"owner": "them"})));
    let args = with(
        conn(),
        json!({"definition": cm(&ns, "shared", json!({"owner": "us"}))}),
    );
    let r = module::run("manifest", args.clone(), module::Flags::default());
    assert_eq!(r.json["failed"], json!(true), "{}", r.json);
    let msg = r.json["msg"].as_str().unwrap();
    assert!(
        msg.contains("helm-like") && msg.contains(".data.owner") && msg.contains("force_conflicts"),
        "{msg}"
    );
    assert_eq!(
        common::get("v1", "ConfigMap", Some(&ns), "shared").unwrap()["data"]["owner"],
        "them"
    );

    let r = module::run(
        "manifest",
        with(args, json!({"force_conflicts": true})),
        module::Flags::default(),
    );
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    assert_eq!(
        common::get("v1", "ConfigMap", Some(&ns), "shared").unwrap()["data"]["owner"],
        "us"
    );
}

#[test]
fn token_and_client_cert_auth_both_work() {
    let ns = common::namespace("auth");
    for (context, name) in [("admin", "by-cert"), ("token", "by-token")] {
        let args = with(
            conn(),
            json!({"context": context, "definition": cm(&ns, name, json!({"a": "1"}))}),
        );
        let r = module::run("manifest", args, module::Flags::default());
        assert_eq!(r.json["changed"], json!(true), "{context}: {}", r.json);
    }
    // host + api_key without any kubeconfig, CA from a file.
    let p = plane();
    let args = json!({"host": p.server, "api_key": p.token, "ca_cert": p.ca.to_str().unwrap(),
        "definition": cm(&ns, "by-api-key", json!({"a": "1"}))});
    let r = module::run("manifest", args, module::Flags::default());
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    assert!(
        !r.stdout.contains(&p.token) && !r.stderr.contains(&p.token),
        "token leaked"
    );
}

// A wrong CA (TLS error, never insecure) is covered in tests/faults.rs.

#[test]
fn unreachable_server_fails_clearly_and_quickly() {
    let started = std::time::Instant::now();
    let args = json!({"host": "https://127.0.0.1:1", "api_key": "x-token-value", "request_timeout": 5,
        "definition": cm("default", "x", json!({}))});
    let r = module::run("manifest", args, module::Flags::default());
    assert_eq!(r.json["failed"], json!(true), "{}", r.json);
    assert!(
        r.json["msg"].as_str().unwrap().contains("unreachable"),
        "{}",
        r.json["msg"]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn bad_input_gets_a_specific_message_and_writes_nothing() {
    let ns = common::namespace("bad");
    let def = cm(&ns, "x", json!({"a": "1"}));
    let cases = [
        (
            with(conn(), json!({"definition": def.clone(), "colour": "red"})),
            "Unsupported parameters for (netpath.calico_alb.manifest) module: colour",
        ),
        (
            with(
                conn(),
                json!({"definition": def.clone(), "force_conflicts": "maybe"}),
            ),
            "The value 'maybe' is not a valid boolean",
        ),
        (
            with(
                conn(),
                json!({"definition": def.clone(), "wait_timeout": "soon"}),
            ),
            "unable to convert to int",
        ),
        (
            with(conn(), json!({"definition": def.clone(), "state": "gone"})),
            "value of state must be one of: present, absent, got: gone",
        ),
        (conn(), "one of the following is required: src, definition"),
        (
            with(conn(), json!({"definition": "a: [", "namespace": ns})),
            "definition is not valid YAML",
        ),
        (
            with(
                conn(),
                json!({"definition": {"kind": "ConfigMap", "metadata": {"name": "y", "namespace": ns}}}),
            ),
            "objects[0].apiVersion",
        ),
        (
            with(
                conn(),
                json!({"definition": [def.clone(), {"apiVersion": "nope.example.com/v1", "kind": "Gizmo", "metadata": {"name": "g"}}]}),
            ),
            "does not serve kind Gizmo in nope.example.com/v1",
        ),
    ];
    for (args, want) in cases {
        let r = module::run("manifest", args, module::Flags::default());
        assert_eq!(r.json["failed"], json!(true), "{want}: {}", r.json);
        assert!(
            r.json["msg"].as_str().unwrap().contains(want),
            "want {want:?}, got {}",
            r.json["msg"]
        );
        assert!(!r.stderr.contains("panicked") && !r.stdout.contains("backtrace"));
    }
    let malformed = module::run_raw(b"{\"definition\": ", "manifest");
    assert_eq!(malformed.json["failed"], json!(true));
    assert!(
        malformed.json["msg"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(
        common::list("v1", "ConfigMap", Some(&ns)).is_empty(),
        "bad input must write nothing"
    );
}

#[test]
fn secrets_never_appear_in_output() {
    let ns = common::namespace("sec");
    let p = plane();
    // A wrong no_log password and the real token, through a failing and a diffing run.
    let args = json!({"kubeconfig": p.kubeconfig.to_str().unwrap(), "context": "token", "password": "hunter2-no-log",
        "username": "u", "definition": cm(&ns, "s", json!({"k": "v"}))});
    for flags in [
        module::Flags {
            diff: true,
            ..Default::default()
        },
        module::Flags {
            check: true,
            diff: true,
            inject_invocation: true,
        },
    ] {
        let r = module::run("manifest", args.clone(), flags);
        for s in [&r.stdout, &r.stderr] {
            assert!(!s.contains("hunter2-no-log"), "no_log value leaked: {s}");
            assert!(!s.contains(&p.token), "token leaked: {s}");
        }
    }
    let r = module::run(
        "manifest",
        with(args, json!({"bogus": 1})),
        module::Flags::default(),
    );
    assert!(!r.stdout.contains("hunter2-no-log"));
}

/// More objects of one kind and namespace than one LIST page holds (250):
/// every page is read and decided, a no-op writes nothing, and a change on
/// the first and on the last page is found.
#[test]
fn six_hundred_objects_over_three_list_pages_then_zero_writes() {
    let ns = common::namespace("bulk");
    let write = |changed: &[usize]| {
        let docs: Vec<String> = (0..600)
            .map(|i| {
                let v = if changed.contains(&i) { "new" } else { "old" };
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: {ns}\ndata:\n  index: \"{i}\"\n  v: {v}\n")
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bulk.yaml");
        std::fs::write(&file, docs.join("---\n")).unwrap();
        dir
    };
    let args = |dir: &tempfile::TempDir| {
        with(
            conn(),
            json!({"src": dir.path().join("bulk.yaml").to_str().unwrap()}),
        )
    };
    let first = write(&[]);
    let r = module::run("manifest", args(&first), module::Flags::default());
    assert_eq!(r.json["changed"], json!(true), "{}", r.json["msg"]);
    assert_eq!(r.json["results"].as_array().unwrap().len(), 600);
    let versions = || -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = common::list("v1", "ConfigMap", Some(&ns))
            .iter()
            .map(|o| {
                (
                    o["metadata"]["name"].as_str().unwrap().to_string(),
                    common::resource_version(o),
                )
            })
            .collect();
        v.sort();
        v
    };
    let before = versions();
    assert_eq!(before.len(), 600);

    let r = module::run("manifest", args(&first), module::Flags::default());
    assert_eq!(r.json["changed"], json!(false), "{}", r.json["msg"]);
    assert_eq!(before, versions(), "a no-op re-run must make zero writes");

    let changed = write(&[3, 598]);
    let flags = module::Flags {
        diff: true,
        ..Default::default()
    };
    let r = module::run("manifest", args(&changed), flags);
    assert_eq!(
        r.json["msg"], "0 created, 2 updated, 0 deleted, 598 unchanged",
        "{}",
        r.json["msg"]
    );
    assert_eq!(
        r.json["diff"].as_array().unwrap().len(),
        2,
        "{}",
        r.json["diff"]
    );
    let after = versions();
    let moved: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| b.0.as_str())
        .collect();
    assert_eq!(moved, ["cm-3", "cm-598"]);
}

#[test]
fn crd_and_its_custom_resources_in_one_task() {
    let suffix = common::namespace("crd");
    let group = format!("{suffix}.example.com");
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {"group": group, "scope": "Namespaced", "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]}});
    let widget = json!({"apiVersion": format!("{group}/v1"), "kind": "Widget", "metadata": {"name": "w1", "namespace": suffix}, "spec": {"size": 3}});
    // The custom resource comes first in the list: ordering is netpath's job.
    let args = with(conn(), json!({"definition": [widget, crd]}));
    let r = module::run("manifest", args.clone(), module::Flags::default());
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    assert!(common::get(&format!("{group}/v1"), "Widget", Some(&suffix), "w1").is_some());
    let r = module::run("manifest", args, module::Flags::default());
    assert_eq!(r.json["changed"], json!(false), "{}", r.json);
}

#[test]
fn human_cli_apply_and_delete() {
    let ns = common::namespace("cli");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.yaml");
    std::fs::write(
        &file,
        serde_json::to_string(&cm(&ns, "c", json!({"a": "1"}))).unwrap(),
    )
    .unwrap();
    let kc = plane().kubeconfig.to_str().unwrap().to_string();
    let run = |cmd: &str, extra: &[&str]| {
        let mut c = module::command();
        c.args([cmd, "-f", file.to_str().unwrap(), "--kubeconfig", &kc])
            .args(extra);
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, out) = run("apply", &["--check"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains(&format!(
            "ConfigMap {ns}/c created (check mode: not written)"
        )),
        "{out}"
    );
    assert!(common::get("v1", "ConfigMap", Some(&ns), "c").is_none());
    let (_, out) = run("apply", &[]);
    assert!(out.contains("created"), "{out}");
    let (_, out) = run("apply", &[]);
    assert!(out.contains("unchanged"), "{out}");
    let (_, out) = run("delete", &[]);
    assert!(out.contains("deleted"), "{out}");
}

#[test]
fn exec_credential_plugin_supplies_the_token() {
    // What `aws eks get-token` does: print an ExecCredential with a bearer token.
    let ns = common::namespace("exec");
    let p = plane();
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("get-token");
    std::fs::write(
        &plugin,
        format!(
            "#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{}\"}}}}'\n",
            p.token
        ),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let ca = std::fs::read_to_string(&p.ca).unwrap();
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config", "current-context": "eks",
        "clusters": [{"name": "c", "cluster": {"server": p.server, "certificate-authority-data": base64(&ca)}}],
        "users": [{"name": "exec", "user": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": plugin.to_str().unwrap(), "args": [], "interactiveMode": "Never"}}}],
        "contexts": [{"name": "eks", "context": {"cluster": "c", "user": "exec"}}],
    });
    // The kubeconfig as a dict, the way kubernetes.core accepts it too.
    let args =
        json!({"kubeconfig": kubeconfig, "definition": cm(&ns, "via-exec", json!({"a": "1"}))});
    let r = module::run("manifest", args, module::Flags::default());
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    assert!(!r.stdout.contains(&p.token));
}

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn environment_proxies_are_ignored_like_kubernetes_core() {
    // Nothing listens on port 9: a module that used HTTPS_PROXY would fail.
    let ns = common::namespace("proxy");
    let env = [
        ("HTTPS_PROXY", "http://127.0.0.1:9"),
        ("https_proxy", "http://127.0.0.1:9"),
    ];
    let r = module::run_env(
        "manifest",
        with(conn(), json!({"definition": cm(&ns, "p", json!({}))})),
        module::Flags::default(),
        &env,
    );
    assert_eq!(r.json["changed"], json!(true), "{}", r.json);
    // The explicit option is honoured.
    let r = module::run_env(
        "manifest",
        with(
            conn(),
            json!({"proxy": "http://127.0.0.1:9", "request_timeout": 5, "definition": cm(&ns, "q", json!({}))}),
        ),
        module::Flags::default(),
        &[],
    );
    assert_eq!(r.json["failed"], json!(true), "{}", r.json);
}

/// The server keeps a Secret's stringData only as base64 `data`: compared
/// as the server stores it, a second run writes nothing, and a changed
/// value (or one also given under `data`) is still found.
#[test]
fn secret_string_data_is_idempotent() {
    let ns = common::namespace("strdata");
    let secret = |string_data: Value| {
        with(
            conn(),
            json!({"definition": {"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "creds", "namespace": ns},
                "data": {"fixed": "eA=="}, "stringData": string_data}}),
        )
    };
    let r = module::run(
        "manifest",
        secret(json!({"token": "s3cret-1"})),
        module::Flags::default(),
    );
    assert_eq!(r.json["results"][0]["action"], "created", "{}", r.json);
    let rv = || common::resource_version(&common::get("v1", "Secret", Some(&ns), "creds").unwrap());
    let before = rv();
    let r = module::run(
        "manifest",
        secret(json!({"token": "s3cret-1"})),
        module::Flags::default(),
    );
    assert_eq!(r.json["changed"], json!(false), "{}", r.json);
    assert_eq!(rv(), before, "a no-op re-run must not write");

    let diff = module::Flags {
        diff: true,
        ..Default::default()
    };
    let r = module::run("manifest", secret(json!({"token": "s3cret-2"})), diff);
    assert_eq!(r.json["results"][0]["action"], "updated", "{}", r.json);
    assert!(!r.stdout.contains("s3cret"), "{}", r.stdout);
    let live = common::get("v1", "Secret", Some(&ns), "creds").unwrap();
    assert_eq!(live["data"]["token"], base64("s3cret-2"));
    assert_eq!(live["data"]["fixed"], "eA==");
    let r = module::run(
        "manifest",
        secret(json!({"token": "s3cret-2"})),
        module::Flags::default(),
    );
    assert_eq!(r.json["changed"], json!(false), "{}", r.json);
}
