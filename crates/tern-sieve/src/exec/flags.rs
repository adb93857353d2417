//! imap4flags (RFC 5232) flag lists: a variable holds flags as a space-separated string;
//! lists are normalized by splitting on whitespace and dropping case-insensitive duplicates
//! (the first spelling wins).

pub fn parse(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        for f in v.split_ascii_whitespace() {
            if !out.iter().any(|x| x.eq_ignore_ascii_case(f)) {
                out.push(f.to_string());
            }
        }
    }
    out
}

pub fn join(flags: &[String]) -> String {
    flags.join(" ")
}

pub fn add(current: &str, new: &[String]) -> String {
    let mut all = vec![current.to_string()];
    all.extend_from_slice(new);
    join(&parse(&all))
}

pub fn remove(current: &str, gone: &[String]) -> String {
    let gone = parse(gone);
    let kept: Vec<String> = parse(&[current.to_string()])
        .into_iter()
        .filter(|f| !gone.iter().any(|g| g.eq_ignore_ascii_case(f)))
        .collect();
    join(&kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize() {
        assert_eq!(
            parse(&["\\Seen  $a".into(), "\\seen x".into()]),
            ["\\Seen", "$a", "x"]
        );
        assert_eq!(add("\\Seen", &["\\Flagged".into()]), "\\Seen \\Flagged");
        assert_eq!(remove("\\Seen \\Flagged", &["\\SEEN".into()]), "\\Flagged");
    }
}
