//! The port's thread with a toy core, over real loopback sockets: what it
//! hands the core, what it sends for it, and when it wakes.

// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

use super::*;
use crate::net::SipSockets;
use crate::proto::Transmit;

/// Every wait in these tests is for something that must come; this only
/// bounds a failure.
const PATIENCE: Duration = Duration::from_secs(10);

/// A core that answers every message with "echo:" and the message, sends
/// what it is told to, and wakes when it is told to.
#[derive(Default)]
struct Echo {
    deadline: Option<Time>,
    received: Vec<String>,
    counted: usize,
    transmits: VecDeque<Transmit>,
    events: VecDeque<String>,
}

enum EchoCommand {
    Send(Peer, &'static str),
    WakeIn(Duration),
    Count,
}

impl SipCore for Echo {
    type Command = EchoCommand;
    type Event = String;

    fn handle_datagram(&mut self, _now: Time, from: Peer, bytes: &[u8]) {
        let text = String::from_utf8_lossy(bytes).into_owned();
        self.events.push_back(format!("got {text:?}"));
        self.received.push(text);
        let mut payload = b"echo:".to_vec();
        payload.extend_from_slice(bytes);
        self.transmits.push_back(Transmit {
            destination: from,
            payload,
        });
    }

    fn handle_command(&mut self, now: Time, command: EchoCommand) {
        match command {
            EchoCommand::Send(to, text) => self.transmits.push_back(Transmit {
                destination: to,
                payload: text.as_bytes().to_vec(),
            }),
            EchoCommand::WakeIn(after) => self.deadline = Some(now + after),
            EchoCommand::Count => self.counted += 1,
        }
    }

