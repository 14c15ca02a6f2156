//! Taking what waits on a UDP socket in one system call, and sending
//! many datagrams in one.
//!
//! tokio learns that a socket is drained only from a receive that fails
//! with EAGAIN, so the obvious loop pays two receives per datagram when
//! datagrams come one at a time, as they do to a client and to a server
//! under steady load. `recvmmsg` into several buffers says more: fewer
//! datagrams than buffers means the queue was empty, and the driver
//! clears the socket's readiness itself (tokio's `try_io` with
//! `WouldBlock`) without the extra call. A datagram that arrives after
//! the call raises a new epoll edge, which tokio keeps apart from the
//! readiness cleared, so none is missed.
//!
//! A conference bridge sends one datagram per participant each frame, to
//! as many addresses: [`send_each`] hands them to `sendmmsg` a batch at a
//! time rather than one `sendto` each.

use std::cell::RefCell;
use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};

use nix::sys::socket::{MsgFlags, MultiHeaders, RecvMsg, SockaddrStorage, recvmmsg};
use rustix::net::addr::SocketAddrArg;
use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// The largest UDP datagram we accept; RFC 3261 §18.1.1 keeps UDP messages
/// well under this, and anything bigger is not SIP we want.
pub const MAX_DATAGRAM: usize = 65_535;

/// The most datagrams one call takes.
const MAX_SLOTS: usize = 16;
/// The most datagrams one `sendmmsg` sends.
const SEND_BATCH: usize = 32;

thread_local! {
    /// What `recvmmsg` fills in besides the data (sources, lengths,
    /// flags), made once per thread and size rather than once a call
    /// (three allocations): nix's are not `Send`, so a batch that moves
    /// between threads with its task cannot own them.
    static HEADERS: RefCell<Option<(usize, MultiHeaders<SockaddrStorage>)>> =
        const { RefCell::new(None) };
}

/// Buffers for one `recvmmsg`, and what the last one received.
pub struct ReceiveBatch {
    /// One slot per datagram, in one allocation: with SIP's slots of
    /// [`MAX_DATAGRAM`] bytes, that large, the allocator maps it fresh, so
    /// only the pages a datagram is written to become resident (slots of
    /// their own would each be zeroed, and resident, from the start).
    buffer: Vec<u8>,
    /// Bytes per slot: a longer datagram is dropped.
    slot_size: usize,
    /// Slot, length and source of each datagram the last call kept.
    received: Vec<(usize, usize, SocketAddr)>,
}

impl ReceiveBatch {
    /// Room for `slots` datagrams per call (at least 2: one more than the
    /// usual one is how the call tells that the queue is empty; at most
    /// [`MAX_SLOTS`]).
    pub fn new(slots: usize) -> ReceiveBatch {
        ReceiveBatch::with_slot_size(slots, MAX_DATAGRAM)
    }

    /// As [`Self::new`], for datagrams of at most `slot_size` bytes (media,
    /// whose packets are small and many).
    pub fn with_slot_size(slots: usize, slot_size: usize) -> ReceiveBatch {
        let slots = slots.clamp(2, MAX_SLOTS);
        let slot_size = slot_size.max(1);
        ReceiveBatch {
            buffer: vec![0u8; slots * slot_size],
            slot_size,
            received: Vec::with_capacity(slots),
        }
    }

