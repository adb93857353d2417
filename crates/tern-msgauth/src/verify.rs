//! Inbound verification: SPF (HELO and MAIL FROM identities, RFC 7208 §2.3, §2.4), DKIM
//! (every signature, RFC 6376 §6), ARC (the chain, RFC 8617 §5.2) and DMARC (RFC 7489 §6.6:
//! SPF or DKIM aligned with the `From:` domain), by mail-auth, into one
//! `Authentication-Results:` field (RFC 8601) and an [`Action`].
//!
//! ## What the DMARC policy does
//! Only a DMARC `fail` (no aligned pass, a record found) leads to an action; `temperror`
//! and `permerror` never do (a DNS problem must not bounce mail). The published policy
//! (`p=`, or `sp=`/`np=` for subdomains; `t=y` lowers it by one level) is mapped through
//! [`DmarcHandling`]: by default `p=reject` rejects (`550 5.7.1` at DATA) and
//! `p=quarantine` delivers to Junk; an operator can lower either. An ARC chain that
//! verifies (`arc=pass`) and whose newest seal is by a domain in
//! [`VerifyConfig::trusted_arc_sealers`] (a mailing list the site trusts) overrides the
//! policy (RFC 8617 §7.2.1, RFC 7489 §6.7 local policy); the header still says
//! `dmarc=fail`.
//!
//! ## What the header says
//! `Authentication-Results: HOSTNAME; dkim=... header.d=... header.s=...; spf=...
//! smtp.mailfrom=...; arc=... smtp.remote-ip=...; dmarc=... header.from=...
//! policy.dmarc=...`, mail-auth's wording, folded. Any field that arrived claiming HOSTNAME
//! is listed in [`Outcome::forged`] for removal (RFC 8601 §5).

use crate::fields::forged_results;
use crate::resolver::{ResolverError, authenticator};
use mail_auth::common::headers::HeaderWriter as _;
use mail_auth::dkim::DkimError;
use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::spf::verify::SpfParameters;
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DkimOutput, DkimResult, DmarcResult, Error,
    MessageAuthenticator, SpfResult,
};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

/// What to do with a message that fails DMARC under a given published policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmarcHandling {
    /// Refuse it at DATA (`550 5.7.1`).
    Reject,
    /// Deliver it to the Junk folder.
    Quarantine,
    /// Deliver it normally (the header still records the failure).
    None,
}

impl DmarcHandling {
    /// From the config value `"reject"`, `"quarantine"` or `"none"`.
    pub fn parse(value: &str) -> Option<DmarcHandling> {
        match value {
            "reject" => Some(DmarcHandling::Reject),
            "quarantine" => Some(DmarcHandling::Quarantine),
            "none" => Some(DmarcHandling::None),
            _ => None,
        }
    }
}

/// The verifier's settings.
#[derive(Clone, Debug)]
pub struct VerifyConfig {
    /// This host's name: the authserv-id of the header we write (and of forged ones).
    pub hostname: String,
    /// What a DMARC failure under `p=reject` does (default: reject).
    pub on_reject_policy: DmarcHandling,
    /// What a DMARC failure under `p=quarantine` does (default: quarantine).
    pub on_quarantine_policy: DmarcHandling,
    /// ARC sealers (`d=` of the newest ARC-Seal, lower case) whose passing chain overrides a
    /// DMARC failure.
    pub trusted_arc_sealers: Vec<String>,
}

impl VerifyConfig {
    /// Honour published policies, trust no sealer.
    pub fn new(hostname: impl Into<String>) -> VerifyConfig {
        VerifyConfig {
            hostname: hostname.into(),
            on_reject_policy: DmarcHandling::Reject,
            on_quarantine_policy: DmarcHandling::Quarantine,
            trusted_arc_sealers: Vec::new(),
        }
    }
}

/// The SMTP client and envelope of the message being verified.
#[derive(Clone, Copy, Debug)]
pub struct Client<'a> {
    pub ip: IpAddr,
    /// The EHLO/HELO name.
    pub helo: &'a str,
    /// The reverse-path; empty for `<>`.
    pub mail_from: &'a str,
}

/// What happens to the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Deliver,
    /// Deliver to Junk.
    Junk,
    /// Refuse with `550 5.7.1` and this text.
    Reject(String),
}

/// The verification's result.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The complete `Authentication-Results:` field, CRLF-terminated.
    pub header: String,
    pub action: Action,
    /// Ranges of the message that are `Authentication-Results:` fields claiming our
    /// authserv-id (to remove).
    pub forged: Vec<Range<usize>>,
    /// One word per method, for the log: `spf`, `dkim`, `arc`, `dmarc`.
    pub summary: Summary,
}

/// The result keywords (RFC 8601 §2.7), for logs and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub spf: &'static str,
    pub dkim: &'static str,
    pub arc: &'static str,
    pub dmarc: &'static str,
    /// The `From:` domain DMARC evaluated.
    pub from_domain: String,
}

