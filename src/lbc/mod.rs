//! The AWS Load Balancer Controller v3.5.0 for self-managed clusters,
//! rendered by netpath: ServiceAccount, RBAC, Deployment, webhook Service,
//! webhook configurations and the webhook certificate's Secrets. What the
//! objects hold is the upstream Helm chart's at tag v3.5.0 with its default
//! values (helm/aws-load-balancer-controller/templates/*.yaml; release name
//! `aws-load-balancer-controller`, so the names match a Helm install), and
//! the RBAC rules and webhook paths are the controller's kubebuilder markers
//! (controllers/**, webhooks/**; tests/lbc_manifests.rs holds them equal).
//! Its CRDs are not here: they come from the release's crds.yaml.

pub mod cert;
pub mod iam;
pub mod quantity;

use crate::kube::names::{is_dns_label, is_dns_subdomain};
use crate::validate::Findings;
use serde_json::{Map, Value, json};

pub const VERSION: &str = "v3.5.0";
pub const DEFAULT_IMAGE: &str = "public.ecr.aws/eks/aws-load-balancer-controller:v3.5.0";
/// The chart's `fullname`: Deployment, ServiceAccount, container, label.
pub const NAME: &str = "aws-load-balancer-controller";
pub const WEBHOOK_SERVICE: &str = "aws-load-balancer-webhook-service";
pub const TLS_SECRET: &str = "aws-load-balancer-tls";
/// The CA's key stays out of the Pod: a Secret of its own, mounted nowhere.
pub const CA_SECRET: &str = "aws-load-balancer-webhook-ca";
pub const WEBHOOK_CONFIGURATION: &str = crate::preflight::controller::WEBHOOK_CONFIGURATION;
/// The serving certificate's names, so a changed Service namespace or
/// cluster domain gets a new certificate.
pub const DNS_NAMES_ANNOTATION: &str = "netpath/webhook-dns-names";
/// Where controller-runtime reads the serving certificate (the chart's mount).
pub const CERT_DIR: &str = "/tmp/k8s-webhook-server/serving-certs";
pub const WEBHOOK_PORT: i64 = 9443;
/// The controller's probe port (the chart's livenessProbe/readinessProbe).
pub const HEALTH_PORT: i64 = 61779;
/// Env names refused in `env`: the Deployment's spec is readable by anyone
/// who may read Deployments, and netpath's diffs show it.
const CREDENTIAL_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// The `alb_controller` module's options (modules/alb_controller.rs),
/// typed. The dicts are the user's, checked entry by entry by `plan`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Args {
    pub cluster_name: String,
    pub region: String,
    pub vpc_id: String,
    pub namespace: String,
    pub image: String,
    pub image_pull_policy: String,
    pub image_pull_secrets: Vec<String>,
    pub replicas: i64,
    pub node_selector: Map<String, Value>,
    pub tolerations: Vec<Value>,
    pub resources: Map<String, Value>,
    pub priority_class_name: String,
    pub log_level: String,
    pub ingress_class: String,
    pub enable_waf: bool,
    pub enable_wafv2: bool,
    pub enable_shield: bool,
    pub enable_backend_security_group: bool,
    pub service_mutator_webhook: bool,
    pub service_account_annotations: Map<String, Value>,
    pub env: Map<String, Value>,
    pub cluster_domain: String,
    pub webhook_cert_validity_days: i64,
    pub webhook_cert_renew_before_days: i64,
    pub webhook_cert_renew: bool,
    pub webhook_cert_extra_names: Vec<String>,
}

/// The validated options.
#[derive(Debug, Clone)]
pub struct Plan {
    pub namespace: String,
    pub cluster_name: String,
    pub region: String,
    pub vpc_id: String,
    pub image: String,
    pub image_pull_policy: String,
    pub image_pull_secrets: Vec<String>,
    pub replicas: i64,
    pub node_selector: Map<String, Value>,
    pub tolerations: Vec<Value>,
    pub resources: Value,
    pub priority_class_name: String,
    pub log_level: String,
    pub ingress_class: String,
    pub enable_waf: bool,
    pub enable_wafv2: bool,
    pub enable_shield: bool,
    pub enable_backend_security_group: bool,
    pub service_mutator_webhook: bool,
    pub service_account_annotations: Map<String, Value>,
    pub env: Vec<(String, String)>,
    pub cluster_domain: String,
    pub webhook_cert_extra_names: Vec<String>,
    pub validity_days: i64,
    pub renew_before_days: i64,
    pub renew: bool,
}

