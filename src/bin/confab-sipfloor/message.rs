//! The few bytes the floor server reads in a SIP datagram, and the
//! responses it writes. No parser: a header is found by scanning lines
//! for its name, a URI by scanning for `sip:`. Whatever is not there, or
//! is malformed, gives `None` and the datagram is dropped; nothing here
//! panics on input.

use std::net::{IpAddr, SocketAddr};

/// The To tag of every response the floor writes, so that an ACK to one of
/// them (to a 407) is recognized and absorbed.
pub const TAG: &[u8] = b"sipfloor";

/// A fixed challenge: sipp computes its answer from it, the floor never
/// checks the answer.
const CHALLENGE: &[u8] =
    b"Digest realm=\"sipfloor\", nonce=\"5f1d0e7a9c3b4d21\", algorithm=MD5, qop=\"auth\"";

/// A datagram's start line.
#[derive(Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request { method: &'a [u8], uri: &'a [u8] },
    Response,
}

/// The start line, or `None` if the datagram is neither a response nor a
/// request line of three tokens.
pub fn start_line(datagram: &[u8]) -> Option<StartLine<'_>> {
    let line = lines(datagram).next()?;
    if line.starts_with(b"SIP/2.0 ") {
        return Some(StartLine::Response);
    }
    let mut tokens = line.split(|&b| b == b' ').filter(|t| !t.is_empty());
    let method = tokens.next()?;
    let uri = tokens.next()?;
    let version = tokens.next()?;
    (version == b"SIP/2.0" && method.iter().all(u8::is_ascii_alphabetic))
        .then_some(StartLine::Request { method, uri })
}

/// The header lines and the start line, up to the blank line that ends
/// them, without their line ends. A bare LF ends a line too.
fn lines(datagram: &[u8]) -> impl Iterator<Item = &[u8]> {
    datagram
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .take_while(|line| !line.is_empty())
}

/// Whether `line` is a header named `long` or, compact (RFC 3261 §7.3.3),
/// `short`: the name, optional blanks, then a colon.
fn is_header(line: &[u8], long: &[u8], short: Option<u8>) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = line.get(..colon).unwrap_or_default().trim_ascii_end();
    name.eq_ignore_ascii_case(long)
        || short.is_some_and(|s| name.len() == 1 && name.eq_ignore_ascii_case(&[s]))
}

/// The first header line named `long` (or `short`), whole.
pub fn header<'a>(datagram: &'a [u8], long: &[u8], short: Option<u8>) -> Option<&'a [u8]> {
    lines(datagram)
        .skip(1)
        .find(|line| is_header(line, long, short))
}

/// The user part of the first SIP URI in `text` (a To header, a
/// Request-URI): what lies between `sip:` and `@`.
pub fn uri_user(text: &[u8]) -> Option<&[u8]> {
    let rest = after_scheme(text)?;
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'@' | b';' | b'>' | b'?' | b' '))?;
    let user = rest.get(..end)?;
    (rest.get(end) == Some(&b'@') && !user.is_empty()).then_some(user)
}

/// The host and port of a SIP URI as a socket address, when the host is
/// an IP address (port 5060 if none is given).
pub fn uri_address(text: &[u8]) -> Option<SocketAddr> {
    let rest = after_scheme(text)?;
    let end = rest
        .iter()
        .position(|&b| matches!(b, b';' | b'>' | b'?' | b' '))
        .unwrap_or(rest.len());
    let hostport = rest.get(..end)?;
    let hostport = match hostport.iter().position(|&b| b == b'@') {
        Some(at) => hostport.get(at + 1..)?,
        None => hostport,
    };
    let hostport = std::str::from_utf8(hostport).ok()?;
    if let Ok(address) = hostport.parse::<SocketAddr>() {
        return Some(address);
    }
    let ip = hostport.trim_start_matches('[').trim_end_matches(']');
    ip.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 5060))
}

/// What follows the first `sip:` or `sips:` (any case) in `text`.
fn after_scheme(text: &[u8]) -> Option<&[u8]> {
    let sip = find_ignore_case(text, b"sip:").map(|at| at + 4);
    let sips = find_ignore_case(text, b"sips:").map(|at| at + 5);
    let start = match (sip, sips) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    text.get(start..)
}

/// The tag of a To (or From) header line, if it has one.
pub fn to_tag(to: &[u8]) -> Option<&[u8]> {
    let at = find_ignore_case(to, b";tag=")?;
    let tag = to.get(at + 5..)?;
    let end = tag
        .iter()
        .position(|&b| matches!(b, b';' | b' ' | b'\t' | b','))
        .unwrap_or(tag.len());
    tag.get(..end)
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The responses the floor writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// 200 OK; to a REGISTER it also echoes the Contact and Expires.
    Ok,
    /// 401 with a WWW-Authenticate challenge (a registrar's).
    Unauthorized,
    /// 407 with a Proxy-Authenticate challenge (a proxy's).
    ProxyAuthenticationRequired,
}

/// Writes into `out` (cleared first; its capacity is reused) the response
/// `status` to `request`, built from the request's Via, From, To, Call-ID
/// and CSeq lines copied as they are (RFC 3261 §8.2.6.2), the To with our
/// tag if it had none. False, with `out` unspecified, when the request
/// lacks one of them.
pub fn response(request: &[u8], status: Status, out: &mut Vec<u8>) -> bool {
    out.clear();
    out.extend_from_slice(match status {
        Status::Ok => b"SIP/2.0 200 OK\r\n",
        Status::Unauthorized => b"SIP/2.0 401 Unauthorized\r\n",
        Status::ProxyAuthenticationRequired => b"SIP/2.0 407 Proxy Authentication Required\r\n",
    });
    // Every Via, in order: the response retraces the request's path.
    let mut vias = 0;
    for line in lines(request)
        .skip(1)
        .filter(|l| is_header(l, b"Via", Some(b'v')))
    {
        push_line(out, line);
        vias += 1;
    }
    if vias == 0 {
        return false;
    }
    let Some(from) = header(request, b"From", Some(b'f')) else {
        return false;
    };
    push_line(out, from);
    let Some(to) = header(request, b"To", Some(b't')) else {
        return false;
    };
    out.extend_from_slice(to);
    if to_tag(to).is_none() {
        out.extend_from_slice(b";tag=");
        out.extend_from_slice(TAG);
    }
    out.extend_from_slice(b"\r\n");
    for (long, short) in [(&b"Call-ID"[..], Some(b'i')), (b"CSeq", None)] {
        let Some(line) = header(request, long, short) else {
            return false;
        };
        push_line(out, line);
    }
    let register = matches!(
        start_line(request),
        Some(StartLine::Request {
            method: b"REGISTER",
            ..
        })
    );
    match status {
        Status::Ok if register => {
            for (long, short) in [(&b"Contact"[..], Some(b'm')), (b"Expires", None)] {
                if let Some(line) = header(request, long, short) {
                    push_line(out, line);
                }
            }
        }
        Status::Ok => {}
        Status::Unauthorized => {
            out.extend_from_slice(b"WWW-Authenticate: ");
            push_line(out, CHALLENGE);
        }
        Status::ProxyAuthenticationRequired => {
            out.extend_from_slice(b"Proxy-Authenticate: ");
            push_line(out, CHALLENGE);
        }
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    true
}

fn push_line(out: &mut Vec<u8>, line: &[u8]) {
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
