use super::*;

fn range(s: &str) -> ((u16, u16), Findings) {
    let mut f = Findings::new();
    let r = parse_node_port_range("node_port_range", s, &mut f);
    (r, f)
}

#[test]
fn node_port_range_reads_like_kube_apiserver() {
    for (s, want) in [
        ("30000-32767", (30000, 32767)),
        (" 31000 - 31999 ", (31000, 31999)),
        ("30000+100", (30000, 30099)),
        ("30080", (30080, 30080)),
    ] {
        let (r, f) = range(s);
        assert_eq!(r, want, "{s}");
        assert!(f.0.is_empty(), "{s}: {:?}", f.0);
    }
}

#[test]
fn broken_node_port_range_is_refused_and_defaulted() {
    for s in ["32767-30000", "0-100", "30000+0", "ports", "65535+2"] {
        let (r, f) = range(s);
        assert_eq!(r, DEFAULT_NODE_PORTS, "{s}");
        assert!(f.has_errors(), "{s}");
        assert_eq!(f.0[0].field, "node_port_range");
        assert!(f.0[0].problem.contains("is not a node port range"), "{s}");
    }
}

#[test]
fn vxlan_port_outside_1_65535_is_refused() {
    let mut f = Findings::new();
    let a = NetworkArgs {
        vxlan_port: Some(0),
        ..Default::default()
    };
    let net = Network::parse(&a, &mut f);
    assert_eq!(net.model.vxlan_port, DEFAULT_VXLAN_PORT);
    assert_eq!(f.0.len(), 1);
    assert_eq!(f.0[0].field, "vxlan_port");
    let mut f = Findings::new();
    let net = Network::parse(
        &NetworkArgs {
            vxlan_port: Some(4790),
            ..Default::default()
        },
        &mut f,
    );
    assert_eq!(net.model.vxlan_port, 4790);
    assert!(f.0.is_empty());
}

#[test]
fn pod_cidr_defaults_follow_the_cni() {
    let mut f = Findings::new();
    let calico = Network::parse(&NetworkArgs::default(), &mut f);
    assert_eq!(calico.model.pod_cidrs[0].to_string(), DEFAULT_POD_CIDR);
    assert_eq!(calico.model.encapsulation, Encapsulation::Vxlan);
    let vpc = Network::parse(
        &NetworkArgs {
            cni_plugin: Some(CniPlugin::AwsVpcCni),
            vpc_cidrs: Some(vec!["10.0.0.0/16".into()]),
            ..Default::default()
        },
        &mut f,
    );
    assert_eq!(vpc.model.pod_cidrs, vpc.model.vpc_cidrs);
    assert_eq!(vpc.model.encapsulation, Encapsulation::None);
    assert!(f.0.is_empty(), "{:?}", f.0);
}

#[test]
fn overlay_pod_cidr_must_stay_out_of_the_vpc() {
    let mut f = Findings::new();
    let inside = Network::parse(
        &NetworkArgs {
            pod_cidr: Some("10.0.128.0/17".into()),
            vpc_cidrs: Some(vec!["10.0.0.0/16".into()]),
            ..Default::default()
        },
        &mut f,
    );
    assert!(f.0.is_empty());
    check_pod_cidrs(&inside, &mut f);
    assert!(f.has_errors());
    assert_eq!(f.0[0].field, "pod_cidr");
    let mut f = Findings::new();
    let outside = Network::parse(
        &NetworkArgs {
            vpc_cidrs: Some(vec!["10.0.0.0/16".into()]),
            ..Default::default()
        },
        &mut f,
    );
    check_pod_cidrs(&outside, &mut f);
    assert!(f.0.is_empty(), "{:?}", f.0);
}
