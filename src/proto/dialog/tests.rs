#![allow(clippy::unwrap_used)]

use rsip::headers::{self, UntypedHeader};
use rsip::prelude::*;
use rsip::{Header, Method, Request, Response};

use super::*;

const CALL_ID: &str = "3848276298220188511@atlanta.example.com";
const ALICE_TAG: &str = "9fxced76sl";
const BOB_TAG: &str = "314159";

fn text(lines: &[&str]) -> String {
    let mut text = lines.join("\r\n");
    text.push_str("\r\n\r\n");
    text
}

/// Alice's INVITE to Bob through ss1.atlanta and ss2.biloxi (RFC 3665 §3.2),
/// as Bob receives it: both proxies have record-routed.
fn invite(record_route: &[&str]) -> Request {
    let mut lines = vec![
        "INVITE sip:bob@biloxi.example.com SIP/2.0".to_owned(),
        "Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9".to_owned(),
        "Max-Forwards: 68".to_owned(),
    ];
    lines.extend(record_route.iter().map(|rr| format!("Record-Route: {rr}")));
    lines.extend(
        [
            "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
            "To: Bob <sip:bob@biloxi.example.com>",
            "Call-ID: 3848276298220188511@atlanta.example.com",
            "CSeq: 1 INVITE",
            "Contact: <sip:alice@client.atlanta.example.com>",
            "Content-Length: 0",
        ]
        .map(str::to_owned),
    );
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    Request::try_from(text(&lines).as_str()).unwrap()
}

/// Bob's answer to that INVITE, carrying `record_route` back.
fn answer(code: &str, to_tag: Option<&str>, record_route: &[&str]) -> Response {
    let to = match to_tag {
        Some(tag) => format!("To: Bob <sip:bob@biloxi.example.com>;tag={tag}"),
        None => "To: Bob <sip:bob@biloxi.example.com>".to_owned(),
    };
    let mut lines = vec![
        format!("SIP/2.0 {code}"),
        "Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9".to_owned(),
    ];
    lines.extend(record_route.iter().map(|rr| format!("Record-Route: {rr}")));
    lines.extend([
        "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl".to_owned(),
        to,
        format!("Call-ID: {CALL_ID}"),
        "CSeq: 1 INVITE".to_owned(),
        "Contact: <sip:bob@client.biloxi.example.com>".to_owned(),
        "Content-Length: 0".to_owned(),
    ]);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    Response::try_from(text(&lines).as_str()).unwrap()
}

const LOOSE: [&str; 2] = [
    "<sip:ss2.biloxi.example.com;lr>",
    "<sip:ss1.atlanta.example.com;lr>",
];

fn via(branch: &str) -> headers::Via {
    headers::Via::new(format!(
        "SIP/2.0/UDP client.atlanta.example.com:5060;branch={branch}"
    ))
}

fn uri(text: &str) -> Uri {
    Uri::try_from(text).unwrap()
}

fn route_uris(request: &Request) -> Vec<String> {
    request
        .headers
        .iter()
        .filter_map(|header| match header {
            Header::Route(route) => Some(route.value().to_owned()),
            _ => None,
        })
        .collect()
}

fn hosts(routes: &[UriWithParams]) -> Vec<String> {
    routes
        .iter()
        .map(|route| route.uri.host().to_string())
        .collect()
}

/// Alice's request inside the dialog, as Bob (the UAS) receives it.
fn in_dialog(method: &str, cseq: u32, contact: Option<&str>) -> Request {
    let mut lines = vec![
        format!("{method} sip:bob@client.biloxi.example.com SIP/2.0"),
        "Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bKnew".to_owned(),
        "Max-Forwards: 70".to_owned(),
        format!("From: Alice <sip:alice@atlanta.example.com>;tag={ALICE_TAG}"),
        format!("To: Bob <sip:bob@biloxi.example.com>;tag={BOB_TAG}"),
        format!("Call-ID: {CALL_ID}"),
        format!("CSeq: {cseq} {method}"),
    ];
    if let Some(contact) = contact {
        lines.push(format!("Contact: {contact}"));
    }
    lines.push("Content-Length: 0".to_owned());
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    Request::try_from(text(&lines).as_str()).unwrap()
}

