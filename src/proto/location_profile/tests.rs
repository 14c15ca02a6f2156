// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use super::*;

fn us() -> LocationProfile {
    LocationProfiles::shipped().get("US").unwrap().clone()
}

/// What a number should become: the E.164 number and the rule's label, or
/// the error.
enum Expect {
    Dials(&'static str, &'static str),
    Refused(NormalizeError),
}
use Expect::{Dials, Refused};

#[test]
fn the_us_profile_normalizes_the_table_of_numbers() {
    let table = [
        // Extensions, local and national numbers.
        ("0123", Dials("+14255550123", "4-digit extension")),
        ("5550123", Dials("+14255550123", "7-digit local")),
        ("4255550123", Dials("+14255550123", "10-digit NANP")),
        ("14255550123", Dials("+14255550123", "1 + 10 digits")),
        // International: the 011 prefix, and numbers already E.164.
        ("011442079460958", Dials("+442079460958", "international")),
        ("+442079460958", Dials("+442079460958", "already E.164")),
        ("+14255032002", Dials("+14255032002", "already E.164")),
        // Punctuation people type, and a tel: URI.
        ("(425) 555-0123", Dials("+14255550123", "10-digit NANP")),
        ("425.555.0123", Dials("+14255550123", "10-digit NANP")),
        ("1-425-555-0123", Dials("+14255550123", "1 + 10 digits")),
        ("+1 (425) 503-2002", Dials("+14255032002", "already E.164")),
        ("  555 0123 ", Dials("+14255550123", "7-digit local")),
        (
            "tel:+1-425-555-0123",
            Dials("+14255550123", "already E.164"),
        ),
        ("TEL:5550123", Dials("+14255550123", "7-digit local")),
        // Invalid: letters and other characters, by name.
        (
            "555-CALL",
            Refused(NormalizeError::BadCharacter { character: 'C' }),
        ),
        (
            "425#5550",
            Refused(NormalizeError::BadCharacter { character: '#' }),
        ),
        (
            "5550123;ext=1",
            Refused(NormalizeError::BadCharacter { character: ';' }),
        ),
        ("425+5550123", Refused(NormalizeError::MisplacedPlus)),
        ("", Refused(NormalizeError::Empty)),
        (" - ( ) . ", Refused(NormalizeError::Empty)),
        ("+", Refused(NormalizeError::Empty)),
        // Numbers no rule knows.
        (
            "12345",
            Refused(NormalizeError::NoRule {
                profile: "US".into(),
                number: "12345".into(),
            }),
        ),
        (
            "42555501234",
            Refused(NormalizeError::NoRule {
                profile: "US".into(),
                number: "42555501234".into(),
            }),
        ),
        // A rule matched but made no E.164 number.
        (
            "011",
            Refused(NormalizeError::NotE164 {
                profile: "US".into(),
                rule: "international".into(),
                result: "+".into(),
            }),
        ),
        (
            "+4420794609581234",
            Refused(NormalizeError::NotE164 {
                profile: "US".into(),
                rule: "already E.164".into(),
                result: "+4420794609581234".into(),
            }),
        ),
        (
            "0114420794609581234",
            Refused(NormalizeError::NotE164 {
                profile: "US".into(),
                rule: "international".into(),
                result: "+4420794609581234".into(),
            }),
        ),
        (
            &"1".repeat(33),
            Refused(NormalizeError::TooLong { digits: 33 }),
        ),
    ];
    let profile = us();
    for (input, expect) in table {
        let result = profile.normalize(input);
        match (expect, result) {
            (Dials(e164, rule), Ok(normalized)) => {
                assert_eq!(normalized.e164, e164, "{input:?}");
                assert_eq!(normalized.rule.label(), rule, "{input:?}");
                let index = normalized.rule.index;
                assert_eq!(
                    normalized.rule.pattern,
                    profile.rules()[index].pattern(),
                    "{input:?}"
                );
            }
            (Refused(error), Err(got)) => assert_eq!(got, error, "{input:?}"),
            (Dials(e164, _), Err(error)) => panic!("{input:?}: wanted {e164}, got {error}"),
            (Refused(error), Ok(got)) => panic!("{input:?}: wanted {error}, got {got:?}"),
        }
    }
}

