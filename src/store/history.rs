//! The client's IM history: every message sent or received by one account,
//! with its delivery outcome, in a SQLite file the caller chooses (e.g.
//! `<data>/history-<user>.sqlite3`).
//!
//! Messages are kept per conversation, the pair (account, peer): `account`
//! is our own address-of-record, `peer` the other party's AOR (or, later, a
//! conference URI). Both compare as exact strings, so the caller passes them
//! in one canonical form (`sip:user@host`, host in lowercase).
//!
//! Search uses an FTS5 index when the linked SQLite has FTS5 (the bundled
//! one does): an external-content table over `messages`, kept in step by
//! triggers. Without FTS5 it falls back to a substring match with `LIKE`.
//! The two differ in what they find: FTS5 matches words (each query word as
//! a prefix of a word in the text, all words required, case and diacritics
//! ignored); `LIKE` matches the query as one substring, ignoring ASCII case
//! only.
//!
//! Invariants: text round-trips byte for byte (any length, any Unicode,
//! several lines); an append is durable when it returns (`synchronous =
//! FULL`, so a committed message survives power loss too); user input never
//! reaches SQL or the FTS5 query syntax unquoted.

use std::path::Path;

use rusqlite::{Connection, params};

use super::StoreError;

/// The history's schema, one migration per entry (see the module docs of
/// [`crate::store`]). The FTS5 index is not a migration: whether it can
/// exist depends on the SQLite linked in, so [`History::open`] sets it up.
const MIGRATIONS: &[&str] = &["CREATE TABLE messages (
        id        INTEGER PRIMARY KEY,
        account   TEXT NOT NULL,
        peer      TEXT NOT NULL,
        outgoing  INTEGER NOT NULL CHECK (outgoing IN (0, 1)),
        text      TEXT NOT NULL,
        at_ms     INTEGER NOT NULL,
        delivered INTEGER CHECK (delivered IN (0, 1)),
        reason    TEXT
    ) STRICT;
    CREATE INDEX messages_by_conversation ON messages (account, peer, at_ms, id);"];

/// The FTS5 index and the triggers that keep it in step with `messages`.
/// `unicode61 remove_diacritics 2` folds case and accents, so "cafe" finds
/// "Café".
const CREATE_FTS: &str = "
    CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
        text, content = 'messages', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2');
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text)
            VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text)
            VALUES ('delete', old.id, old.text);
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
    END;
    INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');";

/// Without FTS5 the triggers would make every insert fail, so a build
/// without it drops them; a later build with FTS5 rebuilds the index.
const DROP_FTS_TRIGGERS: &str = "
    DROP TRIGGER IF EXISTS messages_fts_insert;
    DROP TRIGGER IF EXISTS messages_fts_delete;
    DROP TRIGGER IF EXISTS messages_fts_update;";

const HAS_FTS_TRIGGERS: &str =
    "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name = 'messages_fts_insert'";

const INSERT_MESSAGE: &str = "INSERT INTO messages
     (account, peer, outgoing, text, at_ms, delivered, reason)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const UPDATE_DELIVERY: &str = "UPDATE messages SET delivered = ?2, reason = ?3 WHERE id = ?1";
/// The newest `limit` of a conversation; [`History::conversation`] reverses
/// them. Ties in time keep the order of arrival (the row id).
const SELECT_CONVERSATION: &str = "SELECT account, peer, outgoing, text, at_ms, delivered, reason
     FROM messages WHERE account = ?1 AND peer = ?2
     ORDER BY at_ms DESC, id DESC LIMIT ?3";
const SEARCH_FTS: &str =
    "SELECT m.account, m.peer, m.outgoing, m.text, m.at_ms, m.delivered, m.reason
     FROM messages_fts JOIN messages AS m ON m.id = messages_fts.rowid
     WHERE messages_fts MATCH ?2 AND m.account = ?1
     ORDER BY m.at_ms DESC, m.id DESC LIMIT ?3";
