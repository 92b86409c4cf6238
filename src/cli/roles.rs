//! What the binary knows of the collection's roles: every variable (their
//! meta/argument_specs.yml, held equal by a test), the ones the roles set
//! themselves, and which role variable feeds each module option. A role
//! passes `_netpath_role` (its name and the variable names it sees); with it
//! a module refuses variables no role reads, names role variables in its
//! errors, and takes `netpath_kubeconfig`/`netpath_context` only when the
//! user set them, so `module_defaults` apply otherwise.

use crate::modules::ModuleDef;
use crate::protocol::Kind;
use crate::validate::{Finding, Findings};
use serde_json::{Map, Value};

/// The private argument every role task adds (stripped before validation).
pub const ARG: &str = "_netpath_role";

/// Prefixes of the roles' variables: an unknown name with one is a typo.
/// `netpath_` is shared with users' own variables (the repository's
/// molecule scenarios have netpath_plane): only near-misses of the
/// connection variables count there.
pub const PREFIXES: &[&str] = &[
    "cni_",
    "alb_ingress_",
    "alb_controller_",
    "netcheck_",
    "netpath_",
];
const SHARED_PREFIX: &str = "netpath_";

/// Every role's meta/argument_specs.yml and defaults/main.yml, built into
/// the binary: the variable table and the CLI's defaults are read from them,
/// so there is no copy to keep equal.
pub const ROLE_FILES: &[(&str, &str, &str)] = &[
    (
        "cni",
        include_str!("../../roles/cni/meta/argument_specs.yml"),
        include_str!("../../roles/cni/defaults/main.yml"),
    ),
    (
        "alb_ingress",
        include_str!("../../roles/alb_ingress/meta/argument_specs.yml"),
        include_str!("../../roles/alb_ingress/defaults/main.yml"),
    ),
    (
        "alb_controller",
        include_str!("../../roles/alb_controller/meta/argument_specs.yml"),
        include_str!("../../roles/alb_controller/defaults/main.yml"),
    ),
    (
        "netcheck",
        include_str!("../../roles/netcheck/meta/argument_specs.yml"),
        include_str!("../../roles/netcheck/defaults/main.yml"),
    ),
    // Last: its variables belong to the roles above, which list them too.
    (
        "network_defaults",
        include_str!("../../roles/network_defaults/meta/argument_specs.yml"),
        include_str!("../../roles/network_defaults/defaults/main.yml"),
    ),
];

/// A role variable, as its role's argument spec declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    /// The role whose argument spec has it first; `*` for the connection
    /// variables every role shares (`netpath_*`).
    pub role: &'static str,
    pub name: String,
    /// The Ansible type: str, int, bool, list, dict.
    pub kind: String,
    /// A renamed variable: the new name, and the version that drops the old
    /// one, from its spec's description ("Deprecated, renamed to C(new) ...;
    /// removed in netpath.calico_alb 1.0.0."; the role argument-spec schema
    /// has no deprecation keys).
    pub renamed: Option<(String, String)>,
}

fn parse_yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or(Value::Null)
}

/// The options of one argument spec, scanned line by line rather than
/// parsed: every module run through a role needs the table, and a YAML parse
/// of five specs costs more than the run itself. The specs' layout is fixed
/// (options at six spaces, their keys at eight; ansible-lint's yamllint
/// holds the indentation), and a test holds the scan equal to a real parse.
fn scan_options(role: &'static str, spec: &str, out: &mut Vec<Variable>) {
    let mut in_options = false;
    let mut current: Option<Variable> = None;
    let mut description_first: Option<String> = None;
    let flush = |v: Option<Variable>, doc: Option<String>, out: &mut Vec<Variable>| {
        if let Some(mut v) = v
            && !out.iter().any(|o| o.name == v.name)
        {
            // "Deprecated, renamed to C(new) ...; removed in netpath.calico_alb <version>."
            v.renamed = doc
                .as_deref()
                .and_then(|d| d.strip_prefix("Deprecated, renamed to C("))
                .and_then(|rest| {
                    let new = rest.split(')').next()?;
                    let version = rest.split("removed in netpath.calico_alb ").nth(1)?;
                    let version = version
                        .split_whitespace()
                        .next()?
                        .trim_end_matches(['.', ';']);
                    Some((new.to_string(), version.to_string()))
                });
            out.push(v);
        }
    };
    for line in spec.lines() {
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if indent == 4 {
            in_options = text == "options:";
            continue;
        }
        if !in_options || indent < 6 {
            continue;
        }
        if indent == 6 {
            flush(current.take(), description_first.take(), out);
            let name = text.trim_end_matches(':');
            current = Some(Variable {
                role: if name.starts_with(SHARED_PREFIX) {
                    "*"
                } else {
                    role
                },
                name: name.to_string(),
                kind: "str".to_string(),
                renamed: None,
            });
        } else if let Some(v) = current.as_mut() {
            if indent == 8 {
                if let Some(t) = text.strip_prefix("type:") {
                    v.kind = t.trim().to_string();
                } else if let Some(d) = text.strip_prefix("description:") {
                    let d = d.trim();
                    if !d.is_empty() {
                        description_first = Some(d.to_string());
                    }
                }
            } else if indent == 10 && description_first.is_none() {
                if let Some(d) = text.strip_prefix("- ") {
                    description_first = Some(d.to_string());
                }
            } else if indent > 10
                && let Some(d) = description_first.as_mut()
                && !d.contains("removed in")
            {
                // A folded first item continues on deeper lines.
                d.push(' ');
                d.push_str(text);
            }
        }
    }
    flush(current, description_first, out);
}

