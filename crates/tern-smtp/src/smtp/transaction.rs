//! An SMTP mail transaction between MAIL FROM and the end of the message (or RSET): the
//! envelope, the local accounts to deliver to (each once), the remote recipients for the
//! queue, and the body once BDAT started it.

use crate::body::MessageBody;
use crate::envelope::{Envelope, RcptParams};
use crate::queue::QueuedRecipient;
use std::collections::HashMap;
use tern_directory::Account;

/// An accepted RCPT.
#[derive(Debug)]
pub(crate) struct SmtpRcpt {
    /// The address as the client gave it (for logs and replies).
    pub address: String,
    pub params: RcptParams,
    pub kind: RcptKind,
}

#[derive(Debug)]
pub(crate) enum RcptKind {
    /// Local accounts: indexes into [`Transaction::targets`]; `group` when a list expansion.
    Local { targets: Vec<usize>, group: bool },
    /// Another domain (its forward-path is in [`Transaction::remote`]), or, in migration
    /// mode, a local address whose accounts are all still on the legacy server.
    Remote,
}

pub(crate) struct Transaction {
    pub id: String,
    pub envelope: Envelope<SmtpRcpt>,
    /// Local accounts to deliver to, each once, in the order first named.
    pub targets: Vec<Account>,
    by_name: HashMap<String, usize>,
    /// Recipients for the queue, each forward-path once.
    pub remote: Vec<QueuedRecipient>,
    /// The message body once the first BDAT chunk arrived.
    pub bdat: Option<MessageBody>,
    /// Length of the `Return-Path:` field at the start of that body.
    pub return_path_len: u64,
}

impl Transaction {
    pub fn new(id: String, envelope: Envelope<SmtpRcpt>) -> Transaction {
        Transaction {
            id,
            envelope,
            targets: Vec::new(),
            by_name: HashMap::new(),
            remote: Vec::new(),
            bdat: None,
            return_path_len: 0,
        }
    }

    /// Adds a local recipient, sharing delivery targets with earlier recipients; `relayed`
    /// accounts (migration mode: not cut over yet) go to the queue by account name.
    pub fn add_local(
        &mut self,
        address: String,
        params: RcptParams,
        accounts: Vec<Account>,
        group: bool,
        relayed: Vec<Account>,
    ) {
        for account in relayed {
            if !self
                .remote
                .iter()
                .any(|r| r.home && r.address == account.name)
            {
                self.remote.push(QueuedRecipient {
                    address: account.name,
                    notify: params.notify,
                    orcpt: params.orcpt.clone().or_else(|| Some(address.clone())),
                    home: true,
                });
            }
        }
        if accounts.is_empty() {
            self.envelope.recipients.push(SmtpRcpt {
                address,
                params,
                kind: RcptKind::Remote,
            });
            return;
        }
        let mut targets = Vec::with_capacity(accounts.len());
        for account in accounts {
            let next = self.targets.len();
            let index = *self.by_name.entry(account.name.clone()).or_insert(next);
            if index == next {
                self.targets.push(account);
            }
            if !targets.contains(&index) {
                targets.push(index);
            }
        }
        self.envelope.recipients.push(SmtpRcpt {
            address,
            params,
            kind: RcptKind::Local { targets, group },
        });
    }

    /// Adds a remote recipient (`wire`: the forward-path in wire form).
    pub fn add_remote(&mut self, address: String, params: RcptParams, wire: String) {
        // Local parts are case-sensitive elsewhere (RFC 5321 §2.4): only exact duplicates.
        if !self.remote.iter().any(|r| r.address == wire) {
            self.remote.push(QueuedRecipient {
                address: wire,
                notify: params.notify,
                orcpt: params.orcpt.clone(),
                home: false,
            });
        }
        self.envelope.recipients.push(SmtpRcpt {
            address,
            params,
            kind: RcptKind::Remote,
        });
    }
}
