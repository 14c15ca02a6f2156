//! Where a request goes (RFC 3261 §16.4, §16.5): our own Route entry
//! removed (its token kept, for admission), then the next Route, the
//! server itself, a user of the domain, or a contact in a dialog we
//! record-routed.

use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt as _;
use rsip::{Header, Request};

use super::Server;
use super::policy::ROUTE_TOKEN_PARAM;
use super::sip::Target;
use crate::proto::address::uri_peer;
use crate::proto::build;

impl Server {
    pub(super) fn target_of(&self, request: &Request) -> Target {
        if let Some(next) = first_route(request) {
            return match uri_peer(&next) {
                Some(peer) => Target::NextHop(peer),
                None => Target::Elsewhere,
            };
        }
        let uri = &request.uri;
        if uri.user().is_none() && self.is_us(uri) {
            return Target::Server;
        }
        if let Some(aor) = self.aor_of_uri(uri) {
            return Target::User(aor);
        }
        if let Some(peer) = uri_peer(uri) {
            if peer.addr == self.local {
                return Target::Server;
            }
            // A contact URI: only in a dialog we record-routed.
            if is_in_dialog(request) {
                return Target::NextHop(peer);
            }
        }
        Target::Elsewhere
    }

    pub(super) fn is_us(&self, uri: &rsip::Uri) -> bool {
        // The port first: a URI with one (our own Record-Route's) is never
        // the bare domain, and its host need not be printed.
        if uri.port().is_none() && uri.host().to_string().eq_ignore_ascii_case(&self.domain) {
            return true;
        }
        uri_peer(uri).is_some_and(|peer| peer.addr == self.local)
    }

    /// RFC 3261 §16.4: if the top Route names us, remove it. Returns our
    /// route token when there was one.
    pub(super) fn strip_own_route(&self, request: &mut Request) -> Option<String> {
        // Most requests (REGISTER, a first INVITE or MESSAGE) have no Route:
        // leave their headers where they are.
        if !request
            .headers
            .iter()
            .any(|header| matches!(header, Header::Route(_)))
        {
            return None;
        }
        let mut token = None;
        let mut stripped = false;
        let mut headers = Vec::new();
        for header in std::mem::take(&mut request.headers) {
            if !stripped {
                if let Header::Route(route) = &header {
                    stripped = true;
                    if let Some(uri) = first_route_uri(route.value()) {
                        if self.is_us(&uri) {
                            token = Some(route_token(&uri).unwrap_or_default());
                            let rest = route_rest(route.value());
                            if !rest.is_empty() {
                                headers.push(Header::Route(rsip::headers::Route::new(rest)));
                            }
                            continue;
                        }
                    }
                }
            }
            headers.push(header);
        }
        request.headers = headers.into();
        token
    }
}

pub(super) fn first_route(request: &Request) -> Option<rsip::Uri> {
    request.headers.iter().find_map(|header| match header {
        Header::Route(route) => first_route_uri(route.value()),
        _ => None,
    })
}

/// The URI of the first entry of a Route or Record-Route value, which
/// may hold several comma-separated `<uri>;params` entries; the others
/// are not parsed.
fn first_route_uri(value: &str) -> Option<rsip::Uri> {
    let entry = *split_route_entries(value).first()?;
    let start = entry.find('<')?;
    let end = entry.get(start..)?.find('>')? + start;
    rsip::Uri::try_from(entry.get(start + 1..end)?).ok()
}

/// Everything after the first entry of a Route value.
fn route_rest(value: &str) -> String {
    split_route_entries(value)
        .into_iter()
        .skip(1)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits on commas outside `<...>` and quotes.
fn split_route_entries(value: &str) -> Vec<&str> {
    let mut entries = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0usize);
    for (index, character) in value.char_indices() {
        match character {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                entries.push(value.get(start..index).unwrap_or_default().trim());
                start = index + 1;
            }
            _ => {}
        }
    }
    entries.push(value.get(start..).unwrap_or_default().trim());
    entries.retain(|entry| !entry.is_empty());
    entries
}

pub(super) fn route_token(uri: &rsip::Uri) -> Option<String> {
    uri.params.iter().find_map(|param| match param {
        rsip::Param::Other(name, Some(value)) if name.value() == ROUTE_TOKEN_PARAM => {
            Some(value.value().to_owned())
        }
        _ => None,
    })
}

pub(super) fn is_in_dialog(request: &Request) -> bool {
    request
        .to_header()
        .is_ok_and(|to| build::to_has_tag(to.value()))
}