/// Every variable of every role's argument spec.
pub fn variables() -> &'static [Variable] {
    static VARIABLES: std::sync::OnceLock<Vec<Variable>> = std::sync::OnceLock::new();
    VARIABLES.get_or_init(|| {
        let mut out = Vec::new();
        for (role, spec, _) in ROLE_FILES {
            scan_options(role, spec, &mut out);
        }
        out
    })
}

/// Every role's defaults/main.yml, merged (the variables are disjoint): for
/// the CLI only, so a module run never parses them.
fn defaults() -> &'static Map<String, Value> {
    static DEFAULTS: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let mut out = Map::new();
        for (_, _, d) in ROLE_FILES {
            if let Value::Object(d) = parse_yaml(d) {
                out.extend(d);
            }
        }
        out
    })
}

/// A role variable by name.
pub fn variable(name: &str) -> Option<&'static Variable> {
    variables().iter().find(|v| v.name == name)
}

/// What a role's defaults/main.yml sets `name` to (as written: a Jinja
/// default stays a template).
pub fn default_of(name: &str) -> Option<&'static Value> {
    defaults().get(name)
}

/// The warning for each renamed variable the user set.
pub fn renamed_warnings<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = names
        .into_iter()
        .filter_map(|n| {
            let (new, version) = variable(n)?.renamed.as_ref()?;
            Some(format!(
                "{n} is deprecated and will be removed in netpath.calico_alb {version}: rename it to \
                 {new} (its value is used until then; with both set, {new} wins)."
            ))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Names with a role prefix that are not role inputs: what the roles
/// register or set_fact, task-level vars, the cni module's fact, and the
/// collection's playbook and action variables. A test holds the first
/// group equal to roles/*/tasks.
pub const SET_BY_ROLES: &[&str] = &[
    "netcheck_result",
    "netcheck_findings",
    "netcheck_security_group_rules",
    "netcheck_terraform",
    "netcheck_provider_id_result",
    "cni_calico_sources",
    "cni_calico_manifest_text",
    "cni_calico_file",
    "alb_controller_result",
    "alb_controller_iam_policy",
    "alb_controller_iam_policy_terraform",
    "alb_controller_crds_file",
    "netpath_network",
    "netpath_hosts",
    "netpath_remote_cache",
];

/// Module option (dotted for sub-options) ← role variables in the role's
/// precedence: the first the user set gave the value.
pub type Table = &'static [(&'static str, &'static [&'static str])];

