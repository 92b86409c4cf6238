//! The `manifest` module and the apply engine against a real kube-apiserver,
//! run exactly as Ansible runs a binary module: an args file as argv[1].

use crate::common::{self, module, plane, with};
use serde_json::{Value, json};

fn cm(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

fn conn() -> Value {
    json!({"kubeconfig": plane().kubeconfig.to_str().unwrap()})
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
            "value of state must be one of: present, absent, patched, got: gone",
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

// --- kubernetes.core.k8s usage (issue 18, item 8) ---------------------------

fn run_ok(args: Value, flags: module::Flags) -> Value {
    let r = module::run("manifest", args, flags);
    assert_ne!(r.json["failed"], json!(true), "{}", r.json);
    r.json
}

#[test]
fn k8s_style_result_create_noop_update_check_mode_and_absent_by_name() {
    let ns = common::namespace("k8sres");
    // kind/name/namespace fill what the definition leaves out, api_version
    // defaults to v1: kubernetes.core's "Create a ConfigMap" as written.
    let args = |v: &str| {
        with(
            conn(),
            json!({"kind": "ConfigMap", "name": "app", "namespace": ns, "definition": {"data": {"k": v}}}),
        )
    };
    let created = run_ok(args("1"), module::Flags::default());
    assert_eq!(created["changed"], json!(true));
    assert_eq!(created["method"], "create");
    let live = common::get("v1", "ConfigMap", Some(&ns), "app").unwrap();
    let result = &created["result"];
    assert_eq!(
        result["metadata"]["uid"], live["metadata"]["uid"],
        "{result}"
    );
    assert_eq!(result["data"]["k"], "1");
    assert_eq!(
        (result["apiVersion"].as_str(), result["kind"].as_str()),
        (Some("v1"), Some("ConfigMap"))
    );
    assert!(
        result["metadata"].get("managedFields").is_none(),
        "{result}"
    );

    // No-op: the live object, nothing written.
    let again = run_ok(args("1"), module::Flags::default());
    assert_eq!(again["changed"], json!(false));
    assert_eq!(
        again["result"]["metadata"]["resourceVersion"],
        live["metadata"]["resourceVersion"]
    );
    assert_eq!(
        common::resource_version(&common::get("v1", "ConfigMap", Some(&ns), "app").unwrap()),
        common::resource_version(&live)
    );

    // Check mode: the object as the server's dry run says it would be.
    let check = run_ok(
        args("2"),
        module::Flags {
            check: true,
            ..Default::default()
        },
    );
    assert_eq!(check["changed"], json!(true));
    assert_eq!(check["result"]["data"]["k"], "2", "{}", check["result"]);
    assert_eq!(check["result"]["metadata"]["uid"], live["metadata"]["uid"]);
    let after = common::get("v1", "ConfigMap", Some(&ns), "app").unwrap();
    assert_eq!(after["data"]["k"], "1", "check mode must not write");
    assert_eq!(
        common::resource_version(&after),
        common::resource_version(&live)
    );

    // Update: the object as written.
    let updated = run_ok(args("2"), module::Flags::default());
    assert_eq!(updated["changed"], json!(true));
    assert_eq!(updated["method"], "apply");
    assert_eq!(updated["result"]["data"]["k"], "2");
    assert_ne!(
        updated["result"]["metadata"]["resourceVersion"],
        live["metadata"]["resourceVersion"]
    );

    // Check mode create: server-side dry run (creationTimestamp, as
    // kubernetes.core's k8s_check_mode target checks), nothing created.
    let new = with(
        conn(),
        json!({"kind": "ConfigMap", "name": "new", "namespace": ns, "definition": {"data": {"a": "b"}}}),
    );
    let c = run_ok(
        new,
        module::Flags {
            check: true,
            ..Default::default()
        },
    );
    assert_eq!(c["changed"], json!(true));
    assert!(
        c["result"]["metadata"]["creationTimestamp"].is_string(),
        "{}",
        c["result"]
    );
    assert!(common::get("v1", "ConfigMap", Some(&ns), "new").is_none());

    // state: absent by kind, name and namespace, without a definition.
    let absent = with(
        conn(),
        json!({"kind": "ConfigMap", "name": "app", "namespace": ns, "state": "absent"}),
    );
    let c = run_ok(
        absent.clone(),
        module::Flags {
            check: true,
            ..Default::default()
        },
    );
    assert_eq!(c["changed"], json!(true));
    assert!(
        common::get("v1", "ConfigMap", Some(&ns), "app").is_some(),
        "check mode must not delete"
    );
    let d = run_ok(absent.clone(), module::Flags::default());
    assert_eq!(
        (
            d["changed"].clone(),
            d["method"].clone(),
            d["result"].clone()
        ),
        (json!(true), json!("delete"), json!({}))
    );
    assert!(common::get("v1", "ConfigMap", Some(&ns), "app").is_none());
    let d = run_ok(absent, module::Flags::default());
    assert_eq!(d["changed"], json!(false));

    // Without a name nothing is addressed: refused, not "delete every one".
    let r = module::run(
        "manifest",
        with(
            conn(),
            json!({"kind": "ConfigMap", "namespace": ns, "state": "absent"}),
        ),
        module::Flags::default(),
    );
    assert_eq!(r.json["failed"], json!(true));
    assert!(
        r.json["msg"]
            .as_str()
            .unwrap()
            .contains("name is missing: with kind ConfigMap and no definition"),
        "{}",
        r.json
    );
    // Nor with nothing at all.
    let r = module::run(
        "manifest",
        with(conn(), json!({"namespace": ns})),
        module::Flags::default(),
    );
    assert!(
        r.json["msg"]
            .as_str()
            .unwrap()
            .contains("one of the following is required: src, definition, template, kind"),
        "{}",
        r.json
    );
}

#[test]
fn several_objects_return_result_results_in_definition_order() {
    let ns = common::unique_name("k8sres-multi");
    // `inline` is kubernetes.core's alias of definition; the Namespace is
    // applied first but listed second, as given.
    let args = with(
        conn(),
        json!({"inline": [cm(&ns, "a", json!({"x": "1"})), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]}),
    );
    let r = run_ok(args.clone(), module::Flags::default());
    let results = r["result"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{r}");
    assert_eq!(results[0]["result"]["kind"], "ConfigMap");
    assert_eq!(results[0]["result"]["data"]["x"], "1");
    assert_eq!(results[1]["result"]["kind"], "Namespace");
    assert_eq!(results[1]["result"]["status"]["phase"], "Active");
    assert_eq!(
        (results[0]["changed"].clone(), results[0]["method"].clone()),
        (json!(true), json!("create"))
    );
    assert!(
        r.get("method").is_none(),
        "method is per object for several: {r}"
    );
    let r = run_ok(args, module::Flags::default());
    assert_eq!(r["result"]["results"][0]["changed"], json!(false));

    // result_limit bounds what a bulk task holds: past it, results only.
    let r = run_ok(
        with(
            conn(),
            json!({"definition": [cm(&ns, "b", json!({})), cm(&ns, "c", json!({}))], "result_limit": 1}),
        ),
        module::Flags::default(),
    );
    assert!(r.get("result").is_none(), "{r}");
    assert_eq!(r["results"].as_array().unwrap().len(), 2);
}

#[test]
fn secret_values_are_masked_in_result() {
    let ns = common::namespace("k8sres-secret");
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns},
        "stringData": {"password": "hunter2-k8s-compat"}});
    let r = module::run(
        "manifest",
        with(conn(), json!({"definition": secret})),
        module::Flags::default(),
    );
    assert_eq!(
        r.json["result"]["data"]["password"], "********",
        "{}",
        r.json
    );
    assert!(
        !r.stdout.contains("hunter2-k8s-compat") && !r.stdout.contains("aHVudGVyMi1rOHMtY29tcGF0"),
        "{}",
        r.stdout
    );
}