fn labels() -> Value {
    json!({
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/instance": NAME,
        "app.kubernetes.io/version": VERSION,
        "app.kubernetes.io/managed-by": "netpath",
    })
}

fn selector() -> Value {
    json!({"app.kubernetes.io/name": NAME, "app.kubernetes.io/instance": NAME})
}

/// `vpc-` and 8 or 17 lower-case hex digits, as EC2 issues them.
pub fn is_vpc_id(s: &str) -> bool {
    s.strip_prefix("vpc-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17) && h.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    })
}

/// A region's shape: `eu-west-1`, `us-gov-west-1`, `cn-north-1`, `eusc-de-east-1`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && (2..=4).contains(&parts[0].len())
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit()))
}

/// The cluster name goes into the tag key `kubernetes.io/cluster/<name>` the
/// controller discovers subnets and security groups by, and tags what it
/// creates with: AWS tag keys are at most 128 characters of letters, digits
/// and `_ . : / = + - @` (EC2 CreateTags), so the name is at most 106.
pub const CLUSTER_NAME_MAX: usize = 128 - "kubernetes.io/cluster/".len();

fn cluster_name_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some(
            "is empty: the controller exits at start with \"kubernetes cluster name must be \
             specified\" (pkg/config/controller_config.go Validate), so no Ingress gets an ALB."
                .into(),
        );
    }
    if s.len() > CLUSTER_NAME_MAX {
        return Some(format!(
            "is {} characters: the tag key kubernetes.io/cluster/<name> the controller discovers \
             subnets and security groups by would exceed AWS's 128-character limit, so it could \
             be neither tagged nor found.",
            s.len()
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.:/=+-@".contains(*c)))
    {
        return Some(format!(
            "{s:?} contains {c:?}: AWS tag keys (kubernetes.io/cluster/<name>, which the \
             controller discovers subnets and security groups by) allow only letters, digits \
             and _ . : / = + - @."
        ));
    }
    None
}

/// Reads and checks every option; None when any rule failed.
pub fn plan(p: &Args) -> (Option<Plan>, Findings) {
    let mut f = Findings::new();
    let s = |v: &str| v.trim().to_string();
    let cluster_name = p.cluster_name.clone();
    if let Some(why) = cluster_name_problem(&cluster_name) {
        f.error(
            "cluster_name",
            why,
            "set cluster_name to the name in your subnets' and worker security group's \
             kubernetes.io/cluster/<name> tags (letters, digits, - and _ are safe).",
        );
    }
    let region = s(&p.region);
    if region.is_empty() {
        f.error(
            "region",
            "is empty: without --aws-region the controller asks the instance metadata service, \
             which fails from a Pod where the IMDSv2 hop limit is 1 (the default on hardened and \
             newer AMIs), and it exits at start.",
            "set region to the cluster's AWS region, e.g. eu-west-1.",
        );
    } else if !is_region(&region) {
        f.error(
            "region",
            format!(
                "{region:?} is not an AWS region name: the controller would call endpoints that \
                 do not exist and build nothing."
            ),
            "set region to a region code like eu-west-1 or us-east-2 (not an availability zone \
             like eu-west-1a).",
        );
    }
    let vpc_id = s(&p.vpc_id);
    if !is_vpc_id(&vpc_id) {
        f.error(
            "vpc_id",
            format!(
                "{vpc_id:?} is not a VPC ID: without a valid --aws-vpc-id the controller asks the \
                 instance metadata service (which fails from a Pod at IMDSv2 hop limit 1) or \
                 fails to find the VPC, and builds no ALB."
            ),
            "set vpc_id to the cluster's VPC ID: vpc- and 8 or 17 hex digits, e.g. \
             vpc-0123456789abcdef0 (aws ec2 describe-vpcs).",
        );
    }
    let namespace = s(&p.namespace);
    if !is_dns_label(&namespace) {
        f.error(
            "namespace",
            format!("{namespace:?} is not a namespace name (a DNS label)."),
            "use a namespace like kube-system.",
        );
    }
    let image = s(&p.image);
    if image.is_empty() || image.chars().any(char::is_whitespace) {
        f.error(
            "image",
            format!("{image:?} is not an image reference: the Pods could not be pulled."),
            format!("use {DEFAULT_IMAGE}, or the same image in your registry mirror."),
        );
    }
    let replicas = p.replicas;
    if replicas < 1 {
        f.error(
            "replicas",
            format!(
                "is {replicas}: the controller's webhooks fail closed (failurePolicy Fail), so \
                 with no replica the API server refuses every Ingress, TargetGroupBinding and new \
                 Service."
            ),
            "set replicas to 1 or more (2, the chart's default, survives a node drain).",
        );
    }
    let ingress_class = s(&p.ingress_class);
    if !is_dns_subdomain(&ingress_class) {
        f.error(
            "ingress_class",
            format!("{ingress_class:?} is not an IngressClass name (a DNS subdomain)."),
            "use the IngressClass the alb_ingress module writes, alb by default.",
        );
    }
    let cluster_domain = s(&p.cluster_domain);
    if !is_dns_subdomain(&cluster_domain) {
        f.error(
            "cluster_domain",
            format!("{cluster_domain:?} is not a DNS domain."),
            "use the cluster's DNS domain (kubeadm networking.dnsDomain), cluster.local by default.",
        );
    }
    let mut webhook_cert_extra_names = Vec::new();
    for (i, n) in p.webhook_cert_extra_names.iter().cloned().enumerate() {
        if n.parse::<std::net::IpAddr>().is_err() && !is_dns_subdomain(&n) {
            f.error(
                format!("webhook_cert_extra_names[{i}]"),
                format!("{n:?} is neither a DNS name nor an IP address."),
                "list DNS names or IP addresses the webhook is also reached by.",
            );
        }
        webhook_cert_extra_names.push(n);
    }
    let node_selector = string_map(&p.node_selector, "node_selector", &mut f);
    let service_account_annotations = string_map(
        &p.service_account_annotations,
        "service_account_annotations",
        &mut f,
    );
    let mut env = Vec::new();
    for (k, v) in string_map(&p.env, "env", &mut f) {
        if CREDENTIAL_ENV.contains(&k.as_str()) {
            f.error(
                format!("env.{k}"),
                "would put AWS credentials into the Deployment's spec, readable by anyone who \
                 may read Deployments and shown in diffs.",
                "give the controller an IAM role instead (the worker nodes' instance profile, or \
                 IRSA / Pod Identity through service_account_annotations) with the policy in this \
                 module's iam_policy.",
            );
        } else if k.is_empty()
            || k.starts_with(|c: char| c.is_ascii_digit())
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            f.error(
                format!("env.{k}"),
                format!("{k:?} is not an environment variable name."),
                "use names like HTTPS_PROXY or NO_PROXY.",
            );
        }
        env.push((k, v.as_str().unwrap_or_default().to_string()));
    }
    let tolerations = tolerations(&p.tolerations, &mut f);
    let resources = resources(&p.resources, &mut f);
    let validity_days = p.webhook_cert_validity_days;
    if !(1..=cert::CA_DAYS).contains(&validity_days) {
        f.error(
            "webhook_cert_validity_days",
            format!(
                "is {validity_days}: the serving certificate must be valid for at least a day and \
                 not outlive its CA ({} days).",
                cert::CA_DAYS
            ),
            "use 365 (the default) or another number of days in 1..3650.",
        );
    }
    let renew_before_days = p.webhook_cert_renew_before_days;
    if renew_before_days < 0 || renew_before_days >= validity_days {
        f.error(
            "webhook_cert_renew_before_days",
            format!(
                "is {renew_before_days} with webhook_cert_validity_days {validity_days}: every \
                 run would make a new certificate (or none would ever be renewed)."
            ),
            "use a number of days from 0 to below webhook_cert_validity_days (30 by default).",
        );
    }
    let image_pull_secrets = p.image_pull_secrets.clone();
    for (i, n) in image_pull_secrets.iter().enumerate() {
        if !is_dns_subdomain(n) {
            f.error(
                format!("image_pull_secrets[{i}]"),
                format!("{n:?} is not a Secret name."),
                "list the names of docker-registry Secrets in the controller's namespace.",
            );
        }
    }
    if f.has_errors() {
        return (None, f);
    }
    let plan = Plan {
        namespace,
        cluster_name,
        region,
        vpc_id,
        image,
        image_pull_policy: s(&p.image_pull_policy),
        image_pull_secrets,
        replicas,
        node_selector,
        tolerations,
        resources,
        priority_class_name: s(&p.priority_class_name),
        log_level: s(&p.log_level),
        ingress_class,
        enable_waf: p.enable_waf,
        enable_wafv2: p.enable_wafv2,
        enable_shield: p.enable_shield,
        enable_backend_security_group: p.enable_backend_security_group,
        service_mutator_webhook: p.service_mutator_webhook,
        service_account_annotations,
        env,
        cluster_domain,
        webhook_cert_extra_names,
        validity_days,
        renew_before_days,
        renew: p.webhook_cert_renew,
    };
    (Some(plan), f)
}

fn string_map(given: &Map<String, Value>, key: &str, f: &mut Findings) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in given {
        match v {
            Value::String(_) => {
                out.insert(k.clone(), v.clone());
            }
            Value::Number(_) | Value::Bool(_) => {
                out.insert(k.clone(), json!(v.to_string()));
            }
            _ => f.error(
                format!("{key}.{k}"),
                "is not a string.",
                format!("give {key} string values (quote numbers and booleans)."),
            ),
        }
    }
    out
}

