//! `confab agent` processes against `confab serve` on loopback.

use std::time::Duration;

use serde_json::json;

use crate::harness::{AgentProcess, ServerProcess, repo_path, sipp};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn an_agent_registers_and_a_wrong_password_is_reported() {
    let server = ServerProcess::start();
    let amy = AgentProcess::start("amy", server.addr, "amy", "amy", &[]);
    let registered = amy.expect("registered", WAIT);
    assert_eq!(registered["uri"], "sip:amy@confab.local");

    let intruder = AgentProcess::start("intruder", server.addr, "hao", "not-hao", &[]);
    let failed = intruder.expect("registration_failed", WAIT);
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("403"),
        "a refused password says so: {reason}"
    );

    let status = amy.quit(WAIT);
    assert!(
        status.success(),
        "agent exits cleanly on end of input: {status}"
    );
}

#[test]
fn bad_command_lines_get_error_events_and_the_agent_keeps_going() {
    let server = ServerProcess::start();
    let mut hao = AgentProcess::start("hao", server.addr, "hao", "hao", &[]);
    hao.expect("registered", WAIT);
    hao.send(json!({"cmd": "teleport"}));
    let error = hao.expect("error", WAIT);
    assert_eq!(error["command"], "teleport");
    hao.send(json!({"cmd": "call.answer"}));
    let error = hao.expect("error", WAIT);
    assert_eq!(error["command"], "call.answer");
    assert_eq!(error["reason"], "no call is ringing");
    hao.send(json!({"cmd": "quit"}));
    assert!(hao.quit(WAIT).success());
}

/// One user signed in twice: an INVITE rings both, the first to answer
/// takes the call, and the other is cancelled (RFC 3261 §16.7 step 10).
#[test]
fn an_invite_forks_to_every_contact_and_the_loser_is_cancelled() {
    let server = ServerProcess::start();
    let mut first = AgentProcess::start("vivian-1", server.addr, "vivian", "vivian", &[]);
    let second = AgentProcess::start("vivian-2", server.addr, "vivian", "vivian", &[]);
    first.expect("registered", WAIT);
    second.expect("registered", WAIT);

    let caller = std::thread::spawn({
        let addr = server.addr;
        move || {
            let csv = repo_path("tests/sipp/hao.csv");
            let csv = csv.to_str().unwrap();
            let recipient = ["-key", "recipient", "vivian"];
            let auth_uri = ["-auth_uri", "vivian@confab.local"];
            sipp(
                addr,
                "invite_uac.xml",
                &[&["-inf", csv], &recipient[..], &auth_uri[..]].concat(),
            )
        }
    });
    let ringing = first.expect("incoming_call", WAIT);
    assert_eq!(ringing["from"], "sip:hao@confab.local");
    second.expect("incoming_call", WAIT);

    first.send(json!({"cmd": "call.answer"}));
    first.expect_call("connected", WAIT);
    let cancelled = second.expect_call("ended", WAIT);
    assert_eq!(cancelled["peer"], "sip:hao@confab.local");
    // The caller hangs up after a moment: its BYE ends the call.
    first.expect_call("ended", WAIT);
    let (ok, output) = caller.join().unwrap();
    assert!(ok, "sipp caller failed:\n{output}");
}

/// The server goes away and comes back: the agent notices through its
/// keep-alives and registers again by itself.
#[test]
fn an_agent_registers_again_after_the_server_restarts() {
    let server = ServerProcess::start();
    let agent = AgentProcess::start("amy", server.addr, "amy", "amy", &["--keepalive", "1"]);
    agent.expect("registered", WAIT);

    let (addr, data) = server.kill();
    // The port stays taken while the server is down, by a socket that
    // answers nothing: another test picking a free port meanwhile must not
    // get it, or the restart below finds it in use.
    let down = std::net::UdpSocket::bind(addr).unwrap();
    let failed = agent.expect("registration_failed", Duration::from_secs(15));
    assert!(
        failed["reason"].as_str().unwrap().contains("keep-alive"),
        "{failed}"
    );

    drop(down);
    let _server = ServerProcess::start_at(addr, data);
    let again = agent.expect("registered", Duration::from_secs(30));
    assert_eq!(again["uri"], "sip:amy@confab.local");
}
