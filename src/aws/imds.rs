//! EC2 instance metadata (IMDSv2), read the way the AWS SDKs read it: a
//! session token from `PUT /latest/api/token`, then GETs that carry it.
//! IMDSv1 (GET without a token) is never tried: hardened instances refuse
//! it, and a host that answers only v1 is one we should not guess about.

use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Where the service answers on every EC2 instance.
pub const DEFAULT_ENDPOINT: &str = "http://169.254.169.254";
/// The SDKs' variables: an endpoint override, and a switch that turns the
/// service off (CI and tests set it so nothing ever reaches 169.254.169.254).
pub const ENDPOINT_ENV: &str = "AWS_EC2_METADATA_SERVICE_ENDPOINT";
pub const DISABLED_ENV: &str = "AWS_EC2_METADATA_DISABLED";
/// Seconds a token lives; one module run needs a few.
const TOKEN_TTL: &str = "60";

/// The host's identity as the controller needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub instance_id: String,
    pub availability_zone: String,
    /// `local-ipv4`: what kubelet reports as the Node's InternalIP.
    pub local_ipv4: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImdsError {
    #[error("instance metadata is turned off ({DISABLED_ENV}=true)")]
    Disabled,
    #[error("metadata endpoint {endpoint:?} is not an http:// URL")]
    BadEndpoint { endpoint: String },
    #[error("no answer from the instance metadata service at {endpoint} within {secs} s")]
    Timeout { endpoint: String, secs: u64 },
    #[error("cannot reach the instance metadata service at {endpoint}: {source}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the instance metadata service answered {status} to {method} {path}")]
    Status {
        method: &'static str,
        path: &'static str,
        status: StatusCode,
    },
}

/// The endpoint to use: the option, else the SDKs' variable, else the
/// instance's own. Err when metadata is turned off.
pub fn endpoint(option: Option<&str>) -> Result<String, ImdsError> {
    let disabled = std::env::var(DISABLED_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if disabled && option.is_none() {
        return Err(ImdsError::Disabled);
    }
    let e = option
        .map(str::to_string)
        .or_else(|| std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
    let e = e.trim_end_matches('/').to_string();
    // The service is plain HTTP on a link-local address; anything else is a typo.
    if !e.starts_with("http://") {
        return Err(ImdsError::BadEndpoint { endpoint: e });
    }
    Ok(e)
}

/// Reads instance-id, placement/availability-zone and local-ipv4.
pub async fn identity(endpoint: &str, timeout: Duration) -> Result<Identity, ImdsError> {
    let session = Session::open(endpoint, timeout).await?;
    Ok(Identity {
        instance_id: session.get("/latest/meta-data/instance-id").await?,
        availability_zone: session
            .get("/latest/meta-data/placement/availability-zone")
            .await?,
        // Absent on IPv6-only instances: the Node is then found by name.
        local_ipv4: match session.get("/latest/meta-data/local-ipv4").await {
            Ok(ip) => Some(ip),
            Err(ImdsError::Status { status, .. }) if status == StatusCode::NOT_FOUND => None,
            Err(e) => return Err(e),
        },
    })
}

struct Session<'a> {
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Empty<&'static [u8]>>,
    endpoint: &'a str,
    token: String,
    timeout: Duration,
}

impl<'a> Session<'a> {
    async fn open(endpoint: &'a str, timeout: Duration) -> Result<Session<'a>, ImdsError> {
        let client = Client::builder(TokioExecutor::new()).build_http();
        let mut s = Session {
            client,
            endpoint,
            token: String::new(),
            timeout,
        };
        s.token = s.call(Method::PUT, "/latest/api/token").await?;
        Ok(s)
    }

    async fn get(&self, path: &'static str) -> Result<String, ImdsError> {
        self.call(Method::GET, path).await
    }

    async fn call(&self, method: Method, path: &'static str) -> Result<String, ImdsError> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.endpoint));
        req = if method == Method::PUT {
            req.header("x-aws-ec2-metadata-token-ttl-seconds", TOKEN_TTL)
        } else {
            req.header("x-aws-ec2-metadata-token", &self.token)
        };
        let unreachable = |e: Box<dyn std::error::Error + Send + Sync>| ImdsError::Unreachable {
            endpoint: self.endpoint.to_string(),
            source: e,
        };
        let req = req
            .body(Empty::new())
            .map_err(|e| unreachable(Box::new(e)))?;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| unreachable(Box::new(e)))?;
            let status = resp.status();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| unreachable(Box::new(e)))?
                .to_bytes();
            if !status.is_success() {
                return Err(ImdsError::Status {
                    method: if method == Method::PUT { "PUT" } else { "GET" },
                    path,
                    status,
                });
            }
            Ok(String::from_utf8_lossy(&body).trim().to_string())
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or(Err(ImdsError::Timeout {
                endpoint: self.endpoint.to_string(),
                secs: self.timeout.as_secs(),
            }))
    }
}
