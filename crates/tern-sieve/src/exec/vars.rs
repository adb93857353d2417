//! Variables at run time (RFC 5229): per-script scopes, the shared `global` namespace
//! (RFC 6609), match variables, string expansion and `set` modifiers. Every value is
//! truncated to `Limits::max_variable_size` (on a character boundary), and expansion is
//! charged per byte produced.

use std::collections::{HashMap, HashSet};

use super::Run;
use crate::RuntimeError;
use crate::ir::{Modifier, Piece, Program, Str, VarName};
use crate::match_type::quote_wildcard;

/// One script's variable scope.
pub struct Frame<'p> {
    pub program: &'p Program,
    pub vars: HashMap<String, String>,
    pub declared_globals: HashSet<String>,
    pub matches: Vec<String>,
}

impl<'p> Frame<'p> {
    pub fn new(program: &'p Program) -> Frame<'p> {
        Frame {
            program,
            vars: HashMap::new(),
            declared_globals: HashSet::new(),
            matches: Vec::new(),
        }
    }

    fn is_global(&self, namespace: &Option<String>, name: &str) -> bool {
        namespace.as_deref() == Some("global") || self.declared_globals.contains(name)
    }
}

pub fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

impl Run<'_, '_> {
    pub fn expand(&mut self, frame: &Frame, s: &Str) -> Result<String, RuntimeError> {
        if let [Piece::Lit(l)] = s.pieces.as_slice() {
            return Ok(l.clone());
        }
        let mut out = String::new();
        let mut literal_len = 0;
        for p in &s.pieces {
            match p {
                Piece::Lit(l) => {
                    literal_len += l.len();
                    out.push_str(l);
                }
                Piece::Match(n) => {
                    if let Some(v) = frame.matches.get(*n) {
                        out.push_str(v);
                    }
                }
                Piece::Var { namespace, name } => {
                    let v = if frame.is_global(namespace, name) {
                        self.globals.get(name)
                    } else if namespace.is_none() {
                        frame.vars.get(name)
                    } else {
                        None
                    };
                    if let Some(v) = v {
                        out.push_str(v);
                    }
                }
            }
            let cap = self.limits.max_variable_size.max(literal_len);
            if out.len() > cap {
                out = truncate(out, cap);
                break;
            }
        }
        self.meter.charge_fine(out.len() as u64)?;
        Ok(out)
    }

    pub fn expand_all(&mut self, frame: &Frame, list: &[Str]) -> Result<Vec<String>, RuntimeError> {
        list.iter().map(|s| self.expand(frame, s)).collect()
    }

    pub fn get_var(&self, frame: &Frame, v: &VarName) -> String {
        if frame.is_global(&v.namespace, &v.name) {
            self.globals.get(&v.name).cloned().unwrap_or_default()
        } else {
            frame.vars.get(&v.name).cloned().unwrap_or_default()
        }
    }

    pub fn set_var(
        &mut self,
        frame: &mut Frame,
        v: &VarName,
        value: String,
    ) -> Result<(), RuntimeError> {
        let value = truncate(value, self.limits.max_variable_size);
        let global = frame.is_global(&v.namespace, &v.name);
        let map = if global {
            &mut self.globals
        } else {
            &mut frame.vars
        };
        if !map.contains_key(&v.name) {
            self.variable_count += 1;
            if self.variable_count > self.limits.max_variables {
                return Err(RuntimeError::Other("too many variables".into()));
            }
        }
        map.insert(v.name.clone(), value);
        Ok(())
    }
}

/// Applies `set` modifiers, already sorted by precedence.
pub fn apply_modifiers(mut value: String, modifiers: &[Modifier]) -> String {
    for m in modifiers {
        value = match m {
            Modifier::Lower => value.to_lowercase(),
            Modifier::Upper => value.to_uppercase(),
            Modifier::LowerFirst => map_first(&value, |c| c.to_lowercase().collect()),
            Modifier::UpperFirst => map_first(&value, |c| c.to_uppercase().collect()),
            Modifier::QuoteWildcard => quote_wildcard(&value),
            Modifier::Length => value.chars().count().to_string(),
        };
    }
    value
}

fn map_first(s: &str, f: impl Fn(char) -> String) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => f(c) + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_rfc5229_examples() {
        use Modifier::*;
        assert_eq!(
            apply_modifiers("juMBlEd lETteRS".into(), &[Lower]),
            "jumbled letters"
        );
        assert_eq!(
            apply_modifiers("juMBlEd lETteRS".into(), &[Upper, LowerFirst][..1]),
            "JUMBLED LETTERS"
        );
        assert_eq!(
            apply_modifiers("juMBlEd lETteRS".into(), &[LowerFirst]),
            "juMBlEd lETteRS"
        );
        assert_eq!(
            apply_modifiers("juMBlEd lETteRS".into(), &[UpperFirst]),
            "JuMBlEd lETteRS"
        );
        assert_eq!(
            apply_modifiers("juMBlEd lETteRS".into(), &[Lower, UpperFirst]),
            "Jumbled letters"
        );
        assert_eq!(apply_modifiers("j?m*".into(), &[QuoteWildcard]), "j\\?m\\*");
        assert_eq!(apply_modifiers("juMBlEd lETteRS".into(), &[Length]), "15");
        assert_eq!(truncate("héllo".into(), 2), "h");
    }
}
