//! `netpath check -f VARS.yml` and `netpath render -f VARS.yml`: the role
//! variables of group_vars, checked and rendered without Ansible or a cluster.

use crate::common::module;
use serde_json::{Value, json};

/// The seed's setup, as a user writes it in group_vars.
const SEED_VARS: &str = r#"
cni_plugin: calico
cni_pod_cidr: 192.168.0.0/16
cni_vpc_cidrs: [10.0.0.0/16]
cni_vxlan_mode: Always
cni_ipip_mode: Never
cni_host_mtu: 9001
cni_veth_mtu: 8951
cni_nat_outgoing: true
alb_ingress_class_annotation: true
netcheck_alb_security_group: sg-0aaaaaaaaaaaaaaaa
netcheck_worker_security_group: sg-0bbbbbbbbbbbbbbbb
ansible_user: ubuntu
alb_ingress_apps:
  - name: app-ingress
    scheme: internet-facing
    target_type: instance
    listen_ports: '[{"HTTP": 80}, {"HTTPS": 443}]'
    certificate_discovery: true
    rules:
      - host: example.com
        paths:
          - {path: /, path_type: Prefix, service_name: app-service, service_port: 80}
    services:
      - name: app-service
        selector: {app: myapp}
        port: 80
        target_port: 8080
        node_port: 30080
"#;

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn netpath(args: &[&str], vars: &str) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vars.yml");
    std::fs::write(&path, vars).unwrap();
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["-f", path.to_str().unwrap()]);
    let out = module::command()
        .args(&full)
        .output()
        .expect("netpath runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

#[test]
fn check_seed_vars_prints_the_rules_and_succeeds() {
    let o = netpath(&["check"], SEED_VARS);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .contains("security-group rules for the worker group sg-0bbbbbbbbbbbbbbbb"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.lines().any(|l| l.contains("tcp")
            && l.contains("30080")
            && l.contains("from sg-0aaaaaaaaaaaaaaaa")),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.lines().any(|l| l.contains("udp")
            && l.contains("4789")
            && l.contains("from sg-0bbbbbbbbbbbbbbbb")),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("0 errors, 0 warnings"), "{}", o.stdout);
}

#[test]
fn check_json_and_terraform_outputs() {
    let o = netpath(&["check", "-o", "json"], SEED_VARS);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(
        v["security_group_rules"][0],
        json!({"proto": "tcp", "from_port": 30080, "to_port": 30080, "group_id": "sg-0aaaaaaaaaaaaaaaa",
            "rule_desc": "ALB to worker port 30080 (default/app-service:80)"})
    );
    assert_eq!(v["network"]["encapsulation"], "vxlan");
    let o = netpath(&["check", "-o", "terraform"], SEED_VARS);
    let tf: Value = serde_json::from_str(&o.stdout).unwrap();
    let rules = &tf["resource"]["aws_vpc_security_group_ingress_rule"];
    assert_eq!(
        rules["alb_to_worker_tcp_30080"]["referenced_security_group_id"],
        "sg-0aaaaaaaaaaaaaaaa"
    );
    assert_eq!(rules["worker_to_worker_udp_4789"]["from_port"], 4789);
}

#[test]
fn check_derives_the_overlay_from_the_pool_modes() {
    // IP-in-IP over BGP, as the cni role would apply it: netcheck is given
    // the modes and the backend, and the binary derives the rest once.
    let vars = SEED_VARS
        .replace("cni_vxlan_mode: Always", "cni_vxlan_mode: Never")
        .replace("cni_ipip_mode: Never", "cni_ipip_mode: CrossSubnet")
        + "cni_calico_backend: bird\n";
    let o = netpath(&["check", "-o", "json"], &vars);
    let v: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o:?}"));
    assert_eq!(v["network"]["encapsulation"], "ipip", "{}", o.stdout);
    let rules = v["security_group_rules"].as_array().unwrap();
    for (proto, port) in [("4", None), ("tcp", Some(179))] {
        assert!(
            rules.iter().any(|r| r["proto"] == proto
                && port.is_none_or(|p| r["from_port"] == p)
                && r.get("group_id") == Some(&json!("sg-0bbbbbbbbbbbbbbbb"))),
            "{proto} {port:?}: {rules:?}"
        );
    }
    assert!(
        !rules.iter().any(|r| r["from_port"] == 4789),
        "no VXLAN rule: {rules:?}"
    );
    // netcheck_encapsulation, set, still wins over the modes.
    let o = netpath(
        &["check", "-o", "json"],
        &(vars + "netcheck_encapsulation: vxlan\n"),
    );
    let v: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(v["network"]["encapsulation"], "vxlan", "{}", o.stdout);
}

