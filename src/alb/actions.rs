//! `actions.<name>`, `conditions.<name>` and `transforms.<name>` annotations,
//! read as the AWS Load Balancer Controller v3.5.0 reads them (pkg/ingress/
//! enhanced_backend_builder.go: Build): Go's encoding/json into the types of
//! pkg/ingress/config_types.go, their validate() methods, then the merge of a
//! rule's host and path with the conditions (model_build_listener_rules.go:
//! buildRuleConditions). Values the controller passes to AWS unchecked are
//! held to the ELBv2 API's limits.
//!
//! The controller reports the first error of an annotation only, so each
//! annotation yields at most one controller finding.

use super::model::{ANNOTATION_PREFIX, IngressSpec, LBC_FAILS, PathType, go_field};
use crate::validate::Findings;
use serde_json::Value;
use std::collections::HashSet;

/// What happens when AWS refuses a value the controller passes through.
const AWS_REJECTS: &str = "The controller passes this to AWS unchecked; ELBv2 refuses the \
                           listener rule with a ValidationError (Ingress event \
                           FailedDeployModel), so the route is not created.";

// ------------------------------------------------------------ Go JSON types

/// The Go type a JSON value is decoded into.
enum Ty {
    Str,
    I32,
    Bool,
    StrList,
    /// k8s.io/apimachinery intstr.IntOrString: a string or an int32.
    IntOrStr,
    Obj(&'static [(&'static str, Ty)]),
    List(&'static Ty),
}

// config_types.go: Action and its configs (json tags).
const FIXED_RESPONSE: &[(&str, Ty)] = &[
    ("contentType", Ty::Str),
    ("messageBody", Ty::Str),
    ("statusCode", Ty::Str),
];
const REDIRECT: &[(&str, Ty)] = &[
    ("host", Ty::Str),
    ("path", Ty::Str),
    ("port", Ty::Str),
    ("protocol", Ty::Str),
    ("query", Ty::Str),
    ("statusCode", Ty::Str),
];
const TG_TUPLE: &[(&str, Ty)] = &[
    ("targetGroupARN", Ty::Str),
    ("targetGroupName", Ty::Str),
    ("serviceName", Ty::Str),
    ("servicePort", Ty::IntOrStr),
    ("weight", Ty::I32),
];
const STICKINESS: &[(&str, Ty)] = &[("enabled", Ty::Bool), ("durationSeconds", Ty::I32)];
const FORWARD: &[(&str, Ty)] = &[
    ("targetGroups", Ty::List(&Ty::Obj(TG_TUPLE))),
    ("targetGroupStickinessConfig", Ty::Obj(STICKINESS)),
];
const ACTION: &[(&str, Ty)] = &[
    ("type", Ty::Str),
    ("targetGroupARN", Ty::Str),
    ("targetGroupName", Ty::Str),
    ("fixedResponseConfig", Ty::Obj(FIXED_RESPONSE)),
    ("redirectConfig", Ty::Obj(REDIRECT)),
    ("forwardConfig", Ty::Obj(FORWARD)),
];

// config_types.go: RuleCondition and its configs.
const VALUES_OR_REGEX: &[(&str, Ty)] = &[("regexValues", Ty::StrList), ("values", Ty::StrList)];
const HTTP_HEADER: &[(&str, Ty)] = &[
    ("httpHeaderName", Ty::Str),
    ("regexValues", Ty::StrList),
    ("values", Ty::StrList),
];
const VALUES: &[(&str, Ty)] = &[("values", Ty::StrList)];
const QUERY_PAIR: &[(&str, Ty)] = &[("key", Ty::Str), ("value", Ty::Str)];
const QUERY_STRING: &[(&str, Ty)] = &[("values", Ty::List(&Ty::Obj(QUERY_PAIR)))];
const CONDITION: &[(&str, Ty)] = &[
    ("field", Ty::Str),
    ("hostHeaderConfig", Ty::Obj(VALUES_OR_REGEX)),
    ("httpHeaderConfig", Ty::Obj(HTTP_HEADER)),
    ("httpRequestMethodConfig", Ty::Obj(VALUES)),
    ("pathPatternConfig", Ty::Obj(VALUES_OR_REGEX)),
    ("queryStringConfig", Ty::Obj(QUERY_STRING)),
    ("sourceIPConfig", Ty::Obj(VALUES)),
];
const CONDITIONS: Ty = Ty::List(&Ty::Obj(CONDITION));

