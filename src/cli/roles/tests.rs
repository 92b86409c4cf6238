//! The tables of `cli::roles` against the roles themselves (read from the
//! repository at test time), and the behaviour built on them.

use super::*;
use serde_json::json;
use std::path::Path;

const ROLES: &[&str] = &[
    "cni",
    "alb_ingress",
    "alb_controller",
    "netcheck",
    "network_defaults",
];

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn role_dir(role: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("roles")
        .join(role)
}

/// Role-prefixed names in a template, in order of appearance.
fn idents(template: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in template.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if PREFIXES.iter().any(|p| w.starts_with(p)) && !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    }
    out
}

/// Every task of a role, with blocks flattened.
fn tasks(role: &str) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    let dir = role_dir(role).join("tasks");
    if !dir.exists() {
        return out; // network_defaults: defaults only
    }
    for f in std::fs::read_dir(&dir).unwrap() {
        let f = f.unwrap().path();
        for t in yaml(&f).as_array().cloned().unwrap_or_default() {
            if let Value::Object(t) = t {
                out.push(t);
            }
        }
    }
    out
}

#[test]
fn variables_are_the_argument_specs() {
    let mut from_specs: Vec<(String, String, String)> = Vec::new();
    for role in ROLES {
        let spec = yaml(&role_dir(role).join("meta/argument_specs.yml"));
        let opts = spec["argument_specs"]["main"]["options"]
            .as_object()
            .unwrap()
            .clone();
        for (name, o) in opts {
            let owner = if name.starts_with("netpath_") {
                "*"
            } else {
                role
            };
            let t = o["type"].as_str().unwrap_or("str").to_string();
            // The scan reads a renaming as a parse does.
            let doc = match &o["description"] {
                Value::Array(a) => a[0].as_str().unwrap_or_default().to_string(),
                d => d.as_str().unwrap_or_default().to_string(),
            };
            assert_eq!(
                doc.starts_with("Deprecated, renamed to C("),
                variable(&name).unwrap().renamed.is_some(),
                "{role}: {name}: {doc}"
            );
            // The first role to list a variable owns it; the others agree on its type.
            match from_specs.iter().find(|(_, n, _)| *n == name) {
                Some((_, _, t0)) => assert_eq!(*t0, t, "{role}: {name} has two types"),
                None => from_specs.push((owner.to_string(), name.clone(), t)),
            }
        }
        // Every default is a documented variable.
        let defaults = yaml(&role_dir(role).join("defaults/main.yml"));
        for k in defaults.as_object().unwrap().keys() {
            assert!(
                known(k),
                "roles/{role}/defaults sets {k}, which no argument spec has"
            );
        }
    }
    let mut table: Vec<(String, String, String)> = variables()
        .iter()
        .map(|v| (v.role.to_string(), v.name.clone(), v.kind.clone()))
        .collect();
    from_specs.sort();
    table.sort();
    assert_eq!(
        table, from_specs,
        "cli::roles::variables() != roles/*/meta/argument_specs.yml"
    );
    // The build embeds every role the collection ships.
    let mut shipped: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("roles"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    shipped.sort();
    let mut embedded: Vec<String> = ROLE_FILES.iter().map(|(r, _, _)| r.to_string()).collect();
    embedded.sort();
    assert_eq!(embedded, shipped, "cli::roles::ROLE_FILES != roles/*");
    let mut listed: Vec<String> = ROLES.iter().map(|r| r.to_string()).collect();
    listed.sort();
    assert_eq!(listed, shipped);
}

#[test]
fn every_default_is_stated_once() {
    for role in ROLES {
        let spec = yaml(&role_dir(role).join("meta/argument_specs.yml"));
        let opts = spec["argument_specs"]["main"]["options"]
            .as_object()
            .unwrap()
            .clone();
        for (name, o) in opts {
            // The shared netpath_* variables are unset unless the user sets them.
            let Some(documented) = o.get("default").filter(|_| !name.starts_with("netpath_"))
            else {
                continue;
            };
            // ansible-doc shows the spec's default: it must be what the
            // defaults file sets (a templated one is described, not copied).
            match default_of(&name) {
                Some(Value::String(t)) if t.contains("{{") => {}
                Some(d) => assert_eq!(documented, d, "roles/{role}: the spec's default of {name}"),
                None => panic!(
                    "roles/{role}: the spec gives {name} a default no defaults/main.yml sets"
                ),
            }
        }
        // A defaults file sets only its own role's variables; the shared
        // ones only network_defaults.
        let defaults = yaml(&role_dir(role).join("defaults/main.yml"));
        for k in defaults.as_object().unwrap().keys() {
            let owner = variable(k).map(|v| v.role).unwrap_or_default();
            assert!(
                *role == "network_defaults" || owner == *role,
                "roles/{role}/defaults sets {k}, {owner}'s variable"
            );
        }
    }
    let shared = yaml(&role_dir("network_defaults").join("defaults/main.yml"));
    for k in shared.as_object().unwrap().keys() {
        for role in ROLES.iter().filter(|r| **r != "network_defaults") {
            let d = yaml(&role_dir(role).join("defaults/main.yml"));
            assert!(
                d.get(k).is_none(),
                "{k} is set in network_defaults and roles/{role}"
            );
        }
    }
    // Every role that reads a shared variable depends on network_defaults.
    for role in ["cni", "alb_ingress", "alb_controller", "netcheck"] {
        let meta = yaml(&role_dir(role).join("meta/main.yml"));
        assert!(
            meta["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["role"] == "netpath.calico_alb.network_defaults"),
            "roles/{role}/meta/main.yml: no network_defaults dependency"
        );
    }
}

#[test]
fn defaults_are_the_role_defaults() {
    assert_eq!(default_of("cni_pod_cidr"), Some(&json!("192.168.0.0/16")));
    assert_eq!(default_of("cni_vpc_cidrs"), Some(&json!(["10.0.0.0/16"])));
    assert_eq!(
        default_of("netcheck_pod_cidr"),
        None,
        "unset: the task's chain decides"
    );
    for v in variables() {
        if let Some(d) = default_of(&v.name).filter(|d| !d.is_null()) {
            let ok = match v.kind.as_str() {
                "str" | "path" => d.is_string(),
                "int" => d.is_i64(),
                "bool" => d.is_boolean(),
                "list" => d.is_array(),
                "dict" => d.is_object(),
                _ => false,
            };
            let templated = d.as_str().is_some_and(|t| t.contains("{{"));
            assert!(ok || templated, "{} ({}) defaults to {d}", v.name, v.kind);
        }
    }
}

#[test]
fn renamed_variables_warn_and_name_the_new_one() {
    let old = variable("alb_ingress_apps").unwrap();
    let (new, version) = old.renamed.clone().unwrap();
    assert_eq!(new, "alb_ingress_ingresses");
    assert!(variable(&new).is_some_and(|v| v.renamed.is_none() && v.kind == old.kind));
    assert_eq!(version, "1.0.0");
    let w = renamed_warnings(["alb_ingress_apps", "cni_pod_cidr", "alb_ingress_apps"]);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("alb_ingress_apps is deprecated and will be removed in netpath.calico_alb 1.0.0: rename it to alb_ingress_ingresses"),
        "{}",
        w[0]
    );
    let c = RoleCall::new(
        "alb_ingress",
        &json!({"role": "alb_ingress", "variables": ["alb_ingress_apps"]}),
    )
    .unwrap();
    assert_eq!(c.warnings(), w);
    // The old name is still read, and errors name it when it is the one set.
    assert_eq!(
        c.variable("ingresses[0].name").unwrap(),
        "alb_ingress_apps[0].name"
    );
    let c = RoleCall::new(
        "netcheck",
        &json!({"role": "netcheck", "variables": ["alb_ingress_ingresses", "alb_ingress_apps"]}),
    )
    .unwrap();
    assert_eq!(
        c.variable("ingresses[0]").unwrap(),
        "alb_ingress_ingresses[0]"
    );
    // A typo is never pointed at the deprecated name.
    assert_eq!(
        suggest("alb_ingress_ingresse"),
        Some(("alb_ingress", "alb_ingress_ingresses"))
    );
}

#[test]
fn tables_are_the_role_tasks() {
    let mut seen: Vec<(String, String, String)> = Vec::new();
    for role in ROLES {
        for t in tasks(role) {
            // What the role sets itself is not a typo.
            for k in ["register"] {
                if let Some(name) = t.get(k).and_then(Value::as_str) {
                    assert!(SET_BY_ROLES.contains(&name), "{role}: {k} {name}");
                }
            }
            for k in ["vars", "ansible.builtin.set_fact"] {
                for name in t
                    .get(k)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|x| x.0)
                {
                    assert!(
                        known(name),
                        "{role}: {k} sets {name}, unknown to cli::roles"
                    );
                }
            }
            let Some((key, args)) = t.iter().find(|(k, _)| k.starts_with("netpath.calico_alb."))
            else {
                continue;
            };
            let module = key.trim_start_matches("netpath.calico_alb.");
            let table = TASKS
                .iter()
                .find(|(r, m, _)| r == role && *m == module)
                .map(|(_, _, t)| *t)
                .unwrap_or_else(|| panic!("no table for {role}/{module}"));
            let args = args.as_object().unwrap();
            let private = &args[ARG];
            assert_eq!(private["role"], json!(role), "{role}/{module}: {ARG}.role");
            assert!(
                private["variables"].as_str().unwrap().contains("varnames"),
                "{role}/{module}: {ARG}.variables"
            );
            assert_eq!(
                idents(private["other_variables"].as_str().unwrap()),
                vec!["netpath_other_variables"]
            );
            for opt in ["kubeconfig", "context"] {
                assert!(
                    !args.contains_key(opt),
                    "{role}/{module}: {opt} would override module_defaults"
                );
                assert_eq!(
                    idents(private[opt].as_str().unwrap()),
                    vec![format!("netpath_{opt}")]
                );
            }
            let mut options: Vec<(String, String)> = Vec::new();
            for (opt, v) in args.iter().filter(|(k, _)| *k != ARG) {
                match v {
                    Value::Object(sub) => options.extend(sub.iter().map(|(s, v)| {
                        (format!("{opt}.{s}"), v.as_str().unwrap_or("").to_string())
                    })),
                    v => options.push((opt.clone(), v.as_str().unwrap_or("").to_string())),
                }
            }
            for (opt, template) in &options {
                let ids = idents(template);
                let Some(first) = ids.first().filter(|i| variable(i).is_some()) else {
                    continue;
                };
                let chain = table
                    .iter()
                    .find(|(o, _)| o == opt)
                    .unwrap_or_else(|| {
                        panic!("{role}/{module}: option {opt} ({first}) not in the table")
                    })
                    .1;
                assert_eq!(chain[0], first, "{role}/{module}: {opt}");
                // The chain ends in a variable with a role default: a literal
                // `| default(...)` after it would state that default twice.
                if chain.iter().any(|v| default_of(v).is_some()) {
                    for lit in template.split("default(").skip(1) {
                        let arg = lit.split(')').next().unwrap_or_default().trim();
                        assert!(
                            arg == "omit" || variable(arg).is_some(),
                            "{role}/{module}: {opt} repeats a default ({arg}): {template}"
                        );
                    }
                }
                for v in chain {
                    assert!(
                        ids.iter().any(|i| i == v),
                        "{role}/{module}: {opt} does not read {v}: {template}"
                    );
                }
            }
            seen.extend(
                options
                    .into_iter()
                    .map(|(o, _)| (role.to_string(), module.to_string(), o)),
            );
        }
    }
    // The preflight sees every list variable: as a netcheck option, or in
    // `values` for its type.
    let netcheck = tasks("netcheck")
        .into_iter()
        .find_map(|t| t.get("netpath.calico_alb.netcheck").cloned())
        .unwrap();
    for v in variables() {
        let var = v.name.as_str();
        if v.kind != "list" || var.starts_with("netpath_") {
            continue;
        }
        let as_option = NETCHECK.iter().any(|(_, chain)| chain.contains(&var));
        let as_value = netcheck[ARG]["values"]
            .get(var)
            .and_then(Value::as_str)
            .map(idents);
        assert!(
            as_option || as_value == Some(vec![var.to_string()]),
            "the netcheck role does not see {var}"
        );
    }
    for (role, module, table) in TASKS {
        for (opt, _) in *table {
            assert!(
                seen.iter()
                    .any(|(r, m, o)| r == role && m == module && o == opt),
                "{role}/{module}: the table has {opt}, no task passes it"
            );
        }
    }
}

