use super::*;

fn subnet(id: &str, az: &str, tags: &[(&str, &str)]) -> Subnet {
    Subnet {
        id: id.into(),
        az: az.into(),
        cidr: "10.0.0.0/24".into(),
        available_ips: 250,
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        outpost: false,
    }
}

fn public_table(subnets: &[&str]) -> RouteTable {
    RouteTable {
        id: "rtb-pub".into(),
        main: false,
        subnets: subnets.iter().map(|s| s.to_string()).collect(),
        igw_route: true,
    }
}

fn main_table() -> RouteTable {
    RouteTable {
        id: "rtb-main".into(),
        main: true,
        subnets: vec![],
        igw_route: false,
    }
}

fn alb(scheme: &str) -> Alb {
    Alb {
        field: "ingresses[0]".into(),
        ingress: "default/app".into(),
        scheme: Scheme::parse(scheme).expect("a scheme"),
        controller_manages_rules: true,
        instance_targets: true,
        node_ports: vec![30080],
        ..Alb::default()
    }
}

fn cx() -> Context {
    Context {
        cluster_name: Some("netpath".into()),
        encapsulation: Some("vxlan".into()),
        vxlan_port: 4789,
        ..Context::default()
    }
}

fn instance(id: &str, subnet: &str, ip: &str, sgs: &[&str]) -> Instance {
    Instance {
        id: id.into(),
        state: "running".into(),
        vpc_id: Some("vpc-1".into()),
        subnet_id: Some(subnet.into()),
        private_ip: Some(ip.into()),
        source_dest_check: Some(true),
        hop_limit: Some(2),
        http_tokens: Some("required".into()),
        primary_eni: Some((
            format!("eni-{id}"),
            sgs.iter().map(|s| s.to_string()).collect(),
        )),
    }
}

