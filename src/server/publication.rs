//! RFC 3903 event state publication: the state compositor's store of what
//! each endpoint of a user has published, for any event package and any
//! body.
//!
//! The owning core authenticates a PUBLISH, resolves the resource its
//! Request-URI names and checks the publisher may publish for it, then
//! hands it to [`Publications::handle_publish`], which applies §6 steps 2-8:
//! 489 for an event package not served, 412 for a SIP-If-Match naming no
//! state of this resource and package, 423 with Min-Expires for too brief
//! an interval, and then an initial publication (no SIP-If-Match, a body),
//! a refresh (SIP-If-Match, no body), a modification (SIP-If-Match and a
//! body) or a removal (SIP-If-Match and `Expires: 0`). Every successful
//! PUBLISH but a removal gets a new entity-tag (§6 step 7). The
//! [`PublishOutcome`] holds the facts of the response and whether the
//! resource's state changed, so the owner composes and notifies watchers.
//!
//! One resource may hold several publications of one package at once: one
//! per endpoint of a user (each its own entity-tag). The owner composes
//! them from [`Publications::current`].
//!
//! Publications expire in virtual time ([`Publications::poll_timeout`],
//! [`Publications::handle_timeout`]); a resource whose state changed by
//! expiry or by [`Publications::remove_resource`] comes out of
//! [`Publications::poll_changed`]. Changes made by a PUBLISH are reported
//! in its outcome only.
//!
//! Invariants: entity-tags are unique for the store's lifetime (a serial
//! number ends each one); every stored publication has exactly one entry in
//! the entity-tag index and one in the expiry index, at its `expires_at`;
//! a (resource, package) with no publications is not stored.

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use rsip::headers::UntypedHeader as _;
use rsip::{Header, Method, Request, Response};

use crate::proto::Time;
use crate::proto::build::{self, Identifiers, status_with_reason};
use crate::proto::message;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicationConfig {
    /// Shorter non-zero requests get 423 with Min-Expires (§6 step 4).
    pub min_expires: u32,
    /// Longer requests are shortened to this (§6 step 4 allows it).
    pub max_expires: u32,
    /// Granted when a PUBLISH has no Expires (§6 step 4: the package's
    /// default; RFC 3903 §4 and RFC 3856 say 3600 s for presence).
    pub default_expires: u32,
    /// The event packages accepted; any other gets 489.
    pub packages: Vec<String>,
    /// Seeds the entity-tags.
    pub seed: u64,
}

impl PublicationConfig {
    /// 60 s minimum, one hour maximum and default, no packages yet.
    pub fn new(seed: u64) -> Self {
        PublicationConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            packages: Vec::new(),
            seed,
        }
    }

    pub fn with_package(mut self, name: &str) -> Self {
        self.packages.push(name.to_owned());
        self
    }
}

/// Why a PUBLISH was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublicationError {
    #[error("not a PUBLISH")]
    NotPublish,
    /// §6 step 2: 489 with Allow-Events.
    #[error("no Event header")]
    MissingEvent,
    /// §6 step 2: 489 with Allow-Events.
    #[error("event package {0:?} is not accepted here")]
    BadEvent(String),
    /// §6 step 3: 412 Conditional Request Failed.
    #[error("no publication with entity-tag {0:?} for this resource and package")]
    UnknownEtag(String),
    /// §6 step 4: 423 with Min-Expires.
    #[error("requested expiry {requested} s is below the minimum {min_expires} s")]
    IntervalTooBrief { requested: u32, min_expires: u32 },
    /// §6 step 5: an initial PUBLISH must carry the state.
    #[error("an initial PUBLISH has no body")]
    MissingBody,
    #[error("a body without Content-Type")]
    MissingContentType,
    /// Nothing to remove: `Expires: 0` needs SIP-If-Match.
    #[error("Expires: 0 without SIP-If-Match")]
    RemovalWithoutEtag,
}

