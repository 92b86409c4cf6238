//! `node_provider_id`: sets `spec.providerID` on a Node that lacks it, so
//! the AWS Load Balancer Controller can register it as an instance target.
//! Self-managed clusters without the AWS cloud-controller-manager leave it
//! empty, and one such Node blocks the target updates of every instance
//! target group (`providerID is not specified for node: N`).

use super::{Ctx, Failure, Module, ModuleDef};
use crate::aws::imds;
use crate::error::Error;
use crate::kube::CONNECTION_OPTIONS;
use crate::kube::apply::api_error;
use crate::protocol::output::DiffEntry;
use crate::protocol::{Constraints, Kind, OptSpec, Outcome};
use crate::validate::Findings;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Map, json};
use std::time::Duration;

const OPTIONS: &[OptSpec] = &[
    OptSpec::new("node_name", Kind::Str).doc(
        "The Node to set. Default: the Node whose InternalIP is this instance's C(local-ipv4) from the instance metadata, i.e. the Node of the managed host the task runs on.",
    ),
    OptSpec::new("provider_id", Kind::Str).doc(
        "The providerID to set, in the controller's form C(aws:///<availability-zone>/<instance-id>), e.g. from inventory. Default: built from O(instance_id) and O(availability_zone), else from the instance metadata of the managed host.",
    ),
    OptSpec::new("instance_id", Kind::Str)
        .doc("The Node's EC2 instance ID (C(i-...)), e.g. from inventory; with O(availability_zone)."),
    OptSpec::new("availability_zone", Kind::Str)
        .doc("The instance's availability zone (e.g. C(eu-west-1a)); with O(instance_id)."),
    OptSpec::new("metadata_endpoint", Kind::Str).doc(
        "The instance metadata service (IMDSv2) to ask when no ID is given. Default: C(AWS_EC2_METADATA_SERVICE_ENDPOINT) as the AWS SDKs read it, else C(http://169.254.169.254). C(AWS_EC2_METADATA_DISABLED=true) turns the lookup off unless this option is set.",
    ),
    OptSpec::new("metadata_timeout", Kind::Int)
        .default("2")
        .doc("Seconds to wait for the instance metadata service."),
];

pub const MODULE: ModuleDef = ModuleDef {
    name: "node_provider_id",
    short_description: "Set spec.providerID on a Node that lacks it, so the AWS Load Balancer Controller can register it",
    description: &[
        "On self-managed clusters without the AWS cloud-controller-manager, kubelet leaves C(spec.providerID) empty unless started with C(--provider-id). The AWS Load Balancer Controller then fails with C(providerID is not specified for node: N), and one such Node blocks the target updates of every instance target group.",
        "Sets C(aws:///<availability-zone>/<instance-id>) on the Node. The ID comes from O(provider_id), or O(instance_id) and O(availability_zone) (inventory), or the managed host's own instance metadata (IMDSv2: token, then C(instance-id), C(placement/availability-zone) and C(local-ipv4)). Run it on each node, or on one host with the IDs from inventory.",
        "The API server lets C(spec.providerID) go only from empty to a value. A Node that already has another providerID is reported, never changed: deleting the Node and restarting kubelet with C(--provider-id) is the way back.",
        "Idempotent: a Node with the right providerID is not written. Check mode writes nothing; C(--diff) shows the change.",
    ],
    options: &[OPTIONS, CONNECTION_OPTIONS],
    constraints: Constraints {
        mutually_exclusive: &[
            &["provider_id", "instance_id"],
            &["provider_id", "availability_zone"],
        ],
        required_together: &[&["instance_id", "availability_zone"]],
        required_one_of: &[],
        required_if: &[],
    },
    examples: r#"- name: Each node sets its own providerID from its instance metadata
  netpath.calico_alb.node_provider_id:
    kubeconfig: /etc/kubernetes/kubelet.conf

- name: From inventory, for every worker, on one host
  netpath.calico_alb.node_provider_id:
    node_name: "{{ hostvars[item].node_name }}"
    instance_id: "{{ hostvars[item].ec2_instance_id }}"
    availability_zone: "{{ hostvars[item].ec2_availability_zone }}"
  loop: "{{ groups['workers'] }}"
  run_once: true
"#,
    returns: r#"node_name:
  description: The Node that was checked.
  returned: success
  type: str
  sample: ip-10-0-0-11.eu-west-1.compute.internal
provider_id:
  description: The Node's providerID after the task (in check mode, what it would be).
  returned: success
  type: str
  sample: aws:///eu-west-1a/i-0123456789abcdef0
source:
  description: Where the ID came from, C(option), C(inventory) (instance_id and availability_zone) or C(metadata).
  returned: success
  type: str
  sample: metadata
"#,
    run: super::entry::<NodeProviderId>,
};

