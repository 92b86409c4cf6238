//! IngressGroup consistency: the settings the AWS Load Balancer Controller
//! v3.5.0 merges over every member of a group must agree, or it fails to
//! build the whole group's model (event FailedBuildModel on every member).
//! Members are the task's Ingresses and, live, the group's other Ingresses
//! in the cluster. Each rule cites the controller function that merges it.

use super::model::{ANNOTATION_PREFIX, CLASS_ANNOTATION, CONTROLLER, IngressSpec, LBC_FAILS};
use super::rules::{self, Protocol};
use crate::validate::Findings;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One member of an IngressGroup, from the task or from the cluster.
#[derive(Debug, Clone)]
pub struct Member {
    /// `namespace/name`, as the controller names it in its errors.
    pub key: String,
    /// Where a finding about it goes: the task's field, or the live Ingress.
    pub field: String,
    pub ours: bool,
    /// Annotation suffix (after `alb.ingress.kubernetes.io/`) → (value, field).
    pub ann: BTreeMap<String, (String, String)>,
    /// The IngressClassParams spec of its class, if any.
    pub params: Option<Map<String, Value>>,
    pub default_backend: bool,
    pub order: i64,
}

impl Member {
    fn ann(&self, suffix: &str) -> Option<&(String, String)> {
        self.ann.get(suffix)
    }

