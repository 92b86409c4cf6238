//! Kubernetes' naming rules (apimachinery's `IsDNS1123Subdomain` and
//! `IsDNS1123Label`), for every check that needs one: object and namespace
//! names, label-key prefixes, Ingress hosts.

/// Lower-case alphanumerics and '-', alphanumeric at both ends, 1-63 long.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Dot-separated labels (each as `is_dns_label`, but without the 63 limit
/// apimachinery does not apply per label here), at most 253 in all.
pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Why `name` cannot be sent as one URL path segment, if it cannot: such a
/// name would address another resource (`x/status`) or inject a query. The
/// engine's floor for any kind; kinds with stricter rules check those too.
pub fn path_segment_problem(name: &str) -> Option<String> {
    if name == "." || name == ".." {
        return Some(format!("{name:?} is not a name"));
    }
    if name.len() > 253 {
        return Some(format!(
            "it is {} characters long; the limit is 253",
            name.len()
        ));
    }
    // RFC 3986 pchar without percent-encoding: what a path segment holds as is.
    let bad: Vec<String> = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(*c)))
        .map(|c| format!("{c:?}"))
        .collect();
    (!bad.is_empty()).then(|| format!("it contains {}", bad.join(", ")))
}

/// Why `ns` is not a namespace name (a DNS-1123 label), if it is not.
pub fn namespace_problem(ns: &str) -> Option<String> {
    (!is_dns_label(ns)).then(|| {
        format!("{ns:?} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63, alphanumeric at both ends)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains() {
        for ok in ["a", "kube-system", "x1"] {
            assert!(is_dns_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        for ok in ["example.com", "a", "projectcalico.org", &"a".repeat(253)] {
            assert!(is_dns_subdomain(ok), "{ok}");
        }
        for bad in [
            "",
            ".a",
            "a..b",
            "a.-b",
            "Example.com",
            "a_b.c",
            &"a".repeat(254),
        ] {
            assert!(!is_dns_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn names_must_be_one_plain_path_segment() {
        for ok in ["app", "app.example.com", "system:node-proxier", "a-1"] {
            assert_eq!(path_segment_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("x/status", "contains '/'"),
            ("..", "is not a name"),
            ("x?dryRun=All", "contains '?'"),
            ("a b", "contains ' '"),
            ("a%2Fb", "contains '%'"),
            ("caf\u{e9}", "contains 'é'"),
        ] {
            let got = path_segment_problem(bad).unwrap_or_default();
            assert!(got.contains(why), "{bad}: {got}");
        }
        assert!(
            path_segment_problem(&"a".repeat(254))
                .unwrap()
                .contains("limit is 253")
        );
        assert_eq!(namespace_problem("kube-system"), None);
        for bad in ["", "Bad_NS", "-a", "a/b", &"a".repeat(64)] {
            assert!(namespace_problem(bad).is_some(), "{bad}");
        }
    }
}
