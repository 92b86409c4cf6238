//! Writing: a server-side dry run of every planned write before the first
//! write (a task applies whole or not at all), then server-side apply of
//! what differs, `concurrency()` requests in flight over one connection.

use super::decide::without_managed_fields;
use super::locate::Item;
use super::{Action, Decided, ObjectResult, Options, Report, concurrency, describe};
use crate::error::{Error, Refusal, Result};
use crate::kube::request::{api_error, is_not_found, send, status_of, unbuildable};
use futures::{StreamExt, stream};
use kube::core::Request;
use kube::core::params::{DeleteParams, Patch, PatchParams, PropagationPolicy};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Dry-runs every planned write when there is more than one (a single write
/// that fails has written nothing anyway), except those whose admission
/// reads objects this task writes first (`admission_waits_for`): those are
/// dry-run once their phase is written, by `dry_run_after_writes`.
pub(super) async fn dry_run(
    client: &kube::Client,
    decided: &[Decided],
    opts: &Options,
) -> Result<()> {
    let planned = decided
        .iter()
        .filter(|d| d.action != Action::Unchanged)
        .count();
    if planned < 2 {
        return Ok(());
    }
    let checks = decided
        .iter()
        .filter(|d| d.action != Action::Unchanged && d.waits_for.is_none());
    // Answers are not even parsed: only errors matter here. The first error
    // (in task order) stops the run; requests in flight are dropped.
    let mut results = stream::iter(
        checks.map(|d| async move { write_once(client, &d.item, d.action, opts, true).await }),
    )
    .buffered(concurrency());
    while let Some(r) = results.next().await {
        r.map_err(|e| with_context(e, " (server-side dry run; nothing was written)"))?;
    }
    Ok(())
}

/// How long a dry run right after the objects its admission reads were
/// written may be denied: webhooks read them through informer caches (the
/// AWS Load Balancer Controller's IngressClass lookup), as do admission
/// policies their params, and those lag the write by milliseconds.
const ADMISSION_CACHE_WAIT: Duration = Duration::from_secs(5);

/// Dry-runs the objects whose admission needed this task's earlier phases,
/// now written, before anything else is. Always, even for one object: its
/// denial right after those writes is retried (see ADMISSION_CACHE_WAIT).
pub(super) async fn dry_run_after_writes(
    client: &kube::Client,
    ready: &[&Decided],
    report: &Report,
    opts: &Options,
) -> Result<()> {
    let start = Instant::now();
    let results = stream::iter(ready.iter().map(|d| async move {
        let mut pause = Duration::from_millis(25);
        loop {
            match write_once(client, &d.item, d.action, opts, true).await {
                Err(Error::Admission {
                    refusal: Refusal::Denied,
                    ..
                }) if start.elapsed() < ADMISSION_CACHE_WAIT => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }))
    .buffered(concurrency())
    .collect::<Vec<_>>()
    .await;
    for r in results {
        r.map_err(|e| {
            let note = match written_summary(report, opts) {
                Some(w) => format!(
                    " (server-side dry run after writing what its admission reads: {w}; \
                     nothing else was written)"
                ),
                None => " (server-side dry run; nothing was written)".to_string(),
            };
            with_context(e, &note)
        })?;
    }
    Ok(())
}

/// Writes one phase's objects (those decided unchanged only reported) and
/// returns the CRDs it wrote, which must be served before later phases.
/// Every write of the phase is awaited even when one fails, so the report
/// names each object that was written before the error is returned.
pub(super) async fn write_phase(
    client: &kube::Client,
    decided: Vec<Decided>,
    report: &mut Report,
    opts: &Options,
) -> Result<Vec<String>> {
    let writes = stream::iter(decided.into_iter().map(|d| async move {
        let after = if opts.check_mode || d.action == Action::Unchanged {
            Ok(None)
        } else {
            write(client, &d.item, d.action, opts).await
        };
        (d, after)
    }))
    .buffered(concurrency())
    .collect::<Vec<_>>()
    .await;

    let mut first_error = None;
    let mut established = Vec::new();
    for (d, after) in writes {
        let after = match after {
            Ok(a) => a,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let Decided {
            item,
            action,
            live,
            diff,
            ..
        } = d;
        if item.resource.kind == "CustomResourceDefinition"
            && matches!(action, Action::Created | Action::Updated)
            && !opts.check_mode
        {
            established.push(item.name.clone());
        }
        // Nothing written: the live object read before is the result.
        let live = match after {
            Some(written) => Some(without_managed_fields(written)),
            None if action == Action::Deleted => None,
            None => live,
        };
        report.results.push(ObjectResult {
            kind: item.resource.kind.clone(),
            api_version: item.resource.api_version(),
            namespace: item.namespace.clone(),
            name: item.name.clone(),
            action,
            diff,
            live,
        });
    }
    match first_error {
        Some(e) => Err(with_written(e, report, opts)),
        None => Ok(established),
    }
}

/// Objects named one by one in an error; beyond, counted per kind (every
/// one is in `results`).
const NAMED_IN_ERROR: usize = 10;

/// What this run has written so far, e.g. `created IngressClass alb`, or
/// for a bulk task `created 5535 objects (2768 Ingress, 2767 Service), all
/// listed in results`.
fn written_summary(report: &Report, opts: &Options) -> Option<String> {
    if opts.check_mode {
        return None;
    }
    let verb = |a: Action| match a {
        Action::Created => "created",
        Action::Updated => "updated",
        Action::Deleted => "deleted",
        Action::Unchanged => "unchanged",
    };
    let written: Vec<&ObjectResult> = report
        .results
        .iter()
        .filter(|r| r.action != Action::Unchanged)
        .collect();
    if written.is_empty() {
        return None;
    }
    if written.len() <= NAMED_IN_ERROR {
        let w: Vec<String> = written
            .iter()
            .map(|r| match &r.namespace {
                Some(ns) => format!("{} {} {ns}/{}", verb(r.action), r.kind, r.name),
                None => format!("{} {} {}", verb(r.action), r.kind, r.name),
            })
            .collect();
        return Some(w.join(", "));
    }
    // (action, kind) -> count, in the order first met.
    let mut counts: Vec<(Action, &str, usize)> = Vec::new();
    for r in &written {
        match counts
            .iter_mut()
            .find(|(a, k, _)| *a == r.action && *k == r.kind)
        {
            Some(c) => c.2 += 1,
            None => counts.push((r.action, &r.kind, 1)),
        }
    }
    let mut parts = Vec::new();
    for action in [Action::Created, Action::Updated, Action::Deleted] {
        let kinds: Vec<String> = counts
            .iter()
            .filter(|(a, _, _)| *a == action)
            .map(|(_, k, n)| format!("{n} {k}"))
            .collect();
        let total: usize = counts
            .iter()
            .filter(|(a, _, _)| *a == action)
            .map(|c| c.2)
            .sum();
        if total > 0 {
            let noun = if total == 1 { "object" } else { "objects" };
            parts.push(format!(
                "{} {total} {noun} ({})",
                verb(action),
                kinds.join(", ")
            ));
        }
    }
    Some(format!("{}, all listed in results", parts.join(", ")))
}

/// A write failed after earlier objects were written: say which were.
fn with_written(e: Error, report: &Report, opts: &Options) -> Error {
    match written_summary(report, opts) {
        Some(w) => with_context(e, &format!(" (written in this run before it failed: {w})")),
        None => e,
    }
}

fn with_context(e: Error, note: &str) -> Error {
    match e {
        Error::Api {
            context,
            message,
            status,
        } => Error::Api {
            context: format!("{context}{note}"),
            message,
            status,
        },
        Error::Admission {
            context,
            by,
            message,
            refusal,
        } => Error::Admission {
            context: format!("{context}{note}"),
            by,
            message,
            refusal,
        },
        other => other,
    }
}

/// Writes, retrying (briefly) when the server reports an optimistic-concurrency
/// conflict: the write is netpath's own, idempotent apply of its fields, so a
/// concurrent writer of other fields is no reason to fail. Conflicts over
/// fields another manager owns are never retried: they are reported.
async fn write(
    client: &kube::Client,
    item: &Item,
    action: Action,
    opts: &Options,
) -> Result<Option<Value>> {
    let mut attempt = 0;
    loop {
        match write_once(client, item, action, opts, false).await {
            Err(Error::Api {
                status: Some(409), ..
            }) if attempt < CONFLICT_RETRIES => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
            }
            other => return other,
        }
    }
}

const CONFLICT_RETRIES: u64 = 5;

async fn write_once(
    client: &kube::Client,
    item: &Item,
    action: Action,
    opts: &Options,
    dry_run: bool,
) -> Result<Option<Value>> {
    let collection = Request::new(item.resource.collection_url(item.namespace.as_deref()));
    if action == Action::Deleted {
        let what = || format!("delete {}", describe(item));
        let params = DeleteParams {
            dry_run,
            propagation_policy: Some(PropagationPolicy::Background),
            ..DeleteParams::default()
        };
        let req = collection
            .delete(&item.name, &params)
            .map_err(|e| unbuildable(&what(), e))?;
        return match send(client, req).await {
            Ok(_) => Ok(None),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(api_error(what(), e)),
        };
    }
    let what = || format!("apply {}", describe(item));
    let params = PatchParams {
        dry_run,
        force: opts.force_conflicts,
        field_manager: Some(opts.field_manager.clone()),
        field_validation: None,
    };
    let req = collection
        .patch(&item.name, &params, &Patch::Apply(&*item.body))
        .map_err(|e| unbuildable(&what(), e))?;
    match send(client, req).await {
        // A dry run's answer, or one no module reads back, is not parsed.
        Ok(text) if opts.keep_live && !dry_run => Ok(serde_json::from_str(&text).ok()),
        Ok(_) => Ok(None),
        Err(e) => match status_of(&e) {
            Some(s) if s.code == 409 && is_field_conflict(s) => Err(conflict(item, s)),
            _ => Err(api_error(what(), e)),
        },
    }
}

/// A server-side apply conflict over fields another manager owns, as opposed
/// to an optimistic-concurrency conflict ("the object has been modified").
fn is_field_conflict(s: &kube::core::Status) -> bool {
    s.reason == "Conflict"
        && s.details
            .as_ref()
            .is_some_and(|d| d.causes.iter().any(|c| c.reason == "FieldManagerConflict"))
}

fn conflict(item: &Item, s: &kube::core::Status) -> Error {
    let causes = s
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    let mut managers: Vec<String> = causes
        .iter()
        .filter_map(|c| c.message.split('"').nth(1).map(str::to_string))
        .collect();
    managers.sort();
    managers.dedup();
    let fields: Vec<&str> = causes
        .iter()
        .map(|c| c.field.as_str())
        .filter(|f| !f.is_empty())
        .collect();
    Error::Conflict {
        object: describe(item),
        managers: if managers.is_empty() {
            s.message.clone()
        } else {
            managers.join(", ")
        },
        fields: if fields.is_empty() {
            "(see message)".into()
        } else {
            fields.join(", ")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_field_manager_conflicts_are_reported_as_conflicts() {
        let status = |causes: serde_json::Value| -> kube::core::Status {
            serde_json::from_value(
                json!({"status": "Failure", "reason": "Conflict", "code": 409,
                "message": "m", "details": {"causes": causes}}),
            )
            .unwrap()
        };
        let owned = status(
            json!([{"reason": "FieldManagerConflict", "message": "conflict with \"helm\"", "field": ".data.a"}]),
        );
        assert!(is_field_conflict(&owned));
        // "the object has been modified": optimistic concurrency, retried.
        assert!(!is_field_conflict(&status(json!([]))));
    }

    #[test]
    fn what_was_written_is_named_or_counted() {
        let result = |kind: &str, name: String, action| ObjectResult {
            kind: kind.into(),
            api_version: "v1".into(),
            namespace: Some("n".into()),
            name,
            action,
            diff: None,
            live: None,
        };
        let opts = Options::default();
        let mut report = Report::default();
        report
            .results
            .push(result("Service", "a".into(), Action::Created));
        report
            .results
            .push(result("Service", "b".into(), Action::Unchanged));
        assert_eq!(
            written_summary(&report, &opts).as_deref(),
            Some("created Service n/a")
        );
        for i in 0..3000 {
            let kind = if i % 2 == 0 { "Ingress" } else { "Service" };
            report
                .results
                .push(result(kind, format!("x{i}"), Action::Created));
        }
        report
            .results
            .push(result("ConfigMap", "c".into(), Action::Updated));
        assert_eq!(
            written_summary(&report, &opts).as_deref(),
            Some(
                "created 3001 objects (1501 Service, 1500 Ingress), updated 1 object (1 ConfigMap), all listed in results"
            )
        );
        assert_eq!(written_summary(&Report::default(), &opts), None);
    }

    #[test]
    fn requests_are_built_by_kube_with_the_field_manager_encoded() {
        let item = Item::for_test(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}}),
            Some("n"),
        );
        let params = PatchParams {
            dry_run: true,
            force: false,
            field_manager: Some("net path/1".into()),
            field_validation: None,
        };
        let req = Request::new(item.resource.collection_url(Some("n")))
            .patch(&item.name, &params, &Patch::Apply(&*item.body))
            .unwrap();
        assert_eq!(
            req.uri().to_string(),
            "/api/v1/namespaces/n/configmaps/c?&dryRun=All&fieldManager=net+path%2F1"
        );
        assert_eq!(req.body(), item.body.get().as_bytes());
    }
}
