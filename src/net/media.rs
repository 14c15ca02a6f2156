//! The media task: the RTP socket of a client, the 20 ms tick, and the
//! audio ends (a sound card, a WAV file, a tone). It runs the sans-IO
//! [`MediaSession`] of the current call as the client core asks through
//! [`IoRequest`]s, and publishes the input and output levels for meters,
//! with the contributing sources of a conference mix.
//!
//! Between calls it ticks only for a sound card, pulling the input and
//! pushing silence so that the device's buffers never overflow; with
//! other ends (a tone, a file, silence) an idle client does not wake.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rand::Rng;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::media::contributors::Contributors;
use crate::media::session::{MediaSession, MediaStats};
use crate::media::source::{AudioEvent, FrameSink, FrameSource, Level};
use crate::media::{FRAME_MS, Frame, SILENCE};
use crate::proto::rtp::{NtpTime, rtcp_interval};
use crate::proto::{IoRequest, Time};

/// The RTP and RTCP sockets of one client: an even port and the next one
/// (RFC 3550 §11).
pub struct MediaSockets {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

impl MediaSockets {
    pub async fn bind(ip: IpAddr) -> io::Result<MediaSockets> {
        for _ in 0..64 {
            let rtp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
            let port = rtp.local_addr()?.port();
            if port % 2 != 0 || port == u16::MAX {
                continue;
            }
            if let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(ip, port + 1)).await {
                return Ok(MediaSockets { rtp, rtcp });
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "no free even/odd port pair for RTP",
        ))
    }

    pub fn rtp_port(&self) -> io::Result<u16> {
        Ok(self.rtp.local_addr()?.port())
    }

    pub(crate) fn rtp(&self) -> &UdpSocket {
        &self.rtp
    }

    pub(crate) fn rtcp(&self) -> &UdpSocket {
        &self.rtcp
    }
}

/// Where a call's audio comes from and goes to.
pub struct AudioEnds {
    pub input: Box<dyn FrameSource + Send>,
    pub output: Box<dyn FrameSink + Send>,
}

/// The levels of the last frames in and out, for the UI's meters, the
/// call's statistics (loss, jitter, round trip) for its diagnostics, and
/// who speaks in a conference's mix (its CSRCs, RFC 3550 §5.1).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Levels {
    pub input: Level,
    pub output: Level,
    pub call: Option<MediaStats>,
    pub speaking: Contributors,
}

/// Options of the media task.
#[derive(Debug, Clone, Default)]
pub struct MediaOptions {
    /// Drop this share of incoming RTP (0.0 to 1.0), to try a call under
    /// loss (`--rtp-loss`).
    pub incoming_loss: f64,
    /// Seeds the choice of packets dropped; a fresh one each run if None.
    pub loss_seed: Option<u64>,
    /// Where device changes are told (a lost microphone, a fallback).
    pub device_events: Option<mpsc::UnboundedSender<AudioEvent>>,
}

