use super::*;

#[test]
fn first_register_adds_a_binding_and_lists_it_in_the_200() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let request = register("c1", 1, &["Contact: <sip:amy@192.0.2.1:5062>"]);

    let outcome = registrar.handle_register(at(10), peer(5062), &request, &amy());

    assert_eq!((outcome.status, outcome.reason), (200, "OK"));
    assert_eq!(outcome.status_code().code(), 200);
    assert_eq!(outcome.bindings.len(), 1);
    let binding = &outcome.bindings[0];
    assert_eq!(binding.contact, uri("sip:amy@192.0.2.1:5062"));
    assert_eq!(binding.expires_at, at(10 + 3600), "default expiry");
    assert_eq!((binding.call_id.as_str(), binding.cseq), ("c1", 1));
    assert_eq!(binding.source, peer(5062));
    assert_eq!(
        printed(&outcome.response_headers(at(10))),
        ["Contact: <sip:amy@192.0.2.1:5062>;expires=3600"]
    );
    assert!(registrar.is_registered(&amy(), at(10)));
    assert!(!registrar.is_registered(&hao(), at(10)));
    assert_eq!(
        events(&mut registrar),
        [
            RegistrarEvent::AorOnline { aor: amy() },
            RegistrarEvent::Registered {
                aor: amy(),
                contact: uri("sip:amy@192.0.2.1:5062"),
            },
        ]
    );
}

#[test]
fn refresh_extends_the_binding_without_a_registered_event() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let contact = "Contact: <sip:amy@192.0.2.1:5062>";
    registrar.handle_register(
        at(0),
        peer(5062),
        &register("c1", 1, &[contact, "Expires: 600"]),
        &amy(),
    );
    events(&mut registrar);

    // The client's NAT binding moved: the source follows the refresh.
    let refresh = register("c1", 2, &[contact, "Expires: 600"]);
    let outcome = registrar.handle_register(at(300), peer(6000), &refresh, &amy());

    assert!(outcome.is_success());
    let binding = &outcome.bindings[0];
    assert_eq!(binding.expires_at, at(900));
    assert_eq!(binding.cseq, 2);
    assert_eq!(binding.source, peer(6000));
    assert_eq!(binding.refreshed_at, at(300));
    assert_eq!(
        printed(&outcome.response_headers(at(300))),
        ["Contact: <sip:amy@192.0.2.1:5062>;expires=600"]
    );
    assert_eq!(events(&mut registrar), []);
    assert_eq!(registrar.poll_timeout(), Some(at(900)));
}

#[test]
fn expires_zero_removes_the_binding() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let contact = "Contact: <sip:amy@192.0.2.1:5062>";
    registrar.handle_register(at(0), peer(5062), &register("c1", 1, &[contact]), &amy());
    events(&mut registrar);

    let remove = register("c1", 2, &["Contact: <sip:amy@192.0.2.1:5062>;expires=0"]);
    let outcome = registrar.handle_register(at(5), peer(5062), &remove, &amy());

    assert!(outcome.is_success());
    assert!(outcome.bindings.is_empty());
    assert!(outcome.response_headers(at(5)).is_empty());
    assert!(!registrar.is_registered(&amy(), at(5)));
    assert_eq!(registrar.binding_count(), 0);
    assert_eq!(registrar.poll_timeout(), None);
    assert_eq!(
        events(&mut registrar),
        [
            RegistrarEvent::Unregistered {
                aor: amy(),
                contact: uri("sip:amy@192.0.2.1:5062"),
            },
            RegistrarEvent::AorOffline { aor: amy() },
        ]
    );
}

#[test]
fn removing_an_unknown_binding_succeeds_and_changes_nothing() {
    let mut registrar = amy_on_two_clients();
    let remove = register(
        "other",
        1,
        &["Contact: <sip:amy@198.51.100.9>", "Expires: 0"],
    );

    let outcome = registrar.handle_register(at(1), peer(5062), &remove, &amy());

    assert!(outcome.is_success());
    assert_eq!(outcome.bindings.len(), 2);
    assert_eq!(events(&mut registrar), []);
}

#[test]
fn one_user_on_two_clients_has_both_bindings() {
    let mut registrar = amy_on_two_clients();

    let both = contact_uris(&registrar, &amy(), at(1));
    assert_eq!(both.len(), 2);
    assert!(both.contains(&"sip:amy@192.0.2.1:5062".to_owned()));
    assert!(both.contains(&"sip:amy@192.0.2.7:5070".to_owned()));

    // Signing out of one client leaves the user online on the other.
    let remove = register(
        "laptop",
        2,
        &["Contact: <sip:amy@192.0.2.7:5070>", "Expires: 0"],
    );
    let outcome = registrar.handle_register(at(2), peer(5070), &remove, &amy());
    assert_eq!(outcome.bindings.len(), 1);
    assert!(registrar.is_registered(&amy(), at(2)));
    assert_eq!(
        events(&mut registrar),
        [RegistrarEvent::Unregistered {
            aor: amy(),
            contact: uri("sip:amy@192.0.2.7:5070"),
        }]
    );
}

