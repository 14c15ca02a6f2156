//! The server's users: who may register in which domain, their names,
//! work numbers and location profiles (PROTOCOLS.md section 6), and their
//! digest credentials as HA1s (RFC 7616 §3.4.2), never the password.
//!
//! The digest realm is the domain, lowercased: domains compare
//! case-insensitively (RFC 3261 §19.1.4), so they are stored and looked up
//! in lowercase, and the server's realm must be that same lowercase domain
//! for the stored HA1s to verify. User names compare case-sensitively, as
//! the user part of a SIP URI does.

mod cache;

use std::path::Path;
use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::proto::digest::Credentials;

/// The directory's schema, one migration per entry (see the module docs of
/// [`crate::store`]).
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE users (
        username     TEXT NOT NULL,
        domain       TEXT NOT NULL,
        display_name TEXT NOT NULL,
        work_number  TEXT,
        ha1_md5      TEXT NOT NULL,
        ha1_sha256   TEXT NOT NULL,
        PRIMARY KEY (username, domain)
    ) STRICT;",
    // The name of the user's location profile; 'US' is
    // crate::proto::location_profile::DEFAULT_PROFILE, the shipped one.
    "ALTER TABLE users ADD COLUMN location_profile TEXT NOT NULL DEFAULT 'US';",
];

/// The directory's schema version: how many migrations a file of this
/// build has run (its `PRAGMA user_version`).
#[cfg(test)]
pub(crate) const SCHEMA_VERSION: usize = MIGRATIONS.len();

const SELECT_USER: &str = "SELECT username, domain, display_name, work_number, ha1_md5, ha1_sha256
     FROM users WHERE username = ?1 AND domain = ?2";
const SELECT_USERS: &str = "SELECT username, domain, display_name, work_number, ha1_md5, ha1_sha256
     FROM users WHERE domain = ?1 ORDER BY username";
const SELECT_CREDENTIALS: &str =
    "SELECT ha1_md5, ha1_sha256 FROM users WHERE username = ?1 AND domain = ?2";
const SELECT_LOCATION_PROFILE: &str =
    "SELECT location_profile FROM users WHERE username = ?1 AND domain = ?2";
const UPDATE_LOCATION_PROFILE: &str =
    "UPDATE users SET location_profile = ?3 WHERE username = ?1 AND domain = ?2";
const INSERT_USER: &str = "INSERT INTO users
     (username, domain, display_name, work_number, ha1_md5, ha1_sha256)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (username, domain) DO NOTHING";

/// A user to add. The password is hashed into HA1s on the way in.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub domain: String,
    pub password: String,
    pub display_name: String,
    /// E.164, e.g. `+14255032002`.
    pub work_number: Option<String>,
}

// The password stays out of logs.
impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("domain", &self.domain)
            .field("display_name", &self.display_name)
            .field("work_number", &self.work_number)
            .finish_non_exhaustive()
    }
}

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub username: String,
    pub domain: String,
    pub display_name: String,
    pub work_number: Option<String>,
    pub credentials: Credentials,
}

/// The users of the server's domains, in one SQLite file (or in memory).
pub struct Directory {
    connection: Connection,
    /// HA1s read lately (see `cache`): the registrar's hot path.
    credentials_cache: cache::CredentialsCache,
}

impl Directory {
    pub fn open(path: &Path) -> Result<Directory, StoreError> {
        Ok(Directory {
            connection: super::open_file(path, MIGRATIONS)?,
            credentials_cache: cache::CredentialsCache::default(),
        })
    }

    /// An empty directory that lives as long as the value (tests, local
    /// mode without `--data`).
    pub fn open_in_memory() -> Result<Directory, StoreError> {
        Ok(Directory {
            connection: super::open_memory(MIGRATIONS)?,
            credentials_cache: cache::CredentialsCache::default(),
        })
    }

    /// Adds a user; fails with [`StoreError::UserExists`] if the name is
    /// taken in that domain.
    pub fn add_user(&self, user: &NewUser) -> Result<(), StoreError> {
        if self.insert(user)? {
            Ok(())
        } else {
            Err(StoreError::UserExists {
                username: user.username.clone(),
                domain: user.domain.to_ascii_lowercase(),
            })
        }
    }

