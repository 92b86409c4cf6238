//! Pure checks for AWS Load Balancer Controller annotations and the Ingress
//! and Service fields on the ALB → NodePort path.
//!
//! Problems quote the upstream error text (controller, Kubernetes API server,
//! or AWS) so users can search for it, and say what it breaks: most of these
//! errors only surface later as an Ingress event while the ALB stays stale.

use crate::net::cidr;
use crate::validate::{Finding, Findings};
use std::collections::HashSet;
use std::net::IpAddr;

/// What happens when the controller cannot build the model.
const LBC_FAILS: &str = "The AWS Load Balancer Controller fails to build the Ingress group \
                         (event FailedBuildModel), so the ALB is neither created nor updated \
                         and the route serves no traffic.";
/// What happens when AWS refuses a value the controller passes through.
const AWS_REJECTS: &str = "The controller does not check this; AWS rejects the call with a \
                           ValidationError (seen only in the Ingress events), so the target \
                           group is not created and the route serves no traffic.";
/// What happens when the API server refuses an object.
const API_REJECTS: &str = "The API server rejects the object, so it is never applied and the \
                           ALB has nothing to route to.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Http,
    Https,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "HTTP",
            Protocol::Https => "HTTPS",
        }
    }
}

// ---------------------------------------------------------------- listeners

/// Parses `alb.ingress.kubernetes.io/listen-ports`, in the order written;
/// exact repeats collapse as in the controller.
pub fn parse_listen_ports(field: &str, json: &str) -> Result<Vec<(Protocol, u16)>, Finding> {
    const FIX: &str = "write a JSON array of one-key objects, e.g. \
                       [{\"HTTP\": 80}, {\"HTTPS\": 443}].";
    let parse_err = |detail: &str| {
        Finding::error(
            field,
            format!("failed to parse listen-ports configuration: `{json}` ({detail}). {LBC_FAILS}"),
            FIX,
        )
    };
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| parse_err(&e.to_string()))?;
    let entries = match value {
        serde_json::Value::Null => Vec::new(),
        serde_json::Value::Array(a) => a,
        _ => return Err(parse_err("not a JSON array")),
    };
    let mut out: Vec<(Protocol, u16)> = Vec::new();
    for entry in &entries {
        let serde_json::Value::Object(map) = entry else {
            return Err(parse_err(
                "every element must be an object like {\"HTTP\": 80}",
            ));
        };
        for (proto, port) in map {
            let Some(port) = port.as_i64() else {
                return Err(parse_err(&format!("port of \"{proto}\" is not an integer")));
            };
            if !(1..=65535).contains(&port) {
                return Err(Finding::error(
                    field,
                    format!("listen port must be within [1, 65535]: {port}. {LBC_FAILS}"),
                    "use a port between 1 and 65535, usually 80 for HTTP and 443 for HTTPS.",
                ));
            }
            let protocol = match proto.as_str() {
                "HTTP" => Protocol::Http,
                "HTTPS" => Protocol::Https,
                _ => {
                    return Err(Finding::error(
                        field,
                        format!(
                            "listen protocol must be within [HTTP, HTTPS]: {proto}. {LBC_FAILS}"
                        ),
                        format!(
                            "use \"HTTP\" or \"HTTPS\" (upper case) as the key, e.g. {{\"{}\": {port}}}.",
                            if proto.eq_ignore_ascii_case("https") {
                                "HTTPS"
                            } else {
                                "HTTP"
                            }
                        ),
                    ));
                }
            };
            let port = port as u16;
            // One Ingress: the controller builds a port → protocol map, so
            // the last entry wins (model_build_listener.go:
            // computeIngressListenPorts); "conflicting protocol" exists only
            // across group members (model_builder.go).
            match out.iter_mut().find(|(_, p)| *p == port) {
                Some(entry) => entry.0 = protocol,
                None => out.push((protocol, port)),
            }
        }
    }
    if out.is_empty() {
        return Err(Finding::error(
            field,
            format!("empty listen-ports configuration: `{json}`. {LBC_FAILS}"),
            format!("list at least one listener, e.g. [{{\"HTTP\": 80}}], or {FIX}"),
        ));
    }
    Ok(out)
}

/// Renders listeners the way the seed's annotation is written:
/// `[{"HTTP": 80}, {"HTTPS": 443}]`.
pub fn render_listen_ports(listeners: &[(Protocol, u16)]) -> String {
    let items: Vec<String> = listeners
        .iter()
        .map(|(proto, port)| format!("{{\"{}\": {port}}}", proto.as_str()))
        .collect();
    format!("[{}]", items.join(", "))
}

/// `ssl-redirect` must name an HTTPS listener.
pub fn check_ssl_redirect(field: &str, port: u16, listeners: &[(Protocol, u16)], f: &mut Findings) {
    match listeners.iter().find(|(_, p)| *p == port) {
        None => f.error(
            field,
            format!("listener does not exist for SSLRedirect port: {port}. {LBC_FAILS}"),
            format!(
                "add {{\"HTTPS\": {port}}} to listen-ports, or set ssl-redirect to the HTTPS \
                 listener's port (usually 443)."
            ),
        ),
        Some((Protocol::Http, _)) => f.error(
            field,
            format!(
                "listener protocol non-SSL for SSLRedirect port: {port}. Redirecting to a \
                 plain-HTTP port would loop. {LBC_FAILS}"
            ),
            "set ssl-redirect to the port of an HTTPS listener (usually 443).",
        ),
        Some((Protocol::Https, _)) => {}
    }
}

/// HTTPS listeners need a certificate; certificates need an HTTPS listener.
/// `discovery`: the controller may look certificates up by rule host (hosts
/// exist); when it cannot, a listener without `certificate-arn` is an error.
pub fn check_https_certificate(
    field: &str,
    listeners: &[(Protocol, u16)],
    certificate_arns: &[&str],
    discovery: bool,
    f: &mut Findings,
) {
    let https: Vec<String> = listeners
        .iter()
        .filter(|(proto, _)| *proto == Protocol::Https)
        .map(|(_, port)| port.to_string())
        .collect();
    let ports = https.join(", ");
    if !https.is_empty() && certificate_arns.is_empty() {
        f.push(if discovery {
            Finding::warning(
                field,
                format!(
                    "the HTTPS listener on port {ports} has no certificate-arn, so the \
                     controller looks up an ACM certificate for each rule host. If ACM has none \
                     for a host it fails the Ingress group's build with \"no certificate found \
                     for host: <host>\" (event FailedBuildModel), so the ALB is neither created \
                     nor updated."
                ),
                "set certificate-arn to the ACM certificate for these hosts, or make sure an \
                 issued ACM certificate in the ALB's region covers every host.",
            )
        } else {
            Finding::error(
                field,
                format!(
                    "the HTTPS listener on port {ports} has no certificate-arn and no rule host \
                     to discover one by; AWS refuses an HTTPS listener without a certificate, \
                     so HTTPS clients cannot connect."
                ),
                "set certificate-arn to an ACM certificate ARN, or give the rules hosts that \
                 an ACM certificate covers.",
            )
        });
    }
    if https.is_empty() && !certificate_arns.is_empty() {
        f.warning(
            field,
            "certificate-arn is set but no listener is HTTPS, so the certificate is never \
             served and clients using https:// cannot connect.",
            "add {\"HTTPS\": 443} to listen-ports, or drop certificate-arn.",
        );
    }
    for (i, arn) in certificate_arns.iter().enumerate() {
        check_certificate_arn(&format!("{field}[{i}]"), arn, f);
    }
}

