//! Contact lists (buddy lists): per owner, ordered groups and the contacts
//! in them, with a version number that rises on every change, which the
//! server sends in the NOTIFYs of the owner's contact-list subscription.
//!
//! The server keeps these in its database, next to the
//! [`super::Directory`]; a client whose server is not confab keeps its own
//! list in a separate file with the same schema. So nothing here assumes
//! the owner is a user of a local domain: an owner and a contact are any
//! URIs (RFC 3986 §3.1: a scheme, then `:`), compared as exact strings, so
//! callers pass AORs in one canonical form.
//!
//! Schema versions: a file may hold several stores, and `PRAGMA
//! user_version` belongs to the store that owns the file (the directory on
//! the server), so this store records its own migration count in a shared
//! `schema_versions (store, version)` table, under the key `contacts`.
//! Like the other stores it opens any older file of its own and refuses a
//! newer one.
//!
//! Invariants: every contact is in a group of its owner's list; an owner
//! has at most [`MAX_CONTACTS`] contacts and [`MAX_GROUPS`] groups; URIs and
//! names are at most [`MAX_NAME_CHARS`] characters with no control
//! characters; a call that changes nothing leaves the version as it was.
//! Deleting a group moves its contacts to [`DEFAULT_GROUP`].

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::StoreError;

/// Where a contact goes when no group is named, and where the contacts of
/// a deleted group go.
pub const DEFAULT_GROUP: &str = "Contacts";
pub const MAX_CONTACTS: usize = 2_000;
pub const MAX_GROUPS: usize = 200;
/// The longest URI, display name or group name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// This store's key in `schema_versions`.
const STORE: &str = "contacts";

/// The contact lists' schema, one migration per entry. The table names
/// avoid plain "contacts", which in a SIP server's database would suggest
/// the registrar's Contact bindings.
const MIGRATIONS: &[&str] = &["CREATE TABLE contact_lists (
        owner   TEXT NOT NULL PRIMARY KEY,
        version INTEGER NOT NULL CHECK (version >= 0)
    ) STRICT;
    CREATE TABLE contact_list_groups (
        owner    TEXT NOT NULL,
        name     TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (owner, name)
    ) STRICT;
    CREATE TABLE contact_list_entries (
        owner      TEXT NOT NULL,
        uri        TEXT NOT NULL,
        display    TEXT NOT NULL,
        group_name TEXT NOT NULL,
        PRIMARY KEY (owner, uri),
        FOREIGN KEY (owner, group_name) REFERENCES contact_list_groups (owner, name)
    ) STRICT;
    CREATE INDEX contact_list_entries_by_group ON contact_list_entries (owner, group_name);"];

const CREATE_SCHEMA_VERSIONS: &str = "CREATE TABLE IF NOT EXISTS schema_versions (
        store   TEXT NOT NULL PRIMARY KEY,
        version INTEGER NOT NULL
    ) STRICT";
const SELECT_SCHEMA_VERSION: &str = "SELECT version FROM schema_versions WHERE store = ?1";
const UPSERT_SCHEMA_VERSION: &str = "INSERT INTO schema_versions (store, version) VALUES (?1, ?2)
     ON CONFLICT (store) DO UPDATE SET version = excluded.version";

const SELECT_VERSION: &str = "SELECT version FROM contact_lists WHERE owner = ?1";
const BUMP_VERSION: &str = "INSERT INTO contact_lists (owner, version) VALUES (?1, 1)
     ON CONFLICT (owner) DO UPDATE SET version = version + 1
     RETURNING version";
const SELECT_GROUPS: &str =
    "SELECT name FROM contact_list_groups WHERE owner = ?1 ORDER BY position, name";
const SELECT_CONTACTS: &str = "SELECT c.uri, c.display, c.group_name
     FROM contact_list_entries AS c
     JOIN contact_list_groups AS g ON g.owner = c.owner AND g.name = c.group_name
     WHERE c.owner = ?1
     ORDER BY g.position, c.display COLLATE NOCASE, c.uri";
const SELECT_CONTACT: &str =
    "SELECT display, group_name FROM contact_list_entries WHERE owner = ?1 AND uri = ?2";
const COUNT_CONTACTS: &str = "SELECT count(*) FROM contact_list_entries WHERE owner = ?1";
const COUNT_GROUP_CONTACTS: &str =
    "SELECT count(*) FROM contact_list_entries WHERE owner = ?1 AND group_name = ?2";
const GROUP_EXISTS: &str =
    "SELECT count(*) FROM contact_list_groups WHERE owner = ?1 AND name = ?2";
const COUNT_GROUPS: &str = "SELECT count(*) FROM contact_list_groups WHERE owner = ?1";
const INSERT_GROUP: &str = "INSERT INTO contact_list_groups (owner, name, position)
     SELECT ?1, ?2, coalesce(max(position) + 1, 0) FROM contact_list_groups WHERE owner = ?1";
