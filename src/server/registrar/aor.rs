//! The address of record: the key of the location service.
//!
//! RFC 3261 §10.3 step 5: the registrar keys bindings by the To URI in
//! canonical form, without parameters and with escapes decoded. Invariant:
//! the domain is lowercase (host names are case-insensitive, §19.1.4) and the
//! user part is kept as is (user parts are case-sensitive).

use std::fmt;

use super::RegistrarError;
use super::contact::unescape;

/// An address of record, `sip:user@domain`.
///
/// `sips:` and `sip:` addresses of the same user name the same AOR, and a
/// port in the To URI is dropped: one user has one location entry. Display
/// prints `sip:user@domain` without re-escaping the user part, for logs and
/// keys; build a URI for the wire from [`Aor::user`] and [`Aor::domain`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aor {
    user: String,
    domain: String,
}

impl Aor {
    pub fn new(user: impl Into<String>, domain: &str) -> Aor {
        Aor {
            user: user.into(),
            domain: domain.to_ascii_lowercase(),
        }
    }

    /// The canonical AOR of a To URI (RFC 3261 §10.3 step 5).
    pub fn from_uri(uri: &rsip::Uri) -> Result<Aor, RegistrarError> {
        let not_an_aor = || RegistrarError::NotAnAor(uri.to_string());
        if !matches!(uri.scheme, Some(rsip::Scheme::Sip | rsip::Scheme::Sips)) {
            return Err(not_an_aor());
        }
        let user = uri
            .user()
            .filter(|user| !user.is_empty())
            .ok_or_else(not_an_aor)?;
        let aor = match uri.host() {
            rsip::Host::Domain(domain) => Aor::new(unescape(user), domain.value()),
            ip => Aor::new(unescape(user), &ip.to_string()),
        };
        Ok(aor)
    }

    /// The AOR of a plain `sip:user@host` or `sips:user@host`, with at
    /// most a port after it: the form of nearly every From and To. It is
    /// read here without a URI parser, which costs a proxy more than the
    /// rest of its identity check. Anything else, an escape, a parameter,
    /// an IPv6 host or an unusual character included, is `None`, left to
    /// [`Aor::from_uri`], which reads every URI ([`Aor::from_uri_text`]
    /// tries both). What this accepts, the two read alike (a test holds
    /// them to it).
    pub fn from_plain_uri(text: &str) -> Option<Aor> {
        let rest = text
            .strip_prefix("sip:")
            .or_else(|| text.strip_prefix("sips:"))?;
        let (user, host_port) = rest.split_once('@')?;
        let host = match host_port.split_once(':') {
            Some((host, port)) => {
                let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
                (digits && port.parse::<u16>().is_ok()).then_some(host)?
            }
            None => host_port,
        };
        let plain_user = user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b));
        let plain_host = host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        let labels = host.split('.').all(|label| !label.is_empty());
        (!user.is_empty() && plain_user && plain_host && labels).then(|| Aor::new(user, host))
    }

    /// The AOR of a URI written out, e.g. a resource name `sip:amy@example.com`:
    /// a plain one read directly, any other by the URI parser.
    pub fn from_uri_text(text: &str) -> Option<Aor> {
        Aor::from_plain_uri(text).or_else(|| Aor::from_uri(&rsip::Uri::try_from(text).ok()?).ok())
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }
}

impl fmt::Display for Aor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sip:{}@{}", self.user, self.domain)
    }
}
