//! `confab` itself: the terminal client, wired to its client core, its
//! history, and in local mode to a server it starts when none answers.
//!
//! The pieces meet only through channels: the driver owns the client
//! core, the TUI owns its state, and a small relay between them keeps the
//! last buddy list on disk, so the list shows at once on the next start and
//! survives on servers that do not keep it.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use crate::client::{Buddy, Client, ClientConfig, Command, Event};
use crate::local::{ServeOptions, Service, ServiceError, server_answers};
use crate::media::device::{open_input_or_silence, open_output_or_null};
use crate::media::source::{AudioEvent, AudioInSpec, AudioOutSpec};
use crate::net::media::{AudioEnds, Levels, MediaOptions, MediaSockets, run_media};
use crate::net::{SipDriver, SipSockets};
use crate::proto::Peer;
use crate::store::{History, HistoryEntry, StoreError};
use crate::trace::TraceEntry;
use crate::trace::sink::{self, TraceOutputs};
use crate::tui::{self, CallStats, ConversationLog, LoggedMessage, MediaMeters, TuiConfig};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the local server: {0}")]
    Service(#[from] ServiceError),
    #[error("the history in {path}: {source}")]
    History { path: PathBuf, source: StoreError },
    #[error("the config: {0}")]
    Config(String),
    #[error("the trace file: {0}")]
    Trace(io::Error),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Who signs in where, with what (the command line and config resolved).
#[derive(Debug, Clone)]
pub struct SignIn {
    /// No server was named: use or start the local one.
    pub local_mode: bool,
    pub server: SocketAddr,
    pub user: String,
    pub domain: String,
    pub password: String,
    pub register_expiry: Duration,
    pub keepalive: Duration,
}

impl SignIn {
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }

    /// The client core's configuration on a bound local address, with the
    /// RTP port the media task bound.
    pub fn client_config(&self, local: SocketAddr, media_port: u16) -> ClientConfig {
        ClientConfig {
            user: self.user.clone(),
            domain: self.domain.clone(),
            password: self.password.clone(),
            server: Peer::udp(self.server),
            local,
            register_expiry: self.register_expiry,
            keepalive_interval: self.keepalive,
            media_port,
            seed: rand::random(),
        }
    }
}

/// Binds the client's own SIP port: loopback for a loopback server, else
/// all interfaces, with Contact naming the address that reaches the server.
pub async fn bind_client(server: SocketAddr) -> io::Result<(SipSockets, SocketAddr)> {
    let ip = if server.ip().is_loopback() {
        server.ip()
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    };
    let sockets = SipSockets::bind(SocketAddr::new(ip, 0)).await?;
    let mut local = sockets.local_addr()?;
    if local.ip().is_unspecified() {
        let probe = std::net::UdpSocket::bind("0.0.0.0:0")?;
        probe.connect(server)?;
        local.set_ip(probe.local_addr()?.ip());
    }
    Ok((sockets, local))
}

/// Where a client's call audio comes from and goes to.
#[derive(Debug, Clone, Default)]
pub struct AudioOptions {
    pub input: AudioInSpec,
    pub output: AudioOutSpec,
    /// Incoming RTP dropped on purpose, 0.0 to 1.0 (`--rtp-loss`).
    pub rtp_loss: f64,
    /// Which packets are dropped, if it must repeat (`--rtp-loss-seed`).
    pub rtp_loss_seed: Option<u64>,
}

/// Where the trace files go (`--trace`, `--trace-pcap`); none by default.
#[derive(Debug, Clone, Default)]
pub struct TraceFiles {
    pub text: Option<PathBuf>,
    pub pcap: Option<PathBuf>,
}

impl TraceFiles {
    /// Starts writing the files (and copying to `live`, if given); `None`
    /// when nothing wants the entries.
    pub fn start(
        &self,
        live: Option<mpsc::UnboundedSender<TraceEntry>>,
    ) -> io::Result<
        Option<(
            mpsc::UnboundedSender<TraceEntry>,
            tokio::task::JoinHandle<()>,
        )>,
    > {
        let outputs = TraceOutputs {
            file: self.text.clone(),
            pcap: self.pcap.clone(),
            live,
        };
        if !outputs.is_wanted() {
            return Ok(None);
        }
        sink::start(outputs).map(Some)
    }
}

