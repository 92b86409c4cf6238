//! `alb_controller`: the AWS Load Balancer Controller v3.5.0 on a
//! self-managed cluster, without Helm or cert-manager: src/lbc renders the
//! chart's objects, this file reads the webhook certificate's Secrets,
//! decides whether to keep it, and applies everything through the engine.

use super::{APPLY_OPTIONS, ApplyArgs, Ctx, Failure, Module, ModuleDef};
use crate::error::Error;
use crate::kube::read;
use crate::kube::{CONNECTION_OPTIONS, Desired, Resolver, apply};
use crate::lbc::{self, cert};
use crate::protocol::{Constraints, Kind, OptSpec, Outcome};
use crate::validate::Findings;
use serde_json::{Map, Value, json};

const OPTIONS: &[OptSpec] = &[
    OptSpec::new("cluster_name", Kind::Str).required().doc(
        "The controller's C(--cluster-name): the name in the C(kubernetes.io/cluster/<name>) tags of the subnets and the worker security group, which the controller discovers them by and tags what it creates with. At most 106 letters, digits and C(_ . : / = + - @) (the tag key's limits).",
    ),
    OptSpec::new("region", Kind::Str).required().doc(
        "The controller's C(--aws-region), e.g. C(eu-west-1). Always passed: asking the instance metadata service fails from a Pod at IMDSv2 hop limit 1.",
    ),
    OptSpec::new("vpc_id", Kind::Str).required().doc(
        "The controller's C(--aws-vpc-id): C(vpc-) and 8 or 17 hex digits. Always passed, for the same reason as O(region).",
    ),
    OptSpec::new("namespace", Kind::Str)
        .default("\"kube-system\"")
        .doc("Namespace of the controller's ServiceAccount, Deployment, webhook Service and Secrets; created (labelled as the controller's) unless it is kube-system or default."),
    OptSpec::new("image", Kind::Str)
        .default("\"public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0\"")
        .doc("The controller's image. Point it at a registry mirror for private clusters; keep the v3.5.0 image, which these objects are written for."),
    OptSpec::new("image_pull_policy", Kind::Str)
        .default("\"IfNotPresent\"")
        .choices(&["IfNotPresent", "Always", "Never"])
        .doc("The container's imagePullPolicy."),
    OptSpec::new("image_pull_secrets", Kind::List(&Kind::Str))
        .default("[]")
        .doc("Names of docker-registry Secrets in O(namespace) for a private registry."),
    OptSpec::new("replicas", Kind::Int)
        .default("2")
        .doc("Deployment replicas (the chart's 2; leader election keeps one active). At least 1: the webhooks fail closed."),
    OptSpec::new("node_selector", Kind::Dict)
        .default("{}")
        .doc("The Pods' nodeSelector, e.g. C({node-role.kubernetes.io/control-plane: \"\"})."),
    OptSpec::new("tolerations", Kind::List(&Kind::Dict))
        .default("[]")
        .doc("The Pods' tolerations (key, operator, value, effect, tolerationSeconds), e.g. to run on control-plane nodes."),
    OptSpec::new("resources", Kind::Dict)
        .default("{}")
        .doc("The container's resources, e.g. C({requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}). Quantities are written as the API server stores them (C(0.1) as C(100m)), so a second run writes nothing."),
    OptSpec::new("priority_class_name", Kind::Str)
        .default("\"system-cluster-critical\"")
        .doc("The Pods' priorityClassName (the chart's); empty for none."),
    OptSpec::new("log_level", Kind::Str)
        .default("\"info\"")
        .choices(&["info", "debug"])
        .doc("The controller's C(--log-level)."),
    OptSpec::new("ingress_class", Kind::Str)
        .default("\"alb\"")
        .doc("The controller's C(--ingress-class): the IngressClass the alb_ingress module writes (netpath owns the IngressClass; this module writes none)."),
    OptSpec::new("enable_waf", Kind::Bool)
        .default("false")
        .doc("C(--enable-waf) (WAF Classic). Off by default, as kOps does: on, the controller calls WAF Regional for every ALB and needs its IAM permissions."),
    OptSpec::new("enable_wafv2", Kind::Bool)
        .default("false")
        .doc("C(--enable-wafv2). Off by default, as kOps does."),
    OptSpec::new("enable_shield", Kind::Bool)
        .default("false")
        .doc("C(--enable-shield) (Shield Advanced). Off by default, as kOps does."),
    OptSpec::new("enable_backend_security_group", Kind::Bool)
        .default("true")
        .doc("C(--enable-backend-security-group): the controller creates one shared backend security group and adds the worker security-group rules from it itself (the controller's default). False: it adds no such rules, and the rules netcheck returns must be in place."),
    OptSpec::new("service_mutator_webhook", Kind::Bool)
        .default("true")
        .doc("Register the controller's Service mutator webhook (the chart's enableServiceMutatorWebhook), which makes it the default for new Services of type LoadBalancer. False leaves those to another load-balancer controller."),
    OptSpec::new("service_account_annotations", Kind::Dict)
        .default("{}")
        .doc("Annotations of the ServiceAccount, e.g. C({eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/lbc}) for IRSA. Without them the controller uses the nodes' instance profile, which then needs the policy in RV(iam_policy)."),
    OptSpec::new("env", Kind::Dict)
        .default("{}")
        .doc("Extra environment of the controller, e.g. C({HTTPS_PROXY: http://proxy:3128, NO_PROXY: 10.0.0.0/16,.svc}) for clusters behind a proxy. AWS credentials are refused: use an IAM role."),
    OptSpec::new("cluster_domain", Kind::Str)
        .default("\"cluster.local\"")
        .doc("The cluster's DNS domain, for the serving certificate's names."),
    OptSpec::new("webhook_cert_validity_days", Kind::Int)
        .default("365")
        .doc("Lifetime of a new serving certificate, in days (its CA lives 3650 days, as the chart's)."),
    OptSpec::new("webhook_cert_renew_before_days", Kind::Int)
        .default("30")
        .doc("A run renews the serving certificate (with the same CA, so the webhooks' caBundle stays) once it expires within this many days; the CA likewise. Otherwise both are kept and nothing is written."),
    OptSpec::new("webhook_cert_renew", Kind::Bool)
        .default("false")
        .doc("Renew the serving certificate now, valid or not (same CA). To replace the CA too, delete the Secret C(aws-load-balancer-webhook-ca) first."),
    OptSpec::new("webhook_cert_extra_names", Kind::List(&Kind::Str))
        .default("[]")
        .doc("More DNS names or IP addresses for the serving certificate, for a webhook reached by another name than its Service (e.g. an out-of-cluster controller in tests)."),
    OptSpec::new("crds", Kind::Str).doc(
        "The controller's CRDs, its release's C(crds.yaml) as YAML text (the role reads it on the Ansible controller), applied first in the same task. Only CustomResourceDefinitions of the controller's groups (C(*.k8s.aws)) are accepted. Unset: the CRDs are installed otherwise.",
    ),
    OptSpec::new("crds_src", Kind::Path)
        .doc("Like O(crds), from a file on the managed host."),
    OptSpec::new("wait", Kind::Bool)
        .default("false")
        .doc("Wait until the Deployment is available: its webhooks fail closed, so Ingresses and new Services are refused until then."),
    OptSpec::new("wait_timeout", Kind::Int)
        .default("300")
        .doc("Seconds to wait."),
];