// config_types.go: Transform (transforms.<name>, parsed with the conditions).
const REWRITE: &[(&str, Ty)] = &[("regex", Ty::Str), ("replace", Ty::Str)];
const REWRITES: &[(&str, Ty)] = &[("rewrites", Ty::List(&Ty::Obj(REWRITE)))];
const TRANSFORM: &[(&str, Ty)] = &[
    ("type", Ty::Str),
    ("hostHeaderRewriteConfig", Ty::Obj(REWRITES)),
    ("urlRewriteConfig", Ty::Obj(REWRITES)),
];
const TRANSFORMS: Ty = Ty::List(&Ty::Obj(TRANSFORM));

/// Transform.Validate (config_types.go), first error only.
fn transform_problem(t: &Value) -> Option<String> {
    let (key, name) = match gstr(t, "type").unwrap_or("") {
        "host-header-rewrite" => ("hostHeaderRewriteConfig", "hostHeaderRewriteConfig"),
        "url-rewrite" => ("urlRewriteConfig", "urlRewriteConfig"),
        other => return Some(format!("unknown transform type: {other}")),
    };
    match go_field(t, key) {
        None => Some(format!("missing {name}")),
        Some(c) if garr(c, "rewrites").is_empty() => {
            Some(format!("{name}.rewrites cannot be empty"))
        }
        Some(_) => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_i32(v: &Value) -> bool {
    v.as_i64().is_some_and(|n| i32::try_from(n).is_ok())
}

/// Where json.Unmarshal would fail on `v` decoded into `ty`: the path and
/// what it needs. Unknown keys are ignored and null leaves the zero value,
/// as in Go.
fn type_problem(v: &Value, ty: &Ty, at: &str) -> Option<(String, String)> {
    let bad = |want: &str| Some((at.to_string(), format!("must be {want}, not {}", kind(v))));
    if v.is_null() {
        return None;
    }
    match ty {
        Ty::Str if !v.is_string() => bad("a string"),
        Ty::I32 if !is_i32(v) => bad("a whole number (int32)"),
        Ty::Bool if !v.is_boolean() => bad("true or false"),
        Ty::IntOrStr if !(v.is_string() || is_i32(v)) => bad("a port number or name"),
        Ty::StrList => match v.as_array() {
            None => bad("a list of strings"),
            Some(a) => a.iter().enumerate().find_map(|(i, x)| {
                (!x.is_string() && !x.is_null()).then(|| {
                    (
                        format!("{at}[{i}]"),
                        format!("must be a string, not {}", kind(x)),
                    )
                })
            }),
        },
        Ty::List(inner) => match v.as_array() {
            None => bad("a list"),
            Some(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, x)| type_problem(x, inner, &format!("{at}[{i}]"))),
        },
        Ty::Obj(fields) => match v.as_object() {
            None => bad("an object"),
            Some(_) => fields.iter().find_map(|(k, t)| {
                let sub = if at.is_empty() {
                    k.to_string()
                } else {
                    format!("{at}.{k}")
                };
                go_field(v, k).and_then(|x| type_problem(x, t, &sub))
            }),
        },
        _ => None,
    }
}

fn gstr<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    go_field(v, k).and_then(Value::as_str)
}

/// A Go `[]string`: absent, null and empty all mean no values.
fn glist<'a>(v: &'a Value, k: &str) -> Vec<&'a str> {
    go_field(v, k)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(|x| x.as_str().unwrap_or("")).collect())
        .unwrap_or_default()
}

