//! The ALB annotation parsers and Ingress/Service rules, and the Calico
//! selector parser: any text gives findings or none, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netpath::alb::rules;
use netpath::calico::selector;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    let f = "x";
    match pick % 16 {
        0 => {
            if let Ok(listeners) = rules::parse_listen_ports(f, s) {
                assert!(!listeners.is_empty());
                // What we render parses back to the same listeners.
                let again = rules::parse_listen_ports(f, &rules::render_listen_ports(&listeners));
                assert_eq!(again.ok(), Some(listeners.clone()));
                for (_, port) in &listeners {
                    let _ = rules::check_ssl_redirect(f, *port, &listeners);
                }
            }
        }
        1 => {
            let _ = selector::validate_selector(f, s);
        }
        2 => {
            let _ = rules::check_host(f, s);
        }
        3 => {
            for pt in ["Exact", "Prefix", "ImplementationSpecific", "Other"] {
                let _ = rules::check_path(f, s, pt);
            }
        }
        4 => {
            let _ = rules::check_stringmap(f, s);
        }
        5 => {
            let _ = rules::check_success_codes(f, s, false);
            let _ = rules::check_success_codes(f, s, true);
        }
        6 => {
            let _ = rules::check_group_name(f, s);
        }
        7 => {
            let _ = rules::check_certificate_arn(f, s);
        }
        8 => {
            let _ = rules::check_load_balancer_name(f, s);
        }
        9 => {
            let _ = rules::check_healthcheck_port(f, s);
            let _ = rules::check_healthcheck_path(f, s);
        }
        10 => {
            let items: Vec<&str> = s.split(',').collect();
            let _ = rules::check_subnets(f, &items);
            let _ = rules::check_security_groups(f, &items);
            let _ = rules::check_inbound_cidrs(f, &items);
        }
        11 => {
            let _ = rules::check_port_name(f, s);
            let names: Vec<Option<&str>> =
                s.split(',').map(|n| (!n.is_empty()).then_some(n)).collect();
            let _ = rules::check_ports_named(f, &names);
        }
        12 => {
            for c in [
                rules::check_scheme,
                rules::check_target_type,
                rules::check_ip_address_type,
                rules::check_backend_protocol,
                rules::check_backend_protocol_version,
                rules::check_healthcheck_protocol,
            ] {
                let _ = c(f, s);
            }
        }
        _ => {
            // Numbers: group order, node ports, health-check ranges.
            let n: i64 = s.trim().parse().unwrap_or(i64::from(pick));
            let _ = rules::check_group_order(f, n);
            let _ = rules::check_node_port(f, n, (30000, 32767));
            let _ = rules::check_healthcheck_interval(f, n);
            let _ = rules::check_healthcheck_timeout(f, n, n.wrapping_mul(3));
            let _ = rules::check_healthcheck_threshold(f, n);
            let _ = rules::check_target_port(f, rules::PortRef::Number(n));
        }
    }
});
