//! The server side of digest authentication: challenges (RFC 3261 §22.1,
//! RFC 8760 §2.4) and the check of credentials (RFC 7616 §3.4).
//!
//! A nonce is `base64url(issued-ms || serial || tag)` where `tag` is the
//! first 16 bytes of HMAC-SHA256(secret, issued-ms || serial || realm).
//! The tag makes a nonce verifiable without storage; the serial makes every
//! challenge's nonce distinct, so two clients never share a nonce count.
//! Both 8-byte fields are big-endian.
//!
//! Policy decisions, each to keep the check simple and safe:
//! - `qop=auth` is required. We always offer it, and RFC 7616 §3.4 has a
//!   client that is offered qop use it; without qop there is no nonce count
//!   and so no replay protection.
//! - A nonce count is accepted once per nonce, within a window of the 64
//!   counts below the highest seen (like an IPsec replay window): a client
//!   may have several requests in flight with one nonce, and UDP may
//!   reorder them.
//! - stale=true is only ever the answer to a correct digest over a nonce we
//!   no longer accept (expired, evicted, or from an earlier run with another
//!   secret), as RFC 2617 §3.2.1 asks: the client knows the password and
//!   should just retry. A wrong digest is rejected whatever the nonce.
//! - The digest-uri is not compared with the Request-URI: the response
//!   covers the digest-uri, and each (nonce, nc) is usable once, so a
//!   captured header cannot be replayed at another URI.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::params::{DigestParams, quote};
use super::{Algorithm, ChallengeKind, Credentials, QopAuth, constant_time_eq_hex, request_digest};
use crate::proto::Time;

/// How many nonces' counts are remembered at once. Only successful
/// authentications add entries, so this bounds memory against clients
/// that authenticate often, not against strangers.
pub const DEFAULT_MAX_TRACKED_NONCES: usize = 4096;

/// The algorithms offered unless told otherwise, in the order they are
/// listed. RFC 8760 §2.4 has a server list its preferred one first, but
/// deployed UAs that know only MD5 (sipp 3.6, many desk phones) answer the
/// first challenge they see and fail on SHA-256. So MD5 comes first, and
/// clients that know SHA-256 (ours among them, RFC 8760 §2.4 again) pick it
/// from anywhere in the list. Some older UAs give up on a 401 that lists an
/// algorithm they do not know at all: [`Challenger::offering`] is for them.
pub const DEFAULT_OFFERED: [Algorithm; 2] = [Algorithm::Md5, Algorithm::Sha256];

const TAG_LEN: usize = 16;
const NONCE_LEN: usize = 8 + 8 + TAG_LEN;
const REPLAY_WINDOW: u32 = 64;

/// The result of checking a request's credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthOutcome {
    Authenticated {
        username: String,
    },
    /// Answer 401/407 with [`Challenger::challenge`]: there were no
    /// credentials for our realm, or (`stale`) they were right but their
    /// nonce is no longer accepted.
    Challenge {
        stale: bool,
    },
    /// The credentials are wrong. An unknown user is reported exactly like
    /// a wrong password (`InvalidCredentials`), so the answer does not tell
    /// who has an account.
    Rejected {
        reason: RejectReason,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Wrong password, or no such user.
    InvalidCredentials,
    /// A nonce count already used with this nonce.
    Replayed,
    /// Credentials for another realm where only ours can apply.
    RealmMismatch,
    /// No `qop=auth` (RFC 2069 style, or `auth-int`, which we do not offer).
    QopRequired,
    /// An algorithm other than MD5 or SHA-256.
    UnsupportedAlgorithm,
    /// Not parseable, or a required parameter is missing or ill-formed.
    Malformed,
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RejectReason::InvalidCredentials => "invalid credentials",
            RejectReason::Replayed => "replayed nonce count",
            RejectReason::RealmMismatch => "credentials for another realm",
            RejectReason::QopRequired => "qop=auth required",
            RejectReason::UnsupportedAlgorithm => "unsupported algorithm",
            RejectReason::Malformed => "malformed credentials",
        })
    }
}