/// A running client: its core on a driver, and its media task.
pub struct ClientHandle {
    /// The address of its SIP port, as its Contact names it.
    pub local: SocketAddr,
    pub commands: mpsc::UnboundedSender<Command>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub levels: watch::Receiver<Levels>,
    /// Why the audio devices could not be opened, once; calls then go on
    /// without sound.
    pub audio_warning: Option<String>,
    pub driver: tokio::task::JoinHandle<io::Result<Client>>,
    pub media: tokio::task::JoinHandle<()>,
    /// Sound devices that changed under a call.
    pub device_events: mpsc::UnboundedReceiver<AudioEvent>,
}

/// A device change as the front ends' event.
pub fn audio_event(event: &AudioEvent) -> Event {
    let state = match event {
        AudioEvent::Fallback { .. } => "fallback",
        AudioEvent::Lost { .. } => "unavailable",
    };
    Event::Audio {
        state,
        reason: event.to_string(),
    }
}

/// Binds the SIP and RTP ports, opens the audio ends, and starts the
/// client core and its media task; with `trace`, every SIP message is
/// copied there.
pub async fn start_client(
    sign_in: &SignIn,
    audio: &AudioOptions,
    trace: Option<mpsc::UnboundedSender<TraceEntry>>,
) -> Result<ClientHandle, AppError> {
    let (sockets, local) = bind_client(sign_in.server).await?;
    let media_sockets = MediaSockets::bind(local.ip()).await?;
    let media_port = media_sockets.rtp_port()?;
    let (input, input_error) = open_input_or_silence(&audio.input);
    let (output, output_error) = open_output_or_null(&audio.output);
    let audio_warning = match (input_error, output_error) {
        (None, None) => None,
        (input, output) => Some(
            [
                input.map(|e| format!("input: {e}")),
                output.map(|e| format!("output: {e}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ")
                + "; calls run without that audio",
        ),
    };
    let (io_tx, io_rx) = mpsc::unbounded_channel();
    let (levels_tx, levels) = watch::channel(Levels::default());
    let (device_tx, device_events) = mpsc::unbounded_channel();
    let options = MediaOptions {
        incoming_loss: audio.rtp_loss,
        loss_seed: audio.rtp_loss_seed,
        device_events: Some(device_tx),
    };
    let media = tokio::spawn(run_media(
        media_sockets,
        io_rx,
        AudioEnds { input, output },
        levels_tx,
        options,
    ));
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (events_tx, events) = mpsc::unbounded_channel();
    let core = Client::new(sign_in.client_config(local, media_port));
    // A client sleeps long between keep-alives: one wake-up each.
    let mut driver = SipDriver::new(core, sockets, tokio::time::Instant::now())
        .with_io_requests(io_tx)
        .with_timerfd();
    if let Some(trace) = trace {
        driver = driver.with_trace(trace);
    }
    let driver = tokio::spawn(driver.run(commands_rx, events_tx));
    Ok(ClientHandle {
        local,
        commands,
        events,
        levels,
        audio_warning,
        driver,
        media,
        device_events,
    })
}

/// Runs the terminal client until the user quits.
///
/// The trace pane always gets the SIP messages; `trace` also writes them
/// to files. When this process starts local mode's server, the messages
/// traced are the server's, which include everything this client sends
/// and receives and also what the focus and the MCUs say to the others;
/// otherwise they are this client's.
pub async fn run_tui(
    sign_in: SignIn,
    data: PathBuf,
    tui_config: TuiConfig,
    audio: AudioOptions,
    trace: TraceFiles,
) -> Result<(), AppError> {
    // A bad key map is reported before anything starts.
    tui_config
        .validate()
        .map_err(|error| AppError::Config(error.to_string()))?;
    let (pane_tx, pane_rx) = mpsc::unbounded_channel();
    let (trace_tx, trace_task) = match trace.start(Some(pane_tx)).map_err(AppError::Trace)? {
        Some((sender, task)) => (Some(sender), Some(task)),
        None => (None, None),
    };
    let local_server = if sign_in.local_mode {
        let attempt = || async {
            if server_answers(sign_in.server, &sign_in.domain, Duration::from_millis(300)).await {
                return Ok(None);
            }
            start_local_server(&sign_in, &data, trace_tx.clone())
                .await
                .map(Some)
        };
        let pause = || tokio::time::sleep(LOCAL_PORT_RETRY);
        retry_while_port_in_use(LOCAL_PORT_TRIES, attempt, pause).await?
    } else {
        None
    };
    let client_trace = if local_server.is_some() {
        None
    } else {
        trace_tx.clone()
    };
    drop(trace_tx);

    let client = start_client(&sign_in, &audio, client_trace).await?;
    let trace_feed = tui::run::TraceFeed {
        entries: pane_rx,
        own: Some(client.local),
        server: Some(sign_in.server),
    };
    if let Some(warning) = &client.audio_warning {
        tracing::warn!(%warning, "audio");
    }
    let ClientHandle {
        local: _,
        commands,
        events: mut events_rx,
        driver,
        media,
        levels: mut media_levels,
        mut device_events,
        audio_warning,
    } = client;
    // The meters and figures of the call bar.
    let (meters_tx, meters) = watch::channel(MediaMeters::default());
    let meters_task = tokio::spawn(async move {
        while media_levels.changed().await.is_ok() {
            let levels = *media_levels.borrow_and_update();
            if meters_tx.send(meters_of(&levels)).is_err() {
                break;
            }
        }
    });

    let aor = sign_in.aor();
    let cache = data.join(format!("buddies-{}@{}.json", sign_in.user, sign_in.domain));
    if let Some(buddies) = load_buddies(&cache) {
        let _ = commands.send(Command::UseLocalBuddies { buddies });
    }
    let (tui_events, tui_events_rx) = mpsc::unbounded_channel();
    if let Some(warning) = audio_warning {
        let _ = tui_events.send(Event::Audio {
            state: "unavailable",
            reason: warning,
        });
    }
    let relay = tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                event = events_rx.recv() => match event {
                    Some(event) => event,
                    None => break,
                },
                Some(device) = device_events.recv() => audio_event(&device),
            };
            if let Event::Buddies { buddies } = &event {
                if let Err(error) = save_buddies(&cache, buddies) {
                    tracing::warn!(%error, file = %cache.display(), "buddy list not saved");
                }
            }
            if tui_events.send(event).is_err() {
                break;
            }
        }
    });

    let history_path = data.join(format!(
        "history-{}@{}.sqlite3",
        sign_in.user, sign_in.domain
    ));
    History::precheck(&history_path).map_err(|source| AppError::History {
        path: history_path.clone(),
        source,
    })?;
    let log = Box::new(HistoryLog::lazy(history_path, aor.clone()));
    let config = TuiConfig {
        own_uri: aor,
        ..tui_config
    };
    let result = tui::run(
        config,
        commands,
        tui_events_rx,
        log,
        meters,
        Some(trace_feed),
    )
    .await;
    meters_task.abort();
    let _ = tokio::time::timeout(Duration::from_secs(3), driver).await;
    relay.abort();
    media.abort();
    if let Some((stop, server)) = local_server {
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    }
    if let Some(task) = trace_task {
        // The last messages reach the file once every sender is gone.
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    result?;
    Ok(())
}