impl PublicationError {
    /// The status code of the response that reports this error.
    pub fn status(&self) -> u16 {
        match self {
            PublicationError::NotPublish => 405,
            PublicationError::MissingEvent | PublicationError::BadEvent(_) => 489,
            PublicationError::UnknownEtag(_) => 412,
            PublicationError::IntervalTooBrief { .. } => 423,
            PublicationError::MissingBody
            | PublicationError::MissingContentType
            | PublicationError::RemovalWithoutEtag => 400,
        }
    }
}

/// One endpoint's published state of one resource and package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    pub etag: String,
    pub content_type: String,
    pub body: Vec<u8>,
    pub expires_at: Time,
    /// When this body was published (initially or by a modification; a
    /// refresh leaves it).
    pub published_at: Time,
}

/// What a PUBLISH did, and the facts of the response to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishOutcome {
    pub status: u16,
    /// The package of the request, once known.
    pub package: Option<String>,
    /// SIP-ETag of a 2xx (none after a removal).
    pub etag: Option<String>,
    /// Expires of a 2xx: the seconds granted, 0 after a removal.
    pub expires: Option<u32>,
    /// Min-Expires of a 423.
    pub min_expires: Option<u32>,
    /// Allow-Events of a 489.
    pub allow_events: Option<String>,
    /// The resource's state of this package changed: compose it again and
    /// notify its watchers.
    pub changed: bool,
    pub error: Option<PublicationError>,
}

