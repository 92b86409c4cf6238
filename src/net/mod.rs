//! Network arithmetic shared by every module: CIDR parsing and overlap checks
//! (pod, VPC, service and inbound ranges), the pod MTU each encapsulation
//! leaves room for, the network model the CNI choice implies, and the
//! network options that model is read from.

pub mod cidr;
pub mod model;
pub mod mtu;
pub mod network;
