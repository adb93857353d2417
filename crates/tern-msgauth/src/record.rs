//! The DNS record that publishes a key (RFC 6376 §3.6.1, RFC 8463 §4.2):
//! `SELECTOR._domainkey.DOMAIN. IN TXT "v=DKIM1; k=rsa; p=..."`, the value split into
//! character-strings of at most 255 octets (RFC 1035 §3.3; RFC 6376 §3.6.2.2: a verifier
//! joins them without spaces), as zone files and DNS admin panels take it.

use crate::keys::KeyInfo;

/// The owner name, fully qualified.
pub fn dns_name(key: &KeyInfo) -> String {
    format!("{}._domainkey.{}.", key.selector, key.domain)
}

/// The TXT value, unsplit.
pub fn txt_value(key: &KeyInfo) -> String {
    format!(
        "v=DKIM1; k={}; p={}",
        key.algorithm.key_type(),
        key.public_key
    )
}

/// The value as quoted character-strings of at most 255 octets, separated by spaces.
pub fn txt_strings(value: &str) -> String {
    value
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The zone-file line: `NAME IN TXT "..." "..."`.
pub fn zone_line(key: &KeyInfo) -> String {
    format!("{} IN TXT {}", dns_name(key), txt_strings(&txt_value(key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;

    #[test]
    fn long_values_split_at_255() {
        let key = KeyInfo {
            domain: "example.test".into(),
            selector: "s1".into(),
            algorithm: Algorithm::RsaSha256,
            bits: 2048,
            public_key: "A".repeat(392),
            path: "x".into(),
        };
        let line = zone_line(&key);
        let value = txt_value(&key);
        assert_eq!(value.len(), 392 + 18);
        let want = format!(
            "s1._domainkey.example.test. IN TXT \"{}\" \"{}\"",
            &value[..255],
            &value[255..]
        );
        assert_eq!(line, want);
        assert_eq!(txt_strings("short"), "\"short\"");
    }
}
