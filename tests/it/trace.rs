//! SIP traces end to end: `confab serve --trace FILE` while vivian's agent
//! escalates an IM with Amy to a conference and Amy's agent answers the
//! dial-out. The file reads back with the trace reader and holds, decoded:
//! the addConference SERVICE and its C3P answer naming the focus, the
//! addUser INVITE, the A/V MCU's dial-out INVITE to Amy, and a
//! conference-info NOTIFY. Then `confab trace FILE` in a real terminal
//! (tmux) shows each of them on screen, found with the pane's filters as a
//! user would.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use confab::proto::conference_uri::ConferencePart;
use confab::trace::TraceEntry;
use confab::trace::decode::{self, StartLine, Summary};
use confab::trace::file;

use crate::harness::{AgentProcess, CONFAB, ServerProcess};

const WAIT: Duration = Duration::from_secs(15);
const AMY: &str = "sip:amy@confab.local";

fn agent(name: &str, server: std::net::SocketAddr) -> AgentProcess {
    let agent = AgentProcess::start(
        name,
        server,
        name,
        name,
        &["--audio-in", "silence", "--audio-out", "null"],
    );
    agent.expect("registered", WAIT);
    agent
}

/// Runs the escalation against a tracing server; returns the trace file
/// (in `dir`) once it holds a conference-info NOTIFY about Amy.
fn traced_escalation(dir: &Path) -> PathBuf {
    let path = dir.join("server.trace");
    let trace_flag = path.display().to_string();
    let server = ServerProcess::start_with(&["--demo", "--trace", &trace_flag]);
    let mut vivian = agent("vivian", server.addr);
    let mut amy = agent("amy", server.addr);
    vivian.send(json!({"cmd": "escalate", "with": [AMY]}));
    vivian.expect_where("conference", WAIT, |event| event["role"] == "presenter");
    amy.expect("incoming_call", WAIT);
    amy.send(json!({"cmd": "call.answer"}));
    amy.expect_where("conference", WAIT, |event| event["role"] == "attendee");
    vivian.expect_where("roster", WAIT, |event| {
        event["users"]
            .as_array()
            .is_some_and(|users| users.iter().any(|user| user["uri"] == AMY))
    });
    // The server writes each burst as it goes: wait for the file to show
    // what the agents saw.
    let deadline = Instant::now() + WAIT;
    loop {
        let entries = file::read_file(&path).unwrap_or_default();
        if notify_about_amy(&entries).is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no conference-info NOTIFY about Amy in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop((vivian, amy, server));
    path
}

fn decoded(summary: &Summary) -> Vec<String> {
    decode::decode_body(summary.content_type.as_deref(), &summary.body)
}

fn summaries(entries: &[TraceEntry]) -> Vec<Summary> {
    entries
        .iter()
        .map(|entry| decode::summarize(&entry.bytes))
        .collect()
}

fn notify_about_amy(entries: &[TraceEntry]) -> Option<Summary> {
    summaries(entries).into_iter().find(|summary| {
        summary.method() == Some("NOTIFY")
            && summary.is_request()
            && summary.content_type.as_deref() == Some("application/conference-info+xml")
            && decoded(summary).iter().any(|line| line.contains(AMY))
    })
}

fn request<'a>(
    summaries: &'a [Summary],
    method: &str,
    wanted: impl Fn(&Summary) -> bool,
) -> &'a Summary {
    summaries
        .iter()
        .find(|summary| summary.is_request() && summary.method() == Some(method) && wanted(summary))
        .unwrap_or_else(|| panic!("no {method} as wanted among {} messages", summaries.len()))
}

#[test]
fn the_servers_trace_file_holds_the_escalation_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let path = traced_escalation(dir.path());
    let entries = file::read_file(&path).unwrap();
    let summaries = summaries(&entries);
    assert!(
        entries
            .iter()
            .all(|entry| entry.local.port() == entries[0].local.port()),
        "every message as the server saw it"
    );

    let service = request(&summaries, "SERVICE", |summary| {
        decoded(summary)
            .first()
            .is_some_and(|line| line.starts_with("C3P request addConference"))
    });
    assert!(matches!(
        &service.start,
        StartLine::Request { uri, .. } if decode::conference_part(uri) == Some(ConferencePart::FocusFactory)
    ));
    let answer = summaries
        .iter()
        .find(|summary| {
            summary.status() == Some(200)
                && summary.call_id == service.call_id
                && summary.cseq_method.as_deref() == Some("SERVICE")
        })
        .expect("the SERVICE's 200");
    let lines = decoded(answer);
    assert!(
        lines[0].starts_with("C3P response addConference: success"),
        "{lines:#?}"
    );
    let focus = lines
        .iter()
        .find_map(|line| line.trim().strip_prefix("focus: "))
        .expect("the focus URI in the answer");
    assert_eq!(decode::conference_part(focus), Some(ConferencePart::Focus));

    let join = request(&summaries, "INVITE", |summary| {
        decoded(summary)
            .first()
            .is_some_and(|line| line.starts_with("C3P request addUser"))
    });
    assert!(matches!(&join.start, StartLine::Request { uri, .. } if uri == focus));

    let dial_out = request(&summaries, "INVITE", |summary| {
        summary.from.as_deref().and_then(decode::conference_part)
            == Some(ConferencePart::AudioVideo)
            && summary.to.as_deref().is_some_and(|to| to.starts_with(AMY))
    });
    let sdp = decoded(dial_out);
    assert_eq!(sdp.first().map(String::as_str), Some("SDP"), "{sdp:#?}");
    assert!(
        sdp.iter().any(|line| line.contains("codecs: opus/48000/2")),
        "{sdp:#?}"
    );

    let notify = notify_about_amy(&entries).unwrap();
    let lines = decoded(&notify);
    assert!(
        lines[0].starts_with("conference-info version "),
        "{lines:#?}"
    );
    assert_eq!(notify.subscription_state.as_deref(), Some("active"));
}