impl PublishOutcome {
    fn refused(error: PublicationError, package: Option<String>) -> Self {
        PublishOutcome {
            status: error.status(),
            package,
            etag: None,
            expires: None,
            min_expires: match error {
                PublicationError::IntervalTooBrief { min_expires, .. } => Some(min_expires),
                _ => None,
            },
            allow_events: None,
            changed: false,
            error: Some(error),
        }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The status line; `412 Conditional Request Failed` and the like.
    pub fn status_code(&self) -> rsip::StatusCode {
        match &self.error {
            Some(PublicationError::MissingBody)
            | Some(PublicationError::MissingContentType)
            | Some(PublicationError::RemovalWithoutEtag) => {
                status_with_reason(400, &format!("Bad Request ({})", self.error_text()))
            }
            _ => build::status(self.status),
        }
    }

    fn error_text(&self) -> String {
        self.error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The header fields this outcome adds to the response.
    pub fn response_headers(&self) -> Vec<Header> {
        let mut headers = Vec::new();
        if let Some(etag) = &self.etag {
            headers.push(Header::Other("SIP-ETag".into(), etag.clone()));
        }
        if let Some(expires) = self.expires {
            headers.push(Header::Expires(expires.into()));
        }
        if let Some(min_expires) = self.min_expires {
            headers.push(Header::MinExpires(min_expires.into()));
        }
        if let Some(allow_events) = &self.allow_events {
            headers.push(Header::Other("Allow-Events".into(), allow_events.clone()));
        }
        if self.status == 405 {
            headers.push(Header::Allow(rsip::headers::Allow::new("PUBLISH")));
        }
        headers
    }

    /// The whole response to `request`, with `to_tag` (RFC 3261 §8.2.6.2).
    pub fn response(&self, request: &Request, to_tag: &str) -> Response {
        let mut response = build::response_to(request, self.status_code(), Some(to_tag));
        for header in self.response_headers() {
            response.headers.push(header);
        }
        response
    }
}

/// The published state of every resource. See the module documentation.
#[derive(Debug)]
pub struct Publications {
    config: PublicationConfig,
    ids: Identifiers,
    next_serial: u64,
    /// (resource, package) to its publications, in publication order.
    states: HashMap<(String, String), Vec<Published>>,
    etags: HashMap<String, (String, String)>,
    /// (expires_at, entity-tag) of every stored publication.
    expiries: BTreeSet<(Time, String)>,
    changed: VecDeque<(String, String)>,
}

impl Publications {
    pub fn new(config: PublicationConfig) -> Self {
        Publications {
            ids: Identifiers::from_seed(config.seed),
            config,
            next_serial: 0,
            states: HashMap::new(),
            etags: HashMap::new(),
            expiries: BTreeSet::new(),
            changed: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &PublicationConfig {
        &self.config
    }

    /// Processes an authorized PUBLISH for `resource` (RFC 3903 §6).
    pub fn handle_publish(
        &mut self,
        now: Time,
        request: &Request,
        resource: &str,
    ) -> PublishOutcome {
        // State already due must neither be refreshed nor listed.
        self.handle_timeout(now);
        if request.method != Method::Publish {
            return PublishOutcome::refused(PublicationError::NotPublish, None);
        }
        let package = match self.package_of(request) {
            Ok(package) => package,
            Err(error) => {
                let mut outcome = PublishOutcome::refused(error, None);
                outcome.allow_events = Some(self.config.packages.join(", "));
                return outcome;
            }
        };
        match self.publish(now, request, resource, &package) {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::debug!(%resource, %error, "PUBLISH refused");
                PublishOutcome::refused(error, Some(package))
            }
        }
    }

    /// Every live publication of `resource` in `package`, the most recently
    /// published first. Call [`Self::handle_timeout`] first for an exact
    /// answer: this does not look at the time.
    pub fn current(&self, resource: &str, package: &str) -> Vec<&Published> {
        let Some(list) = self.states.get(&(resource.to_owned(), package.to_owned())) else {
            return Vec::new();
        };
        let mut list: Vec<&Published> = list.iter().collect();
        list.sort_by_key(|published| std::cmp::Reverse(published.published_at));
        list
    }

    /// Drops every publication of `resource`, in every package (its user
    /// went offline); each package that held state comes out of
    /// [`Self::poll_changed`]. True if anything was dropped.
    pub fn remove_resource(&mut self, resource: &str) -> bool {
        let keys: Vec<(String, String)> = self
            .states
            .keys()
            .filter(|(r, _)| r == resource)
            .cloned()
            .collect();
        for key in &keys {
            for published in self.states.remove(key).unwrap_or_default() {
                self.etags.remove(&published.etag);
                self.expiries
                    .remove(&(published.expires_at, published.etag));
            }
            self.push_changed(key.clone());
        }
        !keys.is_empty()
    }

    /// How many publications are stored, over every resource.
    pub fn len(&self) -> usize {
        self.etags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.etags.is_empty()
    }

    /// Drops every publication whose expiry is at or before `now` (§6: it
    /// lives while `now < expires_at`).
    pub fn handle_timeout(&mut self, now: Time) {
        while let Some((at, etag)) = self.expiries.first().cloned() {
            if at > now {
                break;
            }
            self.expiries.remove(&(at, etag.clone()));
            if let Some(key) = self.etags.remove(&etag) {
                self.drop_from_state(&key, &etag);
                self.push_changed(key);
            }
        }
    }

    /// When the earliest publication expires; cheap.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.expiries.first().map(|(at, _)| *at)
    }

    /// A (resource, package) whose state changed by expiry or removal.
    pub fn poll_changed(&mut self) -> Option<(String, String)> {
        self.changed.pop_front()
    }

    fn package_of(&self, request: &Request) -> Result<String, PublicationError> {
        let value = request
            .headers
            .iter()
            .find_map(|header| match header {
                Header::Event(event) => Some(event.value()),
                _ => None,
            })
            .ok_or(PublicationError::MissingEvent)?;
        let package = value.split(';').next().unwrap_or_default().trim();
        if package.is_empty() {
            return Err(PublicationError::MissingEvent);
        }
        // RFC 6665 §8.2.1: event-types compare byte by byte.
        if !self.config.packages.iter().any(|p| p == package) {
            return Err(PublicationError::BadEvent(package.to_owned()));
        }
        Ok(package.to_owned())
    }

    fn publish(
        &mut self,
        now: Time,
        request: &Request,
        resource: &str,
        package: &str,
    ) -> Result<PublishOutcome, PublicationError> {
        let key = (resource.to_owned(), package.to_owned());
        // §6 step 3: the entity-tag must name state of this very resource
        // and package.
        let if_match = message::header_value(&request.headers, "SIP-If-Match")
            .map(|etag| etag.trim().to_owned());
        if let Some(etag) = &if_match {
            if self.etags.get(etag) != Some(&key) {
                return Err(PublicationError::UnknownEtag(etag.clone()));
            }
        }
        let seconds = self.granted_expiry(request)?;
        let body = if request.body.is_empty() {
            None
        } else {
            let content_type = request
                .headers
                .iter()
                .find_map(|header| match header {
                    Header::ContentType(content_type) => {
                        Some(content_type.value().trim().to_owned())
                    }
                    _ => None,
                })
                .ok_or(PublicationError::MissingContentType)?;
            Some((content_type, request.body.clone()))
        };
        let mut outcome = PublishOutcome {
            status: 200,
            package: Some(package.to_owned()),
            etag: None,
            expires: Some(seconds),
            min_expires: None,
            allow_events: None,
            changed: false,
            error: None,
        };

        let Some(old_etag) = if_match else {
            // Initial publication (§6 step 5).
            if seconds == 0 {
                return Err(PublicationError::RemovalWithoutEtag);
            }
            let (content_type, body) = body.ok_or(PublicationError::MissingBody)?;
            let etag = self.fresh_etag();
            let expires_at = now + Duration::from_secs(seconds.into());
            self.insert(
                key,
                Published {
                    etag: etag.clone(),
                    content_type,
                    body,
                    expires_at,
                    published_at: now,
                },
            );
            outcome.etag = Some(etag);
            outcome.changed = true;
            return Ok(outcome);
        };

        let mut old = self
            .take(&key, &old_etag)
            .ok_or(PublicationError::UnknownEtag(old_etag))?;
        if seconds == 0 {
            // Removal (§6 step 6).
            outcome.changed = true;
            return Ok(outcome);
        }
        // Refresh, or modification when there is a body (§6 steps 6-7);
        // either way a new entity-tag.
        if let Some((content_type, body)) = body {
            outcome.changed = content_type != old.content_type || body != old.body;
            old.content_type = content_type;
            old.body = body;
            old.published_at = now;
        }
        old.etag = self.fresh_etag();
        old.expires_at = now + Duration::from_secs(seconds.into());
        outcome.etag = Some(old.etag.clone());
        self.insert(key, old);
        Ok(outcome)
    }

    /// RFC 3903 §6 step 4. A malformed Expires counts as none.
    fn granted_expiry(&self, request: &Request) -> Result<u32, PublicationError> {
        let requested = request
            .headers
            .iter()
            .find_map(|header| match header {
                Header::Expires(expires) => expires.value().trim().parse::<u64>().ok(),
                _ => None,
            })
            .map_or(self.config.default_expires, |seconds| {
                u32::try_from(seconds).unwrap_or(u32::MAX)
            });
        if requested == 0 {
            return Ok(0);
        }
        if requested < self.config.min_expires {
            return Err(PublicationError::IntervalTooBrief {
                requested,
                min_expires: self.config.min_expires,
            });
        }
        Ok(requested.min(self.config.max_expires))
    }

    /// An entity-tag never handed out before: random, then a serial number
    /// after the fixed-length random part.
    fn fresh_etag(&mut self) -> String {
        let serial = self.next_serial;
        self.next_serial += 1;
        format!("{}{serial:x}", self.ids.tag())
    }

    fn insert(&mut self, key: (String, String), published: Published) {
        self.etags.insert(published.etag.clone(), key.clone());
        self.expiries
            .insert((published.expires_at, published.etag.clone()));
        self.states.entry(key).or_default().push(published);
    }

    /// Removes one publication from every index and returns it.
    fn take(&mut self, key: &(String, String), etag: &str) -> Option<Published> {
        self.etags.remove(etag);
        let published = self.drop_from_state(key, etag)?;
        self.expiries
            .remove(&(published.expires_at, published.etag.clone()));
        Some(published)
    }

    fn drop_from_state(&mut self, key: &(String, String), etag: &str) -> Option<Published> {
        let list = self.states.get_mut(key)?;
        let position = list.iter().position(|p| p.etag == etag)?;
        let published = list.remove(position);
        if list.is_empty() {
            self.states.remove(key);
        }
        Some(published)
    }

    fn push_changed(&mut self, key: (String, String)) {
        if !self.changed.contains(&key) {
            self.changed.push_back(key);
        }
    }
}
