//! The roster: one side's copy of a conference's state, built from
//! conference-info documents by the rules of RFC 4575 §4.6, or, at the
//! focus, set directly and turned into documents by [`super::diff`].
//!
//! Versions: the first document of a subscription must be full; after it, a
//! document whose version is not newer than the last applied one is stale
//! and dropped; a partial document must be exactly one newer, and one that
//! skips is a gap, not applied, after which the subscriber refreshes its
//! subscription to get full state. A full document may skip: it is the
//! whole state.
//!
//! Merging a partial document: users are keyed by entity, endpoints by
//! entity within their user, media by id within their endpoint. A `full`
//! element replaces the one with its key, a `deleted` one removes it, a
//! `partial` one changes what it carries and leaves the rest (an element
//! the roster does not have yet is taken as it comes). Present fields
//! overwrite; a medium is replaced whole. `<users state="full">` makes the
//! listed users the whole list.
//!
//! Invariants: at most [`MAX_USERS`] users, [`MAX_ENDPOINTS`] endpoints a
//! user and [`MAX_MEDIA`] media an endpoint; every stored element is full,
//! with endpoints in entity order and media in id order (so two rosters
//! with the same state compare equal whatever order documents listed
//! them in); a document that would break a limit changes nothing.

use std::collections::{BTreeMap, BTreeSet, btree_map};

use thiserror::Error;

use super::{
    ConferenceInfo, ConferenceState, Description, DisconnectionMethod, Endpoint, MAX_ENDPOINTS,
    MAX_MEDIA, MAX_USERS, Media, State, User,
};

/// A conference's state as one side knows it.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    /// The conference URI; empty until the first document when the roster
    /// was made with [`Roster::default`].
    entity: String,
    /// The last version applied; `None` before the first document of a
    /// subscription.
    version: Option<u32>,
    description: Option<Description>,
    conference_state: Option<ConferenceState>,
    users: BTreeMap<String, User>,
    /// How users removed at the focus left, for [`super::diff`] to say.
    departures: BTreeMap<String, DisconnectionMethod>,
    /// The users [`Roster::set_user`] or [`Roster::remove_user`] changed
    /// since [`Roster::take_touched`]: the only ones the focus needs to
    /// compare (see [`super::diff_touched`]). A subscriber's documents
    /// (`apply`) note nothing here: a subscriber never diffs.
    touched: BTreeSet<String>,
}

/// What one applied document changed. Lists are in entity order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RosterChange {
    /// The version now applied.
    pub version: u32,
    /// The document was full and replaced the roster.
    pub full: bool,
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub removed: Vec<Removal>,
    /// The description or the conference state changed.
    pub conference_changed: bool,
}

/// A user who left, and how, when the document said (`booted` for an
/// ejected participant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub entity: String,
    pub method: Option<DisconnectionMethod>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RosterError {
    #[error("document version {version} is partial, and a full one must come first")]
    NeedFullState { version: u32 },
    #[error("document version {version} is not newer than {current}")]
    Stale { version: u32, current: u32 },
    #[error("document version {version} skips from {current}; refresh the subscription")]
    Gap { version: u32, current: u32 },
    #[error("document is about {entity}, not {expected}")]
    OtherConference { entity: String, expected: String },
    #[error("a whole conference-info document cannot be deleted")]
    DeletedDocument,
    #[error("more than {limit} users")]
    TooManyUsers { limit: usize },
    #[error("user {user} would have more than {limit} endpoints")]
    TooManyEndpoints { user: String, limit: usize },
    #[error("an endpoint of user {user} would have more than {limit} media")]
    TooManyMedia { user: String, limit: usize },
}

impl RosterChange {
    /// Whether the document changed nothing.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.updated.is_empty()
            && self.removed.is_empty()
            && !self.conference_changed
    }
}

