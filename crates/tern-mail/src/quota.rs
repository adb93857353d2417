//! Sizes as people write them, shared by the config file and the CLI.
//!
//! `parse_size` accepts a number (decimals allowed) with an optional unit, case-insensitive,
//! blanks allowed between: `B`; decimal `K`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB` (powers of
//! 1000, as DESIGN.md's `200MB` means 200 000 000); binary `KiB`, `MiB`, `GiB`, `TiB`
//! (powers of 1024). Everything is `u64`: a 1 TB quota is as ordinary as a 200 MB one.
//! [`parse_quota`] also takes `unlimited` (or `none`) → `None`.

/// A size that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SizeError {
    #[error("empty size")]
    Empty,
    #[error(
        "invalid size {0:?}: expected a number with an optional unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
    )]
    Invalid(String),
    #[error(
        "unknown size unit {unit:?} in {input:?} (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
    )]
    UnknownUnit { input: String, unit: String },
    #[error("size {0:?} is too large")]
    TooLarge(String),
}

const UNITS: [(&str, u64); 13] = [
    ("b", 1),
    ("k", 1000),
    ("kb", 1000),
    ("m", 1000 * 1000),
    ("mb", 1000 * 1000),
    ("g", 1000 * 1000 * 1000),
    ("gb", 1000 * 1000 * 1000),
    ("t", 1000 * 1000 * 1000 * 1000),
    ("tb", 1000 * 1000 * 1000 * 1000),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
];

/// Parses a size in bytes: `"200MB"` → 200 000 000, `"1.5 GiB"` → 1 610 612 736, `"512"` → 512.
pub fn parse_size(input: &str) -> Result<u64, SizeError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(SizeError::Empty);
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (number, unit) = (s[..split].replace('_', ""), s[split..].trim());
    if number.is_empty() || number.starts_with('.') && number.len() == 1 {
        return Err(SizeError::Invalid(input.to_string()));
    }
    let multiplier = if unit.is_empty() {
        1
    } else {
        let lower = unit.to_ascii_lowercase();
        UNITS
            .iter()
            .find(|(u, _)| *u == lower)
            .map(|(_, m)| *m)
            .ok_or_else(|| SizeError::UnknownUnit {
                input: input.to_string(),
                unit: unit.to_string(),
            })?
    };
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) if !f.contains('.') => (i, f),
        Some(_) => return Err(SizeError::Invalid(input.to_string())),
        None => (number.as_str(), ""),
    };
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse()
            .map_err(|_| SizeError::TooLarge(input.to_string()))?
    };
    let mut bytes = int
        .checked_mul(multiplier)
        .ok_or_else(|| SizeError::TooLarge(input.to_string()))?;
    if !frac.is_empty() {
        // Exact decimal fraction of the unit, rounded down to whole bytes.
        let digits = &frac[..frac.len().min(18)];
        let scale = 10u128.pow(digits.len() as u32);
        let value: u128 = digits
            .parse()
            .map_err(|_| SizeError::Invalid(input.to_string()))?;
        let extra = u64::try_from(value * u128::from(multiplier) / scale)
            .map_err(|_| SizeError::TooLarge(input.to_string()))?;
        bytes = bytes
            .checked_add(extra)
            .ok_or_else(|| SizeError::TooLarge(input.to_string()))?;
    }
    Ok(bytes)
}

/// Parses a quota: a size, or `unlimited` / `none` for no limit (`None`).
pub fn parse_quota(input: &str) -> Result<Option<u64>, SizeError> {
    let s = input.trim();
    if s.eq_ignore_ascii_case("unlimited") || s.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    parse_size(s).map(Some)
}

