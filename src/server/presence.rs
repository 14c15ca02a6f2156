//! The presence agent and the roaming buddy list, on the server.
//!
//! - PUBLISH (RFC 3903) of `Event: presence` to one's own address stores a
//!   PIDF document per endpoint; SUBSCRIBE (RFC 6665, RFC 3856) to anyone's
//!   address gets NOTIFYs of their state. A user's state is the most
//!   available of their endpoints' documents ([MS-PRES] aggregation); a
//!   user with no registered contact is Offline whatever was published, and
//!   their publications go when their last binding does.
//! - The buddy list lives here so that it is the same on every client:
//!   SUBSCRIBE `Event: vnd.confab.contacts` to one's own address gets the
//!   list (see `proto::contacts`), and SERVICE with a change body edits it;
//!   every client of the user is notified. Only the owner reads or changes
//!   a list.
//! - Provisioning (`Event: vnd.confab.provisioning`, see `provisioning`)
//!   rides on the same notifier; only the owner subscribes to theirs.
//!
//! Watching is open to every authenticated user of the domain, as in an
//! enterprise directory.

use rsip::headers::UntypedHeader;
use rsip::{Header, Method, Request};

use super::Server;
use super::notifier::{EventHeader, Notifier, NotifierConfig, SubscriptionId};
use super::publication::{PublicationConfig, Publications};
use super::registrar::Aor;
use crate::proto::Time;
use crate::proto::address::uri_peer;
use crate::proto::build::{status, status_with_reason};
use crate::proto::contacts::{self, ContactChange, ContactList};
use crate::proto::pidf::{self, Availability, PresenceDocument};
use crate::proto::transaction::{KeyMap, TransactionKey};

pub const PRESENCE: &str = "presence";
pub const CONTACTS: &str = "vnd.confab.contacts";
/// RFC 4575: a conference's roster, from its focus.
pub const CONFERENCE: &str = "conference";
pub const PROVISIONING: &str = crate::proto::provisioning::EVENT_PACKAGE;

/// Where the server keeps buddy lists. The store implements it over SQLite.
pub trait ContactStore {
    fn list(&self, owner: &str) -> Result<ContactList, String>;
    fn apply(&self, owner: &str, change: &ContactChange) -> Result<(), String>;
}

/// The state of the presence agent.
pub struct PresenceService {
    publications: Publications,
    pub(super) notifier: Notifier,
    contacts: Box<dyn ContactStore + Send>,
    /// NOTIFY client transactions in flight.
    notifies: KeyMap<SubscriptionId>,
}

impl PresenceService {
    pub fn new(
        contact: &str,
        local: std::net::SocketAddr,
        seed: u64,
        contacts: Box<dyn ContactStore + Send>,
    ) -> Self {
        let notifier = Notifier::new(
            NotifierConfig::new(contact, local, seed)
                .with_package(PRESENCE, 3600)
                .with_package(CONTACTS, 3600)
                .with_package(CONFERENCE, 3600)
                .with_package(PROVISIONING, 3600),
        );
        let publications =
            Publications::new(PublicationConfig::new(seed ^ 0x5eed).with_package(PRESENCE));
        PresenceService {
            publications,
            notifier,
            contacts,
            notifies: KeyMap::default(),
        }
    }

    pub fn poll_timeout(&self) -> Option<Time> {
        crate::proto::time::earliest(
            self.publications.poll_timeout(),
            self.notifier.poll_timeout(),
        )
    }
}

