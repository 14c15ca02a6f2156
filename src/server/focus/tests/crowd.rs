//! A crowd: fifty participants join, are muted, ejected and leave while
//! three subscribers, arriving at different times, follow the roster.

use super::*;

#[test]
fn fifty_participants_converge_on_three_subscribers() {
    let (mut factory, id) = created();
    let conference = factory.conference_mut(&id).unwrap();
    let mut rng = StdRng::seed_from_u64(50);
    let mut subscribers = Subscribers(Vec::new());
    subscribers.subscribe(conference);
    join(conference, VIVIAN);
    let users: Vec<String> = (0..50)
        .map(|n| format!("sip:user{n}@confab.local"))
        .collect();
    for (n, user) in users.iter().enumerate() {
        assert_eq!(join(conference, user).0.code, ResponseCode::Success);
        conference
            .audio_joined(at(100), user, &format!("{{av-{n}}}"), None)
            .unwrap();
        if n % 7 == 0 {
            subscribers.publish(conference);
        }
        if n == 20 || n == 40 {
            subscribers.subscribe(conference);
        }
    }
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    assert_eq!(subscribers.0.len(), 3);
    assert_eq!(conference.roster().users().len(), 51);

    let mut ejected = 0;
    let mut muted_commands = 0;
    for step in 0..400 {
        let present: Vec<String> = conference
            .roster()
            .users()
            .map(|user| user.entity.clone())
            .filter(|user| user != VIVIAN)
            .collect();
        if present.is_empty() {
            break;
        }
        let user = &present[rng.random_range(0..present.len())];
        match rng.random_range(0..5) {
            0 | 1 => {
                let filter = if rng.random_bool(0.5) {
                    c3p::MediaFilter::Block
                } else {
                    c3p::MediaFilter::Unblock
                };
                let response = command(conference, VIVIAN, mute(conference, user, filter));
                assert_eq!(response.code, ResponseCode::Success, "{response:?}");
                muted_commands += usize::from(filter == c3p::MediaFilter::Block);
            }
            2 => {
                let keys = user_keys(conference, user);
                let response = command(conference, VIVIAN, C3pCommand::DeleteUser(keys));
                assert_eq!(response.code, ResponseCode::Success);
                ejected += 1;
            }
            3 => {
                conference.participant_left(at(200), user).unwrap();
            }
            _ => {
                conference
                    .audio_left(at(200), user, DisconnectionMethod::Departed)
                    .unwrap();
            }
        }
        if step % 3 == 0 {
            subscribers.publish(conference);
            subscribers.assert_converged(conference);
        }
    }
    subscribers.publish(conference);
    subscribers.assert_converged(conference);
    assert!(ejected > 0 && muted_commands > 0);
    // Everyone but Vivian went through the mill; she holds the conference.
    assert_eq!(conference.roster().users().len(), 1);
    assert!(!conference.is_ended());
    for roster in &subscribers.0 {
        assert_eq!(
            roster
                .users()
                .map(|user| user.entity.as_str())
                .collect::<Vec<_>>(),
            [VIVIAN]
        );
        assert_eq!(roster.conference_state().unwrap().user_count, Some(1));
    }
}
