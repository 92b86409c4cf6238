//! Shared integration-test helpers: one real kube-apiserver + etcd for the
//! test binary (`scripts/testplane`), and sync CRUD helpers for plain
//! `#[test]` fns.
//!
//! Set `NETPATH_TEST_PLANE_DIR` to a directory where `scripts/testplane up`
//! already runs to reuse that plane (it is never stopped by the tests).
//! There are no controllers: namespaces never finish deleting and there is no
//! garbage collection, so every test works in its own `namespace(..)`.
//!
//! Every module's tests run at the same time in this one process: a module
//! whose tests write cluster-wide objects that others read (the
//! FelixConfiguration `default`, kube-system/kubeadm-config, IPPools, Nodes)
//! or that judge the whole cluster (every pool, every Node, a snapshot of
//! every namespace) takes a plane of its own with `module_plane!()`, and
//! then uses `plane().get(..)` rather than the free functions below, which
//! are the shared plane's.

pub mod imds;
pub mod lbc;
pub mod module;

/// Defines `fn plane()` for a test module whose tests must not share the
/// plane with other modules (see the module doc): one plane of its own,
/// started on first use, shared by that module's tests.
macro_rules! module_plane {
    ($prefix:literal) => {
        fn plane() -> &'static $crate::common::Plane {
            static PLANE: std::sync::OnceLock<Result<$crate::common::Plane, String>> =
                std::sync::OnceLock::new();
            $crate::common::started(&PLANE, || $crate::common::start_private($prefix))
        }
    };
}

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// A running control plane. All fields come from `DIR/env`.
#[derive(Debug)]
pub struct Plane {
    pub dir: PathBuf,
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:PORT`
    pub server: String,
    /// Bearer token of a `system:masters` user (kubeconfig context `token`).
    pub token: String,
    /// Bearer token of user `limited` (only `system:authenticated`; context `limited`).
    pub limited_token: String,
    /// CA that signed the serving cert and the admin client cert.
    pub ca: PathBuf,
    /// False when attached via NETPATH_TEST_PLANE_DIR: someone else owns it.
    owned: bool,
}

/// The plane the test modules share, started on first use. It is stopped
/// (and its temp dir removed) by the script's watcher once this process exits.
pub fn plane() -> &'static Plane {
    static PLANE: OnceLock<Result<Plane, String>> = OnceLock::new();
    started(&PLANE, || {
        if let Some(dir) = std::env::var_os("NETPATH_TEST_PLANE_DIR").filter(|d| !d.is_empty()) {
            return Plane::attach(Path::new(&dir));
        }
        start_private("plane")
    })
}

/// The plane in `cell`, started by `start` once. The error is kept: a failed
/// start must not be retried by every test.
pub fn started(
    cell: &'static OnceLock<Result<Plane, String>>,
    start: impl FnOnce() -> Result<Plane, String>,
) -> &'static Plane {
    match cell.get_or_init(start) {
        Ok(p) => p,
        Err(e) => panic!("test plane unavailable: {e}"),
    }
}

impl Plane {
    /// Starts another plane in `dir` (for tests needing several). It is stopped
    /// by `stop()`, or by the watcher when this process exits; `dir` is kept.
    pub fn start(dir: &Path) -> Result<Plane, String> {
        Self::start_with(dir, &[])
    }

    fn start_with(dir: &Path, extra: &[&str]) -> Result<Plane, String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testplane");
        let out = Command::new(&script)
            .arg("up")
            .arg(dir)
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .args(extra)
            .output()
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!(
                "`testplane up {}` failed ({}):\n{stderr}",
                dir.display(),
                out.status
            ));
        }
        // The script's own timing line; shown with --nocapture.
        eprint!("{stderr}");
        let mut p = Self::attach(dir)?;
        p.owned = true;
        Ok(p)
    }

    /// Reads `DIR/env` of a plane that is already running.
    pub fn attach(dir: &Path) -> Result<Plane, String> {
        let env_file = dir.join("env");
        let text = std::fs::read_to_string(&env_file)
            .map_err(|e| format!("{}: {e}", env_file.display()))?;
        let vars: HashMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('\'')))
            .collect();
        let var = |k: &str| {
            vars.get(k)
                .map(|v| v.to_string())
                .ok_or_else(|| format!("{} has no {k}", env_file.display()))
        };
        Ok(Plane {
            dir: PathBuf::from(var("NETPATH_TEST_PLANE_DIR")?),
            kubeconfig: PathBuf::from(var("KUBECONFIG")?),
            server: var("NETPATH_TEST_SERVER")?,
            token: var("NETPATH_TEST_TOKEN")?,
            limited_token: var("NETPATH_TEST_LIMITED_TOKEN")?,
            ca: PathBuf::from(var("NETPATH_TEST_CA")?),
            owned: false,
        })
    }

    /// Stops this plane (only one this process started; no-op when attached).
    pub fn stop(&self) {
        if !self.owned {
            return;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testplane");
        let st = Command::new(script)
            .arg("down")
            .arg(&self.dir)
            .status()
            .expect("run testplane down");
        assert!(st.success(), "testplane down {} failed", self.dir.display());
    }

    /// Pids of etcd and kube-apiserver as recorded in DIR/pids.
    pub fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(self.dir.join("pids"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Config for a kubeconfig context: "admin" (client cert), "token", "limited".
    pub fn config(&self, context: &str) -> kube::Config {
        let kubeconfig = Kubeconfig::read_from(&self.kubeconfig).expect("read plane kubeconfig");
        let opts = KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let mut cfg = block_on(kube::Config::from_custom_kubeconfig(kubeconfig, &opts))
            .unwrap_or_else(|e| panic!("kubeconfig context {context}: {e}"));
        // Loopback only: an HTTPS_PROXY from the environment must not apply.
        cfg.proxy_url = None;
        cfg
    }

    /// Client for the admin context. Needs a current Tokio runtime (the client
    /// spawns its worker there): use inside `#[tokio::test]` or `block_on`.
    pub fn client(&self) -> kube::Client {
        self.client_as("admin")
    }

