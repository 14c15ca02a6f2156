//! The SIP carriage of conferencing: the focus factory and the foci of
//! [`super::focus`] reached by SERVICE, INVITE, INFO and SUBSCRIBE; the A/V
//! MCU's legs (media INVITEs to it, dial-outs from it), whose audio the
//! driver's mixer carries; and the IM MCU's relay.

use super::Server;
use crate::proto::{IoResult, Time};

impl Server {
    /// The driver's answer to one of the A/V MCU's requests.
    pub(super) fn handle_io_result(&mut self, _now: Time, result: IoResult) {
        tracing::debug!(?result, "mcu");
    }
}
