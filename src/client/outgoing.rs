//! Requests the client starts outside any dialog (REGISTER, OPTIONS,
//! MESSAGE, PUBLISH, SUBSCRIBE, SERVICE) and what it remembers about each
//! until its final response: why it was sent, and the request itself, so
//! that a 401 or 407 can be answered by sending it again with credentials
//! (RFC 3261 §22.2, §22.3).
//!
//! Credentials are sent proactively once the server has challenged us: the
//! digest client counts nonce uses, so most requests go through with no
//! extra round trip. OPTIONS keep-alives go without: any answer, a
//! challenge too, shows the server is there. A request challenged again
//! after it carried fresh credentials fails with the server's answer: the
//! password is wrong.

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request, Response};

use super::{Client, Purpose};
use crate::proto::digest::{ChallengeKind, DigestError};
use crate::proto::transaction::TransactionKey;
use crate::proto::{Peer, Time};

/// A request in flight.
#[derive(Debug)]
pub(super) struct Outstanding {
    pub key: TransactionKey,
    pub purpose: Purpose,
    /// As first built, without credentials, for a retry.
    request: Request,
    /// The credentials it went out with.
    credentials: rsip::Headers,
    destination: Peer,
}

impl Outstanding {
    /// The credentials headers the request went out with.
    pub fn credentials(&self) -> &rsip::Headers {
        &self.credentials
    }

    /// The request as sent, without its credentials.
    pub fn request(&self) -> &Request {
        &self.request
    }
}

impl Client {
    /// A request's common headers (RFC 3261 §8.1.1), From being us.
    pub(super) fn request_headers(
        &mut self,
        to: &str,
        from_tag: &str,
        call_id: String,
        cseq: &str,
    ) -> Vec<Header> {
        vec![
            Header::Via(rsip::headers::Via::new(self.via())),
            Header::MaxForwards(70.into()),
            Header::From(rsip::headers::From::new(format!(
                "<{}>;tag={from_tag}",
                self.aor
            ))),
            Header::To(rsip::headers::To::new(format!("<{to}>"))),
            Header::CallId(rsip::headers::CallId::new(call_id)),
            Header::CSeq(rsip::headers::CSeq::new(cseq)),
            Header::UserAgent(rsip::headers::UserAgent::new(super::USER_AGENT)),
        ]
    }

    /// A new out-of-dialog request to `target` through the server: its own
    /// Call-ID and tag, CSeq 1, and `extra` headers and body after the
    /// common ones.
    pub(super) fn send_new_request(
        &mut self,
        now: Time,
        method: Method,
        target: &str,
        extra: Vec<Header>,
        body: Vec<u8>,
        purpose: Purpose,
    ) {
        let server = self.config.server;
        self.send_new_request_to(now, method, target, extra, body, purpose, server);
    }

    /// The same, over a chosen transport to the server.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_new_request_to(
        &mut self,
        now: Time,
        method: Method,
        target: &str,
        extra: Vec<Header>,
        body: Vec<u8>,
        purpose: Purpose,
        destination: Peer,
    ) {
        self.via_transport = destination.transport;
        let tag = self.ids.tag();
        let call_id = self.ids.call_id(&self.config.local.ip().to_string());
        let mut headers = self.request_headers(target, &tag, call_id, &format!("1 {method}"));
        headers.extend(extra);
        let Ok(uri) = rsip::Uri::try_from(target) else {
            tracing::warn!(%target, "cannot send to an unparseable URI");
            return;
        };
        let request = Request {
            method,
            uri,
            version: rsip::Version::V2,
            headers: headers.into(),
            body,
        };
        self.via_transport = self.config.server.transport;
        self.send_request(now, request, destination, purpose);
    }

    /// Sends a request through a client transaction, with whatever
    /// credentials we hold for its kind.
    pub(super) fn send_request(
        &mut self,
        now: Time,
        request: Request,
        destination: Peer,
        purpose: Purpose,
    ) {
        let kind = challenge_kind_for(&request.method);
        let mut sent = request.clone();
        // A keep-alive goes without: any answer, a challenge too, shows
        // the server is there, and no digest is computed twice a minute.
        let credentials = if purpose == Purpose::KeepAlive {
            Vec::new()
        } else {
            self.digest
                .authorization_for(self.ids.rng(), kind, &sent.method, &sent.uri)
        };
        sent.headers.extend(credentials.clone());
        match self.transactions.send_request(now, sent, destination) {
            Ok(key) => self.outstanding.push(Outstanding {
                key,
                purpose,
                request,
                credentials: credentials.into(),
                destination,
            }),
            Err(error) => tracing::warn!(%error, method = %request.method, "request not sent"),
        }
    }

    /// The latest request sent for `purpose`, while one is in flight.
    pub(super) fn last_sent(&self, purpose: &Purpose) -> Option<Request> {
        self.outstanding
            .iter()
            .rev()
            .find(|outstanding| &outstanding.purpose == purpose)
            .map(|outstanding| outstanding.request.clone())
    }

    /// The request a response belongs to; forgotten on a final response.
    pub(super) fn take_outstanding(
        &mut self,
        key: &TransactionKey,
        is_final: bool,
    ) -> Option<Outstanding> {
        let index = self.outstanding.iter().position(|o| &o.key == key)?;
        if is_final {
            return Some(self.outstanding.remove(index));
        }
        self.outstanding.get(index).map(|o| Outstanding {
            key: o.key.clone(),
            purpose: o.purpose.clone(),
            request: o.request.clone(),
            credentials: o.credentials.clone(),
            destination: o.destination,
        })
    }

    /// Answers a 401/407 by sending the request again with credentials: a
    /// new branch, the next CSeq. Errors when the challenge cannot be
    /// answered or says our credentials were refused.
    pub(super) fn retry_with_credentials(
        &mut self,
        now: Time,
        outstanding: Outstanding,
        response: &Response,
    ) -> Result<(), DigestError> {
        let kind = ChallengeKind::from_status(&response.status_code)
            .ok_or(DigestError::NoUsableChallenge)?;
        self.digest
            .handle_challenge_to(kind, &response.headers, &outstanding.credentials)?;
        let mut request = outstanding.request;
        let via = self.via();
        let via = if outstanding.purpose == Purpose::Register {
            self.offer_keep(&via)
        } else {
            via
        };
        let mut cseq_number = 1;
        for header in request.headers.iter_mut() {
            match header {
                Header::Via(old) => *old = rsip::headers::Via::new(via.clone()),
                Header::CSeq(cseq) => {
                    let value = cseq.value().to_owned();
                    let (number, method) = value.split_once(' ').unwrap_or(("1", "REGISTER"));
                    cseq_number = number.trim().parse::<u32>().unwrap_or(1).saturating_add(1);
                    *cseq = rsip::headers::CSeq::new(format!("{cseq_number} {}", method.trim()));
                }
                _ => {}
            }
        }
        if outstanding.purpose.is_registration() {
            self.register_cseq = self.register_cseq.max(cseq_number);
        }
        self.send_request(now, request, outstanding.destination, outstanding.purpose);
        Ok(())
    }
}

/// REGISTER is challenged by the registrar (401), the rest by the proxy
/// (407): RFC 3261 §22.
fn challenge_kind_for(method: &Method) -> ChallengeKind {
    if *method == Method::Register {
        ChallengeKind::Www
    } else {
        ChallengeKind::Proxy
    }
}
