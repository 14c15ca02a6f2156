//! The server side: challenges, and every way credentials go wrong.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

#[test]
fn challenge_offers_md5_then_sha256_with_one_nonce() {
    let mut server = challenger();
    let headers = server.challenge(at(1), ChallengeKind::Www, false);
    assert_eq!(headers.len(), 2);
    assert!(
        headers
            .iter()
            .all(|h| matches!(h, rsip::Header::WwwAuthenticate(_)))
    );
    let first = value(&headers[0]);
    let second = value(&headers[1]);
    assert!(
        first.starts_with("Digest realm=\"confab.local\", nonce=\""),
        "{first}"
    );
    assert!(
        first.ends_with(", algorithm=MD5, qop=\"auth\""),
        "MD5 first, for UAs that read only the first challenge: {first}"
    );
    assert!(
        second.ends_with(", algorithm=SHA-256, qop=\"auth\""),
        "{second}"
    );
    let nonce = |v: &str| v.split('"').nth(3).unwrap().to_owned();
    assert_eq!(nonce(&first), nonce(&second));

    let again = server.challenge(at(1), ChallengeKind::Proxy, true);
    assert!(
        again
            .iter()
            .all(|h| matches!(h, rsip::Header::ProxyAuthenticate(_)))
    );
    assert!(value(&again[0]).ends_with("stale=true"));
    // Same instant, still a different nonce: nonce counts are never shared.
    assert_ne!(nonce(&value(&again[0])), nonce(&first));
}

#[test]
fn a_challenger_offers_only_the_algorithms_it_is_given() {
    let mut server = challenger().offering(&[Algorithm::Md5, Algorithm::Md5]);
    assert_eq!(server.offered(), [Algorithm::Md5]);
    let headers = server.challenge(at(1), ChallengeKind::Www, false);
    assert_eq!(headers.len(), 1);
    assert!(value(&headers[0]).ends_with(", algorithm=MD5, qop=\"auth\""));

    let server = challenger().offering(&[Algorithm::Sha256, Algorithm::Md5]);
    assert_eq!(server.offered(), [Algorithm::Sha256, Algorithm::Md5]);
    // Nothing offered makes no sense: the default stays.
    assert_eq!(challenger().offering(&[]).offered(), DEFAULT_OFFERED);
}

#[test]
fn unknown_user_is_rejected_exactly_like_a_wrong_password() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut server = challenger();
    let (_, wrong_password) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "nope");
    let (_, unknown_user) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "zed", "zed");
    let a = verify(&mut server, at(1), &wrong_password);
    let b = verify(&mut server, at(1), &unknown_user);
    assert_eq!(a, rejected(RejectReason::InvalidCredentials));
    assert_eq!(a, b);
    // Also when the nonce has expired: no stale hint for either.
    let late = at(LIFETIME.as_secs() + 1);
    assert_eq!(verify(&mut server, late, &wrong_password), a);
    assert_eq!(verify(&mut server, late, &unknown_user), a);
}

#[test]
fn a_replayed_nonce_count_is_rejected() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut server = challenger();
    let (_, credentials) = answer_as(&mut server, &mut rng, Algorithm::Md5, "amy", "amy");
    assert_eq!(
        verify(&mut server, at(1), &credentials),
        authenticated("amy")
    );
    assert_eq!(
        verify(&mut server, at(2), &credentials),
        rejected(RejectReason::Replayed)
    );
}

#[test]
fn nonce_counts_may_arrive_out_of_order_but_only_once_each() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut server = challenger();
    let (method, uri) = register();
    let (mut client, first) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "amy");
    let in_flight: Vec<_> = (2..=70)
        .map(|_| client.authorization(&mut rng, &method, &uri))
        .collect();
    // nc 70 arrives first; then 7, the oldest count the window holds (once
    // only); 6 and 1 are too old; 69 is still new.
    assert_eq!(
        verify(&mut server, at(1), &in_flight[68]),
        authenticated("amy")
    );
    assert_eq!(
        verify(&mut server, at(1), &in_flight[5]),
        authenticated("amy")
    );
    assert_eq!(
        verify(&mut server, at(1), &in_flight[5]),
        rejected(RejectReason::Replayed)
    );
    assert_eq!(
        verify(&mut server, at(1), &in_flight[4]),
        rejected(RejectReason::Replayed)
    );
    assert_eq!(
        verify(&mut server, at(1), &first),
        rejected(RejectReason::Replayed)
    );
    assert_eq!(
        verify(&mut server, at(1), &in_flight[67]),
        authenticated("amy")
    );
}

