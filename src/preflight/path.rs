//! The whole-path check behind the `netcheck` module and `netpath check`:
//! inputs (VPC, pod and service CIDRs, node port range, CNI, ingresses) and,
//! when given, live state (IPPools, Services, kubeadm-config), down to the
//! security-group rules the path needs. Pure: the caller reads live state.

use crate::alb::model::{self, Plan, PlanArgs, Port};
use crate::alb::sg::{self, Groups, Target};
use crate::calico::mode::PoolMode;
use crate::net::cidr;
use crate::net::model::{CniPlugin, Peer, SgRule, TargetType};
use crate::net::mtu::Encapsulation;
use crate::net::network::{self, Network, NetworkArgs};
use crate::validate::{Finding, Findings};
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

pub const DEFAULT_SERVICE_CIDR: &str = "10.96.0.0/12";
const DOCKER_BRIDGE: &str = "172.17.0.0/16";

/// What was read from the cluster; None where it could not be read.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// None: the IPPool CRD is not served (Calico not installed).
    pub ippools: Option<Vec<Value>>,
    /// None: Services could not be listed.
    pub services: Option<Vec<Value>>,
    /// The kube-system/kubeadm-config ConfigMap, when it exists.
    pub kubeadm_config: Option<Value>,
    /// Calico's FelixConfiguration `default`, when it exists.
    pub felix: Option<Value>,
}

#[derive(Debug)]
pub struct Report {
    pub findings: Findings,
    pub rules: Vec<SgRule>,
    pub ec2_rules: Vec<Value>,
    pub terraform: Value,
    pub network: Value,
    /// Ports the ALB reaches, per backend: {namespace, service, port, node_port, source}.
    pub node_ports: Vec<Value>,
    /// The rule the AWS Load Balancer Controller adds itself when it manages
    /// the backend rules (see `controller_rule`); null when it adds none.
    pub controller_rule: Value,
    pub plan: Plan,
}

/// The inputs of the whole-path check, typed (the `netcheck` options the
/// path depends on).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PathArgs {
    #[serde(flatten)]
    pub network: NetworkArgs,
    #[serde(flatten)]
    pub plan: PlanArgs,
    pub service_cidr: Option<String>,
    pub open_node_port_range: Option<bool>,
    pub alb_security_group: Option<String>,
    pub worker_security_group: Option<String>,
}

/// The inputs parsed, before any live state: what netcheck knows without
/// the cluster (the Ingresses' annotations name the ALBs' security groups).
#[derive(Debug, Clone)]
pub struct Parsed {
    net: Network,
    service_cidr: Option<IpNet>,
    /// The network's and the service CIDR's findings.
    net_findings: Findings,
    pub plan: Plan,
    /// The Ingresses' findings, against the inputs' network.
    plan_findings: Findings,
}

/// The inputs alone: the network, the service CIDR and the Ingresses.
pub fn parse(p: &PathArgs) -> Parsed {
    let mut f = Findings::new();
    let net = Network::parse(&p.network, &mut f);
    let service_cidr = match cidr::parse_cidr(
        "service_cidr",
        p.service_cidr
            .as_deref()
            .unwrap_or(DEFAULT_SERVICE_CIDR)
            .trim(),
    ) {
        Ok(n) => Some(n),
        Err(e) => {
            f.push(e);
            None
        }
    };
    let mut plan_findings = Findings::new();
    let plan = model::parse_plan(&p.plan, &net, false, &mut plan_findings);
    Parsed {
        net,
        service_cidr,
        net_findings: f,
        plan,
        plan_findings,
    }
}

/// `parse`, then `check`: the whole path in one step.
pub fn run(p: &PathArgs, live: Option<&Live>) -> Report {
    check(p, &parse(p), live)
}

