//! `netcheck`: checks the whole ALB → NodePort → overlay path, from inputs
//! and (when a cluster is reachable) live state, and returns the
//! security-group rules it needs. Never writes.

use super::alb_ingress::{INGRESSES, NETWORK_OPTIONS};
use super::{Ctx, Failure, Module, ModuleDef};
use crate::alb::model::{Annotation, Plan, Scheme};
use crate::calico::mode::PoolMode;
use crate::error::Error;
use crate::kube::CONNECTION_OPTIONS;
use crate::kube::apply::api_error;
use crate::kube::read;
use crate::net::model::CniPlugin;
use crate::preflight::path;
use crate::preflight::{self, nodes::NodeView};
use crate::protocol::{Constraints, Kind, OptSpec, Outcome, Params};
use crate::validate::Findings;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

const OPTIONS: &[OptSpec] = &[
    OptSpec::new("controller_namespace", Kind::Str)
        .default("\"kube-system\"")
        .doc("Namespace of the AWS Load Balancer Controller's Deployment, read live."),
    OptSpec::new("controller_name", Kind::Str)
        .default("\"aws-load-balancer-controller\"")
        .doc("Name of the controller's Deployment. Live, netcheck checks that it is available and started with C(--cluster-name), C(--aws-region) and C(--aws-vpc-id) (matching O(cluster_name), O(region) and O(vpc_id) when given), that the IngressClass is the controller's, and which of its webhooks fail closed."),
    OptSpec::new("cluster_name", Kind::Str).doc(
        "The cluster name the subnets and the worker security group are tagged for (C(kubernetes.io/cluster/<name>)): the controller's C(--cluster-name) must be the same.",
    ),
    OptSpec::new("region", Kind::Str).doc("The AWS region of the path: the controller's C(--aws-region) must be the same."),
    OptSpec::new("vpc_id", Kind::Str).doc("The VPC of the path: the controller's C(--aws-vpc-id) must be the same."),
    OptSpec::new("service_cidr", Kind::Str)
        .default("\"10.96.0.0/12\"")
        .doc("The Service ClusterIP range (kubeadm networking.serviceSubnet)."),
    OptSpec::new("encapsulation", Kind::Str)
        .choices(&["vxlan", "ipip", "wireguard", "none"])
        .doc("Calico's encapsulation between nodes. Default: what O(vxlan_mode) and O(ipip_mode) give (C(ipip) if ipipMode is not C(Never), else C(vxlan) if vxlanMode is not, else C(none)); C(none) for aws-vpc-cni."),
    OptSpec::new("vxlan_mode", Kind::Str)
        .choices(crate::calico::ippool::MODES)
        .doc("The IPPool's spec.vxlanMode (the ippool module's O(vxlan_mode)), for O(encapsulation). Default C(Always)."),
    OptSpec::new("ipip_mode", Kind::Str)
        .choices(crate::calico::ippool::MODES)
        .doc("The IPPool's spec.ipipMode (the ippool module's O(ipip_mode)), for O(encapsulation). Default C(Never)."),
    OptSpec::new("calico_backend", Kind::Str)
        .choices(crate::calico::cni::BACKENDS)
        .doc("calico-config calico_backend (the cni module's O(calico_backend)), for O(bgp): C(bird) runs BGP. Default C(vxlan)."),
    OptSpec::new("vxlan_port", Kind::Int)
        .default("4789")
        .doc("FelixConfiguration vxlanPort."),
    OptSpec::new("bgp", Kind::Bool)
        .doc("Calico runs BGP between nodes (TCP 179). Default: O(calico_backend) is C(bird)."),
    OptSpec::new("typha", Kind::Bool)
        .default("false")
        .doc("Calico runs Typha (TCP 5473 from Felix)."),
    INGRESSES,
    OptSpec::new("alb_security_group", Kind::Str)
        .default("\"${aws_security_group.alb.id}\"")
        .doc("The ALB's security group as used in the outputs: an ID (C(sg-...)), a name, or a Terraform reference."),
    OptSpec::new("worker_security_group", Kind::Str)
        .default("\"${aws_security_group.worker.id}\"")
        .doc("The worker nodes' security group, the one the rules are added to."),
    OptSpec::new("open_node_port_range", Kind::Bool)
        .default("false")
        .doc("Open the whole node_port_range from the ALB instead of the exact NodePorts in use."),
    OptSpec::new("fail_on", Kind::Str)
        .default("\"error\"")
        .choices(&["error", "warning", "never"])
        .doc("Fail the task on error findings, on any finding, or never."),
    OptSpec::new("aws", Kind::Bool).doc(
        "Read AWS with the AWS SDK (standard credential chain and region: environment, profile, web identity, container or instance role; C(AWS_ENDPOINT_URL) honoured): the subnets the controller would choose per scheme, the instances the Nodes' providerIDs name, their ENIs' security groups and rules, metadata hop limits and source/destination check. Read only (Describe* calls). Default: when AWS credentials are configured in the environment or a shared credentials file; set C(true) to use an instance role.",
    ),
    OptSpec::new("live", Kind::Bool).doc(
        "Read live state (IPPools, Services and their node ports, kube-system/kubeadm-config, the FelixConfiguration default's vxlanPort). Default: when a cluster connection is configured; C(false) checks inputs only.",
    ),
];