    pub fn user(&self, username: &str, domain: &str) -> Result<Option<UserRecord>, StoreError> {
        let mut statement = self.connection.prepare_cached(SELECT_USER)?;
        let user = statement
            .query_row(params![username, domain.to_ascii_lowercase()], user_record)
            .optional()?;
        Ok(user)
    }

    /// The user whose work number is `e164` in `domain`.
    pub fn owner_of_number(&self, e164: &str, domain: &str) -> Result<Option<String>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT username FROM users WHERE work_number = ?1 AND domain = ?2 LIMIT 1",
        )?;
        let owner = statement
            .query_row(params![e164, domain.to_ascii_lowercase()], |row| row.get(0))
            .optional()?;
        Ok(owner)
    }

    /// The users of a domain, by user name.
    pub fn users(&self, domain: &str) -> Result<Vec<UserRecord>, StoreError> {
        let mut statement = self.connection.prepare_cached(SELECT_USERS)?;
        let users = statement
            .query_map(params![domain.to_ascii_lowercase()], user_record)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(users)
    }

    /// The HA1s of a user, for [`crate::proto::digest::Challenger::verify`];
    /// from the cache when read less than a minute ago, else one cached
    /// statement, no other columns read.
    pub fn credentials(
        &self,
        username: &str,
        domain: &str,
    ) -> Result<Option<Credentials>, StoreError> {
        let now = Instant::now();
        if let Some(credentials) = self.credentials_cache.get(now, username, domain) {
            return Ok(Some(credentials));
        }
        let mut statement = self.connection.prepare_cached(SELECT_CREDENTIALS)?;
        let credentials = statement
            .query_row(params![username, domain.to_ascii_lowercase()], |row| {
                Ok(Credentials {
                    ha1_md5: row.get::<_, String>(0)?.into(),
                    ha1_sha256: row.get::<_, String>(1)?.into(),
                })
            })
            .optional()?;
        if let Some(credentials) = &credentials {
            self.credentials_cache
                .put(now, username, domain, credentials);
        }
        Ok(credentials)
    }

    /// The name of the user's location profile (`US` unless set); `None`
    /// for no such user.
    pub fn location_profile(
        &self,
        username: &str,
        domain: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut statement = self.connection.prepare_cached(SELECT_LOCATION_PROFILE)?;
        let profile = statement
            .query_row(params![username, domain.to_ascii_lowercase()], |row| {
                row.get(0)
            })
            .optional()?;
        Ok(profile)
    }

    /// Gives the user the location profile named `profile`; false if there
    /// is no such user. The name is not checked against the server's
    /// profiles, which may be loaded later from another file.
    pub fn set_location_profile(
        &self,
        username: &str,
        domain: &str,
        profile: &str,
    ) -> Result<bool, StoreError> {
        let mut statement = self.connection.prepare_cached(UPDATE_LOCATION_PROFILE)?;
        let changed = statement.execute(params![username, domain.to_ascii_lowercase(), profile])?;
        Ok(changed == 1)
    }

    /// The demo directory of DESIGN.md section 6: vivian, amy and hao,
    /// and the simulated phone line, each one's password their user name. Users already present are left
    /// as they are, so seeding twice changes nothing.
    pub fn seed_demo(&self, domain: &str) -> Result<(), StoreError> {
        let demo = [
            ("vivian", "Vivian Chen", Some("+14255032002")),
            ("amy", "Amy Rivera", Some("+14255550143")),
            ("hao", "Hao Nguyen", Some("+14255550178")),
            // The simulated phone line of local mode's gateway.
            (
                crate::demo::PHONE_LINE,
                "Phone line simulator",
                None::<&str>,
            ),
        ];
        let transaction = self.connection.unchecked_transaction()?;
        for (username, display_name, work_number) in demo {
            self.insert(&NewUser {
                username: username.to_owned(),
                domain: domain.to_owned(),
                password: username.to_owned(),
                display_name: display_name.to_owned(),
                work_number: work_number.map(str::to_owned),
            })?;
        }
        transaction.commit()?;
        Ok(())
    }

    /// Loads users from a CSV file: a header line, then
    /// `username,password,display_name` (display name optional). Users
    /// already present are left as they are. Returns how many lines were
    /// read; a malformed line fails the load, naming the line.
    pub fn load_csv(&self, path: &Path, domain: &str) -> Result<usize, StoreError> {
        let text = std::fs::read_to_string(path)?;
        let transaction = self.connection.unchecked_transaction()?;
        let mut count = 0;
        for (index, line) in text.lines().enumerate().skip(1) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split(',').map(str::trim);
            let (Some(username), Some(password)) = (fields.next(), fields.next()) else {
                return Err(StoreError::BadFile {
                    line: index + 1,
                    reason: "expected username,password[,display_name]",
                });
            };
            if password.is_empty() {
                return Err(StoreError::BadFile {
                    line: index + 1,
                    reason: "empty password",
                });
            }
            let display_name = fields
                .next()
                .filter(|name| !name.is_empty())
                .unwrap_or(username);
            self.insert(&NewUser {
                username: username.to_owned(),
                domain: domain.to_owned(),
                password: password.to_owned(),
                display_name: display_name.to_owned(),
                work_number: None,
            })?;
            count += 1;
        }
        transaction.commit()?;
        Ok(count)
    }

    /// Inserts unless the user exists; whether it inserted.
    fn insert(&self, user: &NewUser) -> Result<bool, StoreError> {
        validate(user)?;
        self.credentials_cache.clear();
        let domain = user.domain.to_ascii_lowercase();
        let credentials = Credentials::from_password(&user.username, &domain, &user.password);
        let mut statement = self.connection.prepare_cached(INSERT_USER)?;
        let inserted = statement.execute(params![
            user.username,
            domain,
            user.display_name,
            user.work_number,
            &*credentials.ha1_md5,
            &*credentials.ha1_sha256,
        ])?;
        Ok(inserted == 1)
    }
}

