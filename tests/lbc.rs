//! End to end: netpath → the real AWS Load Balancer Controller v3.5.0 (out of
//! cluster) → emulated AWS (moto). What netpath writes must become the path
//! the seed describes: an ALB, a target group on the NodePort with the worker
//! instances as targets, and the worker-SG rule. Skips (with a message) when
//! ../shared is absent. Limits: moto has no data plane (targets are always
//! healthy, no traffic); no kube-controller-manager or kubelet, so Nodes, Pods
//! and EndpointSlices are made by the harness and the tests.

use crate::common;

use crate::common::lbc::{self, Rig, Test, seed_args};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[track_caller]
fn ok(r: &Value) {
    assert_eq!(r["failed"], json!(false), "{r}");
}

fn ingress(t: &Test, name: &str) -> Option<Value> {
    t.rig
        .plane
        .get("networking.k8s.io/v1", "Ingress", Some(&t.ns), name)
}

fn node_port(t: &Test, service: &str) -> i64 {
    let svc = t
        .rig
        .plane
        .get("v1", "Service", Some(&t.ns), service)
        .expect("Service exists");
    svc["spec"]["ports"][0]["nodePort"].as_i64().unwrap()
}

/// `i-…:PORT` for every worker instance, sorted (as aws.py lists targets).
fn instance_targets(rig: &Rig, port: i64) -> Value {
    let mut t: Vec<String> = rig
        .instance_ids()
        .iter()
        .map(|i| format!("{i}:{port}"))
        .collect();
    t.sort();
    json!(t)
}

/// Waits until the stack's ALB has exactly these target lists (one per
/// target group, any order) and returns the AWS state.
fn wait_targets(rig: &Rig, stack: &str, want: &[Value]) -> Value {
    rig.wait(
        &format!("the ALB of {stack} with targets {want:?}"),
        90,
        || {
            let s = rig.aws_state();
            let lb = rig.load_balancer(&s, stack)?;
            let mut got: Vec<Value> = rig
                .target_groups(&s, lb)
                .iter()
                .map(|tg| tg["targets"].clone())
                .collect();
            let mut want = want.to_vec();
            got.sort_by_key(|v| v.to_string());
            want.sort_by_key(|v| v.to_string());
            (got == want).then_some(s)
        },
    )
}

/// Waits until AWS has nothing left of the stack and the worker SG no rule.
fn wait_removed(rig: &Rig, stack: &str) -> Value {
    let sg = rig.worker_sg().to_string();
    rig.wait(&format!("AWS to be clean of {stack}"), 90, || {
        let s = rig.aws_state();
        let rules = rig.sg(&s, &sg)["ingress"].as_array().unwrap().len();
        let lbc_sgs = rig.lbc_security_groups(&s);
        (rig.load_balancer(&s, stack).is_none()
            && s["targetGroups"] == json!([])
            && rules == 0
            && lbc_sgs == 0)
            .then_some(s)
    })
}

/// Waits for an Event in `ns` whose message contains `text`; returns it.
fn wait_event(rig: &Rig, ns: &str, text: &str) -> (String, String) {
    rig.wait(&format!("an Event in {ns} saying {text:?}"), 60, || {
        rig.events(ns).into_iter().find(|(_, m)| m.contains(text))
    })
}

/// resourceVersions of everything netpath and the LBC keep for one app.
fn versions(t: &Test) -> Vec<(String, String)> {
    let p = &t.rig.plane;
    let mut out = vec![];
    let class = p
        .get("networking.k8s.io/v1", "IngressClass", None, "alb")
        .unwrap();
    out.push(("IngressClass alb".into(), common::resource_version(&class)));
    for (av, kind) in [
        ("networking.k8s.io/v1", "Ingress"),
        ("v1", "Service"),
        ("elbv2.k8s.aws/v1beta1", "TargetGroupBinding"),
    ] {
        for o in p.list(av, kind, Some(&t.ns)) {
            out.push((
                format!("{kind} {}", o["metadata"]["name"].as_str().unwrap()),
                common::resource_version(&o),
            ));
        }
    }
    out
}

/// Waits until the LBC has stopped writing: the same mutating-call counts
/// and resourceVersions for `secs` seconds in a row.
fn settle(t: &Test, secs: u64) {
    let rig = t.rig;
    let mut last = (rig.mutating_calls(), versions(t));
    let mut since = Instant::now();
    rig.wait("the controller to settle", 60, || {
        std::thread::sleep(Duration::from_millis(500));
        let now = (rig.mutating_calls(), versions(t));
        if now != last {
            last = now;
            since = Instant::now();
        }
        (since.elapsed() >= Duration::from_secs(secs)).then_some(())
    });
}

