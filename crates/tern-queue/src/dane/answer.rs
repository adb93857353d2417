//! Reading a validating resolver's reply (no I/O; fuzzed with the TLSA conversion and the
//! matcher by `fuzz_targets/dane.rs`).
//!
//! The reply is untrusted input even from a trusted resolver (it relays what remote servers
//! said): only records of the asked type are taken, only at the asked name or at the end of
//! the CNAME chain that starts there inside the answer section (at most [`MAX_CNAMES`]
//! steps, no loops), and every other record (RRSIG, NSEC, stray owners) is ignored.
//!
//! Security is the reply's AD bit and nothing else: a trusted validating resolver sets it
//! only when every RRset of the answer and authority sections validated (RFC 4035 §3.2.3),
//! so it covers the CNAME chain and, for NODATA and NXDOMAIN, the denial of existence.

use super::tlsa::Tlsa;
use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType};

/// CNAME steps followed inside one answer.
pub const MAX_CNAMES: usize = 8;

/// What a reply says about one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Records of the asked type at `owner` (the asked name, or where its CNAMEs lead).
    Records { owner: Name, data: Vec<RData> },
    /// The name exists without records of that type (NOERROR, nothing usable).
    NoData,
    /// The name (or the end of its CNAME chain) does not exist.
    NxDomain,
    /// SERVFAIL (for a validating resolver, also "bogus"), REFUSED, a chain too long...:
    /// nothing can be concluded.
    Failed(String),
}

/// A classified reply: the answer and whether the resolver vouched for it (AD).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    pub answer: Answer,
    pub secure: bool,
}

/// Classifies `reply` as the answer to `name`/`rtype`.
pub fn classify(name: &Name, rtype: RecordType, reply: &Message) -> Reply {
    let secure = reply.metadata.authentic_data;
    let answer = match reply.metadata.response_code {
        ResponseCode::NoError => records(name, rtype, reply),
        ResponseCode::NXDomain => match records(name, rtype, reply) {
            // An NXDOMAIN about the end of a CNAME chain (RFC 6604): the target is missing.
            Answer::NoData => Answer::NxDomain,
            other => other,
        },
        code => Answer::Failed(format!("{code}")),
    };
    Reply { answer, secure }
}

fn records(name: &Name, rtype: RecordType, reply: &Message) -> Answer {
    let mut owner = name.clone();
    for _ in 0..=MAX_CNAMES {
        let data: Vec<RData> = reply
            .answers
            .iter()
            .filter(|r| r.name == owner && r.data.record_type() == rtype)
            .map(|r| r.data.clone())
            .collect();
        if !data.is_empty() {
            return Answer::Records { owner, data };
        }
        let next = reply.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(target) if r.name == owner && rtype != RecordType::CNAME => {
                Some(target.0.clone())
            }
            _ => None,
        });
        match next {
            Some(target) => owner = target,
            None => return Answer::NoData,
        }
    }
    Answer::Failed(format!("more than {MAX_CNAMES} CNAMEs from {name}"))
}

