//! CIDR parsing and set relations for pool, VPC, service and inbound ranges.
//!
//! Parsing is strict on purpose: a CIDR with host bits set names a different
//! network than it seems to, and Calico rejects it, so we refuse it up front
//! and tell the user the canonical form.

use crate::validate::{Finding, Findings};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Address family of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// IPv4 link-local; Calico refuses pools overlapping it (AWS metadata lives here).
pub const LINK_LOCAL_V4: IpNet = IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(169, 254, 0, 0)), 16);
/// IPv6 link-local; Calico refuses pools overlapping it too.
pub const LINK_LOCAL_V6: IpNet =
    IpNet::new_assert(IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)), 10);

/// Parses an address-pool CIDR (pod, VPC, service range): strictly masked, not `/0`.
pub fn parse_cidr(field: &str, s: &str) -> Result<IpNet, Finding> {
    let net = parse_masked(field, s, true)?;
    if net.prefix_len() == 0 {
        return Err(Finding::error(
            field,
            format!(
                "'{s}' is a /0 and covers every {} address: it overlaps the VPC, the service \
                 range and the link-local range, so the nodes would route all traffic into the \
                 pod network.",
                family(net).as_str()
            ),
            "use a specific private range, e.g. 192.168.0.0/16 (IPv4) or a /48 from fd00::/8 (IPv6).",
        ));
    }
    Ok(net)
}

/// Parses a list option of pool CIDRs (`vpc_cidrs`, `pod_cidrs`), each
/// finding named `field[i]`. The one parser of such lists: the modules one
/// role variable feeds (netcheck, cni, ippool, alb_ingress) must agree on
/// what they accept.
pub fn parse_list(field: &str, items: &[String]) -> (Vec<(String, IpNet)>, Vec<Finding>) {
    let mut nets = Vec::new();
    let mut findings = Vec::new();
    for (i, s) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        match parse_cidr(&at, s) {
            Ok(n) => nets.push((at, n)),
            Err(f) => findings.push(f),
        }
    }
    (nets, findings)
}

/// Parses any strictly masked CIDR, `/0` included (e.g. `0.0.0.0/0` in inbound-cidrs).
pub fn parse_cidr_allow_any(field: &str, s: &str) -> Result<IpNet, Finding> {
    parse_masked(field, s, false)
}

/// The canonical text of a strictly masked CIDR ("fd00::0/48" → "fd00::/48"), or
/// None when `s` is not one. Used to compare desired and live objects.
pub fn canonical(s: &str) -> Option<String> {
    let net = parse_syntax(s).ok()?;
    (net == net.trunc()).then(|| net.to_string())
}

pub fn family(net: IpNet) -> Family {
    match net {
        IpNet::V4(_) => Family::V4,
        IpNet::V6(_) => Family::V6,
    }
}