const NETCHECK: Table = &[
    ("cni_plugin", &["netcheck_cni_plugin", "cni_plugin"]),
    ("pod_cidr", &["netcheck_pod_cidr", "cni_pod_cidr"]),
    ("vpc_cidrs", &["netcheck_vpc_cidrs", "cni_vpc_cidrs"]),
    (
        "service_cidr",
        &["netcheck_service_cidr", "cni_service_cidr"],
    ),
    (
        "node_port_range",
        &["netcheck_node_port_range", "alb_ingress_node_port_range"],
    ),
    (
        "ingresses",
        &[
            "netcheck_ingresses",
            "alb_ingress_ingresses",
            "alb_ingress_apps",
        ],
    ),
    ("encapsulation", &["netcheck_encapsulation"]),
    ("vxlan_mode", &["cni_vxlan_mode"]),
    ("ipip_mode", &["cni_ipip_mode"]),
    ("vxlan_port", &["netcheck_vxlan_port", "cni_vxlan_port"]),
    ("bgp", &["netcheck_bgp"]),
    ("calico_backend", &["cni_calico_backend"]),
    ("typha", &["netcheck_typha", "cni_typha"]),
    ("alb_security_group", &["netcheck_alb_security_group"]),
    ("worker_security_group", &["netcheck_worker_security_group"]),
    ("open_node_port_range", &["netcheck_open_node_port_range"]),
    ("fail_on", &["netcheck_fail_on"]),
    ("live", &["netcheck_live"]),
    ("controller_namespace", &["netcheck_controller_namespace"]),
    ("controller_name", &["netcheck_controller_name"]),
    (
        "cluster_name",
        &["netcheck_cluster_name", "alb_controller_cluster_name"],
    ),
    ("region", &["netcheck_aws_region", "alb_controller_region"]),
    ("vpc_id", &["netcheck_vpc_id", "alb_controller_vpc_id"]),
    ("aws", &["netcheck_aws"]),
];
const NETCHECK_PROVIDER_ID: Table = &[
    ("node_name", &["netcheck_node_name"]),
    ("metadata_endpoint", &["netcheck_metadata_endpoint"]),
    ("metadata_timeout", &["netcheck_metadata_timeout"]),
];
const ALB_INGRESS: Table = &[
    ("cni_plugin", &["alb_ingress_cni_plugin", "cni_plugin"]),
    ("pod_cidr", &["alb_ingress_pod_cidr", "cni_pod_cidr"]),
    ("vpc_cidrs", &["alb_ingress_vpc_cidrs", "cni_vpc_cidrs"]),
    ("node_port_range", &["alb_ingress_node_port_range"]),
    ("ingress_class.name", &["alb_ingress_class_name"]),
    ("ingress_class.params", &["alb_ingress_class_params"]),
    (
        "ingress_class.is_default",
        &["alb_ingress_class_is_default"],
    ),
    (
        "ingress_class_annotation",
        &["alb_ingress_class_annotation"],
    ),
    ("ingresses", &["alb_ingress_ingresses", "alb_ingress_apps"]),
    ("wait", &["alb_ingress_wait"]),
    ("wait_timeout", &["alb_ingress_wait_timeout"]),
];
const CNI_IPPOOL: Table = &[
    ("name", &["cni_ippool_name"]),
    ("cidr", &["cni_pod_cidr"]),
    ("block_size", &["cni_block_size"]),
    ("vxlan_mode", &["cni_vxlan_mode"]),
    ("ipip_mode", &["cni_ipip_mode"]),
    ("nat_outgoing", &["cni_nat_outgoing"]),
    ("node_selector", &["cni_node_selector"]),
    ("migrate", &["cni_ippool_migrate"]),
    ("vpc_cidrs", &["cni_vpc_cidrs"]),
    ("service_cidr", &["cni_service_cidr"]),
];
const CNI_CNI: Table = &[
    ("cni_plugin", &["cni_plugin"]),
    ("calico_backend", &["cni_calico_backend"]),
    ("host_mtu", &["cni_host_mtu"]),
    ("veth_mtu", &["cni_veth_mtu"]),
    ("vxlan_port", &["cni_vxlan_port"]),
    ("vxlan_vni", &["cni_vxlan_vni"]),
    ("ipip_mode", &["cni_ipip_mode"]),
    ("aws_src_dst_check", &["cni_aws_src_dst_check"]),
    ("typha", &["cni_typha"]),
    ("wait", &["cni_calico_wait"]),
    ("wait_timeout", &["cni_calico_wait_timeout"]),
    ("pod_cidr", &["cni_pod_cidr"]),
    ("vpc_cidrs", &["cni_vpc_cidrs"]),
    ("force_conflicts", &["cni_calico_force_conflicts"]),
];
const CNI_MANIFEST: Table = &[
    ("wait", &["cni_calico_wait"]),
    ("wait_timeout", &["cni_calico_wait_timeout"]),
    ("force_conflicts", &["cni_calico_force_conflicts"]),
];
const ALB_CONTROLLER: Table = &[
    ("crds", &["alb_controller_crds"]),
    ("cluster_name", &["alb_controller_cluster_name"]),
    ("region", &["alb_controller_region"]),
    ("vpc_id", &["alb_controller_vpc_id"]),
    ("namespace", &["alb_controller_namespace"]),
    ("image", &["alb_controller_image"]),
    ("image_pull_policy", &["alb_controller_image_pull_policy"]),
    ("image_pull_secrets", &["alb_controller_image_pull_secrets"]),
    ("replicas", &["alb_controller_replicas"]),
    ("node_selector", &["alb_controller_node_selector"]),
    ("tolerations", &["alb_controller_tolerations"]),
    ("resources", &["alb_controller_resources"]),
    (
        "priority_class_name",
        &["alb_controller_priority_class_name"],
    ),
    ("log_level", &["alb_controller_log_level"]),
    (
        "ingress_class",
        &["alb_controller_ingress_class", "alb_ingress_class_name"],
    ),
    ("enable_waf", &["alb_controller_enable_waf"]),
    ("enable_wafv2", &["alb_controller_enable_wafv2"]),
    ("enable_shield", &["alb_controller_enable_shield"]),
    (
        "enable_backend_security_group",
        &["alb_controller_enable_backend_security_group"],
    ),
    (
        "service_mutator_webhook",
        &["alb_controller_service_mutator_webhook"],
    ),
    (
        "service_account_annotations",
        &["alb_controller_service_account_annotations"],
    ),
    ("env", &["alb_controller_env"]),
    ("cluster_domain", &["alb_controller_cluster_domain"]),
    (
        "webhook_cert_validity_days",
        &["alb_controller_webhook_cert_validity_days"],
    ),
    (
        "webhook_cert_renew_before_days",
        &["alb_controller_webhook_cert_renew_before_days"],
    ),
    ("webhook_cert_renew", &["alb_controller_webhook_cert_renew"]),
    (
        "webhook_cert_extra_names",
        &["alb_controller_webhook_cert_extra_names"],
    ),
    ("wait", &["alb_controller_wait"]),
    ("wait_timeout", &["alb_controller_wait_timeout"]),
    ("force_conflicts", &["alb_controller_force_conflicts"]),
];
/// Every role's connection: passed inside `_netpath_role`, not as options.
const CONNECTION: Table = &[
    ("kubeconfig", &["netpath_kubeconfig"]),
    ("context", &["netpath_context"]),
];