/// Runs until the request channel closes (the client core is gone).
pub async fn run_media(
    sockets: MediaSockets,
    mut requests: mpsc::UnboundedReceiver<IoRequest>,
    mut ends: AudioEnds,
    levels: watch::Sender<Levels>,
    options: MediaOptions,
) {
    let epoch = Instant::now();
    let now = || Time::from_epoch(epoch.elapsed());
    let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS.into()));
    // A late tick is made up at once: with a tone or a WAV file nothing
    // else keeps time, and a schedule that slipped for good would starve
    // the other side's jitter buffer.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut session: Option<(u64, MediaSession)> = None;
    let mut muted = false;
    let mut microphone: Frame = SILENCE;
    let mut speaker: Frame = SILENCE;
    let mut datagram = vec![0u8; 2048];
    let mut rtcp = vec![0u8; 2048];
    // RFC 3550 §6.3: reports every few seconds, the first one sooner
    // (from the start of each call).
    let mut next_report = Instant::now();
    let seed = options.loss_seed.unwrap_or_else(rand::random);
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut ticking = false;
    let mut in_call = false;
    // Fixed for an end's life: whether a device clock runs it.
    let device_clocked =
        ends.input.needs_ticks_between_calls() || ends.output.needs_ticks_between_calls();
    loop {
        if session.is_some() != in_call {
            in_call = session.is_some();
            if in_call {
                next_report = Instant::now() + rtcp_interval(true, &mut rand::rng());
            }
        }
        let wanted = in_call || device_clocked;
        if wanted != ticking {
            ticking = wanted;
            if ticking {
                // A pause is not made up for with a burst of ticks.
                tick.reset_immediately();
            } else {
                // The meters fall silent rather than hold the call's last.
                levels.send_replace(Levels::default());
            }
        }
        tokio::select! {
            request = requests.recv() => match request {
                Some(request) => handle_request(now(), request, &mut session, &mut muted),
                None => break,
            },
            received = sockets.rtp.recv_from(&mut datagram) => {
                let Ok((len, from)) = received else { continue };
                let Some((_, current)) = session.as_mut() else { continue };
                // Symmetric RTP: only the negotiated host's packets count.
                if from.ip() != current.remote().ip() {
                    continue;
                }
                if options.incoming_loss > 0.0 && rng.random_bool(options.incoming_loss.min(1.0)) {
                    continue;
                }
                current.handle_packet(now(), datagram.get(..len).unwrap_or_default());
            }
            received = sockets.rtcp.recv_from(&mut rtcp) => {
                let Ok((len, from)) = received else { continue };
                let Some((_, current)) = session.as_mut() else { continue };
                if from.ip() == current.remote().ip() {
                    current.handle_rtcp(now(), wall_clock(), rtcp.get(..len).unwrap_or_default());
                }
            }
            () = tokio::time::sleep_until(next_report), if in_call => {
                next_report = Instant::now() + rtcp_interval(false, &mut rand::rng());
                if let Some((_, current)) = session.as_mut() {
                    if let Some((to, report)) = current.rtcp_report(now(), wall_clock()) {
                        if let Err(error) = sockets.rtcp.send_to(&report, to).await {
                            tracing::debug!(%error, %to, "rtcp send");
                        }
                    }
                }
            }
            _ = tick.tick(), if ticking => {
                ends.input.next_frame(&mut microphone);
                match session.as_mut() {
                    Some((_, current)) => {
                        current.tick(now(), &microphone, &mut speaker);
                        while let Some((to, packet)) = current.poll_transmit() {
                            if let Err(error) = sockets.rtp.send_to(&packet, to).await {
                                tracing::debug!(%error, %to, "rtp send");
                            }
                        }
                        while let Some(digit) = current.poll_dtmf() {
                            tracing::info!(%digit, "DTMF received");
                        }
                    }
                    None => speaker = SILENCE,
                }
                ends.output.play(&speaker);
                while let Some(event) = ends.input.poll_event().or_else(|| ends.output.poll_event()) {
                    tracing::warn!(%event, "audio device");
                    if let Some(sender) = &options.device_events {
                        let _ = sender.send(event);
                    }
                }
                let input = if muted { Level::default() } else { Level::of(&microphone) };
                let call = session.as_ref().map(|(_, current)| current.stats());
                let speaking = session
                    .as_ref()
                    .map(|(_, current)| current.speaking(now()))
                    .unwrap_or_default();
                levels.send_replace(Levels { input, output: Level::of(&speaker), call, speaking });
            }
        }
    }
}

/// The wall clock as NTP time, for RTCP (RFC 3550 §4).
pub(crate) fn wall_clock() -> NtpTime {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    NtpTime::from_unix(since_epoch)
}

fn handle_request(
    now: Time,
    request: IoRequest,
    session: &mut Option<(u64, MediaSession)>,
    muted: &mut bool,
) {
    match request {
        IoRequest::StartMedia { call, audio } => match session {
            Some((current, existing)) if *current == call => {
                if let Err(error) = existing.update(audio) {
                    tracing::warn!(%error, "the call's new codec cannot start; audio stopped");
                    *session = None;
                }
            }
            _ => match MediaSession::new(audio, rand::random()) {
                Ok(mut started) => {
                    started.set_muted(*muted);
                    tracing::info!(call, remote = %started.remote(), "media started");
                    *session = Some((call, started));
                }
                Err(error) => tracing::warn!(%error, "media not started; the call has no sound"),
            },
        },
        IoRequest::StopMedia { call } => {
            if session
                .as_ref()
                .is_some_and(|(current, _)| *current == call)
            {
                *session = None;
            }
        }
        IoRequest::Mute { muted: wanted } => {
            *muted = wanted;
            if let Some((_, current)) = session.as_mut() {
                current.set_muted(wanted);
            }
        }
        IoRequest::Dtmf { digits, .. } => {
            if let Some((_, current)) = session.as_mut() {
                if let Err(reason) = current.send_dtmf(now, &digits) {
                    tracing::info!(%reason, "DTMF not sent");
                }
            }
        }
        IoRequest::McuOpenLeg { .. }
        | IoRequest::McuStartLeg { .. }
        | IoRequest::McuCloseLeg { .. }
        | IoRequest::McuFilterLeg { .. }
        | IoRequest::McuMoveLeg { .. } => {
            tracing::warn!(?request, "a client's media task has no conference mixer")
        }
    }
}