fn sg(id: &str, tags: &[(&str, &str)], ingress: Vec<Permission>) -> SecurityGroup {
    SecurityGroup {
        id: id.into(),
        name: id.into(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ingress,
    }
}

fn perm(proto: &str, from: i32, to: i32, group: &str) -> Permission {
    Permission {
        protocol: proto.into(),
        from,
        to,
        groups: vec![group.into()],
        cidrs: vec![],
    }
}

fn vxlan_from(group: &str) -> Permission {
    perm("udp", 4789, 4789, group)
}

/// Two running workers in two subnets sharing the worker SG, which admits VXLAN.
fn good() -> (Facts, Vec<NodeRef>) {
    let mut facts = Facts {
        vpc_id: Some("vpc-1".into()),
        subnets: Some(vec![
            subnet("subnet-a", "eu-west-1a", &[(ROLE_ELB, "1")]),
            subnet("subnet-b", "eu-west-1b", &[(ROLE_ELB, "1")]),
        ]),
        route_tables: Some(vec![public_table(&["subnet-a", "subnet-b"]), main_table()]),
        ..Facts::default()
    };
    let mut instances = BTreeMap::new();
    for (id, s, ip) in [
        ("i-01", "subnet-a", "10.0.0.10"),
        ("i-02", "subnet-b", "10.0.1.10"),
    ] {
        instances.insert(id.to_string(), instance(id, s, ip, &["sg-w"]));
    }
    facts.instances = Some(instances);
    facts.security_groups.insert(
        "sg-w".into(),
        sg(
            "sg-w",
            &[("kubernetes.io/cluster/netpath", "owned")],
            vec![vxlan_from("sg-w")],
        ),
    );
    let nodes = vec![
        NodeRef {
            name: "n1".into(),
            instance_id: "i-01".into(),
            target: true,
        },
        NodeRef {
            name: "n2".into(),
            instance_id: "i-02".into(),
            target: true,
        },
    ];
    (facts, nodes)
}

fn run(facts: &Facts, nodes: &[NodeRef], albs: &[Alb], cx: &Context) -> Findings {
    let mut f = Findings::new();
    check(facts, nodes, albs, cx, &mut f);
    f
}

#[test]
fn the_seed_path_has_no_finding() {
    let (facts, nodes) = good();
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    assert!(f.0.is_empty(), "{:?}", f.0);
}

#[test]
fn untagged_subnets_with_an_igw_route_are_found_by_reachability() {
    let (mut facts, nodes) = good();
    for s in facts.subnets.as_mut().unwrap() {
        s.tags.clear();
    }
    let (chosen, how) = discover(
        facts.subnets.as_ref().unwrap(),
        facts.route_tables.as_ref().unwrap(),
        Scheme::InternetFacing,
        "netpath",
    );
    assert_eq!(how, "reachability");
    assert_eq!(chosen.unwrap().len(), 2);
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    assert!(f.0.is_empty(), "{:?}", f.0);
}

#[test]
fn untagged_subnets_without_an_igw_route_give_the_controllers_error() {
    let (mut facts, nodes) = good();
    for s in facts.subnets.as_mut().unwrap() {
        s.tags.clear();
    }
    facts.route_tables = Some(vec![main_table()]);
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    let e = f.errors().next().expect("an error");
    assert!(e.problem.contains("unable to resolve at least one subnet. Evaluated 0 subnets: 0 are tagged for other clusters, and 0 have insufficient available IP addresses"), "{e}");
    assert!(e.fix.contains("kubernetes.io/role/elb=1"), "{e}");
    assert!(e.fix.contains("subnet-a (eu-west-1a)"), "{e}");
    // The same private subnets serve an internal ALB.
    let f = run(&facts, &nodes, &[alb("internal")], &cx());
    assert!(f.0.is_empty(), "{:?}", f.0);
}

#[test]
fn subnets_of_other_clusters_and_full_ones_are_dropped_one_az_is_too_few() {
    let (mut facts, nodes) = good();
    let s = facts.subnets.as_mut().unwrap();
    s[0].tags
        .insert("kubernetes.io/cluster/other".into(), "owned".into());
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    let e = f.errors().next().expect("an error");
    assert!(
        e.problem
            .contains("subnets count less than minimal required count: 1 < 2"),
        "{e}"
    );
    facts.subnets.as_mut().unwrap()[1].available_ips = 3;
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    let e = f.errors().next().expect("an error");
    assert!(
        e.problem.contains(
            "Evaluated 2 subnets: 1 are tagged for other clusters, and 1 have insufficient"
        ),
        "{e}"
    );
}

#[test]
fn internet_facing_on_tagged_private_subnets_is_a_warning() {
    let (mut facts, nodes) = good();
    facts.route_tables = Some(vec![main_table()]);
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    assert_eq!(f.errors().count(), 0, "{:?}", f.0);
    let w = f.warnings().next().expect("a warning");
    assert!(
        w.problem.contains("without a route to an internet gateway"),
        "{w}"
    );
}

#[test]
fn a_provider_id_naming_no_instance_is_an_error() {
    let (facts, mut nodes) = good();
    nodes.push(NodeRef {
        name: "ghost".into(),
        instance_id: "i-0000000deadbeef00".into(),
        target: true,
    });
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    let e = f.errors().next().expect("an error");
    assert!(
        e.problem.contains(
            "InvalidInstanceID.NotFound: The instance ID 'i-0000000deadbeef00' does not exist"
        ),
        "{e}"
    );
    assert!(e.problem.contains("ghost"), "{e}");
}

#[test]
fn a_stopped_instance_is_an_error() {
    let (mut facts, nodes) = good();
    facts
        .instances
        .as_mut()
        .unwrap()
        .get_mut("i-02")
        .unwrap()
        .state = "stopped".into();
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    assert!(
        f.errors().any(|e| e.problem.contains("i-02 (n2, stopped)")),
        "{:?}",
        f.0
    );
}

#[test]
fn two_tagged_groups_on_one_eni_give_the_controllers_error() {
    let (mut facts, nodes) = good();
    facts.security_groups.insert(
        "sg-x".into(),
        sg(
            "sg-x",
            &[("kubernetes.io/cluster/netpath", "shared")],
            vec![vxlan_from("sg-w")],
        ),
    );
    for i in facts.instances.as_mut().unwrap().values_mut() {
        i.primary_eni.as_mut().unwrap().1.push("sg-x".into());
    }
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    let e = f.errors().next().expect("an error");
    assert!(e.problem.contains("expected exactly one securityGroup tagged with kubernetes.io/cluster/netpath for eni eni-i-01, got: [sg-w sg-x] (clusterName: netpath)"), "{e}");
    assert!(e.fix.contains("delete-tags --resources sg-x"), "{e}");
    // Not checked when the controller adds no rules (custom security groups).
    let mut a = alb("internet-facing");
    a.controller_manages_rules = false;
    let f = run(&facts, &nodes, &[a], &cx());
    assert!(
        !f.0.iter()
            .any(|e| e.problem.contains("expected exactly one")),
        "{:?}",
        f.0
    );
}

#[test]
fn custom_security_groups_need_the_node_port_rule() {
    let (mut facts, nodes) = good();
    let mut a = alb("internet-facing");
    a.controller_manages_rules = false;
    a.security_groups = vec!["my-alb".into()];
    facts
        .named_groups
        .insert("my-alb".into(), vec!["sg-alb".into()]);
    let f = run(&facts, &nodes, std::slice::from_ref(&a), &cx());
    let e = f.errors().next().expect("an error");
    assert!(
        e.problem.contains("do not admit tcp 30080 from them"),
        "{e}"
    );
    assert!(
        e.fix
            .contains("--group-id sg-w --protocol tcp --port 30080 --source-group sg-alb"),
        "{e}"
    );
    facts
        .security_groups
        .get_mut("sg-w")
        .unwrap()
        .ingress
        .push(perm("tcp", 30000, 32767, "sg-alb"));
    let f = run(&facts, &nodes, &[a], &cx());
    assert!(f.0.is_empty(), "{:?}", f.0);
}

#[test]
fn vxlan_between_nodes_must_be_admitted() {
    let (mut facts, nodes) = good();
    facts
        .security_groups
        .get_mut("sg-w")
        .unwrap()
        .ingress
        .clear();
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    let e = f.errors().next().expect("an error");
    assert!(e.problem.contains("do not admit UDP 4789"), "{e}");
    assert!(
        e.fix
            .contains("--protocol udp --port 4789 --source-group sg-w"),
        "{e}"
    );
    // A CIDR rule covering the other node works too.
    facts
        .security_groups
        .get_mut("sg-w")
        .unwrap()
        .ingress
        .push(Permission {
            protocol: "udp".into(),
            from: 4789,
            to: 4789,
            groups: vec![],
            cidrs: vec!["10.0.0.0/16".into()],
        });
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    assert!(f.0.is_empty(), "{:?}", f.0);
}

#[test]
fn hop_limit_one_matters_only_when_the_controller_uses_metadata() {
    let (mut facts, nodes) = good();
    facts
        .instances
        .as_mut()
        .unwrap()
        .get_mut("i-01")
        .unwrap()
        .hop_limit = Some(1);
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cx());
    assert!(f.0.is_empty(), "{:?}", f.0);
    let c = Context {
        controller_uses_imds: true,
        ..cx()
    };
    let f = run(&facts, &nodes, &[alb("internet-facing")], &c);
    let e = f.errors().next().expect("an error");
    assert!(
        e.problem
            .contains("failed to introspect vpcID from EC2Metadata"),
        "{e}"
    );
    assert!(
        e.fix
            .contains("--http-put-response-hop-limit 2 --instance-id i-01"),
        "{e}"
    );
}

