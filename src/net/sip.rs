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

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::deadline::{DeadlineTimer, DriverTimer};
use super::udp::ReceiveBatch;
use crate::proto::framing::StreamFramer;
use crate::proto::{IoRequest, Peer, SipCore, Time, Transmit, Transport, stun};
use crate::trace::{Direction, TraceEntry};

/// Datagrams one receive call can take.
const UDP_SLOTS: usize = 4;
/// Receive calls in one wake-up at most, so that under load timers and
/// TCP still get their turn.
const UDP_ROUNDS: usize = 8;
/// Messages queued for one TCP connection before we drop rather than block
/// the core.
const CONNECTION_QUEUE: usize = 256;

/// The bound sockets of one SIP port.
pub struct SipSockets {
    udp: UdpSocket,
    tcp: TcpListener,
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

/// What connection tasks tell the driver loop.
enum FromConnection {
    Message(Peer, Vec<u8>),
    Closed(SocketAddr),
}

/// Runs a core on a SIP port until the core is finished or the command
/// channel closes.
pub struct SipDriver<C: SipCore> {
    core: C,
    sockets: SipSockets,
    epoch: Instant,
    connections: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    from_connections_tx: mpsc::Sender<FromConnection>,
    from_connections_rx: mpsc::Receiver<FromConnection>,
    /// Where the core's I/O requests (media) go, if anyone handles them.
    io_requests: Option<mpsc::UnboundedSender<IoRequest>>,
    /// Where a copy of every message goes, if a trace is wanted.
    trace: Option<Tracer>,
    /// The core's deadlines on a timerfd rather than tokio's timer.
    timerfd: Option<DeadlineTimer>,
}

/// The trace hook: our address and the channel the copies go to.
struct Tracer {
    local: SocketAddr,
    entries: mpsc::UnboundedSender<TraceEntry>,
}

impl Tracer {
    fn record(&self, direction: Direction, peer: Peer, bytes: &[u8]) {
        if stun::is_stun(bytes) {
            return;
        }
        // A trace reader that went away stops nothing.
        let _ = self.entries.send(TraceEntry {
            at: SystemTime::now(),
            direction,
            transport: peer.transport,
            local: self.local,
            peer: peer.addr,
            bytes: bytes.to_vec(),
        });
    }
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
            connections: HashMap::new(),
            from_connections_tx,
            from_connections_rx,
            io_requests: None,
            trace: None,
            timerfd: None,
        }
    }

    /// Keeps the core's deadlines on a timerfd ([`DeadlineTimer`]): one
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
        self.trace = Some(Tracer {
            local,
            entries: sender,
        });
        self
    }

    /// Hands one received message to the core, traced first.
    fn receive(&mut self, now: Time, from: Peer, bytes: &[u8]) {
        if let Some(tracer) = &self.trace {
            tracer.record(Direction::Received, from, bytes);
        }
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
        self.io_requests = Some(sender);
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
                    Ok((stream, from)) => self.adopt_connection(stream, from),
                    Err(error) => tracing::warn!(%error, "tcp accept"),
                },
                Some(message) = self.from_connections_rx.recv() => match message {
                    FromConnection::Message(from, bytes) => {
                        let now = self.now();
                        self.receive(now, from, &bytes);
                    }
                    FromConnection::Closed(addr) => {
                        self.connections.remove(&addr);
                    }
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
        while let Some(event) = self.core.poll_event() {
            // A front end that went away is not the core's problem.
            let _ = events.send(event);
        }
        while let Some(request) = self.core.poll_io_request() {
            match &self.io_requests {
                Some(sender) => {
                    let _ = sender.send(request);
                }
                None => tracing::debug!(?request, "an I/O request nobody handles"),
            }
        }
    }

    async fn send(&mut self, transmit: Transmit) {
        let Transmit {
            destination,
            payload,
        } = transmit;
        if let Some(tracer) = &self.trace {
            tracer.record(Direction::Sent, destination, &payload);
        }
        match destination.transport {
            Transport::Udp => {
                // The socket almost always has room: no await then.
                let sent = match self.sockets.udp.try_send_to(&payload, destination.addr) {
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                        self.sockets.udp.send_to(&payload, destination.addr).await
                    }
                    other => other,
                };
                if let Err(error) = sent {
                    tracing::debug!(%error, to = %destination, "udp send");
                }
            }
            Transport::Tcp => self.send_tcp(destination.addr, payload),
        }
    }

    fn send_tcp(&mut self, addr: SocketAddr, payload: Vec<u8>) {
        let sender = match self.connections.get(&addr) {
            Some(sender) => sender.clone(),
            None => self.open_connection(addr),
        };
        match sender.try_send(payload) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(%addr, "tcp connection queue full; message dropped")
            }
            // The peer hung up; its Closed notice is on the way.
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!(%addr, "tcp connection closed; message dropped");
                self.connections.remove(&addr);
            }
        }
    }

    fn adopt_connection(&mut self, stream: TcpStream, from: SocketAddr) {
        let (sender, receiver) = mpsc::channel(CONNECTION_QUEUE);
        self.connections.insert(from, sender);
        let to_driver = self.from_connections_tx.clone();
        tokio::spawn(serve_connection(stream, from, receiver, to_driver));
    }

    /// Connects in the background; messages queue until the connection is up.
    fn open_connection(&mut self, addr: SocketAddr) -> mpsc::Sender<Vec<u8>> {
        let (sender, receiver) = mpsc::channel(CONNECTION_QUEUE);
        self.connections.insert(addr, sender.clone());
        let to_driver = self.from_connections_tx.clone();
        tokio::spawn(async move {
            match TcpStream::connect(addr).await {
                Ok(stream) => serve_connection(stream, addr, receiver, to_driver).await,
                Err(error) => {
                    tracing::debug!(%addr, %error, "tcp connect");
                    let _ = to_driver.send(FromConnection::Closed(addr)).await;
                }
            }
        });
        sender
    }
}

