//! Kubernetes connection with kubernetes.core's option names and K8S_AUTH_*
//! variables, so a playbook can switch modules without relearning. kube-rs
//! does the kubeconfig, exec-plugin, TLS and token work.

use crate::error::{Error, Result};
use crate::protocol::output::Redactor;
use crate::protocol::{Kind, OptSpec};
use base64::Engine;
use kube::config::{KubeConfigOptions, Kubeconfig};
use secrecy::ExposeSecret;
use serde_json::Value;
use std::time::Duration;

// kubernetes.core reads K8S_AUTH_<OPTION> and K8S_AUTH_<CLIENT FIELD>
// (args_common.AUTH_ARG_MAP; client.py _create_auth_spec).
pub const CONNECTION_OPTIONS: &[OptSpec] = &[
    OptSpec::new("kubeconfig", Kind::Raw).env(&["K8S_AUTH_KUBECONFIG"]).doc(
        "Path to a kubeconfig file, or the kubeconfig itself as a dict. Defaults to KUBECONFIG, then ~/.kube/config, then the in-cluster service account.",
    ),
    OptSpec::new("context", Kind::Str).env(&["K8S_AUTH_CONTEXT"]).doc("The kubeconfig context to use."),
    OptSpec::new("host", Kind::Str).env(&["K8S_AUTH_HOST"]).doc("URL of the API server; overrides the kubeconfig's."),
    OptSpec::new("api_key", Kind::Str)
        .no_log()
        .env(&["K8S_AUTH_API_KEY"])
        .doc("Bearer token for the API server; overrides the kubeconfig's credentials."),
    OptSpec::new("username", Kind::Str).env(&["K8S_AUTH_USERNAME"]).doc("Basic-auth user name (with password)."),
    OptSpec::new("password", Kind::Str).no_log().env(&["K8S_AUTH_PASSWORD"]).doc("Basic-auth password."),
    OptSpec::new("ca_cert", Kind::Path)
        .aliases(&["ssl_ca_cert"])
        .env(&["K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT"])
        .doc("PEM file of the CA that signed the API server's certificate."),
    OptSpec::new("client_cert", Kind::Path)
        .aliases(&["cert_file"])
        .env(&["K8S_AUTH_CLIENT_CERT", "K8S_AUTH_CERT_FILE"])
        .doc("PEM client certificate file."),
    OptSpec::new("client_key", Kind::Path)
        .aliases(&["key_file"])
        .env(&["K8S_AUTH_CLIENT_KEY", "K8S_AUTH_KEY_FILE"])
        .doc("PEM client key file. Its content is never printed."),
    OptSpec::new("validate_certs", Kind::Bool)
        .aliases(&["verify_ssl"])
        .env(&["K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL"])
        .doc("Verify the API server's certificate. Default is the kubeconfig's setting (verify). False adds a warning."),
    OptSpec::new("proxy", Kind::Str).env(&["K8S_AUTH_PROXY"]).doc("HTTP proxy URL for API requests."),
    OptSpec::new("impersonate_user", Kind::Str).env(&["K8S_AUTH_IMPERSONATE_USER"]).doc("User to impersonate."),
    OptSpec::new("impersonate_groups", Kind::List(&Kind::Str))
        .env(&["K8S_AUTH_IMPERSONATE_GROUPS"])
        .doc("Groups to impersonate."),
    OptSpec::new("request_timeout", Kind::Int)
        .default("30")
        .env(&["K8S_AUTH_REQUEST_TIMEOUT"])
        .doc("Seconds to wait for the API server to connect and answer each request."),
];

/// The connection options, typed: kubernetes.core's names (the aliases
/// were resolved by the spec). Every module takes them as they are.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ConnectionArgs {
    pub kubeconfig: Option<KubeconfigArg>,
    pub context: Option<String>,
    pub host: Option<String>,
    pub api_key: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_cert: Option<String>,
    pub client_cert: Option<String>,
    pub client_key: Option<String>,
    pub validate_certs: Option<bool>,
    pub proxy: Option<String>,
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Option<Vec<String>>,
    pub request_timeout: Option<i64>,
}

/// `kubeconfig`: a path, or the kubeconfig itself as a dict. A value of
/// another shape is kept as what it is, for `connect` to refuse by name.
#[derive(Debug, Clone)]
pub enum KubeconfigArg {
    Path(String),
    Inline(serde_json::Map<String, Value>),
    Other(&'static str),
}

impl<'de> serde::Deserialize<'de> for KubeconfigArg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(path) => KubeconfigArg::Path(path),
            Value::Object(m) => KubeconfigArg::Inline(m),
            other => KubeconfigArg::Other(kind_of(&other)),
        })
    }
}

