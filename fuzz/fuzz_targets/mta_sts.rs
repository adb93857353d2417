//! Fuzz target `mta_sts`: the outbound queue's MTA-STS parsers on arbitrary input, each fed
//! the same bytes: the policy file (`sts::policy::parse_policy`), the `_mta-sts` TXT record
//! (`parse_record`) and the policy fetch's HTTP response reader (`sts::fetch::parse_response`).
//!
//! Asserts, besides "never panics":
//! - a policy writes back (`Policy::to_text`) to text that parses to the same policy; its
//!   `max_age` is within the RFC's limit, `enforce`/`testing` have an `mx`, patterns are
//!   lower-case, an exact pattern matches its own name, `*.d` matches `x.d` but neither `d`
//!   nor `a.x.d`;
//! - a record's id is 1 to 32 letters and digits;
//! - the response reader is incremental: a response complete on a prefix is the same
//!   response on the whole input; a complete body is at most `MAX_POLICY` octets.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_queue::sts::fetch::{MAX_POLICY, parse_response};
use tern_queue::sts::policy::{MAX_AGE_LIMIT, Mode, MxPattern, parse_policy, parse_record};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(policy) = parse_policy(text) {
            assert!(policy.max_age <= MAX_AGE_LIMIT);
            assert!(policy.mode == Mode::None || !policy.mx.is_empty());
            let again = parse_policy(&policy.to_text()).expect("a written policy parses");
            assert_eq!(again, policy, "round trip changed the policy");
            for mx in &policy.mx {
                match mx {
                    MxPattern::Exact(name) => {
                        assert_eq!(*name, name.to_ascii_lowercase());
                        assert!(mx.matches(name));
                    }
                    MxPattern::Wildcard(suffix) => {
                        assert_eq!(*suffix, suffix.to_ascii_lowercase());
                        assert!(mx.matches(&format!("x.{suffix}")));
                        assert!(!mx.matches(suffix));
                        assert!(!mx.matches(&format!("a.x.{suffix}")));
                    }
                }
            }
        }
        if let Ok(record) = parse_record(text) {
            assert!((1..=32).contains(&record.id.len()));
            assert!(record.id.bytes().all(|b| b.is_ascii_alphanumeric()));
        }
    }
    let whole = parse_response(data, false);
    if let Ok(Some(r)) = &whole {
        assert!(r.body.len() <= MAX_POLICY);
    }
    for cut in [data.len() / 2, data.len().saturating_sub(1)] {
        if let Ok(Some(prefix)) = parse_response(&data[..cut], false) {
            assert_eq!(whole.as_ref().ok().and_then(|w| w.as_ref()), Some(&prefix));
        }
    }
    if let Ok(Some(r)) = parse_response(data, true) {
        assert!(r.body.len() <= MAX_POLICY);
    }
});
