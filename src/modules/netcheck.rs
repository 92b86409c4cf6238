//! `netcheck`: checks the whole ALB → NodePort → overlay path, from inputs
//! and (when a cluster is reachable) live state, and returns the
//! security-group rules it needs. Never writes.

use super::alb_ingress::{INGRESSES, NETWORK_OPTIONS};
use super::{Ctx, Failure, ModuleDef};
use crate::alb::{live, netcheck};
use crate::error::Error;
use crate::kube::CONNECTION_OPTIONS;
use crate::kube::apply::api_error;
use crate::preflight::{self, nodes::NodeView};
use crate::protocol::{Constraints, Kind, OptSpec, Outcome};
use crate::validate::Finding;
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use serde_json::{Map, Value, json};

const OPTIONS: &[OptSpec] = &[
    OptSpec::new("service_cidr", Kind::Str)
        .default("\"10.96.0.0/12\"")
        .doc("The Service ClusterIP range (kubeadm networking.serviceSubnet)."),
    OptSpec::new("encapsulation", Kind::Str)
        .choices(&["vxlan", "ipip", "wireguard", "none"])
        .doc("Calico's encapsulation between nodes. Default C(vxlan) for calico, C(none) for aws-vpc-cni."),
    OptSpec::new("vxlan_port", Kind::Int)
        .default("4789")
        .doc("FelixConfiguration vxlanPort."),
    OptSpec::new("bgp", Kind::Bool)
        .default("false")
        .doc("Calico runs BGP between nodes (TCP 179)."),
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
network:
  description: The network model (CNI, overlay, pod/VPC/service CIDRs, allowed and recommended target types, node rules).
  returned: always
  type: dict
"#,
};

pub async fn run(ctx: &mut Ctx) -> Result<Outcome, Failure> {
    let live_opt = ctx.params.get("live").and_then(Value::as_bool);
    let mut notes: Vec<Finding> = Vec::new();
    // None: not read (no live state, or Nodes are forbidden).
    let mut nodes: Option<Vec<NodeView>> = None;
    let state = if live_opt == Some(false) {
        None
    } else {
        match read_live(ctx).await {
            Ok((l, n)) => {
                nodes = n;
                Some(l)
            }
            // Asked for explicitly: a cluster that cannot be read is a failure.
            Err(e) if live_opt == Some(true) => return Err(e.into()),
            Err(e) => {
                notes.push(Finding::warning(
                    "live",
                    format!("no cluster state was read ({e}); the checks use the inputs only."),
                    "configure the connection (kubeconfig, host, ...) to include live state, or set live: false.",
                ));
                None
            }
        }
    };
    let mut r = netcheck::run(&ctx.params, state.as_ref());
    match &nodes {
        Some(nodes) => preflight::nodes::check(nodes, &r.plan, &mut r.findings),
        None if state.is_some() => notes.push(Finding::warning(
            "live",
            "Nodes could not be listed (forbidden), so providerIDs and target eligibility were not checked.",
            "grant list on nodes to include them.",
        )),
        None => {}
    }
    r.findings.extend(notes);
    let errors = r.findings.errors().count();
    let warnings = r.findings.warnings().count();
    ctx.warnings
        .extend(r.findings.warnings().map(ToString::to_string));

    let mut extra = Map::new();
    extra.insert("findings".into(), netcheck::findings_json(&r.findings.0));
    extra.insert("security_group_rules".into(), json!(r.ec2_rules));
    extra.insert("terraform".into(), r.terraform);
    extra.insert("node_ports".into(), json!(r.node_ports));
    extra.insert("network".into(), r.network);
    let msg = format!(
        "{errors} error{}, {warnings} warning{}; {} security-group rule{}",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
        r.rules.len(),
        if r.rules.len() == 1 { "" } else { "s" }
    );
    let fail = match ctx.params.str("fail_on") {
        Some("never") => false,
        Some("warning") => errors + warnings > 0,
        _ => errors > 0,
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
                return live::unless_forbidden(Err(e));
            }
        };
        out.extend(page.items.iter().map(NodeView::from_node));
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => return Ok(Some(out)),
        }
    }
}

async fn read_live(ctx: &mut Ctx) -> Result<(netcheck::Live, Option<Vec<NodeView>>), Error> {
    let conn = ctx.connect().await?;
    let c = &conn.client;
    // A forbidden read leaves that part unchecked; any other failure stops
    // the check.
    let services = live::unless_forbidden(live::list(c, live::SERVICES).await)?;
    let ippools = live::list(c, live::IPPOOLS).await?;
    let kubeadm_config = live::unless_forbidden(live::get(c, live::KUBEADM_CONFIG).await)?;
    let felix = live::unless_forbidden(live::get(c, live::FELIX_DEFAULT).await)?;
    let nodes = read_nodes(c).await?;
    Ok((
        netcheck::Live {
            ippools,
            services,
            kubeadm_config,
            felix,
        },
        nodes,
    ))
}