pub const MODULE: ModuleDef = ModuleDef {
    name: "netcheck",
    short_description: "Check the whole ALB to pod network path and compute its security-group rules",
    description: &[
        "Checks VPC, pod and service CIDRs, the node port range, the CNI and every ingress (the same rules as alb_ingress) and, when a cluster is reachable, the live IPPools, Services with their node ports and the kubeadm ClusterConfiguration.",
        "With instance targets it also reads the Nodes (paged) as the AWS Load Balancer Controller selects them: not labelled C(node.kubernetes.io/exclude-from-external-load-balancers) (kubeadm's control planes), C(node-role.kubernetes.io/master) or C(alpha.service-controller.kubernetes.io/exclude-balancer), matching C(target-node-labels), Ready. Each such Node without a usable C(spec.providerID) is an error naming it (one blocks every instance target group), and so is an Ingress no Node can serve.",
        "With O(aws) (default when AWS credentials are configured) it also reads AWS: the subnets the controller would choose for each scheme (role tags, else v3.5.0's route to an internet gateway; two availability zones, 8 free addresses, not tagged for another cluster), that each instance a providerID names exists and runs, exactly one security group tagged C(kubernetes.io/cluster/<name>) on ENIs with several, the worker groups admitting the ALB's custom security groups on the NodePorts and UDP 4789 (or IPIP) between nodes, HttpPutResponseHopLimit where the controller relies on instance metadata, and source/destination check where the encapsulation needs it off. AWS errors are findings; credentials never appear in the output.",
        "Returns findings (severity, field, problem, fix) and the rules the worker security group needs: ALB security group to the NodePorts in use (or the whole range), node to node for the encapsulation; as C(amazon.aws.ec2_security_group) rules and as Terraform JSON (C(aws_vpc_security_group_ingress_rule)).",
        "Never writes; C(changed) is always false.",
    ],
    options: &[OPTIONS, NETWORK_OPTIONS, CONNECTION_OPTIONS],
    constraints: Constraints {
        mutually_exclusive: &[],
        required_together: &[],
        required_one_of: &[],
        required_if: &[],
    },
    examples: r#"- name: Check the seed's path and get the security-group rules
  netpath.calico_alb.netcheck:
    cni_plugin: calico
    pod_cidr: 192.168.0.0/16
    vpc_cidrs: [10.0.0.0/16]
    alb_security_group: sg-0123456789abcdef0
    worker_security_group: sg-0fedcba9876543210
    ingresses:
      - name: app-ingress
        rules: [{host: example.com, paths: [{path: /, service_name: app-service, service_port: 80}]}]
        services: [{name: app-service, port: 80, target_port: 8080, node_port: 30080, selector: {app: myapp}}]
  register: path

- name: Open the ports on the worker security group
  amazon.aws.ec2_security_group:
    name: workers
    description: worker nodes
    vpc_id: vpc-0123456789abcdef0
    purge_rules: false
    rules: "{{ path.security_group_rules }}"

- name: Or hand them to Terraform
  ansible.builtin.copy:
    content: "{{ path.terraform | to_nice_json }}"
    dest: terraform/netpath_rules.tf.json
"#,
    returns: r#"findings:
  description: Every problem found, errors and warnings.
  returned: always
  type: list
  elements: dict
  sample:
    - {severity: error, field: "ingresses[0].target_type", problem: "target-type ip registers pod IPs ...", fix: "use target_type: instance ..."}
security_group_rules:
  description: Ingress rules for the worker security group, in amazon.aws.ec2_security_group's rules format.
  returned: always
  type: list
  elements: dict
  sample:
    - {proto: tcp, from_port: 30080, to_port: 30080, group_id: sg-0123456789abcdef0, rule_desc: "ALB to worker port 30080 (default/app-service:80)"}
    - {proto: udp, from_port: 4789, to_port: 4789, group_id: sg-0fedcba9876543210, rule_desc: Calico VXLAN between nodes}
terraform:
  description: The same rules as Terraform JSON (aws_vpc_security_group_ingress_rule resources).
  returned: always
  type: dict
node_ports:
  description: Per Ingress backend, the NodePort (instance) or pod port (ip) the ALB reaches, and where it was learned (input, live, unassigned).
  returned: always
  type: list
  elements: dict
controller_rule:
  description: The one rule the AWS Load Balancer Controller itself adds to the worker security group when it manages the backend rules (no security_groups, or manage-backend-security-group-rules) - tcp from_port-to_port from its shared backend security group, spanning every NodePort sharing it, with ports_in_use and the live Services whose NodePorts it also opens (also_opens_node_ports_of); null when it adds none. netpath's own security_group_rules stay exact.
  returned: always
  type: dict
aws:
  description: What the AWS reads did (read, region, vpc_id, calls per operation and calls_total, errors); null when AWS was not read. The calls depend on the VPC and the number of Nodes, never on the number of Ingresses.
  returned: always
  type: dict
controller:
  description: The AWS Load Balancer Controller as read live (found, available, cluster_name, region, vpc_id, shared_backend_security_group, webhooks with their failure_policy); null without live state or Ingresses.
  returned: always
  type: dict
network:
  description: The network model (CNI, overlay, pod/VPC/service CIDRs, allowed and recommended target types, node rules).
  returned: always
  type: dict
"#,
    run: super::entry::<Netcheck>,
};

