//! Pod MTU for Calico's encapsulations, computed from the host interface MTU.
//!
//! Overheads are Felix's (int_dataplane.go). Felix only warns when the
//! configured MTU exceeds what the host can carry; packets that are too big
//! are then dropped or fragmented, which shows up as stalled large responses,
//! so we reject the value instead.

use super::cidr::Family;
use crate::validate::Findings;

/// The option values `vxlan`, `ipip`, `wireguard`, `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encapsulation {
    Vxlan,
    Ipip,
    Wireguard,
    None,
}

impl Encapsulation {
    pub fn as_str(self) -> &'static str {
        match self {
            Encapsulation::Vxlan => "VXLAN",
            Encapsulation::Ipip => "IPIP",
            Encapsulation::Wireguard => "WireGuard",
            Encapsulation::None => "no encapsulation",
        }
    }
}

/// Smallest and largest host MTU we accept: the IPv4 minimum datagram size,
/// and the largest jumbo frame common NICs support.
pub const HOST_MTU_RANGE: std::ops::RangeInclusive<u16> = 576..=9216;

/// Bytes each encapsulation adds per packet, over the given underlay family.
pub fn overhead(encap: Encapsulation, family: Family) -> u16 {
    match (encap, family) {
        (Encapsulation::Vxlan, Family::V4) => 50,
        (Encapsulation::Vxlan, Family::V6) => 70,
        (Encapsulation::Ipip, Family::V4) => 20,
        // Calico refuses IPIP on IPv6 pools; 40 is the IPv6 header it would need.
        (Encapsulation::Ipip, Family::V6) => 40,
        (Encapsulation::Wireguard, Family::V4) => 60,
        (Encapsulation::Wireguard, Family::V6) => 80,
        (Encapsulation::None, _) => 0,
    }
}

/// Largest pod MTU whose encapsulated packets still fit the host MTU.
pub fn max_pod_mtu(host_mtu: u16, encap: Encapsulation, family: Family) -> u16 {
    host_mtu.saturating_sub(overhead(encap, family))
}

/// Smallest MTU an IP stack must support (RFC 791 datagram size / RFC 8200 link MTU).
pub fn min_mtu(family: Family) -> u16 {
    match family {
        Family::V4 => 576,
        Family::V6 => 1280,
    }
}

