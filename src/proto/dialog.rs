//! RFC 3261 §12 dialogs: the state two user agents share between an INVITE
//! (or SUBSCRIBE) and its end, and the requests sent inside it.
//!
//! A [`Dialog`] is made by the UAC from a response with a To tag
//! ([`Dialog::from_uac`], §12.1.2) or by the UAS from the request
//! ([`Dialog::from_uas`], §12.1.1). It builds in-dialog requests with §12.2.1.1
//! loose or strict routing and a local CSeq that only goes up
//! ([`Dialog::build_request`]), the ACK for a 2xx (§13.2.2.4), and checks
//! incoming in-dialog requests (§12.2.2): CSeq order, and the remote target
//! of target-refresh requests.
//!
//! Invariants: the dialog ID never changes; the route set is fixed once the
//! dialog is confirmed (§12.2.1.2: target refreshes change only the remote
//! target); the local CSeq of successive requests strictly increases;
//! `secure` is always false, as confab offers no TLS (no `sips:`).

use rsip::headers::{self, ToTypedHeader, UntypedHeader};
use rsip::prelude::*;
use rsip::{Header, Method, Param, Request, Response, Uri, UriWithParams};

#[cfg(test)]
mod tests;

/// §12: Call-ID, local tag and remote tag identify a dialog. A peer that
/// sends no tag (RFC 2543) has the empty tag (§12.1.1, §12.1.2: "null").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

/// §12: early (after a provisional response) or confirmed (after a 2xx).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogState {
    Early,
    Confirmed,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("malformed {0} header")]
    MalformedHeader(&'static str),
    #[error("no tag in the {0} header")]
    MissingTag(&'static str),
    #[error("a {0} response does not create a dialog")]
    NotDialogCreating(u16),
    /// §12.2.2: the caller answers 500.
    #[error("CSeq {cseq} is lower than the last one seen ({remote}): out of order")]
    OutOfOrder { cseq: u32, remote: u32 },
    #[error("the message does not belong to this dialog")]
    NotInDialog,
}

/// Which side created the dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Uac,
    Uas,
}

/// The state of one dialog (§12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    id: DialogId,
    state: DialogState,
    side: Side,
    local_uri: Uri,
    remote_uri: Uri,
    /// The CSeq number of the last request this side sent; `None` until the
    /// UAS sends its first.
    local_seq: Option<u32>,
    /// The CSeq number of the last request the peer sent.
    remote_seq: Option<u32>,
    /// Route set in the order requests traverse it. Entries keep their
    /// parameters (`lr`) whether written inside or outside the angle
    /// brackets.
    route_set: Vec<UriWithParams>,
    remote_target: Uri,
    secure: bool,
}

impl Dialog {
    /// §12.1.2: the UAC's dialog, from its request and a response that
    /// creates one: a 101-199 with a To tag (early), or a 2xx (confirmed).
    /// The route set is the Record-Route of the response, reversed; the
    /// remote target its Contact.
    pub fn from_uac(request: &Request, response: &Response) -> Result<Dialog, DialogError> {
        let code = response.status_code.code();
        let state = match code {
            101..=199 => DialogState::Early,
            200..=299 => DialogState::Confirmed,
            _ => return Err(DialogError::NotDialogCreating(code)),
        };
        let from = typed_from(request)?;
        let to = typed_to(response)?;
        let local_tag = tag_of(&from.params).ok_or(DialogError::MissingTag("From"))?;
        let remote_tag = match (tag_of(&to.params), state) {
            (Some(tag), _) => tag,
            // A provisional without a tag makes no dialog.
            (None, DialogState::Early) => return Err(DialogError::MissingTag("To")),
            // §12.1.2: an RFC 2543 UAS sends a 2xx without tag: null tag.
            (None, DialogState::Confirmed) => String::new(),
        };
        let mut route_set = record_route(response)?;
        route_set.reverse();
        let remote_target = match (contact_uri(response)?, state) {
            (Some(uri), _) => uri,
            // Some UAs send 18x without Contact; the 2xx will bring it.
            (None, DialogState::Early) => request.uri.clone(),
            (None, DialogState::Confirmed) => return Err(DialogError::MissingHeader("Contact")),
        };
        Ok(Dialog {
            id: DialogId {
                call_id: call_id(request)?,
                local_tag,
                remote_tag,
            },
            state,
            side: Side::Uac,
            local_uri: from.uri,
            remote_uri: typed_to(request)?.uri,
            local_seq: Some(cseq(request)?.seq),
            remote_seq: None,
            route_set,
            remote_target,
            secure: false,
        })
    }

