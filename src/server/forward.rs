//! Forwarding: RFC 3261 §16.6 copies of a request to each target, each in
//! its own client transaction under one response context, and what comes
//! back (§16.7): provisionals through, the first 2xx at once with the other
//! INVITE branches cancelled, the best failure when all have failed. ACKs
//! for 2xx and stray 2xx retransmissions go on statelessly (§16.11).

use rsip::headers::ToTypedHeader as _;
use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt as _;
use rsip::{Header, Method, Request, Response, SipMessage};

use super::Server;
use super::policy::ROUTE_TOKEN_PARAM;
use super::proxy::Upstream;
use super::route::is_in_dialog;
use super::sip::{DEFAULT_MAX_FORWARDS, Target};
use crate::proto::address;
use crate::proto::build::{self, MAGIC_COOKIE, status};
use crate::proto::message;
use crate::proto::transaction::TransactionKey;
use crate::proto::{Peer, Time, Transport};

impl Server {
    /// RFC 3261 §16.6: one copy of the request per target, each in its own
    /// client transaction, tied together by a response context.
    pub(super) fn forward(
        &mut self,
        now: Time,
        server: TransactionKey,
        request: Request,
        targets: Vec<(Option<rsip::Uri>, Peer)>,
    ) {
        let Some(max_forwards) = decremented_max_forwards(&request) else {
            return self.reply(now, &server, &request, status(483));
        };
        let is_invite = request.method == Method::Invite;
        if is_invite {
            // RFC 3261 §16.2: say at once that we are on it, so the UAC stops
            // retransmitting while the branches ring.
            let trying = build::response_to(&request, status(100), None);
            self.send_response(now, &server, trying);
        }
        let record_route = creates_dialog(&request).then(|| self.record_route(&request));
        // A timeout or a 480 is answered from the request, which the last
        // branch takes.
        self.transactions.keep_request(&server, &request);
        let mut branches = Vec::new();
        let mut targets = targets.into_iter().peekable();
        let mut request = Some(request);
        while let Some((uri, peer)) = targets.next() {
            // Each target but the last gets a copy; the last, the request.
            let copy = match targets.peek() {
                Some(_) => request.clone(),
                None => request.take(),
            };
            let Some(mut copy) = copy else { break };
            if let Some(uri) = uri {
                copy.uri = uri;
            }
            let via = self.via(peer.transport);
            copy.headers = outgoing_headers(copy.headers, via, record_route.clone(), max_forwards);
            match self.transactions.send_request(now, copy, peer) {
                Ok(branch) => branches.push(branch),
                Err(error) => tracing::warn!(%error, %peer, "could not start a branch"),
            }
        }
        if branches.is_empty() {
            // The request went to the last target; the transaction has its own.
            let original = request.or_else(|| self.transactions.request(&server).cloned());
            if let Some(original) = original {
                self.reply(now, &server, &original, status(480));
            }
            return;
        }
        self.contexts.open(server, is_invite, branches);
    }

    pub(super) fn handle_branch_response(
        &mut self,
        now: Time,
        branch: &TransactionKey,
        response: Response,
    ) {
        if response.status_code.code() >= 200 {
            return self.handle_branch_final(now, branch, response);
        }
        let Some(response) = without_top_via(response) else {
            return;
        };
        if let Upstream::Forward(response) = self.contexts.on_branch_response(branch, response) {
            if let Some(server) = self.contexts.server_of(branch).cloned() {
                self.relay_response(now, &server, response);
            }
        }
    }

    pub(super) fn handle_branch_final(
        &mut self,
        now: Time,
        branch: &TransactionKey,
        response: Response,
    ) {
        // The branch's request is not needed again: not held through
        // Accepted.
        self.transactions.forget_request(branch);
        let Some(server) = self.contexts.server_of(branch).cloned() else {
            // A 2xx retransmission after the context is gone still goes up.
            if (200..300).contains(&response.status_code.code()) {
                self.forward_statelessly(response);
            }
            return;
        };
        // A synthesised timeout has no Via: it is built from the request.
        let mut response = response;
        pop_top_via(&mut response);
        match self.contexts.on_branch_response(branch, response) {
            Upstream::Forward(response) => self.send_final(now, &server, response),
            Upstream::ForwardAndCancel(response, cancel) => {
                self.send_final(now, &server, response);
                for branch in cancel {
                    if let Err(error) = self.transactions.cancel(now, &branch) {
                        tracing::debug!(%error, "cancel of a losing branch");
                    }
                }
            }
            Upstream::Hold => {}
        }
    }

    /// Sends a final response upstream. A synthesised one (a timeout) has
    /// no headers yet and takes them from the request of the transaction.
    pub(super) fn send_final(
        &mut self,
        now: Time,
        server: &TransactionKey,
        mut response: Response,
    ) {
        if response.headers.is_empty() {
            let Some(request) = self.transactions.request(server).cloned() else {
                return;
            };
            response = build::response_to(&request, response.status_code, Some(&self.ids.tag()));
        }
        // RFC 3261 §16.7 step 6: a 503 from downstream goes up as 500.
        if response.status_code.code() == 503 {
            response.status_code = status(500);
        }
        self.relay_response(now, server, response);
    }

    /// A downstream response going upstream: the proxy path of the
    /// transaction layer, which never retransmits a relayed 2xx.
    pub(super) fn relay_response(
        &mut self,
        now: Time,
        server: &TransactionKey,
        response: Response,
    ) {
        if let Err(error) = self.transactions.forward_response(now, server, response) {
            tracing::debug!(%error, "relayed response not sent");
        }
    }

