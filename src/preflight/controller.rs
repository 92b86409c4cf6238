//! The AWS Load Balancer Controller as deployed: is it there and running,
//! and was it started the way a self-managed cluster needs (cluster name,
//! region and VPC given rather than guessed from instance metadata)? Flag
//! names and texts are v3.5.0's (pkg/config/controller_config.go,
//! pkg/aws/cloud_config.go, pkg/aws/cloud.go).

use crate::validate::Findings;
use serde_json::{Value, json};

/// The controller of IngressClasses the AWS controller serves
/// (pkg/ingress/class_loader.go IngressClassControllerALB).
pub const INGRESS_CLASS_CONTROLLER: &str = "ingress.k8s.aws/alb";
/// The Helm chart's webhook configurations (both kinds share the name).
pub const WEBHOOK_CONFIGURATION: &str = "aws-load-balancer-webhook";

/// What the operator says the controller must be started with.
#[derive(Debug, Default, Clone)]
pub struct Expect<'a> {
    pub cluster_name: Option<&'a str>,
    pub region: Option<&'a str>,
    pub vpc_id: Option<&'a str>,
}

/// One flag's value from a container's command and args, as pflag reads
/// them: `--flag=value` or `--flag value`; the last one wins.
pub fn flag<'a>(argv: &'a [String], name: &str) -> Option<&'a str> {
    let long = format!("--{name}");
    let mut found = None;
    let mut it = argv.iter().peekable();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix(&long) {
            if let Some(v) = v.strip_prefix('=') {
                found = Some(v);
            } else if v.is_empty() {
                found = it.next().map(String::as_str);
            }
        }
    }
    found
}

fn container(deploy: &Value) -> Option<&Value> {
    let cs = deploy["spec"]["template"]["spec"]["containers"].as_array()?;
    // The chart's container is named "aws-load-balancer-controller"; a
    // hand-written one may not be: then the one that has --cluster-name.
    cs.iter()
        .find(|c| c["name"] == "aws-load-balancer-controller")
        .or_else(|| {
            cs.iter().find(|c| {
                c["args"].as_array().is_some_and(|a| {
                    a.iter()
                        .any(|x| x.as_str().is_some_and(|s| s.starts_with("--cluster-name")))
                })
            })
        })
        .or_else(|| cs.first())
}

