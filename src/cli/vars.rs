//! `netpath check -f VARS.yml` and `netpath render -f VARS.yml`: the role
//! variables a user keeps in group_vars, checked or rendered without Ansible
//! and without a cluster.

use super::roles;
use crate::alb::model;
use crate::calico;
use crate::modules::{alb_controller, alb_ingress, cni, ippool, netcheck as netcheck_module};
use crate::preflight::path as netcheck;
use crate::protocol::{Params, spec};
use crate::validate::{Finding, Findings, Severity};
use serde_json::{Map, Value, json};

const HELP_HEAD: &str = "netpath check  -f VARS.yml [-o text|json|terraform]
netpath render -f VARS.yml

Reads the roles' variables as written in group_vars (literal values; no
cluster needed), with the roles' defaults and precedence: a role's own
variable wins over the shared cni_* one. A cni_*, alb_ingress_* or
netcheck_* name no role reads (a typo: the closest name is suggested) and a
string where a list goes are refused first, as the roles refuse them.";

/// The variables the help lists; the defaults shown are read from the
/// roles' defaults/main.yml, not written here.
const HELP_VARS: &[(&str, &str)] = &[
    ("cni_plugin", "calico | aws-vpc-cni"),
    ("cni_pod_cidr", "Calico pool / pod network"),
    ("cni_vpc_cidrs", "list of VPC CIDRs"),
    ("cni_service_cidr", "Service ClusterIP range"),
    (
        "cni_vxlan_mode",
        "the pool's vxlanMode: Always | CrossSubnet | Never",
    ),
    (
        "cni_ipip_mode",
        "the pool's ipipMode (encapsulation: docs/glossary.md)",
    ),
    ("cni_vxlan_port", "VXLAN UDP port"),
    (
        "cni_calico_backend",
        "vxlan | bird | none (bird: BGP, TCP 179)",
    ),
    ("cni_typha", "Calico runs Typha (TCP 5473)"),
    ("cni_host_mtu", "host interface MTU"),
    ("cni_veth_mtu", "pod MTU (default: from the host MTU)"),
    ("cni_nat_outgoing", "natOutgoing of the pool"),
    ("cni_node_selector", "the pool's nodeSelector"),
    ("cni_aws_src_dst_check", "DoNothing | Enable | Disable"),
    (
        "alb_ingress_ingresses",
        "the Ingresses (the module's `ingresses`; the old name alb_ingress_apps still works)",
    ),
    ("alb_ingress_class_name", "the IngressClass"),
    ("alb_ingress_class_params", "its IngressClassParams spec"),
    ("alb_ingress_class_is_default", "make it the default class"),
    (
        "alb_ingress_class_annotation",
        "also write kubernetes.io/ingress.class",
    ),
    (
        "alb_ingress_node_port_range",
        "kube-apiserver --service-node-port-range",
    ),
    (
        "netcheck_alb_security_group",
        "ALB security group (ID, name or Terraform reference)",
    ),
    ("netcheck_worker_security_group", "worker security group"),
    (
        "netcheck_open_node_port_range",
        "open the whole range instead of the exact NodePorts",
    ),
    ("netcheck_fail_on", "error | warning | never"),
];

const HELP_TAIL: &str = "Overrides of the shared values, per role: alb_ingress_cni_plugin,
alb_ingress_pod_cidr, alb_ingress_vpc_cidrs; netcheck_cni_plugin,
netcheck_pod_cidr, netcheck_vpc_cidrs, netcheck_service_cidr,
netcheck_node_port_range, netcheck_ingresses, netcheck_encapsulation,
netcheck_vxlan_port, netcheck_bgp, netcheck_typha.

check runs the rules of the ippool, cni, alb_ingress and netcheck modules on
these variables and prints every finding and the worker security-group
rules; exit 1 when any error is found (netcheck_fail_on). render prints the
IPPool, calico-config keys, FelixConfiguration, IngressClass, Service and
Ingress YAML; exit 1 when the input is refused.";

/// `netpath check --help`.
pub fn help() -> String {
    let mut out = format!("{HELP_HEAD}\n");
    for (var, doc) in HELP_VARS {
        let default = roles::default_of(var)
            .filter(|d| !d.is_null() && !templated(d))
            .map(|d| match d {
                Value::String(s) => format!(" (default {s})"),
                d => format!(" (default {})", d.to_string().replace('"', "")),
            })
            .unwrap_or_default();
        out.push_str(&format!("    {var:<30} {doc}{default}\n"));
    }
    out.push('\n');
    out.push_str(HELP_TAIL);
    out
}