#[test]
fn check_fails_on_ip_with_calico_and_names_the_variable() {
    let vars = SEED_VARS.replace("target_type: instance", "target_type: ip");
    let o = netpath(&["check"], &vars);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("error: alb_ingress_apps[0].target_type"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("target-type ip registers pod IPs"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("fix: use target_type: instance"),
        "{}",
        o.stdout
    );
}

#[test]
fn check_covers_calico_settings() {
    let vars = SEED_VARS
        .replace("cni_ipip_mode: Never", "cni_ipip_mode: Always")
        .replace("cni_veth_mtu: 8951", "cni_veth_mtu: 9001")
        .replace("cni_pod_cidr: 192.168.0.0/16", "cni_pod_cidr: 10.0.0.0/16");
    let o = netpath(&["check"], &vars);
    assert_eq!(o.code, 1);
    for needle in [
        "Cannot enable both VXLAN and IPIP",
        "error: cni_veth_mtu",
        "error: cni_pod_cidr",
        "is the same range as the VPC CIDR",
    ] {
        assert!(o.stdout.contains(needle), "{needle}: {}", o.stdout);
    }
}

/// `netpath check` on VARS exits 2 with EXPECT on stderr; stderr returned.
fn usage_error(vars: &str, expect: &str) -> String {
    let o = netpath(&["check"], vars);
    assert_eq!(o.code, 2, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains(expect), "{}", o.stderr);
    o.stderr
}

#[test]
fn check_usage_errors_exit_2() {
    usage_error(
        "cni_vpc_cidrs: \"{{ vpc_cidr }}\"\n",
        "cni_vpc_cidrs is a Jinja template",
    );
    usage_error(
        "netcheck_cni_plugin: flannel\n",
        "value of netcheck_cni_plugin must be one of: calico, aws-vpc-cni, got: flannel",
    );
    // A typo in the failure threshold must not quietly change it.
    usage_error(
        &format!("{SEED_VARS}netcheck_fail_on: errors\n"),
        "value of netcheck_fail_on must be one of: error, warning, never, got: errors",
    );
    usage_error(
        &SEED_VARS.replace("cni_vxlan_mode: Always", "cni_vxlan_mode: Sometimes"),
        "cni_vxlan_mode must be one of: Always, CrossSubnet, Never, got: Sometimes",
    );
    // A YAML error gives the place, never the lines (group_vars hold secrets).
    let stderr = usage_error(
        "netpath_kubeconfig: /etc/kubernetes/admin.conf\napi_token: tok-7f3a9\ncni_vpc_cidrs: [10.0.0.0/16\n",
        "not valid YAML",
    );
    assert!(!stderr.contains("tok-7f3a9"), "{stderr}");
    let out = module::command().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-f VARS.yml is required"));
    // A typo in a role variable is refused with the closest name (a role
    // task refuses it the same way: tests/role_vars.rs).
    let o = netpath(
        &["check"],
        &format!("{SEED_VARS}cni_pod_cird: 172.20.0.0/16\n"),
    );
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("error: cni_pod_cird"), "{}", o.stdout);
    assert!(
        o.stdout.contains("fix: did you mean cni_pod_cidr?"),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("security-group rules"), "{}", o.stdout);
    // Another role's variable, declared as such, is no typo.
    let o = netpath(
        &["check"],
        &format!("{SEED_VARS}cni_bin_dir: /opt/cni/bin\nnetpath_other_variables: [cni_bin_dir]\n"),
    );
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    // A string where a list goes, with the list to write.
    let o = netpath(
        &["check"],
        &SEED_VARS.replace(
            "cni_vpc_cidrs: [10.0.0.0/16]",
            "cni_vpc_cidrs: \"10.0.0.0/16, 10.1.0.0/16\"",
        ),
    );
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout
            .contains("fix: write a YAML list: cni_vpc_cidrs: [10.0.0.0/16, 10.1.0.0/16]"),
        "{}",
        o.stdout
    );
}

#[test]
fn role_variables_override_the_shared_ones() {
    // The netcheck role's own variable wins, as in the role's defaults.
    let vars = format!("{SEED_VARS}netcheck_pod_cidr: 10.0.128.0/17\nnetcheck_fail_on: never\n");
    let o = netpath(&["check"], &vars);
    assert_eq!(o.code, 0, "fail_on never: {}", o.stdout);
    assert!(
        o.stdout.contains("error: netcheck_pod_cidr"),
        "{}",
        o.stdout
    );
    // The alb_ingress role's class variables.
    let vars = format!(
        "{SEED_VARS}alb_ingress_class_name: web\nalb_ingress_class_params: {{scheme: internet-facing}}\n"
    );
    let o = netpath(&["render"], &vars);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&o.stdout).unwrap();
    // The Calico objects (IPPool, calico-config, FelixConfiguration) come first.
    let docs = &docs[3..];
    assert_eq!(docs[0]["kind"], "IngressClassParams");
    assert_eq!(docs[1]["spec"]["parameters"]["name"], "web");
    assert_eq!(docs[3]["spec"]["ingressClassName"], "web");
    assert_eq!(
        docs[3]["metadata"]["annotations"]["kubernetes.io/ingress.class"],
        "web"
    );
}

