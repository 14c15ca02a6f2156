//! A conference of three `confab agent`s on loopback through `confab
//! serve`: each sends its own tone and records what it hears. Each
//! recording holds the two other tones and never its own; once the leader
//! mutes one participant nobody hears that one; an attendee's eject and
//! promote are refused; an ejected participant's client leaves and every
//! roster drops it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::audio::WINDOW;
use crate::harness::{AgentProcess, ServerProcess, tone_level_hann};

const WAIT: Duration = Duration::from_secs(15);
const VIVIAN: &str = "sip:vivian@confab.local";
const AMY: &str = "sip:amy@confab.local";
const HAO: &str = "sip:hao@confab.local";
/// Tones sent at a quarter of full scale come through the mix at about
/// 0.2; a tone not there reads under 0.01.
const HEARD: f64 = 0.05;
const NOT_HEARD: f64 = 0.02;

struct Participant {
    agent: AgentProcess,
    recording: PathBuf,
    tone: f64,
}

fn join(dir: &Path, user: &str, tone: u32, server: std::net::SocketAddr) -> Participant {
    let recording = dir.join(format!("{user}.wav"));
    let agent = AgentProcess::start(
        user,
        server,
        user,
        user,
        &[
            "--audio-in",
            &format!("tone:{tone}"),
            "--audio-out",
            &format!("wav:{}", recording.display()),
        ],
    );
    agent.expect("registered", WAIT);
    Participant {
        agent,
        recording,
        tone: f64::from(tone),
    }
}

