//! Test evaluation. Each test charges a step, each value compared against each key
//! another, and string work is charged by size (see [`crate::meter`]).

use chrono::{DateTime, FixedOffset};

use super::Run;
use super::flags;
use super::message::{self, BodyPart};
use super::vars::Frame;
use crate::RuntimeError;
use crate::date;
use crate::ir::{AddressPart, BodyTransform, Index, MatchSpec, Test, Zone};
use crate::match_type::{MatchType, Pattern};

/// How much of the body (`:raw`) or of each part a `body` test looks at: a large
/// attachment neither defeats the step limit nor makes body rules fail on big messages.
pub const BODY_BYTES_TESTED: usize = 1024 * 1024;

/// Picks the occurrence `index` selects (RFC 5260 §6), or all.
fn select<T>(items: Vec<T>, index: Option<Index>) -> Vec<T> {
    match index {
        None => items,
        Some(Index { n, last }) => {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            let len = items.len();
            if n == 0 || n > len {
                return Vec::new();
            }
            let i = if last { len - n } else { n - 1 };
            items.into_iter().nth(i).into_iter().collect()
        }
    }
}

/// The `part` of an addr-spec; `None` when the address has no such part.
pub fn address_part(addr: &str, part: AddressPart) -> Option<String> {
    if part == AddressPart::All {
        return Some(addr.to_string());
    }
    let (local, domain) = addr.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() {
        return None;
    }
    Some(match part {
        AddressPart::LocalPart => local.to_string(),
        AddressPart::Domain => domain.to_string(),
        AddressPart::User => local
            .split_once('+')
            .map(|(u, _)| u)
            .unwrap_or(local)
            .to_string(),
        AddressPart::Detail => local.split_once('+')?.1.to_string(),
        AddressPart::All => unreachable!(),
    })
}