const SEARCH_LIKE: &str = "SELECT account, peer, outgoing, text, at_ms, delivered, reason
     FROM messages WHERE account = ?1 AND text LIKE ?2 ESCAPE '\\'
     ORDER BY at_ms DESC, id DESC LIMIT ?3";

/// The first bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// One message as kept in the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Our own AOR.
    pub account: String,
    /// The other party's AOR, or a conference URI.
    pub peer: String,
    /// Sent by us (true) or received (false).
    pub outgoing: bool,
    pub text: String,
    /// When it was sent or received, in Unix milliseconds.
    pub at_ms: i64,
    /// For an outgoing message: `None` while the outcome is unknown, then
    /// whether the MESSAGE got a 2xx.
    pub delivered: Option<bool>,
    /// Why delivery failed, e.g. the reason phrase of the final response.
    pub reason: Option<String>,
}

/// How [`History::search`] finds text, chosen when the file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchMode {
    /// Words, through the FTS5 index.
    FullText,
    /// One substring, through `LIKE` (SQLite without FTS5).
    Substring,
}

/// One account's IM history, in one SQLite file (or in memory).
pub struct History {
    connection: Connection,
    search_mode: SearchMode,
}

impl History {
    pub fn open(path: &Path) -> Result<History, StoreError> {
        let connection = super::open_file(path, MIGRATIONS)?;
        // The default NORMAL of [`crate::store`] may lose the last commits
        // on power loss; a message shown as sent must not be lost.
        connection.pragma_update(None, "synchronous", "FULL")?;
        History::with_connection(connection, fts5_available()?)
    }

    /// What [`History::open`] would refuse at once, found without running
    /// SQLite: a directory or file that cannot be written, a file that is not
    /// an SQLite database, or one whose schema is newer than this build's
    /// (read from the file header, offset 60, where `PRAGMA user_version`
    /// lives). A client checks this at start-up and opens the history when a
    /// conversation first needs it, so one that is only signed in never has
    /// SQLite's code in memory. A newer schema still only in the WAL is found
    /// by the open itself.
    pub fn precheck(path: &Path) -> Result<(), StoreError> {
        use std::io::Read as _;
        super::create_parent(path)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut header = Vec::with_capacity(64);
        file.take(64).read_to_end(&mut header)?;
        if header.is_empty() {
            return Ok(()); // a new file: SQLite makes it a database
        }
        if !header.starts_with(SQLITE_MAGIC) {
            return Err(StoreError::NotADatabase);
        }
        let Some(user_version) = header.get(60..64).and_then(|bytes| bytes.try_into().ok()) else {
            return Err(StoreError::NotADatabase);
        };
        super::refuse_newer(i64::from(u32::from_be_bytes(user_version)), MIGRATIONS)
    }

    /// An empty history that lives as long as the value (tests, and a
    /// client run without a data directory).
    pub fn open_in_memory() -> Result<History, StoreError> {
        let connection = super::open_memory(MIGRATIONS)?;
        History::with_connection(connection, fts5_available()?)
    }

    /// Sets up (or tears down) the FTS5 index, as the SQLite linked in
    /// allows.
    fn with_connection(connection: Connection, fts5: bool) -> Result<History, StoreError> {
        let has_triggers: i64 = connection.query_row(HAS_FTS_TRIGGERS, [], |row| row.get(0))?;
        let search_mode = if fts5 {
            if has_triggers == 0 {
                let transaction = connection.unchecked_transaction()?;
                transaction.execute_batch(CREATE_FTS)?;
                transaction.commit()?;
            }
            SearchMode::FullText
        } else {
            if has_triggers != 0 {
                tracing::warn!("SQLite without FTS5: history search falls back to LIKE");
                connection.execute_batch(DROP_FTS_TRIGGERS)?;
            }
            SearchMode::Substring
        };
        Ok(History {
            connection,
            search_mode,
        })
    }

