//! The server as a running service: `confab serve`, and the server that
//! local mode starts inside the client when none answers on its port.
//!
//! It binds the port, opens the SQLite stores, runs the server core on a
//! driver, and, when asked, plays the demo buddies (see [`crate::demo`]).
//! A demo buddy steps aside when the real user signs in from elsewhere
//! (`confab --user amy`) and comes back when that user's last binding goes.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::client::{Client, ClientConfig, Command, Event};
use crate::demo::{DemoBuddy, PERSONAS, Persona};
use crate::media::source::{HeardOnly, NullSink, WavEnd, WavSink, WavSource};
use crate::net::media::{AudioEnds, Levels, MediaOptions, MediaSockets, run_media};
use crate::net::{SipDriver, SipSockets, spawn_mcu};
use crate::proto::digest::Algorithm;
use crate::proto::location_profile::LocationProfiles;
use crate::proto::{Peer, Time};
use crate::server::gateway::PstnRoute;
use crate::server::registrar::RegistrarEvent;
use crate::server::{Server, ServerCommand, ServerConfig, ServerEvent};
use crate::store::{Contacts, ContactsError, Directory, StoreError};
use crate::trace::TraceEntry;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("binding {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("the server's data in {dir}: {source}")]
    Store { dir: PathBuf, source: StoreError },
    #[error("the contact lists in {dir}: {source}")]
    Contacts { dir: PathBuf, source: ContactsError },
    #[error("loading users from {file}: {source}")]
    Directory { file: PathBuf, source: StoreError },
    #[error("{0}")]
    Config(String),
    #[error("the location profiles in {file}: {reason}")]
    LocationProfiles { file: PathBuf, reason: String },
    #[error(transparent)]
    Io(#[from] io::Error),
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    pub domain: String,
    pub data: PathBuf,
    pub directory_csv: Option<PathBuf>,
    pub demo: bool,
    pub demo_buddies: bool,
    pub trusted_peers: Vec<IpAddr>,
    /// Where phone numbers nobody here answers for go; without one, the
    /// demo buddies' simulated phone line takes them.
    pub trunk: Option<SocketAddr>,
    /// The number phones call to join a conference by code; the demo
    /// directory has one of its own.
    pub access_number: Option<String>,
    /// Challenge nothing (`--no-auth`): see `server::open`. Refused with a
    /// trunk, which would open the telephone network to anyone.
    pub no_auth: bool,
    /// Where a copy of every SIP message goes (`--trace`), if anywhere.
    pub trace: Option<mpsc::UnboundedSender<TraceEntry>>,
}

/// A bound, ready server; [`Service::run`] serves until shut down.
pub struct Service {
    options: ServeOptions,
    sockets: SipSockets,
    directory: Directory,
    contacts: Contacts,
    /// What provisioning hands out; the shipped profiles unless
    /// [`Service::with_location_profiles`] says otherwise.
    location_profiles: LocationProfiles,
    /// What challenges offer, in order; empty: the challenger's default
    /// ([`crate::proto::digest::DEFAULT_OFFERED`]).
    digest_algorithms: Vec<Algorithm>,
}

/// Reads a location profiles file (`confab serve --location-profiles`);
/// an error names the file and the line, or the profile and the rule.
pub fn load_location_profiles(file: &Path) -> Result<LocationProfiles, ServiceError> {
    let error = |reason: String| ServiceError::LocationProfiles {
        file: file.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(file).map_err(|source| error(source.to_string()))?;
    let profiles =
        LocationProfiles::from_toml(&text).map_err(|source| error(source.to_string()))?;
    if profiles
        .get(crate::proto::location_profile::DEFAULT_PROFILE)
        .is_none()
    {
        tracing::warn!(file = %file.display(), "no US profile: users without a profile of their own get none");
    }
    Ok(profiles)
}

impl Service {
    pub async fn bind(options: ServeOptions) -> Result<Service, ServiceError> {
        if let Some(number) = &options.access_number {
            if !crate::server::gateway::is_e164(number) {
                return Err(ServiceError::Config(format!(
                    "--access-number {number:?} is not an E.164 number: write + and the digits, \
                     e.g. +14255550100"
                )));
            }
        }
        if options.no_auth && options.trunk.is_some() {
            return Err(ServiceError::Config(
                "--no-auth cannot be used with --trunk: anyone could call out through the trunk"
                    .to_owned(),
            ));
        }
        let store_error = |source| ServiceError::Store {
            dir: options.data.clone(),
            source,
        };
        let contacts_error = |source| ServiceError::Contacts {
            dir: options.data.clone(),
            source,
        };
        let database = options.data.join("server.sqlite3");
        let directory = Directory::open(&database).map_err(store_error)?;
        let contacts = Contacts::open(&database).map_err(contacts_error)?;
        if options.demo || options.demo_buddies {
            directory.seed_demo(&options.domain).map_err(store_error)?;
            contacts
                .seed_demo(&options.domain)
                .map_err(contacts_error)?;
        }
        if let Some(file) = &options.directory_csv {
            let count = directory
                .load_csv(file, &options.domain)
                .map_err(|source| ServiceError::Directory {
                    file: file.clone(),
                    source,
                })?;
            tracing::info!(count, file = %file.display(), "users loaded");
        }
        let sockets =
            SipSockets::bind(options.listen)
                .await
                .map_err(|source| ServiceError::Bind {
                    addr: options.listen,
                    source,
                })?;
        Ok(Service {
            options,
            sockets,
            directory,
            contacts,
            location_profiles: LocationProfiles::shipped(),
            digest_algorithms: Vec::new(),
        })
    }

    /// The digest algorithms challenges offer, in this order
    /// (`--digest-algorithms`); an empty list keeps the default.
    pub fn with_digest_algorithms(mut self, algorithms: Vec<Algorithm>) -> Service {
        self.digest_algorithms = algorithms;
        self
    }

    /// The location profiles to provision instead of the shipped ones.
    pub fn with_location_profiles(mut self, profiles: LocationProfiles) -> Service {
        self.location_profiles = profiles;
        self
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sockets.local_addr()
    }

    /// Serves until `shutdown` completes or the driver fails.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServiceError> {
        let local = self.local_addr()?;
        let config = ServerConfig {
            domain: self.options.domain.clone(),
            local,
            trusted_peers: self.options.trusted_peers.clone(),
            seed: rand::random(),
            pstn: match self.options.trunk {
                Some(trunk) => Some(PstnRoute::Trunk(Peer::udp(trunk))),
                None if self.options.demo_buddies => {
                    Some(PstnRoute::User(crate::demo::PHONE_LINE.to_owned()))
                }
                None => None,
            },
            access_number: self.options.access_number.clone().or_else(|| {
                (self.options.demo || self.options.demo_buddies)
                    .then(|| crate::demo::ACCESS_NUMBER.to_owned())
            }),
        };
        let profiles: Vec<&str> = self
            .location_profiles
            .iter()
            .map(|profile| profile.name())
            .collect();
        tracing::info!(?profiles, "location profiles");
        let mut server = Server::new(config, Box::new(self.directory), Box::new(self.contacts))
            .with_location_profiles(self.location_profiles)
            .with_digest_algorithms(&self.digest_algorithms);
        if self.options.no_auth {
            tracing::warn!(
                %local,
                "authentication is OFF (--no-auth): anyone who reaches this port can sign in and \
                 send as any user; use it on a trusted lab network only"
            );
            server = server.without_authentication();
        }
        tracing::info!(%local, domain = %self.options.domain, "serving SIP on UDP and TCP");
        let (commands, commands_rx) = mpsc::unbounded_channel();
        let (events_tx, mut events) = mpsc::unbounded_channel();
        // The A/V MCU's media on the server's address: the core's leg
        // requests go to it, its answers come back as commands.
        let (io_requests, io_requests_rx) = mpsc::unbounded_channel();
        let (mcu_results_tx, mut mcu_results) = mpsc::unbounded_channel();
        // On a thread of its own: the mix keeps time whatever the SIP core
        // is busy with. It ends when the driver, and so its requests, go.
        spawn_mcu(local.ip(), io_requests_rx, mcu_results_tx)?;
        let mut driver =
            SipDriver::new(server, self.sockets, Instant::now()).with_io_requests(io_requests);
        if let Some(trace) = &self.options.trace {
            driver = driver.with_trace(trace.clone());
        }
        let mut buddies = DemoBuddies::new(
            local,
            &self.options.domain,
            self.options.data.clone(),
            self.options.demo_buddies,
        );
        buddies.start_all().await;
        let driver = driver.run_on_thread(commands_rx, events_tx);
        tokio::pin!(driver, shutdown);
        loop {
            tokio::select! {
                result = &mut driver => { result?; break; }
                () = &mut shutdown => break,
                Some(event) = events.recv() => {
                    let ServerEvent::Registrar(event) = event;
                    log_registrar_event(&event);
                    buddies.handle_registrar_event(&event).await;
                }
                Some(result) = mcu_results.recv() => {
                    let _ = commands.send(ServerCommand::Io(result));
                }
            }
        }
        buddies.stop_all().await;
        Ok(())
    }
}

/// A user coming online or going offline is news; every binding's coming
/// and going is detail, and under load (a registrar at a thousand
/// REGISTERs a second) a line each would cost more than the REGISTER.
fn log_registrar_event(event: &RegistrarEvent) {
    match event {
        RegistrarEvent::AorOnline { aor } => tracing::info!(%aor, "online"),
        RegistrarEvent::AorOffline { aor } => tracing::info!(%aor, "offline"),
        RegistrarEvent::Registered { aor, contact } => {
            tracing::debug!(%aor, %contact, "binding added");
        }
        RegistrarEvent::Unregistered { aor, contact } => {
            tracing::debug!(%aor, %contact, "binding removed");
        }
        RegistrarEvent::BindingExpired { aor, contact } => {
            tracing::debug!(%aor, %contact, "binding expired");
        }
    }
}

/// The running demo buddies, and the hand-over to real users.
struct DemoBuddies {
    server: SocketAddr,
    domain: String,
    /// Where their voices are unpacked.
    data: PathBuf,
    enabled: bool,
    running: HashMap<&'static str, RunningBuddy>,
}

struct RunningBuddy {
    contact: String,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

impl DemoBuddies {
    fn new(server: SocketAddr, domain: &str, data: PathBuf, enabled: bool) -> Self {
        DemoBuddies {
            server,
            domain: domain.to_owned(),
            data,
            enabled,
            running: HashMap::new(),
        }
    }

    async fn start_all(&mut self) {
        if !self.enabled {
            return;
        }
        for persona in PERSONAS {
            self.start(persona).await;
        }
    }

    async fn start(&mut self, persona: Persona) {
        match spawn_buddy(persona.clone(), self.server, &self.domain, &self.data).await {
            Ok(running) => {
                self.running.insert(persona.user, running);
            }
            Err(error) => tracing::warn!(user = persona.user, %error, "demo buddy not started"),
        }
    }

    /// A real sign-in sends the demo buddy away; the real user's last
    /// binding going brings it back.
    async fn handle_registrar_event(&mut self, event: &RegistrarEvent) {
        if !self.enabled {
            return;
        }
        match event {
            RegistrarEvent::Registered { aor, contact } => {
                let contact = contact.to_string();
                let Some(running) = self.running.get(aor.user()) else {
                    return;
                };
                if aor.domain() == self.domain && !contact.contains(&running.contact) {
                    tracing::info!(
                        user = aor.user(),
                        "the real user signed in; demo buddy steps aside"
                    );
                    if let Some(running) = self.running.remove(aor.user()) {
                        let _ = running.stop.send(());
                    }
                }
            }
            RegistrarEvent::AorOffline { aor } if aor.domain() == self.domain => {
                let persona = PERSONAS.iter().find(|p| p.user == aor.user());
                if let Some(persona) = persona.filter(|p| !self.running.contains_key(p.user)) {
                    tracing::info!(
                        user = persona.user,
                        "the real user left; demo buddy is back"
                    );
                    self.start(persona.clone()).await;
                }
            }
            _ => {}
        }
    }

    async fn stop_all(&mut self) {
        for (_, running) in self.running.drain() {
            let _ = running.stop.send(());
            let _ = tokio::time::timeout(Duration::from_secs(3), running.done).await;
        }
    }
}

/// Signs a demo buddy in on a port of its own and runs its brain.
async fn spawn_buddy(
    persona: Persona,
    server: SocketAddr,
    domain: &str,
    data: &std::path::Path,
) -> io::Result<RunningBuddy> {
    let sockets = SipSockets::bind(SocketAddr::new(server.ip(), 0)).await?;
    let local = sockets.local_addr()?;
    let media_sockets = MediaSockets::bind(local.ip()).await?;
    let media_port = media_sockets.rtp_port()?;
    // The voice is built in; the WAV reader wants a file.
    let voice_file = data.join(format!("voice-{}.wav", persona.user));
    std::fs::write(&voice_file, persona.voice)?;
    let input: Box<dyn crate::media::source::FrameSource + Send> =
        match WavSource::open(&voice_file, WavEnd::Loop) {
            Ok(voice) => Box::new(voice),
            Err(error) => {
                tracing::warn!(user = persona.user, %error, "demo voice unreadable; silence");
                Box::new(crate::media::source::SilenceSource)
            }
        };
    let output: Box<dyn crate::media::source::FrameSink + Send> = if persona.records_calls {
        // What the line hears on its calls, and nothing between them.
        let path = data.join(format!("{}-heard.wav", persona.user));
        match WavSink::create(&path) {
            Ok(sink) => Box::new(HeardOnly::new(sink)),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "no recording of the phone line");
                Box::new(NullSink::default())
            }
        }
    } else {
        Box::new(NullSink::default())
    };
    let ends = AudioEnds { input, output };
    let (io_tx, io_rx) = mpsc::unbounded_channel();
    let (levels_tx, _levels) = tokio::sync::watch::channel(Levels::default());
    tokio::spawn(run_media(
        media_sockets,
        io_rx,
        ends,
        levels_tx,
        MediaOptions::default(),
    ));
    let contact = format!("{}@{}:{}", persona.user, local.ip(), local.port());
    let config = ClientConfig {
        user: persona.user.to_owned(),
        domain: domain.to_owned(),
        password: persona.user.to_owned(),
        server: Peer::udp(server),
        local,
        register_expiry: Duration::from_secs(300),
        keepalive_interval: Duration::from_secs(30),
        media_port,
        seed: rand::random(),
    };
    let (stop, stopped) = oneshot::channel();
    let done = tokio::spawn(async move {
        if let Err(error) = run_buddy(persona.clone(), config, sockets, io_tx, stopped).await {
            tracing::warn!(user = persona.user, %error, "demo buddy stopped");
        }
    });
    Ok(RunningBuddy {
        contact,
        stop,
        done,
    })
}

