//! `alb_ingress`: IngressClass `alb`, Ingresses with typed
//! `alb.ingress.kubernetes.io/*` annotations, and their Services, checked
//! against the network model before anything is written.

use super::{APPLY_OPTIONS, ApplyArgs, Ctx, Failure, Module, ModuleDef};
use crate::alb::model::annotations;
use crate::alb::model::args::PlanArgs;
use crate::alb::{group, model, verify};
use crate::error::Error;
use crate::kube::read;
use crate::kube::{CONNECTION_OPTIONS, Resolver, apply};
use crate::net::model::CniPlugin;
use crate::net::network::{self, Network, NetworkArgs};
use crate::protocol::{Constraints, Kind, OptSpec, Outcome, Params};
use crate::validate::Findings;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The network inputs `alb_ingress` and `netcheck` share.
pub const NETWORK_OPTIONS: &[OptSpec] = &[
    OptSpec::new("cni_plugin", Kind::Str)
        .default("\"calico\"")
        .choices(CniPlugin::CHOICES)
        .doc("The cluster's CNI. C(calico) is an overlay (pod IPs outside the VPC: only C(instance) targets reach pods); C(aws-vpc-cni) gives pods VPC addresses (C(ip) targets work). Decides the target type when none is given."),
    OptSpec::new("pod_cidr", Kind::Str).doc(
        "The pod network (Calico IPPool cidr). Default C(192.168.0.0/16) for calico; for aws-vpc-cni the VPC CIDRs, since pods get VPC addresses.",
    ),
    OptSpec::new("vpc_cidrs", Kind::List(&Kind::Str))
        .default("[\"10.0.0.0/16\"]")
        .doc("The VPC's CIDR blocks (primary and secondary)."),
    OptSpec::new("node_port_range", Kind::Str)
        .default("\"30000-32767\"")
        .doc("kube-apiserver's C(--service-node-port-range); node_port values must lie in it."),
];

const BACKEND_OPTIONS: &[OptSpec] = &[
    OptSpec::new("service_name", Kind::Str)
        .required()
        .doc("Service the traffic goes to (backend.service.name), in the Ingress's namespace."),
    OptSpec::new("service_port", Kind::Raw)
        .required()
        .doc("The Service's port: a number (backend.service.port.number) or a port name (backend.service.port.name)."),
];

const PATH_OPTIONS: &[OptSpec] = &[
    OptSpec::new("path", Kind::Str)
        .default("\"/\"")
        .doc("The path (paths[].path)."),
    OptSpec::new("path_type", Kind::Str)
        .default("\"Prefix\"")
        .doc("paths[].pathType: C(Prefix), C(Exact) or C(ImplementationSpecific)."),
    BACKEND_OPTIONS[0],
    BACKEND_OPTIONS[1],
];

const RULE_OPTIONS: &[OptSpec] = &[
    OptSpec::new("host", Kind::Str).doc(
        "rules[].host: a DNS name, optionally with a leading C(*.); omit to match every host.",
    ),
    OptSpec::new("paths", Kind::List(&Kind::Dict))
        .suboptions(PATH_OPTIONS)
        .doc("rules[].http.paths."),
];

const SERVICE_PORT_OPTIONS: &[OptSpec] = &[
    OptSpec::new("name", Kind::Str).doc("ports[].name; required when a Service has several ports."),
    OptSpec::new("port", Kind::Int)
        .required()
        .doc("ports[].port."),
    OptSpec::new("target_port", Kind::Raw)
        .doc("ports[].targetPort: the container port number or name. Defaults to port."),
    OptSpec::new("node_port", Kind::Int)
        .doc("ports[].nodePort; omit to let Kubernetes assign one."),
    OptSpec::new("protocol", Kind::Str)
        .default("\"TCP\"")
        .choices(&["TCP", "UDP", "SCTP"])
        .doc("ports[].protocol."),
];

