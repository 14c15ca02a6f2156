//! The user-agent side of digest authentication: answering 401/407
//! (RFC 3261 §22.2, §22.3) and pre-authorizing later requests with a
//! remembered nonce (RFC 7616 §3.4, incrementing nc).
//!
//! One remembered challenge ("session") is kept per (kind, realm). A new
//! challenge replaces it. Telling a stale nonce from a wrong password:
//! - `stale=true`: the password was right, retry with the new nonce;
//! - `stale=false` right after answering that realm's previous challenge
//!   for the first time: the password is wrong, stop
//!   ([`DigestError::CredentialsRejected`]);
//! - `stale=false` after a pre-authorized request (an older nonce reused):
//!   the server may simply not know that nonce any more (not every server
//!   sends stale=true), so retry once with the new nonce. A wrong password
//!   is then caught on the next round.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::params::{DigestParams, quote};
use super::{Algorithm, ChallengeKind, DigestError, QopAuth, ha1, request_digest};

/// Answers digest challenges for one account.
pub struct DigestClient {
    username: String,
    password: String,
    sessions: Vec<Session>,
}

/// A remembered challenge of one realm.
struct Session {
    kind: ChallengeKind,
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    /// Whether the challenge offered `qop=auth`; if not, answer in the
    /// RFC 2069 form (no nc, no cnonce).
    qop: bool,
    ha1: String,
    /// Requests authorized with this nonce so far; nc of the next is +1.
    uses: u32,
    /// The latest credentials sent were the first answer to this challenge.
    answered_fresh: bool,
}

/// One usable challenge read from a response.
struct Offer {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    qop: bool,
    stale: bool,
}

impl DigestClient {
    /// `username` is the user part the account authenticates as (e.g.
    /// `amy`), which is not always the user part of its address of record.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        DigestClient {
            username: username.into(),
            password: password.into(),
            sessions: Vec::new(),
        }
    }

    /// Reads the challenges of a 401 or 407 and returns the credentials
    /// headers for the retried request (every remembered realm's, so a
    /// request challenged by a proxy keeps the registrar's too). The caller
    /// removes the retried request's old `Authorization` and
    /// `Proxy-Authorization` headers before adding these.
    pub fn answer(
        &mut self,
        rng: &mut impl RngCore,
        response: &rsip::Response,
        method: &rsip::Method,
        uri: &rsip::Uri,
    ) -> Result<Vec<rsip::Header>, DigestError> {
        let kind = ChallengeKind::from_status(&response.status_code)
            .ok_or(DigestError::NoUsableChallenge)?;
        self.handle_challenge(kind, &response.headers)?;
        Ok(self.authorization(rng, method, uri))
    }

    /// Remembers the challenges of kind `kind` in a response's headers,
    /// preferring SHA-256 over MD5 within a realm (RFC 8760 §2.4). Errors
    /// when none is usable, or when a realm rejected our password (then
    /// that realm is forgotten, so later requests are not pre-authorized
    /// with the bad password).
    pub fn handle_challenge(
        &mut self,
        kind: ChallengeKind,
        response_headers: &rsip::Headers,
    ) -> Result<(), DigestError> {
        let mut offers: Vec<Offer> = Vec::new();
        for value in kind.challenges(response_headers) {
            let params = match DigestParams::parse(value) {
                Ok(Some(params)) => params,
                Ok(None) => continue,
                Err(error) => {
                    tracing::debug!(%error, "skipping an unparseable challenge");
                    continue;
                }
            };
            let Some(offer) = Offer::from_params(&params) else {
                continue;
            };
            match offers.iter_mut().find(|o| o.realm == offer.realm) {
                Some(existing) => {
                    if offer.algorithm == Algorithm::Sha256
                        && existing.algorithm != Algorithm::Sha256
                    {
                        *existing = offer;
                    }
                }
                None => offers.push(offer),
            }
        }
        if offers.is_empty() {
            return Err(DigestError::NoUsableChallenge);
        }
        let mut rejected = None;
        for offer in offers {
            let previous = self
                .sessions
                .iter()
                .position(|s| s.kind == kind && s.realm == offer.realm)
                .map(|index| self.sessions.swap_remove(index));
            if previous.is_some_and(|p| p.answered_fresh) && !offer.stale {
                rejected = Some(offer.realm);
                continue;
            }
            self.sessions.push(Session {
                kind,
                ha1: ha1(
                    offer.algorithm,
                    &self.username,
                    &offer.realm,
                    &self.password,
                ),
                realm: offer.realm,
                nonce: offer.nonce,
                opaque: offer.opaque,
                algorithm: offer.algorithm,
                qop: offer.qop,
                uses: 0,
                answered_fresh: false,
            });
        }
        match rejected {
            Some(realm) => Err(DigestError::CredentialsRejected { realm }),
            None => Ok(()),
        }
    }

    /// [`handle_challenge`](Self::handle_challenge) for the answer to one
    /// particular request, whose headers (as sent) are `request_headers`.
    /// Several requests may be challenged at once: a challenge to a request
    /// that did not carry our latest fresh answer for a realm says nothing
    /// about the password, so only a request that did can be "rejected".
    pub fn handle_challenge_to(
        &mut self,
        kind: ChallengeKind,
        response_headers: &rsip::Headers,
        request_headers: &rsip::Headers,
    ) -> Result<(), DigestError> {
        let carried: Vec<(String, String)> = kind
            .credentials(request_headers)
            .filter_map(|value| DigestParams::parse(value).ok().flatten())
            .filter_map(|params| {
                Some((
                    params.get("realm")?.to_owned(),
                    params.get("nonce")?.to_owned(),
                ))
            })
            .collect();
        for session in self
            .sessions
            .iter_mut()
            .filter(|session| session.kind == kind)
        {
            let sent_this_nonce = carried
                .iter()
                .any(|(realm, nonce)| *realm == session.realm && *nonce == session.nonce);
            if !sent_this_nonce {
                session.answered_fresh = false;
            }
        }
        self.handle_challenge(kind, response_headers)
    }

    /// Credentials headers for a request, one per remembered challenge,
    /// each with the next nonce count. Empty before any challenge.
    pub fn authorization(
        &mut self,
        rng: &mut impl RngCore,
        method: &rsip::Method,
        uri: &rsip::Uri,
    ) -> Vec<rsip::Header> {
        self.headers(rng, None, method, uri)
    }

    /// Like [`authorization`](Self::authorization), for one kind only: e.g.
    /// `Proxy-Authorization` alone for requests that are not REGISTER.
    pub fn authorization_for(
        &mut self,
        rng: &mut impl RngCore,
        kind: ChallengeKind,
        method: &rsip::Method,
        uri: &rsip::Uri,
    ) -> Vec<rsip::Header> {
        self.headers(rng, Some(kind), method, uri)
    }

    /// Forgets every remembered challenge (after a password change, or
    /// when the account signs out).
    pub fn forget(&mut self) {
        self.sessions.clear();
    }

    fn headers(
        &mut self,
        rng: &mut impl RngCore,
        only: Option<ChallengeKind>,
        method: &rsip::Method,
        uri: &rsip::Uri,
    ) -> Vec<rsip::Header> {
        let method = method.to_string();
        // RFC 3261 §22.4: the digest-uri is the Request-URI.
        let uri = uri.to_string();
        let username = &self.username;
        self.sessions
            .iter_mut()
            .filter(|session| only.is_none_or(|kind| kind == session.kind))
            .map(|session| {
                let value = session.credentials(rng, username, &method, &uri);
                session.kind.credentials_header(value)
            })
            .collect()
    }
}

