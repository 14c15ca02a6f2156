//! Watching: the buddy list and the presence of everyone on it.
//!
//! Once registered, the client subscribes to its own buddy list
//! (`Event: vnd.confab.contacts`, see `proto::contacts`), kept by a confab
//! server so it is the same on every client; each list that arrives becomes
//! an [`Event::Buddies`] and the set of presence subscriptions (RFC 3856)
//! follows it. Changes go to the server as SERVICE requests, and come back
//! to every client of the user as a new list. A server that does not know
//! the package (a plain registrar) refuses the subscription: the client
//! then keeps the list itself, seeded by the front end with
//! [`super::Command::UseLocalBuddies`] and reported back on every change.

use std::collections::BTreeMap;
use std::time::Duration;

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Method, Request, Response};

use super::subscription::{LocalInfo, NotifyState, Subscription, SubscriptionAction};
use super::{Buddy, Client, Event, Purpose};
use crate::proto::address::uri_peer;
use crate::proto::contacts::{self, ContactChange, ContactEntry};
use crate::proto::pidf::{self, Availability};
use crate::proto::transaction::TransactionKey;
use crate::proto::{Peer, Time};

pub(super) const CONTACTS_PACKAGE: &str = "vnd.confab.contacts";
pub(super) const PRESENCE_PACKAGE: &str = "presence";
const SUBSCRIPTION_EXPIRY: Duration = Duration::from_secs(3600);
/// The group a buddy added without one goes to.
const DEFAULT_GROUP: &str = "Contacts";