    /// Like `client()`, for another kubeconfig context.
    pub fn client_as(&self, context: &str) -> kube::Client {
        assert!(
            tokio::runtime::Handle::try_current().is_ok(),
            "Plane::client needs a Tokio runtime; wrap the code in common::block_on(async {{ .. }})"
        );
        kube::Client::try_from(self.config(context)).expect("build kube client")
    }

    /// Creates namespace `unique_name(prefix)` and returns its name. Never waits for deletion.
    pub fn namespace(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        self.create(&serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}));
        name
    }

    pub fn get(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let (api_version, kind, namespace, name) = (
            api_version.to_string(),
            kind.to_string(),
            namespace.map(str::to_string),
            name.to_string(),
        );
        self.run(move |client| async move {
            let api = dyn_api(&client, &api_version, &kind, namespace.as_deref()).await;
            match api.get_opt(&name).await {
                Ok(o) => o.map(to_value),
                Err(e) => panic!("get {kind} {name}: {e}"),
            }
        })
    }

    pub fn create(&self, obj: &Value) -> Value {
        self.try_create(obj)
            .unwrap_or_else(|e| panic!("create {}: {e}", describe(obj)))
    }

    /// `create` that returns the error (e.g. to assert a schema rejects an object).
    pub fn try_create(&self, obj: &Value) -> Result<Value, kube::Error> {
        let obj = obj.clone();
        self.run(move |client| async move {
            let (api, data) = api_for(&client, &obj).await;
            api.create(&PostParams::default(), &data)
                .await
                .map(to_value)
        })
    }

    /// Server-side apply as field manager `manager`, with force.
    pub fn apply_as(&self, manager: &str, obj: &Value) -> Value {
        let (obj, manager) = (obj.clone(), manager.to_string());
        self.run(move |client| async move {
            let (api, data) = api_for(&client, &obj).await;
            let name = data
                .metadata
                .name
                .clone()
                .expect("object has metadata.name");
            match api
                .patch(
                    &name,
                    &PatchParams::apply(&manager).force(),
                    &Patch::Apply(&obj),
                )
                .await
            {
                Ok(o) => to_value(o),
                Err(e) => panic!("apply {} as {manager}: {e}", describe(&obj)),
            }
        })
    }

    /// Deletes the object; already absent is fine. Does not wait for finalizers.
    pub fn delete(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) {
        let (api_version, kind, namespace, name) = (
            api_version.to_string(),
            kind.to_string(),
            namespace.map(str::to_string),
            name.to_string(),
        );
        self.run(move |client| async move {
            let api = dyn_api(&client, &api_version, &kind, namespace.as_deref()).await;
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.is_not_found() => {}
                Err(e) => panic!("delete {kind} {name}: {e}"),
            }
        })
    }

    /// Items with apiVersion and kind filled in (the server leaves them out of lists).
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let (api_version, kind, namespace) = (
            api_version.to_string(),
            kind.to_string(),
            namespace.map(str::to_string),
        );
        self.run(move |client| async move {
            let api = dyn_api(&client, &api_version, &kind, namespace.as_deref()).await;
            let list = api
                .list(&ListParams::default())
                .await
                .unwrap_or_else(|e| panic!("list {kind}: {e}"));
            list.items
                .into_iter()
                .map(|o| {
                    let mut v = to_value(o);
                    v["apiVersion"] = Value::from(api_version.as_str());
                    v["kind"] = Value::from(kind.as_str());
                    v
                })
                .collect()
        })
    }

    /// Merge-patches the status subresource: no kubelet or controller writes
    /// it on this plane.
    pub fn patch_status(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) {
        let (api_version, kind, namespace, name) = (
            api_version.to_string(),
            kind.to_string(),
            namespace.map(str::to_string),
            name.to_string(),
        );
        self.run(move |client| async move {
            let api = dyn_api(&client, &api_version, &kind, namespace.as_deref()).await;
            let patch = Patch::Merge(serde_json::json!({ "status": status }));
            if let Err(e) = api
                .patch_status(&name, &PatchParams::default(), &patch)
                .await
            {
                panic!("patch {kind} {name} status: {e}");
            }
        })
    }

    /// A Node as kubelet registers it: Ready, with `ip` as its InternalIP and
    /// `provider_id` (if any) as spec.providerID. Deleted when the guard
    /// drops, pass or panic: Nodes are cluster-wide.
    pub fn node(&self, name: &str, provider_id: Option<&str>, ip: &str) -> Node<'_> {
        let mut obj =
            serde_json::json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}});
        if let Some(p) = provider_id {
            obj["spec"] = serde_json::json!({ "providerID": p });
        }
        self.create(&obj);
        let node = Node {
            plane: self,
            name: name.to_string(),
        };
        self.patch_status("v1", "Node", None, name, ready_node_status(name, ip));
        node
    }

    /// Runs `f` with an admin client on a private runtime, from sync or async code.
    fn run<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce(kube::Client) -> Fut + Send,
        Fut: Future<Output = T> + Send,
        T: Send,
    {
        let config = self.config("admin");
        block_on(async move {
            let client = kube::Client::try_from(config).expect("build kube client");
            f(client).await
        })
    }
}

