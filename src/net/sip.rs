//! One SIP port: a UDP socket and a TCP listener on the same address, and
//! the TCP connections accepted or opened from it.
//!
//! The driver loop is the run loop of STYLE.md's sans-IO models: feed one
//! input, drain transmits and events, sleep until the core's next timeout or
//! the next input. Connections run in their own tasks and only frame bytes;
//! every message goes through the one core, in arrival order per connection.
//!
//! With [`SipDriver::with_trace`] the driver also copies every SIP message
//! it hands the core or takes from it, as a [`TraceEntry`]; without it,
//! nothing is copied. STUN keep-alives on the port are not SIP and are not
//! traced.

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::deadline::{DeadlineTimer, DriverTimer};
use super::outlets::{FromConnection, Outlets, Tracer};
use super::udp::ReceiveBatch;
use crate::proto::{IoRequest, Peer, SipCore, Time, Transmit};
use crate::trace::TraceEntry;

/// Datagrams one receive call can take.
pub(super) const UDP_SLOTS: usize = 4;
/// Receive calls in one wake-up at most, so that under load timers and
/// TCP still get their turn.
const UDP_ROUNDS: usize = 8;

/// The bound sockets of one SIP port.
pub struct SipSockets {
    pub(super) udp: UdpSocket,
    pub(super) tcp: TcpListener,
}