/// Which subscription a request or NOTIFY belongs to: the package and the
/// watched address.
pub(super) type WatchKey = (&'static str, String);

#[derive(Debug, Default)]
pub(super) struct Watching {
    subscriptions: BTreeMap<WatchKey, Subscription>,
    buddies: Vec<Buddy>,
    /// False once the server refused the contacts package: the list is ours.
    local_list: bool,
}

impl Watching {
    pub fn poll_timeout(&self) -> Option<Time> {
        self.subscriptions
            .values()
            .filter_map(Subscription::poll_timeout)
            .min()
    }
}

impl Client {
    fn local_info(&self) -> LocalInfo {
        LocalInfo {
            aor: self.aor.clone(),
            contact: self.contact.clone(),
            local: self.config.local,
            transport: self.config.server.transport,
        }
    }

    /// After registering: the buddy list first, presence follows it. A
    /// re-registration (the server may have restarted and forgotten every
    /// subscription) starts them all afresh.
    pub(super) fn start_watching(&mut self, now: Time) {
        self.watching.subscriptions.clear();
        if self.watching.local_list {
            let buddies = self.watching.buddies.clone();
            self.follow_buddies(now, &buddies);
            return;
        }
        let aor = self.aor.clone();
        self.watch(now, CONTACTS_PACKAGE, &aor, contacts::CONTENT_TYPE);
    }

    fn watch(&mut self, now: Time, package: &'static str, target: &str, accept: &str) {
        let key = (package, target.to_owned());
        if self.watching.subscriptions.contains_key(&key) {
            return;
        }
        match Subscription::new(target, package, accept, SUBSCRIPTION_EXPIRY) {
            Ok(subscription) => {
                self.watching
                    .subscriptions
                    .insert(key.clone(), subscription);
                self.send_subscribe(now, key);
            }
            Err(error) => tracing::info!(%target, %error, "cannot watch this address"),
        }
    }

    fn send_subscribe(&mut self, now: Time, key: WatchKey) {
        let local = self.local_info();
        let Some(subscription) = self.watching.subscriptions.get_mut(&key) else {
            return;
        };
        let request = subscription.build_subscribe(&local, &mut self.ids);
        let destination = next_hop(&request).unwrap_or(self.config.server);
        self.send_request(now, request, destination, Purpose::Subscribe(key));
    }

    /// Stops watching, telling the server (Expires: 0).
    fn unwatch(&mut self, now: Time, key: &WatchKey) {
        let local = self.local_info();
        if let Some(mut subscription) = self.watching.subscriptions.remove(key) {
            if let Some(request) = subscription.unsubscribe(&local, &mut self.ids) {
                let destination = next_hop(&request).unwrap_or(self.config.server);
                self.send_request(now, request, destination, Purpose::Unsubscribe);
            }
        }
    }

    /// On quitting: every subscription ends.
    pub(super) fn unwatch_all(&mut self, now: Time) {
        let keys: Vec<WatchKey> = self.watching.subscriptions.keys().cloned().collect();
        for key in keys {
            self.unwatch(now, &key);
        }
    }

    /// The final answer to one of our SUBSCRIBEs (challenges included: the
    /// subscription builds its own retry, with its own CSeq).
    pub(super) fn subscribe_answered(
        &mut self,
        now: Time,
        key: WatchKey,
        response: Option<&Response>,
    ) {
        let Some(subscription) = self.watching.subscriptions.get_mut(&key) else {
            return;
        };
        let action = match response {
            Some(response) => subscription.handle_response(now, response),
            None => subscription.handle_transaction_timeout(now),
        };
        self.act_on(now, key, action);
    }

    fn act_on(&mut self, now: Time, key: WatchKey, action: Option<SubscriptionAction>) {
        match action {
            Some(SubscriptionAction::SendSubscribe) => self.send_subscribe(now, key),
            Some(SubscriptionAction::Stopped { code, reason }) => {
                self.watching.subscriptions.remove(&key);
                self.subscription_stopped(now, key, code, reason);
            }
            None => {}
        }
    }

    fn subscription_stopped(
        &mut self,
        now: Time,
        key: WatchKey,
        code: Option<u16>,
        reason: String,
    ) {
        tracing::info!(package = key.0, target = %key.1, ?code, %reason, "subscription over");
        if let Some(code) = code {
            self.events.push_back(Event::SubscriptionFailed {
                package: key.0.to_owned(),
                target: key.1.clone(),
                reason: format!("{code} {reason}"),
            });
        }
        match key.0 {
            CONTACTS_PACKAGE => {
                // Not a confab server: the list is kept here from now on.
                self.watching.local_list = true;
                let buddies = self.watching.buddies.clone();
                self.events.push_back(Event::Buddies {
                    buddies: buddies.clone(),
                });
                self.follow_buddies(now, &buddies);
            }
            _ => self.events.push_back(Event::Presence {
                uri: key.1,
                availability: Availability::Offline,
                note: String::new(),
            }),
        }
    }

    /// A NOTIFY; true if one of our subscriptions took it.
    pub(super) fn handle_notify(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
    ) -> bool {
        let Some(watch) = self
            .watching
            .subscriptions
            .iter()
            .find(|(_, subscription)| subscription.matches_notify(request))
            .map(|(watch, _)| watch.clone())
        else {
            return false;
        };
        let Some(subscription) = self.watching.subscriptions.get_mut(&watch) else {
            return false;
        };
        let outcome = subscription.handle_notify(now, request);
        self.respond(now, key, outcome.response);
        match outcome.notification {
            Ok(notification) => {
                if !notification.body.is_empty() {
                    self.take_notification(now, &watch, &notification.body);
                } else if let NotifyState::Terminated { .. } = notification.state {
                    tracing::debug!(package = watch.0, "subscription terminated without a body");
                }
            }
            Err(error) => tracing::info!(%error, "NOTIFY refused"),
        }
        self.act_on(now, watch, outcome.action);
        true
    }

    fn take_notification(&mut self, now: Time, watch: &WatchKey, body: &[u8]) {
        match watch.0 {
            CONTACTS_PACKAGE => match contacts::parse_list(body) {
                Ok(list) => {
                    let buddies: Vec<Buddy> = list
                        .contacts
                        .into_iter()
                        .filter(|entry| entry.uri != self.aor)
                        .map(|entry| Buddy {
                            display: if entry.display.is_empty() {
                                entry.uri.clone()
                            } else {
                                entry.display
                            },
                            group: if entry.group.is_empty() {
                                DEFAULT_GROUP.into()
                            } else {
                                entry.group
                            },
                            uri: entry.uri,
                        })
                        .collect();
                    self.events.push_back(Event::Buddies {
                        buddies: buddies.clone(),
                    });
                    self.follow_buddies(now, &buddies);
                    self.watching.buddies = buddies;
                }
                Err(error) => tracing::info!(%error, "bad contact list"),
            },
            _ => match pidf::parse(body) {
                Ok(document) => self.events.push_back(Event::Presence {
                    uri: watch.1.clone(),
                    availability: document.availability,
                    note: document.note.unwrap_or_default(),
                }),
                Err(error) => tracing::info!(%error, uri = %watch.1, "bad presence document"),
            },
        }
    }

    /// Presence subscriptions for exactly the buddies on the list.
    fn follow_buddies(&mut self, now: Time, buddies: &[Buddy]) {
        let stale: Vec<WatchKey> = self
            .watching
            .subscriptions
            .keys()
            .filter(|(package, uri)| {
                *package == PRESENCE_PACKAGE && !buddies.iter().any(|b| &b.uri == uri)
            })
            .cloned()
            .collect();
        for key in stale {
            self.unwatch(now, &key);
        }
        for buddy in buddies {
            self.watch(now, PRESENCE_PACKAGE, &buddy.uri, pidf::CONTENT_TYPE);
        }
    }

    pub(super) fn add_buddy(
        &mut self,
        now: Time,
        uri: &str,
        display: Option<String>,
        group: Option<String>,
    ) -> Result<(), String> {
        let uri = self.target_uri(uri)?;
        if uri == self.aor {
            return Err("you are always on your own list".into());
        }
        let existing = self.watching.buddies.iter().find(|buddy| buddy.uri == uri);
        let display = display
            .filter(|name| !name.trim().is_empty())
            .or_else(|| existing.map(|buddy| buddy.display.clone()))
            .unwrap_or_default();
        let group = group
            .filter(|name| !name.trim().is_empty())
            .or_else(|| existing.map(|buddy| buddy.group.clone()))
            .unwrap_or_else(|| DEFAULT_GROUP.into());
        let entry = ContactEntry {
            uri,
            display,
            group,
        };
        self.change_buddies(now, ContactChange::Set(entry), "buddy.add")
    }

    pub(super) fn remove_buddy(&mut self, now: Time, uri: &str) -> Result<(), String> {
        let uri = self.target_uri(uri)?;
        if !self.watching.buddies.iter().any(|buddy| buddy.uri == uri) {
            return Err(format!("{uri} is not on the buddy list"));
        }
        self.change_buddies(now, ContactChange::Delete { uri }, "buddy.remove")
    }

    fn change_buddies(
        &mut self,
        now: Time,
        change: ContactChange,
        command: &'static str,
    ) -> Result<(), String> {
        change.validate().map_err(|error| error.to_string())?;
        if self.watching.local_list {
            apply_locally(&mut self.watching.buddies, &change);
            let buddies = self.watching.buddies.clone();
            self.events.push_back(Event::Buddies {
                buddies: buddies.clone(),
            });
            self.follow_buddies(now, &buddies);
            return Ok(());
        }
        let extra = vec![Header::ContentType(rsip::headers::ContentType::new(
            contacts::CONTENT_TYPE,
        ))];
        let aor = self.aor.clone();
        let body = change.to_xml().into_bytes();
        self.send_new_request(
            now,
            Method::Service,
            &aor,
            extra,
            body,
            Purpose::ContactChange(command),
        );
        Ok(())
    }

    /// The front end's saved list, used until (or instead of) the server's.
    pub(super) fn use_local_buddies(&mut self, now: Time, buddies: Vec<Buddy>) {
        if self
            .watching
            .subscriptions
            .contains_key(&(CONTACTS_PACKAGE, self.aor.clone()))
            && !self.watching.local_list
        {
            // The server's list is on its way or here; it wins.
            if !self.watching.buddies.is_empty() {
                return;
            }
        }
        self.watching.buddies = buddies.clone();
        self.events.push_back(Event::Buddies {
            buddies: buddies.clone(),
        });
        if self.registration.is_registered() {
            self.follow_buddies(now, &buddies);
        }
    }

    pub(super) fn contact_change_answered(
        &mut self,
        command: &'static str,
        response: Option<&Response>,
    ) {
        match response.map(|response| response.status_code.code()) {
            Some(200..=299) => {}
            Some(_) | None => self.events.push_back(Event::CommandFailed {
                command,
                reason: response.map_or("no answer from the server".into(), super::status_line),
            }),
        }
    }

    /// Subscription timers: refreshes and retries.
    pub(super) fn handle_watch_timers(&mut self, now: Time) {
        let due: Vec<WatchKey> = self
            .watching
            .subscriptions
            .iter()
            .filter(|(_, subscription)| subscription.poll_timeout().is_some_and(|at| now >= at))
            .map(|(key, _)| key.clone())
            .collect();
        for key in due {
            let action = self
                .watching
                .subscriptions
                .get_mut(&key)
                .and_then(|subscription| subscription.handle_timeout(now));
            self.act_on(now, key, action);
        }
    }
}

/// A list change applied to a list we keep ourselves.
fn apply_locally(buddies: &mut Vec<Buddy>, change: &ContactChange) {
    match change {
        ContactChange::Set(entry) => {
            let buddy = Buddy {
                uri: entry.uri.clone(),
                display: if entry.display.is_empty() {
                    entry.uri.clone()
                } else {
                    entry.display.clone()
                },
                group: entry.group.clone(),
            };
            match buddies
                .iter_mut()
                .find(|existing| existing.uri == entry.uri)
            {
                Some(existing) => *existing = buddy,
                None => buddies.push(buddy),
            }
        }
        ContactChange::Delete { uri } => buddies.retain(|buddy| &buddy.uri != uri),
        ContactChange::SetGroup { .. } => {}
        ContactChange::DeleteGroup { name } => {
            for buddy in buddies.iter_mut().filter(|buddy| &buddy.group == name) {
                buddy.group = DEFAULT_GROUP.into();
            }
        }
    }
}

/// Where an in-dialog request goes first; None for an initial one (it
/// goes to the server).
fn next_hop(request: &Request) -> Option<Peer> {
    let in_dialog = request.headers.iter().any(|header| match header {
        Header::To(to) => crate::proto::build::to_has_tag(to.value()),
        _ => false,
    });
    if !in_dialog {
        return None;
    }
    let route = request.headers.iter().find_map(|header| match header {
        Header::Route(route) => crate::proto::build::address_uri(route.value()),
        _ => None,
    });
    match route {
        Some(uri) => uri_peer(&uri),
        None => uri_peer(&request.uri),
    }
}