    fn handle_timeout(&mut self, now: Time) {
        if self.deadline.is_some_and(|deadline| deadline <= now) {
            self.deadline = None;
            self.events.push_back("timeout".to_owned());
        }
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<String> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.deadline
    }
}

struct Running {
    port: SocketAddr,
    commands: mpsc::UnboundedSender<EchoCommand>,
    events: mpsc::UnboundedReceiver<String>,
    run: JoinHandle<io::Result<Echo>>,
}

async fn start() -> Running {
    let sockets = SipSockets::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let port = sockets.local_addr().unwrap();
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (events_tx, events) = mpsc::unbounded_channel();
    let driver = SipDriver::new(Echo::default(), sockets, Instant::now());
    let run = tokio::spawn(driver.run_on_thread(commands_rx, events_tx));
    Running {
        port,
        commands,
        events,
        run,
    }
}

/// Closes the commands and waits for the run to end, which it does once
/// nothing is due: the core, as it ended.
async fn finish(
    commands: mpsc::UnboundedSender<EchoCommand>,
    run: JoinHandle<io::Result<Echo>>,
) -> Echo {
    drop(commands);
    timeout(PATIENCE, run)
        .await
        .expect("the run ends once commands close and nothing is due")
        .unwrap()
        .unwrap()
}

async fn next_event(running: &mut Running) -> String {
    timeout(PATIENCE, running.events.recv())
        .await
        .expect("an event in time")
        .expect("the driver still running")
}

async fn receive(socket: &UdpSocket) -> String {
    let mut buffer = [0u8; 1500];
    let len = timeout(PATIENCE, socket.recv(&mut buffer))
        .await
        .expect("a datagram in time")
        .unwrap();
    String::from_utf8_lossy(&buffer[..len]).into_owned()
}

#[tokio::test]
async fn datagrams_reach_the_core_and_its_answers_go_out() {
    let mut running = start().await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    peer.connect(running.port).await.unwrap();
    peer.send(b"hello").await.unwrap();
    assert_eq!(receive(&peer).await, "echo:hello");
    assert_eq!(next_event(&mut running).await, "got \"hello\"");
}

#[tokio::test]
async fn a_command_wakes_the_thread_and_its_wake_up_is_not_sip() {
    let mut running = start().await;
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = Peer::udp(peer.local_addr().unwrap());
    for text in ["one", "two", "three"] {
        running.commands.send(EchoCommand::Send(to, text)).unwrap();
        assert_eq!(receive(&peer).await, text);
    }
    let core = finish(running.commands, running.run).await;
    assert!(
        core.received.is_empty(),
        "wake-ups were handed to the core: {:?}",
        core.received
    );
    assert!(
        running.events.try_recv().is_err(),
        "no event but those asked"
    );
}

#[tokio::test]
async fn the_core_is_woken_at_its_deadline() {
    let mut running = start().await;
    let asked = Instant::now();
    running
        .commands
        .send(EchoCommand::WakeIn(Duration::from_millis(30)))
        .unwrap();
    assert_eq!(next_event(&mut running).await, "timeout");
    assert!(
        asked.elapsed() >= Duration::from_millis(30),
        "not before it"
    );
}

#[tokio::test]
async fn tcp_messages_reach_the_core_and_answers_go_back_on_the_connection() {
    let mut running = start().await;
    let mut stream = TcpStream::connect(running.port).await.unwrap();
    let request = "OPTIONS sip:port SIP/2.0\r\nContent-Length: 0\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    assert_eq!(next_event(&mut running).await, format!("got {request:?}"));
    let mut answer = vec![0u8; 5 + request.len()];
    timeout(PATIENCE, stream.read_exact(&mut answer))
        .await
        .expect("the answer in time")
        .unwrap();
    assert_eq!(
        String::from_utf8(answer).unwrap(),
        format!("echo:{request}")
    );
}

#[tokio::test]
async fn the_thread_opens_tcp_connections_on_tokio() {
    let running = start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let to = Peer::tcp(listener.local_addr().unwrap());
    running
        .commands
        .send(EchoCommand::Send(to, "over tcp"))
        .unwrap();
    let (mut stream, _) = timeout(PATIENCE, listener.accept())
        .await
        .expect("a connection in time")
        .unwrap();
    let mut text = vec![0u8; "over tcp".len()];
    timeout(PATIENCE, stream.read_exact(&mut text))
        .await
        .expect("the message in time")
        .unwrap();
    assert_eq!(text, b"over tcp");
}

#[tokio::test]
async fn inputs_beyond_the_queue_wait_for_room_and_none_is_lost() {
    let running = start().await;
    let sent = 3 * INPUT_QUEUE;
    for _ in 0..sent {
        running.commands.send(EchoCommand::Count).unwrap();
    }
    let core = finish(running.commands, running.run).await;
    assert_eq!(core.counted, sent);
}

#[tokio::test]
async fn dropping_the_driver_stops_the_thread_and_closes_the_port() {
    let running = start().await;
    running.run.abort();
    // The port goes once the thread has returned: loopback then refuses
    // a datagram to it, and a connected socket hears of it.
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    peer.connect(running.port).await.unwrap();
    let refused = timeout(PATIENCE, async {
        let mut buffer = [0u8; 64];
        loop {
            // The refusal comes back from whichever call is next.
            if let Err(error) = peer.send(b"anyone?").await {
                break error.kind();
            }
            let answer = timeout(Duration::from_millis(50), peer.recv(&mut buffer)).await;
            if let Ok(Err(error)) = answer {
                break error.kind();
            }
        }
    })
    .await
    .expect("the port closed");
    assert_eq!(refused, io::ErrorKind::ConnectionRefused);
}

#[test]
fn the_receive_timeout_moves_only_when_a_deadline_would_be_missed_or_far_off() {
    let ms = Duration::from_millis;
    let fired = true;
    assert!(serves(None, None, fired), "no deadline, no timeout");
    assert!(
        !serves(None, Some(ms(500)), fired),
        "a deadline needs a timeout"
    );
    assert!(
        !serves(Some(ms(500)), None, fired),
        "a timeout left wakes for nothing"
    );
    assert!(
        serves(Some(ms(250)), Some(ms(500)), fired),
        "half, as asked"
    );
    assert!(
        serves(Some(ms(437)), Some(ms(500)), fired),
        "an eighth late is in time"
    );
    assert!(
        !serves(Some(ms(438)), Some(ms(500)), fired),
        "the deadline may be missed"
    );
    assert!(
        serves(Some(ms(125)), Some(ms(500)), fired),
        "early by a quarter at most"
    );
    assert!(
        !serves(Some(ms(124)), Some(ms(500)), fired),
        "too many early wakes"
    );
    // Under load the next deadline is always a few milliseconds off: the
    // shortest wait serves them all, and the timeout is left alone.
    for wait in [0, 1, 2, 3, 4] {
        assert!(serves(Some(MIN_WAIT), Some(ms(wait)), fired), "{wait} ms");
    }
}

#[test]
fn a_short_timeout_stays_while_datagrams_restart_it() {
    let ms = Duration::from_millis;
    let received = false;
    // Under MESSAGE load, the next deadline is a forwarded request's
    // Timer E (500 ms) until its answer disarms it, then an older Timer K
    // seconds off, and so on with every MESSAGE: one timeout serves both
    // while datagrams keep coming.
    let mut set = None;
    let mut changes = 0;
    for wait in [500, 3_500, 500, 3_498, 500, 3_496, 500, 3_494].map(ms) {
        if !serves(set, Some(wait), received) {
            set = Some(wait / 2);
            changes += 1;
        }
    }
    assert_eq!(changes, 1, "set once, at {set:?}");
    assert!(
        serves(Some(MIN_WAIT), Some(ms(30_000)), received),
        "a burst's shortest wait stays until it fires"
    );
    assert!(
        serves(Some(MIN_WAIT), None, received),
        "and so does any timeout once no deadline is left"
    );
    assert!(
        !serves(Some(ms(500)), Some(ms(100)), received),
        "but a deadline that would be missed moves it at once"
    );
    assert!(
        !serves(Some(MIN_WAIT), Some(ms(30_000)), true),
        "once it has fired, it is lengthened"
    );
}

#[test]
fn waits_asked_for_come_closer_to_a_deadline_in_few_steps() {
    // The timeouts set while nothing comes in, for a deadline 32 s off
    // (Timer J), the kernel an eighth late each time: each is half of
    // what is left, so the thread wakes some fifteen times, and not after
    // the deadline by more than the shortest wait.
    let deadline = Duration::from_secs(32);
    let (mut now, mut set, mut wakes) = (Duration::ZERO, None, 0);
    while now < deadline {
        let wait = deadline - now;
        if !serves(set, Some(wait), true) {
            set = Some((wait / 2).max(MIN_WAIT));
        }
        let timeout = set.unwrap();
        assert!(now + timeout <= deadline.max(now + MIN_WAIT));
        now += timeout + timeout / 8;
        wakes += 1;
    }
    assert!(wakes <= 16, "{wakes} wake-ups");
    assert!(
        now - deadline <= MIN_WAIT + MIN_WAIT / 8,
        "late by {:?}",
        now - deadline
    );
}