#[test]
fn render_prints_the_seed_yaml() {
    let o = netpath(&["render"], SEED_VARS);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&o.stdout).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec![
            "IPPool",
            "ConfigMap",
            "FelixConfiguration",
            "IngressClass",
            "Service",
            "Ingress"
        ]
    );
    // The seed's pool, as its YAML says.
    let pool = &docs[0]["spec"];
    assert_eq!(
        (
            &pool["cidr"],
            &pool["vxlanMode"],
            &pool["ipipMode"],
            &pool["natOutgoing"]
        ),
        (
            &json!("192.168.0.0/16"),
            &json!("Always"),
            &json!("Never"),
            &json!(true)
        )
    );
    let docs = &docs[3..];
    let ing = &docs[2];
    assert_eq!(
        ing["metadata"]["annotations"],
        json!({"kubernetes.io/ingress.class": "alb", "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "instance",
            "alb.ingress.kubernetes.io/listen-ports": "[{\"HTTP\": 80}, {\"HTTPS\": 443}]"})
    );
    assert_eq!(
        ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"],
        json!({"name": "app-service", "port": {"number": 80}})
    );
    assert_eq!(docs[1]["spec"]["type"], "NodePort");
    assert_eq!(
        docs[1]["spec"]["ports"][0],
        json!({"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"})
    );
}

#[test]
fn render_refuses_invalid_vars() {
    let vars = SEED_VARS.replace("node_port: 30080", "node_port: 80");
    let o = netpath(&["render"], &vars);
    assert_eq!(o.code, 1);
    assert!(o.stdout.is_empty(), "nothing rendered: {}", o.stdout);
    assert!(
        o.stderr
            .contains("alb_ingress_apps[0].services[0].node_port"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("provided port is not in the valid range"),
        "{}",
        o.stderr
    );
}

/// `check` runs the IngressClassParams rules `render` and alb_ingress run.
#[test]
fn check_runs_the_ingress_class_params_rules() {
    let ok = format!("{SEED_VARS}\nalb_ingress_class_params: {{group: {{name: good-group}}}}\n");
    let o = netpath(&["check"], &ok);
    assert_eq!(o.code, 0, "{}{}", o.stdout, o.stderr);
    let bad = format!("{SEED_VARS}\nalb_ingress_class_params: {{group: {{name: Bad_Group}}}}\n");
    let o = netpath(&["check"], &bad);
    assert_eq!(o.code, 1, "{}{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("alb_ingress_class_params"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("Bad_Group"), "{}", o.stdout);
}

/// With alb_controller_enabled, `netpath check` runs the alb_controller
/// module's rules on the role's variables: what the role would refuse is
/// found offline, named as the variable; literal good values pass.
#[test]
fn check_judges_the_alb_controller_variables() {
    let good = format!(
        "{SEED_VARS}alb_controller_enabled: true\nalb_controller_cluster_name: netpath\n\
         alb_controller_region: eu-west-1\nalb_controller_vpc_id: vpc-0123456789abcdef0\n"
    );
    let o = netpath(&["check"], &good);
    assert!(
        !o.stdout.contains("alb_controller_"),
        "{}{}",
        o.stdout,
        o.stderr
    );
    let bad = format!(
        "{SEED_VARS}alb_controller_enabled: true\nalb_controller_cluster_name: netpath\n\
         alb_controller_region: eu-west-1a\nalb_controller_vpc_id: vpc-123\n"
    );
    let o = netpath(&["check"], &bad);
    assert_ne!(o.code, 0, "{}", o.stdout);
    let text = format!("{}{}", o.stdout, o.stderr);
    assert!(text.contains("alb_controller_region"), "{text}");
    assert!(text.contains("availability zone"), "{text}");
    assert!(text.contains("alb_controller_vpc_id"), "{text}");
    // Off (the default), the variables are not judged.
    let off = format!("{SEED_VARS}alb_controller_vpc_id: vpc-123\n");
    let o = netpath(&["check"], &off);
    assert!(!o.stdout.contains("alb_controller_vpc_id"), "{}", o.stdout);
}