/// An ACM (`arn:aws:acm:<region>:<account>:certificate/<id>`) or IAM
/// (`arn:aws:iam::<account>:server-certificate/<name>`) certificate ARN.
/// Surrounding spaces are ignored, as the controller trims list items.
pub fn check_certificate_arn(field: &str, arn: &str, f: &mut Findings) {
    let Some(problem) = certificate_arn_problem(arn.trim()) else {
        return;
    };
    f.error(
        field,
        format!(
            "'{arn}' is not a certificate ARN ({problem}). AWS rejects the listener \
             certificate, so the HTTPS listener is not created."
        ),
        "copy the ARN from `aws acm list-certificates` (form \
         arn:aws:acm:<region>:<12-digit account>:certificate/<id>), or an IAM \
         arn:aws:iam::<account>:server-certificate/<name>.",
    );
}

fn certificate_arn_problem(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" {
        return Some("expected 6 ':'-separated parts starting with 'arn'".into());
    }
    let (partition, service, region, account, resource) =
        (parts[1], parts[2], parts[3], parts[4], parts[5]);
    let partition_ok = partition == "aws"
        || partition
            .strip_prefix("aws-")
            .is_some_and(|rest| rest.split('-').all(is_lower_word));
    if !partition_ok {
        return Some(format!("unknown partition '{partition}'"));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Some(format!("account '{account}' is not 12 digits"));
    }
    match service {
        "acm" => {
            if !is_region(region) {
                return Some(format!("'{region}' is not an AWS region such as us-east-1"));
            }
            match resource.strip_prefix("certificate/") {
                Some(id) if !id.is_empty() => None,
                _ => Some("the resource must be certificate/<id>".into()),
            }
        }
        "iam" => {
            if !region.is_empty() {
                return Some("IAM ARNs have an empty region".into());
            }
            match resource.strip_prefix("server-certificate/") {
                Some(name) if !name.is_empty() => None,
                _ => Some("the resource must be server-certificate/<name>".into()),
            }
        }
        _ => Some(format!("service '{service}' is neither acm nor iam")),
    }
}

fn is_lower_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase())
}

/// `us-east-1`, `us-gov-west-1`, `eu-isoe-west-1`: words then a number.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| is_lower_word(p))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

// ------------------------------------------------------------------- groups

/// `group.name`: lowercase alphanumerics, '-' and '.', alphanumeric at both
/// ends, at most 63 characters.
pub fn check_group_name(field: &str, s: &str, f: &mut Findings) {
    const UPSTREAM: &str = "groupName must consist of lower case alphanumeric characters, '-' \
                            or '.', and must start and end with an alphanumeric character";
    // loadGroupID: the Ingress joins no group (event FailedLoadGroupID); a
    // former member counts as leaving, so its rules are removed.
    const WHY: &str = "The controller then treats the Ingress as invalid (event \
                       FailedLoadGroupID, \"invalid ingress group\") and no ALB serves its \
                       rules.";
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let (what, fix) = if s.is_empty() {
        (
            "the group name is empty".to_string(),
            "give a name such as 'web'.".to_string(),
        )
    } else if s.len() > 63 {
        (
            format!(
                "groupName must be no more than 63 characters (it has {})",
                s.len()
            ),
            "shorten the group name to 63 characters or fewer.".to_string(),
        )
    } else if let Some(c) = s.chars().find(|&c| !(alnum(c) || c == '-' || c == '.')) {
        (
            format!("'{s}' contains '{c}': {UPSTREAM}"),
            format!(
                "use only lower case letters, digits, '-' and '.', e.g. '{}'.",
                s.to_ascii_lowercase()
                    .chars()
                    .map(|c| if alnum(c) || c == '.' { c } else { '-' })
                    .collect::<String>()
            ),
        )
    } else if !s.starts_with(alnum) {
        (
            format!("'{s}' starts with '{}': {UPSTREAM}", &s[..1]),
            "start the name with a letter or digit.".to_string(),
        )
    } else if !s.ends_with(alnum) {
        (
            format!("'{s}' ends with '{}': {UPSTREAM}", &s[s.len() - 1..]),
            "end the name with a letter or digit.".to_string(),
        )
    } else {
        return;
    };
    f.error(field, format!("{what}. {WHY}"), fix);
}

/// `group.order`: within [-1000, 1000].
pub fn check_group_order(field: &str, order: i64, f: &mut Findings) {
    if !(-1000..=1000).contains(&order) {
        f.error(
            field,
            format!(
                "explicit Ingress group order must be within [-1000:1000], order: {order}. \
                 The controller then fails to load the whole group, so no member's rules \
                 reach the ALB."
            ),
            "use an order between -1000 and 1000 (lower numbers are evaluated first).",
        );
    }
}

// ------------------------------------------------------------ health checks

/// Controller defaults, for callers that combine an explicit value with a default.
pub const DEFAULT_HEALTHCHECK_INTERVAL: i64 = 15;
pub const DEFAULT_HEALTHCHECK_TIMEOUT: i64 = 5;

/// True when `value` is within `lo..=hi`.
fn check_range(field: &str, what: &str, value: i64, lo: i64, hi: i64, f: &mut Findings) -> bool {
    let ok = (lo..=hi).contains(&value);
    if !ok {
        f.error(
            field,
            format!("{what} {value} is outside the AWS limit {lo}-{hi}. {AWS_REJECTS}"),
            format!("use a value between {lo} and {hi}."),
        );
    }
    ok
}

/// `healthcheck-interval-seconds`: 5-300. True when it is, so the timeout
/// can be compared with it.
pub fn check_healthcheck_interval(field: &str, seconds: i64, f: &mut Findings) -> bool {
    check_range(field, "health check interval", seconds, 5, 300, f)
}

/// `healthcheck-timeout-seconds`: 2-120 and below the interval in effect.
pub fn check_healthcheck_timeout(field: &str, timeout: i64, interval: i64, f: &mut Findings) {
    if check_range(field, "health check timeout", timeout, 2, 120, f) && timeout >= interval {
        f.error(
            field,
            format!(
                "health check timeout {timeout} s is not smaller than the interval \
                 {interval} s. {AWS_REJECTS}"
            ),
            format!(
                "make the timeout smaller than the interval, e.g. timeout {} with interval \
                 {interval}.",
                (interval - 1).clamp(2, 120)
            ),
        );
    }
}

/// `healthy-threshold-count` / `unhealthy-threshold-count`: 2-10.
pub fn check_healthcheck_threshold(field: &str, count: i64, f: &mut Findings) {
    check_range(field, "health check threshold", count, 2, 10, f);
}

