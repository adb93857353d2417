//! The default password check: a simple bind as the user's DN on a bind-only connection.
use crate::pool::{Pool, is_transport, map_err};
use async_trait::async_trait;
use ldap3::LdapError;
use std::sync::Arc;
use tern_directory::{
    DirectoryError, DirectoryResult, PasswordCheck, PasswordSubject, PasswordVerifier,
};

/// Binds as the subject's DN with the password (search-then-bind's second half).
pub struct LdapBindVerifier {
    pool: Arc<Pool>,
}

impl LdapBindVerifier {
    pub(crate) fn new(pool: Arc<Pool>) -> LdapBindVerifier {
        LdapBindVerifier { pool }
    }
}

#[async_trait]
impl PasswordVerifier for LdapBindVerifier {
    async fn verify(
        &self,
        subject: PasswordSubject<'_>,
        password: &str,
    ) -> DirectoryResult<PasswordCheck> {
        let Some(dn) = subject.dn else {
            return Ok(PasswordCheck::Rejected {
                reason: "the directory entry has no DN to bind as".into(),
            });
        };
        if password.is_empty() {
            // RFC 4513 §5.1.2: a DN with an empty password is an unauthenticated bind.
            return Ok(PasswordCheck::Rejected {
                reason: "empty password".into(),
            });
        }
        for attempt in 0..2 {
            let mut conn = self.pool.get(attempt > 0).await?;
            let res = conn
                .ldap
                .with_timeout(self.pool.timeout())
                .simple_bind(dn, password)
                .await;
            match res {
                Ok(r) if r.rc == 0 => {
                    self.pool.put(conn);
                    return Ok(PasswordCheck::Valid);
                }
                Ok(r) if r.rc == 49 || r.rc == 53 => {
                    self.pool.put(conn);
                    return Ok(PasswordCheck::Rejected {
                        reason: bind_refusal(&r.text),
                    });
                }
                Ok(r) => {
                    let e = LdapError::LdapResult { result: r };
                    if is_transport(&e) && attempt == 0 {
                        continue;
                    }
                    return Err(map_err(&format!("bind as {dn} on {}", conn.url), e));
                }
                Err(e) if is_transport(&e) && attempt == 0 => continue,
                Err(e) => return Err(map_err(&format!("bind as {dn} on {}", conn.url), e)),
            }
        }
        Err(DirectoryError::Unavailable("user bind failed twice".into()))
    }

    fn name(&self) -> &'static str {
        "ldap-bind"
    }
}

/// A bind refusal for the log. Active Directory explains itself in the diagnostic text
/// (`... AcceptSecurityContext error, data 533, v893`): the `data` code says why.
pub fn bind_refusal(text: &str) -> String {
    let code = text.split("data ").nth(1).map(|t| {
        t.split([',', ' '])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    });
    let why = match code.as_deref() {
        Some("525") => "no such user",
        Some("52e") => "wrong password",
        Some("530") => "logon not permitted at this time",
        Some("531") => "logon not permitted from this workstation",
        Some("532") => "password expired",
        Some("533") => "account disabled",
        Some("701") => "account expired",
        Some("773") => "password must be changed",
        Some("775") => "account locked out",
        _ => "invalid credentials",
    };
    if text.trim().is_empty() {
        why.to_string()
    } else {
        format!("{why} ({})", text.trim().trim_end_matches('\0'))
    }
}

#[cfg(test)]
mod tests {
    use super::bind_refusal;

    #[test]
    fn reads_ad_bind_codes() {
        let t = "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data 533, v4563";
        assert!(bind_refusal(t).starts_with("account disabled"));
        assert!(bind_refusal("... data 52e, v893").starts_with("wrong password"));
        assert!(bind_refusal("... data 775, v893").starts_with("account locked out"));
        assert_eq!(bind_refusal(""), "invalid credentials");
    }
}