impl Roster {
    /// An empty roster of the conference `entity`: the focus's own, or a
    /// subscriber's that accepts documents about this conference only.
    pub fn new(entity: impl Into<String>) -> Roster {
        Roster {
            entity: entity.into(),
            ..Roster::default()
        }
    }

    /// Applies one document by RFC 4575 §4.6 (see the module
    /// documentation). On error the roster is unchanged.
    pub fn apply(&mut self, document: ConferenceInfo) -> Result<RosterChange, RosterError> {
        self.check_version(&document)?;
        let version = document.version;
        let full = document.state == State::Full;
        let (description, conference_state, users_change) = if full {
            let users = full_users(document.users)?;
            (document.description, document.conference_state, users)
        } else {
            let description = merge_description(self.description.as_ref(), document.description);
            let conference_state =
                merge_conference_state(self.conference_state.as_ref(), document.conference_state);
            let users = self.merge_users(document.users_state, document.users)?;
            (description, conference_state, users)
        };
        let mut change = RosterChange {
            version,
            full,
            conference_changed: description != self.description
                || conference_state != self.conference_state,
            ..RosterChange::default()
        };
        // The last fallible step, and it fails before changing anything.
        self.commit_users(users_change, &mut change)?;
        if self.entity.is_empty() {
            self.entity = document.entity;
        }
        self.version = Some(version);
        self.description = description;
        self.conference_state = conference_state;
        Ok(change)
    }

    /// A new subscription to the same conference is starting: its first
    /// document must be full and may carry any version. The roster keeps
    /// its users until that document replaces them.
    pub fn restart(&mut self) {
        self.version = None;
    }

    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// The version last applied; `None` before the first document.
    pub fn version(&self) -> Option<u32> {
        self.version
    }

    pub fn description(&self) -> Option<&Description> {
        self.description.as_ref()
    }

    pub fn subject(&self) -> Option<&str> {
        self.description.as_ref()?.subject.as_deref()
    }

    /// The first conference URI with this `purpose` (`chat`,
    /// `audio-video`): where the OCS focus says its MCUs are.
    pub fn conf_uri(&self, purpose: &str) -> Option<&str> {
        self.description
            .as_ref()?
            .conf_uris
            .iter()
            .find(|conf_uri| conf_uri.purpose.as_deref() == Some(purpose))
            .map(|conf_uri| conf_uri.uri.as_str())
    }

    pub fn conference_state(&self) -> Option<&ConferenceState> {
        self.conference_state.as_ref()
    }

    /// Whether the conference admits no one new.
    pub fn is_locked(&self) -> bool {
        self.conference_state
            .as_ref()
            .and_then(|state| state.locked)
            .unwrap_or(false)
    }