/// Formats a size for people, in decimal units with at most two decimals:
/// 200 000 000 → `"200MB"`, 1 500 000 000 → `"1.5GB"`, 999 → `"999B"`.
/// Exact multiples of a binary unit that are not decimal round numbers use it
/// (1 073 741 824 → `"1GiB"`), so configured values read back as written.
pub fn format_size(bytes: u64) -> String {
    const DECIMAL: [(&str, u64); 4] = [
        ("TB", 1_000_000_000_000),
        ("GB", 1_000_000_000),
        ("MB", 1_000_000),
        ("KB", 1_000),
    ];
    const BINARY: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    let hundredths = |m: u64| {
        (
            u128::from(bytes) * 100 / u128::from(m),
            u128::from(bytes) * 100 % u128::from(m) == 0,
        )
    };
    // Exact in a decimal unit with at most two decimals.
    for (unit, m) in DECIMAL {
        if let (h, true) = hundredths(m)
            && bytes >= m
        {
            return decimal(h, unit);
        }
    }
    for (unit, m) in BINARY {
        if bytes >= m && bytes.is_multiple_of(m) {
            return format!("{}{unit}", bytes / m);
        }
    }
    // Approximate, in the largest decimal unit.
    for (unit, m) in DECIMAL {
        if bytes >= m {
            return decimal(hundredths(m).0, unit);
        }
    }
    format!("{bytes}B")
}

fn decimal(hundredths: u128, unit: &str) -> String {
    let (whole, frac) = (hundredths / 100, hundredths % 100);
    match frac {
        0 => format!("{whole}{unit}"),
        f if f % 10 == 0 => format!("{whole}.{}{unit}", f / 10),
        f => format!("{whole}.{f:02}{unit}"),
    }
}

/// Formats a quota: `None` → `"unlimited"`.
pub fn format_quota(quota: Option<u64>) -> String {
    quota.map_or_else(|| "unlimited".to_string(), format_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        let cases = [
            ("0", 0),
            ("512", 512),
            ("512B", 512),
            ("200MB", 200_000_000),
            ("200mb", 200_000_000),
            ("200 MB", 200_000_000),
            ("1GB", 1_000_000_000),
            ("5 gb", 5_000_000_000),
            ("2TB", 2_000_000_000_000),
            ("1.5GB", 1_500_000_000),
            ("0.5k", 500),
            ("1KiB", 1024),
            ("1.5 GiB", 1_610_612_736),
            ("4GiB", 4 * (1 << 30)),
            ("16 TiB", 16 * (1 << 40)),
            ("1_000", 1000),
            ("  10M  ", 10_000_000),
        ];
        for (input, want) in cases {
            assert_eq!(parse_size(input), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn rejects_bad_sizes() {
        assert_eq!(parse_size(""), Err(SizeError::Empty));
        assert!(matches!(parse_size("MB"), Err(SizeError::Invalid(_))));
        assert!(matches!(parse_size("."), Err(SizeError::Invalid(_))));
        assert!(matches!(parse_size("1.2.3MB"), Err(SizeError::Invalid(_))));
        assert!(matches!(parse_size("-5MB"), Err(SizeError::Invalid(_))));
        assert!(matches!(
            parse_size("10 parsecs"),
            Err(SizeError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_size("99999999999999999999"),
            Err(SizeError::TooLarge(_))
        ));
        assert!(matches!(
            parse_size("20000000 TB"),
            Err(SizeError::TooLarge(_))
        ));
    }

    #[test]
    fn quotas() {
        assert_eq!(parse_quota("unlimited"), Ok(None));
        assert_eq!(parse_quota("UNLIMITED"), Ok(None));
        assert_eq!(parse_quota("none"), Ok(None));
        assert_eq!(parse_quota("1GB"), Ok(Some(1_000_000_000)));
        assert_eq!(format_quota(None), "unlimited");
        assert_eq!(format_quota(Some(200_000_000)), "200MB");
    }

    #[test]
    fn formats_sizes_and_round_trips() {
        let cases = [
            (0, "0B"),
            (999, "999B"),
            (1000, "1KB"),
            (1024, "1KiB"),
            (200_000_000, "200MB"),
            (1_500_000_000, "1.5GB"),
            (1_234_567, "1.23MB"),
            (1_073_741_824, "1GiB"),
            (5_000_000_000_000, "5TB"),
            (u64::MAX, "18446744.07TB"),
        ];
        for (bytes, want) in cases {
            assert_eq!(format_size(bytes), want, "{bytes}");
        }
        for bytes in [0, 1, 1000, 1024, 200_000_000, 1 << 30, 3_000_000_000_000] {
            assert_eq!(parse_size(&format_size(bytes)), Ok(bytes));
        }
    }
}