#[test]
fn suggestions_are_the_closest_names() {
    assert_eq!(distance("cni_pod_cird", "cni_pod_cidr"), 1);
    assert_eq!(suggest("cni_pod_cird"), Some(("cni", "cni_pod_cidr")));
    assert_eq!(
        suggest("alb_ingress_ingress"),
        Some(("alb_ingress", "alb_ingress_ingresses"))
    );
    assert_eq!(
        suggest("netpath_kubeconf"),
        Some(("*", "netpath_kubeconfig"))
    );
    assert_eq!(suggest("cni_something_else_entirely"), None);
    let f = Findings::of(|f| {
        unknown_variables(
            [
                "cni_pod_cird",
                "cni_pod_cidr",
                "netcheck_result",
                "ansible_host",
                "cni_zzz",
                "netpath_plane",
                "netpath_root",
            ],
            &[],
            f,
        )
    });
    let fields: Vec<&str> = f.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(fields, ["cni_pod_cird", "cni_zzz"]);
    assert!(
        f[0].fix.starts_with("did you mean cni_pod_cidr?"),
        "{}",
        f[0].fix
    );
    assert!(!f[1].fix.contains("did you mean"), "{}", f[1].fix);
    // netpath_ is shared with users' variables: only near-misses count.
    let f = Findings::of(|f| {
        unknown_variables(
            ["netpath_kubeconfg", "netpath_contxt", "netpath_plane"],
            &[],
            f,
        )
    });
    let fields: Vec<&str> = f.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(fields, ["netpath_contxt", "netpath_kubeconfg"]);
    // Another role's variable, declared as such.
    let others = vec!["cni_bin_dir".to_string()];
    assert!(Findings::of(|f| unknown_variables(["cni_bin_dir"], &others, f)).is_empty());
    assert_eq!(
        Findings::of(|f| unknown_variables(["cni_bin_dir"], &[], f)).len(),
        1
    );
    let c = RoleCall::new(
        "cni",
        &json!({"role": "cni", "variables": ["cni_bin_dir"], "other_variables": ["cni_bin_dir"]}),
    )
    .unwrap();
    assert!(Findings::of(|f| c.check(&crate::modules::cni::MODULE, &Map::new(), f)).is_empty());
    assert!(
        RoleCall::new(
            "cni",
            &json!({"role": "cni", "other_variables": "cni_bin_dir"})
        )
        .is_err()
    );
}