/// (role, module, table) for every module task of roles/*/tasks.
pub const TASKS: &[(&str, &str, Table)] = &[
    ("netcheck", "netcheck", NETCHECK),
    ("netcheck", "node_provider_id", NETCHECK_PROVIDER_ID),
    ("alb_ingress", "alb_ingress", ALB_INGRESS),
    ("cni", "ippool", CNI_IPPOOL),
    ("cni", "cni", CNI_CNI),
    ("cni", "manifest", CNI_MANIFEST),
    ("alb_controller", "alb_controller", ALB_CONTROLLER),
];

/// The precedence chains of one role task (empty if the role has no such task).
pub fn chains(role: &str, module: &str) -> Table {
    TASKS
        .iter()
        .find(|(r, m, _)| *r == role && *m == module)
        .map_or(&[], |(_, _, t)| *t)
}

fn known(name: &str) -> bool {
    variable(name).is_some() || SET_BY_ROLES.contains(&name)
}

/// Optimal string alignment distance: edits plus swaps of neighbours, so
/// `cird` is one step from `cidr`.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The closest role variable, when it is close enough to be the intent.
pub fn suggest(name: &str) -> Option<(&'static str, &'static str)> {
    let limit = (name.len() / 4).clamp(2, 4);
    variables()
        .iter()
        .filter(|v| v.renamed.is_none())
        .map(|v| (distance(name, &v.name), v.role, v.name.as_str()))
        .filter(|(d, _, _)| *d <= limit)
        .min_by_key(|(d, _, _)| *d)
        .map(|(_, role, v)| (role, v))
}

