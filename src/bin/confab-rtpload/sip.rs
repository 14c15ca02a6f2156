//! Joining confab's conference by SIP, as a phone would: the first user
//! creates an ad-hoc conference (C3P `addConference` to the focus factory,
//! PROTOCOLS.md section 2), then each participant sends a media INVITE to
//! the focus with an SDP offer made by confab's own offer code (Opus
//! 48000/2, telephone-event), answers the digest challenge as its user
//! (RFC 3261 §22; the directory's password is the user name), and ACKs the
//! answer. Leaving is a BYE in the dialog. One UDP socket carries every
//! participant's SIP; INVITEs go out a window at a time and are resent on
//! silence (RFC 3261 §17.1.1.2, loopback timings).

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use confab::proto::c3p::{self, C3pCommand, C3pRequest, ConferenceInfo};
use confab::proto::digest::DigestClient;
use confab::proto::message;
use confab::proto::sdp::{self, AudioCodec, Direction, LocalMedia};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rsip::headers::UntypedHeader as _;
use rsip::{Header, SipMessage};

/// INVITEs in flight at once.
const WINDOW: usize = 64;
/// Resend a request unanswered this long (doubling), give up after
/// [`GIVE_UP`].
const RESEND: Duration = Duration::from_millis(500);
const GIVE_UP: Duration = Duration::from_secs(32);

pub struct ConfabBridge {
    socket: UdpSocket,
    local: SocketAddr,
    server: SocketAddr,
    domain: String,
    focus: String,
    rng: StdRng,
    dialogs: HashMap<u64, Dialog>,
}

/// One participant's call to the focus.
struct Call {
    id: u64,
    user: String,
    call_id: String,
    from_tag: String,
    cseq: u32,
    digest: DigestClient,
    challenged: bool,
    offer: LocalMedia,
    request: String,
    sent: Instant,
    resend: Duration,
    started: Instant,
}

struct Dialog {
    user: String,
    call_id: String,
    from_tag: String,
    to_header: String,
    remote_target: String,
    route: Vec<String>,
    cseq: u32,
}

impl ConfabBridge {
    /// Creates a conference on `server` as `creator` (password = user
    /// name).
    pub fn connect(server: SocketAddr, domain: &str, creator: &str) -> Result<ConfabBridge> {
        let socket = UdpSocket::bind(SocketAddr::new(server.ip(), 0))?;
        socket.set_read_timeout(Some(Duration::from_millis(50)))?;
        let local = socket.local_addr()?;
        let mut bridge = ConfabBridge {
            socket,
            local,
            server,
            domain: domain.to_owned(),
            focus: String::new(),
            rng: StdRng::from_os_rng(),
            dialogs: HashMap::new(),
        };
        bridge.focus = bridge.create_conference(creator)?;
        Ok(bridge)
    }

    pub fn focus(&self) -> &str {
        &self.focus
    }

    fn create_conference(&mut self, user: &str) -> Result<String> {
        let factory = format!(
            "sip:{user}@{};gruu;opaque=app:conf:focusfactory",
            self.domain
        );
        let body = C3pRequest {
            request_id: 1,
            from: format!("sip:{user}@{}", self.domain),
            to: factory.clone(),
            command: C3pCommand::AddConference(ConferenceInfo {
                entity_views: vec!["chat".into(), "audio-video".into()],
                ..ConferenceInfo::default()
            }),
        }
        .to_xml();
        let call_id = self.token();
        let tag = self.token();
        let mut digest = DigestClient::new(user, user);
        let uri = rsip::Uri::try_from(factory.as_str())?;
        let mut auth = Vec::new();
        for cseq in 1..=2 {
            let request = format!(
                "SERVICE {factory} SIP/2.0\r\n{}Max-Forwards: 70\r\nFrom: <sip:{user}@{domain}>;tag={tag}\r\nTo: <{factory}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} SERVICE\r\nContact: <sip:{user}@{local}>\r\n{}Content-Type: application/cccp+xml\r\nContent-Length: {}\r\n\r\n{body}",
                self.via(),
                headers_text(&auth),
                body.len(),
                domain = self.domain,
                local = self.local,
            );
            let response = self.transact(&request, &call_id)?;
            match response.status_code.code() {
                401 | 407 if cseq == 1 => {
                    auth = digest.answer(&mut self.rng, &response, &rsip::Method::Service, &uri)?;
                }
                200..=299 => {
                    let c3p = c3p::parse_response(&response.body)?;
                    let C3pCommand::AddConference(info) = c3p.command else {
                        bail!("the focus factory answered another command");
                    };
                    if info.entity.is_empty() {
                        bail!("the focus factory named no focus: {:?}", c3p.reason);
                    }
                    return Ok(info.entity);
                }
                code => bail!("addConference answered {code}"),
            }
        }
        bail!("addConference was challenged twice")
    }

