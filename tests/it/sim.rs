//! The server and client cores on the simulated network of `simnet`:
//! registration, forking, challenges, restarts and bad input.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use confab::client;
use confab::proto::message;
use confab::proto::{Peer, Time};

use crate::simnet::*;

#[test]
fn clients_register_through_a_lossy_network() {
    let mut net = Network::new(0.3);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(120), |net| {
        net.has_event(vivian, registered) && net.has_event(amy, registered)
    });
    assert!(net.now < Time::ZERO + Duration::from_secs(120));
    // They stay registered across refreshes: no failure in ten minutes.
    net.loss = 0.0;
    net.run_for(Duration::from_secs(600));
    for client in [vivian, amy] {
        let failures = net.clients[client]
            .events
            .iter()
            .filter(|event| matches!(event, client::Event::RegistrationFailed { .. }))
            .count();
        assert_eq!(failures, 0, "{:?}", net.clients[client].events);
        assert!(net.clients[client].core.registration().is_registered());
    }
}

#[test]
fn an_invite_forks_and_the_first_answer_wins() {
    let mut net = Network::new(0.0);
    let first = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let second = net.add_client("10.0.0.12:5060", "vivian", "vivian");
    let hao = net.add_raw("10.0.0.20:5060");
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(first, registered) && net.has_event(second, registered)
    });

    net.invite_as_hao(hao, "sip:vivian@confab.local", "call1");
    net.expect_raw(hao, "SIP/2.0 100");
    net.run_until(Duration::from_secs(5), |net| {
        [first, second].iter().all(|&c| {
            net.has_event(c, |e| matches!(e, client::Event::IncomingCall { from } if from == "sip:hao@confab.local"))
        })
    });
    net.expect_raw(hao, "SIP/2.0 180");

    net.command(first, client::Command::AnswerCall);
    let ok = net.expect_raw(hao, "SIP/2.0 200");
    assert!(
        header_line(&ok, "Record-Route").is_some(),
        "the proxy stays in the dialog:\n{ok}"
    );
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(
            second,
            |e| matches!(e, client::Event::CallEnded { reason, .. } if reason == "cancelled"),
        )
    });

    // ACK and BYE follow the Record-Route back through the proxy.
    let ua = net.raw[hao].addr;
    let to = header_line(&ok, "To")
        .unwrap()
        .trim_start_matches("To:")
        .trim()
        .to_owned();
    let route = header_line(&ok, "Record-Route")
        .unwrap()
        .trim_start_matches("Record-Route:")
        .trim()
        .to_owned();
    let contact = "sip:vivian@10.0.0.11:5060";
    let in_dialog = |method: &str, cseq: u32| {
        format!(
            "{method} {contact} SIP/2.0\r\nVia: SIP/2.0/UDP {ua};branch=z9hG4bKdlg{method}{cseq};rport\r\n\
             Max-Forwards: 70\r\nRoute: {route}\r\nFrom: <sip:hao@confab.local>;tag=rawcall1\r\nTo: {to}\r\n\
             Call-ID: call1\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
        )
    };
    net.send_raw(hao, &in_dialog("ACK", 2));
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(first, |e| matches!(e, client::Event::CallConnected { .. }))
    });
    net.send_raw(hao, &in_dialog("BYE", 3));
    net.expect_raw(hao, "SIP/2.0 200");
    assert!(net.has_event(first, |e| matches!(e, client::Event::CallEnded { .. })));
}

/// Strangers learn nothing: the same challenge for a user who is online,
/// one who is offline, and one who does not exist, and for REGISTER the
/// same for known and unknown users.
#[test]
fn strangers_get_the_same_challenge_whatever_the_target() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let stranger = net.add_raw("10.0.0.66:5060");
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(vivian, registered)
    });
    let ua = net.raw[stranger].addr;
    let mut shapes = Vec::new();
    for (index, target) in [
        "sip:vivian@confab.local",
        "sip:amy@confab.local",
        "sip:nobody@confab.local",
    ]
    .iter()
    .enumerate()
    {
        for method in ["INVITE", "MESSAGE", "SUBSCRIBE", "OPTIONS"] {
            let call = format!("probe{index}{method}");
            net.send_raw(
                stranger,
                &raw_request(method, target, "mallory", ua, &call, 1, ""),
            );
            let reply = net.expect_raw(stranger, "SIP/2.0 ");
            assert!(
                reply.starts_with("SIP/2.0 407"),
                "{method} {target}: {reply}"
            );
            if method == "INVITE" {
                // A challenged INVITE is ACKed, or its 407 is retransmitted.
                net.send_raw(
                    stranger,
                    &raw_request("ACK", target, "mallory", ua, &call, 1, ""),
                );
            }
            shapes.push(challenge_shape(&reply));
        }
    }
    for (user, call) in [("vivian", "reg1"), ("nobody", "reg2")] {
        let register = raw_request("REGISTER", "sip:confab.local", user, ua, call, 1, "").replace(
            "To: <sip:confab.local>",
            &format!("To: <sip:{user}@confab.local>"),
        );
        net.send_raw(stranger, &register);
        let reply = net.expect_raw(stranger, "SIP/2.0 ");
        assert!(reply.starts_with("SIP/2.0 401"), "{reply}");
        shapes.push(challenge_shape(&reply).replace("WWW-Authenticate", "Proxy-Authenticate"));
    }
    assert!(
        shapes.windows(2).all(|pair| pair[0] == pair[1]),
        "{shapes:#?}"
    );
}