    /// ACK for a 2xx: no transaction, forwarded by its route (§16.11, §13.2.2.4).
    pub(super) fn forward_ack(&mut self, mut request: Request, from: Peer) {
        let Some(_token) = self.strip_own_route(&mut request) else {
            tracing::debug!(%from, "ACK not routed through us; dropped");
            return;
        };
        let Target::NextHop(peer) = self.target_of(&request) else {
            tracing::debug!(%from, "ACK without a next hop; dropped");
            return;
        };
        let Some(max_forwards) = decremented_max_forwards(&request) else {
            return;
        };
        // A stateless element's branch must be the same for retransmissions:
        // derive it from the incoming one (RFC 3261 §16.11).
        let incoming = message::top_via_branch(&request).unwrap_or_default();
        let branch = format!("{MAGIC_COOKIE}{}", self.route_tokens.token(&incoming));
        let via = self.via_with_branch(peer.transport, &branch);
        request.headers = outgoing_headers(request.headers, via, None, max_forwards);
        self.transactions
            .send_stateless(SipMessage::Request(request), peer);
    }

    /// A response matching no transaction: if the top Via is ours, pop it and
    /// send it to the next one (RFC 3261 §16.11).
    pub(super) fn forward_statelessly(&mut self, response: Response) {
        if !self.top_via_is_ours(&response) {
            return;
        }
        let Some(response) = without_top_via(response) else {
            return;
        };
        let next = response
            .via_header()
            .ok()
            .and_then(|via| via.typed().ok())
            .and_then(|via| address::via_peer(&via));
        match next {
            Some(peer) => self
                .transactions
                .send_stateless(SipMessage::Response(response), peer),
            None => tracing::debug!("stray response with no usable Via; dropped"),
        }
    }

    pub(super) fn top_via_is_ours(&self, response: &Response) -> bool {
        let Ok(via) = response.via_header().and_then(|via| via.typed()) else {
            return false;
        };
        address::via_peer(&via).is_some_and(|peer| peer.addr == self.local)
    }

    /// Our Via for a new branch. Written piece by piece: this runs for
    /// every forwarded request.
    pub(super) fn via(&mut self, transport: Transport) -> String {
        let branch = self.ids.branch();
        let mut via = self.via_with_branch(transport, &branch);
        via.push_str(";rport");
        via
    }

    fn via_with_branch(&self, transport: Transport, branch: &str) -> String {
        let mut via = String::with_capacity(self.sent_by.len() + branch.len() + 32);
        via.push_str("SIP/2.0/");
        via.push_str(transport.as_via_token());
        via.push(' ');
        via.push_str(&self.sent_by);
        via.push_str(";branch=");
        via.push_str(branch);
        via
    }

    pub(super) fn record_route(&self, request: &Request) -> String {
        let call_id = request
            .call_id_header()
            .map(|id| id.value())
            .unwrap_or_default();
        let token = self.route_tokens.token(call_id);
        let mut route = String::with_capacity(self.sent_by.len() + token.len() + 32);
        route.push_str("<sip:");
        route.push_str(&self.sent_by);
        route.push_str(";lr;");
        route.push_str(ROUTE_TOKEN_PARAM);
        route.push('=');
        route.push_str(&token);
        route.push('>');
        route
    }
}

/// The headers of a forwarded request: our Via on top, our Record-Route on
/// top when we record-route, Max-Forwards decremented, and our own realm's
/// credentials removed (they were for us; RFC 3261 §22.3 lets a proxy
/// consume them).
fn outgoing_headers(
    headers: rsip::Headers,
    via: String,
    record_route: Option<String>,
    max_forwards: u32,
) -> rsip::Headers {
    let headers: Vec<Header> = headers.into();
    // Room for what is added, so that the list is allocated once.
    let mut out = Vec::with_capacity(headers.len() + 3);
    out.push(Header::Via(rsip::headers::Via::new(via)));
    if let Some(record_route) = record_route {
        out.push(Header::RecordRoute(rsip::headers::RecordRoute::new(
            record_route,
        )));
    }
    let mut max_forwards_set = false;
    for header in headers {
        match header {
            Header::MaxForwards(_) => {
                max_forwards_set = true;
                out.push(Header::MaxForwards(max_forwards.into()));
            }
            Header::ProxyAuthorization(_) => {}
            other => out.push(other),
        }
    }
    if !max_forwards_set {
        out.push(Header::MaxForwards(max_forwards.into()));
    }
    out.into()
}

/// RFC 3261 §16.3 step 3 and §16.6 step 3: None when no hops are left.
fn decremented_max_forwards(request: &Request) -> Option<u32> {
    let current = request
        .headers
        .iter()
        .find_map(|header| match header {
            Header::MaxForwards(value) => value.value().trim().parse::<u32>().ok(),
            _ => None,
        })
        .unwrap_or(DEFAULT_MAX_FORWARDS);
    current.checked_sub(1)
}

pub(super) fn without_top_via(mut response: Response) -> Option<Response> {
    pop_top_via(&mut response).then_some(response)
}

/// Removes the top Via, ours, when another follows it to go back to;
/// false, and nothing removed, when there is none.
fn pop_top_via(response: &mut Response) -> bool {
    let vias = response
        .headers
        .iter()
        .filter(|header| matches!(header, Header::Via(_)))
        .take(2)
        .count();
    if vias < 2 {
        return false;
    }
    let mut removed = false;
    response.headers.retain(|header| {
        if !removed && matches!(header, Header::Via(_)) {
            removed = true;
            return false;
        }
        true
    });
    true
}

/// Requests that may create a dialog, which we stay in by Record-Route.
fn creates_dialog(request: &Request) -> bool {
    matches!(
        request.method,
        Method::Invite | Method::Subscribe | Method::Refer
    ) && !is_in_dialog(request)
}

#[cfg(test)]
mod tests;