fn openssl_cert(dir: &Path, name: &str, host: &str) -> (String, String) {
    let (crt, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let st = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .args(["-subj", &format!("/CN={host}")])
        .args(["-addext", &format!("subjectAltName=DNS:{host}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(st.status.success(), "openssl: {st:?}");
    (
        crt.to_str().unwrap().to_string(),
        key.to_str().unwrap().to_string(),
    )
}

// ---------------------------------------------------------------------------

/// The seed's Pattern 1 through alb_ingress becomes the seed's path in AWS,
/// and a second run changes nothing on either side.
#[test]
fn seed_pattern_1_becomes_the_alb_path_and_a_second_run_changes_nothing() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("seed1");
    let (mark, failed_before) = (rig.log_mark(), rig.failed_calls());
    let args = seed_args(&t.ns);
    let r = rig.module("alb_ingress", args.clone());
    ok(&r);
    assert_eq!(r["changed"], json!(true), "{r}");

    let stack = format!("{}/app-ingress", t.ns);
    let np = node_port(&t, "app-service");
    let s = wait_targets(rig, &stack, &[instance_targets(rig, np)]);
    let lb = rig.load_balancer(&s, &stack).unwrap();
    assert_eq!(
        (lb["type"].as_str(), lb["scheme"].as_str()),
        (Some("application"), Some("internet-facing"))
    );
    assert_eq!(s["loadBalancers"].as_array().unwrap().len(), 1, "one ALB");
    assert_eq!(lb["subnets"], json!(rig.subnet_ids()), "in both subnets");

    let host = rig.wait("the Ingress status hostname", 30, || {
        let ing = ingress(&t, "app-ingress")?;
        ing["status"]["loadBalancer"]["ingress"][0]["hostname"]
            .as_str()
            .map(str::to_string)
    });
    assert_eq!(
        lb["dns"],
        json!(host),
        "Ingress status hostname = ALB DNS name"
    );

    let listeners = lb["listeners"].as_array().unwrap();
    assert_eq!(listeners.len(), 1, "{listeners:?}");
    let l = &listeners[0];
    assert_eq!(
        (l["port"].as_i64(), l["protocol"].as_str()),
        (Some(80), Some("HTTP"))
    );
    let rules: Vec<&Value> = l["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["priority"] != "default")
        .collect();
    assert_eq!(rules.len(), 1, "{rules:?}");
    let conds = rules[0]["conditions"].as_array().unwrap();
    let field = |f: &str| conds.iter().find(|c| c["Field"] == f).cloned();
    assert_eq!(
        field("host-header").unwrap()["HostHeaderConfig"]["Values"],
        json!(["example.com"])
    );
    assert_eq!(
        field("path-pattern").unwrap()["PathPatternConfig"]["Values"],
        json!(["/*"]),
        "path / Prefix"
    );
    let tgs = rig.target_groups(&s, lb);
    assert_eq!(tgs.len(), 1);
    let tg = tgs[0];
    assert_eq!(rules[0]["actions"][0]["Type"], "forward");
    let forward = &rules[0]["actions"][0];
    // Either spelling of a forward: TargetGroupArn or ForwardConfig.
    let to = match &forward["TargetGroupArn"] {
        Value::Null => &forward["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"],
        arn => arn,
    };
    assert_eq!(to, &tg["arn"], "{forward}");
    assert_eq!(tg["targetType"], "instance");
    assert_eq!(
        tg["port"],
        json!(np),
        "target group on the Service's nodePort"
    );

    let backend = rig.backend_sg(&s).expect("the LBC's backend SG");
    assert!(
        lb["securityGroups"]
            .as_array()
            .unwrap()
            .contains(&json!(backend))
    );
    assert_eq!(
        rig.sg(&s, rig.worker_sg())["ingress"],
        json!([{"proto": "tcp", "from": np, "to": np, "cidrs": [], "groups": [backend]}]),
        "the worker SG opens only the nodePort, only from the backend SG"
    );
    let managed: Vec<&Value> = s["securityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["tags"]["ingress.k8s.aws/resource"] == "ManagedLBSecurityGroup")
        .collect();
    assert_eq!(managed.len(), 1, "the LBC's managed ALB SG");
    assert_eq!(
        managed[0]["ingress"],
        json!([{"proto": "tcp", "from": 80, "to": 80, "cidrs": ["0.0.0.0/0"], "groups": []}]),
        "the ALB is open on its listener port"
    );

    let tgbs = rig
        .plane
        .list("elbv2.k8s.aws/v1beta1", "TargetGroupBinding", Some(&t.ns));
    assert_eq!(tgbs.len(), 1, "{tgbs:?}");
    let spec = &tgbs[0]["spec"];
    assert_eq!(
        spec["serviceRef"],
        json!({"name": "app-service", "port": 80})
    );
    assert_eq!(spec["targetType"], "instance");
    assert_eq!(spec["targetGroupARN"], tg["arn"]);

    // Second run: nothing changes in Kubernetes, nothing is written to AWS.
    settle(&t, 2);
    let (rv, writes) = (versions(&t), rig.mutating_calls());
    let r = rig.module("alb_ingress", args);
    ok(&r);
    assert_eq!(r["changed"], json!(false), "{r}");
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["action"] == "unchanged"),
        "{r}"
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        versions(&t),
        rv,
        "a resourceVersion moved after the second run"
    );
    assert_eq!(
        rig.mutating_calls(),
        writes,
        "the LBC wrote to AWS after the second run"
    );

    assert_eq!(
        rig.errors_since(mark),
        Vec::<String>::new(),
        "reconcile errors"
    );
    assert_eq!(
        rig.failed_calls(),
        failed_before,
        "an AWS call not answered 200"
    );
}

/// Updates through alb_ingress reach AWS: health-check path, HTTPS with a
/// certificate found by host, then an explicit certificate and ssl-redirect.
#[test]
fn updates_reach_aws_health_check_https_and_certificates() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("upd");
    let stack = format!("{}/app-ingress", t.ns);
    let mut args = seed_args(&t.ns);
    ok(&rig.module("alb_ingress", args.clone()));
    let np = node_port(&t, "app-service");
    wait_targets(rig, &stack, &[instance_targets(rig, np)]);

    args["ingresses"][0]["healthcheck_path"] = json!("/healthz");
    let r = rig.module("alb_ingress", args.clone());
    ok(&r);
    assert_eq!(r["changed"], json!(true));
    rig.wait("health-check path /healthz on the target group", 30, || {
        let s = rig.aws_state();
        let lb = rig.load_balancer(&s, &stack)?;
        (rig.target_groups(&s, lb)[0]["healthCheckPath"] == "/healthz").then_some(())
    });

    let tmp = tempfile::tempdir().unwrap();
    let (crt, key) = openssl_cert(tmp.path(), "found", "example.com");
    let found = rig.aws("import-cert", &[&crt, &key]);
    let listener = |port: i64| {
        let s = rig.aws_state();
        rig.load_balancer(&s, &stack)?["listeners"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["port"] == port)
            .cloned()
    };
    // No ARN: the LBC finds the certificate by the rule's host in ACM.
    args["ingresses"][0]["listen_ports"] = json!([{"HTTP": 80}, {"HTTPS": 443}]);
    args["ingresses"][0]["certificate_discovery"] = json!(true);
    ok(&rig.module("alb_ingress", args.clone()));
    let https = rig.wait(
        "an HTTPS:443 listener with the certificate found by host",
        30,
        || listener(443).filter(|l| l["certificates"] == json!([found])),
    );
    assert_eq!(https["protocol"], "HTTPS");

    let (crt, key) = openssl_cert(tmp.path(), "given", "example.com");
    let given = rig.aws("import-cert", &[&crt, &key]);
    let app = args["ingresses"][0].as_object_mut().unwrap();
    app.remove("certificate_discovery");
    app.insert("certificate_arn".into(), json!([given]));
    app.insert("ssl_redirect".into(), json!(443));
    ok(&rig.module("alb_ingress", args));
    rig.wait("the HTTPS listener on the given certificate", 30, || {
        listener(443).filter(|l| l["certificates"] == json!([given]))
    });
    let http = rig.wait("HTTP:80 redirecting to HTTPS:443", 30, || {
        let l = listener(80)?;
        let redirects = |a: &Value| {
            a.as_array().unwrap().iter().any(|a| {
                a["Type"] == "redirect"
                    && a["RedirectConfig"]["Port"] == "443"
                    && a["RedirectConfig"]["Protocol"] == "HTTPS"
            })
        };
        let rules = l["rules"].as_array().unwrap();
        (redirects(&l["defaultActions"]) || rules.iter().any(|r| redirects(&r["actions"])))
            .then_some(l)
    });
    assert_eq!(http["protocol"], "HTTP");
}

/// Two apps with one group_name share one ALB with two target groups. The
/// LBC opens ONE worker-SG rule spanning both NodePorts (every port between).
#[test]
fn ingress_group_shares_one_alb_with_two_target_groups() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("grp");
    let group = common::unique_name("shared");
    let app = |name: &str| {
        json!({"name": name, "namespace": t.ns, "scheme": "internet-facing", "group_name": group,
            "listen_ports": [{"HTTP": 80}],
            "rules": [{"host": format!("{name}.example.com"), "paths": [{"path": "/", "service_name": name, "service_port": 80}]}],
            "services": [{"name": name, "type": "NodePort", "selector": {"app": name}, "port": 80, "target_port": 8080}]})
    };
    let mut args = seed_args(&t.ns);
    args["ingresses"] = json!([app("app-a"), app("app-b")]);
    ok(&rig.module("alb_ingress", args));
    let (a, b) = (node_port(&t, "app-a"), node_port(&t, "app-b"));
    let s = wait_targets(
        rig,
        &group,
        &[instance_targets(rig, a), instance_targets(rig, b)],
    );
    assert_eq!(s["loadBalancers"].as_array().unwrap().len(), 1, "one ALB");
    let lb = rig.load_balancer(&s, &group).unwrap();
    let mut ports: Vec<i64> = rig
        .target_groups(&s, lb)
        .iter()
        .map(|tg| tg["port"].as_i64().unwrap())
        .collect();
    ports.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(ports, want, "one target group per Service, on its nodePort");
    let rules = lb["listeners"][0]["rules"].as_array().unwrap();
    assert_eq!(
        rules.iter().filter(|r| r["priority"] != "default").count(),
        2
    );
    let backend = rig.backend_sg(&s).unwrap();
    rig.wait("the worker-SG rule for both NodePorts", 30, || {
        let s = rig.aws_state();
        (rig.sg(&s, rig.worker_sg())["ingress"]
            == json!([{"proto": "tcp", "from": want[0], "to": want[1], "cidrs": [], "groups": [backend]}]))
        .then_some(())
    });
}

/// state: absent deletes the Ingress and Service, and the LBC then removes
/// the ALB, target group, its security groups and the worker-SG rule.
#[test]
fn state_absent_removes_the_alb_and_every_rule() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("absent");
    let stack = format!("{}/app-ingress", t.ns);
    let mut args = seed_args(&t.ns);
    ok(&rig.module("alb_ingress", args.clone()));
    let np = node_port(&t, "app-service");
    let s = wait_targets(rig, &stack, &[instance_targets(rig, np)]);
    assert!(rig.backend_sg(&s).is_some());

    args["ingresses"][0]["state"] = json!("absent");
    let t0 = Instant::now();
    let r = rig.module("alb_ingress", args);
    ok(&r);
    assert_eq!(r["changed"], json!(true), "{r}");
    rig.wait("the Ingress to go (the LBC's finalizer)", 60, || {
        ingress(&t, "app-ingress").is_none().then_some(())
    });
    assert!(
        rig.plane
            .get("v1", "Service", Some(&t.ns), "app-service")
            .is_none()
    );
    wait_removed(rig, &stack);
    eprintln!(
        "state=absent: AWS clean {:.1}s after the module started",
        t0.elapsed().as_secs_f64()
    );
}