/// When the task fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    #[default]
    Error,
    Warning,
    Never,
}

/// The options, typed: deserialised once from the validated parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Args {
    #[serde(flatten)]
    pub path: path::PathArgs,
    pub controller_namespace: Option<String>,
    pub controller_name: Option<String>,
    pub cluster_name: Option<String>,
    pub region: Option<String>,
    pub vpc_id: Option<String>,
    pub fail_on: Option<FailOn>,
    pub aws: Option<bool>,
    pub live: Option<bool>,
    /// The pool's modes and the backend, for what `encapsulation` and `bgp`
    /// default to.
    pub vxlan_mode: Option<String>,
    pub ipip_mode: Option<String>,
    pub calico_backend: Option<String>,
}

impl Args {
    pub fn from_params(params: &Params) -> Result<Args, Error> {
        let mut args: Args = super::alb_ingress::typed(MODULE.name, params)?;
        args.derive_overlay();
        Ok(args)
    }

    /// The overlay Calico's settings give where `encapsulation` or `bgp` is
    /// not set: the pool's modes translated where the cni module translates
    /// them (calico::ippool::encapsulation), BGP when the backend is bird.
    fn derive_overlay(&mut self) {
        let net = &mut self.path.network;
        let calico = net.cni_plugin.unwrap_or(CniPlugin::Calico) == CniPlugin::Calico;
        if net.encapsulation.is_none() && calico {
            net.encapsulation = Some(crate::calico::ippool::encapsulation(
                self.vxlan_mode.as_deref(),
                self.ipip_mode.as_deref(),
            ));
        }
        if net.bgp.is_none() {
            net.bgp = Some(calico && self.calico_backend.as_deref() == Some("bird"));
        }
    }

    /// namespace/name of the controller's Deployment.
    fn controller(&self) -> (&str, &str) {
        (
            self.controller_namespace
                .as_deref()
                .unwrap_or("kube-system"),
            self.controller_name
                .as_deref()
                .unwrap_or("aws-load-balancer-controller"),
        )
    }
}

pub struct Netcheck;

/// The typed arguments, and the path as the inputs alone give it.
pub struct Planned {
    args: Args,
    path: path::Parsed,
}

/// What was read, and (after `check`) what netcheck concluded.
pub struct Found {
    /// None: no cluster state was read.
    cluster: Option<Cluster>,
    /// Why the cluster could not be read, when `live` was not asked for.
    unread: Option<String>,
    /// None: AWS was not read.
    aws: Option<AwsRead>,
    /// Set by `check`.
    report: Option<Report>,
}

