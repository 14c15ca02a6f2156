//! Instant messages between client cores through the server, in virtual
//! time: delivery, delivery failure with its reason, typing, long and
//! Unicode text, and one user signed in twice.

use std::time::Duration;

use confab::client::{Command, Event};

use crate::simnet::*;

fn send(net: &mut Network, from: usize, id: u64, to: &str, text: &str) {
    net.command(
        from,
        Command::SendIm {
            id,
            to: to.into(),
            text: text.into(),
        },
    );
}

fn status_of(net: &Network, client: usize, id: u64) -> Option<(bool, Option<String>)> {
    net.clients[client]
        .events
        .iter()
        .find_map(|event| match event {
            Event::ImStatus {
                id: status_id,
                delivered,
                reason,
                ..
            } if *status_id == id => Some((*delivered, reason.clone())),
            _ => None,
        })
}

fn received(net: &Network, client: usize) -> Vec<(String, String)> {
    net.clients[client]
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Im { from, text } => Some((from.clone(), text.clone())),
            _ => None,
        })
        .collect()
}

fn signed_in(net: &mut Network, users: &[(&str, &str)]) -> Vec<usize> {
    let clients: Vec<usize> = users
        .iter()
        .map(|(at, user)| net.add_client(at, user, user))
        .collect();
    net.run_until(Duration::from_secs(5), |net| {
        clients
            .iter()
            .all(|&client| net.has_event(client, registered))
    });
    clients
}

#[test]
fn a_message_is_delivered_and_says_so() {
    let mut net = Network::new(0.0);
    let [vivian, amy] = signed_in(
        &mut net,
        &[("10.0.0.11:5060", "vivian"), ("10.0.0.12:5060", "amy")],
    )[..] else {
        unreachable!()
    };
    send(&mut net, vivian, 1, "amy", "Hello Amy");
    net.run_until(Duration::from_secs(5), |net| {
        status_of(net, vivian, 1).is_some()
    });
    assert_eq!(status_of(&net, vivian, 1), Some((true, None)));
    assert_eq!(
        received(&net, amy),
        vec![("sip:vivian@confab.local".to_owned(), "Hello Amy".to_owned())]
    );
}

#[test]
fn a_message_to_someone_signed_in_nowhere_is_not_delivered_with_the_reason() {
    let mut net = Network::new(0.0);
    let [vivian] = signed_in(&mut net, &[("10.0.0.11:5060", "vivian")])[..] else {
        unreachable!()
    };
    send(
        &mut net,
        vivian,
        7,
        "sip:hao@confab.local",
        "Are you there?",
    );
    net.run_until(Duration::from_secs(5), |net| {
        status_of(net, vivian, 7).is_some()
    });
    let (delivered, reason) = status_of(&net, vivian, 7).unwrap();
    assert!(!delivered);
    assert!(reason.as_deref().unwrap().starts_with("480"), "{reason:?}");

    send(&mut net, vivian, 8, "sip:nobody@confab.local", "hello?");
    net.run_until(Duration::from_secs(5), |net| {
        status_of(net, vivian, 8).is_some()
    });
    let (delivered, reason) = status_of(&net, vivian, 8).unwrap();
    assert!(!delivered);
    assert!(reason.as_deref().unwrap().starts_with("404"), "{reason:?}");
}

#[test]
fn a_message_lost_in_the_network_times_out_as_not_delivered() {
    let mut net = Network::new(0.0);
    let [vivian, _amy] = signed_in(
        &mut net,
        &[("10.0.0.11:5060", "vivian"), ("10.0.0.12:5060", "amy")],
    )[..] else {
        unreachable!()
    };
    net.loss = 1.0;
    send(&mut net, vivian, 3, "amy", "into the void");
    net.run_until(Duration::from_secs(40), |net| {
        status_of(net, vivian, 3).is_some()
    });
    let (delivered, reason) = status_of(&net, vivian, 3).unwrap();
    assert!(!delivered);
    assert!(reason.unwrap().contains("408"));
}

