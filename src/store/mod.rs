//! Persistent state in SQLite (rusqlite, bundled): the server's user
//! directory and buddy lists, and the client's IM history.
//!
//! Unlike the sans-IO cores this module does I/O, synchronously: each store
//! owns one connection to its own file, under a path the caller chooses
//! (XDG data directory or `--data`). Every store's schema is a list of
//! migrations; `PRAGMA user_version` records how many have run, so a store
//! opens any older file of its own and refuses a newer one. Files use WAL so
//! a reader never waits for a writer.
//!
//! Invariants: no plaintext password is ever written (the directory keeps
//! HA1s only, see [`crate::proto::digest::Credentials`]); opening a file
//! twice, or seeding it twice, changes nothing.

pub mod contacts;
pub mod directory;
pub mod history;

pub use contacts::{ContactListRecord, ContactRecord, Contacts, ContactsError};
pub use directory::{Directory, NewUser, UserRecord};
pub use history::{History, HistoryEntry};

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

/// How long a statement waits for another connection's lock before failing
/// with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("creating the data directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("not an SQLite database")]
    NotADatabase,
    #[error("the database has schema version {found}, newer than this build's {supported}")]
    NewerSchema { found: i64, supported: i64 },
    #[error("user {username}@{domain} already exists")]
    UserExists { username: String, domain: String },
    #[error("invalid user: {0}")]
    InvalidUser(&'static str),
    #[error("line {line}: {reason}")]
    BadFile { line: usize, reason: &'static str },
}

/// Opens (creating if needed) a database file and its parent directory,
/// in WAL mode, migrated to the latest schema.
fn open_file(path: &Path, migrations: &[&str]) -> Result<Connection, StoreError> {
    create_parent(path)?;
    let mut connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = %path.display(), %mode, "SQLite refused WAL mode");
    }
    // With WAL, NORMAL loses no committed data on a crash of the process
    // (only, at worst, the last transactions on power loss).
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(&mut connection, migrations)?;
    Ok(connection)
}

/// Creates the directory a database file goes in.
fn create_parent(path: &Path) -> Result<(), StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    Ok(())
}

/// An older build must not touch a file of a newer schema: `found` is the
/// file's `user_version`, the number of migrations it has seen.
fn refuse_newer(found: i64, migrations: &[&str]) -> Result<(), StoreError> {
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    if found > supported {
        return Err(StoreError::NewerSchema { found, supported });
    }
    Ok(())
}

/// A private in-memory database with the latest schema.
fn open_memory(migrations: &[&str]) -> Result<Connection, StoreError> {
    let mut connection = Connection::open_in_memory()?;
    migrate(&mut connection, migrations)?;
    Ok(connection)
}

/// Runs the migrations the file has not seen yet, all in one transaction,
/// so a failure leaves the file as it was.
fn migrate(connection: &mut Connection, migrations: &[&str]) -> Result<(), StoreError> {
    let transaction = connection.transaction()?;
    let found: i64 = transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
    refuse_newer(found, migrations)?;
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let done = usize::try_from(found).unwrap_or(0);
    for migration in migrations.iter().skip(done) {
        transaction.execute_batch(migration)?;
    }
    if found < supported {
        transaction.pragma_update(None, "user_version", supported)?;
    }
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // unwrap is how a test fails
mod tests {
    use super::*;

    const V1: &str = "CREATE TABLE a (x INTEGER NOT NULL);";
    const V2: &str = "ALTER TABLE a ADD COLUMN y TEXT;";

    fn version(connection: &Connection) -> i64 {
        connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn migrations_run_once_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("test.sqlite3");
        let connection = open_file(&path, &[V1]).unwrap();
        assert_eq!(version(&connection), 1);
        connection
            .execute("INSERT INTO a (x) VALUES (1)", [])
            .unwrap();
        drop(connection);

        let connection = open_file(&path, &[V1, V2]).unwrap();
        assert_eq!(version(&connection), 2);
        let rows: i64 = connection
            .query_row("SELECT count(*) FROM a WHERE y IS NULL", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
        let mode: String = connection
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        drop(connection);

        // An older build must not touch a newer file.
        match open_file(&path, &[V1]) {
            Err(StoreError::NewerSchema {
                found: 2,
                supported: 1,
            }) => {}
            other => panic!("expected NewerSchema, got {other:?}"),
        }
    }

    #[test]
    fn a_failing_migration_leaves_the_file_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.sqlite3");
        drop(open_file(&path, &[V1]).unwrap());
        assert!(open_file(&path, &[V1, V2, "NOT SQL"]).is_err());
        let connection = open_file(&path, &[V1]).unwrap();
        assert_eq!(version(&connection), 1);
    }
}
