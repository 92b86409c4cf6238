//! The HTTP stack under `kube::Client`: kube-rs's own layers (base URI,
//! credentials, impersonation headers, retry of 429/503/504) over a connector
//! that kube-rs 5 does not offer, with TCP_NODELAY and HTTP/2.
//!
//! Why not kube-rs's default stack: its `HttpConnector` leaves Nagle on and
//! speaks HTTP/1.1 only. On a resumed TLS 1.3 session the client's Finished
//! and the first request then leave as two small segments, and the request
//! waits ~40 ms for the server's delayed ACK (seen with strace in the
//! `alb_ingress` benchmark). HTTP/2, which kube-apiserver offers by ALPN,
//! also carries every concurrent request of a task on one connection, so a
//! task pays for one TLS handshake instead of one per request in flight.

use http::HeaderValue;
use hyper_rustls::FixedServerNameResolver;
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use kube::client::retry::RetryPolicy;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use tower::retry::RetryLayer;
use tower::{Service, ServiceBuilder};

/// Builds the client for `config`: direct, or through an `http://` proxy
/// (CONNECT, with Basic credentials from the proxy URL). HTTPS and SOCKS
/// proxies get kube-rs's own stack (HTTP/1.1 without TCP_NODELAY).
pub fn client(config: kube::Config) -> kube::Result<kube::Client> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(config.connect_timeout);
    let tcp = match config.proxy_url.clone() {
        None => Tcp::Direct(tcp),
        Some(proxy) if proxy.scheme_str() == Some("http") => {
            let mut tunnel = Tunnel::new(proxy.clone(), tcp);
            if let Some(auth) = proxy_basic_auth(&proxy) {
                tunnel = tunnel.with_auth(auth);
            }
            Tcp::Tunnel(tunnel)
        }
        Some(_) => return kube::Client::try_from(config),
    };
    build(config, tcp)
}

/// The TCP leg, direct or through a CONNECT tunnel: one type, so the whole
/// HTTP stack above it is compiled once (each connector type would add a
/// copy of hyper's client to the binary).
#[derive(Clone)]
enum Tcp {
    Direct(HttpConnector),
    Tunnel(Tunnel<HttpConnector>),
}

type TcpIo = <HttpConnector as Service<http::Uri>>::Response;
type TcpFuture = Pin<Box<dyn Future<Output = Result<TcpIo, tower::BoxError>> + Send>>;

impl Service<http::Uri> for Tcp {
    type Response = TcpIo;
    type Error = tower::BoxError;
    type Future = TcpFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self {
            Tcp::Direct(c) => c.poll_ready(cx).map_err(Into::into),
            Tcp::Tunnel(c) => c.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        match self {
            Tcp::Direct(c) => {
                let f = c.call(dst);
                Box::pin(async move { f.await.map_err(Into::into) })
            }
            Tcp::Tunnel(c) => {
                let f = c.call(dst);
                Box::pin(async move { f.await.map_err(Into::into) })
            }
        }
    }
}

fn build(config: kube::Config, tcp: Tcp) -> kube::Result<kube::Client> {
    let tls = config.rustls_client_config()?;
    let mut https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    if let Some(name) = &config.tls_server_name {
        let name = name.clone().try_into().map_err(|e| {
            kube::Error::RustlsTls(kube::client::RustlsTlsError::InvalidServerName(e))
        })?;
        https = https.with_server_name_resolver(FixedServerNameResolver::new(name));
    }
    // ALPN offers h2, then http/1.1: a server (or a TLS proxy in front of
    // it) without HTTP/2 answers http/1.1 and gets exactly that.
    let https = https.enable_all_versions().wrap_connector(tcp);

    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    let http: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(connector);
    let http = FirstAlone::new(http);

    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(tower::BoxError::from)
        .service(http);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// Sends the first request alone and the rest only once it has an answer.
/// The pool learns that a connection is HTTP/2 only when its TLS handshake
/// ends, so requests started together before that each open a connection
/// (seen: 3 connections for a 3-object task); after the first answer they
/// all share the one.
#[derive(Clone)]
struct FirstAlone<S> {
    inner: S,
    warm: Arc<AtomicBool>,
    first: Arc<tokio::sync::Mutex<()>>,
}

impl<S> FirstAlone<S> {
    fn new(inner: S) -> Self {
        FirstAlone {
            inner,
            warm: Arc::default(),
            first: Arc::default(),
        }
    }
}

impl<S, R> Service<R> for FirstAlone<S>
where
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send,
    S::Error: Send,
    R: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        // The clone takes the readiness just polled on `self.inner`.
        let inner = self.inner.clone();
        let mut ready = std::mem::replace(&mut self.inner, inner);
        let (warm, first) = (self.warm.clone(), self.first.clone());
        Box::pin(async move {
            if warm.load(Ordering::Acquire) {
                return ready.call(req).await;
            }
            let _alone = first.lock().await;
            let res = ready.call(req).await;
            if res.is_ok() {
                warm.store(true, Ordering::Release);
            }
            res
        })
    }
}

/// `Proxy-Authorization: Basic ...` from `http://user:pass@proxy:3128`,
/// percent-escapes decoded first (a password with `@` or `:` must be
/// escaped in the URL, and the proxy expects it plain).
fn proxy_basic_auth(proxy: &http::Uri) -> Option<HeaderValue> {
    use base64::Engine;
    let (userinfo, _) = proxy.authority()?.as_str().rsplit_once('@')?;
    let plain: Vec<u8> = percent_encoding::percent_decode_str(userinfo).collect();
    let mut value = HeaderValue::from_str(&format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(plain)
    ))
    .ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_credentials_are_decoded_then_encoded() {
        let uri: http::Uri = "http://user:pa%40ss%3Aw@proxy:3128".parse().unwrap();
        let v = proxy_basic_auth(&uri).unwrap();
        // base64("user:pa@ss:w")
        assert_eq!(v.to_str().unwrap(), "Basic dXNlcjpwYUBzczp3");
        assert!(v.is_sensitive());
        assert!(proxy_basic_auth(&"http://proxy:3128".parse().unwrap()).is_none());
    }
}