    /// Every user, in entity order.
    pub fn users(&self) -> impl ExactSizeIterator<Item = &User> + '_ {
        self.users.values()
    }

    pub fn user(&self, entity: &str) -> Option<&User> {
        self.users.get(entity)
    }

    /// Whether the user is in the audio (see [`User::in_audio`]).
    pub fn in_audio(&self, entity: &str) -> bool {
        self.user(entity).is_some_and(User::in_audio)
    }

    /// The user's roles; none for an unknown user.
    pub fn roles(&self, entity: &str) -> &[String] {
        self.user(entity).map_or(&[], |user| user.roles.as_slice())
    }

    /// Adds the user, or replaces the one with its entity (the focus's
    /// side). Its endpoints and media are put in key order.
    pub fn set_user(&mut self, user: User) -> Result<(), RosterError> {
        let user = full_user(user)?;
        if !self.users.contains_key(&user.entity) && self.users.len() >= MAX_USERS {
            return Err(RosterError::TooManyUsers { limit: MAX_USERS });
        }
        self.departures.remove(&user.entity);
        self.touched.insert(user.entity.clone());
        self.users.insert(user.entity.clone(), user);
        Ok(())
    }

    /// Removes the user (the focus's side), remembering how it left so
    /// that the next [`super::diff`] says so: `Booted` for an ejection.
    pub fn remove_user(
        &mut self,
        entity: &str,
        method: Option<DisconnectionMethod>,
    ) -> Option<User> {
        let user = self.users.remove(entity)?;
        self.touched.insert(entity.to_owned());
        if let Some(method) = method {
            // Bounded: a note matters only until the next diff, so the
            // oldest entity's (in key order) can go.
            if self.departures.len() >= MAX_USERS {
                self.departures.pop_first();
            }
            self.departures.insert(entity.to_owned(), method);
        }
        Some(user)
    }

    /// The users set or removed since the last call (or since the roster
    /// was made), in entity order; the next call starts afresh.
    pub fn take_touched(&mut self) -> BTreeSet<String> {
        std::mem::take(&mut self.touched)
    }

    /// Brings this roster, a copy of `from` as it was when `touched` was
    /// last taken from it, up to `from`'s state: the conference's own
    /// fields, and the users in `touched` (the others have not changed).
    /// A notifier keeps what it last sent this way, at the cost of what
    /// changed rather than of the whole roster.
    pub fn catch_up(&mut self, from: &Roster, touched: &BTreeSet<String>) {
        self.entity.clone_from(&from.entity);
        self.version = from.version;
        self.description.clone_from(&from.description);
        self.conference_state.clone_from(&from.conference_state);
        for entity in touched {
            match from.users.get(entity) {
                Some(user) => {
                    self.users.insert(entity.clone(), user.clone());
                }
                None => {
                    self.users.remove(entity);
                }
            }
        }
    }

    pub fn set_description(&mut self, description: Option<Description>) {
        self.description = description;
    }

    pub fn set_conference_state(&mut self, conference_state: Option<ConferenceState>) {
        self.conference_state = conference_state;
    }

    /// The whole roster as a full document, for a new subscription's first
    /// NOTIFY or a refresh.
    pub fn full_document(&self, version: u32) -> ConferenceInfo {
        ConferenceInfo {
            entity: self.entity.clone(),
            state: State::Full,
            version,
            description: self.description.clone(),
            conference_state: self.conference_state.clone(),
            users_state: State::Full,
            users: self.users.values().cloned().collect(),
        }
    }

    /// How a user removed with [`Roster::remove_user`] left.
    pub(super) fn departure(&self, entity: &str) -> Option<&DisconnectionMethod> {
        self.departures.get(entity)
    }

    pub(super) fn users_by_entity(&self) -> &BTreeMap<String, User> {
        &self.users
    }

    fn check_version(&self, document: &ConferenceInfo) -> Result<(), RosterError> {
        if document.state == State::Deleted {
            return Err(RosterError::DeletedDocument);
        }
        if !self.entity.is_empty() && document.entity != self.entity {
            return Err(RosterError::OtherConference {
                entity: document.entity.clone(),
                expected: self.entity.clone(),
            });
        }
        let version = document.version;
        match self.version {
            None if document.state != State::Full => Err(RosterError::NeedFullState { version }),
            None => Ok(()),
            Some(current) if version <= current => Err(RosterError::Stale { version, current }),
            // `version > current` here, so `current + 1` does not overflow.
            Some(current) if document.state == State::Partial && version != current + 1 => {
                Err(RosterError::Gap { version, current })
            }
            Some(_) => Ok(()),
        }
    }

    /// What a partial document's users do to ours, computed without
    /// touching them.
    fn merge_users(
        &self,
        users_state: State,
        updates: Vec<User>,
    ) -> Result<UsersChange, RosterError> {
        let mut touched: BTreeMap<String, Option<User>> = BTreeMap::new();
        let mut methods = BTreeMap::new();
        if users_state != State::Deleted {
            for update in updates {
                let entity = update.entity.clone();
                let base = match touched.get(&entity) {
                    Some(staged) => staged.as_ref(),
                    None => self.users.get(&entity),
                };
                let result = match (update.state, base) {
                    (State::Deleted, _) => {
                        methods.insert(entity.clone(), departure_method(&update));
                        None
                    }
                    (State::Partial, Some(base)) => Some(merge_user(base.clone(), update)?),
                    (State::Full | State::Partial, _) => Some(full_user(update)?),
                };
                touched.insert(entity, result);
            }
        }
        // `<users state="full">` lists everyone; `deleted` removes everyone.
        if users_state != State::Partial {
            for entity in self.users.keys() {
                touched.entry(entity.clone()).or_insert(None);
            }
        }
        Ok(UsersChange::Merge { touched, methods })
    }

    fn commit_users(
        &mut self,
        users: UsersChange,
        change: &mut RosterChange,
    ) -> Result<(), RosterError> {
        match users {
            UsersChange::Replace(new) => {
                for (entity, user) in &new {
                    match self.users.get(entity) {
                        None => change.added.push(entity.clone()),
                        Some(old) if old != user => change.updated.push(entity.clone()),
                        Some(_) => {}
                    }
                }
                change.removed = self
                    .users
                    .keys()
                    .filter(|entity| !new.contains_key(*entity))
                    .map(|entity| Removal {
                        entity: entity.clone(),
                        method: None,
                    })
                    .collect();
                self.users = new;
            }
            UsersChange::Merge {
                touched,
                mut methods,
            } => {
                let added = touched
                    .iter()
                    .filter(|(entity, user)| user.is_some() && !self.users.contains_key(*entity))
                    .count();
                let removed = touched
                    .iter()
                    .filter(|(entity, user)| user.is_none() && self.users.contains_key(*entity))
                    .count();
                if self.users.len() + added - removed > MAX_USERS {
                    return Err(RosterError::TooManyUsers { limit: MAX_USERS });
                }
                for (entity, user) in touched {
                    match (user, self.users.entry(entity)) {
                        (Some(user), btree_map::Entry::Vacant(slot)) => {
                            change.added.push(slot.key().clone());
                            slot.insert(user);
                        }
                        (Some(user), btree_map::Entry::Occupied(mut slot)) => {
                            if *slot.get() != user {
                                change.updated.push(slot.key().clone());
                                slot.insert(user);
                            }
                        }
                        (None, btree_map::Entry::Occupied(slot)) => {
                            let (entity, _) = slot.remove_entry();
                            let method = methods.remove(&entity).flatten();
                            change.removed.push(Removal { entity, method });
                        }
                        (None, btree_map::Entry::Vacant(_)) => {}
                    }
                }
            }
        }
        Ok(())
    }
}

