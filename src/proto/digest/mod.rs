//! Digest authentication: RFC 3261 §22 with the RFC 8760 algorithms
//! (SHA-256, and MD5 for older peers) and RFC 7616 semantics, `qop=auth`.
//!
//! - [`Challenger`] is the server side: it issues challenges and checks the
//!   credentials of later requests. Its nonces are stateless to verify
//!   (issue time and serial, under an HMAC keyed with a per-run secret), so
//!   a forged or expired nonce is recognised without storage; the only state
//!   is the highest nonce count seen per nonce, for replay protection, in a
//!   bounded table.
//! - [`DigestClient`] is the user-agent side: it answers 401/407 challenges,
//!   pre-authorizes later requests with the remembered nonce, and tells a
//!   stale nonce (retry) from a rejected password (stop).
//! - [`Credentials`] is what a directory stores: HA1 per algorithm, never the
//!   password.
//!
//! Invariants: nothing here panics on header text from the network; the
//! outcome for an unknown user is indistinguishable from a wrong password;
//! each (nonce, nonce count) pair authenticates at most one request.
//!
//! Authorization headers are parsed here rather than with rsip's typed
//! `Authorization`: rsip 0.4 reads `nc` as a decimal `u8` (it is 8 hex
//! digits), names SHA-256 `SHA256` (RFC 8760 §2.2 says `SHA-256`), and
//! requires the digest-uri to parse as an rsip URI.

mod client;
mod params;
mod server;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // unwrap is how a test fails
mod tests;

pub use client::DigestClient;
pub use server::{AuthOutcome, Challenger, DEFAULT_OFFERED, RejectReason};

use std::sync::Arc;

use hmac::Hmac;
use md5::Md5;
use sha2::{Digest, Sha256};

/// The digest algorithms this crate speaks (RFC 8760 §2.2 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    /// The `algorithm` parameter value on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Reads an `algorithm` parameter. The `-sess` variants and SHA-512-256
    /// are not offered by us and so are not accepted either.
    pub fn parse(name: &str) -> Option<Algorithm> {
        if name.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if name.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// H of `parts` joined by colons, as lowercase hex (RFC 7616
    /// §3.4.1): every string digest hashes (A1, A2 and the response's) is
    /// such a join, so it is hashed in pieces rather than built first.
    fn hash_joined(self, parts: &[&str]) -> String {
        fn hash<D: Digest>(parts: &[&str]) -> String {
            let mut hasher = D::new();
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    hasher.update(b":");
                }
                hasher.update(part.as_bytes());
            }
            crate::proto::build::lower_hex(&hasher.finalize())
        }
        match self {
            Algorithm::Md5 => hash::<Md5>(parts),
            Algorithm::Sha256 => hash::<Sha256>(parts),
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Who challenges: the UAS or registrar (401, `WWW-Authenticate` answered
/// by `Authorization`) or a proxy (407, `Proxy-Authenticate` answered by
/// `Proxy-Authorization`), RFC 3261 §22.2 and §22.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    Www,
    Proxy,
}

impl ChallengeKind {
    /// The kind of challenge a response carries, from its status code.
    pub fn from_status(status: &rsip::StatusCode) -> Option<ChallengeKind> {
        match status.code() {
            401 => Some(ChallengeKind::Www),
            407 => Some(ChallengeKind::Proxy),
            _ => None,
        }
    }

    /// 401 Unauthorized or 407 Proxy Authentication Required.
    pub fn status_code(self) -> rsip::StatusCode {
        match self {
            ChallengeKind::Www => rsip::StatusCode::Unauthorized,
            ChallengeKind::Proxy => rsip::StatusCode::ProxyAuthenticationRequired,
        }
    }

    fn challenge_header(self, value: String) -> rsip::Header {
        match self {
            ChallengeKind::Www => rsip::Header::WwwAuthenticate(value.into()),
            ChallengeKind::Proxy => rsip::Header::ProxyAuthenticate(value.into()),
        }
    }

    fn credentials_header(self, value: String) -> rsip::Header {
        match self {
            ChallengeKind::Www => rsip::Header::Authorization(value.into()),
            ChallengeKind::Proxy => rsip::Header::ProxyAuthorization(value.into()),
        }
    }

    /// The values of this kind's challenge headers in `headers`.
    fn challenges(self, headers: &rsip::Headers) -> impl Iterator<Item = &str> {
        use rsip::headers::UntypedHeader;
        headers
            .iter()
            .filter_map(move |header| match (self, header) {
                (ChallengeKind::Www, rsip::Header::WwwAuthenticate(h)) => Some(h.value()),
                (ChallengeKind::Proxy, rsip::Header::ProxyAuthenticate(h)) => Some(h.value()),
                _ => None,
            })
    }

    /// The values of this kind's credentials headers in `headers`.
    fn credentials(self, headers: &rsip::Headers) -> impl Iterator<Item = &str> {
        use rsip::headers::UntypedHeader;
        headers
            .iter()
            .filter_map(move |header| match (self, header) {
                (ChallengeKind::Www, rsip::Header::Authorization(h)) => Some(h.value()),
                (ChallengeKind::Proxy, rsip::Header::ProxyAuthorization(h)) => Some(h.value()),
                _ => None,
            })
    }
}

/// What a directory keeps per user: HA1 = H(username ":" realm ":"
/// password) for each algorithm (RFC 7616 §3.4.2), lowercase hex. Enough
/// to verify a response, not enough to recover the password. Shared, so
/// that a cached copy is handed out for every request checked without
/// copying the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub ha1_md5: Arc<str>,
    pub ha1_sha256: Arc<str>,
}