/// `success-codes`: "200", "200,201" or "200-299"; HTTP codes 200-499, gRPC 0-99.
pub fn check_success_codes(field: &str, s: &str, grpc: bool, f: &mut Findings) {
    let (lo, hi, kind) = if grpc {
        (0, 99, "gRPC")
    } else {
        (200, 499, "HTTP")
    };
    let code = |t: &str| -> Option<u32> {
        (!t.is_empty() && t.len() <= 3 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let codes: Option<Vec<u32>> = match s.split_once('-') {
        Some((a, b)) => match (code(a), code(b)) {
            (Some(a), Some(b)) if a <= b => Some(vec![a, b]),
            (Some(a), Some(b)) => {
                f.error(
                    field,
                    format!("success code range '{s}' is reversed. {AWS_REJECTS}"),
                    format!("write the range low to high: '{b}-{a}'."),
                );
                return;
            }
            _ => None,
        },
        None => s.split(',').map(code).collect(),
    };
    let Some(codes) = codes else {
        f.error(
            field,
            format!(
                "success codes '{s}' are not one code, a comma list or a range (forms: \
                 '200', '200,201', '200-299', no spaces). {AWS_REJECTS}"
            ),
            if grpc {
                "use e.g. '12' or '0-99'."
            } else {
                "use e.g. '200' or '200-299'."
            },
        );
        return;
    };
    if let Some(bad) = codes.iter().find(|c| !(lo..=hi).contains(*c)) {
        f.error(
            field,
            format!(
                "success code {bad} is outside {lo}-{hi}, the range allowed for {kind} health checks. {AWS_REJECTS}"
            ),
            format!("use {kind} codes between {lo} and {hi}."),
        );
    }
}

/// `healthcheck-path`: absolute, at most 1024 characters, no whitespace.
pub fn check_healthcheck_path(field: &str, path: &str, f: &mut Findings) {
    let what = if !path.starts_with('/') {
        "must start with '/'"
    } else if path.len() > 1024 {
        "is longer than 1024 characters"
    } else if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "contains whitespace or control characters"
    } else {
        return;
    };
    f.error(
        field,
        format!("health check path '{path}' {what}. {AWS_REJECTS}"),
        "use an absolute path such as /healthz (gRPC: /package.service/method).",
    );
}

/// `healthcheck-port`: `traffic-port`, a port number, or a Service port name
/// (buildTargetGroupHealthCheckPort: intstr.Parse, then a name is looked up
/// in the Service's ports).
pub fn check_healthcheck_port(field: &str, s: &str, f: &mut Findings) {
    if s == "traffic-port" {
        return;
    }
    // strconv.Atoi succeeds: the number goes to AWS as it is.
    if let Ok(n) = s.parse::<i64>()
        && i32::try_from(n).is_ok()
    {
        if !(1..=65535).contains(&n) {
            f.error(
                field,
                format!("health check port {n} is outside 1-65535. {AWS_REJECTS}"),
                "use traffic-port (the default), a number 1-65535, or the name of a port of \
                 the backend Service.",
            );
        }
        return;
    }
    // A name no Service port can have: LookupServicePort fails.
    let Some(p) = dns_label_problem(s) else {
        return;
    };
    f.error(
        field,
        format!(
            "failed to resolve healthCheckPort: '{s}' is neither traffic-port, a port number, \
             nor a possible Service port name ({p}). {LBC_FAILS}"
        ),
        "use traffic-port (the default), a number 1-65535, or the name of a port of the \
         backend Service.",
    );
}

/// `load-balancer-name`: AWS's naming rules for load balancers.
pub fn check_load_balancer_name(field: &str, s: &str, f: &mut Findings) {
    let what = if s.is_empty() {
        "the name is empty".to_string()
    } else if s.len() > 32 {
        format!(
            "load balancer name cannot be longer than 32 characters ('{s}' has {})",
            s.len()
        )
    } else if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        format!("'{s}' contains '{c}'; only letters, digits and '-' are allowed")
    } else if s.starts_with('-') || s.ends_with('-') {
        format!("'{s}' must not begin or end with a hyphen")
    } else if s.starts_with("internal-") {
        format!(
            "'{s}' must not begin with \"internal-\" (AWS reserves it for internal load balancers' DNS names)"
        )
    } else {
        return;
    };
    f.error(
        field,
        format!(
            "{what}. The ALB cannot be created with this name, so the Ingress gets no load \
             balancer."
        ),
        "use at most 32 letters, digits and hyphens, not starting or ending with '-' and not \
         starting with 'internal-'.",
    );
}

// ------------------------------------------------------------------ Ingress

/// An Ingress rule host: a DNS-1123 subdomain, optionally `*.` + subdomain,
/// never an IP. An empty host (match every host) is fine.
pub fn check_host(field: &str, s: &str, f: &mut Findings) {
    if s.is_empty() {
        return;
    }
    let (what, fix) = if s.parse::<IpAddr>().is_ok() {
        (
            "must be a DNS name, not an IP address".to_string(),
            "use the DNS name clients send in the Host header, or omit host to match every \
             host."
                .to_string(),
        )
    } else if s.contains('*') {
        match s.strip_prefix("*.") {
            Some(rest) if subdomain_problem(rest).is_none() => return,
            _ => (
                "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS \
                 subdomain, which must consist of lower case alphanumeric characters, '-' or \
                 '.' and end with an alphanumeric character"
                    .to_string(),
                "use a single leading wildcard label, e.g. '*.example.com'.".to_string(),
            ),
        }
    } else if let Some(problem) = subdomain_problem(s) {
        let fix = if let Some((name, _port)) = s.split_once(':') {
            format!("drop the port: '{name}'.")
        } else if s != s.to_ascii_lowercase() {
            format!("write it in lower case: '{}'.", s.to_ascii_lowercase())
        } else {
            "use a DNS name such as 'app.example.com'.".to_string()
        };
        (problem, fix)
    } else {
        return;
    };
    f.error(
        field,
        format!("host '{s}' is invalid: {what}. {API_REJECTS}"),
        fix,
    );
}

fn subdomain_problem(s: &str) -> Option<String> {
    if s.len() > 253 {
        return Some("must be no more than 253 characters".into());
    }
    (!crate::kube::names::is_dns_subdomain(s)).then(|| {
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \
         '-' or '.', and must start and end with an alphanumeric character"
            .into()
    })
}

/// An Ingress path with its `pathType`, under Kubernetes' and the controller's rules.
pub fn check_path(field: &str, path: &str, path_type: &str, f: &mut Findings) {
    let err = |what: String, fix: &str| Finding::error(field, what, fix);
    let exact_or_prefix = match path_type {
        "Exact" | "Prefix" => true,
        "ImplementationSpecific" => false,
        _ => {
            f.push(err(
                format!(
                    "pathType: Unsupported value: \"{path_type}\": supported values: \"Exact\", \
                     \"ImplementationSpecific\", \"Prefix\". {API_REJECTS}"
                ),
                "set pathType to Prefix (matches the path and everything below it) or Exact.",
            ));
            return;
        }
    };
    if (exact_or_prefix || !path.is_empty()) && !path.starts_with('/') {
        f.push(err(
            format!("path '{path}' must be an absolute path. {API_REJECTS}"),
            "start the path with '/', e.g. '/' or '/api'.",
        ));
    }
    if !exact_or_prefix {
        return;
    }
    for seq in ["//", "/./", "/../", "%2f", "%2F"] {
        if path.contains(seq) {
            f.push(err(
                format!("path '{path}' must not contain '{seq}'. {API_REJECTS}"),
                "write the path in normalised form, without empty, '.' or '..' segments or \
                 encoded slashes.",
            ));
        }
    }
    for suffix in ["/..", "/."] {
        if path.ends_with(suffix) {
            f.push(err(
                format!("path '{path}' cannot end with '{suffix}'. {API_REJECTS}"),
                "remove the trailing '.' or '..' segment.",
            ));
        }
    }
    if path.contains(['*', '?']) {
        let kind = if path_type == "Exact" {
            "exact"
        } else {
            "prefix"
        };
        f.push(err(
            format!("{kind} path shouldn't contain wildcards: {path}. {LBC_FAILS}"),
            "drop the wildcard: Prefix '/api' already matches /api and everything below it; \
             use pathType ImplementationSpecific for an ALB wildcard pattern such as '/api/*'.",
        ));
    }
}

// ------------------------------------------------------------------ Service

/// The Kubernetes default `--service-node-port-range`.
pub const DEFAULT_NODE_PORT_RANGE: (u16, u16) = crate::net::network::DEFAULT_NODE_PORTS;