/// Options built from variables, and the variable behind each option.
type Options = (Map<String, Value>, Vec<(String, String)>);

/// Module option ← role variables, first one set wins: the role tasks'
/// precedence chains (cli::roles::TASKS, held equal to roles/*/tasks by a
/// test), never a copy of them.
type Table = Vec<(&'static str, &'static [&'static str])>;

/// The netcheck options whose rules run without a cluster.
const CHECK_OPTIONS: &[&str] = &[
    "cni_plugin",
    "pod_cidr",
    "vpc_cidrs",
    "service_cidr",
    "node_port_range",
    "ingresses",
    "encapsulation",
    "vxlan_mode",
    "ipip_mode",
    "vxlan_port",
    "bgp",
    "calico_backend",
    "typha",
    "alb_security_group",
    "worker_security_group",
    "open_node_port_range",
];
/// The alb_ingress options `render` passes (not its waiting).
const RENDER_OPTIONS: &[&str] = &[
    "cni_plugin",
    "pod_cidr",
    "vpc_cidrs",
    "node_port_range",
    "ingress_class.name",
    "ingress_class.params",
    "ingress_class.is_default",
    "ingress_class_annotation",
    "ingresses",
];

/// The chains of one role task, all of them or only `options`.
fn table(role: &str, module: &str, options: Option<&[&str]>) -> Table {
    roles::chains(role, module)
        .iter()
        .filter(|(opt, _)| options.is_none_or(|o| o.contains(opt)))
        .copied()
        .collect()
}

fn check_table() -> Table {
    table("netcheck", "netcheck", Some(CHECK_OPTIONS))
}
fn render_table() -> Table {
    table("alb_ingress", "alb_ingress", Some(RENDER_OPTIONS))
}
/// ippool and cni as the cni role runs them (the migration and waiting
/// need a cluster).
fn ippool_table() -> Table {
    table("cni", "ippool", None)
        .into_iter()
        .filter(|(o, _)| *o != "migrate")
        .collect()
}
fn cni_table() -> Table {
    table("cni", "cni", None)
        .into_iter()
        .filter(|(o, _)| !matches!(*o, "wait" | "wait_timeout" | "force_conflicts"))
        .collect()
}

struct Args {
    file: String,
    output: String,
}

fn parse_args(cmd: &str, args: &[String]) -> Result<Args, i32> {
    let mut file = None;
    let mut output = "text".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-f" | "--filename" | "--vars" => file = it.next().cloned(),
            "-o" | "--output" => match it.next().map(String::as_str) {
                Some(o @ ("text" | "json" | "terraform")) if cmd == "check" => {
                    output = o.to_string()
                }
                other => {
                    eprintln!(
                        "netpath {cmd}: -o takes text, json or terraform (check only), got {other:?}"
                    );
                    return Err(2);
                }
            },
            "-h" | "--help" => {
                println!("{}", help());
                return Err(0);
            }
            other => {
                eprintln!("netpath {cmd}: unknown option {other:?}\n\n{}", help());
                return Err(2);
            }
        }
    }
    match file {
        Some(file) => Ok(Args { file, output }),
        None => {
            eprintln!("netpath {cmd}: -f VARS.yml is required\n\n{}", help());
            Err(2)
        }
    }
}

/// Reads VARS.yml ('-' = standard input) into a mapping.
pub fn read_vars(path: &str) -> Result<Map<String, Value>, String> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?
    };
    parse_vars(&text).map_err(|e| format!("{path}: {e}"))
}

pub fn parse_vars(text: &str) -> Result<Map<String, Value>, String> {
    // A line and column, never the lines themselves: group_vars hold
    // tokens and vault blobs.
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let v: Value = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| format!("not valid YAML: {e}"))?;
    match v {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        _ => Err("must be a mapping of variable names to values, like group_vars".into()),
    }
}

fn templated(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(a) => a.iter().any(templated),
        Value::Object(o) => o.values().any(templated),
        _ => false,
    }
}