const DELETE_GROUP: &str = "DELETE FROM contact_list_groups WHERE owner = ?1 AND name = ?2";
const UPSERT_CONTACT: &str = "INSERT INTO contact_list_entries (owner, uri, display, group_name)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (owner, uri) DO UPDATE SET display = excluded.display, group_name = excluded.group_name";
const DELETE_CONTACT: &str = "DELETE FROM contact_list_entries WHERE owner = ?1 AND uri = ?2";
const MOVE_CONTACTS: &str = "UPDATE contact_list_entries SET group_name = ?3
     WHERE owner = ?1 AND group_name = ?2";

#[derive(Debug, thiserror::Error)]
pub enum ContactsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{owner} already has {MAX_CONTACTS} contacts, the most a list may hold")]
    TooManyContacts { owner: String },
    #[error("{owner} already has {MAX_GROUPS} groups, the most a list may hold")]
    TooManyGroups { owner: String },
    #[error("{what} is longer than {MAX_NAME_CHARS} characters")]
    TooLong { what: &'static str },
    #[error("invalid {what}: {reason}")]
    Invalid {
        what: &'static str,
        reason: &'static str,
    },
    #[error("{owner} has no contact {uri}")]
    NoSuchContact { owner: String, uri: String },
    #[error("{owner} has no group {name:?}")]
    NoSuchGroup { owner: String, name: String },
    #[error("the group {DEFAULT_GROUP:?} still holds contacts; move or delete them first")]
    DefaultGroupNotEmpty,
}

/// One owner's list as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContactListRecord {
    /// 0 for an owner who never had a list; then one more per change.
    pub version: u64,
    /// In the owner's order (creation order).
    pub groups: Vec<String>,
    /// By group, in the order of `groups`, then by display name.
    pub contacts: Vec<ContactRecord>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    pub uri: String,
    /// May be empty when the name is unknown.
    pub display: String,
    pub group: String,
}

/// Contact lists in one SQLite file (possibly shared with the directory),
/// or in memory.
pub struct Contacts {
    connection: Connection,
}

