//! After apply: wait until the AWS Load Balancer Controller has built what
//! the Ingresses ask for (an ALB hostname on each, a reconciled
//! TargetGroupBinding per backend), and when it does not, say why in the
//! controller's own words (its Events) next to the fix netpath knows.

use super::model::{Plan, Port};
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

/// The latest event's reason and message; Warnings it shows are problems.
fn latest(evs: &[Value]) -> Option<(String, String, String)> {
    evs.last().map(|e| {
        (
            e["type"].as_str().unwrap_or_default().to_string(),
            e["reason"].as_str().unwrap_or_default().to_string(),
            e["message"].as_str().unwrap_or_default().to_string(),
        )
    })
}

struct Round {
    ingresses: Vec<Value>,
    problems: Vec<String>,
    done: bool,
}

async fn round(client: &kube::Client, plan: &Plan) -> Result<Round> {
    let mut out = Round {
        ingresses: Vec::new(),
        problems: Vec::new(),
        done: true,
    };
    for app in plan.apps.iter().filter(|a| a.present) {
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
        if let Some((t, reason, msg)) = latest(&events(client, ns, "Ingress", &app.name).await?)
            && t == "Warning"
        {
            out.problems
                .push(quote(&format!("Ingress {ns}/{}", app.name), &reason, &msg));
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
            let mut state = "pending";
            let mut name = Value::Null;
            let mut arn = Value::Null;
            if let Some(t) = tgb {
                let tname = t["metadata"]["name"].as_str().unwrap_or_default();
                name = json!(tname);
                arn = t["spec"]["targetGroupARN"].clone();
                match latest(&events(client, ns, "TargetGroupBinding", tname).await?) {
                    Some((_, reason, _)) if reason == "SuccessfullyReconciled" => {
                        state = "registered"
                    }
                    Some((t, reason, msg)) if t == "Warning" => {
                        state = "failing";
                        out.problems.push(quote(
                            &format!("TargetGroupBinding {ns}/{tname}"),
                            &reason,
                            &msg,
                        ));
                    }
                    _ => {}
                }
            }
            if state != "registered" {
                out.done = false;
            }
            backends.push(json!({"service": b.service, "port": port_text(&b.port),
                "target_group_binding": name, "target_group_arn": arn, "state": state}));
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

/// Waits up to `timeout`; Ok with what was built, or the controller's words.
pub async fn wait(
    client: &kube::Client,
    plan: &Plan,
    timeout: Duration,
) -> std::result::Result<Value, (Error, Value)> {
    let start = Instant::now();
    loop {
        let r = match round(client, plan).await {
            Ok(r) => r,
            Err(e) => return Err((e, Value::Null)),
        };
        if r.done {
            return Ok(json!(r.ingresses));
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

    #[test]
    fn ports_match_by_number_or_name() {
        assert!(port_matches(&Port::Number(80), &json!(80)));
        assert!(port_matches(&Port::Number(80), &json!("80")));
        assert!(port_matches(&Port::Name("http".into()), &json!("http")));
        assert!(!port_matches(&Port::Name("http".into()), &json!(80)));
    }
}
