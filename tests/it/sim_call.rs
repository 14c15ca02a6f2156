//! One-to-one calls between client cores through the server, in virtual
//! time: SDP offer/answer, ringing, answer, hold and resume, hang-up, and
//! what each side asks of its media task.

use std::time::Duration;

use confab::client::{Availability, Command, Event};
use confab::proto::IoRequest;
use confab::proto::sdp::{AudioCodec, Direction};

use crate::simnet::*;

fn started_media(net: &Network, client: usize) -> Vec<confab::proto::sdp::NegotiatedAudio> {
    net.clients[client]
        .io
        .iter()
        .filter_map(|request| match request {
            IoRequest::StartMedia { audio, .. } => Some(audio.clone()),
            _ => None,
        })
        .collect()
}

fn call_state(net: &Network, client: usize, wanted: impl Fn(&Event) -> bool) -> bool {
    net.clients[client].events.iter().any(wanted)
}

#[test]
fn a_call_rings_connects_holds_resumes_and_hangs_up() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, registered) && net.has_event(amy, registered)
    });

    net.command(vivian, Command::Call { to: "amy".into() });
    net.run_until(Duration::from_secs(5), |net| {
        call_state(
            net,
            amy,
            |e| matches!(e, Event::IncomingCall { from } if from == "sip:vivian@confab.local"),
        ) && call_state(net, vivian, |e| matches!(e, Event::CallRinging { .. }))
    });
    net.command(amy, Command::AnswerCall);
    net.run_until(Duration::from_secs(5), |net| {
        call_state(net, amy, |e| matches!(e, Event::CallConnected { .. }))
            && call_state(net, vivian, |e| matches!(e, Event::CallConnected { .. }))
    });
    // Each side sends to the other's RTP port, in Opus, both ways.
    let at_vivian = started_media(&net, vivian);
    let at_amy = started_media(&net, amy);
    assert_eq!(
        at_vivian.last().unwrap().remote,
        "10.0.0.12:40002".parse().unwrap()
    );
    assert_eq!(
        at_amy.last().unwrap().remote,
        "10.0.0.11:40000".parse().unwrap()
    );
    assert_eq!(at_vivian.last().unwrap().codec.codec, AudioCodec::Opus);
    assert_eq!(at_amy.last().unwrap().direction, Direction::SendRecv);

    // Watchers see both In a call.
    let hao = net.add_client("10.0.0.13:5060", "hao", "hao");
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(hao, |e| matches!(e, Event::Presence { uri, availability: Availability::InACall, .. } if uri == "sip:amy@confab.local"))
            && net.has_event(hao, |e| matches!(e, Event::Presence { uri, availability: Availability::InACall, .. } if uri == "sip:vivian@confab.local"))
    });

    net.command(vivian, Command::Hold { held: true });
    net.run_until(Duration::from_secs(5), |net| {
        call_state(net, vivian, |e| {
            matches!(e, Event::CallHeld { held: true, .. })
        }) && call_state(net, amy, |e| {
            matches!(e, Event::CallHeld { held: true, .. })
        })
    });
    assert_eq!(
        started_media(&net, vivian).last().unwrap().direction,
        Direction::SendOnly
    );
    assert_eq!(
        started_media(&net, amy).last().unwrap().direction,
        Direction::RecvOnly
    );

    net.command(vivian, Command::Hold { held: false });
    net.run_until(Duration::from_secs(5), |net| {
        call_state(net, amy, |e| {
            matches!(e, Event::CallHeld { held: false, .. })
        })
    });
    assert_eq!(
        started_media(&net, amy).last().unwrap().direction,
        Direction::SendRecv
    );

    net.command(amy, Command::HangUp);
    net.run_until(Duration::from_secs(5), |net| {
        call_state(
            net,
            vivian,
            |e| matches!(e, Event::CallEnded { reason, .. } if reason.contains("hung up")),
        )
    });
    assert!(
        net.clients[vivian]
            .io
            .iter()
            .any(|r| matches!(r, IoRequest::StopMedia { .. }))
    );
    assert!(
        net.clients[amy]
            .io
            .iter()
            .any(|r| matches!(r, IoRequest::StopMedia { .. }))
    );
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(hao, |e| matches!(e, Event::Presence { uri, availability: Availability::Available, .. } if uri == "sip:amy@confab.local"))
    });
}

#[test]
fn a_call_cancelled_while_ringing_ends_on_both_sides() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, registered) && net.has_event(amy, registered)
    });
    net.command(
        vivian,
        Command::Call {
            to: "sip:amy@confab.local".into(),
        },
    );
    net.run_until(Duration::from_secs(5), |net| {
        call_state(net, vivian, |e| matches!(e, Event::CallRinging { .. }))
    });
    net.command(vivian, Command::HangUp);
    net.run_until(Duration::from_secs(5), |net| {
        call_state(
            net,
            vivian,
            |e| matches!(e, Event::CallEnded { reason, .. } if reason == "cancelled"),
        ) && call_state(
            net,
            amy,
            |e| matches!(e, Event::CallEnded { reason, .. } if reason == "cancelled"),
        )
    });
}

#[test]
fn a_declined_or_unanswerable_call_says_why() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(10), |net| {
        net.has_event(vivian, registered) && net.has_event(amy, registered)
    });
    net.command(vivian, Command::Call { to: "amy".into() });
    net.run_until(Duration::from_secs(5), |net| {
        call_state(net, amy, |e| matches!(e, Event::IncomingCall { .. }))
    });
    net.command(amy, Command::DeclineCall);
    net.run_until(Duration::from_secs(5), |net| {
        call_state(
            net,
            vivian,
            |e| matches!(e, Event::CallEnded { reason, .. } if reason.starts_with("603")),
        )
    });
    net.command(vivian, Command::Call { to: "hao".into() });
    net.run_until(Duration::from_secs(5), |net| {
        call_state(
            net,
            vivian,
            |e| matches!(e, Event::CallEnded { reason, .. } if reason.starts_with("480")),
        )
    });
}
