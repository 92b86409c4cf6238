//! The controller rig of tests/lbc.rs: `scripts/lbc-harness` (moto seeded with
//! the seed's VPC, a plane with the LBC's CRDs and two Nodes, the real AWS Load
//! Balancer Controller v3.5.0), and what the tests read from it: the emulated
//! AWS (through boto3, `tools/lbc/aws.py`), the controller's metrics and log.
//!
//! One rig for the test binary, shared; its tests run one at a time (`Rig::begin`)
//! because the controller's AWS calls, its worker-SG rule and its log are
//! global. A second rig with the LBC's webhooks starts on a fresh plane.
//! When ../shared is absent the harness exits 3 and `rig()` returns None.

use crate::common::{self, Plane, block_on};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

pub struct Rig {
    pub dir: PathBuf,
    pub plane: Plane,
    env: HashMap<String, String>,
    /// aws.json: the seeded IDs (vpc, subnets, workerSG, instances, ...).
    pub seed: Value,
    lock: Mutex<()>,
    /// `aws.py serve`, started on first use: boto3 is imported once.
    aws_server: Mutex<Option<AwsServer>>,
}

struct AwsServer {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

type Started = Result<Option<Rig>, String>;

/// The shared rig (no webhooks); None (after saying why) when ../shared is absent.
pub fn rig() -> Option<&'static Rig> {
    static RIG: OnceLock<Started> = OnceLock::new();
    get(&RIG, false)
}

/// A rig of its own with the LBC's webhooks registered (failurePolicy Fail),
/// on a fresh plane where no IngressClass exists yet.
pub fn webhook_rig() -> Option<&'static Rig> {
    static RIG: OnceLock<Started> = OnceLock::new();
    get(&RIG, true)
}

/// A rig with no controller running (`--no-controller`): the test starts
/// `LBC_BIN` itself, e.g. with the args of the Deployment netpath wrote, on
/// the ports and log file the rig's env names.
pub fn bare_rig() -> Option<&'static Rig> {
    static RIG: OnceLock<Started> = OnceLock::new();
    get_with(&RIG, &["--no-controller"])
}

