//! The A/V MCU's legs on SIP (PROTOCOLS.md sections 2, 4 and 7): a media
//! INVITE to the MCU (or, from a plain phone, to the focus) is answered
//! once the driver has bound the leg's RTP ports; `dial_out` calls out. Each leg's audio is
//! the driver's mixer's business, asked for by [`IoRequest`]s; the roster
//! learns of it through the focus's `audio_joined` and `audio_left`, and
//! of how it fares through the MCU's quality reports.

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Request};

use super::{ConferenceDialog, DialogKind, content_type};
use crate::proto::build::{self, status, status_with_reason};
use crate::proto::conference_info::DisconnectionMethod;
use crate::proto::conference_uri::{ConferencePart, ConferenceUri};
use crate::proto::dialog::Dialog;
use crate::proto::sdp::{self, AudioCodec, Direction, LocalMedia, NegotiatedAudio};
use crate::proto::transaction::TransactionKey;
use crate::proto::{IoRequest, LegQuality, Peer, Time};
use crate::server::Server;
use crate::server::focus::roster_quality;

/// How long quality figures wait to be published with the rest of the
/// MCU's report (it reports every leg at once).
const QUALITY_PUBLISH_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// One participant's audio in a conference.
pub(in crate::server) struct Leg {
    pub(super) conference: String,
    /// The participant's address of record.
    pub(super) user: String,
    /// The roster's endpoint entity for this audio.
    pub(super) endpoint: String,
    pub(super) state: LegState,
    /// Our side of the SDP, once the ports are bound.
    pub(super) local: Option<LocalMedia>,
}

impl Leg {
    /// The conference, the user and the roster endpoint of this leg.
    pub(super) fn whose(&self) -> (String, String, String) {
        (
            self.conference.clone(),
            self.user.clone(),
            self.endpoint.clone(),
        )
    }

    /// When an unanswered dial-out of this leg is given up.
    pub(super) fn ring_until(&self) -> Option<Time> {
        match self.state {
            LegState::Dialing {
                ring_until,
                answered: false,
                ..
            } => Some(ring_until),
            _ => None,
        }
    }
}

pub(super) enum LegState {
    /// An incoming media INVITE waits for the leg's ports.
    Answering {
        key: TransactionKey,
        invite: Request,
    },
    /// A dial-out waits for the leg's ports.
    DialPending {
        target: String,
        referred_by: Option<String>,
        mcu_uri: String,
    },
    /// Answered at the access number: waiting for the caller to key in a
    /// conference's code and `#`.
    Lobby { digits: String, tries: u8 },
    /// Dial-out INVITEs are out, one per registered contact.
    Dialing {
        branches: Vec<(TransactionKey, Request)>,
        answered: bool,
        /// Unanswered by then, it is given up as not answered.
        ring_until: Time,
    },
    /// The call is up.
    Up,
}

impl Server {
    /// A media INVITE to the A/V MCU or the focus: the sender joins the
    /// audio (a plain SIP phone joins the conference with it).
    pub(super) fn media_invite(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
        _from: Peer,
        target: &ConferenceUri,
        user: &str,
    ) {
        let aor = self.aor_of_user(user);
        let Some(conference_id) = self.live_conference(now, &key, &request, target) else {
            return;
        };
        let Some(conference) = self.conferencing.factory.conference(&conference_id) else {
            return;
        };
        if conference.is_locked() && conference.roster().user(&aor).is_none() {
            return self.reply(
                now,
                &key,
                &request,
                status_with_reason(403, "Conference Locked"),
            );
        }
        self.open_answering_leg(now, key, request, &conference_id, aor);
    }

    /// Opens a leg for a media INVITE once its offer is one the mixer can
    /// take; it is answered when its ports are bound. An empty
    /// `conference_id` is the dial-in lobby: the leg is mixed with no one
    /// until its caller keys in a conference's code.
    pub(super) fn open_answering_leg(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
        conference_id: &str,
        user: String,
    ) {
        if request.body.is_empty() || content_type(&request).as_deref() != Some("application/sdp") {
            // RFC 3264 late offer is not taken: the mixer needs the codec
            // before it answers.
            return self.reply(
                now,
                &key,
                &request,
                status_with_reason(488, "Offer Required"),
            );
        }
        let leg = self.conferencing.next_leg;
        self.conferencing.next_leg += 1;
        let endpoint = contact_of(&request).unwrap_or_else(|| format!("{user};leg={leg}"));
        let mixer = if conference_id.is_empty() {
            format!("lobby-{leg}")
        } else {
            conference_id.to_owned()
        };
        self.conferencing.legs.insert(
            leg,
            Leg {
                conference: conference_id.to_owned(),
                user,
                endpoint,
                state: LegState::Answering {
                    key,
                    invite: request,
                },
                local: None,
            },
        );
        self.conferencing
            .io_requests
            .push_back(IoRequest::McuOpenLeg {
                conference: mixer,
                leg,
            });
    }