/// A challenge with its nonce blanked out, for comparing shapes.
fn challenge_shape(reply: &str) -> String {
    reply
        .lines()
        .filter(|line| line.contains("Authenticate"))
        .map(|line| {
            let start = line.find("nonce=\"").map(|i| i + 7).unwrap_or(0);
            let end = line[start..].find('"').map(|i| i + start).unwrap_or(start);
            format!("{}{}", &line[..start], &line[end..])
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_client_registers_again_when_a_restarted_server_answers() {
    let mut net = Network::new(0.0);
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(5), |net| net.has_event(amy, registered));
    // The server dies: everything sent to it is lost until it restarts.
    net.loss = 1.0;
    net.run_until(Duration::from_secs(60), |net| {
        net.has_event(amy, |e| {
            matches!(e, client::Event::RegistrationFailed { .. })
        })
    });
    net.server = new_server(2);
    net.loss = 0.0;
    net.clients[amy].events.clear();
    net.run_until(Duration::from_secs(60), |net| {
        net.has_event(amy, registered)
    });
}

#[test]
fn garbage_gets_a_400_or_silence_and_the_server_carries_on() {
    let mut net = Network::new(0.0);
    let ua = net.add_raw("10.0.0.30:5060");
    let at = net.raw[ua].addr;
    let mut rng = StdRng::seed_from_u64(3);
    let valid = raw_request("OPTIONS", "sip:confab.local", "probe", at, "g", 1, "");
    for round in 0..500 {
        let mut bytes = valid.clone().into_bytes();
        match round % 3 {
            0 => bytes.truncate(rng.random_range(0..bytes.len())),
            1 => {
                for _ in 0..8 {
                    let index = rng.random_range(0..bytes.len());
                    bytes[index] = rng.random();
                }
            }
            _ => {
                bytes = (0..rng.random_range(0..300))
                    .map(|_| rng.random())
                    .collect()
            }
        }
        net.in_flight
            .push((net.now, Peer::udp(at), addr(SERVER), bytes));
        net.run_for(Duration::from_millis(1));
    }
    net.raw[ua].inbox.clear();
    net.send_raw(
        ua,
        &valid.replace("branch=z9hG4bKg1", "branch=z9hG4bKafter"),
    );
    let reply = net.expect_raw(ua, "SIP/2.0 200");
    assert!(message::parse(reply.as_bytes()).is_ok());
}

/// RFC 3261 §13.3.1.4: an answer nobody ACKs is retransmitted, then the
/// callee gives up after 64*T1 and hangs up with a BYE.
#[test]
fn an_answer_without_ack_ends_the_call_after_timer_l() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let hao = net.add_raw("10.0.0.20:5060");
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(vivian, registered)
    });
    net.invite_as_hao(hao, "sip:vivian@confab.local", "noack");
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(vivian, |e| matches!(e, client::Event::IncomingCall { .. }))
    });
    let answered_at = net.now;
    net.command(vivian, client::Command::AnswerCall);
    net.expect_raw(hao, "SIP/2.0 200");
    let retransmitted = net.expect_raw(hao, "SIP/2.0 200");
    assert!(retransmitted.contains("Call-ID: noack"));
    net.run_until(Duration::from_secs(40), |net| {
        net.has_event(
            vivian,
            |e| matches!(e, client::Event::CallEnded { reason, .. } if reason.contains("no ACK")),
        )
    });
    let waited = net.now - answered_at;
    assert!(
        waited >= Duration::from_secs(32),
        "gave up after {waited:?}"
    );
    let bye = net.expect_raw(hao, "BYE ");
    assert!(bye.contains("Call-ID: noack"), "{bye}");
}
