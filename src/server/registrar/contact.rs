//! Contact header field values of a REGISTER (RFC 3261 §20.10, §25.1) and
//! contact URI equality (§19.1.4).
//!
//! We split and parse Contact values here rather than with rsip's typed
//! `Contact`, which cannot carry what a registrar needs: it fails on a quoted
//! parameter value (`+sip.instance="<urn:uuid:..>"`, RFC 5626 §4.1) and on a
//! comma-separated list of values in one header, and it accepts `*` as a URI
//! whose host is `*`. rsip still parses the URI between the angle brackets;
//! the checks in [`parse_uri`] reject what it would silently mangle.
//!
//! Invariant: a [`ContactKey`] is an equivalence relation, so bindings can be
//! matched by `==`. §19.1.4 equality is not transitive (a parameter present
//! in only one URI is ignored), so the key keeps the parameters §19.1.4
//! always compares (`transport`, `user`, `ttl`, `method`, `maddr`) and drops
//! all others.

use super::RegistrarError;

/// One Contact header field value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ContactValue {
    /// `*`: every binding of the address of record (RFC 3261 §10.2.2).
    Star,
    Address(Box<ContactAddress>),
}

/// A `contact-param`: an address and the header parameters a registrar reads.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ContactAddress {
    pub uri: rsip::Uri,
    /// The addr-spec as the request wrote it, which a 200 repeats.
    pub text: String,
    pub expires: Option<DeltaSeconds>,
    /// The qvalue in thousandths (RFC 3261 §25.1: at most three decimals).
    pub q: Option<u16>,
    /// RFC 5626 §4.1 instance ID, without its quotes and angle brackets.
    pub instance: Option<String>,
    /// RFC 5626 §4.2; dropped when no `+sip.instance` comes with it (§6).
    pub reg_id: Option<u32>,
}

/// An `expires` parameter or Expires header value as a registrar reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeltaSeconds {
    Seconds(u32),
    /// RFC 3261 §10.2.1.1: malformed values SHOULD be treated as 3600, which
    /// the registrar reads as its configured default.
    Malformed,
}

impl DeltaSeconds {
    pub fn parse(raw: &str) -> DeltaSeconds {
        let raw = raw.trim();
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return DeltaSeconds::Malformed;
        }
        // RFC 3261 §10.2.1.1: values past 2**32-1 MAY be taken as 2**32-1.
        DeltaSeconds::Seconds(raw.parse::<u32>().unwrap_or(u32::MAX))
    }
}

/// Splits one Contact header field value into its comma-separated values.
pub(crate) fn parse_contact_header(value: &str) -> Result<Vec<ContactValue>, RegistrarError> {
    split_top_level(value, ',')?
        .into_iter()
        .map(str::trim)
        // Tolerate empty list elements (`<a>, ,<b>`) as HTTP-style lists do.
        .filter(|element| !element.is_empty())
        .map(parse_contact_value)
        .collect()
}

fn parse_contact_value(element: &str) -> Result<ContactValue, RegistrarError> {
    if element == "*" {
        return Ok(ContactValue::Star);
    }
    let malformed = || RegistrarError::MalformedContact(element.to_owned());
    let (uri, rest) = match find_top_level(element, '<') {
        // name-addr: [display-name] <addr-spec> *(;contact-params)
        Some(open) => {
            let after = element.get(open + 1..).ok_or_else(malformed)?;
            let close = after.find('>').ok_or_else(malformed)?;
            (&after[..close], &after[close + 1..])
        }
        // addr-spec alone: RFC 3261 §20.10, the parameters after it are
        // header parameters, never URI parameters.
        None => match element.find(';') {
            Some(semi) => element.split_at(semi),
            None => (element, ""),
        },
    };
    let rest = rest.trim();
    if !rest.is_empty() && !rest.starts_with(';') {
        return Err(malformed());
    }
    let mut address = ContactAddress {
        uri: parse_uri(uri)?,
        text: uri.trim().to_owned(),
        expires: None,
        q: None,
        instance: None,
        reg_id: None,
    };
    let mut reg_id = None;
    for param in split_top_level(rest, ';')?.into_iter().skip(1) {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(unquote(value.trim()))),
            None => (param.trim(), None),
        };
        if name.is_empty() {
            return Err(malformed());
        }
        if name.eq_ignore_ascii_case("expires") {
            address.expires = Some(DeltaSeconds::parse(value.as_deref().unwrap_or("")));
        } else if name.eq_ignore_ascii_case("q") {
            let value = value.unwrap_or_default();
            address.q = Some(parse_qvalue(&value).ok_or(RegistrarError::MalformedQ(value))?);
        } else if name.eq_ignore_ascii_case("+sip.instance") {
            let value = value.unwrap_or_default();
            let urn = value.trim_start_matches('<').trim_end_matches('>').trim();
            address.instance = (!urn.is_empty()).then(|| urn.to_owned());
        } else if name.eq_ignore_ascii_case("reg-id") {
            let value = value.unwrap_or_default();
            // RFC 5626 §4.2: reg-id = 1*DIGIT, 1 to 2**31-1.
            let parsed = value
                .parse::<u32>()
                .ok()
                .filter(|id| (1..=i32::MAX as u32).contains(id));
            reg_id = Some(parsed.ok_or(RegistrarError::MalformedRegId(value))?);
        }
        // Other contact-extensions (feature tags, `methods`) are not kept.
    }
    // RFC 5626 §6: a reg-id without an instance ID is ignored.
    address.reg_id = reg_id.filter(|_| address.instance.is_some());
    Ok(ContactValue::Address(Box::new(address)))
}

