//! `make demo` (scripts/demo) leaves nothing of its control plane running:
//! not after a successful run, not after Ctrl-C or SIGTERM mid-run; with
//! KEEP=1 the plane stays up and the commands the demo prints use and stop it.
//!
//! Runs the real demo: the release binary (`make build`), the venv, a real
//! kube-apiserver + etcd and ansible-playbook. "Left running" is judged from
//! /proc: the pids the plane records (DIR/pids, DIR/watcher.pid) and any
//! process whose command line or environment names the plane's directory
//! (ansible-playbook runs with KUBECONFIG=DIR/kubeconfig).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DEMO_TIMEOUT: Duration = Duration::from_secs(600);
/// The line scripts/demo-site prints just before the first ansible-playbook run.
const MID_RUN: &str = "==> ansible-playbook -i inventory site.yml (first run)";

/// Each demo runs a plane, a collection build and ansible-playbook: on two
/// cores, one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The binary the demo packages (scripts/build-collection's default).
fn release_binary_present() -> bool {
    let p = root().join("target/x86_64-unknown-linux-gnu/release/netpath");
    if !p.exists() {
        eprintln!(
            "skipped: no release binary at {}; run `make build` (cargo build --release) first",
            p.display()
        );
    }
    p.exists()
}

/// Alive and not a zombie (as scripts/testplane's `alive`).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// The plane's pids, and with a controller rig also moto's and the
/// controller's (its `pids` lines are `pid starttime name`, the plane in plane/).
fn recorded_pids(plane: &Path) -> Vec<u32> {
    ["pids", "watcher.pid", "plane/pids", "plane/watcher.pid"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(plane.join(f))
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Live processes (pid, command line) whose command line or environment
/// names `plane`.
fn processes_naming(plane: &Path) -> Vec<(u32, String)> {
    let needle = plane.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || !alive(pid) {
            continue;
        }
        let read = |f: &str| {
            std::fs::read(entry.path().join(f))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default()
        };
        let cmdline = read("cmdline");
        if cmdline.contains(&needle) || read("environ").contains(&needle) {
            found.push((pid, cmdline));
        }
    }
    found
}

/// Asserts that nothing of the demo's plane (or of its ansible-playbook) runs.
fn assert_nothing_left(plane: &Path, pids: &[u32], output: &str) {
    let alive_pids: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
    let others = processes_naming(plane);
    assert!(
        alive_pids.is_empty() && others.is_empty(),
        "the demo left processes of its plane running: recorded pids still alive {alive_pids:?}, \
         processes naming {}: {others:?}\n--- demo output ---\n{output}",
        plane.display()
    );
}

enum Signal {
    /// What a terminal's Ctrl-C does: SIGINT to the whole foreground process group.
    CtrlC,
    /// `kill PID`: SIGTERM to the script alone.
    Term,
}

struct Run {
    status: ExitStatus,
    output: String,
    /// The plane's recorded pids while it ran (read before the demo ended).
    pids: Vec<u32>,
}

/// Runs scripts/demo with its plane in `plane`; with `interrupt`, sends that
/// signal once the first ansible-playbook run starts.
fn run_demo(plane: &Path, keep: bool, interrupt: Option<Signal>) -> Run {
    run_demo_with(plane, keep, interrupt, false)
}

/// `run_demo`; with `lbc`, the controller rig when the controller is built.
fn run_demo_with(plane: &Path, keep: bool, interrupt: Option<Signal>, lbc: bool) -> Run {
    let mut cmd = Command::new(root().join("scripts/demo"));
    cmd.current_dir(root())
        .env("NETPATH_DEMO_LBC", if lbc { "1" } else { "0" })
        .env("NETPATH_DEMO_PLANE", plane)
        .env("NETPATH_SKIP_CARGO", "1") // the test must not take cargo's lock
        .env("KEEP", if keep { "1" } else { "0" })
        .env_remove("NETPATH_TEST_PLANE_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Its own process group, as a shell gives a foreground job: Ctrl-C is
    // SIGINT to that group.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("run scripts/demo");
    let pid = child.id();

    let (tx, rx) = mpsc::channel::<String>();
    let out = child.stdout.take().unwrap();
    let tx_out = tx.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx_out.send(line);
        }
    });
    let mut err = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    drop(tx);

    let start = Instant::now();
    let mut output = String::new();
    let mut pids = Vec::new();
    let mut interrupt = interrupt;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                output.push_str(&line);
                output.push('\n');
                if line.starts_with("==> make collection") {
                    pids = recorded_pids(plane);
                }
                if line == MID_RUN
                    && let Some(sig) = interrupt.take()
                {
                    let (name, target) = match sig {
                        Signal::CtrlC => ("-INT", format!("-{pid}")),
                        Signal::Term => ("-TERM", pid.to_string()),
                    };
                    let ok = Command::new("kill")
                        .args([name, "--", &target])
                        .status()
                        .is_ok_and(|s| s.success());
                    assert!(ok, "kill {name} {target} failed");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if start.elapsed() > DEMO_TIMEOUT {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
            let _ = Command::new(root().join("scripts/testplane"))
                .arg("down")
                .arg(plane)
                .status();
            panic!("scripts/demo still running after {DEMO_TIMEOUT:?}:\n{output}");
        }
    }
    let status = child.wait().expect("wait for scripts/demo");
    reader.join().unwrap();
    output.push_str("--- stderr ---\n");
    output.push_str(&err_reader.join().unwrap());
    assert!(
        interrupt.is_none(),
        "the demo never reached {MID_RUN:?}, so it was not interrupted:\n{output}"
    );
    assert!(
        pids.len() >= 2,
        "no etcd and kube-apiserver pids recorded in {}/pids while the demo ran:\n{output}",
        plane.display()
    );
    Run {
        status,
        output,
        pids,
    }
}

