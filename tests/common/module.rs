//! Runs the netpath binary exactly as Ansible runs a binary module: the
//! options and `_ansible_*` keys in a JSON args file passed as argv[1].

use serde_json::{Value, json};
use std::process::Command;

#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub check: bool,
    pub diff: bool,
    pub inject_invocation: bool,
}

pub struct Output {
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

pub fn command() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin!("netpath"))
}

/// Runs `module` with `args` plus the internal keys ansible-core 2.21 sends.
pub fn run(module: &str, args: Value, flags: Flags) -> Output {
    run_env(module, args, flags, &[])
}

/// `run` with extra environment variables for the module process.
pub fn run_env(module: &str, args: Value, flags: Flags, env: &[(&str, &str)]) -> Output {
    let mut all = args;
    let internal = json!({
        "_ansible_module_name": format!("netpath.calico_alb.{module}"),
        "_ansible_check_mode": flags.check,
        "_ansible_diff": flags.diff,
        "_ansible_no_log": false,
        "_ansible_debug": false,
        "_ansible_verbosity": 0,
        "_ansible_version": "2.21.5",
        "_ansible_keep_remote_files": false,
        "_ansible_tracebacks_for": [],
        "_ansible_inject_invocation": flags.inject_invocation,
        "_ansible_target_log_info": null,
    });
    for (k, v) in internal.as_object().unwrap() {
        all[k] = v.clone();
    }
    run_raw_env(serde_json::to_string(&all).unwrap().as_bytes(), module, env)
}

/// Runs with an args file of exactly these bytes.
pub fn run_raw(bytes: &[u8], module: &str) -> Output {
    run_raw_env(bytes, module, &[])
}

fn run_raw_env(bytes: &[u8], module: &str, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let args = dir.path().join("args");
    std::fs::write(&args, bytes).unwrap();
    // Ansible names the copied binary AnsiballZ_<module>; a link gives the same argv[0].
    let exe = dir.path().join(format!("AnsiballZ_{module}"));
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin!("netpath"), &exe).unwrap();
    let out = Command::new(&exe)
        .arg(&args)
        .envs(env.iter().copied())
        .output()
        .expect("netpath runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("module output is not one JSON object ({e}):\nstdout: {stdout}\nstderr: {stderr}")
    });
    Output {
        json,
        stdout,
        stderr,
    }
}
