//! Calico: IPPool and CNI settings, and the selector syntax they use.

pub mod cni;
pub mod ippool;
pub mod mode;
pub mod selector;
