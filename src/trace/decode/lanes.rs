//! The ladder's lanes: who a message went from and to.
//!
//! A lane is an address, and on a confab server's address also the part of
//! a conference that spoke: the focus factory, a focus and its MCUs are user
//! agents inside the server (docs/ARCHITECTURE.md), so a message whose
//! party on that side is a conference URI (`opaque=app:conf:...`) is drawn
//! to or from that part's lane. The party on each side is the one RFC 3261
//! makes it: for a request, the sender is From and the receiver the
//! Request-URI (To if that is no conference URI); for a response, the
//! sender is To (the UAS) and the receiver From (the UAC).
//!
//! [`Lanes`] learns names as messages go by: the address a REGISTER goes
//! to, or one that speaks for a conference, is the server; any other
//! address is named by the user part of the first party it speaks for.
//! What the caller knows ([`Lanes::set_own`], [`Lanes::set_server`]) wins.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::proto::conference_uri::ConferencePart;

use super::{StartLine, Summary, conference_part, user_of};
use crate::trace::TraceEntry;

/// A part of a conference living on a server's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LaneRole {
    FocusFactory,
    Focus,
    ImMcu,
    AvMcu,
}

impl LaneRole {
    pub fn label(self) -> &'static str {
        match self {
            LaneRole::FocusFactory => "focus factory",
            LaneRole::Focus => "focus",
            LaneRole::ImMcu => "IM MCU",
            LaneRole::AvMcu => "A/V MCU",
        }
    }
}

impl From<ConferencePart> for LaneRole {
    fn from(part: ConferencePart) -> LaneRole {
        match part {
            ConferencePart::FocusFactory => LaneRole::FocusFactory,
            ConferencePart::Focus => LaneRole::Focus,
            ConferencePart::Chat => LaneRole::ImMcu,
            ConferencePart::AudioVideo => LaneRole::AvMcu,
        }
    }
}

/// One column of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lane {
    pub addr: SocketAddr,
    pub role: Option<LaneRole>,
}

/// The lanes a message goes from and to.
pub fn endpoints(entry: &TraceEntry, summary: &Summary) -> (Lane, Lane) {
    let (sender, receiver) = parties(summary);
    let lane = |addr, party: Option<&str>| Lane {
        addr,
        role: party.and_then(conference_part).map(LaneRole::from),
    };
    (
        lane(entry.source(), sender),
        lane(entry.destination(), receiver),
    )
}

/// The URIs of the sending and the receiving party.
fn parties(summary: &Summary) -> (Option<&str>, Option<&str>) {
    let from = summary.from.as_deref();
    let to = summary.to.as_deref();
    match &summary.start {
        StartLine::Request { uri, .. } => {
            let receiver = if conference_part(uri).is_some() {
                Some(uri.as_str())
            } else {
                to
            };
            (from, receiver)
        }
        StartLine::Response { .. } => (to, from),
        StartLine::Other(_) => (None, None),
    }
}

/// What the lanes are called.
#[derive(Debug, Clone, Default)]
pub struct Lanes {
    own: Option<SocketAddr>,
    server: Option<SocketAddr>,
    /// Whether `server` was told rather than guessed.
    server_known: bool,
    names: HashMap<SocketAddr, String>,
}

impl Lanes {
    /// Our own address: "this client".
    pub fn set_own(&mut self, addr: SocketAddr) {
        self.own = Some(addr);
    }

    /// The server's address: "server".
    pub fn set_server(&mut self, addr: SocketAddr) {
        self.server = Some(addr);
        self.server_known = true;
    }

    pub fn server(&self) -> Option<SocketAddr> {
        self.server
    }

    /// Learns names from one message.
    pub fn observe(&mut self, entry: &TraceEntry, summary: &Summary) {
        let (source, destination) = endpoints(entry, summary);
        if !self.server_known && self.server.is_none() {
            let registrar = (summary.is_request() && summary.method() == Some("REGISTER"))
                .then_some(destination.addr);
            let conferencing = [source, destination]
                .into_iter()
                .find(|lane| lane.role.is_some())
                .map(|lane| lane.addr);
            self.server = registrar.or(conferencing);
        }
        let (sender, _) = parties(summary);
        let Some(user) = sender
            .filter(|uri| conference_part(uri).is_none())
            .and_then(user_of)
        else {
            return;
        };
        let addr = source.addr;
        if self.names.contains_key(&addr) || Some(addr) == self.server {
            return;
        }
        let taken = self.names.values().any(|name| name == user);
        let name = if taken {
            format!("{user}:{}", addr.port())
        } else {
            user.to_owned()
        };
        self.names.insert(addr, name);
    }

    /// A lane's label.
    pub fn label(&self, lane: Lane) -> String {
        if let Some(role) = lane.role {
            return role.label().to_owned();
        }
        if Some(lane.addr) == self.own {
            return "this client".into();
        }
        if Some(lane.addr) == self.server {
            return "server".into();
        }
        self.names
            .get(&lane.addr)
            .cloned()
            .unwrap_or_else(|| lane.addr.to_string())
    }

    /// Where a lane goes from left to right: this client, the server and
    /// the conference's parts on it, then everyone else.
    pub fn rank(&self, lane: Lane) -> u8 {
        match lane.role {
            Some(LaneRole::FocusFactory) => 2,
            Some(LaneRole::Focus) => 3,
            Some(LaneRole::ImMcu) => 4,
            Some(LaneRole::AvMcu) => 5,
            None if Some(lane.addr) == self.own => 0,
            None if Some(lane.addr) == self.server => 1,
            None => 6,
        }
    }
}
