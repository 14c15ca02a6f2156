//! The notifier's side of RFC 4575 §4.6: the document that takes a
//! subscriber holding one roster to the next.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    ConferenceInfo, ConferenceState, Description, DisconnectionMethod, Endpoint, EndpointStatus,
    Roster, SessionType, State, User,
};

/// The partial document that, applied to a subscriber holding `old`, leaves
/// it holding `new`; `None` when nothing changed.
///
/// Users that joined are sent `full`; users that changed are sent `partial`
/// with only what changed (fields, endpoints, media); users that left are
/// sent `deleted`, their endpoints `disconnected` with the disconnection
/// method given to [`Roster::remove_user`] (or the one `old` showed), so an
/// ejection reads `booted`. A partial element can overwrite and add but not
/// clear a field, so a user or endpoint that lost one is sent `full`, and a
/// description or conference state that lost one makes the whole document
/// full. So does a change of conference entity.
///
/// The version is `old`'s plus one, what a subscriber that applied every
/// document up to `old` expects; a focus with several subscriptions gives
/// each document the version of its subscription.
pub fn diff(old: &Roster, new: &Roster) -> Option<ConferenceInfo> {
    let entities = both_keys(old.users_by_entity(), new.users_by_entity());
    diff_of(old, new, entities)
}

/// [`diff`], comparing only the users in `touched`: the same document when
/// every other user is the same in both, as when `touched` is what
/// [`Roster::take_touched`] gave since `old` was a copy of `new` (and
/// [`Roster::catch_up`] keeps it one). It costs what changed, where
/// [`diff`] costs the whole roster: with two thousand users joining one
/// by one, a million comparisons.
pub fn diff_touched(
    old: &Roster,
    new: &Roster,
    touched: &BTreeSet<String>,
) -> Option<ConferenceInfo> {
    diff_of(old, new, touched)
}

/// [`diff`] over the users `entities`, in entity order.
fn diff_of<'a>(
    old: &Roster,
    new: &Roster,
    entities: impl IntoIterator<Item = &'a String>,
) -> Option<ConferenceInfo> {
    let version = old.version().unwrap_or(0).saturating_add(1);
    if old.entity() != new.entity() {
        return Some(new.full_document(version));
    }
    let description = match description_delta(old.description(), new.description()) {
        Delta::Same => None,
        Delta::Changed(description) => Some(description),
        Delta::Cleared => return Some(new.full_document(version)),
    };
    let conference_state = match state_delta(old.conference_state(), new.conference_state()) {
        Delta::Same => None,
        Delta::Changed(state) => Some(state),
        Delta::Cleared => return Some(new.full_document(version)),
    };
    let users = users_delta(old, new, entities);
    if description.is_none() && conference_state.is_none() && users.is_empty() {
        return None;
    }
    Some(ConferenceInfo {
        entity: new.entity().to_owned(),
        state: State::Partial,
        version,
        description,
        conference_state,
        users_state: State::Partial,
        users,
    })
}

/// What a partial element says about one part.
enum Delta<T> {
    Same,
    /// The element to send.
    Changed(T),
    /// A field went away, which a partial element cannot say.
    Cleared,
}

fn description_delta(old: Option<&Description>, new: Option<&Description>) -> Delta<Description> {
    match (old, new) {
        (old, new) if old == new => Delta::Same,
        (_, None) => Delta::Cleared,
        (None, Some(new)) => Delta::Changed(new.clone()),
        (Some(old), Some(new)) => {
            let Some(subject) = changed(&old.subject, &new.subject) else {
                return Delta::Cleared;
            };
            let conf_uris = if old.conf_uris == new.conf_uris {
                Vec::new()
            } else if new.conf_uris.is_empty() {
                return Delta::Cleared;
            } else {
                new.conf_uris.clone()
            };
            Delta::Changed(Description { subject, conf_uris })
        }
    }
}

fn state_delta(
    old: Option<&ConferenceState>,
    new: Option<&ConferenceState>,
) -> Delta<ConferenceState> {
    match (old, new) {
        (old, new) if old == new => Delta::Same,
        (_, None) => Delta::Cleared,
        (None, Some(new)) => Delta::Changed(new.clone()),
        (Some(old), Some(new)) => {
            let (Some(user_count), Some(active), Some(locked)) = (
                changed(&old.user_count, &new.user_count),
                changed(&old.active, &new.active),
                changed(&old.locked, &new.locked),
            ) else {
                return Delta::Cleared;
            };
            Delta::Changed(ConferenceState {
                user_count,
                active,
                locked,
            })
        }
    }
}

/// A field in a partial element: `Some(None)` if unchanged (not sent),
/// `Some(Some(value))` if changed to `value`, `None` if cleared.
fn changed<T: Clone + PartialEq>(old: &Option<T>, new: &Option<T>) -> Option<Option<T>> {
    match new {
        _ if old == new => Some(None),
        Some(value) => Some(Some(value.clone())),
        None => None,
    }
}