pub const MODULE: ModuleDef = ModuleDef {
    name: "alb_controller",
    short_description: "Install the AWS Load Balancer Controller v3.5.0 on a self-managed cluster, without Helm or cert-manager",
    description: &[
        "Applies the controller's ServiceAccount, ClusterRole and leader-election Role with their bindings, Deployment, webhook Service, and Mutating/ValidatingWebhookConfigurations, as the upstream Helm chart v3.5.0 renders them with its default values (names included, so a Helm install is taken over with O(force_conflicts)). Its RBAC rules and webhook paths are the controller's own kubebuilder markers.",
        "The controller is always started with C(--cluster-name), C(--aws-region) and C(--aws-vpc-id): on self-managed clusters asking the instance metadata service fails from a Pod where the IMDSv2 hop limit is 1. All three are checked before anything is written.",
        "The webhook certificate is netpath's: a CA (Secret C(aws-load-balancer-webhook-ca), mounted nowhere) and a serving certificate for the webhook Service's DNS names (Secret C(aws-load-balancer-tls), C(kubernetes.io/tls) with C(ca.crt), as the chart's); the CA bundle goes into the webhook configurations. Both are kept while valid, so a second run writes nothing; the serving certificate is renewed with the same CA within O(webhook_cert_renew_before_days) of its expiry or on request. Private keys never appear in the output, diffs or C(invocation).",
        "The controller's CRDs come from its release's C(crds.yaml) (O(crds) or O(crds_src); the alb_controller role downloads v3.5.0's on the Ansible controller and checks its checksum) and are applied first, in the same task, after every check. The IngressClass is the alb_ingress module's.",
        "Returns the IAM policy the controller v3.5.0 needs (upstream C(docs/install/iam_policy.json) at v3.5.0), plain and as Terraform JSON, for the nodes' instance profile or an IRSA / Pod Identity role.",
        "Check mode writes nothing and reports the same actions.",
    ],
    options: &[OPTIONS, APPLY_OPTIONS, CONNECTION_OPTIONS],
    constraints: Constraints {
        mutually_exclusive: &[&["crds", "crds_src"]],
        required_together: &[],
        required_one_of: &[],
        required_if: &[],
    },
    examples: r#"- name: The controller, explicit for a self-managed cluster, with its release's CRDs
  netpath.calico_alb.alb_controller:
    crds: "{{ lookup('ansible.builtin.file', 'aws-load-balancer-controller-v3.5.0-crds.yaml') }}"
    cluster_name: netpath
    region: eu-west-1
    vpc_id: vpc-0123456789abcdef0
    image: registry.example.com/eks/aws-load-balancer-controller:v3.5.0
    node_selector:
      node-role.kubernetes.io/control-plane: ""
    tolerations:
      - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
    resources:
      requests: {cpu: 100m, memory: 128Mi}
    wait: true
  register: lbc

- name: Hand the IAM policy to Terraform
  ansible.builtin.copy:
    content: "{{ lbc.iam_policy_terraform | to_nice_json }}"
    dest: terraform/aws_load_balancer_controller_policy.tf.json
"#,
    returns: r#"results:
  description: One entry per object (the CRDs when given, the Namespace unless kube-system or default, ServiceAccount, Role, RoleBinding, ClusterRole, ClusterRoleBinding, the two Secrets, Service, Deployment, the two webhook configurations) with its action.
  returned: always
  type: list
  elements: dict
controller:
  description: What the controller is started with (namespace, name, image, args) and its webhook certificate (dns_names, not_after, ca_not_after, and why a certificate was made this run, or null when kept).
  returned: always
  type: dict
  sample:
    namespace: kube-system
    name: aws-load-balancer-controller
    image: public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0
    args: [--cluster-name=netpath, --ingress-class=alb, --aws-region=eu-west-1, --aws-vpc-id=vpc-0123456789abcdef0, --enable-shield=false, --enable-waf=false, --enable-wafv2=false, --log-level=info, --enable-backend-security-group=true]
    webhook_certificate:
      dns_names: [aws-load-balancer-webhook-service.kube-system, aws-load-balancer-webhook-service.kube-system.svc, aws-load-balancer-webhook-service.kube-system.svc.cluster.local]
      not_after: "2027-12-02T10:00:00Z"
      ca_not_after: "2036-11-30T10:00:00Z"
      issued: null
      ca_issued: null
iam_policy:
  description: The IAM policy document the controller v3.5.0 needs (name, source URL, controller_version, document), from upstream docs/install/iam_policy.json at v3.5.0.
  returned: always
  type: dict
iam_policy_terraform:
  description: The same policy as Terraform JSON (an aws_iam_policy resource), ready for a .tf.json file.
  returned: always
  type: dict
"#,
    run: super::entry::<AlbController>,
};

