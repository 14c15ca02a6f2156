//! The A/V MCU's media task: an RTP/RTCP port pair per conference leg, the
//! 20 ms tick, and the sans-IO [`ConferenceMedia`] that mixes. The server
//! core asks for legs through [`IoRequest`]s and is answered with
//! [`IoResult`]s; the task makes no decision of its own beyond symmetric
//! RTP (a leg's packets count only from its negotiated peer's address,
//! RFC 4961). The keys a leg's caller presses (RFC 4733) go back as
//! [`IoResult::McuDtmf`] as soon as the packet that begins each is read;
//! moving a leg to another conference keeps its port pair. Every
//! [`QUALITY_INTERVAL`] each started leg's figures go back as
//! [`IoResult::McuLegQuality`], for the roster.
//!
//! One task serves every leg: its sockets are polled together, a ready one
//! is read, then every socket is drained of what else is waiting, so one
//! wake-up serves the burst of packets that arrives each 20 ms. Packets go
//! out with `try_send_to`: a full socket buffer loses that frame rather
//! than holding up the tick for everyone.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;
use std::time::Duration;

use tokio::io::ReadBuf;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::media::{MediaSockets, wall_clock};
use crate::media::FRAME_MS;
use crate::media::conference_leg::{ConferenceLeg, ConferenceMedia};
use crate::media::mixer::MixerConfig;
use crate::proto::rtp::rtcp_interval;
use crate::proto::{IoRequest, IoResult, Time};

/// RTP and RTCP datagrams are far below this (one 20 ms Opus frame).
const MAX_DATAGRAM: usize = 2048;
/// Datagrams read from one socket per drain before moving on.
const DRAIN_BATCH: usize = 4;
/// How often each leg's quality is reported: often enough for a person
/// looking at the roster, seldom enough that the roster's NOTIFYs (sent
/// only on a noticeable change) stay rare. RTCP reports come as often.
pub const QUALITY_INTERVAL: Duration = Duration::from_secs(5);

/// The port pair of one leg.
struct LegSockets {
    leg: u64,
    sockets: MediaSockets,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    Rtp,
    Rtcp,
}

/// Runs the MCU's media on `ip` until the request channel closes (the
/// server core is gone).
pub async fn run_mcu(
    ip: IpAddr,
    mut requests: mpsc::UnboundedReceiver<IoRequest>,
    results: mpsc::UnboundedSender<IoResult>,
) {
    let epoch = Instant::now();
    let now = || Time::from_epoch(epoch.elapsed());
    let mut media = ConferenceMedia::new(MixerConfig::default(), rand::random());
    // Sorted by leg id, for lookups on every packet sent.
    let mut legs: Vec<LegSockets> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS.into()));
    // As in the client's media task: a late tick is made up at once, so
    // every leg's stream keeps its rate and its jitter buffer stays fed.
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    // RFC 3550 §6.3: reports every few seconds, the first one sooner. One
    // timer, reset, rather than a new one per wake-up.
    let report_timer =
        tokio::time::sleep_until(Instant::now() + rtcp_interval(true, &mut rand::rng()));
    tokio::pin!(report_timer);
    // Delay rather than burst: a missed report is stale, not owed.
    let mut quality_timer =
        tokio::time::interval_at(Instant::now() + QUALITY_INTERVAL, QUALITY_INTERVAL);
    quality_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut turn = 0usize;
    loop {
        tokio::select! {
            request = requests.recv() => match request {
                Some(request) => handle_request(ip, request, &mut media, &mut legs, &results).await,
                None => break,
            },
            (leg, port, received) = receive(&legs, &mut buffer, turn) => {
                // The next wake-up polls from the next leg on: no leg can
                // starve the others by always being ready.
                turn = turn.wrapping_add(1);
                match received {
                    Ok((len, from)) => {
                        let bytes = buffer.get(..len).unwrap_or_default();
                        deliver(now(), &mut media, leg, port, from, bytes);
                    }
                    Err(error) => tracing::debug!(%error, leg, "mcu receive"),
                }
                drain(now(), &mut media, &legs, &mut buffer);
                while let Some((leg, digit)) = media.poll_dtmf() {
                    tracing::debug!(leg, %digit, "key pressed on a conference leg");
                    // A core that went away is not the MCU's problem.
                    let _ = results.send(IoResult::McuDtmf { leg, digit });
                }
            }
            _ = tick.tick() => {
                media.tick(now());
                for (leg, to, datagram) in media.transmits() {
                    let Some(sockets) = find(&legs, leg) else { continue };
                    if let Err(error) = sockets.rtp().try_send_to(datagram, to) {
                        tracing::debug!(%error, leg, %to, "rtp send");
                    }
                }
            }
            () = &mut report_timer => {
                let next_report = Instant::now() + rtcp_interval(false, &mut rand::rng());
                report_timer.as_mut().reset(next_report);
                for (leg, to, report) in media.rtcp_reports(now(), wall_clock()) {
                    let Some(sockets) = find(&legs, leg) else { continue };
                    if let Err(error) = sockets.rtcp().try_send_to(&report, to) {
                        tracing::debug!(%error, leg, %to, "rtcp send");
                    }
                }
            }
            _ = quality_timer.tick() => {
                for (leg, quality) in media.qualities() {
                    // A core that went away is not the MCU's problem.
                    let _ = results.send(IoResult::McuLegQuality { leg, quality });
                }
            }
        }
    }
}