impl Server {
    /// Takes the requests that belong to the presence agent. `user` is who
    /// the request was authenticated as. Returns the request back if it is
    /// not ours.
    pub(super) fn route_presence(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: Request,
        target: Option<&Aor>,
        user: Option<&str>,
    ) -> Option<Request> {
        let own = target.is_some_and(|aor| user == Some(aor.user()));
        match (&request.method, target) {
            (Method::Publish, Some(aor)) if own => self.handle_publish(now, key, &request, aor),
            (Method::Subscribe, Some(aor)) => {
                let package = EventHeader::of(&request).map(|event| event.package);
                let private = match package.as_deref() {
                    Some(CONTACTS) => Some("Not Your Contact List"),
                    Some(PROVISIONING) => Some("Not Your Provisioning"),
                    _ => None,
                };
                if let Some(reason) = private.filter(|_| !own) {
                    self.reply(now, key, &request, status_with_reason(403, reason));
                } else {
                    self.handle_subscribe(now, key, &request, &aor.to_string());
                }
            }
            // A refresh or unsubscribe inside a subscription dialog comes to
            // our own address.
            (Method::Subscribe, None) => self.handle_subscribe(now, key, &request, ""),
            (Method::Service, Some(aor)) if own && is_contacts_body(&request) => {
                self.handle_contact_change(now, key, &request, aor)
            }
            (Method::Publish | Method::Service, Some(_)) => self.reply(
                now,
                key,
                &request,
                status_with_reason(403, "Only For Yourself"),
            ),
            _ => return Some(request),
        }
        None
    }

    fn handle_publish(&mut self, now: Time, key: &TransactionKey, request: &Request, aor: &Aor) {
        let resource = aor.to_string();
        if let Some(body) = has_body(request).then_some(&request.body) {
            if let Err(error) = pidf::parse(body) {
                tracing::info!(%resource, %error, "PUBLISH with a bad PIDF body");
                let reason = status_with_reason(400, "Bad PIDF Document");
                return self.reply(now, key, request, reason);
            }
        }
        let outcome = self
            .presence
            .publications
            .handle_publish(now, request, &resource);
        let response = outcome.response(request, &self.ids.tag());
        self.send_response(now, key, response);
        if outcome.changed {
            self.notify_presence(now, &resource);
        }
    }

    pub(super) fn handle_subscribe(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        resource: &str,
    ) {
        let outcome = self
            .presence
            .notifier
            .handle_subscribe(now, request, resource);
        self.send_response(now, key, outcome.response);
        if let Some(id) = outcome.action.subscription() {
            self.notify_one(now, id);
        }
        self.send_notifies(now);
    }

    fn handle_contact_change(
        &mut self,
        now: Time,
        key: &TransactionKey,
        request: &Request,
        aor: &Aor,
    ) {
        let owner = aor.to_string();
        let result = contacts::parse_change(&request.body)
            .map_err(|error| error.to_string())
            .and_then(|change| self.presence.contacts.apply(&owner, &change));
        match result {
            Ok(()) => {
                self.reply(now, key, request, status(200));
                for id in self.presence.notifier.subscriptions_of(&owner, CONTACTS) {
                    self.notify_one(now, id);
                }
                self.send_notifies(now);
            }
            Err(reason) => {
                tracing::info!(%owner, %reason, "contact list change refused");
                let reason = format!("Contact Change Refused: {reason}");
                self.reply(now, key, request, status_with_reason(400, &reason));
            }
        }
    }

    /// Queues a NOTIFY with the current state of what `id` watches.
    fn notify_one(&mut self, now: Time, id: SubscriptionId) {
        let Some((resource, package)) = self
            .presence
            .notifier
            .resource_of(id)
            .map(|(resource, package)| (resource.to_owned(), package.to_owned()))
        else {
            return;
        };
        let body = match package.as_str() {
            PRESENCE => {
                let document = self.presence_of(now, &resource);
                (pidf::CONTENT_TYPE, document.to_xml().into_bytes())
            }
            CONTACTS => match self.presence.contacts.list(&resource) {
                Ok(list) => (contacts::CONTENT_TYPE, list.to_xml().into_bytes()),
                Err(reason) => {
                    tracing::error!(%resource, %reason, "contact list unreadable");
                    self.presence.notifier.terminate(now, id, "deactivated");
                    return;
                }
            },
            PROVISIONING => match self.provisioning_document(&resource) {
                Some(document) => (
                    crate::proto::provisioning::CONTENT_TYPE,
                    document.to_xml().into_bytes(),
                ),
                None => {
                    self.presence.notifier.terminate(now, id, "noresource");
                    return;
                }
            },
            CONFERENCE => match self.roster_full_document(&resource) {
                Some(document) => (crate::proto::conference_info::CONTENT_TYPE, document),
                None => {
                    self.presence.notifier.terminate(now, id, "noresource");
                    return;
                }
            },
            _ => return,
        };
        self.presence
            .notifier
            .notify(now, id, Some((body.0, body.1)));
    }

