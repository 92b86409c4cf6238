//! Calico's encapsulation settings in one place: an IPPool's `vxlanMode`
//! and `ipipMode`, the `calico_backend` of calico-config, and the overlay
//! (netpath's `encapsulation`) they amount to.

use crate::net::mtu::Encapsulation;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An IPPool's `vxlanMode` or `ipipMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum PoolMode {
    Always,
    CrossSubnet,
    Never,
}

impl PoolMode {
    /// The spec's choices, in Calico's spelling.
    pub const NAMES: &'static [&'static str] = &["Always", "CrossSubnet", "Never"];

    pub fn as_str(self) -> &'static str {
        match self {
            PoolMode::Always => "Always",
            PoolMode::CrossSubnet => "CrossSubnet",
            PoolMode::Never => "Never",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Always" => Some(PoolMode::Always),
            "CrossSubnet" => Some(PoolMode::CrossSubnet),
            "Never" => Some(PoolMode::Never),
            _ => None,
        }
    }

    /// Whether packets are encapsulated at all (CrossSubnet: between subnets).
    pub fn is_on(self) -> bool {
        self != PoolMode::Never
    }

    /// A live pool's field (`spec.vxlanMode`): unset or unknown is off, as
    /// Calico reads it.
    pub fn of(v: &Value) -> PoolMode {
        v.as_str()
            .and_then(PoolMode::parse)
            .unwrap_or(PoolMode::Never)
    }

    /// A pool's `vxlanMode` when none is given: the seed's VXLAN, unless
    /// IP-in-IP is on or the pool holds LoadBalancer addresses (never
    /// tunnelled).
    pub fn default_vxlan(ipip: PoolMode, load_balancer: bool) -> PoolMode {
        if ipip.is_on() || load_balancer {
            PoolMode::Never
        } else {
            PoolMode::Always
        }
    }
}

impl std::fmt::Display for PoolMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The overlay a pool's modes give: IP-in-IP when ipipMode is on, else
/// VXLAN when vxlanMode is, else none.
pub fn encapsulation(vxlan: PoolMode, ipip: PoolMode) -> Encapsulation {
    if ipip.is_on() {
        Encapsulation::Ipip
    } else if vxlan.is_on() {
        Encapsulation::Vxlan
    } else {
        Encapsulation::None
    }
}

/// calico-config's `calico_backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// VXLAN only, no BGP.
    Vxlan,
    /// BGP (BIRD); IP-in-IP routes come from it.
    Bird,
    None,
}

impl Backend {
    pub const NAMES: &'static [&'static str] = &["vxlan", "bird", "none"];

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Vxlan => "vxlan",
            Backend::Bird => "bird",
            Backend::None => "none",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn modes_and_the_overlay_they_give() {
        for name in PoolMode::NAMES {
            let m = PoolMode::parse(name).unwrap();
            assert_eq!(m.as_str(), *name);
            assert_eq!(serde_json::from_value::<PoolMode>(json!(name)).unwrap(), m);
        }
        assert!(PoolMode::CrossSubnet.is_on() && !PoolMode::Never.is_on());
        assert_eq!(PoolMode::of(&json!(null)), PoolMode::Never);
        assert_eq!(PoolMode::of(&json!("CrossSubnet")), PoolMode::CrossSubnet);
        use PoolMode::*;
        assert_eq!(encapsulation(Always, Never), Encapsulation::Vxlan);
        assert_eq!(encapsulation(Never, CrossSubnet), Encapsulation::Ipip);
        assert_eq!(encapsulation(Never, Never), Encapsulation::None);
        assert_eq!(PoolMode::default_vxlan(Never, false), Always);
        assert_eq!(PoolMode::default_vxlan(Always, false), Never);
        assert_eq!(PoolMode::default_vxlan(Never, true), Never);
        for name in Backend::NAMES {
            let b: Backend = serde_json::from_value(json!(name)).unwrap();
            assert_eq!(b.as_str(), *name);
        }
    }
}
