//! The args file Ansible writes for binary modules (argv[1]): the user's
//! options as typed, plus `_ansible_*` keys that vary between versions.

use crate::error::{Error, Result};
use serde_json::{Map, Value};

/// Largest args file accepted: far above any real task, small enough that a
/// runaway template cannot exhaust memory.
const MAX_ARGS_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct ModuleInput {
    /// Short module name (the FQCN's last part).
    pub module: String,
    pub fqcn: String,
    /// User options only: `_ansible_*` keys removed.
    pub args: Map<String, Value>,
    pub check_mode: bool,
    pub diff: bool,
    pub no_log: bool,
    pub inject_invocation: bool,
    pub verbosity: i64,
    /// `_netpath_role`, which the collection's roles add (cli::roles).
    pub role: Option<Value>,
}

impl ModuleInput {
    /// Reads and parses the args file, or stdin for `-`. `fallback_name`
    /// (from argv[0], e.g. `AnsiballZ_ippool`) names the module when the
    /// file does not.
    pub fn read(path: &str, fallback_name: Option<&str>) -> Result<Self> {
        if path == "-" {
            return Self::read_from(std::io::stdin().lock(), "on stdin", fallback_name);
        }
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::Input(format!("cannot read args file {path}: {e}")))?;
        if meta.len() > MAX_ARGS_BYTES {
            return Err(Error::Input(format!(
                "args file {path} is {} bytes; the limit is {MAX_ARGS_BYTES}",
                meta.len()
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Input(format!("cannot read args file {path}: {e}")))?;
        Self::parse(&bytes, fallback_name)
    }

    /// Reads args from a stream (stdin), with the same size limit as a file.
    pub fn read_from(
        reader: impl std::io::Read,
        what: &str,
        fallback_name: Option<&str>,
    ) -> Result<Self> {
        use std::io::Read;
        let mut bytes = Vec::new();
        reader
            .take(MAX_ARGS_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::Input(format!("cannot read args {what}: {e}")))?;
        if bytes.len() as u64 > MAX_ARGS_BYTES {
            return Err(Error::Input(format!(
                "args {what} exceed {MAX_ARGS_BYTES} bytes"
            )));
        }
        Self::parse(&bytes, fallback_name)
    }

    pub fn parse(bytes: &[u8], fallback_name: Option<&str>) -> Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            Error::Input(format!(
                "args file is not valid UTF-8 (byte {}): Ansible writes JSON args as UTF-8",
                e.valid_up_to()
            ))
        })?;
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::Input(format!("args file is not valid JSON: {e}")))?;
        let Value::Object(mut all) = value else {
            return Err(Error::Input(
                "args file must hold a JSON object of module options".into(),
            ));
        };
        let flag = |all: &Map<String, Value>, k: &str| {
            all.get(k).and_then(super::spec::to_bool).unwrap_or(false)
        };
        let fqcn = all
            .get("_ansible_module_name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| fallback_name.map(str::to_string))
            .unwrap_or_default();
        let module = fqcn
            .rsplit('.')
            .next()
            .unwrap_or_default()
            .trim_start_matches("AnsiballZ_")
            .to_string();
        let input = ModuleInput {
            check_mode: flag(&all, "_ansible_check_mode"),
            diff: flag(&all, "_ansible_diff"),
            no_log: flag(&all, "_ansible_no_log"),
            inject_invocation: flag(&all, "_ansible_inject_invocation"),
            verbosity: all
                .get("_ansible_verbosity")
                .and_then(Value::as_i64)
                .unwrap_or(0),
            module,
            fqcn,
            args: Map::new(),
            role: all.remove("_netpath_role"),
        };
        all.retain(|k, _| !k.starts_with("_ansible_"));
        Ok(ModuleInput { args: all, ..input })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_strips_internal_keys() {
        let i = ModuleInput::parse(
            br#"{"name":"x","_ansible_module_name":"netpath.calico_alb.ippool","_ansible_check_mode":true,"_ansible_future_key":1}"#,
            None,
        )
        .unwrap();
        assert_eq!(i.module, "ippool");
        assert!(i.check_mode && !i.diff);
        assert_eq!(i.args.len(), 1);
    }

    #[test]
    fn clear_errors_for_bad_files() {
        for (bytes, want) in [
            (&b"{\"a\": "[..], "not valid JSON"),
            (&b"[1]"[..], "JSON object"),
            (&b"\xff\xfe"[..], "not valid UTF-8"),
        ] {
            let e = ModuleInput::parse(bytes, None).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        }
        assert!(
            ModuleInput::read("/nonexistent/args", None)
                .unwrap_err()
                .to_string()
                .contains("cannot read args file")
        );
    }

    #[test]
    fn args_from_a_stream_have_the_file_limit() {
        use std::io::Read;
        let i = ModuleInput::read_from(
            &br#"{"_ansible_module_name":"netpath.calico_alb.cni","a":1}"#[..],
            "on stdin",
            None,
        )
        .unwrap();
        assert_eq!((i.module.as_str(), i.args.len()), ("cni", 1));
        let big = std::io::repeat(b' ').take(MAX_ARGS_BYTES + 1);
        let e = ModuleInput::read_from(big, "on stdin", None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("args on stdin exceed"), "{e}");
    }

    #[test]
    fn name_from_argv0_when_absent() {
        let i = ModuleInput::parse(b"{}", Some("AnsiballZ_manifest")).unwrap();
        assert_eq!(i.module, "manifest");
    }
}