    /// Sends `request` until a final response with `call_id` comes back.
    fn transact(&mut self, request: &str, call_id: &str) -> Result<rsip::Response> {
        let started = Instant::now();
        let mut resend = RESEND;
        let mut sent = Instant::now();
        self.socket.send_to(request.as_bytes(), self.server)?;
        let mut buffer = vec![0u8; 65_535];
        while started.elapsed() < GIVE_UP {
            if sent.elapsed() >= resend {
                self.socket.send_to(request.as_bytes(), self.server)?;
                sent = Instant::now();
                resend *= 2;
            }
            let Some(message) = self.read(&mut buffer)? else {
                continue;
            };
            if let SipMessage::Response(response) = message {
                if field(&response.headers, Field::CallId) == Some(call_id)
                    && response.status_code.code() >= 200
                {
                    return Ok(response);
                }
            }
        }
        bail!("no answer from {} in {GIVE_UP:?}", self.server)
    }

    /// The next SIP message, if one came within the read timeout. Requests
    /// from the server (a BYE as it shuts down, OPTIONS) are answered 200
    /// here.
    fn read(&mut self, buffer: &mut [u8]) -> Result<Option<SipMessage>> {
        let len = match self.socket.recv_from(buffer) {
            Ok((len, _)) => len,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(error.into()),
        };
        let Ok(message) = message::parse(buffer.get(..len).unwrap_or_default()) else {
            return Ok(None);
        };
        if let SipMessage::Request(request) = &message {
            if request.method != rsip::Method::Ack {
                let ok = confab::proto::build::response_to(
                    request,
                    confab::proto::build::status(200),
                    None,
                );
                self.socket
                    .send_to(&message::to_bytes_response(&ok), self.server)?;
            }
            return Ok(None);
        }
        Ok(Some(message))
    }

    /// Joins one participant per `(id, user, rtp)`: its media INVITE is
    /// answered; returns the address of each one's leg on the MCU.
    pub fn join_many(&mut self, joins: &[(u64, String, SocketAddr)]) -> Result<Vec<SocketAddr>> {
        let mut answers: HashMap<u64, SocketAddr> = HashMap::new();
        let mut queue = joins.iter();
        let mut calls: HashMap<String, Call> = HashMap::new();
        let mut buffer = vec![0u8; 65_535];
        loop {
            while calls.len() < WINDOW {
                let Some((id, user, rtp)) = queue.next() else {
                    break;
                };
                let call = self.new_call(*id, user, *rtp)?;
                self.socket.send_to(call.request.as_bytes(), self.server)?;
                calls.insert(call.call_id.clone(), call);
            }
            if calls.is_empty() {
                break;
            }
            for call in calls.values_mut() {
                if call.started.elapsed() > GIVE_UP {
                    bail!("{}'s INVITE had no answer in {GIVE_UP:?}", call.user);
                }
                if call.sent.elapsed() >= call.resend {
                    self.socket.send_to(call.request.as_bytes(), self.server)?;
                    call.sent = Instant::now();
                    call.resend *= 2;
                }
            }
            let Some(SipMessage::Response(response)) = self.read(&mut buffer)? else {
                continue;
            };
            let Some(call_id) = field(&response.headers, Field::CallId).map(str::to_owned) else {
                continue;
            };
            let code = response.status_code.code();
            if code < 200 {
                continue;
            }
            if let Some(dialog) = self.dialog_by_call_id(&call_id) {
                // Our ACK was lost: the 200 comes again.
                let ack = self.ack_2xx(dialog);
                self.socket.send_to(ack.as_bytes(), self.server)?;
                continue;
            }
            let Some(mut call) = calls.remove(&call_id) else {
                continue;
            };
            let to = field(&response.headers, Field::To)
                .unwrap_or_default()
                .to_owned();
            let cseq = cseq_number(&response).unwrap_or(call.cseq);
            if cseq != call.cseq {
                // The answer to an INVITE before the one in flight (a
                // resend crossed our retry): ACKed, as its transaction
                // wants, and otherwise ignored.
                if code >= 300 {
                    let ack = self.ack_non_2xx(&call, &response, &to, cseq);
                    self.socket.send_to(ack.as_bytes(), self.server)?;
                }
                calls.insert(call_id, call);
                continue;
            }
            if (200..300).contains(&code) {
                let audio = sdp::negotiated_from_answer(
                    &call.offer,
                    std::str::from_utf8(&response.body).unwrap_or_default(),
                )
                .with_context(|| format!("{}'s SDP answer", call.user))?;
                let dialog = self.dialog_of(&call, &response, to);
                let ack = self.ack_2xx(&dialog);
                self.socket.send_to(ack.as_bytes(), self.server)?;
                self.dialogs.insert(call.id, dialog);
                answers.insert(call.id, audio.remote);
                continue;
            }
            // RFC 3261 §17.1.1.3: a final non-2xx is ACKed in its own
            // transaction.
            let ack = self.ack_non_2xx(&call, &response, &to, call.cseq);
            self.socket.send_to(ack.as_bytes(), self.server)?;
            if matches!(code, 401 | 407) && !call.challenged {
                let uri = rsip::Uri::try_from(self.focus.as_str())?;
                let auth =
                    call.digest
                        .answer(&mut self.rng, &response, &rsip::Method::Invite, &uri)?;
                call.challenged = true;
                call.cseq += 1;
                call.request = self.invite(&call, &auth);
                call.sent = Instant::now();
                call.resend = RESEND;
                self.socket.send_to(call.request.as_bytes(), self.server)?;
                calls.insert(call_id, call);
                continue;
            }
            bail!("{}'s INVITE answered {code}", call.user);
        }
        joins
            .iter()
            .map(|(id, user, _)| {
                answers
                    .get(id)
                    .copied()
                    .ok_or_else(|| anyhow!("{user} has no leg"))
            })
            .collect()
    }