/// The users a document leaves, as a whole new list or as changes.
enum UsersChange {
    Replace(BTreeMap<String, User>),
    Merge {
        /// Each user the document names: `None` to remove.
        touched: BTreeMap<String, Option<User>>,
        /// How each deleted user left, as its endpoints said.
        methods: BTreeMap<String, Option<DisconnectionMethod>>,
    },
}

/// A full document's users, keyed; a user listed twice is the later one,
/// and a `deleted` user in a full document is simply not there.
fn full_users(users: Vec<User>) -> Result<UsersChange, RosterError> {
    let mut keyed = BTreeMap::new();
    for user in users {
        if user.state == State::Deleted {
            keyed.remove(&user.entity);
        } else {
            let user = full_user(user)?;
            keyed.insert(user.entity.clone(), user);
        }
    }
    if keyed.len() > MAX_USERS {
        return Err(RosterError::TooManyUsers { limit: MAX_USERS });
    }
    Ok(UsersChange::Replace(keyed))
}

/// The user as the roster stores it: full, endpoints (without deleted
/// ones) in entity order and media in id order, the later of two with one
/// key kept, within the limits.
fn full_user(mut user: User) -> Result<User, RosterError> {
    user.state = State::Full;
    let mut endpoints = BTreeMap::new();
    for mut endpoint in std::mem::take(&mut user.endpoints) {
        if endpoint.state == State::Deleted {
            endpoints.remove(&endpoint.entity);
            continue;
        }
        endpoint.state = State::Full;
        endpoint.media = sorted_media(std::mem::take(&mut endpoint.media));
        if endpoint.media.len() > MAX_MEDIA {
            return Err(RosterError::TooManyMedia {
                user: user.entity.clone(),
                limit: MAX_MEDIA,
            });
        }
        endpoints.insert(endpoint.entity.clone(), endpoint);
    }
    if endpoints.len() > MAX_ENDPOINTS {
        return Err(RosterError::TooManyEndpoints {
            user: user.entity.clone(),
            limit: MAX_ENDPOINTS,
        });
    }
    user.endpoints = endpoints.into_values().collect();
    Ok(user)
}