/// Parses the addr-spec of a Contact, refusing what rsip would misread:
/// non-SIP schemes (`tel:+1` becomes host `tel`, port 1), URI headers
/// (`?x=y` becomes part of the host or is dropped) and stray characters.
pub(crate) fn parse_uri(raw: &str) -> Result<rsip::Uri, RegistrarError> {
    let unsupported = || RegistrarError::UnsupportedContactUri(raw.to_owned());
    let raw = raw.trim();
    let host_part = raw.rsplit_once('@').map_or(raw, |(_, host)| host);
    if raw.chars().any(|c| c.is_whitespace() || "<>\"".contains(c)) || host_part.contains('?') {
        return Err(unsupported());
    }
    let uri = rsip::Uri::try_from(raw).map_err(|_| unsupported())?;
    if !matches!(uri.scheme, Some(rsip::Scheme::Sip | rsip::Scheme::Sips)) {
        return Err(unsupported());
    }
    if let rsip::Host::Domain(domain) = uri.host() {
        let domain = domain.value();
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(unsupported());
        }
    }
    Ok(uri)
}

/// The parts of a contact URI that RFC 3261 §19.1.4 compares, normalized.
///
/// Simplifications: parameters other than the five always compared are
/// ignored even when both URIs carry them; a default port is never implied
/// (`sip:a@b` and `sip:a@b:5060` differ, as §19.1.4 says).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ContactKey {
    sips: bool,
    /// Case-sensitive, with escapes of unreserved characters decoded.
    user: Option<String>,
    password: Option<String>,
    host: ContactHost,
    port: Option<u16>,
    transport: Option<String>,
    user_param: Option<String>,
    ttl: Option<String>,
    method: Option<String>,
    maddr: Option<String>,
}

impl ContactKey {
    pub fn of(uri: &rsip::Uri) -> ContactKey {
        let mut key = ContactKey {
            sips: matches!(uri.scheme, Some(rsip::Scheme::Sips)),
            user: uri.auth.as_ref().map(|auth| normalize_escapes(&auth.user)),
            password: uri
                .auth
                .as_ref()
                .and_then(|auth| auth.password.as_deref().map(normalize_escapes)),
            host: ContactHost::of(uri.host()),
            port: uri.port().map(|port| *port.value()),
            transport: None,
            user_param: None,
            ttl: None,
            method: None,
            maddr: None,
        };
        for param in &uri.params {
            let lower =
                |value: &dyn std::fmt::Display| Some(value.to_string().to_ascii_lowercase());
            match param {
                rsip::Param::Transport(transport) => key.transport = lower(transport),
                rsip::Param::User(user) => key.user_param = lower(user),
                rsip::Param::Ttl(ttl) => key.ttl = lower(ttl),
                rsip::Param::Method(method) => key.method = lower(method),
                rsip::Param::Maddr(maddr) => key.maddr = lower(maddr),
                _ => {}
            }
        }
        key
    }
}