#[test]
fn an_expired_nonce_with_the_right_password_gets_a_stale_challenge() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut server = challenger();
    let (mut client, credentials) =
        answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "amy");
    let late = at(LIFETIME.as_secs());
    assert_eq!(
        verify(&mut server, late, &credentials),
        AuthOutcome::Challenge { stale: true }
    );
    // The client retries with the new nonce, not reporting a bad password.
    let (method, uri) = register();
    let stale = server.challenge(late, ChallengeKind::Www, true);
    client
        .handle_challenge(ChallengeKind::Www, &stale.into())
        .unwrap();
    let retry = client.authorization(&mut rng, &method, &uri);
    assert_eq!(verify(&mut server, late, &retry), authenticated("amy"));
}

#[test]
fn a_tampered_nonce_is_rejected() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut server = challenger();
    let (_, credentials) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "amy");
    let text = value(&credentials[0]);
    let nonce = text.split('"').nth(5).unwrap();
    // Flip one character of the issue time: "extend" the nonce's life.
    let mut chars: Vec<char> = nonce.chars().collect();
    chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    let tampered = rsip::Header::Authorization(text.replace(nonce, &forged).into());
    assert_eq!(
        verify(&mut server, at(1), &[tampered]),
        rejected(RejectReason::InvalidCredentials)
    );
}

#[test]
fn a_response_in_capital_hex_is_the_same_response() {
    let mut rng = StdRng::seed_from_u64(17);
    let mut server = challenger();
    let (_, credentials) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "amy");
    let text = value(&credentials[0]);
    let response = text
        .split("response=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let capitals = text.replace(response, &response.to_ascii_uppercase());
    assert_ne!(capitals, text);
    let header = rsip::Header::Authorization(capitals.into());
    assert_eq!(verify(&mut server, at(1), &[header]), authenticated("amy"));
}

/// A nonce that is ours but for its length (more or fewer bytes, still
/// base64url) is not ours: answered rightly, it gets a stale challenge.
#[test]
fn a_nonce_of_another_length_is_not_ours() {
    let mut rng = StdRng::seed_from_u64(18);
    let mut server = challenger();
    let challenge = server.challenge(at(0), ChallengeKind::Www, false);
    let md5 = only(Algorithm::Md5, &challenge);
    let text = value(md5.iter().next().unwrap());
    let nonce = text.split('"').nth(3).unwrap().to_owned();
    for other in [
        format!("{nonce}AAAA"),
        format!("{nonce}A"),
        nonce[..40].to_owned(),
    ] {
        let altered = rsip::Header::WwwAuthenticate(text.replace(&nonce, &other).into());
        let mut client = DigestClient::new("amy", "amy");
        client
            .handle_challenge(ChallengeKind::Www, &vec![altered].into())
            .unwrap();
        let (method, uri) = register();
        let credentials = client.authorization(&mut rng, &method, &uri);
        assert_eq!(
            verify(&mut server, at(1), &credentials),
            AuthOutcome::Challenge { stale: true },
            "{other}"
        );
    }
}

#[test]
fn a_nonce_from_an_earlier_run_with_the_right_password_is_stale() {
    let mut rng = StdRng::seed_from_u64(8);
    let mut before_restart = challenger();
    let (_, credentials) = answer_as(&mut before_restart, &mut rng, Algorithm::Md5, "amy", "amy");
    let mut after_restart = Challenger::new(REALM, [9; 32], LIFETIME);
    assert_eq!(
        verify(&mut after_restart, at(1), &credentials),
        AuthOutcome::Challenge { stale: true }
    );
}

