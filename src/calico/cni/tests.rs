//! Each rule: one case that obeys it, one that breaks it with its message.

use super::*;
use crate::modules::cni::MODULE;
use crate::net::model::TargetType;
use crate::protocol::spec;

fn params(v: Value) -> Args {
    spec::validate(
        "cni",
        MODULE.options,
        &MODULE.constraints,
        v.as_object().unwrap(),
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e:?}"))
    .typed()
    .unwrap()
}

fn calico(extra: Value) -> Args {
    let mut v = json!({"cni_plugin": "calico", "vpc_cidrs": ["10.0.0.0/16"]});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    params(v)
}

fn ok(p: &Args) -> Plan {
    let (plan, f) = plan(p);
    assert!(
        !f.has_errors(),
        "{:#?}",
        f.errors().map(ToString::to_string).collect::<Vec<_>>()
    );
    plan.unwrap()
}

fn broken(p: &Args, field: &str, needle: &str) {
    let (_, f) = plan(p);
    assert!(
        f.errors()
            .any(|x| x.field == field && x.to_string().contains(needle)),
        "want {field}: {needle}, got {:#?}",
        f.errors().map(ToString::to_string).collect::<Vec<_>>()
    );
}

#[test]
fn seed_calico_vxlan_on_aws() {
    let plan = ok(&calico(json!({})));
    let c = plan.calico.clone().unwrap();
    assert_eq!(
        c.config_map()["data"],
        json!({"calico_backend": "vxlan", "veth_mtu": "8951"})
    );
    assert_eq!(
        c.felix_configuration()["spec"],
        json!({"vxlanEnabled": true, "vxlanPort": 4789, "vxlanVNI": 4096, "vxlanMTU": 8951,
            "ipipEnabled": false, "awsSrcDstCheck": "DoNothing"})
    );
    let facts = plan.facts();
    assert_eq!(facts["overlay"], true);
    assert_eq!(facts["pods_vpc_routable"], false);
    assert_eq!(facts["pod_cidr"], "192.168.0.0/16");
    assert_eq!(facts["alb_target_types_allowed"], json!(["instance"]));
    assert_eq!(facts["alb_target_type_recommended"], "instance");
    assert_eq!(
        facts["node_security_group_rules"],
        json!([{"protocol": "udp", "from_port": 4789, "to_port": 4789,
            "source": "worker_security_group", "description": "Calico VXLAN between nodes"}])
    );
    assert_eq!(
        facts["mtu"],
        json!({"host": 9001, "pod": 8951, "vxlan": 8951})
    );
}

#[test]
fn mtu_follows_host_mtu_and_encapsulation() {
    let mtu = |extra: Value| ok(&calico(extra)).calico.unwrap().veth_mtu;
    assert_eq!(mtu(json!({"host_mtu": 1500})), 1450);
    assert_eq!(
        mtu(json!({"pod_cidr": "fd00:10::/48", "host_mtu": 1500})),
        1430
    );
    assert_eq!(
        mtu(json!({"calico_backend": "bird", "ipip_enabled": true, "host_mtu": 1500})),
        1480
    );
    assert_eq!(mtu(json!({"wireguard": true})), 8941);
    assert_eq!(
        mtu(json!({"calico_backend": "bird", "aws_src_dst_check": "Disable"})),
        9001
    );
    let v6 = ok(&calico(json!({"pod_cidr": "fd00:10::/48"})))
        .calico
        .unwrap();
    assert_eq!(v6.felix_configuration()["spec"]["vxlanMTUV6"], 8931);
    assert!(v6.felix_configuration()["spec"].get("vxlanMTU").is_none());
}

