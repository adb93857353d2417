//! Deterministic, real-looking messages for the micro-benchmarks (included with `#[path]`).
//!
//! - [`plain`]: a ≈ 4 KB text/plain mail with the header a message has after a few hops
//!   (Received, DKIM-Signature, ARC-free), 8-bit UTF-8 body.
//! - [`multipart`]: a ≈ 140 KB reply: multipart/mixed holding multipart/alternative
//!   (quoted-printable text and HTML), a base64 PDF of 75 KB, an inline PNG of 25 KB and
//!   a forwarded message/rfc822; RFC 2047 subject, References, groups of recipients.
//! - [`large`]: a ≈ 1 MB message: short text and one base64 attachment.
//!
//! Same bytes on every run and machine (a fixed linear congruential generator).
#![allow(dead_code)]

/// A tiny fixed PRNG (Knuth's MMIX LCG): deterministic content without a dependency.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed
            .wrapping_mul(2862933555777941757)
            .wrapping_add(3037000493))
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the",
    "quarterly",
    "report",
    "numbers",
    "meeting",
    "we",
    "should",
    "review",
    "before",
    "Friday",
    "budget",
    "and",
    "of",
    "to",
    "in",
    "team",
    "project",
    "deadline",
    "attached",
    "please",
    "let",
    "me",
    "know",
    "if",
    "you",
    "have",
    "questions",
    "about",
    "this",
    "draft",
    "customer",
    "feedback",
    "was",
    "positive",
    "überweisung",
    "café",
    "naïve",
    "schedule",
    "server",
    "migration",
    "mailbox",
    "delivery",
    "thanks",
    "regards",
    "update",
    "on",
    "status",
];

/// `n` bytes (at least) of text lines of at most 72 characters, CRLF-terminated.
pub fn text(rng: &mut Lcg, n: usize) -> String {
    let mut out = String::with_capacity(n + 80);
    let mut line = String::new();
    while out.len() < n {
        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
        if line.len() + w.len() + 1 > 72 {
            out.push_str(&line);
            out.push_str("\r\n");
            line.clear();
            if rng.below(6) == 0 {
                out.push_str("\r\n");
            }
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    out.push_str(&line);
    out.push_str("\r\n");
    out
}

/// Quoted-printable (RFC 2045 §6.7) of `s`, lines of at most 76 characters.
pub fn quoted_printable(s: &str) -> String {
    let mut out = String::new();
    for line in s.split("\r\n") {
        let mut col = 0;
        for &b in line.as_bytes() {
            let piece = if (b == b' ' || (33..=126).contains(&b)) && b != b'=' {
                (b as char).to_string()
            } else {
                format!("={b:02X}")
            };
            if col + piece.len() > 75 {
                out.push_str("=\r\n");
                col = 0;
            }
            out.push_str(&piece);
            col += piece.len();
        }
        out.push_str("\r\n");
    }
    out.truncate(out.len() - 2);
    out
}

/// Base64 (RFC 2045 §6.8) in lines of 76 characters, each CRLF-terminated.
pub fn base64_lines(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 38 + 4);
    let mut col = 0;
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
        col += 4;
        if col == 76 {
            out.push_str("\r\n");
            col = 0;
        }
    }
    if col > 0 {
        out.push_str("\r\n");
    }
    out
}

/// `n` pseudo-random octets (compressed file contents look like this).
pub fn binary(rng: &mut Lcg, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.next() as u8).collect()
}

fn trace_header(rng: &mut Lcg, id: u64) -> String {
    let mut h = String::new();
    h.push_str("Return-Path: <ana.souza@example.com>\r\n");
    for hop in 0..3 {
        h.push_str(&format!(
            "Received: from mx{hop}.relay.example.net (mx{hop}.relay.example.net [192.0.2.{}])\r\n\
             \tby mail.example.org (Tern) with ESMTPS id {:016x}\r\n\
             \tfor <bruno@example.org>; Wed, 4 Dec 2026 18:4{hop}:12 +0100\r\n",
            10 + hop,
            rng.next() ^ id
        ));
    }
    h.push_str(
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel2026;\r\n\
         \th=from:to:cc:subject:date:message-id:references:in-reply-to:mime-version;\r\n\
         \tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\
         \tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\r\n\
         \t 9k1Rq9Aa5bWGoIU8Xh1JTKz8Ll6P0oXI7uKqFjw3kB4nT2mNvZcPq9Hs2YxAeB1dRf\r\n",
    );
    h
}