    fn field_of(&self, suffix: &str) -> String {
        self.ann(suffix)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| self.field.clone())
    }

    fn param(&self, k: &str) -> Option<&Value> {
        self.params.as_ref()?.get(k).filter(|v| !v.is_null())
    }

    fn param_str(&self, k: &str) -> Option<&str> {
        self.param(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The explicit group name (loadGroupID: IngressClassParams' group first,
    /// then the group.name annotation); None for an implicit group.
    pub fn group(&self) -> Option<String> {
        if let Some(g) = self.param("group") {
            return g.get("name").and_then(Value::as_str).map(str::to_string);
        }
        self.ann("group.name").map(|(v, _)| v.clone())
    }

    fn list(&self, suffix: &str) -> Option<Vec<String>> {
        self.ann(suffix).map(|(v, _)| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
    }

    fn string_map(&self, suffix: &str) -> BTreeMap<String, String> {
        self.ann(suffix)
            .and_then(|(v, _)| rules::parse_stringmap(v).ok())
            .map(|pairs| pairs.into_iter().collect())
            .unwrap_or_default()
    }

    /// IngressClassParams `[{key, value}]` as a map.
    fn param_pairs(&self, k: &str) -> BTreeMap<String, String> {
        self.param(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                Some((
                    p["key"].as_str()?.to_string(),
                    p["value"].as_str()?.to_string(),
                ))
            })
            .collect()
    }

    /// computeIngressListenPorts: the annotation, else HTTP:80, or HTTPS:443
    /// when a certificate is set explicitly. None when unparsable (reported
    /// per Ingress).
    fn listeners(&self) -> Option<Vec<(Protocol, u16)>> {
        match self.ann("listen-ports") {
            Some((v, f)) => rules::parse_listen_ports(f, v).ok(),
            None => {
                let certs = self
                    .param("certificateArn")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
                    || self.list("certificate-arn").is_some_and(|l| !l.is_empty());
                Some(vec![if certs {
                    (Protocol::Https, 443)
                } else {
                    (Protocol::Http, 80)
                }])
            }
        }
    }

    /// computeIngressExplicitInboundCIDRs: IngressClassParams first.
    fn inbound_cidrs(&self) -> (BTreeSet<String>, String) {
        if let Some(a) = self.param("inboundCIDRs").and_then(Value::as_array)
            && !a.is_empty()
        {
            let s = a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            return (s, "ingress_class.params.inboundCIDRs".into());
        }
        (
            self.list("inbound-cidrs")
                .unwrap_or_default()
                .into_iter()
                .collect(),
            self.field_of("inbound-cidrs"),
        )
    }
}

/// Go's %v of a sets.String: `map[a:{} b:{}]`.
fn go_set(s: &BTreeSet<String>) -> String {
    let items: Vec<String> = s.iter().map(|x| format!("{x}:{{}}")).collect();
    format!("map[{}]", items.join(" "))
}

/// Go's %v of a []string: `[a b]`.
fn go_list<S: AsRef<str>>(v: &[S]) -> String {
    let items: Vec<&str> = v.iter().map(AsRef::as_ref).collect();
    format!("[{}]", items.join(" "))
}

/// The task's members: every present Ingress with its class's parameters.
pub fn task_members(ingresses: &[IngressSpec], params: Option<&Map<String, Value>>) -> Vec<Member> {
    ingresses
        .iter()
        .filter(|a| a.present)
        .map(|a| member_of_app(a, params.cloned()))
        .collect()
}

/// Whether the Ingress belongs to an explicit group (IngressClassParams'
/// group or the group.name annotation).
pub fn in_explicit_group(app: &IngressSpec, params: Option<&Map<String, Value>>) -> bool {
    member_of_app(app, params.cloned()).group().is_some()
}

fn member_of_app(app: &IngressSpec, params: Option<Map<String, Value>>) -> Member {
    let ann = app
        .annotations
        .iter()
        .filter_map(|a| {
            let suffix = a.key.strip_prefix(ANNOTATION_PREFIX)?;
            Some((suffix.to_string(), (a.value.clone(), a.field.clone())))
        })
        .collect::<BTreeMap<_, _>>();
    let order = ann
        .get("group.order")
        .and_then(|(v, _)| v.trim().parse().ok())
        .unwrap_or(0);
    Member {
        key: format!("{}/{}", app.namespace, app.name),
        field: app.field.clone(),
        ours: true,
        ann,
        params,
        default_backend: app.default_backend.is_some(),
        order,
    }
}

/// A live Ingress as a member, with the parameters of its class (`params`:
/// class name → IngressClassParams spec, None for a class without them;
/// classes missing from the map are not the controller's).
pub fn member_of_live(
    ing: &Value,
    classes: &BTreeMap<String, Option<Map<String, Value>>>,
) -> Option<Member> {
    let md = &ing["metadata"];
    if !md["deletionTimestamp"].is_null() {
        return None;
    }
    let anns = md["annotations"].as_object();
    // classifyIngress: the class annotation wins over ingressClassName; the
    // controller's --ingress-class is "alb" by default.
    let params = match anns
        .and_then(|a| a.get(CLASS_ANNOTATION))
        .and_then(Value::as_str)
    {
        Some("alb") => None,
        Some(_) => return None,
        None => classes
            .get(ing["spec"]["ingressClassName"].as_str()?)?
            .clone(),
    };
    let key = format!(
        "{}/{}",
        md["namespace"].as_str().unwrap_or_default(),
        md["name"].as_str().unwrap_or_default()
    );
    let ann: BTreeMap<String, (String, String)> = anns
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            let suffix = k.strip_prefix(ANNOTATION_PREFIX)?;
            Some((
                suffix.to_string(),
                (
                    v.as_str().unwrap_or_default().to_string(),
                    format!("Ingress {key} (in the cluster)"),
                ),
            ))
        })
        .collect();
    let order = ann
        .get("group.order")
        .and_then(|(v, _)| v.trim().parse().ok())
        .unwrap_or(0);
    Some(Member {
        field: format!("Ingress {key} (in the cluster)"),
        key,
        ours: false,
        ann,
        params,
        default_backend: !ing["spec"]["defaultBackend"].is_null(),
        order,
    })
}

/// Whether an IngressClass belongs to the controller.
pub fn is_alb_class(class: &Value) -> bool {
    class["spec"]["controller"] == CONTROLLER
}

