//! Transaction identity: which transaction a message belongs to.
//!
//! RFC 3261 §17.1.3: a response matches a client transaction by the branch
//! of its top Via and the method of its CSeq. §17.2.3: a request matches a
//! server transaction by the branch and sent-by of its top Via and its
//! method, an ACK counting as the INVITE it acknowledges. Only branches with
//! the RFC 3261 magic cookie `z9hG4bK` are matched; the RFC 2543 fallback is
//! not implemented (see the module documentation of the layer).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, OnceLock};

use rsip::Method;
use rsip::prelude::*;

use super::TransactionError;
use super::via::ViaParm;
use crate::proto::message;

/// RFC 3261 §8.1.1.7: every RFC 3261 branch starts with this.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// Which side of a transaction this endpoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Client,
    Server,
}

/// Identifies one transaction of a [`super::TransactionLayer`].
///
/// Client keys are (branch, method); server keys add the sent-by of the top
/// Via, since the branch is only unique per sender. The method of a server
/// key is never ACK: an ACK belongs to its INVITE's transaction.
///
/// A key is looked up many times per message (both transaction maps, the
/// timer queue, the proxy's response contexts) and copied into each, so it
/// is shared rather than copied, and carries its own hash: clones are a
/// reference count, hashing writes one number, and two copies of one key
/// compare equal without reading the strings.
#[derive(Clone)]
pub struct TransactionKey(Arc<KeyFields>);

struct KeyFields {
    /// The fields hashed with std's per-process random SipHash keys, so
    /// that branches chosen by a peer cannot be made to collide (maps of
    /// keys then hash just this number).
    fingerprint: u64,
    role: Role,
    branch: String,
    method: Method,
    /// Lower-cased host[:port] of the top Via; empty for client keys.
    sent_by: String,
}

impl PartialEq for TransactionKey {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (&*self.0, &*other.0);
        Arc::ptr_eq(&self.0, &other.0)
            || (a.fingerprint == b.fingerprint
                && a.role == b.role
                && a.method == b.method
                && a.branch == b.branch
                && a.sent_by == b.sent_by)
    }
}

impl Eq for TransactionKey {}

impl Hash for TransactionKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.fingerprint);
    }
}

/// A map keyed by transactions. A key hashes to its fingerprint, which is
/// already a keyed SipHash: the map uses it as it is rather than hashing
/// it again, on every lookup of every message.
pub type KeyMap<V> = HashMap<TransactionKey, V, BuildHasherDefault<FingerprintHasher>>;

/// The hasher of [`KeyMap`]: it keeps the one number a key writes.
#[derive(Default)]
pub struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, fingerprint: u64) {
        self.0 = fingerprint;
    }

    /// Not used by keys; anything else written is mixed in, not lost.
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

impl fmt::Debug for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionKey")
            .field("role", &self.0.role)
            .field("branch", &self.0.branch)
            .field("method", &self.0.method)
            .field("sent_by", &self.0.sent_by)
            .finish()
    }
}

impl TransactionKey {
    fn new(role: Role, branch: String, method: Method, sent_by: String) -> Self {
        static KEYS: OnceLock<RandomState> = OnceLock::new();
        let mut hasher = KEYS.get_or_init(RandomState::new).build_hasher();
        role.hash(&mut hasher);
        branch.hash(&mut hasher);
        // rsip's Method is not Hash; it is a field-less enum, so its
        // discriminant identifies it.
        std::mem::discriminant(&method).hash(&mut hasher);
        sent_by.hash(&mut hasher);
        TransactionKey(Arc::new(KeyFields {
            fingerprint: hasher.finish(),
            role,
            branch,
            method,
            sent_by,
        }))
    }

    pub fn role(&self) -> Role {
        self.0.role
    }

    pub fn branch(&self) -> &str {
        &self.0.branch
    }

    pub fn method(&self) -> Method {
        self.0.method
    }

    pub(super) fn client(branch: impl Into<String>, method: Method) -> Self {
        TransactionKey::new(Role::Client, branch.into(), method, String::new())
    }

