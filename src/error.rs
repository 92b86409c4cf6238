//! The typed errors of netpath. `protocol::output` is the one place that turns
//! them into Ansible's JSON; the CLI prints the same text.

use crate::validate::Finding;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The args file or the CLI input could not be read or parsed.
    #[error("{0}")]
    Input(String),

    /// Arguments broke the module's spec (type, choice, required, unknown key...).
    #[error("{}", .0.join("; "))]
    Args(Vec<String>),

    /// Rendering found broken rules; nothing was written.
    #[error("{}", format_findings(.0))]
    Invalid(Vec<Finding>),

    /// Connection settings could not be turned into a client (kubeconfig, certs, exec plugin).
    #[error("kubernetes connection: {0}")]
    Connection(String),

    /// The API server answered with an error, or could not be reached.
    #[error("{context}: {message}")]
    Api {
        context: String,
        message: String,
        status: Option<u16>,
    },

    /// Another field manager owns fields netpath would change.
    #[error(
        "{object}: conflict with field manager(s) {managers} on {fields}; netpath did not take them over. \
         Set force_conflicts: true to take ownership, or stop the other manager from setting these fields"
    )]
    Conflict {
        object: String,
        managers: String,
        fields: String,
    },

    /// A wait for a condition ran out of time.
    #[error("{0}")]
    Timeout(String),

    /// Anything else, with context.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    pub fn api(
        context: impl Into<String>,
        message: impl Into<String>,
        status: Option<u16>,
    ) -> Self {
        Error::Api {
            context: context.into(),
            message: message.into(),
            status,
        }
    }
}

fn format_findings(findings: &[Finding]) -> String {
    let errors: Vec<&Finding> = findings.iter().filter(|f| f.is_error()).collect();
    let mut s = format!(
        "{} problem{} found, nothing was written:",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    for f in errors {
        s.push_str("\n- ");
        s.push_str(&f.to_string());
    }
    s
}
