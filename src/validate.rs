//! Findings: the one shape every validation rule reports in.
//!
//! A rule never fails fast: modules collect every finding of a task, and the
//! apply engine refuses to write while any `Error` finding exists, so the user
//! sees all problems at once and the cluster is untouched.
//!
//! One convention for checks: `check_x(inputs.., f: &mut Findings)` pushes
//! what it finds into the task's accumulator and returns nothing, or `bool`
//! ("passed") only where a caller skips dependent checks on it. Parsers
//! (`-> Result<T, Finding>`) are not checks: their error is the finding.

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

/// The finding a check that reports at most one pushes, if any.
#[cfg(test)]
#[track_caller]
pub fn finding<R>(check: impl FnOnce(&mut Findings) -> R) -> Option<Finding> {
    let mut v = Findings::of(check);
    assert!(v.len() <= 1, "more than one finding: {v:?}");
    v.pop()
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

    /// What `check` pushes, as a list: for a caller that filters, rewrites
    /// or hands on a check's findings rather than keeping them all, and for
    /// tests.
    pub fn of<R>(check: impl FnOnce(&mut Findings) -> R) -> Vec<Finding> {
        let mut f = Findings::new();
        check(&mut f);
        f.0
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
