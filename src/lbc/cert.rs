//! The webhook's serving certificate, made by netpath instead of Helm's
//! `genCA`/`genSignedCert` or cert-manager: a CA (kept in a Secret of its own,
//! mounted nowhere) and a serving certificate for the webhook Service's DNS
//! names signed by it, in the chart's Secret (`kubernetes.io/tls` with
//! `ca.crt`; helm/aws-load-balancer-controller/templates/_helpers.tpl
//! `webhookCerts`). Both are reused while valid, so a second run writes
//! nothing; the serving certificate is renewed before it expires (or on
//! request) with the same CA, so the webhooks' caBundle stays as it is.

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::time::{SystemTime, UNIX_EPOCH};

/// The CA's subject, as the chart names it; fixed, because a reused CA is
/// rebuilt as an issuer from it (rcgen signs with the subject given here).
const CA_NAME: &str = "aws-load-balancer-controller-ca";
/// CA lifetime (the chart's 3650 days).
pub const CA_DAYS: i64 = 3650;

/// PEM texts of a CA or a serving certificate and its key.
#[derive(Clone)]
pub struct Pair {
    pub cert: String,
    pub key: String,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pair { cert, key: ******** }")
    }
}

/// What this run keeps or makes, and why.
#[derive(Debug, Clone)]
pub struct Decision {
    pub ca: Pair,
    pub serving: Pair,
    /// None when reused, else why it was made.
    pub ca_new: Option<String>,
    pub serving_new: Option<String>,
    pub not_after: i64,
    pub ca_not_after: i64,
}

pub struct Want<'a> {
    pub dns_names: &'a [String],
    pub validity_days: i64,
    pub renew_before_days: i64,
    pub renew: bool,
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn at(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn ca_params(not_before: i64, not_after: i64) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, CA_NAME);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = at(not_before);
    p.not_after = at(not_after);
    p
}

pub fn new_ca(now: i64) -> Result<Pair, String> {
    let key = KeyPair::generate().map_err(|e| format!("generating the CA key: {e}"))?;
    let cert = ca_params(now - 300, now + CA_DAYS * 86_400)
        .self_signed(&key)
        .map_err(|e| format!("signing the CA: {e}"))?;
    Ok(Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A serving certificate for `dns_names` (IP addresses too), signed by `ca`.
pub fn new_serving(ca: &Pair, dns_names: &[String], days: i64, now: i64) -> Result<Pair, String> {
    let ca_key = KeyPair::from_pem(&ca.key).map_err(|_| "the CA key does not parse".to_string())?;
    let issuer = Issuer::new(ca_params(0, 0), ca_key);
    let key = KeyPair::generate().map_err(|e| format!("generating the serving key: {e}"))?;
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        dns_names.first().cloned().unwrap_or_default(),
    );
    p.distinguished_name = dn;
    for n in dns_names {
        p.subject_alt_names
            .push(match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(
                    n.clone()
                        .try_into()
                        .map_err(|_| format!("{n:?} is not a DNS name"))?,
                ),
            });
    }
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    p.not_before = at(now - 300);
    p.not_after = at(now + days * 86_400);
    let cert = p
        .signed_by(&key, &issuer)
        .map_err(|e| format!("signing the serving certificate: {e}"))?;
    Ok(Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Keeps what is valid, makes what is not. `ca` and `serving` are what the
/// Secrets hold (None when absent or incomplete); `serving_names` the DNS
/// names the live serving certificate was made for.
pub fn decide(
    want: &Want,
    ca: Option<Pair>,
    serving: Option<(Pair, String, Vec<String>)>,
    now: i64,
) -> Result<Decision, String> {
    let threshold = now + want.renew_before_days * 86_400;
    let (ca, ca_new, ca_not_after) = match ca.map(|p| {
        let na = not_after_pem(&p.cert);
        (p, na)
    }) {
        Some((p, Some(na))) if na > threshold && KeyPair::from_pem(&p.key).is_ok() => (p, None, na),
        Some((_, Some(_))) => {
            let p = new_ca(now)?;
            let na = not_after_pem(&p.cert).unwrap_or(0);
            (
                p,
                Some("the CA expires within the renewal threshold".into()),
                na,
            )
        }
        Some((_, None)) => {
            let p = new_ca(now)?;
            let na = not_after_pem(&p.cert).unwrap_or(0);
            (
                p,
                Some("the CA Secret does not hold a usable certificate".into()),
                na,
            )
        }
        None => {
            let p = new_ca(now)?;
            let na = not_after_pem(&p.cert).unwrap_or(0);
            (p, Some("no CA yet".into()), na)
        }
    };
    let reuse = match &serving {
        None => Err("no serving certificate yet".to_string()),
        Some(_) if ca_new.is_some() => Err("the CA is new".to_string()),
        Some(_) if want.renew => Err("renewal was requested".to_string()),
        Some((_, ca_crt, _)) if ca_crt.trim() != ca.cert.trim() => {
            Err("it was not issued by the CA netpath keeps".to_string())
        }
        Some((_, _, names)) if names.as_slice() != want.dns_names => {
            Err("the webhook Service's DNS names changed".to_string())
        }
        Some((p, _, _)) => match not_after_pem(&p.cert) {
            None => Err("the Secret does not hold a usable certificate".to_string()),
            Some(na) if na <= threshold => {
                Err("it expires within the renewal threshold".to_string())
            }
            Some(_) if KeyPair::from_pem(&p.key).is_err() => {
                Err("the Secret does not hold a usable key".to_string())
            }
            Some(na) => Ok((p.clone(), na)),
        },
    };
    let (serving, serving_new, not_after) = match reuse {
        Ok((p, na)) => (p, None, na),
        Err(why) => {
            let p = new_serving(&ca, want.dns_names, want.validity_days, now)?;
            let na = not_after_pem(&p.cert).unwrap_or(0);
            (p, Some(why), na)
        }
    };
    Ok(Decision {
        ca,
        serving,
        ca_new,
        serving_new,
        not_after,
        ca_not_after,
    })
}

pub fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub fn unb64(v: &serde_json::Value) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v.as_str()?)
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// notAfter of the first certificate in a PEM text, as Unix seconds.
pub fn not_after_pem(pem: &str) -> Option<i64> {
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()?;
    not_after_der(&der)
}

/// One DER TLV: (tag, contents, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, b) = b.split_first()?;
    let (&l0, mut b) = b.split_first()?;
    let len = if l0 < 0x80 {
        l0 as usize
    } else {
        let n = (l0 & 0x7f) as usize;
        if n == 0 || n > 4 || b.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &x in &b[..n] {
            len = (len << 8) | x as usize;
        }
        b = &b[n..];
        len
    };
    (b.len() >= len).then(|| (tag, &b[..len], &b[len..]))
}

