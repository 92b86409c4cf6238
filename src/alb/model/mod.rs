//! The typed ingress model: options of `alb_ingress` (and `netcheck`) parsed
//! into IngressClass, Ingress and Service objects, checked against the
//! network model and the controller's, API server's and AWS's rules.
//!
//! Typed options and the raw `annotations` dict end up in one annotation map,
//! and every check reads that map: a rule copied from a hand-written manifest
//! (`annotations: {alb.ingress.kubernetes.io/target-type: ip}`) is checked
//! exactly like `target_type: ip`.
//!
//! - `args`: the options, typed (what the module deserialises once);
//! - `annotations`: one definition per typed annotation option;
//! - `types`: the model; `parse`: options to model;
//! - `check`: rules on the model; `cluster`: rules against live objects;
//! - `render`: the objects written.

pub mod annotations;
pub mod args;
mod check;
mod cluster;
mod parse;
mod render;
mod types;

pub use crate::net::network::Network;
pub use args::{ClassArgs, IngressArgs, PlanArgs};
pub use check::{check_class, check_target_type_against_network};
pub use cluster::{check_live_classes, check_live_services};
pub use parse::{parse_class, parse_plan};
pub use render::{assigned_node_ports, render, render_class, render_ingress, render_service};
pub use types::*;

pub const ANNOTATION_PREFIX: &str = "alb.ingress.kubernetes.io/";
pub const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";
pub const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";
pub const CONTROLLER: &str = "ingress.k8s.aws/alb";
pub const PARAMS_API_GROUP: &str = "elbv2.k8s.aws";
pub const PARAMS_API_VERSION: &str = "elbv2.k8s.aws/v1beta1";

pub(crate) const LBC_FAILS: &str = "The AWS Load Balancer Controller fails to build the Ingress group \
                         (event FailedBuildModel), so the ALB is neither created nor updated.";
const API_REJECTS: &str = "The API server rejects the object, so it is never applied.";

#[cfg(test)]
mod tests;