    /// Hangs up each participant's call.
    pub fn leave_many(&mut self, ids: &[u64]) -> Result<()> {
        let mut pending: HashMap<String, (String, Instant, Duration)> = HashMap::new();
        let mut buffer = vec![0u8; 65_535];
        for id in ids {
            let Some(mut dialog) = self.dialogs.remove(id) else {
                continue;
            };
            dialog.cseq += 1;
            let request = format!(
                "BYE {} SIP/2.0\r\n{}Max-Forwards: 70\r\n{}From: <sip:{}@{}>;tag={}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} BYE\r\nContent-Length: 0\r\n\r\n",
                dialog.remote_target,
                self.via(),
                route_text(&dialog.route),
                dialog.user,
                self.domain,
                dialog.from_tag,
                dialog.to_header,
                dialog.call_id,
                dialog.cseq,
            );
            self.socket.send_to(request.as_bytes(), self.server)?;
            pending.insert(dialog.call_id, (request, Instant::now(), RESEND));
        }
        let started = Instant::now();
        while !pending.is_empty() && started.elapsed() < GIVE_UP {
            for (request, sent, resend) in pending.values_mut() {
                if sent.elapsed() >= *resend {
                    self.socket.send_to(request.as_bytes(), self.server)?;
                    *sent = Instant::now();
                    *resend *= 2;
                }
            }
            if let Some(SipMessage::Response(response)) = self.read(&mut buffer)? {
                if response.status_code.code() >= 200 {
                    if let Some(call_id) = field(&response.headers, Field::CallId) {
                        pending.remove(call_id);
                    }
                }
            }
        }
        if !pending.is_empty() {
            bail!("{} BYEs had no answer", pending.len());
        }
        Ok(())
    }

    fn new_call(&mut self, id: u64, user: &str, rtp: SocketAddr) -> Result<Call> {
        let offer = LocalMedia {
            ip: rtp.ip(),
            port: rtp.port(),
            codecs: vec![AudioCodec::Opus],
            direction: Direction::SendRecv,
            session_id: id,
            version: 1,
        };
        let mut call = Call {
            id,
            user: user.to_owned(),
            call_id: self.token(),
            from_tag: self.token(),
            cseq: 1,
            digest: DigestClient::new(user, user),
            challenged: false,
            offer,
            request: String::new(),
            sent: Instant::now(),
            resend: RESEND,
            started: Instant::now(),
        };
        call.request = self.invite(&call, &[]);
        Ok(call)
    }

    fn invite(&mut self, call: &Call, auth: &[Header]) -> String {
        let body = sdp::offer(&call.offer);
        format!(
            "INVITE {focus} SIP/2.0\r\n{}Max-Forwards: 70\r\nFrom: <sip:{user}@{domain}>;tag={tag}\r\nTo: <{focus}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INVITE\r\nContact: <sip:{user}@{local}>\r\n{}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            self.via(),
            headers_text(auth),
            body.len(),
            focus = self.focus,
            user = call.user,
            domain = self.domain,
            tag = call.from_tag,
            call_id = call.call_id,
            cseq = call.cseq,
            local = self.local,
        )
    }