/// Issues challenges for one realm and checks the answers.
pub struct Challenger {
    realm: String,
    /// `realm` as a quoted-string, as every challenge writes it.
    quoted_realm: String,
    /// One challenge header each, in this order; never empty.
    offered: Vec<Algorithm>,
    /// HMAC keyed with the per-run secret; cloned for each use.
    key: Hmac<Sha256>,
    nonce_lifetime: Duration,
    next_serial: u64,
    /// HA1s of nobody, hashed against when the user is unknown, so that
    /// case costs the same work as a wrong password.
    dummy: Credentials,
    /// Replay state by nonce serial. Ordered, because both ways out go by
    /// age: serials are issued in time order, so the first entries are the
    /// first to expire and the oldest to evict, and making room costs
    /// O(log n) per nonce rather than a sweep of the table.
    tracked: BTreeMap<u64, NonceUse>,
    max_tracked: usize,
    /// Nonces with a serial at or below this were evicted from `tracked`
    /// (or might have been): their counts are unknown, so they are stale.
    evicted_through: Option<u64>,
}

/// Replay state of one nonce: the highest count seen and a bitmap of the
/// counts seen below it (bit k = highest - k).
#[derive(Clone, Copy, Debug)]
struct NonceUse {
    issued: Time,
    highest_nc: u32,
    seen: u64,
}

enum NonceCheck {
    Valid {
        serial: u64,
        issued: Time,
    },
    Expired,
    /// Not made with our secret and realm: tampered, or from an earlier run.
    Foreign,
}

enum ReplayCheck {
    Fresh,
    Replayed,
    Forgotten,
}

impl Challenger {
    /// `secret` comes from the injected RNG; it lives as long as the
    /// process, so a restart invalidates every nonce (clients then get a
    /// stale challenge and retry).
    pub fn new(realm: &str, secret: [u8; 32], nonce_lifetime: Duration) -> Self {
        let key = super::hmac_sha256(&secret);
        let dummy_password = crate::proto::build::lower_hex(&secret);
        Challenger {
            realm: realm.to_owned(),
            quoted_realm: quote(realm),
            offered: DEFAULT_OFFERED.to_vec(),
            key,
            nonce_lifetime,
            next_serial: 0,
            dummy: Credentials::from_password("", realm, &dummy_password),
            tracked: BTreeMap::new(),
            max_tracked: DEFAULT_MAX_TRACKED_NONCES,
            evicted_through: None,
        }
    }

    /// Changes the bound on remembered nonces (at least 1).
    pub fn with_max_tracked_nonces(mut self, max: usize) -> Self {
        self.max_tracked = max.max(1);
        self
    }

    /// Offers `algorithms`, in this order, instead of [`DEFAULT_OFFERED`];
    /// an empty list (or repeats) would make no sense and is ignored. Answers
    /// with any algorithm we speak are still accepted: the nonce is ours
    /// whichever hash covers it.
    pub fn offering(mut self, algorithms: &[Algorithm]) -> Self {
        let mut offered: Vec<Algorithm> = Vec::new();
        for algorithm in algorithms {
            if !offered.contains(algorithm) {
                offered.push(*algorithm);
            }
        }
        if !offered.is_empty() {
            self.offered = offered;
        }
        self
    }