/// A plane of the calling test's own, for tests that write cluster-wide
/// objects which would change what other tests meet on the shared plane
/// (fail-closed webhook configurations, replaced CRDs). Stopped by its
/// watcher when this process exits, or by `stop()`.
pub fn private_plane(prefix: &str) -> Plane {
    start_private(prefix).unwrap_or_else(|e| panic!("private plane: {e}"))
}

/// Starts a plane in a new temp dir `netpath-PREFIX-*`, removed when it stops.
pub fn start_private(prefix: &str) -> Result<Plane, String> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("netpath-{prefix}-"))
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?
        .keep();
    Plane::start_with(&dir, &["--rm"])
}

/// A Node of `Plane::node`, deleted on drop; derefs to its name.
pub struct Node<'a> {
    plane: &'a Plane,
    name: String,
}

impl std::ops::Deref for Node<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl Drop for Node<'_> {
    fn drop(&mut self) {
        self.plane.delete("v1", "Node", None, &self.name);
    }
}

/// Node status as kubelet posts it: Ready, with an InternalIP and a Hostname.
pub fn ready_node_status(name: &str, ip: &str) -> Value {
    let now = "2026-12-01T00:00:00Z";
    serde_json::json!({
        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}],
    })
}

/// Runs a future to completion on a fresh current-thread runtime. Works from
/// plain `#[test]` fns and from inside a runtime (it then uses a helper thread,
/// since runtimes cannot nest).
pub fn block_on<F>(fut: F) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    let run = move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(fut)
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        std::thread::scope(|s| {
            s.spawn(run)
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        })
    } else {
        run()
    }
}

