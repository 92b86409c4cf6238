//! The human CLI: the same modules and engine, with text output.

pub mod roles;
pub mod vars;
pub mod verify;

use crate::ansible;
use crate::protocol::ModuleInput;
use serde_json::{Map, Value, json};

const HELP: &str = "netpath — validate and idempotently apply the ALB → NodePort → Calico path

USAGE:
    netpath ARGS_FILE                         run as an Ansible module (what Ansible does)
    netpath apply  -f FILE [options]          apply manifests (server-side apply, only what differs)
    netpath delete -f FILE [options]          delete the objects in FILE
    netpath diff   -f FILE [options]          show what apply would change; writes nothing
    netpath check  -f VARS.yml [-o FORMAT]    check the whole ALB → NodePort → pod path from role variables
    netpath render -f VARS.yml                print the IngressClass, Service and Ingress YAML of role variables
    netpath verify -f VARS.yml [--timeout S]  after apply: wait for the ALB and healthy targets; reads only
    netpath doc MODULE                        print a module's documentation (Ansible sidecar YAML)
    netpath --version

OPTIONS:
    -f, --filename FILE     YAML file of one or more objects ('-' reads standard input)
    -n, --namespace NS      namespace for objects that name none
        --kubeconfig PATH   kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster)
        --context NAME      kubeconfig context
        --check             decide and report, write nothing
        --diff              print before/after of the managed fields
        --force-conflicts   take over fields owned by another field manager
        --field-manager N   server-side apply field manager (default netpath)

Exit status: 0 success, 1 failure, 2 invalid usage or input.";

const COMMANDS: &[&str] = &[
    "apply", "delete", "diff", "doc", "help", "check", "render", "verify",
];

pub fn is_command(s: &str) -> bool {
    COMMANDS.contains(&s)
}

pub fn main(args: &[String]) -> i32 {
    let Some(cmd) = args.first() else {
        eprintln!("{HELP}");
        return 2;
    };
    match cmd.as_str() {
        "--version" | "-V" | "version" => {
            println!("netpath {}", env!("CARGO_PKG_VERSION"));
            0
        }
        "--help" | "-h" | "help" => {
            println!("{HELP}");
            0
        }
        "doc" => match args.get(1).and_then(|m| crate::modules::find(m)) {
            Some(m) => {
                print!("{}", crate::docs::sidecar(m));
                0
            }
            None => {
                eprintln!(
                    "netpath doc: name one of: {}",
                    crate::modules::MODULES
                        .iter()
                        .map(|m| m.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                2
            }
        },
        "apply" | "delete" | "diff" => manifest_command(cmd, &args[1..]),
        "check" => vars::check(&args[1..]),
        "render" => vars::render(&args[1..]),
        "verify" => verify::main(&args[1..]),
        other => {
            eprintln!("netpath: unknown command {other:?}\n\n{HELP}");
            2
        }
    }
}

fn manifest_command(cmd: &str, args: &[String]) -> i32 {
    let mut params = Map::new();
    let (mut check, mut diff) = (cmd == "diff", cmd == "diff");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Option<String> {
            let v = it.next().cloned();
            if v.is_none() {
                eprintln!("netpath {cmd}: {name} needs a value");
            }
            v
        };
        match a.as_str() {
            "-f" | "--filename" => match value(a) {
                Some(f) if f == "-" => {
                    let mut s = String::new();
                    if std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).is_err() {
                        eprintln!("netpath {cmd}: cannot read standard input");
                        return 2;
                    }
                    params.insert("definition".into(), json!(s));
                }
                Some(f) => {
                    params.insert("src".into(), json!(f));
                }
                None => return 2,
            },
            "-n" | "--namespace" => match value(a) {
                Some(v) => {
                    params.insert("namespace".into(), json!(v));
                }
                None => return 2,
            },
            "--kubeconfig" | "--context" | "--field-manager" => match value(a) {
                Some(v) => {
                    params.insert(a.trim_start_matches("--").replace('-', "_"), json!(v));
                }
                None => return 2,
            },
            "--check" => check = true,
            "--diff" => diff = true,
            "--force-conflicts" => {
                params.insert("force_conflicts".into(), json!(true));
            }
            "-h" | "--help" => {
                println!("{HELP}");
                return 0;
            }
            other => {
                eprintln!("netpath {cmd}: unknown option {other:?} (see netpath --help)");
                return 2;
            }
        }
    }
    if cmd == "delete" {
        params.insert("state".into(), json!("absent"));
    }
    let input = ModuleInput {
        module: "manifest".into(),
        fqcn: "netpath.calico_alb.manifest".into(),
        args: params,
        check_mode: check,
        diff,
        ..Default::default()
    };
    print_result(&ansible::run_input(input), check)
}

/// Prints a module result for a person; returns the exit status.
pub fn print_result(out: &Value, check: bool) -> i32 {
    for w in out["warnings"].as_array().into_iter().flatten() {
        eprintln!("warning: {}", w.as_str().unwrap_or_default());
    }
    for r in out["results"].as_array().into_iter().flatten() {
        let ns = r["namespace"]
            .as_str()
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        let action = r["action"].as_str().unwrap_or_default();
        let suffix = if check && action != "unchanged" {
            " (check mode: not written)"
        } else {
            ""
        };
        println!(
            "{} {}{} {action}{suffix}",
            r["kind"].as_str().unwrap_or_default(),
            ns,
            r["name"].as_str().unwrap_or_default()
        );
    }
    for d in out["diff"].as_array().into_iter().flatten() {
        println!(
            "--- {}\n+++ {}",
            d["before_header"].as_str().unwrap_or_default(),
            d["after_header"].as_str().unwrap_or_default()
        );
        print_unified(
            d["before"].as_str().unwrap_or_default(),
            d["after"].as_str().unwrap_or_default(),
        );
    }
    if out["failed"] == json!(true) {
        eprintln!("error: {}", out["msg"].as_str().unwrap_or_default());
        return if out.get("findings").is_some() || out["results"].is_null() {
            2
        } else {
            1
        };
    }
    if let Some(m) = out["msg"].as_str() {
        eprintln!("{m}");
    }
    0
}

/// A line diff good enough for small YAML documents.
fn print_unified(before: &str, after: &str) {
    let b: Vec<&str> = before.lines().collect();
    let a: Vec<&str> = after.lines().collect();
    // Longest common subsequence; objects are small, so O(n*m) is fine.
    let mut lcs = vec![vec![0usize; a.len() + 1]; b.len() + 1];
    for i in (0..b.len()).rev() {
        for j in (0..a.len()).rev() {
            lcs[i][j] = if b[i] == a[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < b.len() || j < a.len() {
        if i < b.len() && j < a.len() && b[i] == a[j] {
            println!(" {}", b[i]);
            i += 1;
            j += 1;
        } else if j < a.len() && (i == b.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            println!("+{}", a[j]);
            j += 1;
        } else {
            println!("-{}", b[i]);
            i += 1;
        }
    }
}
