use super::*;

#[test]
fn contacts_come_from_lists_separate_headers_and_the_compact_form() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let request = register(
        "c1",
        1,
        &[
            "Contact: \"Amy, desk\" <sip:amy@192.0.2.1:5062>;q=0.2, <sip:amy@192.0.2.2>;q=0.3",
            "Contact: <sip:amy@192.0.2.3>;q=0.4",
            "m: <sip:amy@192.0.2.4>;q=0.5",
        ],
    );

    let outcome = registrar.handle_register(at(0), peer(5062), &request, &amy());

    assert!(outcome.is_success());
    assert_eq!(
        contact_uris(&registrar, &amy(), at(0)),
        [
            "sip:amy@192.0.2.4",
            "sip:amy@192.0.2.3",
            "sip:amy@192.0.2.2",
            "sip:amy@192.0.2.1:5062"
        ]
    );
}

#[test]
fn star_with_expires_zero_removes_every_binding() {
    let mut registrar = amy_on_two_clients();
    let request = register("desk", 2, &["Contact: *", "Expires: 0"]);

    let outcome = registrar.handle_register(at(5), peer(5062), &request, &amy());

    assert!(outcome.is_success());
    assert!(outcome.bindings.is_empty());
    assert!(!registrar.is_registered(&amy(), at(5)));
    assert_eq!(registrar.poll_timeout(), None);
    let events = events(&mut registrar);
    assert_eq!(events.len(), 3);
    assert!(
        events[..2]
            .iter()
            .all(|e| matches!(e, RegistrarEvent::Unregistered { .. }))
    );
    assert_eq!(events[2], RegistrarEvent::AorOffline { aor: amy() });
}

#[test]
fn star_is_refused_unless_alone_and_with_expires_zero() {
    let cases: [(&[&str], RegistrarError); 4] = [
        (
            &["Contact: *", "Expires: 60"],
            RegistrarError::WildcardWithoutZeroExpires,
        ),
        (&["Contact: *"], RegistrarError::WildcardWithoutZeroExpires),
        (
            &["Contact: *;expires=0"],
            RegistrarError::UnsupportedContactUri("*".into()),
        ),
        (
            &["Contact: *", "Contact: <sip:amy@192.0.2.9>", "Expires: 0"],
            RegistrarError::WildcardNotAlone,
        ),
    ];
    for (lines, expected) in cases {
        let mut registrar = amy_on_two_clients();
        let outcome =
            registrar.handle_register(at(5), peer(5062), &register("x", 1, lines), &amy());
        assert_eq!(outcome.status, 400, "{lines:?}");
        assert_eq!(outcome.error, Some(expected), "{lines:?}");
        assert_eq!(
            registrar.contacts(&amy(), at(5)).len(),
            2,
            "{lines:?}: nothing removed"
        );
        assert_eq!(events(&mut registrar), []);
    }
}

#[test]
fn star_with_the_call_id_of_a_binding_and_an_old_cseq_fails() {
    let mut registrar = amy_on_two_clients();
    let request = register("laptop", 1, &["Contact: *", "Expires: 0"]);

    let outcome = registrar.handle_register(at(5), peer(5070), &request, &amy());

    assert_eq!(outcome.status, 500);
    assert_eq!(registrar.contacts(&amy(), at(5)).len(), 2);
}

#[test]
fn too_brief_an_interval_is_refused_with_min_expires() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let request = register(
        "c1",
        1,
        &[
            "Contact: <sip:amy@192.0.2.1:5062>;expires=3600",
            "Contact: <sip:amy@192.0.2.2>;expires=30",
        ],
    );

    let outcome = registrar.handle_register(at(0), peer(5062), &request, &amy());

    assert_eq!(
        (outcome.status, outcome.reason),
        (423, "Interval Too Brief")
    );
    assert_eq!(outcome.min_expires, Some(60));
    assert_eq!(
        outcome.error,
        Some(RegistrarError::IntervalTooBrief {
            requested: 30,
            min_expires: 60,
        })
    );
    assert_eq!(
        printed(&outcome.response_headers(at(0))),
        ["Min-Expires: 60"]
    );
    assert_eq!(outcome.status_code().to_string(), "423 Interval Too Brief");
    // All or nothing: the acceptable contact was not bound either.
    assert!(!registrar.is_registered(&amy(), at(0)));
    assert_eq!(events(&mut registrar), []);
}