fn get(cell: &'static OnceLock<Started>, webhooks: bool) -> Option<&'static Rig> {
    get_with(cell, if webhooks { &["--webhooks"] } else { &[] })
}

fn get_with(cell: &'static OnceLock<Started>, flags: &[&str]) -> Option<&'static Rig> {
    match cell.get_or_init(|| Rig::start(flags)) {
        Ok(Some(r)) => Some(r),
        Ok(None) => {
            eprintln!(
                "SKIPPED: ../shared is absent, so there is no AWS Load Balancer Controller to test against"
            );
            None
        }
        Err(e) => panic!("controller rig unavailable: {e}"),
    }
}

/// The alb_ingress options site.yml passes (roles/alb_ingress), from the
/// seed's inventory/group_vars/all.yml, with the apps moved into `ns`.
pub fn seed_args(ns: &str) -> Value {
    let text = std::fs::read_to_string(root().join("inventory/group_vars/all.yml")).unwrap();
    let v: Value = serde_saphyr::from_str(&text).unwrap();
    let mut apps = v["alb_ingress_ingresses"].clone();
    for a in apps.as_array_mut().unwrap() {
        a["namespace"] = json!(ns);
    }
    json!({
        "cni_plugin": v["cni_plugin"], "pod_cidr": v["cni_pod_cidr"], "vpc_cidrs": v["cni_vpc_cidrs"],
        "node_port_range": v["alb_ingress_node_port_range"],
        "ingress_class": {"name": v["alb_ingress_class_name"]},
        "ingress_class_annotation": v["alb_ingress_class_annotation"],
        "ingresses": apps,
    })
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Rig {
    fn start(flags: &[&str]) -> Started {
        let dir = tempfile::Builder::new()
            .prefix("netpath-lbc-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?
            .keep();
        let mut cmd = Command::new(root().join("scripts/lbc-harness"));
        cmd.arg("up")
            .arg(&dir)
            .args(["--owner-pid", &std::process::id().to_string(), "--rm"]);
        cmd.args(flags);
        let out = cmd
            .output()
            .map_err(|e| format!("scripts/lbc-harness: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprint!("{stderr}");
        match out.status.code() {
            Some(0) => {}
            Some(3) => return Ok(None),
            _ => {
                return Err(format!(
                    "`lbc-harness up` failed ({}):\n{stderr}",
                    out.status
                ));
            }
        }
        let env: HashMap<String, String> = std::fs::read_to_string(dir.join("env"))
            .map_err(|e| format!("{}/env: {e}", dir.display()))?
            .lines()
            .filter_map(|l| l.strip_prefix("export ")?.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        let plane = Plane::attach(&dir.join("plane"))?;
        let seed = serde_json::from_str(
            &std::fs::read_to_string(dir.join("aws.json")).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        Ok(Some(Rig {
            dir,
            plane,
            env,
            seed,
            lock: Mutex::new(()),
            aws_server: Mutex::new(None),
        }))
    }

    pub fn env(&self, k: &str) -> &str {
        self.env
            .get(k)
            .unwrap_or_else(|| panic!("rig env has no {k}"))
    }

    /// Starts a test: waits for the previous one's AWS resources to be gone,
    /// then gives it a namespace of its own. Dropping the Test removes what it
    /// made (Ingresses first, so the LBC's finalizer cleans AWS up).
    pub fn begin(&'static self, prefix: &str) -> Test {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let t0 = Instant::now();
        self.wait_quiet();
        eprintln!(
            "lbc {prefix}: AWS clean of earlier tests after {:.1}s",
            t0.elapsed().as_secs_f64()
        );
        let ns = self.plane.namespace(prefix);
        Test {
            rig: self,
            ns,
            nodes: Mutex::new(Vec::new()),
            also: Mutex::new(Vec::new()),
            _guard: guard,
        }
    }

    /// How many security groups the LBC made (tagged with its cluster).
    pub fn lbc_security_groups(&self, state: &Value) -> usize {
        state["securityGroups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["tags"].get("elbv2.k8s.aws/cluster").is_some())
            .count()
    }

    /// No ALB, target group or LBC security group left, and no rule on the worker SG.
    fn wait_quiet(&self) {
        let sg = self.worker_sg().to_string();
        self.wait("the emulated AWS to be clean of earlier tests", 90, || {
            let s = self.aws_state();
            let lbc_sgs = self.lbc_security_groups(&s);
            let rules = self.sg(&s, &sg)["ingress"].as_array().unwrap().len();
            (s["loadBalancers"] == json!([])
                && s["targetGroups"] == json!([])
                && lbc_sgs == 0
                && rules == 0)
                .then_some(())
        });
    }

    // --- emulated AWS -------------------------------------------------------

    /// `tools/lbc/aws.py COMMAND DIR ARGS...` with the moto venv's Python
    /// (through one `aws.py serve` process per rig).
    pub fn aws(&self, command: &str, args: &[&str]) -> String {
        use std::io::{BufRead, Write};
        use std::process::Stdio;
        let mut server = self.aws_server.lock().unwrap_or_else(|e| e.into_inner());
        let s = server.get_or_insert_with(|| {
            let mut child = Command::new(self.env("LBC_PYTHON"))
                .arg(self.env("LBC_AWS"))
                .arg("serve")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start tools/lbc/aws.py serve");
            let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
            AwsServer {
                child,
                stdin,
                stdout: std::io::BufReader::new(stdout),
            }
        });
        let mut req = vec![json!(command), json!(self.dir)];
        req.extend(args.iter().map(|a| json!(a)));
        writeln!(s.stdin, "{}", Value::from(req)).expect("write to aws.py serve");
        let mut line = String::new();
        s.stdout
            .read_line(&mut line)
            .expect("read from aws.py serve");
        let reply: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "aws.py serve answered {line:?} ({e}); did it exit? {:?}",
                s.child.try_wait()
            )
        });
        match reply["out"].as_str() {
            Some(out) => out.trim().to_string(),
            None => panic!("aws.py {command} failed: {}", reply["error"]),
        }
    }

    /// ALBs, target groups and the VPC's security groups, as aws.py dumps them.
    pub fn aws_state(&self) -> Value {
        serde_json::from_str(&self.aws("state", &[])).expect("aws.py state is JSON")
    }

    pub fn worker_sg(&self) -> &str {
        self.seed["workerSG"].as_str().unwrap()
    }

    pub fn instance_ids(&self) -> Vec<String> {
        self.seed["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    }

    pub fn subnet_ids(&self) -> Vec<String> {
        let mut s: Vec<String> = self.seed["subnets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        s.sort();
        s
    }

    /// A security group of a state dump by ID.
    pub fn sg<'a>(&self, state: &'a Value, id: &str) -> &'a Value {
        state["securityGroups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .unwrap_or_else(|| panic!("no security group {id} in {state}"))
    }

    /// The LBC's shared backend SG (`elbv2.k8s.aws/resource: backend-sg`), if any.
    pub fn backend_sg(&self, state: &Value) -> Option<String> {
        state["securityGroups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["tags"]["elbv2.k8s.aws/resource"] == "backend-sg")
            .map(|g| g["id"].as_str().unwrap().to_string())
    }

    /// The ALB of an Ingress (`ns/name`) or IngressGroup (its name): the LBC
    /// tags each with its stack.
    pub fn load_balancer<'a>(&self, state: &'a Value, stack: &str) -> Option<&'a Value> {
        state["loadBalancers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|lb| lb["tags"]["ingress.k8s.aws/stack"] == stack)
    }

    /// The target groups attached to an ALB.
    pub fn target_groups<'a>(&self, state: &'a Value, lb: &Value) -> Vec<&'a Value> {
        state["targetGroups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|tg| tg["loadBalancers"].as_array().unwrap().contains(&lb["arn"]))
            .collect()
    }

    // --- the controller -----------------------------------------------------

    /// `aws_api_calls_total` of the LBC's metrics: (operation, status) -> count.
    pub fn aws_calls(&self) -> BTreeMap<(String, String), u64> {
        let out = Command::new("curl")
            .args(["-sf", "--noproxy", "*", "--max-time", "5"])
            .arg(self.env("LBC_METRICS_URL"))
            .output()
            .expect("curl the LBC's metrics");
        assert!(
            out.status.success(),
            "the LBC's metrics endpoint did not answer"
        );
        let label = |l: &str, k: &str| {
            l.split(&format!("{k}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string()
        };
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("aws_api_calls_total{"))
            .map(|l| {
                let n = l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64;
                ((label(l, "operation"), label(l, "status_code")), n)
            })
            .collect()
    }

    /// Calls that change AWS (Create*, Modify*, Register*, ...), summed.
    pub fn mutating_calls(&self) -> BTreeMap<String, u64> {
        const READS: [&str; 3] = ["Describe", "List", "Get"];
        let mut m = BTreeMap::new();
        for ((op, _), n) in self.aws_calls() {
            if !READS.iter().any(|r| op.starts_with(r)) {
                *m.entry(op).or_default() += n;
            }
        }
        m
    }

    /// Calls answered with another status than 200, by operation and status.
    pub fn failed_calls(&self) -> BTreeMap<(String, String), u64> {
        self.aws_calls()
            .into_iter()
            .filter(|((_, status), _)| status != "200")
            .collect()
    }

    /// Position in the LBC's log, for `log_since`.
    pub fn log_mark(&self) -> usize {
        self.log().len()
    }

    pub fn log_since(&self, mark: usize) -> String {
        self.log().get(mark..).unwrap_or_default().to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.env("LBC_LOG")).expect("read the LBC's log")
    }

    /// Error lines of the LBC's log after `mark`.
    pub fn errors_since(&self, mark: usize) -> Vec<String> {
        self.log_since(mark)
            .lines()
            .filter(|l| l.contains("\"level\":\"error\""))
            .map(str::to_string)
            .collect()
    }

    // --- Kubernetes ---------------------------------------------------------

    /// Runs a netpath module against the rig's plane, as Ansible runs it.
    pub fn module(&self, module: &str, mut args: Value) -> Value {
        args["kubeconfig"] = json!(self.plane.kubeconfig.to_str().unwrap());
        common::module::run(module, args, common::module::Flags::default()).json
    }

    /// The LBC's Events on objects of `ns` (reason, message).
    pub fn events(&self, ns: &str) -> Vec<(String, String)> {
        self.plane
            .list("v1", "Event", Some(ns))
            .iter()
            .map(|e| {
                (
                    e["reason"].as_str().unwrap_or("").to_string(),
                    e["message"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Polls `f` every 300 ms until it returns Some, for at most `secs`.
    #[track_caller]
    pub fn wait<T>(&self, what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
        let t0 = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            if t0.elapsed() > Duration::from_secs(secs) {
                let log = self.log();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                panic!(
                    "timed out after {secs}s waiting for {what}; LBC log (last lines, newest first):\n{}",
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

/// One test on the shared rig: its namespace, the Nodes it added, the lock.
pub struct Test {
    pub rig: &'static Rig,
    pub ns: String,
    nodes: Mutex<Vec<String>>,
    also: Mutex<Vec<String>>,
    _guard: MutexGuard<'static, ()>,
}

impl Test {
    /// A Ready Node with this providerID ("" for none), removed on drop.
    pub fn add_node(&self, name: &str, provider_id: &str, ip: &str) {
        let mut spec = json!({});
        if !provider_id.is_empty() {
            spec["providerID"] = json!(provider_id);
        }
        self.rig.plane.create(&json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": "eu-west-1a"}}, "spec": spec}));
        self.nodes.lock().unwrap().push(name.to_string());
        let status = common::ready_node_status(name, ip);
        self.rig
            .plane
            .patch_status("v1", "Node", None, name, status);
    }

    /// Also clean namespace `ns` on drop (e.g. `default`, where site.yml writes).
    pub fn clean_also(&self, ns: &str) {
        self.also.lock().unwrap().push(ns.to_string());
    }

    pub fn delete_node(&self, name: &str) {
        self.rig.plane.delete("v1", "Node", None, name);
        self.nodes.lock().unwrap().retain(|n| n != name);
    }
}

impl Drop for Test {
    fn drop(&mut self) {
        let p = &self.rig.plane;
        for n in self.nodes.lock().unwrap().drain(..) {
            p.delete("v1", "Node", None, &n);
        }
        let mut namespaces = vec![self.ns.clone()];
        namespaces.append(&mut self.also.lock().unwrap());
        for ns in namespaces {
            clean(p, &ns);
        }
    }
}

/// Without kube-controller-manager a namespace never goes: delete what the
/// LBC reads instead, Ingresses first (its finalizer cleans AWS up).
fn clean(p: &Plane, ns: &str) {
    for (av, kind) in [
        ("networking.k8s.io/v1", "Ingress"),
        ("v1", "Service"),
        ("discovery.k8s.io/v1", "EndpointSlice"),
    ] {
        for o in p.list(av, kind, Some(ns)) {
            if kind == "Service" && o["metadata"]["name"] == "kubernetes" {
                continue;
            }
            p.delete(av, kind, Some(ns), o["metadata"]["name"].as_str().unwrap());
        }
    }
    // No kubelet confirms a graceful Pod deletion: grace period 0.
    let (ns, config) = (ns.to_string(), p.config("admin"));
    block_on(async move {
        use k8s_openapi::api::core::v1::Pod;
        let api: kube::Api<Pod> =
            kube::Api::namespaced(kube::Client::try_from(config).unwrap(), &ns);
        let dp = kube::api::DeleteParams {
            grace_period_seconds: Some(0),
            ..Default::default()
        };
        let _ = api.delete_collection(&dp, &Default::default()).await;
    });
}
