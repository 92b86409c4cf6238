//! The release binary on hosts that are not the build machine: an empty
//! chroot (no libc, no /etc, no CA bundle, no resolver) where it reports its
//! version and applies an object over TLS, and a managed host in its own
//! network namespace reached by ansible-playbook over SSH, so the binary is
//! copied and executed exactly as on a real node.
//!
//! Both need root (chroot, `ip netns`) and skip with a message otherwise; the
//! SSH test also needs sshd (Debian: openssh-server).

use crate::common;

use crate::common::plane;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The release build (`make build`): what ships in the collection.
fn release_binary() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/x86_64-unknown-linux-gnu/release/netpath");
    if p.exists() {
        Some(p)
    } else {
        eprintln!(
            "skipped: no release binary at {}; run `make build` (cargo build --release) first",
            p.display()
        );
        None
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn release_binary_runs_from_an_empty_chroot_and_applies_over_tls() {
    let Some(bin) = release_binary() else { return };
    if !is_root() {
        eprintln!("skipped: chroot needs root");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::copy(&bin, root.path().join("netpath")).unwrap();
    let out = ok(Command::new("chroot")
        .arg(root.path())
        .args(["/netpath", "--version"]));
    assert_eq!(out.trim(), format!("netpath {}", env!("CARGO_PKG_VERSION")));

    // A real module run inside the chroot: kubeconfig and args are the only files.
    let ns = common::namespace("chroot");
    std::fs::copy(&plane().kubeconfig, root.path().join("kubeconfig")).unwrap();
    let args = json!({"_ansible_module_name": "netpath.calico_alb.manifest", "kubeconfig": "/kubeconfig",
        "definition": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-chroot", "namespace": ns}, "data": {"libc": "none"}}});
    std::fs::write(root.path().join("args"), serde_json::to_vec(&args).unwrap()).unwrap();
    let out = ok(Command::new("chroot")
        .arg(root.path())
        .args(["/netpath", "/args"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["changed"], json!(true), "{v}");
    assert_eq!(
        common::get("v1", "ConfigMap", Some(&ns), "from-chroot").unwrap()["data"]["libc"],
        "none"
    );
}

// ------------------------------------------------------------- netns + SSH

/// A managed host: a network namespace joined to ours by a veth pair with a
/// private /30, and sshd listening only inside it. Torn down on drop.
struct NetnsHost {
    name: String,
    addr: String,
    /// Our end of the veth pair, in the test's own namespace.
    host_addr: String,
    sshd: Child,
    dir: tempfile::TempDir,
}

impl Drop for NetnsHost {
    fn drop(&mut self) {
        let _ = self.sshd.kill();
        let _ = self.sshd.wait();
        // sshd's per-connection children (and so Ansible's persistent SSH
        // master on our side) outlive the listener: end whatever runs in there.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").arg(pid).output();
            }
        }
        // Deleting the namespace removes both ends of the veth pair.
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

fn netns_available() -> Result<(), String> {
    if !is_root() {
        return Err("needs root for ip netns".into());
    }
    if !Path::new("/usr/sbin/sshd").exists() {
        return Err("needs sshd (apt-get install openssh-server)".into());
    }
    let probe = format!("np-probe-{}", std::process::id());
    let st = Command::new("ip")
        .args(["netns", "add", &probe])
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if !st.status.success() {
        return Err(format!(
            "ip netns unavailable: {}",
            String::from_utf8_lossy(&st.stderr).trim()
        ));
    }
    let _ = Command::new("ip")
        .args(["netns", "delete", &probe])
        .status();
    Ok(())
}

fn start_netns_host() -> NetnsHost {
    let id = std::process::id() % 60000;
    let name = format!("np-node-{id}");
    let (host_if, node_if) = (format!("nph{id}"), format!("npn{id}"));
    // 198.18.0.0/15 is reserved for network tests (RFC 2544); a /30 just for this pair.
    let (a, b) = ((id / 64) % 256, (id % 64) * 4);
    let (host_addr, addr) = (
        format!("198.18.{a}.{}", b + 1),
        format!("198.18.{a}.{}", b + 2),
    );
    let _ = Command::new("ip").args(["netns", "delete", &name]).output();
    ok(Command::new("ip").args(["netns", "add", &name]));
    let dir = tempfile::tempdir().unwrap();
    let ip = |args: &[&str]| ok(Command::new("ip").args(args));
    ip(&[
        "link", "add", &host_if, "type", "veth", "peer", "name", &node_if,
    ]);
    ip(&["link", "set", &node_if, "netns", &name]);
    ip(&["addr", "add", &format!("{host_addr}/30"), "dev", &host_if]);
    ip(&["link", "set", &host_if, "up"]);
    ip(&[
        "netns",
        "exec",
        &name,
        "ip",
        "addr",
        "add",
        &format!("{addr}/30"),
        "dev",
        &node_if,
    ]);
    ip(&["netns", "exec", &name, "ip", "link", "set", &node_if, "up"]);
    ip(&["netns", "exec", &name, "ip", "link", "set", "lo", "up"]);

    let d = dir.path();
    ok(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(d.join("host_key")));
    ok(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(d.join("client_key")));
    std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    std::fs::write(
        d.join("sshd_config"),
        format!(
            "ListenAddress {addr}\nPort 22\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPidFile {pid}\n\
             PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             UsePAM no\nStrictModes no\nAllowTcpForwarding yes\nSubsystem sftp internal-sftp\n",
            hk = d.join("host_key").display(),
            ak = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        ),
    )
    .unwrap();
    let sshd = Command::new("ip")
        .args(["netns", "exec", &name, "/usr/sbin/sshd", "-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
        .spawn()
        .unwrap();
    let host = NetnsHost {
        name,
        addr,
        host_addr,
        sshd,
        dir,
    };
    // Ready when a TCP connection to :22 succeeds from our namespace.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect_timeout(
        &format!("{}:22", host.addr).parse().unwrap(),
        Duration::from_millis(500),
    )
    .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "sshd in {} did not start: {}",
            host.name,
            std::fs::read_to_string(host.dir.path().join("sshd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    host
}

/// Runs ansible-playbook from `w` with the venv first on PATH and one more
/// variable (where the modules are); its output, which must say it passed.
fn ansible_playbook(
    venv: &Path,
    w: &Path,
    args: &[&str],
    (var, value): (&str, &Path),
    host: &NetnsHost,
) -> String {
    let out = common::ansible_playbook(venv, w)
        .args(args)
        .env(var, value)
        .env("ANSIBLE_SSH_CONTROL_PATH_DIR", w.join("cp"))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "ansible-playbook failed:\n{text}\nsshd log:\n{}",
        std::fs::read_to_string(host.dir.path().join("sshd.log")).unwrap_or_default()
    );
    text
}

#[test]
fn ansible_playbook_runs_the_module_on_a_host_in_another_network_namespace() {
    let Some(bin) = release_binary() else { return };
    if let Err(why) = netns_available() {
        eprintln!("skipped: {why}");
        return;
    }
    let venv = common::venv_bin();
    let host = start_netns_host();
    let ns = common::namespace("netns");
    let p = plane();
    let port = p.server.rsplit(':').next().unwrap().to_string();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let library = w.join("library");
    std::fs::create_dir(&library).unwrap();
    std::fs::copy(&bin, library.join("manifest")).unwrap();
    // The node reaches the API server at its own 127.0.0.1:PORT, forwarded
    // back over the SSH connection (-R): the certificate's 127.0.0.1 SAN holds.
    std::fs::write(
        w.join("inventory.ini"),
        format!(
            "[nodes]\nnode ansible_host={addr} ansible_user=root ansible_connection=ssh \
             ansible_ssh_private_key_file={key} ansible_python_interpreter=/nonexistent/python \
             ansible_ssh_extra_args='-R 127.0.0.1:{port}:127.0.0.1:{port} -o ExitOnForwardFailure=yes -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no'\n",
            addr = host.addr,
            key = host.dir.path().join("client_key").display(),
        ),
    )
    .unwrap();
    std::fs::write(
        w.join("play.yml"),
        format!(
            r#"- hosts: nodes
  gather_facts: false
  vars:
    kc: "{{{{ lookup('file', '{kc}') | from_yaml }}}}"
  tasks:
    - name: The node is in its own network namespace (raw needs no Python)
      raw: ip -o -4 addr show
      register: addrs
      changed_when: false
    - name: Apply a ConfigMap from the node
      manifest:
        kubeconfig: "{{{{ kc }}}}"
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: from-node, namespace: {ns}}}
          data: {{node: "{{{{ inventory_hostname }}}}"}}
      register: applied
    - name: Show where it ran
      debug:
        msg: "ADDRS={{{{ addrs.stdout | replace('\n', ' ') }}}}"
"#,
            kc = p.kubeconfig.display()
        ),
    )
    .unwrap();
    let play = || {
        ansible_playbook(
            &venv,
            w,
            &["-i", "inventory.ini", "play.yml"],
            ("ANSIBLE_LIBRARY", &library),
            &host,
        )
    };
    let first = play();
    let recap = first
        .lines()
        .find(|l| l.starts_with("node "))
        .unwrap_or_default()
        .to_string();
    assert!(
        recap.contains("changed=1") && recap.contains("failed=0"),
        "{first}"
    );
    // The module ran where only the node's address exists.
    let shown = first
        .lines()
        .find(|l| l.contains("ADDRS="))
        .unwrap_or_default();
    assert!(shown.contains(&host.addr), "{first}");
    assert!(!shown.contains(&format!("{}/", host.host_addr)), "{first}");
    let live =
        common::get("v1", "ConfigMap", Some(&ns), "from-node").expect("applied from the node");
    assert_eq!(live["data"]["node"], "node");
    let second = play();
    let recap = second
        .lines()
        .find(|l| l.starts_with("node "))
        .unwrap_or_default()
        .to_string();
    assert!(
        recap.contains("changed=0") && recap.contains("failed=0"),
        "{second}"
    );

    // The collection's action: the binary is copied to the node once, then
    // every task is one command with its arguments on stdin.
    let coll = w.join("collections/ansible_collections/netpath/calico_alb");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("collection");
    for dir in ["plugins/action", "plugins/plugin_utils", "meta"] {
        std::fs::create_dir_all(coll.join(dir)).unwrap();
        for f in std::fs::read_dir(src.join(dir)).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, coll.join(dir).join(f.file_name().unwrap())).unwrap();
        }
    }
    std::fs::create_dir_all(coll.join("libexec")).unwrap();
    std::fs::create_dir_all(coll.join("plugins/modules")).unwrap();
    std::fs::copy(&bin, coll.join("libexec/netpath")).unwrap();
    std::os::unix::fs::symlink(
        "../../libexec/netpath",
        coll.join("plugins/modules/manifest"),
    )
    .unwrap();
    let cache = w.join("node-cache");
    std::fs::write(
        w.join("collection.yml"),
        format!(
            r#"- hosts: nodes
  gather_facts: false
  vars:
    kc: "{{{{ lookup('file', '{kc}') | from_yaml }}}}"
    netpath_remote_cache: {cache}
  tasks:
    - name: Two objects, two tasks
      netpath.calico_alb.manifest:
        kubeconfig: "{{{{ kc }}}}"
        definition:
          apiVersion: v1
          kind: ConfigMap
          metadata: {{name: "via-action-{{{{ item }}}}", namespace: {ns}}}
          data: {{n: "v{{{{ item }}}}"}}
      loop: [1, 2]
"#,
            kc = p.kubeconfig.display(),
            cache = cache.display(),
        ),
    )
    .unwrap();
    let collection_play = || {
        ansible_playbook(
            &venv,
            w,
            &["-i", "inventory.ini", "collection.yml", "-vvv"],
            ("ANSIBLE_COLLECTIONS_PATH", &w.join("collections")),
            &host,
        )
    };
    let puts = |text: &str| text.lines().filter(|l| l.contains("PUT ")).count();
    let changed_items = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("changed: [node] => (item="))
            .count()
    };
    let first = collection_play();
    assert_eq!(changed_items(&first), 2, "{first}");
    assert_eq!(puts(&first), 1, "the binary is copied once: {first}");
    let cached: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path().join("netpath"))
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert_eq!(
        std::fs::read(&cached[0]).unwrap(),
        std::fs::read(&bin).unwrap()
    );
    let second = collection_play();
    assert!(
        second.contains("changed=0") && second.contains("failed=0"),
        "{second}"
    );
    assert_eq!(changed_items(&second), 0, "{second}");
    assert_eq!(puts(&second), 0, "nothing copied: {second}");
    assert!(
        second.contains(&format!(
            "{}/netpath -",
            cached[0].parent().unwrap().display()
        )),
        "{second}"
    );
    assert_eq!(
        common::get("v1", "ConfigMap", Some(&ns), "via-action-2").unwrap()["data"]["n"],
        "v2"
    );
}
