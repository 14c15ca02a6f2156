//! The `confab` command: argument parsing, logging, the runtime, and wiring
//! cores to drivers. Everything with a decision in it lives in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use confab::app::SignIn;
use confab::config::{
    Config, DEFAULT_IDLE_MINUTES, DEFAULT_KEEPALIVE, DEFAULT_REGISTER_EXPIRY, Key, KeyAction,
    or_file,
};
use confab::local::{ServeOptions, Service, load_location_profiles};
use confab::tui::{Theme, TuiConfig};

/// The server a client uses when none is named: local mode.
const LOCAL_SERVER: &str = "127.0.0.1:5060";
const LOCAL_DOMAIN: &str = "confab.local";
const LOCAL_USER: &str = "vivian";

#[derive(Parser, Debug)]
#[command(
    name = "confab",
    version,
    about = "Unified communications in the terminal: buddies, presence, IM and audio conferences over SIP",
    long_about = "confab is a SIP client and, when asked, the server side of a unified-communications \
                  system: registrar and proxy, presence, conference focus, IM MCU and audio MCU.\n\n\
                  Modes:\n  \
                  confab         the terminal client; with no --server, local mode: it uses the \
                  server on 127.0.0.1:5060 or starts one with the demo directory and demo buddies, \
                  and signs in as vivian\n  \
                  confab serve   the server alone (registrar, proxy, presence, conferences), headless\n  \
                  confab agent   the client with no screen: JSON lines on stdin and stdout\n  \
                  confab doctor  audio devices, a test tone, the microphone level, the SIP port\n  \
                  confab trace   a SIP trace written by --trace FILE, in the trace viewer"
)]
struct Cli {
    #[command(subcommand)]
    mode: Option<Mode>,

    /// The terminal client's sign-in (with no mode given).
    #[command(flatten)]
    client: ClientArgs,

    /// Directory for history and other client data (default: the XDG data directory).
    #[arg(long)]
    data: Option<PathBuf>,

    /// Log filter (error, warn, info, debug, trace, or a tracing directive).
    #[arg(long, global = true, default_value = "info", env = "CONFAB_LOG")]
    log_level: String,

    /// The config file (default: $XDG_CONFIG_HOME/confab/config.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Run the server: registrar, proxy, presence and conferences on UDP and TCP.
    Serve(ServeArgs),
    /// Run the client headless: JSON-line commands on stdin, events on stdout.
    Agent(ClientArgs),
    /// Check the audio devices (list, test tone, microphone level) and the SIP port.
    Doctor(DoctorArgs),
    /// Open a SIP trace written by --trace FILE in the trace viewer (q quits).
    Trace(TraceArgs),
}

#[derive(Args, Debug)]
struct TraceArgs {
    /// The trace file.
    file: PathBuf,
}

/// Where SIP traces go; for every mode that speaks SIP.
#[derive(Args, Debug, Default)]
struct TraceFileArgs {
    /// Write every SIP message sent and received to FILE, as text `confab trace FILE` reads.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Write every SIP message to FILE as pcap, for Wireshark (UDP packets, TCP ones too).
    #[arg(long, value_name = "FILE")]
    trace_pcap: Option<PathBuf>,
}

impl TraceFileArgs {
    fn files(&self) -> confab::app::TraceFiles {
        confab::app::TraceFiles {
            text: self.trace.clone(),
            pcap: self.trace_pcap.clone(),
        }
    }
}

