use rsip::headers::{ToTypedHeader, UntypedHeader};

use super::super::contact::{ContactValue, DeltaSeconds, normalize_escapes, parse_contact_header};
use super::*;

#[test]
fn instance_and_reg_id_are_remembered_and_echoed() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let contact = format!(
        "Contact: <sip:amy@192.0.2.1:5062;transport=tcp;ob>;expires=600;+sip.instance=\"<{INSTANCE}>\";reg-id=1"
    );
    let request = register("c1", 1, &[contact.as_str()]);

    let outcome = registrar.handle_register(
        at(0),
        Peer::tcp(SocketAddr::from(([192, 0, 2, 1], 40000))),
        &request,
        &amy(),
    );

    let binding = &outcome.bindings[0];
    assert_eq!(binding.instance.as_deref(), Some(INSTANCE));
    assert_eq!(binding.reg_id, Some(1));
    assert_eq!(binding.contact.transport(), Some(&rsip::Transport::Tcp));
    assert_eq!(binding.source.transport, crate::proto::Transport::Tcp);
    let headers = printed(&outcome.response_headers(at(0)));
    assert_eq!(headers.len(), 1);
    assert!(
        headers[0].starts_with("Contact: <sip:amy@192.0.2.1:5062;transport="),
        "{headers:?}"
    );
    assert!(
        headers[0].ends_with(&format!(
            ";ob>;expires=600;+sip.instance=\"<{INSTANCE}>\";reg-id=1"
        )),
        "{headers:?}"
    );
}

#[test]
fn a_new_contact_for_the_same_instance_and_reg_id_replaces_the_old() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let from = |host: &str| {
        format!("Contact: <sip:amy@{host}:5062;ob>;+sip.instance=\"<{INSTANCE}>\";reg-id=1")
    };
    let first = from("192.0.2.1");
    registrar.handle_register(
        at(0),
        peer(5062),
        &register("c1", 1, &[first.as_str()]),
        &amy(),
    );
    events(&mut registrar);

    // The client moved networks and registers its new address.
    let moved = from("198.51.100.4");
    let outcome = registrar.handle_register(
        at(30),
        peer(5062),
        &register("c1", 2, &[moved.as_str()]),
        &amy(),
    );

    assert_eq!(
        contact_uris(&registrar, &amy(), at(30)),
        ["sip:amy@198.51.100.4:5062;ob"]
    );
    assert_eq!(outcome.bindings.len(), 1);
    assert_eq!(
        events(&mut registrar),
        [
            RegistrarEvent::Unregistered {
                aor: amy(),
                contact: uri("sip:amy@192.0.2.1:5062;ob"),
            },
            RegistrarEvent::Registered {
                aor: amy(),
                contact: uri("sip:amy@198.51.100.4:5062;ob"),
            },
        ]
    );
    assert_eq!(registrar.binding_count(), 1);
    assert_eq!(registrar.poll_timeout(), Some(at(30 + 3600)));
}

#[test]
fn reg_id_without_an_instance_is_ignored() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let request = register(
        "c1",
        1,
        &[
            "Contact: <sip:amy@192.0.2.1>;reg-id=1",
            "Contact: <sip:amy@192.0.2.2>;reg-id=1",
        ],
    );

    let outcome = registrar.handle_register(at(0), peer(5062), &request, &amy());

    assert_eq!(
        outcome.bindings.len(),
        2,
        "no flow matching without an instance"
    );
    assert!(outcome.bindings.iter().all(|b| b.reg_id.is_none()));
}

#[test]
fn contact_uris_match_by_rfc_3261_equality() {
    // (registered, then refreshed with, same binding?)
    let cases = [
        ("sip:amy@HOST.example", "sip:amy@host.example", true),
        ("sip:%61my@host.example", "sip:amy@host.example", true),
        ("sip:amy@host.example;ob", "sip:amy@host.example", true),
        (
            "sip:amy@host.example;transport=TCP",
            "sip:amy@host.example;transport=tcp",
            true,
        ),
        ("sip:Amy@host.example", "sip:amy@host.example", false),
        ("sip:amy@host.example", "sip:amy@host.example:5060", false),
        (
            "sip:amy@host.example",
            "sip:amy@host.example;transport=tcp",
            false,
        ),
        ("sip:amy@host.example", "sips:amy@host.example", false),
        ("sip:amy@192.0.2.1", "sip:amy@192.0.2.1", true),
        ("sip:amy@192.0.2.1", "sip:amy@192.0.2.10", false),
        ("sip:amy@192.0.2.1:5062", "sip:amy@192.0.2.1:5063", false),
        ("sip:amy@192.0.2.1", "sip:amy@host.example", false),
        (
            "sip:amy@host.example;maddr=192.0.2.1",
            "sip:amy@host.example",
            false,
        ),
    ];
    for (first, second, same) in cases {
        let mut registrar = Registrar::new(RegistrarConfig::default());
        let first_line = format!("Contact: <{first}>");
        let second_line = format!("Contact: <{second}>");
        registrar.handle_register(
            at(0),
            peer(5062),
            &register("c1", 1, &[first_line.as_str()]),
            &amy(),
        );
        registrar.handle_register(
            at(1),
            peer(5062),
            &register("c1", 2, &[second_line.as_str()]),
            &amy(),
        );
        let expected = if same { 1 } else { 2 };
        assert_eq!(registrar.binding_count(), expected, "{first} vs {second}");
    }
}