/// True when the two networks share at least one address (never across families).
pub fn overlaps(a: IpNet, b: IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// True when every address of `inner` is in `outer`.
pub fn contains(outer: IpNet, inner: IpNet) -> bool {
    outer.contains(&inner)
}

/// An overlay's pod range against the VPC's: one finding per VPC range it
/// overlaps (every pool, pod CIDR and live pool is checked with this).
pub fn check_not_in_vpc(field: &str, pods: IpNet, vpcs: &[(&str, IpNet)], f: &mut Findings) {
    check_no_overlap(
        field,
        pods,
        vpcs,
        "pod addresses would shadow VPC hosts: traffic from pods to those hosts is routed \
         into the overlay and never reaches the VPC.",
        f,
    );
}

/// One finding per range in `others` that `net` overlaps. `why` says what breaks
/// on the traffic path, e.g. "replies to those hosts would be routed into the overlay".
pub fn check_no_overlap(
    field: &str,
    net: IpNet,
    others: &[(&str, IpNet)],
    why: &str,
    f: &mut Findings,
) {
    for (label, other) in others.iter().filter(|(_, other)| overlaps(net, *other)) {
        let how = if net == *other {
            "is the same range as"
        } else if contains(net, *other) {
            "contains"
        } else if contains(*other, net) {
            "lies inside"
        } else {
            "overlaps"
        };
        f.error(
            field,
            format!("{net} {how} {label} ({other}): {why}"),
            format!("choose a range for {field} that shares no address with {label} ({other})."),
        );
    }
}

/// Calico's link-local rule for IP pools, with its exact error text.
pub fn check_not_link_local(field: &str, net: IpNet, f: &mut Findings) {
    let (range, fam) = match family(net) {
        Family::V4 => (LINK_LOCAL_V4, "IPv4"),
        Family::V6 => (LINK_LOCAL_V6, "IPv6"),
    };
    if overlaps(net, range) {
        f.error(
            field,
            format!(
                "IPPool CIDR overlaps with {fam} Link Local range {range}: Calico rejects the \
                 pool, and pod addresses there would collide with link-local services such as \
                 the EC2 instance metadata endpoint 169.254.169.254."
            ),
            "choose a pool range outside the link-local range, e.g. 192.168.0.0/16.",
        );
    }
}

enum SyntaxError {
    Empty,
    Whitespace,
    NoPrefix(IpAddr),
    BadAddress(String),
    BadPrefix(String),
    PrefixTooLong(u8, Family),
}

fn parse_syntax(s: &str) -> Result<IpNet, SyntaxError> {
    if s.is_empty() {
        return Err(SyntaxError::Empty);
    }
    if s.trim() != s {
        return Err(SyntaxError::Whitespace);
    }
    let Some((addr, prefix)) = s.split_once('/') else {
        return Err(match s.parse::<IpAddr>() {
            Ok(ip) => SyntaxError::NoPrefix(ip),
            Err(_) => SyntaxError::BadAddress(s.to_string()),
        });
    };
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| SyntaxError::BadAddress(addr.to_string()))?;
    // Digits only, no sign, no leading zero: "+16" and "016" are not CIDR notation.
    let digits_ok = !prefix.is_empty()
        && prefix.len() <= 3
        && prefix.bytes().all(|b| b.is_ascii_digit())
        && !(prefix.len() > 1 && prefix.starts_with('0'));
    let len: u8 = match prefix.parse() {
        Ok(n) if digits_ok => n,
        _ => return Err(SyntaxError::BadPrefix(prefix.to_string())),
    };
    IpNet::new(ip, len).map_err(|_| {
        let fam = if ip.is_ipv4() { Family::V4 } else { Family::V6 };
        SyntaxError::PrefixTooLong(len, fam)
    })
}

