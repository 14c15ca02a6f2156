//! A SIP port served by a thread of its own that blocks in `recvmmsg`:
//! the server's driver.
//!
//! A server under load gets nearly all its work from its UDP socket. The
//! tokio driver ([`SipDriver::run`]) pays, for each datagram, an epoll
//! wait, a task wake-up and a select over every input. This thread pays
//! one `recvmmsg` per burst and runs the core in place, as a Kamailio
//! receiver process does.
//!
//! Its timeout is the socket's `SO_RCVTIMEO`, which the kernel keeps on
//! its coarse timer wheel: rounded up to a tick (4 ms at HZ=250), and a
//! long wait may end up to an eighth late. So the thread asks for half
//! the time to the core's next deadline and comes closer in steps. It
//! shortens the timeout when it would end past the deadline, and
//! lengthens it only after it has fired too early to be worth the
//! wake-up: while datagrams come, each restarts it, so a short one costs
//! nothing. Under load, with the next deadline moving to and fro as
//! transactions start and end (a retransmission timer armed, then
//! disarmed by the answer), the timeout is not touched.
//!
//! TCP and the command channel stay on tokio: a forwarding task queues
//! what they bring for the thread (a bounded queue: a TCP peer faster than
//! the core waits, as it did for the tokio driver) and wakes it with a
//! datagram from a socket of its own, whose source the thread knows and
//! never hands the core. The core, the trace and the events are the same
//! as with the tokio driver.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as queue;
use std::sync::mpsc::{TryRecvError, TrySendError};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio::sync::{Notify, mpsc, oneshot};

use super::heap;
use super::outlets::{FromConnection, Outlets, spawn_adopted};
use super::sip::{SipDriver, UDP_SLOTS};
use super::udp::ReceiveBatch;
use crate::proto::{Peer, SipCore, Time};

