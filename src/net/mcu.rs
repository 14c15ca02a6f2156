//! The A/V MCU's media task: one RTP/RTCP port pair shared by every
//! conference leg, the 20 ms tick, and the sans-IO [`ConferenceMedia`]
//! that mixes. The server core asks for legs through [`IoRequest`]s and is
//! answered with [`IoResult`]s; the task makes no decision of its own
//! beyond symmetric RTP (RFC 4961): a datagram belongs to the started leg
//! whose negotiated peer address it comes from, or, from a peer that sends
//! from another port than it said, to the one started leg at its IP
//! address if there is only one; anything else is dropped. The keys a
//! leg's caller presses (RFC 4733) go back as [`IoResult::McuDtmf`] as soon
//! as the packet that begins each is read; moving a leg to another
//! conference keeps its stream. Every [`QUALITY_INTERVAL`] each started
//! leg's figures go back as [`IoResult::McuLegQuality`], for the roster.
//!
//! One port pair for all legs, bound with the first leg, so that a wake-up
//! costs the datagrams it reads and not a look at thousands of sockets:
//! each readiness drains the socket with `recvmmsg`, the leg found by
//! address in a table. With thousands of legs a datagram comes every few
//! microseconds, so from [`PACED_LEGS`] legs on the task reads at most
//! every [`DRAIN_PACE`] (a wake-up per datagram would cost more than the
//! datagram), and always just before the tick, so that the mix has every
//! packet that came. Fewer legs are read as their packets come, so that
//! their arrival times, and the jitter buffers sized by them, stay exact.
//! The tick's packets go out with `sendmmsg`, without waiting: a full
//! socket buffer loses that frame for one leg rather than holding up the
//! tick for everyone. The tick comes first whenever it is due. The RTCP
//! reports due go out with the tick too, each leg on a timer of its own
//! ([`ConferenceMedia::rtcp_reports`]): thousands of legs send a few
//! reports a tick, not thousands in one burst that would make the next
//! tick late.
//!
//! [`spawn_mcu`] runs the task on a thread of its own, so that the mix
//! keeps its 20 ms however long the SIP core takes over a burst of
//! requests.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use super::media::{MediaSockets, wall_clock};
use super::udp::{self, ReceiveBatch};
use crate::media::FRAME_MS;
use crate::media::conference_leg::ConferenceMedia;
use crate::media::mixer::MixerConfig;
use crate::proto::{IoRequest, IoResult, Time};

/// RTP and RTCP datagrams are far below this (one 20 ms Opus frame).
const MAX_DATAGRAM: usize = 2048;
/// Datagrams read per `recvmmsg`.
const RECEIVE_SLOTS: usize = 16;
/// Datagrams read per wake-up before the other branches get a turn.
const DRAIN_BATCH: usize = 256;
/// The least time between two reads of a socket that has more: what a
/// packet may wait to be read (and is timed as later) between ticks. A
/// packet waits for the next tick anyway, and the tick reads first.
const DRAIN_PACE: Duration = Duration::from_millis(1);
/// From this many started legs on, reads are paced: below it a conference
/// brings a few thousand datagrams a second, whose wake-ups cost little.
const PACED_LEGS: usize = 64;
/// The shared sockets' kernel buffers: a 20 ms burst of a few thousand
/// legs' packets (the kernel caps it at net.core.rmem_max/wmem_max).
const SOCKET_BUFFER: usize = 4 << 20;
/// How often each leg's quality is reported: often enough for a person
/// looking at the roster, seldom enough that the roster's NOTIFYs (sent
/// only on a noticeable change) stay rare. RTCP reports come as often.
pub const QUALITY_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Port {
    Rtp,
    Rtcp,
}

/// Which leg a datagram belongs to, by the address it came from.
#[derive(Default)]
struct Routes {
    rtp: HashMap<SocketAddr, u64>,
    rtcp: HashMap<SocketAddr, u64>,
    /// The started legs at each peer IP address.
    ips: HashMap<IpAddr, Vec<u64>>,
    /// Each started leg's peer RTP and RTCP addresses.
    legs: HashMap<u64, (SocketAddr, SocketAddr)>,
}