/// Sets a Pod's status.conditions as a kubelet would (this plane has none).
fn set_pod_conditions(ns: &str, name: &str, conditions: Value) {
    let url = format!("/api/v1/namespaces/{ns}/pods/{name}/status");
    let body = serde_json::to_vec(&json!({"status": {"conditions": conditions}})).unwrap();
    common::block_on(async move {
        let client = plane().client();
        let req = http::Request::builder()
            .method("PATCH")
            .uri(url)
            .header("Content-Type", "application/merge-patch+json")
            .body(body)
            .unwrap();
        client.request_text(req).await.expect("status patch")
    });
}

#[test]
fn wait_condition_waits_for_type_status_and_reason() {
    let ns = common::namespace("k8swait");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    run_ok(
        with(conn(), json!({"definition": pod})),
        module::Flags::default(),
    );
    let waiting = |cond: Value, timeout: i64| {
        module::run(
            "manifest",
            with(
                conn(),
                json!({"definition": pod, "wait": true, "wait_timeout": timeout, "wait_sleep": 1, "wait_condition": cond}),
            ),
            module::Flags::default(),
        )
    };
    // Nothing sets the condition: a timeout that says what it waited for.
    let r = waiting(json!({"type": "Ready"}), 1);
    assert_eq!(r.json["failed"], json!(true));
    let msg = r.json["msg"].as_str().unwrap();
    assert!(
        msg.contains("Pod") && msg.contains("has no condition Ready=True after 1s"),
        "{msg}"
    );
    assert_eq!(r.json["reason"], "Timeout");

    set_pod_conditions(
        &ns,
        "p",
        json!([{"type": "Ready", "status": "True", "reason": "PodCompleted"}]),
    );
    // status: True from YAML arrives as a boolean string: still matches.
    let r = waiting(json!({"type": "Ready", "status": "true"}), 5);
    assert_ne!(r.json["failed"], json!(true), "{}", r.json);
    assert_eq!(
        r.json["result"]["status"]["conditions"][0]["type"], "Ready",
        "{}",
        r.json
    );
    assert!(r.json["duration"].is_u64(), "{}", r.json);
    let r = waiting(json!({"type": "Ready", "reason": "PodCompleted"}), 5);
    assert_ne!(r.json["failed"], json!(true), "{}", r.json);
    let r = waiting(json!({"type": "Ready", "reason": "Other"}), 1);
    assert!(
        r.json["msg"].as_str().unwrap().contains("(reason Other)"),
        "{}",
        r.json
    );
    // Without wait_condition a Pod is waited for until Ready, as k8s does.
    let r = module::run(
        "manifest",
        with(
            conn(),
            json!({"definition": pod, "wait": true, "wait_timeout": 5}),
        ),
        module::Flags::default(),
    );
    assert_ne!(r.json["failed"], json!(true), "{}", r.json);
    // Check mode never waits.
    set_pod_conditions(&ns, "p", json!([{"type": "Ready", "status": "False"}]));
    let r = module::run(
        "manifest",
        with(
            conn(),
            json!({"definition": pod, "wait": true, "wait_timeout": 30, "wait_condition": {"type": "Ready"}}),
        ),
        module::Flags {
            check: true,
            ..Default::default()
        },
    );
    assert_ne!(r.json["failed"], json!(true), "{}", r.json);
}

