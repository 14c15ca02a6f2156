// Tests may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::proto::location_profile::{LocationProfiles, RuleError};

fn vivian() -> Provisioning {
    Provisioning {
        user: "sip:vivian@confab.local".into(),
        work_number: Some("+14255032002".into()),
        location_profile: Some(LocationProfiles::shipped().get("US").unwrap().clone()),
    }
}

fn document(inner: &str) -> String {
    format!(r#"<?xml version="1.0"?><provisioning xmlns="{NAMESPACE}">{inner}</provisioning>"#)
}

#[test]
fn a_document_round_trips_with_its_rules_in_order() {
    let written = vivian().to_xml();
    assert!(
        written.contains(
            r#"<rule pattern="^(\d{7})$" translation="+1425$1" description="7-digit local"/>"#
        ),
        "{written}"
    );
    assert!(
        written.contains(r#"<user uri="sip:vivian@confab.local" work-number="+14255032002"/>"#)
    );
    let read = parse(written.as_bytes()).unwrap();
    assert_eq!(read, vivian());
    let profile = read.location_profile.unwrap();
    assert_eq!(profile.normalize("5550123").unwrap().e164, "+14255550123");

    let bare = Provisioning {
        user: "sip:hao@confab.local".into(),
        work_number: None,
        location_profile: None,
    };
    assert_eq!(parse(bare.to_xml().as_bytes()).unwrap(), bare);
}

#[test]
fn markup_in_a_pattern_is_escaped_and_comes_back() {
    let profile = LocationProfile::from_rules(
        "DE-Berlin",
        [(r"^0(?<rest>\d+)$", "+49${rest}", "national & <local>")],
    )
    .unwrap();
    let written = Provisioning {
        location_profile: Some(profile.clone()),
        ..vivian()
    }
    .to_xml();
    assert!(written.contains("(?&lt;rest&gt;"), "{written}");
    let read = parse(written.as_bytes()).unwrap();
    assert_eq!(read.location_profile, Some(profile));
}

#[test]
fn unknown_elements_and_attributes_are_ignored() {
    let body = document(
        r#"<user uri="sip:amy@confab.local" colour="teal"/><voicemail uri="sip:vm@x"/>
           <location-profile name="US" region="west"><rule pattern="^(\d{4})$"
           translation="+1425555$1"/><note>ignored</note></location-profile>"#,
    );
    let read = parse(body.as_bytes()).unwrap();
    assert_eq!(read.user, "sip:amy@confab.local");
    let profile = read.location_profile.unwrap();
    assert_eq!(profile.name(), "US");
    assert_eq!(profile.rules().len(), 1);
    assert_eq!(profile.rules()[0].description(), "");
}

#[test]
fn bad_documents_are_refused_with_the_reason() {
    let cases: [(String, &str); 8] = [
        (
            r#"<contacts xmlns="urn:confab:params:xml:ns:contacts" version="1"/>"#.into(),
            "root element is <contacts>, not a provisioning document",
        ),
        (document(""), "no <user> element"),
        (document("<user/>"), "<user> has no uri"),
        (
            document(r#"<user uri="sip:a@b" work-number="425-503-2002"/>"#),
            "work number \"425-503-2002\" is not E.164",
        ),
        (
            document(
                r#"<user uri="sip:a@b"/><location-profile name="US"><rule pattern="1"/></location-profile>"#,
            ),
            "<rule> has no translation",
        ),
        (
            document(r#"<user uri="sip:a@b"/><location-profile name="US"/>"#),
            "location profile \"US\" has no rules",
        ),
        (
            document(
                r#"<user uri="sip:a@b"/><location-profile name="US"><rule pattern="1" translation="+1"/><rule pattern="(" translation="+1"/></location-profile>"#,
            ),
            "location profile \"US\", rule 2, pattern '(': the pattern is not a regular expression",
        ),
        (
            "<!DOCTYPE provisioning [<!ENTITY x \"y\">]><provisioning/>".into(),
            "document type declarations are not accepted",
        ),
    ];
    for (body, reason) in cases {
        let error = parse(body.as_bytes()).unwrap_err();
        assert!(error.to_string().starts_with(reason), "{body}: {error}");
    }
    let error = parse(&[0xff, 0xfe, b'<']).unwrap_err();
    assert!(matches!(error, ProvisioningError::Xml(XmlError::NotUtf8)));
}

#[test]
fn hostile_documents_are_bounded() {
    let rules: String = (0..=location_profile::MAX_RULES + 16)
        .map(|n| format!(r#"<rule pattern="^{n}$" translation="+1"/>"#))
        .collect();
    let many = document(&format!(
        r#"<user uri="sip:a@b"/><location-profile name="US">{rules}</location-profile>"#
    ));
    assert!(matches!(
        parse(many.as_bytes()),
        Err(ProvisioningError::Xml(XmlError::TooManyElements { .. }))
    ));
    let rules: String = (0..=location_profile::MAX_RULES)
        .map(|n| format!(r#"<rule pattern="^{n}$" translation="+1"/>"#))
        .collect();
    let over = document(&format!(
        r#"<user uri="sip:a@b"/><location-profile name="US">{rules}</location-profile>"#
    ));
    assert!(matches!(
        parse(over.as_bytes()),
        Err(ProvisioningError::Profile(
            ProfileError::TooManyRules { .. }
        ))
    ));
    let huge = document(&format!(
        r#"<user uri="sip:a@b"/><location-profile name="US"><rule pattern="{}" translation="+1"/></location-profile>"#,
        r"(\d{100}){100}"
    ));
    assert!(matches!(
        parse(huge.as_bytes()),
        Err(ProvisioningError::Profile(ProfileError::BadRule {
            reason: RuleError::BadPattern(_),
            ..
        }))
    ));
    let big = vec![b' '; LIMITS.max_bytes + 1];
    assert!(matches!(
        parse(&big),
        Err(ProvisioningError::Xml(XmlError::TooLarge { .. }))
    ));
    // Every cut of a good document is an error or a document, never a panic.
    let written = vivian().to_xml();
    for end in 0..written.len() {
        let _ = parse(&written.as_bytes()[..end]);
    }
}