/// The path's checks on `parsed` (`parse(p)`) and, when given, live state.
pub fn check(p: &PathArgs, parsed: &Parsed, live: Option<&Live>) -> Report {
    let mut f = parsed.net_findings.clone();
    let mut net = parsed.net.clone();
    let mut service_cidr = parsed.service_cidr;
    if let Some(cfg) = live
        .and_then(|l| l.kubeadm_config.as_ref())
        .and_then(cluster_configuration)
    {
        kubeadm_checks(&cfg, &mut net, &mut service_cidr, &mut f);
    }
    if let Some(felix) = live.and_then(|l| l.felix.as_ref()) {
        felix_checks(felix, &mut net, &mut f);
    }
    check_cidrs(&net, service_cidr, &mut f);
    if net.model.cni_plugin == CniPlugin::Calico {
        match live.map(|l| l.ippools.as_deref()) {
            Some(Some(pools)) => check_pools(pools, &net, service_cidr, &mut f),
            Some(None) => f.warning(
                "cni_plugin",
                "the cluster serves no crd.projectcalico.org/v1 IPPool: Calico is not \
                 installed, so pods get no addresses and no overlay exists yet.",
                "install Calico (the cni role) before the ingress resources.",
            ),
            None if net.model.encapsulation == Encapsulation::None => f.warning(
                "encapsulation",
                "without encapsulation pod IPs go on the wire unencapsulated; the VPC drops \
                 them unless every node has source/destination check disabled and routes to \
                 every node's pod block exist.",
                "use encapsulation: vxlan (vxlanMode Always or CrossSubnet) on AWS.",
            ),
            None => {}
        }
    }

    // The NodePorts are checked against the cluster's range where kubeadm
    // gives another one.
    let plan = if net.node_port_range == parsed.net.node_port_range {
        f.extend(parsed.plan_findings.0.iter().cloned());
        parsed.plan.clone()
    } else {
        model::parse_plan(&p.plan, &net, false, &mut f)
    };
    let live_services = live.and_then(|l| l.services.as_deref());
    if let Some(svcs) = live_services {
        model::check_live_services(&plan, svcs, &mut f);
    }

    let mut node_ports = Vec::new();
    let (targets, ip_rules) = targets(&plan, live_services, &mut node_ports, &mut f);
    let mut rules = sg::alb_rules(
        &targets,
        net.node_port_range,
        p.open_node_port_range.unwrap_or(false),
        &mut f,
    );
    rules.extend(ip_rules);
    rules.extend(net.model.node_rules());
    let controller_rule = controller_rule(&plan, &node_ports, live_services, &mut f);

    let groups = Groups {
        alb: p
            .alb_security_group
            .clone()
            .unwrap_or_else(|| sg::DEFAULT_ALB_GROUP.to_string()),
        worker: p
            .worker_security_group
            .clone()
            .unwrap_or_else(|| sg::DEFAULT_WORKER_GROUP.to_string()),
    };
    let mut network = net.model.facts();
    network["service_cidr"] = json!(service_cidr.map(|c| c.to_string()));
    network["node_port_range"] = json!(format!(
        "{}-{}",
        net.node_port_range.0, net.node_port_range.1
    ));
    network["live"] = json!(live.is_some());
    network["vxlan_port"] = json!(net.model.vxlan_port);
    Report {
        ec2_rules: sg::ec2_rules(&rules, &groups),
        terraform: sg::terraform(&rules, &groups),
        findings: f,
        rules,
        network,
        node_ports,
        controller_rule,
        plan,
    }
}

/// Whether the controller adds worker rules for `app`: it does when it makes
/// the frontend SG itself (no `security-groups`), or when asked to.
pub fn controller_manages_rules(app: &model::IngressSpec) -> bool {
    app.annotation("security-groups").is_none()
        || app
            .annotation("manage-backend-security-group-rules")
            .is_some_and(|a| a.value.trim().eq_ignore_ascii_case("true"))
}