    pub fn offered(&self) -> &[Algorithm] {
        &self.offered
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The headers of a 401 (`Www`) or 407 (`Proxy`): one per offered
    /// algorithm, sharing one fresh nonce.
    pub fn challenge(&mut self, now: Time, kind: ChallengeKind, stale: bool) -> Vec<rsip::Header> {
        let nonce = self.issue_nonce(now);
        let stale = if stale { ", stale=true" } else { "" };
        self.offered
            .iter()
            .map(|algorithm| {
                let parts = [
                    "Digest realm=",
                    &self.quoted_realm,
                    // base64url: nothing in a nonce needs escaping.
                    ", nonce=\"",
                    &nonce,
                    "\", algorithm=",
                    algorithm.name(),
                    ", qop=\"auth\"",
                    stale,
                ];
                kind.challenge_header(parts.concat())
            })
            .collect()
    }

    /// Checks the credentials of a request for our realm. `lookup` maps the
    /// username the client sent to that user's stored HA1s.
    pub fn verify(
        &mut self,
        now: Time,
        method: &rsip::Method,
        request_headers: &rsip::Headers,
        kind: ChallengeKind,
        lookup: impl Fn(&str) -> Option<Credentials>,
    ) -> AuthOutcome {
        let mut other_realms = false;
        let mut ours = None;
        for value in kind.credentials(request_headers) {
            match DigestParams::parse(value) {
                Ok(None) => {}
                Ok(Some(params)) if params.get("realm") == Some(self.realm.as_str()) => {
                    ours = Some(params);
                    break;
                }
                Ok(Some(_)) => other_realms = true,
                Err(error) => {
                    tracing::debug!(%error, "unparseable credentials");
                    return reject(RejectReason::Malformed);
                }
            }
        }
        let Some(params) = ours else {
            return match kind {
                // RFC 3261 §22.3: with several proxies each realm has its own
                // Proxy-Authorization; others' credentials are for proxies
                // further on, and ours are still missing.
                ChallengeKind::Proxy => AuthOutcome::Challenge { stale: false },
                ChallengeKind::Www if other_realms => reject(RejectReason::RealmMismatch),
                ChallengeKind::Www => AuthOutcome::Challenge { stale: false },
            };
        };
        match self.check(now, method, &params, lookup) {
            Ok(outcome) => outcome,
            Err(reason) => reject(reason),
        }
    }

    fn check(
        &mut self,
        now: Time,
        method: &rsip::Method,
        params: &DigestParams,
        lookup: impl Fn(&str) -> Option<Credentials>,
    ) -> Result<AuthOutcome, RejectReason> {
        let malformed = |_| RejectReason::Malformed;
        let username = params.require("username").map_err(malformed)?;
        let nonce = params.require("nonce").map_err(malformed)?;
        let digest_uri = params.require("uri").map_err(malformed)?;
        let response = params.require("response").map_err(malformed)?;
        // RFC 7616 §3.4: no algorithm parameter means MD5.
        let algorithm = match params.get("algorithm") {
            None => Algorithm::Md5,
            Some(name) => Algorithm::parse(name).ok_or(RejectReason::UnsupportedAlgorithm)?,
        };
        if params
            .get("userhash")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            // RFC 7616 §3.4.4 userhash is never offered by us.
            return Err(RejectReason::Malformed);
        }
        match params.get("qop") {
            Some(qop) if qop.eq_ignore_ascii_case("auth") => {}
            _ => return Err(RejectReason::QopRequired),
        }
        let nc_text = params.require("nc").map_err(malformed)?;
        let nc = parse_nonce_count(nc_text).ok_or(RejectReason::Malformed)?;
        let cnonce = params.require("cnonce").map_err(malformed)?;

        let nonce_check = self.check_nonce(now, nonce);
        let user = lookup(username);
        let ha1 = user.as_ref().unwrap_or(&self.dummy).ha1(algorithm);
        let qop = QopAuth {
            nc: nc_text,
            cnonce,
        };
        let expected = request_digest(
            algorithm,
            ha1,
            nonce,
            Some(qop),
            method.as_str(),
            digest_uri,
        );
        let response_matches = constant_time_eq_hex(expected.as_bytes(), response.as_bytes());
        if !response_matches || user.is_none() {
            return Err(RejectReason::InvalidCredentials);
        }
        match nonce_check {
            NonceCheck::Foreign | NonceCheck::Expired => Ok(AuthOutcome::Challenge { stale: true }),
            NonceCheck::Valid { serial, issued } => {
                match self.record_use(now, serial, issued, nc) {
                    ReplayCheck::Fresh => Ok(AuthOutcome::Authenticated {
                        username: username.to_owned(),
                    }),
                    ReplayCheck::Replayed => Err(RejectReason::Replayed),
                    ReplayCheck::Forgotten => Ok(AuthOutcome::Challenge { stale: true }),
                }
            }
        }
    }

    fn issue_nonce(&mut self, now: Time) -> String {
        let serial = self.next_serial;
        self.next_serial = self.next_serial.wrapping_add(1);
        let issued_ms = u64::try_from(now.since_epoch().as_millis()).unwrap_or(u64::MAX);
        let mut nonce = Vec::with_capacity(NONCE_LEN);
        nonce.extend_from_slice(&issued_ms.to_be_bytes());
        nonce.extend_from_slice(&serial.to_be_bytes());
        let tag = self.keyed_mac(&nonce).finalize().into_bytes();
        nonce.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(nonce)
    }