/// The controller's form, and the parts it checks: the last segment must be
/// an instance ID (`^i-[^/]*$`, aws-load-balancer-controller v3.5.0
/// pkg/k8s/node_utils.go ExtractNodeInstanceID).
fn provider_id(az: &str, instance_id: &str) -> String {
    format!("aws:///{az}/{instance_id}")
}

fn check_instance_id(f: &mut Findings, field: &str, id: &str) {
    let hex = id.strip_prefix("i-").unwrap_or("");
    if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        f.error(
            field,
            format!("{id:?} is not an EC2 instance ID, so the controller cannot look the Node up in EC2 (\"providerID ... is invalid for EC2 instances\")."),
            "give the instance's ID, i-followed by hex digits (aws ec2 describe-instances, or the instance's metadata instance-id).",
        );
    }
}

fn check_zone(f: &mut Findings, field: &str, az: &str) {
    let ok = !az.is_empty()
        && az
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && az.ends_with(|c: char| c.is_ascii_lowercase())
        && az.contains('-');
    if !ok {
        f.error(
            field,
            format!("{az:?} is not an availability zone name (e.g. eu-west-1a)."),
            "give the zone's name from the instance's placement (metadata placement/availability-zone).",
        );
    }
}

/// Validates `aws:///<az>/<instance-id>`.
fn check_provider_id(f: &mut Findings, id: &str) {
    match id.strip_prefix("aws:///").and_then(|r| r.split_once('/')) {
        Some((az, instance)) if !instance.contains('/') => {
            check_zone(f, "provider_id", az);
            check_instance_id(f, "provider_id", instance);
        }
        _ => f.error(
            "provider_id",
            format!("{id:?} is not of the form aws:///<availability-zone>/<instance-id> that kubelet and the AWS cloud provider write."),
            "use e.g. aws:///eu-west-1a/i-0123456789abcdef0, or give instance_id and availability_zone.",
        ),
    }
}

#[derive(serde::Deserialize)]
pub struct Args {
    node_name: Option<String>,
    provider_id: Option<String>,
    instance_id: Option<String>,
    availability_zone: Option<String>,
    metadata_endpoint: Option<String>,
    metadata_timeout: i64,
}

pub struct NodeProviderId;

impl Module for NodeProviderId {
    type Args = Args;
    /// The providerID wanted, and the Node named.
    type Plan = (Wanted, Option<String>);
    type Live = Node;

    async fn plan(
        args: Args,
        _: &mut Ctx,
        _: &mut Findings,
    ) -> Result<Option<Self::Plan>, Failure> {
        Ok(Some((wanted(&args).await?, args.node_name)))
    }

    async fn read(
        (want, node_name): &mut Self::Plan,
        ctx: &mut Ctx,
        _: &mut Findings,
    ) -> Result<Node, Failure> {
        let api: Api<Node> = Api::all(ctx.connect().await?.client);
        find_node(&api, node_name.as_deref(), want.local_ipv4.as_deref()).await
    }

    fn check((want, _): &Self::Plan, node: &mut Node, f: &mut Findings) {
        // spec.providerID is immutable once set (ValidateNodeUpdate).
        if let Some(cur) = current(node).filter(|cur| *cur != want.provider_id) {
            let name = node.metadata.name.as_deref().unwrap_or_default();
            f.error(
                "provider_id",
                format!(
                    "Node {name} already has providerID {cur}, not {}; the API server refuses to change a set providerID, and the controller registers the instance it names.",
                    want.provider_id
                ),
                "if the Node really is this instance, delete the Node and restart its kubelet with --provider-id (or the AWS cloud-controller-manager); otherwise check node_name.",
            );
        }
    }

    async fn write((want, _): Self::Plan, node: Node, ctx: &mut Ctx) -> Result<Outcome, Failure> {
        set(ctx, &want, node).await
    }
}