/// The verifier: a resolver and the settings, shared by every MX connection.
pub struct Verifier {
    authenticator: MessageAuthenticator,
    config: VerifyConfig,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier whose DNS goes to `nameservers` (empty: the system's resolver).
    pub fn new(
        nameservers: &[SocketAddr],
        config: VerifyConfig,
    ) -> Result<Verifier, ResolverError> {
        Ok(Verifier {
            authenticator: authenticator(nameservers)?,
            config,
        })
    }

    pub fn config(&self) -> &VerifyConfig {
        &self.config
    }

    /// Verifies `message` (the client's octets, without our trace fields) from `client`.
    pub async fn verify(&self, client: &Client<'_>, message: &[u8]) -> Outcome {
        let hostname = self.config.hostname.as_str();
        let auth = &self.authenticator;
        let helo = client.helo.trim_end_matches('.');
        let mail_from = client.mail_from;
        let spf_helo = auth
            .verify_spf(SpfParameters::verify_ehlo(client.ip, helo, hostname))
            .await;
        // RFC 7208 §2.4: a null reverse-path is checked as postmaster@HELO.
        let spf = if mail_from.is_empty() {
            spf_helo.clone()
        } else {
            auth.verify_spf(SpfParameters::verify_mail_from(
                client.ip, helo, hostname, mail_from,
            ))
            .await
        };
        let mail_from_domain = mail_from.rsplit_once('@').map_or(helo, |(_, d)| d);
        let forged = forged_results(message, hostname);

        let Some(parsed) = AuthenticatedMessage::parse(message) else {
            let mut header = AuthenticationResults::new(hostname)
                .with_spf_mailfrom_result(&spf, client.ip, mail_from, helo)
                .to_header();
            header.truncate(header.trim_end().len());
            header.push_str(";\r\n\tdkim=permerror (unparseable message)\r\n");
            return Outcome {
                header,
                action: Action::Deliver,
                forged,
                summary: Summary {
                    spf: spf_word(spf.result()),
                    dkim: "permerror",
                    arc: "none",
                    dmarc: "none",
                    from_domain: String::new(),
                },
            };
        };
        let verified = auth.verify_dkim(&parsed).await;
        let dkim: Vec<DkimOutput<'_>> = verified.iter().map(body_hash_mismatch_fails).collect();
        let arc = auth.verify_arc(&parsed).await;
        let dmarc = auth
            .verify_dmarc(DmarcParameters::new(&parsed, &dkim, mail_from_domain, &spf))
            .await;
        let header_from = parsed.from.first().map(String::as_str).unwrap_or("");
        let mut header = AuthenticationResults::new(hostname)
            .with_dkim_results(&dkim, header_from)
            .with_spf_mailfrom_result(&spf, client.ip, mail_from, helo)
            .with_arc_result(&arc, client.ip)
            .with_dmarc_result(&dmarc)
            .to_header();
        if dkim.is_empty() {
            // RFC 8601 §2.7.1: "none" when the message has no signature (mail-auth writes
            // nothing then).
            let at = "Authentication-Results: ".len() + hostname.len();
            if header.get(..at).is_some() {
                header.insert_str(at, ";\r\n\tdkim=none");
            }
        }

        let dkim_word = dkim_summary(dkim.iter().map(|d| d.result()));
        let arc_word = dkim_word_of(arc.result());
        let dmarc_word = dmarc_word(&dmarc.result());
        let from_domain = dmarc.domain().to_string();
        let mut action = Action::Deliver;
        if matches!(dmarc.result(), DmarcResult::Fail(_)) {
            let handling = match dmarc.policy() {
                Policy::Reject => self.config.on_reject_policy,
                Policy::Quarantine => self.config.on_quarantine_policy,
                Policy::None | Policy::Unspecified => DmarcHandling::None,
            };
            let sealer = arc
                .sets()
                .last()
                .map(|set| set.seal.header.d.to_ascii_lowercase());
            let arc_override = *arc.result() == DkimResult::Pass
                && sealer.as_ref().is_some_and(|s| {
                    self.config
                        .trusted_arc_sealers
                        .iter()
                        .any(|t| t.eq_ignore_ascii_case(s))
                });
            action = match handling {
                _ if arc_override => {
                    tracing::info!(from = %from_domain, sealer = ?sealer,
                        "DMARC failure overridden by a trusted ARC sealer");
                    Action::Deliver
                }
                DmarcHandling::Reject => Action::Reject(format!(
                    "Message rejected by the DMARC policy of {from_domain}"
                )),
                DmarcHandling::Quarantine => Action::Junk,
                DmarcHandling::None => Action::Deliver,
            };
        }
        Outcome {
            header,
            action,
            forged,
            summary: Summary {
                spf: spf_word(spf.result()),
                dkim: dkim_word,
                arc: arc_word,
                dmarc: dmarc_word,
                from_domain,
            },
        }
    }
}

/// RFC 6376 §6.1.3: a body hash that does not match fails the signature (PERMFAIL, RFC 8601
/// `dkim=fail`); mail-auth reports it as `neutral`.
fn body_hash_mismatch_fails<'a>(output: &'a DkimOutput<'a>) -> DkimOutput<'a> {
    match (output.result(), output.signature()) {
        (DkimResult::Neutral(e @ Error::Dkim(DkimError::FailedBodyHashMatch)), Some(signature)) => {
            DkimOutput::fail(e.clone()).with_signature(signature)
        }
        _ => output.clone(),
    }
}

fn spf_word(result: SpfResult) -> &'static str {
    match result {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

fn dkim_word_of(result: &DkimResult) -> &'static str {
    match result {
        DkimResult::Pass => "pass",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::Fail(_) => "fail",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    }
}

/// One word for several signatures: `pass` if any passed, else the first result.
fn dkim_summary<'a>(mut results: impl Iterator<Item = &'a DkimResult>) -> &'static str {
    let Some(first) = results.next() else {
        return "none";
    };
    if *first == DkimResult::Pass || results.any(|r| *r == DkimResult::Pass) {
        "pass"
    } else {
        dkim_word_of(first)
    }
}

fn dmarc_word(result: &DmarcResult) -> &'static str {
    match result {
        DmarcResult::Pass => "pass",
        DmarcResult::Fail(_) => "fail",
        DmarcResult::TempError(_) => "temperror",
        DmarcResult::PermError(_) => "permerror",
        DmarcResult::None => "none",
    }
}
