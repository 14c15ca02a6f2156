use super::*;

#[test]
fn bindings_expire_in_virtual_time() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let request = register(
        "c1",
        1,
        &["Contact: <sip:amy@192.0.2.1:5062>", "Expires: 120"],
    );
    registrar.handle_register(at(0), peer(5062), &request, &amy());
    events(&mut registrar);
    assert_eq!(registrar.poll_timeout(), Some(at(120)));

    registrar.handle_timeout(at(119));
    assert_eq!(events(&mut registrar), []);
    assert!(registrar.is_registered(&amy(), at(119)));

    // A binding lives while now < expires_at, even before the timeout runs.
    assert!(!registrar.is_registered(&amy(), at(120)));
    assert!(registrar.contacts(&amy(), at(120)).is_empty());

    registrar.handle_timeout(at(120));
    assert_eq!(
        events(&mut registrar),
        [
            RegistrarEvent::BindingExpired {
                aor: amy(),
                contact: uri("sip:amy@192.0.2.1:5062"),
            },
            RegistrarEvent::AorOffline { aor: amy() },
        ]
    );
    assert_eq!(registrar.poll_timeout(), None);
    assert_eq!(registrar.binding_count(), 0);
}

#[test]
fn a_register_first_times_out_bindings_already_due() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let old = register(
        "c1",
        1,
        &["Contact: <sip:amy@192.0.2.1:5062>", "Expires: 60"],
    );
    registrar.handle_register(at(0), peer(5062), &old, &amy());
    events(&mut registrar);

    // The driver has not called handle_timeout yet; the old binding must not
    // be listed, and the AOR goes offline and online again.
    let new = register("c2", 1, &["Contact: <sip:amy@192.0.2.7:5070>"]);
    let outcome = registrar.handle_register(at(61), peer(5070), &new, &amy());

    assert_eq!(outcome.bindings.len(), 1);
    assert_eq!(outcome.bindings[0].contact, uri("sip:amy@192.0.2.7:5070"));
    let kinds: Vec<_> = events(&mut registrar)
        .into_iter()
        .map(|event| match event {
            RegistrarEvent::AorOnline { .. } => "online",
            RegistrarEvent::Registered { .. } => "registered",
            RegistrarEvent::Unregistered { .. } => "unregistered",
            RegistrarEvent::BindingExpired { .. } => "expired",
            RegistrarEvent::AorOffline { .. } => "offline",
        })
        .collect();
    assert_eq!(kinds, ["expired", "offline", "online", "registered"]);
}

#[test]
fn poll_timeout_stays_exact_over_many_bindings_and_refreshes() {
    let mut registrar = Registrar::new(RegistrarConfig::default());
    let aor = |i: usize| Aor::new(format!("user{i}"), "confab.local");
    let contact = |i: usize| format!("Contact: <sip:u@10.0.{}.{}>", i / 200, i % 200);
    let count = 2000;
    for i in 0..count {
        let line = contact(i);
        let request = register(&format!("c{i}"), 1, &[line.as_str(), "Expires: 3600"]);
        registrar.handle_register(at(0), peer(5062), &request, &aor(i));
    }
    assert_eq!(registrar.binding_count(), count);
    assert_eq!(registrar.poll_timeout(), Some(at(3600)));
    events(&mut registrar);

    // Every other binding refreshes at t=1000, some twice.
    for i in (0..count).step_by(2) {
        let line = contact(i);
        let request = register(&format!("c{i}"), 2, &[line.as_str(), "Expires: 3600"]);
        registrar.handle_register(at(1000), peer(5062), &request, &aor(i));
        if i % 10 == 0 {
            let request = register(&format!("c{i}"), 3, &[line.as_str(), "Expires: 3600"]);
            registrar.handle_register(at(1500), peer(5062), &request, &aor(i));
        }
    }
    assert_eq!(
        registrar.binding_count(),
        count,
        "refreshes add no bindings"
    );
    assert_eq!(registrar.poll_timeout(), Some(at(3600)));

    // Only the unrefreshed half expires at 3600.
    registrar.handle_timeout(at(3600));
    let expired = events(&mut registrar);
    assert_eq!(
        expired.len(),
        count,
        "one BindingExpired and one AorOffline each"
    );
    assert!(expired.iter().all(|e| match e {
        RegistrarEvent::BindingExpired { aor, .. } | RegistrarEvent::AorOffline { aor } => {
            aor.user()
                .trim_start_matches("user")
                .parse::<usize>()
                .unwrap()
                % 2
                == 1
        }
        _ => false,
    }));
    assert_eq!(registrar.poll_timeout(), Some(at(4600)));

    // The bindings refreshed twice do not fire at their first refresh's time.
    registrar.handle_timeout(at(4600));
    assert_eq!(events(&mut registrar).len(), 2 * (count / 2 - count / 10));
    assert_eq!(registrar.poll_timeout(), Some(at(5100)));
    registrar.handle_timeout(at(5099));
    assert_eq!(events(&mut registrar), []);
    registrar.handle_timeout(at(5100));
    assert_eq!(events(&mut registrar).len(), 2 * (count / 10));
    assert_eq!(registrar.poll_timeout(), None);
    assert_eq!(registrar.binding_count(), 0);
}