/// What the controller itself will open on the worker SG for these
/// Ingresses (instance targets): one range over all their NodePorts and
/// numeric health-check ports, with a warning when that range also covers
/// NodePorts of live Services that are no backend here.
fn controller_rule(
    plan: &Plan,
    node_ports: &[Value],
    live: Option<&[Value]>,
    f: &mut Findings,
) -> Value {
    let mut ports: Vec<(u16, String)> = Vec::new();
    let mut unknown = false;
    let mut backends: HashSet<(String, String)> = HashSet::new();
    let mut field = String::new();
    for (i, app) in plan.ingresses.iter().enumerate() {
        if !app.present || !controller_manages_rules(app) {
            continue;
        }
        for np in node_ports.iter().filter(|n| {
            n["namespace"] == app.namespace.as_str()
                && n["ingress"] == app.name.as_str()
                && n.get("node_port").is_some()
        }) {
            let svc = np["service"].as_str().unwrap_or_default();
            backends.insert((app.namespace.clone(), svc.to_string()));
            match np["node_port"].as_u64().and_then(|n| u16::try_from(n).ok()) {
                Some(n) => {
                    ports.push((
                        n,
                        format!(
                            "{}/{svc}:{}",
                            app.namespace,
                            np["port"].as_str().unwrap_or_default()
                        ),
                    ));
                    if field.is_empty() {
                        field = format!("ingresses[{i}]");
                    }
                }
                None => unknown = true,
            }
        }
        if let Some(a) = app.annotation("healthcheck-port")
            && let Ok(n) = a.value.parse::<u16>()
            && !backends.is_empty()
        {
            ports.push((n, format!("health check of {}/{}", app.namespace, app.name)));
        }
    }
    let Some(range) = sg::controller_range(&ports) else {
        return Value::Null;
    };
    let (lo, hi) = (range.from_port, range.to_port);
    let mut others: Vec<String> = Vec::new();
    for svc in live.unwrap_or_default() {
        let (Some(ns), Some(name)) = (
            svc["metadata"]["namespace"].as_str(),
            svc["metadata"]["name"].as_str(),
        ) else {
            continue;
        };
        if backends.contains(&(ns.to_string(), name.to_string())) {
            continue;
        }
        for p in svc["spec"]["ports"].as_array().into_iter().flatten() {
            if let Some(n) = p["nodePort"].as_u64()
                && (u64::from(lo)..=u64::from(hi)).contains(&n)
            {
                others.push(format!("{ns}/{name} ({n})"));
            }
        }
    }
    if !others.is_empty() {
        f.warning(
            &field,
            format!(
                "the AWS Load Balancer Controller opens a port range, not ports: from its shared \
                 backend security group it adds one rule tcp {lo}-{hi} to the worker security \
                 group, spanning every NodePort behind its ALBs, so it also opens the NodePorts \
                 of Services that are no backend of these Ingresses: {}. netpath's own rules \
                 (security_group_rules) open only the ports in use.",
                others.join(", ")
            ),
            "fix the NodePorts behind the ALB next to each other (node_port), move those \
             Services' NodePorts outside the range, or set security-groups on the Ingresses so the \
             controller adds no rules and apply netpath's exact rules instead.",
        );
    }
    json!({
        "protocol": "tcp",
        "from_port": lo,
        "to_port": hi,
        "source": "the controller's shared backend security group (k8s-traffic-<cluster>-<hash>)",
        "ports_in_use": range.in_use.iter().map(|(p, w)| json!({"port": p, "used_by": w})).collect::<Vec<_>>(),
        "also_opens_node_ports_of": others,
        "all_node_ports_known": !unknown,
        "note": "NodePorts behind other Ingresses of the cluster that share the backend \
                 security group widen the range further; --disable-restricted-sg-rules opens all TCP",
    })
}

/// `data.ClusterConfiguration` of the kubeadm-config ConfigMap, parsed.
fn cluster_configuration(cm: &Value) -> Option<Value> {
    let text = cm["data"]["ClusterConfiguration"].as_str()?;
    serde_saphyr::from_str::<Value>(text).ok()
}

/// kube-apiserver's extraArgs: a map (v1beta3) or a list of {name, value} (v1beta4).
fn extra_arg<'a>(cfg: &'a Value, name: &str) -> Option<&'a str> {
    let args = &cfg["apiServer"]["extraArgs"];
    match args {
        Value::Object(m) => m.get(name).and_then(Value::as_str),
        Value::Array(a) => a
            .iter()
            .find(|x| x["name"] == name)
            .and_then(|x| x["value"].as_str()),
        _ => None,
    }
}

/// The VXLAN port Felix really uses: a rule for another port would leave
/// the overlay blocked between nodes.
fn felix_checks(felix: &Value, net: &mut Network, f: &mut Findings) {
    let Some(port) = felix["spec"]["vxlanPort"].as_u64() else {
        return;
    };
    let Ok(port) = u16::try_from(port) else {
        return;
    };
    if port != net.model.vxlan_port && net.model.encapsulation == Encapsulation::Vxlan {
        f.warning(
            "vxlan_port",
            format!(
                "vxlan_port {} differs from the cluster's FelixConfiguration default vxlanPort \
                 {port}; nodes exchange VXLAN on {port}, so the rules use it.",
                net.model.vxlan_port
            ),
            format!("set vxlan_port: {port} (netcheck_vxlan_port) so inputs and cluster agree."),
        );
    }
    net.model.vxlan_port = port;
}