#[test]
fn long_intervals_are_clamped_to_the_maximum() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    for (call_id, expires) in [("c1", "100000"), ("c2", "99999999999999")] {
        let contact = format!("Contact: <sip:amy@192.0.2.1:5062>;expires={expires}");
        let request = register(call_id, 1, &[contact.as_str()]);
        let outcome = registrar.handle_register(at(0), peer(5062), &request, &amy());
        assert_eq!(outcome.bindings[0].expires_at, at(7200), "{expires}");
        assert_eq!(
            printed(&outcome.response_headers(at(0))),
            ["Contact: <sip:amy@192.0.2.1:5062>;expires=7200"]
        );
    }
}

#[test]
fn malformed_expires_values_get_the_default() {
    let mut registrar = Registrar::new(RegistrarConfig {
        default_expires: 1800,
        ..RegistrarConfig::default()
    });
    let request = register(
        "c1",
        1,
        &[
            "Contact: <sip:amy@192.0.2.1:5062>;expires=soon",
            "Contact: <sip:amy@192.0.2.2>",
            "Expires: Thu, 01 Dec 1994 16:00:00 GMT",
        ],
    );

    let outcome = registrar.handle_register(at(0), peer(5062), &request, &amy());

    assert!(outcome.bindings.iter().all(|b| b.expires_at == at(1800)));
    assert_eq!(outcome.bindings.len(), 2);
}

#[test]
fn the_contact_expires_parameter_beats_the_expires_header() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let request = register(
        "c1",
        1,
        &[
            "Contact: <sip:amy@192.0.2.1:5062>;expires=120, <sip:amy@192.0.2.2>",
            "Expires: 3000",
        ],
    );

    registrar.handle_register(at(0), peer(5062), &request, &amy());

    let bindings = registrar.contacts(&amy(), at(0));
    let expiry_of = |host: &str| {
        bindings
            .iter()
            .find(|b| b.contact.to_string().contains(host))
            .map(|b| b.expires_at)
    };
    assert_eq!(expiry_of("192.0.2.1"), Some(at(120)));
    assert_eq!(expiry_of("192.0.2.2"), Some(at(3000)));
    assert_eq!(registrar.poll_timeout(), Some(at(120)));
}

#[test]
fn same_call_id_with_a_cseq_not_higher_is_out_of_order() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let contact = "Contact: <sip:amy@192.0.2.1:5062>";
    registrar.handle_register(
        at(0),
        peer(5062),
        &register("c1", 5, &[contact, "Expires: 600"]),
        &amy(),
    );
    events(&mut registrar);

    for stale in [5, 4] {
        let request = register("c1", stale, &[contact, "Expires: 3600"]);
        let outcome = registrar.handle_register(at(10), peer(5062), &request, &amy());
        assert_eq!(
            (outcome.status, outcome.reason),
            (500, "Out-of-Order REGISTER")
        );
        assert_eq!(
            outcome.error,
            Some(RegistrarError::OutOfOrder {
                call_id: "c1".into(),
                stored: 5,
                received: stale,
            })
        );
        assert!(outcome.bindings.is_empty());
    }
    // Removal is refused as well.
    let remove = register("c1", 3, &[contact, "Expires: 0"]);
    assert_eq!(
        registrar
            .handle_register(at(10), peer(5062), &remove, &amy())
            .status,
        500
    );

    let binding = &registrar.contacts(&amy(), at(10))[0];
    assert_eq!(
        (binding.cseq, binding.expires_at),
        (5, at(600)),
        "untouched"
    );
    assert_eq!(events(&mut registrar), []);
}

#[test]
fn missing_call_id_or_cseq_is_refused() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let without = |skip: &str| {
        let text = "REGISTER sip:confab.local SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bK1\r\n\
             To: <sip:amy@confab.local>\r\n\
             From: <sip:amy@confab.local>;tag=a1\r\n\
             Call-ID: c1\r\n\
             CSeq: 1 REGISTER\r\n\
             Contact: <sip:amy@192.0.2.1>\r\n\
             Content-Length: 0\r\n\r\n";
        let kept: String = text
            .split_inclusive("\r\n")
            .filter(|line| !line.starts_with(skip))
            .collect();
        rsip::Request::try_from(kept.as_str()).unwrap()
    };

    let outcome = registrar.handle_register(at(0), peer(5062), &without("Call-ID"), &amy());
    assert_eq!(
        (outcome.status, outcome.error),
        (400, Some(RegistrarError::MissingCallId))
    );
    let outcome = registrar.handle_register(at(0), peer(5062), &without("CSeq"), &amy());
    assert_eq!(
        (outcome.status, outcome.error),
        (400, Some(RegistrarError::MalformedCseq))
    );
    assert_eq!(registrar.binding_count(), 0);
}