    /// Receives without blocking what the socket holds, up to one datagram
    /// per slot. `Ok(true)`: every slot was filled and more may wait;
    /// `Ok(false)`: the queue is empty and the socket's readiness cleared.
    pub fn receive(&mut self, socket: &UdpSocket) -> io::Result<bool> {
        // tokio may know the socket drained and not call the closure.
        self.received.clear();
        let outcome = socket.try_io(Interest::READABLE, || {
            let count = self.take(socket.as_raw_fd(), MsgFlags::MSG_DONTWAIT)?;
            if count < self.slots() {
                // Drained: WouldBlock makes tokio clear the readiness.
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(())
        });
        match outcome {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Waits on a blocking socket for one datagram, then takes without
    /// waiting what else the socket holds, up to one per slot: one system
    /// call per burst. The wait ends at the socket's receive timeout
    /// (`SO_RCVTIMEO`) or at a signal, with no datagram and no error.
    /// Returns whether any datagram came (one too big for SIP included).
    pub fn receive_waiting(&mut self, socket: &std::net::UdpSocket) -> io::Result<bool> {
        match self.take(socket.as_raw_fd(), MsgFlags::MSG_WAITFORONE) {
            Ok(taken) => Ok(taken > 0),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    fn slots(&self) -> usize {
        self.buffer.len() / self.slot_size
    }

    /// One `recvmmsg` with `flags`; returns how many datagrams it took,
    /// counting those it then dropped.
    fn take(&mut self, fd: RawFd, flags: MsgFlags) -> io::Result<usize> {
        self.received.clear();
        let slots = self.slots();
        let received = &mut self.received;
        let buffer = &mut self.buffer;
        let slot_size = self.slot_size;
        HEADERS.with_borrow_mut(|kept| {
            if kept.as_ref().is_some_and(|(size, _)| *size != slots) {
                *kept = None;
            }
            let (_, headers) =
                kept.get_or_insert_with(|| (slots, MultiHeaders::preallocate(slots, None)));
            // One slice per slot, on the stack; the array's unused end
            // holds empty slices that are never passed.
            let mut chunks = buffer.chunks_mut(slot_size);
            let mut buffers: [[IoSliceMut<'_>; 1]; MAX_SLOTS] =
                std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or(&mut []))]);
            let results = recvmmsg(fd, headers, buffers.iter_mut().take(slots), flags, None)
                .map_err(io::Error::from)?;
            Ok(keep_received(results, received))
        })
    }

    /// The datagrams the last [`Self::receive`] or [`Self::receive_waiting`]
    /// took, with their sources; a truncated one is left out.
    pub fn datagrams(&self) -> impl Iterator<Item = (&[u8], SocketAddr)> {
        self.received.iter().filter_map(|&(slot, len, from)| {
            let start = slot * self.slot_size;
            Some((self.buffer.get(start..start + len)?, from))
        })
    }
}

/// Notes where each datagram `recvmmsg` took came from and how long it
/// is; a truncated one, or one with no IP source, is dropped and logged.
/// Returns how many it took, the dropped ones included.
fn keep_received<'a>(
    results: impl Iterator<Item = RecvMsg<'a, 'a, SockaddrStorage>>,
    received: &mut Vec<(usize, usize, SocketAddr)>,
) -> usize {
    let mut count = 0;
    for (slot, message) in results.enumerate() {
        count += 1;
        if message.flags.contains(MsgFlags::MSG_TRUNC) {
            tracing::debug!(
                bytes = message.bytes,
                "a datagram too big for its slot, dropped"
            );
            continue;
        }
        let Some(from) = message.address.as_ref().and_then(socket_addr) else {
            tracing::debug!(
                bytes = message.bytes,
                "a datagram with no IP source, dropped"
            );
            continue;
        };
        received.push((slot, message.bytes, from));
    }
    count
}

/// Sends each datagram to its address without waiting, up to
/// [`SEND_BATCH`] per system call. One that cannot go (a full socket
/// buffer, say) is dropped, as a lost packet is, and the rest still go:
/// a frame late for some is worse than one missing for one. Returns how
/// many were sent.
pub fn send_each<'a>(
    socket: &UdpSocket,
    datagrams: impl IntoIterator<Item = (&'a [u8], SocketAddr)>,
) -> usize {
    let mut datagrams = datagrams.into_iter();
    let mut batch: Vec<(&[u8], SocketAddr, SocketAddrAny)> = Vec::with_capacity(SEND_BATCH);
    let mut sent = 0;
    loop {
        batch.clear();
        batch.extend(
            datagrams
                .by_ref()
                .take(SEND_BATCH)
                .map(|(bytes, to)| (bytes, to, to.as_any())),
        );
        if batch.is_empty() {
            return sent;
        }
        let mut rest = batch.as_slice();
        while !rest.is_empty() {
            // sendmmsg stops at the first datagram that fails, and fails
            // only if that is the first: it is dropped, the rest go on.
            let taken = match send_batch(socket, rest) {
                Ok(count) if count > 0 => {
                    sent += count;
                    count
                }
                Ok(_) => 1,
                Err(error) => {
                    if let Some((_, to, _)) = rest.first() {
                        tracing::debug!(%error, %to, "datagram not sent");
                    }
                    1
                }
            };
            rest = rest.get(taken..).unwrap_or_default();
        }
    }
}

/// One `sendmmsg` of `datagrams`: how many the kernel took.
fn send_batch(
    socket: &UdpSocket,
    datagrams: &[(&[u8], SocketAddr, SocketAddrAny)],
) -> io::Result<usize> {
    let slices: Vec<[IoSlice<'_>; 1]> = datagrams
        .iter()
        .map(|(bytes, _, _)| [IoSlice::new(bytes)])
        .collect();
    let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> = datagrams
        .iter()
        .map(|_| SendAncillaryBuffer::default())
        .collect();
    let mut messages: Vec<MMsgHdr<'_>> = datagrams
        .iter()
        .zip(&slices)
        .zip(controls.iter_mut())
        .map(|(((_, _, to), slice), control)| MMsgHdr::new_with_addr(to, slice, control))
        .collect();
    // tokio learns of a full buffer from the WouldBlock, and then fails
    // at once, with no call, until the socket is writable again.
    socket.try_io(Interest::WRITABLE, || {
        rustix::net::sendmmsg(socket, &mut messages, SendFlags::DONTWAIT).map_err(io::Error::from)
    })
}

/// An IPv4 or IPv6 source as std writes it.
fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::from(*v4));
    }
    address.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
}

#[cfg(test)]
mod tests {
    // Tests may unwrap: a panic is a failed test.
    #![allow(clippy::unwrap_used)]