const SERVICE_OPTIONS: &[OptSpec] = &[
    OptSpec::new("name", Kind::Str).required().doc("metadata.name of the Service."),
    OptSpec::new("type", Kind::Str)
        .choices(&["NodePort", "ClusterIP", "LoadBalancer"])
        .doc("spec.type. Default C(NodePort) for instance targets, C(ClusterIP) for ip targets. Instance targets refuse ClusterIP."),
    OptSpec::new("port", Kind::Int).doc("spec.ports[0].port of a single-port Service."),
    OptSpec::new("target_port", Kind::Raw).doc("spec.ports[0].targetPort: container port number or name."),
    OptSpec::new("node_port", Kind::Int).doc("spec.ports[0].nodePort: a fixed NodePort in node_port_range; omit to let Kubernetes assign one. Checked against every other Service's node ports on the cluster."),
    OptSpec::new("port_name", Kind::Str).doc("spec.ports[0].name."),
    OptSpec::new("protocol", Kind::Str)
        .default("\"TCP\"")
        .choices(&["TCP", "UDP", "SCTP"])
        .doc("spec.ports[].protocol."),
    OptSpec::new("selector", Kind::Dict).doc("spec.selector: labels of the pods."),
    OptSpec::new("external_traffic_policy", Kind::Str)
        .choices(&["Cluster", "Local"])
        .doc("spec.externalTrafficPolicy (NodePort and LoadBalancer only). C(Local) saves the second hop; only nodes with a ready pod pass the ALB health check."),
    OptSpec::new("labels", Kind::Dict).doc("metadata.labels."),
    OptSpec::new("annotations", Kind::Dict).doc("metadata.annotations; C(alb.ingress.kubernetes.io/*) ones override the Ingress's for this backend."),
    OptSpec::new("ports", Kind::List(&Kind::Dict))
        .suboptions(SERVICE_PORT_OPTIONS)
        .doc("All ports of a multi-port Service (instead of port/target_port/node_port/port_name)."),
];

const INGRESS_HEAD: &[OptSpec] = &[
    OptSpec::new("name", Kind::Str)
        .required()
        .doc("metadata.name of the Ingress."),
    OptSpec::new("namespace", Kind::Str)
        .default("\"default\"")
        .doc("Namespace of the Ingress and its Services."),
    OptSpec::new("state", Kind::Str)
        .default("\"present\"")
        .choices(&["present", "absent"])
        .doc("C(absent) deletes the Ingress and its services."),
];

const INGRESS_TAIL: &[OptSpec] = &[
    OptSpec::new("certificate_discovery", Kind::Bool)
        .default("false")
        .doc("Rely on the controller's certificate discovery by rule host for HTTPS listeners without certificate_arn (no warning then)."),
    OptSpec::new("annotations", Kind::Dict).doc("Any other annotations, written as given. Known alb.ingress.kubernetes.io keys here are checked like the typed options; setting one both ways with different values is an error."),
    OptSpec::new("labels", Kind::Dict).doc("metadata.labels of the Ingress."),
    OptSpec::new("rules", Kind::List(&Kind::Dict))
        .suboptions(RULE_OPTIONS)
        .doc("spec.rules: host and paths."),
    OptSpec::new("default_backend", Kind::Dict)
        .suboptions(BACKEND_OPTIONS)
        .doc("spec.defaultBackend."),
    OptSpec::new("services", Kind::List(&Kind::Dict))
        .suboptions(SERVICE_OPTIONS)
        .doc("The Services behind this Ingress, applied with it."),
];

/// Suboptions of one `ingresses` entry (`netcheck` shares them): the typed
/// annotation options come from their definitions (alb::model::annotations).
pub const INGRESS_OPTIONS: &[OptSpec] =
    &concat::<{ INGRESS_HEAD.len() + annotations::OPTION_SPECS.len() + INGRESS_TAIL.len() }>(&[
        INGRESS_HEAD,
        &annotations::OPTION_SPECS,
        INGRESS_TAIL,
    ]);

/// The option lists end to end, at compile time.
const fn concat<const N: usize>(parts: &[&[OptSpec]]) -> [OptSpec; N] {
    let mut out = [OptSpec::new("", Kind::Str); N];
    let (mut n, mut i) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(n == N, "the lengths add up");
    out
}

pub const INGRESSES: OptSpec = OptSpec::new("ingresses", Kind::List(&Kind::Dict))
    .suboptions(INGRESS_OPTIONS)
    .doc("One entry per application: an Ingress and its Services.");

