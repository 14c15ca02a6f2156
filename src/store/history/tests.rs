#![allow(clippy::unwrap_used)] // unwrap is how a test fails

use super::*;

const AMY: &str = "sip:amy@confab.local";
const HAO: &str = "sip:hao@confab.local";
const VIVIAN: &str = "sip:vivian@confab.local";

fn entry(account: &str, peer: &str, text: &str, at_ms: i64) -> HistoryEntry {
    HistoryEntry {
        account: account.to_owned(),
        peer: peer.to_owned(),
        outgoing: at_ms % 2 == 0,
        text: text.to_owned(),
        at_ms,
        delivered: None,
        reason: None,
    }
}

/// A history in memory in each search mode, for behaviour both share.
fn both_modes() -> [History; 2] {
    [
        History::open_in_memory().unwrap(),
        History::with_connection(super::super::open_memory(MIGRATIONS).unwrap(), false).unwrap(),
    ]
}

fn texts(entries: &[HistoryEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.text.as_str()).collect()
}

#[test]
fn the_bundled_sqlite_has_fts5() {
    assert_eq!(
        History::open_in_memory().unwrap().search_mode(),
        SearchMode::FullText
    );
}

#[test]
fn text_round_trips_exactly_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("history-amy.sqlite3");
    let long: String = "Lorem ipsum dolor sit amet, ñandú 🦜 ".repeat(10_000);
    let samples = [
        long.as_str(),
        "line one\nline two\r\nline three\n\n",
        "Grüße aus Köln — 你好，世界 — مرحبا — 🙂👍🏽 — e\u{301}",
        "  leading and trailing spaces  ",
        "tab\tand nul\0inside",
        "",
    ];
    let history = History::open(&path).unwrap();
    let synchronous: i64 = history
        .connection
        .pragma_query_value(None, "synchronous", |row| row.get(0))
        .unwrap();
    assert_eq!(synchronous, 2, "FULL");
    for (at, text) in samples.iter().enumerate() {
        let at = i64::try_from(at).unwrap();
        history.append(&entry(AMY, HAO, text, 1_000 + at)).unwrap();
    }
    // Another connection sees every append as soon as it returned.
    let reader = History::open(&path).unwrap();
    assert_eq!(texts(&reader.conversation(AMY, HAO, 100).unwrap()), samples);
    drop((history, reader));
    let history = History::open(&path).unwrap();
    let read = history.conversation(AMY, HAO, 100).unwrap();
    assert_eq!(texts(&read), samples);
    assert_eq!(read[0].text.len(), long.len());
}

#[test]
fn a_conversation_is_its_last_messages_in_order() {
    for history in both_modes() {
        // Appended out of time order; two share a timestamp.
        for (text, at) in [("b", 20), ("a", 10), ("c", 30), ("d", 30), ("e", 40)] {
            history.append(&entry(AMY, HAO, text, at)).unwrap();
        }
        history
            .append(&entry(AMY, VIVIAN, "other peer", 35))
            .unwrap();
        history
            .append(&entry(HAO, AMY, "other account", 35))
            .unwrap();

        let all = history.conversation(AMY, HAO, 100).unwrap();
        assert_eq!(texts(&all), ["a", "b", "c", "d", "e"]);
        assert!(all.iter().all(|e| e.account == AMY && e.peer == HAO));
        let last = history.conversation(AMY, HAO, 3).unwrap();
        assert_eq!(texts(&last), ["c", "d", "e"]);
        assert!(history.conversation(AMY, HAO, 0).unwrap().is_empty());
        assert!(history.conversation(VIVIAN, HAO, 10).unwrap().is_empty());
        assert_eq!(
            texts(&history.conversation(HAO, AMY, 10).unwrap()),
            ["other account"]
        );
    }
}

#[test]
fn delivery_outcomes_are_recorded() {
    let history = History::open_in_memory().unwrap();
    let mut sent = entry(AMY, HAO, "are you there?", 2);
    sent.outgoing = true;
    let first = history.append(&sent).unwrap();
    let second = history.append(&sent).unwrap();
    assert_ne!(first, second);
    assert!(history.set_delivery(first, true, None).unwrap());
    assert!(
        history
            .set_delivery(second, false, Some("480 Temporarily Unavailable"))
            .unwrap()
    );
    assert!(!history.set_delivery(second + 100, true, None).unwrap());
    let read = history.conversation(AMY, HAO, 10).unwrap();
    assert_eq!(read[0].delivered, Some(true));
    assert_eq!(read[0].reason, None);
    assert_eq!(read[1].delivered, Some(false));
    assert_eq!(
        read[1].reason.as_deref(),
        Some("480 Temporarily Unavailable")
    );
    // Delivery can be corrected, e.g. a late 200 after a timeout guess.
    assert!(history.set_delivery(second, true, None).unwrap());
    let read = history.conversation(AMY, HAO, 10).unwrap();
    assert_eq!(
        (read[1].delivered, read[1].reason.as_deref()),
        (Some(true), None)
    );
}