    use super::*;

    async fn pair() -> (UdpSocket, std::net::UdpSocket) {
        let receiver = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.connect(receiver.local_addr().unwrap()).unwrap();
        (receiver, sender)
    }

    /// Sends `texts` and waits until the first can be read.
    async fn send(receiver: &UdpSocket, sender: &std::net::UdpSocket, texts: &[&str]) {
        for text in texts {
            sender.send(text.as_bytes()).unwrap();
        }
        receiver.readable().await.unwrap();
    }

    /// Polled once: whether tokio would wait for the socket.
    fn not_readable(socket: &UdpSocket) -> bool {
        use std::future::Future;
        let mut readable = std::pin::pin!(socket.readable());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        readable.as_mut().poll(&mut cx).is_pending()
    }

    fn texts(batch: &ReceiveBatch) -> Vec<String> {
        batch
            .datagrams()
            .map(|(bytes, _)| String::from_utf8(bytes.to_vec()).unwrap())
            .collect()
    }

    #[tokio::test]
    async fn one_call_takes_what_waits_and_says_whether_more_may() {
        let (receiver, sender) = pair().await;
        let mut batch = ReceiveBatch::new(2);
        send(&receiver, &sender, &["one", "two", "three"]).await;
        assert!(batch.receive(&receiver).unwrap(), "both slots filled");
        assert_eq!(texts(&batch), ["one", "two"]);
        let from = batch.datagrams().next().unwrap().1;
        assert_eq!(from, sender.local_addr().unwrap());
        assert!(!batch.receive(&receiver).unwrap(), "one slot left empty");
        assert_eq!(texts(&batch), ["three"]);
        assert!(!batch.receive(&receiver).unwrap());
        assert!(texts(&batch).is_empty(), "nothing, and no error");
    }