#[test]
fn kind_alone_finds_its_group_like_kubernetes_core() {
    let ns = common::namespace("k8sgroup");
    // kubernetes.core's api_version default v1 finds apps/v1 for a DaemonSet.
    let r = run_ok(
        with(
            conn(),
            json!({"kind": "DaemonSet", "name": "gone", "namespace": ns, "state": "absent"}),
        ),
        module::Flags::default(),
    );
    assert_eq!(r["results"][0]["api_version"], "apps/v1", "{r}");
    assert_eq!(r["changed"], json!(false));
    // A definition that names its kind but no apiVersion is still refused.
    let r = module::run(
        "manifest",
        with(
            conn(),
            json!({"definition": {"kind": "ConfigMap", "metadata": {"name": "x", "namespace": ns}}}),
        ),
        module::Flags::default(),
    );
    assert!(
        r.json["msg"]
            .as_str()
            .unwrap()
            .contains("apiVersion is missing"),
        "{}",
        r.json
    );
}

#[test]
fn state_patched_updates_only_what_exists() {
    let ns = common::namespace("k8spatched");
    let args = |name: &str| {
        with(
            conn(),
            json!({"state": "patched", "definition": cm(&ns, name, json!({"k": "2"}))}),
        )
    };
    let r = run_ok(args("missing"), module::Flags::default());
    assert_eq!(r["changed"], json!(false));
    assert_eq!(r["result"], json!({}));
    assert!(
        r["warnings"]
            .to_string()
            .contains("was not found but will not be created"),
        "{r}"
    );
    assert!(common::get("v1", "ConfigMap", Some(&ns), "missing").is_none());
    common::apply_as("netpath", &cm(&ns, "there", json!({"k": "1"})));
    let r = run_ok(args("there"), module::Flags::default());
    assert_eq!(r["changed"], json!(true));
    assert_eq!(
        common::get("v1", "ConfigMap", Some(&ns), "there").unwrap()["data"]["k"],
        "2"
    );
}

