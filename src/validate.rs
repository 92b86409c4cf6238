//! Findings: the one shape every validation rule reports in.
//!
//! A rule never fails fast: modules collect every finding of a task, and the
//! apply engine refuses to write while any `Error` finding exists, so the user
//! sees all problems at once and the cluster is untouched.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// One broken (or doubtful) rule: which field, why traffic would fail, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Dotted path of the user's option or object field, e.g. `ingresses[0].target_type`.
    pub field: String,
    /// What is wrong and what it breaks on the traffic path.
    pub problem: String,
    /// What to change.
    pub fix: String,
}

impl Finding {
    pub fn error(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            severity: Severity::Error,
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub fn warning(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            severity: Severity::Warning,
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} Fix: {}", self.field, self.problem, self.fix)
    }
}

/// Accumulates findings while a task's objects are rendered.
#[derive(Debug, Default, Clone)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, f: Finding) {
        self.0.push(f);
    }

    pub fn error(
        &mut self,
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Finding::error(field, problem, fix));
    }

    pub fn warning(
        &mut self,
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.push(Finding::warning(field, problem, fix));
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Finding>) {
        self.0.extend(other);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Finding::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter().filter(|f| f.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.0.iter().filter(|f| !f.is_error())
    }
}
