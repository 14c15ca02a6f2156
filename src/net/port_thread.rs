//! A SIP port served by a thread of its own that blocks in `recvmmsg`:
//! the server's driver.
//!
//! A server under load gets nearly all its work from its UDP socket. The
//! tokio driver ([`SipDriver::run`]) pays, for each datagram, an epoll
//! wait, a task wake-up and a select over every input. This thread pays
//! one `recvmmsg` per burst and runs the core in place, as a Kamailio
//! receiver process does. Its timeout is the socket's `SO_RCVTIMEO`,
//! moved only when the wait would end after the core's next deadline or
//! well before it, so that under load it is seldom touched.
//!
//! TCP and the command channel stay on tokio: a forwarding task queues
//! what they bring for the thread and wakes it with a datagram from a
//! loopback socket of its own, whose source the thread knows and never
//! hands the core. The core, the trace and the events are the same as
//! with the tokio driver.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as queue;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};

use super::outlets::{FromConnection, Outlets, spawn_adopted};
use super::sip::{SipDriver, UDP_SLOTS};
use super::udp::ReceiveBatch;
use crate::proto::{Peer, SipCore, Time};

/// How late a deadline may be met so that the receive timeout need not
/// move; the kernel rounds the timeout to its tick anyway.
const TIMER_SLACK: Duration = Duration::from_millis(1);
/// The shortest wait asked of the kernel (zero would mean no timeout).
const MIN_WAIT: Duration = Duration::from_millis(1);

impl<C> SipDriver<C>
where
    C: SipCore + Send + 'static,
    C::Command: Send + 'static,
    C::Event: Send + 'static,
{
    /// Runs the core as [`SipDriver::run`] does, but on a thread of its own
    /// blocking on the UDP socket (see the module's notes). Dropping the
    /// future stops the thread.
    pub async fn run_on_thread(
        self,
        commands: mpsc::UnboundedReceiver<C::Command>,
        events: mpsc::UnboundedSender<C::Event>,
    ) -> io::Result<C> {
        let SipDriver {
            core,
            sockets,
            epoch,
            from_connections,
            outlets,
            ..
        } = self;
        let udp = sockets.udp.into_std()?;
        udp.set_nonblocking(false)?;
        let wake = Arc::new(Wake::new(udp.local_addr()?)?);
        let wake_from = wake.socket.local_addr()?;
        let (queue, inputs) = queue::channel();
        let forwarder = tokio::spawn(forward_inputs(
            commands,
            sockets.tcp,
            from_connections,
            outlets.to_driver.clone(),
            queue,
            Arc::clone(&wake),
        ));
        let _stop = StopOnDrop {
            wake: Arc::clone(&wake),
            forwarder: forwarder.abort_handle(),
        };
        let thread = PortThread {
            core,
            udp,
            epoch: epoch.into_std(),
            inputs,
            wake,
            wake_from,
            outlets,
            runtime: Handle::current(),
            events,
            timeout: None,
            commands_open: true,
        };
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("sip".into())
            .spawn(move || {
                let _ = done_tx.send(thread.run());
            })?;
        done.await
            .unwrap_or_else(|_| Err(io::Error::other("the SIP port's thread panicked")))
    }
}

/// How the tokio side wakes the thread: a datagram to the SIP port.
struct Wake {
    /// Bound on the port's address (loopback if the port listens on every
    /// address) and connected to the port.
    socket: std::net::UdpSocket,
    /// A wake datagram is on its way and the thread has not yet looked at
    /// the queue: another would tell it nothing.
    pending: AtomicBool,
    stopping: AtomicBool,
}

impl Wake {
    fn new(port: SocketAddr) -> io::Result<Wake> {
        let ip = match port.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let socket = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
        socket.connect(SocketAddr::new(ip, port.port()))?;
        Ok(Wake {
            socket,
            pending: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
        })
    }

    fn wake(&self) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        // Lost only when the port's queue is full, and then the thread is
        // awake anyway and looks at the queue every round.
        if let Err(error) = self.socket.send(&[0]) {
            tracing::debug!(%error, "waking the SIP thread");
        }
    }

    fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.pending.store(false, Ordering::Release);
        self.wake();
    }
}

/// Ends the thread and the forwarding task when the driver's future goes.
struct StopOnDrop {
    wake: Arc<Wake>,
    forwarder: tokio::task::AbortHandle,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.wake.stop();
        self.forwarder.abort();
    }
}

/// What the tokio side hands the thread.
enum Input<Command> {
    Command(Command),
    CommandsClosed,
    Message(Peer, Vec<u8>),
    /// A connection accepted, and where its messages to send go.
    Adopted(SocketAddr, mpsc::Sender<Vec<u8>>),
    Closed(SocketAddr),
}