#[test]
fn explicit_mtu_within_limit_is_kept_and_above_it_rejected() {
    assert_eq!(
        ok(&calico(json!({"veth_mtu": 8900})))
            .calico
            .unwrap()
            .veth_mtu,
        8900
    );
    let auto = ok(&calico(json!({"veth_mtu": 0}))).calico.unwrap();
    assert_eq!((auto.veth_mtu, auto.vxlan_mtu), (0, 0));
    broken(
        &calico(json!({"veth_mtu": 9001})),
        "veth_mtu",
        "MTU 9001 is larger than the host MTU 9001 minus the 50-byte VXLAN overhead over IPv4 (8951)",
    );
    broken(
        &calico(json!({"host_mtu": 1500, "veth_mtu": 1460})),
        "veth_mtu",
        "(1450)",
    );
    broken(
        &calico(json!({"wireguard": true, "veth_mtu": 8951})),
        "veth_mtu",
        "60-byte WireGuard overhead",
    );
    broken(
        &calico(json!({"host_mtu": 100})),
        "host_mtu",
        "not a real Ethernet MTU",
    );
    // Beyond u16 the message used to say "MTU 0" (found by the bad-input corpus).
    broken(
        &calico(json!({"host_mtu": 70000})),
        "host_mtu",
        "the host interface MTU 70000 is not",
    );
    broken(
        &calico(json!({"veth_mtu": 70000})),
        "veth_mtu",
        "is not an MTU",
    );
}

#[test]
fn backend_and_encapsulation_agree() {
    let bird = ok(&calico(
        json!({"calico_backend": "bird", "ipip_enabled": true}),
    ));
    let rules: Vec<(String, i32)> = bird
        .model
        .node_rules()
        .into_iter()
        .map(|r| (r.protocol, r.from_port))
        .collect();
    assert_eq!(rules, vec![("4".into(), -1), ("tcp".into(), 179)]);
    broken(
        &calico(json!({"ipip_enabled": true})),
        "ipip_enabled",
        "IP-in-IP needs BGP (calico_backend: bird)",
    );
    broken(
        &calico(json!({"vxlan_enabled": false})),
        "vxlan_enabled",
        "calico_backend: vxlan routes pods only through VXLAN",
    );
    broken(
        &calico(json!({"calico_backend": "bird", "ipip_enabled": true, "vxlan_enabled": true})),
        "ipip_enabled",
        "are both on",
    );
    // The pool's mode, as the cni role passes it: Felix's ipipEnabled follows.
    let pool = ok(&calico(
        json!({"calico_backend": "bird", "ipip_mode": "CrossSubnet"}),
    ));
    assert!(pool.calico.as_ref().unwrap().ipip_enabled);
    assert_eq!(pool.model.node_rules(), bird.model.node_rules());
    let never = ok(&calico(json!({"ipip_mode": "Never"})));
    assert!(!never.calico.as_ref().unwrap().ipip_enabled);
    broken(
        &calico(json!({"ipip_mode": "Always"})),
        "ipip_mode",
        "IP-in-IP needs BGP (calico_backend: bird)",
    );
    let both = json!({"cni_plugin": "calico", "ipip_mode": "Always", "ipip_enabled": true});
    let e = spec::validate(
        "cni",
        MODULE.options,
        &MODULE.constraints,
        both.as_object().unwrap(),
        &|_| None,
    )
    .unwrap_err();
    assert!(e.iter().any(|x| x.contains("ipip_mode")), "{e:?}");
    let (_, f) = plan(&calico(json!({"ipip_mode": "Always"})));
    assert!(
        f.errors().any(|x| x.fix.contains("ipip_mode: Always")),
        "{:?}",
        f.0
    );
    broken(
        &calico(
            json!({"calico_backend": "bird", "ipip_enabled": true, "pod_cidr": "fd00:10::/48"}),
        ),
        "ipip_enabled",
        "IPIP is not supported on an IPv6 IP pool",
    );
}

#[test]
fn vxlan_port_and_vni_ranges() {
    let p = ok(&calico(json!({"vxlan_port": 8472, "vxlan_vni": 1})));
    assert_eq!(
        p.model.node_rules()[0].from_port,
        8472,
        "the configured port is opened"
    );
    broken(
        &calico(json!({"vxlan_port": 0})),
        "vxlan_port",
        "is not a UDP port",
    );
    broken(
        &calico(json!({"vxlan_vni": 16_777_216})),
        "vxlan_vni",
        "24-bit",
    );
}