#[derive(Args, Debug)]
struct DoctorArgs {
    /// The input to check: device[:NAME], wav:PATH, tone:HZ, silence.
    #[arg(long, default_value = "device")]
    audio_in: String,
    /// The output to check: device[:NAME], wav:PATH, null.
    #[arg(long, default_value = "device")]
    audio_out: String,
    /// The SIP address to check.
    #[arg(long, default_value = LOCAL_SERVER)]
    sip: SocketAddr,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on, UDP and TCP.
    #[arg(long, default_value = LOCAL_SERVER)]
    listen: SocketAddr,
    /// The SIP domain this server is authoritative for (also the digest realm).
    #[arg(long, default_value = LOCAL_DOMAIN)]
    domain: String,
    /// Directory for the server's SQLite data (default: the XDG data directory).
    #[arg(long)]
    data: Option<PathBuf>,
    /// A CSV file of users to load: a header line, then `username,password,display_name`.
    #[arg(long)]
    directory: Option<PathBuf>,
    /// Load the demo directory: vivian, amy and hao (password = user name).
    #[arg(long)]
    demo: bool,
    /// Also sign in Amy and Hao as demo buddies that answer IMs (implies --demo).
    #[arg(long)]
    demo_buddies: bool,
    /// A peer trusted without authentication (a trunk or gateway), by IP address. Repeatable.
    #[arg(long = "trusted-peer")]
    trusted_peers: Vec<std::net::IpAddr>,
    /// A SIP trunk (gateway or provider, HOST-IP:PORT over UDP) for phone numbers that no desk
    /// phone here answers for; without one, --demo-buddies plays a simulated phone line.
    #[arg(long)]
    trunk: Option<SocketAddr>,
    /// The E.164 number phones call to join a conference by keying in its code (with --demo:
    /// +14255550100).
    #[arg(long)]
    access_number: Option<String>,
    /// UNSAFE on any network with an untrusted host: challenge nothing. Anyone who reaches the
    /// port can register as any user of the directory and send requests as any user (From is
    /// believed). For trusted lab networks and benchmarks. Requests still go only to the server
    /// or users of the domain, never on to other hosts; not allowed with --trunk.
    #[arg(long)]
    no_auth: bool,
    /// The digest algorithms a challenge offers, in order: md5, sha-256, or both (the default,
    /// md5,sha-256). `md5` alone is for older phones and softphones that give up on a challenge
    /// listing an algorithm they do not know (SHA-256, RFC 8760) instead of picking MD5.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_digest_algorithm)]
    digest_algorithms: Vec<confab::proto::digest::Algorithm>,
    /// A TOML file of location profiles (dialling rules to E.164) handed to clients at sign-in;
    /// default: the shipped US profile (assets/location-profiles.toml).
    #[arg(long, value_name = "FILE")]
    location_profiles: Option<PathBuf>,
    #[command(flatten)]
    trace: TraceFileArgs,
}

#[derive(Args, Debug)]
struct ClientArgs {
    /// The SIP server (registrar and proxy). Without it: local mode on 127.0.0.1:5060.
    #[arg(long)]
    server: Option<String>,
    /// Who to sign in as: a SIP URI, or a user name of the server's domain.
    #[arg(long)]
    user: Option<String>,
    /// A file holding the password (else CONFAB_PASSWORD; in local mode the demo password).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Seconds a registration asks to last (300); refreshed at half of what the server grants.
    #[arg(long)]
    register_expiry: Option<u32>,
    /// Seconds between keep-alives to the server, which also notice it going away (30).
    #[arg(long)]
    keepalive: Option<u32>,
    /// Minutes without a key before you show as Away (5; 0: never). Terminal client only.
    #[arg(long)]
    idle_minutes: Option<u32>,
    /// A key for an action, ACTION=KEY (e.g. quit=ctrl-q), as in the config's [keys]. Repeatable.
    #[arg(long = "key", value_name = "ACTION=KEY")]
    keys: Vec<String>,
    /// Where call audio comes from: device[:NAME] (the default), wav:PATH, tone:HZ, silence.
    #[arg(long)]
    audio_in: Option<String>,
    /// Where call audio goes: device[:NAME] (the default), wav:PATH, null.
    #[arg(long)]
    audio_out: Option<String>,
    /// Drop this share of incoming RTP (0 to 1), to hear a call under loss.
    #[arg(long, default_value_t = 0.0)]
    rtp_loss: f64,
    /// Seeds which packets --rtp-loss drops, for the same pattern every run.
    #[arg(long)]
    rtp_loss_seed: Option<u64>,
    #[command(flatten)]
    trace: TraceFileArgs,
}

