//! Demo buddies: Amy and Hao of the demo directory, signed in by confab
//! itself in local mode so a newcomer has someone to talk to. Each is an
//! ordinary client core with this small brain in front of it instead of a
//! person: it sets its presence and note once registered, and answers an IM
//! the way a person would, a typing indication first and a short reply a
//! moment later.
//!
//! Call one and it picks up after a ring and talks (a recorded voice from
//! `assets/voices`). Invite one to a conference and it joins the same way,
//! and talks there; in the conference's IM it answers what is addressed to
//! it by name, and Amy answers what is addressed to no one. It never
//! answers another demo buddy, so two of them never talk in a loop.
//!
//! The brain is sans-IO like the cores: events and time in, commands out,
//! so its timing is tested in virtual time. `local` runs it.

use std::collections::VecDeque;
use std::time::Duration;

use crate::client::{Availability, Command, Event};
use crate::proto::Time;

/// How long after an IM the buddy starts "typing", and then replies.
const TYPING_AFTER: Duration = Duration::from_millis(400);
const REPLY_AFTER: Duration = Duration::from_millis(1600);
/// How long a call rings before the buddy picks up.
const ANSWER_AFTER: Duration = Duration::from_millis(1500);

/// Who a demo buddy is.
#[derive(Clone, PartialEq, Eq)]
pub struct Persona {
    pub user: &'static str,
    /// What it says on a call: a WAV file, built into the binary.
    pub voice: &'static [u8],
    pub first_name: &'static str,
    pub note: &'static str,
    pub availability: Availability,
    /// Answers conference IMs that name no one.
    pub answers_the_room: bool,
    /// A person who chats; the phone line answers calls only.
    pub chats: bool,
    /// Records what it hears on calls (the phone line's recording).
    pub records_calls: bool,
}

/// The demo directory's conferencing access number: phones call it and key
/// in a conference's code to join.
pub const ACCESS_NUMBER: &str = "+14255550100";

/// The user the simulated phone line signs in as: local mode's mediation
/// gateway sends it every number that no phone here answers for.
pub const PHONE_LINE: &str = "line";

impl std::fmt::Debug for Persona {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Persona")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The demo directory's buddies that confab plays itself.
pub const PERSONAS: [Persona; 3] = [
    Persona {
        user: "amy",
        voice: include_bytes!("../assets/voices/amy.wav"),
        first_name: "Amy",
        note: "Demo buddy: message me, I answer",
        availability: Availability::Available,
        answers_the_room: true,
        chats: true,
        records_calls: false,
    },
    Persona {
        user: "hao",
        voice: include_bytes!("../assets/voices/hao.wav"),
        first_name: "Hao",
        note: "Demo buddy, reviewing the roadmap",
        availability: Availability::Busy,
        answers_the_room: false,
        chats: true,
        records_calls: false,
    },
    Persona {
        user: PHONE_LINE,
        voice: include_bytes!("../assets/voices/line.wav"),
        first_name: "Line",
        note: "Simulated phone line: answers numbers no phone here owns",
        availability: Availability::Available,
        answers_the_room: false,
        chats: false,
        records_calls: true,
    },
];

/// One pending reply.
#[derive(Debug)]
struct Reply {
    /// `None`: to the conference.
    to: Option<String>,
    text: String,
    typing_at: Time,
    send_at: Time,
    typed: bool,
}

/// The brain of one demo buddy.
#[derive(Debug)]
pub struct DemoBuddy {
    persona: Persona,
    pending: VecDeque<Reply>,
    /// A call rings: answer it then.
    answer_at: Option<Time>,
    commands: VecDeque<Command>,
    next_id: u64,
    answered: u64,
}

impl DemoBuddy {
    pub fn new(persona: Persona) -> Self {
        DemoBuddy {
            persona,
            pending: VecDeque::new(),
            answer_at: None,
            commands: VecDeque::new(),
            next_id: 0,
            answered: 0,
        }
    }

    pub fn persona(&self) -> &Persona {
        &self.persona
    }