fn tolerations(given: &[Value], f: &mut Findings) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, t) in given.iter().enumerate() {
        let field = format!("tolerations[{i}]");
        let Some(m) = t.as_object() else {
            f.error(
                field,
                "is not a dict.",
                "write each toleration as {key, operator, value, effect}.",
            );
            continue;
        };
        let mut clean = Map::new();
        for (k, v) in m {
            match k.as_str() {
                "key" | "value" => {
                    clean.insert(
                        k.clone(),
                        json!(v.as_str().map_or_else(|| v.to_string(), str::to_string)),
                    );
                }
                "operator" if matches!(v.as_str(), Some("Exists" | "Equal")) => {
                    clean.insert(k.clone(), v.clone());
                }
                "effect"
                    if matches!(
                        v.as_str(),
                        Some("NoSchedule" | "PreferNoSchedule" | "NoExecute" | "")
                    ) =>
                {
                    clean.insert(k.clone(), v.clone());
                }
                "tolerationSeconds" if v.as_i64().is_some() => {
                    clean.insert(k.clone(), v.clone());
                }
                _ => f.error(
                    format!("{field}.{k}"),
                    format!("{v} is not valid here: the API server would refuse the Deployment."),
                    "use key, operator (Exists, Equal), value, effect (NoSchedule, \
                     PreferNoSchedule, NoExecute) and tolerationSeconds.",
                ),
            }
        }
        if clean.get("operator").and_then(Value::as_str) == Some("Exists")
            && clean
                .get("value")
                .and_then(Value::as_str)
                .is_some_and(|v| !v.is_empty())
        {
            f.error(
                format!("{field}.value"),
                "is set with operator Exists: the API server refuses that toleration.",
                "drop value, or use operator Equal.",
            );
        }
        out.push(Value::Object(clean));
    }
    out
}

