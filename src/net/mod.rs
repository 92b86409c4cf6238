//! Network arithmetic shared by every module: CIDR parsing and overlap checks
//! (pod, VPC, service and inbound ranges), the pod MTU each encapsulation
//! leaves room for, and the network model the CNI choice implies.

pub mod cidr;
pub mod model;
pub mod mtu;
