//! netcheck's AWS reads, with the official AWS SDK for Rust: the standard
//! credential chain and region (environment, shared profile files, web
//! identity, the container or instance role), `AWS_ENDPOINT_URL` honoured
//! (tests point it at moto on loopback). TLS is rustls with ring, as for
//! the API server, so the binary stays static (aws-lc is not linked).
//!
//! The number of calls depends on the VPC and the Nodes, never on the
//! Ingresses: DescribeSubnets and DescribeRouteTables once per VPC (paged),
//! DescribeInstances per 200 instances, DescribeSecurityGroups once for
//! every group the checks look at.

use crate::preflight::aws::{Facts, Instance, Permission, RouteTable, SecurityGroup, Subnet};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, Tag};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Filter values per DescribeInstances call.
const PER_CALL: usize = 200;

/// Environment that configures AWS credentials without asking the
/// instance metadata service.
const CREDENTIAL_ENV: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// Whether AWS credentials are configured here without asking the network:
/// the environment, or a shared credentials file. An instance role is used
/// only with `aws: true` (finding one means asking the metadata service).
pub fn credentials_configured() -> bool {
    if CREDENTIAL_ENV
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
    {
        return true;
    }
    let file = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".aws/credentials"))
        });
    file.is_some_and(|f| f.is_file())
}

/// What netcheck asks AWS about.
#[derive(Debug, Default)]
pub struct Query {
    pub region: Option<String>,
    pub vpc_id: Option<String>,
    pub instance_ids: Vec<String>,
    /// `security-groups` annotation entries: IDs (`sg-…`) or Name tags.
    pub alb_groups: Vec<String>,
}

/// Facts, the calls made per operation, and what could not be read (each
/// becomes a finding; AWS errors never abort the check).
#[derive(Debug, Default)]
pub struct Outcome {
    pub facts: Facts,
    pub region: Option<String>,
    pub calls: BTreeMap<&'static str, u32>,
    pub errors: Vec<String>,
    /// Credential values, for the redactor: they never reach any output.
    pub secrets: Vec<String>,
}

pub(crate) fn err_text<E, R>(op: &str, e: SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{op}: {c}: {m}"),
        (Some(c), None) => format!("{op}: {c}"),
        _ => format!("{op}: {}", aws_sdk_ec2::error::DisplayErrorContext(&e)),
    }
}

fn tags(t: &[Tag]) -> BTreeMap<String, String> {
    t.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn filter(name: &str, values: impl IntoIterator<Item = impl Into<String>>) -> Filter {
    let mut b = Filter::builder().name(name);
    for v in values {
        b = b.values(v);
    }
    b.build()
}

/// The SDK configuration every AWS read shares: the standard chain, rustls
/// with ring, short timeouts (a check must not hang on an unreachable
/// endpoint). Credentials are resolved up front, for a clear error when
/// there are none and for the redactor: their values are returned.
pub async fn config(region: Option<&str>) -> Result<(aws_config::SdkConfig, Vec<String>), String> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        );
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(
            "no AWS region is configured (region, AWS_REGION, or the profile's region)".into(),
        );
    }
    let Some(p) = config.credentials_provider() else {
        return Err("no AWS credentials provider".into());
    };
    use aws_credential_types::provider::ProvideCredentials;
    match p.provide_credentials().await {
        Ok(c) => {
            let mut secrets = vec![
                c.access_key_id().to_string(),
                c.secret_access_key().to_string(),
            ];
            secrets.extend(c.session_token().map(str::to_string));
            Ok((config, secrets))
        }
        Err(e) => Err(format!(
            "no AWS credentials: {}",
            aws_sdk_ec2::error::DisplayErrorContext(&e)
        )),
    }
}