/// `{requests: {cpu, memory}, limits: {...}}` with quantities in the form
/// the server stores, so the live Deployment compares equal.
fn resources(given: &Map<String, Value>, f: &mut Findings) -> Value {
    let mut out = Map::new();
    for (k, v) in given {
        if !matches!(k.as_str(), "requests" | "limits") {
            f.error(
                format!("resources.{k}"),
                "is not a resources key.",
                "use requests and limits, e.g. {requests: {cpu: 100m, memory: 128Mi}}.",
            );
            continue;
        }
        let mut m = Map::new();
        for (r, q) in v.as_object().into_iter().flatten() {
            let text = q.as_str().map_or_else(|| q.to_string(), str::to_string);
            match quantity::canonical(&text) {
                Ok(c) => {
                    m.insert(r.clone(), json!(c));
                }
                Err(why) => f.error(
                    format!("resources.{k}.{r}"),
                    format!("{why}: the API server would refuse the Deployment."),
                    "write quantities like 100m, 0.5, 128Mi or 1Gi.",
                ),
            }
        }
        out.insert(k.clone(), Value::Object(m));
    }
    Value::Object(out)
}

impl Plan {
    /// The webhook Service's names (the chart's altNames), then extra ones.
    pub fn dns_names(&self) -> Vec<String> {
        let (svc, ns) = (WEBHOOK_SERVICE, &self.namespace);
        let mut v = vec![
            format!("{svc}.{ns}"),
            format!("{svc}.{ns}.svc"),
            format!("{svc}.{ns}.svc.{}", self.cluster_domain),
        ];
        for n in &self.webhook_cert_extra_names {
            if !v.contains(n) {
                v.push(n.clone());
            }
        }
        v
    }

