//! Response contexts of the stateful forking proxy (RFC 3261 §16).
//!
//! A context ties one server transaction (the request we received) to the
//! client transactions of its branches (one per contact of the target). It
//! decides which response goes back upstream: provisionals pass through, the
//! first 2xx passes at once and cancels the other INVITE branches, and when
//! every branch has failed, the best failure goes back (§16.7 step 6).

use std::collections::HashMap;

use rsip::Response;

use crate::proto::transaction::{Role, TransactionKey};

/// One request being proxied.
#[derive(Debug)]
pub struct ResponseContext {
    pub is_invite: bool,
    /// Branches with no final response yet.
    pub pending: Vec<TransactionKey>,
    /// The best final failure so far (§16.7 step 6).
    best: Option<Response>,
    /// A final response has gone upstream; only 2xx for INVITE may follow.
    pub final_sent: bool,
}

/// What to do upstream with a branch's response.
#[derive(Debug, PartialEq)]
pub enum Upstream {
    /// Send this response on the server transaction.
    Forward(Response),
    /// Send this final response, and CANCEL these still-pending branches.
    ForwardAndCancel(Response, Vec<TransactionKey>),
    /// Nothing to send yet (or ever: a late final after one went upstream).
    Hold,
}

/// All live response contexts, indexed by server and by branch transaction.
#[derive(Debug, Default)]
pub struct Contexts {
    by_server: HashMap<TransactionKey, ResponseContext>,
    server_of_branch: HashMap<TransactionKey, TransactionKey>,
}

impl Contexts {
    pub fn open(&mut self, server: TransactionKey, is_invite: bool, branches: Vec<TransactionKey>) {
        for branch in &branches {
            self.server_of_branch.insert(branch.clone(), server.clone());
        }
        self.by_server.insert(
            server,
            ResponseContext {
                is_invite,
                pending: branches,
                best: None,
                final_sent: false,
            },
        );
    }

    pub fn server_of(&self, branch: &TransactionKey) -> Option<&TransactionKey> {
        self.server_of_branch.get(branch)
    }

    /// Decides what a branch's response (our Via already removed) means
    /// upstream.
    pub fn on_branch_response(&mut self, branch: &TransactionKey, response: Response) -> Upstream {
        let Some(server) = self.server_of_branch.get(branch) else {
            return Upstream::Hold;
        };
        let Some(context) = self.by_server.get_mut(server) else {
            return Upstream::Hold;
        };
        let code = response.status_code.code();
        if code < 200 {
            // §16.7 step 5: 100 is hop-by-hop; other provisionals go up
            // until a final response has.
            if code == 100 || context.final_sent {
                return Upstream::Hold;
            }
            return Upstream::Forward(response);
        }
        context.pending.retain(|pending| pending != branch);
        if (200..300).contains(&code) {
            if context.final_sent && !context.is_invite {
                return Upstream::Hold;
            }
            // RFC 3261 §16.7 step 5 and RFC 6026: every 2xx to an INVITE
            // goes upstream, even after the first.
            context.final_sent = true;
            let cancel = if context.is_invite {
                context.pending.clone()
            } else {
                Vec::new()
            };
            return Upstream::ForwardAndCancel(response, cancel);
        }
        if context.final_sent {
            return Upstream::Hold;
        }
        let better = match &context.best {
            Some(best) => is_better_failure(&response, best),
            None => true,
        };
        if better {
            context.best = Some(response);
        }
        if context.pending.is_empty() {
            context.final_sent = true;
            if let Some(best) = context.best.take() {
                return Upstream::ForwardAndCancel(best, Vec::new());
            }
        }
        Upstream::Hold
    }

    /// The pending branches to CANCEL when the request upstream is cancelled.
    pub fn pending_branches(&self, server: &TransactionKey) -> Vec<TransactionKey> {
        self.by_server
            .get(server)
            .map(|context| context.pending.clone())
            .unwrap_or_default()
    }

    /// Forgets a transaction; a context goes once its server transaction is
    /// gone, branch entries once their own transactions are.
    pub fn forget(&mut self, key: &TransactionKey) {
        // Branches are client transactions, contexts are keyed by server
        // ones: one lookup per transaction that ends.
        match key.role() {
            Role::Client => {
                self.server_of_branch.remove(key);
            }
            Role::Server => {
                self.by_server.remove(key);
            }
        }
    }
}

/// RFC 3261 §16.7 step 6: any 6xx wins; otherwise the lowest class, the
/// first one seen within a class. 503 becomes 500 upstream (§16.7 step 6),
/// done by the caller's status mapping, not here.
fn is_better_failure(candidate: &Response, best: &Response) -> bool {
    let candidate = candidate.status_code.code();
    let best = best.status_code.code();
    let class = |code: u16| if code >= 600 { 0 } else { code / 100 };
    class(candidate) < class(best)
}
