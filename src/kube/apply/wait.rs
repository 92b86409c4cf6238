//! Waiting: for a CRD this task wrote to be served before its custom
//! resources are written, and (with `wait`) for workloads to be available.

use super::{Action, Report};
use crate::error::{Error, Result};
use crate::kube::read;
use crate::kube::resource::{Resolver, Resource};
use serde_json::Value;
use std::time::{Duration, Instant};

pub(super) async fn crd_served(client: &kube::Client, name: &str, timeout: Duration) -> Result<()> {
    let Some(crd) = Resolver::known("apiextensions.k8s.io/v1", "CustomResourceDefinition") else {
        return Ok(());
    };
    wait_for(client, &crd, None, name, timeout, crd_established).await
}

/// Waits for every Deployment, DaemonSet and StatefulSet the run applied.
pub(super) async fn workloads(
    client: &kube::Client,
    report: &Report,
    timeout: Duration,
) -> Result<()> {
    let waits: Vec<(Resource, Option<String>, String)> = report
        .results
        .iter()
        .filter(|r| matches!(r.kind.as_str(), "Deployment" | "DaemonSet" | "StatefulSet"))
        .filter(|r| r.action != Action::Deleted)
        .filter_map(|r| {
            Resolver::known(&r.api_version, &r.kind)
                .map(|res| (res, r.namespace.clone(), r.name.clone()))
        })
        .collect();
    for (res, ns, name) in waits {
        wait_for(
            client,
            &res,
            ns.as_deref(),
            &name,
            timeout,
            workload_available,
        )
        .await?;
    }
    Ok(())
}

fn condition_true(obj: &Value, ty: &str) -> bool {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == ty && c["status"] == "True")
}

fn crd_established(obj: &Value) -> bool {
    condition_true(obj, "Established")
}

fn workload_available(obj: &Value) -> bool {
    let status = &obj["status"];
    let generation = obj["metadata"]["generation"].as_i64().unwrap_or(0);
    if status["observedGeneration"].as_i64().unwrap_or(-1) < generation {
        return false;
    }
    match obj["kind"].as_str() {
        Some("DaemonSet") => {
            let want = status["desiredNumberScheduled"].as_i64().unwrap_or(0);
            status["numberAvailable"].as_i64().unwrap_or(0) >= want
                && status["updatedNumberScheduled"].as_i64().unwrap_or(0) >= want
        }
        _ => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            status["availableReplicas"].as_i64().unwrap_or(0) >= want
                && status["updatedReplicas"].as_i64().unwrap_or(0) >= want
        }
    }
}

async fn wait_for(
    client: &kube::Client,
    res: &Resource,
    ns: Option<&str>,
    name: &str,
    timeout: Duration,
    ready: fn(&Value) -> bool,
) -> Result<()> {
    let start = Instant::now();
    let what = match ns {
        Some(ns) => format!("{} {ns}/{name}", res.kind),
        None => format!("{} {name}", res.kind),
    };
    let context = || format!("wait for {what}");
    loop {
        // Not there yet (404) is not ready yet.
        let live = read::get_object(client, res, ns, name, &context).await?;
        if live.as_ref().is_some_and(ready) {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            return Err(Error::Timeout(format!(
                "{what} was applied but not ready after {}s; raise wait_timeout or check its status",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn readiness() {
        let ok = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "availableReplicas": 2, "updatedReplicas": 2}});
        assert!(workload_available(&ok));
        let stale = json!({"kind": "Deployment", "metadata": {"generation": 3}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "availableReplicas": 2, "updatedReplicas": 2}});
        assert!(!workload_available(&stale));
        assert!(crd_established(
            &json!({"status": {"conditions": [{"type": "Established", "status": "True"}]}})
        ));
    }
}