#[derive(serde::Deserialize)]
pub struct Args {
    #[serde(flatten)]
    controller: lbc::Args,
    crds: Option<String>,
    crds_src: Option<String>,
    wait: bool,
    wait_timeout: i64,
    #[serde(flatten)]
    apply: ApplyArgs,
}

pub struct AlbController;

pub struct Planned {
    plan: lbc::Plan,
    crds: Vec<Value>,
    args: Args,
}

impl Module for AlbController {
    type Args = Args;
    type Plan = Planned;
    /// The webhook certificate: kept or made, from the live Secrets.
    type Live = cert::Decision;

    async fn plan(args: Args, _: &mut Ctx, f: &mut Findings) -> Result<Option<Planned>, Failure> {
        let (plan, found) = lbc::plan(&args.controller);
        f.extend(found.0);
        let crds = crds(&args, f)?;
        Ok(plan.map(|plan| Planned { plan, crds, args }))
    }

    async fn read(
        p: &mut Planned,
        ctx: &mut Ctx,
        _: &mut Findings,
    ) -> Result<cert::Decision, Failure> {
        let client = ctx.connect().await?.client;
        certificate(&client, &p.plan, ctx).await
    }

    async fn write(
        p: Planned,
        decision: cert::Decision,
        ctx: &mut Ctx,
    ) -> Result<Outcome, Failure> {
        let Planned { plan, crds, args } = p;
        let conn = ctx.connect().await?;
        let desired: Vec<Desired> = crds
            .into_iter()
            .chain(plan.objects(&decision))
            .map(Desired::present)
            .collect();
        let opts = apply::Options {
            default_namespace: plan.namespace.clone(),
            wait: args.wait,
            wait_timeout: super::seconds(args.wait_timeout),
            ..ctx.apply_options(&conn, &args.apply)
        };
        let report = apply::apply(&conn.client, &mut Resolver::default(), desired, &opts).await;
        summarise(&plan, &decision, report)
    }
}