#[test]
fn more_contacts_than_allowed_are_refused_with_403() {
    let mut registrar = Registrar::new(RegistrarConfig {
        max_contacts: 2,
        ..RegistrarConfig::default()
    });
    registrar.handle_register(
        at(0),
        peer(5062),
        &register(
            "c1",
            1,
            &["Contact: <sip:amy@192.0.2.1>, <sip:amy@192.0.2.2>"],
        ),
        &amy(),
    );

    let third = register("c2", 1, &["Contact: <sip:amy@192.0.2.3>"]);
    let outcome = registrar.handle_register(at(1), peer(5062), &third, &amy());
    assert_eq!((outcome.status, outcome.reason), (403, "Too Many Contacts"));
    assert_eq!(registrar.binding_count(), 2);

    // Refreshing, or replacing one contact by another, stays allowed.
    let swap = register(
        "c1",
        2,
        &[
            "Contact: <sip:amy@192.0.2.1>",
            "Contact: <sip:amy@192.0.2.2>;expires=0",
            "Contact: <sip:amy@192.0.2.3>",
        ],
    );
    assert!(
        registrar
            .handle_register(at(2), peer(5062), &swap, &amy())
            .is_success()
    );
    assert_eq!(registrar.binding_count(), 2);
}

/// Header lines, and a test of the error they must cause.
type BadCase = (&'static [&'static str], fn(&RegistrarError) -> bool);

#[test]
fn bad_contacts_and_headers_are_refused_with_400() {
    let cases: [BadCase; 9] = [
        (&["Contact: <sip:amy@192.0.2.1"], |e| {
            matches!(e, RegistrarError::MalformedContact(_))
        }),
        (&["Contact: \"Amy <sip:amy@192.0.2.1>"], |e| {
            matches!(e, RegistrarError::MalformedContact(_))
        }),
        (&["Contact: <sip:amy@192.0.2.1> junk"], |e| {
            matches!(e, RegistrarError::MalformedContact(_))
        }),
        (&["Contact: <tel:+14255550100>"], |e| {
            matches!(e, RegistrarError::UnsupportedContactUri(_))
        }),
        (&["Contact: <mailto:amy@example.com>"], |e| {
            matches!(e, RegistrarError::UnsupportedContactUri(_))
        }),
        (&["Contact: <sip:amy@192.0.2.1?Subject=hi>"], |e| {
            matches!(e, RegistrarError::UnsupportedContactUri(_))
        }),
        (&["Contact: <sip:amy@[2001:db8::1]>"], |e| {
            matches!(e, RegistrarError::UnsupportedContactUri(_))
        }),
        (&["Contact: <sip:amy@192.0.2.1>;q=1.5"], |e| {
            matches!(e, RegistrarError::MalformedQ(_))
        }),
        (
            &["Contact: <sip:amy@192.0.2.1>;+sip.instance=\"<urn:uuid:1>\";reg-id=0"],
            |e| matches!(e, RegistrarError::MalformedRegId(_)),
        ),
    ];
    for (lines, is_expected) in cases {
        let mut registrar = amy_on_two_clients();
        // A good contact first: the bad one must abort the whole request.
        let mut all = vec!["Contact: <sip:amy@198.51.100.1>"];
        all.extend_from_slice(lines);
        let outcome = registrar.handle_register(at(1), peer(5062), &register("x", 1, &all), &amy());
        assert_eq!(outcome.status, 400, "{lines:?}");
        assert!(
            outcome.error.as_ref().is_some_and(is_expected),
            "{lines:?}: {:?}",
            outcome.error
        );
        assert_eq!(registrar.binding_count(), 2, "{lines:?}");
        assert_eq!(events(&mut registrar), []);
    }
}

#[test]
fn a_contact_listed_twice_is_not_out_of_order_with_itself() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let twice = register(
        "c1",
        1,
        &["Contact: <sip:amy@192.0.2.1>;expires=600, <sip:amy@192.0.2.1>;expires=900"],
    );

    let outcome = registrar.handle_register(at(0), peer(5062), &twice, &amy());

    assert!(outcome.is_success(), "{:?}", outcome.error);
    assert_eq!(outcome.bindings.len(), 1);
    assert_eq!(outcome.bindings[0].expires_at, at(900), "the last one wins");

    let add_then_remove = register(
        "c1",
        2,
        &[
            "Contact: <sip:amy@192.0.2.2>",
            "Contact: <sip:amy@192.0.2.2>;expires=0",
        ],
    );
    let outcome = registrar.handle_register(at(1), peer(5062), &add_then_remove, &amy());
    assert!(outcome.is_success(), "{:?}", outcome.error);
    assert_eq!(
        contact_uris(&registrar, &amy(), at(1)),
        ["sip:amy@192.0.2.1"]
    );
    assert_eq!(registrar.binding_count(), 1);
}