/// A Service `nodePort`; 0 means "let Kubernetes assign one".
pub fn check_node_port(field: &str, port: i64, range: (u16, u16), f: &mut Findings) {
    let (lo, hi) = range;
    if port != 0 && !(i64::from(lo)..=i64::from(hi)).contains(&port) {
        f.error(
            field,
            format!(
                "Invalid value: {port}: provided port is not in the valid range. The range of \
                 valid ports is {lo}-{hi}. {API_REJECTS}"
            ),
            format!(
                "pick a port in {lo}-{hi} (and open it from the ALB security group), or omit \
                 nodePort to let Kubernetes assign one."
            ),
        );
    }
}

/// IANA_SVC_NAME, as Kubernetes requires for named target and container
/// ports. (A Service's own `ports[].name` is a DNS-1123 label, up to 63 characters.)
pub fn check_port_name(field: &str, s: &str, f: &mut Findings) {
    let what = if s.is_empty() {
        "port name is empty"
    } else if s.len() > 15 {
        "must be no more than 15 characters"
    } else if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    } else if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        "must contain at least one letter (a-z)"
    } else if s.contains("--") {
        "must not contain consecutive hyphens"
    } else if s.starts_with('-') || s.ends_with('-') {
        "must not begin or end with a hyphen"
    } else {
        return;
    };
    f.error(
        field,
        format!(
            "port name '{s}' is invalid: {what}. {API_REJECTS} A name that no container port \
             carries also leaves the Service without endpoints."
        ),
        "use up to 15 lower case letters, digits and single hyphens, with at least one \
         letter, e.g. 'http'.",
    );
}

/// With more than one port, every Service port needs a unique name.
/// `field` is the ports list, e.g. `services[0].ports`.
pub fn check_ports_named(field: &str, names: &[Option<&str>], f: &mut Findings) {
    if names.len() < 2 {
        return;
    }
    let mut seen = HashSet::new();
    for (i, name) in names.iter().enumerate() {
        let at = format!("{field}[{i}].name");
        match name.filter(|n| !n.is_empty()) {
            None => f.error(
                at,
                format!(
                    "Required value: a Service with {} ports must name every port. \
                     {API_REJECTS}",
                    names.len()
                ),
                "give each port a name such as 'http' or 'https'.",
            ),
            Some(n) if !seen.insert(n) => f.error(
                at,
                format!("Duplicate value: \"{n}\": port names must be unique. {API_REJECTS}"),
                "give each port a different name.",
            ),
            Some(_) => {}
        }
    }
}

/// A `targetPort` (or container port reference): a number or an IANA_SVC_NAME.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortRef<'a> {
    Number(i64),
    Name(&'a str),
}

pub fn check_target_port(field: &str, port: PortRef<'_>, f: &mut Findings) {
    match port {
        PortRef::Number(n) if (1..=65535).contains(&n) => {}
        PortRef::Number(n) => f.error(
            field,
            format!("Invalid value: {n}: must be between 1 and 65535, inclusive. {API_REJECTS}"),
            "use the container port the application listens on, e.g. 8080.",
        ),
        PortRef::Name(name) => check_port_name(field, name, f),
    }
}

fn dns_label_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("empty")
    } else if s.len() > 63 {
        Some("longer than 63 characters")
    } else if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || s.starts_with('-')
        || s.ends_with('-')
    {
        Some("a DNS-1123 label: lower case alphanumerics and '-', alphanumeric at both ends")
    } else {
        None
    }
}

// -------------------------------------------------------------- annotations

/// splitKeyValuePairs (pkg/annotations/parser.go): pairs split at a ','
/// followed by more `=`, `\x` escapes a character (so `\,` is a comma in a
/// value); a ',' followed by text without '=' ends the list malformed.
fn split_key_value_pairs(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            cur.push(b[i + 1]);
            i += 1;
        } else if b[i] == b',' {
            let rest = s[i + 1..].trim();
            if rest.contains('=') {
                out.push(String::from_utf8_lossy(&cur).trim().to_string());
                cur.clear();
            } else if !rest.is_empty() {
                out.push(String::from_utf8_lossy(&cur).trim().to_string());
                out.push(rest.to_string());
                return out;
            } else {
                cur.push(b',');
            }
        } else {
            cur.push(b[i]);
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(String::from_utf8_lossy(&cur).trim().to_string());
    }
    out
}

/// ParseStringMapAnnotation: the pairs, or the one that is not key=value.
pub fn parse_stringmap(s: &str) -> Result<Vec<(String, String)>, String> {
    split_key_value_pairs(s)
        .into_iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(pair),
        })
        .collect()
}

/// A stringMap key or value written so that parse_stringmap reads it back.
pub fn escape_stringmap(s: &str) -> String {
    s.replace('\\', "\\\\").replace(',', "\\,")
}

/// A `k=v,k2=v2` annotation (tags, target-node-labels, attributes).
pub fn check_stringmap(field: &str, key: &str, s: &str, f: &mut Findings) {
    let Err(bad) = parse_stringmap(s) else {
        return;
    };
    f.error(
        field,
        format!(
            "failed to parse stringMap annotation, {key}: {s} ('{bad}' is not key=value). \
             {LBC_FAILS}"
        ),
        "write comma-separated key=value pairs, e.g. 'env=prod,team=web' (a comma inside a \
         value is written '\\,').",
    );
}

/// `inbound-cidrs`: each item a strictly masked CIDR (0.0.0.0/0 allowed).
/// Host bits are only a warning: the controller passes the CIDR through and
/// EC2 stores the rule masked (issue 14: such input is valid).
pub fn check_inbound_cidrs(field: &str, cidrs: &[&str], f: &mut Findings) {
    for (i, c) in cidrs.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let c = c.trim();
        if let Ok(n) = c.parse::<ipnet::IpNet>()
            && n != n.trunc()
        {
            f.warning(
                &at,
                format!(
                    "inbound CIDR {c} has host bits set: EC2 stores the rule as {}, so it \
                     allows that whole range, not only {}.",
                    n.trunc(),
                    n.addr()
                ),
                format!(
                    "write {} (or {}/{} for one address).",
                    n.trunc(),
                    n.addr(),
                    n.max_prefix_len()
                ),
            );
        } else if let Err(x) = cidr::parse_cidr_allow_any(&at, c) {
            f.push(x);
        }
    }
}

/// Explicit `subnets`: at least two (one per AZ), each an ID or a Name tag.
pub fn check_subnets(field: &str, entries: &[&str], f: &mut Findings) {
    if entries.len() < 2 {
        f.error(
            field,
            format!(
                "subnets count less than minimal required count: {} < 2. An ALB needs subnets \
                 in at least two Availability Zones. {LBC_FAILS}",
                entries.len()
            ),
            "list one subnet in each of at least two Availability Zones, or omit subnets to \
             use auto-discovery: subnets tagged kubernetes.io/role/elb=1 (internet-facing) or \
             kubernetes.io/role/internal-elb=1 (internal), or, when no subnet has that tag \
             (v3.5.0's SubnetDiscoveryByReachability, on by default), those whose route table \
             has (internet-facing) or lacks (internal) a route to an internet gateway.",
        );
    }
    // v3.5.0 resolves a subnet Name tag per Availability Zone, so one name
    // listed once per AZ is valid.
    check_id_or_name_list(field, entries, "subnet-", "subnet", 256, true, f);
}

/// `security-groups`: each an ID or a group name.
pub fn check_security_groups(field: &str, entries: &[&str], f: &mut Findings) {
    check_id_or_name_list(field, entries, "sg-", "security group", 255, false, f);
}