/// The Secrets' PEMs as a pair, when both keys are there.
fn pair(secret: &Value, cert_key: &str, key_key: &str) -> Option<cert::Pair> {
    Some(cert::Pair {
        cert: cert::unb64(&secret["data"][cert_key])?,
        key: cert::unb64(&secret["data"][key_key])?,
    })
}

/// The CRDs given, checked to be the controller's.
fn crds(args: &Args, f: &mut Findings) -> Result<Vec<Value>, Failure> {
    let (field, text) = match (&args.crds, &args.crds_src) {
        (Some(t), _) => ("crds", t.clone()),
        (None, Some(path)) => (
            "crds_src",
            std::fs::read_to_string(path)
                .map_err(|e| Error::Input(format!("crds_src {path}: {e}")))?,
        ),
        (None, None) => return Ok(Vec::new()),
    };
    let docs = super::manifest::parse_documents(field, &text)?;
    for (i, d) in docs.iter().enumerate() {
        let group = d["spec"]["group"].as_str().unwrap_or_default();
        if d["kind"] != "CustomResourceDefinition" || !group.ends_with(".k8s.aws") {
            f.error(
                format!("{field}[{i}]"),
                format!(
                    "is {} {} (group {group:?}), not one of the controller's CRDs: {field} is \
                     applied ahead of everything, as the controller's release crds.yaml.",
                    d["kind"].as_str().unwrap_or("an object without a kind"),
                    d["metadata"]["name"].as_str().unwrap_or("?"),
                ),
                "pass the release's crds.yaml only; apply other objects with the manifest module.",
            );
        }
    }
    if docs.is_empty() {
        f.error(
            field,
            "holds no document.",
            "pass the controller's release crds.yaml.",
        );
    }
    Ok(docs)
}

