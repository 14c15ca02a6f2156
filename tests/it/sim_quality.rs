//! Call quality in a whole conference, in virtual time: the A/V MCU's
//! figures for each leg (injected as the media task would report them)
//! reach every participant's roster, rounded; a wobble sends no NOTIFY;
//! a noticeable move does.

use std::time::Duration;

use confab::client::{AudioVia, Command, Event, Participant, Quality};
use confab::proto::{IoResult, LegQuality, SipCore as _};
use confab::server::ServerCommand;

use crate::simnet::*;

const AMY: &str = "sip:amy@confab.local";
const HAO: &str = "sip:hao@confab.local";

fn latest(net: &Network, client: usize) -> Vec<Participant> {
    rosters(net, client)
        .pop()
        .map(|(_, users)| users)
        .unwrap_or_default()
}

/// The MCU's report for leg `leg`: loss and jitter that differ per leg.
fn report(leg: u64, loss_percent: f32, jitter_ms: f32) -> ServerCommand {
    ServerCommand::Io(IoResult::McuLegQuality {
        leg,
        quality: LegQuality {
            codec: "Opus",
            loss_percent,
            jitter_ms,
            round_trip_ms: Some(12.4),
            buffer_ms: 60.2,
        },
    })
}

/// What a roster shows of [`report`]'s figures, rounded.
fn shown(loss_permille: u16, jitter_ms: u32) -> Quality {
    Quality {
        codec: Some("Opus".into()),
        loss_permille: Some(loss_permille),
        jitter_ms: Some(jitter_ms),
        rtt_ms: Some(12),
        buffer_ms: Some(60),
    }
}

fn inject(net: &mut Network, reports: impl IntoIterator<Item = ServerCommand>) {
    let now = net.now;
    for report in reports {
        net.server.handle_command(now, report);
    }
}

#[test]
fn the_mcus_figures_reach_every_roster_and_a_wobble_sends_no_notify() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    let hao = net.add_client("10.0.0.13:5060", "hao", "hao");
    let clients = [vivian, amy, hao];
    net.run_until(Duration::from_secs(10), |net| {
        clients
            .iter()
            .all(|&client| net.has_event(client, registered))
    });
    net.command(
        vivian,
        Command::Escalate {
            with: vec![AMY.into(), HAO.into()],
            via: AudioVia::Client,
        },
    );
    let invited = |net: &Network, client| {
        net.has_event(client, |e| matches!(e, Event::ConferenceInvitation { .. }))
    };
    net.run_until(Duration::from_secs(10), |net| {
        invited(net, amy) && invited(net, hao)
    });
    net.command(amy, Command::AnswerCall);
    net.command(hao, Command::AnswerCall);
    let all_in_audio = |net: &Network| {
        clients.iter().all(|&client| {
            let users = latest(net, client);
            users.len() == 3
                && users
                    .iter()
                    .all(|user| user.audio == "connected" && user.src_id.is_some())
        })
    };
    net.run_until(Duration::from_secs(10), all_in_audio);
    let users = latest(&net, vivian);
    assert!(users.iter().all(|user| user.quality.is_none()), "{users:?}");
    // Each user's leg is the CSRC the roster names as its src-id.
    let legs: Vec<(String, u64)> = users
        .iter()
        .map(|user| (user.uri.clone(), u64::from(user.src_id.unwrap())))
        .collect();

    // The first reports: leg n loses 0.44 + n percent, jitters 3.4 ms.
    let first = |leg: u64| report(leg, 0.44 + leg as f32, 3.4);
    inject(&mut net, legs.iter().map(|(_, leg)| first(*leg)));
    let expected = |leg: u64| shown(4 + 10 * leg as u16, 3);
    let figures_shown = |net: &Network, want: &dyn Fn(u64) -> Quality| {
        clients.iter().all(|&client| {
            let users = latest(net, client);
            legs.iter().all(|(uri, leg)| {
                users
                    .iter()
                    .any(|user| user.uri == *uri && user.quality == Some(want(*leg)))
            })
        })
    };
    net.run_until(Duration::from_secs(10), |net| figures_shown(net, &expected));

    // A wobble (loss by 0.3 points, jitter by 3 ms) is not worth a NOTIFY:
    // no client hears of it, and the rosters keep the published figures.
    let before: Vec<usize> = clients
        .iter()
        .map(|&client| rosters(&net, client).len())
        .collect();
    inject(
        &mut net,
        legs.iter()
            .map(|(_, leg)| report(*leg, 0.74 + *leg as f32, 6.3)),
    );
    net.run_for(Duration::from_secs(2));
    let after: Vec<usize> = clients
        .iter()
        .map(|&client| rosters(&net, client).len())
        .collect();
    assert_eq!(before, after, "a NOTIFY for a wobble");
    assert!(figures_shown(&net, &expected));

    // Amy's loss moves by a point: one NOTIFY, with only her figures new.
    let amy_leg = legs.iter().find(|(uri, _)| uri == AMY).unwrap().1;
    inject(&mut net, [report(amy_leg, 1.44 + amy_leg as f32, 3.4)]);
    net.run_until(Duration::from_secs(10), |net| {
        clients.iter().all(|&client| {
            latest(net, client).iter().any(|user| {
                user.uri == AMY && user.quality == Some(shown(14 + 10 * amy_leg as u16, 3))
            })
        })
    });
    for (&client, before) in clients.iter().zip(&after) {
        let rosters = rosters(&net, client);
        assert_eq!(rosters.len(), before + 1, "client {client}");
        let users = &rosters.last().unwrap().1;
        for (uri, leg) in legs.iter().filter(|(uri, _)| uri != AMY) {
            let user = users.iter().find(|user| user.uri == *uri).unwrap();
            assert_eq!(user.quality, Some(expected(*leg)), "client {client}: {uri}");
        }
    }

    // A report for a leg the server does not know changes nothing.
    inject(&mut net, [report(9_999, 50.0, 300.0)]);
    net.run_for(Duration::from_secs(2));
    for (&client, before) in clients.iter().zip(&after) {
        assert_eq!(rosters(&net, client).len(), before + 1, "client {client}");
    }
}
