//! AWS Load Balancer Controller: checks for the `alb.ingress.kubernetes.io/*`
//! annotations and the Ingress and Service fields the ALB path depends on.

pub mod actions;
pub mod group;
pub mod model;
pub mod rules;
pub mod sg;
pub mod verify;
