//! Talking to Kubernetes: connection, kind resolution, the apply engine and
//! the desired-versus-live comparison it decides with.

pub mod apply;
pub mod connect;
pub mod diff;
pub mod names;
pub mod read;
pub mod request;
pub mod resource;
pub mod transport;

pub use apply::{Action, Desired, Report, State};
pub use connect::{CONNECTION_OPTIONS, Connection};
pub use resource::Resolver;