fn kubeadm_checks(
    cfg: &Value,
    net: &mut Network,
    service_cidr: &mut Option<IpNet>,
    f: &mut Findings,
) {
    const WHERE: &str = "kube-system/kubeadm-config";
    if let Some(s) = cfg["networking"]["serviceSubnet"].as_str()
        && let Some(live) = s
            .split(',')
            .filter_map(|c| c.trim().parse::<IpNet>().ok())
            .find(|c| c.addr().is_ipv4())
        && Some(live) != *service_cidr
    {
        f.warning(
            "service_cidr",
            format!(
                "service_cidr {} differs from the cluster's serviceSubnet {live} ({WHERE}); \
                 the checks use the cluster's value.",
                service_cidr.map(|c| c.to_string()).unwrap_or_default()
            ),
            format!("set service_cidr: {live} so inputs and cluster agree."),
        );
        *service_cidr = Some(live);
    }
    if let Some(r) = extra_arg(cfg, "service-node-port-range") {
        let mut scratch = Findings::new();
        let live = network::parse_node_port_range("node_port_range", r, &mut scratch);
        if scratch.0.is_empty() && live != net.node_port_range {
            f.warning(
                "node_port_range",
                format!(
                    "node_port_range {}-{} differs from kube-apiserver's \
                     --service-node-port-range {r} ({WHERE}); the checks and rules use the \
                     cluster's range.",
                    net.node_port_range.0, net.node_port_range.1
                ),
                format!("set node_port_range: {}-{}.", live.0, live.1),
            );
            net.node_port_range = live;
        }
    }
    if net.model.cni_plugin == CniPlugin::Calico
        && let Some(s) = cfg["networking"]["podSubnet"].as_str()
    {
        let subnets: Vec<IpNet> = s
            .split(',')
            .filter_map(|c| c.trim().parse::<IpNet>().ok())
            .collect();
        for pod in &net.model.pod_cidrs {
            let same_family: Vec<&IpNet> = subnets
                .iter()
                .filter(|n| n.addr().is_ipv4() == pod.addr().is_ipv4())
                .collect();
            if !same_family.is_empty() && !same_family.iter().any(|n| cidr::contains(**n, *pod)) {
                f.warning(
                    "pod_cidr",
                    format!(
                        "IPPool {pod} is not within the platform's configured pod network \
                         CIDR(s) [{s}] (kubeadm podSubnet, {WHERE}). The Tigera operator marks \
                         itself Degraded, and kube-controller-manager hands nodes podCIDRs \
                         that do not match the pods' addresses."
                    ),
                    format!(
                        "use the same range in both: pod_cidr (Calico's pool) and kubeadm's \
                         networking.podSubnet ({s})."
                    ),
                );
            }
        }
    }
}

fn check_cidrs(net: &Network, service_cidr: Option<IpNet>, f: &mut Findings) {
    let vpc_refs = net.vpc_ranges();
    let docker: IpNet = DOCKER_BRIDGE.parse().expect("valid");
    let calico = net.model.cni_plugin == CniPlugin::Calico;
    network::check_pod_cidrs(net, f);
    for pod in &net.model.pod_cidrs {
        if let Some(svc) = service_cidr {
            cidr::check_no_overlap(
                "pod_cidr",
                *pod,
                &[("the service CIDR", svc)],
                "Service virtual IPs and pod IPs would collide: kube-proxy rewrites traffic \
                 meant for those pods.",
                f,
            );
        }
        if calico && cidr::overlaps(*pod, docker) {
            f.warning(
                "pod_cidr",
                format!(
                    "{pod} overlaps Docker's default bridge {DOCKER_BRIDGE}; hosts with a \
                     docker0 bridge route those pod addresses to it."
                ),
                "choose a pod range away from 172.17.0.0/16, e.g. 192.168.0.0/16.",
            );
        }
    }
    if let Some(svc) = service_cidr {
        cidr::check_no_overlap(
            "service_cidr",
            svc,
            &vpc_refs,
            "kube-proxy captures traffic to those VPC addresses as Service traffic, so nodes \
             cannot reach the VPC hosts there.",
            f,
        );
        cidr::check_no_overlap(
            "service_cidr",
            svc,
            &[("the link-local range", cidr::LINK_LOCAL_V4)],
            "the EC2 metadata endpoint 169.254.169.254 would become unreachable from pods.",
            f,
        );
    }
}

