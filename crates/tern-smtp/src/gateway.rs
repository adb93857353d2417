//! The gateway filters: rspamd (spam), clamd (viruses) and milters, run on a staged
//! message after DATA/BDAT and before delivery (one of the DATA checks of `smtp::checks`),
//! and what their answers mean for the SMTP reply, the stored header and the [`Verdict`].
//!
//! ## Decisions
//! The filters run concurrently on the client's octets ([`MessageView::content`]); then,
//! strongest first:
//! 1. a virus with [`Policy::Reject`]: `554 5.7.1 Message rejected: virus NAME found`
//! 2. a milter reject: its own reply when it gave one (`y`), else `550 5.7.1`
//! 3. rspamd `reject` with [`Policy::Reject`]: `550 5.7.1` with rspamd's `smtp_message`
//! 4. a temporary refusal: rspamd `soft reject` or `greylist`, a milter tempfail, or a
//!    filter that failed with [`OnFailure::Tempfail`]: `451 4.7.1`
//! 5. a milter `discard`: `250` and the message is dropped (logged)
//! 6. otherwise delivered; [`Policy::Junk`] (and a milter's quarantine) set
//!    [`Verdict::junk`], every filter fills its part of the verdict (RFC 5235 spamtest,
//!    spamtestplus percentage, virustest) and adds its header fields at the top
//!    (`X-Spam-Status`, `X-Spam-Score`, `X-Spamd-Result`, `X-Virus-Status`, the milter's
//!    additions; a milter's change or deletion of a field replaces it at the top).
//!
//! A filter that cannot be reached, times out or answers nonsense is logged at `warn` and
//! then, per filter, ignored ([`OnFailure::Accept`], "fail open") or makes the message
//! wait (`451 4.7.1`, "fail closed").
//!
//! ## Invariants
//! - The filters never see, and their headers never replace, the trace fields this
//!   server wrote; the verdict comes from the filters only, never from the message's own
//!   `X-Spam-*` fields, and those (`X-Spam-Status`, `X-Spam-Score`, `X-Spamd-Result`,
//!   `X-Spam`; `X-Virus-Status`) are removed from the client's header section whenever the
//!   filter that writes them runs, so a forged one is never delivered.
//! - Nothing is delivered before every configured filter answered or failed by its rule.

use crate::Mode;
use crate::prepend::{HeaderEdits, MessageView};
use crate::reply::Reply;
use crate::verdict::Verdict;
use std::fmt::Write as _;
use tern_filter::FilterError;
use tern_filter::clamd::ScanResult;
use tern_filter::milter::{Decision, MilterResult, Modification};
use tern_filter::rspamd::{SpamAction, SpamResult};

pub use tern_filter::MessageInfo;
pub use tern_filter::clamd::Clamd;
pub use tern_filter::milter::Milter;
pub use tern_filter::rspamd::Rspamd;

/// What a filter's failure (down, timeout, bad reply) does to the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// Fail open: deliver as if the filter had found nothing (logged).
    Accept,
    /// Fail closed: `451 4.7.1`, the client retries later.
    Tempfail,
}

/// What a positive finding does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Refuse at DATA (spam `550 5.7.1`, virus `554 5.7.1`).
    Reject,
    /// Deliver to the recipients' Junk folder, with the header fields.
    Junk,
    /// Deliver normally; only the header fields (and the verdict) tell.
    Headers,
}

/// rspamd.
#[derive(Clone, Debug)]
pub struct SpamFilter {
    pub rspamd: Rspamd,
    pub on_failure: OnFailure,
    /// For rspamd's `reject` action.
    pub on_reject: Policy,
    /// For `add header` and `rewrite subject`.
    pub on_spam: Policy,
    /// Also scan authenticated submissions.
    pub submission: bool,
}

/// clamd.
#[derive(Clone, Debug)]
pub struct VirusFilter {
    pub clamd: Clamd,
    pub on_failure: OnFailure,
    pub on_virus: Policy,
    pub submission: bool,
}

/// Milters, run in order (each on the original content).
#[derive(Clone, Debug)]
pub struct MilterFilter {
    pub milters: Vec<Milter>,
    pub on_failure: OnFailure,
    pub submission: bool,
}