#[test]
fn typha_and_wireguard_rules_in_the_facts() {
    let facts = ok(&calico(json!({"typha": true, "wireguard": true}))).facts();
    let ports: Vec<(String, i64)> = facts["node_security_group_rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["protocol"].as_str().unwrap().to_string(),
                r["from_port"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports,
        vec![
            ("udp".into(), 4789),
            ("tcp".into(), 5473),
            ("udp".into(), 51820)
        ]
    );
}

#[test]
fn calico_pod_cidr_outside_vpc_and_link_local() {
    ok(&calico(json!({"pod_cidr": "192.168.0.0/16"})));
    broken(
        &calico(json!({"pod_cidr": "10.0.0.0/8"})),
        "pod_cidr",
        "10.0.0.0/8 contains vpc_cidrs[0] (10.0.0.0/16)",
    );
    broken(
        &calico(json!({"pod_cidr": "169.254.0.0/16", "vpc_cidrs": []})),
        "pod_cidr",
        "Link Local",
    );
    broken(
        &calico(json!({"ip_family": "ipv6"})),
        "ip_family",
        "does not match pod_cidr",
    );
}

#[test]
fn src_dst_check_warning_without_encapsulation() {
    let (_, f) = plan(&calico(json!({"calico_backend": "bird"})));
    assert!(!f.has_errors());
    assert!(
        f.warnings()
            .any(|w| w.field == "aws_src_dst_check" && w.problem.contains("unencapsulated")),
        "{f:?}"
    );
    let (_, f) = plan(&calico(
        json!({"calico_backend": "bird", "aws_src_dst_check": "Disable"}),
    ));
    assert!(f.0.is_empty(), "{f:?}");
    let (_, f) = plan(&calico(json!({})));
    assert!(f.0.is_empty(), "VXLAN Always is encapsulated: {f:?}");
}

#[test]
fn aws_vpc_cni_writes_nothing_and_allows_ip_targets() {
    let p = params(
        json!({"cni_plugin": "aws-vpc-cni", "pod_cidr": "10.0.0.0/16", "vpc_cidrs": ["10.0.0.0/16"]}),
    );
    let plan = ok(&p);
    assert!(plan.objects().is_empty());
    let facts = plan.facts();
    assert_eq!(facts["overlay"], false);
    assert_eq!(facts["pods_vpc_routable"], true);
    assert_eq!(facts["alb_target_type_recommended"], "ip");
    assert_eq!(
        plan.model.allowed_target_types(),
        vec![TargetType::Ip, TargetType::Instance]
    );
    assert_eq!(facts["node_security_group_rules"], json!([]));
    let (objects, _, _) = render(&p).unwrap();
    assert!(objects.is_empty());

    broken(
        &params(json!({"cni_plugin": "aws-vpc-cni", "vpc_cidrs": ["10.0.0.0/16"]})),
        "pod_cidr",
        "pod_cidr 192.168.0.0/16 is not inside any VPC CIDR (10.0.0.0/16)",
    );
    let (_, f) = plan_of(json!({"cni_plugin": "aws-vpc-cni", "pod_cidr": "10.0.0.0/16"}));
    assert!(f.warnings().any(|w| w.field == "vpc_cidrs"), "{f:?}");
}

fn plan_of(v: Value) -> (Option<Plan>, Findings) {
    plan(&params(v))
}

#[test]
fn only_foreign_keys_owned_by_the_same_manager_count() {
    let cm = json!({"metadata": {"managedFields": [
        {"manager": "netpath", "operation": "Apply", "fieldsV1": {"f:data": {
            "f:calico_backend": {}, "f:veth_mtu": {}, "f:cni_network_config": {}, "f:typha_service_name": {}}}},
        {"manager": "netpath-cni", "operation": "Apply", "fieldsV1": {"f:data": {
            "f:calico_backend": {}, "f:veth_mtu": {}}}}
    ]}});
    assert!(foreign_keys_owned(&cm, "netpath-cni").is_empty());
    assert_eq!(
        foreign_keys_owned(&cm, "netpath"),
        vec![
            "cni_network_config".to_string(),
            "typha_service_name".to_string()
        ]
    );
    assert!(foreign_keys_owned(&cm, "someone").is_empty());
}

#[test]
fn render_refuses_broken_input_with_every_finding() {
    let e = render(&calico(json!({"veth_mtu": 9001, "ipip_enabled": true}))).unwrap_err();
    assert!(e.errors().count() >= 2, "{e:?}");
}

#[test]
fn src_dst_check_renders_in_calico_spelling() {
    for name in SRC_DST_CHECK {
        let (plan, _) = plan(&calico(json!({"aws_src_dst_check": name})));
        let felix = plan.unwrap().calico.unwrap().felix_configuration();
        assert_eq!(felix["spec"]["awsSrcDstCheck"], json!(name));
    }
}