impl Run<'_, '_> {
    pub fn test(&mut self, frame: &mut Frame, t: &Test) -> Result<bool, RuntimeError> {
        self.meter.charge(1)?;
        Ok(match t {
            Test::True => true,
            Test::False => false,
            Test::Not(t) => !self.test(frame, t)?,
            Test::AllOf(ts) => {
                for t in ts {
                    if !self.test(frame, t)? {
                        return Ok(false);
                    }
                }
                true
            }
            Test::AnyOf(ts) => {
                for t in ts {
                    if self.test(frame, t)? {
                        return Ok(true);
                    }
                }
                false
            }
            Test::Exists(names) => {
                for n in self.expand_all(frame, names)? {
                    self.meter.charge(1)?;
                    if self.msg.fields(&n).next().is_none() {
                        return Ok(false);
                    }
                }
                true
            }
            Test::Size { over, limit } => {
                let size = self.msg.raw.len() as u64;
                if *over { size > *limit } else { size < *limit }
            }
            Test::Header {
                names,
                keys,
                spec,
                index,
            } => {
                let mut values = Vec::new();
                for n in self.expand_all(frame, names)? {
                    let fields: Vec<&[u8]> = self.msg.fields(&n).map(|h| h.value).collect();
                    for v in select(fields, *index) {
                        self.meter.charge(1)?;
                        self.meter.charge_fine(v.len() as u64)?;
                        values.push(message::decoded(v));
                    }
                }
                self.matches(frame, values, keys, spec)?
            }
            Test::Address {
                part,
                names,
                keys,
                spec,
                index,
            } => {
                let mut values = Vec::new();
                for n in self.expand_all(frame, names)? {
                    let fields: Vec<&[u8]> = self.msg.fields(&n).map(|h| h.value).collect();
                    for v in select(fields, *index) {
                        self.meter.charge(1)?;
                        self.meter.charge_fine(v.len() as u64)?;
                        values.extend(
                            message::addresses(v)
                                .iter()
                                .filter_map(|a| address_part(a, *part)),
                        );
                    }
                }
                self.matches(frame, values, keys, spec)?
            }
            Test::Envelope {
                part,
                names,
                keys,
                spec,
            } => {
                let mut values = Vec::new();
                for n in self.expand_all(frame, names)? {
                    let addr = match n.to_ascii_lowercase().as_str() {
                        "from" => Some(self.envelope.from.clone()),
                        "to" => Some(self.envelope.to.clone()),
                        "auth" => self.envelope.auth.clone(),
                        _ => None,
                    };
                    if let Some(a) = addr {
                        // The null reverse-path is "" for :all and has no other part.
                        values.extend(address_part(&a, *part));
                    }
                }
                self.matches(frame, values, keys, spec)?
            }
            Test::Body {
                transform,
                keys,
                spec,
            } => {
                let values = self.body_values(frame, transform)?;
                self.matches(frame, values, keys, spec)?
            }
            Test::String {
                sources,
                keys,
                spec,
            } => {
                let mut values = self.expand_all(frame, sources)?;
                if matches!(spec.match_type, MatchType::Count(_)) {
                    values.retain(|v| !v.is_empty());
                }
                self.matches(frame, values, keys, spec)?
            }
            Test::HasFlag {
                variables,
                keys,
                spec,
            } => {
                let sources = match variables {
                    None => vec![self.flags.clone()],
                    Some(vars) => {
                        let mut out = Vec::new();
                        for v in self.expand_all(frame, vars)? {
                            let name = super::runtime_var_name(&v)?;
                            out.push(self.get_var(frame, &name));
                        }
                        out
                    }
                };
                let values = flags::parse(&sources);
                let keys = flags::parse(&self.expand_all(frame, keys)?);
                self.compare(frame, values, keys, spec)?
            }
            Test::Date {
                zone,
                header,
                part,
                keys,
                spec,
                index,
            } => {
                let name = self.expand(frame, header)?;
                let fields: Vec<&[u8]> = self.msg.fields(&name).map(|h| h.value).collect();
                let field = match index {
                    Some(_) => select(fields, *index).into_iter().next(),
                    None => fields.into_iter().next(),
                };
                let dt = field.and_then(|v| date::parse_header_date(&name, &message::unfolded(v)));
                let values = match dt.and_then(|d| self.in_zone(frame, d, zone).transpose()) {
                    Some(d) => vec![date::part(&d?, *part)],
                    None => Vec::new(),
                };
                self.matches(frame, values, keys, spec)?
            }
            Test::CurrentDate {
                zone,
                part,
                keys,
                spec,
            } => {
                let now = self.env.now();
                let zone = if *zone == Zone::Local {
                    &Zone::Original
                } else {
                    zone
                };
                let values = match self.in_zone(frame, now, zone)? {
                    Some(d) => vec![date::part(&d, *part)],
                    None => Vec::new(),
                };
                self.matches(frame, values, keys, spec)?
            }
            Test::MailboxExists(names) => {
                for n in self.expand_all(frame, names)? {
                    self.meter.charge(1)?;
                    if !self.env.mailbox_exists(&n) {
                        return Ok(false);
                    }
                }
                true
            }
            Test::Spam {
                percent,
                value,
                spec,
            } => {
                let score = if *percent {
                    self.env.spam_percent().map(|p| p.min(100))
                } else {
                    self.env.spamtest().map(|s| s.min(10))
                };
                let key = self.expand(frame, value)?;
                self.compare(frame, vec![score.unwrap_or(0).to_string()], vec![key], spec)?
            }
            Test::Virus { value, spec } => {
                let score = self.env.virustest().map(|s| s.min(5)).unwrap_or(0);
                let key = self.expand(frame, value)?;
                self.compare(frame, vec![score.to_string()], vec![key], spec)?
            }
        })
    }

    fn in_zone(
        &mut self,
        frame: &Frame,
        dt: DateTime<FixedOffset>,
        zone: &Zone,
    ) -> Result<Option<DateTime<FixedOffset>>, RuntimeError> {
        Ok(match zone {
            Zone::Original => Some(dt),
            Zone::Local => Some(dt.with_timezone(self.env.now().offset())),
            Zone::Given(z) => {
                let z = self.expand(frame, z)?;
                date::parse_zone(&z).map(|off| dt.with_timezone(&off))
            }
        })
    }

