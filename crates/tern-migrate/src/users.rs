//! The users CSV of `tern migrate --users FILE`:
//!
//! ```text
//! target_address,source_login,source_password
//! dave@example.test,dave@example.test,Dave#Pass1
//! erin@example.test,erin,@/etc/tern/erin.pass       # "@PATH": first line of that file
//! frank@example.test,frank,                         # empty: use --admin
//! ```
//! A header line (starting `target_address`), blank lines and `#` comments are skipped. Fields
//! may be double-quoted (`""` inside quotes is a quote) so passwords may hold commas.
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserLine {
    pub target: String,
    pub source_login: String,
    /// `None`: log in with the admin identity.
    pub password: Option<String>,
}

pub fn parse_csv(text: &str, base: &Path) -> Result<Vec<UserLine>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let fields = split_fields(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        if n == 0 && fields.first().map(|f| f.trim()) == Some("target_address") {
            continue;
        }
        if fields.len() < 2 || fields.len() > 3 {
            return Err(format!(
                "line {}: expected target_address,source_login[,source_password]",
                n + 1
            ));
        }
        let target = fields[0].trim().to_string();
        let source_login = fields[1].trim().to_string();
        if target.is_empty() || source_login.is_empty() {
            return Err(format!("line {}: empty address or login", n + 1));
        }
        let password = match fields.get(2).map(String::as_str) {
            None | Some("") => None,
            Some(p) if p.starts_with('@') => {
                let path = base.join(&p[1..]);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("line {}: {}: {e}", n + 1, path.display()))?;
                Some(text.lines().next().unwrap_or_default().to_string())
            }
            Some(p) => Some(p.to_string()),
        };
        out.push(UserLine {
            target,
            source_login,
            password,
        });
    }
    Ok(out)
}

fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cur.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if cur.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    out.push(cur);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p"), "Secret,1\n").unwrap();
        let text = "target_address,source_login,source_password\n\
                    a@x,a,pw\n# c\n\nb@x,b,\"p,\"\"q\"\nc@x,c,\nd@x,d,@p\n";
        let got = parse_csv(text, dir.path()).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].password.as_deref(), Some("pw"));
        assert_eq!(got[1].password.as_deref(), Some("p,\"q"));
        assert_eq!(got[2].password, None);
        assert_eq!(got[3].password.as_deref(), Some("Secret,1"));
        assert!(parse_csv("a@x\n", dir.path()).is_err());
        assert!(parse_csv("a@x,\"b\n", dir.path()).is_err());
    }
}