#[test]
fn a_new_call_id_replaces_the_binding_whatever_its_cseq() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let contact = "Contact: <sip:amy@192.0.2.1:5062>";
    registrar.handle_register(
        at(0),
        peer(5062),
        &register("before-reboot", 10, &[contact]),
        &amy(),
    );
    events(&mut registrar);

    let request = register("after-reboot", 1, &[contact, "Expires: 300"]);
    let outcome = registrar.handle_register(at(20), peer(5062), &request, &amy());

    assert!(outcome.is_success());
    assert_eq!(outcome.bindings.len(), 1);
    let binding = &outcome.bindings[0];
    assert_eq!(
        (binding.call_id.as_str(), binding.cseq),
        ("after-reboot", 1)
    );
    assert_eq!(binding.expires_at, at(320));
    assert_eq!(events(&mut registrar), [], "a refresh, not a new binding");
    assert_eq!(registrar.binding_count(), 1);
}

#[test]
fn contacts_are_ordered_by_q_then_most_recent() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let steps: [(u64, &str, &str); 4] = [
        (0, "a", "Contact: <sip:amy@192.0.2.1>;q=0.5"),
        (1, "b", "Contact: <sip:amy@192.0.2.2>"),
        (2, "c", "Contact: <sip:amy@192.0.2.3>;q=0.9"),
        (3, "d", "Contact: <sip:amy@192.0.2.4>;q=1.0"),
    ];
    for (t, call_id, contact) in steps {
        registrar.handle_register(at(t), peer(5062), &register(call_id, 1, &[contact]), &amy());
    }

    let outcome = registrar.handle_register(at(4), peer(5062), &register("query", 1, &[]), &amy());

    // No q counts as 1; between equal q, the later registration comes first.
    let order: Vec<_> = outcome
        .bindings
        .iter()
        .map(|b| b.contact.to_string())
        .collect();
    assert_eq!(
        order,
        [
            "sip:amy@192.0.2.4",
            "sip:amy@192.0.2.2",
            "sip:amy@192.0.2.3",
            "sip:amy@192.0.2.1"
        ]
    );
    assert_eq!(outcome.bindings[2].q, Some(0.9));
    assert_eq!(outcome.bindings[1].q, None);
    assert_eq!(
        printed(&outcome.response_headers(at(4))),
        [
            "Contact: <sip:amy@192.0.2.4>;expires=3599;q=1",
            "Contact: <sip:amy@192.0.2.2>;expires=3597",
            "Contact: <sip:amy@192.0.2.3>;expires=3598;q=0.9",
            "Contact: <sip:amy@192.0.2.1>;expires=3596;q=0.5",
        ]
    );
}

#[test]
fn a_query_without_contact_lists_bindings_and_changes_nothing() {
    let mut registrar = amy_on_two_clients();
    let before = registrar.poll_timeout();

    let outcome = registrar.handle_register(at(7), peer(5062), &register("desk", 1, &[]), &amy());

    assert!(outcome.is_success());
    assert_eq!(outcome.bindings.len(), 2);
    assert_eq!(registrar.poll_timeout(), before);
    assert_eq!(events(&mut registrar), []);
    let empty = registrar.handle_register(at(7), peer(5062), &register("q", 1, &[]), &hao());
    assert!(empty.is_success() && empty.bindings.is_empty());
}

#[test]
fn expires_in_rounds_down_but_never_to_zero_while_live() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let request = register("c1", 1, &["Contact: <sip:amy@192.0.2.1>", "Expires: 60"]);
    registrar.handle_register(at(0), peer(5062), &request, &amy());
    let binding = registrar.contacts(&amy(), at(0)).remove(0);

    assert_eq!(
        binding.expires_in(Time::ZERO + Duration::from_millis(500)),
        59
    );
    assert_eq!(
        binding.expires_in(Time::ZERO + Duration::from_millis(59_600)),
        1
    );
    assert_eq!(binding.expires_in(at(60)), 0);
}

#[test]
fn a_flow_is_known_while_a_binding_was_last_registered_from_it() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let contact = "Contact: <sip:amy@192.0.2.1:5062>";
    assert!(!registrar.has_flow(peer(5062)));
    registrar.handle_register(
        at(0),
        peer(5062),
        &register("c1", 1, &[contact, "Expires: 600"]),
        &amy(),
    );
    assert!(registrar.has_flow(peer(5062)));

    // A refresh from a new NAT mapping moves the binding to the new flow.
    let refresh = register("c1", 2, &[contact, "Expires: 600"]);
    registrar.handle_register(at(300), peer(6000), &refresh, &amy());
    assert!(
        !registrar.has_flow(peer(5062)),
        "the old mapping is forgotten"
    );
    assert!(registrar.has_flow(peer(6000)));

    registrar.handle_timeout(at(900));
    assert!(!registrar.has_flow(peer(6000)), "expired with its binding");

    registrar.handle_register(at(1000), peer(7000), &register("c2", 1, &[contact]), &amy());
    let remove = register("c2", 2, &["Contact: <sip:amy@192.0.2.1:5062>;expires=0"]);
    registrar.handle_register(at(1001), peer(7000), &remove, &amy());
    assert!(!registrar.has_flow(peer(7000)), "removed with its binding");
}
