//! The auth-param lists of `WWW-Authenticate`, `Proxy-Authenticate`,
//! `Authorization` and `Proxy-Authorization` (RFC 3261 §25.1 `challenge`
//! and `credentials`; RFC 7235 §2.1 for quoting).
//!
//! One header holds one challenge or credentials: RFC 3261 §7.3.1 exempts
//! these four headers from comma-joining, so commas here only separate
//! parameters. Names are case-insensitive and may appear once each
//! (RFC 7235 §2.2); a repeated name is malformed rather than resolved, so
//! two readers can never disagree on which value counts.

use std::borrow::Cow;

use super::DigestError;
use crate::proto::message::is_token_char;

/// Room for the parameters of a usual credentials header (username,
/// realm, nonce, uri, response, algorithm, cnonce, qop, nc, opaque).
const USUAL_PARAMS: usize = 10;

/// The parameters of one Digest challenge or credentials, quoted values
/// unescaped. They borrow the header: a value is copied only when it
/// holds a quoted-pair (a server checks one per request under load).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DigestParams<'a> {
    params: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> DigestParams<'a> {
    /// Parses a header value. `Ok(None)` when the scheme is not Digest
    /// (Basic, Bearer, ...), which is not an error: such headers are
    /// somebody else's business.
    pub(super) fn parse(value: &'a str) -> Result<Option<DigestParams<'a>>, DigestError> {
        // Every delimiter here is ASCII, so positions found byte by byte
        // are character boundaries: a non-ASCII byte is never one of them.
        let value = value.trim_ascii_start();
        let scheme_end = value
            .bytes()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(value.len());
        let (scheme, mut rest) = value.split_at(scheme_end);
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Ok(None);
        }
        let mut params: Vec<(&str, Cow<'_, str>)> = Vec::with_capacity(USUAL_PARAMS);
        loop {
            // RFC 7230 §7: empty list elements are tolerated.
            rest = skip_while(rest, |b| b == b',' || b.is_ascii_whitespace());
            if rest.is_empty() {
                break;
            }
            let name_end = rest
                .bytes()
                .position(|b| !is_token_char(b))
                .unwrap_or(rest.len());
            if name_end == 0 {
                return Err(DigestError::Malformed("expected a parameter name"));
            }
            let (name, after_name) = rest.split_at(name_end);
            let Some(after_equals) = after_name.trim_ascii_start().strip_prefix('=') else {
                return Err(DigestError::Malformed(
                    "expected '=' after a parameter name",
                ));
            };
            let after_equals = after_equals.trim_ascii_start();
            let (value, after_value) = match after_equals.strip_prefix('"') {
                Some(quoted) => read_quoted(quoted)?,
                None => read_bare(after_equals)?,
            };
            if params
                .iter()
                .any(|(seen, _)| seen.eq_ignore_ascii_case(name))
            {
                return Err(DigestError::Malformed("a parameter appears twice"));
            }
            params.push((name, value));
            rest = after_value.trim_ascii_start();
            if !rest.is_empty() && !rest.starts_with(',') {
                return Err(DigestError::Malformed("expected ',' between parameters"));
            }
        }
        Ok(Some(DigestParams { params }))
    }

    /// The value of `name`, written in lower case; names match whatever
    /// their case.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_ref())
    }

    /// A parameter that must be present.
    pub(super) fn require(&self, name: &'static str) -> Result<&str, DigestError> {
        self.get(name)
            .ok_or(DigestError::Malformed("a required parameter is missing"))
    }
}

/// A quoted-string value (the opening quote already consumed): returns the
/// unescaped value and what follows the closing quote.
fn read_quoted(input: &str) -> Result<(Cow<'_, str>, &str), DigestError> {
    let unterminated = DigestError::Malformed("unterminated quoted string");
    let end = input
        .bytes()
        .position(|b| b == b'"' || b == b'\\')
        .ok_or_else(|| unterminated.clone())?;
    if input[end..].starts_with('"') {
        return Ok((Cow::Borrowed(&input[..end]), &input[end + 1..]));
    }
    // A quoted-pair (RFC 3261 §25.1): the value must be copied unescaped.
    let mut value = String::from(&input[..end]);
    let mut chars = input[end..].char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Ok((Cow::Owned(value), &input[end + index + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(unterminated)
}

/// An unquoted value: up to the next comma or whitespace. Lenient about
/// which characters it holds, since some servers send unquoted nonces with
/// base64 characters that are not token characters.
fn read_bare(input: &str) -> Result<(Cow<'_, str>, &str), DigestError> {
    let end = input
        .bytes()
        .position(|b| b == b',' || b == b'"' || b.is_ascii_whitespace())
        .unwrap_or(input.len());
    if end == 0 {
        return Err(DigestError::Malformed("a parameter has no value"));
    }
    let (value, rest) = input.split_at(end);
    Ok((Cow::Borrowed(value), rest))
}

/// `text` after its leading ASCII bytes that `skip` says to skip.
fn skip_while(text: &str, skip: impl Fn(u8) -> bool) -> &str {
    let start = text.bytes().position(|b| !skip(b)).unwrap_or(text.len());
    &text[start..]
}

/// A value as a quoted-string, escaping `"` and `\`.
pub(super) fn quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // unwrap is how a test fails
mod tests {
    use super::*;

    fn parse(value: &str) -> DigestParams<'_> {
        DigestParams::parse(value).unwrap().unwrap()
    }

    #[test]
    fn reads_quoted_and_bare_values_case_insensitive_names() {
        let p =
            parse("Digest Realm=\"a, b\",nonce=\"x=y\" , algorithm=SHA-256,qop=auth, nc=0000000a");
        assert_eq!(p.get("realm"), Some("a, b"));
        assert_eq!(p.get("nonce"), Some("x=y"));
        assert_eq!(p.get("algorithm"), Some("SHA-256"));
        assert_eq!(p.get("qop"), Some("auth"));
        assert_eq!(p.get("nc"), Some("0000000a"));
        assert_eq!(p.get("opaque"), None);
    }

    #[test]
    fn unescapes_quoted_pairs_and_round_trips_through_quote() {
        let tricky = r#"a "quoted" \ name"#;
        let header = format!("digest username={}, realm=\"r\"", quote(tricky));
        let p = parse(&header);
        assert_eq!(p.get("username"), Some(tricky));
    }

    #[test]
    fn other_schemes_are_not_ours() {
        assert_eq!(DigestParams::parse("Basic QWxhZGRpbjpvcGVu"), Ok(None));
        assert_eq!(DigestParams::parse(""), Ok(None));
        assert_eq!(DigestParams::parse("Digestive realm=\"x\""), Ok(None));
    }

    #[test]
    fn malformed_lists_are_errors() {
        for bad in [
            "Digest realm",
            "Digest realm=",
            "Digest realm=\"open",
            "Digest realm=\"a\" nonce=\"b\"",
            "Digest =x",
            "Digest realm=\"a\", REALM=\"b\"",
            "Digest realm=\"a\\",
            "Digest realm=a\"b\"",
        ] {
            assert!(DigestParams::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn empty_list_elements_are_tolerated() {
        let p = parse("Digest ,, realm=\"r\",,nonce=n,");
        assert_eq!(p.get("realm"), Some("r"));
        assert_eq!(p.get("nonce"), Some("n"));
    }
}
