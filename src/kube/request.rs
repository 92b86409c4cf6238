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
            let hint = transport_hint(&detail);
            Error::api(context, format!("{detail}{hint}"), None)
        }
    }
}

/// What a transport failure (no HTTP status) means for the user.
pub(crate) fn transport_hint(detail: &str) -> &'static str {
    // A connection cut mid-request (server killed) also mentions TLS
    // (no close_notify): it is not a certificate problem.
    let lost = [
        "close_notify",
        "onnection reset",
        "roken pipe",
        "connection closed",
        "IncompleteMessage",
    ]
    .iter()
    .any(|p| detail.contains(p));
    if lost {
        " (API server unreachable: the connection broke off mid-request, so the server stopped or restarted; objects listed in results were applied, re-run the task to converge)"
    } else if detail.contains("certificate")
        || detail.contains("UnknownIssuer")
        || detail.contains("tls")
    {
        " (TLS verification failed: the server's certificate is not signed by the configured CA; set ca_cert or fix certificate-authority-data, never validate_certs: false in production)"
    } else if detail.contains("onnection refused")
        || detail.contains("timed out")
        || detail.contains("elapsed")
    {
        " (API server unreachable: check host/kubeconfig server address, that the API server runs, and request_timeout)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_connection_is_not_called_a_certificate_problem() {
        // Seen when the API server was killed mid-task.
        let cut = "ServiceError: client error (SendRequest): connection error: peer closed connection without sending TLS close_notify";
        assert!(transport_hint(cut).contains("broke off mid-request"));
        let wrong_ca =
            "ServiceError: client error (Connect): invalid peer certificate: UnknownIssuer";
        assert!(transport_hint(wrong_ca).contains("TLS verification failed"));
        assert!(transport_hint("tcp connect error: Connection refused").contains("unreachable"));
    }
}