/// Queues commands, accepted connections and TCP messages for the thread,
/// waking it for each.
async fn forward_inputs<Command>(
    mut commands: mpsc::UnboundedReceiver<Command>,
    tcp: TcpListener,
    mut from_connections: mpsc::Receiver<FromConnection>,
    to_driver: mpsc::Sender<FromConnection>,
    queue: queue::Sender<Input<Command>>,
    wake: Arc<Wake>,
) {
    let mut commands_open = true;
    loop {
        let input = tokio::select! {
            command = commands.recv(), if commands_open => match command {
                Some(command) => Input::Command(command),
                None => {
                    commands_open = false;
                    Input::CommandsClosed
                }
            },
            accepted = tcp.accept() => match accepted {
                Ok((stream, from)) => Input::Adopted(from, spawn_adopted(stream, from, to_driver.clone())),
                Err(error) => {
                    tracing::warn!(%error, "tcp accept");
                    continue;
                }
            },
            Some(message) = from_connections.recv() => match message {
                FromConnection::Message(from, bytes) => Input::Message(from, bytes),
                FromConnection::Closed(addr) => Input::Closed(addr),
            },
        };
        if queue.send(input).is_err() {
            return; // The thread has ended.
        }
        wake.wake();
    }
}

/// The thread's state: the core and what it sends through.
struct PortThread<C: SipCore> {
    core: C,
    udp: std::net::UdpSocket,
    /// The instant the core's [`Time::ZERO`] stands for.
    epoch: Instant,
    inputs: queue::Receiver<Input<C::Command>>,
    wake: Arc<Wake>,
    /// Where wake datagrams come from.
    wake_from: SocketAddr,
    outlets: Outlets,
    /// Where the connections the thread opens run.
    runtime: Handle,
    events: mpsc::UnboundedSender<C::Event>,
    /// The socket's receive timeout as last set; `None`: none.
    timeout: Option<Duration>,
    commands_open: bool,
}

impl<C: SipCore> PortThread<C> {
    fn run(mut self) -> io::Result<C> {
        // The TCP connections the core opens are tokio tasks.
        let runtime = self.runtime.clone();
        let _runtime = runtime.enter();
        let mut batch = ReceiveBatch::new(UDP_SLOTS);
        loop {
            self.take_inputs();
            if self.wake.stopping.load(Ordering::Acquire) {
                return Ok(self.core);
            }
            self.flush();
            if self.core.is_finished() {
                return Ok(self.core);
            }
            let deadline = self.core.poll_timeout();
            if !self.commands_open && deadline.is_none() {
                return Ok(self.core);
            }
            let now = self.now();
            if deadline.is_some_and(|deadline| deadline <= now) {
                self.core.handle_timeout(now);
                continue;
            }
            self.wait_at_most(deadline.map(|deadline| deadline.saturating_since(now)))?;
            if let Err(error) = batch.receive_waiting(&self.udp) {
                if is_transient(&error) {
                    // An ICMP error or a short memory; the transaction
                    // layer's timers deal with the silence.
                    tracing::debug!(%error, "udp receive");
                    continue;
                }
                return Err(error);
            }
            let now = self.now();
            for (bytes, from) in batch.datagrams() {
                if from != self.wake_from {
                    self.receive(now, Peer::udp(from), bytes);
                }
            }
        }
    }

    fn now(&self) -> Time {
        Time::from_epoch(self.epoch.elapsed())
    }

    fn receive(&mut self, now: Time, from: Peer, bytes: &[u8]) {
        self.outlets.received(from, bytes);
        self.core.handle_datagram(now, from, bytes);
    }

    /// Hands the core what the tokio side queued.
    fn take_inputs(&mut self) {
        // Cleared before the queue is read: an input queued after this
        // sends a wake datagram of its own.
        self.wake.pending.store(false, Ordering::Release);
        while let Ok(input) = self.inputs.try_recv() {
            let now = self.now();
            match input {
                Input::Command(command) => self.core.handle_command(now, command),
                Input::CommandsClosed => self.commands_open = false,
                Input::Message(from, bytes) => self.receive(now, from, &bytes),
                Input::Adopted(addr, sender) => self.outlets.adopted(addr, sender),
                Input::Closed(addr) => self.outlets.closed(addr),
            }
        }
    }

    /// Sets the socket's receive timeout so that the next wait ends by
    /// `wait` (within [`TIMER_SLACK`]), unless the one set already does
    /// and is not less than half of it.
    fn wait_at_most(&mut self, wait: Option<Duration>) -> io::Result<()> {
        let wait = wait.map(|wait| wait.max(MIN_WAIT));
        if !serves(self.timeout, wait) {
            self.udp.set_read_timeout(wait)?;
            self.timeout = wait;
        }
        Ok(())
    }

    /// Sends everything the core has queued and hands its events on.
    fn flush(&mut self) {
        while let Some(transmit) = self.core.poll_transmit() {
            let Some((payload, to)) = self.outlets.send(transmit) else {
                continue;
            };
            if let Err(error) = self.udp.send_to(&payload, to) {
                tracing::debug!(%error, %to, "udp send");
            }
        }
        self.outlets.hand_on(&mut self.core, &self.events);
    }
}

/// Whether a receive timeout of `set` (`None`: none) serves a wait of at
/// most `wait` (`None`: for ever): it ends the wait in time, within
/// [`TIMER_SLACK`], and not before half of it.
fn serves(set: Option<Duration>, wait: Option<Duration>) -> bool {
    match (set, wait) {
        (None, None) => true,
        (Some(set), Some(wait)) => set <= wait + TIMER_SLACK && set >= wait / 2,
        _ => false,
    }
}

/// Receive errors that say nothing about the socket itself.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::HostUnreachable
            | io::ErrorKind::NetworkUnreachable
            | io::ErrorKind::OutOfMemory
    )
}

#[cfg(test)]
mod tests;