fn check_pools(pools: &[Value], net: &Network, service_cidr: Option<IpNet>, f: &mut Findings) {
    let enabled: Vec<&Value> = pools
        .iter()
        .filter(|p| p["spec"]["disabled"] != json!(true))
        .collect();
    if enabled.is_empty() {
        f.warning(
            "pod_cidr",
            "the cluster has no enabled IPPool yet; calico-node creates one from \
             CALICO_IPV4POOL_CIDR on first start, and until then pods get no addresses.",
            "apply the pool with the ippool module (cidr = pod_cidr) before workloads.",
        );
    }
    let vpcs = net.vpc_ranges();
    for pool in enabled {
        let name = pool["metadata"]["name"].as_str().unwrap_or("?");
        let field = format!("live IPPool {name}");
        let spec = &pool["spec"];
        let Some(c) = spec["cidr"].as_str().and_then(|c| c.parse::<IpNet>().ok()) else {
            f.warning(
                &field,
                format!(
                    "spec.cidr {} is not a CIDR; Calico ignores this pool.",
                    spec["cidr"]
                ),
                "fix or delete the pool with the ippool module.",
            );
            continue;
        };
        cidr::check_not_in_vpc(&field, c, &vpcs, f);
        if let Some(svc) = service_cidr {
            cidr::check_no_overlap(
                &field,
                c,
                &[("the service CIDR", svc)],
                "Service virtual IPs and pod IPs would collide.",
                f,
            );
        }
        if !net.model.pod_cidrs.iter().any(|p| cidr::contains(*p, c)) {
            f.warning(
                &field,
                format!(
                    "the cluster's pool {name} ({c}) is outside pod_cidr ({}); the checks \
                     describe a network the cluster does not have.",
                    net.model
                        .pod_cidrs
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "set pod_cidr: {c}, or migrate the pool to pod_cidr with the ippool module."
                ),
            );
        }
        let (vxlan, ipip) = (
            PoolMode::of(&spec["vxlanMode"]).is_on(),
            PoolMode::of(&spec["ipipMode"]).is_on(),
        );
        let encap = net.model.encapsulation;
        if vxlan && ipip {
            f.error(
                &field,
                "Cannot enable both VXLAN and IPIP on the same IPPool: Calico refuses the pool \
                 and the nodes disagree on how to reach each other's pods.",
                "set ipipMode: Never and keep vxlanMode (VXLAN works on AWS without BGP).",
            );
        } else if vxlan && encap != Encapsulation::Vxlan {
            f.error(
                "encapsulation",
                format!(
                    "pool {name} uses VXLAN (vxlanMode {}), but encapsulation is {}: the \
                     security-group rules would not open UDP {} between nodes, so cross-node \
                     pod traffic is dropped.",
                    spec["vxlanMode"].as_str().unwrap_or_default(),
                    encap.as_str(),
                    net.model.vxlan_port
                ),
                "set encapsulation: vxlan.",
            );
        } else if ipip && encap != Encapsulation::Ipip {
            f.error(
                "encapsulation",
                format!(
                    "pool {name} uses IP-in-IP (ipipMode {}), but encapsulation is {}: the \
                     security-group rules would not allow IP protocol 4 between nodes, so \
                     cross-node pod traffic is dropped.",
                    spec["ipipMode"].as_str().unwrap_or_default(),
                    encap.as_str()
                ),
                "set encapsulation: ipip.",
            );
        } else if !vxlan && !ipip && matches!(encap, Encapsulation::Vxlan | Encapsulation::Ipip) {
            f.warning(
                &field,
                format!(
                    "pool {name} is not encapsulated (vxlanMode and ipipMode Never): pod IPs go \
                     on the wire as they are and the VPC drops them unless source/destination \
                     check is off and routes exist."
                ),
                "set vxlanMode: Always (or CrossSubnet) on the pool with the ippool module.",
            );
        }
        if spec["natOutgoing"] != json!(true) {
            f.warning(
                &field,
                format!(
                    "pool {name} has natOutgoing off: replies to pod-initiated traffic to the \
                     internet or VPC services have no route back to overlay addresses."
                ),
                "set natOutgoing: true on the pool.",
            );
        }
    }
}

fn port_matches(lp: &Value, port: &Port) -> bool {
    match port {
        Port::Number(n) => lp["port"].as_i64() == Some(*n),
        Port::Name(s) => lp["name"].as_str() == Some(s.as_str()),
    }
}

