//! STUN Binding (RFC 8489) on the SIP port: the UDP keep-alive of RFC 5626
//! §4.4.2, negotiated with the Via `keep` parameter of RFC 6223.
//!
//! A client that asked with `keep` and was granted `keep=N` sends a Binding
//! request every N seconds or so instead of an OPTIONS: 20 bytes each way,
//! answered beside the SIP stack, never parsed as SIP. The answer's
//! XOR-MAPPED-ADDRESS is where the server saw us come from; if it moves, a
//! NAT on the way has forgotten us and the client registers again. Its
//! SOFTWARE names the server's run, as a confab server's Server header does,
//! so that a restart is noticed as it is with OPTIONS.
//!
//! The wire format is `stun-types`; this module only says which messages
//! the keep-alive uses and what of them it reads.

use std::net::SocketAddr;
use std::ops::Range;
use std::time::Duration;

use rsip::Header;
use rsip::headers::UntypedHeader;
use stun_types::attribute::{Software, XorMappedAddress};
use stun_types::message::{
    BINDING, Message, MessageClass, MessageType, MessageWrite, MessageWriteExt, MessageWriteVec,
    TransactionId,
};

/// RFC 8489 §5: every message since RFC 5389 carries it in bytes 4..8.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const HEADER_LEN: usize = 20;

/// The 96-bit transaction ID of a Binding request and its answer.
pub type StunTransaction = [u8; 12];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StunError {
    #[error("unreadable STUN message: {0}")]
    Unreadable(String),
    #[error("a STUN {0} where a Binding success response was expected")]
    Unexpected(&'static str),
    #[error("a Binding success response without XOR-MAPPED-ADDRESS")]
    NoMappedAddress,
    #[error("cannot write a STUN message: {0}")]
    Write(String),
}

/// Whether a datagram on the SIP port is STUN rather than SIP (RFC 5626
/// §5.4, RFC 7983): a STUN message starts with two zero bits and has the
/// magic cookie; a SIP message starts with a letter (or a CRLF).
pub fn is_stun(datagram: &[u8]) -> bool {
    datagram.len() >= HEADER_LEN
        && datagram.first().is_some_and(|first| first & 0xC0 == 0)
        && datagram.get(4..8) == Some(&MAGIC_COOKIE[..])
}

/// A Binding request with no attributes, as RFC 5626 §4.4.2 sends it.
pub fn binding_request(transaction: StunTransaction) -> Vec<u8> {
    let request_type = MessageType::from_class_method(MessageClass::Request, BINDING);
    Message::builder(
        request_type,
        transaction_id(transaction),
        MessageWriteVec::new(),
    )
    .finish()
}

/// The answer to a Binding request from `source`: a success response with
/// the XOR-MAPPED-ADDRESS (and `software` as SOFTWARE). `Ok(None)` for STUN
/// that is not a Binding request (an indication, a stray response), which
/// gets no answer (RFC 8489 §6.3).
pub fn answer_binding(
    request: &[u8],
    source: SocketAddr,
    software: &str,
) -> Result<Option<Vec<u8>>, StunError> {
    let message = Message::from_bytes(request).map_err(unreadable)?;
    if !message.has_class(MessageClass::Request) {
        return Ok(None);
    }
    if !message.has_method(BINDING) {
        // RFC 8489 §6.3.1: an unknown method in a request is a 400; we
        // know only Binding, and nothing else is sent to a SIP port.
        let mut error = Message::builder_error(&message, MessageWriteVec::new());
        let code = stun_types::attribute::ErrorCode::builder(400)
            .build()
            .map_err(write_error)?;
        error.add_attribute(&code).map_err(write_error)?;
        return Ok(Some(error.finish()));
    }
    let mut success = Message::builder_success(&message, MessageWriteVec::new());
    let mapped = XorMappedAddress::new(source, message.transaction_id());
    success.add_attribute(&mapped).map_err(write_error)?;
    if let Ok(software) = Software::new(software) {
        success.add_attribute(&software).map_err(write_error)?;
    }
    Ok(Some(success.finish()))
}

/// What a Binding success response says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingAnswer {
    pub transaction: StunTransaction,
    /// Where the server saw the request come from.
    pub mapped: SocketAddr,
    /// The server's SOFTWARE, if it sent one.
    pub software: Option<String>,
}