#[test]
fn uac_route_set_is_record_route_reversed() {
    let dialog = Dialog::from_uac(&invite(&[]), &answer("200 OK", Some(BOB_TAG), &LOOSE)).unwrap();
    assert_eq!(
        dialog.id(),
        &DialogId {
            call_id: CALL_ID.into(),
            local_tag: ALICE_TAG.into(),
            remote_tag: BOB_TAG.into(),
        }
    );
    assert_eq!(dialog.state(), DialogState::Confirmed);
    assert_eq!(
        hosts(dialog.route_set()),
        ["ss1.atlanta.example.com", "ss2.biloxi.example.com"]
    );
    assert_eq!(
        dialog.remote_target(),
        &uri("sip:bob@client.biloxi.example.com")
    );
    assert_eq!(dialog.local_uri(), &uri("sip:alice@atlanta.example.com"));
    assert_eq!(dialog.remote_uri(), &uri("sip:bob@biloxi.example.com"));
    assert_eq!(dialog.local_seq(), Some(1));
    assert_eq!(dialog.remote_seq(), None);
    assert!(!dialog.is_secure());
    assert_eq!(dialog.next_hop(), uri("sip:ss1.atlanta.example.com;lr"));
}

#[test]
fn record_route_in_one_header_is_split() {
    let combined = [LOOSE.join(", ")];
    let combined: Vec<&str> = combined.iter().map(String::as_str).collect();
    let dialog =
        Dialog::from_uac(&invite(&[]), &answer("200 OK", Some(BOB_TAG), &combined)).unwrap();
    assert_eq!(
        hosts(dialog.route_set()),
        ["ss1.atlanta.example.com", "ss2.biloxi.example.com"]
    );
}

#[test]
fn uas_route_set_is_record_route_in_order() {
    let dialog = Dialog::from_uas(&invite(&LOOSE), BOB_TAG).unwrap();
    assert_eq!(dialog.id().local_tag, BOB_TAG);
    assert_eq!(dialog.id().remote_tag, ALICE_TAG);
    assert_eq!(dialog.state(), DialogState::Early);
    assert_eq!(
        hosts(dialog.route_set()),
        ["ss2.biloxi.example.com", "ss1.atlanta.example.com"]
    );
    assert_eq!(
        dialog.remote_target(),
        &uri("sip:alice@client.atlanta.example.com")
    );
    assert_eq!(dialog.local_uri(), &uri("sip:bob@biloxi.example.com"));
    assert_eq!(dialog.remote_uri(), &uri("sip:alice@atlanta.example.com"));
    assert_eq!((dialog.local_seq(), dialog.remote_seq()), (None, Some(1)));
}

#[test]
fn loose_routing_keeps_the_remote_target_as_request_uri() {
    let mut dialog =
        Dialog::from_uac(&invite(&[]), &answer("200 OK", Some(BOB_TAG), &LOOSE)).unwrap();
    let bye = dialog.build_request(Method::Bye, via("z9hG4bKbye"), None);
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.uri, uri("sip:bob@client.biloxi.example.com"));
    assert_eq!(
        route_uris(&bye),
        [
            "<sip:ss1.atlanta.example.com;lr>",
            "<sip:ss2.biloxi.example.com;lr>"
        ]
    );
    assert_eq!(bye.cseq_header().unwrap().value(), "2 BYE");
    assert_eq!(bye.call_id_header().unwrap().value(), CALL_ID);
    assert_eq!(
        bye.from_header().unwrap().tag().unwrap().unwrap().value(),
        ALICE_TAG
    );
    assert_eq!(
        bye.to_header().unwrap().tag().unwrap().unwrap().value(),
        BOB_TAG
    );
    assert_eq!(
        bye.to_header().unwrap().uri().unwrap(),
        uri("sip:bob@biloxi.example.com")
    );
    assert_eq!(bye.via_header().unwrap(), &via("z9hG4bKbye"));
    // It prints and parses back whole.
    assert_eq!(Request::try_from(bye.to_string().as_str()).unwrap(), bye);
}

#[test]
fn strict_routing_puts_the_first_route_in_the_request_uri() {
    // The proxy nearest Alice is a strict router (no lr), and wrote a
    // parameter not allowed in a Request-URI.
    let strict = [
        "<sip:ss2.biloxi.example.com;lr>",
        "<sip:ss1.atlanta.example.com;method=INVITE>",
    ];
    let mut dialog =
        Dialog::from_uac(&invite(&[]), &answer("200 OK", Some(BOB_TAG), &strict)).unwrap();
    let contact = headers::Contact::new("<sip:alice@client.atlanta.example.com>");
    let reinvite = dialog.build_request(Method::Invite, via("z9hG4bKre"), Some(contact.clone()));
    assert_eq!(reinvite.uri, uri("sip:ss1.atlanta.example.com"));
    assert_eq!(
        route_uris(&reinvite),
        [
            "<sip:ss2.biloxi.example.com;lr>",
            "<sip:bob@client.biloxi.example.com>"
        ]
    );
    assert_eq!(reinvite.contact_header().unwrap(), &contact);
    assert_eq!(
        dialog.next_hop(),
        uri("sip:ss1.atlanta.example.com;method=INVITE")
    );
}