#[test]
fn errors_say_what_is_wrong_in_words() {
    let profile = us();
    let text = |input: &str| profile.normalize(input).unwrap_err().to_string();
    assert_eq!(
        text("555-CALL"),
        "'C' is not a digit: a number has digits, a leading +, and spaces, dashes, dots or parentheses"
    );
    assert_eq!(
        text("12345"),
        "no rule of location profile US matches 12345"
    );
    assert_eq!(
        text("011"),
        "rule \"international\" of location profile US makes \"+\", not an E.164 number"
    );
}

#[test]
fn the_shipped_file_is_the_us_profile_of_protocols_section_6() {
    let shipped = LocationProfiles::shipped();
    assert_eq!(shipped.len(), 1);
    let profile = shipped.get(DEFAULT_PROFILE).unwrap();
    let rules: Vec<(&str, &str)> = profile
        .rules()
        .iter()
        .map(|rule| (rule.pattern(), rule.translation()))
        .collect();
    assert_eq!(
        rules,
        [
            (r"^(\d{4})$", "+1425555$1"),
            (r"^(\d{7})$", "+1425$1"),
            (r"^(\d{10})$", "+1$1"),
            // PROTOCOLS.md has `+$1`, which would drop the country code.
            (r"^1(\d{10})$", "+1$1"),
            (r"^011(\d*)$", "+$1"),
            (r"^\+(\d+)$", "+$1"),
        ]
    );
    assert_eq!(&LocationProfile::fallback(), profile);
}

#[test]
fn the_first_matching_rule_wins_and_unanchored_parts_stay() {
    let profile = LocationProfile::from_rules(
        "office",
        [
            (r"^9(\d{10})$", "+1$1", "outside line"),
            (r"^(\d{10})$", "+1$1", ""),
            (r"^8", "+4930", "Berlin office"),
            (
                r"^(?<cc>\d{2})0(?<rest>\d+)$",
                "+${cc}$rest",
                "named groups",
            ),
        ],
    )
    .unwrap();
    let normalized = profile.normalize("94255550123").unwrap();
    assert_eq!(normalized.e164, "+14255550123");
    assert_eq!(normalized.rule.index, 0);
    // Ten digits would also match rule 0's tail, but rule 0 is anchored.
    let normalized = profile.normalize("4255550123").unwrap();
    assert_eq!(
        (normalized.rule.index, normalized.rule.label()),
        (1, r"^(\d{10})$")
    );
    // Only the match is replaced: the rest of the number stays.
    assert_eq!(profile.normalize("8123456").unwrap().e164, "+4930123456");
    assert_eq!(profile.normalize("440123").unwrap().e164, "+44123");
}

#[test]
fn a_number_looks_like_one_by_its_first_character() {
    for number in ["5550123", "+1 425", "(425) 555", "tel:5550123", " 555-CALL"] {
        assert!(looks_like_number(number), "{number:?}");
    }
    for other in [
        "amy",
        "sip:+14255550123@confab.local",
        "4255@example.com",
        "",
        "call me",
    ] {
        assert!(!looks_like_number(other), "{other:?}");
    }
    assert!(is_e164("+1") && is_e164("+123456789012345"));
    assert!(!is_e164("+") && !is_e164("+1234567890123456") && !is_e164("14255550123"));
    assert!(!is_e164("+1 425") && !is_e164("+١٢٣"));
}

