//! The IM MCU: MESSAGEs to a conference's chat URI relayed to every other
//! participant (PROTOCOLS.md section 4 step 4).

use rsip::Request;

use crate::proto::Time;
use crate::proto::build::status_with_reason;
use crate::proto::conference_uri::ConferenceUri;
use crate::proto::transaction::TransactionKey;
use crate::server::Server;

impl Server {
    pub(super) fn chat_message(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        _target: &ConferenceUri,
        _user: &str,
    ) {
        self.reply(
            now,
            key,
            request,
            status_with_reason(501, "Conference IM Not Ready"),
        );
    }
}
