//! After apply: wait until the AWS Load Balancer Controller has built what
//! the Ingresses ask for (an ALB hostname on each, a reconciled
//! TargetGroupBinding per backend), and when it does not, say why in the
//! controller's own words (its Events) next to the fix netpath knows.

use super::model::{Plan, Port};
use crate::aws::health::{self, Target};
use crate::error::{Error, Result};
use crate::kube::read;
use kube::core::params::ListParams;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const TGB_API: &str = "/apis/elbv2.k8s.aws/v1beta1";
const POLL: Duration = Duration::from_millis(500);

/// Known controller texts (v3.5.0) and what to do about them.
const FIXES: &[(&str, &str)] = &[
    (
        "providerID is not specified for node",
        "set spec.providerID on that Node: kubelet --provider-id, the AWS cloud-controller-manager, or the node_provider_id module (netcheck names every such Node).",
    ),
    (
        "InvalidInstanceID.NotFound",
        "a Node's providerID names an instance EC2 does not know (terminated, or another account/region): delete that Node, or fix its kubelet --provider-id.",
    ),
    (
        "TargetGroup port is empty",
        "instance targets need a NodePort (or LoadBalancer) Service: set the Service's type to NodePort (alb_ingress does for target_type instance).",
    ),
    (
        "couldn't auto-discover subnets",
        "tag at least two subnets in two AZs kubernetes.io/role/elb=1 (internal: kubernetes.io/role/internal-elb=1) and kubernetes.io/cluster/<cluster-name>=owned or shared, or give them route tables with a route to an internet gateway, or set subnets.",
    ),
    (
        "cannot resolve pod ENI",
        "ip targets need pod IPs in the VPC: with Calico's overlay use target_type instance.",
    ),
    (
        "invalid ingress class",
        "create the IngressClass first (alb_ingress writes it before the Ingresses).",
    ),
    (
        "no certificate found for host",
        "import or request an ACM certificate for the host, or give certificate_arn.",
    ),
    (
        "UnauthorizedOperation",
        "the controller's IAM role lacks a permission: attach the policy the controller version needs.",
    ),
    (
        "AccessDenied",
        "the controller's IAM role lacks a permission: attach the policy the controller version needs.",
    ),
];

/// The fix netpath knows for a controller message.
pub fn fix_for(message: &str) -> Option<&'static str> {
    FIXES
        .iter()
        .find(|(t, _)| message.contains(t))
        .map(|(_, f)| *f)
}

fn port_matches(port: &Port, v: &Value) -> bool {
    match (port, v) {
        (Port::Number(n), Value::Number(m)) => m.as_i64() == Some(*n),
        (Port::Number(n), Value::String(s)) => s == &n.to_string(),
        (Port::Name(n), Value::String(s)) => s == n,
        _ => false,
    }
}

fn port_text(p: &Port) -> String {
    match p {
        Port::Number(n) => n.to_string(),
        Port::Name(n) => n.clone(),
    }
}