    /// The container's arguments: the chart's template
    /// (templates/deployment.yaml) for these values, in its order.
    pub fn args(&self) -> Vec<String> {
        vec![
            format!("--cluster-name={}", self.cluster_name),
            format!("--ingress-class={}", self.ingress_class),
            format!("--aws-region={}", self.region),
            format!("--aws-vpc-id={}", self.vpc_id),
            format!("--enable-shield={}", self.enable_shield),
            format!("--enable-waf={}", self.enable_waf),
            format!("--enable-wafv2={}", self.enable_wafv2),
            format!("--log-level={}", self.log_level),
            format!(
                "--enable-backend-security-group={}",
                self.enable_backend_security_group
            ),
        ]
    }

    fn meta(&self, name: &str) -> Value {
        json!({"name": name, "namespace": self.namespace, "labels": labels()})
    }

    fn subject(&self) -> Value {
        json!([{"kind": "ServiceAccount", "name": NAME, "namespace": self.namespace}])
    }

    /// Every object, with the certificate decided for this run.
    pub fn objects(&self, c: &cert::Decision) -> Vec<Value> {
        let ca_bundle = cert::b64(&c.ca.cert);
        let mut sa = json!({
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": self.meta(NAME),
            "automountServiceAccountToken": true,
        });
        if !self.service_account_annotations.is_empty() {
            sa["metadata"]["annotations"] = Value::Object(self.service_account_annotations.clone());
        }
        let names = self.dns_names().join(",");
        let ca_secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": self.meta(CA_SECRET),
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": cert::b64(&c.ca.cert), "tls.key": cert::b64(&c.ca.key)},
        });
        let mut tls = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": self.meta(TLS_SECRET),
            "type": "kubernetes.io/tls",
            "data": {
                "ca.crt": ca_bundle,
                "tls.crt": cert::b64(&c.serving.cert),
                "tls.key": cert::b64(&c.serving.key),
            },
        });
        tls["metadata"]["annotations"] = json!({ DNS_NAMES_ANNOTATION: names });
        // A namespace of its own is created (Helm's --create-namespace);
        // kube-system and default are the cluster's.
        let namespace =
            (!matches!(self.namespace.as_str(), "kube-system" | "default")).then(|| {
                json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": self.namespace, "labels": labels()}})
            });
        namespace
            .into_iter()
            .chain([
                sa,
                self.leader_election_role(),
                json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": self.meta(&format!("{NAME}-leader-election-rolebinding")),
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                "name": format!("{NAME}-leader-election-role")},
                    "subjects": self.subject(),
                }),
                cluster_role(),
                json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": format!("{NAME}-rolebinding"), "labels": labels()},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                "name": format!("{NAME}-role")},
                    "subjects": self.subject(),
                }),
                ca_secret,
                tls,
                self.service(),
                self.deployment(),
                self.mutating_webhooks(&ca_bundle),
                self.validating_webhooks(&ca_bundle),
            ])
            .collect()
    }

    /// templates/rbac.yaml, Role `-leader-election-role`: the controller's
    /// lease `aws-load-balancer-controller-leader` (pkg/config/runtime_config.go
    /// defaultLeaderElectionID).
    fn leader_election_role(&self) -> Value {
        let lease = "aws-load-balancer-controller-leader";
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": self.meta(&format!("{NAME}-leader-election-role")),
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create"]},
                {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": [lease],
                 "verbs": ["get", "patch", "update"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [lease],
                 "verbs": ["get", "update", "patch"]},
            ],
        })
    }

    /// templates/service.yaml: the webhook Service.
    fn service(&self) -> Value {
        let mut meta = self.meta(WEBHOOK_SERVICE);
        meta["labels"]["app.kubernetes.io/component"] = json!("webhook");
        meta["labels"]["prometheus.io/service-monitor"] = json!("false");
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": meta,
            "spec": {
                "ports": [{"port": 443, "name": "webhook-server", "targetPort": "webhook-server",
                           "protocol": "TCP"}],
                "selector": selector(),
            },
        })
    }

    /// templates/deployment.yaml with the chart's default values
    /// (values.yaml: securityContext, probes, priorityClassName, affinity).
    pub fn deployment(&self) -> Value {
        let mut container = json!({
            "name": NAME,
            "image": self.image,
            "imagePullPolicy": self.image_pull_policy,
            "args": self.args(),
            "securityContext": {"readOnlyRootFilesystem": true, "runAsNonRoot": true,
                                "allowPrivilegeEscalation": false},
            "volumeMounts": [{"mountPath": CERT_DIR, "name": "cert", "readOnly": true}],
            "ports": [
                {"name": "webhook-server", "containerPort": WEBHOOK_PORT, "protocol": "TCP"},
                {"name": "metrics-server", "containerPort": 8080, "protocol": "TCP"},
            ],
            "resources": self.resources,
            "livenessProbe": {"failureThreshold": 2, "initialDelaySeconds": 30, "timeoutSeconds": 10,
                              "httpGet": {"path": "/healthz", "port": HEALTH_PORT, "scheme": "HTTP"}},
            "readinessProbe": {"failureThreshold": 2, "successThreshold": 1, "initialDelaySeconds": 10,
                               "timeoutSeconds": 10,
                               "httpGet": {"path": "/readyz", "port": HEALTH_PORT, "scheme": "HTTP"}},
        });
        if !self.env.is_empty() {
            let mut env = self.env.clone();
            env.sort();
            container["env"] = env
                .into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect();
        }
        let mut pod = json!({
            "serviceAccountName": NAME,
            "volumes": [{"name": "cert", "secret": {"defaultMode": 420, "secretName": TLS_SECRET}}],
            "securityContext": {"fsGroup": 65534},
            "containers": [container],
            "terminationGracePeriodSeconds": 10,
            "affinity": {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 100,
                "podAffinityTerm": {
                    "labelSelector": {"matchExpressions": [{"key": "app.kubernetes.io/name",
                        "operator": "In", "values": [NAME]}]},
                    "topologyKey": "kubernetes.io/hostname",
                },
            }]}},
        });
        if !self.priority_class_name.is_empty() {
            pod["priorityClassName"] = json!(self.priority_class_name);
        }
        if !self.node_selector.is_empty() {
            pod["nodeSelector"] = Value::Object(self.node_selector.clone());
        }
        if !self.tolerations.is_empty() {
            pod["tolerations"] = json!(self.tolerations);
        }
        if !self.image_pull_secrets.is_empty() {
            pod["imagePullSecrets"] = self
                .image_pull_secrets
                .iter()
                .map(|n| json!({"name": n}))
                .collect();
        }
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": self.meta(NAME),
            "spec": {
                "replicas": self.replicas,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": selector()},
                "template": {
                    "metadata": {
                        "labels": selector(),
                        "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8080"},
                    },
                    "spec": pod,
                },
            },
        })
    }

    fn client(&self, ca_bundle: &str, path: &str) -> Value {
        json!({"caBundle": ca_bundle,
               "service": {"name": WEBHOOK_SERVICE, "namespace": self.namespace, "path": path}})
    }

    /// The chart's objectSelector: the controller's own objects are never
    /// sent to it (so it can start while its webhooks fail closed).
    fn not_self() -> Value {
        json!({"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "NotIn",
                                     "values": [NAME]}]})
    }

    /// templates/webhook.yaml MutatingWebhookConfiguration (paths and names
    /// from the webhooks/** kubebuilder markers).
    fn mutating_webhooks(&self, ca: &str) -> Value {
        let pod = |ops: &[&str]| json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ops, "resources": ["pods"]}]);
        let mut hooks = vec![
            json!({
                "name": "mpod.elbv2.k8s.aws",
                "clientConfig": self.client(ca, "/mutate-v1-pod"),
                "failurePolicy": "Ignore",
                "admissionReviewVersions": ["v1"],
                "namespaceSelector": {"matchExpressions": [{"key": "elbv2.k8s.aws/pod-readiness-gate-inject",
                    "operator": "In", "values": ["enabled"]}]},
                "objectSelector": Self::not_self(),
                "rules": pod(&["CREATE"]),
                "sideEffects": "None",
            }),
            json!({
                "name": "quicid.elbv2.k8s.aws",
                "clientConfig": self.client(ca, "/mutate-v1-pod-server-id"),
                "failurePolicy": "Fail",
                "admissionReviewVersions": ["v1"],
                "namespaceSelector": {"matchExpressions": [{"key": "elbv2.k8s.aws/quic-server-id-inject",
                    "operator": "In", "values": ["enabled"]}]},
                "objectSelector": Self::not_self(),
                "rules": pod(&["CREATE"]),
                "sideEffects": "None",
            }),
        ];
        if self.service_mutator_webhook {
            hooks.push(json!({
                "name": "mservice.elbv2.k8s.aws",
                "clientConfig": self.client(ca, "/mutate-v1-service"),
                "failurePolicy": "Fail",
                "admissionReviewVersions": ["v1"],
                "objectSelector": Self::not_self(),
                "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["services"]}],
                "sideEffects": "None",
            }));
        }
        hooks.push(json!({
            "name": "alb-target-control.namespace.elbv2.k8s.aws",
            "clientConfig": self.client(ca, "/mutate-alb-target-control-namespace-v1-pod"),
            "failurePolicy": "Fail",
            "admissionReviewVersions": ["v1"],
            "namespaceSelector": {"matchExpressions": [{"key": "elbv2.k8s.aws/alb-target-control-agent-injection",
                "operator": "In", "values": ["enabled"]}]},
            "objectSelector": {"matchExpressions": [
                {"key": "app.kubernetes.io/name", "operator": "NotIn", "values": [NAME]},
                {"key": "elbv2.k8s.aws/alb-target-control-agent-inject", "operator": "NotIn", "values": ["false"]},
            ]},
            "rules": pod(&["CREATE"]),
            "sideEffects": "None",
        }));
        hooks.push(json!({
            "name": "alb-target-control.object.elbv2.k8s.aws",
            "clientConfig": self.client(ca, "/mutate-alb-target-control-object-v1-pod"),
            "failurePolicy": "Fail",
            "admissionReviewVersions": ["v1"],
            "namespaceSelector": {"matchExpressions": [{"key": "elbv2.k8s.aws/alb-target-control-agent-injection",
                "operator": "DoesNotExist"}]},
            "objectSelector": {"matchExpressions": [
                {"key": "app.kubernetes.io/name", "operator": "NotIn", "values": [NAME]},
                {"key": "elbv2.k8s.aws/alb-target-control-agent-inject", "operator": "In", "values": ["true"]},
            ]},
            "rules": pod(&["CREATE"]),
            "sideEffects": "None",
        }));
        hooks.push(json!({
            "name": "mtargetgroupbinding.elbv2.k8s.aws",
            "clientConfig": self.client(ca, "/mutate-elbv2-k8s-aws-v1beta1-targetgroupbinding"),
            "failurePolicy": "Fail",
            "admissionReviewVersions": ["v1"],
            "rules": [{"apiGroups": ["elbv2.k8s.aws"], "apiVersions": ["v1beta1"],
                       "operations": ["CREATE", "UPDATE"], "resources": ["targetgroupbindings"]}],
            "sideEffects": "None",
        }));
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": WEBHOOK_CONFIGURATION, "labels": labels()},
            "webhooks": hooks,
        })
    }

    /// templates/webhook.yaml ValidatingWebhookConfiguration, without the
    /// GlobalAccelerator webhook (its feature gate is off by default).
    fn validating_webhooks(&self, ca: &str) -> Value {
        let tgb = json!([{"apiGroups": ["elbv2.k8s.aws"], "apiVersions": ["v1beta1"],
                          "operations": ["CREATE", "UPDATE"], "resources": ["targetgroupbindings"]}]);
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": WEBHOOK_CONFIGURATION, "labels": labels()},
            "webhooks": [
                {
                    "name": "vingressclassparams.elbv2.k8s.aws",
                    "clientConfig": self.client(ca, "/validate-elbv2-k8s-aws-v1beta1-ingressclassparams"),
                    "failurePolicy": "Fail",
                    "admissionReviewVersions": ["v1"],
                    "objectSelector": Self::not_self(),
                    "rules": [{"apiGroups": ["elbv2.k8s.aws"], "apiVersions": ["v1beta1"],
                               "operations": ["CREATE", "UPDATE"], "resources": ["ingressclassparams"]}],
                    "sideEffects": "None",
                },
                {
                    "name": "vtargetgroupbinding.elbv2.k8s.aws",
                    "clientConfig": self.client(ca, "/validate-elbv2-k8s-aws-v1beta1-targetgroupbinding"),
                    "failurePolicy": "Fail",
                    "admissionReviewVersions": ["v1"],
                    "rules": tgb,
                    "sideEffects": "None",
                },
                {
                    "name": "vingress.elbv2.k8s.aws",
                    "clientConfig": self.client(ca, "/validate-networking-v1-ingress"),
                    "failurePolicy": "Fail",
                    "matchPolicy": "Equivalent",
                    "admissionReviewVersions": ["v1"],
                    "rules": [{"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"],
                               "operations": ["CREATE", "UPDATE"], "resources": ["ingresses"]}],
                    "sideEffects": "None",
                },
            ],
        })
    }
}