pub fn namespace(prefix: &str) -> String {
    plane().namespace(prefix)
}

pub fn get(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
    plane().get(api_version, kind, namespace, name)
}

pub fn create(obj: &Value) -> Value {
    plane().create(obj)
}

pub fn try_create(obj: &Value) -> Result<Value, kube::Error> {
    plane().try_create(obj)
}

pub fn apply_as(manager: &str, obj: &Value) -> Value {
    plane().apply_as(manager, obj)
}

pub fn delete(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) {
    plane().delete(api_version, kind, namespace, name)
}

pub fn list(api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
    plane().list(api_version, kind, namespace)
}

/// `base` with the keys of the object `extra` set over it.
pub fn with(base: Value, extra: Value) -> Value {
    let mut b = base;
    for (k, v) in extra.as_object().expect("extra is an object") {
        b[k] = v.clone();
    }
    b
}

pub fn resource_version(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_else(|| panic!("no metadata.resourceVersion in {obj}"))
        .to_string()
}

/// `prefix-xxxxxx`: lowercase DNS-1123 label, random per call; no API call.
pub fn unique_name(prefix: &str) -> String {
    let mut p: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    p.truncate(50);
    let p = p.trim_matches('-');
    format!(
        "{}-{}",
        if p.is_empty() { "test" } else { p },
        random_suffix()
    )
}

// ---------------------------------------------------------------------------

fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded randomly per process; the counter separates calls.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    let mut n = h.finish();
    (0..6)
        .map(|_| {
            let c = b"abcdefghijklmnopqrstuvwxyz0123456789"[(n % 36) as usize] as char;
            n /= 36;
            c
        })
        .collect()
}

