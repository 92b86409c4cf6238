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
