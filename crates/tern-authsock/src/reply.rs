//! What the server sends: the handshake and the replies to requests, each a line ending in LF.
//!
//! ```text
//! VERSION TAB 1 TAB 2
//! MECH TAB <name> [TAB <property>]...        (one per mechanism, before SPID: Postfix
//! SPID TAB <pid>                              checks that MECH came first, to tell this
//! CUID TAB <connection number>                socket from Dovecot's auth-master one)
//! COOKIE TAB <32 hex digits>
//! DONE
//!
//! CONT TAB <id> TAB <base64 challenge>
//! OK TAB <id> TAB user=<account>
//! FAIL TAB <id> [TAB reason=<text>] [TAB code=temp_fail TAB temp]
//! ```
//!
//! Values are tab-escaped ([`crate::escape`]). A `FAIL` for wrong credentials carries no
//! reason and no `user=`, so it reads the same whether or not the user exists.
use crate::escape::escape;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use tern_sasl::Mechanism;

/// The protocol version this server speaks (Dovecot 2.3's auth server says 1.2).
pub const VERSION_MAJOR: u32 = 1;
pub const VERSION_MINOR: u32 = 2;

/// The properties announced with a mechanism (what Postfix's
/// `smtpd_sasl_security_options` filter on): PLAIN and LOGIN send the password itself.
pub fn mechanism_properties(m: Mechanism) -> &'static [&'static str] {
    match m {
        Mechanism::Plain | Mechanism::Login => &["plaintext"],
        Mechanism::ScramSha256 | Mechanism::Gssapi => &["mutual-auth"],
    }
}

/// The server's handshake, sent as soon as a client connects.
pub fn handshake(mechanisms: &[Mechanism], spid: u32, cuid: u32, cookie: &[u8; 16]) -> String {
    let mut out = format!("VERSION\t{VERSION_MAJOR}\t{VERSION_MINOR}\n");
    for m in mechanisms {
        out.push_str("MECH\t");
        out.push_str(m.name());
        for p in mechanism_properties(*m) {
            out.push('\t');
            out.push_str(p);
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "SPID\t{spid}\nCUID\t{cuid}\nCOOKIE\t{}\nDONE\n",
        hex::encode(cookie)
    ));
    out
}

/// A reply to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The mechanism's next challenge.
    Cont { id: u32, challenge: Vec<u8> },
    /// Authenticated as `user` (the account's canonical name).
    Ok { id: u32, user: String },
    /// Not authenticated.
    Fail(Fail),
}

/// A `FAIL` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fail {
    pub id: u32,
    /// Shown to the remote user by the client (Postfix: after `535 5.7.8 Error:
    /// authentication failed:`). Never says why credentials were wrong.
    pub reason: Option<&'static str>,
    /// A server-side problem (directory unreachable): try again later.
    pub temporary: bool,
}

impl Fail {
    /// Wrong credentials (or unknown user, disabled account...): no reason given.
    pub fn credentials(id: u32) -> Reply {
        Reply::Fail(Fail {
            id,
            reason: None,
            temporary: false,
        })
    }

    /// A refusal whose reason the remote user may see.
    pub fn because(id: u32, reason: &'static str) -> Reply {
        Reply::Fail(Fail {
            id,
            reason: Some(reason),
            temporary: false,
        })
    }

    /// A temporary failure on this side.
    pub fn temporary(id: u32, reason: &'static str) -> Reply {
        Reply::Fail(Fail {
            id,
            reason: Some(reason),
            temporary: true,
        })
    }
}

impl Reply {
    /// The request this replies to.
    pub fn id(&self) -> u32 {
        match self {
            Reply::Cont { id, .. } | Reply::Ok { id, .. } => *id,
            Reply::Fail(f) => f.id,
        }
    }

    /// The wire form, LF included.
    pub fn to_line(&self) -> String {
        match self {
            Reply::Cont { id, challenge } => format!("CONT\t{id}\t{}\n", B64.encode(challenge)),
            Reply::Ok { id, user } => format!("OK\t{id}\tuser={}\n", escape(user)),
            Reply::Fail(f) => {
                let mut line = format!("FAIL\t{}", f.id);
                if let Some(reason) = f.reason {
                    line.push_str("\treason=");
                    line.push_str(&escape(reason));
                }
                if f.temporary {
                    // `code=temp_fail` since Dovecot 2.3, the `temp` flag before it.
                    line.push_str("\tcode=temp_fail\ttemp");
                }
                line.push('\n');
                line
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_lists_mechanisms_before_spid() {
        let h = handshake(
            &[Mechanism::Plain, Mechanism::Login, Mechanism::ScramSha256],
            77,
            3,
            &[0xab; 16],
        );
        assert_eq!(
            h,
            "VERSION\t1\t2\n\
             MECH\tPLAIN\tplaintext\n\
             MECH\tLOGIN\tplaintext\n\
             MECH\tSCRAM-SHA-256\tmutual-auth\n\
             SPID\t77\nCUID\t3\n\
             COOKIE\tabababababababababababababababab\n\
             DONE\n"
        );
    }

    #[test]
    fn replies() {
        assert_eq!(
            Reply::Cont {
                id: 4,
                challenge: b"Username:".to_vec()
            }
            .to_line(),
            "CONT\t4\tVXNlcm5hbWU6\n"
        );
        assert_eq!(
            Reply::Cont {
                id: 4,
                challenge: vec![]
            }
            .to_line(),
            "CONT\t4\t\n"
        );
        assert_eq!(
            Reply::Ok {
                id: 1,
                user: "alice@example.test".into()
            }
            .to_line(),
            "OK\t1\tuser=alice@example.test\n"
        );
        assert_eq!(
            Reply::Ok {
                id: 1,
                user: "odd\tname".into()
            }
            .to_line(),
            "OK\t1\tuser=odd\x01tname\n"
        );
        assert_eq!(Fail::credentials(2).to_line(), "FAIL\t2\n");
        assert_eq!(
            Fail::because(2, "Unsupported authentication mechanism").to_line(),
            "FAIL\t2\treason=Unsupported authentication mechanism\n"
        );
        assert_eq!(
            Fail::temporary(2, "Temporary authentication failure").to_line(),
            "FAIL\t2\treason=Temporary authentication failure\tcode=temp_fail\ttemp\n"
        );
    }
}