    pub fn handle_event(&mut self, now: Time, event: &Event) {
        match event {
            Event::Registered { .. } => self.commands.push_back(Command::SetPresence {
                availability: self.persona.availability,
                note: Some(self.persona.note.to_owned()),
            }),
            Event::IncomingCall { .. } | Event::ConferenceInvitation { .. } => {
                self.answer_at = Some(now + ANSWER_AFTER)
            }
            Event::CallEnded { .. } => self.answer_at = None,
            Event::Im { .. } | Event::ConferenceIm { .. } if !self.persona.chats => {}
            Event::Im { from, text } => {
                let text = self.reply_to(text);
                self.queue_reply(now, Some(from.clone()), text);
            }
            Event::ConferenceIm { from, text, .. } if self.answers_in_conference(from, text) => {
                let text = self.reply_to(text);
                self.queue_reply(now, None, text);
            }
            _ => {}
        }
    }

    fn queue_reply(&mut self, now: Time, to: Option<String>, text: String) {
        self.pending.push_back(Reply {
            to,
            text,
            typing_at: now + TYPING_AFTER,
            send_at: now + REPLY_AFTER,
            typed: false,
        });
    }

    /// Whether a conference IM is for this buddy: never one from a demo
    /// buddy; one naming it; one naming no demo buddy, if it answers the
    /// room.
    fn answers_in_conference(&self, from: &str, text: &str) -> bool {
        let from_demo = PERSONAS
            .iter()
            .any(|persona| from.starts_with(&format!("sip:{}@", persona.user)));
        if from_demo {
            return false;
        }
        let lower = text.to_lowercase();
        let names = |persona: &Persona| lower.contains(&persona.first_name.to_lowercase());
        if names(&self.persona) {
            return true;
        }
        self.persona.answers_the_room && !PERSONAS.iter().any(names)
    }

    fn reply_to(&mut self, text: &str) -> String {
        self.answered += 1;
        let name = self.persona.first_name;
        let lower = text.to_lowercase();
        if self.answered == 1 {
            format!(
                "Hi, {name} here (a demo buddy played by confab). I got: \"{}\". \
                 Sign in as me with `confab --user {}` to take over.",
                shorten(text, 60),
                self.persona.user
            )
        } else if lower.contains('?') {
            "Good question. I'm only a demo, but I read every word.".into()
        } else {
            format!(
                "Got it ({} characters). Anything else?",
                text.chars().count()
            )
        }
    }

    pub fn handle_timeout(&mut self, now: Time) {
        if self.answer_at.is_some_and(|at| now >= at) {
            self.answer_at = None;
            self.commands.push_back(Command::AnswerCall);
        }
        while let Some(reply) = self.pending.front_mut() {
            if !reply.typed && now >= reply.typing_at {
                reply.typed = true;
                self.commands.push_back(match &reply.to {
                    Some(to) => Command::Typing { to: to.clone() },
                    None => Command::ConferenceTyping,
                });
            }
            if now < reply.send_at {
                break;
            }
            if let Some(reply) = self.pending.pop_front() {
                self.next_id += 1;
                let id = self.next_id;
                self.commands.push_back(match reply.to {
                    Some(to) => Command::SendIm {
                        id,
                        to,
                        text: reply.text,
                    },
                    None => Command::ConferenceIm {
                        id,
                        text: reply.text,
                    },
                });
            }
        }
    }

    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        let reply = self.pending.front().map(|reply| {
            if reply.typed {
                reply.send_at
            } else {
                reply.typing_at
            }
        });
        crate::proto::time::earliest(reply, self.answer_at)
    }
}