/// The controller reads anything starting with `prefix` as an ID and the
/// rest as a name, so a malformed ID is never looked up by name.
fn check_id_or_name_list(
    field: &str,
    entries: &[&str],
    prefix: &str,
    what: &str,
    max_name: usize,
    names_may_repeat: bool,
    f: &mut Findings,
) {
    let mut seen = HashSet::new();
    for (i, raw) in entries.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let entry = raw.trim();
        let problem = if entry.is_empty() {
            Some(format!("the {what} entry is empty"))
        } else if let Some(hex) = entry.strip_prefix(prefix) {
            let ok = matches!(hex.len(), 8 | 17)
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            (!ok).then(|| {
                format!(
                    "'{entry}' starts with '{prefix}', so the controller looks it up as a {what} \
                     ID, but it is not one ('{prefix}' + 8 or 17 hex digits)"
                )
            })
        } else if entry.len() > max_name {
            Some(format!("'{entry}' is longer than {max_name} characters"))
        } else {
            None
        };
        if let Some(p) = problem {
            f.error(
                at,
                format!("{p}. The lookup fails, so the ALB is not created. {LBC_FAILS}"),
                format!(
                    "use the {what} ID ({prefix}0123456789abcdef0) or its Name tag, without a \
                     '{prefix}' prefix."
                ),
            );
        } else if !seen.insert(entry) && (!names_may_repeat || entry.starts_with(prefix)) {
            f.error(
                at,
                format!("{what} '{entry}' is listed twice. {LBC_FAILS}"),
                format!("list each {what} once."),
            );
        }
    }
}

/// True when `value` is one of `allowed`.
fn check_enum(
    field: &str,
    value: &str,
    allowed: &[&str],
    upstream: &str,
    f: &mut Findings,
) -> bool {
    if allowed.contains(&value) {
        return true;
    }
    let fix = match allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(value.trim()))
    {
        Some(a) => format!("write '{a}' (values are case-sensitive)."),
        None => format!("use one of: {}.", allowed.join(", ")),
    };
    f.error(field, format!("{upstream}. {LBC_FAILS}"), fix);
    false
}

/// `scheme`: internal (default) or internet-facing.
pub fn check_scheme(field: &str, s: &str, f: &mut Findings) {
    check_enum(
        field,
        s,
        &["internal", "internet-facing"],
        &format!("unknown scheme: {s}"),
        f,
    );
}

/// `target-type`: instance (default) or ip. True when it is one, so the
/// network can be judged for it.
pub fn check_target_type(field: &str, s: &str, f: &mut Findings) -> bool {
    check_enum(
        field,
        s,
        &["instance", "ip"],
        &format!("unknown targetType: {s}"),
        f,
    )
}

/// `ip-address-type`.
pub fn check_ip_address_type(field: &str, s: &str, f: &mut Findings) {
    check_enum(
        field,
        s,
        &["ipv4", "dualstack", "dualstack-without-public-ipv4"],
        &format!("unknown IPAddressType: {s}"),
        f,
    );
}

/// `backend-protocol`.
pub fn check_backend_protocol(field: &str, s: &str, f: &mut Findings) {
    check_enum(
        field,
        s,
        &["HTTP", "HTTPS"],
        &format!("backend protocol must be within [HTTP, HTTPS]: {s}"),
        f,
    );
}

/// `backend-protocol-version`.
pub fn check_backend_protocol_version(field: &str, s: &str, f: &mut Findings) {
    check_enum(
        field,
        s,
        &["HTTP1", "HTTP2", "GRPC"],
        &format!("backend protocol version must be within [HTTP1, HTTP2, GRPC]: {s}"),
        f,
    );
}

/// `healthcheck-protocol`.
pub fn check_healthcheck_protocol(field: &str, s: &str, f: &mut Findings) {
    check_enum(
        field,
        s,
        &["HTTP", "HTTPS"],
        &format!("healthCheckProtocol must be within [HTTP, HTTPS] (got '{s}')"),
        f,
    );
}

#[cfg(test)]
mod tests {
    use super::Protocol::{Http, Https};
    use super::*;
    use crate::validate::{Severity, finding};

    const F: &str = "ingresses[0].annotations.x";

    /// Asserts an error on field `F` whose problem contains `needle`.
    #[track_caller]
    fn err(f: Option<Finding>, needle: &str) -> Finding {
        let f = f.expect("expected a finding");
        assert_eq!(f.field, F);
        assert_eq!(f.severity, Severity::Error, "{f}");
        assert!(
            f.problem.contains(needle),
            "want {needle:?} in: {}",
            f.problem
        );
        f
    }

    #[test]
    fn listen_ports_valid() {
        assert_eq!(
            parse_listen_ports(F, r#"[{"HTTP": 80}, {"HTTPS": 443}]"#).unwrap(),
            vec![(Http, 80), (Https, 443)]
        );
        assert_eq!(
            parse_listen_ports(F, r#"[{"HTTPS":8443}]"#).unwrap(),
            vec![(Https, 8443)]
        );
        // Several keys in one object and exact repeats, as the controller allows.
        assert_eq!(
            parse_listen_ports(F, r#"[{"HTTP":80,"HTTPS":443},{"HTTP":80}]"#).unwrap(),
            vec![(Http, 80), (Https, 443)]
        );
    }

    #[test]
    fn listen_ports_invalid() {
        for (json, needle) in [
            ("", "failed to parse listen-ports configuration"),
            (
                "[{\"HTTP\": 80}",
                "failed to parse listen-ports configuration",
            ),
            (
                "{\"HTTP\": 80}",
                "failed to parse listen-ports configuration",
            ),
            ("[80]", "failed to parse listen-ports configuration"),
            (
                "[{\"HTTP\": \"80\"}]",
                "failed to parse listen-ports configuration",
            ),
            (
                "[{\"HTTP\": 80.5}]",
                "failed to parse listen-ports configuration",
            ),
            ("[]", "empty listen-ports configuration: `[]`"),
            ("null", "empty listen-ports configuration"),
            ("[{}]", "empty listen-ports configuration"),
            (
                "[{\"HTTP\": 0}]",
                "listen port must be within [1, 65535]: 0",
            ),
            (
                "[{\"HTTP\": 70000}]",
                "listen port must be within [1, 65535]: 70000",
            ),
            (
                "[{\"TCP\": 80}]",
                "listen protocol must be within [HTTP, HTTPS]: TCP",
            ),
            (
                "[{\"http\": 80}]",
                "listen protocol must be within [HTTP, HTTPS]: http",
            ),
        ] {
            err(parse_listen_ports(F, json).err(), needle);
        }
        // The same port twice: the last entry wins, as in the controller.
        assert_eq!(
            parse_listen_ports(F, "[{\"HTTP\": 443}, {\"HTTPS\": 443}]").unwrap(),
            vec![(Protocol::Https, 443)]
        );
        let f = parse_listen_ports(F, "[{\"https\": 443}]").unwrap_err();
        assert!(f.fix.contains("{\"HTTPS\": 443}"), "{}", f.fix);
    }

    #[test]
    fn render_matches_seed_annotation() {
        assert_eq!(
            render_listen_ports(&[(Http, 80), (Https, 443)]),
            r#"[{"HTTP": 80}, {"HTTPS": 443}]"#
        );
        assert_eq!(render_listen_ports(&[(Http, 80)]), r#"[{"HTTP": 80}]"#);
        let s = render_listen_ports(&[(Http, 8080), (Https, 8443)]);
        assert_eq!(
            parse_listen_ports(F, &s).unwrap(),
            vec![(Http, 8080), (Https, 8443)]
        );
    }

    #[test]
    fn ssl_redirect() {
        let l = [(Http, 80), (Https, 443)];
        assert!(finding(|f| check_ssl_redirect(F, 443, &l, f)).is_none());
        err(
            finding(|f| check_ssl_redirect(F, 8443, &l, f)),
            "listener does not exist for SSLRedirect port: 8443",
        );
        err(
            finding(|f| check_ssl_redirect(F, 80, &l, f)),
            "listener protocol non-SSL for SSLRedirect port: 80",
        );
    }

    const ARN: &str =
        "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666";

    #[test]
    fn https_certificate_present() {
        let l = [(Http, 80), (Https, 443)];
        assert!(Findings::of(|f| check_https_certificate(F, &l, &[ARN], false, f)).is_empty());
        assert!(
            Findings::of(|f| check_https_certificate(F, &[(Http, 80)], &[], false, f)).is_empty()
        );
    }

    #[test]
    fn https_certificate_missing() {
        let l = [(Http, 80), (Https, 443)];
        let w = Findings::of(|f| check_https_certificate(F, &l, &[], true, f));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].field, F);
        assert_eq!(w[0].severity, Severity::Warning);
        assert!(w[0].problem.contains("no certificate found for host"));
        let e = Findings::of(|f| check_https_certificate(F, &l, &[], false, f));
        assert_eq!(e[0].severity, Severity::Error);
        assert!(e[0].problem.contains("port 443 has no certificate-arn"));
        let unused = Findings::of(|f| check_https_certificate(F, &[(Http, 80)], &[ARN], true, f));
        assert_eq!(unused[0].severity, Severity::Warning);
        assert!(unused[0].problem.contains("no listener is HTTPS"));
        let bad = Findings::of(|f| {
            check_https_certificate(
                F,
                &l,
                &[ARN, "arn:aws:acm:us-east-1:1:certificate/x"],
                true,
                f,
            )
        });
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].field, format!("{F}[1]"));
        assert!(bad[0].problem.contains("not 12 digits"));
    }