/// Reads a Binding success response.
pub fn read_binding_answer(datagram: &[u8]) -> Result<BindingAnswer, StunError> {
    let message = Message::from_bytes(datagram).map_err(unreadable)?;
    if !message.has_method(BINDING) {
        return Err(StunError::Unexpected("message of another method"));
    }
    if !message.has_class(MessageClass::Success) {
        let class = match message.class() {
            MessageClass::Request => "request",
            MessageClass::Indication => "indication",
            MessageClass::Error => "error response",
            MessageClass::Success => "success response",
        };
        return Err(StunError::Unexpected(class));
    }
    let transaction_id = message.transaction_id();
    let mapped = message
        .attribute::<XorMappedAddress>()
        .map_err(|_| StunError::NoMappedAddress)?
        .addr(transaction_id);
    let software = message
        .attribute::<Software>()
        .ok()
        .map(|software| software.software().to_owned());
    Ok(BindingAnswer {
        transaction: transaction_bytes(transaction_id),
        mapped,
        software,
    })
}

/// RFC 6223 §4.1: the request's top Via offers keep-alives with a bare
/// `keep` (a value there means somebody else set it).
pub fn offers_keep(request: &rsip::Request) -> bool {
    top_via(&request.headers).is_some_and(|via| {
        // Most requests offer nothing: a scan for the name is cheaper than
        // reading the parameters.
        mentions_keep(via)
            && via_params(via).any(|(name, value, _)| is_keep(name) && value.is_none())
    })
}

fn mentions_keep(via: &str) -> bool {
    via.as_bytes()
        .windows(4)
        .any(|window| window.eq_ignore_ascii_case(b"keep"))
}

/// RFC 6223 §4.3: the top Via of our response to a request that offered
/// keep-alives says how often we want them.
pub fn grant_keep(response: &mut rsip::Response, every: Duration) {
    let Some(via) = response.headers.iter_mut().find_map(|header| match header {
        Header::Via(via) => Some(via),
        _ => None,
    }) else {
        return;
    };
    let value = via.value();
    let Some(at) = via_params(value)
        .find(|(name, value, _)| is_keep(name) && value.is_none())
        .map(|(_, _, at)| at)
    else {
        return;
    };
    let seconds = every.as_secs().max(1);
    let (before, after) = (value.get(..at.start), value.get(at.end..));
    if let (Some(before), Some(after)) = (before, after) {
        let granted = format!("{before}keep={seconds}{after}");
        via.replace(granted);
    }
}

/// The keep-alive interval a response grants (RFC 6223 §4.2.1): the value
/// of `keep` in its top Via, if there is a usable one.
pub fn granted_keep(response: &rsip::Response) -> Option<Duration> {
    let via = top_via(&response.headers)?;
    let (_, value, _) = via_params(via).find(|(name, _, _)| is_keep(name))?;
    let seconds: u64 = value?.parse().ok()?;
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

fn is_keep(name: &str) -> bool {
    name.eq_ignore_ascii_case("keep")
}

fn top_via(headers: &rsip::Headers) -> Option<&str> {
    headers.iter().find_map(|header| match header {
        Header::Via(via) => Some(via.value()),
        _ => None,
    })
}

/// The parameters of the first value of a Via header field: each one's
/// name, value and where it lies, reading past `;` and `,` inside quoted
/// strings (RFC 3261 §25.1), which a plain split would cut at.
fn via_params(value: &str) -> impl Iterator<Item = (&str, Option<&str>, Range<usize>)> {
    let bytes = value.as_bytes();
    let mut bounds = Vec::new();
    let mut start = None;
    let mut quoted = false;
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b';' | b',' if !quoted => {
                if let Some(start) = start {
                    bounds.push(start..i);
                }
                if byte == b',' {
                    start = None;
                    break;
                }
                start = Some(i + 1);
            }
            _ => {}
        }
        i += 1;
    }
    if let Some(start) = start {
        bounds.push(start..bytes.len());
    }
    bounds.into_iter().filter_map(move |at| {
        let text = value.get(at.clone())?;
        let (name, param) = match text.split_once('=') {
            Some((name, param)) => (name.trim(), Some(param.trim())),
            None => (text.trim(), None),
        };
        Some((name, param, at))
    })
}