/// Every configured filter.
#[derive(Clone, Debug, Default)]
pub struct Gateway {
    pub spam: Option<SpamFilter>,
    pub virus: Option<VirusFilter>,
    pub milter: Option<MilterFilter>,
}

/// How a message that passed is to be handled.
#[derive(Debug, PartialEq, Eq)]
pub enum Passed {
    Deliver,
    /// A milter said discard: answer `250`, deliver nothing.
    Discard,
}

impl Gateway {
    /// Whether any filter runs for messages received in `mode`.
    pub fn applies(&self, mode: Mode) -> bool {
        let on = |submission: bool| mode == Mode::Mx || submission;
        self.spam.as_ref().is_some_and(|f| on(f.submission))
            || self.virus.as_ref().is_some_and(|f| on(f.submission))
            || self.milter.as_ref().is_some_and(|f| on(f.submission))
    }

    /// Runs the filters that apply in `mode` on the staged message; records header fields
    /// in `edits` and conclusions in `verdict`; `Err` is the refusal to send.
    pub async fn check(
        &self,
        mode: Mode,
        info: &MessageInfo,
        view: &MessageView,
        edits: &mut HeaderEdits,
        verdict: &mut Verdict,
    ) -> Result<Passed, Reply> {
        let on = |submission: bool| mode == Mode::Mx || submission;
        let content = view.content();
        let spam = self.spam.as_ref().filter(|f| on(f.submission));
        let virus = self.virus.as_ref().filter(|f| on(f.submission));
        let milter = self.milter.as_ref().filter(|f| on(f.submission));
        let (spam_result, virus_result, milter_results) = tokio::join!(
            async {
                match spam {
                    Some(f) => Some(f.rspamd.check(info, content).await),
                    None => None,
                }
            },
            async {
                match virus {
                    Some(f) => Some(f.clamd.scan(content).await),
                    None => None,
                }
            },
            async {
                let mut out = Vec::new();
                if let Some(f) = milter {
                    for m in &f.milters {
                        let r = m.check(info, content).await;
                        let stop = matches!(&r, Ok(r) if r.decision != Decision::Continue);
                        out.push((m.addr.clone(), r));
                        if stop {
                            break;
                        }
                    }
                }
                out
            }
        );
        let mut refusals = Refusals::default();
        if let (Some(f), Some(r)) = (virus, virus_result) {
            virus_outcome(f, info, r, edits, verdict, &mut refusals);
        }
        if let Some(f) = milter {
            for (addr, r) in milter_results {
                milter_outcome(f, info, &addr, r, view, edits, verdict, &mut refusals);
            }
        }
        if let (Some(f), Some(r)) = (spam, spam_result) {
            spam_outcome(f, info, r, edits, verdict, &mut refusals);
        }
        // Fields named like this gateway's own are the sender's forgeries: never delivered
        // beside (or instead of) the filters' answer. Last, so a milter's change of one of
        // them has been recorded first.
        if spam.is_some() {
            remove_fields(view, edits, SPAM_FIELDS);
        }
        if virus.is_some() {
            remove_fields(view, edits, VIRUS_FIELDS);
        }
        refusals.decide()
    }
}

/// The refusals collected from every filter; the strongest wins.
#[derive(Default)]
struct Refusals {
    virus: Option<Reply>,
    milter_reject: Option<Reply>,
    spam: Option<Reply>,
    tempfail: Option<Reply>,
    discard: bool,
}

impl Refusals {
    fn decide(self) -> Result<Passed, Reply> {
        if let Some(r) = self
            .virus
            .or(self.milter_reject)
            .or(self.spam)
            .or(self.tempfail)
        {
            return Err(r);
        }
        Ok(if self.discard {
            Passed::Discard
        } else {
            Passed::Deliver
        })
    }

    fn tempfail(&mut self, reply: Reply) {
        self.tempfail.get_or_insert(reply);
    }
}

fn unavailable(what: &str) -> Reply {
    Reply::new(
        451,
        [4, 7, 1],
        format!("{what} unavailable, try again later"),
    )
}

fn failed(
    what: &str,
    rule: OnFailure,
    info: &MessageInfo,
    error: &FilterError,
    refusals: &mut Refusals,
) {
    match rule {
        OnFailure::Accept => tracing::warn!(
            id = %info.queue_id, filter = what, %error,
            "gateway: filter failed; fail-open, the message goes on unfiltered"
        ),
        OnFailure::Tempfail => {
            tracing::warn!(
                id = %info.queue_id, filter = what, %error,
                "gateway: filter failed; fail-closed, 451 4.7.1"
            );
            refusals.tempfail(unavailable(what));
        }
    }
}