    #[test]
    fn certificate_arns() {
        for ok in [
            ARN,
            " arn:aws:acm:us-east-1:123456789012:certificate/abc ",
            "arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/abc",
            "arn:aws-cn:acm:cn-north-1:123456789012:certificate/abc",
            "arn:aws:iam::123456789012:server-certificate/prod/web",
        ] {
            assert!(
                finding(|f| check_certificate_arn(F, ok, f)).is_none(),
                "{ok}"
            );
        }
        for (bad, needle) in [
            ("", "6 ':'-separated parts"),
            ("my-cert", "6 ':'-separated parts"),
            (
                "arn:gcp:acm:us-east-1:123456789012:certificate/x",
                "unknown partition 'gcp'",
            ),
            (
                "arn:aws-:acm:us-east-1:123456789012:certificate/x",
                "unknown partition",
            ),
            ("arn:aws:acm:us-east-1:12345:certificate/x", "not 12 digits"),
            (
                "arn:aws:acm:useast1:123456789012:certificate/x",
                "not an AWS region",
            ),
            (
                "arn:aws:acm:us-east-1:123456789012:cert/x",
                "certificate/<id>",
            ),
            (
                "arn:aws:acm:us-east-1:123456789012:certificate/",
                "certificate/<id>",
            ),
            (
                "arn:aws:iam:us-east-1:123456789012:server-certificate/x",
                "empty region",
            ),
            (
                "arn:aws:iam::123456789012:role/x",
                "server-certificate/<name>",
            ),
            (
                "arn:aws:s3:us-east-1:123456789012:certificate/x",
                "neither acm nor iam",
            ),
        ] {
            err(finding(|f| check_certificate_arn(F, bad, f)), needle);
        }
    }

    #[test]
    fn group_name() {
        for ok in ["web", "a", "web-1.prod", "0"] {
            assert!(finding(|f| check_group_name(F, ok, f)).is_none(), "{ok}");
        }
        assert!(finding(|f| check_group_name(F, &"a".repeat(63), f)).is_none());
        err(finding(|f| check_group_name(F, "", f)), "empty");
        err(
            finding(|f| check_group_name(F, &"a".repeat(64), f)),
            "groupName must be no more than 63 characters",
        );
        let f = err(
            finding(|f| check_group_name(F, "Web_App", f)),
            "contains 'W'",
        );
        assert!(
            f.problem
                .contains("must consist of lower case alphanumeric")
        );
        assert!(f.fix.contains("'web-app'"), "{}", f.fix);
        err(
            finding(|f| check_group_name(F, "-web", f)),
            "starts with '-'",
        );
        err(
            finding(|f| check_group_name(F, ".web", f)),
            "starts with '.'",
        );
        err(finding(|f| check_group_name(F, "web.", f)), "ends with '.'");
        err(finding(|f| check_group_name(F, "web-", f)), "ends with '-'");
    }

    #[test]
    fn group_order() {
        for ok in [-1000, 0, 10, 1000] {
            assert!(finding(|f| check_group_order(F, ok, f)).is_none());
        }
        err(
            finding(|f| check_group_order(F, 1001, f)),
            "explicit Ingress group order must be within [-1000:1000]",
        );
        err(finding(|f| check_group_order(F, -1001, f)), "order: -1001");
    }

    #[test]
    fn healthcheck_interval_and_thresholds() {
        // Passed or not: the timeout is compared only with a valid interval.
        assert!(check_healthcheck_interval(F, 5, &mut Findings::new()));
        assert!(!check_healthcheck_interval(F, 4, &mut Findings::new()));
        assert!(finding(|f| check_healthcheck_interval(F, 5, f)).is_none());
        assert!(finding(|f| check_healthcheck_interval(F, 300, f)).is_none());
        err(
            finding(|f| check_healthcheck_interval(F, 4, f)),
            "outside the AWS limit 5-300",
        );
        err(
            finding(|f| check_healthcheck_interval(F, 301, f)),
            "interval 301",
        );
        assert!(finding(|f| check_healthcheck_threshold(F, 2, f)).is_none());
        assert!(finding(|f| check_healthcheck_threshold(F, 10, f)).is_none());
        err(
            finding(|f| check_healthcheck_threshold(F, 1, f)),
            "outside the AWS limit 2-10",
        );
        err(
            finding(|f| check_healthcheck_threshold(F, 11, f)),
            "threshold 11",
        );
    }

    #[test]
    fn healthcheck_timeout() {
        assert!(finding(|f| check_healthcheck_timeout(F, 5, 15, f)).is_none());
        assert!(finding(|f| check_healthcheck_timeout(F, 120, 300, f)).is_none());
        err(
            finding(|f| check_healthcheck_timeout(F, 1, 15, f)),
            "outside the AWS limit 2-120",
        );
        err(
            finding(|f| check_healthcheck_timeout(F, 121, 300, f)),
            "outside the AWS limit 2-120",
        );
        let f = err(
            finding(|f| check_healthcheck_timeout(F, 15, 15, f)),
            "not smaller than the interval 15",
        );
        assert!(f.fix.contains("timeout 14"));
        err(
            finding(|f| check_healthcheck_timeout(F, 20, 10, f)),
            "not smaller than the interval",
        );
    }

    #[test]
    fn success_codes() {
        for ok in ["200", "200,201", "200-299", "499", "200-499"] {
            assert!(
                finding(|f| check_success_codes(F, ok, false, f)).is_none(),
                "{ok}"
            );
        }
        for ok in ["0", "12", "0-99", "0,12"] {
            assert!(
                finding(|f| check_success_codes(F, ok, true, f)).is_none(),
                "{ok}"
            );
        }
        err(
            finding(|f| check_success_codes(F, "500", false, f)),
            "success code 500 is outside 200-499",
        );
        err(
            finding(|f| check_success_codes(F, "199-299", false, f)),
            "success code 199",
        );
        err(
            finding(|f| check_success_codes(F, "200", true, f)),
            "outside 0-99, the range allowed for gRPC",
        );
        err(
            finding(|f| check_success_codes(F, "299-200", false, f)),
            "reversed",
        );
        for bad in [
            "",
            "200, 201",
            "2xx",
            "200-",
            "200-299,302",
            "200,,201",
            "1000",
        ] {
            err(
                finding(|f| check_success_codes(F, bad, false, f)),
                "are not one code",
            );
        }
    }

