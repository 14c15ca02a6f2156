//! What the floor server does with one datagram: answer it, forward it
//! unchanged, or drop it. Pure (no socket), so that the tests drive it.
//!
//! Registrar: a REGISTER gets 200 (digest on: 401 first, while it has no
//! Authorization header); no binding is kept. Proxy: a REGISTER is
//! answered the same way and its source address kept for the user of its
//! To; any other request goes unchanged to the address of the user in its
//! Request-URI, or to the address its Request-URI names when that is a
//! registered one (in-dialog requests sent to a callee's Contact); a
//! response from a registered address goes unchanged to the last other
//! address that sent a request (the one caller of the benchmark). Digest
//! on: an INVITE or MESSAGE outside a dialog without Proxy-Authorization
//! gets 407, and the ACK to that 407 (our To tag) is absorbed. No Via or
//! Record-Route is added, and sipp needs none: a sipp UAS sends its
//! responses to the address the request came from (not to the Via), and
//! a sipp UAC sends every request, ACK and BYE included, to the address
//! it was started with, the Request-URI of those two being the callee's
//! Contact (traced with strace on the floor's socket).

use std::net::SocketAddr;

use crate::message::{self, StartLine, Status};

/// Users kept at most in proxy mode: the benchmark registers two.
const MAX_BINDINGS: usize = 64;
/// Longest user name kept, in bytes.
const MAX_USER: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Registrar,
    Proxy,
}

/// What to do with a datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send the response written into `out` back to the sender.
    Reply,
    /// Send the datagram, unchanged, to this address.
    Forward(SocketAddr),
    Drop,
}

struct Binding {
    user: [u8; MAX_USER],
    len: usize,
    address: SocketAddr,
}

impl Binding {
    fn user(&self) -> &[u8] {
        self.user.get(..self.len).unwrap_or_default()
    }
}

pub struct Floor {
    mode: Mode,
    digest: bool,
    /// Proxy mode: registered users. Allocated once, at most
    /// `MAX_BINDINGS`, so that no message allocates.
    bindings: Vec<Binding>,
    /// Proxy mode: where responses from a callee go.
    caller: Option<SocketAddr>,
}

impl Floor {
    pub fn new(mode: Mode, digest: bool) -> Self {
        Floor {
            mode,
            digest,
            bindings: Vec::with_capacity(MAX_BINDINGS),
            caller: None,
        }
    }

    /// Decides what becomes of `datagram` from `from`; for `Action::Reply`
    /// the response is in `out`.
    pub fn handle(&mut self, from: SocketAddr, datagram: &[u8], out: &mut Vec<u8>) -> Action {
        match message::start_line(datagram) {
            None => Action::Drop,
            Some(StartLine::Response) => match self.caller {
                Some(caller) if self.mode == Mode::Proxy && self.is_bound(from) => {
                    Action::Forward(caller)
                }
                _ => Action::Drop,
            },
            Some(StartLine::Request { method, uri }) => {
                self.request(from, method, uri, datagram, out)
            }
        }
    }

    fn request(
        &mut self,
        from: SocketAddr,
        method: &[u8],
        uri: &[u8],
        datagram: &[u8],
        out: &mut Vec<u8>,
    ) -> Action {
        if method == b"REGISTER" {
            return self.register(from, datagram, out);
        }
        if self.mode == Mode::Registrar {
            return self.options(method, datagram, out);
        }
        let to = message::header(datagram, b"To", Some(b't'));
        let tag = to.and_then(message::to_tag);
        if self.digest {
            // RFC 3261 §17.1.1.3: the ACK to a non-2xx final response, ours.
            if method == b"ACK" && tag == Some(message::TAG) {
                return Action::Drop;
            }
            let challenged = matches!(method, b"INVITE" | b"MESSAGE") && tag.is_none();
            if challenged && message::header(datagram, b"Proxy-Authorization", None).is_none() {
                return reply(datagram, Status::ProxyAuthenticationRequired, out);
            }
        }
        match self.route(uri) {
            Some(to) => {
                if !self.is_bound(from) {
                    self.caller = Some(from);
                }
                Action::Forward(to)
            }
            None => self.options(method, datagram, out),
        }
    }

    /// The answer to a request for the floor itself: 200 to OPTIONS (the
    /// benchmark's liveness probe), nothing to anything else.
    fn options(&self, method: &[u8], datagram: &[u8], out: &mut Vec<u8>) -> Action {
        if method == b"OPTIONS" {
            reply(datagram, Status::Ok, out)
        } else {
            Action::Drop
        }
    }

    fn register(&mut self, from: SocketAddr, datagram: &[u8], out: &mut Vec<u8>) -> Action {
        if self.digest && message::header(datagram, b"Authorization", None).is_none() {
            return reply(datagram, Status::Unauthorized, out);
        }
        let action = reply(datagram, Status::Ok, out);
        if action == Action::Reply && self.mode == Mode::Proxy {
            let user = message::header(datagram, b"To", Some(b't')).and_then(message::uri_user);
            if let Some(user) = user {
                self.bind(user, from);
            }
        }
        action
    }

    fn bind(&mut self, user: &[u8], address: SocketAddr) {
        if let Some(binding) = self.bindings.iter_mut().find(|b| b.user() == user) {
            binding.address = address;
            return;
        }
        if user.len() > MAX_USER || self.bindings.len() >= MAX_BINDINGS {
            return;
        }
        let mut binding = Binding {
            user: [0; MAX_USER],
            len: user.len(),
            address,
        };
        if let Some(slot) = binding.user.get_mut(..user.len()) {
            slot.copy_from_slice(user);
            self.bindings.push(binding);
        }
    }

    /// Where a request goes: the address of its Request-URI's user, else
    /// the Request-URI's own address if someone registered from it.
    fn route(&self, uri: &[u8]) -> Option<SocketAddr> {
        if let Some(user) = message::uri_user(uri) {
            if let Some(binding) = self.bindings.iter().find(|b| b.user() == user) {
                return Some(binding.address);
            }
        }
        message::uri_address(uri).filter(|&address| self.is_bound(address))
    }

    fn is_bound(&self, address: SocketAddr) -> bool {
        self.bindings.iter().any(|b| b.address == address)
    }
}

fn reply(request: &[u8], status: Status, out: &mut Vec<u8>) -> Action {
    if message::response(request, status, out) {
        Action::Reply
    } else {
        Action::Drop
    }
}

#[cfg(test)]
mod tests;
