//! Building messages: responses to requests (RFC 3261 §8.2.6), status lines
//! with real reason phrases, and the random identifiers every request needs.
//!
//! rsip prints a known status code with its Rust variant name as the reason
//! phrase ("404 NotFound"); [`status`] always makes the RFC 3261 §21 phrase
//! instead, so compare status codes with `.code()`, never by variant.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rsip::headers::UntypedHeader;
use rsip::{Header, Request, Response, StatusCode};

use super::message;

/// Our product token, for User-Agent and Server (RFC 3261 §20.35, §20.41).
pub const PRODUCT: &str = concat!("confab/", env!("CARGO_PKG_VERSION"));

/// The run of a confab server that sent a response, from its Server
/// header (`confab/0.1.0 (boot 4kq9xz2)`); None from anything else.
pub fn server_boot(response: &Response) -> Option<&str> {
    use rsip::headers::UntypedHeader as _;
    response.headers.iter().find_map(|header| match header {
        Header::Server(server) => boot_token(server.value()),
        _ => None,
    })
}

/// The boot token of a confab server's product string (a Server header,
/// or the SOFTWARE of its STUN answers).
pub fn boot_token(product: &str) -> Option<&str> {
    let rest = product.strip_prefix("confab/")?;
    let token = rest.split_once("(boot ")?.1;
    token.strip_suffix(')')
}

/// RFC 3261 §8.1.1.7: every branch we make starts with the magic cookie.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// A status code with the reason phrase of RFC 3261 §21 (or of the RFC that
/// defines it).
pub fn status(code: u16) -> StatusCode {
    StatusCode::Other(code, reason_phrase(code).to_owned())
}

/// A status code with our own reason phrase, to say precisely what was wrong
/// (`400 Missing Call-ID`).
pub fn status_with_reason(code: u16, reason: &str) -> StatusCode {
    StatusCode::Other(code, reason.to_owned())
}

/// The RFC reason phrase of a code, or a generic one for its class.
pub fn reason_phrase(code: u16) -> &'static str {
    match message::reason_phrase(code) {
        "" => match code / 100 {
            1 => "Trying",
            2 => "OK",
            3 => "Redirection",
            4 => "Client Error",
            5 => "Server Error",
            _ => "Global Failure",
        },
        phrase => phrase,
    }
}

/// A response to `request` per RFC 3261 §8.2.6.2: Via (all of them, in
/// order), From, To, Call-ID and CSeq copied; a To tag added when the
/// request had none, except on 100 Trying.
pub fn response_to(request: &Request, status_code: StatusCode, to_tag: Option<&str>) -> Response {
    let add_tag = status_code.code() > 100;
    // The five copied, and room for the few a response adds (a challenge,
    // Server, Contact) before the list has to grow.
    let mut headers = Vec::with_capacity(RESPONSE_HEADERS);
    for header in request.headers.iter() {
        match header {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(header.clone())
            }
            Header::To(to) => {
                let value = to.value();
                let has_tag = to_has_tag(value);
                match to_tag {
                    Some(tag) if add_tag && !has_tag => headers.push(Header::To(
                        rsip::headers::To::new([value, ";tag=", tag].concat()),
                    )),
                    _ => headers.push(header.clone()),
                }
            }
            _ => {}
        }
    }
    Response {
        status_code,
        version: rsip::Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}

/// Room for the header list of a response made by [`response_to`].
const RESPONSE_HEADERS: usize = 10;

/// RFC 3261 §12.1.1: a UAS copies the request's Record-Route headers, in
/// order, into every response that makes a dialog (1xx with a tag, 2xx).
pub fn copy_record_route(request: &Request, response: &mut Response) {
    for header in request.headers.iter() {
        if let Header::RecordRoute(_) = header {
            response.headers.push(header.clone());
        }
    }
}

/// The URI of a From, To, Contact or Route value (RFC 3261 §20.10;
/// `<sip:a@b;lr>;x=y` gives `sip:a@b;lr`), without parsing the display
/// name or the header parameters: what is between `<` and `>` (after a
/// display name, which may be a quoted string holding either), or without
/// brackets everything before the first `;` or `,` (a URI with a `;`, `,`
/// or `?` must be in brackets). `None` if that is not a URI.
pub fn address_uri(value: &str) -> Option<rsip::Uri> {
    let (uri, _) = message::split_address(value)?;
    rsip::Uri::try_from(uri).ok()
}