/// The TLSA records of an answer (records of other types are not there: see [`classify`]).
pub fn tlsa_records(data: &[RData]) -> Vec<Tlsa> {
    data.iter()
        .filter_map(|d| match d {
            RData::TLSA(t) => Some(Tlsa {
                usage: t.cert_usage.into(),
                selector: t.selector.into(),
                matching: t.matching.into(),
                data: t.cert_data.clone(),
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::{MessageType, OpCode};
    use hickory_resolver::proto::rr::Record;
    use hickory_resolver::proto::rr::rdata::{A, CNAME, TLSA, tlsa};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn reply(code: ResponseCode, ad: bool, answers: Vec<Record>) -> Message {
        let mut m = Message::new(7, MessageType::Response, OpCode::Query);
        m.metadata.response_code = code;
        m.metadata.authentic_data = ad;
        m.answers = answers;
        m
    }

    fn tlsa(owner: &str, usage: u8) -> Record {
        Record::from_rdata(
            name(owner),
            60,
            RData::TLSA(TLSA::new(
                tlsa::CertUsage::from(usage),
                tlsa::Selector::Spki,
                tlsa::Matching::Sha256,
                vec![0xab; 32],
            )),
        )
    }

    fn cname(owner: &str, target: &str) -> Record {
        Record::from_rdata(name(owner), 60, RData::CNAME(CNAME(name(target))))
    }

    #[test]
    fn records_at_the_name_and_through_cnames() {
        let q = name("_25._tcp.mx.example.test.");
        let r = classify(
            &q,
            RecordType::TLSA,
            &reply(
                ResponseCode::NoError,
                true,
                vec![
                    tlsa("_25._tcp.mx.example.test.", 3),
                    // A stray owner is not the answer.
                    tlsa("_25._tcp.other.example.test.", 2),
                ],
            ),
        );
        assert!(r.secure);
        let Answer::Records { owner, data } = r.answer else {
            panic!("{r:?}")
        };
        assert_eq!(owner, q);
        let t = tlsa_records(&data);
        assert_eq!(t.len(), 1);
        assert_eq!((t[0].usage, t[0].selector, t[0].matching), (3, 1, 1));

        let chained = reply(
            ResponseCode::NoError,
            false,
            vec![
                cname("_25._tcp.mx.example.test.", "tlsa.example.net."),
                tlsa("tlsa.example.net.", 2),
            ],
        );
        let r = classify(&q, RecordType::TLSA, &chained);
        assert!(!r.secure);
        assert!(
            matches!(r.answer, Answer::Records { ref owner, .. } if *owner == name("tlsa.example.net."))
        );
    }

    #[test]
    fn nodata_nxdomain_and_failures() {
        let q = name("mx.example.test.");
        let empty = classify(
            &q,
            RecordType::A,
            &reply(ResponseCode::NoError, true, vec![]),
        );
        assert_eq!(empty.answer, Answer::NoData);
        // Other types at the name are not an answer.
        let other = classify(
            &q,
            RecordType::A,
            &reply(
                ResponseCode::NoError,
                true,
                vec![tlsa("mx.example.test.", 3)],
            ),
        );
        assert_eq!(other.answer, Answer::NoData);
        let nx = classify(
            &q,
            RecordType::A,
            &reply(ResponseCode::NXDomain, true, vec![]),
        );
        assert_eq!(nx.answer, Answer::NxDomain);
        let fail = classify(
            &q,
            RecordType::A,
            &reply(ResponseCode::ServFail, false, vec![]),
        );
        assert!(matches!(fail.answer, Answer::Failed(_)));
        // A CNAME to a missing name.
        let dangling = classify(
            &q,
            RecordType::A,
            &reply(
                ResponseCode::NXDomain,
                true,
                vec![cname("mx.example.test.", "gone.example.test.")],
            ),
        );
        assert_eq!(dangling.answer, Answer::NxDomain);
    }

    #[test]
    fn cname_loops_and_long_chains_fail() {
        let q = name("a.example.test.");
        let looped = reply(
            ResponseCode::NoError,
            true,
            vec![
                cname("a.example.test.", "b.example.test."),
                cname("b.example.test.", "a.example.test."),
            ],
        );
        assert!(matches!(
            classify(&q, RecordType::A, &looped).answer,
            Answer::Failed(_)
        ));
        let mut chain = Vec::new();
        for i in 0..=MAX_CNAMES {
            chain.push(cname(
                &format!("{}.example.test.", (b'a' + i as u8) as char),
                &format!("{}.example.test.", (b'a' + i as u8 + 1) as char),
            ));
        }
        let last = format!("{}.example.test.", (b'a' + MAX_CNAMES as u8 + 1) as char);
        chain.push(Record::from_rdata(
            name(&last),
            60,
            RData::A(A::new(127, 0, 0, 1)),
        ));
        let long = reply(ResponseCode::NoError, true, chain);
        assert!(matches!(
            classify(&q, RecordType::A, &long).answer,
            Answer::Failed(_)
        ));
    }
}