/// What the call bar shows of the media task's report: peak levels, and
/// the receiving side's figures (RTCP and the jitter buffer).
fn meters_of(levels: &Levels) -> MediaMeters {
    let millis = |duration: Duration| duration.as_secs_f32() * 1000.0;
    MediaMeters {
        input: levels.input.peak,
        output: levels.output.peak,
        stats: levels.call.map(|call| CallStats {
            codec: call.codec,
            loss_percent: (call.loss_received * 100.0) as f32,
            jitter_ms: millis(call.jitter_received),
            round_trip_ms: call.round_trip.map(millis),
            buffer_ms: millis(call.jitter.current_delay),
        }),
        speaking: levels.speaking,
    }
}

/// A confab that has just quit keeps the local port for the second or so
/// of its shutdown (up to 3 s), answering nothing: local mode waits that
/// out (4 s in all) rather than failing to start.
const LOCAL_PORT_TRIES: u32 = 16;
const LOCAL_PORT_RETRY: Duration = Duration::from_millis(250);

/// Runs `attempt` until it succeeds, fails otherwise than on a port in
/// use, or has been tried `tries` times, with a `pause` between tries.
async fn retry_while_port_in_use<T, A, AF, P, PF>(
    tries: u32,
    mut attempt: A,
    mut pause: P,
) -> Result<T, AppError>
where
    A: FnMut() -> AF,
    AF: Future<Output = Result<T, AppError>>,
    P: FnMut() -> PF,
    PF: Future<Output = ()>,
{
    let mut tried = 0;
    loop {
        tried += 1;
        match attempt().await {
            Err(AppError::Service(ServiceError::Bind { addr, source }))
                if source.kind() == io::ErrorKind::AddrInUse && tried < tries =>
            {
                tracing::info!(%addr, "the local port is held by a server that does not answer; waiting");
                pause().await;
            }
            result => return result,
        }
    }
}