fn garr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    go_field(v, k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Go's %v of a []string: `[a b]`.
fn go_list(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

/// Parses an annotation as ParseJSONAnnotation does, or says why it fails.
fn parse(key: &str, raw: &str, ty: &Ty) -> Result<Value, String> {
    let fail = |detail: String| {
        format!("failed to parse json annotation, {key}: {raw} ({detail}). {LBC_FAILS}")
    };
    let v: Value = serde_json::from_str(raw).map_err(|e| fail(e.to_string()))?;
    match type_problem(&v, ty, "") {
        Some((path, want)) if path.is_empty() => Err(fail(format!("the value {want}"))),
        Some((path, want)) => Err(fail(format!("{path} {want}"))),
        None => Ok(v),
    }
}

// ------------------------------------------------------------------ actions

/// Action.validate (config_types.go), first error only.
fn action_problem(a: &Value) -> Option<String> {
    let ty = gstr(a, "type").unwrap_or("");
    let tg_arn =
        go_field(a, "targetGroupARN").is_some() || go_field(a, "targetGroupName").is_some();
    match ty {
        "fixed-response" => match go_field(a, "fixedResponseConfig") {
            None => Some("missing FixedResponseConfig".into()),
            Some(c) if gstr(c, "statusCode").unwrap_or("").is_empty() => {
                Some("invalid FixedResponseConfig: statusCode is required".into())
            }
            Some(_) => None,
        },
        "redirect" => match go_field(a, "redirectConfig") {
            None => Some("missing RedirectConfig".into()),
            Some(c) if gstr(c, "statusCode").unwrap_or("").is_empty() => {
                Some("invalid RedirectConfig: statusCode is required".into())
            }
            Some(_) => None,
        },
        "forward" => {
            let fc = go_field(a, "forwardConfig");
            if !tg_arn && fc.is_none() {
                return Some("missing ForwardConfig or TargetGroupARN/TargetGroupName".into());
            }
            if tg_arn && fc.is_some() {
                return Some(
                    "either ForwardConfig or TargetGroupARN/TargetGroupName can be specified"
                        .into(),
                );
            }
            let tgs = fc.map(|c| garr(c, "targetGroups")).unwrap_or(&[]);
            // ForwardConfig.validate / TargetGroupTuple.validate.
            for t in tgs {
                let by_arn = go_field(t, "targetGroupARN").is_some()
                    || go_field(t, "targetGroupName").is_some();
                let svc = go_field(t, "serviceName").is_some();
                let why = if !by_arn && !svc {
                    "missing serviceName or targetGroupARN/targetGroupName"
                } else if by_arn && svc {
                    "either serviceName or targetGroupARN/targetGroupName can be specified"
                } else if svc && go_field(t, "servicePort").is_none() {
                    "missing servicePort"
                } else {
                    continue;
                };
                return Some(format!(
                    "invalid ForwardConfig: invalid TargetGroupTuple: {why}"
                ));
            }
            if tgs.len() > 1 && tgs.iter().any(|t| go_field(t, "weight").is_none()) {
                return Some(
                    "invalid ForwardConfig: weight must be set when route to multiple target \
                     groups"
                        .into(),
                );
            }
            None
        }
        other => Some(format!("unknown action type: {other}")),
    }
}

/// ELBv2's limits on what the controller copies into the rule unchecked
/// (CreateRule: FixedResponseActionConfig, RedirectActionConfig,
/// ForwardActionConfig). (sub-field, problem, fix).
fn action_aws_problems(a: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut push = |at: &str, what: String, fix: &str| {
        out.push((at.to_string(), what, fix.to_string()));
    };
    match gstr(a, "type").unwrap_or("") {
        "fixed-response" => {
            let c = go_field(a, "fixedResponseConfig").unwrap_or(&Value::Null);
            let code = gstr(c, "statusCode").unwrap_or("");
            let b = code.as_bytes();
            if !(b.len() == 3
                && matches!(b[0], b'2' | b'4' | b'5')
                && b.iter().all(u8::is_ascii_digit))
            {
                push(
                    ".fixedResponseConfig.statusCode",
                    format!(
                        "fixed-response statusCode '{code}' is not an HTTP code 2XX, 4XX or 5XX"
                    ),
                    "write the code as a string, e.g. \"statusCode\": \"503\".",
                );
            }
            if let Some(ct) = gstr(c, "contentType")
                && !matches!(
                    ct,
                    "text/plain"
                        | "text/css"
                        | "text/html"
                        | "application/javascript"
                        | "application/json"
                )
            {
                push(
                    ".fixedResponseConfig.contentType",
                    format!(
                        "fixed-response contentType '{ct}' is not one of text/plain, text/css, \
                         text/html, application/javascript, application/json"
                    ),
                    "use one of those content types, e.g. text/plain.",
                );
            }
            if let Some(body) = gstr(c, "messageBody")
                && body.len() > 1024
            {
                push(
                    ".fixedResponseConfig.messageBody",
                    format!(
                        "fixed-response messageBody has {} bytes; at most 1024 are allowed",
                        body.len()
                    ),
                    "shorten the message body to 1024 bytes.",
                );
            }
        }
        "redirect" => {
            let c = go_field(a, "redirectConfig").unwrap_or(&Value::Null);
            let code = gstr(c, "statusCode").unwrap_or("");
            if !matches!(code, "HTTP_301" | "HTTP_302") {
                push(
                    ".redirectConfig.statusCode",
                    format!("redirect statusCode '{code}' is neither HTTP_301 nor HTTP_302"),
                    "use \"HTTP_301\" (permanent) or \"HTTP_302\" (temporary).",
                );
            }
            if let Some(p) = gstr(c, "protocol")
                && !matches!(p, "HTTP" | "HTTPS" | "#{protocol}")
            {
                push(
                    ".redirectConfig.protocol",
                    format!("redirect protocol '{p}' is not HTTP, HTTPS or #{{protocol}}"),
                    "use \"HTTPS\" (upper case), \"HTTP\" or \"#{protocol}\".",
                );
            }
            if let Some(p) = gstr(c, "port")
                && p != "#{port}"
                && !p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n))
            {
                push(
                    ".redirectConfig.port",
                    format!("redirect port '{p}' is not a port 1-65535 or #{{port}}"),
                    "write the port as a string, e.g. \"port\": \"443\".",
                );
            }
            if let Some(p) = gstr(c, "path")
                && !p.starts_with('/')
            {
                push(
                    ".redirectConfig.path",
                    format!("redirect path '{p}' is not absolute"),
                    "start the path with '/', e.g. \"/#{path}\".",
                );
            }
            for k in ["host", "path", "query"] {
                if let Some(s) = gstr(c, k)
                    && s.len() > 128
                {
                    push(
                        &format!(".redirectConfig.{k}"),
                        format!(
                            "redirect {k} has {} characters; at most 128 are allowed",
                            s.len()
                        ),
                        "shorten it to 128 characters.",
                    );
                }
            }
            // "You must modify at least one of the following components to
            // avoid a redirect loop" (ELBv2 listener rules, redirect actions).
            let kept = |k: &str, same: &str| gstr(c, k).is_none_or(|s| s.is_empty() || s == same);
            if kept("host", "#{host}")
                && kept("path", "/#{path}")
                && kept("port", "#{port}")
                && kept("protocol", "#{protocol}")
                && kept("query", "#{query}")
            {
                push(
                    ".redirectConfig",
                    "the redirect changes none of host, path, port, protocol and query, so it \
                     would redirect to itself in a loop"
                        .into(),
                    "change at least one component, e.g. \"protocol\": \"HTTPS\", \"port\": \"443\".",
                );
            }
        }
        "forward" => {
            let tgs = go_field(a, "forwardConfig")
                .map(|c| garr(c, "targetGroups"))
                .unwrap_or(&[]);
            if tgs.len() > 5 {
                push(
                    ".forwardConfig.targetGroups",
                    format!(
                        "a forward action lists {} target groups; at most 5 are allowed",
                        tgs.len()
                    ),
                    "split the traffic over at most 5 target groups.",
                );
            }
            for (i, t) in tgs.iter().enumerate() {
                if let Some(w) = go_field(t, "weight").and_then(Value::as_i64)
                    && !(0..=999).contains(&w)
                {
                    push(
                        &format!(".forwardConfig.targetGroups[{i}].weight"),
                        format!("weight {w} is outside 0-999"),
                        "use weights between 0 and 999.",
                    );
                }
                if let Some(arn) = gstr(t, "targetGroupARN")
                    && !is_target_group_arn(arn)
                {
                    push(
                        &format!(".forwardConfig.targetGroups[{i}].targetGroupARN"),
                        format!("'{arn}' is not a target group ARN"),
                        "copy the ARN from `aws elbv2 describe-target-groups` \
                         (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>).",
                    );
                }
            }
            if let Some(arn) = gstr(a, "targetGroupARN")
                && !is_target_group_arn(arn)
            {
                push(
                    ".targetGroupARN",
                    format!("'{arn}' is not a target group ARN"),
                    "copy the ARN from `aws elbv2 describe-target-groups` \
                     (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>).",
                );
            }
            let sticky = go_field(a, "forwardConfig")
                .and_then(|c| go_field(c, "targetGroupStickinessConfig"));
            if let Some(d) = sticky
                .and_then(|s| go_field(s, "durationSeconds"))
                .and_then(Value::as_i64)
                && !(1..=604_800).contains(&d)
            {
                push(
                    ".forwardConfig.targetGroupStickinessConfig.durationSeconds",
                    format!("stickiness duration {d} s is outside 1-604800 (7 days)"),
                    "use a duration between 1 and 604800 seconds.",
                );
            }
        }
        _ => {}
    }
    out
}