#[test]
fn fields_name_the_variable_the_user_set() {
    let call = |role: &str, module: &str, vars: &[&str]| {
        RoleCall::new(module, &json!({"role": role, "variables": vars})).unwrap()
    };
    // The netcheck role's own variable when set, else the shared one it defaults to.
    let c = call(
        "netcheck",
        "netcheck",
        &["alb_ingress_apps", "cni_pod_cidr"],
    );
    assert_eq!(
        c.variable("ingresses[0].rules[0].host").unwrap(),
        "alb_ingress_apps[0].rules[0].host"
    );
    assert_eq!(c.variable("pod_cidr").unwrap(), "cni_pod_cidr");
    assert_eq!(c.variable("pod_cidrs"), None);
    let c = call(
        "netcheck",
        "netcheck",
        &["netcheck_ingresses", "alb_ingress_apps"],
    );
    assert_eq!(c.variable("ingresses[1]").unwrap(), "netcheck_ingresses[1]");
    // Nothing set: the role's own name.
    assert_eq!(c.variable("service_cidr").unwrap(), "netcheck_service_cidr");
    let c = call("alb_ingress", "alb_ingress", &[]);
    assert_eq!(
        c.variable("ingress_class.params.scheme").unwrap(),
        "alb_ingress_class_params.scheme"
    );
    assert_eq!(
        c.text("argument 'ingresses[0].services[0].port' is of type <class 'str'>"),
        "argument 'alb_ingress_ingresses[0].services[0].port' is of type <class 'str'>"
    );
    assert_eq!(
        c.text("value of cni_plugin must be one of: calico"),
        "value of alb_ingress_cni_plugin must be one of: calico"
    );
    assert_eq!(
        c.text("ingresses[0].group_name: bad Fix: x"),
        "alb_ingress_ingresses[0].group_name: bad Fix: x"
    );
    assert!(RoleCall::new("ippool", &json!({"role": "alb_ingress"})).is_err());
    assert!(RoleCall::new("cni", &json!("cni")).is_err());
}