fn describe(obj: &Value) -> String {
    format!(
        "{}/{} {}/{}",
        obj["apiVersion"].as_str().unwrap_or("?"),
        obj["kind"].as_str().unwrap_or("?"),
        obj["metadata"]["namespace"].as_str().unwrap_or("-"),
        obj["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn to_value(o: DynamicObject) -> Value {
    serde_json::to_value(o).expect("DynamicObject serializes")
}

type Discovered = (ApiResource, ApiCapabilities);

/// kind → resource via discovery, cached per (apiVersion, kind) for this process.
async fn resolve(client: &kube::Client, api_version: &str, kind: &str) -> Discovered {
    static CACHE: Mutex<BTreeMap<(String, String), Discovered>> = Mutex::new(BTreeMap::new());
    let key = (api_version.to_string(), kind.to_string());
    if let Some(hit) = CACHE.lock().unwrap().get(&key) {
        return hit.clone();
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let found = kube::discovery::pinned_kind(client, &gvk)
        .await
        .unwrap_or_else(|e| panic!("discovery of {api_version} {kind}: {e}"));
    CACHE.lock().unwrap().insert(key, found.clone());
    found
}

async fn dyn_api(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Api<DynamicObject> {
    let (ar, caps) = resolve(client, api_version, kind).await;
    match (caps.scope, namespace) {
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        (Scope::Namespaced, None) => panic!("{api_version} {kind} is namespaced: pass a namespace"),
        (Scope::Cluster, _) => Api::all_with(client.clone(), &ar),
    }
}

async fn api_for(client: &kube::Client, obj: &Value) -> (Api<DynamicObject>, DynamicObject) {
    let data: DynamicObject = serde_json::from_value(obj.clone())
        .unwrap_or_else(|e| panic!("not a Kubernetes object ({e}): {obj}"));
    let api_version = obj["apiVersion"].as_str().expect("object has apiVersion");
    let kind = obj["kind"].as_str().expect("object has kind");
    let api = dyn_api(
        client,
        api_version,
        kind,
        data.metadata.namespace.as_deref(),
    )
    .await;
    (api, data)
}

/// The bin directory of the pinned venv (`scripts/venv`, made once).
pub fn venv_bin() -> PathBuf {
    // Once per test binary: two tests running scripts/venv side by side
    // could both find it incomplete and install into it at once.
    static VENV: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    VENV.get_or_init(make_venv).clone()
}

fn make_venv() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/venv"))
        .output()
        .expect("scripts/venv runs");
    assert!(
        out.status.success(),
        "scripts/venv failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A collection tree in `dir`: the repository's roles, action plugins and
/// meta (action groups), and this test build's binary under every module name.
pub fn collection(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let coll = dir.join("collections/ansible_collections/netpath/calico_alb");
    for sub in ["plugins/action", "plugins/plugin_utils", "meta"] {
        std::fs::create_dir_all(coll.join(sub)).unwrap();
        for f in std::fs::read_dir(root.join("collection").join(sub)).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() {
                std::fs::copy(&f, coll.join(sub).join(f.file_name().unwrap())).unwrap();
            }
        }
    }
    std::os::unix::fs::symlink(root.join("roles"), coll.join("roles")).unwrap();
    std::fs::create_dir_all(coll.join("libexec")).unwrap();
    std::fs::create_dir_all(coll.join("plugins/modules")).unwrap();
    std::fs::copy(
        assert_cmd::cargo::cargo_bin!("netpath"),
        coll.join("libexec/netpath"),
    )
    .unwrap();
    for m in [
        "manifest",
        "ippool",
        "cni",
        "alb_ingress",
        "netcheck",
        "alb_controller",
        "node_provider_id",
    ] {
        std::os::unix::fs::symlink(
            "../../libexec/netpath",
            coll.join("plugins/modules").join(m),
        )
        .unwrap();
    }
    dir.join("collections")
}

/// A throwaway CA in `dir` that signed nothing the plane serves: its PEM
/// (`ca.pem`) and DER (`ca.der`) certificates.
pub fn unrelated_ca(dir: &Path) -> (PathBuf, PathBuf) {
    let (key, pem, der) = (dir.join("k.pem"), dir.join("ca.pem"), dir.join("ca.der"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=other-ca",
            "-days",
            "1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&pem)
        .output()
        .unwrap()
        .status
        .success()
        && Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&pem)
            .arg("-out")
            .arg(&der)
            .status()
            .unwrap()
            .success();
    assert!(ok, "openssl could not make a throwaway CA");
    (pem, der)
}

/// `ansible-playbook` from the venv, run in `dir` with its own local temp
/// dir, no colour, no host-key prompt, and the venv first on PATH.
pub fn ansible_playbook(venv: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(venv.join("ansible-playbook"));
    cmd.current_dir(dir)
        .env("ANSIBLE_LOCAL_TEMP", dir.join("tmp-local"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env(
            "PATH",
            format!(
                "{}:{}",
                venv.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
    cmd
}