/// Pattern 2 (aws-vpc-cni): pods have VPC addresses, the target group is
/// type ip with them. Pods and EndpointSlice are made here (no kubelet, no
/// endpointslice controller); their IPs are secondary IPs of the instances'
/// ENIs, as aws-vpc-cni assigns them.
#[test]
fn pattern_2_vpc_cni_registers_pod_ips() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("seed2");
    let mut args = seed_args(&t.ns);
    args["cni_plugin"] = json!("aws-vpc-cni");
    args.as_object_mut().unwrap().remove("pod_cidr");
    let app = &mut args["ingresses"][0];
    app.as_object_mut().unwrap().remove("target_type");
    app["services"][0].as_object_mut().unwrap().remove("type");
    let r = rig.module("alb_ingress", args);
    ok(&r);
    assert_eq!(r["ingresses"][0]["target_type"], "ip", "{r}");
    let svc = rig
        .plane
        .get("v1", "Service", Some(&t.ns), "app-service")
        .unwrap();
    assert_eq!(svc["spec"]["type"], "ClusterIP");

    let mut endpoints = vec![];
    let mut want = vec![];
    for (i, inst) in rig.seed["instances"].as_array().unwrap().iter().enumerate() {
        let ip = rig.aws("assign-ips", &[inst["id"].as_str().unwrap(), "1"]);
        let (pod, node) = (format!("myapp-{i}"), inst["privateDns"].as_str().unwrap());
        rig.plane.create(&json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "namespace": t.ns, "labels": {"app": "myapp"}},
            "spec": {"nodeName": node, "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10", "ports": [{"containerPort": 8080}]}]}}));
        let now = "2026-01-01T00:00:00Z";
        rig.plane.patch_status("v1", "Pod", Some(&t.ns), &pod, json!({"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "hostIP": inst["privateIp"], "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now},
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}]}));
        endpoints.push(json!({"addresses": [ip], "conditions": {"ready": true, "serving": true, "terminating": false},
            "nodeName": node, "zone": inst["az"], "targetRef": {"kind": "Pod", "namespace": t.ns, "name": pod}}));
        want.push(format!("{ip}:8080"));
    }
    let port_name = svc["spec"]["ports"][0]["name"].clone();
    let mut port = json!({"port": 8080, "protocol": "TCP"});
    if port_name.is_string() {
        port["name"] = port_name;
    }
    rig.plane.create(&json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "app-service-1", "namespace": t.ns,
            "labels": {"kubernetes.io/service-name": "app-service", "endpointslice.kubernetes.io/managed-by": "netpath-tests"}},
        "addressType": "IPv4", "ports": [port], "endpoints": endpoints}));
    want.sort();
    let stack = format!("{}/app-ingress", t.ns);
    let s = wait_targets(rig, &stack, &[json!(want)]);
    let lb = rig.load_balancer(&s, &stack).unwrap();
    let tg = rig.target_groups(&s, lb)[0];
    assert_eq!(tg["targetType"], "ip");
    assert_eq!(tg["port"], 8080, "ip targets on the pods' port");
    // The LBC finds the pods' ENI (the instances' ENI, worker SG) and opens
    // the pod port from its backend SG there: no NodePort is involved.
    let backend = rig.backend_sg(&s).unwrap();
    rig.wait("the pod port opened on the pods' ENI security group", 30, || {
        let s = rig.aws_state();
        (rig.sg(&s, rig.worker_sg())["ingress"]
            == json!([{"proto": "tcp", "from": 8080, "to": 8080, "cidrs": [], "groups": [backend]}]))
        .then_some(())
    });
}