    /// §12.1.1: the UAS's dialog, from the dialog-creating request and the
    /// To tag the UAS puts in its response. The route set is the request's
    /// Record-Route in order; the remote target its Contact. The dialog is
    /// early until [`Self::confirm`], which the UAS calls as it sends a 2xx.
    pub fn from_uas(request: &Request, local_tag: &str) -> Result<Dialog, DialogError> {
        let from = typed_from(request)?;
        let to = typed_to(request)?;
        let remote_target = contact_uri(request)?.ok_or(DialogError::MissingHeader("Contact"))?;
        Ok(Dialog {
            id: DialogId {
                call_id: call_id(request)?,
                local_tag: local_tag.to_owned(),
                remote_tag: tag_of(&from.params).unwrap_or_default(),
            },
            state: DialogState::Early,
            side: Side::Uas,
            local_uri: to.uri,
            remote_uri: from.uri,
            local_seq: None,
            remote_seq: Some(cseq(request)?.seq),
            route_set: record_route(request)?,
            remote_target,
            secure: false,
        })
    }

    pub fn id(&self) -> &DialogId {
        &self.id
    }

    pub fn state(&self) -> DialogState {
        self.state
    }

    pub fn local_uri(&self) -> &Uri {
        &self.local_uri
    }

    pub fn remote_uri(&self) -> &Uri {
        &self.remote_uri
    }

    /// The CSeq number of the last request sent in this dialog.
    pub fn local_seq(&self) -> Option<u32> {
        self.local_seq
    }