/// `confab trace FILE` in a tmux server of its own, at 120x40.
struct Viewer {
    dir: tempfile::TempDir,
}

impl Viewer {
    fn start(trace: &Path) -> Viewer {
        let installed = Command::new("tmux").arg("-V").output();
        assert!(
            installed.is_ok_and(|output| output.status.success()),
            "tmux is not installed: run scripts/setup-system.sh (CI installs it)"
        );
        let viewer = Viewer {
            dir: tempfile::tempdir().unwrap(),
        };
        let dir = viewer.dir.path().display().to_string();
        let command = format!(
            "'{CONFAB}' trace '{}'; echo VIEWER-EXITED:$?; sleep 60",
            trace.display()
        );
        let status = viewer
            .tmux()
            .args(["new-session", "-d", "-s", "trace", "-x", "120", "-y", "40"])
            .args(["-e", &format!("XDG_STATE_HOME={dir}/state")])
            .arg(command)
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed: {status}");
        viewer
    }

    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command
            .args(["-f", "/dev/null", "-S"])
            .arg(self.dir.path().join("tmux.socket"))
            .env_remove("TMUX");
        command
    }

    fn press(&self, key: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "trace", key])
            .status()
            .expect("run tmux");
        assert!(status.success());
    }

    fn type_text(&self, text: &str) {
        let status = self
            .tmux()
            .args(["send-keys", "-t", "trace", "-l", text])
            .status()
            .expect("run tmux");
        assert!(status.success());
    }

    fn screen(&self) -> String {
        let output = self
            .tmux()
            .args(["capture-pane", "-p", "-t", "trace"])
            .output()
            .expect("run tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn wait_until(
        &self,
        what: &str,
        within: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return Some(screen);
            }
            assert!(
                !screen.contains("panicked") && !screen.contains("VIEWER-EXITED"),
                "the viewer ended while waiting for {what}:\n{screen}"
            );
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for(&self, text: &str) -> String {
        self.wait_for_all(&format!("{text:?}"), |screen| screen.contains(text))
    }

    /// Waits for a screen `ready` accepts. A capture can catch a frame
    /// half written, so all that a step checks goes into `ready`.
    fn wait_for_all(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        self.wait_until(what, WAIT, ready)
            .unwrap_or_else(|| panic!("no {what} on screen; last screen:\n{}", self.screen()))
    }

    /// Filters the list by `text` and opens the ladder of its first dialog
    /// on its first message.
    fn filter(&self, text: &str) {
        self.press("/");
        self.wait_for("filter: ");
        // The field starts with the filter in force: Ctrl-U empties it.
        self.press("C-u");
        self.type_text(text);
        self.press("Enter");
        let screen = self.wait_for(&format!("filter \"{text}\""));
        if screen.contains("Enter message") {
            // Back from the ladder to the list; Escape alone, then wait:
            // Escape and a key at once read as Alt-key.
            self.press("Escape");
            self.wait_for("Enter ladder");
        }
        self.press("g");
        self.press("Enter");
        self.wait_for("Enter message");
        // The ladder's first message.
        self.press("g");
        self.wait_until("the first message", WAIT, |screen| {
            !screen.contains("following")
        });
    }

    /// Moves down the ladder until `text` shows.
    fn down_to(&self, text: &str) {
        for _ in 0..12 {
            if self
                .wait_until(text, Duration::from_millis(400), |screen| {
                    screen.contains(text)
                })
                .is_some()
            {
                return;
            }
            self.press("j");
        }
        panic!("no {text:?} in the ladder; last screen:\n{}", self.screen())
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

#[test]
fn confab_trace_shows_the_escalation_a_user_looks_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = traced_escalation(dir.path());
    let viewer = Viewer::start(&path);
    viewer.wait_for(" messages, ");

    viewer.filter("addConference");
    viewer.wait_for("C3P request addConference");
    viewer.down_to("C3P response addConference: success");
    viewer.wait_for_all("the focus factory's lane and the focus", |screen| {
        screen.contains("focus factory") && screen.contains("focus: sip:")
    });

    viewer.press("Escape");
    // Escape and the filter's `/` at once would read as Alt-/.
    viewer.wait_for("Enter ladder");
    viewer.filter("addUser");
    viewer.wait_for("C3P request addUser");

    // The dial-out: by method, the INVITE From the A/V MCU to Amy.
    viewer.press("/");
    viewer.wait_for("filter: ");
    viewer.press("Escape");
    viewer.wait_until("no filter", WAIT, |screen| !screen.contains("filter"));
    for _ in 0..12 {
        if viewer
            .wait_until("INVITE", Duration::from_millis(400), |s| {
                s.contains("│ method INVITE")
            })
            .is_some()
        {
            break;
        }
        viewer.press("m");
    }
    viewer.wait_for_all("the dial-out row", |screen| {
        screen.contains("│ method INVITE")
            && screen.lines().any(|line| {
                line.contains("INVITE")
                    && line.contains("A/V MCU")
                    && line.contains("amy@confab.local")
            })
    });

    // A conference-info NOTIFY, decoded beside the ladder.
    viewer.press("m");
    viewer.wait_until("another method", WAIT, |s| !s.contains("│ method INVITE"));
    while viewer
        .wait_until("all", Duration::from_millis(400), |s| {
            !s.contains("│ method ")
        })
        .is_none()
    {
        viewer.press("m");
    }
    viewer.filter("conference-info+xml");
    viewer.down_to("conference-info version ");

    viewer.press("q");
    viewer.wait_for("VIEWER-EXITED:0");
}