/// The server core reads credentials through this; a database error is
/// logged and treated as "no such user", which the core answers with the
/// same challenge as any stranger, so it fails closed.
impl crate::server::UserDirectory for Directory {
    fn credentials(&self, username: &str, domain: &str) -> Option<Credentials> {
        Directory::credentials(self, username, domain)
            .map_err(|error| tracing::error!(%error, "directory lookup failed"))
            .ok()
            .flatten()
    }

    fn owner_of_number(&self, e164: &str, domain: &str) -> Option<String> {
        Directory::owner_of_number(self, e164, domain)
            .map_err(|error| tracing::error!(%error, "directory lookup failed"))
            .ok()
            .flatten()
    }

    fn display_name(&self, username: &str, domain: &str) -> Option<String> {
        self.user(username, domain)
            .map_err(|error| tracing::error!(%error, "directory lookup failed"))
            .ok()
            .flatten()
            .map(|user| user.display_name)
            .filter(|name| !name.is_empty())
    }

    fn work_number(&self, username: &str, domain: &str) -> Option<String> {
        self.user(username, domain)
            .map_err(|error| tracing::error!(%error, "directory lookup failed"))
            .ok()
            .flatten()
            .and_then(|user| user.work_number)
    }

    fn location_profile(&self, username: &str, domain: &str) -> Option<String> {
        Directory::location_profile(self, username, domain)
            .map_err(|error| tracing::error!(%error, "directory lookup failed"))
            .ok()
            .flatten()
    }
}

/// Rejects names that could not be the user part and host of a SIP URI,
/// or that would make `username:realm:password` ambiguous.
fn validate(user: &NewUser) -> Result<(), StoreError> {
    let bad_username = |c: char| c == ':' || c == '@' || c.is_whitespace() || c.is_control();
    if user.username.is_empty() || user.username.contains(bad_username) {
        return Err(StoreError::InvalidUser(
            "user name empty or with ':', '@' or whitespace",
        ));
    }
    let bad_domain = |c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if user.domain.is_empty() || user.domain.contains(bad_domain) {
        return Err(StoreError::InvalidUser("domain empty or not a host name"));
    }
    Ok(())
}

