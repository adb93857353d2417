//! RFC 5256 threading algorithms, pure: ORDEREDSUBJECT (§3, "poor man's threading") and
//! REFERENCES (§4, after J. Zawinski), plus the `thread-list` rendering of RFC 5256 §5.
//!
//! Input is one [`ThreadMsg`] per message to thread, carrying what delivery cached (base
//! subject, reply flag, Message-ID, References/In-Reply-To) and the sent date SORT uses.
//! Ties on sent date fall back to mailbox order (`seq`).
//!
//! Every traversal is iterative, so a hostile chain of thousands of References cannot
//! exhaust the stack.

use std::collections::{HashMap, HashSet};

/// One message to thread.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadMsg {
    /// The number the response shows (sequence number or UID).
    pub num: u32,
    /// Mailbox order, for ties.
    pub seq: usize,
    /// Sent date (Date header, else INTERNALDATE), Unix seconds.
    pub date: i64,
    /// RFC 5256 base subject (compared exactly: already case-folded at delivery).
    pub subject: String,
    /// The subject had a reply/forward marker.
    pub is_reply: bool,
    pub message_id: Option<String>,
    pub references: Vec<String>,
    pub in_reply_to: Vec<String>,
}

/// A node of the result: a message, or a dummy (`msg == None`) holding siblings whose
/// parent is missing.
#[derive(Clone, Debug, Default)]
struct Node {
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// The threads of a set of messages.
#[derive(Clone, Debug, Default)]
pub struct Forest {
    msgs: Vec<ThreadMsg>,
    nodes: Vec<Node>,
    roots: Vec<usize>,
}

impl Forest {
    fn new(msgs: Vec<ThreadMsg>) -> Forest {
        Forest {
            msgs,
            nodes: Vec::new(),
            roots: Vec::new(),
        }
    }

