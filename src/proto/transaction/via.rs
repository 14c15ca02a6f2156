//! The top via-parm of a message, read in place: what transaction matching
//! needs (branch and sent-by, RFC 3261 §17.1.3, §17.2.3) and the §18.2.1 /
//! RFC 3581 stamping of a received request, without building rsip's typed
//! Via (a parse, a URI and a list of owned parameters per message).
//!
//! RFC 3261 §20.42: via-parm = sent-protocol LWS sent-by *( SEMI
//! via-params ), sent-protocol = name SLASH version SLASH transport,
//! sent-by = host [ COLON port ]. Parameter names compare without regard
//! to case; values are kept as written.

use std::net::{IpAddr, SocketAddr};

use crate::proto::message::{is_token_char, push_ip};

/// One via-parm, borrowed from its header value.
pub(super) struct ViaParm<'a> {
    /// `SIP/2.0/UDP`, as written.
    protocol: &'a str,
    /// The sent-by, as written.
    sent_by: &'a str,
    host: &'a str,
    port: Option<u16>,
    /// Everything after the sent-by's `;`, as written (may be empty).
    params: &'a str,
}

impl<'a> ViaParm<'a> {
    /// The first via-parm of a Via header value; `None` if it is not one.
    ///
    /// This runs several times for every message, so it reads bytes and
    /// trims only SIP's linear white space (ASCII), never Unicode's.
    pub(super) fn first(value: &'a str) -> Option<ViaParm<'a>> {
        let (first, _) = split_at_byte(value, b',');
        ViaParm::parse(first.trim_ascii())
    }

    // Every delimiter is ASCII, so splitting at the position of its byte
    // splits at a character boundary; and byte searches are what this
    // short text wants (a `str` pattern sets up a searcher each time).
    fn parse(text: &'a str) -> Option<ViaParm<'a>> {
        let blank = text.bytes().position(|b| b == b' ' || b == b'\t')?;
        let (protocol, rest) = (text.get(..blank)?, text.get(blank + 1..)?);
        let mut parts = protocol.as_bytes().split(|b| *b == b'/');
        let three_tokens = parts.by_ref().take(3).filter(|part| is_token(part)).count() == 3;
        if !three_tokens || parts.next().is_some() {
            return None;
        }
        let rest = rest.trim_ascii_start();
        let (sent_by, params) = match split_at_byte(rest, b';') {
            (sent_by, Some(params)) => (sent_by.trim_ascii(), params.trim_ascii()),
            (sent_by, None) => (sent_by.trim_ascii(), ""),
        };
        let (host, port) = match sent_by.bytes().rposition(|b| b == b':') {
            Some(colon) => (
                sent_by.get(..colon)?.trim_ascii(),
                Some(sent_by.get(colon + 1..)?.trim_ascii().parse::<u16>().ok()?),
            ),
            None => (sent_by, None),
        };
        if host.is_empty() || !host.bytes().all(is_host_char) {
            return None;
        }
        Some(ViaParm {
            protocol,
            sent_by,
            host,
            port,
            params,
        })
    }

    /// The parameters in order: name and value (`None` when bare).
    fn params(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> {
        let mut rest = Some(self.params);
        std::iter::from_fn(move || {
            let (param, after) = split_at_byte(rest?, b';');
            rest = after;
            Some(param.trim_ascii())
        })
        .filter(|param| !param.is_empty())
        .map(|param| match split_at_byte(param, b'=') {
            (name, Some(value)) => (name.trim_ascii(), Some(value.trim_ascii())),
            (name, None) => (name, None),
        })
    }

    pub(super) fn branch(&self) -> Option<&'a str> {
        self.params()
            .find(|(name, _)| name.eq_ignore_ascii_case("branch"))
            .and_then(|(_, value)| value)
    }

    /// The sent-by as server transaction keys hold it: host (compared
    /// without regard to case, RFC 3261 §19.1.4) and port if given.
    pub(super) fn sent_by_key(&self) -> String {
        let mut key = String::with_capacity(self.host.len() + 6);
        key.push_str(self.host);
        key.make_ascii_lowercase();
        if let Some(port) = self.port {
            key.push(':');
            key.push_str(itoa::Buffer::new().format(port));
        }
        key
    }

    /// RFC 3261 §18.2.1 and RFC 3581 §4: this via-parm as the server
    /// transport notes where the request came from: `received` when the
    /// sent-by host is not the source address, and a value for an empty
    /// `rport` (which then also requires `received`). `None` when nothing
    /// changes.
    pub(super) fn stamped(&self, source: SocketAddr) -> Option<String> {
        let ip = source.ip();
        let mut wants_received = self.host.parse::<IpAddr>().ok() != Some(ip);
        // One string, written once: this runs for every request received.
        let mut stamped = String::with_capacity(self.protocol.len() + self.sent_by.len() + 96);
        stamped.push_str(self.protocol);
        stamped.push(' ');
        stamped.push_str(self.sent_by);
        for (name, value) in self.params() {
            if name.eq_ignore_ascii_case("received") {
                continue;
            }
            stamped.push(';');
            stamped.push_str(name);
            if name.eq_ignore_ascii_case("rport") && value.is_none() {
                stamped.push('=');
                stamped.push_str(itoa::Buffer::new().format(source.port()));
                wants_received = true;
                continue;
            }
            if let Some(value) = value {
                stamped.push('=');
                stamped.push_str(value);
            }
        }
        if !wants_received {
            return None;
        }
        stamped.push_str(";received=");
        push_ip(&mut stamped, ip);
        Some(stamped)
    }
}

/// `text` before the first `separator`, and what follows it if there is
/// one. `separator` is ASCII, so both are at character boundaries.
fn split_at_byte(text: &str, separator: u8) -> (&str, Option<&str>) {
    match text.bytes().position(|b| b == separator) {
        Some(at) => (text.get(..at).unwrap_or_default(), text.get(at + 1..)),
        None => (text, None),
    }
}

/// An RFC 3261 §25.1 token.
fn is_token(text: &[u8]) -> bool {
    !text.is_empty() && text.iter().copied().all(is_token_char)
}

/// Characters of a hostname or IPv4 address (IPv6 references are refused
/// by the message layer before a Via gets here).
fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_'
}

#[cfg(test)]
mod tests;