    /// The CSeq number of the last request received in this dialog.
    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }

    pub fn route_set(&self) -> &[UriWithParams] {
        &self.route_set
    }

    /// Removes the leading routes `is_own` recognizes: a UA living inside
    /// a proxy that record-routed its own request would otherwise route
    /// its requests in the dialog through itself.
    pub fn drop_own_routes(&mut self, is_own: impl Fn(&Uri) -> bool) {
        let own = self
            .route_set
            .iter()
            .take_while(|route| is_own(&route.uri))
            .count();
        self.route_set.drain(..own);
    }

    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// The UAS sent its 2xx.
    pub fn confirm(&mut self) {
        self.state = DialogState::Confirmed;
    }

    /// §12.2.1.1: a new request in this dialog, with the next local CSeq
    /// number, `via` as its only Via (its branch is the caller's) and
    /// `contact` if the method needs one (target refreshes). The UAS's first
    /// request uses CSeq 1: numbering is per direction. The request has no
    /// body and `Content-Length: 0`; a caller adding a body replaces it.
    /// ACK and CANCEL do not come from here: see [`Self::build_ack`], and
    /// the transaction layer's `cancel`.
    pub fn build_request(
        &mut self,
        method: Method,
        via: headers::Via,
        contact: Option<headers::Contact>,
    ) -> Request {
        let seq = self.local_seq.map_or(1, |seq| seq.wrapping_add(1));
        self.local_seq = Some(seq);
        self.request(method, seq, via, contact)
    }

    /// §13.2.2.4: the ACK for a 2xx to the INVITE with CSeq `invite_cseq`:
    /// routed like any request of the dialog, with the INVITE's CSeq number
    /// and a branch of its own in `via`.
    pub fn build_ack(&self, invite_cseq: u32, via: headers::Via) -> Request {
        self.request(Method::Ack, invite_cseq, via, None)
    }

    /// Where an in-dialog request goes first (RFC 3263 resolves it): the
    /// first route, if any, else the remote target.
    pub fn next_hop(&self) -> Uri {
        match self.route_set.first() {
            Some(route) => route.uri.clone(),
            None => self.remote_target.clone(),
        }
    }

    /// §12.2.2: checks a request the peer sent in this dialog. An error
    /// [`DialogError::OutOfOrder`] means the caller answers 500. A target
    /// refresh with a Contact moves the remote target.
    pub fn handle_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if dialog_id_of_request(request, true).as_ref() != Some(&self.id) {
            return Err(DialogError::NotInDialog);
        }
        let seq = cseq(request)?.seq;
        // ACK and CANCEL carry the CSeq number of the request they belong to.
        let ordered = !matches!(request.method, Method::Ack | Method::Cancel);
        if ordered {
            if let Some(remote) = self.remote_seq.filter(|&remote| seq < remote) {
                return Err(DialogError::OutOfOrder { cseq: seq, remote });
            }
        }
        let target = if is_target_refresh(request.method) {
            contact_uri(request)?
        } else {
            None
        };
        if ordered {
            self.remote_seq = Some(seq);
        }
        if let Some(target) = target {
            self.remote_target = target;
        }
        Ok(())
    }

    /// A response to a request this side sent in the dialog (or the 2xx
    /// that confirms an early UAC dialog, §13.2.2.4, which also recomputes
    /// the route set). A 2xx to a target refresh with a Contact moves the
    /// remote target (§12.2.1.2).
    pub fn handle_response(&mut self, response: &Response) -> Result<(), DialogError> {
        let code = response.status_code.code();
        if !(200..=299).contains(&code) {
            return Ok(());
        }
        let matches = match dialog_id_of_response(response, true) {
            Some(id) => id == self.id,
            // §12.1.2: an RFC 2543 UAS sends no To tag; its dialog has the
            // null remote tag.
            None => self.id.remote_tag.is_empty() && call_id(response)? == self.id.call_id,
        };
        if !matches {
            return Err(DialogError::NotInDialog);
        }
        let confirms_early = self.state == DialogState::Early && self.side == Side::Uac;
        let method = cseq(response)?.method;
        let target = if is_target_refresh(method) {
            contact_uri(response)?
        } else {
            None
        };
        if confirms_early {
            let mut route_set = record_route(response)?;
            route_set.reverse();
            self.route_set = route_set;
            self.state = DialogState::Confirmed;
        }
        if let Some(target) = target {
            self.remote_target = target;
        }
        Ok(())
    }

    /// §12.2.1.1 routing, then the headers every in-dialog request has.
    fn request(
        &self,
        method: Method,
        seq: u32,
        via: headers::Via,
        contact: Option<headers::Contact>,
    ) -> Request {
        let (uri, routes) = self.request_uri_and_routes();
        let mut headers = rsip::Headers::default();
        headers.push(via.into());
        headers.push(headers::MaxForwards::from(70).into());
        for route in routes {
            headers.push(Header::Route(headers::Route::new(route.to_string())));
        }
        headers.push(Header::From(headers::From::new(name_addr(
            &self.local_uri,
            &self.id.local_tag,
        ))));
        headers.push(Header::To(headers::To::new(name_addr(
            &self.remote_uri,
            &self.id.remote_tag,
        ))));
        headers.push(Header::CallId(headers::CallId::new(
            self.id.call_id.clone(),
        )));
        headers.push(Header::CSeq(headers::CSeq::new(format!("{seq} {method}"))));
        if let Some(contact) = contact {
            headers.push(contact.into());
        }
        headers.push(headers::ContentLength::from(0).into());
        Request {
            method,
            uri,
            version: rsip::Version::V2,
            headers,
            body: Vec::new(),
        }
    }

    /// §12.2.1.1: with a loose first route (`lr`) the Request-URI is the
    /// remote target and the Route set goes as is; with a strict one the
    /// Request-URI is that route and the remote target goes last in Route.
    fn request_uri_and_routes(&self) -> (Uri, Vec<UriWithParams>) {
        match self.route_set.split_first() {
            None => (self.remote_target.clone(), Vec::new()),
            Some((first, _)) if is_loose(first) => {
                (self.remote_target.clone(), self.route_set.clone())
            }
            Some((first, rest)) => {
                // §19.1.1: `method` and headers are not allowed in a
                // Request-URI.
                let mut uri = first.uri.clone();
                uri.params
                    .retain(|param| !matches!(param, Param::Method(_)));
                uri.headers.clear();
                let mut routes = rest.to_vec();
                routes.push(UriWithParams {
                    uri: self.remote_target.clone(),
                    params: Vec::new(),
                });
                (uri, routes)
            }
        }
    }
}

/// The dialog a request belongs to, if it is in one (its To has a tag).
/// `as_uas`: this side received the request (local tag = To tag), rather
/// than sent it (local tag = From tag).
pub fn dialog_id_of_request(request: &Request, as_uas: bool) -> Option<DialogId> {
    message_dialog_id(request, as_uas)
}