fn virus_outcome(
    f: &VirusFilter,
    info: &MessageInfo,
    result: Result<ScanResult, FilterError>,
    edits: &mut HeaderEdits,
    verdict: &mut Verdict,
    refusals: &mut Refusals,
) {
    match result {
        Ok(ScanResult::Clean) => {
            verdict.virustest = Some(1);
            edits.add("X-Virus-Status", "Clean");
        }
        Ok(ScanResult::Infected(name)) => {
            verdict.virustest = Some(5);
            tracing::info!(id = %info.queue_id, virus = %name, policy = ?f.on_virus,
                "gateway: virus found");
            match f.on_virus {
                Policy::Reject => {
                    refusals.virus = Some(Reply::new(
                        554,
                        [5, 7, 1],
                        format!("Message rejected: virus {name} found"),
                    ));
                }
                Policy::Junk => verdict.junk = true,
                Policy::Headers => {}
            }
            edits.add("X-Virus-Status", &format!("Infected ({name})"));
        }
        Err(e) => failed("virus scanner", f.on_failure, info, &e, refusals),
    }
}

fn spam_outcome(
    f: &SpamFilter,
    info: &MessageInfo,
    result: Result<SpamResult, FilterError>,
    edits: &mut HeaderEdits,
    verdict: &mut Verdict,
    refusals: &mut Refusals,
) {
    let r = match result {
        Ok(r) => r,
        Err(e) => return failed("spam filter", f.on_failure, info, &e, refusals),
    };
    verdict.spamtest = Some(spamtest(r.score, r.required_score, r.action));
    verdict.spam_percent = Some(spam_percent(r.score, r.required_score, r.action));
    let policy = match r.action {
        SpamAction::NoAction => None,
        SpamAction::AddHeader | SpamAction::RewriteSubject => Some(f.on_spam),
        SpamAction::Reject => Some(f.on_reject),
        SpamAction::Greylist | SpamAction::SoftReject => {
            refusals.tempfail(Reply::new(
                451,
                [4, 7, 1],
                r.smtp_message
                    .clone()
                    .unwrap_or_else(|| "Try again later".into()),
            ));
            None
        }
    };
    let is_spam = policy.is_some();
    tracing::info!(id = %info.queue_id, action = r.action.as_str(), score = r.score,
        required = r.required_score, ?policy, "gateway: rspamd");
    match policy {
        Some(Policy::Reject) => {
            let text = r
                .smtp_message
                .clone()
                .unwrap_or_else(|| "Spam message rejected".into());
            refusals.spam = Some(Reply::new(550, [5, 7, 1], text));
        }
        Some(Policy::Junk) => verdict.junk = true,
        Some(Policy::Headers) | None => {}
    }
    edits.add(
        "X-Spam-Status",
        &format!(
            "{}, score={:.2} required={:.2} action={}",
            if is_spam { "Yes" } else { "No" },
            r.score,
            r.required_score,
            r.action.as_str()
        ),
    );
    edits.add("X-Spam-Score", &format!("{:.2}", r.score));
    let mut result = format!(
        "default: {} [{:.2} / {:.2}]",
        if is_spam { "True" } else { "False" },
        r.score,
        r.required_score
    );
    for (i, (name, score)) in r.symbols.iter().enumerate() {
        // One symbol per folded line keeps every line short.
        let _ = write!(
            result,
            "{}\n {name}({score:.2})",
            if i == 0 { ";" } else { "," }
        );
    }
    edits.add("X-Spamd-Result", &result);
}

