//! Joining a Janus AudioBridge room with plain-RTP participants, through
//! Janus's HTTP API (janus.transport.http, on loopback): one session; a
//! handle per participant on janus.plugin.audiobridge (a handle is one
//! participant); the first one creates the room (48 kHz, plain RTP
//! allowed, no audio-level extension); each `join`s with an `rtp` object
//! naming where its mix goes (our participant's socket, Opus on payload
//! type 111 with FEC) and the Opus settings confab's encoder uses
//! (complexity 5 as `quality`, 32 kb/s, 5% expected loss); the `joined`
//! event, read by long poll, names the room's port for that participant.
//! Leaving detaches the handle. Everything else is the plugin's default,
//! its jitter buffer among it.
//!
//! HTTP/1.1 by hand over a fresh loopback connection per request
//! (`Connection: close`, read to the end): a few requests per participant
//! need no client library.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

const OPUS_PAYLOAD_TYPE: u8 = 111;
/// One request or event wait, at most.
const WAIT: Duration = Duration::from_secs(20);

pub struct JanusBridge {
    server: SocketAddr,
    base: String,
    session: u64,
    handles: HashMap<u64, u64>,
    transaction: u64,
    /// A room of its own for each run, so that a Janus that served an
    /// earlier run is no obstacle.
    room: u64,
    room_made: bool,
}

impl JanusBridge {
    /// `url` as http://127.0.0.1:PORT/janus.
    pub fn connect(url: &str) -> Result<JanusBridge> {
        let rest = url
            .strip_prefix("http://")
            .context("the Janus URL must be http://HOST:PORT/PATH")?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, "janus"));
        let server: SocketAddr = host.parse().context("the Janus URL's host:port")?;
        let mut bridge = JanusBridge {
            server,
            base: format!("/{path}"),
            session: 0,
            handles: HashMap::new(),
            transaction: 0,
            room: rand::random::<u32>().into(),
            room_made: false,
        };
        let created = bridge.post(&bridge.base.clone(), json!({"janus": "create"}))?;
        bridge.session = id_of(&created)?;
        Ok(bridge)
    }

    /// Joins one participant per `(id, rtp)`; returns the room's address
    /// for each one's RTP.
    pub fn join_many(&mut self, joins: &[(u64, SocketAddr)]) -> Result<Vec<SocketAddr>> {
        joins.iter().map(|&(id, rtp)| self.join(id, rtp)).collect()
    }

    fn join(&mut self, id: u64, rtp: SocketAddr) -> Result<SocketAddr> {
        let session_path = format!("{}/{}", self.base, self.session);
        let attached = self.post(
            &session_path,
            json!({"janus": "attach", "plugin": "janus.plugin.audiobridge"}),
        )?;
        let handle = id_of(&attached)?;
        self.handles.insert(id, handle);
        let handle_path = format!("{session_path}/{handle}");
        if !self.room_made {
            let created = self.post(
                &handle_path,
                json!({"janus": "message", "body": {
                    "request": "create",
                    "room": self.room,
                    "sampling_rate": 48000,
                    "allow_rtp_participants": true,
                    "audiolevel_ext": false,
                }}),
            )?;
            let answer = &created["plugindata"]["data"];
            if answer["audiobridge"] != "created" {
                bail!("the room was not created: {answer}");
            }
            self.room_made = true;
        }
        let transaction = self.next_transaction();
        let acked = self.post_as(
            &handle_path,
            &transaction,
            json!({"janus": "message", "body": {
                "request": "join",
                "room": self.room,
                "display": format!("p{id}"),
                "codec": "opus",
                "quality": 5,
                "bitrate": 32000,
                "expected_loss": 5,
                "rtp": {
                    "ip": rtp.ip().to_string(),
                    "port": rtp.port(),
                    "payload_type": OPUS_PAYLOAD_TYPE,
                    "fec": true,
                },
            }}),
        )?;
        if acked["janus"] == "error" {
            bail!("join refused: {}", acked["error"]);
        }
        let joined = self.event(&transaction)?;
        let data = &joined["plugindata"]["data"];
        if data["audiobridge"] != "joined" {
            bail!("join failed: {data}");
        }
        let ip = data["rtp"]["ip"]
            .as_str()
            .context("the joined event has no rtp ip")?;
        let port = data["rtp"]["port"]
            .as_u64()
            .and_then(|port| u16::try_from(port).ok())
            .context("the joined event has no rtp port")?;
        Ok(SocketAddr::new(ip.parse()?, port))
    }

    /// Detaches each participant's handle (it leaves the room).
    pub fn leave_many(&mut self, ids: &[u64]) -> Result<()> {
        for id in ids {
            let Some(handle) = self.handles.remove(id) else {
                continue;
            };
            let path = format!("{}/{}/{handle}", self.base, self.session);
            self.post(&path, json!({"janus": "detach"}))?;
        }
        Ok(())
    }

    /// The asynchronous event answering `transaction`, by long poll.
    fn event(&mut self, transaction: &str) -> Result<Value> {
        let started = Instant::now();
        let path = format!("{}/{}?maxev=10", self.base, self.session);
        while started.elapsed() < WAIT {
            let events = self.request("GET", &path, None)?;
            let list = match events {
                Value::Array(list) => list,
                single => vec![single],
            };
            for event in list {
                if event["transaction"] == transaction && event["janus"] == "event" {
                    return Ok(event);
                }
            }
        }
        Err(anyhow!("no event for {transaction} in {WAIT:?}"))
    }

    fn next_transaction(&mut self) -> String {
        self.transaction += 1;
        format!("t{}", self.transaction)
    }

    fn post(&mut self, path: &str, body: Value) -> Result<Value> {
        let transaction = self.next_transaction();
        self.post_as(path, &transaction, body)
    }

    fn post_as(&mut self, path: &str, transaction: &str, mut body: Value) -> Result<Value> {
        body["transaction"] = json!(transaction);
        let answer = self.request("POST", path, Some(&body))?;
        if answer["janus"] == "error" {
            bail!("Janus refused {body}: {}", answer["error"]);
        }
        Ok(answer)
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut stream = TcpStream::connect_timeout(&self.server, WAIT)?;
        stream.set_read_timeout(Some(WAIT + Duration::from_secs(40)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.server,
            body.len()
        )?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        let text = String::from_utf8_lossy(&answer);
        let (head, content) = text
            .split_once("\r\n\r\n")
            .context("an HTTP answer with no header end")?;
        if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
            bail!("Janus answered {}", head.lines().next().unwrap_or_default());
        }
        let content = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(content)
        } else {
            content.to_owned()
        };
        serde_json::from_str(&content).context("Janus's answer is not JSON")
    }
}

fn id_of(answer: &Value) -> Result<u64> {
    answer["data"]["id"]
        .as_u64()
        .with_context(|| format!("no id in {answer}"))
}

/// The body of a chunked transfer (RFC 9112 §7.1), trailers ignored.
fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        let Some(chunk) = rest.get(..size) else {
            out.push_str(rest);
            break;
        };
        out.push_str(chunk);
        text = rest
            .get(size..)
            .unwrap_or_default()
            .trim_start_matches("\r\n");
    }
    out
}

pub const PAYLOAD_TYPE: u8 = OPUS_PAYLOAD_TYPE;
