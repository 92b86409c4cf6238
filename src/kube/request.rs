//! Sending requests built with kube's own `Request` and turning the client's
//! errors into netpath's, with the object named and the cause explained.

use crate::error::Error;

/// Sends `req` (built by `kube::core::Request`) and returns the body text.
/// JSON is asked for unless the request says otherwise.
pub async fn send(client: &kube::Client, mut req: http::Request<Vec<u8>>) -> kube::Result<String> {
    req.headers_mut()
        .entry(http::header::ACCEPT)
        .or_insert(http::HeaderValue::from_static("application/json"));
    client.request_text(req).await
}

/// A request kube refused to build (an unusable name, a field manager over
/// 128 characters): bad input, before anything was sent.
pub fn unbuildable(context: &str, e: kube::core::request::Error) -> Error {
    Error::Input(format!("{context}: {e}"))
}

pub fn status_of(e: &kube::Error) -> Option<&kube::core::Status> {
    match e {
        kube::Error::Api(s) => Some(s),
        _ => None,
    }
}

pub fn is_not_found(e: &kube::Error) -> bool {
    status_of(e).is_some_and(|s| s.code == 404)
}

/// Turns a client error into netpath's, with the object named and, for
/// transport failures, the underlying cause (refused, TLS, timeout).
pub fn api_error(context: String, e: kube::Error) -> Error {
    match status_of(&e) {
        Some(s) => {
            // Admission control answers 403 (webhooks) or 422 (policies)
            // too: its own message, never the RBAC hint.
            if let Some((by, refusal)) = crate::error::admission_refusal(&s.message) {
                return Error::Admission {
                    context,
                    by,
                    message: s.message.clone(),
                    refusal,
                };
            }
            let mut message = s.message.clone();
            match s.code {
                401 => message.push_str(" (401 Unauthorized: the token or client certificate was rejected; check the credentials in the kubeconfig or api_key)"),
                403 => message.push_str(" (403 Forbidden: the user is authenticated but RBAC does not allow this; grant the verb on this resource)"),
                _ => {}
            }
            Error::api(context, message, Some(s.code))
        }
        None => {
            let detail = super::connect::chain(&e);
            let hint = transport_failure(&e).map_or("", Transport::hint);
            Error::api(context, format!("{detail}{hint}"), None)
        }
    }
}

/// What went wrong below HTTP, read off the types in the error's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The connection broke off mid-request: the server stopped or restarted.
    Lost,
    /// The server's certificate was not accepted.
    Tls,
    /// No connection, or no answer in time.
    Unreachable,
}

impl Transport {
    pub fn hint(self) -> &'static str {
        match self {
            Transport::Lost => {
                " (API server unreachable: the connection broke off mid-request, so the server stopped or restarted; objects listed in results were applied, re-run the task to converge)"
            }
            Transport::Tls => {
                " (TLS verification failed: the server's certificate is not signed by the configured CA; set ca_cert or fix certificate-authority-data, never validate_certs: false in production)"
            }
            Transport::Unreachable => {
                " (API server unreachable: check host/kubeconfig server address, that the API server runs, and request_timeout)"
            }
        }
    }
}

/// The first failure in `e`'s chain that says what happened below HTTP.
pub fn transport_failure(e: &(dyn std::error::Error + 'static)) -> Option<Transport> {
    use std::io::ErrorKind as K;
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            // rustls reports through io::Error, its own error kept inside
            // (and not as `source()`).
            if let Some(t) = io.get_ref().and_then(|inner| transport_failure(inner)) {
                return Some(t);
            }
            match io.kind() {
                // A TLS peer gone without close_notify is UnexpectedEof.
                K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                    return Some(Transport::Lost);
                }
                K::ConnectionRefused
                | K::TimedOut
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::AddrNotAvailable
                | K::NotConnected => return Some(Transport::Unreachable),
                _ => {}
            }
        }
        // Any TLS failure: the handshake is where certificates are judged.
        if err.is::<rustls::Error>() {
            return Some(Transport::Tls);
        }
        if let Some(h) = err.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return Some(Transport::Lost);
            }
            if h.is_timeout() {
                return Some(Transport::Unreachable);
            }
        }
        if err.is::<tokio::time::error::Elapsed>() {
            return Some(Transport::Unreachable);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_are_read_off_the_error_types() {
        use std::io::{Error as Io, ErrorKind as K};
        // Seen when the API server was killed mid-task: rustls's EOF, which
        // mentions TLS but is no certificate problem.
        let cut = Io::new(
            K::UnexpectedEof,
            "peer closed connection without sending TLS close_notify",
        );
        assert_eq!(transport_failure(&cut), Some(Transport::Lost));
        let wrong_ca = Io::new(
            K::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        assert_eq!(transport_failure(&wrong_ca), Some(Transport::Tls));
        let refused = Io::new(K::ConnectionRefused, "Connection refused");
        assert_eq!(transport_failure(&refused), Some(Transport::Unreachable));
        // Deep in a chain, under a wrapper whose text says nothing.
        #[derive(Debug)]
        struct Wrapper(Io);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("ServiceError: client error (SendRequest)")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert_eq!(
            transport_failure(&Wrapper(Io::new(K::TimedOut, "deadline has elapsed"))),
            Some(Transport::Unreachable)
        );
        // A message that merely mentions a certificate is not classified by it.
        assert_eq!(
            transport_failure(&Io::other("certificate tls connection reset")),
            None
        );
    }
}