    fn add(&mut self, msg: Option<usize>) -> usize {
        self.nodes.push(Node {
            msg,
            parent: None,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.unlink(child);
        self.nodes[child].parent = Some(parent);
        self.nodes[parent].children.push(child);
    }

    fn unlink(&mut self, child: usize) {
        if let Some(p) = self.nodes[child].parent.take() {
            self.nodes[p].children.retain(|&c| c != child);
        }
    }

    /// Whether `a` is `b` or one of its ancestors.
    fn is_ancestor_or_self(&self, a: usize, b: usize) -> bool {
        if self.nodes[a].children.is_empty() {
            return a == b;
        }
        let mut cur = Some(b);
        while let Some(c) = cur {
            if c == a {
                return true;
            }
            cur = self.nodes[c].parent;
        }
        false
    }

    /// Sort key of a node: its message's (date, seq), or its first child's for a dummy.
    fn key(&self, mut n: usize) -> (i64, usize) {
        loop {
            match self.nodes[n].msg {
                Some(m) => return (self.msgs[m].date, self.msgs[m].seq),
                None => match self.nodes[n].children.first() {
                    Some(&c) => n = c,
                    None => return (i64::MAX, usize::MAX),
                },
            }
        }
    }

    fn thread_msg(&self, mut n: usize) -> Option<&ThreadMsg> {
        loop {
            match self.nodes[n].msg {
                Some(m) => return Some(&self.msgs[m]),
                None => n = *self.nodes[n].children.first()?,
            }
        }
    }

    /// Every node reachable from the roots, parents before children.
    fn preorder(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut stack: Vec<usize> = self.roots.iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            out.push(n);
            stack.extend(self.nodes[n].children.iter().rev().copied());
        }
        out
    }

    /// RFC 5256 §4 step 6 (and step 4 for the roots): siblings by sent date, children
    /// first so that a dummy sorts by its first child.
    fn sort_siblings(&mut self) {
        for n in self.preorder().into_iter().rev() {
            let mut kids = std::mem::take(&mut self.nodes[n].children);
            kids.sort_by_key(|&c| self.key(c));
            self.nodes[n].children = kids;
        }
        let mut roots = std::mem::take(&mut self.roots);
        roots.sort_by_key(|&c| self.key(c));
        self.roots = roots;
    }

    /// Writes the `thread-list`s, e.g. `(1 2)(3 (4)(5))((6)(7))`.
    pub fn render(&self, out: &mut Vec<u8>) {
        enum Work {
            Node(usize),
            Text(&'static [u8]),
        }
        let mut stack: Vec<Work> = Vec::new();
        for &r in self.roots.iter().rev() {
            stack.push(Work::Text(b")"));
            stack.push(Work::Node(r));
            stack.push(Work::Text(b"("));
        }
        while let Some(w) = stack.pop() {
            let n = match w {
                Work::Text(t) => {
                    out.extend_from_slice(t);
                    continue;
                }
                Work::Node(n) => n,
            };
            let node = &self.nodes[n];
            let mut items: Vec<Work> = Vec::new();
            if let Some(m) = node.msg {
                out.extend_from_slice(self.msgs[m].num.to_string().as_bytes());
            }
            let sep = node.msg.is_some() && !node.children.is_empty();
            if sep {
                items.push(Work::Text(b" "));
            }
            match node.children.as_slice() {
                [] => {}
                [only] => items.push(Work::Node(*only)),
                many => {
                    for &c in many {
                        items.push(Work::Text(b"("));
                        items.push(Work::Node(c));
                        items.push(Work::Text(b")"));
                    }
                }
            }
            stack.extend(items.into_iter().rev());
        }
    }
}

/// RFC 5256 §3 ORDEREDSUBJECT: messages grouped by base subject; in each group, sorted by
/// sent date, the first is the parent of all the others; threads ordered by the sent date
/// of their first message.
pub fn ordered_subject(msgs: Vec<ThreadMsg>) -> Forest {
    let mut f = Forest::new(msgs);
    let mut order: Vec<usize> = (0..f.msgs.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&f.msgs[a], &f.msgs[b]);
        (&x.subject, x.date, x.seq).cmp(&(&y.subject, y.date, y.seq))
    });
    let mut current: Option<(usize, usize)> = None; // (first message index, its node)
    for m in order {
        let node = f.add(Some(m));
        match current {
            Some((first, parent)) if f.msgs[first].subject == f.msgs[m].subject => {
                f.link(parent, node);
            }
            _ => {
                f.roots.push(node);
                current = Some((m, node));
            }
        }
    }
    let mut roots = std::mem::take(&mut f.roots);
    roots.sort_by_key(|&r| f.key(r));
    f.roots = roots;
    f
}

/// RFC 5256 §4 REFERENCES.
pub fn references(msgs: Vec<ThreadMsg>) -> Forest {
    let mut f = Forest::new(msgs);
    let mut by_id: HashMap<String, usize> = HashMap::new();

    // Step 1: containers and parent/child links from References (or In-Reply-To).
    for m in 0..f.msgs.len() {
        let id = f.msgs[m].message_id.clone().filter(|s| !s.is_empty());
        let this = match id {
            Some(id) => match by_id.get(&id).copied() {
                Some(c) if f.nodes[c].msg.is_none() => {
                    f.nodes[c].msg = Some(m);
                    c
                }
                // A duplicate Message-ID: this message gets a container of its own.
                Some(_) => f.add(Some(m)),
                None => {
                    let c = f.add(Some(m));
                    by_id.insert(id, c);
                    c
                }
            },
            None => f.add(Some(m)),
        };
        let refs: Vec<String> = if f.msgs[m].references.is_empty() {
            f.msgs[m].in_reply_to.iter().take(1).cloned().collect()
        } else {
            f.msgs[m].references.clone()
        };
        let mut prev: Option<usize> = None;
        for r in refs.iter().filter(|r| !r.is_empty()) {
            let c = match by_id.get(r) {
                Some(&c) => c,
                None => {
                    let c = f.add(None);
                    by_id.insert(r.clone(), c);
                    c
                }
            };
            if let Some(p) = prev {
                // 1.A: link consecutive references unless already linked or looping.
                if f.nodes[c].parent.is_none() && !f.is_ancestor_or_self(c, p) {
                    f.link(p, c);
                }
            }
            prev = Some(c);
        }
        // 1.B: the last reference is this message's parent (replacing a guessed one).
        match prev {
            Some(p) if !f.is_ancestor_or_self(this, p) => f.link(p, this),
            Some(_) => {}
            None => f.unlink(this),
        }
    }

    // Step 2: the root set.
    f.roots = (0..f.nodes.len())
        .filter(|&n| f.nodes[n].parent.is_none())
        .collect();

    // Step 3: prune dummies, children first.
    for n in f.preorder().into_iter().rev() {
        let kids = std::mem::take(&mut f.nodes[n].children);
        f.nodes[n].children = prune(&mut f, kids, false, n);
    }
    let roots = std::mem::take(&mut f.roots);
    f.roots = prune(&mut f, roots, true, usize::MAX);

    // Step 4: sort the root set (and, so dummies know their first child, everything).
    f.sort_siblings();

    // Step 5: merge threads with the same base subject.
    merge_by_subject(&mut f);

    // Step 6: sort siblings again after merging.
    f.sort_siblings();
    f
}

/// Step 3 on one sibling list (whose own children are already pruned).
fn prune(f: &mut Forest, list: Vec<usize>, at_root: bool, parent: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(list.len());
    for c in list {
        if f.nodes[c].msg.is_some() {
            out.push(c);
            continue;
        }
        let kids = std::mem::take(&mut f.nodes[c].children);
        if kids.is_empty() {
            continue;
        }
        if !at_root || kids.len() == 1 {
            for &k in &kids {
                f.nodes[k].parent = (!at_root).then_some(parent);
            }
            out.extend(kids);
        } else {
            f.nodes[c].children = kids;
            out.push(c);
        }
    }
    out
}

/// RFC 5256 §4 step 5.
fn merge_by_subject(f: &mut Forest) {
    let subject_of = |f: &Forest, n: usize| -> Option<(String, bool)> {
        f.thread_msg(n)
            .filter(|m| !m.subject.is_empty())
            .map(|m| (m.subject.clone(), m.is_reply))
    };
    let is_dummy = |f: &Forest, n: usize| f.nodes[n].msg.is_none();
    // B: one root per subject.
    let mut table: HashMap<String, usize> = HashMap::new();
    for &r in &f.roots {
        let Some((subject, reply)) = subject_of(f, r) else {
            continue;
        };
        match table.get(&subject).copied() {
            None => {
                table.insert(subject, r);
            }
            Some(t) => {
                let t_reply = subject_of(f, t).is_some_and(|s| s.1);
                if !is_dummy(f, t) && (is_dummy(f, r) || (t_reply && !reply)) {
                    table.insert(subject, r);
                }
            }
        }
    }
    // C: merge into the table's root.
    let mut removed: HashSet<usize> = HashSet::new();
    let mut replaced: HashMap<usize, usize> = HashMap::new();
    let roots = f.roots.clone();
    for r in roots {
        let Some((subject, reply)) = subject_of(f, r) else {
            continue;
        };
        let Some(&t) = table.get(&subject) else {
            continue;
        };
        if t == r {
            continue;
        }
        let t_reply = subject_of(f, t).is_some_and(|s| s.1);
        if is_dummy(f, t) && is_dummy(f, r) {
            let kids = std::mem::take(&mut f.nodes[r].children);
            for &k in &kids {
                f.nodes[k].parent = Some(t);
            }
            f.nodes[t].children.extend(kids);
        } else if is_dummy(f, t) || (reply && !t_reply) {
            f.link(t, r);
        } else {
            let d = f.add(None);
            f.link(d, t);
            f.link(d, r);
            replaced.insert(t, d);
            table.insert(subject, d);
        }
        removed.insert(r);
    }
    let roots = std::mem::take(&mut f.roots);
    f.roots = roots
        .into_iter()
        .filter(|r| !removed.contains(r))
        .map(|r| {
            let mut r = r;
            while let Some(&d) = replaced.get(&r) {
                r = d;
            }
            r
        })
        .collect();
}

#[cfg(test)]
#[path = "thread_algo_tests.rs"]
mod tests;