fn audio_options(args: &ClientArgs, config: &Config) -> Result<confab::app::AudioOptions> {
    let audio_in = args.audio_in.clone().or(config.audio_in.clone());
    let audio_out = args.audio_out.clone().or(config.audio_out.clone());
    let input = audio_in
        .as_deref()
        .unwrap_or("device")
        .parse()
        .map_err(|error| anyhow::anyhow!("audio in {audio_in:?}: {error}"))?;
    let output = audio_out
        .as_deref()
        .unwrap_or("device")
        .parse()
        .map_err(|error| anyhow::anyhow!("audio out {audio_out:?}: {error}"))?;
    if !(0.0..=1.0).contains(&args.rtp_loss) {
        bail!("--rtp-loss is a share between 0 and 1");
    }
    Ok(confab::app::AudioOptions {
        input,
        output,
        rtp_loss: args.rtp_loss,
        rtp_loss_seed: args.rtp_loss_seed,
    })
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // The terminal belongs to the TUI: its logs go to a file.
    let log_file = match cli.mode {
        None | Some(Mode::Trace(_)) => Some(open_log_file(&log_file_path()?)?),
        Some(_) => None,
    };
    // Dropped at the end of main, before an error is printed.
    let _stderr_to_log = log_file
        .as_ref()
        .map(confab::logging::StderrToFile::redirect)
        .transpose()
        .context("sending standard error to the log file")?;
    init_logging(&cli.log_level, log_file)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let config = Config::load(cli.config.as_deref())?;
    match cli.mode {
        Some(Mode::Serve(args)) => runtime.block_on(serve(args, &config)),
        Some(Mode::Agent(args)) => runtime.block_on(agent(args, &config)),
        Some(Mode::Doctor(args)) => doctor(args),
        Some(Mode::Trace(args)) => view_trace(&args.file),
        None => runtime.block_on(terminal_client(cli.client, cli.data, &config)),
    }
}

/// `confab trace FILE`: the messages up to the first error, which the
/// title then names, so a file cut short by a crash still opens.
fn view_trace(path: &std::path::Path) -> Result<()> {
    use confab::trace::file;
    let bytes = file::load(path).with_context(|| format!("reading {}", path.display()))?;
    let mut entries = Vec::new();
    let mut title = path.display().to_string();
    for entry in file::TraceReader::new(&bytes) {
        match entry {
            Ok(entry) => entries.push(entry),
            Err(error) if entries.is_empty() => {
                bail!("{} is not a trace confab can read: {error}", path.display())
            }
            Err(error) => {
                title.push_str(&format!(" (read up to an error: {error})"));
                break;
            }
        }
    }
    confab::tui::trace::viewer::run(&title, entries).context("the trace viewer")?;
    Ok(())
}

fn doctor(args: DoctorArgs) -> Result<()> {
    let options = confab::doctor::DoctorOptions {
        audio_in: args
            .audio_in
            .parse()
            .map_err(|error| anyhow::anyhow!("--audio-in {:?}: {error}", args.audio_in))?,
        audio_out: args
            .audio_out
            .parse()
            .map_err(|error| anyhow::anyhow!("--audio-out {:?}: {error}", args.audio_out))?,
        sip_port: args.sip,
        ..Default::default()
    };
    confab::doctor::run(&mut std::io::stdout(), options).context("confab doctor")?;
    Ok(())
}

/// Logs go to stderr (stdout belongs to the agent's JSON lines), or to a
/// file under the TUI.
fn init_logging(filter: &str, file: Option<std::fs::File>) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .with_context(|| format!("bad --log-level {filter:?}"))?;
    let builder = tracing_subscriber::fmt()
        .fmt_fields(confab::logging::Fields)
        .with_env_filter(filter);
    match file {
        Some(file) => {
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
        }
        // Colour only for a person at a terminal: escape codes in a
        // redirected log are noise, and formatting them costs every span.
        None => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(())
}

fn open_log_file(path: &std::path::Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening the log file {}", path.display()))
}

/// The TUI's log file, in the XDG state directory.
fn log_file_path() -> Result<PathBuf> {
    let dir = dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .context("no XDG state directory for the log file")?
        .join("confab");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.join("confab.log"))
}

