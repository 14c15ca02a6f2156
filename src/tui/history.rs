//! IM history: the [`ConversationLog`] trait the front end stores messages
//! through, and [`MemoryLog`], the in-memory one for tests and for runs
//! with no data directory. The SQLite one belongs to `store`.
//!
//! A message is appended once, when its fate is known: an incoming one on
//! arrival, an outgoing one when its delivery report
//! ([`Event::ImStatus`](crate::client::Event::ImStatus)) comes back.
//! An outgoing message whose report never came is not logged. Readers sort
//! by `at_ms`, not by order of appending, since reports arrive after later
//! incoming messages.

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedMessage {
    /// The other party's URI.
    pub peer: String,
    pub outgoing: bool,
    pub text: String,
    /// Unix time, milliseconds.
    pub at_ms: i64,
    /// For outgoing messages: whether the peer got it; `None` when unknown
    /// and always for incoming ones.
    pub delivered: Option<bool>,
    /// Why an outgoing message was not delivered.
    pub reason: Option<String>,
}

/// Where conversations are kept between runs.
pub trait ConversationLog {
    /// The last `limit` messages with `peer`, oldest first.
    fn load(&self, peer: &str, limit: usize) -> Vec<LoggedMessage>;
    /// Stores one message.
    fn append(&mut self, message: &LoggedMessage);
    /// Up to `limit` messages whose text contains `query` (ignoring case),
    /// from any conversation, newest first.
    fn search(&self, query: &str, limit: usize) -> Vec<LoggedMessage>;
}

/// A log that lives as long as the process.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    messages: Vec<LoggedMessage>,
}

impl MemoryLog {
    pub fn new() -> MemoryLog {
        MemoryLog::default()
    }

    /// Every message, in order of appending.
    pub fn messages(&self) -> &[LoggedMessage] {
        &self.messages
    }
}

impl ConversationLog for MemoryLog {
    fn load(&self, peer: &str, limit: usize) -> Vec<LoggedMessage> {
        let mut found: Vec<LoggedMessage> = self
            .messages
            .iter()
            .filter(|message| message.peer == peer)
            .cloned()
            .collect();
        // Stable: messages of one millisecond keep their order of arrival.
        found.sort_by_key(|message| message.at_ms);
        let skip = found.len().saturating_sub(limit);
        found.split_off(skip)
    }

    fn append(&mut self, message: &LoggedMessage) {
        self.messages.push(message.clone());
    }

    fn search(&self, query: &str, limit: usize) -> Vec<LoggedMessage> {
        let query = query.to_lowercase();
        let mut found: Vec<LoggedMessage> = self
            .messages
            .iter()
            .filter(|message| message.text.to_lowercase().contains(&query))
            .cloned()
            .collect();
        found.sort_by_key(|message| std::cmp::Reverse(message.at_ms));
        found.truncate(limit);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(peer: &str, text: &str, at_ms: i64) -> LoggedMessage {
        LoggedMessage {
            peer: peer.into(),
            outgoing: false,
            text: text.into(),
            at_ms,
            delivered: None,
            reason: None,
        }
    }

    #[test]
    fn load_keeps_the_newest_of_one_peer_oldest_first() {
        let mut log = MemoryLog::new();
        log.append(&message("sip:amy@x", "two", 2_000));
        log.append(&message("sip:hao@x", "other", 1_500));
        log.append(&message("sip:amy@x", "one", 1_000));
        log.append(&message("sip:amy@x", "three", 3_000));
        let texts: Vec<_> = log
            .load("sip:amy@x", 2)
            .into_iter()
            .map(|m| m.text)
            .collect();
        assert_eq!(texts, ["two", "three"]);
        assert!(log.load("sip:nobody@x", 10).is_empty());
    }

    #[test]
    fn search_ignores_case_spans_peers_and_puts_the_newest_first() {
        let mut log = MemoryLog::new();
        log.append(&message("sip:amy@x", "Lunch at noon?", 1_000));
        log.append(&message("sip:hao@x", "no lunch today", 2_000));
        log.append(&message("sip:hao@x", "meeting", 3_000));
        let found: Vec<_> = log
            .search("LUNCH", 10)
            .into_iter()
            .map(|m| m.peer)
            .collect();
        assert_eq!(found, ["sip:hao@x", "sip:amy@x"]);
        assert_eq!(log.search("lunch", 1).len(), 1);
    }
}
