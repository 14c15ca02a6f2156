//! Presence, IM and the buddy list between `confab agent` processes and
//! `confab serve` on loopback: what DESIGN.md section 5's scripts see.

use std::time::Duration;

use serde_json::json;

use crate::harness::{AgentProcess, ServerProcess};

const WAIT: Duration = Duration::from_secs(10);

fn agent(server: &ServerProcess, name: &str, user: &str) -> AgentProcess {
    let agent = AgentProcess::start(name, server.addr, user, user, &[]);
    agent.expect("registered", WAIT);
    agent
}

#[test]
fn a_presence_change_reaches_every_watcher() {
    let server = ServerProcess::start();
    let mut amy = agent(&server, "amy", "amy");
    let vivian = agent(&server, "vivian", "vivian");
    let hao = agent(&server, "hao", "hao");
    amy.send(json!({"cmd": "presence", "state": "dnd", "note": "Deep work until 3"}));
    for watcher in [&vivian, &hao] {
        let seen = watcher.expect_where("presence", WAIT, |event| {
            event["uri"] == "sip:amy@confab.local" && event["state"] == "dnd"
        });
        assert_eq!(seen["note"], "Deep work until 3");
    }
}

#[test]
fn an_im_and_a_typing_indication_arrive_and_delivery_is_reported() {
    let server = ServerProcess::start();
    let mut vivian = agent(&server, "vivian", "vivian");
    let amy = agent(&server, "amy", "amy");
    vivian.send(json!({"cmd": "typing", "to": "sip:amy@confab.local"}));
    let typing = amy.expect("typing", WAIT);
    assert_eq!(typing["from"], "sip:vivian@confab.local");
    vivian.send(json!({"cmd": "im", "to": "sip:amy@confab.local", "text": "Lunch at noon? ☕\nSecond line"}));
    let message = amy.expect("im", WAIT);
    assert_eq!(message["from"], "sip:vivian@confab.local");
    assert_eq!(message["text"], "Lunch at noon? ☕\nSecond line");
    let status = vivian.expect("im_status", WAIT);
    assert_eq!(status["delivered"], true, "{status}");
    assert_eq!(status["to"], "sip:amy@confab.local");
}

#[test]
fn an_im_to_an_offline_user_reports_not_delivered() {
    let server = ServerProcess::start();
    let mut vivian = agent(&server, "vivian", "vivian");
    vivian.send(
        json!({"cmd": "im", "to": "sip:hao@confab.local", "text": "are you there?", "id": 41}),
    );
    let status = vivian.expect("im_status", WAIT);
    assert_eq!(status["id"], 41);
    assert_eq!(status["delivered"], false);
    assert!(
        status["reason"].as_str().unwrap().starts_with("480"),
        "{status}"
    );
}

#[test]
fn a_buddy_added_on_one_client_appears_on_a_second_client_of_the_same_user() {
    let server = ServerProcess::start();
    let mut desk = agent(&server, "vivian-desk", "vivian");
    let laptop = agent(&server, "vivian-laptop", "vivian");
    let initial = laptop.expect("buddies", WAIT);
    assert_eq!(initial["buddies"].as_array().unwrap().len(), 2, "{initial}");
    desk.send(json!({"cmd": "buddy.add", "uri": "sip:carol@example.com", "group": "Partners"}));
    let updated = laptop.expect_where("buddies", WAIT, |event| {
        event["buddies"].as_array().is_some_and(|list| {
            list.iter()
                .any(|b| b["uri"] == "sip:carol@example.com" && b["group"] == "Partners")
        })
    });
    assert_eq!(updated["buddies"].as_array().unwrap().len(), 3);
}