#[allow(clippy::too_many_arguments)]
fn milter_outcome(
    f: &MilterFilter,
    info: &MessageInfo,
    addr: &str,
    result: Result<MilterResult, FilterError>,
    view: &MessageView,
    edits: &mut HeaderEdits,
    verdict: &mut Verdict,
    refusals: &mut Refusals,
) {
    let r = match result {
        Ok(r) => r,
        Err(e) => return failed(&format!("milter {addr}"), f.on_failure, info, &e, refusals),
    };
    tracing::info!(id = %info.queue_id, milter = addr, decision = ?r.decision,
        modifications = r.modifications.len(), "gateway: milter");
    match r.decision {
        Decision::Continue => {}
        Decision::Reject(reply) => {
            refusals
                .milter_reject
                .get_or_insert(milter_reply(reply, 550, "Message rejected"));
            return;
        }
        Decision::Tempfail(reply) => {
            refusals.tempfail(milter_reply(reply, 451, "Try again later"));
            return;
        }
        Decision::Discard => {
            tracing::info!(id = %info.queue_id, milter = addr, "gateway: milter discards the message");
            refusals.discard = true;
            return;
        }
    }
    if let Some(reason) = &r.quarantine {
        tracing::info!(id = %info.queue_id, milter = addr, %reason,
            "gateway: milter quarantine: delivered to Junk");
        verdict.junk = true;
    }
    for m in r.modifications {
        match m {
            Modification::Add { name, value } | Modification::Insert { name, value, .. } => {
                edits.add(&name, &value)
            }
            Modification::Change { index, name, value } => {
                if let Some(range) = nth_field(view.content(), &name, index)
                    && !edits.remove(view, range)
                {
                    tracing::warn!(id = %info.queue_id, milter = addr, field = %name,
                        "gateway: milter change of a field not applied");
                    continue;
                }
                if !value.is_empty() {
                    edits.add(&name, &value);
                }
            }
        }
    }
}

/// A milter's own reply (`y`) as an SMTP reply; `code_default`/`text` when it gave none.
fn milter_reply(reply: Option<(u16, String)>, code_default: u16, text: &str) -> Reply {
    let class = if code_default >= 500 { 5 } else { 4 };
    let Some((code, text)) = reply else {
        return Reply::new(code_default, [class, 7, 1], text);
    };
    let class = (code / 100) as u8;
    // An enhanced status code at the start of the milter's text is used as such.
    if let Some((status, rest)) = text.split_once(' ')
        && let Some(parsed) = parse_status(status, class)
    {
        return Reply::new(code, parsed, rest);
    }
    Reply::new(code, [class, 7, 1], text)
}

fn parse_status(text: &str, class: u8) -> Option<[u8; 3]> {
    let mut parts = text.split('.');
    let mut out = [0u8; 3];
    for slot in &mut out {
        *slot = parts.next()?.parse().ok()?;
    }
    (parts.next().is_none() && out[0] == class).then_some(out)
}

/// The fields the spam filter writes (and rspamd's own `X-Spam`), removed from the client's
/// header section when the spam filter runs.
const SPAM_FIELDS: &[&str] = &["X-Spam-Status", "X-Spam-Score", "X-Spamd-Result", "X-Spam"];
/// The field the virus filter writes.
const VIRUS_FIELDS: &[&str] = &["X-Virus-Status"];

/// Records the removal of every field of the client's header section named in `names`.
fn remove_fields(view: &MessageView, edits: &mut HeaderEdits, names: &[&str]) {
    let content = view.content();
    let (fields, _) = tern_filter::milter::split_message(content);
    let base = content.as_ptr() as usize;
    let ranges: Vec<_> = fields
        .iter()
        .filter(|(name, _)| {
            names
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
        })
        .map(|(name, value)| field_range(content, base, name, value))
        .collect();
    for range in ranges {
        // A range a milter already removed is refused as overlapping: nothing to do.
        let _ = edits.remove(view, range);
    }
}

/// The range of one field found by `split_message`, with its final line end.
fn field_range(content: &[u8], base: usize, name: &[u8], value: &[u8]) -> std::ops::Range<usize> {
    let start = name.as_ptr() as usize - base;
    let mut end = value.as_ptr() as usize - base + value.len();
    if content[end..].starts_with(b"\r\n") {
        end += 2;
    } else if content[end..].starts_with(b"\n") {
        end += 1;
    }
    start..end
}

/// The byte range of the `index`-th (1-based) field called `name` (case-insensitive) in the
/// header section of `content`, with its continuation lines and final CRLF.
fn nth_field(content: &[u8], name: &str, index: u32) -> Option<std::ops::Range<usize>> {
    let (fields, _) = tern_filter::milter::split_message(content);
    let mut seen = 0;
    let base = content.as_ptr() as usize;
    for (field_name, value) in fields {
        if !field_name.eq_ignore_ascii_case(name.as_bytes()) {
            continue;
        }
        seen += 1;
        if seen == index.max(1) {
            return Some(field_range(content, base, field_name, value));
        }
    }
    None
}