#[test]
fn no_route_set_goes_straight_to_the_remote_target() {
    let mut dialog = Dialog::from_uac(&invite(&[]), &answer("200 OK", Some(BOB_TAG), &[])).unwrap();
    let info = dialog.build_request(Method::Info, via("z9hG4bKinfo"), None);
    assert_eq!(info.uri, uri("sip:bob@client.biloxi.example.com"));
    assert!(route_uris(&info).is_empty());
    assert_eq!(dialog.next_hop(), uri("sip:bob@client.biloxi.example.com"));
}

#[test]
fn local_cseq_increments_and_ack_reuses_the_invites() {
    let mut dialog =
        Dialog::from_uac(&invite(&[]), &answer("200 OK", Some(BOB_TAG), &LOOSE)).unwrap();
    let ack = dialog.build_ack(1, via("z9hG4bKack"));
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.cseq_header().unwrap().value(), "1 ACK");
    assert_eq!(ack.uri, uri("sip:bob@client.biloxi.example.com"));
    assert_eq!(route_uris(&ack).len(), 2);
    assert_eq!(dialog.local_seq(), Some(1), "the ACK takes no number");
    let seqs: Vec<String> = [Method::Info, Method::Message, Method::Bye]
        .into_iter()
        .map(|method| {
            let request = dialog.build_request(method, via("z9hG4bKx"), None);
            request.cseq_header().unwrap().value().to_owned()
        })
        .collect();
    assert_eq!(seqs, ["2 INFO", "3 MESSAGE", "4 BYE"]);
    assert_eq!(dialog.local_seq(), Some(4));

    // The UAS numbers its own direction from 1.
    let mut uas = Dialog::from_uas(&invite(&LOOSE), BOB_TAG).unwrap();
    let bye = uas.build_request(Method::Bye, via("z9hG4bKuas"), None);
    assert_eq!(bye.cseq_header().unwrap().value(), "1 BYE");
    assert_eq!(bye.uri, uri("sip:alice@client.atlanta.example.com"));
    assert_eq!(
        bye.from_header().unwrap().tag().unwrap().unwrap().value(),
        BOB_TAG
    );
    assert_eq!(
        bye.to_header().unwrap().tag().unwrap().unwrap().value(),
        ALICE_TAG
    );
}

#[test]
fn out_of_order_requests_are_rejected() {
    let mut dialog = Dialog::from_uas(&invite(&LOOSE), BOB_TAG).unwrap();
    dialog.confirm();
    dialog.handle_request(&in_dialog("ACK", 1, None)).unwrap();
    dialog.handle_request(&in_dialog("INFO", 3, None)).unwrap();
    assert_eq!(dialog.remote_seq(), Some(3));
    assert_eq!(
        dialog.handle_request(&in_dialog("MESSAGE", 2, None)),
        Err(DialogError::OutOfOrder { cseq: 2, remote: 3 })
    );
    assert_eq!(
        dialog.remote_seq(),
        Some(3),
        "a rejected request changes nothing"
    );
    // ACK and CANCEL carry an older request's number.
    dialog.handle_request(&in_dialog("ACK", 1, None)).unwrap();
    dialog.handle_request(&in_dialog("BYE", 4, None)).unwrap();
    assert_eq!(dialog.remote_seq(), Some(4));
}

#[test]
fn target_refresh_moves_the_remote_target() {
    let mut dialog = Dialog::from_uas(&invite(&LOOSE), BOB_TAG).unwrap();
    dialog.confirm();
    // A Contact in a BYE is no target refresh.
    dialog
        .handle_request(&in_dialog(
            "BYE",
            2,
            Some("<sip:alice@elsewhere.example.com>"),
        ))
        .unwrap();
    assert_eq!(
        dialog.remote_target(),
        &uri("sip:alice@client.atlanta.example.com")
    );
    dialog
        .handle_request(&in_dialog("INVITE", 3, Some("<sip:alice@192.0.2.7:5070>")))
        .unwrap();
    assert_eq!(dialog.remote_target(), &uri("sip:alice@192.0.2.7:5070"));
    // The route set stays (§12.2.1.2).
    assert_eq!(
        hosts(dialog.route_set()),
        ["ss2.biloxi.example.com", "ss1.atlanta.example.com"]
    );
    dialog
        .handle_request(&in_dialog("UPDATE", 4, Some("<sip:alice@192.0.2.8>")))
        .unwrap();
    assert_eq!(dialog.remote_target(), &uri("sip:alice@192.0.2.8"));
}

#[test]
fn requests_of_another_dialog_are_refused() {
    let mut dialog = Dialog::from_uas(&invite(&LOOSE), BOB_TAG).unwrap();
    let mut stranger = in_dialog("INFO", 2, None);
    *stranger.call_id_header_mut().unwrap() = headers::CallId::new("other@atlanta.example.com");
    assert_eq!(
        dialog.handle_request(&stranger),
        Err(DialogError::NotInDialog)
    );
}

