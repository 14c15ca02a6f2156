//! Who may reach whom: the closed-domain rules of the server.
//!
//! An enterprise UC server answers nothing about its users to strangers. A
//! request that would reach a user must come from an authenticated user of
//! the domain (digest; RFC 3261 §22) or from a configured trusted peer, and
//! every stranger gets the same challenge whatever the target, so no method
//! tells who exists or who is online. Three kinds of request pass without
//! credentials, each for a reason written beside it in [`Admission`]; a
//! server started without authentication lets in a fourth, on its word.
//!
//! In-dialog requests come back through us because we Record-Route. Our
//! Record-Route URI carries a token, an HMAC of the dialog's Call-ID under a
//! secret of this server, so that a request routed by it is known to belong
//! to a dialog we admitted, and nobody can forge one to reach a user.

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use rsip::headers::UntypedHeader as _;
use rsip::message::HeadersExt as _;
use rsip::{Method, Request};
use sha2::Sha256;

use super::sip::Server;
use crate::proto::build::{self, status, status_with_reason};
use crate::proto::digest::{Algorithm, AuthOutcome, ChallengeKind, hmac_sha256};
use crate::proto::transaction::TransactionKey;
use crate::proto::{Peer, Time};

/// The name of our Record-Route token parameter.
pub const ROUTE_TOKEN_PARAM: &str = "ct";

/// What the server does with a request before looking at its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// OPTIONS to the server itself: a keep-alive, answered for anyone, and
    /// it says nothing about users.
    KeepAlive,
    /// From a trusted peer (a trunk or gateway) by source address.
    Trusted,
    /// In a dialog we record-routed, proven by the route token.
    InDialog,
    /// Needs digest credentials.
    Authenticate,
    /// Would need credentials, but the server runs without authentication
    /// (`confab serve --no-auth`): taken at its word, and only as far as
    /// the server itself or a user of the domain (see `open`).
    Unauthenticated,
}

/// Signs and checks the route token of our Record-Route.
#[derive(Clone)]
pub struct RouteTokens {
    /// HMAC keyed once (its inner and outer pads hashed), cloned for each
    /// token: a call's INVITE, ACK and BYE each need one.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for RouteTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouteTokens { .. }")
    }
}

impl RouteTokens {
    pub fn new(key: [u8; 32]) -> Self {
        RouteTokens {
            keyed: hmac_sha256(&key),
        }
    }

    /// The token for a dialog with this Call-ID: 64 bits of HMAC-SHA256 in hex.
    pub fn token(&self, call_id: &str) -> String {
        let mut mac = self.keyed.clone();
        mac.update(call_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        crate::proto::build::lower_hex(&digest[..8])
    }

    /// Constant-time comparison, so a forger learns nothing from timing.
    pub fn verify(&self, call_id: &str, token: &str) -> bool {
        let expected = self.token(call_id);
        expected.len() == token.len()
            && expected
                .bytes()
                .zip(token.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl Server {
    /// The digest algorithms challenges offer, in this order (`confab serve
    /// --digest-algorithms`); see [`crate::proto::digest::DEFAULT_OFFERED`].
    pub fn with_digest_algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.challenger = self.challenger.offering(algorithms);
        self
    }

    /// Digest authentication (RFC 3261 §22): the user the request proved
    /// to come from, or None once it has been challenged or refused.
    pub(super) fn authenticate(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        from: Peer,
    ) -> Option<String> {
        let kind = if request.method == Method::Register {
            ChallengeKind::Www
        } else {
            ChallengeKind::Proxy
        };
        let (directory, domain) = (&self.directory, &self.domain);
        let outcome =
            self.challenger
                .verify(now, &request.method, &request.headers, kind, |user| {
                    directory.credentials(user, domain)
                });
        match outcome {
            AuthOutcome::Authenticated { username } => {
                if self.identity_matches(request, &username) {
                    return Some(username);
                }
                self.reply(
                    now,
                    key,
                    request,
                    status_with_reason(403, "Identity Mismatch"),
                );
            }
            AuthOutcome::Challenge { stale } => self.challenge(now, key, request, kind, stale),
            AuthOutcome::Rejected { reason } => {
                tracing::info!(%from, %reason, method = %request.method, "credentials rejected");
                self.reply(now, key, request, status(403));
            }
        }
        None
    }

    /// The authenticated user must be who the request claims to be: From
    /// for requests, To for REGISTER (RFC 3261 §10.3 step 3; third-party
    /// registration is not offered).
    fn identity_matches(&self, request: &Request, username: &str) -> bool {
        self.claimed_aor(request).is_some_and(|aor| {
            aor.user() == username
                // A desk phone registers its owner's work number.
                || (request.method == Method::Register
                    && super::gateway::is_e164(aor.user())
                    && self.directory.owner_of_number(aor.user(), aor.domain()).as_deref()
                        == Some(username))
        })
    }

    /// A 401/407 with a fresh nonce. Sent statelessly, as a registrar or
    /// proxy in front of strangers should (RFC 3261 §8.2.7, §16.11): a
    /// challenge costs no transaction kept for 32 s, and a retransmitted
    /// request is simply challenged again. A request inside a dialog (its To
    /// has a tag) keeps its transaction, because the ACK to a challenged
    /// re-INVITE carries the dialog's tag and only the transaction absorbs it.
    fn challenge(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        kind: ChallengeKind,
        stale: bool,
    ) {
        let code = if kind == ChallengeKind::Www { 401 } else { 407 };
        let in_dialog = request
            .to_header()
            .is_ok_and(|to| build::to_has_tag(to.value()));
        let tag = if in_dialog {
            self.ids.tag()
        } else {
            self.transactions.stateless_tag(key)
        };
        let mut response = build::response_to(request, status(code), Some(&tag));
        for header in self.challenger.challenge(now, kind, stale) {
            response.headers.push(header);
        }
        if in_dialog {
            return self.send_response(now, key, response);
        }
        self.add_server_header(&mut response);
        if let Err(error) = self.transactions.respond_statelessly(key, response) {
            tracing::debug!(%error, "challenge not sent");
        }
    }
}

/// The configured peers trusted without credentials.
#[derive(Debug, Clone, Default)]
pub struct TrustedPeers(Vec<IpAddr>);

impl TrustedPeers {
    pub fn new(addresses: Vec<IpAddr>) -> Self {
        TrustedPeers(addresses)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

#[cfg(test)]
mod tests;