/// Every variable the CLI reads (a test holds them to the roles').
#[cfg(test)]
fn all_read() -> impl Iterator<Item = &'static str> {
    [check_table(), render_table(), ippool_table(), cni_table()]
        .into_iter()
        .flat_map(|t| t.into_iter().flat_map(|(_, vars)| vars.iter().copied()))
        .chain(["netcheck_fail_on", "alb_controller_enabled"])
}

/// Variables no role reads (a typo), and strings where a role's list goes.
fn role_findings(vars: &Map<String, Value>, f: &mut Findings) {
    let others: Vec<String> = match vars.get("netpath_other_variables") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    roles::unknown_variables(vars.keys().map(String::as_str), &others, f);
    for (name, v) in vars {
        let list = roles::variable(name).is_some_and(|v| v.kind == "list");
        if let (true, Value::String(s)) = (list, v)
            && !templated(v)
        {
            f.push(roles::string_for_list(name, s));
        }
    }
}

/// Module options from variables, and which variable set each option (for
/// naming it in findings), resolved as Ansible resolves the task's chain:
/// each variable in turn, the user's value or else its role default
/// (defaults/main.yml, built in). A templated value is skipped for the next
/// variable in precedence (role defaults look like `{{ cni_pod_cidr }}`);
/// when only templates the user wrote remain it is an error. Dotted options
/// (`ingress_class.name`) become sub-options.
fn to_options(
    vars: &Map<String, Value>,
    table: &[(&str, &[&str])],
) -> Result<Options, Vec<String>> {
    let mut out = Map::new();
    let mut used = Vec::new();
    let mut errors = Vec::new();
    for (opt, candidates) in table {
        let mut templated_given = None;
        let mut found = None;
        for c in *candidates {
            let (v, given) = match vars.get(*c).filter(|v| !v.is_null()) {
                Some(v) => (v, true),
                None => match roles::default_of(c).filter(|v| !v.is_null()) {
                    Some(v) => (v, false),
                    None => continue,
                },
            };
            if !templated(v) {
                found = Some((*c, v));
                break;
            }
            if given && templated_given.is_none() {
                templated_given = Some(*c);
            }
        }
        match (found, templated_given) {
            (Some((var, v)), _) => {
                match opt.split_once('.') {
                    Some((parent, sub)) => {
                        let entry = out
                            .entry(parent.to_string())
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let Value::Object(m) = entry {
                            m.insert(sub.to_string(), v.clone());
                        }
                    }
                    None => {
                        out.insert(opt.to_string(), v.clone());
                    }
                }
                used.push((opt.to_string(), var.to_string()));
            }
            (None, Some(var)) => errors.push(format!(
                "{var} is a Jinja template; netpath reads literal values only (run the \
                 role in Ansible for templated variables, or write the value)"
            )),
            (None, None) => {}
        }
    }
    if errors.is_empty() {
        Ok((out, used))
    } else {
        Err(errors)
    }
}

fn validate(
    module: &crate::modules::ModuleDef,
    opts: &Map<String, Value>,
) -> Result<Params, Vec<String>> {
    let no_env = |_: &str| None;
    spec::validate(
        &format!("netpath.calico_alb.{}", module.name),
        module.options,
        &module.constraints,
        opts,
        &no_env,
    )
}

/// The `ippool` and `cni` modules run on the cni role's variables, as the
/// role passes them: their objects (IPPool, calico-config keys,
/// FelixConfiguration) and every finding, named by variable.
fn calico_modules(vars: &Map<String, Value>) -> Result<(Vec<Value>, Findings), Vec<String>> {
    let (pool_opts, pool_used) = to_options(vars, &ippool_table())?;
    let (cni_opts, cni_used) = to_options(vars, &cni_table())?;
    let pool = validate(&ippool::MODULE, &pool_opts).map_err(|e| rename_text(e, &pool_used))?;
    let cni_params = validate(&cni::MODULE, &cni_opts).map_err(|e| rename_text(e, &cni_used))?;
    let mut objects = Vec::new();
    let mut findings = Findings::new();
    let typed = |e: serde_json::Error| vec![e.to_string()];
    let (pool, cni_params) = (
        pool.typed().map_err(typed)?,
        cni_params.typed().map_err(typed)?,
    );
    let mut pool_f = match calico::ippool::render(&pool) {
        Ok((obj, f)) => {
            objects.push(obj);
            f
        }
        Err(f) => f,
    };
    to_variable_names(&mut pool_f.0, &pool_used);
    let mut cni_f = match calico::cni::render(&cni_params) {
        Ok((objs, _facts, f)) => {
            objects.extend(objs);
            f
        }
        Err(f) => f,
    };
    to_variable_names(&mut cni_f.0, &cni_used);
    // Both modules check pod_cidr against the VPC: say it once.
    for x in pool_f.0.into_iter().chain(cni_f.0) {
        if !findings
            .0
            .iter()
            .any(|y| y.field == x.field && y.problem == x.problem)
        {
            findings.push(x);
        }
    }
    Ok((objects, findings))
}