/// The Node's providerID, when set.
fn current(node: &Node) -> Option<&str> {
    node.spec
        .as_ref()
        .and_then(|s| s.provider_id.as_deref())
        .filter(|p| !p.is_empty())
}

pub struct Wanted {
    provider_id: String,
    source: &'static str,
    /// The host's InternalIP, to find its Node when no name is given.
    local_ipv4: Option<String>,
}

async fn wanted(p: &Args) -> Result<Wanted, Failure> {
    let mut f = Findings::new();
    if let Some(id) = p.provider_id.as_deref() {
        check_provider_id(&mut f, id);
        if f.has_errors() {
            return Err(Error::Invalid(f.0).into());
        }
        return Ok(Wanted {
            provider_id: id.to_string(),
            source: "option",
            local_ipv4: None,
        });
    }
    if let (Some(id), Some(az)) = (p.instance_id.as_deref(), p.availability_zone.as_deref()) {
        check_instance_id(&mut f, "instance_id", id);
        check_zone(&mut f, "availability_zone", az);
        if f.has_errors() {
            return Err(Error::Invalid(f.0).into());
        }
        return Ok(Wanted {
            provider_id: provider_id(az, id),
            source: "inventory",
            local_ipv4: None,
        });
    }
    let timeout = Duration::from_secs(p.metadata_timeout.max(1) as u64);
    let found = match imds::endpoint(p.metadata_endpoint.as_deref()) {
        Ok(endpoint) => imds::identity(&endpoint, timeout).await,
        Err(e) => Err(e),
    };
    let me = found.map_err(|e| {
        Error::Invalid(vec![crate::validate::Finding::error(
            "metadata_endpoint",
            format!("no instance ID was given and the instance metadata could not be read: {e}. Without an ID nothing can be set."),
            "run the task on the EC2 instance itself (IMDSv2 enabled), or give instance_id and availability_zone (or provider_id) from inventory.",
        )])
    })?;
    check_instance_id(&mut f, "metadata_endpoint", &me.instance_id);
    check_zone(&mut f, "metadata_endpoint", &me.availability_zone);
    if f.has_errors() {
        return Err(Error::Invalid(f.0).into());
    }
    Ok(Wanted {
        provider_id: provider_id(&me.availability_zone, &me.instance_id),
        source: "metadata",
        local_ipv4: me.local_ipv4,
    })
}

fn internal_ips(node: &Node) -> impl Iterator<Item = &str> {
    node.status
        .iter()
        .flat_map(|s| s.addresses.iter().flatten())
        .filter(|a| a.type_ == "InternalIP")
        .map(|a| a.address.as_str())
}

/// The Node named, or the one whose InternalIP is `ip` (Nodes read paged).
async fn find_node(api: &Api<Node>, name: Option<&str>, ip: Option<&str>) -> Result<Node, Failure> {
    if let Some(name) = name {
        return match api.get_opt(name).await {
            Ok(Some(n)) => Ok(n),
            Ok(None) => Err(Error::Invalid(vec![crate::validate::Finding::error(
                "node_name",
                format!("Node {name:?} does not exist: kubelet has not registered it (yet), so there is nothing to set."),
                "check the name (kubectl get nodes), or run this after the node joined the cluster.",
            )])
            .into()),
            Err(e) => Err(api_error(format!("read Node {name}"), e).into()),
        };
    }
    let Some(ip) = ip else {
        return Err(Error::Invalid(vec![crate::validate::Finding::error(
            "node_name",
            "the instance metadata has no local-ipv4 to find this host's Node by.",
            "give node_name.",
        )])
        .into());
    };
    let mut matches = Vec::new();
    let mut lp = ListParams::default().limit(500);
    loop {
        let page = api
            .list(&lp)
            .await
            .map_err(|e| api_error("list Nodes".into(), e))?;
        matches.extend(
            page.items
                .into_iter()
                .filter(|n| internal_ips(n).any(|a| a == ip)),
        );
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(Error::Invalid(vec![crate::validate::Finding::error(
            "node_name",
            format!("no Node has InternalIP {ip} (this instance's local-ipv4): kubelet on this host has not registered, or registered another address."),
            "give node_name, or run this after the node joined the cluster.",
        )])
        .into()),
        n => Err(Error::Invalid(vec![crate::validate::Finding::error(
            "node_name",
            format!("{n} Nodes have InternalIP {ip}; netpath will not guess which one is this host."),
            "give node_name.",
        )])
        .into()),
    }
}

