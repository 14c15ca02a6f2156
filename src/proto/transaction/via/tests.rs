use super::*;

fn at(addr: &str) -> SocketAddr {
    addr.parse().unwrap()
}

#[test]
fn branch_and_sent_by_of_the_first_via_parm() {
    let via =
        ViaParm::first("SIP/2.0/UDP PC33.Example.com:5061;Branch=z9hG4bK776;ttl=1, SIP/2.0/UDP b")
            .unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK776"));
    assert_eq!(via.sent_by_key(), "pc33.example.com:5061");
    let via = ViaParm::first("SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKa").unwrap();
    assert_eq!(via.sent_by_key(), "10.0.0.1");
    assert_eq!(
        ViaParm::first("SIP/2.0/UDP h;rport").unwrap().branch(),
        None
    );
    // Linear white space is SP and HTAB (RFC 3261 §25.1), around any part.
    let via = ViaParm::first(" SIP/2.0/UDP\th ; branch = z9hG4bKt ").unwrap();
    assert_eq!(via.branch(), Some("z9hG4bKt"));
    assert_eq!(via.sent_by_key(), "h");
}

#[test]
fn what_is_not_a_via_parm_is_refused() {
    for bad in [
        "",
        "SIP/2.0/UDP",
        "SIP/2.0 host;branch=z9hG4bK1",
        "SIP/2.0/UDP/X host",
        "SIP//UDP host",
        "SIP/2.0/UDP :5060;branch=z9hG4bK1",
        "SIP/2.0/UDP host:99999;branch=z9hG4bK1",
        "SIP/2.0/UDP host:port",
        "SIP/2.0/UDP [::1]:5060;branch=z9hG4bK1",
        "SIP/2.0/UDP ho st",
        // Unicode's white space is not SIP's.
        "SIP/2.0/UDP\u{a0}host;branch=z9hG4bK1",
    ] {
        assert!(ViaParm::first(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn stamping_follows_rfc_3261_and_3581() {
    let via = |text| ViaParm::first(text).unwrap();
    // §18.2.1: the sent-by is the source: nothing to note.
    assert_eq!(
        via("SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1").stamped(at("10.0.0.2:5060")),
        None
    );
    // A name, or another address: received.
    assert_eq!(
        via("SIP/2.0/UDP pc.example.com;branch=z9hG4bK1")
            .stamped(at("10.0.0.2:5060"))
            .as_deref(),
        Some("SIP/2.0/UDP pc.example.com;branch=z9hG4bK1;received=10.0.0.2")
    );
    // RFC 3581: an empty rport gets the source port, and received comes
    // with it even when the host matches; an old received is replaced.
    assert_eq!(
        via("SIP/2.0/UDP 10.0.0.2:5060;rport;received=1.2.3.4;branch=z9hG4bK1")
            .stamped(at("10.0.0.2:40000"))
            .as_deref(),
        Some("SIP/2.0/UDP 10.0.0.2:5060;rport=40000;branch=z9hG4bK1;received=10.0.0.2")
    );
    // An rport with a value is left alone.
    assert_eq!(
        via("SIP/2.0/UDP 10.0.0.2;rport=7;branch=z9hG4bK1").stamped(at("10.0.0.2:9")),
        None
    );
}
