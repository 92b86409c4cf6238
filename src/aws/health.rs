//! Target health after apply (`wait: true`, `netpath verify`): what the ALB
//! itself thinks of each target, with DescribeTargetHealth (one call per
//! target group and poll). The ELB reason codes are AWS's; each has the fix
//! that applies to the seed's path (ALB → NodePort → kube-proxy → pod).

use aws_sdk_elasticloadbalancingv2 as elbv2;
use elbv2::types::TargetHealthStateEnum as TargetState;
use serde::Serialize;

/// One target as the ALB sees it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Target {
    /// Instance ID (instance targets) or pod IP (ip targets).
    pub id: String,
    pub port: Option<i32>,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining`, `unavailable`…
    #[serde(serialize_with = "state_text")]
    pub state: TargetState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Target {
    pub fn healthy(&self) -> bool {
        self.state == TargetState::Healthy
    }

    /// Still settling, not a verdict: registration in progress, the first
    /// health checks not done yet.
    pub fn settling(&self) -> bool {
        self.state == TargetState::Initial
    }
}

/// The state in AWS's spelling (the SDK's enum has no serde).
fn state_text<S: serde::Serializer>(state: &TargetState, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.as_str())
}

/// What each ELB reason code means on this path, and the fix
/// (AWS: Elastic Load Balancing, "Target health status", reason codes).
const FIXES: &[(&str, &str)] = &[
    (
        "Target.FailedHealthChecks",
        "the ALB's health checks fail on the NodePort: open the worker security group to the ALB's on the NodePort (netcheck's security_group_rules), make healthcheck_path answer with success_codes, and with external_traffic_policy Local expect only nodes with a ready pod to pass.",
    ),
    (
        "Target.Timeout",
        "the health check got no answer: a security group or network ACL drops the ALB's traffic to the NodePort, or kube-proxy/Calico do not forward it (netcheck checks the rules; UDP 4789 between nodes for VXLAN).",
    ),
    (
        "Target.ResponseCodeMismatch",
        "the health check path answers with a code outside success_codes: set healthcheck_path to a path the app serves, or widen success_codes.",
    ),
    (
        "Target.InvalidState",
        "the instance is stopped or terminated: start it, or remove its Node so the controller deregisters it.",
    ),
    (
        "Target.NotInUse",
        "the target group is not used by the ALB, or the target's availability zone is not enabled on it: give the ALB a subnet in every zone that has workers.",
    ),
    (
        "Target.NotRegistered",
        "the target is not registered: the controller has not reconciled the TargetGroupBinding (its Events say why).",
    ),
    (
        "Target.IpUnusable",
        "the target IP is not usable by the ALB: ip targets need pod IPs inside the VPC (with Calico's overlay use target_type instance).",
    ),
    (
        "Target.HealthCheckDisabled",
        "health checks are disabled on the target group: enable them (alb.ingress.kubernetes.io/healthcheck-*).",
    ),
];

pub fn fix_for(reason: &str) -> Option<&'static str> {
    FIXES.iter().find(|(r, _)| *r == reason).map(|(_, f)| *f)
}

/// The region an ELBv2 ARN names (`arn:aws:elasticloadbalancing:REGION:…`),
/// so no region option is needed when the environment sets none.
pub fn region_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// DescribeTargetHealth, one client per region the target groups' ARNs name
/// (the target group lives there, whatever the environment says).
#[derive(Default)]
pub struct Reader {
    clients: std::collections::BTreeMap<String, elbv2::Client>,
    /// Credential values, for the redactor.
    pub secrets: Vec<String>,
    /// DescribeTargetHealth calls made.
    pub calls: u32,
}

impl Reader {
    /// Every registered target of one target group.
    pub async fn targets(&mut self, target_group_arn: &str) -> Result<Vec<Target>, String> {
        let region = region_of(target_group_arn)
            .ok_or_else(|| format!("{target_group_arn} is not a target group ARN"))?
            .to_string();
        if !self.clients.contains_key(&region) {
            let (config, secrets) = super::read::config(Some(&region)).await?;
            self.secrets.extend(secrets);
            self.clients
                .insert(region.clone(), elbv2::Client::new(&config));
        }
        let client = &self.clients[&region];
        self.calls += 1;
        let out = client
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| super::read::err_text("DescribeTargetHealth", e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .map(|d| {
                let h = d.target_health();
                Target {
                    id: d
                        .target()
                        .and_then(|t| t.id())
                        .unwrap_or_default()
                        .to_string(),
                    port: d.target().and_then(|t| t.port()),
                    // Always sent; were it not, the text stays empty as AWS gave it.
                    state: h
                        .and_then(|h| h.state())
                        .cloned()
                        .unwrap_or_else(|| TargetState::from("")),
                    reason: h.and_then(|h| h.reason()).map(|r| r.as_str().to_string()),
                    description: h.and_then(|h| h.description()).map(str::to_string),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_from_the_target_group_arn() {
        assert_eq!(
            region_of("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/k8s-a/0123"),
            Some("eu-west-1")
        );
        assert_eq!(region_of("not-an-arn"), None);
        assert_eq!(region_of("arn:aws:elasticloadbalancing::1:x"), None);
    }

    #[test]
    fn every_reason_of_a_failing_target_has_its_fix() {
        for r in [
            "Target.FailedHealthChecks",
            "Target.Timeout",
            "Target.ResponseCodeMismatch",
            "Target.InvalidState",
            "Target.NotInUse",
            "Target.NotRegistered",
            "Target.IpUnusable",
            "Target.HealthCheckDisabled",
        ] {
            assert!(fix_for(r).is_some(), "{r}");
        }
        assert!(fix_for("Target.Timeout").unwrap().contains("NodePort"));
        assert_eq!(fix_for("Elb.InitialHealthChecking"), None);
    }
}