/// Events of one object, oldest first (core/v1 Events, as controller-runtime records them).
async fn events(client: &kube::Client, ns: &str, kind: &str, name: &str) -> Result<Vec<Value>> {
    let url = format!("/api/v1/namespaces/{ns}/events");
    let selector = ListParams::default().fields(&format!(
        "involvedObject.kind={kind},involvedObject.name={name}"
    ));
    let mut evs =
        read::unless_forbidden(read::list_with(client, &url, &selector).await)?.unwrap_or_default();
    let when = |e: &Value| {
        e["lastTimestamp"]
            .as_str()
            .or_else(|| e["eventTime"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    evs.sort_by_key(when);
    Ok(evs)
}

/// An object's latest Event, as far as the wait reads it.
struct Latest {
    /// `type: Warning`: the controller reports a problem.
    warning: bool,
    reason: String,
    message: String,
}

/// The latest event; Warnings it shows are problems.
fn latest(evs: &[Value]) -> Option<Latest> {
    evs.last().map(|e| Latest {
        warning: e["type"] == "Warning",
        reason: e["reason"].as_str().unwrap_or_default().to_string(),
        message: e["message"].as_str().unwrap_or_default().to_string(),
    })
}

/// What the wait decides of one backend; `as_str` is its `state` in the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BackendState {
    /// No TargetGroupBinding yet, or one the controller has not reconciled.
    Pending,
    /// The TargetGroupBinding is reconciled: the wait's goal without the AWS reads.
    Registered,
    /// The controller's latest Event on the TargetGroupBinding is a Warning.
    Failing,
    /// Targets registered, none checked healthy yet and none failed.
    Registering,
    /// At least one target is healthy: the ALB serves.
    Healthy,
    /// Every target checked, none healthy.
    Unhealthy,
    /// The required AWS read failed.
    Unknown,
}

impl BackendState {
    fn as_str(self) -> &'static str {
        match self {
            BackendState::Pending => "pending",
            BackendState::Registered => "registered",
            BackendState::Failing => "failing",
            BackendState::Registering => "registering",
            BackendState::Healthy => "healthy",
            BackendState::Unhealthy => "unhealthy",
            BackendState::Unknown => "unknown",
        }
    }
}

/// Target health from AWS, when the AWS reads are on.
pub struct Aws {
    pub reader: health::Reader,
    /// Asked for (`aws: true`): a failed read keeps the wait from
    /// succeeding. Otherwise it is a warning and registration is enough.
    pub required: bool,
    /// Set when an optional read failed: health is not asked again.
    failed: Option<String>,
}

impl Aws {
    /// From the `aws` option: on when asked, or unasked when credentials
    /// are configured (as netcheck's reads); required only when asked.
    pub fn from_option(asked: Option<bool>) -> Option<Aws> {
        asked
            .unwrap_or_else(crate::aws::read::credentials_configured)
            .then(|| Aws {
                reader: health::Reader::default(),
                required: asked == Some(true),
                failed: None,
            })
    }
}

/// What the wait found: per Ingress its ALB and backends, and warnings
/// (unhealthy targets beside healthy ones, an optional AWS read that failed).
pub struct Built {
    pub ingresses: Value,
    pub warnings: Vec<String>,
}

struct Round {
    ingresses: Vec<Value>,
    problems: Vec<String>,
    warnings: Vec<String>,
    done: bool,
}

/// A backend's state from its targets: healthy once one target is (the ALB
/// then serves), unhealthy when none is and none is still settling.
fn health_state(targets: &[Target]) -> BackendState {
    if targets.iter().any(Target::healthy) {
        BackendState::Healthy
    } else if targets.is_empty() || targets.iter().any(Target::settling) {
        BackendState::Registering
    } else {
        BackendState::Unhealthy
    }
}

fn target_text(t: &Target) -> String {
    let mut s = format!("{} is {}", t.id, t.state);
    if let Some(r) = &t.reason {
        s.push_str(&format!(" ({r}"));
        if let Some(d) = &t.description {
            s.push_str(&format!(": {d}"));
        }
        s.push(')');
    }
    if let Some(fix) = t.reason.as_deref().and_then(health::fix_for) {
        s.push_str(&format!(" Fix: {fix}"));
    }
    s
}

async fn round(client: &kube::Client, plan: &Plan, mut aws: Option<&mut Aws>) -> Result<Round> {
    let mut out = Round {
        ingresses: Vec::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
        done: true,
    };
    for app in plan.ingresses.iter().filter(|a| a.present) {
        let ns = &app.namespace;
        let ing = read::get(
            client,
            &format!(
                "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/{}",
                app.name
            ),
        )
        .await?;
        let hostname = ing
            .as_ref()
            .and_then(|i| i["status"]["loadBalancer"]["ingress"].as_array())
            .and_then(|l| l.iter().find_map(|x| x["hostname"].as_str()))
            .map(str::to_string);
        if hostname.is_none() {
            out.done = false;
        }
        if let Some(e) = latest(&events(client, ns, "Ingress", &app.name).await?)
            && e.warning
        {
            out.problems.push(quote(
                &format!("Ingress {ns}/{}", app.name),
                &e.reason,
                &e.message,
            ));
        }
        let tgbs = read::unless_forbidden(
            read::list(
                client,
                &format!("{TGB_API}/namespaces/{ns}/targetgroupbindings"),
            )
            .await,
        )?
        .unwrap_or_default();
        let mut backends = Vec::new();
        let mut seen = BTreeSet::new();
        for b in app.service_backends() {
            if !seen.insert((b.service.clone(), port_text(&b.port))) {
                continue;
            }
            let tgb = tgbs.iter().find(|t| {
                t["spec"]["serviceRef"]["name"] == b.service.as_str()
                    && port_matches(&b.port, &t["spec"]["serviceRef"]["port"])
            });
            let mut state = BackendState::Pending;
            let mut name = Value::Null;
            let mut arn = Value::Null;
            if let Some(t) = tgb {
                let tname = t["metadata"]["name"].as_str().unwrap_or_default();
                name = json!(tname);
                arn = t["spec"]["targetGroupARN"].clone();
                match latest(&events(client, ns, "TargetGroupBinding", tname).await?) {
                    Some(e) if e.reason == "SuccessfullyReconciled" => {
                        state = BackendState::Registered
                    }
                    Some(e) if e.warning => {
                        state = BackendState::Failing;
                        out.problems.push(quote(
                            &format!("TargetGroupBinding {ns}/{tname}"),
                            &e.reason,
                            &e.message,
                        ));
                    }
                    _ => {}
                }
            }
            let mut targets = Value::Null;
            let health = match (aws.as_deref_mut(), arn.as_str()) {
                (Some(a), Some(arn)) if a.failed.is_none() => Some((a, arn)),
                _ => None,
            };
            if let Some((a, arn)) = health {
                match a.reader.targets(arn).await {
                    Ok(ts) => {
                        let what = format!(
                            "target group {arn} of {ns}/{} (Service {})",
                            app.name, b.service
                        );
                        state = match health_state(&ts) {
                            BackendState::Healthy => {
                                let sick: Vec<String> = ts
                                    .iter()
                                    .filter(|t| !t.healthy())
                                    .map(target_text)
                                    .collect();
                                if !sick.is_empty() {
                                    out.warnings.push(format!("{what}: {}", sick.join("; ")));
                                }
                                BackendState::Healthy
                            }
                            BackendState::Unhealthy => {
                                let all: Vec<String> = ts.iter().map(target_text).collect();
                                out.problems.push(format!(
                                    "{what} has no healthy target: {}",
                                    all.join("; ")
                                ));
                                BackendState::Unhealthy
                            }
                            // Registered but not checked yet: not a verdict.
                            _ if state == BackendState::Failing => state,
                            _ => BackendState::Registering,
                        };
                        targets = serde_json::to_value(&ts).unwrap_or(Value::Null);
                    }
                    Err(e) if a.required => {
                        out.problems.push(e);
                        state = BackendState::Unknown;
                    }
                    Err(e) => {
                        out.warnings.push(format!(
                            "{e}; target health was not read (set aws: true to require it), \
                             so the wait ended at registration"
                        ));
                        a.failed = Some(e);
                    }
                }
            }
            let want = match aws.as_deref() {
                Some(a) if a.failed.is_none() => BackendState::Healthy,
                _ => BackendState::Registered,
            };
            if state != want {
                out.done = false;
            }
            let mut backend = json!({"service": b.service, "port": port_text(&b.port),
                "hostname": hostname, "target_group_binding": name, "target_group_arn": arn,
                "state": state.as_str()});
            if !targets.is_null() {
                backend["targets"] = targets;
            }
            backends.push(backend);
        }
        out.ingresses.push(json!({"namespace": ns, "name": app.name,
            "hostname": hostname, "backends": backends}));
    }
    Ok(out)
}

fn quote(what: &str, reason: &str, msg: &str) -> String {
    let mut s = format!("{what}: {reason}: {msg}");
    if let Some(fix) = fix_for(msg) {
        s.push_str(&format!(" Fix: {fix}"));
    }
    s
}

/// Waits up to `timeout`; Ok with what was built, or the controller's
/// words (and the ALB's, with `aws`).
pub async fn wait(
    client: &kube::Client,
    plan: &Plan,
    timeout: Duration,
    mut aws: Option<&mut Aws>,
) -> std::result::Result<Built, (Error, Value)> {
    let start = Instant::now();
    loop {
        let r = match round(client, plan, aws.as_deref_mut()).await {
            Ok(r) => r,
            Err(e) => return Err((e, Value::Null)),
        };
        if r.done {
            let mut warnings = r.warnings;
            warnings.dedup();
            return Ok(Built {
                ingresses: json!(r.ingresses),
                warnings,
            });
        }
        if start.elapsed() >= timeout {
            let why = if r.problems.is_empty() {
                "the controller reported nothing: is it running, and does it watch this IngressClass? (netcheck checks its Deployment)".to_string()
            } else {
                r.problems.join("; ")
            };
            return Err((
                Error::Timeout(format!(
                    "the AWS Load Balancer Controller did not build the ALB within {} s: {why}",
                    timeout.as_secs()
                )),
                json!(r.ingresses),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_texts_get_their_fix() {
        assert!(
            fix_for("providerID is not specified for node: ip-10-0-0-99")
                .unwrap()
                .contains("node_provider_id")
        );
        assert!(
            fix_for("ingress: a/b: TargetGroup port is empty. When using Instance targets")
                .unwrap()
                .contains("NodePort")
        );
        assert!(
            fix_for("couldn't auto-discover subnets: unable to resolve at least one subnet")
                .unwrap()
                .contains("internet gateway")
        );
        assert_eq!(fix_for("something new"), None);
    }

    fn target(id: &str, state: &str, reason: Option<&str>) -> Target {
        Target {
            id: id.into(),
            port: Some(31555),
            state: state.into(),
            reason: reason.map(str::to_string),
            description: None,
        }
    }

    #[test]
    fn one_healthy_target_serves_none_is_a_verdict_only_once_checked() {
        let ok = target("i-1", "healthy", None);
        let stopped = target("i-2", "unused", Some("Target.InvalidState"));
        let initial = target("i-3", "initial", Some("Elb.InitialHealthChecking"));
        use BackendState::*;
        assert_eq!(health_state(&[ok.clone(), stopped.clone()]), Healthy);
        assert_eq!(health_state(std::slice::from_ref(&stopped)), Unhealthy);
        assert_eq!(health_state(&[stopped.clone(), initial]), Registering);
        assert_eq!(health_state(&[]), Registering);
        let text = target_text(&stopped);
        assert!(
            text.starts_with("i-2 is unused (Target.InvalidState)"),
            "{text}"
        );
        assert!(text.contains("Fix: the instance is stopped"), "{text}");
        assert_eq!(target_text(&ok), "i-1 is healthy");
        // The result's targets: AWS's spelling, as DescribeTargetHealth gives it.
        assert_eq!(
            serde_json::to_value(&stopped).unwrap(),
            json!({"id": "i-2", "port": 31555, "state": "unused", "reason": "Target.InvalidState"})
        );
    }

    #[test]
    fn ports_match_by_number_or_name() {
        assert!(port_matches(&Port::Number(80), &json!(80)));
        assert!(port_matches(&Port::Number(80), &json!("80")));
        assert!(port_matches(&Port::Name("http".into()), &json!("http")));
        assert!(!port_matches(&Port::Name("http".into()), &json!(80)));
    }
}