const CLASS_OPTIONS: &[OptSpec] = &[
    OptSpec::new("name", Kind::Str)
        .default("\"alb\"")
        .doc("metadata.name of the IngressClass; every Ingress's spec.ingressClassName."),
    OptSpec::new("state", Kind::Str)
        .default("\"present\"")
        .choices(&["present", "absent"])
        .doc("C(absent) deletes the IngressClass (and its IngressClassParams when params is given)."),
    OptSpec::new("params", Kind::Dict).doc(
        "IngressClassParams spec, in the controller's camelCase (scheme, group, targetType, inboundCIDRs, ...); creates IngressClassParams named like the class and references it. Its fields override the Ingresses' annotations.",
    ),
    OptSpec::new("is_default", Kind::Bool)
        .default("false")
        .doc("Mark the class as the cluster's default (ingressclass.kubernetes.io/is-default-class)."),
];

const OPTIONS: &[OptSpec] = &[
    OptSpec::new("ingress_class", Kind::Dict)
        .suboptions(CLASS_OPTIONS)
        .doc("The IngressClass (spec.controller ingress.k8s.aws/alb). Default: class C(alb), present."),
    OptSpec::new("ingress_class_annotation", Kind::Bool)
        .default("false")
        .doc("Also write the deprecated kubernetes.io/ingress.class annotation (equal to spec.ingressClassName, which the API server requires)."),
    INGRESSES,
    OptSpec::new("wait", Kind::Bool).default("false").doc(
        "After applying, wait until the AWS Load Balancer Controller has built the path: each Ingress has an ALB hostname and each backend's TargetGroupBinding exists and is reconciled (its targets registered). On failure or timeout the task fails quoting the controller's own Events on the Ingresses and TargetGroupBindings (FailedBuildModel, FailedReconcile, FailedNetworkReconcile...) with the fix netpath knows.",
    ),
    OptSpec::new("wait_timeout", Kind::Int)
        .default("300")
        .doc("Seconds O(wait) waits for the controller."),
    OptSpec::new("aws", Kind::Bool).doc(
        "With O(wait), also ask AWS how the ALB sees each target (DescribeTargetHealth, one call per target group and poll) and wait until every backend has a healthy target; a target group without one fails the wait with each target's state, AWS's reason code and netpath's fix. Default: on when AWS credentials are configured (environment or profile), as for netcheck; with C(true) a failed AWS read fails the wait, otherwise it is a warning and the wait ends at registration. Credentials never appear in the output.",
    ),
];