impl Routes {
    fn start(&mut self, leg: u64, rtp: SocketAddr, rtcp: SocketAddr) {
        self.stop(leg);
        self.rtp.insert(rtp, leg);
        self.rtcp.insert(rtcp, leg);
        self.ips.entry(rtp.ip()).or_default().push(leg);
        self.legs.insert(leg, (rtp, rtcp));
    }

    fn stop(&mut self, leg: u64) {
        let Some((rtp, rtcp)) = self.legs.remove(&leg) else {
            return;
        };
        if self.rtp.get(&rtp) == Some(&leg) {
            self.rtp.remove(&rtp);
        }
        if self.rtcp.get(&rtcp) == Some(&leg) {
            self.rtcp.remove(&rtcp);
        }
        if let Some(legs) = self.ips.get_mut(&rtp.ip()) {
            legs.retain(|&other| other != leg);
            if legs.is_empty() {
                self.ips.remove(&rtp.ip());
            }
        }
    }

    fn leg_of(&self, port: Port, from: SocketAddr) -> Option<u64> {
        let exact = match port {
            Port::Rtp => self.rtp.get(&from),
            Port::Rtcp => self.rtcp.get(&from),
        };
        if let Some(&leg) = exact {
            return Some(leg);
        }
        match self.ips.get(&from.ip())?.as_slice() {
            [leg] => Some(*leg),
            _ => None,
        }
    }
}

/// Runs [`run_mcu`] on a thread of its own with its own runtime; the
/// thread ends when the request channel closes.
pub fn spawn_mcu(
    ip: IpAddr,
    requests: mpsc::UnboundedReceiver<IoRequest>,
    results: mpsc::UnboundedSender<IoResult>,
) -> io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("mcu".into())
        .spawn(move || {
            match super::priority::raise_this_thread() {
                Ok(nice) => tracing::debug!(nice, "the MCU's media thread runs above its process"),
                Err(error) => tracing::info!(
                    %error,
                    "the MCU's media thread keeps its process's priority (raising it needs CAP_SYS_NICE or RLIMIT_NICE)"
                ),
            }
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(run_mcu(ip, requests, results)),
                Err(error) => tracing::error!(%error, "no runtime for the MCU's media"),
            }
        })
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
    let mut sockets: Option<MediaSockets> = None;
    let mut routes = Routes::default();
    let frame = Duration::from_millis(FRAME_MS.into());
    // Every frame, a little sooner while the talkers' frames wait for it
    // (`ConferenceMedia::tick_advance`). As in the client's media task, a
    // late tick is made up at once, so that every leg's stream keeps its
    // rate and its jitter buffer stays fed. With no leg open the task
    // ticks not at all: a server that hosts no conference does not wake
    // 50 times a second, and its first leg starts the tick afresh.
    let mut ticking = false;
    let mut next_tick = Instant::now() + frame;
    let tick = tokio::time::sleep_until(next_tick);
    tokio::pin!(tick);
    let mut batch = ReceiveBatch::with_slot_size(RECEIVE_SLOTS, MAX_DATAGRAM);
    let mut next_drain = Instant::now();
    // Delay rather than burst: a missed report is stale, not owed.
    let mut quality_timer =
        tokio::time::interval_at(Instant::now() + QUALITY_INTERVAL, QUALITY_INTERVAL);
    quality_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = &mut tick, if ticking => {
                if let Some(sockets) = &sockets {
                    for port in [Port::Rtcp, Port::Rtp] {
                        drain(now(), &mut media, sockets, &routes, port, &mut batch);
                    }
                }
                media.tick(now());
                next_tick += frame.saturating_sub(media.tick_advance());
                tick.as_mut().reset(next_tick);
                if let Some(sockets) = &sockets {
                    let datagrams = media.transmits().map(|(_, to, datagram)| (datagram, to));
                    udp::send_each(sockets.rtp(), datagrams);
                    let reports = media.rtcp_reports(now(), wall_clock());
                    let datagrams = reports.iter().map(|(_, to, report)| (report.as_slice(), *to));
                    udp::send_each(sockets.rtcp(), datagrams);
                }
            }
            request = requests.recv() => match request {
                Some(request) => {
                    let mut mcu = Mcu { ip, media: &mut media, sockets: &mut sockets, routes: &mut routes };
                    if let Some(result) = mcu.handle_request(request).await {
                        // A core that went away is not the MCU's problem.
                        let _ = results.send(result);
                    }
                }
                None => break,
            },
            _ = quality_timer.tick(), if ticking => {
                for (leg, quality) in media.qualities() {
                    // A core that went away is not the MCU's problem.
                    let _ = results.send(IoResult::McuLegQuality { leg, quality });
                }
            }
            port = readable(sockets.as_ref(), next_drain) => {
                if let Some(sockets) = &sockets {
                    drain(now(), &mut media, sockets, &routes, port, &mut batch);
                }
                if routes.legs.len() >= PACED_LEGS {
                    next_drain = Instant::now() + DRAIN_PACE;
                }
                while let Some((leg, digit)) = media.poll_dtmf() {
                    tracing::debug!(leg, %digit, "key pressed on a conference leg");
                    // A core that went away is not the MCU's problem.
                    let _ = results.send(IoResult::McuDtmf { leg, digit });
                }
            }
        }
        if ticking != media.has_legs() {
            ticking = media.has_legs();
            if ticking {
                next_tick = Instant::now() + frame;
                tick.as_mut().reset(next_tick);
                quality_timer.reset();
            }
        }
    }
}