impl Contacts {
    /// Opens (creating if needed) the file and its directory, WAL mode,
    /// migrated. The file may be the directory's.
    pub fn open(path: &Path) -> Result<Contacts, ContactsError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(StoreError::from)?;
        }
        // Not `super::open_file`: that migrates by `user_version`, which
        // belongs to the file's owning store.
        let mut connection = Connection::open(path)?;
        connection.busy_timeout(super::BUSY_TIMEOUT)?;
        let mode: String =
            connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), %mode, "SQLite refused WAL mode");
        }
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut connection)?;
        Ok(Contacts { connection })
    }

    pub fn open_in_memory() -> Result<Contacts, ContactsError> {
        let mut connection = Connection::open_in_memory()?;
        migrate(&mut connection)?;
        Ok(Contacts { connection })
    }

    /// The owner's list; an empty one at version 0 if it never existed.
    pub fn list(&self, owner: &str) -> Result<ContactListRecord, ContactsError> {
        // One read transaction, so the version matches the contents.
        let transaction = self.connection.unchecked_transaction()?;
        let version = version(&transaction, owner)?;
        let groups = transaction
            .prepare_cached(SELECT_GROUPS)?
            .query_map([owner], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        let contacts = transaction
            .prepare_cached(SELECT_CONTACTS)?
            .query_map([owner], |row| {
                Ok(ContactRecord {
                    uri: row.get(0)?,
                    display: row.get(1)?,
                    group: row.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        transaction.commit()?;
        Ok(ContactListRecord {
            version,
            groups,
            contacts,
        })
    }

    /// The owner's list version alone (0 if it never existed).
    pub fn version(&self, owner: &str) -> Result<u64, ContactsError> {
        version(&self.connection, owner)
    }

    /// Adds a contact or updates its display name and group. With no group
    /// named, a new contact goes to [`DEFAULT_GROUP`] and an existing one
    /// stays where it is. A missing group is created at the end. Returns
    /// the list's version after the call.
    pub fn set_contact(
        &self,
        owner: &str,
        uri: &str,
        display: &str,
        group: Option<&str>,
    ) -> Result<u64, ContactsError> {
        validate_uri("owner", owner)?;
        validate_uri("contact URI", uri)?;
        validate_text("display name", display)?;
        if let Some(group) = group {
            validate_group(group)?;
        }
        self.write(owner, |connection| {
            set_contact(connection, owner, uri, display, group)
        })
    }

    /// Removes a contact; its group stays, even if now empty.
    pub fn delete_contact(&self, owner: &str, uri: &str) -> Result<u64, ContactsError> {
        self.write(owner, |connection| {
            let deleted = connection
                .prepare_cached(DELETE_CONTACT)?
                .execute([owner, uri])?;
            if deleted == 0 {
                return Err(ContactsError::NoSuchContact {
                    owner: owner.to_owned(),
                    uri: uri.to_owned(),
                });
            }
            Ok(true)
        })
    }

    /// Creates an empty group at the end of the list, unless it exists.
    pub fn set_group(&self, owner: &str, name: &str) -> Result<u64, ContactsError> {
        validate_uri("owner", owner)?;
        validate_group(name)?;
        self.write(owner, |connection| ensure_group(connection, owner, name))
    }

    /// Deletes a group; its contacts move to [`DEFAULT_GROUP`] (created if
    /// missing). The default group itself can be deleted only when empty.
    pub fn delete_group(&self, owner: &str, name: &str) -> Result<u64, ContactsError> {
        self.write(owner, |connection| {
            if !group_exists(connection, owner, name)? {
                return Err(ContactsError::NoSuchGroup {
                    owner: owner.to_owned(),
                    name: name.to_owned(),
                });
            }
            let members = count(connection, COUNT_GROUP_CONTACTS, [owner, name])?;
            if members > 0 {
                if name == DEFAULT_GROUP {
                    return Err(ContactsError::DefaultGroupNotEmpty);
                }
                ensure_group(connection, owner, DEFAULT_GROUP)?;
                connection
                    .prepare_cached(MOVE_CONTACTS)?
                    .execute([owner, name, DEFAULT_GROUP])?;
            }
            connection
                .prepare_cached(DELETE_GROUP)?
                .execute([owner, name])?;
            Ok(true)
        })
    }

    /// The demo lists of DESIGN.md section 6: vivian, amy and hao of
    /// `domain` each have the other two in a group "Team". An owner who
    /// already has a list (even an emptied one) is left alone, so seeding
    /// twice, or after the user edited the list, changes nothing.
    pub fn seed_demo(&self, domain: &str) -> Result<(), ContactsError> {
        let domain = domain.to_ascii_lowercase();
        let demo = [
            ("vivian", "Vivian Chen"),
            ("amy", "Amy Rivera"),
            ("hao", "Hao Nguyen"),
        ];
        let transaction =
            Transaction::new_unchecked(&self.connection, TransactionBehavior::Immediate)?;
        for (user, _) in demo {
            let owner = format!("sip:{user}@{domain}");
            validate_uri("owner", &owner)?;
            if version(&transaction, &owner)? != 0 {
                continue;
            }
            for (buddy, display) in demo.iter().filter(|(name, _)| *name != user) {
                let uri = format!("sip:{buddy}@{domain}");
                set_contact(&transaction, &owner, &uri, display, Some("Team"))?;
            }
            bump(&transaction, &owner)?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Runs one change in a write transaction; the version rises if it
    /// changed anything.
    fn write(
        &self,
        owner: &str,
        change: impl FnOnce(&Connection) -> Result<bool, ContactsError>,
    ) -> Result<u64, ContactsError> {
        // IMMEDIATE: take the write lock before reading, so two
        // connections changing one list cannot both read version n.
        let transaction =
            Transaction::new_unchecked(&self.connection, TransactionBehavior::Immediate)?;
        let version = if change(&transaction)? {
            bump(&transaction, owner)?
        } else {
            version(&transaction, owner)?
        };
        transaction.commit()?;
        Ok(version)
    }
}

/// Runs this store's migrations not yet recorded in `schema_versions`, in
/// one transaction.
fn migrate(connection: &mut Connection) -> Result<(), ContactsError> {
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    connection.pragma_update(None, "foreign_keys", true)?;
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(CREATE_SCHEMA_VERSIONS)?;
    let found: i64 = transaction
        .query_row(SELECT_SCHEMA_VERSION, [STORE], |row| row.get(0))
        .optional()?
        .unwrap_or(0);
    if found > supported {
        return Err(StoreError::NewerSchema { found, supported }.into());
    }
    for migration in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        transaction.execute_batch(migration)?;
    }
    if found < supported {
        transaction.execute(UPSERT_SCHEMA_VERSION, params![STORE, supported])?;
    }
    transaction.commit()?;
    Ok(())
}

/// Adds or updates a contact (arguments validated); whether anything
/// changed.
fn set_contact(
    connection: &Connection,
    owner: &str,
    uri: &str,
    display: &str,
    group: Option<&str>,
) -> Result<bool, ContactsError> {
    let existing: Option<(String, String)> = connection
        .prepare_cached(SELECT_CONTACT)?
        .query_row([owner, uri], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let group = match (group, &existing) {
        (Some(group), _) => group,
        (None, Some((_, current))) => current.as_str(),
        (None, None) => DEFAULT_GROUP,
    };
    if let Some((current_display, current_group)) = &existing {
        if current_display == display && current_group == group {
            return Ok(false);
        }
    } else if count(connection, COUNT_CONTACTS, [owner])? >= MAX_CONTACTS {
        return Err(ContactsError::TooManyContacts {
            owner: owner.to_owned(),
        });
    }
    ensure_group(connection, owner, group)?;
    connection
        .prepare_cached(UPSERT_CONTACT)?
        .execute([owner, uri, display, group])?;
    Ok(true)
}

/// Creates the group at the end unless it exists; whether it created it.
fn ensure_group(connection: &Connection, owner: &str, name: &str) -> Result<bool, ContactsError> {
    if group_exists(connection, owner, name)? {
        return Ok(false);
    }
    if count(connection, COUNT_GROUPS, [owner])? >= MAX_GROUPS {
        return Err(ContactsError::TooManyGroups {
            owner: owner.to_owned(),
        });
    }
    connection
        .prepare_cached(INSERT_GROUP)?
        .execute([owner, name])?;
    Ok(true)
}

fn group_exists(connection: &Connection, owner: &str, name: &str) -> Result<bool, ContactsError> {
    Ok(count(connection, GROUP_EXISTS, [owner, name])? > 0)
}

fn count<P: rusqlite::Params>(
    connection: &Connection,
    sql: &str,
    params: P,
) -> Result<usize, ContactsError> {
    let n: i64 = connection
        .prepare_cached(sql)?
        .query_row(params, |row| row.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

fn version(connection: &Connection, owner: &str) -> Result<u64, ContactsError> {
    let version: Option<i64> = connection
        .prepare_cached(SELECT_VERSION)?
        .query_row([owner], |row| row.get(0))
        .optional()?;
    // Never negative: the schema checks it.
    Ok(version.map_or(0, |v| u64::try_from(v).unwrap_or(0)))
}

fn bump(connection: &Connection, owner: &str) -> Result<u64, ContactsError> {
    let version: i64 = connection
        .prepare_cached(BUMP_VERSION)?
        .query_row([owner], |row| row.get(0))?;
    Ok(u64::try_from(version).unwrap_or(0))
}

/// A URI by RFC 3986 §3.1's scheme rule (`ALPHA *( ALPHA / DIGIT / "+" /
/// "-" / "." ) ":"`) with something after the colon, no whitespace or
/// control characters, and at most [`MAX_NAME_CHARS`].
fn validate_uri(what: &'static str, uri: &str) -> Result<(), ContactsError> {
    let invalid = |reason| Err(ContactsError::Invalid { what, reason });
    if uri.chars().count() > MAX_NAME_CHARS {
        return Err(ContactsError::TooLong { what });
    }
    if uri.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return invalid("contains whitespace or control characters");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return invalid("not a URI (no scheme, e.g. sip:)");
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.is_empty() {
        return invalid("not a URI (no scheme, e.g. sip:)");
    }
    Ok(())
}

fn validate_text(what: &'static str, text: &str) -> Result<(), ContactsError> {
    if text.chars().count() > MAX_NAME_CHARS {
        return Err(ContactsError::TooLong { what });
    }
    if text.contains(char::is_control) {
        return Err(ContactsError::Invalid {
            what,
            reason: "contains control characters",
        });
    }
    Ok(())
}

fn validate_group(name: &str) -> Result<(), ContactsError> {
    if name.trim().is_empty() {
        return Err(ContactsError::Invalid {
            what: "group name",
            reason: "empty",
        });
    }
    validate_text("group name", name)
}

#[cfg(test)]
mod tests;

/// The server core reads and changes buddy lists through this.
impl crate::server::ContactStore for Contacts {
    fn list(&self, owner: &str) -> Result<crate::proto::contacts::ContactList, String> {
        let record = Contacts::list(self, owner).map_err(|error| error.to_string())?;
        Ok(crate::proto::contacts::ContactList {
            version: record.version,
            groups: record.groups,
            contacts: record
                .contacts
                .into_iter()
                .map(|contact| crate::proto::contacts::ContactEntry {
                    uri: contact.uri,
                    display: contact.display,
                    group: contact.group,
                })
                .collect(),
        })
    }

    fn apply(
        &self,
        owner: &str,
        change: &crate::proto::contacts::ContactChange,
    ) -> Result<(), String> {
        use crate::proto::contacts::ContactChange;
        let result = match change {
            ContactChange::Set(entry) => {
                let group = (!entry.group.is_empty()).then_some(entry.group.as_str());
                self.set_contact(owner, &entry.uri, &entry.display, group)
            }
            ContactChange::Delete { uri } => self.delete_contact(owner, uri),
            ContactChange::SetGroup { name } => self.set_group(owner, name),
            ContactChange::DeleteGroup { name } => self.delete_group(owner, name),
        };
        result.map(|_version| ()).map_err(|error| error.to_string())
    }
}
