//! rspamd's HTTP protocol: `POST /checkv2` with the message as the body and the envelope
//! in request header fields (`IP`, `Helo`, `From`, one `Rcpt` per recipient, `User`,
//! `Queue-Id`, `MTA-Name`), answered with a JSON object (`action`, `score`,
//! `required_score`, `symbols`, `messages`, `subject`).
//!
//! `Hostname` (the client's reverse-DNS name) is not sent: the MX does not resolve it, and
//! rspamd resolves it itself when the header is absent rather than trusting a placeholder.

use crate::http;
use crate::{FilterError, MessageInfo};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// What rspamd recommends (its `action` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpamAction {
    NoAction,
    Greylist,
    AddHeader,
    RewriteSubject,
    SoftReject,
    Reject,
}

impl SpamAction {
    fn parse(text: &str) -> Option<SpamAction> {
        Some(match text {
            "no action" => SpamAction::NoAction,
            "greylist" => SpamAction::Greylist,
            "add header" => SpamAction::AddHeader,
            "rewrite subject" => SpamAction::RewriteSubject,
            "soft reject" => SpamAction::SoftReject,
            "reject" => SpamAction::Reject,
            _ => return None,
        })
    }

    /// rspamd's own spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SpamAction::NoAction => "no action",
            SpamAction::Greylist => "greylist",
            SpamAction::AddHeader => "add header",
            SpamAction::RewriteSubject => "rewrite subject",
            SpamAction::SoftReject => "soft reject",
            SpamAction::Reject => "reject",
        }
    }
}

/// rspamd's verdict on one message.
#[derive(Clone, Debug, PartialEq)]
pub struct SpamResult {
    pub action: SpamAction,
    pub score: f64,
    pub required_score: f64,
    /// Symbol names with their scores, sorted by name.
    pub symbols: Vec<(String, f64)>,
    /// `messages.smtp_message`: the text rspamd suggests for an SMTP rejection.
    pub smtp_message: Option<String>,
    /// The subject rspamd suggests for "rewrite subject".
    pub subject: Option<String>,
}

#[derive(Deserialize)]
struct Reply {
    action: Option<String>,
    score: Option<f64>,
    required_score: Option<f64>,
    #[serde(default)]
    symbols: BTreeMap<String, Symbol>,
    #[serde(default)]
    messages: BTreeMap<String, serde_json::Value>,
    subject: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Symbol {
    #[serde(default)]
    score: f64,
}

/// Parses the JSON body of a `/checkv2` reply.
pub fn parse_reply(body: &[u8]) -> Result<SpamResult, FilterError> {
    let reply: Reply = serde_json::from_slice(body).map_err(|e| {
        FilterError::Protocol(format!("rspamd reply is not the JSON expected: {e}"))
    })?;
    if let Some(error) = reply.error {
        return Err(FilterError::Protocol(format!("rspamd: {error}")));
    }
    let action_text = reply
        .action
        .ok_or_else(|| FilterError::Protocol("rspamd reply without an action".into()))?;
    let action = SpamAction::parse(&action_text)
        .ok_or_else(|| FilterError::Protocol(format!("unknown rspamd action {action_text:?}")))?;
    let finite = |x: Option<f64>| x.filter(|x| x.is_finite()).unwrap_or(0.0);
    Ok(SpamResult {
        action,
        score: finite(reply.score),
        required_score: finite(reply.required_score),
        symbols: reply
            .symbols
            .into_iter()
            .map(|(name, s)| (name, if s.score.is_finite() { s.score } else { 0.0 }))
            .collect(),
        smtp_message: reply
            .messages
            .get("smtp_message")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        subject: reply.subject,
    })
}

/// An rspamd normal worker (`host:port`).
#[derive(Clone, Debug)]
pub struct Rspamd {
    pub addr: String,
    pub timeout: Duration,
}

impl Rspamd {
    /// Scans one message (the whole exchange under `timeout`).
    pub async fn check(
        &self,
        info: &MessageInfo,
        message: &[u8],
    ) -> Result<SpamResult, FilterError> {
        let mut headers: Vec<(&str, String)> = Vec::with_capacity(8 + info.recipients.len());
        if let Some(peer) = info.peer {
            headers.push(("IP", peer.ip().to_string()));
        }
        if !info.helo.is_empty() {
            headers.push(("Helo", info.helo.clone()));
        }
        headers.push(("From", format!("<{}>", info.from)));
        for rcpt in &info.recipients {
            headers.push(("Rcpt", format!("<{rcpt}>")));
        }
        if let Some(user) = &info.user {
            headers.push(("User", user.clone()));
        }
        headers.push(("Queue-Id", info.queue_id.clone()));
        headers.push(("MTA-Name", info.hostname.clone()));
        let response = crate::deadline(self.timeout, "rspamd", async {
            http::post(&self.addr, "/checkv2", &headers, message).await
        })
        .await?;
        if response.status != 200 {
            return Err(FilterError::Protocol(format!(
                "rspamd answered HTTP {}",
                response.status
            )));
        }
        parse_reply(&response.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        let r = parse_reply(
            br#"{"is_skipped":false,"score":1001.5,"required_score":15.0,"action":"reject",
            "symbols":{"GTUBE":{"name":"GTUBE","score":0.0},"R_X":{"name":"R_X","score":1.5}},
            "messages":{"smtp_message":"Gtube pattern"},"message-id":"x@y"}"#,
        )
        .unwrap();
        assert_eq!(r.action, SpamAction::Reject);
        assert_eq!(r.score, 1001.5);
        assert_eq!(r.required_score, 15.0);
        assert_eq!(r.symbols, vec![("GTUBE".into(), 0.0), ("R_X".into(), 1.5)]);
        assert_eq!(r.smtp_message.as_deref(), Some("Gtube pattern"));
        let clean = parse_reply(br#"{"action":"no action","score":-0.1,"required_score":15}"#);
        assert_eq!(clean.unwrap().action, SpamAction::NoAction);
        assert!(parse_reply(br#"{"error":"cannot parse"}"#).is_err());
        assert!(parse_reply(br#"{"action":"explode"}"#).is_err());
        assert!(parse_reply(b"not json").is_err());
        assert!(parse_reply(br#"{"score":1}"#).is_err());
    }
}
