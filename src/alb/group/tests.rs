use super::*;
use crate::modules::alb_ingress;
use crate::validate::Severity;
use serde_json::json;

fn plan_of(args: Value) -> (super::super::model::Plan, Findings) {
    let env = |_: &str| None;
    let p = crate::protocol::spec::validate(
        "t",
        alb_ingress::MODULE.options,
        &alb_ingress::MODULE.constraints,
        args.as_object().unwrap(),
        &env,
    )
    .unwrap_or_else(|e| panic!("spec: {e:?}"));
    alb_ingress::plan(&p)
}

/// A member of group `shared` named `name` (its own Service), plus `extra`.
fn app(name: &str, extra: Value) -> Value {
    let mut v = json!({"name": name, "group_name": "shared",
        "rules": [{"host": format!("{name}.example.com"), "paths": [{"path": "/", "service_name": name, "service_port": 80}]}],
        "services": [{"name": name, "selector": {"app": name}, "port": 80, "target_port": 8080}]});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn two(a: Value, b: Value) -> Findings {
    plan_of(json!({"ingresses": [app("app-a", a), app("app-b", b)]})).1
}

#[track_caller]
fn error(f: &Findings, field: &str, needle: &str) {
    assert!(
        f.0.iter().any(|x| x.severity == Severity::Error
            && x.field.contains(field)
            && x.problem.contains(needle)),
        "no error at {field} containing {needle:?} in {:#?}",
        f.0
    );
}

#[track_caller]
fn clean(f: &Findings) {
    assert!(!f.has_errors(), "unexpected errors: {:#?}", f.0);
}

#[test]
fn agreeing_members_pass() {
    // Same settings, or set on one member only, or subnets in another order.
    clean(&two(
        json!({"scheme": "internet-facing", "subnets": ["subnet-aaaa1111", "subnet-bbbb2222"],
            "tags": {"env": "prod"}, "inbound_cidrs": ["10.0.0.0/8"], "ip_address_type": "ipv4",
            "load_balancer_attributes": {"idle_timeout.timeout_seconds": "60"}}),
        json!({"scheme": "internet-facing", "subnets": ["subnet-bbbb2222", "subnet-aaaa1111"],
            "tags": {"team": "web"}, "inbound_cidrs": ["10.0.0.0/8"]}),
    ));
    // Different groups never conflict.
    clean(&two(
        json!({"scheme": "internal"}),
        json!({"scheme": "internet-facing", "group_name": "other"}),
    ));
}

#[test]
fn load_balancer_settings_must_agree() {
    let cases = [
        (
            json!({"scheme": "internal"}),
            json!({"scheme": "internet-facing"}),
            "ingresses[1].scheme",
            "conflicting scheme: map[internal:{} internet-facing:{}]",
        ),
        (
            json!({"ip_address_type": "ipv4"}),
            json!({"ip_address_type": "dualstack"}),
            "ingresses[1].ip_address_type",
            "conflicting IPAddressType: [dualstack ipv4]",
        ),
        (
            json!({"load_balancer_name": "web-a"}),
            json!({"load_balancer_name": "web-b"}),
            "ingresses[1].load_balancer_name",
            "conflicting load balancer name: map[web-a:{} web-b:{}]",
        ),
        (
            json!({"subnets": ["subnet-aaaa1111", "subnet-bbbb2222"]}),
            json!({"subnets": ["subnet-aaaa1111", "subnet-cccc3333"]}),
            "ingresses[1].subnets",
            "conflicting subnets: [subnet-aaaa1111 subnet-bbbb2222] | [subnet-aaaa1111 subnet-cccc3333]",
        ),
        (
            json!({"security_groups": ["sg-aaaa1111", "sg-bbbb2222"]}),
            json!({"security_groups": ["sg-bbbb2222", "sg-aaaa1111"]}),
            "ingresses[1].security_groups",
            "conflicting securityGroups: [sg-aaaa1111 sg-bbbb2222] | [sg-bbbb2222 sg-aaaa1111]",
        ),
        (
            json!({"security_groups": ["sg-aaaa1111"], "manage_backend_security_group_rules": true}),
            json!({"security_groups": ["sg-aaaa1111"], "manage_backend_security_group_rules": false}),
            "ingresses[1].manage_backend_security_group_rules",
            "conflicting manage backend security group rules settings",
        ),
        (
            json!({"tags": {"env": "prod"}}),
            json!({"tags": {"env": "dev"}}),
            "ingresses[1].tags",
            "conflicting tag env: prod | dev",
        ),
        (
            json!({"load_balancer_attributes": {"idle_timeout.timeout_seconds": "60"}}),
            json!({"load_balancer_attributes": {"idle_timeout.timeout_seconds": "120"}}),
            "ingresses[1].load_balancer_attributes",
            "conflicting load balancer attributes idle_timeout.timeout_seconds: 60 | 120",
        ),
    ];
    for (a, b, field, want) in cases {
        let f = two(a, b);
        error(&f, field, want);
        error(&f, field, "IngressGroup shared");
        error(&f, field, "FailedBuildModel");
    }
}

#[test]
fn listeners_merge_per_port() {
    error(
        &two(
            json!({"listen_ports": [{"HTTP": 8080}]}),
            json!({"listen_ports": [{"HTTPS": 8080}], "certificate_arn": ["arn:aws:acm:us-east-1:123456789012:certificate/abcd"]}),
        ),
        "ingresses[1].listen_ports",
        "failed to merge listenPort config for port: 8080: conflicting protocol, default/app-a: HTTP | default/app-b: HTTPS",
    );
    error(
        &two(
            json!({"inbound_cidrs": ["10.0.0.0/8"]}),
            json!({"inbound_cidrs": ["192.0.2.0/24", "2001:db8::/32"]}),
        ),
        "ingresses[1].inbound_cidrs",
        "conflicting inbound-cidrs, default/app-a: [10.0.0.0/8], [] | default/app-b: [192.0.2.0/24], [2001:db8::/32]",
    );
    // Different ports: no shared listener, no conflict.
    clean(&two(
        json!({"inbound_cidrs": ["10.0.0.0/8"]}),
        json!({"inbound_cidrs": ["192.0.2.0/24"], "listen_ports": [{"HTTP": 8080}]}),
    ));
    let backend = json!({"default_backend": {"service_name": "app-a", "service_port": 80}});
    error(
        &two(
            backend.clone(),
            json!({"default_backend": {"service_name": "app-b", "service_port": 80}}),
        ),
        "ingresses[1].default_backend",
        "multiple ingress defined default backend: [default/app-a default/app-b]",
    );
    clean(&two(backend, json!({})));
}

#[test]
fn ssl_redirect_is_one_port_of_the_merged_listeners() {
    let https = json!([{"HTTP": 80}, {"HTTPS": 443}]);
    let cert = json!(["arn:aws:acm:us-east-1:123456789012:certificate/abcd"]);
    error(
        &two(
            json!({"listen_ports": https, "certificate_arn": cert, "ssl_redirect": 443}),
            json!({"listen_ports": [{"HTTP": 80}, {"HTTPS": 8443}], "certificate_arn": cert, "ssl_redirect": 8443}),
        ),
        "ingresses[1].ssl_redirect",
        "conflicting sslRedirect port: [443 8443]",
    );
    // The redirect names the HTTPS listener another member opens: valid.
    clean(&two(
        json!({"listen_ports": [{"HTTP": 80}], "ssl_redirect": 443}),
        json!({"listen_ports": https, "certificate_arn": cert}),
    ));
    // No member listens there.
    error(
        &two(json!({"ssl_redirect": 443}), json!({})),
        "ingresses[0].ssl_redirect",
        "listener does not exist for SSLRedirect port: 443",
    );
    // Alone (no group) it is judged on the Ingress's own listeners, as before.
    let (_, f) = plan_of(
        json!({"ingresses": [app("app-a", json!({"group_name": null, "ssl_redirect": 443}))]}),
    );
    error(
        &f,
        "ingresses[0].ssl_redirect",
        "listener does not exist for SSLRedirect port: 443",
    );
}

#[test]
fn class_params_come_first() {
    // IngressClassParams' scheme overrides both annotations: no conflict.
    let (_, f) = plan_of(json!({
        "ingress_class": {"name": "alb", "params": {"scheme": "internal", "group": {"name": "shared"}}},
        "ingresses": [app("app-a", json!({"group_name": null, "scheme": "internal"})),
                      app("app-b", json!({"group_name": null, "scheme": "internet-facing"}))]}));
    assert!(
        f.0.iter()
            .all(|x| !x.problem.contains("conflicting scheme")),
        "{:#?}",
        f.0
    );
    // Subnets from IngressClassParams and from an annotation may not mix.
    let params = Map::from_iter([(
        "subnets".to_string(),
        json!({"ids": ["subnet-aaaa1111", "subnet-bbbb2222"]}),
    )]);
    let live = json!({"metadata": {"name": "old", "namespace": "web", "annotations": {
        "alb.ingress.kubernetes.io/group.name": "shared",
        "alb.ingress.kubernetes.io/subnets": "subnet-aaaa1111,subnet-bbbb2222"}},
        "spec": {"ingressClassName": "legacy"}});
    let classes = BTreeMap::from([("legacy".to_string(), None)]);
    let (plan, _) = plan_of(json!({"ingresses": [app("app-a", json!({}))]}));
    let mut ours = task_members(&plan.ingresses, Some(&params));
    ours[0].params = Some(params);
    let mut f = Findings::new();
    check(&ours, &[member_of_live(&live, &classes).unwrap()], &mut f);
    error(
        &f,
        "ingresses[0]",
        "conflicting subnet specifications: IngressClassParams versus annotation",
    );
}

#[test]
fn live_members_join_the_group() {
    let live = |name: &str, anns: Value, class: Value| {
        let mut a = json!({"alb.ingress.kubernetes.io/group.name": "shared"});
        for (k, v) in anns.as_object().unwrap() {
            a[k] = v.clone();
        }
        json!({"metadata": {"name": name, "namespace": "web", "annotations": a}, "spec": class})
    };
    let classes = BTreeMap::from([("alb".to_string(), None)]);
    let (plan, _) =
        plan_of(json!({"ingresses": [app("app-a", json!({"scheme": "internet-facing"}))]}));
    let ours = task_members(&plan.ingresses, None);
    let run = |objs: &[Value]| {
        let others: Vec<Member> = objs
            .iter()
            .filter_map(|o| member_of_live(o, &classes))
            .collect();
        let mut f = Findings::new();
        check(&ours, &others, &mut f);
        f
    };
    let internal = json!({"alb.ingress.kubernetes.io/scheme": "internal"});
    error(
        &run(&[live(
            "old",
            internal.clone(),
            json!({"ingressClassName": "alb"}),
        )]),
        "ingresses[0].scheme",
        "conflicting scheme: map[internal:{} internet-facing:{}], set by default/app-a, web/old",
    );
    // By the class annotation too.
    let mut by_annotation = internal.clone();
    by_annotation["kubernetes.io/ingress.class"] = json!("alb");
    error(
        &run(&[live("old", by_annotation, json!({}))]),
        "ingresses[0].scheme",
        "conflicting scheme",
    );
    // Not members: another controller's class, no class, being deleted,
    // another group, and the task's own Ingress as it is now.
    let mut deleting = live("old", internal.clone(), json!({"ingressClassName": "alb"}));
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let mut ours_live = live(
        "app-a",
        internal.clone(),
        json!({"ingressClassName": "alb"}),
    );
    ours_live["metadata"]["namespace"] = json!("default");
    let mut other_group = live("old", internal.clone(), json!({"ingressClassName": "alb"}));
    other_group["metadata"]["annotations"]["alb.ingress.kubernetes.io/group.name"] = json!("x");
    let f = run(&[
        live(
            "nginx",
            internal.clone(),
            json!({"ingressClassName": "nginx"}),
        ),
        live("none", internal.clone(), json!({})),
        deleting,
        ours_live,
        other_group,
    ]);
    clean(&f);
}

/// A broken listen-ports is one finding: the group's redirect is not judged
/// on listeners nobody knows.
#[test]
fn broken_listen_ports_are_not_reported_again_as_a_missing_redirect_listener() {
    let (_, f) = plan_of(json!({"ingresses": [app("app-a", json!({
        "annotations": {"alb.ingress.kubernetes.io/listen-ports": "[{\"HTTPS\": 443"},
        "ssl_redirect": 443}))]}));
    let errs: Vec<_> = f.errors().collect();
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(
        errs[0]
            .problem
            .contains("failed to parse listen-ports configuration")
    );
}

/// The add-ons and listener settings the controller merges too.
#[test]
fn add_ons_and_listener_policies_must_agree() {
    let a =
        |k: &str, v: &str| json!({"annotations": {format!("alb.ingress.kubernetes.io/{k}"): v}});
    let https = |k: &str, v: &str| {
        let mut x = a(k, v);
        x["listen_ports"] = json!([{"HTTPS": 443}]);
        x["certificate_arn"] = json!(["arn:aws:acm:us-east-1:123456789012:certificate/abcd"]);
        x
    };
    for (x, y, want) in [
        (
            a("wafv2-acl-name", "a"),
            a("wafv2-acl-name", "b"),
            "conflicting WAFv2 WebACL names: [a b]",
        ),
        (
            a(
                "wafv2-acl-arn",
                "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/a/1",
            ),
            a(
                "wafv2-acl-arn",
                "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/b/2",
            ),
            "conflicting WAFv2 WebACL ARNs",
        ),
        (
            a("waf-acl-id", "x"),
            a("web-acl-id", "y"),
            "conflicting WAFClassic WebACL IDs: [x y]",
        ),
        (
            a("customer-owned-ipv4-pool", "ipv4pool-coip-1"),
            a("customer-owned-ipv4-pool", "ipv4pool-coip-2"),
            "conflicting CustomerOwnedIPv4Pool: [ipv4pool-coip-1 ipv4pool-coip-2]",
        ),
        (
            a("shield-advanced-protection", "true"),
            a("shield-advanced-protection", "false"),
            "conflicting enable shield advanced protection",
        ),
        (
            https("ssl-policy", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
            https("ssl-policy", "ELBSecurityPolicy-2016-08"),
            "failed to merge listenPort config for port: 443: conflicting sslPolicy, default/app-a: ELBSecurityPolicy-TLS13-1-2-2021-06 | default/app-b: ELBSecurityPolicy-2016-08",
        ),
        (
            a("security-group-prefix-lists", "pl-aaaa1111"),
            a("security-group-prefix-lists", "pl-bbbb2222"),
            "conflicting inbound-prefix-lists, default/app-a: [pl-aaaa1111] | default/app-b: [pl-bbbb2222]",
        ),
    ] {
        let f = two(x.clone(), y);
        error(&f, "ingresses[1]", want);
        clean(&two(x.clone(), x));
    }
    // An ARN is not read when a member names a WebACL.
    let f = two(
        a("wafv2-acl-name", "a"),
        json!({"annotations": {"alb.ingress.kubernetes.io/wafv2-acl-name": "a",
            "alb.ingress.kubernetes.io/wafv2-acl-arn": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/b/2"}}),
    );
    assert!(
        f.0.iter().all(|x| !x.problem.contains("ARNs")),
        "{:#?}",
        f.0
    );
}
