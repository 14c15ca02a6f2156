//! Small accessors on rsip types that the transaction, dialog and server
//! layers all need, written once: the top Via branch (RFC 3261 §17.1.3,
//! §17.2.3), the CSeq method, From/To tags (§19.3), lookup of header fields
//! rsip keeps as `Header::Other`, and the `sip:+E164@domain;user=phone`
//! form in which confab carries phone numbers (§19.1.6).
//!
//! Parameters are read from the raw header value rather than through rsip's
//! typed headers, so a parameter rsip's typed parser cannot handle (quoted
//! values, unusual tokens) is still found.

use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;
use rsip::{Header, Headers, Request, Uri};

use super::scan::quoted_end;

/// The branch parameter of the topmost Via, the key of RFC 3261 §17.2.3
/// transaction matching.
pub fn top_via_branch(request: &Request) -> Option<String> {
    let via = request.via_header().ok()?;
    param(via.value(), "branch").flatten()
}

/// The method named in the CSeq header field (RFC 3261 §8.1.1.5), which is
/// what a response says it answers.
pub fn cseq_method(message: &impl HeadersExt) -> Option<rsip::Method> {
    cseq_fields(message)?.1.parse().ok()
}

/// The number and method of the CSeq header field (RFC 3261 §20.16), read
/// in place: transaction matching needs both for every message, and
/// rsip's typed CSeq would allocate for them.
pub fn cseq_of(message: &impl HeadersExt) -> Option<(u32, rsip::Method)> {
    let (number, method) = cseq_fields(message)?;
    Some((number.parse().ok()?, method.parse().ok()?))
}

/// `1*DIGIT LWS Method`, split at the white space.
fn cseq_fields(message: &impl HeadersExt) -> Option<(&str, &str)> {
    let cseq = message.cseq_header().ok()?;
    let (number, method) = cseq.value().trim_ascii().split_once([' ', '\t'])?;
    Some((number, method.trim_ascii()))
}

/// The value of the first header field called `name`, compared without
/// regard to case, among those rsip stores as [`Header::Other`] (the fields
/// it has no variant for, such as Path, Allow-Events, P-Asserted-Identity).
/// Compact names were expanded by [`super::parse`], so look up long names.
pub fn header_value<'a>(headers: &'a Headers, name: &str) -> Option<&'a str> {
    headers.iter().find_map(|header| match header {
        Header::Other(n, v) if n.eq_ignore_ascii_case(name) => Some(v.as_str()),
        _ => None,
    })
}

/// The Call-ID of a message, for logs: every line of a call's handling
/// carries it (see the cores' `handle_datagram`).
pub fn call_id_of(message: &rsip::SipMessage) -> &str {
    use rsip::message::HasHeaders as _;
    message
        .headers()
        .iter()
        .find_map(|header| match header {
            Header::CallId(call_id) => Some(call_id.value()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The tag parameter of a From or To (or any name-addr) header field
/// (RFC 3261 §19.3), or `None` if it has none.
pub fn tag<'a>(header: &impl UntypedHeader<'a>) -> Option<String> {
    param(header.value(), "tag").flatten()
}

/// The header parameter `name` of a raw field value (name compared without
/// regard to case): `None` if absent, `Some(None)` if present without a
/// value. The parameters start at the first `;` outside quoted strings and
/// `<...>`, which is right for name-addr, addr-spec (RFC 3261 §20.10: its
/// parameters are header parameters) and Via values alike.
pub fn param(value: &str, name: &str) -> Option<Option<String>> {
    let (_, params) = split_address(value)?;
    params.split(';').find_map(|p| {
        let (n, v) = match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (p.trim(), None),
        };
        n.eq_ignore_ascii_case(name)
            .then(|| v.map(|v| v.trim_matches('"').to_owned()))
    })
}

/// The first element of a From, To, Contact, Route or Via value split at
/// the start of its header parameters (RFC 3261 §20.10): the URI as
/// written (what is between `<` and `>`, after a display name that may
/// be a quoted string holding either; without brackets, everything
/// before the first `;`), and the parameters after that `;`, up to a `,`
/// that ends the element (empty when there are none). `None` for an
/// unclosed quoted string or `<`.
pub(crate) fn split_address(value: &str) -> Option<(&str, &str)> {
    let bytes = value.as_bytes();
    let mut bracketed = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => i = quoted_end(bytes, i)?,
            b'<' if bracketed.is_none() => {
                let inner = value.get(i + 1..)?;
                let close = inner.find('>')?;
                bracketed = inner.get(..close);
                i += close + 2;
            }
            b';' | b',' => break,
            _ => i += 1,
        }
    }
    let uri = match bracketed {
        Some(uri) => uri,
        None => value.get(..i)?,
    };
    let params = match bytes.get(i) {
        Some(b';') => value.get(i + 1..)?,
        _ => "",
    };
    let params = params.split(',').next().unwrap_or_default();
    Some((uri.trim(), params))
}

/// A phone number as confab carries it in SIP (RFC 3261 §19.1.6):
/// `sip:+14255550100@domain;user=phone`. `e164` may be written with or
/// without the `+` and with visual separators (spaces, `-`, `.`, `(`, `)`,
/// RFC 3966 §5.1.1), which are dropped; other characters are kept as they
/// are, so check the number before if it comes from a user.
pub fn phone_number_uri(e164: &str, domain: &str) -> Uri {
    let digits: String = e164
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'))
        .collect();
    Uri {
        scheme: Some(rsip::Scheme::Sip),
        auth: Some(rsip::Auth {
            user: format!("+{digits}"),
            password: None,
        }),
        host_with_port: rsip::Host::from(domain).into(),
        params: vec![rsip::Param::User(rsip::param::User::new("phone"))],
        headers: vec![],
    }
}

/// The E.164 number (`+` and digits) of a `sip:`/`sips:` URI that carries a
/// phone number, the inverse of [`phone_number_uri`]: it needs
/// `user=phone` and a user part of `+` and digits (RFC 3966 visual
/// separators allowed and dropped).
pub fn is_phone_number_uri(uri: &Uri) -> Option<String> {
    if !matches!(uri.scheme, Some(rsip::Scheme::Sip | rsip::Scheme::Sips)) {
        return None;
    }
    let user_phone = uri.params.iter().any(|p| match p {
        rsip::Param::User(user) => user.value().eq_ignore_ascii_case("phone"),
        _ => false,
    });
    if !user_phone {
        return None;
    }
    let number = uri.user()?.strip_prefix('+')?;
    let digits: String = number
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
        .collect();
    (!digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())).then(|| format!("+{digits}"))
}

/// Undoes rsip's misreading of a user part that contains `,` (or another
/// character its userinfo tokenizer stops at): rsip then leaves `auth`
/// empty and puts `user@host` in the host. [`super::parse`] repairs the
/// Request-URI; call this on URIs taken from `.typed()` header fields.
pub fn repair_uri(uri: &mut Uri) {
    if uri.auth.is_some() {
        return;
    }
    let rsip::Host::Domain(domain) = &uri.host_with_port.host else {
        return;
    };
    let Some((userinfo, host)) = domain
        .value()
        .rsplit_once('@')
        .map(|(u, h)| (u.to_owned(), h.to_owned()))
    else {
        return;
    };
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user.to_owned(), Some(password.to_owned())),
        None => (userinfo, None),
    };
    uri.auth = Some(rsip::Auth { user, password });
    uri.host_with_port.host = rsip::Host::from(host);
}
