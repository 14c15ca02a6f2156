//! Demo buddies: Amy and Hao of the demo directory, signed in by confab
//! itself in local mode so a newcomer has someone to talk to. Each is an
//! ordinary client core with this small brain in front of it instead of a
//! person: it sets its presence and note once registered, and answers an IM
//! the way a person would, a typing indication first and a short reply a
//! moment later.
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

/// Who a demo buddy is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persona {
    pub user: &'static str,
    pub first_name: &'static str,
    pub note: &'static str,
    pub availability: Availability,
}

/// The demo directory's buddies that confab plays itself.
pub const PERSONAS: [Persona; 2] = [
    Persona {
        user: "amy",
        first_name: "Amy",
        note: "Demo buddy: message me, I answer",
        availability: Availability::Available,
    },
    Persona {
        user: "hao",
        first_name: "Hao",
        note: "Demo buddy, reviewing the roadmap",
        availability: Availability::Busy,
    },
];

/// One pending reply.
#[derive(Debug)]
struct Reply {
    to: String,
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
    commands: VecDeque<Command>,
    next_id: u64,
    answered: u64,
}

impl DemoBuddy {
    pub fn new(persona: Persona) -> Self {
        DemoBuddy {
            persona,
            pending: VecDeque::new(),
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
            Event::Im { from, text } => {
                let text = self.reply_to(text);
                self.pending.push_back(Reply {
                    to: from.clone(),
                    text,
                    typing_at: now + TYPING_AFTER,
                    send_at: now + REPLY_AFTER,
                    typed: false,
                });
            }
            _ => {}
        }
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
        while let Some(reply) = self.pending.front_mut() {
            if !reply.typed && now >= reply.typing_at {
                reply.typed = true;
                self.commands.push_back(Command::Typing {
                    to: reply.to.clone(),
                });
            }
            if now < reply.send_at {
                break;
            }
            if let Some(reply) = self.pending.pop_front() {
                self.next_id += 1;
                self.commands.push_back(Command::SendIm {
                    id: self.next_id,
                    to: reply.to,
                    text: reply.text,
                });
            }
        }
    }

    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        self.pending.front().map(|reply| {
            if reply.typed {
                reply.send_at
            } else {
                reply.typing_at
            }
        })
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