    /// The HMAC over a nonce's payload and our realm, ready to finalize.
    fn keyed_mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.key.clone();
        mac.update(payload);
        mac.update(self.realm.as_bytes());
        mac
    }

    fn check_nonce(&self, now: Time, nonce: &str) -> NonceCheck {
        // Anything but NONCE_LEN bytes of base64url is not ours; the slack
        // is for the decoder's estimate of the room it needs.
        let mut decoded = [0u8; NONCE_LEN + 3];
        let bytes = match URL_SAFE_NO_PAD.decode_slice(nonce, &mut decoded) {
            Ok(len) => &decoded[..len],
            Err(_) => return NonceCheck::Foreign,
        };
        let Ok(bytes) = <[u8; NONCE_LEN]>::try_from(bytes) else {
            return NonceCheck::Foreign;
        };
        let (payload, tag) = bytes.split_at(NONCE_LEN - TAG_LEN);
        // Constant-time comparison of the tag.
        if self.keyed_mac(payload).verify_truncated_left(tag).is_err() {
            return NonceCheck::Foreign;
        }
        let (issued_ms, serial) = payload.split_at(8);
        let (Ok(issued_ms), Ok(serial)) =
            (<[u8; 8]>::try_from(issued_ms), <[u8; 8]>::try_from(serial))
        else {
            return NonceCheck::Foreign;
        };
        let issued = Time::from_epoch(Duration::from_millis(u64::from_be_bytes(issued_ms)));
        // A genuine nonce issued after `now` means the driver's clock went
        // back; refuse it like an expired one.
        if issued > now || now - issued >= self.nonce_lifetime {
            return NonceCheck::Expired;
        }
        NonceCheck::Valid {
            serial: u64::from_be_bytes(serial),
            issued,
        }
    }

    fn record_use(&mut self, now: Time, serial: u64, issued: Time, nc: u32) -> ReplayCheck {
        if let Some(nonce_use) = self.tracked.get_mut(&serial) {
            return if nc > nonce_use.highest_nc {
                let shift = nc - nonce_use.highest_nc;
                nonce_use.seen = if shift >= REPLAY_WINDOW {
                    0
                } else {
                    nonce_use.seen << shift
                } | 1;
                nonce_use.highest_nc = nc;
                ReplayCheck::Fresh
            } else {
                let back = nonce_use.highest_nc - nc;
                let bit = 1u64.checked_shl(back).unwrap_or(0);
                if bit == 0 || nonce_use.seen & bit != 0 {
                    ReplayCheck::Replayed
                } else {
                    nonce_use.seen |= bit;
                    ReplayCheck::Fresh
                }
            };
        }
        if self
            .evicted_through
            .is_some_and(|through| serial <= through)
        {
            return ReplayCheck::Forgotten;
        }
        if self.tracked.len() >= self.max_tracked {
            self.make_room(now);
        }
        self.tracked.insert(
            serial,
            NonceUse {
                issued,
                highest_nc: nc,
                seen: 1,
            },
        );
        ReplayCheck::Fresh
    }

    /// Drops expired nonces, which `check_nonce` refuses anyway; if the
    /// table is still full, evicts the oldest serial and raises the
    /// watermark so its counts can never be reused. Expired nonces are the
    /// lowest serials (the clock the core is given does not go back), so
    /// both steps take from the front.
    fn make_room(&mut self, now: Time) {
        let lifetime = self.nonce_lifetime;
        while let Some(entry) = self.tracked.first_entry() {
            if now - entry.get().issued < lifetime {
                break;
            }
            entry.remove();
        }
        while self.tracked.len() >= self.max_tracked {
            let Some((oldest, _)) = self.tracked.pop_first() else {
                break;
            };
            self.evicted_through = Some(self.evicted_through.map_or(oldest, |t| t.max(oldest)));
        }
    }

    #[cfg(test)]
    pub(super) fn tracked_nonces(&self) -> usize {
        self.tracked.len()
    }

    #[cfg(test)]
    pub(super) fn evicted_through(&self) -> Option<u64> {
        self.evicted_through
    }
}

fn reject(reason: RejectReason) -> AuthOutcome {
    tracing::debug!(%reason, "digest credentials rejected");
    AuthOutcome::Rejected { reason }
}

/// RFC 7616 §3.4: nc is exactly 8 hex digits; counts start at 1.
fn parse_nonce_count(text: &str) -> Option<u32> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok().filter(|&nc| nc > 0)
}
