//! The invariants of the location service hold after any request, accepted
//! or refused: generated REGISTERs that add, refresh, move, remove and
//! wildcard bindings, with stale CSeqs, too-brief intervals and full AORs
//! among them, and time that passes.

use std::collections::HashMap;

use super::*;

impl Registrar {
    /// Panics, saying which, when an invariant of the module documentation
    /// or of the flow counts does not hold.
    fn assert_consistent(&self) {
        let mut indexed = 0;
        let mut flows: HashMap<Peer, u32> = HashMap::new();
        for (aor, entries) in &self.aors {
            assert!(!entries.is_empty(), "{aor} is stored with no binding");
            for (i, entry) in entries.iter().enumerate() {
                let at = (entry.binding.expires_at, entry.serial);
                assert_eq!(self.expiries.get(&at), Some(aor), "{aor}: index of {at:?}");
                assert!(
                    entries[i + 1..].iter().all(|other| other.key != entry.key),
                    "{aor}: two bindings with the key of {}",
                    entry.binding.contact
                );
                *flows.entry(entry.binding.source).or_default() += 1;
                indexed += 1;
            }
        }
        assert_eq!(
            self.expiries.len(),
            indexed,
            "index entries without a binding"
        );
        assert_eq!(self.flows, flows, "flow counts");
    }
}

#[test]
fn generated_requests_keep_the_index_and_the_flow_counts_in_step() {
    let config = RegistrarConfig {
        max_contacts: 3,
        ..RegistrarConfig::default()
    };
    let mut registrar = Registrar::new(config);
    let mut random = XorShift(0x0dd_ba11_5eed_0002);
    let aors = [amy(), hao()];
    let hosts = [
        "192.0.2.1",
        "192.0.2.2:5070",
        "192.0.2.3",
        "Host.Example",
        "host.example",
        "host.example;transport=tcp",
    ];
    let expiries = [
        "",
        ";expires=0",
        ";expires=30",
        ";expires=600",
        ";expires=3600",
    ];
    let mut cseq = 1;
    let mut now = 0;
    let mut outcomes: HashMap<u16, usize> = HashMap::new();
    for _ in 0..4000 {
        now += random.below(200) as u64;
        let call_id = ["desk", "laptop"][random.below(2)];
        // Now and then an old CSeq, which must be refused as out of order.
        cseq = if random.below(10) == 0 {
            cseq / 2
        } else {
            cseq + 1
        };
        let mut lines = Vec::new();
        if random.below(25) == 0 {
            lines.push("Contact: *".to_owned());
            // Without Expires: 0 a wildcard is refused.
            if random.below(4) != 0 {
                lines.push("Expires: 0".to_owned());
            }
        } else {
            for _ in 0..random.below(4) {
                let host = hosts[random.below(hosts.len())];
                let mut line = format!("Contact: <sip:u@{host}>{}", expiries[random.below(5)]);
                if random.below(3) == 0 {
                    let reg_id = random.below(2) + 1;
                    line.push_str(&format!(";+sip.instance=\"<{INSTANCE}>\";reg-id={reg_id}"));
                }
                lines.push(line);
            }
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let request = register(call_id, cseq, &lines);
        let aor = &aors[random.below(aors.len())];
        let source = peer([5062, 5070, 6000][random.below(3)]);

        let outcome = registrar.handle_register(at(now), source, &request, aor);

        *outcomes.entry(outcome.status).or_default() += 1;
        registrar.assert_consistent();
        if outcome.is_success() {
            assert_eq!(
                outcome.bindings.len(),
                registrar.contacts(aor, at(now)).len()
            );
        }
        events(&mut registrar);
    }
    // Every path was taken, not only the common one: accepted, a wildcard
    // refused (400), too many contacts (403), too brief (423) and out of
    // order (500).
    for status in [200, 400, 403, 423, 500] {
        assert!(
            outcomes.get(&status).is_some_and(|&n| n > 20),
            "{status}: {outcomes:?}"
        );
    }
    assert!(registrar.binding_count() > 0, "the run ended with bindings");
}