async fn terminal_client(args: ClientArgs, data: Option<PathBuf>, config: &Config) -> Result<()> {
    let sign_in = sign_in(&args, config)?;
    let data = data_dir(data.or(config.data.clone()))?;
    let idle_minutes = or_file(args.idle_minutes, config.idle_minutes, DEFAULT_IDLE_MINUTES);
    let mut keys: Vec<_> = config.keys.clone().into_iter().collect();
    for binding in &args.keys {
        let (action, key) = binding
            .split_once('=')
            .with_context(|| format!("--key {binding:?}: expected ACTION=KEY"))?;
        let action: KeyAction = action
            .trim()
            .parse()
            .map_err(|error| anyhow::anyhow!("--key {binding:?}: {error}"))?;
        let key: Key = key
            .trim()
            .parse()
            .map_err(|error| anyhow::anyhow!("--key {binding:?}: {error}"))?;
        keys.retain(|(existing, _)| *existing != action);
        keys.push((action, key));
    }
    let tui_config = TuiConfig {
        idle: Duration::from_secs(u64::from(idle_minutes) * 60),
        keys,
        theme: Theme::from_config(&config.colours),
        ..TuiConfig::default()
    };
    confab::app::run_tui(
        sign_in,
        data,
        tui_config,
        audio_options(&args, config)?,
        args.trace.files(),
    )
    .await?;
    Ok(())
}