/// The address of a From, To or Contact value: `"Amy" <sip:amy@example.com:5060;transport=tcp>;tag=1`
/// gives `sip:amy@example.com`, the form users and buddy lists are keyed by.
pub fn address_of(value: &str) -> Option<String> {
    let uri = address_uri(value)?;
    let host = uri.host().to_string().to_ascii_lowercase();
    Some(match uri.user() {
        Some(user) => format!("sip:{user}@{host}"),
        None => format!("sip:{host}"),
    })
}

/// True if a From or To header value carries a `tag` parameter outside its
/// `<...>` URI.
pub fn to_has_tag(value: &str) -> bool {
    tag_of(value).is_some()
}

/// The `tag` parameter of a From or To header value.
pub fn tag_of(value: &str) -> Option<&str> {
    // The header's own parameters, not the URI's (RFC 3261 §20.10), as the
    // message layer's one name-addr reader finds them.
    let (_, params) = message::split_address(value)?;
    params
        .split(';')
        .filter_map(|param| param.trim().split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("tag"))
        .map(|(_, tag)| tag.trim())
        .filter(|tag| !tag.is_empty())
}

/// Bytes as lower-case hex digits, two per byte: tokens, tags and nonces
/// made from hashes.
pub fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Random identifiers for branches, tags and Call-IDs, from a seeded RNG so
/// that a core's output is repeatable in tests.
#[derive(Debug)]
pub struct Identifiers {
    rng: StdRng,
}