/// A client plus what the module must know about how it was built.
#[derive(Clone)]
pub struct Connection {
    pub client: kube::Client,
    pub default_namespace: String,
    pub warnings: Vec<String>,
    pub server: String,
}

/// Builds a client from the connection options. Credentials found on the way
/// go into `redactor`, so no later message can print them.
pub async fn connect(p: &ConnectionArgs, redactor: &mut Redactor) -> Result<Connection> {
    let mut warnings = Vec::new();
    let host = p
        .host
        .as_deref()
        .map(|h| h.trim_end_matches('/').to_string());
    let token = p.api_key.clone();
    let (user, password) = (p.username.as_deref(), p.password.as_deref());

    let options = KubeConfigOptions {
        context: p.context.clone(),
        ..Default::default()
    };
    // kubeconfig's own proxy-url, if any: environment proxies are ignored, as
    // kubernetes.core does (kube-rs would route loopback through HTTPS_PROXY).
    let mut kubeconfig_proxy = None;
    let mut config = if host.is_some()
        && (token.is_some() || (user.is_some() && password.is_some()))
    {
        // Enough to authenticate: kubernetes.core skips the kubeconfig here too.
        let uri = parse_uri("host", host.as_deref().unwrap_or_default())?;
        kube::Config::new(uri)
    } else {
        let kc = match &p.kubeconfig {
            Some(KubeconfigArg::Path(path)) => {
                let path = crate::protocol::spec::expand_path(path);
                Some(Kubeconfig::read_from(&path).map_err(|e| {
                    Error::Connection(format!(
                        "cannot load kubeconfig {path}: {}",
                        first_line(&chain(&e))
                    ))
                })?)
            }
            Some(KubeconfigArg::Inline(m)) => Some(
                serde_json::from_value(Value::Object(m.clone())).map_err(|e| {
                    Error::Connection(format!("kubeconfig dict is not a valid kubeconfig: {e}"))
                })?,
            ),
            Some(KubeconfigArg::Other(kind)) => {
                return Err(Error::Connection(format!(
                    "kubeconfig must be a path or a dict, got a {kind}"
                )));
            }
            None if default_kubeconfig_exists() || options.context.is_some() => {
                Some(Kubeconfig::read().map_err(|e| {
                    Error::Connection(format!(
                        "cannot load kubeconfig: {}",
                        first_line(&chain(&e))
                    ))
                })?)
            }
            None => None,
        };
        match kc {
            Some(kc) => {
                kubeconfig_proxy = cluster_proxy(&kc, options.context.as_deref());
                from_kubeconfig(kc, &options).await?
            }
            None => kube::Config::incluster().map_err(|e| {
                Error::Connection(format!(
                    "no Kubernetes connection configured: no kubeconfig (KUBECONFIG, ~/.kube/config) and not in a pod ({}). Set kubeconfig (or K8S_AUTH_KUBECONFIG), or host with api_key",
                    chain(&e)
                ))
            })?,
        }
    };
    config.proxy_url = match p.proxy.clone().or(kubeconfig_proxy) {
        Some(proxy) => Some(parse_uri("proxy", &proxy)?),
        None => None,
    };

    if let Some(h) = &host {
        config.cluster_url = parse_uri("host", h)?;
    }
    if let Some(t) = token {
        config.auth_info.token = Some(t.into());
        config.auth_info.client_certificate = None;
        config.auth_info.client_certificate_data = None;
        config.auth_info.client_key = None;
        config.auth_info.client_key_data = None;
        config.auth_info.exec = None;
    }
    if let (Some(u), Some(pw)) = (user, password) {
        config.auth_info.username = Some(u.to_string());
        config.auth_info.password = Some(pw.to_string().into());
    }
    if let Some(ca) = p.ca_cert.as_deref() {
        let pem = std::fs::read(ca).map_err(|e| Error::Connection(format!("ca_cert {ca}: {e}")))?;
        config.root_cert = Some(pem_certs(ca, &pem)?);
    }
    if let Some(c) = &p.client_cert {
        config.auth_info.client_certificate = Some(c.to_string());
        config.auth_info.client_certificate_data = None;
    }
    if let Some(k) = &p.client_key {
        config.auth_info.client_key = Some(k.to_string());
        config.auth_info.client_key_data = None;
    }
    match p.validate_certs {
        Some(false) => {
            config.accept_invalid_certs = true;
        }
        Some(true) => config.accept_invalid_certs = false,
        None => {}
    }
    if config.accept_invalid_certs {
        warnings.push(
            "validate_certs is false: the API server's certificate is not verified, so credentials can be intercepted"
                .to_string(),
        );
    }
    if let Some(u) = &p.impersonate_user {
        config.auth_info.impersonate = Some(u.clone());
    }
    if let Some(groups) = p.impersonate_groups.as_ref().filter(|g| !g.is_empty()) {
        config.auth_info.impersonate_groups = Some(groups.clone());
    }
    let timeout = Duration::from_secs(p.request_timeout.unwrap_or(30).clamp(1, 3600) as u64);
    config.connect_timeout = Some(timeout);
    config.read_timeout = Some(timeout);
    config.write_timeout = Some(timeout);

    remember_secrets(&config, redactor);
    let server = config.cluster_url.to_string();
    let default_namespace = config.default_namespace.clone();
    let client = super::transport::client(config)
        .map_err(|e| Error::Connection(explain_client_error(&e)))?;
    Ok(Connection {
        client,
        default_namespace,
        warnings,
        server,
    })
}