    #[tokio::test]
    async fn batches_of_two_sizes_on_one_thread_each_fill_their_own_slots() {
        let (receiver, sender) = pair().await;
        let (mut small, mut large) = (ReceiveBatch::new(2), ReceiveBatch::new(4));
        send(&receiver, &sender, &["1", "2", "3", "4", "5", "6", "7"]).await;
        assert!(small.receive(&receiver).unwrap());
        assert_eq!(texts(&small), ["1", "2"]);
        assert!(large.receive(&receiver).unwrap());
        assert_eq!(texts(&large), ["3", "4", "5", "6"]);
        assert!(!small.receive(&receiver).unwrap());
        assert_eq!(texts(&small), ["7"]);
    }

    #[tokio::test]
    async fn each_datagram_goes_to_its_own_address_in_batches() {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // tokio knows a socket writable only once its driver has seen so.
        sender.writable().await.unwrap();
        let receivers: Vec<std::net::UdpSocket> = (0..3)
            .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        // More than one batch, so that the second goes too.
        let count = SEND_BATCH + 5;
        let texts: Vec<String> = (0..count).map(|i| format!("datagram {i}")).collect();
        let datagrams = texts.iter().enumerate().map(|(i, text)| {
            let to = receivers[i % receivers.len()].local_addr().unwrap();
            (text.as_bytes(), to)
        });
        assert_eq!(send_each(&sender, datagrams), count);
        let mut buffer = [0u8; 64];
        for (i, text) in texts.iter().enumerate() {
            let receiver = &receivers[i % receivers.len()];
            let (len, from) = receiver.recv_from(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], text.as_bytes());
            assert_eq!(from, sender.local_addr().unwrap());
        }
    }

    #[tokio::test]
    async fn a_datagram_that_cannot_go_is_dropped_and_the_rest_still_go() {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // tokio knows a socket writable only once its driver has seen so.
        sender.writable().await.unwrap();
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        // Above UDP's largest payload: the kernel refuses it (EMSGSIZE),
        // first in a batch and in the middle of one.
        let too_big = vec![0u8; 70_000];
        let datagrams = [
            (too_big.as_slice(), to),
            (b"one".as_slice(), to),
            (too_big.as_slice(), to),
            (b"two".as_slice(), to),
        ];
        assert_eq!(send_each(&sender, datagrams), 2);
        let mut buffer = [0u8; 64];
        for text in ["one", "two"] {
            let len = receiver.recv(&mut buffer).unwrap();
            assert_eq!(&buffer[..len], text.as_bytes());
        }
    }

    #[tokio::test]
    async fn small_slots_take_media_and_drop_what_does_not_fit() {
        let (receiver, sender) = pair().await;
        let mut batch = ReceiveBatch::with_slot_size(4, 8);
        send(&receiver, &sender, &["rtp", "far too long", "rtcp"]).await;
        assert!(!batch.receive(&receiver).unwrap());
        assert_eq!(texts(&batch), ["rtp", "rtcp"]);
    }

    #[tokio::test]
    async fn a_datagram_after_the_drain_wakes_the_socket_again() {
        let (receiver, sender) = pair().await;
        let mut batch = ReceiveBatch::new(4);
        send(&receiver, &sender, &["first"]).await;
        assert!(!batch.receive(&receiver).unwrap());
        assert_eq!(texts(&batch), ["first"]);
        assert!(
            not_readable(&receiver),
            "drained: readiness cleared without a receive that failed"
        );
        sender.send(b"second").unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), receiver.readable())
            .await
            .expect("readable again: the new datagram was not missed")
            .unwrap();
        assert!(!batch.receive(&receiver).unwrap());
        assert_eq!(texts(&batch), ["second"]);
    }
}
