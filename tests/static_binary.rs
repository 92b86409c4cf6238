//! The binary must run on hosts with no libc at all: it is statically linked
//! and runs from an empty chroot.

use std::process::Command;

fn bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin!("netpath").to_path_buf()
}

#[test]
fn is_statically_linked() {
    let bytes = std::fs::read(bin()).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF");
    // A dynamically linked ELF names its loader in a PT_INTERP program header
    // (the string alone is no proof: static glibc embeds it for dlopen).
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(bytes[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    for i in 0..phnum {
        let o = phoff + i * phentsize;
        let p_type = u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
        assert_ne!(p_type, PT_INTERP, "binary has a dynamic loader (PT_INTERP)");
    }
}

#[test]
fn runs_in_an_empty_chroot() {
    if running_as_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(bin(), dir.path().join("netpath")).unwrap();
        let out = Command::new("chroot")
            .arg(dir.path())
            .arg("/netpath")
            .arg("--version")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("netpath {}", env!("CARGO_PKG_VERSION"))
        );
        // As a module with a broken args file it still answers in JSON: no
        // libc, no /etc, no /tmp inside the chroot.
        std::fs::write(dir.path().join("args"), b"{not json").unwrap();
        let out = Command::new("chroot")
            .arg(dir.path())
            .arg("/netpath")
            .arg("/args")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["failed"], true);
    } else {
        eprintln!("skipped: chroot needs root");
    }
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
