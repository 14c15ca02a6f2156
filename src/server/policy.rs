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
use sha2::Sha256;

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
    key: [u8; 32],
}

impl std::fmt::Debug for RouteTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouteTokens { .. }")
    }
}

impl RouteTokens {
    pub fn new(key: [u8; 32]) -> Self {
        RouteTokens { key }
    }

    /// The token for a dialog with this Call-ID: 64 bits of HMAC-SHA256 in hex.
    pub fn token(&self, call_id: &str) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            // HMAC accepts keys of any length; this cannot happen.
            return String::new();
        };
        mac.update(call_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest
            .iter()
            .take(8)
            .map(|byte| format!("{byte:02x}"))
            .collect()
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
mod tests {
    use super::*;

    #[test]
    fn a_route_token_verifies_only_for_its_call_id_and_key() {
        let tokens = RouteTokens::new([7; 32]);
        let token = tokens.token("abc@host");
        assert_eq!(token.len(), 16);
        assert!(tokens.verify("abc@host", &token));
        assert!(!tokens.verify("abd@host", &token));
        assert!(!tokens.verify("abc@host", "0000000000000000"));
        assert!(!tokens.verify("abc@host", ""));
        assert!(!RouteTokens::new([8; 32]).verify("abc@host", &token));
    }
}
