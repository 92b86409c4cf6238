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

    /// Admission control (a validating or mutating webhook, or an admission
    /// policy) refused the request: not an RBAC matter, and its own message
    /// says why. `by` names it, e.g. `admission webhook "vingress.elbv2.k8s.aws"`.
    #[error("{context}: {message} ({})", .refusal.hint())]
    Admission {
        context: String,
        by: String,
        message: String,
        refusal: Refusal,
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

/// How admission control refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The webhook or policy looked at the object and said no.
    Denied,
    /// The webhook could not be called, and its failurePolicy is Fail.
    Unreachable,
    /// The webhook declares side effects, so the API server refuses dry runs.
    NoDryRun,
}

impl Refusal {
    fn hint(&self) -> &'static str {
        match self {
            Refusal::Denied => {
                "refused by admission control, not by RBAC: change the object as the message \
                 says, or the webhook or policy that applies this rule"
            }
            Refusal::Unreachable => {
                "the API server could not call this admission webhook and its failurePolicy is \
                 Fail, so it refuses every request the webhook covers: start the controller \
                 that serves it, or fix its Service and caBundle, then re-run"
            }
            Refusal::NoDryRun => {
                "the webhook's sideEffects is not None or NoneOnDryRun, so no server-side dry \
                 run can pass it and netpath cannot check the task before writing: set \
                 sideEffects: None on the webhook configuration"
            }
        }
    }
}

/// Who in admission control refused a request, from the message of the API
/// server's Status (the wording of apiserver/pkg/admission/plugin/webhook
/// and .../policy, possibly after "Internal error occurred: "); None when
/// admission was not involved (RBAC, validation, ...).
pub fn admission_refusal(message: &str) -> Option<(String, Refusal)> {
    let webhook = |marker: &str| -> Option<(usize, String)> {
        let at = message.find(marker)?;
        let name = message[at + marker.len()..]
            .strip_prefix('"')?
            .split('"')
            .next()?;
        Some((at, format!("admission webhook \"{name}\"")))
    };
    let called = webhook("admission webhook ").map(|(at, by)| {
        let rest = &message[at..];
        let how = if rest.contains("does not support dry run") {
            Refusal::NoDryRun
        } else {
            Refusal::Denied
        };
        (at, by, how)
    });
    let uncalled =
        webhook("failed calling webhook ").map(|(at, by)| (at, by, Refusal::Unreachable));
    // Whichever the server wrote first; the webhook's own text may quote more.
    let hook = match (called, uncalled) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    };
    if let Some((_, by, how)) = hook {
        return Some((by, how));
    }
    for kind in ["ValidatingAdmissionPolicy", "MutatingAdmissionPolicy"] {
        let Some(at) = message.find(&format!("{kind} '")) else {
            continue;
        };
        let name = message[at + kind.len() + 2..].split('\'').next()?;
        if message.contains("denied request") {
            return Some((format!("{kind} '{name}'"), Refusal::Denied));
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admission_refusals_are_told_apart_from_rbac() {
        // As the API server words them (the LBC's webhook, seen in a trial).
        let lbc = "admission webhook \"vingress.elbv2.k8s.aws\" denied the request: invalid ingress class: IngressClass.networking.k8s.io \"alb\" not found";
        assert_eq!(
            admission_refusal(lbc),
            Some((
                "admission webhook \"vingress.elbv2.k8s.aws\"".into(),
                Refusal::Denied
            ))
        );
        let down = "Internal error occurred: failed calling webhook \"vingress.elbv2.k8s.aws\": failed to call webhook: Post \"https://127.0.0.1:9443/validate-networking-v1-ingress?timeout=10s\": dial tcp 127.0.0.1:9443: connect: connection refused";
        assert_eq!(
            admission_refusal(down).map(|r| r.1),
            Some(Refusal::Unreachable)
        );
        let no_dry = "admission webhook \"x.example.com\" does not support dry run";
        assert_eq!(
            admission_refusal(no_dry).map(|r| r.1),
            Some(Refusal::NoDryRun)
        );
        let vap = "ingresses.networking.k8s.io \"app\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: failed expression";
        assert_eq!(
            admission_refusal(vap),
            Some(("ValidatingAdmissionPolicy 'p'".into(), Refusal::Denied))
        );
        let rbac = "ingresses.networking.k8s.io \"app\" is forbidden: User \"limited\" cannot patch resource \"ingresses\" in API group \"networking.k8s.io\" in the namespace \"default\"";
        assert_eq!(admission_refusal(rbac), None);
        let e = Error::Admission {
            context: "apply Ingress default/app".into(),
            by: "admission webhook \"vingress.elbv2.k8s.aws\"".into(),
            message: lbc.into(),
            refusal: Refusal::Denied,
        }
        .to_string();
        assert!(
            e.starts_with(&format!("apply Ingress default/app: {lbc} (")),
            "{e}"
        );
        assert!(!e.contains("RBAC does not allow"), "{e}");
    }
}