#[test]
fn connection_from_the_role_only_when_set() {
    let mut args = Map::new();
    args.insert("kubeconfig".into(), json!("/from/module_defaults"));
    let mut c = RoleCall::new("cni", &json!({"role": "cni", "variables": []})).unwrap();
    c.connection(&mut args);
    assert_eq!(args["kubeconfig"], "/from/module_defaults");
    assert_eq!(
        c.variable("kubeconfig"),
        None,
        "module_defaults' kubeconfig keeps its name"
    );
    assert!(c.connection_note().is_none());
    let mut c = RoleCall::new(
        "cni",
        &json!({"role": "cni", "variables": ["netpath_kubeconfig"], "kubeconfig": "/role", "context": ""}),
    )
    .unwrap();
    c.connection(&mut args);
    assert_eq!(args["kubeconfig"], "/role");
    assert!(!args.contains_key("context"));
    assert_eq!(c.variable("kubeconfig").unwrap(), "netpath_kubeconfig");
    assert!(c.connection_note().unwrap().contains("netpath_kubeconfig"));
}

#[test]
fn strings_for_lists_are_refused_with_the_list() {
    let c = RoleCall::new(
        "cni",
        &json!({"role": "cni", "variables": ["cni_vpc_cidrs"]}),
    )
    .unwrap();
    let mut args = Map::new();
    args.insert("vpc_cidrs".into(), json!("10.0.0.0/16, 10.1.0.0/16"));
    let f = Findings::of(|f| c.check(&crate::modules::ippool::MODULE, &args, f));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].field, "cni_vpc_cidrs");
    assert_eq!(
        f[0].fix,
        "write a YAML list: cni_vpc_cidrs: [10.0.0.0/16, 10.1.0.0/16]"
    );
    args.insert("vpc_cidrs".into(), json!(["10.0.0.0/16"]));
    assert!(Findings::of(|f| c.check(&crate::modules::ippool::MODULE, &args, f)).is_empty());
}

