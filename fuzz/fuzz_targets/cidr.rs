//! CIDR parsing: no panic, and the set relations stay consistent for any
//! pair of inputs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netpath::net::cidr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('|').unwrap_or((text, "10.0.0.0/8"));
    let strict = cidr::parse_cidr("f", a);
    let any = cidr::parse_cidr_allow_any("f", a);
    if let Ok(net) = strict {
        // Strict is a subset of allow-any, and the canonical text round-trips.
        assert_eq!(any.as_ref().ok(), Some(&net));
        let canon = cidr::canonical(a).expect("a parsed CIDR has a canonical form");
        assert_eq!(canon, net.to_string());
        assert_eq!(cidr::parse_cidr("f", &canon).ok(), Some(net));
        assert!(net.prefix_len() > 0);
        let _ = cidr::check_not_link_local("f", net);
        if let Ok(other) = cidr::parse_cidr_allow_any("g", b) {
            assert_eq!(cidr::overlaps(net, other), cidr::overlaps(other, net));
            if cidr::contains(net, other) {
                assert!(cidr::overlaps(net, other));
            }
            let found = cidr::check_no_overlap("f", net, &[("other", other)], "why");
            assert_eq!(found.is_empty(), !cidr::overlaps(net, other));
        }
    } else if let Err(f) = &strict {
        assert!(f.is_error() && !f.problem.is_empty());
    }
    let _ = cidr::canonical(b);
});