/// Local mode's own server, with the demo directory and demo buddies.
async fn start_local_server(
    sign_in: &SignIn,
    data: &Path,
    trace: Option<mpsc::UnboundedSender<TraceEntry>>,
) -> Result<(oneshot::Sender<()>, tokio::task::JoinHandle<()>), AppError> {
    let options = ServeOptions {
        listen: sign_in.server,
        domain: sign_in.domain.clone(),
        data: data.to_owned(),
        directory_csv: None,
        demo: true,
        demo_buddies: true,
        trusted_peers: Vec::new(),
        trunk: None,
        access_number: None,
        no_auth: false,
        trace,
    };
    let service = Service::bind(options).await?;
    tracing::info!(addr = %sign_in.server, "no server answered; started the local one");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(error) = service.run(shutdown).await {
            tracing::error!(%error, "local server stopped");
        }
    });
    Ok((stop, task))
}

/// The buddy list as a small JSON file; written whole, atomically.
fn save_buddies(path: &Path, buddies: &[Buddy]) -> io::Result<()> {
    let list: Vec<serde_json::Value> = buddies
        .iter()
        .map(|buddy| serde_json::json!({"uri": buddy.uri, "display": buddy.display, "group": buddy.group}))
        .collect();
    let text = serde_json::to_string_pretty(&list).map_err(io::Error::other)?;
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(partial, path)
}

fn load_buddies(path: &Path) -> Option<Vec<Buddy>> {
    let text = std::fs::read_to_string(path).ok()?;
    let list: Vec<serde_json::Value> = match serde_json::from_str(&text) {
        Ok(list) => list,
        Err(error) => {
            tracing::warn!(%error, file = %path.display(), "saved buddy list unreadable; ignored");
            return None;
        }
    };
    let field = |value: &serde_json::Value, name: &str| {
        value.get(name).and_then(|v| v.as_str()).map(str::to_owned)
    };
    Some(
        list.iter()
            .filter_map(|value| {
                Some(Buddy {
                    uri: field(value, "uri")?,
                    display: field(value, "display").unwrap_or_default(),
                    group: field(value, "group").unwrap_or_default(),
                })
            })
            .collect(),
    )
}

/// The TUI's conversation log over the SQLite history, opened when a
/// conversation first needs it (start-up only prechecks the file): a client
/// that is signed in and left alone never runs SQLite, whose code would
/// otherwise stay resident.
struct HistoryLog {
    path: PathBuf,
    history: std::cell::OnceCell<Option<History>>,
    account: String,
}

impl HistoryLog {
    fn lazy(path: PathBuf, account: String) -> Self {
        HistoryLog {
            path,
            history: std::cell::OnceCell::new(),
            account,
        }
    }

    /// The history, opened on first use; `None` (logged once) when the file
    /// cannot be opened after all, e.g. damaged since start-up.
    fn history(&self) -> Option<&History> {
        self.history
            .get_or_init(|| match History::open(&self.path) {
                Ok(history) => Some(history),
                Err(error) => {
                    tracing::error!(%error, path = %self.path.display(), "history not opened");
                    None
                }
            })
            .as_ref()
    }
}

impl ConversationLog for HistoryLog {
    fn load(&self, peer: &str, limit: usize) -> Vec<LoggedMessage> {
        let Some(history) = self.history() else {
            return Vec::new();
        };
        match history.conversation(&self.account, peer, limit) {
            Ok(entries) => entries.into_iter().map(logged).collect(),
            Err(error) => {
                tracing::error!(%error, "history unreadable");
                Vec::new()
            }
        }
    }

    fn append(&mut self, message: &LoggedMessage) {
        let entry = HistoryEntry {
            account: self.account.clone(),
            peer: message.peer.clone(),
            outgoing: message.outgoing,
            text: message.text.clone(),
            at_ms: message.at_ms,
            delivered: message.delivered,
            reason: message.reason.clone(),
        };
        let Some(history) = self.history() else {
            tracing::error!("message not saved to history: it could not be opened");
            return;
        };
        if let Err(error) = history.append(&entry) {
            tracing::error!(%error, "message not saved to history");
        }
    }

