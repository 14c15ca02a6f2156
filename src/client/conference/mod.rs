//! Conference membership: creating and joining conferences through the
//! focus (C3P, PROTOCOLS.md sections 2 and 4), the roster subscription
//! (RFC 4575), conference audio, the leader's commands and conference IM.

use super::{Client, Command};
use crate::proto::Time;

impl Client {
    pub(super) fn conference_command(
        &mut self,
        _now: Time,
        command: &Command,
    ) -> Result<(), String> {
        Err(format!("{} is not available in this build", command.name()))
    }
}