fn users_delta<'a>(
    old: &Roster,
    new: &Roster,
    entities: impl IntoIterator<Item = &'a String>,
) -> Vec<User> {
    let mut users = Vec::new();
    for entity in entities {
        match (old.user(entity), new.user(entity)) {
            (Some(old_user), None) => users.push(deleted_user(old_user, new.departure(entity))),
            (None, Some(new_user)) => users.push(new_user.clone()),
            (Some(old_user), Some(new_user)) if old_user != new_user => {
                users.push(partial_user(old_user, new_user).unwrap_or_else(|| new_user.clone()));
            }
            _ => {}
        }
    }
    users
}

/// A user that left, as `deleted`; when how is known, its endpoints say
/// so.
fn deleted_user(old: &User, departure: Option<&DisconnectionMethod>) -> User {
    let method = departure.cloned().or_else(|| {
        old.endpoints
            .iter()
            .find_map(|endpoint| endpoint.disconnection_method.clone())
    });
    let Some(method) = method else {
        return User {
            state: State::Deleted,
            ..User::new(old.entity.clone())
        };
    };
    let disconnected = |entity: &str, session_type: Option<SessionType>| Endpoint {
        entity: entity.to_owned(),
        session_type,
        status: Some(EndpointStatus::Disconnected),
        disconnection_method: Some(method.clone()),
        ..Endpoint::default()
    };
    let mut endpoints: Vec<Endpoint> = old
        .endpoints
        .iter()
        .map(|endpoint| disconnected(&endpoint.entity, endpoint.session_type.clone()))
        .collect();
    if endpoints.is_empty() {
        // The method lives on an endpoint (RFC 4575 §5.6.7); a user listed
        // without one gets one named after itself, so an ejection still
        // reads `booted`.
        endpoints.push(disconnected(&old.entity, None));
    }
    User {
        entity: old.entity.clone(),
        state: State::Deleted,
        endpoints,
        ..User::default()
    }
}

/// What changed in a user, or `None` if it must be sent full.
fn partial_user(old: &User, new: &User) -> Option<User> {
    let display_text = changed(&old.display_text, &new.display_text)?;
    let roles = if old.roles == new.roles {
        Vec::new()
    } else if new.roles.is_empty() {
        return None;
    } else {
        new.roles.clone()
    };
    let old_endpoints: BTreeMap<&str, &Endpoint> = keyed(&old.endpoints, |e| &e.entity);
    let new_endpoints: BTreeMap<&str, &Endpoint> = keyed(&new.endpoints, |e| &e.entity);
    let mut endpoints = Vec::new();
    for (entity, pair) in outer_join(&old_endpoints, &new_endpoints) {
        match pair {
            (Some(_), None) => endpoints.push(Endpoint {
                entity: (*entity).to_owned(),
                state: State::Deleted,
                ..Endpoint::default()
            }),
            (None, Some(new_endpoint)) => endpoints.push((*new_endpoint).clone()),
            (Some(old_endpoint), Some(new_endpoint)) if old_endpoint != new_endpoint => endpoints
                .push(
                    partial_endpoint(old_endpoint, new_endpoint)
                        .unwrap_or_else(|| (*new_endpoint).clone()),
                ),
            _ => {}
        }
    }
    Some(User {
        entity: new.entity.clone(),
        state: State::Partial,
        display_text,
        roles,
        endpoints,
    })
}

/// What changed in an endpoint, or `None` if it must be sent full.
fn partial_endpoint(old: &Endpoint, new: &Endpoint) -> Option<Endpoint> {
    let new_ids: Vec<&str> = new.media.iter().map(|media| media.id.as_str()).collect();
    if old
        .media
        .iter()
        .any(|media| !new_ids.contains(&media.id.as_str()))
    {
        // A medium cannot be deleted on its own (it has no state).
        return None;
    }
    let media = new
        .media
        .iter()
        .filter(|media| !old.media.contains(media))
        .cloned()
        .collect();
    Some(Endpoint {
        entity: new.entity.clone(),
        state: State::Partial,
        session_type: changed(&old.session_type, &new.session_type)?,
        status: changed(&old.status, &new.status)?,
        joining_method: changed(&old.joining_method, &new.joining_method)?,
        disconnection_method: changed(&old.disconnection_method, &new.disconnection_method)?,
        disconnection_reason: changed(&old.disconnection_reason, &new.disconnection_reason)?,
        media,
    })
}

fn keyed<'a, T>(items: &'a [T], key: impl Fn(&'a T) -> &'a String) -> BTreeMap<&'a str, &'a T> {
    items
        .iter()
        .map(|item| (key(item).as_str(), item))
        .collect()
}

/// Both maps' keys in order, with what each map holds under the key.
fn outer_join<'a, K: Ord, V>(
    old: &'a BTreeMap<K, V>,
    new: &'a BTreeMap<K, V>,
) -> impl Iterator<Item = (&'a K, (Option<&'a V>, Option<&'a V>))> + 'a {
    both_keys(old, new)
        .into_iter()
        .map(move |key| (key, (old.get(key), new.get(key))))
}

/// Every key of either map, once each, in order.
fn both_keys<'a, K: Ord, V>(old: &'a BTreeMap<K, V>, new: &'a BTreeMap<K, V>) -> Vec<&'a K> {
    let mut keys: Vec<&K> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests;