async fn run_buddy(
    persona: Persona,
    config: ClientConfig,
    sockets: SipSockets,
    io_requests: mpsc::UnboundedSender<crate::proto::IoRequest>,
    mut stopped: oneshot::Receiver<()>,
) -> io::Result<()> {
    let epoch = Instant::now();
    let now = || Time::from_epoch(epoch.elapsed());
    let (commands, commands_rx) = mpsc::unbounded_channel();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let driver = tokio::spawn(
        SipDriver::new(Client::new(config), sockets, epoch)
            .with_io_requests(io_requests)
            .run(commands_rx, events_tx),
    );
    let mut brain = DemoBuddy::new(persona);
    let mut quitting = false;
    loop {
        let wake = brain.poll_timeout().map(|at| epoch + at.since_epoch());
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    if let Event::CommandFailed { command, reason } = &event {
                        tracing::debug!(command, %reason, "demo buddy command failed");
                    }
                    brain.handle_event(now(), &event);
                }
                None => break,
            },
            () = sleep_until(wake) => brain.handle_timeout(now()),
            _ = &mut stopped, if !quitting => {
                quitting = true;
                let _ = commands.send(Command::Quit);
            }
        }
        while let Some(command) = brain.poll_command() {
            let _ = commands.send(command);
        }
    }
    driver.await.map_err(io::Error::other)??;
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Whether a SIP server answers an OPTIONS on `addr` within `wait`: how
/// local mode tells that a confab server is already running.
pub async fn server_answers(addr: SocketAddr, domain: &str, wait: Duration) -> bool {
    let Ok(socket) = tokio::net::UdpSocket::bind(SocketAddr::new(addr.ip(), 0)).await else {
        return false;
    };
    let Ok(local) = socket.local_addr() else {
        return false;
    };
    let mut ids = crate::proto::build::Identifiers::from_seed(rand::random());
    let probe = format!(
        "OPTIONS sip:{domain} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch={};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@{domain}>;tag={}\r\nTo: <sip:{domain}>\r\n\
         Call-ID: {}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        ids.branch(),
        ids.tag(),
        ids.call_id(&local.ip().to_string()),
    );
    if socket.send_to(probe.as_bytes(), addr).await.is_err() {
        return false;
    }
    let mut buffer = [0u8; 2048];
    matches!(
        tokio::time::timeout(wait, socket.recv_from(&mut buffer)).await,
        Ok(Ok((len, _))) if buffer.get(..len).is_some_and(|reply| reply.starts_with(b"SIP/2.0 "))
    )
}