/// RFC 5235 §3.2 spamtest: `1` (surely not spam) to `10` (surely spam), from rspamd's
/// score relative to its reject threshold.
pub fn spamtest(score: f64, required: f64, action: SpamAction) -> u8 {
    if action == SpamAction::Reject || (required > 0.0 && score >= required) {
        return 10;
    }
    if score <= 0.0 || required <= 0.0 {
        return 1;
    }
    // 2..=9 across (0, required).
    (2.0 + (score / required * 8.0).floor()).clamp(2.0, 9.0) as u8
}

/// RFC 5235 §3.3 spamtestplus: a percentage, 100 at or above the reject threshold.
pub fn spam_percent(score: f64, required: f64, action: SpamAction) -> u8 {
    if action == SpamAction::Reject || (required > 0.0 && score >= required) {
        return 100;
    }
    if score <= 0.0 || required <= 0.0 {
        return 0;
    }
    (score / required * 100.0).round().clamp(0.0, 99.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spamtest_scale() {
        assert_eq!(spamtest(-2.0, 15.0, SpamAction::NoAction), 1);
        assert_eq!(spamtest(0.0, 15.0, SpamAction::NoAction), 1);
        assert_eq!(spamtest(0.1, 15.0, SpamAction::NoAction), 2);
        assert_eq!(spamtest(7.5, 15.0, SpamAction::AddHeader), 6);
        assert_eq!(spamtest(14.99, 15.0, SpamAction::AddHeader), 9);
        assert_eq!(spamtest(15.0, 15.0, SpamAction::Reject), 10);
        assert_eq!(spamtest(0.0, 15.0, SpamAction::Reject), 10);
        assert_eq!(spam_percent(7.5, 15.0, SpamAction::AddHeader), 50);
        assert_eq!(spam_percent(-1.0, 15.0, SpamAction::NoAction), 0);
        assert_eq!(spam_percent(20.0, 15.0, SpamAction::Reject), 100);
        assert_eq!(spam_percent(14.99, 15.0, SpamAction::AddHeader), 99);
    }

    #[test]
    fn milter_replies() {
        let r = milter_reply(Some((554, "5.7.1 Virus found".into())), 550, "x");
        assert_eq!((r.code, r.status), (554, Some([5, 7, 1])));
        assert_eq!(r.lines, vec!["Virus found".to_string()]);
        let r = milter_reply(Some((550, "go away".into())), 550, "x");
        assert_eq!((r.code, r.status), (550, Some([5, 7, 1])));
        let r = milter_reply(Some((451, "5.7.1 mismatch".into())), 451, "x");
        assert_eq!(r.status, Some([4, 7, 1]));
        assert_eq!(r.lines, vec!["5.7.1 mismatch".to_string()]);
        let r = milter_reply(None, 451, "Try again later");
        assert_eq!((r.code, r.status), (451, Some([4, 7, 1])));
    }

    #[test]
    fn finds_the_nth_field() {
        let c = b"A: 1\r\nX-V: a\r\n\tb\r\nX-v: c\r\n\r\nX-V: body\r\n";
        assert_eq!(nth_field(c, "x-v", 1), Some(6..18));
        assert_eq!(&c[6..18], b"X-V: a\r\n\tb\r\n");
        assert_eq!(nth_field(c, "X-V", 2), Some(18..26));
        assert_eq!(nth_field(c, "X-V", 3), None);
        assert_eq!(nth_field(c, "B", 1), None);
    }

    #[test]
    fn strongest_refusal_wins() {
        let mut r = Refusals::default();
        r.tempfail(unavailable("x"));
        r.spam = Some(Reply::new(550, [5, 7, 1], "spam"));
        r.virus = Some(Reply::new(554, [5, 7, 1], "virus"));
        assert_eq!(r.decide().unwrap_err().code, 554);
        let r = Refusals {
            discard: true,
            ..Refusals::default()
        };
        assert_eq!(r.decide(), Ok(Passed::Discard));
        let mut r = Refusals {
            discard: true,
            ..Refusals::default()
        };
        r.tempfail(unavailable("x"));
        assert_eq!(r.decide().unwrap_err().code, 451);
    }
}
