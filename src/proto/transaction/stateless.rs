//! Final responses sent without keeping a server transaction (RFC 3261
//! §8.2.7, and §16.11 for the proxy that sends them): what a registrar or
//! proxy answers to strangers, such as a 401/407 digest challenge.
//!
//! The request's server transaction is dropped when the response goes out,
//! so a retransmitted request comes up to the TU as new and is answered
//! again; the client's transaction, in Completed, absorbs the second answer.
//! No [`TransactionEvent::Terminated`] is reported: for the TU the
//! transaction ended with the response.
//!
//! The response's To tag is derived from the branch (§8.2.7: the same
//! request always gets the same tag), so the ACK a client sends for a
//! stateless non-2xx to an INVITE (§17.1.1.3: same branch, our To tag) is
//! recognised without state and absorbed. An ACK for a 2xx carries the
//! called UA's tag instead and still reaches the TU.

use rsip::Response;
use tracing::debug;

use super::compose::{derived_tag, encode, to_tag};
use super::key::TransactionKey;
use super::{TransactionError, TransactionLayer, TransactionState};
use crate::proto::Transmit;

impl TransactionLayer {
    /// The To tag for a stateless response in the server transaction `key`.
    pub fn stateless_tag(&self, key: &TransactionKey) -> String {
        derived_tag(key.branch())
    }

    /// Sends `response`, a final non-2xx built with [`Self::stateless_tag`],
    /// for the server transaction `key`, which has sent no final response,
    /// and forgets that transaction. See the module documentation.
    pub fn respond_statelessly(
        &mut self,
        key: &TransactionKey,
        response: Response,
    ) -> Result<(), TransactionError> {
        let code = response.status_code.code();
        if !(300..=699).contains(&code) {
            return Err(TransactionError::InvalidStatus(code));
        }
        let tx = self
            .servers
            .get(key)
            .ok_or(TransactionError::NoSuchTransaction)?;
        if !matches!(
            tx.state(),
            TransactionState::Trying | TransactionState::Proceeding
        ) {
            return Err(TransactionError::FinalResponseSent);
        }
        let destination = tx.source();
        // Any timer it armed (100 Trying) is now stale and pruned.
        self.servers.remove(key);
        self.transmits.push_back(Transmit {
            destination,
            payload: encode(response),
        });
        self.prune();
        Ok(())
    }

    /// Whether `ack`, which matches no server transaction, acknowledges a
    /// stateless non-2xx: its To tag is the one derived from its branch.
    pub(super) fn acknowledges_stateless(&self, key: &TransactionKey, ack: &rsip::Request) -> bool {
        let stateless = to_tag(ack).is_some_and(|tag| tag == derived_tag(key.branch()));
        if stateless {
            debug!(%key, "absorbing the ACK of a stateless response");
        }
        stateless
    }
}
