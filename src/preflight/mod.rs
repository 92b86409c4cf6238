//! Checks of the whole path before anything is applied (`netcheck`, `netpath
//! check`): the inputs and what is read of the cluster's side beyond the
//! objects netpath writes (kubeadm, IPPools, Felix, Services, Nodes, the
//! controller) and of AWS, down to the security-group rules the path needs.
//! Pure: the caller reads the cluster and AWS.

pub mod aws;
pub mod controller;
pub mod nodes;
pub mod path;
