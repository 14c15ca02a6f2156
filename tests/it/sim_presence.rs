//! Presence and the roaming buddy list between client cores and the
//! server, in virtual time.

use std::time::Duration;

use confab::client::{Availability, Buddy, Command, Event};

use crate::simnet::*;

fn presence_of(net: &Network, client: usize, uri: &str) -> Option<(Availability, String)> {
    net.clients[client]
        .events
        .iter()
        .rev()
        .find_map(|event| match event {
            Event::Presence {
                uri: from,
                availability,
                note,
            } if from == uri => Some((*availability, note.clone())),
            _ => None,
        })
}

fn buddies_of(net: &Network, client: usize) -> Option<Vec<Buddy>> {
    net.clients[client]
        .events
        .iter()
        .rev()
        .find_map(|event| match event {
            Event::Buddies { buddies } => Some(buddies.clone()),
            _ => None,
        })
}

fn sees(net: &Network, client: usize, uri: &str, state: Availability) -> bool {
    presence_of(net, client, uri).is_some_and(|(availability, _)| availability == state)
}

const AMY: &str = "sip:amy@confab.local";
const HAO: &str = "sip:hao@confab.local";
const VIVIAN: &str = "sip:vivian@confab.local";

#[test]
fn the_buddy_list_arrives_and_presence_follows_it() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(10), |net| {
        buddies_of(net, vivian).is_some_and(|list| list.len() == 2)
            && sees(net, vivian, AMY, Availability::Available)
            && sees(net, vivian, HAO, Availability::Offline)
    });
    let list = buddies_of(&net, vivian).unwrap();
    let amy_entry = list.iter().find(|buddy| buddy.uri == AMY).unwrap();
    assert_eq!(amy_entry.display, "Amy Rivera");
    assert_eq!(amy_entry.group, "Team");

    net.command(
        amy,
        Command::SetPresence {
            availability: Availability::Busy,
            note: Some("In the roadmap meeting".into()),
        },
    );
    net.run_until(Duration::from_secs(5), |net| {
        sees(net, vivian, AMY, Availability::Busy)
    });
    assert_eq!(
        presence_of(&net, vivian, AMY).unwrap().1,
        "In the roadmap meeting"
    );
    // Amy hears her own state back as the server has it.
    assert!(sees(&net, amy, AMY, Availability::Busy));
}

#[test]
fn of_two_endpoints_the_most_available_wins() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy_desk = net.add_client("10.0.0.12:5060", "amy", "amy");
    let amy_laptop = net.add_client("10.0.0.13:5060", "amy", "amy");
    net.run_until(Duration::from_secs(10), |net| {
        sees(net, vivian, AMY, Availability::Available)
    });
    for (client, state) in [
        (amy_desk, Availability::Away),
        (amy_laptop, Availability::DoNotDisturb),
    ] {
        net.command(
            client,
            Command::SetPresence {
                availability: state,
                note: None,
            },
        );
    }
    net.run_until(Duration::from_secs(5), |net| {
        sees(net, vivian, AMY, Availability::DoNotDisturb)
    });
    net.run_for(Duration::from_secs(2));
    assert!(
        sees(&net, vivian, AMY, Availability::DoNotDisturb),
        "DND (9500) beats Away (15500)"
    );
    net.command(
        amy_desk,
        Command::SetPresence {
            availability: Availability::Available,
            note: None,
        },
    );
    net.run_until(Duration::from_secs(5), |net| {
        sees(net, vivian, AMY, Availability::Available)
    });
}

#[test]
fn a_client_that_vanishes_goes_offline_when_its_registration_expires() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(10), |net| {
        sees(net, vivian, AMY, Availability::Available)
    });
    // Amy's machine is gone: nothing of hers is heard any more.
    net.silence(amy);
    net.run_until(Duration::from_secs(400), |net| {
        sees(net, vivian, AMY, Availability::Offline)
    });
}

#[test]
fn a_buddy_added_on_one_client_appears_on_the_other() {
    let mut net = Network::new(0.0);
    let desk = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let laptop = net.add_client("10.0.0.12:5060", "vivian", "vivian");
    net.run_until(Duration::from_secs(10), |net| {
        buddies_of(net, desk).is_some() && buddies_of(net, laptop).is_some()
    });
    net.command(
        desk,
        Command::AddBuddy {
            uri: "sip:carol@example.com".into(),
            display: Some("Carol".into()),
            group: Some("Partners".into()),
        },
    );
    let has_carol = |list: Option<Vec<Buddy>>| {
        list.is_some_and(|list| {
            list.iter().any(|b| {
                b.uri == "sip:carol@example.com" && b.group == "Partners" && b.display == "Carol"
            })
        })
    };
    net.run_until(Duration::from_secs(5), |net| {
        has_carol(buddies_of(net, desk)) && has_carol(buddies_of(net, laptop))
    });
    net.command(
        laptop,
        Command::RemoveBuddy {
            uri: "sip:carol@example.com".into(),
        },
    );
    net.run_until(Duration::from_secs(5), |net| {
        !has_carol(buddies_of(net, desk)) && !has_carol(buddies_of(net, laptop))
    });
    assert!(buddies_of(&net, desk).unwrap().iter().any(|b| b.uri == AMY));
}

#[test]
fn nobody_reads_or_changes_another_users_list() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let hao = net.add_raw("10.0.0.20:5060");
    net.run_until(Duration::from_secs(10), |net| {
        buddies_of(net, vivian).is_some()
    });
    let ua = net.raw[hao].addr;
    let extra = "Event: vnd.confab.contacts\r\nExpires: 600\r\n";
    net.send_raw(
        hao,
        &raw_request("SUBSCRIBE", VIVIAN, "hao", ua, "peek", 1, extra),
    );
    let challenge = net.expect_raw(hao, "SIP/2.0 407");
    let credentials = answer("hao", &challenge, "SUBSCRIBE", VIVIAN);
    let with_credentials = format!("{extra}{credentials}");
    net.send_raw(
        hao,
        &raw_request("SUBSCRIBE", VIVIAN, "hao", ua, "peek", 2, &with_credentials),
    );
    let refused = net.expect_raw(hao, "SIP/2.0 ");
    assert!(refused.starts_with("SIP/2.0 403"), "{refused}");
}

#[test]
fn watching_resumes_after_the_server_restarts() {
    let mut net = Network::new(0.0);
    let vivian = net.add_client("10.0.0.11:5060", "vivian", "vivian");
    let amy = net.add_client("10.0.0.12:5060", "amy", "amy");
    net.run_until(Duration::from_secs(10), |net| {
        sees(net, vivian, AMY, Availability::Available)
    });
    // The server restarts with nothing in memory; both clients notice by
    // their keep-alives and sign in again.
    net.server = new_server(7);
    for client in [vivian, amy] {
        net.clients[client].events.clear();
    }
    net.run_until(Duration::from_secs(120), |net| {
        net.has_event(vivian, registered) && net.has_event(amy, registered)
    });
    net.command(
        amy,
        Command::SetPresence {
            availability: Availability::BeRightBack,
            note: Some("back soon".into()),
        },
    );
    net.run_until(Duration::from_secs(10), |net| {
        sees(net, vivian, AMY, Availability::BeRightBack)
    });
}