impl Session {
    fn credentials(
        &mut self,
        rng: &mut impl RngCore,
        username: &str,
        method: &str,
        uri: &str,
    ) -> String {
        self.answered_fresh = self.uses == 0;
        self.uses = self.uses.saturating_add(1);
        let mut value = format!(
            "Digest username={}, realm={}, nonce={}, uri={}",
            quote(username),
            quote(&self.realm),
            quote(&self.nonce),
            quote(uri),
        );
        let response = if self.qop {
            let nc = format!("{:08x}", self.uses);
            let mut cnonce = [0u8; 12];
            rng.fill_bytes(&mut cnonce);
            let cnonce = URL_SAFE_NO_PAD.encode(cnonce);
            let qop = QopAuth {
                nc: &nc,
                cnonce: &cnonce,
            };
            let response = request_digest(
                self.algorithm,
                &self.ha1,
                &self.nonce,
                Some(qop),
                method,
                uri,
            );
            // RFC 7616 §3.4: qop and nc unquoted, cnonce quoted.
            value.push_str(&format!(", qop=auth, nc={nc}, cnonce={}", quote(&cnonce)));
            response
        } else {
            request_digest(self.algorithm, &self.ha1, &self.nonce, None, method, uri)
        };
        value.push_str(&format!(
            ", response={}, algorithm={}",
            quote(&response),
            self.algorithm.name()
        ));
        if let Some(opaque) = &self.opaque {
            value.push_str(&format!(", opaque={}", quote(opaque)));
        }
        value
    }
}

impl Offer {
    fn from_params(params: &DigestParams) -> Option<Offer> {
        let algorithm = match params.get("algorithm") {
            None => Algorithm::Md5,
            Some(name) => Algorithm::parse(name)?,
        };
        // RFC 7616 §3.3: qop is a quoted list; we can only do "auth".
        let qop = match params.get("qop") {
            None => false,
            Some(options) => {
                if !options
                    .split(',')
                    .any(|o| o.trim().eq_ignore_ascii_case("auth"))
                {
                    return None;
                }
                true
            }
        };
        Some(Offer {
            realm: params.get("realm")?.to_owned(),
            nonce: params.get("nonce")?.to_owned(),
            opaque: params.get("opaque").map(str::to_owned),
            algorithm,
            qop,
            stale: params
                .get("stale")
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }
}

// The password stays out of logs.
impl std::fmt::Debug for DigestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestClient")
            .field("username", &self.username)
            .field(
                "realms",
                &self.sessions.iter().map(|s| &s.realm).collect::<Vec<_>>(),
            )
            .finish()
    }
}