/// What one request changes: the legs, their routes, the shared sockets.
struct Mcu<'a> {
    ip: IpAddr,
    media: &'a mut ConferenceMedia,
    sockets: &'a mut Option<MediaSockets>,
    routes: &'a mut Routes,
}

impl Mcu<'_> {
    async fn handle_request(&mut self, request: IoRequest) -> Option<IoResult> {
        match request {
            IoRequest::McuOpenLeg { conference, leg } => {
                Some(self.open_leg(&conference, leg).await)
            }
            IoRequest::McuStartLeg { leg, audio } => {
                let (remote, remote_rtcp) = (audio.remote, audio.remote_rtcp);
                match self.media.start_leg(leg, audio) {
                    Ok(()) => {
                        self.routes.start(leg, remote, remote_rtcp);
                        tracing::info!(leg, %remote, "conference leg started");
                    }
                    Err(error) => {
                        self.routes.stop(leg);
                        tracing::warn!(%error, leg, "conference leg not started");
                    }
                }
                None
            }
            IoRequest::McuCloseLeg { leg } => {
                self.media.close_leg(leg);
                self.routes.stop(leg);
                tracing::info!(leg, "conference leg closed");
                None
            }
            IoRequest::McuFilterLeg { leg, blocked } => {
                if let Err(error) = self.media.filter_leg(leg, blocked) {
                    tracing::warn!(%error, leg, blocked, "conference leg filter");
                }
                None
            }
            IoRequest::McuMoveLeg { leg, conference } => {
                match self.media.move_leg(leg, &conference) {
                    Ok(()) => tracing::info!(leg, %conference, "conference leg moved"),
                    Err(error) => {
                        tracing::warn!(%error, leg, %conference, "conference leg not moved");
                    }
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
        }
    }

    /// A new leg on the shared port pair (bound with the first leg); a
    /// leg opened twice is answered the same.
    async fn open_leg(&mut self, conference: &str, leg: u64) -> IoResult {
        let port = match self.bound().await {
            Ok(port) => port,
            Err(error) => {
                tracing::warn!(%error, leg, "no ports for a conference leg");
                return IoResult::McuLegFailed {
                    leg,
                    reason: error.to_string(),
                };
            }
        };
        if self.media.leg(leg).is_none() {
            if let Err(error) = self.media.open_leg(conference, leg) {
                return IoResult::McuLegFailed {
                    leg,
                    reason: error.to_string(),
                };
            }
            tracing::info!(leg, conference, port, "conference leg open");
        }
        IoResult::McuLegReady { leg, port }
    }

    /// The shared RTP port, binding the pair if it is not bound yet.
    async fn bound(&mut self) -> io::Result<u16> {
        if let Some(sockets) = self.sockets.as_ref() {
            return sockets.rtp_port();
        }
        let sockets = MediaSockets::bind(self.ip).await?;
        for socket in [sockets.rtp(), sockets.rtcp()] {
            let socket = socket2::SockRef::from(socket);
            // Best effort: the kernel's limits decide, and the default
            // still works for small conferences.
            let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
            let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
        }
        let port = sockets.rtp_port()?;
        *self.sockets = Some(sockets);
        Ok(port)
    }
}

/// Waits until the RTP or RTCP socket has a datagram, and `not_before`
/// has come; forever when they are not bound (the other branches end the
/// wait).
async fn readable(sockets: Option<&MediaSockets>, not_before: Instant) -> Port {
    let Some(sockets) = sockets else {
        return std::future::pending().await;
    };
    // A deadline passed would still cost a timer's registration.
    if Instant::now() < not_before {
        tokio::time::sleep_until(not_before).await;
    }
    tokio::select! {
        biased;
        Ok(()) = sockets.rtcp().readable() => Port::Rtcp,
        Ok(()) = sockets.rtp().readable() => Port::Rtp,
        else => std::future::pending().await,
    }
}

/// Reads up to [`DRAIN_BATCH`] datagrams waiting on `port` and hands
/// each to its leg.
fn drain(
    now: Time,
    media: &mut ConferenceMedia,
    sockets: &MediaSockets,
    routes: &Routes,
    port: Port,
    batch: &mut ReceiveBatch,
) {
    let socket = match port {
        Port::Rtp => sockets.rtp(),
        Port::Rtcp => sockets.rtcp(),
    };
    for _ in 0..DRAIN_BATCH / RECEIVE_SLOTS {
        let more = match batch.receive(socket) {
            Ok(more) => more,
            Err(error) => {
                // An ICMP error queued on the socket, say: the next read
                // goes on.
                tracing::debug!(%error, "mcu receive");
                continue;
            }
        };
        for (bytes, from) in batch.datagrams() {
            let Some(leg) = routes.leg_of(port, from) else {
                continue;
            };
            match port {
                Port::Rtp => media.handle_packet(now, leg, bytes),
                Port::Rtcp => media.handle_rtcp(now, wall_clock(), leg, bytes),
            }
        }
        if !more {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_datagram_goes_to_the_leg_at_its_address() {
        let mut routes = Routes::default();
        routes.start(1, addr("127.0.0.1:4000"), addr("127.0.0.1:4001"));
        routes.start(2, addr("127.0.0.1:4002"), addr("127.0.0.1:4003"));
        assert_eq!(routes.leg_of(Port::Rtp, addr("127.0.0.1:4002")), Some(2));
        assert_eq!(routes.leg_of(Port::Rtcp, addr("127.0.0.1:4001")), Some(1));
        // Another port of an IP with two legs: whose it is cannot be told.
        assert_eq!(routes.leg_of(Port::Rtp, addr("127.0.0.1:5000")), None);
        // A stranger.
        assert_eq!(routes.leg_of(Port::Rtp, addr("127.0.0.2:4000")), None);
    }

    #[test]
    fn a_peer_alone_at_its_ip_may_send_from_another_port() {
        let mut routes = Routes::default();
        routes.start(1, addr("10.0.0.1:4000"), addr("10.0.0.1:4001"));
        assert_eq!(routes.leg_of(Port::Rtp, addr("10.0.0.1:6000")), Some(1));
        assert_eq!(routes.leg_of(Port::Rtcp, addr("10.0.0.1:6001")), Some(1));
    }

    #[test]
    fn a_restarted_or_stopped_leg_leaves_no_stale_route() {
        let mut routes = Routes::default();
        routes.start(1, addr("10.0.0.1:4000"), addr("10.0.0.1:4001"));
        // A re-INVITE moved it.
        routes.start(1, addr("10.0.0.2:4000"), addr("10.0.0.2:4001"));
        assert_eq!(routes.leg_of(Port::Rtp, addr("10.0.0.1:4000")), None);
        assert_eq!(routes.leg_of(Port::Rtp, addr("10.0.0.2:4000")), Some(1));
        // Another leg took the same address, then the first one stopped.
        routes.start(2, addr("10.0.0.2:4000"), addr("10.0.0.2:4001"));
        routes.stop(1);
        assert_eq!(routes.leg_of(Port::Rtp, addr("10.0.0.2:4000")), Some(2));
        routes.stop(2);
        assert!(routes.rtp.is_empty() && routes.rtcp.is_empty() && routes.ips.is_empty());
    }
}
