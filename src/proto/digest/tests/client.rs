//! The client side: choosing, retrying, pre-authorizing, giving up.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

#[test]
fn the_client_stops_when_its_password_is_refused() {
    let mut rng = StdRng::seed_from_u64(13);
    let mut server = challenger();
    let (mut client, credentials) =
        answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "bad");
    assert_eq!(
        verify(&mut server, at(1), &credentials),
        rejected(RejectReason::InvalidCredentials)
    );
    let again = server.challenge(at(1), ChallengeKind::Www, false);
    assert_eq!(
        client.handle_challenge(ChallengeKind::Www, &again.into()),
        Err(DigestError::CredentialsRejected {
            realm: REALM.to_owned()
        })
    );
    // The refused realm is forgotten: nothing to pre-authorize with.
    let (method, uri) = register();
    assert!(client.authorization(&mut rng, &method, &uri).is_empty());
}

#[test]
fn pre_authorized_refreshes_count_up_and_survive_one_unknown_nonce() {
    let mut rng = StdRng::seed_from_u64(14);
    let mut server = challenger();
    let (method, uri) = register();
    let (mut client, first) = answer_as(&mut server, &mut rng, Algorithm::Sha256, "amy", "amy");
    assert_eq!(verify(&mut server, at(1), &first), authenticated("amy"));
    let refresh = client.authorization(&mut rng, &method, &uri);
    assert!(value(&refresh[0]).contains("nc=00000002"));
    assert_eq!(verify(&mut server, at(60), &refresh), authenticated("amy"));

    // A server that forgot the nonce and says stale=false: retry once.
    let forgetful = server.challenge(at(61), ChallengeKind::Www, false);
    client
        .handle_challenge(ChallengeKind::Www, &forgetful.into())
        .unwrap();
    let retry = client.authorization(&mut rng, &method, &uri);
    assert!(value(&retry[0]).contains("nc=00000001"));
    assert_eq!(verify(&mut server, at(61), &retry), authenticated("amy"));
}

#[test]
fn the_client_answers_a_response_read_off_the_wire() {
    let mut rng = StdRng::seed_from_u64(15);
    let mut server = challenger();
    let mut headers: rsip::Headers = server.challenge(at(0), ChallengeKind::Proxy, false).into();
    headers.push(rsip::Header::ContentLength("0".into()));
    let response = rsip::Response {
        status_code: 407.into(),
        version: rsip::Version::V2,
        headers,
        body: vec![],
    };
    let reparsed = rsip::Response::try_from(response.to_string().as_str()).unwrap();
    let (method, uri) = register();
    let mut client = DigestClient::new("amy", "amy");
    let answer = client.answer(&mut rng, &reparsed, &method, &uri).unwrap();
    assert!(matches!(answer[..], [rsip::Header::ProxyAuthorization(_)]));

    let request = format!(
        "REGISTER sip:confab.local SIP/2.0\r\n{}\r\nContent-Length: 0\r\n\r\n",
        answer[0]
    );
    let request = rsip::Request::try_from(request.as_str()).unwrap();
    assert_eq!(
        server.verify(
            at(1),
            &request.method,
            &request.headers,
            ChallengeKind::Proxy,
            directory
        ),
        authenticated("amy")
    );
}

#[test]
fn the_client_refuses_challenges_it_cannot_answer() {
    let mut client = DigestClient::new("amy", "amy");
    for challenge in [
        "Basic realm=\"confab.local\"",
        "Digest realm=\"confab.local\", nonce=\"n\", algorithm=SHA-512-256",
        "Digest realm=\"confab.local\", nonce=\"n\", qop=\"auth-int\"",
        "Digest nonce=\"n\"",
        "Digest realm=\"open",
    ] {
        let headers: rsip::Headers = vec![rsip::Header::WwwAuthenticate(challenge.into())].into();
        assert_eq!(
            client.handle_challenge(ChallengeKind::Www, &headers),
            Err(DigestError::NoUsableChallenge),
            "{challenge}"
        );
    }
}
