use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rsip::headers::UntypedHeader;

use super::*;
use crate::proto::Time;

mod client;
mod server;

const REALM: &str = "confab.local";
const LIFETIME: Duration = Duration::from_secs(300);

fn at(secs: u64) -> Time {
    Time::ZERO + Duration::from_secs(secs)
}

fn challenger() -> Challenger {
    Challenger::new(REALM, [7; 32], LIFETIME)
}

/// A directory with amy (password "amy") only.
fn directory(username: &str) -> Option<Credentials> {
    (username == "amy").then(|| Credentials::from_password("amy", REALM, "amy"))
}

fn register() -> (rsip::Method, rsip::Uri) {
    let uri = rsip::Uri::try_from("sip:confab.local").unwrap();
    (rsip::Method::Register, uri)
}

/// The challenge headers for one algorithm only, to make a client use it.
fn only(algorithm: Algorithm, challenge: &[rsip::Header]) -> rsip::Headers {
    let wanted = format!("algorithm={}", algorithm.name());
    challenge
        .iter()
        .filter(|h| h.to_string().contains(&wanted))
        .cloned()
        .collect::<Vec<_>>()
        .into()
}

fn value(header: &rsip::Header) -> String {
    match header {
        rsip::Header::Authorization(h) => h.value().to_owned(),
        rsip::Header::ProxyAuthorization(h) => h.value().to_owned(),
        rsip::Header::WwwAuthenticate(h) => h.value().to_owned(),
        rsip::Header::ProxyAuthenticate(h) => h.value().to_owned(),
        other => panic!("not an auth header: {other}"),
    }
}

fn verify(server: &mut Challenger, now: Time, credentials: &[rsip::Header]) -> AuthOutcome {
    let (method, _) = register();
    let headers: rsip::Headers = credentials.to_vec().into();
    server.verify(now, &method, &headers, ChallengeKind::Www, directory)
}

/// Challenge, answer as `username`/`password` with `algorithm`: the
/// credentials headers of the answer.
fn answer_as(
    server: &mut Challenger,
    rng: &mut StdRng,
    algorithm: Algorithm,
    username: &str,
    password: &str,
) -> (DigestClient, Vec<rsip::Header>) {
    let (method, uri) = register();
    let challenge = server.challenge(at(0), ChallengeKind::Www, false);
    let mut client = DigestClient::new(username, password);
    client
        .handle_challenge(ChallengeKind::Www, &only(algorithm, &challenge))
        .unwrap();
    let credentials = client.authorization(rng, &method, &uri);
    (client, credentials)
}

fn authenticated(username: &str) -> AuthOutcome {
    AuthOutcome::Authenticated {
        username: username.to_owned(),
    }
}

fn rejected(reason: RejectReason) -> AuthOutcome {
    AuthOutcome::Rejected { reason }
}

// RFC 7616 §3.9.1 (and its erratum-free responses), and RFC 2617 §3.5.
#[test]
fn request_digest_matches_the_published_examples() {
    let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    let qop = Some(QopAuth {
        nc: "00000001",
        cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    });
    let credentials =
        Credentials::from_password("Mufasa", "http-auth@example.org", "Circle of Life");
    let digest = |algorithm| {
        request_digest(
            algorithm,
            credentials.ha1(algorithm),
            nonce,
            qop,
            "GET",
            "/dir/index.html",
        )
    };
    assert_eq!(digest(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
    assert_eq!(
        digest(Algorithm::Sha256),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );

    let rfc2617 = Credentials::from_password("Mufasa", "testrealm@host.com", "Circle Of Life");
    let qop = QopAuth {
        nc: "00000001",
        cnonce: "0a4f113b",
    };
    assert_eq!(
        request_digest(
            Algorithm::Md5,
            &rfc2617.ha1_md5,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            Some(qop),
            "GET",
            "/dir/index.html"
        ),
        "6629fae49393a05397450978507c4ef1"
    );
}

#[test]
fn request_digest_from_ha1_agrees_with_rsip_from_the_password() {
    use rsip::headers::auth::{Algorithm as RsipAlgorithm, AuthQop};
    let (method, uri) = register();
    let credentials = Credentials::from_password("amy", REALM, "secret");
    let auth_qop = AuthQop::Auth {
        cnonce: "c-nonce".into(),
        nc: 7,
    };
    for (ours, theirs) in [
        (Algorithm::Md5, RsipAlgorithm::Md5),
        (Algorithm::Sha256, RsipAlgorithm::Sha256),
    ] {
        for with_qop in [false, true] {
            let rsip_digest = rsip::services::DigestGenerator {
                username: "amy",
                password: "secret",
                nonce: "n0nce",
                uri: &uri,
                realm: REALM,
                method: &method,
                qop: with_qop.then_some(&auth_qop),
                algorithm: theirs,
            }
            .compute();
            let qop = with_qop.then_some(QopAuth {
                nc: "00000007",
                cnonce: "c-nonce",
            });
            let digest = request_digest(
                ours,
                credentials.ha1(ours),
                "n0nce",
                qop,
                "REGISTER",
                &uri.to_string(),
            );
            assert_eq!(digest, rsip_digest, "{ours} qop={with_qop}");
        }
    }
}

#[test]
fn client_and_server_agree_for_both_algorithms() {
    let mut rng = StdRng::seed_from_u64(1);
    for algorithm in [Algorithm::Sha256, Algorithm::Md5] {
        let mut server = challenger();
        let (_, credentials) = answer_as(&mut server, &mut rng, algorithm, "amy", "amy");
        assert_eq!(credentials.len(), 1);
        let text = value(&credentials[0]);
        assert!(
            text.contains(&format!("algorithm={}", algorithm.name())),
            "{text}"
        );
        assert!(text.contains("qop=auth, nc=00000001"), "{text}");
        assert_eq!(
            verify(&mut server, at(1), &credentials),
            authenticated("amy")
        );
    }
}

#[test]
fn client_prefers_sha256_when_both_are_offered() {
    let mut server = challenger();
    let mut rng = StdRng::seed_from_u64(2);
    let (method, uri) = register();
    let challenge = server.challenge(at(0), ChallengeKind::Www, false);
    let mut client = DigestClient::new("amy", "amy");
    client
        .handle_challenge(ChallengeKind::Www, &challenge.into())
        .unwrap();
    let credentials = client.authorization(&mut rng, &method, &uri);
    assert!(value(&credentials[0]).contains("algorithm=SHA-256"));
}
