//! netpath: Ansible modules (one static binary) that wire AWS load balancers to
//! self-managed Kubernetes clusters running Calico.
//!
//! Layout: `protocol` (Ansible I/O and argument handling), `kube` (client,
//! apply engine, diff), `net` (CIDR, MTU), `calico`, `alb`, `lbc` (the AWS Load Balancer Controller's objects), `modules` (thin
//! glue, one file per module), `ansible` and `cli` (the two front doors),
//! `docs` (module documentation from the specs).

pub mod alb;
pub mod ansible;
pub mod aws;
pub mod calico;
pub mod cli;
pub mod docs;
pub mod error;
pub mod kube;
pub mod lbc;
pub mod modules;
pub mod net;
pub mod preflight;
pub mod protocol;
pub mod validate;

pub use error::{Error, Result};