fn plane_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix("netpath-demo-")
        .tempdir()
        .unwrap();
    let plane = tmp.path().canonicalize().unwrap().join("plane");
    (tmp, plane)
}

#[test]
fn demo_stops_its_plane_after_a_successful_run() {
    if !release_binary_present() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_tmp, plane) = plane_dir();
    let _down = Down(&plane);
    let run = run_demo_with(&plane, false, None, true);
    assert!(
        run.status.success(),
        "demo failed ({}):\n{}",
        run.status,
        run.output
    );
    assert_nothing_left(&plane, &run.pids, &run.output);
    assert!(
        run.output.contains(" changed=0 ") && run.output.contains("the control plane\n"),
        "expected an idempotent second run and the plane stopped:\n{}",
        run.output
    );
    // With the controller built (make test builds it first), the demo shows
    // what it built; otherwise it says how to see that.
    let built = Command::new(root().join("tools/lbc/build.sh"))
        .env("LBC_CACHED_ONLY", "1")
        .output()
        .is_ok_and(|o| o.status.success())
        && root()
            .join("../shared/upstream/aws-load-balancer-controller/v3.5.0/crds.yaml")
            .exists();
    if built {
        for want in [
            "built in emulated AWS (moto)",
            "--- ALB k8s-default-appingre-",
            "listener HTTP:80",
            "rule 1: host-header example.com; path-pattern /* -> forward",
            ": type instance, port 3",
            "--- worker security group rules (added by the controller)",
        ] {
            assert!(
                run.output.contains(want),
                "no {want:?} in the demo's output:\n{}",
                run.output
            );
        }
    } else {
        assert!(run.output.contains("make e2e"), "{}", run.output);
    }
}

#[test]
fn demo_stops_its_plane_when_interrupted_with_ctrl_c() {
    if !release_binary_present() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_tmp, plane) = plane_dir();
    let _down = Down(&plane);
    let run = run_demo(&plane, false, Some(Signal::CtrlC));
    assert_eq!(
        run.status.code(),
        Some(130),
        "exit status after Ctrl-C:\n{}",
        run.output
    );
    assert_nothing_left(&plane, &run.pids, &run.output);
}

#[test]
fn demo_stops_its_plane_on_sigterm() {
    if !release_binary_present() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_tmp, plane) = plane_dir();
    let _down = Down(&plane);
    let run = run_demo(&plane, false, Some(Signal::Term));
    assert_eq!(
        run.status.code(),
        Some(143),
        "exit status after SIGTERM:\n{}",
        run.output
    );
    assert_nothing_left(&plane, &run.pids, &run.output);
}

/// Stops the plane when a test fails before the demo or the test did.
struct Down<'a>(&'a Path);
impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/lbc-harness"))
            .arg("down")
            .arg(self.0)
            .status();
        let _ = Command::new(root().join("scripts/testplane"))
            .arg("down")
            .arg(self.0)
            .status();
    }
}

/// The command on the line after `heading` in the demo's output.
fn printed_command<'a>(output: &'a str, heading: &str) -> &'a str {
    let mut lines = output
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(heading));
    lines.next();
    lines
        .next()
        .map(str::trim)
        .unwrap_or_else(|| panic!("the demo printed no line after {heading:?}:\n{output}"))
}

#[test]
fn demo_with_keep_leaves_a_usable_plane_and_says_how_to_stop_it() {
    if !release_binary_present() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_tmp, plane) = plane_dir();
    let _down = Down(&plane);
    let run = run_demo(&plane, true, None);
    assert!(
        run.status.success(),
        "demo failed ({}):\n{}",
        run.status,
        run.output
    );
    let dead: Vec<u32> = run.pids.iter().copied().filter(|&p| !alive(p)).collect();
    assert!(
        dead.is_empty(),
        "KEEP=1, yet plane pids {dead:?} are gone:\n{}",
        run.output
    );

    // The last lines of stdout say how to use it and how to stop it.
    let stdout = run.output.split("--- stderr ---").next().unwrap();
    let tail: Vec<&str> = stdout.lines().rev().take(6).collect();
    let use_it = printed_command(stdout, "Use it");
    let stop_it = printed_command(stdout, "Stop it");
    let dir = plane.display().to_string();
    assert_eq!(use_it, format!("eval \"$(scripts/testplane env {dir})\""));
    assert_eq!(stop_it, format!("scripts/testplane down {dir}"));
    assert!(
        tail.iter().any(|l| l.trim() == stop_it) && tail.iter().any(|l| l.trim() == use_it),
        "the instructions are not the last lines:\n{stdout}"
    );

    // Used as printed: the seed's Service is there.
    let shell = |script: &str| {
        Command::new("bash")
            .args(["-c", script])
            .current_dir(root())
            .output()
            .expect("run bash")
    };
    let got = shell(&format!(
        "set -e; {use_it}; curl -sf --noproxy '*' --cacert \"$NETPATH_TEST_CA\" -H \"Authorization: Bearer $NETPATH_TEST_TOKEN\" \
         \"$NETPATH_TEST_SERVER/api/v1/namespaces/default/services/app-service\""
    ));
    let body = String::from_utf8_lossy(&got.stdout);
    assert!(
        got.status.success() && body.contains("\"nodePort\""),
        "the kept plane does not answer with the demo's Service ({}): {body}{}",
        got.status,
        String::from_utf8_lossy(&got.stderr)
    );

    // Stopped as printed: nothing left.
    let stopped = shell(stop_it);
    assert!(
        stopped.status.success(),
        "{stop_it} failed: {}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    assert_nothing_left(&plane, &run.pids, &run.output);
}
