//! Resource quantities as the API server stores them (apimachinery
//! resource.Quantity's canonical form: `2000m` is kept as `2`, `1024Mi` as
//! `1Gi`), so a Deployment written with them compares equal to the live one
//! and a second run writes nothing.

const BINARY: &[&str] = &["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
/// Decimal suffixes from milli (10^-3) up, one per power of 1000.
const DECIMAL: &[&str] = &["m", "", "k", "M", "G", "T", "P", "E"];

/// The canonical text of `s`, or why it is not a quantity netpath writes.
pub fn canonical(s: &str) -> Result<String, String> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{s:?} is not a quantity (e.g. 100m, 0.5, 128Mi, 1Gi)"
        ));
    }
    let digits = |t: &str| t.parse::<u128>().map_err(|_| format!("{s:?} is too large"));
    if let Some(e) = BINARY.iter().position(|b| !b.is_empty() && *b == suffix) {
        if !frac.is_empty() {
            return Err(format!(
                "{s:?}: write binary quantities as whole numbers (e.g. {}Mi)",
                digits(int).unwrap_or(0) * 1024
            ));
        }
        let bytes = digits(int)?
            .checked_mul(1024u128.pow(e as u32))
            .ok_or(format!("{s:?} is too large"))?;
        if bytes == 0 {
            return Ok("0".into());
        }
        // Below 1Ki the server keeps a plain (decimal) number.
        if bytes < 1024 {
            return decimal(bytes * 1000);
        }
        let mut e = 0;
        while e + 1 < BINARY.len() && bytes.is_multiple_of(1024u128.pow(e as u32 + 1)) {
            e += 1;
        }
        return Ok(format!("{}{}", bytes / 1024u128.pow(e as u32), BINARY[e]));
    }
    let Some(k) = DECIMAL.iter().position(|d| *d == suffix) else {
        return Err(format!(
            "{s:?} has an unknown suffix {suffix:?} (m, k, M, G, T, Ki, Mi, Gi, Ti)"
        ));
    };
    // In milli-units: the finest the server keeps.
    let scale = 1000u128.pow(k as u32);
    let frac_digits = frac.len() as u32;
    let whole = digits(&format!("{int}{frac}"))?;
    let pow10 = 10u128.pow(frac_digits);
    let milli = whole
        .checked_mul(scale)
        .ok_or(format!("{s:?} is too large"))?;
    if !milli.is_multiple_of(pow10) {
        return Err(format!(
            "{s:?} is finer than a thousandth; the API server would round it up"
        ));
    }
    decimal(milli / pow10)
}

fn decimal(milli: u128) -> Result<String, String> {
    if milli == 0 {
        return Ok("0".into());
    }
    let mut k = 0;
    while k + 1 < DECIMAL.len() && milli.is_multiple_of(1000u128.pow(k as u32 + 1)) {
        k += 1;
    }
    Ok(format!("{}{}", milli / 1000u128.pow(k as u32), DECIMAL[k]))
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn as_the_api_server_stores_them() {
        for (given, stored) in [
            ("100m", "100m"),
            ("0.1", "100m"),
            ("0.5", "500m"),
            ("2000m", "2"),
            ("2", "2"),
            ("1500m", "1500m"),
            ("1000", "1k"),
            ("1000M", "1G"),
            ("128Mi", "128Mi"),
            ("1024Mi", "1Gi"),
            ("1536Mi", "1536Mi"),
            ("512", "512"),
            ("0", "0"),
            ("0Mi", "0"),
        ] {
            assert_eq!(canonical(given).as_deref(), Ok(stored), "{given}");
        }
        for bad in ["", "abc", "1.5Gi", "10x", "0.0001", "-1"] {
            assert!(canonical(bad).is_err(), "{bad}");
        }
    }
}