fn read(cmd: &str, args: &[String]) -> Result<(Args, Map<String, Value>), i32> {
    let a = parse_args(cmd, args)?;
    let vars = read_file(cmd, &a.file)?;
    Ok((a, vars))
}

/// VARS.yml read, renamed variables warned about, and the roles' refusals
/// reported before any rule runs.
pub(super) fn read_file(cmd: &str, file: &str) -> Result<Map<String, Value>, i32> {
    let vars = read_vars(file).map_err(|e| {
        eprintln!("netpath {cmd}: {e}");
        2
    })?;
    // Renamed variables still work, as in the roles, with the same warning.
    for w in roles::renamed_warnings(vars.keys().map(String::as_str)) {
        eprintln!("warning: {w}");
    }
    // The same refusals as a role task's (cli::roles): before any rule runs.
    let refused = Findings::of(|f| role_findings(&vars, f));
    if !refused.is_empty() {
        print_findings(&refused);
        eprintln!(
            "netpath {cmd}: {} role variable{} refused, nothing else was checked",
            refused.len(),
            if refused.len() == 1 { "" } else { "s" }
        );
        return Err(1);
    }
    Ok(vars)
}

pub fn check(args: &[String]) -> i32 {
    let (a, vars) = match read("check", args) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if let Some(e) = fail_on_problem(&vars) {
        return usage_errors("check", &[e]);
    }
    let (opts, used) = match to_options(&vars, &check_table()) {
        Ok(o) => o,
        Err(errors) => return usage_errors("check", &errors),
    };
    let mut extra = Findings::new();
    if opts.get("cni_plugin").and_then(Value::as_str) != Some("aws-vpc-cni") {
        match calico_modules(&vars) {
            Ok((_, f)) => extra = f,
            Err(errors) => return usage_errors("check", &errors),
        }
    }
    let params = match validate(&netcheck_module::MODULE, &opts) {
        Ok(p) => p,
        Err(errors) => return usage_errors("check", &rename_text(errors, &used)),
    };
    let typed = match netcheck_module::Args::from_params(&params) {
        Ok(a) => a,
        Err(e) => return usage_errors("check", &[e.to_string()]),
    };
    let mut r = netcheck::run(&typed.path, None);
    r.findings.extend(extra.0);
    // The IngressClassParams rules render and alb_ingress run (issue 14).
    if let Some(cp) = vars
        .get("alb_ingress_class_params")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty() && !m.values().any(templated))
    {
        let class = model::IngressClass {
            name: vars
                .get("alb_ingress_class_name")
                .and_then(Value::as_str)
                .unwrap_or("alb")
                .to_string(),
            present: true,
            params: Some(cp.clone()),
            is_default: false,
            managed: true,
        };
        let mut scratch = Findings::new();
        let net = crate::net::network::Network::parse(&typed.path.network, &mut scratch);
        model::check_class(&class, &net, &mut r.findings);
    }
    to_variable_names(&mut r.findings.0, &used);
    r.findings.extend(alb_controller_findings(&vars).0);
    let errors = r.findings.errors().count();
    match a.output.as_str() {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "findings": r.findings.0,
                "security_group_rules": r.ec2_rules,
                "terraform": r.terraform,
                "node_ports": r.node_ports,
                "network": r.network,
            }))
            .unwrap_or_default()
        ),
        "terraform" => println!(
            "{}",
            serde_json::to_string_pretty(&r.terraform).unwrap_or_default()
        ),
        _ => print_text(&r, params.str("worker_security_group").unwrap_or_default()),
    }
    let fail = match vars.get("netcheck_fail_on").and_then(Value::as_str) {
        Some("never") => false,
        Some("warning") => !r.findings.0.is_empty(),
        _ => errors > 0,
    };
    i32::from(fail)
}