/// The ≈ 4 KB text/plain message (`id` varies Message-ID and trace fields).
pub fn plain(id: u64) -> Vec<u8> {
    let mut rng = Lcg::new(id);
    let mut m = trace_header(&mut rng, id);
    m.push_str(&format!(
        "From: Ana Souza <ana.souza@example.com>\r\n\
         To: Bruno Keller <bruno@example.org>\r\n\
         Subject: Re: Migration schedule for the mail server (part {id})\r\n\
         Date: Wed, 4 Dec 2026 18:43:{:02} +0100\r\n\
         Message-ID: <{id}.{:x}@mail.example.com>\r\n\
         In-Reply-To: <{}.prev@mail.example.org>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8; format=flowed\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n",
        id % 60,
        rng.next(),
        id.wrapping_sub(1)
    ));
    m.push_str(&text(&mut rng, 2600));
    m.into_bytes()
}

/// The ≈ 140 KB multipart message.
pub fn multipart(id: u64) -> Vec<u8> {
    let mut rng = Lcg::new(id + 1000);
    let mut m = trace_header(&mut rng, id);
    m.push_str(&format!(
        "From: \"Souza, Ana\" <ana.souza@example.com>\r\n\
         Sender: Reports Robot <reports@example.com>\r\n\
         Reply-To: Finance Team <finance@example.com>\r\n\
         To: Bruno Keller <bruno@example.org>, \"Chen, Li\" <li.chen@example.org>,\r\n \
         Project: dora@example.org, eli@example.org;\r\n\
         Cc: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.net>\r\n\
         Subject: =?UTF-8?Q?Re:_Fwd:_Q3_report_=E2=80=93_numbers_f=C3=BCr_review?= {id}\r\n\
         Date: Wed, 4 Dec 2026 18:43:12 +0100\r\n\
         Message-ID: <{id}.{:x}@mail.example.com>\r\n\
         In-Reply-To: <a1.thread@mail.example.org>\r\n\
         References: <a0.thread@mail.example.com> <a1.thread@mail.example.org>\r\n \
         <a2.thread@mail.example.net>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"=_mixed_{id}\"\r\n\r\n\
         This is a multi-part message in MIME format.\r\n\r\n",
        rng.next()
    ));
    let body_text = text(&mut rng, 2000);
    m.push_str(&format!(
        "--=_mixed_{id}\r\n\
         Content-Type: multipart/alternative; boundary=\"=_alt_{id}\"\r\n\r\n\
         --=_alt_{id}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n\
         --=_alt_{id}\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n\
         --=_alt_{id}--\r\n\r\n",
        quoted_printable(&body_text),
        quoted_printable(&format!(
            "<html><head><meta charset=\"utf-8\"></head><body><p>{}</p>\
             <img src=\"cid:chart.{id}@example.com\"></body></html>",
            body_text.replace("\r\n\r\n", "</p>\r\n<p>")
        ))
    ));
    let pdf = binary(&mut rng, 75 * 1024);
    m.push_str(&format!(
        "--=_mixed_{id}\r\n\
         Content-Type: application/pdf; name=\"Q3 report.pdf\"\r\n\
         Content-Disposition: attachment; filename=\"Q3 report.pdf\"; size={}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}",
        pdf.len(),
        base64_lines(&pdf)
    ));
    let png = binary(&mut rng, 25 * 1024);
    m.push_str(&format!(
        "--=_mixed_{id}\r\n\
         Content-Type: image/png; name=\"chart.png\"\r\n\
         Content-Disposition: inline; filename=\"chart.png\"\r\n\
         Content-ID: <chart.{id}@example.com>\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}",
        base64_lines(&png)
    ));
    let forwarded = String::from_utf8(plain(id + 7)).expect("utf-8");
    m.push_str(&format!(
        "--=_mixed_{id}\r\n\
         Content-Type: message/rfc822\r\n\
         Content-Disposition: inline\r\n\r\n{forwarded}\r\n\
         --=_mixed_{id}--\r\n"
    ));
    m.into_bytes()
}

/// The ≈ 1 MB message.
pub fn large(id: u64) -> Vec<u8> {
    let mut rng = Lcg::new(id + 2000);
    let mut m = trace_header(&mut rng, id);
    m.push_str(&format!(
        "From: Ana Souza <ana.souza@example.com>\r\n\
         To: Bruno Keller <bruno@example.org>\r\n\
         Subject: Scans of the signed contracts {id}\r\n\
         Date: Wed, 4 Dec 2026 18:43:12 +0100\r\n\
         Message-ID: <{id}.large@mail.example.com>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1_{id}\"\r\n\r\n\
         --b1_{id}\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n",
        text(&mut rng, 600)
    ));
    let scan = binary(&mut rng, 760 * 1024);
    m.push_str(&format!(
        "--b1_{id}\r\n\
         Content-Type: application/zip; name=\"contracts.zip\"\r\n\
         Content-Disposition: attachment; filename=\"contracts.zip\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}--b1_{id}--\r\n",
        base64_lines(&scan)
    ));
    m.into_bytes()
}