#[test]
fn typing_is_shown_to_the_other_side() {
    let mut net = Network::new(0.0);
    let [vivian, amy] = signed_in(
        &mut net,
        &[("10.0.0.11:5060", "vivian"), ("10.0.0.12:5060", "amy")],
    )[..] else {
        unreachable!()
    };
    net.command(vivian, Command::Typing { to: "amy".into() });
    net.run_until(Duration::from_secs(5), |net| {
        net.has_event(
            amy,
            |e| matches!(e, Event::Typing { from } if from == "sip:vivian@confab.local"),
        )
    });
    assert!(
        received(&net, amy).is_empty(),
        "a typing indication is not a message"
    );
}

#[test]
fn long_unicode_multiline_text_arrives_exactly() {
    let mut net = Network::new(0.0);
    let [vivian, amy] = signed_in(
        &mut net,
        &[("10.0.0.11:5060", "vivian"), ("10.0.0.12:5060", "amy")],
    )[..] else {
        unreachable!()
    };
    let text = "Ligne 1 — ünïcödé ✓ 漢字 🎧\r\nline 2\n".repeat(120);
    assert!(text.len() > 4000);
    send(&mut net, vivian, 1, "amy", &text);
    net.run_until(Duration::from_secs(5), |net| {
        status_of(net, vivian, 1).is_some()
    });
    assert_eq!(status_of(&net, vivian, 1), Some((true, None)));
    assert_eq!(
        received(&net, amy),
        vec![("sip:vivian@confab.local".to_owned(), text)]
    );
}

#[test]
fn a_user_signed_in_twice_gets_the_message_on_both() {
    let mut net = Network::new(0.0);
    let clients = signed_in(
        &mut net,
        &[
            ("10.0.0.11:5060", "vivian"),
            ("10.0.0.12:5060", "amy"),
            ("10.0.0.13:5060", "amy"),
        ],
    );
    send(&mut net, clients[0], 1, "amy", "to both of you");
    net.run_until(Duration::from_secs(5), |net| {
        !received(net, clients[1]).is_empty() && !received(net, clients[2]).is_empty()
    });
    net.run_until(Duration::from_secs(5), |net| {
        status_of(net, clients[0], 1).is_some()
    });
    assert_eq!(status_of(&net, clients[0], 1), Some((true, None)));
}

#[test]
fn bad_targets_and_empty_text_are_refused_before_sending() {
    let mut net = Network::new(0.0);
    let [vivian] = signed_in(&mut net, &[("10.0.0.11:5060", "vivian")])[..] else {
        unreachable!()
    };
    send(&mut net, vivian, 1, "not a uri", "hi");
    send(&mut net, vivian, 2, "amy", "   ");
    net.run_for(Duration::from_millis(1));
    let failures: Vec<_> = net.clients[vivian]
        .events
        .iter()
        .filter(|event| matches!(event, Event::CommandFailed { command: "im", .. }))
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
}

#[test]
fn a_user_name_with_a_dot_signs_in_and_messages_both_ways() {
    let mut net = Network::new(0.0);
    net.server = server_with_users(1, &["amy.lee".into()]);
    let [vivian, amy] = signed_in(
        &mut net,
        &[("10.0.0.11:5060", "vivian"), ("10.0.0.12:5060", "amy.lee")],
    )[..] else {
        unreachable!()
    };
    send(&mut net, amy, 1, "vivian", "Hello from Amy Lee");
    send(&mut net, vivian, 2, "amy.lee", "Hello Amy Lee");
    net.run_until(Duration::from_secs(5), |net| {
        status_of(net, amy, 1).is_some() && status_of(net, vivian, 2).is_some()
    });
    // The proxy takes the From for who Amy Lee proved she is, and finds
    // her registration under her own name.
    assert_eq!(status_of(&net, amy, 1), Some((true, None)));
    assert_eq!(status_of(&net, vivian, 2), Some((true, None)));
    assert_eq!(
        received(&net, vivian),
        vec![(
            "sip:amy.lee@confab.local".to_owned(),
            "Hello from Amy Lee".to_owned()
        )]
    );
    assert_eq!(
        received(&net, amy),
        vec![(
            "sip:vivian@confab.local".to_owned(),
            "Hello Amy Lee".to_owned()
        )]
    );
}