#[test]
fn search_finds_an_accounts_messages_newest_first_in_both_modes() {
    for history in both_modes() {
        history
            .append(&entry(AMY, HAO, "lunch at noon?", 10))
            .unwrap();
        history
            .append(&entry(AMY, VIVIAN, "no lunch today", 20))
            .unwrap();
        history.append(&entry(AMY, HAO, "dinner then", 30)).unwrap();
        history
            .append(&entry(HAO, AMY, "lunch at noon?", 10))
            .unwrap();
        history.append(&entry(AMY, HAO, "LUNCH again", 40)).unwrap();

        let found = history.search(AMY, "lunch", 10).unwrap();
        assert_eq!(
            texts(&found),
            ["LUNCH again", "no lunch today", "lunch at noon?"],
            "{:?}",
            history.search_mode()
        );
        assert!(found.iter().all(|e| e.account == AMY));
        assert_eq!(
            texts(&history.search(AMY, "lunch", 1).unwrap()),
            ["LUNCH again"]
        );
        assert!(history.search(AMY, "breakfast", 10).unwrap().is_empty());
        assert!(history.search(AMY, "   ", 10).unwrap().is_empty());
        assert!(history.search(VIVIAN, "lunch", 10).unwrap().is_empty());
    }
}

#[test]
fn query_syntax_in_user_input_is_searched_for_not_obeyed() {
    for history in both_modes() {
        history
            .append(&entry(AMY, HAO, "say \"hi\" (or not)", 10))
            .unwrap();
        history
            .append(&entry(AMY, HAO, "a OR b AND c NOT d", 20))
            .unwrap();
        for query in [
            "\"",
            "\"\"",
            "\"hi",
            "hi\"",
            "*",
            "hi*",
            "(",
            "(or",
            ")",
            "-",
            "-hi",
            "+",
            "^hi",
            ":",
            "text:hi",
            "NEAR(hi not)",
            "AND",
            "OR",
            "NOT",
            "a OR",
            "{text}: hi",
            "'",
            "\\",
            "%",
            "_",
            "[",
            "\0",
        ] {
            let result = history.search(AMY, query, 10);
            assert!(
                result.is_ok(),
                "{query:?} {:?}: {result:?}",
                history.search_mode()
            );
        }
        // Words that are FTS5 operators are matched as words.
        let found = history.search(AMY, "OR b AND", 10).unwrap();
        assert_eq!(texts(&found), ["a OR b AND c NOT d"]);
        assert_eq!(
            texts(&history.search(AMY, "\"hi\"", 10).unwrap()),
            ["say \"hi\" (or not)"]
        );
        // FTS5 also finds the other message's word "OR"; LIKE needs "(or".
        let found = history.search(AMY, "(or", 10).unwrap();
        assert!(texts(&found).contains(&"say \"hi\" (or not)"), "{found:?}");
    }
}

#[test]
fn full_text_search_matches_word_prefixes_ignoring_case_and_accents() {
    let history = History::open_in_memory().unwrap();
    history
        .append(&entry(AMY, HAO, "Meet at the Café Zürich", 10))
        .unwrap();
    history
        .append(&entry(AMY, HAO, "conference call moved", 20))
        .unwrap();
    history
        .append(&entry(AMY, HAO, "the call is at three", 30))
        .unwrap();
    history
        .append(&entry(AMY, HAO, "我们明天开会", 40))
        .unwrap();
    assert_eq!(
        texts(&history.search(AMY, "cafe zurich", 10).unwrap()),
        ["Meet at the Café Zürich"]
    );
    assert_eq!(
        texts(&history.search(AMY, "CONF", 10).unwrap()),
        ["conference call moved"]
    );
    // Every word must be there, in any order.
    assert_eq!(
        texts(&history.search(AMY, "moved call", 10).unwrap()),
        ["conference call moved"]
    );
    assert_eq!(history.search(AMY, "call", 10).unwrap().len(), 2);
    // A word's prefix, not any substring.
    assert!(history.search(AMY, "ference", 10).unwrap().is_empty());
    assert_eq!(
        texts(&history.search(AMY, "我们", 10).unwrap()),
        ["我们明天开会"]
    );
}

