//! Response contexts of the stateful forking proxy (RFC 3261 §16).
//!
//! A context ties one server transaction (the request we received) to the
//! client transactions of its branches (one per contact of the target). It
//! decides which response goes back upstream: provisionals pass through, the
//! first 2xx passes at once and cancels the other INVITE branches, and when
//! every branch has failed, the best failure goes back (§16.7 step 6).

use rsip::Response;

use crate::proto::transaction::{KeyMap, Role, TransactionKey};

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
    by_server: KeyMap<ResponseContext>,
    server_of_branch: KeyMap<TransactionKey>,
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
        let upstream = Self::decide(context, branch, response);
        // A non-INVITE context holds every response once a final one went
        // up, as a missing context does: it goes now rather than when its
        // server transaction ends (Timer J, 32 s later over UDP).
        if context.final_sent && !context.is_invite {
            self.by_server.remove(server);
        }
        upstream
    }

    fn decide(
        context: &mut ResponseContext,
        branch: &TransactionKey,
        response: Response,
    ) -> Upstream {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // unwrap is how a test fails

    use super::*;
    use crate::proto::transaction::{TimerConfig, TransactionLayer};
    use crate::proto::{Peer, Time};

    /// Keys of `count` client transactions of `method`, minted by a
    /// transaction layer, and one server key.
    fn keys(method: &str, count: usize) -> (TransactionKey, Vec<TransactionKey>) {
        let mut layer = TransactionLayer::new(TimerConfig::default());
        let peer = Peer::udp("10.0.0.9:5060".parse().unwrap());
        let request = |branch: &str| {
            rsip::Request::try_from(format!(
                "{method} sip:amy@confab.local SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK{branch}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:hao@confab.local>;tag=h\r\nTo: <sip:amy@confab.local>\r\n\
                 Call-ID: c@h\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
            ))
            .unwrap()
        };
        layer.handle_message(Time::ZERO, peer, request("up").into());
        let Some(crate::proto::transaction::TransactionEvent::Request { key: server, .. }) =
            layer.poll_event()
        else {
            panic!("no server transaction");
        };
        let branches = (0..count)
            .map(|n| {
                layer
                    .send_request(Time::ZERO, request(&format!("b{n}")), peer)
                    .unwrap()
            })
            .collect();
        (server, branches)
    }

    fn response(code: u16) -> Response {
        Response {
            status_code: crate::proto::build::status(code),
            ..Default::default()
        }
    }

    #[test]
    fn a_non_invite_holds_what_follows_its_final_and_lets_its_context_go() {
        let (server, branches) = keys("MESSAGE", 2);
        let mut contexts = Contexts::default();
        contexts.open(server, false, branches.clone());
        assert!(matches!(
            contexts.on_branch_response(&branches[0], response(200)),
            Upstream::ForwardAndCancel(_, cancel) if cancel.is_empty()
        ));
        assert!(contexts.by_server.is_empty());
        // The other fork answers late: nothing more goes up.
        assert_eq!(
            contexts.on_branch_response(&branches[1], response(180)),
            Upstream::Hold
        );
        assert_eq!(
            contexts.on_branch_response(&branches[1], response(200)),
            Upstream::Hold
        );
        // The branches are still known until their transactions end.
        assert!(contexts.server_of(&branches[1]).is_some());
    }

    #[test]
    fn an_invite_context_stays_for_later_2xx() {
        let (server, branches) = keys("INVITE", 2);
        let mut contexts = Contexts::default();
        contexts.open(server, true, branches.clone());
        assert!(matches!(
            contexts.on_branch_response(&branches[0], response(200)),
            Upstream::ForwardAndCancel(_, cancel) if cancel == branches[1..]
        ));
        // RFC 6026: every 2xx to an INVITE goes upstream.
        assert!(matches!(
            contexts.on_branch_response(&branches[1], response(200)),
            Upstream::ForwardAndCancel(..)
        ));
        assert_eq!(contexts.by_server.len(), 1);
    }
}