pub const MODULE: ModuleDef = ModuleDef {
    name: "alb_ingress",
    short_description: "IngressClass, Ingresses and Services for the AWS Load Balancer Controller, checked against the CNI",
    description: &[
        "Applies the IngressClass C(alb) (controller C(ingress.k8s.aws/alb)), one Ingress per application with typed C(alb.ingress.kubernetes.io/*) annotations, and the application's Services.",
        "The target type follows the network: with C(cni_plugin=calico) pod IPs are outside the VPC, so the ALB can only reach pods through NodePorts (C(target-type=instance), Services of type NodePort); with C(aws-vpc-cni) C(ip) targets and ClusterIP Services work.",
        "Every rule is checked before anything is written (target type versus pod CIDR, Service types, node ports free and in range, listen-ports, certificates, ssl-redirect, groups, health checks, hosts and paths); all problems are reported at once.",
        "Objects are compared with the live ones and written with server-side apply only when they differ; check mode writes nothing.",
    ],
    options: &[OPTIONS, NETWORK_OPTIONS, APPLY_OPTIONS, CONNECTION_OPTIONS],
    constraints: Constraints {
        mutually_exclusive: &[],
        required_together: &[],
        required_one_of: &[],
        required_if: &[],
    },
    examples: r#"- name: Seed pattern 1 - self-managed Kubernetes, Calico overlay, ALB to NodePorts
  netpath.calico_alb.alb_ingress:
    cni_plugin: calico
    pod_cidr: 192.168.0.0/16
    vpc_cidrs: [10.0.0.0/16]
    ingress_class_annotation: true
    ingresses:
      - name: app-ingress
        scheme: internet-facing
        target_type: instance
        listen_ports: [{HTTP: 80}, {HTTPS: 443}]
        certificate_arn: [arn:aws:acm:us-east-1:123456789012:certificate/abcd]
        ssl_redirect: 443
        rules:
          - host: example.com
            paths:
              - {path: /, path_type: Prefix, service_name: app-service, service_port: 80}
        services:
          - name: app-service
            selector: {app: myapp}
            port: 80
            target_port: 8080

- name: Pattern 2 - EKS with the VPC CNI, pods as ip targets
  netpath.calico_alb.alb_ingress:
    cni_plugin: aws-vpc-cni
    vpc_cidrs: [10.0.0.0/16]
    ingresses:
      - name: app-ingress
        scheme: internet-facing
        rules:
          - host: example.com
            paths: [{path: /, service_name: app-service, service_port: 80}]
        services:
          - {name: app-service, selector: {app: myapp}, port: 80, target_port: 8080}
"#,
    returns: r#"results:
  description: One entry per object (IngressClass, Services, Ingresses), in the order applied.
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: Service, api_version: v1, namespace: default, name: app-service, action: created}
load_balancers:
  description: With O(wait), per Ingress what the controller built, as far as it got - hostname (the ALB's DNS name) and per backend the ALB's hostname, the TargetGroupBinding, its target group ARN and state (pending, failing, registered; with O(aws) registering, healthy or unhealthy) and, with O(aws), its targets (id, port, state, AWS's reason and description).
  returned: when wait is true
  type: list
  elements: dict
  sample:
    - namespace: default
      name: app-ingress
      hostname: k8s-default-appingre-9064e365ff-1.eu-west-1.elb.amazonaws.com
      backends:
        - service: app-service
          port: "80"
          hostname: k8s-default-appingre-9064e365ff-1.eu-west-1.elb.amazonaws.com
          target_group_binding: k8s-default-appservi-0a1b2c3d4e
          target_group_arn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/k8s-default-appservi-0a1b2c3d4e/0123456789abcdef"
          state: healthy
          targets:
            - {id: i-0a1b2c3d4e5f60001, port: 31234, state: healthy}
            - {id: i-0a1b2c3d4e5f60002, port: 31234, state: unhealthy, reason: Target.Timeout, description: Request timed out}
ingresses:
  description: Per Ingress, the target type used and the Services with their node ports as assigned on the cluster (null in check mode before creation).
  returned: success
  type: list
  elements: dict
  sample:
    - name: app-ingress
      namespace: default
      target_type: instance
      services:
        - {name: app-service, type: NodePort, ports: [{port: 80, node_port: 31234}]}
"#,
    run: super::entry::<AlbIngress>,
};

/// The options, typed: deserialised once from the validated parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Args {
    #[serde(flatten)]
    pub network: NetworkArgs,
    #[serde(flatten)]
    pub plan: PlanArgs,
    pub wait: Option<bool>,
    pub wait_timeout: Option<i64>,
    pub aws: Option<bool>,
}

impl Args {
    pub fn from_params(params: &Params) -> Result<Args, Error> {
        typed(MODULE.name, params)
    }
}

/// A module's typed options, from the parameters the spec validated. A
/// failure is netpath's own bug (the spec and the types disagree).
pub(super) fn typed<T: serde::de::DeserializeOwned>(
    module: &str,
    params: &Params,
) -> Result<T, Error> {
    serde_json::from_value(Value::Object(params.values.clone())).map_err(|e| {
        Error::Input(format!(
            "{module}: the validated options do not fit their types ({e}); this is a bug of netpath"
        ))
    })
}

/// Renders and checks everything; errors stop before any connection. (A
/// failure to type the options is an error finding too.)
pub fn plan(params: &Params) -> (model::Plan, Findings) {
    match Args::from_params(params) {
        Ok(args) => plan_of(&args),
        Err(e) => {
            let mut f = Findings::new();
            f.error(
                "ingresses",
                e.to_string(),
                "report this as a bug of netpath.",
            );
            let plan = model::Plan {
                class: model::parse_class(None, true),
                ingresses: Vec::new(),
            };
            (plan, f)
        }
    }
}

/// The plan of typed options, and every finding.
pub fn plan_of(args: &Args) -> (model::Plan, Findings) {
    let mut f = Findings::new();
    let net = Network::parse(&args.network, &mut f);
    network::check_pod_cidrs(&net, &mut f);
    let plan = model::parse_plan(&args.plan, &net, true, &mut f);
    (plan, f)
}

/// The module's options and the engine's.
#[derive(Deserialize)]
pub struct RunArgs {
    #[serde(flatten)]
    args: Args,
    #[serde(flatten)]
    apply: ApplyArgs,
}