fn argv(c: &Value) -> Vec<String> {
    ["command", "args"]
        .iter()
        .flat_map(|k| c[*k].as_array().into_iter().flatten())
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn env<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    c["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .and_then(|e| e["value"].as_str())
}

/// How the controller's container was started: where it builds ALBs.
#[derive(Debug, Clone, Default)]
pub struct Started {
    pub cluster_name: Option<String>,
    /// `--aws-region`, else the AWS_REGION or AWS_DEFAULT_REGION it is given.
    pub region: Option<String>,
    pub vpc_id: Option<String>,
    pub vpc_tags: Option<String>,
    pub shared_backend_security_group: bool,
}

/// The Deployment's controller container's flags; None without a container.
pub fn started(deploy: &Value) -> Option<Started> {
    let c = container(deploy)?;
    let args = argv(c);
    let flag = |name| flag(&args, name).map(str::to_string);
    Some(Started {
        cluster_name: flag("cluster-name"),
        region: flag("aws-region")
            .or_else(|| env(c, "AWS_REGION").map(str::to_string))
            .or_else(|| env(c, "AWS_DEFAULT_REGION").map(str::to_string)),
        vpc_id: flag("aws-vpc-id"),
        vpc_tags: flag("aws-vpc-tags"),
        shared_backend_security_group: flag("enable-backend-security-group")
            .is_none_or(|v| v != "false"),
    })
}

/// Findings on the controller's Deployment (None: not found), and what was
/// learned of it, for the module's result.
pub fn check_deployment(
    where_: &str,
    deploy: Option<&Value>,
    expect: &Expect,
    f: &mut Findings,
) -> Value {
    let Some(d) = deploy else {
        f.warning(
            "controller_name",
            format!("no Deployment {where_}: unless the AWS Load Balancer Controller runs elsewhere, nothing turns the Ingresses into an ALB."),
            "install it (the alb_controller role, or its Helm chart), or set controller_namespace and controller_name to where it runs.",
        );
        return json!({"found": false});
    };
    let available = d["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Available"))
        .is_some_and(|c| c["status"] == "True")
        || d["status"]["availableReplicas"].as_i64().unwrap_or(0) > 0;
    if !available {
        f.error(
            "controller_name",
            format!("Deployment {where_} has no available replica: no Ingress is reconciled, and its webhooks (failurePolicy Fail in the chart) refuse Ingress and Service writes while it is down."),
            "look at its Pods (kubectl -n <ns> describe pod, logs): often --cluster-name is missing, IAM permissions, or the webhook certificate.",
        );
    }
    let Some(s) = started(d) else {
        return json!({"found": true, "available": available});
    };
    match (s.cluster_name.as_deref(), expect.cluster_name) {
        (None, _) => f.error(
            "cluster_name",
            format!("{where_} is started without --cluster-name: the controller exits with \"kubernetes cluster name must be specified\"."),
            "add --cluster-name=<the name in your kubernetes.io/cluster/<name> tags>.",
        ),
        (Some(got), Some(want)) if got != want => f.error(
            "cluster_name",
            format!("{where_} runs with --cluster-name={got}, but this path is tagged for cluster {want}: the controller discovers only subnets and security groups tagged kubernetes.io/cluster/{got}."),
            format!("start it with --cluster-name={want}, or set cluster_name to {got} and tag the subnets and the worker security group for it."),
        ),
        _ => {}
    }
    for (field, got, want, flag_name) in [
        ("region", s.region.as_deref(), expect.region, "aws-region"),
        ("vpc_id", s.vpc_id.as_deref(), expect.vpc_id, "aws-vpc-id"),
    ] {
        if let (Some(got), Some(want)) = (got, want)
            && got != want
        {
            f.error(
                field,
                format!("{where_} runs with --{flag_name}={got}, not {want}: it would build the ALB elsewhere than this path."),
                format!("start it with --{flag_name}={want}."),
            );
        }
    }
    let mut missing = Vec::new();
    if s.region.is_none() {
        missing.push("--aws-region");
    }
    if s.vpc_id.is_none() && s.vpc_tags.is_none() {
        missing.push("--aws-vpc-id");
    }
    if !missing.is_empty() {
        f.warning(
            "controller_name",
            format!(
                "{where_} is started without {}: it asks the instance metadata service instead, which fails from a Pod where the IMDSv2 hop limit is 1 (the default on hardened and newer AMIs): \"failed to introspect vpcID from EC2Metadata\" (or region).",
                missing.join(" and ")
            ),
            "pass --aws-region=<region> and --aws-vpc-id=<vpc-...> (the alb_controller role always does), or raise the instances' HttpPutResponseHopLimit to 2.",
        );
    }
    json!({
        "found": true,
        "available": available,
        "cluster_name": s.cluster_name,
        "region": s.region,
        "vpc_id": s.vpc_id,
        "vpc_tags": s.vpc_tags,
        "shared_backend_security_group": s.shared_backend_security_group,
    })
}

/// The live IngressClass netpath's Ingresses use must be the AWS
/// controller's: `spec.controller` is immutable, so alb_ingress cannot fix it.
pub fn check_ingress_class(name: &str, class: Option<&Value>, f: &mut Findings) {
    let Some(got) = class.and_then(|c| c["spec"]["controller"].as_str()) else {
        return;
    };
    if got != INGRESS_CLASS_CONTROLLER {
        f.error(
            "ingress_class",
            format!("IngressClass {name} exists with controller {got}, not {INGRESS_CLASS_CONTROLLER}: the AWS Load Balancer Controller ignores its Ingresses, and spec.controller cannot be changed."),
            format!("use another class name for the ALB (ingress_class.name), or delete IngressClass {name} if nothing else uses it."),
        );
    }
}

/// Webhooks that fail closed while the controller is down block writes.
pub fn check_webhooks(configs: &[Value], available: bool, f: &mut Findings) -> Vec<Value> {
    let mut out = Vec::new();
    for cfg in configs {
        let kind = cfg["kind"].as_str().unwrap_or("WebhookConfiguration");
        for w in cfg["webhooks"].as_array().into_iter().flatten() {
            let policy = w["failurePolicy"].as_str().unwrap_or("Fail");
            out.push(json!({"kind": kind, "name": w["name"], "failure_policy": policy}));
            if policy == "Fail" && !available {
                f.warning(
                    "controller_name",
                    format!("{kind} {WEBHOOK_CONFIGURATION} webhook {} has failurePolicy Fail while the controller is not available: the API server refuses every write it covers.",
                        w["name"].as_str().unwrap_or("?")),
                    "bring the controller up first (or remove its webhook configurations while it is not installed).",
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