/// Sets the providerID on a Node that has none; `check` refused a Node
/// with another one.
async fn set(ctx: &mut Ctx, want: &Wanted, node: Node) -> Result<Outcome, Failure> {
    let name = node.metadata.name.clone().unwrap_or_default();
    let current = current(&node).map(str::to_string);
    let mut extra = Map::new();
    extra.insert("node_name".into(), json!(name));
    extra.insert("source".into(), json!(want.source));
    match current {
        Some(cur) => {
            extra.insert("provider_id".into(), json!(cur));
            Ok(Outcome {
                changed: false,
                msg: format!("Node {name} already has providerID {cur}"),
                extra,
                ..Outcome::default()
            })
        }
        None => {
            if !ctx.check_mode {
                // resourceVersion makes it a compare-and-set: if anyone set
                // the field since the read, the write fails instead.
                let patch = json!({
                    "metadata": {"resourceVersion": node.metadata.resource_version},
                    "spec": {"providerID": want.provider_id},
                });
                let api: Api<Node> = Api::all(ctx.connect().await?.client);
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|e| api_error(format!("set spec.providerID of Node {name}"), e))?;
            }
            extra.insert("provider_id".into(), json!(want.provider_id));
            let diff = if ctx.diff {
                vec![DiffEntry {
                    before_header: format!("Node {name}"),
                    after_header: format!("Node {name}"),
                    before: "spec:\n  providerID: \"\"\n".into(),
                    after: format!("spec:\n  providerID: {}\n", want.provider_id),
                }]
            } else {
                Vec::new()
            };
            Ok(Outcome {
                changed: true,
                msg: format!(
                    "Node {name}: providerID set to {} (from {})",
                    want.provider_id, want.source
                ),
                diff,
                extra,
                ..Outcome::default()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(f: &Findings) -> Vec<String> {
        f.errors()
            .map(|e| format!("{}: {}", e.field, e.problem))
            .collect()
    }

    #[test]
    fn provider_id_form() {
        let mut f = Findings::new();
        check_provider_id(&mut f, "aws:///eu-west-1a/i-0123456789abcdef0");
        assert!(!f.has_errors(), "{:?}", errors(&f));
        for bad in [
            "i-0123456789abcdef0",
            "aws://eu-west-1a/i-0123",
            "aws:///eu-west-1a/",
            "aws:///eu-west-1a/vol-1234",
            "aws:///EU-WEST-1A/i-0123",
            "aws:///eu-west-1a/i-01/x",
        ] {
            let mut f = Findings::new();
            check_provider_id(&mut f, bad);
            assert!(f.has_errors(), "{bad} passed");
            assert!(
                errors(&f)[0].starts_with("provider_id: "),
                "{:?}",
                errors(&f)
            );
        }
    }

    #[test]
    fn inventory_parts() {
        let mut f = Findings::new();
        check_instance_id(&mut f, "instance_id", "i-0abc");
        check_zone(&mut f, "availability_zone", "us-west-2-lax-1a");
        assert!(!f.has_errors(), "{:?}", errors(&f));
        check_instance_id(&mut f, "instance_id", "i-");
        check_zone(&mut f, "availability_zone", "eu-west-1");
        let e = errors(&f);
        assert!(e[0].contains("not an EC2 instance ID"), "{e:?}");
        assert!(e[1].contains("not an availability zone"), "{e:?}");
    }

    #[test]
    fn metadata_disabled_unless_endpoint_given() {
        // SAFETY: this test alone touches these variables in this binary.
        unsafe { std::env::set_var(imds::DISABLED_ENV, "true") };
        assert!(matches!(
            imds::endpoint(None),
            Err(imds::ImdsError::Disabled)
        ));
        assert_eq!(
            imds::endpoint(Some("http://127.0.0.1:9/")).unwrap(),
            "http://127.0.0.1:9"
        );
        assert!(matches!(
            imds::endpoint(Some("https://x")),
            Err(imds::ImdsError::BadEndpoint { .. })
        ));
        unsafe { std::env::remove_var(imds::DISABLED_ENV) };
    }
}
