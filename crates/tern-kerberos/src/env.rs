//! The private krb5 profile and the environment that points MIT krb5 at it.
use crate::KerberosConfig;
use std::path::{Path, PathBuf};

/// The generated profile's file name inside the data folder.
pub const KRB5_CONF_FILE: &str = "krb5.conf";

/// The profile for `config`: our realm and KDCs only, no DNS lookups, no reverse DNS
/// (names are what the config says), TCP first (no UDP size surprises on loopback).
pub fn krb5_conf(config: &KerberosConfig) -> String {
    profile(&config.realm, &config.kdcs, Some(&config.keytab))
}

/// A profile for one realm and its KDCs, with `keytab` as the default (acceptor) keytab.
pub fn profile(realm: &str, kdcs: &[String], keytab: Option<&Path>) -> String {
    let mut s = String::new();
    s.push_str("# Written by tern from its config; changes here are overwritten.\n");
    s.push_str("[libdefaults]\n");
    s.push_str(&format!(" default_realm = {realm}\n"));
    s.push_str(" dns_lookup_kdc = false\n dns_lookup_realm = false\n");
    s.push_str(" rdns = false\n dns_canonicalize_hostname = false\n");
    s.push_str(" udp_preference_limit = 1\n");
    if let Some(keytab) = keytab {
        s.push_str(&format!(
            " default_keytab_name = FILE:{}\n",
            keytab.display()
        ));
    }
    s.push_str("[realms]\n");
    s.push_str(&format!(" {realm} = {{\n"));
    for kdc in kdcs {
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
    let path = write_profile(data_dir, &krb5_conf(config))?;
    let keytab = format!("FILE:{}", config.keytab.display());
    // SAFETY: documented precondition: no other thread exists yet.
    unsafe {
        std::env::set_var("KRB5_CONFIG", &path);
        std::env::set_var("KRB5_KTNAME", keytab);
        std::env::set_var("KRB5CCNAME", MEMORY_CACHE);
        // The KDC's own profile is none of our business.
        std::env::remove_var("KRB5_KDC_PROFILE");
    }
    Ok(path)
}

/// The process's credential cache: in memory, never a ticket file.
pub const MEMORY_CACHE: &str = "MEMORY:tern";

/// Where the initiator side (the directory's GSSAPI service bind) gets its credentials.
#[derive(Clone, Debug)]
pub struct ClientIdentity {
    /// The client keytab holding the service account's key (`KRB5_CLIENT_KTNAME`).
    pub keytab: PathBuf,
    /// The realm and its KDCs when `[kerberos]` does not say them (its profile is used when
    /// it does): Active Directory's realm is its DNS domain, and every DC is a KDC.
    pub realm: Option<(String, Vec<String>)>,
}

/// Points MIT krb5's initiator at `client`: `KRB5_CLIENT_KTNAME` (the client keytab: MIT
/// krb5 gets initial credentials from it when the cache has none, and fresh ones once the
/// cached TGT is half-way to expiry) and `KRB5CCNAME` (the memory cache, so neither a
/// ticket file nor the invoking user's own tickets are ever used). With `client.realm`, also
/// writes `data_dir/krb5.conf` for it and sets `KRB5_CONFIG`; call after
/// [`prepare_environment`] (which wins: give `realm: None` when `[kerberos]` is set).
///
/// Same precondition as [`prepare_environment`]: no other thread exists yet.
pub fn prepare_client_environment(
    data_dir: &Path,
    client: &ClientIdentity,
) -> std::io::Result<Option<PathBuf>> {
    let path = match &client.realm {
        Some((realm, kdcs)) => Some(write_profile(data_dir, &profile(realm, kdcs, None))?),
        None => None,
    };
    let keytab = format!("FILE:{}", client.keytab.display());
    // SAFETY: documented precondition: no other thread exists yet.
    unsafe {
        if let Some(path) = &path {
            std::env::set_var("KRB5_CONFIG", path);
            std::env::remove_var("KRB5_KDC_PROFILE");
        }
        std::env::set_var("KRB5_CLIENT_KTNAME", keytab);
        std::env::set_var("KRB5CCNAME", MEMORY_CACHE);
    }
    Ok(path)
}

fn write_profile(data_dir: &Path, text: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join(KRB5_CONF_FILE);
    let tmp = data_dir.join(format!("{KRB5_CONF_FILE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn profile_of_the_kerberos_table() {
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

    #[test]
    fn profile_without_a_service_keytab() {
        let s = super::profile("EXAMPLE.TEST", &["127.0.0.2:88".into()], None);
        assert!(s.contains(" default_realm = EXAMPLE.TEST\n"), "{s}");
        assert!(
            s.contains(" EXAMPLE.TEST = {\n  kdc = 127.0.0.2:88\n }\n"),
            "{s}"
        );
        assert!(!s.contains("default_keytab_name"), "{s}");
    }
}
