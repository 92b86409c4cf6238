//! What netpath reads from AWS itself. Only the instance metadata service
//! today: a node's own identity, for `spec.providerID`.

pub mod imds;