/// The netcheck role's choice, checked as its argument spec checks it: a
/// typo must not quietly turn "fail on errors" into something else.
fn fail_on_problem(vars: &Map<String, Value>) -> Option<String> {
    let v = vars.get("netcheck_fail_on").filter(|v| !v.is_null())?;
    match v.as_str() {
        Some("error" | "warning" | "never") => None,
        _ => Some(format!(
            "value of netcheck_fail_on must be one of: error, warning, never, got: {}",
            v.as_str().map_or_else(|| v.to_string(), str::to_string)
        )),
    }
}

fn usage_errors(cmd: &str, errors: &[String]) -> i32 {
    for e in errors {
        eprintln!("netpath {cmd}: {e}");
    }
    2
}

/// The variable an option (and its sub-path) came from.
fn variable_for(field: &str, used: &[(String, String)]) -> Option<String> {
    let under = |opt: &str, var: &str| {
        let rest = field.strip_prefix(opt)?;
        (rest.is_empty() || rest.starts_with(['[', '.'])).then(|| format!("{var}{rest}"))
    };
    used.iter()
        .find_map(|(opt, var)| under(opt, var))
        // check's IngressClassParams rules: the alb_ingress role's variable.
        .or_else(|| {
            field.starts_with("ingress_class.").then(|| {
                render_table()
                    .iter()
                    .find_map(|(opt, vars)| under(opt, vars[0]))
            })?
        })
}

/// Findings name module options; a user of VARS.yml wrote variables.
/// With `alb_controller_enabled: true`, the alb_controller module's rules on
/// the role's variables (literal values; a templated one is not judged),
/// named as the variables, so a bad VPC ID is found before any run.
fn alb_controller_findings(vars: &Map<String, Value>) -> Findings {
    let mut out = Findings::new();
    if vars.get("alb_controller_enabled") != Some(&Value::Bool(true)) {
        return out;
    }
    let options = alb_controller::MODULE.options[0];
    let mut opts = Map::new();
    for spec in options
        .iter()
        .filter(|o| !matches!(o.name, "crds" | "crds_src"))
    {
        match vars.get(&format!("alb_controller_{}", spec.name)) {
            Some(v) if !templated(v) => {
                opts.insert(spec.name.to_string(), v.clone());
            }
            // Templated: a valid stand-in, so the other rules still run.
            Some(_) if spec.required => {
                let stand_in = match spec.name {
                    "region" => "eu-west-1",
                    "vpc_id" => "vpc-00000000",
                    _ => "netpath",
                };
                opts.insert(spec.name.to_string(), json!(stand_in));
            }
            _ if spec.required => {
                opts.insert(spec.name.to_string(), json!(""));
            }
            _ => {}
        }
    }
    let rename = |text: &str| {
        let mut t = text.to_string();
        let mut names: Vec<&str> = options
            .iter()
            .map(|o| o.name)
            .filter(|n| n.contains('_'))
            .collect();
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        for n in names {
            for (pre, post) in [(" ", " "), (" ", "."), (" ", ","), (" ", ":")] {
                t = t.replace(
                    &format!("{pre}{n}{post}"),
                    &format!("{pre}alb_controller_{n}{post}"),
                );
            }
        }
        t
    };
    match validate(&alb_controller::MODULE, &opts) {
        Ok(p) => {
            let found = match p.typed() {
                Ok(args) => crate::lbc::plan(&args).1.0,
                Err(e) => vec![crate::validate::Finding::error(
                    "alb_controller",
                    e.to_string(),
                    "",
                )],
            };
            for mut f in found {
                f.field = format!("alb_controller_{}", f.field);
                f.problem = rename(&f.problem);
                f.fix = rename(&f.fix);
                out.push(f);
            }
        }
        Err(errors) => {
            for e in errors {
                out.error(
                    "alb_controller",
                    rename(&e),
                    "give the variable the type `ansible-doc -t role netpath.calico_alb.alb_controller` lists.",
                );
            }
        }
    }
    out
}

pub(super) fn to_variable_names(findings: &mut [Finding], used: &[(String, String)]) {
    for x in findings {
        if let Some(v) = variable_for(&x.field, used) {
            x.field = v;
        }
    }
}

/// Argument-spec errors quote option names; say the variables instead.
fn rename_text(errors: Vec<String>, used: &[(String, String)]) -> Vec<String> {
    errors
        .into_iter()
        .map(|mut e| {
            for (opt, var) in used {
                e = e
                    .replace(&format!("value of {opt} "), &format!("value of {var} "))
                    .replace(&format!("'{opt}"), &format!("'{var}"))
                    .replace(&format!(" {opt}["), &format!(" {var}["));
            }
            e
        })
        .collect()
}