/// The cluster as read live.
struct Cluster {
    state: path::Live,
    /// None: listing Nodes is forbidden.
    nodes: Option<Vec<NodeView>>,
    controller: ControllerState,
}

/// The AWS reads and the Nodes they were made for.
struct AwsRead {
    /// `aws: true`: a failed read is an error, not a warning.
    asked: bool,
    nodes: Vec<preflight::aws::NodeRef>,
    out: crate::aws::read::Outcome,
}

/// netcheck's result: its findings are what it returns, not a stop, so
/// they stay here rather than in the runner's findings.
struct Report {
    path: path::Report,
    /// The result's `controller` value.
    controller: Value,
    /// The result's `aws` value.
    aws: Value,
}

impl Module for Netcheck {
    type Args = Args;
    type Plan = Planned;
    type Live = Found;

    async fn plan(
        mut args: Args,
        _: &mut Ctx,
        _: &mut Findings,
    ) -> Result<Option<Planned>, Failure> {
        args.derive_overlay();
        let path = path::parse(&args.path);
        Ok(Some(Planned { args, path }))
    }

    async fn read(p: &mut Planned, ctx: &mut Ctx, _: &mut Findings) -> Result<Found, Failure> {
        let live = p.args.live;
        let mut unread = None;
        let cluster = if live == Some(false) {
            None
        } else {
            match read_live(ctx, &p.args).await {
                Ok(c) => Some(c),
                // Asked for explicitly: a cluster that cannot be read is a failure.
                Err(e) if live == Some(true) => return Err(e.into()),
                Err(e) => {
                    unread = Some(e.to_string());
                    None
                }
            }
        };
        let aws = if p
            .args
            .aws
            .unwrap_or_else(crate::aws::read::credentials_configured)
        {
            Some(read_aws(ctx, p, cluster.as_ref()).await)
        } else {
            None
        };
        Ok(Found {
            cluster,
            unread,
            aws,
            report: None,
        })
    }

    fn check(p: &Planned, found: &mut Found, _: &mut Findings) {
        let args = &p.args;
        let cluster = found.cluster.as_ref();
        let mut r = path::check(&args.path, &p.path, cluster.map(|c| &c.state));
        let controller = cluster
            .map(|c| check_controller(args, &c.controller, &r.plan, &mut r.findings))
            .unwrap_or(Value::Null);
        let aws = match &found.aws {
            Some(a) => {
                let pools = cluster.and_then(|c| c.state.ippools.as_deref());
                check_aws(args, a, &mut r, &controller, pools)
            }
            None => Value::Null,
        };
        match cluster {
            Some(Cluster {
                nodes: Some(nodes), ..
            }) => preflight::nodes::check(nodes, &r.plan, &mut r.findings),
            Some(_) => r.findings.warning(
                "live",
                "Nodes could not be listed (forbidden), so providerIDs and target eligibility were not checked.",
                "grant list on nodes to include them.",
            ),
            None => {}
        }
        if let Some(e) = &found.unread {
            r.findings.warning(
                "live",
                format!("no cluster state was read ({e}); the checks use the inputs only."),
                "configure the connection (kubeconfig, host, ...) to include live state, or set live: false.",
            );
        }
        found.report = Some(Report {
            path: r,
            controller,
            aws,
        });
    }

    async fn write(p: Planned, found: Found, ctx: &mut Ctx) -> Result<Outcome, Failure> {
        let Some(report) = found.report else {
            return Err(Error::Other(anyhow::anyhow!(
                "netpath internal error (please report it): netcheck summarised before its checks ran"
            ))
            .into());
        };
        summarise(ctx, p.args.fail_on.unwrap_or_default(), report)
    }
}