#[test]
fn server_side_apply_options_and_conflict_reason() {
    let ns = common::namespace("k8sssa");
    let obj = cm(&ns, "c", json!({"key": "v0"}));
    let ssa = |manager: &str, force: bool, data: &str| {
        let mut o = obj.clone();
        o["data"]["key"] = json!(data);
        module::run(
            "manifest",
            with(
                conn(),
                json!({"apply": true, "definition": o, "server_side_apply": {"field_manager": manager, "force_conflicts": force}}),
            ),
            module::Flags::default(),
        )
    };
    assert_eq!(ssa("manager-00", false, "v0").json["changed"], json!(true));
    let live = common::get("v1", "ConfigMap", Some(&ns), "c").unwrap();
    let managers: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert_eq!(managers, ["manager-00"]);
    let r = ssa("manager-02", false, "v1");
    assert_eq!(r.json["failed"], json!(true));
    assert_eq!(r.json["reason"], "Conflict", "{}", r.json);
    let r = ssa("manager-02", true, "v1");
    assert_eq!(r.json["result"]["data"]["key"], "v1", "{}", r.json);
    // field_manager is required in server_side_apply, as in kubernetes.core.
    let r = module::run(
        "manifest",
        with(conn(), json!({"definition": obj, "server_side_apply": {}})),
        module::Flags::default(),
    );
    assert!(
        r.json["msg"].as_str().unwrap().contains("field_manager"),
        "{}",
        r.json
    );
}