#[test]
fn realms_other_than_ours() {
    let mut rng = StdRng::seed_from_u64(9);
    let mut elsewhere = Challenger::new("example.com", [7; 32], LIFETIME);
    let (_, theirs) = answer_as(&mut elsewhere, &mut rng, Algorithm::Sha256, "amy", "amy");
    let mut server = challenger();
    // A registrar only has its own realm: someone else's is a mistake.
    assert_eq!(
        verify(&mut server, at(1), &theirs),
        rejected(RejectReason::RealmMismatch)
    );
    // A proxy leaves other realms to the proxies they are for, and asks
    // for its own (RFC 3261 §22.3).
    let (method, _) = register();
    let proxy_headers: rsip::Headers =
        vec![rsip::Header::ProxyAuthorization(value(&theirs[0]).into())].into();
    assert_eq!(
        server.verify(
            at(1),
            &method,
            &proxy_headers,
            ChallengeKind::Proxy,
            directory
        ),
        AuthOutcome::Challenge { stale: false }
    );
    // With ours among them, ours is picked whatever the order.
    let (_, ours) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "amy");
    let both = [theirs[0].clone(), ours[0].clone()];
    assert_eq!(verify(&mut server, at(1), &both), authenticated("amy"));
}

#[test]
fn no_credentials_means_a_fresh_challenge() {
    let mut server = challenger();
    let basic = rsip::Header::Authorization("Basic YW15OmFteQ==".into());
    assert_eq!(
        verify(&mut server, at(0), &[]),
        AuthOutcome::Challenge { stale: false }
    );
    assert_eq!(
        verify(&mut server, at(0), &[basic]),
        AuthOutcome::Challenge { stale: false }
    );
}

#[test]
fn qop_and_algorithm_are_enforced() {
    let mut rng = StdRng::seed_from_u64(10);
    let mut server = challenger();
    let (_, credentials) = answer_as(&mut server, &mut rng, Algorithm::Md5, "amy", "amy");
    let text = value(&credentials[0]);
    let cases = [
        (text.replace("qop=auth, ", ""), RejectReason::QopRequired),
        (
            text.replace("qop=auth", "qop=auth-int"),
            RejectReason::QopRequired,
        ),
        (
            text.replace("algorithm=MD5", "algorithm=MD5-sess"),
            RejectReason::UnsupportedAlgorithm,
        ),
        (text.replace("nc=00000001", "nc=1"), RejectReason::Malformed),
        (
            text.replace("nc=00000001", "nc=00000000"),
            RejectReason::Malformed,
        ),
        (text.replace("username=", "user="), RejectReason::Malformed),
        (format!("{text}, userhash=true"), RejectReason::Malformed),
    ];
    for (header, reason) in cases {
        let header = rsip::Header::Authorization(header.into());
        assert_eq!(verify(&mut server, at(1), &[header]), rejected(reason));
    }
    // No algorithm parameter means MD5 (RFC 7616 §3.4).
    let implicit_md5 = text.replace(", algorithm=MD5", "");
    let header = rsip::Header::Authorization(implicit_md5.into());
    assert_eq!(verify(&mut server, at(1), &[header]), authenticated("amy"));
}

#[test]
fn a_full_table_forgets_the_oldest_nonce_as_stale() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut server = challenger().with_max_tracked_nonces(1);
    let (method, uri) = register();
    let (mut older, first) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "amy");
    let (_, newer) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "amy");
    assert_eq!(verify(&mut server, at(1), &first), authenticated("amy"));
    assert_eq!(verify(&mut server, at(1), &newer), authenticated("amy"));
    assert_eq!(server.tracked_nonces(), 1);
    // The evicted nonce's counts are unknown now: even a new count is stale,
    // and a replay cannot slip through.
    let next = older.authorization(&mut rng, &method, &uri);
    assert_eq!(
        verify(&mut server, at(1), &next),
        AuthOutcome::Challenge { stale: true }
    );
    assert_eq!(
        verify(&mut server, at(1), &first),
        AuthOutcome::Challenge { stale: true }
    );
}

