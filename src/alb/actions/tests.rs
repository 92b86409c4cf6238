use crate::modules::alb_ingress;
use crate::validate::{Findings, Severity};
use serde_json::{Value, json};

fn findings_of(args: Value) -> Findings {
    let env = |_: &str| None;
    let p = crate::protocol::spec::validate(
        "t",
        alb_ingress::MODULE.options,
        &alb_ingress::MODULE.constraints,
        args.as_object().unwrap(),
        &env,
    )
    .unwrap_or_else(|e| panic!("spec: {e:?}"));
    alb_ingress::plan(&p).1
}

/// The seed's app with `annotations` and the paths given.
fn app(annotations: Value, paths: Value) -> Findings {
    findings_of(json!({"ingresses": [{
        "name": "app-ingress", "scheme": "internet-facing",
        "annotations": annotations,
        "rules": [{"host": "example.com", "paths": paths}],
        "services": [{"name": "app-service", "selector": {"app": "myapp"}, "port": 80, "target_port": 8080}],
    }]}))
}

const A: &str = "alb.ingress.kubernetes.io/actions.";
const C: &str = "alb.ingress.kubernetes.io/conditions.";

/// A use-annotation path `/x` to action `name`, then the Service at `/`.
fn action(name: &str, json_text: &str) -> Findings {
    app(
        json!({format!("{A}{name}"): json_text}),
        json!([
            {"path": "/x", "service_name": name, "service_port": "use-annotation"},
            {"path": "/", "service_name": "app-service", "service_port": 80}]),
    )
}

/// Conditions on the Service's own path `/`.
fn conditions(json_text: &str) -> Findings {
    app(
        json!({format!("{C}app-service"): json_text}),
        json!([{"path": "/", "service_name": "app-service", "service_port": 80}]),
    )
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
fn warning(f: &Findings, field: &str, needle: &str) {
    assert!(
        f.0.iter().any(|x| x.severity == Severity::Warning
            && x.field.contains(field)
            && x.problem.contains(needle)),
        "no warning at {field} containing {needle:?} in {:#?}",
        f.0
    );
}

#[track_caller]
fn clean(f: &Findings) {
    assert!(!f.has_errors(), "unexpected errors: {:#?}", f.0);
}

#[track_caller]
fn no_warning(f: &Findings, needle: &str) {
    assert!(
        f.0.iter().all(|x| !x.problem.contains(needle)),
        "{needle:?} in {:#?}",
        f.0
    );
}

// ------------------------------------------------------------------ actions

#[test]
fn valid_actions_pass() {
    for a in [
        r#"{"type":"fixed-response","fixedResponseConfig":{"contentType":"text/plain","statusCode":"503","messageBody":"down"}}"#,
        r#"{"type":"redirect","redirectConfig":{"protocol":"HTTPS","port":"443","statusCode":"HTTP_301"}}"#,
        r#"{"type":"redirect","redirectConfig":{"host":"new.example.com","statusCode":"HTTP_302"}}"#,
        r#"{"type":"redirect","redirectConfig":{"query":"a=1&#{query}","statusCode":"HTTP_302"}}"#,
        r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"app-service","servicePort":"80"}]}}"#,
        r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"app-service","servicePort":80,"weight":20},{"targetGroupARN":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789abcdef","weight":80}],"targetGroupStickinessConfig":{"enabled":true,"durationSeconds":200}}}"#,
        r#"{"type":"forward","targetGroupARN":"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789abcdef"}"#,
        r#"{"type":"forward","targetGroupName":"blue"}"#,
        // Go's encoding/json matches keys case-insensitively.
        r#"{"Type":"redirect","RedirectConfig":{"Protocol":"HTTPS","StatusCode":"HTTP_301"}}"#,
    ] {
        let f = action("act", a);
        clean(&f);
        no_warning(&f, "never reads");
    }
}

#[test]
fn action_json_must_decode_into_the_controllers_types() {
    error(
        &action("act", "{\"type\": \"redirect\""),
        "actions.act",
        "failed to parse json annotation, alb.ingress.kubernetes.io/actions.act:",
    );
    error(
        &action("act", "[]"),
        "actions.act",
        "failed to parse json annotation",
    );
    // statusCode is a Go string: a number fails the whole decode.
    error(
        &action(
            "act",
            r#"{"type":"fixed-response","fixedResponseConfig":{"statusCode":503}}"#,
        ),
        "actions.act",
        "fixedResponseConfig.statusCode must be a string, not number",
    );
    error(
        &action(
            "act",
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"app-service","servicePort":80,"weight":"5"},{"serviceName":"app-service","servicePort":80,"weight":5}]}}"#,
        ),
        "actions.act",
        "targetGroups[0].weight must be a whole number",
    );
    error(
        &action(
            "act",
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"app-service","servicePort":80}],"targetGroupStickinessConfig":{"enabled":"yes"}}}"#,
        ),
        "actions.act",
        "targetGroupStickinessConfig.enabled must be true or false",
    );
}