#[test]
fn substring_search_takes_like_wildcards_literally() {
    let [_, history] = both_modes();
    assert_eq!(history.search_mode(), SearchMode::Substring);
    history.append(&entry(AMY, HAO, "100% sure", 10)).unwrap();
    history.append(&entry(AMY, HAO, "1000 sure", 20)).unwrap();
    history.append(&entry(AMY, HAO, "file_name", 30)).unwrap();
    history.append(&entry(AMY, HAO, "filesname", 40)).unwrap();
    history.append(&entry(AMY, HAO, "C:\\path", 50)).unwrap();
    assert_eq!(
        texts(&history.search(AMY, "100%", 10).unwrap()),
        ["100% sure"]
    );
    assert_eq!(
        texts(&history.search(AMY, "e_n", 10).unwrap()),
        ["file_name"]
    );
    assert_eq!(
        texts(&history.search(AMY, ":\\p", 10).unwrap()),
        ["C:\\path"]
    );
    assert_eq!(
        texts(&history.search(AMY, "SURE", 10).unwrap()),
        ["1000 sure", "100% sure"]
    );
    assert_eq!(like_pattern(" a%_\\b "), Some("%a\\%\\_\\\\b%".to_owned()));
}

#[test]
fn the_index_catches_up_after_a_build_without_fts5() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let history = History::open(&path).unwrap();
    history
        .append(&entry(AMY, HAO, "indexed from the start", 10))
        .unwrap();
    drop(history);

    // A build without FTS5 drops the triggers and can still append.
    let connection = super::super::open_file(&path, MIGRATIONS).unwrap();
    let history = History::with_connection(connection, false).unwrap();
    assert_eq!(history.search_mode(), SearchMode::Substring);
    history
        .append(&entry(AMY, HAO, "written while unindexed", 20))
        .unwrap();
    assert_eq!(history.search(AMY, "while unindexed", 10).unwrap().len(), 1);
    drop(history);

    let history = History::open(&path).unwrap();
    assert_eq!(history.search_mode(), SearchMode::FullText);
    assert_eq!(
        texts(&history.search(AMY, "unindexed", 10).unwrap()),
        ["written while unindexed"]
    );
    assert_eq!(history.search(AMY, "indexed", 10).unwrap().len(), 1);
    // The triggers are back: a new message is found at once.
    history.append(&entry(AMY, HAO, "fresh words", 30)).unwrap();
    assert_eq!(history.search(AMY, "fresh", 10).unwrap().len(), 1);
}

#[test]
fn fts5_queries_quote_every_word() {
    assert_eq!(fts5_query("lunch"), Some("\"lunch\"*".to_owned()));
    assert_eq!(
        fts5_query(" say \"hi\"  "),
        Some("\"say\"* \"\"\"hi\"\"\"*".to_owned())
    );
    assert_eq!(fts5_query("a - b"), Some("\"a\"* \"b\"*".to_owned()));
    assert_eq!(fts5_query(" * ( \" "), None);
}

#[test]
fn precheck_passes_new_and_own_files_and_refuses_others() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("history.sqlite3");
    History::precheck(&path).unwrap();
    // The empty file it leaves is a database to SQLite.
    let history = History::open(&path).unwrap();
    history.append(&entry(VIVIAN, AMY, "kept", 2)).unwrap();
    drop(history);
    History::precheck(&path).unwrap();
    assert_eq!(
        texts(
            &History::open(&path)
                .unwrap()
                .conversation(VIVIAN, AMY, 10)
                .unwrap()
        ),
        ["kept"]
    );

    let garbage = dir.path().join("garbage.sqlite3");
    std::fs::write(
        &garbage,
        "not a database, though longer than a header of 64 bytes",
    )
    .unwrap();
    assert!(matches!(
        History::precheck(&garbage),
        Err(StoreError::NotADatabase)
    ));
    std::fs::write(&garbage, "short").unwrap();
    assert!(matches!(
        History::precheck(&garbage),
        Err(StoreError::NotADatabase)
    ));

    let newer = dir.path().join("newer.sqlite3");
    let connection = rusqlite::Connection::open(&newer).unwrap();
    connection.pragma_update(None, "user_version", 99).unwrap();
    drop(connection);
    match History::precheck(&newer) {
        Err(StoreError::NewerSchema {
            found: 99,
            supported,
        }) => {
            assert_eq!(supported, i64::try_from(MIGRATIONS.len()).unwrap());
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

#[test]
fn precheck_refuses_a_directory_it_cannot_create() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    assert!(matches!(
        History::precheck(&file.join("history.sqlite3")),
        Err(StoreError::Io(_))
    ));
}