pub async fn read(q: &Query) -> Outcome {
    let mut out = Outcome::default();
    let config = match config(q.region.as_deref()).await {
        Ok((config, secrets)) => {
            out.secrets = secrets;
            config
        }
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    out.region = config.region().map(ToString::to_string);
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let mut calls: BTreeMap<&'static str, u32> = BTreeMap::new();

    // Instances first: they give the VPC when none is known.
    let mut instances = BTreeMap::new();
    let mut instances_ok = true;
    for chunk in q.instance_ids.chunks(PER_CALL) {
        let mut token: Option<String> = None;
        loop {
            *calls.entry("DescribeInstances").or_default() += 1;
            let r = ec2
                .describe_instances()
                .filters(filter("instance-id", chunk.iter().cloned()))
                .set_next_token(token.clone())
                .send()
                .await;
            let page = match r {
                Ok(p) => p,
                Err(e) => {
                    out.errors.push(err_text("DescribeInstances", e));
                    instances_ok = false;
                    break;
                }
            };
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                let Some(id) = i.instance_id() else { continue };
                let eni = i
                    .network_interfaces()
                    .iter()
                    .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0));
                let md = i.metadata_options();
                instances.insert(
                    id.to_string(),
                    Instance {
                        id: id.to_string(),
                        state: i
                            .state()
                            .and_then(|s| s.name())
                            .map(|n| n.as_str().to_string())
                            .unwrap_or_default(),
                        vpc_id: i.vpc_id().map(str::to_string),
                        subnet_id: i.subnet_id().map(str::to_string),
                        private_ip: i.private_ip_address().map(str::to_string),
                        source_dest_check: i.source_dest_check(),
                        hop_limit: md.and_then(|m| m.http_put_response_hop_limit()),
                        http_tokens: md
                            .and_then(|m| m.http_tokens())
                            .map(|t| t.as_str().to_string()),
                        primary_eni: eni.map(|n| {
                            (
                                n.network_interface_id().unwrap_or_default().to_string(),
                                n.groups()
                                    .iter()
                                    .filter_map(|g| g.group_id().map(str::to_string))
                                    .collect(),
                            )
                        }),
                    },
                );
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    if instances_ok {
        out.facts.instances = Some(instances);
    }
    let vpc = q.vpc_id.clone().or_else(|| {
        let vpcs: BTreeSet<&str> = out
            .facts
            .instances
            .iter()
            .flat_map(|m| m.values())
            .filter_map(|i| i.vpc_id.as_deref())
            .collect();
        (vpcs.len() == 1).then(|| vpcs.into_iter().next().unwrap_or_default().to_string())
    });
    out.facts.vpc_id = vpc.clone();

    if let Some(vpc) = &vpc {
        let mut subnets = Vec::new();
        let mut token: Option<String> = None;
        let mut ok = true;
        loop {
            *calls.entry("DescribeSubnets").or_default() += 1;
            match ec2
                .describe_subnets()
                .filters(filter("vpc-id", [vpc.clone()]))
                .set_next_token(token.clone())
                .send()
                .await
            {
                Ok(p) => {
                    subnets.extend(p.subnets().iter().map(|s| Subnet {
                        id: s.subnet_id().unwrap_or_default().to_string(),
                        az: s.availability_zone().unwrap_or_default().to_string(),
                        cidr: s.cidr_block().unwrap_or_default().to_string(),
                        available_ips: s.available_ip_address_count().unwrap_or(0),
                        tags: tags(s.tags()),
                        outpost: s.outpost_arn().is_some_and(|a| !a.is_empty()),
                    }));
                    match p.next_token() {
                        Some(t) if !t.is_empty() => token = Some(t.to_string()),
                        _ => break,
                    }
                }
                Err(e) => {
                    out.errors.push(err_text("DescribeSubnets", e));
                    ok = false;
                    break;
                }
            }
        }
        let mut tables = Vec::new();
        let mut token: Option<String> = None;
        loop {
            *calls.entry("DescribeRouteTables").or_default() += 1;
            match ec2
                .describe_route_tables()
                .filters(filter("vpc-id", [vpc.clone()]))
                .set_next_token(token.clone())
                .send()
                .await
            {
                Ok(p) => {
                    tables.extend(p.route_tables().iter().map(|t| {
                        RouteTable {
                            id: t.route_table_id().unwrap_or_default().to_string(),
                            main: t.associations().iter().any(|a| a.main() == Some(true)),
                            subnets: t
                                .associations()
                                .iter()
                                .filter_map(|a| a.subnet_id().map(str::to_string))
                                .collect(),
                            igw_route: t
                                .routes()
                                .iter()
                                .any(|r| r.gateway_id().is_some_and(|g| g.starts_with("igw"))),
                        }
                    }));
                    match p.next_token() {
                        Some(t) if !t.is_empty() => token = Some(t.to_string()),
                        _ => break,
                    }
                }
                Err(e) => {
                    out.errors.push(err_text("DescribeRouteTables", e));
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            out.facts.subnets = Some(subnets);
            out.facts.route_tables = Some(tables);
        }
    }

    // Every group the checks look at, in one call: the ENIs' groups, and
    // the ALBs' custom groups by ID; custom groups given by Name tag in a
    // second (pkg/networking/security_group_resolver.go resolves names with
    // a tag:Name filter).
    let mut ids: BTreeSet<String> = out
        .facts
        .instances
        .iter()
        .flat_map(|m| m.values())
        .filter_map(|i| i.primary_eni.as_ref())
        .flat_map(|(_, g)| g.iter().cloned())
        .collect();
    let names: Vec<String> = q
        .alb_groups
        .iter()
        .filter(|g| !g.starts_with("sg-"))
        .cloned()
        .collect();
    ids.extend(
        q.alb_groups
            .iter()
            .filter(|g| g.starts_with("sg-"))
            .cloned(),
    );
    let mut groups = Vec::new();
    if !ids.is_empty() {
        *calls.entry("DescribeSecurityGroups").or_default() += 1;
        match ec2
            .describe_security_groups()
            .filters(filter("group-id", ids.iter().cloned()))
            .send()
            .await
        {
            Ok(p) => groups.extend(p.security_groups().iter().cloned()),
            Err(e) => out.errors.push(err_text("DescribeSecurityGroups", e)),
        }
    }
    if !names.is_empty() {
        *calls.entry("DescribeSecurityGroups").or_default() += 1;
        let mut req = ec2
            .describe_security_groups()
            .filters(filter("tag:Name", names.iter().cloned()));
        if let Some(v) = &vpc {
            req = req.filters(filter("vpc-id", [v.clone()]));
        }
        match req.send().await {
            Ok(p) => {
                for g in p.security_groups() {
                    let t = tags(g.tags());
                    if let (Some(n), Some(id)) = (t.get("Name"), g.group_id()) {
                        out.facts
                            .named_groups
                            .entry(n.clone())
                            .or_default()
                            .push(id.to_string());
                    }
                }
                groups.extend(p.security_groups().iter().cloned());
            }
            Err(e) => out.errors.push(err_text("DescribeSecurityGroups", e)),
        }
    }
    for g in groups {
        let Some(id) = g.group_id() else { continue };
        out.facts.security_groups.insert(
            id.to_string(),
            SecurityGroup {
                id: id.to_string(),
                name: g.group_name().unwrap_or_default().to_string(),
                tags: tags(g.tags()),
                ingress: g
                    .ip_permissions()
                    .iter()
                    .map(|p| Permission {
                        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
                        from: p.from_port().unwrap_or(-1),
                        to: p.to_port().unwrap_or(-1),
                        groups: p
                            .user_id_group_pairs()
                            .iter()
                            .filter_map(|g| g.group_id().map(str::to_string))
                            .collect(),
                        cidrs: p
                            .ip_ranges()
                            .iter()
                            .filter_map(|r| r.cidr_ip().map(str::to_string))
                            .collect(),
                    })
                    .collect(),
            },
        );
    }
    out.calls = calls;
    out
}