fn is_target_group_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "elasticloadbalancing"
        && parts[5]
            .strip_prefix("targetgroup/")
            .is_some_and(|r| r.split('/').filter(|s| !s.is_empty()).count() == 2)
}

// --------------------------------------------------------------- conditions

const FIELDS: &[&str] = &[
    "host-header",
    "http-header",
    "http-request-method",
    "path-pattern",
    "query-string",
    "source-ip",
];

/// RuleCondition.Validate (config_types.go), first error only. None for a
/// field the controller does not know: it skips those (checked apart).
fn condition_problem(c: &Value) -> Option<String> {
    let field = gstr(c, "field").unwrap_or("");
    let (key, name) = match field {
        "host-header" => ("hostHeaderConfig", "hostHeaderConfig"),
        "path-pattern" => ("pathPatternConfig", "pathPatternConfig"),
        "http-header" => ("httpHeaderConfig", "httpHeaderConfig"),
        "http-request-method" => ("httpRequestMethodConfig", "httpRequestMethodConfig"),
        "query-string" => ("queryStringConfig", "queryStringConfig"),
        "source-ip" => ("sourceIPConfig", "sourceIPConfig"),
        _ => return None,
    };
    let Some(cfg) = go_field(c, key) else {
        return Some(format!("missing {name}"));
    };
    let why = match field {
        "host-header" | "path-pattern" | "http-header" => {
            let (v, r) = (glist(cfg, "values"), glist(cfg, "regexValues"));
            if v.is_empty() && r.is_empty() {
                "values or regexValues must be specified"
            } else if !v.is_empty() && !r.is_empty() {
                "precisely one of values and regexValues can be specified"
            } else {
                return None;
            }
        }
        "query-string" => {
            let vals = garr(cfg, "values");
            if vals.is_empty() {
                "Values cannot be empty"
            } else if vals
                .iter()
                .any(|p| gstr(p, "value").unwrap_or("").is_empty())
            {
                "value cannot be empty"
            } else {
                return None;
            }
        }
        _ if glist(cfg, "values").is_empty() => "values cannot be empty",
        _ => return None,
    };
    Some(format!("invalid {name}: {why}"))
}