    fn search(&self, query: &str, limit: usize) -> Vec<LoggedMessage> {
        let Some(history) = self.history() else {
            return Vec::new();
        };
        match history.search(&self.account, query, limit) {
            Ok(entries) => entries.into_iter().map(logged).collect(),
            Err(error) => {
                tracing::error!(%error, "history search failed");
                Vec::new()
            }
        }
    }
}

fn logged(entry: HistoryEntry) -> LoggedMessage {
    LoggedMessage {
        peer: entry.peer,
        outgoing: entry.outgoing,
        text: entry.text,
        at_ms: entry.at_ms,
        delivered: entry.delivered,
        reason: entry.reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buddy_cache_round_trips_and_survives_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("buddies.json");
        let buddies = vec![Buddy {
            uri: "sip:amy@confab.local".into(),
            display: "Amy \"A\" Rivera".into(),
            group: "Team".into(),
        }];
        save_buddies(&path, &buddies).unwrap();
        assert_eq!(load_buddies(&path), Some(buddies));
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(load_buddies(&path), None);
        assert_eq!(load_buddies(&dir.path().join("missing.json")), None);
    }

    #[test]
    fn history_entries_keep_their_delivery_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = HistoryLog::lazy(
            dir.path().join("history.sqlite3"),
            "sip:vivian@confab.local".into(),
        );
        let message = LoggedMessage {
            peer: "sip:amy@confab.local".into(),
            outgoing: true,
            text: "hello\nthere ✓".into(),
            at_ms: 1_800_000_000_000,
            delivered: Some(false),
            reason: Some("480 Temporarily Unavailable".into()),
        };
        log.append(&message);
        assert_eq!(log.load("sip:amy@confab.local", 10), vec![message.clone()]);
        assert_eq!(log.search("there", 10), vec![message]);
    }

    fn port_in_use() -> AppError {
        AppError::Service(ServiceError::Bind {
            addr: "127.0.0.1:5060".parse().unwrap(),
            source: io::ErrorKind::AddrInUse.into(),
        })
    }

    #[tokio::test]
    async fn local_mode_waits_for_a_port_held_by_a_server_shutting_down() {
        let attempts = std::cell::Cell::new(0);
        let pauses = std::cell::Cell::new(0);
        let started = retry_while_port_in_use(
            16,
            || async {
                attempts.set(attempts.get() + 1);
                if attempts.get() < 3 {
                    Err(port_in_use())
                } else {
                    Ok("started")
                }
            },
            || async { pauses.set(pauses.get() + 1) },
        )
        .await;
        assert_eq!(started.unwrap(), "started");
        assert_eq!((attempts.get(), pauses.get()), (3, 2));
    }

    #[tokio::test]
    async fn local_mode_gives_up_on_a_port_that_stays_held_and_at_once_on_other_errors() {
        let attempts = std::cell::Cell::new(0);
        let held = retry_while_port_in_use(
            4,
            || async {
                attempts.set(attempts.get() + 1);
                Err::<(), _>(port_in_use())
            },
            || async {},
        )
        .await;
        assert!(matches!(
            held,
            Err(AppError::Service(ServiceError::Bind { .. }))
        ));
        assert_eq!(attempts.get(), 4);

        attempts.set(0);
        let refused = retry_while_port_in_use(
            4,
            || async {
                attempts.set(attempts.get() + 1);
                Err::<(), _>(AppError::Service(ServiceError::Bind {
                    addr: "127.0.0.1:5060".parse().unwrap(),
                    source: io::ErrorKind::PermissionDenied.into(),
                }))
            },
            || async {},
        )
        .await;
        assert!(refused.is_err());
        assert_eq!(attempts.get(), 1);
    }

    #[test]
    fn a_history_damaged_after_start_up_is_left_alone_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.sqlite3");
        History::precheck(&path).unwrap();
        let garbage = "not a database, and longer than SQLite's 100-byte header: ".repeat(4);
        std::fs::write(&path, &garbage).unwrap();
        let mut log = HistoryLog::lazy(path.clone(), "sip:vivian@confab.local".into());
        assert!(log.load("sip:amy@confab.local", 10).is_empty());
        log.append(&LoggedMessage {
            peer: "sip:amy@confab.local".into(),
            outgoing: true,
            text: "hello".into(),
            at_ms: 1,
            delivered: None,
            reason: None,
        });
        assert!(log.search("hello", 10).is_empty());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), garbage);
    }
}
