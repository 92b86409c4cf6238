//! netpath: Ansible modules (one static binary) that wire AWS load balancers to
//! self-managed Kubernetes clusters running Calico.
//!
//! Layout: `protocol` (Ansible I/O and argument handling), `kube` (client,
//! apply engine, diff), `net` (CIDR, MTU), `calico`, `alb`, `modules` (thin
//! glue, one file per module), `cli` (the human commands).

pub mod alb;
pub mod calico;
pub mod error;
pub mod net;
pub mod validate;

pub use error::{Error, Result};