fn sorted_media(media: Vec<Media>) -> Vec<Media> {
    let keyed: BTreeMap<String, Media> = media
        .into_iter()
        .map(|media| (media.id.clone(), media))
        .collect();
    keyed.into_values().collect()
}

/// A partial user laid over the stored one.
fn merge_user(mut user: User, update: User) -> Result<User, RosterError> {
    if update.display_text.is_some() {
        user.display_text = update.display_text;
    }
    if !update.roles.is_empty() {
        user.roles = update.roles;
    }
    for endpoint in update.endpoints {
        let existing = user
            .endpoints
            .iter_mut()
            .find(|existing| existing.entity == endpoint.entity);
        match (endpoint.state, existing) {
            (State::Deleted, _) => user
                .endpoints
                .retain(|existing| existing.entity != endpoint.entity),
            (State::Partial, Some(existing)) => merge_endpoint(existing, endpoint),
            (_, Some(existing)) => *existing = endpoint,
            (_, None) => user.endpoints.push(endpoint),
        }
    }
    full_user(user)
}

/// A partial endpoint laid over the stored one: present fields overwrite,
/// media replace those with their id.
fn merge_endpoint(endpoint: &mut Endpoint, update: Endpoint) {
    if update.session_type.is_some() {
        endpoint.session_type = update.session_type;
    }
    if update.status.is_some() {
        endpoint.status = update.status;
    }
    if update.joining_method.is_some() {
        endpoint.joining_method = update.joining_method;
    }
    if update.disconnection_method.is_some() {
        endpoint.disconnection_method = update.disconnection_method;
    }
    if update.disconnection_reason.is_some() {
        endpoint.disconnection_reason = update.disconnection_reason;
    }
    for media in update.media {
        match endpoint
            .media
            .iter_mut()
            .find(|existing| existing.id == media.id)
        {
            Some(existing) => *existing = media,
            None => endpoint.media.push(media),
        }
    }
}

fn merge_description(
    current: Option<&Description>,
    update: Option<Description>,
) -> Option<Description> {
    let Some(update) = update else {
        return current.cloned();
    };
    let Some(current) = current else {
        return Some(update);
    };
    Some(Description {
        subject: update.subject.or_else(|| current.subject.clone()),
        conf_uris: if update.conf_uris.is_empty() {
            current.conf_uris.clone()
        } else {
            update.conf_uris
        },
    })
}

fn merge_conference_state(
    current: Option<&ConferenceState>,
    update: Option<ConferenceState>,
) -> Option<ConferenceState> {
    let Some(update) = update else {
        return current.cloned();
    };
    let Some(current) = current else {
        return Some(update);
    };
    Some(ConferenceState {
        user_count: update.user_count.or(current.user_count),
        active: update.active.or(current.active),
        locked: update.locked.or(current.locked),
    })
}

/// How a deleted user left: the first disconnection method among the
/// endpoints its element lists.
fn departure_method(user: &User) -> Option<DisconnectionMethod> {
    user.endpoints
        .iter()
        .find_map(|endpoint| endpoint.disconnection_method.clone())
}

#[cfg(test)]
mod tests;