/// Subnets without kubernetes.io/role/elb: v3.5.0 still finds them by their
/// route to an internet gateway (SubnetDiscoveryByReachability), so the tag
/// is not the only way an internet-facing ALB gets its subnets.
#[test]
fn subnets_without_the_elb_tag_are_found_by_their_igw_route() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("subnet");
    struct Retag(&'static Rig);
    impl Drop for Retag {
        fn drop(&mut self) {
            self.0.aws("elb-tag", &["add"]);
        }
    }
    let _retag = Retag(rig);
    let keys = rig.aws("elb-tag", &["remove"]);
    assert!(!keys.contains("kubernetes.io/role/elb"), "{keys}");
    assert!(keys.contains("kubernetes.io/cluster/netpath"), "{keys}");
    ok(&rig.module("alb_ingress", seed_args(&t.ns)));
    let np = node_port(&t, "app-service");
    let stack = format!("{}/app-ingress", t.ns);
    let s = wait_targets(rig, &stack, &[instance_targets(rig, np)]);
    let lb = rig.load_balancer(&s, &stack).unwrap();
    assert_eq!(
        lb["subnets"],
        json!(rig.subnet_ids()),
        "both subnets, found by their route"
    );
}

/// A ClusterIP Service behind instance targets: netpath refuses before
/// writing; written by hand, the LBC refuses to build the ALB.
#[test]
fn break_cluster_ip_service_with_instance_targets() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("brk-cip");
    let mut args = seed_args(&t.ns);
    args["ingresses"][0]["services"][0]["type"] = json!("ClusterIP");
    let r = rig.module("alb_ingress", args.clone());
    assert_eq!(r["failed"], json!(true), "{r}");
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .contains("TargetGroup port is empty"),
        "{r}"
    );
    assert!(ingress(&t, "app-ingress").is_none(), "nothing written");
    assert!(
        rig.plane
            .get("v1", "Service", Some(&t.ns), "app-service")
            .is_none()
    );

    // The class (netpath's), then the same objects by hand.
    args["ingresses"] = json!([]);
    ok(&rig.module("alb_ingress", args));
    rig.plane.create(&json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "app-service", "namespace": t.ns},
        "spec": {"type": "ClusterIP", "selector": {"app": "myapp"}, "ports": [{"port": 80, "targetPort": 8080}]}}));
    rig.plane.create(&json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "app-ingress", "namespace": t.ns, "annotations": {
            "alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/target-type": "instance",
            "alb.ingress.kubernetes.io/listen-ports": "[{\"HTTP\": 80}]"}},
        "spec": {"ingressClassName": "alb", "rules": [{"host": "example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "app-service", "port": {"number": 80}}}}]}}]}}));
    let (reason, msg) = wait_event(rig, &t.ns, "TargetGroup port is empty");
    assert_eq!(reason, "FailedBuildModel", "{msg}");
    assert!(
        msg.contains("your service be must of type 'NodePort' or 'LoadBalancer'"),
        "{msg}"
    );
    let s = rig.aws_state();
    assert!(
        rig.load_balancer(&s, &format!("{}/app-ingress", t.ns))
            .is_none(),
        "no ALB"
    );
}

/// Node breaks, which block target registration of every instance target
/// group: a Ready Node without providerID, and one naming no instance.
/// netpath cannot refuse these yet (netcheck has no live Node checks,
/// issue 15), so only the LBC's own report is asserted.
#[test]
fn break_nodes_without_or_with_a_wrong_provider_id() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("brk-node");
    ok(&rig.module("alb_ingress", seed_args(&t.ns)));
    let np = node_port(&t, "app-service");
    wait_targets(
        rig,
        &format!("{}/app-ingress", t.ns),
        &[instance_targets(rig, np)],
    );

    let name = "ip-10-0-0-99.eu-west-1.compute.internal";
    t.add_node(name, "", "10.0.0.99");
    let (reason, msg) = wait_event(rig, &t.ns, "providerID is not specified for node");
    assert_eq!(reason, "FailedReconcile", "{msg}");
    assert!(msg.contains(name), "{msg}");
    t.delete_node(name);

    let failed = rig.failed_calls();
    let name = "ip-10-0-0-98.eu-west-1.compute.internal";
    t.add_node(name, "aws:///eu-west-1a/i-0000000deadbeef00", "10.0.0.98");
    let (reason, msg) = wait_event(rig, &t.ns, "InvalidInstanceID.NotFound");
    assert_eq!(reason, "FailedReconcile", "{msg}");
    assert!(msg.contains("i-0000000deadbeef00"), "{msg}");
    let key = ("DescribeInstances".to_string(), "400".to_string());
    assert!(
        rig.failed_calls().get(&key) > failed.get(&key),
        "moto answered DescribeInstances with 400: {:?}",
        rig.failed_calls()
    );
    t.delete_node(name);
}

/// With the LBC's webhooks registered as its Helm chart does (failurePolicy
/// Fail), on a fresh cluster where IngressClass `alb` does not exist yet,
/// the first run of alb_ingress succeeds and converges.
#[test]
fn admission_webhooks_fresh_cluster_first_run_converges() {
    let Some(rig) = lbc::webhook_rig() else {
        return;
    };
    let t = rig.begin("wh");
    assert!(
        rig.plane
            .get("networking.k8s.io/v1", "IngressClass", None, "alb")
            .is_none(),
        "a fresh cluster"
    );
    // The webhook is live: an Ingress of an unknown class is denied.
    let denied = rig.plane.try_create(&json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "probe", "namespace": t.ns},
        "spec": {"ingressClassName": "alb", "defaultBackend": {"service": {"name": "x", "port": {"number": 80}}}}}));
    let e = denied
        .expect_err("the vingress webhook denies a missing class")
        .to_string();
    assert!(e.contains("vingress.elbv2.k8s.aws"), "{e}");

    let args = seed_args(&t.ns);
    let r = rig.module("alb_ingress", args.clone());
    ok(&r);
    assert_eq!(r["changed"], json!(true), "{r}");
    let np = node_port(&t, "app-service");
    wait_targets(
        rig,
        &format!("{}/app-ingress", t.ns),
        &[instance_targets(rig, np)],
    );
    let r = rig.module("alb_ingress", args);
    ok(&r);
    assert_eq!(r["changed"], json!(false), "{r}");
}