/// templates/rbac.yaml ClusterRole `-role`, which the chart generates from
/// config/rbac/role.yaml, itself from the `+kubebuilder:rbac` markers in
/// controllers/** (hack/sync-rbac-to-helm.sh). The chart's
/// clusterSecretsPermissions.allowAllSecrets is off: the controller reads
/// only the Secrets it is pointed at through its own informers' RBAC.
pub fn cluster_role() -> Value {
    let r = |groups: &[&str], resources: &[&str], verbs: &[&str]| json!({"apiGroups": groups, "resources": resources, "verbs": verbs});
    let gw = "gateway.networking.k8s.io";
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": format!("{NAME}-role"), "labels": labels()},
        "rules": [
            r(&[""], &["configmaps"], &["create", "delete", "get", "update"]),
            r(&[""], &["endpoints", "namespaces", "nodes", "pods"], &["get", "list", "watch"]),
            r(&[""], &["events"], &["create", "patch"]),
            r(&[""], &["pods/status", "services/status"], &["patch", "update"]),
            r(&[""], &["services"], &["get", "list", "patch", "update", "watch"]),
            r(&["aga.k8s.aws"], &["globalaccelerators"], &["get", "list", "patch", "watch"]),
            r(&["aga.k8s.aws"], &["globalaccelerators/finalizers", "globalaccelerators/status"], &["patch", "update"]),
            r(&["discovery.k8s.io"], &["endpointslices"], &["get", "list", "watch"]),
            r(&["elbv2.k8s.aws"], &["albtargetcontrolconfigs"], &["get"]),
            r(&["elbv2.k8s.aws"], &["ingressclassparams"], &["get", "list", "watch"]),
            r(&["elbv2.k8s.aws"], &["targetgroupbindings"], &["create", "delete", "get", "list", "patch", "update", "watch"]),
            r(&["elbv2.k8s.aws"], &["targetgroupbindings/status"], &["patch", "update"]),
            r(&["extensions", "networking.k8s.io"], &["ingresses"], &["get", "list", "patch", "update", "watch"]),
            r(&["extensions", "networking.k8s.io"], &["ingresses/status"], &["patch", "update"]),
            r(&["gateway.k8s.aws"], &["listenerruleconfigurations", "loadbalancerconfigurations", "targetgroupconfigurations"], &["get", "list", "patch", "watch"]),
            r(&["gateway.k8s.aws"], &["listenerruleconfigurations/finalizers", "loadbalancerconfigurations/finalizers", "targetgroupconfigurations/finalizers"], &["patch", "update"]),
            r(&["gateway.k8s.aws"], &["listenerruleconfigurations/status", "loadbalancerconfigurations/status", "targetgroupconfigurations/status"], &["get", "patch", "update"]),
            r(&[gw], &["gatewayclasses", "gateways", "referencegrants"], &["get", "list", "patch", "watch"]),
            r(&[gw], &["gatewayclasses/finalizers", "gateways/finalizers"], &["patch", "update"]),
            r(&[gw], &["gatewayclasses/status", "gateways/status", "grpcroutes/status", "httproutes/status", "listenersets/status", "tcproutes/status", "tlsroutes/status", "udproutes/status"], &["get", "patch", "update"]),
            r(&[gw], &["grpcroutes", "httproutes", "listenersets", "tcproutes", "tlsroutes", "udproutes"], &["get", "list", "watch"]),
            r(&[gw], &["grpcroutes/finalizers", "httproutes/finalizers", "listenersets/finalizers", "tcproutes/finalizers", "tlsroutes/finalizers", "udproutes/finalizers"], &["update"]),
            r(&["networking.k8s.io"], &["ingressclasses"], &["get", "list", "watch"]),
        ],
    })
}

#[cfg(test)]
mod tests;