#[test]
fn finding_prose_names_role_variables() {
    let c = RoleCall::new(
        "netcheck",
        &json!({"role": "netcheck", "variables": ["cni_pod_cidr"]}),
    )
    .unwrap();
    let mut f = vec![Finding::error(
        "pod_cidr",
        "10.0.128.0/17 lies inside the VPC CIDR; pod_cidr shadows vpc_cidrs hosts (cidr, name).",
        "choose a range for pod_cidr; netcheck_pod_cidr_x stays.",
    )];
    c.findings(&mut f);
    assert_eq!(f[0].field, "cni_pod_cidr");
    assert_eq!(
        f[0].problem,
        "10.0.128.0/17 lies inside the VPC CIDR; cni_pod_cidr shadows netcheck_vpc_cidrs hosts (cidr, name)."
    );
    assert_eq!(
        f[0].fix,
        "choose a range for cni_pod_cidr; netcheck_pod_cidr_x stays."
    );
}

#[test]
fn the_preflight_checks_the_other_roles_lists() {
    let c = RoleCall::new(
        "netcheck",
        &json!({"role": "netcheck", "variables": [],
                "values": {"alb_ingress_vpc_cidrs": "10.0.0.0/16,10.1.0.0/16",
                           "cni_calico_operator_manifests": ["a.yaml"]}}),
    )
    .unwrap();
    let f = Findings::of(|f| c.check(&crate::modules::netcheck::MODULE, &Map::new(), f));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].field, "alb_ingress_vpc_cidrs");
    assert_eq!(
        f[0].fix,
        "write a YAML list: alb_ingress_vpc_cidrs: [10.0.0.0/16, 10.1.0.0/16]"
    );
}