/// Checks a requested pod MTU against the host MTU. `requested` 0 means
/// "auto-detect" (Felix's default) and is always accepted.
pub fn check_mtu(
    field: &str,
    requested: u16,
    host_mtu: u16,
    encap: Encapsulation,
    family: Family,
    f: &mut Findings,
) {
    if !HOST_MTU_RANGE.contains(&host_mtu) {
        f.error(
            field,
            format!(
                "the host interface MTU {host_mtu} is not a real Ethernet MTU (valid: {}-{}), \
                 so the pod MTU derived from it would be wrong and packets would be dropped.",
                HOST_MTU_RANGE.start(),
                HOST_MTU_RANGE.end()
            ),
            "give the MTU of the nodes' primary interface: 9001 on most AWS instance types \
             (jumbo frames), 1500 otherwise.",
        );
        return;
    }
    if requested == 0 {
        return;
    }
    let limit = max_pod_mtu(host_mtu, encap, family);
    let oh = overhead(encap, family);
    let fam = family.as_str();
    if requested > limit {
        f.error(
            field,
            format!(
                "MTU {requested} is larger than the host MTU {host_mtu} minus the {oh}-byte \
                 {} overhead over {fam} ({limit}): full-size pod packets no longer fit on the \
                 wire once encapsulated and are dropped or fragmented, so large responses \
                 stall. Felix only warns \"Configured MTU is larger than detected host \
                 interface MTU\".",
                encap.as_str()
            ),
            format!(
                "set it to {limit} or less (AWS: 9001 - 50 = 8951 for VXLAN, 1500 - 50 = 1450), \
                 or to 0 to let Calico detect it."
            ),
        );
        return;
    }
    let min = min_mtu(family);
    if requested < min {
        f.error(
            field,
            format!(
                "MTU {requested} is below the {fam} minimum of {min}: {fam} requires every \
                 link to carry {min}-byte packets, so pod traffic would break."
            ),
            format!("set it between {min} and {limit}, or to 0 to let Calico detect it."),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::finding;
    use Encapsulation::{Ipip, Vxlan, Wireguard};

    #[test]
    fn overheads() {
        assert_eq!(overhead(Vxlan, Family::V4), 50);
        assert_eq!(overhead(Vxlan, Family::V6), 70);
        assert_eq!(overhead(Ipip, Family::V4), 20);
        assert_eq!(overhead(Wireguard, Family::V4), 60);
        assert_eq!(overhead(Wireguard, Family::V6), 80);
        assert_eq!(overhead(Encapsulation::None, Family::V4), 0);
        assert_eq!(overhead(Encapsulation::None, Family::V6), 0);
    }

    #[test]
    fn max_pod_mtu_on_aws() {
        assert_eq!(max_pod_mtu(9001, Vxlan, Family::V4), 8951);
        assert_eq!(max_pod_mtu(1500, Vxlan, Family::V4), 1450);
        assert_eq!(max_pod_mtu(9001, Ipip, Family::V4), 8981);
        assert_eq!(max_pod_mtu(1500, Wireguard, Family::V4), 1440);
        assert_eq!(max_pod_mtu(1500, Vxlan, Family::V6), 1430);
        assert_eq!(max_pod_mtu(9001, Encapsulation::None, Family::V4), 9001);
        assert_eq!(max_pod_mtu(10, Vxlan, Family::V4), 0);
    }

    #[test]
    fn accepts_mtu_within_limit() {
        assert!(finding(|f| check_mtu("veth_mtu", 8951, 9001, Vxlan, Family::V4, f)).is_none());
        assert!(finding(|f| check_mtu("veth_mtu", 1450, 1500, Vxlan, Family::V4, f)).is_none());
        assert!(finding(|f| check_mtu("veth_mtu", 1280, 1500, Vxlan, Family::V6, f)).is_none());
        assert!(finding(|f| check_mtu("veth_mtu", 576, 1500, Vxlan, Family::V4, f)).is_none());
        // 0 = auto-detect.
        assert!(finding(|f| check_mtu("veth_mtu", 0, 9001, Vxlan, Family::V4, f)).is_none());
    }

    #[test]
    fn rejects_mtu_above_host_minus_overhead() {
        let f = finding(|f| check_mtu("veth_mtu", 9001, 9001, Vxlan, Family::V4, f)).unwrap();
        assert_eq!(f.field, "veth_mtu");
        assert!(f.problem.contains("(8951)"), "{}", f.problem);
        assert!(
            f.problem
                .contains("Configured MTU is larger than detected host interface MTU")
        );
        assert!(f.fix.contains("8951 or less"));

        let f = finding(|f| check_mtu("vxlan_mtu", 1451, 1500, Vxlan, Family::V4, f)).unwrap();
        assert!(f.fix.contains("1450 or less"), "{}", f.fix);
        let f = finding(|f| check_mtu("mtu", 1441, 1500, Wireguard, Family::V4, f)).unwrap();
        assert!(f.fix.contains("1440 or less"));
    }

    #[test]
    fn rejects_unusably_small_mtu() {
        let f = finding(|f| check_mtu("veth_mtu", 575, 1500, Vxlan, Family::V4, f)).unwrap();
        assert_eq!(f.field, "veth_mtu");
        assert!(
            f.problem.contains("below the IPv4 minimum of 576"),
            "{}",
            f.problem
        );
        let f = finding(|f| check_mtu("veth_mtu", 1279, 1500, Vxlan, Family::V6, f)).unwrap();
        assert!(f.problem.contains("below the IPv6 minimum of 1280"));
    }

    #[test]
    fn rejects_invalid_host_mtu() {
        for host in [0, 575, 9217, 65535] {
            let f = finding(|f| check_mtu("host_mtu", 0, host, Vxlan, Family::V4, f)).unwrap();
            assert_eq!(f.field, "host_mtu");
            assert!(
                f.problem.contains("not a real Ethernet MTU"),
                "{}",
                f.problem
            );
        }
        assert!(finding(|f| check_mtu("host_mtu", 0, 576, Vxlan, Family::V4, f)).is_none());
        assert!(finding(|f| check_mtu("host_mtu", 0, 9216, Vxlan, Family::V4, f)).is_none());
    }
}