    pub(super) fn server(
        branch: impl Into<String>,
        sent_by: impl Into<String>,
        method: Method,
    ) -> Self {
        // §17.2.3: "the method of the request matches the one that created
        // the transaction, except for ACK".
        let method = if method == Method::Ack {
            Method::Invite
        } else {
            method
        };
        TransactionKey::new(Role::Server, branch.into(), method, sent_by.into())
    }

    /// The same branch (and sent-by) with another method: how a CANCEL
    /// finds the transaction it cancels (§9.2).
    pub(super) fn with_method(&self, method: Method) -> Self {
        TransactionKey::new(
            self.0.role,
            self.0.branch.clone(),
            method,
            self.0.sent_by.clone(),
        )
    }
}

impl fmt::Display for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = &*self.0;
        match key.role {
            Role::Client => write!(f, "client {} {}", key.method, key.branch),
            Role::Server => write!(
                f,
                "server {} {} from {}",
                key.method, key.branch, key.sent_by
            ),
        }
    }
}

/// The top via-parm of a message.
pub(super) fn top_via(message: &impl HeadersExt) -> Result<ViaParm<'_>, TransactionError> {
    let via = message
        .via_header()
        .map_err(|_| TransactionError::MissingHeader("Via"))?;
    ViaParm::first(via.value()).ok_or(TransactionError::MalformedHeader("Via"))
}

/// The branch of a top Via, if it is an RFC 3261 one.
pub(super) fn rfc3261_branch(via: &ViaParm<'_>) -> Result<String, TransactionError> {
    match via.branch() {
        Some(branch) if branch.starts_with(MAGIC_COOKIE) => Ok(branch.to_owned()),
        _ => Err(TransactionError::NoMagicCookie),
    }
}

/// The CSeq number and method.
pub(super) fn cseq(message: &impl HeadersExt) -> Result<(u32, Method), TransactionError> {
    if message.cseq_header().is_err() {
        return Err(TransactionError::MissingHeader("CSeq"));
    }
    message::cseq_of(message).ok_or(TransactionError::MalformedHeader("CSeq"))
}

/// §17.1.3: the client transaction a response belongs to.
pub(super) fn client_key_of_response(
    response: &rsip::Response,
) -> Result<TransactionKey, TransactionError> {
    let branch = rfc3261_branch(&top_via(response)?)?;
    Ok(TransactionKey::client(branch, cseq(response)?.1))
}

/// What identifies a request, once it passed the checks every request
/// passes before it is matched or sent: an RFC 3261 top Via, and a CSeq
/// whose method is the request's (§8.1.1.5).
pub(super) struct RequestId {
    pub(super) branch: String,
    pub(super) sent_by: String,
    pub(super) cseq: u32,
}

pub(super) fn checked_request(request: &rsip::Request) -> Result<RequestId, TransactionError> {
    checked_request_with(request, &top_via(request)?)
}

/// [`checked_request`] with the top Via already read.
pub(super) fn checked_request_with(
    request: &rsip::Request,
    via: &ViaParm<'_>,
) -> Result<RequestId, TransactionError> {
    let branch = rfc3261_branch(via)?;
    let (cseq, method) = cseq(request)?;
    if method != request.method {
        return Err(TransactionError::CSeqMethodMismatch);
    }
    Ok(RequestId {
        branch,
        sent_by: via.sent_by_key(),
        cseq,
    })
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn a_key_map_hashes_each_key_to_its_fingerprint_and_finds_equal_keys() {
        let mut map = KeyMap::default();
        map.insert(TransactionKey::client("z9hG4bK1", Method::Message), 1);
        map.insert(TransactionKey::client("z9hG4bK2", Method::Message), 2);
        map.insert(TransactionKey::client("z9hG4bK1", Method::Invite), 3);
        // A key built again from the same fields is another allocation.
        let again = TransactionKey::client("z9hG4bK1", Method::Message);
        assert_eq!(map.get(&again), Some(&1));
        assert_eq!(map.hasher().hash_one(&again), again.0.fingerprint);
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn the_fingerprint_hasher_does_not_lose_other_input() {
        let hash = |bytes: &[u8]| {
            let mut hasher = FingerprintHasher::default();
            hasher.write(bytes);
            hasher.finish()
        };
        assert_ne!(hash(b"ab"), hash(b"ba"));
        assert_ne!(hash(b"a"), hash(b""));
    }
}