fn user_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        username: row.get(0)?,
        domain: row.get(1)?,
        display_name: row.get(2)?,
        work_number: row.get(3)?,
        credentials: Credentials {
            ha1_md5: row.get::<_, String>(4)?.into(),
            ha1_sha256: row.get::<_, String>(5)?.into(),
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // unwrap is how a test fails
mod tests {
    use super::*;

    fn user(username: &str, domain: &str, password: &str) -> NewUser {
        NewUser {
            username: username.to_owned(),
            domain: domain.to_owned(),
            password: password.to_owned(),
            display_name: format!("{username} of {domain}"),
            work_number: None,
        }
    }

    #[test]
    fn users_are_stored_as_ha1_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("directory.sqlite3");
        let password = "Tr0ub4dor&3";
        {
            let directory = Directory::open(&path).unwrap();
            let mut zoe = user("zoe", "Example.COM", password);
            zoe.work_number = Some("+14255550100".to_owned());
            directory.add_user(&zoe).unwrap();
        }
        let directory = Directory::open(&path).unwrap();
        let expected = Credentials::from_password("zoe", "example.com", password);
        let zoe = directory.user("zoe", "EXAMPLE.com").unwrap().unwrap();
        assert_eq!(zoe.domain, "example.com");
        assert_eq!(zoe.display_name, "zoe of Example.COM");
        assert_eq!(zoe.work_number.as_deref(), Some("+14255550100"));
        assert_eq!(zoe.credentials, expected);
        assert_eq!(
            directory.credentials("zoe", "example.com").unwrap(),
            Some(expected)
        );
        // User names are case-sensitive; unknown users are None, not errors.
        assert_eq!(directory.credentials("Zoe", "example.com").unwrap(), None);
        assert_eq!(directory.user("zoe", "example.org").unwrap(), None);
        drop(directory);

        // The password is nowhere in the files (database and WAL).
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(
                !bytes
                    .windows(password.len())
                    .any(|w| w == password.as_bytes())
            );
        }
    }

    #[test]
    fn a_taken_name_is_refused() {
        let directory = Directory::open_in_memory().unwrap();
        directory
            .add_user(&user("amy", "confab.local", "a"))
            .unwrap();
        match directory.add_user(&user("amy", "CONFAB.local", "b")) {
            Err(StoreError::UserExists { username, domain }) => {
                assert_eq!(
                    (username.as_str(), domain.as_str()),
                    ("amy", "confab.local")
                );
            }
            other => panic!("expected UserExists, got {other:?}"),
        }
        // The same name in another domain is another user.
        directory
            .add_user(&user("amy", "example.com", "c"))
            .unwrap();
        let amy = directory.credentials("amy", "confab.local").unwrap();
        assert_eq!(
            amy,
            Some(Credentials::from_password("amy", "confab.local", "a"))
        );
    }

    #[test]
    fn users_lists_one_domain_by_name() {
        let directory = Directory::open_in_memory().unwrap();
        for (name, domain) in [("zed", "a.test"), ("bob", "a.test"), ("eve", "b.test")] {
            directory.add_user(&user(name, domain, name)).unwrap();
        }
        let names: Vec<_> = directory
            .users("A.test")
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, ["bob", "zed"]);
    }

    #[test]
    fn bad_names_are_refused() {
        let directory = Directory::open_in_memory().unwrap();
        for (name, domain) in [
            ("", "a.test"),
            ("a:b", "a.test"),
            ("a@b", "a.test"),
            ("a b", "a.test"),
            ("amy", ""),
            ("amy", "a test"),
            ("amy", "a:5060"),
        ] {
            assert!(
                matches!(
                    directory.add_user(&user(name, domain, "p")),
                    Err(StoreError::InvalidUser(_))
                ),
                "{name:?} {domain:?}"
            );
        }
    }

    #[test]
    fn the_demo_directory_seeds_once_and_keeps_existing_users() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("directory.sqlite3");
        let directory = Directory::open(&path).unwrap();
        directory
            .add_user(&user("amy", "confab.local", "changed"))
            .unwrap();
        directory.seed_demo("confab.local").unwrap();
        directory.seed_demo("confab.local").unwrap();
        drop(directory);
        let directory = Directory::open(&path).unwrap();
        directory.seed_demo("confab.local").unwrap();

        let users = directory.users("confab.local").unwrap();
        let names: Vec<_> = users.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(names, ["amy", "hao", "line", "vivian"]);
        let vivian = directory.user("vivian", "confab.local").unwrap().unwrap();
        assert_eq!(vivian.display_name, "Vivian Chen");
        assert_eq!(vivian.work_number.as_deref(), Some("+14255032002"));
        assert_eq!(
            directory
                .owner_of_number("+14255032002", "CONFAB.local")
                .unwrap()
                .as_deref(),
            Some("vivian")
        );
        assert_eq!(
            directory
                .owner_of_number("+15550000000", "confab.local")
                .unwrap(),
            None
        );
        assert_eq!(
            vivian.credentials,
            Credentials::from_password("vivian", "confab.local", "vivian")
        );
        // amy existed before the seed: her password was not reset.
        assert_eq!(
            directory.credentials("amy", "confab.local").unwrap(),
            Some(Credentials::from_password("amy", "confab.local", "changed"))
        );
        let numbers: Vec<_> = users.iter().filter_map(|u| u.work_number.clone()).collect();
        assert_eq!(numbers.len(), 2, "amy was added without a number");
    }

    #[test]
    fn every_user_has_a_location_profile_us_unless_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("directory.sqlite3");
        {
            // A file of the first schema, with a user in it.
            let connection = super::super::open_file(&path, &MIGRATIONS[..1]).unwrap();
            connection
                .execute(
                    "INSERT INTO users VALUES ('zoe', 'a.test', 'Zoe', NULL, 'x', 'y')",
                    [],
                )
                .unwrap();
        }
        let directory = Directory::open(&path).unwrap();
        assert_eq!(
            directory
                .location_profile("zoe", "A.test")
                .unwrap()
                .as_deref(),
            Some("US")
        );
        directory.add_user(&user("amy", "a.test", "a")).unwrap();
        assert!(
            directory
                .set_location_profile("amy", "a.test", "DE")
                .unwrap()
        );
        assert!(
            !directory
                .set_location_profile("nobody", "a.test", "DE")
                .unwrap()
        );
        drop(directory);
        let directory = Directory::open(&path).unwrap();
        assert_eq!(
            directory
                .location_profile("amy", "a.test")
                .unwrap()
                .as_deref(),
            Some("DE")
        );
        assert_eq!(
            directory.location_profile("nobody", "a.test").unwrap(),
            None
        );

        directory.seed_demo("confab.local").unwrap();
        let core: &dyn crate::server::UserDirectory = &directory;
        assert_eq!(
            core.location_profile("vivian", "confab.local").as_deref(),
            Some("US")
        );
        assert_eq!(
            core.work_number("vivian", "confab.local").as_deref(),
            Some("+14255032002")
        );
        assert_eq!(core.work_number("zoe", "a.test"), None);
    }

    #[test]
    fn users_load_from_csv_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.csv");
        std::fs::write(
            &path,
            "username,password,display_name\nuser0001,user0001,User One\nuser0002,secret\n",
        )
        .unwrap();
        let directory = Directory::open_in_memory().unwrap();
        assert_eq!(directory.load_csv(&path, "confab.local").unwrap(), 2);
        let user = directory.user("user0001", "confab.local").unwrap().unwrap();
        assert_eq!(user.display_name, "User One");
        assert_eq!(
            directory
                .user("user0002", "confab.local")
                .unwrap()
                .unwrap()
                .display_name,
            "user0002"
        );
        std::fs::write(&path, "username,password\nlonely\n").unwrap();
        let error = directory.load_csv(&path, "confab.local").unwrap_err();
        assert!(error.to_string().starts_with("line 2:"), "{error}");
    }
}
