//! What netpath reads from AWS itself: a node's own identity from the
//! instance metadata service (for `spec.providerID`), and netcheck's reads
//! of the VPC, instances and security groups with the AWS SDK, and the
//! ALB's view of its targets after apply.

pub mod health;
pub mod imds;
pub mod read;
