//! The mechanism names Tern knows (RFC 4422 §3.1: case-insensitive, upper-case on the wire).

/// A SASL mechanism Tern's server side implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// RFC 4616: `[authzid] NUL authcid NUL passwd` in one message.
    Plain,
    /// draft-murchison-sasl-login: `Username:` then `Password:`.
    Login,
    /// RFC 5802 / RFC 7677, without channel binding (`-PLUS` is not offered).
    ScramSha256,
    /// RFC 4752: Kerberos V5 through GSS-API, no security layer.
    Gssapi,
}

impl Mechanism {
    /// Every mechanism, in Tern's default advertising order.
    pub const ALL: [Mechanism; 4] = [
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::ScramSha256,
        Mechanism::Gssapi,
    ];

    /// The registered name.
    pub const fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::Gssapi => "GSSAPI",
        }
    }

    /// The mechanism a name (any case) stands for.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether the client sends the password itself (so TLS matters for it).
    pub const fn sends_password(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login)
    }
}

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
