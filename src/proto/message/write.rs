//! URIs and addresses written as rsip's `Display` prints them, without a
//! formatter: a proxy writes a Request-URI for every request it forwards
//! and a `received` address for every request it receives, and the
//! formatting machinery costs more than the bytes.

use std::io::Write as _;
use std::net::IpAddr;

use rsip::{Host, Scheme, Uri};

/// Where text is written: a header value being built, or a message.
pub(crate) trait Text {
    fn push_text(&mut self, text: &str);
}

impl Text for String {
    fn push_text(&mut self, text: &str) {
        self.push_str(text);
    }
}

impl Text for Vec<u8> {
    fn push_text(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }
}

/// An address as `Display` prints it; IPv4, the usual case, by hand.
pub(crate) fn push_ip(out: &mut impl Text, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (index, octet) in v4.octets().into_iter().enumerate() {
                if index > 0 {
                    out.push_text(".");
                }
                out.push_text(itoa::Buffer::new().format(octet));
            }
        }
        IpAddr::V6(v6) => out.push_text(&v6.to_string()),
    }
}

/// `uri` as its `Display` prints it. Parameters, rare on a Request-URI
/// and of many kinds, still go through their own `Display`.
pub(crate) fn push_uri(out: &mut Vec<u8>, uri: &Uri) {
    match &uri.scheme {
        Some(Scheme::Sip) => out.push_text("sip:"),
        Some(Scheme::Sips) => out.push_text("sips:"),
        Some(Scheme::Other(scheme)) => {
            out.push_text(scheme);
            out.push_text("://");
        }
        None => {}
    }
    if let Some(auth) = &uri.auth {
        out.push_text(&auth.user);
        if let Some(password) = &auth.password {
            out.push_text(":");
            out.push_text(password);
        }
        out.push_text("@");
    }
    match &uri.host_with_port.host {
        Host::Domain(domain) => out.push_text(domain.value()),
        Host::IpAddr(ip) => push_ip(out, *ip),
    }
    if let Some(port) = &uri.host_with_port.port {
        out.push_text(":");
        out.push_text(itoa::Buffer::new().format(*port.value()));
    }
    for param in &uri.params {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{param}");
    }
}

#[cfg(test)]
mod tests {
    // Tests may unwrap: a panic is a failed test.
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn written(uri: &Uri) -> String {
        let mut out = Vec::new();
        push_uri(&mut out, uri);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_uri_is_written_as_its_display_prints_it() {
        for text in [
            "sip:amy@confab.local",
            "sips:bob:secret@10.0.0.1:5061;transport=TCP;lr",
            "sip:192.168.10.200:65535;maddr=239.255.255.1;ttl=15",
            "sip:+14255550100@confab.local;user=phone",
            "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:4KT9QZ2M",
            "sip:%61my@Example.COM",
        ] {
            let uri = Uri::try_from(text).unwrap();
            assert_eq!(written(&uri), uri.to_string(), "{text}");
        }
        let mut bare = Uri::try_from("sip:amy@confab.local").unwrap();
        bare.host_with_port.host = Host::IpAddr("2001:db8::1".parse().unwrap());
        for scheme in [None, Some(Scheme::Other("x-custom".into()))] {
            bare.scheme = scheme;
            assert_eq!(written(&bare), bare.to_string());
        }
    }

    #[test]
    fn an_address_is_written_as_its_display_prints_it() {
        for text in [
            "0.0.0.0",
            "127.0.0.1",
            "192.0.2.255",
            "255.255.255.255",
            "::1",
            "2001:db8::7",
            "::ffff:192.0.2.1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            let (mut text_out, mut bytes_out) = (String::new(), Vec::new());
            push_ip(&mut text_out, ip);
            push_ip(&mut bytes_out, ip);
            assert_eq!(text_out, ip.to_string());
            assert_eq!(bytes_out, ip.to_string().into_bytes());
        }
    }
}