#[test]
fn eviction_goes_by_issue_order_not_by_first_use() {
    let mut rng = StdRng::seed_from_u64(13);
    let mut server = challenger().with_max_tracked_nonces(2);
    let (method, uri) = register();
    let (mut oldest, oldest_first) = answer_as(&mut server, &mut rng, Algorithm::Md5, "amy", "amy");
    let (mut middle, middle_first) = answer_as(&mut server, &mut rng, Algorithm::Md5, "amy", "amy");
    let (_, newest_first) = answer_as(&mut server, &mut rng, Algorithm::Md5, "amy", "amy");
    // Used newest-issued first: the oldest-issued nonce still goes first.
    assert_eq!(
        verify(&mut server, at(1), &middle_first),
        authenticated("amy")
    );
    assert_eq!(
        verify(&mut server, at(1), &oldest_first),
        authenticated("amy")
    );
    assert_eq!(
        verify(&mut server, at(1), &newest_first),
        authenticated("amy")
    );
    assert_eq!(server.tracked_nonces(), 2);
    let next = oldest.authorization(&mut rng, &method, &uri);
    assert_eq!(
        verify(&mut server, at(1), &next),
        AuthOutcome::Challenge { stale: true }
    );
    let next = middle.authorization(&mut rng, &method, &uri);
    assert_eq!(verify(&mut server, at(1), &next), authenticated("amy"));
    assert_eq!(
        verify(&mut server, at(1), &middle_first),
        rejected(RejectReason::Replayed)
    );
}

#[test]
fn expired_nonces_are_pruned_before_anything_is_evicted() {
    let mut rng = StdRng::seed_from_u64(12);
    let mut server = challenger().with_max_tracked_nonces(1);
    let (_, first) = answer_as(&mut server, &mut rng, Algorithm::Md5, "amy", "amy");
    assert_eq!(verify(&mut server, at(1), &first), authenticated("amy"));
    let later = at(LIFETIME.as_secs() + 10);
    let challenge = server.challenge(later, ChallengeKind::Www, false);
    let mut client = DigestClient::new("amy", "amy");
    client
        .handle_challenge(ChallengeKind::Www, &challenge.into())
        .unwrap();
    let (method, uri) = register();
    let credentials = client.authorization(&mut rng, &method, &uri);
    assert_eq!(
        verify(&mut server, later, &credentials),
        authenticated("amy")
    );
    assert_eq!(server.tracked_nonces(), 1);
    assert_eq!(server.evicted_through(), None);
}

#[test]
fn malformed_credentials_never_panic() {
    let mut rng = StdRng::seed_from_u64(16);
    let mut server = challenger();
    let fixed = [
        "",
        "Digest",
        "Digest ,",
        "Digest username=\"amy\"",
        "Digest username=\"amy\", realm=\"confab.local\"",
        "Digest realm=\"confab.local\", username=\"\\",
        "Digest realm=\"confab.local\", nonce=\"\", username=\"\", uri=\"\", response=\"\", qop=auth, nc=ffffffff, cnonce=\"\"",
        "Digest realm=\"confab.local\", nonce=\"////\", username=amy, uri=x, response=z, qop=auth, nc=0000000g, cnonce=c",
        "Digest realm=confab.local, nonce=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA, username=amy, uri=x, response=00, qop=auth, nc=00000001, cnonce=c",
        "Digest realm=\"confab.local\"\u{e9}, nonce=\"\u{1F600}\"",
    ];
    for text in fixed {
        let header = rsip::Header::Authorization(text.into());
        let outcome = verify(&mut server, at(1), &[header]);
        assert!(
            !matches!(outcome, AuthOutcome::Authenticated { .. }),
            "{text}"
        );
    }
    // Mutations of a valid header: truncations and byte substitutions.
    let (_, credentials) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "amy");
    let valid = value(&credentials[0]);
    let alphabet = b"\",= \\aZ0\t";
    for _ in 0..2000 {
        let mut bytes = valid.clone().into_bytes();
        if rng.random_bool(0.3) {
            bytes.truncate(rng.random_range(0..bytes.len()));
        }
        for _ in 0..rng.random_range(1..4) {
            if let Some(len) = bytes.len().checked_sub(1) {
                let at = rng.random_range(0..=len);
                bytes[at] = alphabet[rng.random_range(0..alphabet.len())];
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let header = rsip::Header::Authorization(text.into());
        let _ = verify(&mut server, at(1), &[header]);
    }
}