    /// Tells every watcher of `resource` its new state.
    pub(super) fn notify_presence(&mut self, now: Time, resource: &str) {
        for id in self.presence.notifier.subscriptions_of(resource, PRESENCE) {
            self.notify_one(now, id);
        }
        self.send_notifies(now);
    }

    /// A user's state: the most available of their endpoints, Offline when
    /// nothing of theirs is registered.
    fn presence_of(&self, now: Time, resource: &str) -> PresenceDocument {
        let registered =
            Aor::from_uri_text(resource).is_some_and(|aor| self.registrar.is_registered(&aor, now));
        let documents: Vec<PresenceDocument> = if registered {
            self.presence
                .publications
                .current(resource, PRESENCE)
                .iter()
                .filter_map(|published| pidf::parse(&published.body).ok())
                .collect()
        } else {
            Vec::new()
        };
        let availability = if !registered {
            Availability::Offline
        } else if documents.is_empty() {
            // Registered but silent (a plain SIP phone): reachable.
            Availability::Available
        } else {
            pidf::most_available(documents.iter().map(|document| document.availability))
        };
        let note = documents
            .iter()
            .filter(|document| document.availability == availability)
            .find_map(|document| document.note.clone());
        PresenceDocument {
            entity: resource.to_owned(),
            availability,
            note,
            contact: None,
        }
    }

    /// Sends the NOTIFYs the notifier has queued.
    pub(super) fn send_notifies(&mut self, now: Time) {
        while let Some(notify) = self.presence.notifier.poll_notify() {
            let Some(peer) = uri_peer(&notify.next_hop) else {
                tracing::info!(next_hop = %notify.next_hop, "a watcher we cannot reach; subscription dropped");
                self.presence.notifier.handle_notify_timeout(notify.id);
                continue;
            };
            match self.transactions.send_request(now, notify.request, peer) {
                Ok(key) => {
                    self.presence.notifies.insert(key, notify.id);
                }
                Err(error) => {
                    tracing::warn!(%error, "NOTIFY not sent");
                    self.presence.notifier.handle_notify_timeout(notify.id);
                }
            }
        }
    }

    /// The answer to one of our NOTIFYs; true if it was one.
    pub(super) fn presence_response(
        &mut self,
        now: Time,
        key: &TransactionKey,
        response: &rsip::Response,
    ) -> bool {
        if response.status_code.code() < 200 {
            return self.presence.notifies.contains_key(key);
        }
        let Some(id) = self.presence.notifies.remove(key) else {
            return false;
        };
        self.presence
            .notifier
            .handle_notify_response(now, id, response);
        self.send_notifies(now);
        true
    }

    /// No answer to one of our NOTIFYs; true if it was one.
    pub(super) fn presence_timeout(&mut self, now: Time, key: &TransactionKey) -> bool {
        let Some(id) = self.presence.notifies.remove(key) else {
            return false;
        };
        self.presence.notifier.handle_notify_timeout(id);
        self.send_notifies(now);
        true
    }

    /// Timers of publications and subscriptions.
    pub(super) fn presence_timers(&mut self, now: Time) {
        self.presence.publications.handle_timeout(now);
        self.presence.notifier.handle_timeout(now);
        while let Some((resource, package)) = self.presence.publications.poll_changed() {
            if package == PRESENCE {
                self.notify_presence(now, &resource);
            }
        }
        while self.presence.notifier.poll_event().is_some() {}
        self.send_notifies(now);
    }

    /// A user's last binding went: their publications go with it.
    pub(super) fn user_offline(&mut self, now: Time, aor: &Aor) {
        let resource = aor.to_string();
        self.presence.publications.remove_resource(&resource);
        self.notify_presence(now, &resource);
    }
}

fn has_body(request: &Request) -> bool {
    !request.body.is_empty()
}

fn is_contacts_body(request: &Request) -> bool {
    request.headers.iter().any(|header| match header {
        Header::ContentType(value) => value
            .value()
            .split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case(contacts::CONTENT_TYPE)),
        _ => false,
    })
}
