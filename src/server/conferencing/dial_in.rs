//! Joining by phone (PROTOCOLS.md section 4 step 5, by number): a call to
//! the conferencing service's access number is answered into a lobby of
//! its own; the caller keys in a conference's code and `#` (RFC 4733
//! telephone-events, which the mixer's driver reports), and the leg moves
//! into that conference's mix as an attendee. `*` starts the code again;
//! three wrong codes and the call is ended.

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Request};

use super::mcu::{LegState, set_sdp, src_id};
use super::{ConferenceDialog, DialogKind};
use crate::proto::build::{self, status, status_with_reason};
use crate::proto::dialog::Dialog;
use crate::proto::sdp::NegotiatedAudio;
use crate::proto::transaction::TransactionKey;
use crate::proto::{IoRequest, Time};
use crate::server::{Server, gateway};

/// The longest code taken; keys past it are ignored.
const MAX_CODE_DIGITS: usize = 12;
/// Wrong codes before the call is ended.
const MAX_TRIES: u8 = 3;

impl Server {
    /// Whether a number is the conferencing service's access number.
    pub(in crate::server) fn is_access_number(&self, e164: &str) -> bool {
        self.conferencing.access_number.as_deref() == Some(e164)
    }

    /// An INVITE to the access number: a leg in the lobby. The caller is
    /// the authenticated user, else (a trunk's call) the number in From.
    pub(in crate::server) fn access_call(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
        user: Option<&str>,
    ) {
        if request.method != rsip::Method::Invite {
            return self.reply(now, &key, &request, status(405));
        }
        let caller = match user {
            Some(user) => self.aor_of_user(user),
            None => {
                let from = request
                    .headers
                    .iter()
                    .find_map(|header| match header {
                        Header::From(from) => build::address_of(from.value()),
                        _ => None,
                    })
                    .unwrap_or_default();
                match gateway::number_of_target(&from) {
                    Some(number) => format!("tel:{number}"),
                    None => from,
                }
            }
        };
        if caller.is_empty() {
            return self.reply(
                now,
                &key,
                &request,
                status_with_reason(403, "Who Is Calling"),
            );
        }
        tracing::info!(%caller, "a call to the conferencing access number");
        self.open_answering_leg(now, key, request, "", caller);
    }

    /// Answers a lobby leg: no one is heard until the code is keyed in.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn answer_lobby_leg(
        &mut self,
        now: Time,
        leg: u64,
        key: TransactionKey,
        invite: Request,
        dialog: Dialog,
        tag: &str,
        sdp: String,
        audio: NegotiatedAudio,
    ) {
        let Some(entry) = self.conferencing.legs.get_mut(&leg) else {
            return;
        };
        entry.state = LegState::Lobby {
            digits: String::new(),
            tries: 0,
        };
        let user = entry.user.clone();
        self.conferencing.dialogs.insert(
            dialog.id().clone(),
            ConferenceDialog {
                conference: String::new(),
                user,
                kind: DialogKind::Audio { leg },
                dialog,
            },
        );
        let mut ok = build::response_to(&invite, status(200), Some(tag));
        ok.headers
            .push(Header::Contact(rsip::headers::Contact::new(format!(
                "<sip:conferencing@{}>",
                self.domain
            ))));
        let record_route = self.record_route(&invite);
        ok.headers
            .push(Header::RecordRoute(rsip::headers::RecordRoute::new(
                record_route,
            )));
        set_sdp(&mut ok.headers, &mut ok.body, sdp);
        self.send_response(now, &key, ok);
        self.conferencing
            .io_requests
            .push_back(IoRequest::McuStartLeg { leg, audio });
    }

    /// A key the caller of a leg pressed: in the lobby, part of a code.
    pub(super) fn leg_dtmf(&mut self, now: Time, leg: u64, digit: char) {
        let Some(entry) = self.conferencing.legs.get_mut(&leg) else {
            return;
        };
        let LegState::Lobby { digits, tries } = &mut entry.state else {
            return;
        };
        match digit {
            '*' => digits.clear(),
            '#' => {
                let code = std::mem::take(digits);
                *tries += 1;
                let tries = *tries;
                self.enter_code(now, leg, &code, tries);
            }
            '0'..='9' if digits.len() < MAX_CODE_DIGITS => digits.push(digit),
            _ => {}
        }
    }

    /// The caller keyed in `code` and `#`.
    fn enter_code(&mut self, now: Time, leg: u64, code: &str, tries: u8) {
        let Some(entry) = self.conferencing.legs.get(&leg) else {
            return;
        };
        let (user, endpoint) = (entry.user.clone(), entry.endpoint.clone());
        let conference_id = self
            .conferencing
            .factory
            .conference_by_code(code)
            .filter(|conference| {
                !conference.is_locked() || conference.roster().user(&user).is_some()
            })
            .map(|conference| conference.id().to_owned());
        let Some(conference_id) = conference_id else {
            tracing::info!(leg, %user, tries, "a dial-in code that opens no conference");
            if tries >= MAX_TRIES {
                self.hang_up_leg(now, leg);
            }
            return;
        };
        let joined = self
            .conferencing
            .factory
            .conference_mut(&conference_id)
            .map(|conference| conference.audio_joined(now, &user, &endpoint, Some(src_id(leg))));
        let Some(Ok(events)) = joined else {
            return self.hang_up_leg(now, leg);
        };
        if let Some(entry) = self.conferencing.legs.get_mut(&leg) {
            entry.conference = conference_id.clone();
            entry.state = LegState::Up;
        }
        for dialog in self.conferencing.dialogs.values_mut() {
            if dialog.kind == (DialogKind::Audio { leg }) {
                dialog.conference = conference_id.clone();
            }
        }
        tracing::info!(leg, %user, conference = %conference_id, "dialled in");
        self.conferencing
            .io_requests
            .push_back(IoRequest::McuMoveLeg {
                leg,
                conference: conference_id.clone(),
            });
        self.apply_roster_events(now, &conference_id, None, events);
    }

    /// BYE on a leg's call, and the leg closed.
    fn hang_up_leg(&mut self, now: Time, leg: u64) {
        self.bye_dialogs(now, |entry| entry.kind == (DialogKind::Audio { leg }));
        self.drop_leg(leg);
    }
}