pub struct AlbIngress;

/// What the options mean, before the cluster is asked.
pub struct Planned {
    plan: model::Plan,
    wait: Option<bool>,
    wait_timeout: Option<i64>,
    aws: Option<bool>,
    apply: ApplyArgs,
}

/// The live state the checks compare the plan with; None where a read was
/// not needed or not allowed.
pub struct Found {
    services: Option<Vec<Value>>,
    /// IngressGroup members outside this task, when the task has groups.
    group_members: Option<Vec<group::Member>>,
    /// The IngressClasses the class check needs, when the task manages one.
    classes: Option<Vec<Value>>,
    /// Whether IngressClassParams is served, when the class has params.
    params_served: Option<bool>,
}

impl Module for AlbIngress {
    type Args = RunArgs;
    type Plan = Planned;
    type Live = Found;

    async fn plan(a: RunArgs, _: &mut Ctx, f: &mut Findings) -> Result<Option<Planned>, Failure> {
        let (plan, found) = plan_of(&a.args);
        f.extend(found.0);
        Ok(Some(Planned {
            plan,
            wait: a.args.wait,
            wait_timeout: a.args.wait_timeout,
            aws: a.args.aws,
            apply: a.apply,
        }))
    }

    /// Node ports held by other Services, backends outside this task,
    /// IngressGroup members and the existing IngressClass. Reads are
    /// consistent, and LISTs only where no GET can answer: a LIST right after
    /// a write (the previous task's) waits ~80 ms for the API server's watch
    /// cache, a GET goes to etcd at once.
    async fn read(p: &mut Planned, ctx: &mut Ctx, f: &mut Findings) -> Result<Found, Failure> {
        let client = ctx.connect().await?.client;
        let plan = &p.plan;
        let services = live_services(&client, plan, f).await?;
        let ours = group::task_members(&plan.ingresses, plan.class.params.as_ref());
        let mut group_members = None;
        if ours.iter().any(|m| m.group().is_some()) {
            group_members =
                group::live_members(&client, &plan.class.name, plan.class.params.as_ref()).await?;
            if group_members.is_none() {
                f.warning(
                    "ingresses",
                    "cannot list Ingresses (forbidden), so the settings of IngressGroup members \
                     outside this task were not compared with this task's.",
                    "grant list on ingresses (networking.k8s.io) at cluster scope to the user \
                     netpath runs as.",
                );
            }
        }
        let (mut classes, mut params_served) = (None, None);
        if plan.class.managed && plan.class.present {
            classes = Some(if plan.class.is_default {
                // Another default class is found only by looking at all of them.
                read::list(&client, read::INGRESS_CLASSES)
                    .await?
                    .unwrap_or_default()
            } else {
                let url = format!("{}/{}", read::INGRESS_CLASSES, plan.class.name);
                read::get(&client, &url).await?.into_iter().collect()
            });
            if plan.class.params.is_some() {
                params_served = Some(
                    read::get(&client, read::INGRESS_CLASS_PARAMS_API)
                        .await?
                        .is_some(),
                );
            }
        }
        Ok(Found {
            services,
            group_members,
            classes,
            params_served,
        })
    }

    fn check(p: &Planned, live: &mut Found, f: &mut Findings) {
        let plan = &p.plan;
        if let Some(svcs) = &live.services {
            model::check_live_services(plan, svcs, f);
        }
        if let Some(others) = &live.group_members {
            let ours = group::task_members(&plan.ingresses, plan.class.params.as_ref());
            group::check_live(&ours, others, f);
        }
        if let Some(classes) = &live.classes {
            model::check_live_classes(plan, classes, f);
        }
        if live.params_served == Some(false) {
            f.error(
                "ingress_class.params",
                "the cluster does not serve elbv2.k8s.aws/v1beta1 IngressClassParams: the AWS \
                 Load Balancer Controller's CRDs are not installed, so the parameters cannot be \
                 created.",
                "install the controller's CRDs first (the manifest module), or drop ingress_class.params.",
            );
        }
    }