/// Checks every explicit group of the task's members against `others`
/// (live members; those the task itself defines are dropped).
pub fn check(ours: &[Member], others: &[Member], f: &mut Findings) {
    let our_keys: BTreeSet<&str> = ours.iter().map(|m| m.key.as_str()).collect();
    let groups: BTreeSet<String> = ours.iter().filter_map(Member::group).collect();
    for g in groups {
        let mut members: Vec<&Member> = ours
            .iter()
            .chain(others.iter().filter(|m| !our_keys.contains(m.key.as_str())))
            .filter(|m| m.group().as_deref() == Some(g.as_str()))
            .collect();
        // sortGroupMembers: by group.order, then by namespace/name.
        members.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.key.cmp(&b.key)));
        // One member still has its ssl-redirect judged here, on the group's listeners.
        check_group(&g, &members, f);
    }
}

fn check_group(group: &str, members: &[&Member], f: &mut Findings) {
    let ctx = |what: &str| format!("{what} (IngressGroup {group}). {LBC_FAILS}");
    // The finding goes to one of ours, preferably the later one of a pair.
    let target = |a: &Member, b: &Member, suffix: &str| -> String {
        if b.ours {
            b.field_of(suffix)
        } else {
            a.field_of(suffix)
        }
    };
    let who = |ms: &[&Member]| {
        ms.iter()
            .map(|m| m.key.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };

    // buildLoadBalancerScheme / IPAddressType / Name: IngressClassParams
    // first, then the annotation; more than one value fails.
    for (param, suffix, msg, fix) in [
        (
            "scheme",
            "scheme",
            "conflicting scheme",
            "give every Ingress of the group the same scheme (or set it on one only).",
        ),
        (
            "ipAddressType",
            "ip-address-type",
            "conflicting IPAddressType",
            "give every Ingress of the group the same ip_address_type (or set it on one only).",
        ),
        (
            "loadBalancerName",
            "load-balancer-name",
            "conflicting load balancer name",
            "give every Ingress of the group the same load_balancer_name (or set it on one only).",
        ),
        // model_build_load_balancer_addons.go: buildLoadBalancerAddOns.
        (
            "wafv2AclName",
            "wafv2-acl-name",
            "conflicting WAFv2 WebACL names",
            "give every Ingress of the group the same wafv2-acl-name, or set it on one only.",
        ),
        (
            "wafv2AclArn",
            "wafv2-acl-arn",
            "conflicting WAFv2 WebACL ARNs",
            "give every Ingress of the group the same wafv2-acl-arn, or set it on one only.",
        ),
        (
            "",
            "waf-acl-id",
            "conflicting WAFClassic WebACL IDs",
            "give every Ingress of the group the same waf-acl-id, or set it on one only.",
        ),
        // buildLoadBalancerCOIPv4Pool.
        (
            "",
            "customer-owned-ipv4-pool",
            "conflicting CustomerOwnedIPv4Pool",
            "give every Ingress of the group the same customer-owned-ipv4-pool, or set it on one \
             only.",
        ),
    ] {
        // WAFv2 ARNs are read only when no member names a WebACL.
        if suffix == "wafv2-acl-arn"
            && members
                .iter()
                .any(|m| m.param_str("wafv2AclName").is_some() || m.ann("wafv2-acl-name").is_some())
        {
            continue;
        }
        let mut values = BTreeSet::new();
        let mut setters: Vec<&Member> = Vec::new();
        for m in members {
            let v = m
                .param_str(param)
                .map(str::to_string)
                .or_else(|| m.ann(suffix).map(|(v, _)| v.clone()))
                .or_else(|| {
                    // waf-acl-id's older spelling.
                    (suffix == "waf-acl-id")
                        .then(|| m.ann("web-acl-id").map(|(v, _)| v.clone()))
                        .flatten()
                })
                .filter(|v| !v.is_empty() || suffix == "customer-owned-ipv4-pool");
            if let Some(v) = v {
                values.insert(v);
                setters.push(*m);
            }
        }
        if values.len() > 1 {
            let shown = if !matches!(suffix, "scheme" | "load-balancer-name") {
                go_list(&values.iter().collect::<Vec<_>>())
            } else {
                go_set(&values)
            };
            let (a, b) = (setters[0], setters[setters.len() - 1]);
            f.error(
                target(a, b, suffix),
                ctx(&format!("{msg}: {shown}, set by {}", who(&setters))),
                fix,
            );
        }
    }

    // buildLoadBalancerSubnetMappings: selectors (IngressClassParams) and
    // annotations may not mix; annotations compare ignoring order.
    let from_params: Vec<&Member> = members
        .iter()
        .copied()
        .filter(|m| m.param("subnets").is_some())
        .collect();
    let from_ann: Vec<&Member> = members
        .iter()
        .copied()
        .filter(|m| m.param("subnets").is_none() && m.ann("subnets").is_some())
        .collect();
    if !from_params.is_empty() && !from_ann.is_empty() {
        f.error(
            target(from_params[0], from_ann[0], "subnets"),
            ctx(&format!(
                "conflicting subnet specifications: IngressClassParams versus annotation ({} \
                 take subnets from IngressClassParams, {} from the annotation)",
                who(&from_params),
                who(&from_ann)
            )),
            "set subnets in one place for the whole group: drop the subnets option of these \
             Ingresses, or the subnets of ingress_class.params.",
        );
    } else if let Some(first) = from_params.first()
        && from_params
            .iter()
            .any(|m| m.param("subnets") != first.param("subnets"))
    {
        f.error(
            target(first, from_params[from_params.len() - 1], "subnets"),
            ctx("conflicting IngressClassParams subnet specifications"),
            "give every class of the group the same subnets selector.",
        );
    } else if let Some(first) = from_ann.first() {
        let sorted = |m: &Member| {
            let mut l = m.list("subnets").unwrap_or_default();
            l.sort();
            l
        };
        if let Some(other) = from_ann.iter().find(|m| sorted(m) != sorted(first)) {
            f.error(
                target(first, other, "subnets"),
                ctx(&format!(
                    "conflicting subnets: {} | {} ({} | {})",
                    go_list(&first.list("subnets").unwrap_or_default()),
                    go_list(&other.list("subnets").unwrap_or_default()),
                    first.key,
                    other.key
                )),
                "give every Ingress of the group the same subnets (any order), or set them on \
                 one only.",
            );
        }
    }

    // buildFrontendSGNameOrIDsFromAnnotation: the same list, in the same order.
    let sg: Vec<&Member> = members
        .iter()
        .copied()
        .filter(|m| m.ann("security-groups").is_some())
        .collect();
    if let Some(first) = sg.first()
        && let Some(other) = sg
            .iter()
            .find(|m| m.list("security-groups") != first.list("security-groups"))
    {
        f.error(
            target(first, other, "security-groups"),
            ctx(&format!(
                "conflicting securityGroups: {} | {} ({} | {})",
                go_list(&first.list("security-groups").unwrap_or_default()),
                go_list(&other.list("security-groups").unwrap_or_default()),
                first.key,
                other.key
            )),
            "give every Ingress of the group the same security_groups in the same order, or \
             set them on one only.",
        );
    }
    // buildManageSecurityGroupRulesFlag, read only with security groups set.
    if !sg.is_empty() {
        let flags: Vec<(&Member, bool)> = members
            .iter()
            .filter_map(|m| {
                let (v, _) = m.ann("manage-backend-security-group-rules")?;
                Some((*m, parse_go_bool(v)?))
            })
            .collect();
        if let Some((a, x)) = flags.first()
            && let Some((b, _)) = flags.iter().find(|(_, y)| y != x)
        {
            f.error(
                target(a, b, "manage-backend-security-group-rules"),
                ctx(&format!(
                    "conflicting manage backend security group rules settings ({} | {})",
                    a.key, b.key
                )),
                "give every Ingress of the group the same manage_backend_security_group_rules, \
                 or set it on one only.",
            );
        }
    }

    // buildShieldAdvancedProtection: one value over the group.
    let shield: Vec<(&Member, bool)> = members
        .iter()
        .filter_map(|m| {
            let (v, _) = m.ann("shield-advanced-protection")?;
            Some((*m, parse_go_bool(v)?))
        })
        .collect();
    if let Some((a, x)) = shield.first()
        && let Some((b, _)) = shield.iter().find(|(_, y)| y != x)
    {
        f.error(
            target(a, b, "shield-advanced-protection"),
            ctx(&format!(
                "conflicting enable shield advanced protection ({} | {})",
                a.key, b.key
            )),
            "give every Ingress of the group the same shield-advanced-protection, or set it on \
             one only.",
        );
    }

    // buildSSLRedirectConfig: one port for the group, an HTTPS listener of
    // the merged listeners.
    let mut redirect = BTreeSet::new();
    let mut redirecting = Vec::new();
    for m in members {
        let v = m
            .param_str("sslRedirectPort")
            .or_else(|| m.ann("ssl-redirect").map(|(v, _)| v.as_str()))
            .and_then(|v| v.trim().parse::<i32>().ok());
        if let Some(p) = v {
            redirect.insert(p);
            redirecting.push(*m);
        }
    }
    // Listeners merged per port (mergeListenPortConfigs).
    let mut by_port: BTreeMap<u16, Vec<(&Member, Protocol)>> = BTreeMap::new();
    for m in members {
        for (proto, port) in m.listeners().unwrap_or_default() {
            by_port.entry(port).or_default().push((*m, proto));
        }
    }
    if redirect.len() > 1 {
        let ports: Vec<String> = redirect.iter().map(ToString::to_string).collect();
        f.error(
            target(
                redirecting[0],
                redirecting[redirecting.len() - 1],
                "ssl-redirect",
            ),
            ctx(&format!(
                "conflicting sslRedirect port: {}, set by {}",
                go_list(&ports),
                who(&redirecting)
            )),
            "give every Ingress of the group the same ssl_redirect, or set it on one only (it \
             applies to the whole group).",
        );
    } else if let Some(&p) = redirect.iter().next()
        // A member whose listen-ports do not parse has that finding already;
        // its listeners are unknown, so the redirect is not judged.
        && members.iter().all(|m| m.listeners().is_some())
    {
        let merged = u16::try_from(p).ok().and_then(|p| by_port.get(&p));
        let why = match merged {
            None => Some(format!("listener does not exist for SSLRedirect port: {p}")),
            Some(l) if l[0].1 != Protocol::Https => Some(format!(
                "listener protocol non-SSL for SSLRedirect port: {p}"
            )),
            _ => None,
        };
        if let Some(why) = why
            && let Some(t) = redirecting
                .iter()
                .rev()
                .chain(members.iter().rev())
                .find(|x| x.ours)
        {
            f.error(
                t.field_of("ssl-redirect"),
                ctx(&format!("{why}: no member of the group listens there with HTTPS")),
                format!("add {{\"HTTPS\": {p}}} to the listen_ports of a member, or set ssl_redirect to the group's HTTPS port."),
            );
        }
    }
    let ssl_redirect = redirect.len() == 1;

    for (port, list) in &by_port {
        // conflicting protocol
        let (a, pa) = list[0];
        if let Some((b, pb)) = list.iter().find(|(_, p)| *p != pa) {
            f.error(
                target(a, b, "listen-ports"),
                ctx(&format!(
                    "failed to merge listenPort config for port: {port}: conflicting protocol, \
                     {}: {} | {}: {}",
                    a.key,
                    pa.as_str(),
                    b.key,
                    pb.as_str()
                )),
                format!(
                    "listen on port {port} with the same protocol in every Ingress of the group \
                     (usually HTTP:80 and HTTPS:443)."
                ),
            );
            continue;
        }
        // conflicting inbound-cidrs: members with CIDRs on the port must agree.
        let with: Vec<(&Member, BTreeSet<String>)> = list
            .iter()
            .map(|(m, _)| (*m, m.inbound_cidrs().0))
            .filter(|(_, s)| !s.is_empty())
            .collect();
        if let Some((a, sa)) = with.first()
            && let Some((b, sb)) = with.iter().find(|(_, s)| s != sa)
        {
            let split = |s: &BTreeSet<String>| {
                let (v6, v4): (Vec<&String>, Vec<&String>) =
                    s.iter().partition(|c| c.contains(':'));
                format!("{}, {}", go_list(&v4), go_list(&v6))
            };
            let t = if b.ours { b } else { a };
            f.error(
                t.inbound_cidrs().1,
                ctx(&format!(
                    "failed to merge listenPort config for port: {port}: conflicting \
                     inbound-cidrs, {}: {} | {}: {}",
                    a.key,
                    split(sa),
                    b.key,
                    split(sb)
                )),
                "give every Ingress of the group that listens on this port the same \
                 inbound_cidrs, or set them on one only.",
            );
        }
        // conflicting inbound-prefix-lists (IngressClassParams first) and,
        // on HTTPS, conflicting sslPolicy.
        for (what, suffix, params, https_only) in [
            (
                "inbound-prefix-lists",
                "security-group-prefix-lists",
                &["prefixListsIDs", "PrefixListsIDs"][..],
                false,
            ),
            ("sslPolicy", "ssl-policy", &["sslPolicy"][..], true),
        ] {
            if https_only && pa != Protocol::Https {
                continue;
            }
            let value = |m: &Member| -> Option<BTreeSet<String>> {
                for k in params {
                    match m.param(k) {
                        Some(Value::Array(a)) if !a.is_empty() => {
                            return Some(
                                a.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_string)
                                    .collect(),
                            );
                        }
                        Some(Value::String(s)) if !s.is_empty() => {
                            return Some(BTreeSet::from([s.clone()]));
                        }
                        _ => {}
                    }
                }
                let l: BTreeSet<String> = m.list(suffix)?.into_iter().collect();
                (!l.is_empty() || https_only).then_some(l)
            };
            let with: Vec<(&Member, BTreeSet<String>)> = list
                .iter()
                .filter_map(|(m, _)| Some((*m, value(m)?)))
                .collect();
            if let Some((a, sa)) = with.first()
                && let Some((b, sb)) = with.iter().find(|(_, s)| s != sa)
            {
                let show = |s: &BTreeSet<String>| {
                    if https_only {
                        s.iter().cloned().collect::<Vec<_>>().join(",")
                    } else {
                        go_list(&s.iter().collect::<Vec<_>>())
                    }
                };
                f.error(
                    target(a, b, suffix),
                    ctx(&format!(
                        "failed to merge listenPort config for port: {port}: conflicting {what}, \
                         {}: {} | {}: {}",
                        a.key,
                        show(sa),
                        b.key,
                        show(sb)
                    )),
                    format!(
                        "give every Ingress of the group that listens on port {port} the same \
                         {suffix}, or set it on one only."
                    ),
                );
            }
        }
        // buildListenerDefaultActions: one default backend per listener
        // (an HTTP listener that redirects to HTTPS takes none).
        if ssl_redirect && pa == Protocol::Http {
            continue;
        }
        let defaults: Vec<&Member> = list
            .iter()
            .map(|(m, _)| *m)
            .filter(|m| m.default_backend)
            .collect();
        if defaults.len() > 1 {
            let t = defaults
                .iter()
                .rev()
                .find(|m| m.ours)
                .unwrap_or(&defaults[0]);
            f.error(
                if t.ours {
                    format!("{}.default_backend", t.field)
                } else {
                    t.field.clone()
                },
                ctx(&format!(
                    "multiple ingress defined default backend: {} (listener port {port})",
                    go_list(&defaults.iter().map(|m| m.key.as_str()).collect::<Vec<_>>())
                )),
                "keep default_backend on one Ingress of the group; route the others with rules.",
            );
        }
    }

    // buildIngressGroupResourceTags: one value per tag key over the group
    // (each member's tags: its class's over its annotation).
    let mut tags: BTreeMap<String, (String, &Member)> = BTreeMap::new();
    'tags: for m in members {
        let mut own = m.string_map("tags");
        own.extend(m.param_pairs("tags"));
        for (k, v) in own {
            match tags.get(&k) {
                Some((prev, pm)) if *prev != v => {
                    f.error(
                        target(pm, m, "tags"),
                        ctx(&format!(
                            "conflicting tag {k}: {prev} | {v} ({} | {})",
                            pm.key, m.key
                        )),
                        "give the tag the same value in every Ingress of the group, or set it \
                         on one only.",
                    );
                    break 'tags;
                }
                Some(_) => {}
                None => {
                    tags.insert(k, (v, *m));
                }
            }
        }
    }

    // buildIngressGroupLoadBalancerAttributes: a conflict stands unless the
    // first member's IngressClassParams sets the key.
    let class_attrs = members[0].param_pairs("loadBalancerAttributes");
    let mut attrs: BTreeMap<String, (String, &Member)> = BTreeMap::new();
    'attrs: for m in members {
        for (k, v) in m.string_map("load-balancer-attributes") {
            match attrs.get(&k) {
                Some((prev, pm)) if *prev != v && !class_attrs.contains_key(&k) => {
                    f.error(
                        target(pm, m, "load-balancer-attributes"),
                        ctx(&format!(
                            "conflicting load balancer attributes {k}: {prev} | {v} ({} | {})",
                            pm.key, m.key
                        )),
                        "give the attribute the same value in every Ingress of the group, set \
                         it on one only, or in ingress_class.params.loadBalancerAttributes.",
                    );
                    break 'attrs;
                }
                _ => {
                    attrs.insert(k, (v, *m));
                }
            }
        }
    }
}

