//! Recursive-descent parser for the RFC 5228 §8.2 grammar, from tokens to [`ast`] nodes.
//!
//! Nesting of blocks and test lists is bounded by `max_nesting`, so a hostile script cannot
//! overflow the stack.

use crate::CompileError;
use crate::ast::{Argument, CommandNode, StrLit, TestNode};
use crate::lexer::{Pos, Tok, Token};

pub struct Parser<'a> {
    toks: &'a [Token],
    at: usize,
    max_nesting: usize,
    end: Pos,
}

pub fn parse(
    toks: &[Token],
    max_nesting: usize,
    end: Pos,
) -> Result<Vec<CommandNode>, CompileError> {
    let mut p = Parser {
        toks,
        at: 0,
        max_nesting,
        end,
    };
    let cmds = p.commands(0)?;
    if let Some(t) = p.peek() {
        return Err(t.pos.error("unexpected '}'"));
    }
    Ok(cmds)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.at)
    }

    fn here(&self) -> Pos {
        self.peek().map(|t| t.pos).unwrap_or(self.end)
    }

    fn next(&mut self) -> Option<&Token> {
        let t = self.toks.get(self.at);
        self.at += 1;
        t
    }

    fn depth_check(&self, depth: usize) -> Result<(), CompileError> {
        if depth > self.max_nesting {
            Err(self.here().error("nesting too deep"))
        } else {
            Ok(())
        }
    }

    /// Commands up to a `}` or the end of input (the `}` is not consumed).
    fn commands(&mut self, depth: usize) -> Result<Vec<CommandNode>, CompileError> {
        let mut out = Vec::new();
        while let Some(t) = self.peek() {
            if t.tok == Tok::RBrace {
                break;
            }
            out.push(self.command(depth)?);
        }
        Ok(out)
    }

    fn command(&mut self, depth: usize) -> Result<CommandNode, CompileError> {
        let t = self.next().cloned();
        let (name, pos) = match t {
            Some(Token {
                tok: Tok::Identifier(name),
                pos,
            }) => (name, pos),
            Some(t) => return Err(t.pos.error("expected a command name")),
            None => return Err(self.end.error("expected a command")),
        };
        let args = self.arguments()?;
        let mut tests = Vec::new();
        let mut test_list = false;
        match self.peek().map(|t| &t.tok) {
            Some(Tok::LParen) => {
                test_list = true;
                tests = self.test_list(depth + 1)?;
            }
            Some(Tok::Identifier(_)) => tests.push(self.test(depth + 1)?),
            _ => {}
        }
        let block = match self.next().cloned() {
            Some(Token {
                tok: Tok::Semicolon,
                ..
            }) => None,
            Some(Token {
                tok: Tok::LBrace,
                pos: open,
            }) => {
                self.depth_check(depth + 1)?;
                let body = self.commands(depth + 1)?;
                match self.next() {
                    Some(Token {
                        tok: Tok::RBrace, ..
                    }) => Some(body),
                    _ => return Err(open.error("missing '}' for this block")),
                }
            }
            Some(t) => return Err(t.pos.error(format!("expected ';' or '{{' after {name}"))),
            None => return Err(self.end.error(format!("expected ';' after {name}"))),
        };
        Ok(CommandNode {
            name,
            pos,
            args,
            tests,
            test_list,
            block,
        })
    }

    fn arguments(&mut self) -> Result<Vec<Argument>, CompileError> {
        let mut args = Vec::new();
        while let Some(t) = self.peek().cloned() {
            match t.tok {
                Tok::Str(s) => {
                    self.at += 1;
                    args.push(Argument::Strings {
                        items: vec![StrLit {
                            value: s,
                            pos: t.pos,
                        }],
                        is_list: false,
                        pos: t.pos,
                    });
                }
                Tok::Number(n) => {
                    self.at += 1;
                    args.push(Argument::Number(n, t.pos));
                }
                Tok::Tag(name) => {
                    self.at += 1;
                    args.push(Argument::Tag(name, t.pos));
                }
                Tok::LBracket => {
                    self.at += 1;
                    args.push(self.string_list(t.pos)?);
                }
                _ => break,
            }
        }
        Ok(args)
    }

    fn string_list(&mut self, open: Pos) -> Result<Argument, CompileError> {
        let mut items = Vec::new();
        loop {
            match self.next().cloned() {
                Some(Token {
                    tok: Tok::Str(s),
                    pos,
                }) => items.push(StrLit { value: s, pos }),
                Some(t) => return Err(t.pos.error("expected a string in the string list")),
                None => return Err(open.error("unterminated string list")),
            }
            match self.next().cloned() {
                Some(Token {
                    tok: Tok::Comma, ..
                }) => {}
                Some(Token {
                    tok: Tok::RBracket, ..
                }) => break,
                Some(t) => return Err(t.pos.error("expected ',' or ']' in the string list")),
                None => return Err(open.error("unterminated string list")),
            }
        }
        Ok(Argument::Strings {
            items,
            is_list: true,
            pos: open,
        })
    }

    fn test_list(&mut self, depth: usize) -> Result<Vec<TestNode>, CompileError> {
        self.depth_check(depth)?;
        let open = self.here();
        self.at += 1; // '('
        let mut tests = Vec::new();
        loop {
            tests.push(self.test(depth + 1)?);
            match self.next().cloned() {
                Some(Token {
                    tok: Tok::Comma, ..
                }) => {}
                Some(Token {
                    tok: Tok::RParen, ..
                }) => break,
                Some(t) => return Err(t.pos.error("expected ',' or ')' in the test list")),
                None => return Err(open.error("unterminated test list")),
            }
        }
        Ok(tests)
    }

    fn test(&mut self, depth: usize) -> Result<TestNode, CompileError> {
        self.depth_check(depth)?;
        let (name, pos) = match self.next().cloned() {
            Some(Token {
                tok: Tok::Identifier(name),
                pos,
            }) => (name, pos),
            Some(t) => return Err(t.pos.error("expected a test")),
            None => return Err(self.end.error("expected a test")),
        };
        let args = self.arguments()?;
        let tests = match self.peek().map(|t| &t.tok) {
            Some(Tok::LParen) => self.test_list(depth + 1)?,
            Some(Tok::Identifier(_)) => vec![self.test(depth + 1)?],
            _ => Vec::new(),
        };
        Ok(TestNode {
            name,
            pos,
            args,
            tests,
        })
    }
}
