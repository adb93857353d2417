//! The private krb5 profile and the environment that points MIT krb5 at it.
use crate::KerberosConfig;
use std::path::{Path, PathBuf};

/// The generated profile's file name inside the data folder.
pub const KRB5_CONF_FILE: &str = "krb5.conf";

/// The profile for `config`: our realm and KDCs only, no DNS lookups, no reverse DNS
/// (names are what the config says), TCP first (no UDP size surprises on loopback).
pub fn krb5_conf(config: &KerberosConfig) -> String {
    let mut s = String::new();
    s.push_str("# Written by tern serve from [kerberos]; changes here are overwritten.\n");
    s.push_str("[libdefaults]\n");
    s.push_str(&format!(" default_realm = {}\n", config.realm));
    s.push_str(" dns_lookup_kdc = false\n dns_lookup_realm = false\n");
    s.push_str(" rdns = false\n dns_canonicalize_hostname = false\n");
    s.push_str(" udp_preference_limit = 1\n");
    s.push_str(&format!(
        " default_keytab_name = FILE:{}\n",
        config.keytab.display()
    ));
    s.push_str("[realms]\n");
    s.push_str(&format!(" {} = {{\n", config.realm));
    for kdc in &config.kdcs {
        s.push_str(&format!("  kdc = {kdc}\n"));
    }
    s.push_str(" }\n");
    s
}

/// Writes `data_dir/krb5.conf` for `config` and sets `KRB5_CONFIG`, `KRB5_KTNAME` and
/// `KRB5CCNAME` (a memory cache) for this process. Returns the profile's path.
///
/// Changes the process environment: call it before any other thread exists (in `main`,
/// before the async runtime starts), and before any krb5 call. (`std::env::set_var` is
/// only sound while no other thread reads the environment; `tern serve` calls this before
/// its runtime starts.)
pub fn prepare_environment(data_dir: &Path, config: &KerberosConfig) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join(KRB5_CONF_FILE);
    let tmp = data_dir.join(format!("{KRB5_CONF_FILE}.tmp"));
    std::fs::write(&tmp, krb5_conf(config))?;
    std::fs::rename(&tmp, &path)?;
    let keytab = format!("FILE:{}", config.keytab.display());
    // SAFETY: documented precondition: no other thread exists yet.
    unsafe {
        std::env::set_var("KRB5_CONFIG", &path);
        std::env::set_var("KRB5_KTNAME", keytab);
        std::env::set_var("KRB5CCNAME", "MEMORY:tern");
        // The KDC's own profile is none of our business.
        std::env::remove_var("KRB5_KDC_PROFILE");
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn profile() {
        let c = KerberosConfig {
            realm: "MIT.TEST".into(),
            kdcs: vec!["127.0.0.1:10088".into(), "kdc2.mit.test".into()],
            keytab: "/srv/tern/imap.keytab".into(),
            service_principals: vec![],
            principal_map: Default::default(),
            timeout: Duration::from_secs(5),
        };
        let s = krb5_conf(&c);
        assert!(s.contains(" default_realm = MIT.TEST\n"), "{s}");
        assert!(s.contains(" MIT.TEST = {\n  kdc = 127.0.0.1:10088\n  kdc = kdc2.mit.test\n }\n"));
        assert!(s.contains("default_keytab_name = FILE:/srv/tern/imap.keytab"));
        assert!(s.contains("dns_lookup_kdc = false"));
    }
}
