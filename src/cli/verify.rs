//! `netpath verify -f VARS.yml`: after apply, wait until the AWS Load
//! Balancer Controller has built what the role variables ask for, reading
//! only (the same wait as `alb_ingress` with `wait: true`).

use super::vars;
use crate::alb::verify::{self, Aws};
use crate::protocol::output::Redactor;
use serde_json::{Map, Value, json};
use std::time::Duration;

pub const HELP: &str = "netpath verify -f VARS.yml [--timeout SECONDS] [--aws | --no-aws]
               [--kubeconfig PATH] [--context NAME] [-o text|json]

Reads nothing but the cluster (and, with the AWS reads, the ALB's target
health) and writes nothing: waits up to --timeout (default 300) until each
Ingress of the role variables has an ALB hostname and each backend's
TargetGroupBinding is reconciled; with the AWS reads (on when AWS
credentials are configured; --aws requires them) until each backend has a
healthy target. Prints per Ingress the ALB's DNS name and per backend the
target group ARN, the targets and their state. On timeout it quotes the
controller's Events and AWS's reason codes with netpath's fix; exit 1.
Exit status: 0 built, 1 not built in time, 2 invalid usage or input.";

struct Args {
    file: String,
    timeout: u64,
    aws: Option<bool>,
    connection: Map<String, Value>,
    json: bool,
}

fn parse(args: &[String]) -> Result<Args, i32> {
    let mut a = Args {
        file: String::new(),
        timeout: 300,
        aws: None,
        connection: Map::new(),
        json: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next().cloned().ok_or_else(|| {
                eprintln!("netpath verify: {flag} needs a value");
                2
            })
        };
        match flag.as_str() {
            "-f" | "--filename" | "--vars" => a.file = value()?,
            "--timeout" => {
                let v = value()?;
                a.timeout = match v.parse::<u64>() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        eprintln!(
                            "netpath verify: --timeout takes seconds (a positive number), got {v:?}"
                        );
                        return Err(2);
                    }
                }
            }
            "--kubeconfig" | "--context" => {
                let v = value()?;
                a.connection
                    .insert(flag.trim_start_matches("--").to_string(), json!(v));
            }
            "--aws" => a.aws = Some(true),
            "--no-aws" => a.aws = Some(false),
            "-o" | "--output" => match value()?.as_str() {
                "text" => a.json = false,
                "json" => a.json = true,
                other => {
                    eprintln!("netpath verify: -o takes text or json, got {other:?}");
                    return Err(2);
                }
            },
            "-h" | "--help" => {
                println!("{HELP}");
                return Err(0);
            }
            other => {
                eprintln!("netpath verify: unknown option {other:?}\n\n{HELP}");
                return Err(2);
            }
        }
    }
    if a.file.is_empty() {
        eprintln!("netpath verify: -f VARS.yml is required\n\n{HELP}");
        return Err(2);
    }
    Ok(a)
}

pub fn main(args: &[String]) -> i32 {
    let a = match parse(args) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let vars = match vars::read_file("verify", &a.file) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let (params, used) = match vars::alb_ingress_params("verify", &vars, a.connection.clone()) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (plan, mut f) = crate::modules::alb_ingress::plan(&params);
    vars::to_variable_names(&mut f.0, &used);
    if f.has_errors() {
        let errors = f.errors().cloned().collect();
        eprintln!("{}", crate::error::Error::Invalid(errors));
        return 1;
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("netpath verify: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let mut redactor = Redactor::default();
    let mut aws = Aws::from_option(a.aws);
    let result = rt.block_on(async {
        let connection = params
            .clone()
            .typed()
            .map_err(|e| crate::error::Error::Connection(e.to_string()))?;
        let conn = crate::kube::connect::connect(&connection, &mut redactor).await?;
        for w in &conn.warnings {
            eprintln!("warning: {w}");
        }
        Ok::<_, crate::error::Error>(
            verify::wait(
                &conn.client,
                &plan,
                Duration::from_secs(a.timeout),
                aws.as_mut(),
            )
            .await,
        )
    });
    if let Some(x) = &aws {
        redactor.extend(x.reader.secrets.iter().cloned());
    }
    let (code, built, error) = match result {
        Err(e) => (1, Value::Null, Some(e.to_string())),
        Ok(Ok(b)) => {
            for w in &b.warnings {
                eprintln!("warning: {}", redactor.text(w));
            }
            (0, b.ingresses, None)
        }
        Ok(Err((e, built))) => (1, built, Some(e.to_string())),
    };
    let mut built = built;
    redactor.value(&mut built);
    if a.json {
        let mut out = json!({"load_balancers": built, "built": code == 0});
        if let Some(e) = &error {
            out["msg"] = json!(redactor.text(e));
        }
        println!("{out:#}");
    } else {
        print!("{}", text(&built));
    }
    if let Some(e) = error {
        eprintln!("netpath verify: {}", redactor.text(&e));
    }
    code
}

fn text(built: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let mut out = String::new();
    for ing in built.as_array().into_iter().flatten() {
        out.push_str(&format!(
            "Ingress {}/{}: {}\n",
            s(&ing["namespace"]),
            s(&ing["name"]),
            ing["hostname"].as_str().unwrap_or("no ALB yet")
        ));
        for b in ing["backends"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  {}:{}  {}  {}\n",
                s(&b["service"]),
                s(&b["port"]),
                s(&b["state"]),
                s(&b["target_group_arn"])
            ));
            for t in b["targets"].as_array().into_iter().flatten() {
                let port = t["port"]
                    .as_i64()
                    .map(|p| format!(":{p}"))
                    .unwrap_or_default();
                let why = t["reason"]
                    .as_str()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "    {}{port}  {}{why}\n",
                    s(&t["id"]),
                    s(&t["state"])
                ));
            }
        }
    }
    out
}