/// Checks the task's groups against their members in the cluster and
/// reports only what the live members add (the task alone was checked in
/// parse_plan).
pub fn check_live(ours: &[Member], others: &[Member], f: &mut Findings) {
    let mut alone = Findings::new();
    check(ours, &[], &mut alone);
    let mut all = Findings::new();
    check(ours, others, &mut all);
    f.extend(all.0.into_iter().filter(|x| !alone.0.contains(x)));
}

/// The cluster's Ingresses that may share a group with the task (all of
/// them; `check` keeps the members), each with its class's parameters. The
/// task's own class counts with the task's parameters. None when reading
/// Ingresses is forbidden.
pub async fn live_members(
    client: &kube::Client,
    class_name: &str,
    class_params: Option<&Map<String, Value>>,
) -> crate::error::Result<Option<Vec<Member>>> {
    use crate::kube::read;
    let Some(ings) = read::unless_forbidden(read::list(client, INGRESSES).await)? else {
        return Ok(None);
    };
    let classes = read::unless_forbidden(read::list(client, read::INGRESS_CLASSES).await)?
        .unwrap_or_default();
    let params: Vec<Value> = if classes.iter().any(|c| !c["spec"]["parameters"].is_null()) {
        read::unless_forbidden(read::list(client, INGRESS_CLASS_PARAMS).await)?.unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut by_class: BTreeMap<String, Option<Map<String, Value>>> = classes
        .iter()
        .filter(|c| is_alb_class(c))
        .filter_map(|c| {
            let name = c["metadata"]["name"].as_str()?.to_string();
            let p = &c["spec"]["parameters"];
            let spec = (p["kind"] == "IngressClassParams")
                .then(|| {
                    params
                        .iter()
                        .find(|x| x["metadata"]["name"] == p["name"])
                        .and_then(|x| x["spec"].as_object().cloned())
                })
                .flatten();
            Some((name, spec))
        })
        .collect();
    by_class.insert(class_name.to_string(), class_params.cloned());
    Ok(Some(
        ings.iter()
            .filter_map(|i| member_of_live(i, &by_class))
            .collect(),
    ))
}

pub const INGRESSES: &str = "/apis/networking.k8s.io/v1/ingresses";
pub const INGRESS_CLASS_PARAMS: &str = "/apis/elbv2.k8s.aws/v1beta1/ingressclassparams";

/// strconv.ParseBool.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