/// The result: findings, rules and what was read; a failure per `fail_on`
/// carries all of it too.
fn summarise(ctx: &mut Ctx, fail_on: FailOn, report: Report) -> Result<Outcome, Failure> {
    let r = report.path;
    let errors = r.findings.errors().count();
    let warnings = r.findings.warnings().count();
    ctx.warnings
        .extend(r.findings.warnings().map(ToString::to_string));

    let mut extra = Map::new();
    extra.insert("findings".into(), path::findings_json(&r.findings.0));
    extra.insert("security_group_rules".into(), json!(r.ec2_rules));
    extra.insert("terraform".into(), r.terraform);
    extra.insert("node_ports".into(), json!(r.node_ports));
    extra.insert("controller_rule".into(), r.controller_rule);
    extra.insert("network".into(), r.network);
    extra.insert("controller".into(), report.controller);
    extra.insert("aws".into(), report.aws);
    let msg = format!(
        "{errors} error{}, {warnings} warning{}; {} security-group rule{}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        r.rules.len(),
        if r.rules.len() == 1 { "" } else { "s" }
    );
    let fail = match fail_on {
        FailOn::Never => false,
        FailOn::Warning => errors + warnings > 0,
        FailOn::Error => errors > 0,
    };
    if fail {
        extra.insert("changed".into(), json!(false));
        let error = if errors > 0 {
            Error::Invalid(r.findings.0)
        } else {
            Error::Input(format!("netcheck: {msg} (fail_on: warning)"))
        };
        return Err(Failure {
            error: Box::new(error),
            extra,
        });
    }
    Ok(Outcome {
        changed: false,
        msg,
        diff: Vec::new(),
        warnings: Vec::new(),
        extra,
    })
}

/// Nodes as the controller sees them: paged, and only the few fields the
/// checks use are kept; None when listing them is forbidden.
async fn read_nodes(client: &kube::Client) -> Result<Option<Vec<NodeView>>, Error> {
    let api: Api<Node> = Api::all(client.clone());
    let mut out = Vec::new();
    let mut lp = ListParams::default().limit(500);
    loop {
        let page = match api.list(&lp).await {
            Ok(p) => p,
            Err(e) => {
                let e = api_error("list Nodes".into(), e);
                return read::unless_forbidden(Err(e));
            }
        };
        out.extend(page.items.iter().map(NodeView::from_node));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => return Ok(Some(out)),
        }
    }
}

/// Every Service, paged and kept as the fields the checks read (name,
/// namespace, alb annotations, type, ports, selector): a cluster's 10,000
/// Services as full objects cost ~100 MB. None when listing is forbidden.
async fn read_services(c: &kube::Client) -> Result<Option<Vec<Value>>, Error> {
    let mut out = Vec::new();
    let what = || format!("read {}", read::SERVICES);
    let params = ListParams::default().limit(500);
    // Each page compacted as it arrives: only one is ever held whole.
    let served = read::list_pages(c, read::SERVICES, &params, &what, |page| {
        out.extend(page.into_iter().map(compact_service));
    })
    .await;
    read::unless_forbidden(served.map(|served| served.then_some(out)))
}

