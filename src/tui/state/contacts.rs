//! [`Contacts`]: the buddy list, everyone's presence, and the grouping
//! the list pane draws from.
//!
//! The grouping (groups in order of first appearance, members sorted by
//! name, each group's online count) is worked out when the list or a
//! presence changes, not for every frame: a frame of 500 buddies spent a
//! quarter of its time sorting them again.
//!
//! Invariants: every buddy is a member of exactly one group; `by_uri`
//! maps each URI to its first buddy; each group's `online` counts its
//! members whose presence is not Offline.

use std::collections::{BTreeMap, HashMap};

use crate::client::{Availability, Buddy};

use super::Presence;

/// Everyone is offline until reported otherwise.
static OFFLINE: Presence = Presence {
    availability: Availability::Offline,
    note: String::new(),
};

/// A group of the buddy list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    /// Indices into [`Contacts::buddies`], sorted by display name
    /// (ignoring case), then URI.
    members: Vec<usize>,
    /// Members not Offline.
    pub online: usize,
}

impl Group {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Contacts {
    buddies: Vec<Buddy>,
    presence: BTreeMap<String, Presence>,
    groups: Vec<Group>,
    by_uri: HashMap<String, usize>,
}

impl Contacts {
    /// The buddy list as the core last sent it.
    pub fn buddies(&self) -> &[Buddy] {
        &self.buddies
    }

    pub fn buddy(&self, uri: &str) -> Option<&Buddy> {
        self.by_uri
            .get(uri)
            .and_then(|&index| self.buddies.get(index))
    }

    /// Groups in order of first appearance. Buddies with no group are in
    /// "Contacts".
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// A group's members in their order.
    pub fn members<'a>(&'a self, group: &'a Group) -> impl Iterator<Item = &'a Buddy> + 'a {
        group
            .members
            .iter()
            .filter_map(|&index| self.buddies.get(index))
    }

    /// Buddies not Offline, over all groups.
    pub fn online(&self) -> usize {
        self.groups.iter().map(|group| group.online).sum()
    }

    /// A user's presence; Offline until reported.
    pub fn presence_of(&self, uri: &str) -> &Presence {
        self.presence.get(uri).unwrap_or(&OFFLINE)
    }

    pub fn set_buddies(&mut self, buddies: Vec<Buddy>) {
        self.buddies = buddies;
        self.by_uri.clear();
        for (index, buddy) in self.buddies.iter().enumerate() {
            self.by_uri.entry(buddy.uri.clone()).or_insert(index);
        }
        let mut groups: Vec<Group> = Vec::new();
        for (index, buddy) in self.buddies.iter().enumerate() {
            let name = group_name(buddy);
            match groups.iter_mut().find(|group| group.name == name) {
                Some(group) => group.members.push(index),
                None => groups.push(Group {
                    name: name.to_owned(),
                    members: vec![index],
                    online: 0,
                }),
            }
        }
        for group in &mut groups {
            let buddies = &self.buddies;
            group.members.sort_by_cached_key(|&index| {
                let buddy = &buddies[index];
                (buddy.display.to_lowercase(), buddy.uri.clone())
            });
        }
        self.groups = groups;
        self.count_online();
    }

    pub fn set_presence(&mut self, uri: String, presence: Presence) {
        let was_online = self.presence_of(&uri).availability != Availability::Offline;
        let is_online = presence.availability != Availability::Offline;
        if was_online != is_online {
            // The URI may be listed in more than one group.
            for group in &mut self.groups {
                let listed = group
                    .members
                    .iter()
                    .filter(|&&index| self.buddies.get(index).is_some_and(|b| b.uri == uri))
                    .count();
                group.online = if is_online {
                    group.online + listed
                } else {
                    group.online.saturating_sub(listed)
                };
            }
        }
        self.presence.insert(uri, presence);
    }

    fn count_online(&mut self) {
        for group in &mut self.groups {
            group.online = group
                .members
                .iter()
                .filter_map(|&index| self.buddies.get(index))
                .filter(|buddy| {
                    self.presence
                        .get(&buddy.uri)
                        .is_some_and(|presence| presence.availability != Availability::Offline)
                })
                .count();
        }
    }
}

/// The group a buddy is listed in: "Contacts" when it names none.
pub fn group_name(buddy: &Buddy) -> &str {
    match buddy.group.trim() {
        "" => "Contacts",
        name => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buddy(uri: &str, display: &str, group: &str) -> Buddy {
        Buddy {
            uri: uri.into(),
            display: display.into(),
            group: group.into(),
        }
    }

    fn presence(availability: Availability) -> Presence {
        Presence {
            availability,
            note: String::new(),
        }
    }

    fn names(contacts: &Contacts) -> Vec<(String, Vec<String>, usize)> {
        contacts
            .groups()
            .iter()
            .map(|group| {
                let members = contacts.members(group).map(|b| b.display.clone()).collect();
                (group.name.clone(), members, group.online)
            })
            .collect()
    }

    #[test]
    fn groups_keep_first_appearance_and_sort_members_by_name_ignoring_case() {
        let mut contacts = Contacts::default();
        contacts.set_buddies(vec![
            buddy("sip:zed@x", "zed", "Work"),
            buddy("sip:amy@x", "Amy", ""),
            buddy("sip:bo@x", "Bo", "Work"),
            buddy("sip:al@x", "al", "Work"),
        ]);
        assert_eq!(
            names(&contacts),
            [
                (
                    "Work".into(),
                    vec!["al".into(), "Bo".into(), "zed".into()],
                    0
                ),
                ("Contacts".into(), vec!["Amy".into()], 0),
            ]
        );
        assert_eq!(
            contacts.buddy("sip:bo@x").map(|b| b.display.as_str()),
            Some("Bo")
        );
        assert!(contacts.buddy("sip:nobody@x").is_none());
    }

    #[test]
    fn online_counts_follow_presence_and_a_new_list() {
        let mut contacts = Contacts::default();
        contacts.set_presence("sip:amy@x".into(), presence(Availability::Busy));
        contacts.set_buddies(vec![
            buddy("sip:amy@x", "Amy", "A"),
            buddy("sip:bo@x", "Bo", "B"),
            buddy("sip:amy@x", "Amy", "B"),
        ]);
        // Amy's presence arrived before the list: she counts in both groups.
        assert_eq!(contacts.online(), 2);
        contacts.set_presence("sip:bo@x".into(), presence(Availability::Away));
        assert_eq!(
            contacts
                .groups()
                .iter()
                .map(|g| g.online)
                .collect::<Vec<_>>(),
            [1, 2]
        );
        contacts.set_presence("sip:amy@x".into(), presence(Availability::Offline));
        assert_eq!(contacts.online(), 1);
        // A change that keeps someone online changes no count.
        contacts.set_presence("sip:bo@x".into(), presence(Availability::Available));
        assert_eq!(contacts.online(), 1);
        contacts.set_buddies(vec![buddy("sip:bo@x", "Bo", "")]);
        assert_eq!(
            names(&contacts),
            [("Contacts".into(), vec!["Bo".into()], 1)]
        );
        assert_eq!(
            contacts.presence_of("sip:amy@x").availability,
            Availability::Offline
        );
    }
}
