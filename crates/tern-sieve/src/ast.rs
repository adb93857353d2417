//! The generic syntax tree of RFC 5228 §8.2: every command and test is an identifier with
//! arguments (string lists, numbers, tags), tests and an optional block. Meaning is given
//! later by `compile`, which checks names and arguments against the known commands.

use crate::lexer::Pos;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    pub value: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Argument {
    /// A single string (`is_list == false`) or a bracketed string list.
    Strings {
        items: Vec<StrLit>,
        is_list: bool,
        pos: Pos,
    },
    Number(u64, Pos),
    Tag(String, Pos),
}

impl Argument {
    pub fn pos(&self) -> Pos {
        match self {
            Argument::Strings { pos, .. } | Argument::Number(_, pos) | Argument::Tag(_, pos) => {
                *pos
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestNode {
    pub name: String,
    pub pos: Pos,
    pub args: Vec<Argument>,
    pub tests: Vec<TestNode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandNode {
    pub name: String,
    pub pos: Pos,
    pub args: Vec<Argument>,
    pub tests: Vec<TestNode>,
    /// True when the tests were written as a parenthesized test-list.
    pub test_list: bool,
    pub block: Option<Vec<CommandNode>>,
}