#[test]
fn action_validate_errors_are_the_controllers() {
    let cases = [
        (r#"{"type":"forwards"}"#, "unknown action type: forwards"),
        (r#"{}"#, "unknown action type: "),
        (
            r#"{"type":"fixed-response"}"#,
            "missing FixedResponseConfig",
        ),
        (
            r#"{"type":"fixed-response","fixedResponseConfig":{"contentType":"text/plain"}}"#,
            "invalid FixedResponseConfig: statusCode is required",
        ),
        (r#"{"type":"redirect"}"#, "missing RedirectConfig"),
        (
            r#"{"type":"redirect","redirectConfig":{"protocol":"HTTPS"}}"#,
            "invalid RedirectConfig: statusCode is required",
        ),
        (
            r#"{"type":"forward"}"#,
            "missing ForwardConfig or TargetGroupARN/TargetGroupName",
        ),
        (
            r#"{"type":"forward","targetGroupName":"blue","forwardConfig":{"targetGroups":[]}}"#,
            "either ForwardConfig or TargetGroupARN/TargetGroupName can be specified",
        ),
        (
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"weight":1}]}}"#,
            "invalid ForwardConfig: invalid TargetGroupTuple: missing serviceName or targetGroupARN/targetGroupName",
        ),
        (
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"app-service","servicePort":80,"targetGroupName":"blue"}]}}"#,
            "invalid TargetGroupTuple: either serviceName or targetGroupARN/targetGroupName can be specified",
        ),
        (
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"app-service"}]}}"#,
            "invalid TargetGroupTuple: missing servicePort",
        ),
        (
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"app-service","servicePort":80,"weight":1},{"targetGroupName":"blue"}]}}"#,
            "invalid ForwardConfig: weight must be set when route to multiple target groups",
        ),
    ];
    for (a, want) in cases {
        let f = action("act", a);
        error(&f, "actions.act", want);
        error(&f, "actions.act", "FailedBuildModel");
        assert_eq!(f.errors().count(), 1, "{a}: {:#?}", f.0);
    }
}

#[test]
fn action_values_are_held_to_the_aws_limits() {
    let cases = [
        (
            r#"{"type":"fixed-response","fixedResponseConfig":{"statusCode":"302"}}"#,
            "fixedResponseConfig.statusCode",
            "not an HTTP code 2XX, 4XX or 5XX",
        ),
        (
            r#"{"type":"fixed-response","fixedResponseConfig":{"statusCode":"200","contentType":"text/json"}}"#,
            "fixedResponseConfig.contentType",
            "contentType 'text/json' is not one of",
        ),
        (
            r#"{"type":"redirect","redirectConfig":{"protocol":"HTTPS","statusCode":"301"}}"#,
            "redirectConfig.statusCode",
            "neither HTTP_301 nor HTTP_302",
        ),
        (
            r#"{"type":"redirect","redirectConfig":{"protocol":"https","statusCode":"HTTP_301"}}"#,
            "redirectConfig.protocol",
            "redirect protocol 'https' is not HTTP, HTTPS",
        ),
        (
            r#"{"type":"redirect","redirectConfig":{"port":"0","protocol":"HTTPS","statusCode":"HTTP_301"}}"#,
            "redirectConfig.port",
            "redirect port '0'",
        ),
        (
            r#"{"type":"redirect","redirectConfig":{"path":"new","statusCode":"HTTP_301"}}"#,
            "redirectConfig.path",
            "is not absolute",
        ),
        (
            r##"{"type":"redirect","redirectConfig":{"host":"#{host}","port":"#{port}","statusCode":"HTTP_301"}}"##,
            "redirectConfig",
            "changes none of host, path, port, protocol and query",
        ),
        (
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"app-service","servicePort":80,"weight":1000},{"targetGroupName":"b","weight":1}]}}"#,
            "targetGroups[0].weight",
            "weight 1000 is outside 0-999",
        ),
        (
            r#"{"type":"forward","targetGroupARN":"blue"}"#,
            "targetGroupARN",
            "'blue' is not a target group ARN",
        ),
        (
            r#"{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"app-service","servicePort":80}],"targetGroupStickinessConfig":{"enabled":true,"durationSeconds":0}}}"#,
            "durationSeconds",
            "stickiness duration 0 s is outside 1-604800",
        ),
    ];
    for (a, field, want) in cases {
        let f = action("act", a);
        error(&f, field, want);
        error(&f, field, "ELBv2 refuses the listener rule");
    }
    let six: Vec<Value> = (0..6)
        .map(|i| json!({"targetGroupName": format!("t{i}"), "weight": 1}))
        .collect();
    let a = json!({"type": "forward", "forwardConfig": {"targetGroups": six}}).to_string();
    error(&action("act", &a), "targetGroups", "lists 6 target groups");
}