/// Reads the webhook certificate's Secrets and decides whether to keep
/// them; every private key seen or made is masked in the output.
async fn certificate(
    client: &kube::Client,
    plan: &lbc::Plan,
    ctx: &mut Ctx,
) -> Result<cert::Decision, Failure> {
    let secret_url = |name: &str| format!("/api/v1/namespaces/{}/secrets/{name}", plan.namespace);
    let ca_live = read::get(client, &secret_url(lbc::CA_SECRET)).await?;
    let tls_live = read::get(client, &secret_url(lbc::TLS_SECRET)).await?;
    // What is live is masked wherever it could leave the process.
    for s in [&ca_live, &tls_live].into_iter().flatten() {
        for k in ["tls.key"] {
            if let Some(v) = s["data"][k].as_str() {
                ctx.redactor.add(v.to_string());
                if let Some(pem) = cert::unb64(&s["data"][k]) {
                    ctx.redactor.add(pem);
                }
            }
        }
    }
    let names = plan.dns_names();
    let serving = tls_live.as_ref().and_then(|s| {
        let p = pair(s, "tls.crt", "tls.key")?;
        let ca = cert::unb64(&s["data"]["ca.crt"])?;
        let got: Vec<String> = s["metadata"]["annotations"][lbc::DNS_NAMES_ANNOTATION]
            .as_str()
            .unwrap_or_default()
            .split(',')
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        Some((p, ca, got))
    });
    let want = cert::Want {
        dns_names: &names,
        validity_days: plan.validity_days,
        renew_before_days: plan.renew_before_days,
        renew: plan.renew,
    };
    let decision = cert::decide(
        &want,
        ca_live.as_ref().and_then(|s| pair(s, "tls.crt", "tls.key")),
        serving,
        cert::now(),
    )
    .map_err(|e| Error::Input(format!("webhook certificate: {e}")))?;
    for key in [&decision.ca.key, &decision.serving.key] {
        ctx.redactor.add(key.clone());
        ctx.redactor.add(cert::b64(key));
    }
    Ok(decision)
}

/// The controller as started, its certificate and the IAM policy it needs.
fn summarise(
    plan: &lbc::Plan,
    decision: &cert::Decision,
    report: crate::kube::Report,
) -> Result<Outcome, Failure> {
    let names = plan.dns_names();
    let (iam, terraform) = lbc::iam::result();
    let mut extra = Map::new();
    extra.insert(
        "controller".into(),
        json!({
            "namespace": plan.namespace,
            "name": lbc::NAME,
            "version": lbc::VERSION,
            "image": plan.image,
            "args": plan.args(),
            "webhook_certificate": {
                "secret": lbc::TLS_SECRET,
                "dns_names": names,
                "not_after": cert::rfc3339(decision.not_after),
                "ca_not_after": cert::rfc3339(decision.ca_not_after),
                "issued": decision.serving_new,
                "ca_issued": decision.ca_new,
            },
        }),
    );
    extra.insert("iam_policy".into(), iam);
    extra.insert("iam_policy_terraform".into(), terraform);
    let mut out = super::finish(report, extra)?;
    let why = match (&decision.ca_new, &decision.serving_new) {
        (Some(ca), _) => format!("; new webhook CA and certificate ({ca})"),
        (None, Some(s)) => format!("; new webhook certificate ({s})"),
        _ => String::new(),
    };
    out.msg = format!(
        "AWS Load Balancer Controller {} in {}: {}{why}",
        lbc::VERSION,
        plan.namespace,
        out.msg
    );
    Ok(out)
}
