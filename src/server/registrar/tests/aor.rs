//! The plain-URI reader of an AOR agrees with the URI parser on whatever
//! it accepts, and leaves everything unusual to the parser.

use super::*;

/// The AOR as the URI parser reads it.
fn parsed(text: &str) -> Option<Aor> {
    Aor::from_uri(&rsip::Uri::try_from(text).ok()?).ok()
}

#[test]
fn a_plain_uri_is_read_as_the_uri_parser_reads_it() {
    for (text, user, domain) in [
        ("sip:amy@confab.local", "amy", "confab.local"),
        ("sips:amy@confab.local", "amy", "confab.local"),
        ("sip:Amy@CONFAB.Local", "Amy", "confab.local"),
        ("sip:amy@confab.local:5060", "amy", "confab.local"),
        (
            "sip:+14255550100@confab.local",
            "+14255550100",
            "confab.local",
        ),
        ("sip:user0000@127.0.0.1:5080", "user0000", "127.0.0.1"),
        ("sip:a.b-c_d@x-1.example.com", "a.b-c_d", "x-1.example.com"),
    ] {
        let plain = Aor::from_plain_uri(text);
        assert_eq!(plain, Some(Aor::new(user, domain)), "{text}");
        assert_eq!(plain, parsed(text), "{text}");
    }
}

#[test]
fn anything_unusual_is_left_to_the_uri_parser() {
    for text in [
        "sip:%61my@confab.local",
        "sip:amy@confab.local;transport=tcp",
        "sip:amy@confab.local?subject=x",
        "sip:amy:secret@confab.local",
        "sip:amy@[2001:db8::1]",
        "SIP:amy@confab.local",
        "tel:+14255550100",
        "sip:confab.local",
        "sip:@confab.local",
        "sip:amy@",
        "sip:amy@confab.local.",
        "sip:amy@confab..local",
        "sip:amy@confab.local:",
        "sip:amy@confab.local:70000",
        "sip:amy@confab.local:50a",
        "sip:a@b@confab.local",
        "sip:amy@conf_ab.local",
        "sip:am y@confab.local",
        "sip:am\u{e9}@confab.local",
        " sip:amy@confab.local",
    ] {
        assert_eq!(Aor::from_plain_uri(text), None, "{text}");
    }
    // Those the parser reads, it reads as before.
    assert_eq!(parsed("sip:%61my@confab.local;transport=tcp"), Some(amy()));
}

/// Appends one to `most` pieces, each picked at random.
fn push_some(random: &mut XorShift, pieces: &[&str], most: usize, text: &mut String) {
    for _ in 0..random.below(most) + 1 {
        text.push_str(pieces[random.below(pieces.len())]);
    }
}

#[test]
fn on_generated_uris_the_plain_reader_never_disagrees_with_the_parser() {
    const USER: &[&str] = &[
        "a", "Z", "9", ".", "-", "_", "+", "%41", ";", "!", "~", "*", "'", "(", ":", " ", "\u{e9}",
        "@", "?", "=",
    ];
    const HOST: &[&str] = &[
        "confab", "local", "x", "0", ".", "-", "_", "1.2.3.4", "[", "::1", "]", "@", ";lr",
    ];
    const PORT: &[&str] = &["", "", ":5060", ":0", ":65535", ":65536", ":", ":5o60"];
    let mut random = XorShift(0x5eed_c0fe_ab1e_0001);
    let mut text = String::new();
    let mut accepted = 0;
    for _ in 0..50_000 {
        text.clear();
        text.push_str(["sip:", "sips:"][random.below(2)]);
        push_some(&mut random, USER, 4, &mut text);
        text.push('@');
        push_some(&mut random, HOST, 4, &mut text);
        text.push_str(PORT[random.below(PORT.len())]);
        if let Some(plain) = Aor::from_plain_uri(&text) {
            accepted += 1;
            assert_eq!(Some(plain), parsed(&text), "{text:?}");
        }
    }
    // The comparison means something only if many were plain.
    assert!(accepted > 500, "only {accepted} plain URIs generated");
}