/// ELBv2's limits on condition values the controller passes through.
fn condition_aws_problems(c: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    match gstr(c, "field").unwrap_or("") {
        "source-ip" => {
            let cfg = go_field(c, "sourceIPConfig").unwrap_or(&Value::Null);
            for (i, v) in glist(cfg, "values").iter().enumerate() {
                if v.parse::<ipnet::IpNet>().is_err() {
                    out.push((
                        format!(".sourceIPConfig.values[{i}]"),
                        format!("source-ip value '{v}' is not a CIDR"),
                        "write each source as a CIDR, e.g. 192.0.2.0/24 or 203.0.113.7/32.".into(),
                    ));
                }
            }
        }
        "http-request-method" => {
            let cfg = go_field(c, "httpRequestMethodConfig").unwrap_or(&Value::Null);
            for (i, v) in glist(cfg, "values").iter().enumerate() {
                let ok = !v.is_empty()
                    && v.len() <= 40
                    && v.bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_');
                if !ok {
                    out.push((
                        format!(".httpRequestMethodConfig.values[{i}]"),
                        format!(
                            "request method '{v}' must be upper case letters, '-' or '_' \
                             (at most 40); the ALB matches methods case-sensitively"
                        ),
                        "write the method in upper case, e.g. GET or POST.".into(),
                    ));
                }
            }
        }
        _ => {}
    }
    out
}

