//! What the SIP drivers share: where the core's messages go besides the
//! UDP socket (TCP connections, the trace) and where its media requests
//! and events go, and the tasks that run TCP connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::SystemTime;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::proto::framing::StreamFramer;
use crate::proto::{IoRequest, Peer, SipCore, Transmit, Transport, stun};
use crate::trace::{Direction, TraceEntry};

/// Messages queued for one TCP connection before we drop rather than block
/// the core.
pub(super) const CONNECTION_QUEUE: usize = 256;

/// What connection tasks tell the driver.
pub(super) enum FromConnection {
    Message(Peer, Vec<u8>),
    Closed(SocketAddr),
}

/// The core's outputs other than UDP datagrams, and the trace.
pub(super) struct Outlets {
    connections: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    /// Handed to every connection task.
    pub(super) to_driver: mpsc::Sender<FromConnection>,
    /// Where the core's I/O requests (media) go, if anyone handles them.
    pub(super) io_requests: Option<mpsc::UnboundedSender<IoRequest>>,
    /// Where a copy of every message goes, if a trace is wanted.
    pub(super) trace: Option<Tracer>,
}

impl Outlets {
    pub(super) fn new(to_driver: mpsc::Sender<FromConnection>) -> Outlets {
        Outlets {
            connections: HashMap::new(),
            to_driver,
            io_requests: None,
            trace: None,
        }
    }

    /// Traces a message received, before the core has it.
    pub(super) fn received(&self, from: Peer, bytes: &[u8]) {
        if let Some(tracer) = &self.trace {
            tracer.record(Direction::Received, from, bytes);
        }
    }

    /// Traces a message to send, and queues it if it goes over TCP; a UDP
    /// datagram comes back for the driver to send.
    pub(super) fn send(&mut self, transmit: Transmit) -> Option<(Vec<u8>, SocketAddr)> {
        let Transmit {
            destination,
            payload,
        } = transmit;
        if let Some(tracer) = &self.trace {
            tracer.record(Direction::Sent, destination, &payload);
        }
        match destination.transport {
            Transport::Udp => Some((payload, destination.addr)),
            Transport::Tcp => {
                self.send_tcp(destination.addr, payload);
                None
            }
        }
    }

    /// Hands on the core's events and I/O requests.
    pub(super) fn hand_on<C: SipCore>(
        &self,
        core: &mut C,
        events: &mpsc::UnboundedSender<C::Event>,
    ) {
        while let Some(event) = core.poll_event() {
            // A front end that went away is not the core's problem.
            let _ = events.send(event);
        }
        while let Some(request) = core.poll_io_request() {
            match &self.io_requests {
                Some(sender) => {
                    let _ = sender.send(request);
                }
                None => tracing::debug!(?request, "an I/O request nobody handles"),
            }
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

    /// Runs an accepted connection in a task of its own.
    pub(super) fn adopt(&mut self, stream: TcpStream, from: SocketAddr) {
        let sender = spawn_adopted(stream, from, self.to_driver.clone());
        self.adopted(from, sender);
    }

    /// Records a connection accepted elsewhere, and where its messages go.
    pub(super) fn adopted(&mut self, from: SocketAddr, sender: mpsc::Sender<Vec<u8>>) {
        self.connections.insert(from, sender);
    }

    pub(super) fn closed(&mut self, addr: SocketAddr) {
        self.connections.remove(&addr);
    }

    /// Connects in the background; messages queue until the connection is
    /// up. Needs a tokio runtime's context.
    fn open_connection(&mut self, addr: SocketAddr) -> mpsc::Sender<Vec<u8>> {
        let (sender, receiver) = mpsc::channel(CONNECTION_QUEUE);
        self.connections.insert(addr, sender.clone());
        let to_driver = self.to_driver.clone();
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

/// Runs an accepted connection in a task of its own; returns where its
/// messages to send go.
pub(super) fn spawn_adopted(
    stream: TcpStream,
    from: SocketAddr,
    to_driver: mpsc::Sender<FromConnection>,
) -> mpsc::Sender<Vec<u8>> {
    let (sender, receiver) = mpsc::channel(CONNECTION_QUEUE);
    tokio::spawn(serve_connection(stream, from, receiver, to_driver));
    sender
}

/// The trace hook: our address and the channel the copies go to.
pub(super) struct Tracer {
    pub(super) local: SocketAddr,
    pub(super) entries: mpsc::UnboundedSender<TraceEntry>,
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
