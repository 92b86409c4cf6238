//! The IAM policy the AWS Load Balancer Controller v3.5.0 needs, as data:
//! `docs/install/iam_policy.json` of kubernetes-sigs/aws-load-balancer-controller
//! at tag v3.5.0 (commit 11eb202c97e4), unchanged (Apache-2.0). It belongs to
//! the role the controller's credentials come from: the worker nodes'
//! instance profile, or an IRSA / Pod Identity role.

use serde_json::{Value, json};

/// Where the document comes from, as returned to users.
pub const SOURCE: &str = "https://github.com/kubernetes-sigs/aws-load-balancer-controller/blob/v3.5.0/docs/install/iam_policy.json";

const DOCUMENT: &str = include_str!("iam_policy_v3.5.0.json");

/// Name AWS's install guide gives the policy.
pub const POLICY_NAME: &str = "AWSLoadBalancerControllerIAMPolicy";

pub fn document() -> Value {
    serde_json::from_str(DOCUMENT).expect("the embedded IAM policy is JSON")
}

/// `{source, name, document}` plus the same as Terraform JSON
/// (`aws_iam_policy`), the two forms netcheck gives its security-group rules in.
pub fn result() -> (Value, Value) {
    let doc = document();
    let plain = json!({
        "name": POLICY_NAME,
        "source": SOURCE,
        "controller_version": super::VERSION,
        "document": doc,
    });
    let terraform = json!({
        "resource": {"aws_iam_policy": {"aws_load_balancer_controller": {
            "name": POLICY_NAME,
            "description": format!("AWS Load Balancer Controller {} (from {SOURCE})", super::VERSION),
            "policy": serde_json::to_string(&doc).expect("JSON"),
        }}}
    });
    (plain, terraform)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_v3_5_0s() {
        let d = document();
        assert_eq!(d["Version"], "2012-10-17");
        let actions: Vec<&str> = d["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| match &s["Action"] {
                Value::String(a) => vec![a.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            })
            .collect();
        // What the harness saw the controller call on the ingress path.
        for a in [
            "ec2:DescribeSubnets",
            "ec2:AuthorizeSecurityGroupIngress",
            "elasticloadbalancing:CreateLoadBalancer",
            "elasticloadbalancing:RegisterTargets",
            "acm:DescribeCertificate",
        ] {
            assert!(actions.contains(&a), "{a}");
        }
        let (_, tf) = result();
        let policy = tf["resource"]["aws_iam_policy"]["aws_load_balancer_controller"]["policy"]
            .as_str()
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(policy).unwrap(), d);
    }
}