/// The size of a recording now: where the next stretch starts.
fn mark(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Waits until every recording has grown by `seconds` of audio past its
/// mark, and returns the samples after the marks (skipping the first
/// 200 ms, in which the mix and the jitter buffer settle).
fn record(participants: &[&Participant], marks: &[u64], seconds: u64) -> Vec<Vec<i16>> {
    let deadline = Instant::now() + WAIT;
    for (participant, start) in participants.iter().zip(marks) {
        while mark(&participant.recording) < start + seconds * 96_000 {
            assert!(
                Instant::now() < deadline,
                "{} stopped growing",
                participant.recording.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    participants
        .iter()
        .zip(marks)
        .map(|(participant, start)| {
            // The file is still being written, its header a second behind:
            // read the 16-bit samples straight from the bytes.
            let bytes = std::fs::read(&participant.recording).unwrap();
            let from = (*start).max(44) as usize + 10 * WINDOW * 2;
            bytes
                .get(from..)
                .unwrap_or_default()
                .chunks_exact(2)
                .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
                .collect()
        })
        .collect()
}

/// The share of 20 ms windows in which `hz` is above `level`.
fn share_with(samples: &[i16], hz: f64, level: f64) -> f64 {
    let windows: Vec<bool> = samples
        .chunks_exact(WINDOW)
        .map(|window| tone_level_hann(window, 48_000, hz) > level)
        .collect();
    windows.iter().filter(|heard| **heard).count() as f64 / windows.len().max(1) as f64
}

fn roster_where(agent: &AgentProcess, wanted: impl Fn(&[Value]) -> bool) -> Value {
    agent.expect_where("roster", WAIT, |event| {
        event["users"].as_array().is_some_and(|users| wanted(users))
    })
}

fn user<'a>(users: &'a [Value], uri: &str) -> Option<&'a Value> {
    users.iter().find(|user| user["uri"] == uri)
}

fn all_connected(users: &[Value], count: usize) -> bool {
    users.len() == count && users.iter().all(|user| user["audio"] == "connected")
}

#[test]
fn three_hear_each_other_but_not_themselves_and_the_leader_mutes_and_ejects() {
    let _turn = crate::harness::audio_call_turn();
    let server = ServerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let mut vivian = join(dir.path(), "vivian", 440, server.addr);
    let mut amy = join(dir.path(), "amy", 660, server.addr);
    let mut hao = join(dir.path(), "hao", 880, server.addr);

    vivian.agent.send(json!({"cmd": "escalate", "with": [AMY]}));
    vivian
        .agent
        .expect_where("conference", WAIT, |e| e["role"] == "presenter");
    let invitation = amy.agent.expect("incoming_call", WAIT);
    assert!(invitation["conference"].is_string(), "{invitation}");
    amy.agent.send(json!({"cmd": "call.answer"}));
    amy.agent
        .expect_where("conference", WAIT, |e| e["role"] == "attendee");
    vivian
        .agent
        .send(json!({"cmd": "conference.invite", "uri": HAO}));
    hao.agent.expect("incoming_call", WAIT);
    hao.agent.send(json!({"cmd": "call.answer"}));
    for participant in [&vivian, &amy, &hao] {
        roster_where(&participant.agent, |users| all_connected(users, 3));
    }

    // Everyone hears the two others and not themselves.
    let everyone = [&vivian, &amy, &hao];
    let marks: Vec<u64> = everyone.iter().map(|p| mark(&p.recording)).collect();
    let heard = record(&everyone, &marks, 2);
    for (listener, samples) in everyone.iter().zip(&heard) {
        for speaker in everyone {
            let share = share_with(samples, speaker.tone, HEARD);
            if std::ptr::eq(*listener, speaker) {
                let own = share_with(samples, speaker.tone, NOT_HEARD);
                assert!(
                    own < 0.05,
                    "{} hears itself in {own:.2} of windows",
                    listener.agent.name
                );
            } else {
                assert!(
                    share > 0.9,
                    "{} hears {} in only {share:.2} of windows",
                    listener.agent.name,
                    speaker.agent.name
                );
            }
        }
    }

    // The leader mutes Amy: nobody hears her tone any more.
    vivian
        .agent
        .send(json!({"cmd": "conference.mute", "uri": AMY, "muted": true}));
    for participant in [&vivian, &hao] {
        roster_where(&participant.agent, |users| {
            user(users, AMY).is_some_and(|amy| amy["muted"] == true)
        });
    }
    let listeners = [&vivian, &hao];
    let marks: Vec<u64> = listeners.iter().map(|p| mark(&p.recording)).collect();
    let heard = record(&listeners, &marks, 1);
    for (listener, samples) in listeners.iter().zip(&heard) {
        let share = share_with(samples, amy.tone, NOT_HEARD);
        assert!(
            share < 0.05,
            "{} still hears muted Amy in {share:.2} of windows",
            listener.agent.name
        );
    }

    // An attendee may neither eject nor promote.
    hao.agent
        .send(json!({"cmd": "conference.eject", "uri": VIVIAN}));
    let refused = hao
        .agent
        .expect_where("error", WAIT, |e| e["command"] == "conference.eject");
    assert!(
        refused["reason"].as_str().unwrap().contains("forbidden"),
        "{refused}"
    );
    hao.agent
        .send(json!({"cmd": "conference.promote", "uri": HAO}));
    let refused = hao
        .agent
        .expect_where("error", WAIT, |e| e["command"] == "conference.promote");
    assert!(
        refused["reason"].as_str().unwrap().contains("forbidden"),
        "{refused}"
    );

    // The leader ejects Hao: his client leaves, every roster drops him.
    vivian
        .agent
        .send(json!({"cmd": "conference.eject", "uri": HAO}));
    hao.agent.expect("ejected", WAIT);
    for participant in [&vivian, &amy] {
        roster_where(&participant.agent, |users| {
            users.len() == 2 && user(users, HAO).is_none()
        });
    }

    for participant in [vivian, amy, hao] {
        assert!(participant.agent.quit(WAIT).success());
    }
}

#[test]
fn a_phone_dials_the_access_number_keys_in_the_code_and_is_heard() {
    let _turn = crate::harness::audio_call_turn();
    let server = ServerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let mut vivian = join(dir.path(), "vivian", 440, server.addr);
    let mut hao = join(dir.path(), "hao", 880, server.addr);

    vivian.agent.send(json!({"cmd": "conference.create"}));
    vivian.agent.expect("conference", WAIT);
    vivian
        .agent
        .send(json!({"cmd": "conference.join_audio", "via": "client"}));
    let roster = roster_where(&vivian.agent, |users| {
        user(users, VIVIAN).is_some_and(|me| me["audio"] == "connected")
    });
    let number = roster["dial_in"]["number"].as_str().unwrap().to_owned();
    let code = roster["dial_in"]["code"].as_str().unwrap().to_owned();

    // Hao calls in like any phone: the access number, then the code.
    hao.agent.send(json!({"cmd": "call", "to": number}));
    hao.agent.expect_call("connected", WAIT);
    hao.agent
        .send(json!({"cmd": "call.dtmf", "digits": format!("{code}#")}));
    roster_where(&vivian.agent, |users| {
        user(users, HAO)
            .is_some_and(|hao| hao["audio"] == "connected" && hao["roles"] == json!(["attendee"]))
    });

    let both = [&vivian, &hao];
    let marks: Vec<u64> = both.iter().map(|p| mark(&p.recording)).collect();
    let heard = record(&both, &marks, 2);
    for (listener, samples) in both.iter().zip(&heard) {
        // Half a second more for the keypad's last events and the mix to
        // settle.
        let samples = samples.get(25 * WINDOW..).unwrap_or_default();
        for speaker in both {
            if std::ptr::eq(*listener, speaker) {
                continue;
            }
            let share = share_with(samples, speaker.tone, HEARD);
            assert!(
                share > 0.9,
                "{} hears {} in only {share:.2} of windows",
                listener.agent.name,
                speaker.agent.name
            );
        }
    }
    for participant in [vivian, hao] {
        assert!(participant.agent.quit(WAIT).success());
    }
}