/// The ports the ALB must reach on the workers, per backend.
fn targets(
    plan: &Plan,
    live: Option<&[Value]>,
    out: &mut Vec<Value>,
    f: &mut Findings,
) -> (Vec<Target>, Vec<SgRule>) {
    let by_name: HashMap<(&str, &str), &Value> = live
        .unwrap_or_default()
        .iter()
        .filter_map(|o| {
            Some((
                (
                    o["metadata"]["namespace"].as_str()?,
                    o["metadata"]["name"].as_str()?,
                ),
                o,
            ))
        })
        .collect();
    let mut targets = Vec::new();
    let mut ip_ports: Vec<(u16, String)> = Vec::new();
    for app in plan.ingresses.iter().filter(|a| a.present) {
        let mut seen = HashSet::new();
        // use-annotation actions reach no Service: only what they forward to counts.
        for b in &app.service_backends() {
            if !seen.insert((b.service.clone(), b.port.clone())) {
                continue;
            }
            let ns = app.namespace.as_str();
            let what = format!("{ns}/{}:{}", b.service, b.port.describe());
            let task_port = app.service(&b.service).and_then(|s| {
                s.ports.iter().find(|p| match &b.port {
                    Port::Number(n) => p.port == *n,
                    Port::Name(n) => p.name.as_deref() == Some(n.as_str()),
                })
            });
            let live_port = by_name
                .get(&(ns, b.service.as_str()))
                .and_then(|o| o["spec"]["ports"].as_array())
                .and_then(|ps| {
                    ps.iter().find(|lp| match task_port {
                        Some(tp) => lp["port"].as_i64() == Some(tp.port),
                        None => port_matches(lp, &b.port),
                    })
                });
            // Per backend: a Service's target-type annotation wins.
            match app.target_type_for(&b.service).0 {
                TargetType::Instance => {
                    let (port, source) =
                        match task_port.and_then(|p| p.node_port).filter(|n| *n != 0) {
                            Some(n) => (Some(n), "input"),
                            None => match live_port.and_then(|lp| lp["nodePort"].as_i64()) {
                                Some(n) => (Some(n), "live"),
                                None => (None, "unassigned"),
                            },
                        };
                    out.push(
                        json!({"namespace": ns, "ingress": app.name, "service": b.service,
                        "port": b.port.describe(), "node_port": port, "source": source}),
                    );
                    let field = task_port
                        .map(|p| format!("{}.node_port", p.field))
                        .unwrap_or_else(|| b.field.clone());
                    targets.push(Target {
                        port: port.and_then(|n| u16::try_from(n).ok()),
                        what,
                        field,
                    });
                }
                TargetType::Ip => {
                    let tp = match task_port {
                        Some(p) => Some(p.target_port.clone().unwrap_or(Port::Number(p.port))),
                        None => live_port.map(|lp| match &lp["targetPort"] {
                            Value::String(s) => Port::Name(s.clone()),
                            v => Port::Number(v.as_i64().or(lp["port"].as_i64()).unwrap_or(0)),
                        }),
                    };
                    out.push(
                        json!({"namespace": ns, "ingress": app.name, "service": b.service,
                        "port": b.port.describe(), "target_port": tp.as_ref().map(Port::describe)}),
                    );
                    match tp {
                        Some(Port::Number(n)) if (1..=65535).contains(&n) => {
                            ip_ports.push((n as u16, what));
                        }
                        _ => f.warning(
                            &b.field,
                            format!(
                                "the pod port behind {what} is a named or unknown target port, \
                                 so no exact ALB → pod rule can be given."
                            ),
                            "give the Service a numeric target_port, or allow the container \
                             port from the ALB security group yourself.",
                        ),
                    }
                }
            }
        }
        // A numeric health-check port is probed on the target directly.
        if let Some(a) = app.annotation("healthcheck-port")
            && let Ok(n) = a.value.parse::<u16>()
        {
            let what = format!("health check of {}/{}", app.namespace, app.name);
            match app.target_type {
                TargetType::Instance => targets.push(Target {
                    port: Some(n),
                    what,
                    field: a.field.clone(),
                }),
                TargetType::Ip => ip_ports.push((n, what)),
            }
        }
    }
    let mut by_port: std::collections::BTreeMap<u16, Vec<String>> = Default::default();
    for (p, w) in ip_ports {
        let v = by_port.entry(p).or_default();
        if !v.contains(&w) {
            v.push(w);
        }
    }
    let ip_rules = by_port
        .into_iter()
        .map(|(p, users)| SgRule {
            protocol: "tcp".into(),
            from_port: i32::from(p),
            to_port: i32::from(p),
            source: Peer::AlbSecurityGroup,
            description: sg::truncate(format!("ALB to pod port {p} ({})", users.join(", "))),
        })
        .collect();
    (targets, ip_rules)
}

/// Findings as the plain dicts netcheck returns.
pub fn findings_json(f: &[Finding]) -> Value {
    serde_json::to_value(f).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests;