#[test]
fn early_dialog_is_confirmed_by_the_2xx_with_its_route_set() {
    let ringing = answer(
        "180 Ringing",
        Some(BOB_TAG),
        &["<sip:ss1.atlanta.example.com;lr>"],
    );
    let mut dialog = Dialog::from_uac(&invite(&[]), &ringing).unwrap();
    assert_eq!(dialog.state(), DialogState::Early);
    assert_eq!(hosts(dialog.route_set()), ["ss1.atlanta.example.com"]);

    dialog
        .handle_response(&answer("200 OK", Some(BOB_TAG), &LOOSE))
        .unwrap();
    assert_eq!(dialog.state(), DialogState::Confirmed);
    // §13.2.2.4: recomputed from the 2xx.
    assert_eq!(
        hosts(dialog.route_set()),
        ["ss1.atlanta.example.com", "ss2.biloxi.example.com"]
    );
    assert_eq!(
        dialog.remote_target(),
        &uri("sip:bob@client.biloxi.example.com")
    );

    // Another fork's 2xx is another dialog.
    assert_eq!(
        dialog.handle_response(&answer("200 OK", Some("fork2"), &LOOSE)),
        Err(DialogError::NotInDialog)
    );
}

#[test]
fn responses_that_make_no_dialog() {
    let request = invite(&[]);
    assert_eq!(
        Dialog::from_uac(&request, &answer("180 Ringing", None, &[])),
        Err(DialogError::MissingTag("To"))
    );
    assert_eq!(
        Dialog::from_uac(&request, &answer("486 Busy Here", Some(BOB_TAG), &[])),
        Err(DialogError::NotDialogCreating(486))
    );
    // An RFC 2543 UAS's 2xx without tag: the null tag.
    let dialog = Dialog::from_uac(&request, &answer("200 OK", None, &[])).unwrap();
    assert_eq!(dialog.id().remote_tag, "");

    let mut no_contact = invite(&[]);
    no_contact
        .headers
        .retain(|header| !matches!(header, Header::Contact(_)));
    assert_eq!(
        Dialog::from_uas(&no_contact, BOB_TAG),
        Err(DialogError::MissingHeader("Contact"))
    );
}

#[test]
fn dialog_ids_of_messages() {
    let request = in_dialog("INFO", 2, None);
    let received = dialog_id_of_request(&request, true).unwrap();
    assert_eq!(
        (received.local_tag.as_str(), received.remote_tag.as_str()),
        (BOB_TAG, ALICE_TAG)
    );
    let sent = dialog_id_of_request(&request, false).unwrap();
    assert_eq!(
        (sent.local_tag.as_str(), sent.remote_tag.as_str()),
        (ALICE_TAG, BOB_TAG)
    );
    assert_eq!(
        dialog_id_of_request(&invite(&[]), true),
        None,
        "no To tag: no dialog"
    );

    let ok = answer("200 OK", Some(BOB_TAG), &[]);
    let uac = dialog_id_of_response(&ok, true).unwrap();
    assert_eq!(
        (uac.local_tag.as_str(), uac.remote_tag.as_str()),
        (ALICE_TAG, BOB_TAG)
    );
    assert_eq!(uac.call_id, CALL_ID);
}

#[test]
fn contact_with_quoted_parameters_gives_the_remote_target() {
    // RFC 5626 §4.1: outbound-capable UAs (Linphone among them) quote a URN
    // that itself holds angle brackets.
    let mut request = invite(&[]);
    *request.contact_header_mut().unwrap() = headers::Contact::new(
        r#"<sip:hao@127.0.0.1:25060;transport=udp>;expires=600;+sip.instance="<urn:uuid:5ca65d1e-4f36-008b-94d2-e2c5bd959e9e>""#,
    );
    let dialog = Dialog::from_uas(&request, BOB_TAG).unwrap();
    assert_eq!(
        dialog.remote_target(),
        &uri("sip:hao@127.0.0.1:25060;transport=udp")
    );
    // A bare addr-spec's parameters are the header's (RFC 3261 §20.10).
    *request.contact_header_mut().unwrap() =
        headers::Contact::new("sip:hao@127.0.0.1:25060;expires=600");
    let dialog = Dialog::from_uas(&request, BOB_TAG).unwrap();
    assert_eq!(dialog.remote_target(), &uri("sip:hao@127.0.0.1:25060"));
    *request.contact_header_mut().unwrap() = headers::Contact::new("<sip:>");
    assert_eq!(
        Dialog::from_uas(&request, BOB_TAG).unwrap_err(),
        DialogError::MalformedHeader("Contact")
    );
}