#[test]
fn action_resolves_src_in_files_and_renders_template_on_the_controller() {
    let ns = common::namespace("k8saction");
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let collections = common::collection(w);
    let role = w.join("roles/app");
    for sub in ["tasks", "files", "templates"] {
        std::fs::create_dir_all(role.join(sub)).unwrap();
    }
    std::fs::write(
        role.join("files/cm.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: from-files, namespace: {ns}}}\ndata: {{a: b}}\n"),
    )
    .unwrap();
    // Two documents, a variable and custom delimiters, as kubernetes.core allows.
    std::fs::write(
        role.join("templates/cm.j2"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"{{ cm_name }}\", namespace: \"{{ cm_ns }}\"}\ndata: {mode: \"{{ mode }}\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"{{ cm_name }}-2\", namespace: \"{{ cm_ns }}\"}\n",
    )
    .unwrap();
    std::fs::write(
        role.join("templates/custom.j2"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: custom, namespace: \"[[ cm_ns ]]\"}\ndata: {raw: \"{{ not_a_var }}\"}\n",
    )
    .unwrap();
    std::fs::write(
        role.join("tasks/main.yml"),
        r#"- name: A role's files/, as kubernetes.core finds src
  netpath.calico_alb.manifest:
    src: cm.yaml
  register: from_files
- name: Its templates/, rendered with the task's vars
  netpath.calico_alb.manifest:
    template: cm.j2
  vars:
    cm_name: rendered
    mode: production
  register: rendered
- name: A template dict with other delimiters
  netpath.calico_alb.manifest:
    template:
      path: custom.j2
      variable_start_string: "[["
      variable_end_string: "]]"
- name: The results, as registered
  ansible.builtin.assert:
    that:
      - from_files.result.data.a == 'b'
      - rendered.result.results | length == 2
      - rendered.result.results[0].result.data.mode == 'production'
- name: A template that is not there
  netpath.calico_alb.manifest:
    template: missing.j2
  register: missing
  ignore_errors: true
- name: It fails, naming the template
  ansible.builtin.assert:
    that:
      - missing is failed
      - "'template missing.j2' in missing.msg"
"#,
    )
    .unwrap();
    std::fs::write(
        w.join("play.yml"),
        format!(
            "- hosts: localhost\n  connection: local\n  gather_facts: false\n  module_defaults:\n    netpath.calico_alb.manifest:\n      kubeconfig: {}\n  vars:\n    cm_ns: {ns}\n  roles: [app]\n",
            plane().kubeconfig.display()
        ),
    )
    .unwrap();
    let venv = common::venv_bin();
    let out = common::ansible_playbook(&venv, w)
        .args(["-i", "localhost,", "play.yml"])
        .env("ANSIBLE_COLLECTIONS_PATH", &collections)
        .env("ANSIBLE_ROLES_PATH", w.join("roles"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        common::get("v1", "ConfigMap", Some(&ns), "from-files").unwrap()["data"]["a"],
        "b"
    );
    assert_eq!(
        common::get("v1", "ConfigMap", Some(&ns), "rendered").unwrap()["data"]["mode"],
        "production"
    );
    assert!(common::get("v1", "ConfigMap", Some(&ns), "rendered-2").is_some());
    assert_eq!(
        common::get("v1", "ConfigMap", Some(&ns), "custom").unwrap()["data"]["raw"],
        "{{ not_a_var }}"
    );
}

/// A Secret applied as `stringData` and re-applied as the same `data`, or
/// the other way round, is the object the server already stores: no change,
/// in check mode or not, and no write (as kubernetes.core reports).
#[test]
fn secret_in_the_equivalent_form_is_unchanged() {
    let ns = common::namespace("secretform");
    let secret = |name: &str, form: &str| {
        let mut s = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": ns}});
        if form == "stringData" {
            s["stringData"] = json!({"foo": "bar"});
        } else {
            s["data"] = json!({"foo": base64("bar")});
        }
        with(conn(), json!({"definition": s}))
    };
    let rv = |name: &str| {
        common::resource_version(&common::get("v1", "Secret", Some(&ns), name).unwrap())
    };
    for (name, first, then) in [
        ("from-string-data", "stringData", "data"),
        ("from-data", "data", "stringData"),
    ] {
        let r = module::run("manifest", secret(name, first), module::Flags::default());
        assert_eq!(r.json["results"][0]["action"], "created", "{}", r.json);
        let before = rv(name);
        for check in [true, false] {
            let flags = module::Flags {
                check,
                diff: true,
                ..Default::default()
            };
            let r = module::run("manifest", secret(name, then), flags);
            assert_eq!(
                r.json["changed"],
                json!(false),
                "{name} as {then}: {}",
                r.json
            );
            assert_eq!(r.json["results"][0]["action"], "unchanged", "{}", r.json);
            assert_eq!(rv(name), before, "{name} as {then}: no write");
        }
        // A different value in the other form is still a change.
        let mut changed = secret(name, then);
        let d = &mut changed["definition"];
        if then == "data" {
            d["data"]["foo"] = json!(base64("baz"));
        } else {
            d["stringData"]["foo"] = json!("baz");
        }
        let r = module::run("manifest", changed, module::Flags::default());
        assert_eq!(r.json["results"][0]["action"], "updated", "{}", r.json);
        let live = common::get("v1", "Secret", Some(&ns), name).unwrap();
        assert_eq!(live["data"]["foo"], base64("baz"));
    }
}