/// A finding for every name with a role prefix that no role reads, except
/// the `others` (netpath_other_variables: other roles' variables).
pub fn unknown_variables<'a>(
    names: impl IntoIterator<Item = &'a str>,
    others: &[String],
    f: &mut Findings,
) {
    let mut names: Vec<&str> = names
        .into_iter()
        .filter(|n| PREFIXES.iter().any(|p| n.starts_with(p)) && !known(n))
        .filter(|n| !others.iter().any(|o| o == n))
        .filter(|n| {
            !n.starts_with(SHARED_PREFIX)
                || ["netpath_kubeconfig", "netpath_context"]
                    .iter()
                    .any(|v| distance(n, v) <= 2)
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    for n in names {
        let fix = match suggest(n) {
            Some((role, v)) => format!(
                "did you mean {v}? Rename {n} to {v} (`ansible-doc -t role \
                 netpath.calico_alb.{}` lists every variable).",
                if role == "*" { "cni" } else { role }
            ),
            None => format!(
                "remove {n}, or rename it to one of the variables `ansible-doc -t role \
                 netpath.calico_alb.cni` (alb_ingress, netcheck) lists; if another role \
                 reads it, add it to netpath_other_variables."
            ),
        };
        f.error(
            n,
            "no netpath role reads this variable, so its value is ignored and the default \
             applies instead.",
            fix,
        );
    }
}

/// A list variable given as a string: Ansible would split it at commas
/// (keeping the blanks) or hand the whole text on; neither is what was meant.
pub fn string_for_list(var: &str, text: &str) -> Finding {
    let items: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let shown = if text.chars().count() > 80 {
        format!("{}…", text.chars().take(80).collect::<String>())
    } else {
        text.to_string()
    };
    Finding::error(
        var,
        format!(
            "is the string {shown:?} where a list is expected; it would be split at commas, \
             blanks included, and the module would be handed other values than meant."
        ),
        format!("write a YAML list: {var}: [{}]", items.join(", ")),
    )
}

/// A module task run through one of the roles.
#[derive(Debug, Clone)]
pub struct RoleCall {
    pub role: String,
    /// The role-prefixed variable names the role saw (`varnames`).
    pub variables: Vec<String>,
    /// netpath_other_variables: other roles' names, not typos.
    others: Vec<String>,
    /// Role variables the preflight reads only for their type (`values`):
    /// the other roles' lists that reach no netcheck option.
    values: Map<String, Value>,
    table: Table,
    /// Connection options the role took from netpath_kubeconfig/context.
    from_role: Vec<&'static str>,
    kubeconfig: Option<Value>,
    context: Option<Value>,
}

impl RoleCall {
    /// Reads `_netpath_role` as the roles pass it.
    pub fn new(module: &str, v: &Value) -> Result<Self, String> {
        let bad = || {
            format!(
                "{ARG} must be {{role: NAME, variables: [...]}} as the netpath.calico_alb roles \
                 pass it"
            )
        };
        let m = v.as_object().ok_or_else(bad)?;
        let role = m.get("role").and_then(Value::as_str).ok_or_else(bad)?;
        let table = TASKS
            .iter()
            .find(|(r, md, _)| *r == role && *md == module)
            .map(|(_, _, t)| *t)
            .ok_or_else(|| format!("{ARG}: role {role:?} has no task for module {module}"))?;
        let variables = match m.get("variables") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            // `lookup` (not `query`) joins the names with commas.
            Some(Value::String(s)) => s
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => return Err(bad()),
        };
        let others = match m.get("other_variables") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                return Err("netpath_other_variables must be a list of variable names".into());
            }
        };
        let values = match m.get("values") {
            Some(Value::Object(v)) => v.clone(),
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(bad()),
        };
        let set = |k: &str| m.get(k).filter(|v| !matches!(v, Value::Null)).cloned();
        let set = |k: &str| set(k).filter(|v| v.as_str() != Some(""));
        Ok(RoleCall {
            role: role.to_string(),
            variables,
            others,
            values,
            table,
            from_role: Vec::new(),
            kubeconfig: set("kubeconfig"),
            context: set("context"),
        })
    }

    /// Deprecation warnings for the renamed variables the role saw set.
    pub fn warnings(&self) -> Vec<String> {
        renamed_warnings(self.variables.iter().map(String::as_str))
    }

    /// Before anything else: unknown variables, and strings where the
    /// role's list variables go.
    pub fn check(&self, module: &ModuleDef, args: &Map<String, Value>, f: &mut Findings) {
        unknown_variables(self.variables.iter().map(String::as_str), &self.others, f);
        for spec in module.options.iter().flat_map(|s| s.iter()) {
            if let (Kind::List(_), Some(Value::String(s))) = (spec.kind, args.get(spec.name))
                && let Some(var) = self.variable(spec.name)
            {
                f.push(string_for_list(&var, s));
            }
        }
        for (var, v) in &self.values {
            let list = variable(var).is_some_and(|x| x.kind == "list");
            if let (true, Value::String(s)) = (list, v) {
                f.push(string_for_list(var, s));
            }
        }
    }

    /// netpath_kubeconfig and netpath_context, when the user set them, win
    /// over module_defaults; unset, the role passes nothing and
    /// module_defaults (or the environment) decide.
    pub fn connection(&mut self, args: &mut Map<String, Value>) {
        for (opt, v) in [("kubeconfig", &self.kubeconfig), ("context", &self.context)] {
            if let Some(v) = v {
                args.insert(opt.to_string(), v.clone());
                self.from_role.push(opt);
            }
        }
    }

    /// The role variable (and sub-path) behind a module field.
    pub fn variable(&self, field: &str) -> Option<String> {
        let mut best: Option<(&str, &[&str])> = None;
        for (opt, vars) in self.table.iter().chain(CONNECTION) {
            let Some(rest) = field.strip_prefix(opt) else {
                continue;
            };
            if !(rest.is_empty() || rest.starts_with(['.', '['])) {
                continue;
            }
            if CONNECTION.iter().any(|(o, _)| o == opt) && !self.from_role.contains(opt) {
                continue; // set by module_defaults or the task: its own name is right
            }
            if best.is_none_or(|(b, _)| opt.len() > b.len()) {
                best = Some((opt, vars));
            }
        }
        let (opt, vars) = best?;
        let var = vars
            .iter()
            .find(|v| self.variables.iter().any(|s| s == *v))
            .unwrap_or(&vars[0]);
        Some(format!("{var}{}", &field[opt.len()..]))
    }

    pub fn findings(&self, findings: &mut [Finding]) {
        for f in findings {
            if let Some(v) = self.variable(&f.field) {
                f.field = v;
            }
            f.problem = self.words(&f.problem);
            f.fix = self.words(&f.fix);
        }
    }

    /// Option names in a finding's prose ("choose a range for pod_cidr")
    /// as the role variables. Only names with an underscore: `name` or
    /// `wait` are also plain words.
    fn words(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            match self
                .table
                .iter()
                .find(|(o, _)| o.contains('_') && !o.contains('.') && *o == word)
            {
                Some((opt, _)) => out.push_str(&self.variable(opt).unwrap_or_else(|| word.clone())),
                None => out.push_str(word),
            }
            word.clear();
        };
        for c in text.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }

    /// `findings` as returned in JSON (netcheck's result).
    pub fn findings_json(&self, v: &mut Value) {
        for f in v.as_array_mut().into_iter().flatten() {
            if let Some(field) = f.get("field").and_then(Value::as_str)
                && let Some(var) = self.variable(field)
            {
                f["field"] = Value::String(var);
            }
            for k in ["problem", "fix"] {
                if let Some(t) = f.get(k).and_then(Value::as_str) {
                    f[k] = Value::String(self.words(t));
                }
            }
        }
    }

    /// Argument-spec messages and `field: problem` lines name options:
    /// say the role variables.
    pub fn text(&self, s: &str) -> String {
        if let Some((head, rest)) = s.split_once(": ")
            && !head.contains(' ')
            && let Some(v) = self.variable(head)
        {
            return format!("{v}: {}", self.words(rest));
        }
        let mut out = s.to_string();
        for (opt, _) in self.table.iter().chain(CONNECTION) {
            for (pre, post) in [
                ("'", "'"),
                ("'", "["),
                ("'", "."),
                ("value of ", " "),
                (" ", "["),
            ] {
                let needle = format!("{pre}{opt}{post}");
                if let Some(var) = self.variable(opt)
                    && out.contains(&needle)
                {
                    out = out.replace(&needle, &format!("{pre}{var}{post}"));
                }
            }
        }
        out
    }

    /// A connection error for a kubeconfig or context the role passed.
    pub fn connection_note(&self) -> Option<String> {
        if self.from_role.is_empty() {
            return None;
        }
        let vars: Vec<String> = self
            .from_role
            .iter()
            .map(|o| format!("{o} is the role variable netpath_{o}"))
            .collect();
        Some(format!(
            " ({}: fix it there, or unset it to use module_defaults or KUBECONFIG)",
            vars.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests;