/// ELBv2 path patterns for a rule path, as buildPathPatterns makes them:
/// (values, regexValues).
fn path_patterns(path: &str, path_type: PathType, regex_match: bool) -> (Vec<String>, Vec<String>) {
    if path.is_empty() {
        return (vec![], vec![]);
    }
    match path_type {
        PathType::Prefix if path == "/" => (vec!["/*".into()], vec![]),
        PathType::Prefix => {
            let p = path.strip_suffix('/').unwrap_or(path);
            (vec![p.to_string(), format!("{p}/*")], vec![])
        }
        PathType::Exact => (vec![path.to_string()], vec![]),
        // ImplementationSpecific: a regex without its leading '/' when
        // use-regex-path-match is true.
        _ if regex_match => (vec![], vec![path[1..].to_string()]),
        _ => (vec![path.to_string()], vec![]),
    }
}

// -------------------------------------------------------------------- check

/// Every `actions.*` and `conditions.*` annotation of `app`.
pub fn check(app: &IngressSpec, f: &mut Findings) {
    let action_prefix = format!("{ANNOTATION_PREFIX}actions.");
    let cond_prefix = format!("{ANNOTATION_PREFIX}conditions.");
    let all: Vec<_> = app.backends().collect();

    // Actions: read for use-annotation backends (buildActionViaAnnotation).
    let mut needed = HashSet::new();
    for b in all.iter().filter(|b| b.is_action()) {
        if !needed.insert(b.service.as_str()) {
            continue;
        }
        let key = format!("{action_prefix}{}", b.service);
        let Some(a) = app.annotation(&format!("actions.{}", b.service)) else {
            f.error(
                &b.port_field,
                format!(
                    "the backend is use-annotation but there is no annotation {key}. The \
                     controller then answers the route with a fixed 503 \"Backend action does \
                     not exist\" (--tolerate-non-existent-backend-action, default true), or, \
                     with that flag false, fails to build the Ingress group (missing {key} \
                     configuration)."
                ),
                format!(
                    "add annotations[\"{key}\"] with the action's JSON, or point the backend at \
                     a Service port."
                ),
            );
            continue;
        };
        let v = match parse(&a.key, &a.value, &Ty::Obj(ACTION)) {
            Ok(v) => v,
            Err(problem) => {
                f.error(
                    &a.field,
                    problem,
                    "write the action as a JSON object with the controller's keys, e.g. \
                     {\"type\": \"fixed-response\", \"fixedResponseConfig\": {\"statusCode\": \
                     \"404\"}} (numbers such as statusCode and port are strings).",
                );
                continue;
            }
        };
        if let Some(why) = action_problem(&v) {
            f.error(
                &a.field,
                format!("{why} ({}). {LBC_FAILS}", a.key),
                "give type fixed-response with fixedResponseConfig.statusCode, redirect with \
                 redirectConfig.statusCode, or forward with forwardConfig.targetGroups (each \
                 serviceName and servicePort, or targetGroupARN; weights when more than one).",
            );
            continue;
        }
        for (sub, what, fix) in action_aws_problems(&v) {
            f.error(
                format!("{}{sub}", a.field),
                format!("{what}. {AWS_REJECTS}"),
                fix,
            );
        }
    }
    for a in app
        .annotations
        .iter()
        .filter(|a| a.key.starts_with(&action_prefix))
    {
        let name = &a.key[action_prefix.len()..];
        if !needed.contains(name) {
            f.warning(
                &a.field,
                format!(
                    "no backend of this Ingress has service name {name} with port \
                     use-annotation, so the controller never reads this action."
                ),
                format!(
                    "set service_name: {name} and service_port: use-annotation on the path that \
                     should take this action, or drop the annotation."
                ),
            );
        }
    }

    // Conditions: parsed and validated for every backend (buildConditions),
    // merged with the rule's host and path for rule backends.
    let regex_match = app
        .annotation("use-regex-path-match")
        .is_some_and(|a| matches!(a.value.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"));
    let mut parsed: Vec<(&str, Value)> = Vec::new();
    for a in app
        .annotations
        .iter()
        .filter(|a| a.key.starts_with(&cond_prefix))
    {
        let name = &a.key[cond_prefix.len()..];
        if !all.iter().any(|b| b.service == name) {
            f.warning(
                &a.field,
                format!(
                    "no backend of this Ingress has service name {name}, so the controller never \
                     reads these conditions and the rule they were meant for matches without them."
                ),
                format!("name the backend service_name {name}, or drop the annotation."),
            );
            continue;
        }
        let webhook = format!(
            "With the controller's webhook installed the API server refuses the Ingress \
             (\"ignoring Ingress {}/{} since invalid {} annotation\"); without it the controller \
             fails to build the Ingress group (event FailedBuildModel), so the ALB is neither \
             created nor updated.",
            app.namespace, app.name, a.key
        );
        let v = match parse(&a.key, &a.value, &CONDITIONS) {
            Ok(v) => v,
            Err(problem) => {
                f.error(
                    &a.field,
                    problem,
                    "write a JSON list of conditions, e.g. [{\"field\": \"http-header\", \
                     \"httpHeaderConfig\": {\"httpHeaderName\": \"X-Env\", \"values\": [\"prod\"]}}].",
                );
                continue;
            }
        };
        let conds = v.as_array().map(Vec::as_slice).unwrap_or(&[]);
        let mut ok = true;
        for (i, c) in conds.iter().enumerate() {
            let at = format!("{}[{i}]", a.field);
            if let Some(why) = condition_problem(c) {
                f.error(
                    &at,
                    format!("{why}. {webhook}"),
                    "give the config that matches field (e.g. host-header → hostHeaderConfig) \
                     with either values or regexValues, not both; query-string values need a \
                     non-empty value.",
                );
                ok = false;
                break;
            }
            let field = gstr(c, "field").unwrap_or("");
            if !FIELDS.contains(&field) {
                f.error(
                    &at,
                    format!(
                        "condition field '{field}' is not one of {}: the controller skips the \
                         condition without a word, so the rule matches requests it was meant to \
                         exclude.",
                        FIELDS.join(", ")
                    ),
                    "use one of those field names (lower case).",
                );
                continue;
            }
            for (sub, what, fix) in condition_aws_problems(c) {
                f.error(format!("{at}{sub}"), format!("{what}. {AWS_REJECTS}"), fix);
            }
        }
        if ok {
            parsed.push((name, v));
        }
    }

    // Transforms: parsed and validated for every backend (buildTransforms).
    let transform_prefix = format!("{ANNOTATION_PREFIX}transforms.");
    for a in app
        .annotations
        .iter()
        .filter(|a| a.key.starts_with(&transform_prefix))
    {
        let name = &a.key[transform_prefix.len()..];
        if !all.iter().any(|b| b.service == name) {
            f.warning(
                &a.field,
                format!(
                    "no backend of this Ingress has service name {name}, so the controller never \
                     reads these transforms."
                ),
                format!("name the backend service_name {name}, or drop the annotation."),
            );
            continue;
        }
        let fix = "write a JSON list of transforms, e.g. [{\"type\": \"url-rewrite\", \
                   \"urlRewriteConfig\": {\"rewrites\": [{\"regex\": \"^/api/(.*)$\", \
                   \"replace\": \"/$1\"}]}}].";
        match parse(&a.key, &a.value, &TRANSFORMS) {
            Err(problem) => f.error(&a.field, problem, fix),
            Ok(v) => {
                let ts = v.as_array().map(Vec::as_slice).unwrap_or(&[]);
                if let Some((i, why)) = ts
                    .iter()
                    .enumerate()
                    .find_map(|(i, t)| transform_problem(t).map(|w| (i, w)))
                {
                    f.error(
                        format!("{}[{i}]", a.field),
                        format!("{why}. {LBC_FAILS}"),
                        fix,
                    );
                }
            }
        }
    }

    // The merge with each rule's host and path (buildRuleConditions).
    let mut reported = HashSet::new();
    for r in &app.rules {
        for p in &r.paths {
            let Some((_, v)) = parsed.iter().find(|(n, _)| *n == p.backend.service) else {
                continue;
            };
            let Some(a) = app.annotation(&format!("conditions.{}", p.backend.service)) else {
                continue;
            };
            let conds = v.as_array().map(Vec::as_slice).unwrap_or(&[]);
            let (mut hv, mut hr): (Vec<String>, Vec<String>) =
                (r.host.iter().cloned().collect(), vec![]);
            let (mut pv, mut pr) = path_patterns(&p.path, p.path_type, regex_match);
            let (rule_hosts, rule_paths) = (hv.len(), pv.len() + pr.len());
            for c in conds {
                let (cfg_key, vals, regex) = match gstr(c, "field") {
                    Some("host-header") => ("hostHeaderConfig", &mut hv, &mut hr),
                    Some("path-pattern") => ("pathPatternConfig", &mut pv, &mut pr),
                    _ => continue,
                };
                let cfg = go_field(c, cfg_key).unwrap_or(&Value::Null);
                vals.extend(glist(cfg, "values").into_iter().map(str::to_string));
                regex.extend(glist(cfg, "regexValues").into_iter().map(str::to_string));
            }
            for (what, v, rx, from_rule, fix) in [
                (
                    "host",
                    &hv,
                    &hr,
                    rule_hosts,
                    "drop the rule's host and match hosts only in the condition, or use values \
                     (wildcards * and ?) instead of regexValues.",
                ),
                (
                    "path",
                    &pv,
                    &pr,
                    rule_paths,
                    "use pathType ImplementationSpecific with use-regex-path-match: true for a \
                     regex path, or values (wildcards * and ?) instead of regexValues.",
                ),
            ] {
                if !v.is_empty() && !rx.is_empty() {
                    if reported.insert((a.field.clone(), what)) {
                        f.error(
                            &a.field,
                            format!(
                                "{what} condition must specify exactly one of Values and \
                                 RegexValues, got both Values {} and RegexValues {} (the rule's \
                                 {what} counts as a value). {LBC_FAILS}",
                                go_list(v),
                                go_list(rx)
                            ),
                            fix,
                        );
                    }
                } else if from_rule > 0
                    && v.len() + rx.len() > from_rule
                    && reported.insert((a.field.clone(), "widen"))
                {
                    f.warning(
                        &a.field,
                        format!(
                            "the {what} values of this condition join the rule's own {what} in \
                             one condition ({}), and the ALB matches any one of them: the \
                             condition widens the rule instead of narrowing it.",
                            go_list(if v.is_empty() { rx } else { v })
                        ),
                        format!(
                            "to match only some {what}s, give them as the rule's {what} (one \
                             rule each) instead of a condition."
                        ),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