fn transaction_id(transaction: StunTransaction) -> TransactionId {
    let mut wide = [0u8; 16];
    if let Some(low) = wide.get_mut(4..) {
        low.copy_from_slice(&transaction);
    }
    TransactionId::from(u128::from_be_bytes(wide))
}

fn transaction_bytes(id: TransactionId) -> StunTransaction {
    let wide = u128::from(id).to_be_bytes();
    let mut transaction = [0u8; 12];
    if let Some(low) = wide.get(4..) {
        transaction.copy_from_slice(low);
    }
    transaction
}

fn unreadable(error: impl std::fmt::Display) -> StunError {
    StunError::Unreadable(error.to_string())
}

fn write_error(error: impl std::fmt::Display) -> StunError {
    StunError::Write(error.to_string())
}

#[cfg(test)]
mod tests {
    // Tests may unwrap: a panic is a failed test.
    #![allow(clippy::unwrap_used)]

    use super::*;

    const ID: StunTransaction = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    #[test]
    fn a_binding_request_is_the_bare_header_of_rfc_8489() {
        let request = binding_request(ID);
        assert_eq!(request.len(), HEADER_LEN, "no attributes");
        assert_eq!(
            &request[..4],
            &[0x00, 0x01, 0x00, 0x00],
            "Binding request, length 0"
        );
        assert_eq!(&request[4..8], &MAGIC_COOKIE);
        assert_eq!(&request[8..], &ID);
        assert!(is_stun(&request));
    }

    #[test]
    fn the_answer_carries_the_source_and_the_software_back() {
        let source: SocketAddr = "192.0.2.7:5062".parse().unwrap();
        let answer = answer_binding(&binding_request(ID), source, "confab/0.1.0 (boot abc)")
            .unwrap()
            .unwrap();
        assert!(is_stun(&answer));
        let read = read_binding_answer(&answer).unwrap();
        assert_eq!(read.transaction, ID);
        assert_eq!(read.mapped, source);
        assert_eq!(read.software.as_deref(), Some("confab/0.1.0 (boot abc)"));
    }

    #[test]
    fn the_mapped_address_is_xored_on_the_wire() {
        let source: SocketAddr = "192.0.2.7:5062".parse().unwrap();
        let answer = answer_binding(&binding_request(ID), source, "x")
            .unwrap()
            .unwrap();
        let port = 5062u16 ^ 0x2112;
        assert!(
            answer.windows(2).any(|pair| pair == port.to_be_bytes()),
            "X-Port is the port XOR the cookie's top half"
        );
        assert!(
            !answer.windows(4).any(|quad| quad == [192, 0, 2, 7]),
            "the address is not in the clear"
        );
    }

    #[test]
    fn sip_and_stun_are_told_apart_by_their_first_bytes() {
        assert!(!is_stun(b"OPTIONS sip:confab.local SIP/2.0\r\n\r\n"));
        assert!(!is_stun(b"\r\n\r\n"));
        assert!(!is_stun(&binding_request(ID)[..19]), "too short");
        let mut wrong_cookie = binding_request(ID);
        wrong_cookie[5] = 0;
        assert!(!is_stun(&wrong_cookie), "an RFC 3489 message or noise");
    }

    #[test]
    fn only_a_binding_request_is_answered() {
        let source: SocketAddr = "192.0.2.7:5062".parse().unwrap();
        let answer = answer_binding(&binding_request(ID), source, "x")
            .unwrap()
            .unwrap();
        assert_eq!(
            answer_binding(&answer, source, "x").unwrap(),
            None,
            "a response gets no answer"
        );
        let mut other_method = binding_request(ID);
        other_method[1] = 0x03; // Allocate (RFC 8656)
        let refused = answer_binding(&other_method, source, "x").unwrap().unwrap();
        assert!(
            matches!(read_binding_answer(&refused), Err(StunError::Unexpected(_))),
            "an error response, not a success"
        );
        assert_eq!(refused[0] & 0x01, 0x01, "class bit of an error response");
    }

    fn register_with_via(via: &str) -> rsip::Request {
        let text = format!(
            "REGISTER sip:confab.local SIP/2.0\r\nVia: {via}\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKb\r\n\
             From: <sip:vivian@confab.local>;tag=1\r\nTo: <sip:vivian@confab.local>\r\n\
             Call-ID: k\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n"
        );
        match crate::proto::message::parse(text.as_bytes()).unwrap() {
            rsip::SipMessage::Request(request) => request,
            rsip::SipMessage::Response(_) => unreachable!("a request was written"),
        }
    }