fn shorten(text: &str, max: usize) -> String {
    let mut short: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        short.push('…');
    }
    short.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Time {
        Time::ZERO + Duration::from_millis(ms)
    }

    fn drain(buddy: &mut DemoBuddy) -> Vec<Command> {
        std::iter::from_fn(|| buddy.poll_command()).collect()
    }

    #[test]
    fn a_registered_buddy_sets_its_presence_and_note() {
        let mut amy = DemoBuddy::new(PERSONAS[0].clone());
        amy.handle_event(
            at(0),
            &Event::Registered {
                uri: "sip:amy@confab.local".into(),
            },
        );
        assert_eq!(
            drain(&mut amy),
            vec![Command::SetPresence {
                availability: Availability::Available,
                note: Some(PERSONAS[0].note.into()),
            }]
        );
    }

    #[test]
    fn an_im_gets_a_typing_indication_then_a_reply() {
        let mut amy = DemoBuddy::new(PERSONAS[0].clone());
        let from = "sip:vivian@confab.local".to_owned();
        amy.handle_event(
            at(1000),
            &Event::Im {
                from: from.clone(),
                text: "hello\nthere".into(),
            },
        );
        assert!(drain(&mut amy).is_empty(), "nothing at once");
        assert_eq!(amy.poll_timeout(), Some(at(1400)));
        amy.handle_timeout(at(1400));
        assert_eq!(drain(&mut amy), vec![Command::Typing { to: from.clone() }]);
        assert_eq!(amy.poll_timeout(), Some(at(2600)));
        amy.handle_timeout(at(2600));
        let commands = drain(&mut amy);
        let [Command::SendIm { id: 1, to, text }] = commands.as_slice() else {
            panic!("one reply expected: {commands:?}");
        };
        assert_eq!(to, &from);
        assert!(text.contains("hello there"), "{text}");
        assert!(text.contains("confab --user amy"), "{text}");
        assert_eq!(amy.poll_timeout(), None);
    }

    #[test]
    fn a_call_is_answered_after_a_ring_unless_it_is_cancelled() {
        let mut amy = DemoBuddy::new(PERSONAS[0].clone());
        let caller = "sip:vivian@confab.local".to_owned();
        amy.handle_event(
            at(0),
            &Event::IncomingCall {
                from: caller.clone(),
            },
        );
        assert_eq!(amy.poll_timeout(), Some(at(1500)));
        amy.handle_timeout(at(1500));
        assert_eq!(drain(&mut amy), vec![Command::AnswerCall]);
        amy.handle_event(
            at(5000),
            &Event::IncomingCall {
                from: caller.clone(),
            },
        );
        amy.handle_event(
            at(5200),
            &Event::CallEnded {
                peer: caller,
                reason: "cancelled".into(),
            },
        );
        assert_eq!(amy.poll_timeout(), None);
    }

    #[test]
    fn an_invitation_is_answered_after_a_ring() {
        let mut hao = DemoBuddy::new(PERSONAS[1].clone());
        hao.handle_event(
            at(0),
            &Event::ConferenceInvitation {
                from: "sip:vivian@confab.local".into(),
                focus: "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:abc12345".into(),
            },
        );
        hao.handle_timeout(at(1499));
        assert!(drain(&mut hao).is_empty());
        hao.handle_timeout(at(1500));
        assert_eq!(drain(&mut hao), vec![Command::AnswerCall]);
    }

    #[test]
    fn in_a_conference_a_buddy_answers_its_name_and_amy_the_room_but_never_each_other() {
        let focus = "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:abc12345".to_owned();
        let im = |from: &str, text: &str| Event::ConferenceIm {
            focus: focus.clone(),
            from: from.into(),
            text: text.into(),
        };
        let replies = |buddy: &mut DemoBuddy, event: &Event| {
            buddy.handle_event(at(0), event);
            buddy.handle_timeout(at(10_000));
            drain(buddy)
                .into_iter()
                .filter(|command| matches!(command, Command::ConferenceIm { .. }))
                .count()
        };
        let mut amy = DemoBuddy::new(PERSONAS[0].clone());
        let mut hao = DemoBuddy::new(PERSONAS[1].clone());
        let room = im("sip:vivian@confab.local", "hello everyone");
        assert_eq!((replies(&mut amy, &room), replies(&mut hao, &room)), (1, 0));
        let to_hao = im("sip:vivian@confab.local", "Hao, your view?");
        assert_eq!(
            (replies(&mut amy, &to_hao), replies(&mut hao, &to_hao)),
            (0, 1)
        );
        let from_amy = im("sip:amy@confab.local", "Hao, anything else?");
        assert_eq!(replies(&mut hao, &from_amy), 0);
        hao.handle_event(at(0), &to_hao);
        hao.handle_timeout(at(400));
        assert_eq!(drain(&mut hao), vec![Command::ConferenceTyping]);
    }

    #[test]
    fn replies_keep_their_order_when_messages_come_quickly() {
        let mut hao = DemoBuddy::new(PERSONAS[1].clone());
        hao.handle_event(
            at(0),
            &Event::Im {
                from: "sip:a@x".into(),
                text: "one".into(),
            },
        );
        hao.handle_event(
            at(100),
            &Event::Im {
                from: "sip:b@x".into(),
                text: "two?".into(),
            },
        );
        hao.handle_timeout(at(10_000));
        let sent: Vec<_> = drain(&mut hao)
            .into_iter()
            .filter_map(|command| match command {
                Command::SendIm { to, text, .. } => Some((to, text)),
                _ => None,
            })
            .collect();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].0, "sip:a@x");
        assert_eq!(sent[1].0, "sip:b@x");
        assert!(sent[1].1.contains("question"));
    }
}