/// Reads and frames one TCP connection, and writes what the driver queues
/// for it, until either side closes.
async fn serve_connection(
    stream: TcpStream,
    addr: SocketAddr,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    to_driver: mpsc::Sender<FromConnection>,
) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let mut framer = StreamFramer::new();
    let mut buffer = vec![0u8; 16 * 1024];
    let peer = Peer::tcp(addr);
    loop {
        tokio::select! {
            read = reader.read(&mut buffer) => {
                let len = match read {
                    Ok(0) => break,
                    Ok(len) => len,
                    Err(error) => {
                        tracing::debug!(%addr, %error, "tcp read");
                        break;
                    }
                };
                framer.push(buffer.get(..len).unwrap_or_default());
                if !forward_frames(&mut framer, peer, &to_driver, &mut writer).await {
                    break;
                }
            }
            Some(payload) = outgoing.recv() => {
                if let Err(error) = writer.write_all(&payload).await {
                    tracing::debug!(%addr, %error, "tcp write");
                    break;
                }
            }
        }
    }
    let _ = to_driver.send(FromConnection::Closed(addr)).await;
}

/// Hands every whole message in the framer to the driver. Returns false when
/// the stream can no longer be framed and the connection must close.
async fn forward_frames(
    framer: &mut StreamFramer,
    peer: Peer,
    to_driver: &mpsc::Sender<FromConnection>,
    writer: &mut tokio::net::tcp::OwnedWriteHalf,
) -> bool {
    while let Some(frame) = framer.next_message() {
        match frame {
            Ok(bytes) => {
                if to_driver
                    .send(FromConnection::Message(peer, bytes))
                    .await
                    .is_err()
                {
                    return false;
                }
            }
            Err(error) => {
                tracing::info!(%peer, %error, "closing a TCP connection that cannot be framed");
                return false;
            }
        }
    }
    // RFC 5626 §3.5.1: answer each double-CRLF ping with one CRLF.
    for _ in 0..framer.take_pings() {
        if writer.write_all(b"\r\n").await.is_err() {
            return false;
        }
    }
    true
}
