//! The args file Ansible writes (argv[1]): any bytes must give a parsed input
//! or a clear error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netpath::protocol::ModuleInput;

fuzz_target!(|data: &[u8]| {
    match ModuleInput::parse(data, Some("AnsiballZ_manifest")) {
        Ok(input) => {
            // Internal keys never reach the module's options.
            assert!(input.args.keys().all(|k| !k.starts_with("_ansible_")));
            assert!(!input.module.contains('.'));
        }
        Err(e) => {
            assert!(!e.to_string().is_empty());
        }
    }
});