    /// Applies, then (with `wait`) waits for the controller to build the path.
    async fn write(p: Planned, _: Found, ctx: &mut Ctx) -> Result<Outcome, Failure> {
        let Planned {
            plan,
            wait,
            wait_timeout,
            aws,
            apply: apply_args,
        } = p;
        let conn = ctx.connect().await?;
        let client = &conn.client;
        let opts = apply::Options {
            // The result reports the node ports the server assigned.
            keep_live: true,
            ..ctx.apply_options(&conn, &apply_args)
        };
        let mut resolver = Resolver::default();
        let report = apply::apply(client, &mut resolver, model::render(&plan), &opts).await;
        let mut extra = Map::new();
        extra.insert("ingresses".into(), summary(&plan, &report));
        let wait = wait.unwrap_or(false) && !ctx.check_mode && report.error.is_none();
        let mut outcome = super::finish(report, extra)?;
        if !wait {
            return Ok(outcome);
        }
        let timeout = std::time::Duration::from_secs(wait_timeout.unwrap_or(300).max(1) as u64);
        let mut aws = verify::Aws::from_option(aws);
        let waited = verify::wait(client, &plan, timeout, aws.as_mut()).await;
        if let Some(a) = &aws {
            ctx.redactor.extend(a.reader.secrets.iter().cloned());
        }
        match waited {
            Ok(built) => {
                outcome
                    .extra
                    .insert("load_balancers".into(), built.ingresses);
                ctx.warnings.extend(built.warnings);
                Ok(outcome)
            }
            Err((error, built)) => {
                let mut extra = std::mem::take(&mut outcome.extra);
                extra.insert("load_balancers".into(), built);
                extra.insert("changed".into(), json!(outcome.changed));
                Err(Failure {
                    error: Box::new(error),
                    extra,
                })
            }
        }
    }
}

/// The live Services `check_live_services` needs: every Service when the
/// task fixes a node port (who else holds it), else only the backends this
/// task does not define, one GET each. None when not allowed to read them.
async fn live_services(
    client: &kube::Client,
    plan: &model::Plan,
    f: &mut Findings,
) -> Result<Option<Vec<Value>>, Error> {
    let present = || plan.ingresses.iter().filter(|a| a.present);
    let fixed_port = present()
        .flat_map(|a| a.services.iter())
        .flat_map(|s| s.ports.iter())
        .any(|p| p.node_port.is_some());
    let read: Result<Vec<Value>, Error> = async {
        if fixed_port {
            return Ok(read::list(client, read::SERVICES)
                .await?
                .unwrap_or_default());
        }
        let mut found = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for app in present() {
            // Actions (use-annotation) are not Services: only what they forward to is read.
            for b in app.service_backends() {
                if app.service(&b.service).is_some()
                    || !seen.insert((app.namespace.clone(), b.service.clone()))
                {
                    continue;
                }
                let url = format!(
                    "/api/v1/namespaces/{}/services/{}",
                    app.namespace, b.service
                );
                found.extend(read::get(client, &url).await?);
            }
        }
        Ok(found)
    }
    .await;
    match read {
        Ok(svcs) => Ok(Some(svcs)),
        Err(e) if read::status(&e) == Some(403) => {
            f.warning(
                "ingresses",
                format!("cannot read Services ({e}), so node ports taken by other Services and backends outside this task were not checked."),
                "grant get and list on services at cluster scope to the user netpath runs as.",
            );
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Per Ingress: target type and Services with the node ports the cluster assigned.
fn summary(plan: &model::Plan, report: &crate::kube::Report) -> Value {
    let live_of = |ns: &str, name: &str| {
        report
            .results
            .iter()
            .find(|r| r.kind == "Service" && r.namespace.as_deref() == Some(ns) && r.name == name)
            .and_then(|r| r.live.as_ref())
    };
    Value::Array(
        plan.ingresses
            .iter()
            .map(|app| {
                let services: Vec<Value> = app
                    .services
                    .iter()
                    .map(|svc| {
                        let ports: Vec<Value> =
                            model::assigned_node_ports(svc, live_of(&svc.namespace, &svc.name))
                                .into_iter()
                                .map(|(port, np)| json!({"port": port, "node_port": np}))
                                .collect();
                        json!({"name": svc.name, "type": svc.type_.as_str(), "ports": ports})
                    })
                    .collect();
                json!({
                    "name": app.name,
                    "namespace": app.namespace,
                    "state": if app.present { "present" } else { "absent" },
                    "target_type": app.target_type.as_str(),
                    "ingress_class": app.class_name,
                    "services": services,
                })
            })
            .collect(),
    )
}