#[test]
fn use_annotation_needs_its_action_and_unused_actions_are_named() {
    let f = app(
        json!({}),
        json!([{"path": "/", "service_name": "gone", "service_port": "use-annotation"}]),
    );
    error(
        &f,
        "paths[0].service_port",
        "no annotation alb.ingress.kubernetes.io/actions.gone",
    );
    error(&f, "paths[0].service_port", "Backend action does not exist");
    // An action no use-annotation backend names is never read.
    let f = app(
        json!({format!("{A}typo"): r#"{"type":"fixed-response","fixedResponseConfig":{"statusCode":"404"}}"#}),
        json!([{"path": "/", "service_name": "app-service", "service_port": 80}]),
    );
    clean(&f);
    warning(&f, "actions.typo", "the controller never reads this action");
}

// --------------------------------------------------------------- conditions

#[test]
fn valid_conditions_pass() {
    for c in [
        r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Env","values":["prod"]}}]"#,
        r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Env","regexValues":["^p.*"]}}]"#,
        r#"[{"field":"http-request-method","httpRequestMethodConfig":{"values":["GET","HEAD"]}}]"#,
        r#"[{"field":"query-string","queryStringConfig":{"values":[{"key":"v","value":"2"},{"value":"beta"}]}}]"#,
        r#"[{"field":"source-ip","sourceIPConfig":{"values":["192.0.2.0/24","2001:db8::/32"]}}]"#,
        r#"[{"field":"host-header","hostHeaderConfig":{"values":["example.com"]}}]"#,
        r#"[{"Field":"source-ip","SourceIPConfig":{"Values":["10.0.0.0/8"]}}]"#,
        "null",
        "[]",
    ] {
        let f = conditions(c);
        clean(&f);
        no_warning(&f, "never");
    }
    // A path-pattern regex on a rule without a path: no value to clash with.
    let f = findings_of(json!({"ingresses": [{"name": "app-ingress",
        "annotations": {format!("{C}app-service"):
            r#"[{"field":"path-pattern","pathPatternConfig":{"regexValues":["^/api/v[0-9]+"]}}]"#},
        "rules": [{"paths": [{"path": "", "path_type": "ImplementationSpecific",
            "service_name": "app-service", "service_port": 80}]}],
        "services": [{"name": "app-service", "selector": {"app": "myapp"}, "port": 80, "target_port": 8080}]}]}));
    clean(&f);
}

#[test]
fn condition_json_and_validate_errors_are_the_controllers() {
    error(
        &conditions(r#"{"field":"source-ip"}"#),
        "conditions.app-service",
        "failed to parse json annotation, alb.ingress.kubernetes.io/conditions.app-service:",
    );
    error(
        &conditions(r#"[{"field":"source-ip","sourceIPConfig":{"values":"10.0.0.0/8"}}]"#),
        "conditions.app-service",
        "[0].sourceIPConfig.values must be a list of strings",
    );
    let cases = [
        (r#"[{"field":"host-header"}]"#, "missing hostHeaderConfig"),
        (
            r#"[{"field":"host-header","hostHeaderConfig":{}}]"#,
            "invalid hostHeaderConfig: values or regexValues must be specified",
        ),
        (
            r#"[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X","values":["a"],"regexValues":["b"]}}]"#,
            "invalid httpHeaderConfig: precisely one of values and regexValues can be specified",
        ),
        (
            r#"[{"field":"path-pattern","pathPatternConfig":{"values":["/a"],"regexValues":["b"]}}]"#,
            "invalid pathPatternConfig: precisely one of values and regexValues can be specified",
        ),
        (
            r#"[{"field":"http-request-method","httpRequestMethodConfig":{"values":[]}}]"#,
            "invalid httpRequestMethodConfig: values cannot be empty",
        ),
        (
            r#"[{"field":"query-string","queryStringConfig":{"values":[]}}]"#,
            "invalid queryStringConfig: Values cannot be empty",
        ),
        (
            r#"[{"field":"query-string","queryStringConfig":{"values":[{"key":"v"}]}}]"#,
            "invalid queryStringConfig: value cannot be empty",
        ),
        (r#"[{"field":"source-ip"}]"#, "missing sourceIPConfig"),
        (
            r#"[{"field":"source-ip","sourceIPConfig":{"values":[]}}]"#,
            "invalid sourceIPConfig: values cannot be empty",
        ),
    ];
    for (c, want) in cases {
        let f = conditions(c);
        error(&f, "conditions.app-service\"][0]", want);
        error(
            &f,
            "conditions.app-service",
            "ignoring Ingress default/app-ingress since invalid alb.ingress.kubernetes.io/conditions.app-service annotation",
        );
    }
}

#[test]
fn unknown_condition_fields_and_aws_limits() {
    error(
        &conditions(r#"[{"field":"Host-Header","hostHeaderConfig":{"values":["a"]}}]"#),
        "conditions.app-service\"][0]",
        "condition field 'Host-Header' is not one of host-header",
    );
    error(
        &conditions(r#"[{"field":"source-ip","sourceIPConfig":{"values":["10.0.0.1/33"]}}]"#),
        "sourceIPConfig.values[0]",
        "source-ip value '10.0.0.1/33' is not a CIDR",
    );
    error(
        &conditions(
            r#"[{"field":"http-request-method","httpRequestMethodConfig":{"values":["get"]}}]"#,
        ),
        "httpRequestMethodConfig.values[0]",
        "request method 'get' must be upper case",
    );
    // Conditions for a service name no backend has are never read.
    let f = app(
        json!({format!("{C}other"): r#"[{"field":"source-ip","sourceIPConfig":{"values":["10.0.0.0/8"]}}]"#}),
        json!([{"path": "/", "service_name": "app-service", "service_port": 80}]),
    );
    clean(&f);
    warning(&f, "conditions.other", "never reads these conditions");
}

#[test]
fn host_and_path_conditions_merge_with_the_rule() {
    // The rule's host is a value: a host regex condition clashes with it.
    error(
        &conditions(r#"[{"field":"host-header","hostHeaderConfig":{"regexValues":["^a\\."]}}]"#),
        "conditions.app-service",
        "host condition must specify exactly one of Values and RegexValues, got both Values [example.com] and RegexValues [^a\\.]",
    );
    // So is the rule's path (Prefix / becomes /*).
    error(
        &conditions(
            r#"[{"field":"path-pattern","pathPatternConfig":{"regexValues":["^/v[0-9]"]}}]"#,
        ),
        "conditions.app-service",
        "path condition must specify exactly one of Values and RegexValues, got both Values [/*] and RegexValues [^/v[0-9]]",
    );
    // Values join the rule's own as alternatives: a warning, not a refusal.
    let f = conditions(
        r#"[{"field":"host-header","hostHeaderConfig":{"values":["other.example.com"]}}]"#,
    );
    clean(&f);
    warning(
        &f,
        "conditions.app-service",
        "one condition ([example.com other.example.com]), and the ALB matches any one of them",
    );
    // use-regex-path-match makes an ImplementationSpecific path a regex.
    let f = findings_of(json!({"ingresses": [{"name": "app-ingress",
        "annotations": {"alb.ingress.kubernetes.io/use-regex-path-match": "true",
            format!("{C}app-service"):
            r#"[{"field":"path-pattern","pathPatternConfig":{"regexValues":["^/v[0-9]"]}}]"#},
        "rules": [{"host": "example.com", "paths": [{"path": "/api", "path_type": "ImplementationSpecific",
            "service_name": "app-service", "service_port": 80}]}],
        "services": [{"name": "app-service", "selector": {"app": "myapp"}, "port": 80, "target_port": 8080}]}]}));
    clean(&f);
}

#[test]
fn transforms_are_validated_like_the_controller() {
    let t = |json_text: &str| {
        app(
            json!({"alb.ingress.kubernetes.io/transforms.app-service": json_text}),
            json!([{"path": "/", "service_name": "app-service", "service_port": 80}]),
        )
    };
    clean(&t(
        r#"[{"type":"url-rewrite","urlRewriteConfig":{"rewrites":[{"regex":"^/api/(.*)$","replace":"/$1"}]}}]"#,
    ));
    clean(&t(
        r#"[{"type":"host-header-rewrite","hostHeaderRewriteConfig":{"rewrites":[{"regex":"^a$","replace":"b"}]}}]"#,
    ));
    for (text, want) in [
        (r#"[{"type":"rewrite"}]"#, "unknown transform type: rewrite"),
        (r#"[{"type":"url-rewrite"}]"#, "missing urlRewriteConfig"),
        (
            r#"[{"type":"host-header-rewrite","hostHeaderRewriteConfig":{"rewrites":[]}}]"#,
            "hostHeaderRewriteConfig.rewrites cannot be empty",
        ),
        (
            r#"{"type":"url-rewrite"}"#,
            "failed to parse json annotation",
        ),
    ] {
        error(&t(text), "transforms.app-service", want);
    }
    let f = app(
        json!({"alb.ingress.kubernetes.io/transforms.other": "[]"}),
        json!([{"path": "/", "service_name": "app-service", "service_port": 80}]),
    );
    warning(&f, "transforms.other", "never reads these transforms");
}
