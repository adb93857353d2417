//! What a cache entry costs in memory: the heap its parts hold, walked string by string, as
//! the allocator counts it, plus the entry's slot in the map. The estimate is checked
//! against a counting allocator (`tests/meta_cache_size.rs`).

use super::Entry;
use std::mem::size_of;
use tern_store::{
    Address, BlobId, BodyPart, Envelope, MetaParts, SharedMeta, SortKeys, ThreadKeys,
};

/// The memory the allocator takes for a request of `n` octets (glibc: an 8-octet header,
/// 16-octet granularity, 32 at least); 0 for none.
fn alloc(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n + 8).next_multiple_of(16).max(32)
    }
}

/// An `Arc<T>`'s allocation: two counts and the value.
fn arc<T>() -> usize {
    alloc(2 * size_of::<usize>() + size_of::<T>())
}

fn string(s: &String) -> usize {
    alloc(s.capacity())
}

fn opt(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, string)
}

fn strings(v: &Vec<String>) -> usize {
    alloc(v.capacity() * size_of::<String>()) + v.iter().map(string).sum::<usize>()
}

fn params(v: &Vec<(String, String)>) -> usize {
    alloc(v.capacity() * size_of::<(String, String)>())
        + v.iter().map(|(a, b)| string(a) + string(b)).sum::<usize>()
}

fn address(a: &Address) -> usize {
    opt(&a.name) + opt(&a.adl) + opt(&a.mailbox) + opt(&a.host)
}

fn addresses(v: &Vec<Address>) -> usize {
    alloc(v.capacity() * size_of::<Address>()) + v.iter().map(address).sum::<usize>()
}

/// The heap an [`Envelope`] holds (not the struct itself).
pub fn envelope(e: &Envelope) -> usize {
    opt(&e.date)
        + opt(&e.subject)
        + [&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc]
            .into_iter()
            .map(addresses)
            .sum::<usize>()
        + opt(&e.in_reply_to)
        + opt(&e.message_id)
}

/// The heap a [`BodyPart`] holds (not the struct itself), children included.
pub fn body(b: &BodyPart) -> usize {
    string(&b.content_type)
        + string(&b.subtype)
        + params(&b.params)
        + opt(&b.id)
        + opt(&b.description)
        + string(&b.encoding)
        + opt(&b.md5)
        + b.disposition
            .as_ref()
            .map_or(0, |(d, p)| string(d) + params(p))
        + strings(&b.language)
        + opt(&b.location)
        + alloc(b.parts.capacity() * size_of::<BodyPart>())
        + b.parts.iter().map(body).sum::<usize>()
        + b.message.as_ref().map_or(0, |m| {
            alloc(size_of::<(Envelope, BodyPart)>()) + envelope(&m.0) + body(&m.1)
        })
}

fn sort(s: &SortKeys) -> usize {
    [
        &s.base_subject,
        &s.from,
        &s.to,
        &s.cc,
        &s.display_from,
        &s.display_to,
    ]
    .into_iter()
    .map(string)
    .sum()
}

fn thread(t: &ThreadKeys) -> usize {
    opt(&t.message_id) + strings(&t.in_reply_to) + strings(&t.references)
}

/// The memory of a cache entry holding `parts` of `meta`: its slot in the map (at the map's
/// lowest load, 7/8), the shared value and the parts (those not held are the process's
/// shared empty values and cost nothing here).
pub fn entry(meta: &SharedMeta, parts: MetaParts) -> usize {
    let slot = (size_of::<(BlobId, Entry)>() + 1) * 8 / 7;
    let mut bytes = slot + arc::<SharedMeta>();
    if parts.envelope {
        bytes += arc::<Envelope>() + envelope(&meta.envelope);
    }
    if parts.body {
        bytes += arc::<BodyPart>() + body(&meta.body);
    }
    if parts.sort {
        bytes += arc::<SortKeys>() + sort(&meta.sort);
    }
    if parts.thread {
        bytes += arc::<ThreadKeys>() + thread(&meta.thread);
    }
    if parts.preview {
        bytes += alloc(2 * size_of::<usize>() + meta.preview.len());
    }
    bytes
}