    pub fn search_mode(&self) -> SearchMode {
        self.search_mode
    }

    /// Stores a message; returns its row id, for [`History::set_delivery`].
    /// Durable when it returns.
    pub fn append(&self, entry: &HistoryEntry) -> Result<i64, StoreError> {
        let mut statement = self.connection.prepare_cached(INSERT_MESSAGE)?;
        let id = statement.insert(params![
            entry.account,
            entry.peer,
            entry.outgoing,
            entry.text,
            entry.at_ms,
            entry.delivered,
            entry.reason,
        ])?;
        Ok(id)
    }

    /// Records the outcome of an outgoing message; whether the row exists.
    pub fn set_delivery(
        &self,
        row_id: i64,
        delivered: bool,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut statement = self.connection.prepare_cached(UPDATE_DELIVERY)?;
        let changed = statement.execute(params![row_id, delivered, reason])?;
        Ok(changed == 1)
    }

    /// The last `limit` messages between `account` and `peer`, oldest
    /// first.
    pub fn conversation(
        &self,
        account: &str,
        peer: &str,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut statement = self.connection.prepare_cached(SELECT_CONVERSATION)?;
        let mut entries = statement
            .query_map(params![account, peer, sql_limit(limit)], history_entry)?
            .collect::<Result<Vec<_>, _>>()?;
        entries.reverse();
        Ok(entries)
    }

    /// The newest `limit` messages of `account`, in any conversation, that
    /// match `query`, newest first (see the module docs for what matches).
    /// A query with nothing to search for finds nothing.
    pub fn search(
        &self,
        account: &str,
        query: &str,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let (sql, pattern) = match self.search_mode {
            SearchMode::FullText => (SEARCH_FTS, fts5_query(query)),
            SearchMode::Substring => (SEARCH_LIKE, like_pattern(query)),
        };
        let Some(pattern) = pattern else {
            return Ok(Vec::new());
        };
        let mut statement = self.connection.prepare_cached(sql)?;
        let entries = statement
            .query_map(params![account, pattern, sql_limit(limit)], history_entry)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(entries)
    }
}

/// Whether the linked SQLite can create an FTS5 table, tried on a
/// throw-away connection so the probe leaves nothing in the history file.
fn fts5_available() -> Result<bool, StoreError> {
    let probe = Connection::open_in_memory()?;
    match probe.execute_batch("CREATE VIRTUAL TABLE fts5_probe USING fts5(x)") {
        Ok(()) => Ok(true),
        Err(error) if error.to_string().contains("no such module") => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// An FTS5 query that means "every word of `query`, each as a word
/// prefix", whatever characters the user typed: each word becomes a quoted
/// string (FTS5 syntax: `"` doubled inside), so operators such as
/// `AND`, `NEAR`, `*`, `-`, `:` or parentheses are searched for, not
/// obeyed. Words with no letter or digit would tokenize to nothing, so they
/// are dropped; `None` if nothing is left.
fn fts5_query(query: &str) -> Option<String> {
    let terms: Vec<String> = query
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .map(|word| format!("\"{}\"*", word.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// A `LIKE` pattern (with `ESCAPE '\'`) matching `query` as a substring,
/// its own `%`, `_` and `\` taken literally; `None` for a blank query.
fn like_pattern(query: &str) -> Option<String> {
    let query = query.trim();
    if query.is_empty() {
        return None;
    }
    let mut pattern = String::with_capacity(query.len() + 2);
    pattern.push('%');
    for c in query.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Some(pattern)
}

fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn history_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryEntry> {
    Ok(HistoryEntry {
        account: row.get(0)?,
        peer: row.get(1)?,
        outgoing: row.get(2)?,
        text: row.get(3)?,
        at_ms: row.get(4)?,
        delivered: row.get(5)?,
        reason: row.get(6)?,
    })
}

#[cfg(test)]
mod tests;
