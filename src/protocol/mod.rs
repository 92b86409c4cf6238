//! Ansible's binary-module protocol: read the args file, validate arguments,
//! run the module, print exactly one JSON object.

pub mod input;
pub mod output;
pub mod spec;

pub use input::ModuleInput;
pub use output::{DiffEntry, Outcome};
pub use spec::{Constraints, Kind, OptSpec, Params, RequiredIf};