async fn handle_request(
    ip: IpAddr,
    request: IoRequest,
    media: &mut ConferenceMedia,
    legs: &mut Vec<LegSockets>,
    results: &mpsc::UnboundedSender<IoResult>,
) {
    let result = match request {
        IoRequest::McuOpenLeg { conference, leg } => {
            Some(open_leg(ip, &conference, leg, media, legs).await)
        }
        IoRequest::McuStartLeg { leg, audio } => {
            let remote = audio.remote;
            match media.start_leg(leg, audio) {
                Ok(()) => tracing::info!(leg, %remote, "conference leg started"),
                Err(error) => tracing::warn!(%error, leg, "conference leg not started"),
            }
            None
        }
        IoRequest::McuCloseLeg { leg } => {
            media.close_leg(leg);
            if let Ok(slot) = legs.binary_search_by_key(&leg, |sockets| sockets.leg) {
                // Dropping the sockets frees the ports.
                legs.remove(slot);
            }
            tracing::info!(leg, "conference leg closed");
            None
        }
        IoRequest::McuFilterLeg { leg, blocked } => {
            if let Err(error) = media.filter_leg(leg, blocked) {
                tracing::warn!(%error, leg, blocked, "conference leg filter");
            }
            None
        }
        IoRequest::McuMoveLeg { leg, conference } => {
            match media.move_leg(leg, &conference) {
                Ok(()) => tracing::info!(leg, %conference, "conference leg moved"),
                Err(error) => tracing::warn!(%error, leg, %conference, "conference leg not moved"),
            }
            None
        }
        IoRequest::StartMedia { .. }
        | IoRequest::StopMedia { .. }
        | IoRequest::Mute { .. }
        | IoRequest::Dtmf { .. } => {
            tracing::warn!(?request, "the MCU runs conference legs, not a call's media");
            None
        }
    };
    if let Some(result) = result {
        // A core that went away is not the MCU's problem.
        let _ = results.send(result);
    }
}

/// Binds the leg's port pair; a leg opened twice keeps its ports.
async fn open_leg(
    ip: IpAddr,
    conference: &str,
    leg: u64,
    media: &mut ConferenceMedia,
    legs: &mut Vec<LegSockets>,
) -> IoResult {
    let slot = match legs.binary_search_by_key(&leg, |sockets| sockets.leg) {
        Ok(slot) => {
            let port = legs.get(slot).map(|open| open.sockets.rtp_port());
            return match port {
                Some(Ok(port)) => IoResult::McuLegReady { leg, port },
                Some(Err(error)) => IoResult::McuLegFailed {
                    leg,
                    reason: error.to_string(),
                },
                None => IoResult::McuLegFailed {
                    leg,
                    reason: "leg lost its sockets".into(),
                },
            };
        }
        Err(slot) => slot,
    };
    let bound = MediaSockets::bind(ip)
        .await
        .and_then(|sockets| Ok((sockets.rtp_port()?, sockets)));
    let (port, sockets) = match bound {
        Ok(bound) => bound,
        Err(error) => {
            tracing::warn!(%error, leg, "no ports for a conference leg");
            return IoResult::McuLegFailed {
                leg,
                reason: error.to_string(),
            };
        }
    };
    if let Err(error) = media.open_leg(conference, leg) {
        return IoResult::McuLegFailed {
            leg,
            reason: error.to_string(),
        };
    }
    legs.insert(slot, LegSockets { leg, sockets });
    tracing::info!(leg, conference, port, "conference leg open");
    IoResult::McuLegReady { leg, port }
}

/// Waits until one of the legs' sockets has a datagram and reads it into
/// `buffer`, polling from leg `turn` (modulo their number) on.
fn receive<'a>(
    legs: &'a [LegSockets],
    buffer: &'a mut [u8],
    turn: usize,
) -> impl Future<Output = (u64, Port, io::Result<(usize, SocketAddr)>)> + 'a {
    std::future::poll_fn(move |cx| {
        let count = legs.len();
        for step in 0..count {
            let Some(open) = legs.get((turn + step) % count) else {
                continue;
            };
            for (port, socket) in [
                (Port::Rtp, open.sockets.rtp()),
                (Port::Rtcp, open.sockets.rtcp()),
            ] {
                let mut read = ReadBuf::new(&mut *buffer);
                if let Poll::Ready(received) = socket.poll_recv_from(cx, &mut read) {
                    let len = read.filled().len();
                    return Poll::Ready((open.leg, port, received.map(|from| (len, from))));
                }
            }
        }
        // No legs: the other branches wake the task and a new future is
        // made for the next round.
        Poll::Pending
    })
}

/// Reads what else is waiting on every socket, a few datagrams each.
fn drain(now: Time, media: &mut ConferenceMedia, legs: &[LegSockets], buffer: &mut [u8]) {
    for open in legs {
        for (port, socket) in [
            (Port::Rtp, open.sockets.rtp()),
            (Port::Rtcp, open.sockets.rtcp()),
        ] {
            for _ in 0..DRAIN_BATCH {
                let Ok((len, from)) = socket.try_recv_from(buffer) else {
                    break;
                };
                let bytes = buffer.get(..len).unwrap_or_default();
                deliver(now, media, open.leg, port, from, bytes);
            }
        }
    }
}

/// Symmetric RTP: a leg's datagrams count only from its negotiated peer,
/// and none before it is started.
fn deliver(
    now: Time,
    media: &mut ConferenceMedia,
    leg: u64,
    port: Port,
    from: SocketAddr,
    bytes: &[u8],
) {
    let remote = media.leg(leg).and_then(ConferenceLeg::remote);
    if remote.is_none_or(|remote| remote.ip() != from.ip()) {
        return;
    }
    match port {
        Port::Rtp => media.handle_packet(now, leg, bytes),
        Port::Rtcp => media.handle_rtcp(now, wall_clock(), leg, bytes),
    }
}

fn find(legs: &[LegSockets], leg: u64) -> Option<&MediaSockets> {
    let slot = legs.binary_search_by_key(&leg, |open| open.leg).ok()?;
    legs.get(slot).map(|open| &open.sockets)
}
