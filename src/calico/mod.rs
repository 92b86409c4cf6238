//! Calico: IPPool and CNI settings, and the selector syntax they use.

pub mod selector;