    fn body_values(
        &mut self,
        frame: &Frame,
        transform: &BodyTransform,
    ) -> Result<Vec<String>, RuntimeError> {
        if let BodyTransform::Raw = transform {
            let raw = &self.msg.raw[self.msg.body_offset.min(self.msg.raw.len())..];
            let raw = &raw[..raw.len().min(BODY_BYTES_TESTED)];
            self.meter.charge_fine(raw.len() as u64)?;
            return Ok(vec![String::from_utf8_lossy(raw).into_owned()]);
        }
        if self.body_parts.is_none() {
            // MIME parsing and decoding is cheap per byte next to matching: 1 step per KiB.
            self.meter.charge(self.msg.raw.len() as u64 / 1024)?;
            let mut parts: Vec<BodyPart> = Vec::new();
            if let Some(m) = self.msg.parsed() {
                message::body_parts(m, &mut parts, 0);
            }
            self.body_parts = Some(parts);
        }
        let types = match transform {
            BodyTransform::Content(t) => Some(self.expand_all(frame, t)?),
            _ => None,
        };
        let mut values = Vec::new();
        for p in self.body_parts.as_deref().unwrap_or_default() {
            let wanted = match &types {
                None => p.content_type.starts_with("text/"),
                Some(types) => types.iter().any(|t| {
                    let t = t.to_ascii_lowercase();
                    t.is_empty()
                        || if t.contains('/') {
                            p.content_type == t
                        } else {
                            p.content_type.split('/').next() == Some(t.as_str())
                        }
                }),
            };
            if wanted {
                let mut text = if p.is_html && types.is_none() {
                    mail_parser::decoders::html::html_to_text(&p.text)
                } else {
                    p.text.clone()
                };
                if text.len() > BODY_BYTES_TESTED {
                    text = super::vars::truncate(text, BODY_BYTES_TESTED);
                }
                values.push(text);
            }
        }
        Ok(values)
    }

    fn matches(
        &mut self,
        frame: &mut Frame,
        values: Vec<String>,
        keys: &[crate::ir::Str],
        spec: &MatchSpec,
    ) -> Result<bool, RuntimeError> {
        let keys = self.expand_all(frame, keys)?;
        self.compare(frame, values, keys, spec)
    }

    /// Compares values against keys per RFC 5228 §2.7 / RFC 5231: true when any value
    /// matches any key (`:count` compares the number of values instead).
    pub fn compare(
        &mut self,
        frame: &mut Frame,
        values: Vec<String>,
        keys: Vec<String>,
        spec: &MatchSpec,
    ) -> Result<bool, RuntimeError> {
        let cmp = spec.comparator;
        if let MatchType::Count(op) = spec.match_type {
            let n = values.len().to_string();
            return Ok(keys.iter().any(|k| op.holds(cmp.compare(&n, k))));
        }
        let patterns: Vec<Pattern> = match spec.match_type {
            MatchType::Matches => keys.iter().map(|k| Pattern::new(k)).collect(),
            _ => Vec::new(),
        };
        for v in &values {
            for (i, k) in keys.iter().enumerate() {
                self.meter.charge(1)?;
                let hit = match spec.match_type {
                    MatchType::Is => cmp.equals(v, k),
                    MatchType::Contains => {
                        self.meter.charge_fine((v.len() + k.len()) as u64)?;
                        cmp.contains(v, k)
                    }
                    MatchType::Value(op) => op.holds(cmp.compare(v, k)),
                    MatchType::Matches => match patterns[i].matches(v, cmp, &mut self.meter)? {
                        Some(caps) => {
                            if frame.program.variables {
                                frame.matches = caps;
                                frame.matches.truncate(super::MAX_MATCH_VARIABLES);
                            }
                            true
                        }
                        None => false,
                    },
                    MatchType::Count(_) => unreachable!(),
                };
                if hit {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_parts() {
        let a = "ken+sieve@example.org";
        assert_eq!(
            address_part(a, AddressPart::LocalPart).unwrap(),
            "ken+sieve"
        );
        assert_eq!(address_part(a, AddressPart::Domain).unwrap(), "example.org");
        assert_eq!(address_part(a, AddressPart::User).unwrap(), "ken");
        assert_eq!(address_part(a, AddressPart::Detail).unwrap(), "sieve");
        assert_eq!(address_part("ken@x", AddressPart::Detail), None);
        assert_eq!(address_part("ken+@x", AddressPart::Detail).unwrap(), "");
        assert_eq!(address_part("", AddressPart::Domain), None);
        assert_eq!(address_part("", AddressPart::All).unwrap(), "");
    }

    #[test]
    fn index_selects() {
        let v = vec![1, 2, 3];
        assert_eq!(select(v.clone(), Some(Index { n: 1, last: false })), [1]);
        assert_eq!(select(v.clone(), Some(Index { n: 1, last: true })), [3]);
        assert_eq!(
            select(v.clone(), Some(Index { n: 4, last: false })),
            Vec::<i32>::new()
        );
        assert_eq!(select(v, None), [1, 2, 3]);
    }
}