#[test]
fn loading_errors_name_the_line_or_the_profile_and_rule() {
    let bad_pattern = r#"
[[profile]]
name = "DE"
[[profile.rule]]
pattern = '^0(\d+)$'
translation = '+49$1'
[[profile.rule]]
pattern = '^(\d{4}$'
translation = '+4930$1'
"#;
    let error = LocationProfiles::from_toml(bad_pattern).unwrap_err();
    let LoadError::Profile(ProfileError::BadRule {
        profile,
        rule,
        pattern,
        reason: RuleError::BadPattern(_),
    }) = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        (profile.as_str(), *rule, pattern.as_str()),
        ("DE", 2, r"^(\d{4}$")
    );
    assert!(
        error.to_string().starts_with(
            r#"location profile "DE", rule 2, pattern '^(\d{4}$': the pattern is not"#
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .ends_with("a regular expression: unclosed group"),
        "{error}"
    );

    let typo = "[[profile]]\nname = \"US\"\n[[profile.rule]]\npatern = '^1$'\ntranslation = '+1'\n";
    let error = LocationProfiles::from_toml(typo).unwrap_err();
    assert!(
        matches!(error, LoadError::Toml { line: 4, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("patern"), "{error}");

    let cases = [
        (
            "[[profile]]\nname = \"US\"\n[[profile.rule]]\npattern = '^(\\d+)$'\ntranslation = '+$2'\n",
            ProfileError::BadRule {
                profile: "US".into(),
                rule: 1,
                pattern: r"^(\d+)$".into(),
                reason: RuleError::UnknownGroup("2".into()),
            },
        ),
        (
            "[[profile]]\nname = \"US\"\n[[profile.rule]]\npattern = '^(\\d+)$'\ntranslation = '+$1a'\n",
            ProfileError::BadRule {
                profile: "US".into(),
                rule: 1,
                pattern: r"^(\d+)$".into(),
                reason: RuleError::UnknownGroup("1a".into()),
            },
        ),
        (
            "[[profile]]\nname = \"US\"\n[[profile.rule]]\npattern = '^(\\d+)$'\ntranslation = '+$'\n",
            ProfileError::BadRule {
                profile: "US".into(),
                rule: 1,
                pattern: r"^(\d+)$".into(),
                reason: RuleError::BadReference,
            },
        ),
        (
            "[[profile]]\nname = \"US\"\n",
            ProfileError::NoRules("US".into()),
        ),
        (
            "[[profile]]\nname = \"U S\"\n[[profile.rule]]\npattern = '1'\ntranslation = '+1'\n",
            ProfileError::BadName("U S".into()),
        ),
        (
            "[[profile]]\nname = \"US\"\n[[profile.rule]]\npattern = '1'\ntranslation = '+1'\n\
             [[profile]]\nname = \"US\"\n[[profile.rule]]\npattern = '2'\ntranslation = '+2'\n",
            ProfileError::Duplicate("US".into()),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            LocationProfiles::from_toml(text),
            Err(LoadError::Profile(expected)),
            "{text}"
        );
    }
}

#[test]
fn hostile_rules_are_bounded() {
    // Compiles to far more than the size limit.
    let huge = Rule::new(r"(\d{100}){100}", "+1", "");
    assert!(matches!(huge, Err(RuleError::BadPattern(_))), "{huge:?}");
    let long = "1".repeat(MAX_PATTERN_CHARS + 1);
    assert!(matches!(
        Rule::new(&long, "+1", ""),
        Err(RuleError::TooLong {
            what: "pattern",
            ..
        })
    ));
    let many = vec![("1", "+1", ""); MAX_RULES + 1];
    assert!(matches!(
        LocationProfile::from_rules("US", many),
        Err(ProfileError::TooManyRules { .. })
    ));
    assert_eq!(Rule::new("", "+1", ""), Err(RuleError::EmptyPattern));
    assert_eq!(Rule::new("1", "", ""), Err(RuleError::EmptyTranslation));
    // A literal dollar is written twice.
    assert!(Rule::new("^(1)$", "+$$1", "").is_ok());
}

#[test]
fn patterns_that_need_unicode_mode_still_compile_and_match_alike() {
    // `.` and negated classes could match half a character without
    // Unicode mode; they keep it, and behave as before.
    let profile = LocationProfile::from_rules(
        "any",
        [
            (r"^9.(\d+)$", "+$1", "any digit after 9"),
            (r"^[^8](\d{3})$", "+1$1", "not an 8 first"),
            (r"^(?i)(\d+)\b$", "+44$1", "flags and boundaries"),
        ],
    )
    .unwrap();
    assert_eq!(profile.normalize("9012").unwrap().e164, "+12");
    assert_eq!(profile.normalize("7123").unwrap().e164, "+1123");
    assert_eq!(profile.normalize("8123").unwrap().e164, "+448123");
    assert_eq!(profile.normalize("8123").unwrap().rule.index, 2);
}
