//! Fuzz target `filter_reply`: tern-filter's hand-written reply parsers for the gateway
//! filters on arbitrary bytes: the HTTP/1.1 response parser (`http::parse_response`) and,
//! on its body, rspamd's `/checkv2` JSON (`rspamd::parse_reply`); clamd's reply line
//! (`clamd::parse_reply`).
//!
//! Asserts, besides "never panics":
//! - an HTTP body is never longer than the input, and its status is at most three digits;
//! - rspamd scores are finite (they are written into header fields);
//! - a clamd "infected" result names a signature without NUL, CR or LF (it goes into the
//!   SMTP reply and an `X-Virus-Status` field).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_filter::clamd::{self, ScanResult};
use tern_filter::{http, rspamd};

fuzz_target!(|data: &[u8]| {
    if let Ok(response) = http::parse_response(data) {
        assert!(response.body.len() <= data.len());
        assert!(response.status <= 999);
        check_rspamd(&response.body);
    }
    check_rspamd(data);
    if let Ok(ScanResult::Infected(name)) = clamd::parse_reply(data) {
        assert!(!name.is_empty());
        assert!(!name.contains(['\0', '\r', '\n']), "{name:?}");
    }
});

fn check_rspamd(body: &[u8]) {
    if let Ok(r) = rspamd::parse_reply(body) {
        assert!(r.score.is_finite() && r.required_score.is_finite());
        assert!(r.symbols.iter().all(|(_, s)| s.is_finite()));
    }
}