fn parse_masked(field: &str, s: &str, pool: bool) -> Result<IpNet, Finding> {
    const WHY: &str = "it cannot be used as a network range, so the objects built from it are \
                       rejected and nothing is routed.";
    let net = parse_syntax(s).map_err(|e| match e {
        SyntaxError::Empty => Finding::error(
            field,
            format!("the CIDR is empty: {WHY}"),
            "give a network in CIDR notation, e.g. 192.168.0.0/16.",
        ),
        SyntaxError::Whitespace => Finding::error(
            field,
            format!("'{s}' has leading or trailing whitespace, which is not CIDR notation: {WHY}"),
            format!("remove the whitespace: '{}'.", s.trim()),
        ),
        SyntaxError::NoPrefix(ip) => Finding::error(
            field,
            format!("'{s}' is an address, not a CIDR: the prefix length is missing, so {WHY}"),
            format!(
                "append the prefix length, e.g. '{ip}/{}'.",
                if ip.is_ipv4() { 16 } else { 48 }
            ),
        ),
        SyntaxError::BadAddress(a) => Finding::error(
            field,
            format!("'{s}' is not a valid CIDR: '{a}' is not an IPv4 or IPv6 address, so {WHY}"),
            "write the network as address/prefix, e.g. 192.168.0.0/16 or fd00:10::/48.",
        ),
        SyntaxError::BadPrefix(p) => Finding::error(
            field,
            format!(
                "'{s}' is not a valid CIDR: prefix length '{p}' is not a plain decimal number, \
                 so {WHY}"
            ),
            "write the prefix length as a number without sign or leading zeros, e.g. /16.",
        ),
        SyntaxError::PrefixTooLong(len, fam) => Finding::error(
            field,
            format!(
                "'{s}' is not a valid CIDR: prefix length /{len} is longer than an {} address \
                 ({} bits), so {WHY}",
                fam.as_str(),
                if fam == Family::V4 { 32 } else { 128 }
            ),
            format!(
                "use a prefix length between 1 and {}.",
                if fam == Family::V4 { 32 } else { 128 }
            ),
        ),
    })?;
    let masked = net.trunc();
    if net != masked {
        let calico = if pool {
            " Calico rejects such a pool with \"IPPool CIDR is not strictly masked\"."
        } else {
            ""
        };
        return Err(Finding::error(
            field,
            format!(
                "'{s}' is not strictly masked: host bits are set, so it actually names \
                 {masked}, a different range than written, and other tools disagree on \
                 which one is meant.{calico}"
            ),
            format!(
                "use the canonical form '{masked}', or a longer prefix if you meant a smaller \
                 network starting at {}.",
                net.addr()
            ),
        ));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::finding;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn lists_are_parsed_strictly_with_each_item_named() {
        let items = vec!["10.0.0.0/16".to_string(), " 10.1.0.0/16".to_string()];
        let (nets, findings) = parse_list("vpc_cidrs", &items);
        assert_eq!(nets, [("vpc_cidrs[0]".to_string(), net("10.0.0.0/16"))]);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].field, "vpc_cidrs[1]");
        assert!(
            findings[0].fix.contains("remove the whitespace"),
            "{:?}",
            findings[0]
        );
    }

    #[test]
    fn parses_strictly_masked_cidrs() {
        assert_eq!(
            parse_cidr("cidr", "192.168.0.0/16").unwrap(),
            net("192.168.0.0/16")
        );
        assert_eq!(parse_cidr("cidr", "10.0.0.0/8").unwrap(), net("10.0.0.0/8"));
        assert_eq!(
            parse_cidr("cidr", "10.1.2.3/32").unwrap(),
            net("10.1.2.3/32")
        );
        assert_eq!(parse_cidr("cidr", "fd00::/48").unwrap(), net("fd00::/48"));
        assert_eq!(parse_cidr("cidr", "fd00::0/48").unwrap(), net("fd00::/48"));
        // IPv4-mapped IPv6 is just an IPv6 network.
        let mapped = parse_cidr("cidr", "::ffff:192.168.0.0/112").unwrap();
        assert_eq!(family(mapped), Family::V6);
    }

    #[test]
    fn rejects_host_bits_with_canonical_fix() {
        let f = parse_cidr("pod_cidr", "192.168.1.0/16").unwrap_err();
        assert!(f.is_error());
        assert_eq!(f.field, "pod_cidr");
        assert!(f.problem.contains("not strictly masked"), "{}", f.problem);
        assert!(f.problem.contains("IPPool CIDR is not strictly masked"));
        assert!(f.fix.contains("'192.168.0.0/16'"), "{}", f.fix);

        let f = parse_cidr("pool", "fd00::1/64").unwrap_err();
        assert!(f.fix.contains("'fd00::/64'"), "{}", f.fix);

        // The non-pool variant does not blame Calico.
        let f = parse_cidr_allow_any("inbound", "10.0.0.1/24").unwrap_err();
        assert!(f.problem.contains("not strictly masked"));
        assert!(!f.problem.contains("IPPool"));
    }

    #[test]
    fn rejects_missing_prefix() {
        let f = parse_cidr("cidr", "192.168.0.0").unwrap_err();
        assert_eq!(f.field, "cidr");
        assert!(
            f.problem.contains("prefix length is missing"),
            "{}",
            f.problem
        );
        assert!(f.fix.contains("192.168.0.0/16"));
    }

    #[test]
    fn rejects_slash_zero_for_pools_only() {
        let f = parse_cidr("vpc_cidrs[0]", "0.0.0.0/0").unwrap_err();
        assert_eq!(f.field, "vpc_cidrs[0]");
        assert!(f.problem.contains("/0"), "{}", f.problem);
        assert!(parse_cidr("cidr", "::/0").is_err());
        assert_eq!(
            parse_cidr_allow_any("inbound_cidrs[0]", "0.0.0.0/0").unwrap(),
            net("0.0.0.0/0")
        );
    }

    #[test]
    fn rejects_whitespace_instead_of_trimming() {
        for s in [" 10.0.0.0/16", "10.0.0.0/16 ", "10.0.0.0/16\n"] {
            let f = parse_cidr("cidr", s).unwrap_err();
            assert!(f.problem.contains("whitespace"), "{s:?}: {}", f.problem);
            assert!(f.fix.contains("'10.0.0.0/16'"));
        }
    }

    #[test]
    fn rejects_garbage() {
        for (s, key) in [
            ("", "empty"),
            ("banana", "not a valid CIDR"),
            ("300.1.1.0/24", "not an IPv4 or IPv6 address"),
            ("10.0.0.0/", "prefix length ''"),
            ("10.0.0.0/+8", "not a plain decimal"),
            ("10.0.0.0/016", "not a plain decimal"),
            ("10.0.0.0/abc", "not a plain decimal"),
            ("10.0.0.0/33", "/33 is longer than an IPv4 address"),
            ("fd00::/129", "/129 is longer than an IPv6 address"),
            ("10.0.0.0/16/8", "not a plain decimal"),
            ("192.168.01.0/24", "not an IPv4 or IPv6 address"),
        ] {
            let f = parse_cidr("cidr", s).unwrap_err();
            assert_eq!(f.field, "cidr");
            assert!(f.problem.contains(key), "{s:?}: {}", f.problem);
        }
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(
            canonical("192.168.0.0/16").as_deref(),
            Some("192.168.0.0/16")
        );
        assert_eq!(canonical("fd00::0/48").as_deref(), Some("fd00::/48"));
        assert_eq!(canonical("FD00:0:0::/48").as_deref(), Some("fd00::/48"));
        assert_eq!(canonical("0.0.0.0/0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(canonical("192.168.1.0/16"), None);
        assert_eq!(canonical("nope"), None);
        assert_eq!(canonical(" 10.0.0.0/8"), None);
    }

    #[test]
    fn relations() {
        let pods = net("192.168.0.0/16");
        let vpc = net("10.0.0.0/16");
        let svc = net("10.96.0.0/12");
        assert!(!overlaps(pods, vpc));
        assert!(!overlaps(vpc, svc));
        assert!(overlaps(net("10.0.0.0/8"), vpc));
        assert!(overlaps(vpc, net("10.0.0.0/8")));
        assert!(overlaps(net("10.0.255.0/24"), net("10.0.0.0/16")));
        assert!(!overlaps(net("10.1.0.0/16"), net("10.0.0.0/16")));
        assert!(!overlaps(net("0.0.0.0/0"), net("::/0")));
        assert!(contains(net("10.0.0.0/8"), vpc));
        assert!(!contains(vpc, net("10.0.0.0/8")));
        assert!(contains(vpc, vpc));
        assert!(!contains(net("0.0.0.0/0"), net("fd00::/8")));
        assert_eq!(family(pods), Family::V4);
        assert_eq!(family(net("fd00::/8")), Family::V6);
    }

    #[test]
    fn no_overlap_passes() {
        let others = [
            ("vpc_cidrs[0]", net("10.0.0.0/16")),
            ("service_cidr", net("10.96.0.0/12")),
        ];
        assert!(
            Findings::of(|f| check_no_overlap("pod_cidr", net("192.168.0.0/16"), &others, "x", f))
                .is_empty()
        );
    }

    #[test]
    fn overlap_reports_each_range() {
        let others = [
            ("vpc_cidrs[0]", net("10.0.0.0/16")),
            ("vpc_cidrs[1]", net("172.16.0.0/12")),
            ("service_cidr", net("10.96.0.0/12")),
        ];
        let found = Findings::of(|f| {
            check_no_overlap(
                "pod_cidr",
                net("10.0.0.0/8"),
                &others,
                "replies to those hosts would be routed into the overlay.",
                f,
            )
        });
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].field, "pod_cidr");
        assert!(
            found[0]
                .problem
                .contains("contains vpc_cidrs[0] (10.0.0.0/16)")
        );
        assert!(found[0].problem.contains("routed into the overlay"));
        assert!(found[1].problem.contains("service_cidr (10.96.0.0/12)"));
        assert!(found[0].fix.contains("vpc_cidrs[0]"));

        let found = Findings::of(|f| {
            check_no_overlap(
                "pod_cidr",
                net("10.0.1.0/24"),
                &[("vpc_cidrs[0]", net("10.0.0.0/16"))],
                "",
                f,
            )
        });
        assert!(found[0].problem.contains("lies inside"));
    }

    #[test]
    fn link_local_rule() {
        assert!(finding(|f| check_not_link_local("cidr", net("192.168.0.0/16"), f)).is_none());
        assert!(finding(|f| check_not_link_local("cidr", net("fd00::/48"), f)).is_none());
        let f = finding(|f| check_not_link_local("cidr", net("169.254.10.0/24"), f)).unwrap();
        assert_eq!(f.field, "cidr");
        assert!(
            f.problem
                .contains("IPPool CIDR overlaps with IPv4 Link Local range 169.254.0.0/16")
        );
        let f = finding(|f| check_not_link_local("cidr", net("160.0.0.0/4"), f)).unwrap();
        assert!(f.problem.contains("169.254.0.0/16"));
        let f = finding(|f| check_not_link_local("cidr", net("fe80::/64"), f)).unwrap();
        assert!(f.problem.contains("IPv6 Link Local range fe80::/10"));
    }
}
