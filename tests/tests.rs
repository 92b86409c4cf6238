//! Every integration test, in one binary (as ripgrep's tests/tests.rs): one
//! link instead of one per file, and one control plane that the modules'
//! tests share (`common::plane()`, one namespace per test keeps them apart).
//! A module whose tests write or read cluster-wide state that the others'
//! would change or see has a plane of its own (`module_plane!`); a test that
//! needs a plane to itself starts one (`common::private_plane`).
//!
//! Run one module with a filter: `cargo test --test tests ippool::`.
#![recursion_limit = "256"]

#[macro_use]
mod common;

mod admission;
mod alb_controller;
mod alb_ingress;
mod bad_input;
mod calico_conformance;
mod cli_check;
mod cni;
mod controller_half;
mod demo;
mod faults;
mod ippool;
mod lbc;
mod lbc_aws;
mod lbc_install;
mod manifest;
mod netcheck;
mod portability;
mod role_vars;
mod secrets;
mod static_binary;
mod testplane;
mod transport;

/// Cargo builds only the modules declared above (autotests = false): a new
/// tests/*.rs that is not declared here would never run.
#[test]
fn every_test_file_is_a_module_of_this_binary() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let this = std::fs::read_to_string(dir.join("tests.rs")).unwrap();
    for f in std::fs::read_dir(&dir).unwrap() {
        let path = f.unwrap().path();
        let (Some(stem), Some("rs")) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        if stem != "tests" {
            assert!(
                this.contains(&format!("\nmod {stem};\n")),
                "tests/{stem}.rs is not declared in tests/tests.rs: add `mod {stem};`"
            );
        }
    }
}