/// The shortest wait asked of the kernel (zero would mean no timeout).
const MIN_WAIT: Duration = Duration::from_millis(1);
/// Inputs queued for the thread before the forwarding task waits.
const INPUT_QUEUE: usize = 1024;

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
        let (queue, inputs) = queue::sync_channel(INPUT_QUEUE);
        let taken = Arc::new(Notify::new());
        let forwarder = tokio::spawn(forward_inputs(
            Sources {
                commands,
                tcp: sockets.tcp,
                from_connections,
                to_driver: outlets.to_driver.clone(),
            },
            queue,
            Arc::clone(&taken),
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
            taken,
            wake,
            wake_from,
            outlets,
            events,
            timeout: None,
            timeout_fired: true,
            commands_open: true,
        };
        let (done_tx, done) = oneshot::channel();
        // The TCP connections the core opens are tasks on this runtime.
        let runtime = Handle::current();
        std::thread::Builder::new()
            .name("sip".into())
            .spawn(move || {
                let _runtime = runtime.enter();
                heap::reserve_heap(heap::SIP_HEAP_RESERVE);
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
        // The port's own address (and IPv6 scope), or loopback if the port
        // listens on every address.
        let mut to = port;
        match port.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => to.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            IpAddr::V6(ip) if ip.is_unspecified() => to.set_ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            _ => {}
        }
        let mut from = to;
        from.set_port(0);
        let socket = std::net::UdpSocket::bind(from)?;
        socket.connect(to)?;
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
        // A full receive queue drops it silently, but then the thread has
        // datagrams to wake for, and it looks at the queue every round.
        // An error (the address gone) is worth a line in the log.
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

/// What the forwarding task reads.
struct Sources<Command> {
    commands: mpsc::UnboundedReceiver<Command>,
    tcp: TcpListener,
    from_connections: mpsc::Receiver<FromConnection>,
    /// Handed to the connections it accepts.
    to_driver: mpsc::Sender<FromConnection>,
}

/// Queues commands, accepted connections and TCP messages for the thread,
/// waking it for each. When the queue is full it waits for the thread to
/// take some (`taken`), and the connections wait for it in turn.
async fn forward_inputs<Command>(
    sources: Sources<Command>,
    queue: queue::SyncSender<Input<Command>>,
    taken: Arc<Notify>,
    wake: Arc<Wake>,
) {
    let Sources {
        mut commands,
        tcp,
        mut from_connections,
        to_driver,
    } = sources;
    let mut commands_open = true;
    loop {
        let mut input = tokio::select! {
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
        loop {
            match queue.try_send(input) {
                Ok(()) => break,
                Err(TrySendError::Full(back)) => {
                    input = back;
                    wake.wake();
                    // A permit left by a take before this wait is not lost.
                    taken.notified().await;
                }
                Err(TrySendError::Disconnected(_)) => return, // The thread has ended.
            }
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
    /// Told when inputs were taken, for a forwarding task waiting on a
    /// full queue.
    taken: Arc<Notify>,
    wake: Arc<Wake>,
    /// Where wake datagrams come from.
    wake_from: SocketAddr,
    outlets: Outlets,
    events: mpsc::UnboundedSender<C::Event>,
    /// The socket's receive timeout as last set; `None`: none.
    timeout: Option<Duration>,
    /// The last wait ended with nothing received: the timeout fired.
    timeout_fired: bool,
    commands_open: bool,
}

impl<C: SipCore> PortThread<C> {
    fn run(mut self) -> io::Result<C> {
        let mut batch = ReceiveBatch::new(UDP_SLOTS);
        loop {
            self.take_inputs();
            self.flush();
            if self.wake.stopping.load(Ordering::Acquire) || self.core.is_finished() {
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
            match batch.receive_waiting(&self.udp) {
                Ok(received) => self.timeout_fired = !received,
                Err(error) if is_transient(&error) => {
                    // An ICMP error or a short memory; the transaction
                    // layer's timers deal with the silence.
                    tracing::debug!(%error, "udp receive");
                    continue;
                }
                Err(error) => return Err(error),
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
        // Cleared before the queue is read, and with a read-modify-write so
        // that it cannot be ordered after the read: an input queued after
        // this sends a wake datagram of its own.
        self.wake.pending.swap(false, Ordering::AcqRel);
        let mut took = false;
        loop {
            let input = match self.inputs.try_recv() {
                Ok(input) => input,
                Err(TryRecvError::Empty) => break,
                // The forwarding task is gone: nothing more will come.
                Err(TryRecvError::Disconnected) => {
                    self.commands_open = false;
                    break;
                }
            };
            took = true;
            let now = self.now();
            match input {
                Input::Command(command) => self.core.handle_command(now, command),
                Input::CommandsClosed => self.commands_open = false,
                Input::Message(from, bytes) => self.receive(now, from, &bytes),
                Input::Adopted(addr, sender) => self.outlets.adopted(addr, sender),
                Input::Closed(addr) => self.outlets.closed(addr),
            }
        }
        if took {
            self.taken.notify_one();
        }
    }

    /// Sets the socket's receive timeout for a wait of at most `wait`,
    /// unless the one set already [`serves`]; a new one is half of it.
    fn wait_at_most(&mut self, wait: Option<Duration>) -> io::Result<()> {
        if !serves(self.timeout, wait, self.timeout_fired) {
            let ask = wait.map(|wait| (wait / 2).max(MIN_WAIT));
            self.udp.set_read_timeout(ask)?;
            self.timeout = ask;
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
/// most `wait` (`None`: for ever), `fired` telling whether it ended the
/// last wait. Even an eighth late, as the kernel may be, it must end the
/// wait in time (or be the shortest wait there is). Once it has fired, it
/// must also not end the wait before a quarter, which would wake for
/// nothing; until then a timeout shorter than that costs nothing, since
/// every datagram restarts it, and changing it would cost a system call.
fn serves(set: Option<Duration>, wait: Option<Duration>, fired: bool) -> bool {
    match (set, wait) {
        (None, None) => true,
        (None, Some(_)) => false,
        (Some(_), None) => !fired,
        (Some(set), Some(wait)) => {
            set <= (wait - wait / 8).max(MIN_WAIT) && (!fired || set >= wait / 4)
        }
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