#[test]
fn the_200_lists_a_contact_as_its_register_wrote_it() {
    // A client may look for its own contact in the 200 by text; printed
    // again from its parsed form, this one would say `transport=UDP`.
    let written = "sip:amy@192.0.2.1:5062;transport=udp;rinstance=ab12;ob";
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let line = format!("Contact: \"Amy\" <{written}>;expires=600");

    let outcome =
        registrar.handle_register(at(0), peer(5062), &register("c1", 1, &[&line]), &amy());

    assert_eq!(
        printed(&outcome.response_headers(at(0))),
        [format!("Contact: <{written}>;expires=600")]
    );
    assert_eq!(outcome.bindings[0].contact, uri(written));
}

#[test]
fn an_addr_spec_contact_takes_its_parameters_as_header_parameters() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let request = register(
        "c1",
        1,
        &["Contact: sip:amy@192.0.2.1:5062;expires=90;q=0.7"],
    );

    let outcome = registrar.handle_register(at(0), peer(5062), &request, &amy());

    let binding = &outcome.bindings[0];
    assert_eq!(binding.contact, uri("sip:amy@192.0.2.1:5062"));
    assert!(binding.contact.params.is_empty());
    assert_eq!(binding.expires_at, at(90));
    assert_eq!(binding.q, Some(0.7));
}

#[test]
fn aor_from_a_to_uri_is_canonical() {
    let aor = Aor::from_uri(&uri("sips:%61my@CONFAB.Local:5061;transport=tcp")).unwrap();
    assert_eq!(aor, amy());
    assert_eq!(aor.to_string(), "sip:amy@confab.local");
    assert_eq!((aor.user(), aor.domain()), ("amy", "confab.local"));
    assert_ne!(Aor::from_uri(&uri("sip:Amy@confab.local")).unwrap(), amy());
    assert!(matches!(
        Aor::from_uri(&uri("sip:confab.local")),
        Err(RegistrarError::NotAnAor(_))
    ));
}

#[test]
fn contact_parsing_quirks() {
    let values = parse_contact_header(
        "\"Amy \\\"A\\\", desk\" <sip:amy@192.0.2.1>;EXPIRES=60;+sip.instance=\"<urn:uuid:X;y,z>\"",
    )
    .unwrap();
    let [ContactValue::Address(address)] = values.as_slice() else {
        panic!("one address expected: {values:?}");
    };
    assert_eq!(address.uri, uri("sip:amy@192.0.2.1"));
    assert_eq!(address.expires, Some(DeltaSeconds::Seconds(60)));
    assert_eq!(address.instance.as_deref(), Some("urn:uuid:X;y,z"));
    assert_eq!(parse_contact_header("  ").unwrap(), []);
    assert_eq!(parse_contact_header("*").unwrap(), [ContactValue::Star]);
    assert_eq!(normalize_escapes("%61%40%7e%c3%a9é"), "a%40~%C3%A9é");
    assert_eq!(DeltaSeconds::parse(" 42 "), DeltaSeconds::Seconds(42));
    assert_eq!(DeltaSeconds::parse("-1"), DeltaSeconds::Malformed);
}

/// What rsip 0.4's typed Contact does with what registrars receive; these
/// are the reasons contact.rs parses Contact values itself.
#[test]
fn rsip_typed_contact_cannot_carry_a_registration() {
    let typed = |value: &str| rsip::headers::Contact::new(value).typed();
    let instance = format!("<sip:amy@192.0.2.1>;expires=60;+sip.instance=\"<{INSTANCE}>\"");
    assert!(typed(&instance).is_err(), "quoted parameter values fail");
    assert!(
        typed("<sip:a@192.0.2.1>, <sip:b@192.0.2.2>").is_err(),
        "lists fail"
    );
    let star = typed("*").unwrap();
    assert_eq!(
        star.uri.host().to_string(),
        "*",
        "the wildcard reads as a host"
    );
    // A tel: URI reads as host `tel` with the number as its port, or fails
    // when the number does not fit a port.
    let short_tel = rsip::Uri::try_from("tel:+4255").unwrap();
    assert_eq!(short_tel.scheme, None);
    assert_eq!(short_tel.host().to_string(), "tel");
    assert!(rsip::Uri::try_from("tel:+14255550100").is_err());
}