    /// Our 200 to `request`.
    fn ok_to(request: &rsip::Request) -> rsip::Response {
        crate::proto::build::response_to(request, crate::proto::build::status(200), Some("t"))
    }

    #[test]
    fn keep_is_granted_only_where_the_top_via_offers_it() {
        let offered =
            register_with_via("SIP/2.0/UDP 10.0.0.11:5062;branch=z9hG4bKa;keep;rport=5062");
        assert!(offers_keep(&offered));
        let mut response = ok_to(&offered);
        grant_keep(&mut response, Duration::from_secs(30));
        let text = response.to_string();
        assert!(
            text.contains("Via: SIP/2.0/UDP 10.0.0.11:5062;branch=z9hG4bKa;keep=30;rport=5062\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKb\r\n"),
            "{text}"
        );
        assert_eq!(granted_keep(&response), Some(Duration::from_secs(30)));

        // A name is case-insensitive; the word elsewhere is no parameter.
        assert!(offers_keep(&register_with_via(
            "SIP/2.0/UDP 10.0.0.11:5062;branch=z9hG4bKa;KEEP"
        )));
        for via in [
            "SIP/2.0/UDP 10.0.0.11:5062;branch=z9hG4bKa;rport",
            "SIP/2.0/UDP 10.0.0.11:5062;branch=z9hG4bKa;keep=15",
            "SIP/2.0/UDP 10.0.0.11:5062;branch=z9hG4bKkeep;received=keep",
        ] {
            let request = register_with_via(via);
            assert!(!offers_keep(&request), "{via}");
            let mut response = ok_to(&request);
            let before = response.to_string();
            grant_keep(&mut response, Duration::from_secs(30));
            assert_eq!(response.to_string(), before, "untouched: {via}");
        }
    }

    #[test]
    fn a_keep_inside_a_quoted_string_is_not_a_parameter() {
        let inside = register_with_via(r#"SIP/2.0/UDP h;branch=z9hG4bKa;x="a;keep;b""#);
        assert!(!offers_keep(&inside));
        let mut response = ok_to(&inside);
        let before = response.to_string();
        grant_keep(&mut response, Duration::from_secs(30));
        assert_eq!(response.to_string(), before);

        let after_a_comma = register_with_via(r#"SIP/2.0/UDP h;branch=z9hG4bKa;x="a,b";keep"#);
        assert!(offers_keep(&after_a_comma), "a quoted comma ends nothing");
        let mut response = ok_to(&after_a_comma);
        grant_keep(&mut response, Duration::from_secs(30));
        assert!(
            response.to_string().contains(r#";x="a,b";keep=30"#),
            "{response}"
        );
    }

    #[test]
    fn a_keep_without_a_usable_value_grants_nothing() {
        for via in [
            "SIP/2.0/UDP h;branch=z9hG4bKa;keep",
            "SIP/2.0/UDP h;branch=z9hG4bKa;keep=0",
            "SIP/2.0/UDP h;branch=z9hG4bKa;keep=soon",
            "SIP/2.0/UDP h;branch=z9hG4bKa",
        ] {
            let response = ok_to(&register_with_via(via));
            assert_eq!(granted_keep(&response), None, "{via}");
        }
    }

    #[test]
    fn broken_input_is_an_error_not_a_panic() {
        let source: SocketAddr = "192.0.2.7:5062".parse().unwrap();
        let mut truncated = binding_request(ID);
        truncated[3] = 40; // says 40 bytes of attributes follow; none do
        assert!(answer_binding(&truncated, source, "x").is_err());
        assert!(read_binding_answer(&truncated).is_err());
        assert!(read_binding_answer(&[0u8; 3]).is_err());
        assert!(matches!(
            read_binding_answer(&binding_request(ID)),
            Err(StunError::Unexpected("request"))
        ));
        let mut bare_success = binding_request(ID);
        bare_success[1] = 0x01;
        bare_success[0] = 0x01; // Binding success, no attributes
        assert_eq!(
            read_binding_answer(&bare_success),
            Err(StunError::NoMappedAddress)
        );
    }
}