/// The host of a contact URI as §19.1.4 compares it: a name without
/// regard to case, an address by its value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ContactHost {
    /// Lowercased, with escapes of unreserved characters decoded.
    Name(String),
    Address(std::net::IpAddr),
}

impl ContactHost {
    fn of(host: &rsip::Host) -> ContactHost {
        match host {
            rsip::Host::Domain(name) => {
                let mut name = normalize_escapes(name.value());
                name.make_ascii_lowercase();
                ContactHost::Name(name)
            }
            rsip::Host::IpAddr(address) => ContactHost::Address(*address),
        }
    }
}

/// RFC 3261 §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
/// returned in thousandths.
fn parse_qvalue(raw: &str) -> Option<u16> {
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Prints a qvalue kept in thousandths with no trailing zeros.
pub(crate) fn format_qvalue(thousandths: u16) -> String {
    if thousandths >= 1000 {
        return "1".to_owned();
    }
    let printed = format!("0.{thousandths:03}");
    printed
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_owned()
}

/// Splits `value` on `separator` outside quoted strings and angle brackets.
fn split_top_level(value: &str, separator: char) -> Result<Vec<&str>, RegistrarError> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut scan = Scan::default();
    for (i, c) in value.char_indices() {
        if scan.top_level(c) && c == separator {
            parts.push(&value[start..i]);
            start = i + c.len_utf8();
        }
    }
    if scan.in_quotes || scan.in_angle {
        return Err(RegistrarError::MalformedContact(value.to_owned()));
    }
    parts.push(&value[start..]);
    Ok(parts)
}

/// The byte offset of the first `wanted` outside quoted strings.
fn find_top_level(value: &str, wanted: char) -> Option<usize> {
    let mut scan = Scan::default();
    value
        .char_indices()
        .find(|&(_, c)| scan.top_level(c) && c == wanted)
        .map(|(i, _)| i)
}

/// Tracks quoted strings (with `\` escapes) and `<...>` while scanning.
#[derive(Default)]
struct Scan {
    in_quotes: bool,
    escaped: bool,
    in_angle: bool,
}

impl Scan {
    /// Feeds `c`; true if `c` itself stands outside quotes and brackets.
    fn top_level(&mut self, c: char) -> bool {
        if self.in_quotes {
            match (self.escaped, c) {
                (true, _) => self.escaped = false,
                (false, '\\') => self.escaped = true,
                (false, '"') => self.in_quotes = false,
                _ => {}
            }
            return false;
        }
        match c {
            '"' if !self.in_angle => self.in_quotes = true,
            '<' if !self.in_angle => {
                self.in_angle = true;
                return true;
            }
            '>' if self.in_angle => self.in_angle = false,
            _ => return !self.in_angle,
        }
        false
    }
}

/// Removes the quotes and `\` escapes of a quoted-string; other values are
/// returned as they are.
fn unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// RFC 3261 §19.1.4: an escaped unreserved character equals the character
/// itself. Decodes those escapes and upper-cases the hex of the others, so
/// that `%61my` and `amy` compare equal but `%40` stays `%40`.
pub(crate) fn normalize_escapes(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(byte) = escaped_byte(bytes, i) {
            let c = char::from(byte);
            if c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c) {
                out.push(c);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
            i += 3;
        } else {
            // Copies one character, multi-byte UTF-8 included; `i` only ever
            // moves by whole characters, so `get` finds a boundary.
            let Some(c) = raw.get(i..).and_then(|rest| rest.chars().next()) else {
                break;
            };
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Decodes every `%XX` escape; an escape that does not decode to UTF-8
/// leaves the input unchanged.
pub(crate) fn unescape(raw: &str) -> String {
    // Most user parts have no escape at all.
    if !raw.contains('%') {
        return raw.to_owned();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (escaped_byte(bytes, i), bytes.get(i)) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, Some(&byte)) => {
                out.push(byte);
                i += 1;
            }
            (None, None) => break,
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| raw.to_owned())
}

/// The byte `%XX` at `i` stands for, if there is a well-formed escape there.
fn escaped_byte(bytes: &[u8], i: usize) -> Option<u8> {
    match bytes.get(i..i + 3)? {
        [b'%', high, low] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit() => {
            let hex = [*high, *low];
            u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()
        }
        _ => None,
    }
}