async fn from_kubeconfig(kc: Kubeconfig, options: &KubeConfigOptions) -> Result<kube::Config> {
    kube::Config::from_custom_kubeconfig(kc, options)
        .await
        .map_err(|e| Error::Connection(format!("cannot use kubeconfig: {}", chain(&e))))
}

fn default_kubeconfig_exists() -> bool {
    std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty())
        || std::env::var_os("HOME")
            .is_some_and(|h| std::path::Path::new(&h).join(".kube/config").exists())
}

/// The proxy-url of the cluster the chosen (or current) context points at.
fn cluster_proxy(kc: &Kubeconfig, context: Option<&str>) -> Option<String> {
    let ctx_name = context
        .map(str::to_string)
        .or_else(|| kc.current_context.clone())?;
    let ctx = kc
        .contexts
        .iter()
        .find(|c| c.name == ctx_name)?
        .context
        .as_ref()?;
    let cluster = kc
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)?
        .cluster
        .as_ref()?;
    cluster.proxy_url.clone().filter(|u| !u.is_empty())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "list",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        _ => "value",
    }
}

fn parse_uri(field: &str, s: &str) -> Result<http::Uri> {
    s.parse::<http::Uri>()
        .ok()
        .filter(|u| u.scheme().is_some() && u.host().is_some())
        .ok_or_else(|| {
            Error::Connection(format!(
                "{field} {s:?} is not a URL like https://10.0.0.10:6443"
            ))
        })
}

fn pem_certs(path: &str, pem: &[u8]) -> Result<Vec<Vec<u8>>> {
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let body = &rest[start + 27..];
        let Some(end) = body.find("-----END CERTIFICATE-----") else {
            break;
        };
        let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        out.push(
            base64::engine::general_purpose::STANDARD
                .decode(&b64)
                .ok()
                .ok_or_else(|| {
                    Error::Connection(format!(
                        "ca_cert {path}: certificate is not valid base64 PEM"
                    ))
                })?,
        );
        rest = &body[end..];
    }
    if out.is_empty() {
        return Err(Error::Connection(format!(
            "ca_cert {path}: no PEM certificate found"
        )));
    }
    Ok(out)
}

fn remember_secrets(config: &kube::Config, redactor: &mut Redactor) {
    let a = &config.auth_info;
    if let Some(t) = &a.token {
        redactor.add(t.expose_secret().to_string());
    }
    if let Some(p) = &a.password {
        redactor.add(p.expose_secret().to_string());
    }
    if let Some(k) = &a.client_key_data {
        redactor.add(k.expose_secret().to_string());
    }
    if let Some(path) = &a.client_key
        && let Ok(pem) = std::fs::read_to_string(path)
    {
        redactor.add(pem.trim().to_string());
    }
}

/// The first line of a parser error: the YAML parser appends the source lines
/// around the problem, and in a kubeconfig (or a key file given by mistake)
/// those are tokens and keys.
fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// Error text of a chain of sources, since kube's top-level messages alone
/// often omit the useful part ("tls handshake eof" under "ServiceError").
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

fn explain_client_error(e: &kube::Error) -> String {
    let s = chain(e);
    if s.contains("No CA certificates were loaded") || s.contains("native root") {
        return format!(
            "{s}. The kubeconfig has no certificate-authority data and this host has no system CA bundle: set ca_cert (or certificate-authority-data in the kubeconfig)"
        );
    }
    s
}
