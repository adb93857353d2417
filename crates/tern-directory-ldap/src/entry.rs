//! A search result entry with case-insensitive attribute names (servers answer with their
//! own spelling: AD says `sAMAccountName` whatever the request said).
use ldap3::SearchEntry;
use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct Entry {
    pub dn: String,
    attrs: HashMap<String, Vec<String>>,
}

impl Entry {
    pub fn new(e: SearchEntry) -> Entry {
        let mut attrs: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in e.attrs {
            attrs.entry(k.to_ascii_lowercase()).or_default().extend(v);
        }
        Entry { dn: e.dn, attrs }
    }

    /// The first value of an attribute.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.all(name).first().map(String::as_str)
    }

    /// Every value of an attribute (empty if absent).
    pub fn all(&self, name: &str) -> &[String] {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// The first value as an integer (AD keeps large integers as decimal text).
    pub fn int(&self, name: &str) -> Option<i128> {
        self.first(name)?.trim().parse().ok()
    }

    /// Every object class, lower-case.
    pub fn has_class(&self, class: &str) -> bool {
        self.all("objectClass")
            .iter()
            .any(|c| c.eq_ignore_ascii_case(class))
    }

    #[cfg(test)]
    pub fn with(dn: &str, attrs: &[(&str, &[&str])]) -> Entry {
        Entry {
            dn: dn.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_ascii_lowercase(),
                        v.iter().map(|s| s.to_string()).collect(),
                    )
                })
                .collect(),
        }
    }
}

/// The value of the first RDN of a DN: `CN=Mail Users,CN=Users,DC=x` → `Mail Users`.
pub fn rdn_value(dn: &str) -> &str {
    let first = split_first_rdn(dn);
    first.split_once('=').map_or(first, |(_, v)| v.trim())
}

/// The first RDN, honouring `\,` escapes.
fn split_first_rdn(dn: &str) -> &str {
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b',' => return &dn[..i],
            _ => i += 1,
        }
    }
    dn
}

/// Canonical form for comparing DNs: lower-case, no spaces around `,` and `=`.
pub fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| match rdn.split_once('=') {
            Some((k, v)) => format!("{}={}", k.trim(), v.trim()),
            None => rdn.trim().to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// The DNS domain of the `DC=` components of a DN: `OU=x,DC=Example,DC=Test` → `example.test`.
pub fn dns_domain(dn: &str) -> String {
    dn.split(',')
        .filter_map(|rdn| {
            let (k, v) = rdn.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("dc")
                .then(|| v.trim().to_lowercase())
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The DN of the `DC=` components only (the domain's naming context).
pub fn domain_dn(dn: &str) -> String {
    dn.split(',')
        .filter(|rdn| {
            rdn.split_once('=')
                .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("dc"))
        })
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_helpers() {
        assert_eq!(rdn_value("CN=Mail Users,CN=Users,DC=x"), "Mail Users");
        assert_eq!(rdn_value("CN=Doe\\, John,OU=x"), "Doe\\, John");
        assert_eq!(
            normalize_dn("CN=A B, DC=Example,DC = Test"),
            "cn=a b,dc=example,dc=test"
        );
        assert_eq!(dns_domain("OU=x,DC=Example,DC=Test"), "example.test");
        assert_eq!(domain_dn("OU=x, DC=Example,DC=Test"), "DC=Example,DC=Test");
    }
}