    /// The leg's ports are bound: answer its INVITE or dial out.
    pub(super) fn leg_ready(&mut self, now: Time, leg: u64, port: u16) {
        let local = LocalMedia {
            ip: self.local.ip(),
            port,
            codecs: vec![AudioCodec::Opus, AudioCodec::Pcmu],
            direction: Direction::SendRecv,
            session_id: leg,
            version: 1,
        };
        let Some(entry) = self.conferencing.legs.get_mut(&leg) else {
            // Gone while its ports were bound.
            self.conferencing
                .io_requests
                .push_back(IoRequest::McuCloseLeg { leg });
            return;
        };
        entry.local = Some(local.clone());
        match std::mem::replace(&mut entry.state, LegState::Up) {
            LegState::Answering { key, invite } => self.answer_leg(now, leg, key, invite, &local),
            LegState::DialPending {
                target,
                referred_by,
                mcu_uri,
            } => self.dial(now, leg, &target, referred_by.as_deref(), &mcu_uri, &local),
            other => {
                if let Some(entry) = self.conferencing.legs.get_mut(&leg) {
                    entry.state = other;
                }
            }
        }
    }

    /// The caller CANCELled a media INVITE still waiting for its ports:
    /// 487, and the leg is dropped. True if it was one.
    pub(in crate::server) fn conference_cancelled(
        &mut self,
        now: Time,
        invite_key: &TransactionKey,
    ) -> bool {
        let leg = self
            .conferencing
            .legs
            .iter()
            .find_map(|(id, leg)| match &leg.state {
                LegState::Answering { key, .. } if key == invite_key => Some(*id),
                _ => None,
            });
        let Some(leg) = leg else {
            return false;
        };
        if let Some(Leg {
            state: LegState::Answering { key, invite },
            ..
        }) = self.conferencing.legs.remove(&leg)
        {
            self.reply(now, &key, &invite, status(487));
        }
        self.conferencing
            .io_requests
            .push_back(IoRequest::McuCloseLeg { leg });
        true
    }

    /// No ports for the leg: it fails.
    pub(super) fn leg_failed(&mut self, now: Time, leg: u64) {
        let Some(entry) = self.conferencing.legs.remove(&leg) else {
            return;
        };
        match entry.state {
            LegState::Answering { key, invite } => self.reply(
                now,
                &key,
                &invite,
                status_with_reason(503, "No Media Ports"),
            ),
            _ => self.audio_over(
                now,
                &entry.conference,
                &entry.user,
                DisconnectionMethod::Failed,
            ),
        }
    }