/// Certificate → tbsCertificate → [version] serial signature issuer validity
/// (RFC 5280 4.1): the second Time of validity.
fn not_after_der(der: &[u8]) -> Option<i64> {
    let (0x30, cert, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _) = tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let (tag, _, r) = tlv(rest)?;
    rest = if tag == 0xa0 { r } else { rest };
    for _ in 0..3 {
        rest = tlv(rest)?.2; // serialNumber, signature, issuer
    }
    let (0x30, validity, _) = tlv(rest)? else {
        return None;
    };
    let (_, _, r) = tlv(validity)?;
    let (tag, t, _) = tlv(r)?;
    let t = std::str::from_utf8(t).ok()?.strip_suffix('Z')?;
    let (year, t) = match tag {
        0x17 => {
            let y: i64 = t.get(..2)?.parse().ok()?;
            (if y >= 50 { 1900 + y } else { 2000 + y }, t.get(2..)?)
        }
        0x18 => (t.get(..4)?.parse().ok()?, t.get(4..)?),
        _ => return None,
    };
    let n = |i: usize| -> Option<i64> { t.get(i..i + 2)?.parse().ok() };
    let days = days_from_civil(year, n(0)?, n(2)?);
    Some(days * 86_400 + n(4)? * 3600 + n(6)? * 60 + n(8)?)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// An RFC 3339 date for the result (`2027-12-02T10:00:00Z`).
pub fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // The inverse of days_from_civil (same source).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec![
            "svc.ns".to_string(),
            "svc.ns.svc".to_string(),
            "127.0.0.1".to_string(),
        ]
    }

    fn want(names: &[String]) -> Want<'_> {
        Want {
            dns_names: names,
            validity_days: 365,
            renew_before_days: 30,
            renew: false,
        }
    }

    #[test]
    fn validity_is_read_back_from_the_der() {
        let now = 1_800_000_000;
        let ca = new_ca(now).unwrap();
        assert_eq!(not_after_pem(&ca.cert), Some(now + CA_DAYS * 86_400));
        let s = new_serving(&ca, &names(), 365, now).unwrap();
        assert_eq!(not_after_pem(&s.cert), Some(now + 365 * 86_400));
        assert!(s.key.contains("PRIVATE KEY"));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
    }

    #[test]
    fn valid_pairs_are_kept_and_renewed_only_near_expiry_or_on_request() {
        let n = names();
        let now = 1_800_000_000;
        let first = decide(&want(&n), None, None, now).unwrap();
        assert!(first.ca_new.is_some() && first.serving_new.is_some());
        let live = || {
            (
                Some(first.ca.clone()),
                Some((first.serving.clone(), first.ca.cert.clone(), n.clone())),
            )
        };
        let (ca, s) = live();
        let again = decide(&want(&n), ca, s, now + 86_400).unwrap();
        assert!(again.ca_new.is_none() && again.serving_new.is_none());
        assert_eq!(again.serving.key, first.serving.key);

        // 20 days before expiry, inside the 30-day threshold: a new serving
        // certificate from the same CA.
        let (ca, s) = live();
        let late = decide(&want(&n), ca, s, now + 345 * 86_400).unwrap();
        assert!(late.ca_new.is_none());
        assert!(late.serving_new.as_deref().unwrap().contains("threshold"));
        assert_eq!(late.ca.cert, first.ca.cert);
        assert_ne!(late.serving.key, first.serving.key);

        let (ca, s) = live();
        let mut w = want(&n);
        w.renew = true;
        let asked = decide(&w, ca, s, now).unwrap();
        assert!(asked.serving_new.as_deref().unwrap().contains("requested"));

        let other = vec!["svc.other.svc".to_string()];
        let (ca, s) = live();
        let moved = decide(&want(&other), ca, s, now).unwrap();
        assert!(moved.serving_new.as_deref().unwrap().contains("DNS names"));
    }

    #[test]
    fn the_key_is_not_in_debug_output() {
        let ca = new_ca(1_800_000_000).unwrap();
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }
}