#[test]
fn source_dest_check_must_be_off_without_encapsulation_or_within_a_subnet_with_cross_subnet() {
    let (mut facts, nodes) = good();
    let none = Context {
        encapsulation: Some("none".into()),
        ..cx()
    };
    let f = run(&facts, &nodes, &[alb("internet-facing")], &none);
    let e = f.errors().next().expect("an error");
    assert!(
        e.problem
            .contains("source/destination check is on for instances i-01, i-02"),
        "{e}"
    );
    assert!(e.fix.contains("--no-source-dest-check"), "{e}");
    // CrossSubnet: only nodes sharing a subnet talk unencapsulated.
    let cross = Context {
        cross_subnet: true,
        ..cx()
    };
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cross);
    assert!(f.0.is_empty(), "{:?}", f.0);
    facts
        .instances
        .as_mut()
        .unwrap()
        .get_mut("i-02")
        .unwrap()
        .subnet_id = Some("subnet-a".into());
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cross);
    assert_eq!(f.errors().count(), 1, "{:?}", f.0);
    for i in facts.instances.as_mut().unwrap().values_mut() {
        i.source_dest_check = Some(false);
    }
    let f = run(&facts, &nodes, &[alb("internet-facing")], &cross);
    assert!(f.0.is_empty(), "{:?}", f.0);
}