    #[test]
    fn healthcheck_path() {
        assert!(finding(|f| check_healthcheck_path(F, "/", f)).is_none());
        assert!(finding(|f| check_healthcheck_path(F, "/AWS.ALB/healthcheck", f)).is_none());
        err(
            finding(|f| check_healthcheck_path(F, "healthz", f)),
            "must start with '/'",
        );
        err(
            finding(|f| check_healthcheck_path(F, "/a b", f)),
            "whitespace",
        );
        err(
            finding(|f| check_healthcheck_path(F, &format!("/{}", "a".repeat(1024)), f)),
            "longer than 1024",
        );
    }

    #[test]
    fn healthcheck_port() {
        for ok in ["traffic-port", "8080", "1", "65535", "http", "metrics-port"] {
            assert!(
                finding(|f| check_healthcheck_port(F, ok, f)).is_none(),
                "{ok}"
            );
        }
        err(
            finding(|f| check_healthcheck_port(F, "0", f)),
            "port 0 is outside 1-65535",
        );
        err(
            finding(|f| check_healthcheck_port(F, "65536", f)),
            "outside 1-65535",
        );
        err(
            finding(|f| check_healthcheck_port(F, "Traffic-Port", f)),
            "neither traffic-port",
        );
        err(
            finding(|f| check_healthcheck_port(F, "", f)),
            "neither traffic-port",
        );
    }

    #[test]
    fn load_balancer_name() {
        assert!(finding(|f| check_load_balancer_name(F, "web-prod-1", f)).is_none());
        assert!(finding(|f| check_load_balancer_name(F, &"a".repeat(32), f)).is_none());
        err(
            finding(|f| check_load_balancer_name(F, &"a".repeat(33), f)),
            "load balancer name cannot be longer than 32 characters",
        );
        err(
            finding(|f| check_load_balancer_name(F, "web_prod", f)),
            "contains '_'",
        );
        err(
            finding(|f| check_load_balancer_name(F, "-web", f)),
            "hyphen",
        );
        err(
            finding(|f| check_load_balancer_name(F, "web-", f)),
            "hyphen",
        );
        err(
            finding(|f| check_load_balancer_name(F, "internal-web", f)),
            "must not begin with \"internal-\"",
        );
        err(finding(|f| check_load_balancer_name(F, "", f)), "empty");
    }

    #[test]
    fn host() {
        for ok in [
            "",
            "example.com",
            "a.b-c.example.com",
            "*.example.com",
            "localhost",
            "x1",
        ] {
            assert!(finding(|f| check_host(F, ok, f)).is_none(), "{ok}");
        }
        err(
            finding(|f| check_host(F, "10.0.0.1", f)),
            "must be a DNS name, not an IP address",
        );
        err(
            finding(|f| check_host(F, "::1", f)),
            "must be a DNS name, not an IP address",
        );
        for bad in [
            "*",
            "foo.*.com",
            "*.*.com",
            "**.com",
            "*example.com",
            "*.Example.com",
        ] {
            err(
                finding(|f| check_host(F, bad, f)),
                "a wildcard DNS-1123 subdomain must start with '*.'",
            );
        }
        let f = err(
            finding(|f| check_host(F, "Example.com", f)),
            "lowercase RFC 1123 subdomain",
        );
        assert!(f.fix.contains("'example.com'"));
        let f = err(
            finding(|f| check_host(F, "example.com:8080", f)),
            "lowercase RFC 1123 subdomain",
        );
        assert!(f.fix.contains("drop the port"));
        for bad in ["-a.com", "a-.com", "a..com", ".a.com", "a.com.", "a_b.com"] {
            err(
                finding(|f| check_host(F, bad, f)),
                "lowercase RFC 1123 subdomain",
            );
        }
        err(
            finding(|f| check_host(F, &format!("{}.com", "a.".repeat(126)), f)),
            "no more than 253",
        );
    }

    #[test]
    fn path_valid() {
        for (p, t) in [
            ("/", "Prefix"),
            ("/api", "Prefix"),
            ("/api/", "Exact"),
            ("/a.b/c", "Exact"),
            ("/*", "ImplementationSpecific"),
            ("", "ImplementationSpecific"),
        ] {
            assert!(
                Findings::of(|f| check_path(F, p, t, f)).is_empty(),
                "{p} {t}"
            );
        }
    }

    #[test]
    fn path_invalid() {
        let one = |p: &str, t: &str, needle: &str| {
            let v = Findings::of(|f| check_path(F, p, t, f));
            assert!(!v.is_empty(), "{p} {t}");
            err(v.into_iter().find(|f| f.problem.contains(needle)), needle);
        };
        one("/", "prefix", "Unsupported value: \"prefix\"");
        one("api", "Prefix", "must be an absolute path");
        one("", "Exact", "must be an absolute path");
        one("api", "ImplementationSpecific", "must be an absolute path");
        one("/a//b", "Prefix", "must not contain '//'");
        one("/a/./b", "Prefix", "must not contain '/./'");
        one("/a/../b", "Exact", "must not contain '/../'");
        one("/a%2fb", "Prefix", "must not contain '%2f'");
        one("/a%2Fb", "Prefix", "must not contain '%2F'");
        one("/a/..", "Prefix", "cannot end with '/..'");
        one("/a/.", "Prefix", "cannot end with '/.'");
        one(
            "/*",
            "Prefix",
            "prefix path shouldn't contain wildcards: /*",
        );
        one(
            "/a?",
            "Exact",
            "exact path shouldn't contain wildcards: /a?",
        );
        assert_eq!(
            Findings::of(|f| check_path(F, "/a/..", "Prefix", f)).len(),
            1
        );
    }

    #[test]
    fn node_port() {
        let r = DEFAULT_NODE_PORT_RANGE;
        for ok in [0, 30000, 30080, 32767] {
            assert!(finding(|f| check_node_port(F, ok, r, f)).is_none(), "{ok}");
        }
        err(
            finding(|f| check_node_port(F, 80, r, f)),
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
        );
        err(
            finding(|f| check_node_port(F, 32768, r, f)),
            "Invalid value: 32768",
        );
        err(
            finding(|f| check_node_port(F, 30000, (31000, 31999), f)),
            "31000-31999",
        );
    }

    #[test]
    fn port_name() {
        for ok in [
            "http",
            "https",
            "h2c",
            "metrics-9090",
            "a",
            "abcdefghijklmno",
        ] {
            assert!(finding(|f| check_port_name(F, ok, f)).is_none(), "{ok}");
        }
        for (bad, needle) in [
            ("", "empty"),
            ("abcdefghijklmnop", "no more than 15 characters"),
            ("HTTP", "only alpha-numeric characters"),
            ("my_port", "only alpha-numeric characters"),
            ("8080", "at least one letter"),
            ("a--b", "consecutive hyphens"),
            ("-http", "begin or end with a hyphen"),
            ("http-", "begin or end with a hyphen"),
        ] {
            err(finding(|f| check_port_name(F, bad, f)), needle);
        }
    }