/// The dialog a response belongs to, if its To has a tag. `as_uac`: this
/// side sent the request (local tag = From tag), rather than answers it.
pub fn dialog_id_of_response(response: &Response, as_uac: bool) -> Option<DialogId> {
    message_dialog_id(response, !as_uac)
}

/// `local_is_to`: the local tag is the To tag. The tags are read from the
/// header values, not from rsip's typed From and To (a URI parse each):
/// this runs for every in-dialog request a server routes.
fn message_dialog_id(message: &impl HeadersExt, local_is_to: bool) -> Option<DialogId> {
    let call_id = message.call_id_header().ok()?.value().to_owned();
    let to_tag = super::message::tag(message.to_header().ok()?)?;
    let from_tag = super::message::tag(message.from_header().ok()?).unwrap_or_default();
    let (local_tag, remote_tag) = if local_is_to {
        (to_tag, from_tag)
    } else {
        (from_tag, to_tag)
    };
    Some(DialogId {
        call_id,
        local_tag,
        remote_tag,
    })
}

/// Requests that may change the remote target: re-INVITE (§12.2),
/// UPDATE (RFC 3311), SUBSCRIBE and NOTIFY (RFC 6665 §4.1).
fn is_target_refresh(method: Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Subscribe | Method::Notify
    )
}

/// §16.12.1.1 loose routing: `lr` inside the URI or, as some write it, as
/// a parameter after the angle brackets; `lr=on` from older stacks too.
fn is_loose(route: &UriWithParams) -> bool {
    route
        .uri
        .params
        .iter()
        .chain(&route.params)
        .any(|param| match param {
            Param::Lr => true,
            Param::Other(name, _) => name.value().eq_ignore_ascii_case("lr"),
            _ => false,
        })
}

fn name_addr(uri: &Uri, tag: &str) -> String {
    if tag.is_empty() {
        format!("<{uri}>")
    } else {
        format!("<{uri}>;tag={tag}")
    }
}

fn tag_of(params: &[Param]) -> Option<String> {
    params.iter().find_map(|param| match param {
        Param::Tag(tag) => Some(tag.value().to_owned()),
        _ => None,
    })
}

fn call_id(message: &impl HeadersExt) -> Result<String, DialogError> {
    let call_id = message
        .call_id_header()
        .map_err(|_| DialogError::MissingHeader("Call-ID"))?;
    Ok(call_id.value().to_owned())
}

fn cseq(message: &impl HeadersExt) -> Result<rsip::typed::CSeq, DialogError> {
    message
        .cseq_header()
        .map_err(|_| DialogError::MissingHeader("CSeq"))?
        .typed()
        .map_err(|_| DialogError::MalformedHeader("CSeq"))
}

fn typed_from(message: &impl HeadersExt) -> Result<rsip::typed::From, DialogError> {
    message
        .from_header()
        .map_err(|_| DialogError::MissingHeader("From"))?
        .typed()
        .map_err(|_| DialogError::MalformedHeader("From"))
}

fn typed_to(message: &impl HeadersExt) -> Result<rsip::typed::To, DialogError> {
    message
        .to_header()
        .map_err(|_| DialogError::MissingHeader("To"))?
        .typed()
        .map_err(|_| DialogError::MalformedHeader("To"))
}

/// The URI of the (first) Contact, if there is one. Read by hand: rsip's
/// typed Contact refuses quoted parameter values, such as the RFC 5626 §4.1
/// `+sip.instance="<urn:uuid:...>"` that outbound-capable UAs send.
fn contact_uri(message: &impl HeadersExt) -> Result<Option<Uri>, DialogError> {
    let Ok(contact) = message.contact_header() else {
        return Ok(None);
    };
    super::build::address_uri(contact.value())
        .map(Some)
        .ok_or(DialogError::MalformedHeader("Contact"))
}

/// Every Record-Route entry, in message order: a header may list several.
fn record_route(message: &impl HeadersExt) -> Result<Vec<UriWithParams>, DialogError> {
    let mut routes = Vec::new();
    for header in message.headers().iter() {
        if let Header::RecordRoute(record_route) = header {
            let typed = record_route
                .typed()
                .map_err(|_| DialogError::MalformedHeader("Record-Route"))?;
            routes.extend_from_slice(typed.uris());
        }
    }
    Ok(routes)
}