fn print_findings(findings: &[Finding]) {
    for x in findings {
        let sev = match x.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        println!("{sev}: {}\n    {}\n    fix: {}", x.field, x.problem, x.fix);
    }
}

fn print_text(r: &netcheck::Report, worker: &str) {
    let mut sorted = r.findings.0.clone();
    // Errors first; within a severity, the order the rules ran in.
    sorted.sort_by_key(|x| std::cmp::Reverse(x.severity));
    print_findings(&sorted);
    if !sorted.is_empty() {
        println!();
    }
    println!("security-group rules for the worker group {worker}:");
    for rule in &r.ec2_rules {
        let ports = match (rule.get("from_port"), rule.get("to_port")) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => "-".into(),
        };
        let source = rule
            .get("group_id")
            .or(rule.get("group_name"))
            .or(rule.get("cidr_ip"))
            .or(rule.get("cidr_ipv6"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        println!(
            "  {:<4} {:<12} from {source}  ({})",
            rule["proto"].as_str().unwrap_or_default(),
            ports,
            rule["rule_desc"].as_str().unwrap_or_default()
        );
    }
    let (e, w) = (r.findings.errors().count(), r.findings.warnings().count());
    println!(
        "\n{e} error{}, {w} warning{}. Terraform: netpath check -f VARS.yml -o terraform",
        if e == 1 { "" } else { "s" },
        if w == 1 { "" } else { "s" }
    );
}

/// The alb_ingress module's options from role variables, validated as the
/// module validates them (`extra`: options no variable sets, such as the
/// connection); the variable behind each option, for messages.
pub(super) fn alb_ingress_params(
    cmd: &str,
    vars: &Map<String, Value>,
    extra: Map<String, Value>,
) -> Result<(Params, Vec<(String, String)>), i32> {
    let (mut opts, used) = match to_options(vars, &render_table()) {
        Ok(o) => o,
        Err(errors) => return Err(usage_errors(cmd, &errors)),
    };
    opts.extend(extra);
    match validate(&alb_ingress::MODULE, &opts) {
        Ok(p) => Ok((p, used)),
        Err(errors) => Err(usage_errors(cmd, &rename_text(errors, &used))),
    }
}

pub fn render(args: &[String]) -> i32 {
    let (_, vars) = match read("render", args) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (params, used) = match alb_ingress_params("render", &vars, Map::new()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (plan, mut f) = alb_ingress::plan(&params);
    to_variable_names(&mut f.0, &used);
    let mut calico_objects = Vec::new();
    if params.str("cni_plugin") != Some("aws-vpc-cni") {
        match calico_modules(&vars) {
            Ok((objects, cf)) => {
                calico_objects = objects;
                f.extend(cf.0);
            }
            Err(errors) => return usage_errors("render", &errors),
        }
    }
    for w in f.warnings() {
        eprintln!("warning: {w}");
    }
    if f.has_errors() {
        let errors: Vec<Finding> = f.errors().cloned().collect();
        eprintln!("{}", crate::error::Error::Invalid(errors));
        return 1;
    }
    for o in &calico_objects {
        print!("---\n{}", crate::kube::diff::to_yaml(o));
    }
    print!("{}", render_yaml(&plan));
    0
}

/// The plan's objects as multi-document YAML; deletions become comments.
pub fn render_yaml(plan: &model::Plan) -> String {
    let mut out = String::new();
    for d in model::render(plan) {
        let o = &d.object;
        if d.state == crate::kube::State::Absent {
            out.push_str(&format!(
                "# state absent: {} {} would be deleted\n",
                o["kind"].as_str().unwrap_or_default(),
                o["metadata"]["name"].as_str().unwrap_or_default()
            ));
            continue;
        }
        out.push_str("---\n");
        out.push_str(&crate::kube::diff::to_yaml(o));
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_variable_wins_over_the_shared_one() {
        let vars = parse_vars(
            "cni_pod_cidr: 192.168.0.0/16\nnetcheck_pod_cidr: 172.16.0.0/16\nansible_user: ubuntu\n\
             alb_ingress_pod_cidr: \"{{ cni_pod_cidr }}\"\n",
        )
        .unwrap();
        let (o, used) = to_options(&vars, &check_table()).unwrap();
        assert_eq!(o["pod_cidr"], "172.16.0.0/16");
        assert!(used.contains(&("pod_cidr".into(), "netcheck_pod_cidr".into())));
        assert!(o.get("ansible_user").is_none());
        // A templated role variable falls back to the literal shared one.
        let (o, _) = to_options(&vars, &render_table()).unwrap();
        assert_eq!(o["pod_cidr"], "192.168.0.0/16");
    }

    #[test]
    fn templates_without_a_literal_and_typos() {
        let vars = parse_vars("cni_vpc_cidrs: \"{{ vpc }}\"\ncni_pod_cdir: 10.0.0.0/8\n").unwrap();
        let e = to_options(&vars, &check_table()).unwrap_err().join("\n");
        assert!(e.contains("cni_vpc_cidrs is a Jinja template"), "{e}");
        let f = Findings::of(|f| role_findings(&vars, f));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].field, "cni_pod_cdir");
        assert!(
            f[0].fix.starts_with("did you mean cni_pod_cidr?"),
            "{}",
            f[0].fix
        );
        let known = parse_vars(
            "cni_block_size: 26\nnetcheck_fail_on: never\nalb_ingress_class_name: web\n\
             cni_vpc_cidrs: [10.0.0.0/16]\n",
        )
        .unwrap();
        assert!(Findings::of(|f| role_findings(&known, f)).is_empty());
        let f = Findings::of(|f| {
            role_findings(
                &parse_vars("cni_vpc_cidrs: \"10.0.0.0/16, 10.1.0.0/16\"\n").unwrap(),
                f,
            )
        });
        assert_eq!(
            f[0].fix,
            "write a YAML list: cni_vpc_cidrs: [10.0.0.0/16, 10.1.0.0/16]"
        );
        for v in all_read() {
            assert!(
                roles::variable(v).is_some(),
                "the CLI reads {v}, which no role has"
            );
        }
        assert!(parse_vars("- a\n").is_err());
    }

    #[test]
    fn findings_name_variables() {
        let used = vec![
            ("ingresses".to_string(), "alb_ingress_apps".to_string()),
            ("pod_cidr".to_string(), "cni_pod_cidr".to_string()),
            (
                "ingress_class.params".to_string(),
                "alb_ingress_class_params".to_string(),
            ),
        ];
        let mut f = vec![
            Finding::error("ingresses[0].target_type", "p", "f"),
            Finding::error("pod_cidr", "p", "f"),
            Finding::error("pod_cidrx", "p", "f"),
            Finding::error("ingress_class.params.scheme", "p", "f"),
        ];
        to_variable_names(&mut f, &used);
        assert_eq!(f[0].field, "alb_ingress_apps[0].target_type");
        assert_eq!(f[1].field, "cni_pod_cidr");
        assert_eq!(f[2].field, "pod_cidrx");
        assert_eq!(f[3].field, "alb_ingress_class_params.scheme");
        let e = rename_text(
            vec!["value of cni_plugin must be one of: calico".into()],
            &[("cni_plugin".into(), "netcheck_cni_plugin".into())],
        );
        assert_eq!(e[0], "value of netcheck_cni_plugin must be one of: calico");
    }

    #[test]
    fn help_names_role_variables_with_their_defaults() {
        let h = help();
        assert!(
            h.contains(
                "cni_pod_cidr                   Calico pool / pod network (default 192.168.0.0/16)"
            ),
            "{h}"
        );
        assert!(h.contains("(default [10.0.0.0/16])"), "{h}");
        for w in h.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if roles::PREFIXES
                .iter()
                .any(|p| w.starts_with(p) && w.len() > p.len())
            {
                let v = roles::variable(w)
                    .unwrap_or_else(|| panic!("help names {w}, no role variable"));
                assert!(
                    v.renamed.is_none() || h.contains(&format!("old name {w}")),
                    "{w}"
                );
            }
        }
    }

    #[test]
    fn defaults_and_chains_are_the_roles() {
        // Nothing set: each chain ends in the role default, as in Ansible.
        let (o, used) = to_options(&Map::new(), &check_table()).unwrap();
        assert_eq!(o["pod_cidr"], "192.168.0.0/16");
        assert_eq!(o["vpc_cidrs"], json!(["10.0.0.0/16"]));
        assert_eq!(o["node_port_range"], "30000-32767");
        assert_eq!(
            (&o["vxlan_mode"], &o["ipip_mode"]),
            (&json!("Always"), &json!("Never"))
        );
        assert!(o.get("ingresses").is_none() && o.get("encapsulation").is_none());
        assert!(used.contains(&("pod_cidr".into(), "cni_pod_cidr".into())));
        for (opt, var) in &used {
            assert_eq!(roles::default_of(var), o.get(opt), "{opt} ← {var}");
        }
        // The CLI's chains are the role tasks' own.
        for (opt, chain) in check_table() {
            assert_eq!(
                roles::chains("netcheck", "netcheck")
                    .iter()
                    .find(|(o, _)| *o == opt)
                    .map(|(_, c)| *c),
                Some(chain)
            );
        }
        // The old name of alb_ingress_ingresses, after the new one.
        let vars = parse_vars("alb_ingress_apps: [{name: a}]\n").unwrap();
        let (o, used) = to_options(&vars, &render_table()).unwrap();
        assert_eq!(o["ingresses"][0]["name"], "a");
        assert!(used.contains(&("ingresses".into(), "alb_ingress_apps".into())));
        assert_eq!(o["ingress_class"]["name"], "alb", "{o:?}");
        let vars =
            parse_vars("alb_ingress_apps: [{name: a}]\nalb_ingress_ingresses: [{name: b}]\n")
                .unwrap();
        let (o, _) = to_options(&vars, &render_table()).unwrap();
        assert_eq!(o["ingresses"][0]["name"], "b");
        // A templated value the user wrote is not replaced by the default.
        let vars = parse_vars("cni_vpc_cidrs: \"{{ vpcs }}\"\n").unwrap();
        assert!(to_options(&vars, &check_table()).is_err());
    }

    #[test]
    fn netcheck_takes_the_pool_modes() {
        // The modes reach netcheck as options; the binary derives the rest.
        let vars =
            parse_vars("cni_vxlan_mode: Never\ncni_ipip_mode: Always\ncni_calico_backend: bird\n")
                .unwrap();
        let (o, used) = to_options(&vars, &check_table()).unwrap();
        assert_eq!(
            (&o["vxlan_mode"], &o["ipip_mode"], &o["calico_backend"]),
            (&json!("Never"), &json!("Always"), &json!("bird"))
        );
        assert!(used.contains(&("ipip_mode".into(), "cni_ipip_mode".into())));
        let (o, _) = to_options(&vars, &cni_table()).unwrap();
        assert_eq!(o["ipip_mode"], "Always");
    }

    #[test]
    fn calico_rules_are_the_modules_named_by_variable() {
        let seed = parse_vars(
            "cni_plugin: calico\ncni_pod_cidr: 192.168.0.0/16\ncni_vpc_cidrs: [10.0.0.0/16]\n\
             cni_vxlan_mode: Always\ncni_ipip_mode: Never\ncni_host_mtu: 9001\ncni_node_selector: all()\n",
        )
        .unwrap();
        let (objects, f) = calico_modules(&seed).unwrap();
        assert!(!f.has_errors(), "{:?}", f.0);
        let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
        assert!(
            kinds.contains(&"IPPool") && kinds.contains(&"FelixConfiguration"),
            "{kinds:?}"
        );

        let broken = parse_vars(
            "cni_plugin: calico\ncni_pod_cidr: 192.168.1.0/16\ncni_block_size: 40\n\
             cni_vxlan_mode: Always\ncni_ipip_mode: Always\ncni_host_mtu: 1500\ncni_veth_mtu: 1500\n\
             cni_node_selector: \"global()\"\n",
        )
        .unwrap();
        let (_, f) = calico_modules(&broken).unwrap();
        let fields: Vec<&str> = f.errors().map(|x| x.field.as_str()).collect();
        for v in [
            "cni_pod_cidr",
            "cni_ipip_mode",
            "cni_veth_mtu",
            "cni_node_selector",
        ] {
            assert!(fields.contains(&v), "{v} not flagged: {:?}", f.0);
        }
        let wrong_type = parse_vars("cni_plugin: calico\ncni_block_size: big\n").unwrap();
        let e = calico_modules(&wrong_type).unwrap_err().join("\n");
        assert!(e.contains("cni_block_size"), "{e}");
    }
}
