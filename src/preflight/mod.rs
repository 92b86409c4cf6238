//! Checks of the whole path that read the cluster's side beyond the objects
//! netpath writes: what the AWS Load Balancer Controller will do with the
//! Nodes it finds. Pure: the caller reads the cluster.

pub mod aws;
pub mod controller;
pub mod nodes;