fn compact_service(mut svc: Value) -> Value {
    let m = &mut svc["metadata"];
    let annotations: serde_json::Map<String, Value> = m["annotations"]
        .as_object()
        .map(|a| {
            a.iter()
                .filter(|(k, _)| k.starts_with("alb.ingress.kubernetes.io/"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "metadata": {"name": m["name"].take(), "namespace": m["namespace"].take(), "annotations": annotations},
        "spec": {"type": svc["spec"]["type"].take(), "ports": svc["spec"]["ports"].take(), "selector": svc["spec"]["selector"].take()},
    })
}

/// The controller's side as read live; None where the read was forbidden.
struct ControllerState {
    deployment: Option<Value>,
    forbidden: bool,
    ingress_classes: Vec<Value>,
    webhooks: Vec<Value>,
}

impl ControllerState {
    /// How the controller was started, where netcheck checks it (as
    /// `check_controller`): Ingresses in play, its Deployment read.
    fn started(&self, plan: &Plan) -> Option<preflight::controller::Started> {
        if !in_play(plan) || self.forbidden {
            return None;
        }
        self.deployment
            .as_ref()
            .and_then(preflight::controller::started)
    }
}

/// Whether any Ingress is present: the controller matters only then.
fn in_play(plan: &Plan) -> bool {
    plan.ingresses.iter().any(|a| a.present)
}

async fn read_controller(args: &Args, c: &kube::Client) -> Result<ControllerState, Error> {
    let (ns, name) = args.controller();
    let url = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
    let (deployment, forbidden) = match read::get(c, &url).await {
        Err(e) if read::status(&e) == Some(403) => (None, true),
        other => (other?, false),
    };
    // A handful per cluster: all of them, since the class each Ingress uses
    // is known only once the plan is parsed.
    let ingress_classes =
        read::unless_forbidden(read::list(c, read::INGRESS_CLASSES).await)?.unwrap_or_default();
    let mut webhooks = Vec::new();
    for kind in [
        "validatingwebhookconfigurations",
        "mutatingwebhookconfigurations",
    ] {
        let url = format!(
            "/apis/admissionregistration.k8s.io/v1/{kind}/{}",
            preflight::controller::WEBHOOK_CONFIGURATION
        );
        if let Some(mut w) = read::unless_forbidden(read::get(c, &url).await)? {
            // GET of one object carries its kind; keep only what is used.
            if let Some(o) = w.as_object_mut() {
                o.retain(|k, _| k == "kind" || k == "webhooks");
            }
            webhooks.push(w);
        }
    }
    Ok(ControllerState {
        deployment,
        forbidden,
        ingress_classes,
        webhooks,
    })
}

/// Controller findings, only where Ingresses are in play; the result's
/// `controller` value.
fn check_controller(args: &Args, c: &ControllerState, plan: &Plan, f: &mut Findings) -> Value {
    use preflight::controller as ctl;
    if !in_play(plan) {
        return Value::Null;
    }
    let (ns, name) = args.controller();
    let where_ = format!("{ns}/{name}");
    if c.forbidden {
        f.warning(
            "controller_name",
            format!("Deployment {where_} could not be read (forbidden), so the controller's flags were not checked."),
            "grant get on deployments in that namespace to include them.",
        );
        return Value::Null;
    }
    let expect = ctl::Expect {
        cluster_name: args.cluster_name.as_deref(),
        region: args.region.as_deref(),
        vpc_id: args.vpc_id.as_deref(),
    };
    let mut facts = ctl::check_deployment(&where_, c.deployment.as_ref(), &expect, f);
    let mut seen = std::collections::BTreeSet::new();
    for app in plan.ingresses.iter().filter(|a| a.present) {
        if seen.insert(app.class_name.as_str()) {
            let live = c
                .ingress_classes
                .iter()
                .find(|k| k["metadata"]["name"] == app.class_name.as_str());
            ctl::check_ingress_class(&app.class_name, live, f);
        }
    }
    let available = facts["available"].as_bool().unwrap_or(false);
    // Without the Deployment, fail-closed webhooks are the same warning.
    if c.deployment.is_some() {
        facts["webhooks"] = json!(ctl::check_webhooks(&c.webhooks, available, f));
    }
    facts
}

async fn read_live(ctx: &mut Ctx, args: &Args) -> Result<Cluster, Error> {
    let conn = ctx.connect().await?;
    let c = &conn.client;
    // A forbidden read leaves that part unchecked; any other failure stops
    // the check.
    let services = read_services(c).await?;
    let ippools = read::list(c, read::IPPOOLS).await?;
    let kubeadm_config = read::unless_forbidden(read::get(c, read::KUBEADM_CONFIG).await)?;
    let felix = read::unless_forbidden(read::get(c, read::FELIX_DEFAULT).await)?;
    let nodes = read_nodes(c).await?;
    let controller = read_controller(args, c).await?;
    Ok(Cluster {
        state: path::Live {
            ippools,
            services,
            kubeadm_config,
            felix,
        },
        nodes,
        controller,
    })
}

/// A comma-separated annotation's values.
fn list(v: Option<&Annotation>) -> Vec<String> {
    v.map(|a| {
        a.value
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// Reads AWS for the path: the VPC (given, or the controller's), the
/// instances the Nodes' providerIDs name, the ALBs' own security groups.
/// A read that fails is kept in its outcome for `check_aws`.
async fn read_aws(ctx: &mut Ctx, p: &Planned, cluster: Option<&Cluster>) -> AwsRead {
    use preflight::aws::NodeRef;
    // Masked wherever they might surface, even if the read fails.
    for k in [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
    ] {
        if let Ok(v) = std::env::var(k) {
            ctx.redactor.add(v);
        }
    }
    let args = &p.args;
    let started = cluster
        .and_then(|c| c.controller.started(&p.path.plan))
        .unwrap_or_default();
    let nodes: Vec<NodeRef> = cluster
        .and_then(|c| c.nodes.as_deref())
        .unwrap_or_default()
        .iter()
        .filter_map(|n| {
            Some(NodeRef {
                name: n.name.clone(),
                instance_id: n.instance_id()?.to_string(),
                target: n.is_target(),
            })
        })
        .collect();
    let query = crate::aws::read::Query {
        region: args.region.clone().or(started.region),
        vpc_id: args.vpc_id.clone().or(started.vpc_id),
        instance_ids: nodes
            .iter()
            .map(|n| n.instance_id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        alb_groups: p
            .path
            .plan
            .ingresses
            .iter()
            .filter(|a| a.present)
            .flat_map(|a| list(a.annotation("security-groups")))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    let out = crate::aws::read::read(&query).await;
    ctx.redactor.extend(out.secrets.iter().cloned());
    AwsRead {
        asked: args.aws == Some(true),
        nodes,
        out,
    }
}

/// The AWS findings; the result's `aws` value. A read that failed is a
/// finding (an error when `aws: true` was asked for), never a failure of
/// the module.
fn check_aws(
    args: &Args,
    a: &AwsRead,
    r: &mut path::Report,
    controller: &Value,
    ippools: Option<&[Value]>,
) -> Value {
    use preflight::aws::{Alb, Context};
    let ctl = |k: &str| controller[k].as_str().map(str::to_string);
    let mut albs = Vec::new();
    for app in r.plan.ingresses.iter().filter(|a| a.present) {
        let node_ports = r
            .node_ports
            .iter()
            .filter(|n| {
                n["namespace"] == app.namespace.as_str() && n["ingress"] == app.name.as_str()
            })
            .filter_map(|n| n["node_port"].as_u64().and_then(|n| u16::try_from(n).ok()))
            .collect();
        albs.push(Alb {
            field: app.field.clone(),
            ingress: format!("{}/{}", app.namespace, app.name),
            // The controller's default; an unknown value is refused by the checks.
            scheme: app
                .annotation("scheme")
                .and_then(|a| Scheme::parse(a.value.trim()))
                .unwrap_or(Scheme::Internal),
            subnets: list(app.annotation("subnets")),
            security_groups: list(app.annotation("security-groups")),
            controller_manages_rules: path::controller_manages_rules(app),
            instance_targets: app.target_type == crate::net::model::TargetType::Instance,
            node_ports,
        });
    }
    let calico = r.network["cni_plugin"] == "calico";
    let cross_subnet = ippools.unwrap_or_default().iter().any(|pool| {
        ["vxlanMode", "ipipMode"]
            .iter()
            .any(|k| PoolMode::of(&pool["spec"][*k]) == PoolMode::CrossSubnet)
    });
    let cx = Context {
        cluster_name: args.cluster_name.clone().or_else(|| ctl("cluster_name")),
        controller_uses_imds: controller["found"] == true
            && (controller["region"].is_null()
                || (controller["vpc_id"].is_null() && controller["vpc_tags"].is_null())),
        encapsulation: calico.then(|| {
            r.network["encapsulation"]
                .as_str()
                .unwrap_or("vxlan")
                .to_string()
        }),
        cross_subnet,
        vxlan_port: r.network["vxlan_port"]
            .as_u64()
            .and_then(|v| u16::try_from(v).ok())
            .unwrap_or(4789),
    };
    let out = &a.out;
    for e in &out.errors {
        let problem = format!(
            "AWS could not be read ({e}), so the AWS side of the path was not checked there."
        );
        let fix = "configure AWS credentials (environment, profile or instance role) with ec2:Describe* and a region (region, AWS_REGION), or set aws: false.";
        if a.asked {
            r.findings.error("aws", problem, fix);
        } else {
            r.findings.warning("aws", problem, fix);
        }
    }
    if out.facts.subnets.is_none() && out.facts.vpc_id.is_none() && out.errors.is_empty() {
        r.findings.warning(
            "vpc_id",
            "no VPC is known (vpc_id, the controller's --aws-vpc-id, or the Nodes' instances), so the subnets the controller would choose were not checked.",
            "set vpc_id.",
        );
    }
    preflight::aws::check(&out.facts, &a.nodes, &albs, &cx, &mut r.findings);
    let total: u32 = out.calls.values().sum();
    json!({
        "read": out.errors.is_empty(),
        "region": out.region,
        "vpc_id": out.facts.vpc_id,
        "calls": out.calls,
        "calls_total": total,
        "instances": out.facts.instances.as_ref().map(|m| m.len()),
        "subnets": out.facts.subnets.as_ref().map(|s| s.iter().map(|s| json!({"id": s.id, "az": s.az, "available_ips": s.available_ips})).collect::<Vec<_>>()),
        "errors": out.errors,
    })
}