    fn answer_leg(
        &mut self,
        now: Time,
        leg: u64,
        key: TransactionKey,
        invite: Request,
        local: &LocalMedia,
    ) {
        let offer = String::from_utf8_lossy(&invite.body).into_owned();
        let outcome = match sdp::answer(&offer, local) {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::info!(%error, "a conference media offer we cannot read");
                self.drop_leg(leg);
                let code = status(error.status_code());
                return self.reply(now, &key, &invite, code);
            }
        };
        let Some(audio) = outcome.negotiated else {
            self.drop_leg(leg);
            return self.reply(now, &key, &invite, status(488));
        };
        let tag = self.ids.tag();
        let dialog = match Dialog::from_uas(&invite, &tag) {
            Ok(dialog) => dialog,
            Err(error) => {
                tracing::info!(%error, "a media INVITE that makes no dialog");
                self.drop_leg(leg);
                return self.reply(now, &key, &invite, status(400));
            }
        };
        let Some(entry) = self.conferencing.legs.get(&leg) else {
            return;
        };
        let (conference_id, user, endpoint) = entry.whose();
        if conference_id.is_empty() {
            return self.answer_lobby_leg(now, leg, key, invite, dialog, &tag, outcome.sdp, audio);
        }
        let joined = self
            .conferencing
            .factory
            .conference_mut(&conference_id)
            .map(|conference| conference.audio_joined(now, &user, &endpoint, Some(src_id(leg))));
        let events = match joined {
            Some(Ok(events)) => events,
            Some(Err(error)) => {
                tracing::info!(%error, %user, "conference audio refused");
                self.drop_leg(leg);
                return self.reply(now, &key, &invite, status(403));
            }
            None => {
                self.drop_leg(leg);
                return self.reply(now, &key, &invite, status(404));
            }
        };
        self.conferencing.dialogs.insert(
            dialog.id().clone(),
            ConferenceDialog {
                conference: conference_id.clone(),
                user: user.clone(),
                kind: DialogKind::Audio { leg },
                dialog,
            },
        );
        let mut ok = build::response_to(&invite, status(200), Some(&tag));
        self.add_contact(&mut ok, &conference_id, ConferencePart::AudioVideo);
        let record_route = self.record_route(&invite);
        ok.headers
            .push(Header::RecordRoute(rsip::headers::RecordRoute::new(
                record_route,
            )));
        set_sdp(&mut ok.headers, &mut ok.body, outcome.sdp);
        tracing::info!(%user, conference = %conference_id, leg, codec = ?audio.codec, "joined the audio");
        self.send_response(now, &key, ok);
        self.start_leg(leg, audio);
        self.apply_roster_events(now, &conference_id, None, events);
    }

    /// A re-INVITE on a leg (hold, resume, a new address): answered with
    /// the same ports, the mixer told what changed.
    pub(super) fn leg_reinvite(
        &mut self,
        now: Time,
        key: TransactionKey,
        request: Request,
        leg: u64,
    ) {
        let Some(local) = self
            .conferencing
            .legs
            .get_mut(&leg)
            .and_then(|entry| entry.local.as_mut())
        else {
            return self.reply(now, &key, &request, status(500));
        };
        local.next_version();
        let local = local.clone();
        let offer = String::from_utf8_lossy(&request.body).into_owned();
        match sdp::answer(&offer, &local) {
            Ok(outcome) => {
                let mut ok = build::response_to(&request, status(200), None);
                if let Some(entry) = self.conferencing.legs.get(&leg) {
                    let conference = entry.conference.clone();
                    self.add_contact(&mut ok, &conference, ConferencePart::AudioVideo);
                }
                set_sdp(&mut ok.headers, &mut ok.body, outcome.sdp);
                self.send_response(now, &key, ok);
                if let Some(audio) = outcome.negotiated {
                    self.start_leg(leg, audio);
                }
            }
            Err(error) => {
                tracing::info!(%error, "a leg's re-INVITE we cannot answer");
                self.reply(now, &key, &request, status(error.status_code()));
            }
        }
    }

    /// A dial-out that came to nothing: the leg is gone, and the roster
    /// shows why.
    pub(super) fn dial_out_failed(
        &mut self,
        now: Time,
        leg: u64,
        method: DisconnectionMethod,
        reason: &str,
    ) {
        let Some(entry) = self.conferencing.legs.remove(&leg) else {
            return;
        };
        tracing::info!(leg, user = %entry.user, reason, "dial-out failed");
        self.conferencing
            .io_requests
            .push_back(IoRequest::McuCloseLeg { leg });
        let failed = self
            .conferencing
            .factory
            .conference_mut(&entry.conference)
            .map(|conference| conference.dial_out_failed(now, &entry.user, method, reason));
        match failed {
            Some(Ok(events)) => self.apply_roster_events(now, &entry.conference, None, events),
            Some(Err(error)) => tracing::debug!(%error, "dial-out failed"),
            None => {}
        }
    }

    /// The participant hung up the leg (or it failed): the roster learns.
    pub(super) fn leg_ended(&mut self, now: Time, leg: u64, method: DisconnectionMethod) {
        let Some(entry) = self.conferencing.legs.remove(&leg) else {
            return;
        };
        self.conferencing
            .io_requests
            .push_back(IoRequest::McuCloseLeg { leg });
        self.audio_over(now, &entry.conference, &entry.user, method);
    }

    /// Closes the legs `which` picks: their ports freed, ringing branches
    /// cancelled, waiting INVITEs refused. Their dialogs are the caller's.
    pub(super) fn close_legs(&mut self, now: Time, which: impl Fn(&Leg) -> bool) {
        let legs: Vec<u64> = self
            .conferencing
            .legs
            .iter()
            .filter(|(_, leg)| which(leg))
            .map(|(id, _)| *id)
            .collect();
        for leg in legs {
            let Some(entry) = self.conferencing.legs.remove(&leg) else {
                continue;
            };
            self.conferencing
                .io_requests
                .push_back(IoRequest::McuCloseLeg { leg });
            match entry.state {
                LegState::Answering { key, invite } => self.reply(now, &key, &invite, status(480)),
                LegState::Dialing { branches, .. } => {
                    for (key, _) in branches {
                        if let Err(error) = self.transactions.cancel(now, &key) {
                            tracing::debug!(%error, "cancel of a dial-out branch");
                        }
                    }
                }
                LegState::DialPending { .. } | LegState::Lobby { .. } | LegState::Up => {}
            }
        }
    }

    /// The MCU's figures for a leg: into its user's audio medium in the
    /// roster, published when one moved noticeably (a lobby leg is in no
    /// roster yet).
    pub(super) fn leg_quality(&mut self, now: Time, leg: u64, quality: &LegQuality) {
        let Some(entry) = self.conferencing.legs.get(&leg) else {
            return;
        };
        let (conference_id, user, endpoint) = entry.whose();
        let changed = self
            .conferencing
            .factory
            .conference_mut(&conference_id)
            .is_some_and(|conference| {
                conference.set_audio_quality(&user, &endpoint, roster_quality(quality))
            });
        if !changed {
            return;
        }
        tracing::debug!(leg, %user, ?quality, "call quality moved");
        // Published a moment later, with every other leg's figures of the
        // same report: one roster change, not one per leg.
        let conferencing = &mut self.conferencing;
        if !conferencing.quality_changed.contains(&conference_id) {
            conferencing.quality_changed.push(conference_id);
        }
        conferencing
            .quality_publish
            .get_or_insert(now + QUALITY_PUBLISH_DELAY);
    }

    /// Publishes the rosters whose quality figures changed, once their
    /// moment has come.
    pub(super) fn publish_quality(&mut self, now: Time) {
        if self
            .conferencing
            .quality_publish
            .is_none_or(|due| due > now)
        {
            return;
        }
        self.conferencing.quality_publish = None;
        for conference_id in std::mem::take(&mut self.conferencing.quality_changed) {
            self.apply_roster_events(now, &conference_id, None, Vec::new());
        }
    }

    pub(super) fn start_leg(&mut self, leg: u64, audio: NegotiatedAudio) {
        self.conferencing
            .io_requests
            .push_back(IoRequest::McuStartLeg { leg, audio });
    }

    /// Forgets a leg that never got going, and frees its ports.
    pub(super) fn drop_leg(&mut self, leg: u64) {
        self.conferencing.legs.remove(&leg);
        self.conferencing
            .io_requests
            .push_back(IoRequest::McuCloseLeg { leg });
    }

    /// A user's audio ended: the roster learns, and a user with nothing
    /// else in the conference (a phone) leaves it.
    fn audio_over(
        &mut self,
        now: Time,
        conference_id: &str,
        user: &str,
        method: DisconnectionMethod,
    ) {
        let left = self
            .conferencing
            .factory
            .conference_mut(conference_id)
            .map(|conference| conference.audio_left(now, user, method));
        match left {
            Some(Ok(events)) => self.apply_roster_events(now, conference_id, None, events),
            Some(Err(error)) => tracing::debug!(%error, "audio left"),
            None => {}
        }
    }
}

/// The CSRC that marks a leg's voice in the mix (see `IoRequest::McuStartLeg`).
pub(super) fn src_id(leg: u64) -> u32 {
    leg as u32
}

/// The Contact URI of a request, as text.
fn contact_of(request: &Request) -> Option<String> {
    request.headers.iter().find_map(|header| match header {
        Header::Contact(contact) => build::address_of(contact.value()),
        _ => None,
    })
}

pub(super) fn set_sdp(headers: &mut rsip::Headers, body: &mut Vec<u8>, sdp: String) {
    headers.push(Header::ContentType(rsip::headers::ContentType::new(
        "application/sdp",
    )));
    *body = sdp.into_bytes();
}