    #[test]
    fn ports_named() {
        assert!(Findings::of(|f| check_ports_named("svc.ports", &[None], f)).is_empty());
        assert!(
            Findings::of(|f| check_ports_named("svc.ports", &[Some("http"), Some("https")], f))
                .is_empty()
        );
        let v = Findings::of(|f| {
            check_ports_named(
                "svc.ports",
                &[Some("http"), None, Some("http"), Some("")],
                f,
            )
        });
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].field, "svc.ports[1].name");
        assert!(v[0].problem.contains("Required value"));
        assert_eq!(v[1].field, "svc.ports[2].name");
        assert!(v[1].problem.contains("Duplicate value: \"http\""));
        assert_eq!(v[2].field, "svc.ports[3].name");
    }

    #[test]
    fn target_port() {
        assert!(finding(|f| check_target_port(F, PortRef::Number(8080), f)).is_none());
        assert!(finding(|f| check_target_port(F, PortRef::Name("http"), f)).is_none());
        err(
            finding(|f| check_target_port(F, PortRef::Number(0), f)),
            "must be between 1 and 65535, inclusive",
        );
        err(
            finding(|f| check_target_port(F, PortRef::Number(65536), f)),
            "Invalid value: 65536",
        );
        err(
            finding(|f| check_target_port(F, PortRef::Name("8080"), f)),
            "at least one letter",
        );
    }

    #[test]
    fn stringmap() {
        const K: &str = "alb.ingress.kubernetes.io/tags";
        for ok in [
            "",
            "a=b",
            "a=b,c=d",
            " a = b , c=d ",
            "a=",
            "a=b=c",
            "a=b,",
            "a=x\\,y,b=c",
        ] {
            assert!(
                finding(|f| check_stringmap(F, K, ok, f)).is_none(),
                "{ok:?}"
            );
        }
        err(
            finding(|f| check_stringmap(F, K, "key1=value1, invalid", f)),
            "failed to parse stringMap annotation, alb.ingress.kubernetes.io/tags: key1=value1, invalid",
        );
        err(
            finding(|f| check_stringmap(F, K, "=v", f)),
            "'=v' is not key=value",
        );
        err(
            finding(|f| check_stringmap(F, K, "a=b;c=d,e", f)),
            "'e' is not key=value",
        );
        err(
            finding(|f| check_stringmap(F, K, "a=x,y", f)),
            "'y' is not key=value",
        );
        // v3.5.0's splitKeyValuePairs: an escaped comma stays in the value.
        assert_eq!(
            parse_stringmap("a=x\\,y, b = c").unwrap(),
            vec![("a".into(), "x,y".into()), ("b".into(), "c".into())]
        );
        assert_eq!(
            parse_stringmap(&format!("k={}", escape_stringmap("a,b\\c"))).unwrap(),
            vec![("k".into(), "a,b\\c".into())]
        );
    }

    #[test]
    fn inbound_cidrs() {
        assert!(
            Findings::of(|f| check_inbound_cidrs(F, &["0.0.0.0/0", " 10.0.0.0/8", "::/0"], f))
                .is_empty()
        );
        let v = Findings::of(|f| check_inbound_cidrs(F, &["10.0.0.0/8", "10.0.0.1/24", "nope"], f));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].field, format!("{F}[1]"));
        assert!(!v[0].is_error());
        assert!(v[0].problem.contains("EC2 stores the rule as 10.0.0.0/24"));
        assert_eq!(v[1].field, format!("{F}[2]"));
        assert!(v[1].problem.contains("not a valid CIDR"));
    }

    #[test]
    fn subnets() {
        assert!(
            Findings::of(|f| check_subnets(F, &["subnet-0123abcd", "subnet-0123456789abcdef0"], f))
                .is_empty()
        );
        assert!(Findings::of(|f| check_subnets(F, &["public-a", " public-b "], f)).is_empty());
        let one = Findings::of(|f| check_subnets(F, &["subnet-0123abcd"], f))
            .into_iter()
            .next();
        // Both ways the controller discovers subnets when none are given.
        let fix = one.as_ref().map(|f| f.fix.clone()).unwrap_or_default();
        assert!(fix.contains("kubernetes.io/role/elb=1"), "{fix}");
        assert!(fix.contains("route to an internet gateway"), "{fix}");
        err(one, "subnets count less than minimal required count: 1 < 2");
        // A repeated Name tag is one subnet per AZ (v3.5.0), not a duplicate.
        let v = Findings::of(|f| check_subnets(F, &["subnet-xyz", "public-a", "public-a", ""], f));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].field, format!("{F}[0]"));
        assert!(v[0].problem.contains("looks it up as a subnet ID"));
        assert!(v[1].problem.contains("empty"));
        let v = Findings::of(|f| check_subnets(F, &["a", &"n".repeat(257)], f));
        assert!(v[0].problem.contains("longer than 256"));
    }

    #[test]
    fn a_subnet_name_may_be_listed_once_per_az() {
        assert!(Findings::of(|f| check_subnets(F, &["web", "web"], f)).is_empty());
        let v = Findings::of(|f| check_subnets(F, &["subnet-0123abcd", "subnet-0123abcd"], f));
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].problem.contains("listed twice"));
    }

    #[test]
    fn security_groups() {
        assert!(
            Findings::of(|f| check_security_groups(F, &["sg-0123abcd", "web-alb"], f)).is_empty()
        );
        let v = Findings::of(|f| {
            check_security_groups(
                F,
                &["sg-12", "sg-0123ABCD", "sg-0123abcd", "sg-0123abcd"],
                f,
            )
        });
        assert_eq!(v.len(), 3);
        assert!(v[0].problem.contains("looks it up as a security group ID"));
        assert!(v[1].problem.contains("8 or 17 hex digits"));
        assert!(v[2].problem.contains("listed twice"));
    }

    #[test]
    fn enums() {
        assert!(finding(|f| check_scheme(F, "internal", f)).is_none());
        assert!(finding(|f| check_scheme(F, "internet-facing", f)).is_none());
        let f = err(
            finding(|f| check_scheme(F, "public", f)),
            "unknown scheme: public",
        );
        assert!(f.fix.contains("internal, internet-facing"));

        assert!(finding(|f| check_target_type(F, "instance", f)).is_none());
        assert!(finding(|f| check_target_type(F, "ip", f)).is_none());
        let f = err(
            finding(|f| check_target_type(F, "IP", f)),
            "unknown targetType: IP",
        );
        assert!(f.fix.contains("write 'ip'"));
        // Passed or not: the network is judged only for a known type.
        assert!(check_target_type(F, "ip", &mut Findings::new()));
        assert!(!check_target_type(F, "IP", &mut Findings::new()));

        for ok in ["ipv4", "dualstack", "dualstack-without-public-ipv4"] {
            assert!(finding(|f| check_ip_address_type(F, ok, f)).is_none());
        }
        err(
            finding(|f| check_ip_address_type(F, "ipv6", f)),
            "unknown IPAddressType: ipv6",
        );

        assert!(finding(|f| check_backend_protocol(F, "HTTPS", f)).is_none());
        err(
            finding(|f| check_backend_protocol(F, "grpc", f)),
            "backend protocol must be within [HTTP, HTTPS]: grpc",
        );

        for ok in ["HTTP1", "HTTP2", "GRPC"] {
            assert!(finding(|f| check_backend_protocol_version(F, ok, f)).is_none());
        }
        err(
            finding(|f| check_backend_protocol_version(F, "HTTP3", f)),
            "backend protocol version must be within [HTTP1, HTTP2, GRPC]: HTTP3",
        );

        assert!(finding(|f| check_healthcheck_protocol(F, "HTTP", f)).is_none());
        let f = err(
            finding(|f| check_healthcheck_protocol(F, "https", f)),
            "healthCheckProtocol must be within [HTTP, HTTPS]",
        );
        assert!(f.fix.contains("'HTTPS'"));
    }
}