impl Identifiers {
    pub fn from_seed(seed: u64) -> Self {
        Identifiers {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn token(&mut self, len: usize) -> String {
        let mut token = String::with_capacity(len);
        self.push_token(&mut token, len);
        token
    }

    fn push_token(&mut self, out: &mut String, len: usize) {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        out.extend((0..len).map(|_| {
            let index = self.rng.random_range(0..ALPHABET.len());
            char::from(ALPHABET.get(index).copied().unwrap_or(b'x'))
        }));
    }

    /// A Via branch with the RFC 3261 magic cookie.
    pub fn branch(&mut self) -> String {
        let mut branch = String::with_capacity(MAGIC_COOKIE.len() + 16);
        branch.push_str(MAGIC_COOKIE);
        self.push_token(&mut branch, 16);
        branch
    }

    /// A From/To tag (RFC 3261 §19.3: at least 32 bits of randomness).
    pub fn tag(&mut self) -> String {
        self.token(10)
    }

    /// A Call-ID unique across space and time (RFC 3261 §8.1.1.4).
    pub fn call_id(&mut self, host: &str) -> String {
        format!("{}@{host}", self.token(20))
    }

    /// An RFC 4122 version-4 UUID for `+sip.instance` (RFC 5626 §4.1).
    pub fn uuid(&mut self) -> String {
        let mut bytes: [u8; 16] = self.rng.random();
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = lower_hex(&bytes);
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// A secret for nonces and the like.
    pub fn secret(&mut self) -> [u8; 32] {
        self.rng.random()
    }

    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request::try_from(
            "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
             Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK1\r\n\
             Max-Forwards: 70\r\n\
             To: Bob <sip:bob@biloxi.example.com>\r\n\
             From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
             Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
             CSeq: 314159 INVITE\r\n\
             Content-Length: 0\r\n\r\n",
        )
        .unwrap()
    }

    #[test]
    fn a_response_copies_the_dialog_headers_and_adds_a_to_tag() {
        let response = response_to(&request(), status(486), Some("xyz"));
        let text = response.to_string();
        assert!(text.starts_with("SIP/2.0 486 Busy Here\r\n"), "{text}");
        let vias: Vec<&str> = text
            .lines()
            .filter(|line| line.starts_with("Via:"))
            .collect();
        assert_eq!(vias.len(), 2, "{text}");
        assert!(vias[0].contains("pc33"), "Via order kept: {text}");
        assert!(
            text.contains("To: Bob <sip:bob@biloxi.example.com>;tag=xyz"),
            "{text}"
        );
        assert!(!text.contains("Max-Forwards"), "{text}");
    }

    #[test]
    fn hex_is_two_lower_case_digits_per_byte() {
        assert_eq!(lower_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(lower_hex(&[]), "");
        let mut ids = Identifiers::from_seed(1);
        let branch = ids.branch();
        assert!(branch.starts_with(MAGIC_COOKIE), "{branch}");
        assert_eq!(branch.len(), MAGIC_COOKIE.len() + 16, "{branch}");
        assert!(
            branch[MAGIC_COOKIE.len()..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
    }

    #[test]
    fn trying_gets_no_tag_and_an_existing_tag_is_kept() {
        let text = response_to(&request(), status(100), Some("xyz")).to_string();
        assert!(!text.contains("tag=xyz"), "{text}");
        assert_eq!(tag_of("<sip:a@b;tag=no>;tag=yes"), Some("yes"));
        assert_eq!(tag_of("sip:a@b;tag=bare"), Some("bare"));
        assert_eq!(tag_of("<sip:a@b;tag=inside>"), None);
        assert_eq!(tag_of("sip:a@b;tag="), None);
    }

    #[test]
    fn the_uri_of_a_name_addr_is_read_past_quotes_and_before_params() {
        use rsip::headers::ToTypedHeader as _;

        let uri = |value: &str| address_uri(value).map(|uri| uri.to_string());
        for (value, expected) in [
            ("<sip:amy@confab.local>;tag=1", "sip:amy@confab.local"),
            (
                "\"Amy <Rivera>; \\\"A\\\"\" <sip:amy@confab.local;lr>;tag=1",
                "sip:amy@confab.local;lr",
            ),
            ("Amy Rivera <sip:amy@confab.local>", "sip:amy@confab.local"),
            ("sip:amy@confab.local;tag=1", "sip:amy@confab.local"),
        ] {
            assert_eq!(uri(value).as_deref(), Some(expected), "{value}");
            let typed = rsip::headers::From::new(value).typed();
            if let Ok(typed) = typed {
                assert_eq!(typed.uri.to_string(), expected, "as rsip reads {value}");
            }
        }
        for bad in ["", "\"Amy <sip:amy@x>", "<sip:amy@x", "<>;tag=1"] {
            assert_eq!(uri(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn addresses_drop_display_names_ports_and_parameters() {
        assert_eq!(
            address_of("\"Amy\" <sip:amy@Example.com:5060;transport=tcp>;tag=1").as_deref(),
            Some("sip:amy@example.com")
        );
        assert_eq!(
            address_of("sip:hao@confab.local;tag=9").as_deref(),
            Some("sip:hao@confab.local")
        );
        assert_eq!(
            address_of("<sip:confab.local>").as_deref(),
            Some("sip:confab.local")
        );
        assert_eq!(address_of("<>"), None);
    }

    #[test]
    fn a_confab_servers_run_is_read_from_its_server_header() {
        let mut response = response_to(&request(), status(200), Some("t"));
        assert_eq!(server_boot(&response), None);
        response
            .headers
            .push(Header::Server(rsip::headers::Server::new(
                "Kamailio (5.6.3)",
            )));
        assert_eq!(server_boot(&response), None);
        response
            .headers
            .retain(|header| !matches!(header, Header::Server(_)));
        response
            .headers
            .push(Header::Server(rsip::headers::Server::new(
                "confab/0.1.0 (boot 4kq9xz2)",
            )));
        assert_eq!(server_boot(&response), Some("4kq9xz2"));
    }

    #[test]
    fn identifiers_are_repeatable_from_a_seed_and_well_formed() {
        let mut a = Identifiers::from_seed(7);
        let mut b = Identifiers::from_seed(7);
        assert_eq!(a.branch(), b.branch());
        let branch = a.branch();
        assert!(branch.starts_with(MAGIC_COOKIE));
        let uuid = a.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'4', "version 4: {uuid}");
    }
}