    fn dialog_of(&self, call: &Call, response: &rsip::Response, to: String) -> Dialog {
        let contact = field(&response.headers, Field::Contact)
            .map(angle_uri)
            .unwrap_or_else(|| self.focus.clone());
        // RFC 3261 §12.1.2: the UAC's route set is the Record-Route in
        // reverse order.
        let mut route: Vec<String> = response
            .headers
            .iter()
            .filter_map(|header| match header {
                Header::RecordRoute(record) => Some(record.value().to_owned()),
                _ => None,
            })
            .flat_map(|value| {
                value
                    .split(',')
                    .map(|part| part.trim().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        route.reverse();
        Dialog {
            user: call.user.clone(),
            call_id: call.call_id.clone(),
            from_tag: call.from_tag.clone(),
            to_header: to,
            remote_target: contact,
            route,
            cseq: call.cseq,
        }
    }

    fn dialog_by_call_id(&self, call_id: &str) -> Option<&Dialog> {
        self.dialogs
            .values()
            .find(|dialog| dialog.call_id == call_id)
    }

    /// RFC 3261 §13.2.2.4: the ACK of a 2xx is a new transaction to the
    /// remote target, along the route set, with the INVITE's CSeq number.
    fn ack_2xx(&self, dialog: &Dialog) -> String {
        format!(
            "ACK {} SIP/2.0\r\n{}Max-Forwards: 70\r\n{}From: <sip:{}@{}>;tag={}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
            dialog.remote_target,
            self.via_with(&format!(
                "z9hG4bK{}",
                short_hash(&dialog.call_id, dialog.cseq)
            )),
            route_text(&dialog.route),
            dialog.user,
            self.domain,
            dialog.from_tag,
            dialog.to_header,
            dialog.call_id,
            dialog.cseq,
        )
    }

    /// RFC 3261 §17.1.1.3: the INVITE's branch (the response's Via) and
    /// Request-URI, the response's To.
    fn ack_non_2xx(&self, call: &Call, response: &rsip::Response, to: &str, cseq: u32) -> String {
        let branch = response
            .headers
            .iter()
            .find_map(|header| match header {
                Header::Via(via) => Some(via.value()),
                _ => None,
            })
            .and_then(|via| via.split_once(";branch="))
            .and_then(|(_, rest)| rest.split(';').next())
            .unwrap_or_default();
        format!(
            "ACK {focus} SIP/2.0\r\n{}Max-Forwards: 70\r\nFrom: <sip:{user}@{domain}>;tag={tag}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} ACK\r\nContent-Length: 0\r\n\r\n",
            self.via_with(branch),
            focus = self.focus,
            user = call.user,
            domain = self.domain,
            tag = call.from_tag,
            call_id = call.call_id,
        )
    }

    fn via(&mut self) -> String {
        let branch = format!("z9hG4bK{}", self.token());
        self.via_with(&branch)
    }

    fn via_with(&self, branch: &str) -> String {
        format!("Via: SIP/2.0/UDP {};branch={branch};rport\r\n", self.local)
    }

    fn token(&mut self) -> String {
        format!("{:016x}", self.rng.random::<u64>())
    }
}

/// The sequence number of a response's CSeq.
fn cseq_number(response: &rsip::Response) -> Option<u32> {
    field(&response.headers, Field::CSeq)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[derive(Clone, Copy)]
enum Field {
    CallId,
    CSeq,
    To,
    Contact,
}

/// The value of the first `field` header (rsip keeps these typed).
fn field(headers: &rsip::Headers, field: Field) -> Option<&str> {
    headers.iter().find_map(|header| match (field, header) {
        (Field::CallId, Header::CallId(value)) => Some(value.value()),
        (Field::CSeq, Header::CSeq(value)) => Some(value.value()),
        (Field::To, Header::To(value)) => Some(value.value()),
        (Field::Contact, Header::Contact(value)) => Some(value.value()),
        _ => None,
    })
}

fn headers_text(headers: &[Header]) -> String {
    headers
        .iter()
        .map(|header| format!("{header}\r\n"))
        .collect()
}

fn route_text(route: &[String]) -> String {
    route
        .iter()
        .map(|entry| format!("Route: {entry}\r\n"))
        .collect()
}

/// The URI of a name-addr (`"x" <sip:...>;p`), or the value itself.
fn angle_uri(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(open), Some(close)) if open < close => {
            value.get(open + 1..close).unwrap_or(value).to_owned()
        }
        _ => value.trim().to_owned(),
    }
}

/// A branch for an ACK of a 2xx that is the same if the ACK is resent.
fn short_hash(text: &str, number: u32) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes().chain(number.to_be_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x100_0000_01b3);
    }
    format!("{hash:016x}")
}