impl SipSockets {
    /// Binds UDP and TCP on `addr`. Port 0 picks a free port, the same one
    /// for both transports when it can.
    pub async fn bind(addr: SocketAddr) -> io::Result<SipSockets> {
        if addr.is_ipv6() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "IPv6 is not supported yet; listen on an IPv4 address",
            ));
        }
        // With port 0 the kernel picks a free UDP port, whose TCP twin may
        // be taken: pick again a few times before giving up.
        let attempts = if addr.port() == 0 { 16 } else { 1 };
        let mut last_error = None;
        for _ in 0..attempts {
            let udp = UdpSocket::bind(addr).await?;
            let bound = udp.local_addr()?;
            match TcpListener::bind(bound).await {
                Ok(tcp) => return Ok(SipSockets { udp, tcp }),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no port free for both UDP and TCP")))
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

/// Runs a core on a SIP port until the core is finished or the command
/// channel closes.
pub struct SipDriver<C: SipCore> {
    pub(super) core: C,
    pub(super) sockets: SipSockets,
    pub(super) epoch: Instant,
    pub(super) from_connections: mpsc::Receiver<FromConnection>,
    pub(super) outlets: Outlets,
    /// The core's deadlines on a timerfd rather than tokio's timer.
    timerfd: Option<DeadlineTimer>,
}

impl<C> SipDriver<C>
where
    C: SipCore,
{
    /// `epoch` is the instant the core's [`Time::ZERO`] stands for; the
    /// caller makes the core with times relative to it.
    pub fn new(core: C, sockets: SipSockets, epoch: Instant) -> Self {
        let (from_connections_tx, from_connections_rx) = mpsc::channel(1024);
        SipDriver {
            core,
            sockets,
            epoch,
            from_connections: from_connections_rx,
            outlets: Outlets::new(from_connections_tx),
            timerfd: None,
        }
    }

    /// Keeps the core's deadlines on a timerfd (`DeadlineTimer`): one
    /// wake-up per deadline however far, one system call per change of
    /// it. For a client, whose deadline moves a few times a minute; a
    /// server under load keeps tokio's timer.
    ///
    /// Without a timerfd (no descriptor left) it says so in the log and
    /// keeps tokio's timer.
    pub fn with_timerfd(mut self) -> Self {
        match DeadlineTimer::new() {
            Ok(timerfd) => self.timerfd = Some(timerfd),
            Err(error) => tracing::warn!(%error, "no timerfd; tokio's timer instead"),
        }
        self
    }

    /// Sends a copy of every message received (a UDP datagram, a message
    /// framed off a TCP stream) and sent to `sender`. The local address of
    /// a TCP message is the listening one, also for connections we opened.
    pub fn with_trace(mut self, sender: mpsc::UnboundedSender<TraceEntry>) -> Self {
        let local = self
            .sockets
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        self.outlets.trace = Some(Tracer {
            local,
            entries: sender,
        });
        self
    }

    /// Hands one received message to the core, traced first.
    fn receive(&mut self, now: Time, from: Peer, bytes: &[u8]) {
        self.outlets.received(from, bytes);
        self.core.handle_datagram(now, from, bytes);
    }

    /// Hands the core what waits on the UDP socket, as many calls' worth as
    /// [`UDP_ROUNDS`] allows: under load more are waiting, taken without
    /// going round the select for each.
    fn drain_udp(&mut self, batch: &mut ReceiveBatch) {
        let now = self.now();
        for _ in 0..UDP_ROUNDS {
            let more = match batch.receive(&self.sockets.udp) {
                Ok(more) => more,
                // ICMP errors surface here on Linux; the transaction
                // layer's timers deal with the silence.
                Err(error) => return tracing::debug!(%error, "udp receive"),
            };
            for (bytes, from) in batch.datagrams() {
                self.receive(now, Peer::udp(from), bytes);
            }
            if !more {
                return;
            }
        }
    }

    /// Hands the core's I/O requests (media to start and stop) to `sender`.
    pub fn with_io_requests(mut self, sender: mpsc::UnboundedSender<IoRequest>) -> Self {
        self.outlets.io_requests = Some(sender);
        self
    }

    fn now(&self) -> Time {
        Time::from_epoch(self.epoch.elapsed())
    }

    pub async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<C::Command>,
        events: mpsc::UnboundedSender<C::Event>,
    ) -> io::Result<C> {
        let mut batch = ReceiveBatch::new(UDP_SLOTS);
        let mut commands_open = true;
        // One timer, re-armed only when the core's deadline moves: a new
        // Sleep per message would cost a timer-wheel insertion on the hot
        // path.
        let mut timer = DriverTimer::new(self.timerfd.take());
        loop {
            self.flush(&events).await;
            if self.core.is_finished() {
                return Ok(self.core);
            }
            let deadline = self
                .core
                .poll_timeout()
                .map(|t| self.epoch + t.since_epoch());
            timer.arm(deadline);
            tokio::select! {
                ready = self.sockets.udp.readable() => match ready {
                    Ok(()) => self.drain_udp(&mut batch),
                    Err(error) => tracing::debug!(%error, "udp readiness"),
                },
                accepted = self.sockets.tcp.accept() => match accepted {
                    Ok((stream, from)) => self.outlets.adopt(stream, from),
                    Err(error) => tracing::warn!(%error, "tcp accept"),
                },
                Some(message) = self.from_connections.recv() => match message {
                    FromConnection::Message(from, bytes) => {
                        let now = self.now();
                        self.receive(now, from, &bytes);
                    }
                    FromConnection::Closed(addr) => self.outlets.closed(addr),
                },
                command = commands.recv(), if commands_open => match command {
                    Some(command) => {
                        let now = self.now();
                        self.core.handle_command(now, command);
                    }
                    None => commands_open = false,
                },
                () = timer.expired(), if timer.is_armed() => {
                    let now = self.now();
                    self.core.handle_timeout(now);
                }
            }
            if !commands_open && self.core.poll_timeout().is_none() {
                return Ok(self.core);
            }
        }
    }

    /// Sends everything the core has queued and hands its events on.
    async fn flush(&mut self, events: &mpsc::UnboundedSender<C::Event>) {
        while let Some(transmit) = self.core.poll_transmit() {
            self.send(transmit).await;
        }
        self.outlets.hand_on(&mut self.core, events);
    }

    async fn send(&mut self, transmit: Transmit) {
        let Some((payload, to)) = self.outlets.send(transmit) else {
            return;
        };
        // The socket almost always has room: no await then.
        let sent = match self.sockets.udp.try_send_to(&payload, to) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                self.sockets.udp.send_to(&payload, to).await
            }
            other => other,
        };
        if let Err(error) = sent {
            tracing::debug!(%error, %to, "udp send");
        }
    }
}