impl Credentials {
    pub fn from_password(username: &str, realm: &str, password: &str) -> Credentials {
        Credentials {
            ha1_md5: ha1(Algorithm::Md5, username, realm, password).into(),
            ha1_sha256: ha1(Algorithm::Sha256, username, realm, password).into(),
        }
    }

    pub fn ha1(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Md5 => &self.ha1_md5,
            Algorithm::Sha256 => &self.ha1_sha256,
        }
    }
}

// HA1 is password-equivalent for its realm: keep it out of logs.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials { .. }")
    }
}

/// Errors of this module: header text that is not a digest challenge or
/// credentials we can use, and the client's reasons to stop retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("malformed digest header: {0}")]
    Malformed(&'static str),
    #[error("no Digest challenge with MD5 or SHA-256 and qop=auth")]
    NoUsableChallenge,
    #[error("credentials for realm {realm:?} were rejected")]
    CredentialsRejected { realm: String },
}

/// `qop=auth` parameters of a response: nc (as sent, 8 hex digits) and
/// cnonce.
#[derive(Clone, Copy, Debug)]
struct QopAuth<'a> {
    nc: &'a str,
    cnonce: &'a str,
}

fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_joined(&[username, realm, password])
}

/// request-digest from HA1 (RFC 7616 §3.4.1; RFC 2069 form without qop).
fn request_digest(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    qop: Option<QopAuth<'_>>,
    method: &str,
    digest_uri: &str,
) -> String {
    // RFC 7616 §3.4.3: A2 = Method ":" request-uri for qop=auth.
    let ha2 = algorithm.hash_joined(&[method, digest_uri]);
    match qop {
        Some(QopAuth { nc, cnonce }) => {
            algorithm.hash_joined(&[ha1, nonce, nc, cnonce, "auth", &ha2])
        }
        None => algorithm.hash_joined(&[ha1, nonce, &ha2]),
    }
}

/// HMAC-SHA256 keyed with a 32-byte secret, ready to be cloned for each
/// message it signs (keying hashes the two padded keys: done once).
pub fn hmac_sha256(secret: &[u8; 32]) -> Hmac<Sha256> {
    // RFC 2104 §2: a key shorter than the hash block is zero-padded to it,
    // so keying with the padded block is HMAC keyed with `secret`, through
    // the infallible constructor.
    let mut block = [0u8; 64];
    block[..secret.len()].copy_from_slice(secret);
    <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into())
}

/// Whether `hex` (as a peer wrote it, in either case) is the lowercase
/// `expected`. Compares without an early exit, so the time taken does not
/// tell how many leading characters of a guessed response were right.
fn constant_time_eq_hex(expected: &[u8], hex: &[u8]) -> bool {
    if expected.len() != hex.len() {
        return false;
    }
    let difference = expected
        .iter()
        .zip(hex)
        .fold(0u8, |acc, (x, y)| acc | (x ^ y.to_ascii_lowercase()));
    std::hint::black_box(difference) == 0
}