/// The seed's site.yml through ansible-playbook, with the built collection,
/// against the rig: the ALB path appears in AWS.
#[test]
fn site_yml_through_ansible_playbook_builds_the_alb() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("site");
    t.clean_also("default");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(root.join("scripts/build-collection"))
        .env("NETPATH_SKIP_CARGO", "1")
        .env("NETPATH_DIST", work.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "build-collection: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let venv = common::venv_bin();
    let play = || {
        let out = common::ansible_playbook(&venv, work.path())
            .env("ANSIBLE_COLLECTIONS_PATH", work.path().join("build"))
            .env("KUBECONFIG", &rig.plane.kubeconfig)
            .arg("-i")
            .arg(root.join("inventory"))
            .arg(root.join("site.yml"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "site.yml failed:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let log = play();
    assert!(!log.contains(" changed=0 "), "the first run changes: {log}");
    let np = rig
        .plane
        .get("v1", "Service", Some("default"), "app-service")
        .expect("site.yml wrote app-service")["spec"]["ports"][0]["nodePort"]
        .as_i64()
        .unwrap();
    let s = wait_targets(rig, "default/app-ingress", &[instance_targets(rig, np)]);
    let lb = rig.load_balancer(&s, "default/app-ingress").unwrap();
    assert_eq!(lb["scheme"], "internet-facing");
    let log = play();
    assert!(
        log.contains(" changed=0 "),
        "the second run changes nothing: {log}"
    );
}

/// netcheck names a Node the controller cannot register before anything is
/// applied; `wait: true` then fails within its timeout in the controller's
/// own words with netpath's fix; node_provider_id fixes the Node, and
/// `wait: true` returns the ALB's DNS name and the registered backend.
#[test]
fn wait_reports_the_controllers_words_and_the_provider_id_fix_registers_the_node() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("verify");
    let name = "ip-10-0-0-97.eu-west-1.compute.internal";
    t.add_node(name, "", "10.0.0.97");

    let mut check = seed_args(&t.ns);
    check["live"] = json!(true);
    check["cluster_name"] = json!("netpath");
    check.as_object_mut().unwrap().remove("ingress_class");
    check
        .as_object_mut()
        .unwrap()
        .remove("ingress_class_annotation");
    let r = rig.module("netcheck", check.clone());
    assert_eq!(r["failed"], json!(true), "{r}");
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .contains(&format!("providerID is not specified for node: {name}")),
        "{r}"
    );

    let mut args = seed_args(&t.ns);
    args["wait"] = json!(true);
    args["wait_timeout"] = json!(15);
    let started = Instant::now();
    let r = rig.module("alb_ingress", args.clone());
    assert_eq!(r["failed"], json!(true), "{r}");
    let msg = r["msg"].as_str().unwrap();
    assert!(
        msg.contains("did not build the ALB within 15 s")
            && msg.contains("FailedReconcile")
            && msg.contains(&format!("providerID is not specified for node: {name}"))
            && msg.contains("node_provider_id"),
        "{msg}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        r["load_balancers"][0]["backends"][0]["state"], "failing",
        "{r}"
    );

    // The fix: the Node gets the providerID of a real (emulated) instance.
    let instance = rig.instance_ids()[0].clone();
    let fixed = rig.module(
        "node_provider_id",
        json!({"node_name": name, "instance_id": instance, "availability_zone": "eu-west-1a"}),
    );
    assert_eq!(fixed["changed"], json!(true), "{fixed}");
    let mut args = args;
    args["wait_timeout"] = json!(90);
    let r = rig.module("alb_ingress", args);
    ok(&r);
    assert_eq!(
        r["changed"],
        json!(false),
        "nothing to write, only to wait: {r}"
    );
    let s = rig.aws_state();
    let lb = rig
        .load_balancer(&s, &format!("{}/app-ingress", t.ns))
        .expect("the ALB exists");
    let built = &r["load_balancers"][0];
    assert_eq!(built["hostname"], lb["dns"], "{r}");
    let backend = &built["backends"][0];
    assert_eq!(backend["state"], "registered", "{r}");
    assert_eq!(backend["service"], "app-service", "{r}");
    assert!(
        backend["target_group_arn"]
            .as_str()
            .is_some_and(|a| a.starts_with("arn:aws:elasticloadbalancing:")),
        "{r}"
    );
    // The netcheck preflight passes once every eligible Node has a providerID.
    let r = rig.module("netcheck", check);
    assert_eq!(r["failed"], json!(false), "{r}");
}

/// actions.* and conditions.* (issue 14): what netpath accepts, the LBC
/// builds (a fixed-response rule, a forward rule with an http-header
/// condition); what netpath refuses, the LBC refuses with the same words
/// when the same Ingress is written by hand (no webhook on this rig).
#[test]
fn actions_and_conditions_netpath_agrees_with_the_lbc() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("act");
    let stack = format!("{}/app-ingress", t.ns);
    let mut args = seed_args(&t.ns);
    args["ingresses"][0]["annotations"] = json!({
        "alb.ingress.kubernetes.io/actions.gone":
            r#"{"type":"fixed-response","fixedResponseConfig":{"contentType":"text/plain","statusCode":"404","messageBody":"gone"}}"#,
        "alb.ingress.kubernetes.io/conditions.app-service":
            r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Env","values":["prod"]}}]"#});
    args["ingresses"][0]["rules"][0]["paths"] = json!([
        {"path": "/gone", "path_type": "Exact", "service_name": "gone", "service_port": "use-annotation"},
        {"path": "/", "path_type": "Prefix", "service_name": "app-service", "service_port": 80}]);
    ok(&rig.module("alb_ingress", args.clone()));
    let s = rig.wait(
        "the ALB's rules for the action and the condition",
        90,
        || {
            let s = rig.aws_state();
            let rules = rig.load_balancer(&s, &stack)?["listeners"][0]["rules"].clone();
            (rules.as_array()?.len() == 3).then_some(rules)
        },
    );
    let text = s.to_string();
    assert!(text.contains(r#""StatusCode":"404""#), "{s:#}");
    assert!(text.contains(r#""Type":"fixed-response""#), "{s:#}");
    assert!(text.contains(r#""HttpHeaderName":"X-Env""#), "{s:#}");
    assert!(
        rig.events(&t.ns)
            .iter()
            .all(|(r, _)| r != "FailedBuildModel")
    );

    // Refused by netpath, and by the LBC with the same text.
    let by_hand = |name: &str, key: &str, value: &str, backend: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": t.ns, "annotations": {
                "alb.ingress.kubernetes.io/scheme": "internet-facing", key: value}},
            "spec": {"ingressClassName": "alb", "rules": [{"host": format!("{name}.example.com"), "http": {"paths": [
                {"path": "/", "pathType": "Prefix", "backend": {"service": backend}}]}}]}})
    };
    let cases = [
        (
            "bad-action",
            "alb.ingress.kubernetes.io/actions.moved",
            r#"{"type":"redirect","redirectConfig":{"protocol":"HTTPS","port":"443"}}"#,
            json!({"name": "moved", "port": {"name": "use-annotation"}}),
            "invalid RedirectConfig: statusCode is required",
        ),
        (
            "bad-cond",
            "alb.ingress.kubernetes.io/conditions.app-service",
            r#"[{"field":"query-string","queryStringConfig":{"values":[{"key":"v"}]}}]"#,
            json!({"name": "app-service", "port": {"number": 80}}),
            "invalid queryStringConfig: value cannot be empty",
        ),
    ];
    for (name, key, value, backend, text) in &cases {
        let mut a = args.clone();
        let path = match backend["port"]["name"].as_str() {
            Some(_) => {
                json!({"path": "/", "path_type": "Prefix", "service_name": "moved", "service_port": "use-annotation"})
            }
            None => {
                json!({"path": "/", "path_type": "Prefix", "service_name": "app-service", "service_port": 80})
            }
        };
        a["ingresses"][0]["name"] = json!(name);
        a["ingresses"][0]["annotations"] = json!({*key: value});
        a["ingresses"][0]["rules"] =
            json!([{"host": format!("{name}.example.com"), "paths": [path]}]);
        let r = rig.module("alb_ingress", a);
        assert_eq!(r["failed"], json!(true), "{r}");
        assert!(r["msg"].as_str().unwrap().contains(text), "{r}");
        assert!(ingress(&t, name).is_none(), "nothing written");
    }
    for (name, key, value, backend, text) in cases {
        rig.plane.create(&by_hand(name, key, value, backend));
        let (reason, msg) = wait_event(rig, &t.ns, text);
        assert_eq!(reason, "FailedBuildModel", "{msg}");
        assert!(msg.contains(&format!("ingress: {}/{name}", t.ns)), "{msg}");
    }
}

/// IngressGroup merge (issue 14): a member that conflicts with the group's
/// member already in the cluster is refused by netpath, and the LBC, given
/// the same Ingress by hand, fails the group with the same text.
#[test]
fn ingress_group_conflict_netpath_agrees_with_the_lbc() {
    let Some(rig) = lbc::rig() else { return };
    let t = rig.begin("grpc");
    let group = common::unique_name("clash");
    let app = |name: &str, scheme: &str| {
        json!({"name": name, "namespace": t.ns, "scheme": scheme, "group_name": group,
            "listen_ports": [{"HTTP": 80}],
            "rules": [{"host": format!("{name}.example.com"), "paths": [{"path": "/", "service_name": "app-a", "service_port": 80}]}],
            "services": if name == "app-a" {
                json!([{"name": "app-a", "type": "NodePort", "selector": {"app": "a"}, "port": 80, "target_port": 8080}])
            } else { json!([]) }})
    };
    let mut args = seed_args(&t.ns);
    args["ingresses"] = json!([app("app-a", "internet-facing")]);
    ok(&rig.module("alb_ingress", args.clone()));
    wait_targets(
        rig,
        &group,
        &[instance_targets(rig, node_port(&t, "app-a"))],
    );

    // Accepted: a second member that agrees.
    args["ingresses"] = json!([app("app-b", "internet-facing")]);
    ok(&rig.module("alb_ingress", args.clone()));
    // Refused: a third that asks for another scheme; the live app-a is named.
    args["ingresses"] = json!([app("app-c", "internal")]);
    let r = rig.module("alb_ingress", args);
    assert_eq!(r["failed"], json!(true), "{r}");
    let msg = r["msg"].as_str().unwrap();
    assert!(
        msg.contains("conflicting scheme: map[internal:{} internet-facing:{}]"),
        "{r}"
    );
    assert!(msg.contains(&format!("{}/app-a", t.ns)), "{r}");
    assert!(ingress(&t, "app-c").is_none(), "nothing written");
    assert!(
        rig.events(&t.ns)
            .iter()
            .all(|(r, _)| r != "FailedBuildModel"),
        "the agreeing member built"
    );

    rig.plane.create(&json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "app-c", "namespace": t.ns, "annotations": {
            "alb.ingress.kubernetes.io/scheme": "internal", "alb.ingress.kubernetes.io/group.name": group}},
        "spec": {"ingressClassName": "alb", "rules": [{"host": "app-c.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "app-a", "port": {"number": 80}}}}]}}]}}));
    let (reason, msg) = wait_event(rig, &t.ns, "conflicting scheme");
    assert_eq!(reason, "FailedBuildModel", "{msg}");
    assert!(
        msg.contains("conflicting scheme: map[internal:{} internet-facing:{}]"),
        "{msg}"
    );
}