fn data_dir(explicit: Option<PathBuf>) -> Result<PathBuf> {
    let dir = match explicit {
        Some(dir) => dir,
        None => dirs::data_dir()
            .context("no XDG data directory; pass --data DIR")?
            .join("confab"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

async fn serve(args: ServeArgs, config: &Config) -> Result<()> {
    let options = ServeOptions {
        listen: args.listen,
        domain: args.domain,
        data: data_dir(args.data.or(config.data.clone()))?,
        directory_csv: args.directory,
        demo: args.demo,
        demo_buddies: args.demo_buddies,
        trusted_peers: args.trusted_peers,
        trunk: args.trunk,
        access_number: args.access_number,
        no_auth: args.no_auth,
        trace: None,
    };
    // Read before binding: a bad file stops the server before it serves.
    let profiles = args
        .location_profiles
        .as_deref()
        .map(load_location_profiles)
        .transpose()?;
    let (trace, trace_task) = match args.trace.files().start(None).context("the trace file")? {
        Some((sender, task)) => (Some(sender), Some(task)),
        None => (None, None),
    };
    let mut service = Service::bind(ServeOptions { trace, ..options }).await?;
    if let Some(profiles) = profiles {
        service = service.with_location_profiles(profiles);
    }
    service = service.with_digest_algorithms(args.digest_algorithms);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("interrupted; stopping");
    };
    service.run(shutdown).await?;
    if let Some(task) = trace_task {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    Ok(())
}

/// Who signs in where: the flags, then the config file, then local mode.
fn sign_in(args: &ClientArgs, config: &Config) -> Result<SignIn> {
    let server_text = args.server.clone().or(config.server.clone());
    let local_mode = server_text.is_none();
    let server = resolve_server(server_text.as_deref().unwrap_or(LOCAL_SERVER))?;
    let default_domain = config.domain.as_deref().unwrap_or(LOCAL_DOMAIN);
    let user_text = args.user.clone().or(config.user.clone());
    let (user, domain) = match user_text.as_deref() {
        Some(uri) if uri.contains('@') => {
            let bare = uri.trim_start_matches("sip:");
            let (user, domain) = bare
                .split_once('@')
                .context("a user URI needs user@domain")?;
            (user.to_owned(), domain.to_owned())
        }
        Some(user) => (user.to_owned(), default_domain.to_owned()),
        None if local_mode => (LOCAL_USER.to_owned(), default_domain.to_owned()),
        None => bail!("--user is needed with --server"),
    };
    let password_file = args.password_file.clone().or(config.password_file.clone());
    let password = if let Some(file) = &password_file {
        std::fs::read_to_string(file)
            .with_context(|| format!("reading {}", file.display()))?
            .trim_end_matches(['\r', '\n'])
            .to_owned()
    } else if let Ok(password) = std::env::var("CONFAB_PASSWORD") {
        password
    } else if local_mode {
        // The demo directory's passwords are the user names (DESIGN.md section 6).
        user.clone()
    } else {
        bail!("no password: use --password-file or CONFAB_PASSWORD")
    };
    let register_expiry = or_file(
        args.register_expiry,
        config.register_expiry,
        DEFAULT_REGISTER_EXPIRY,
    );
    let keepalive = or_file(args.keepalive, config.keepalive, DEFAULT_KEEPALIVE);
    Ok(SignIn {
        local_mode,
        server,
        user,
        domain,
        password,
        register_expiry: Duration::from_secs(register_expiry.into()),
        keepalive: Duration::from_secs(keepalive.into()),
    })
}

/// `--digest-algorithms`: one RFC 8760 algorithm name, in any case.
fn parse_digest_algorithm(name: &str) -> Result<confab::proto::digest::Algorithm, String> {
    confab::proto::digest::Algorithm::parse(name.trim())
        .ok_or_else(|| format!("unknown digest algorithm {name:?}: use md5 or sha-256"))
}

fn resolve_server(text: &str) -> Result<SocketAddr> {
    use std::net::ToSocketAddrs;
    let with_port = if text.contains(':') {
        text.to_owned()
    } else {
        format!("{text}:5060")
    };
    with_port
        .to_socket_addrs()
        .with_context(|| format!("resolving {with_port}"))?
        .find(SocketAddr::is_ipv4)
        .with_context(|| format!("{with_port} has no IPv4 address"))
}

async fn agent(args: ClientArgs, config: &Config) -> Result<()> {
    let sign_in = sign_in(&args, config)?;
    let audio = audio_options(&args, config)?;
    let (trace, trace_task) = match args.trace.files().start(None).context("the trace file")? {
        Some((sender, task)) => (Some(sender), Some(task)),
        None => (None, None),
    };
    let client = confab::app::start_client(&sign_in, &audio, trace)
        .await
        .context("starting the client")?;
    let confab::app::ClientHandle {
        commands,
        mut events,
        driver,
        media,
        audio_warning,
        mut device_events,
        ..
    } = client;

    let mut stdout = tokio::io::stdout();
    let audio_state = match &audio_warning {
        Some(reason) => {
            serde_json::json!({"event": "audio", "state": "unavailable", "reason": reason})
        }
        None => serde_json::json!({"event": "audio", "state": "ready"}),
    };
    write_line(&mut stdout, &audio_state.to_string()).await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut reader = confab::agent::CommandReader::default();
    loop {
        tokio::select! {
            line = lines.next_line(), if stdin_open => match line? {
                Some(line) => match reader.read(&line) {
                    Ok(Some(command)) => { let _ = commands.send(command); }
                    Ok(None) => {}
                    Err(error) => write_line(&mut stdout, &serde_json::to_string(&error)?).await?,
                },
                // End of input is a quit: the core unregisters, then stops.
                None => {
                    stdin_open = false;
                    let _ = commands.send(confab::client::Command::Quit);
                }
            },
            event = events.recv() => match event {
                Some(event) => {
                    if let Some(line) = confab::agent::event_line(&event) {
                        write_line(&mut stdout, &line).await?;
                    }
                }
                None => break,
            },
            Some(device) = device_events.recv() => {
                if let Some(line) = confab::agent::event_line(&confab::app::audio_event(&device)) {
                    write_line(&mut stdout, &line).await?;
                }
            }
        }
    }
    driver.await.context("client driver")??;
    media.abort();
    if let Some(task) = trace_task {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    Ok(())
}

async fn write_line(stdout: &mut tokio::io::Stdout, line: &str) -> Result<()> {
    stdout.write_all(line.as_bytes()).await?;
    stdout.write_all(b"\n").await?;
    stdout.flush().await?;
    Ok(())
}
