//! The fixtures of tests/fixtures/c3p (see its README.md) and what they
//! must read as.

use std::path::PathBuf;

use super::*;

mod documents;
mod malformed;

const ID: &str = "8386E6AEAAA41E4A";
const FACTORY: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:focusfactory";
const FOCUS: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:focus:id:8386E6AEAAA41E4A";
const AV_MCU: &str = "sip:vivian@confab.local;gruu;opaque=app:conf:audio-video:id:8386E6AEAAA41E4A";
const VIVIAN: &str = "sip:vivian@confab.local";
const AMY: &str = "sip:amy@confab.local";
const VIVIAN_ENDPOINT: &str = "{2508C0BD-EA91-4205-93B4-723FF15031B6}";
const AMY_AV_ENDPOINT: &str = "{6C7F3A10-55D2-4E0B-9A51-0D1C2B3E4F60}";

fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/c3p")
}

fn request(request_id: u64, to: &str, command: C3pCommand) -> C3pRequest {
    C3pRequest {
        request_id,
        from: VIVIAN.into(),
        to: to.into(),
        command,
    }
}

fn success(request: &C3pRequest, command: C3pCommand) -> C3pResponse {
    C3pResponse {
        command,
        ..request.response(ResponseCode::Success)
    }
}

fn add_conference_info(entity: &str) -> ConferenceInfo {
    ConferenceInfo {
        entity: entity.into(),
        subject: String::new(),
        conference_id: Some(ID.into()),
        expiry_time: Some("2026-11-26T09:00:00Z".into()),
        admission_policy: Some(AdmissionPolicy::OpenAuthenticated),
        entity_views: vec!["chat".into(), "audio-video".into()],
    }
}

fn join(role: Role) -> AddUser {
    AddUser {
        mcu_uri: None,
        conf_entity: FOCUS.into(),
        user: ConferenceUser {
            entity: VIVIAN.into(),
            display_text: None,
            role: Some(role),
            endpoint: Some(UserEndpoint {
                entity: VIVIAN_ENDPOINT.into(),
                ..UserEndpoint::default()
            }),
        },
    }
}

/// PROTOCOLS.md section 4 step 2, "call me at": the A/V MCU dials the
/// organizer's phone.
fn dial_out() -> AddUser {
    AddUser {
        mcu_uri: Some(AV_MCU.into()),
        conf_entity: FOCUS.into(),
        user: ConferenceUser {
            entity: VIVIAN.into(),
            display_text: Some("Vivian Grey".into()),
            role: Some(Role::Attendee),
            endpoint: Some(UserEndpoint {
                entity: "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}".into(),
                endpoint_uri: Some("tel:+14255032002".into()),
                refer_to_uri: None,
                joining_method: Some(JoiningMethod::DialedOut),
            }),
        },
    }
}

fn amy_keys() -> UserKeys {
    UserKeys {
        conf_entity: FOCUS.into(),
        user_entity: AMY.into(),
    }
}

fn mute_amy() -> ModifyEndpointMedia {
    ModifyEndpointMedia {
        mcu_uri: AV_MCU.into(),
        keys: MediaKeys {
            conf_entity: FOCUS.into(),
            user_entity: AMY.into(),
            endpoint_entity: AMY_AV_ENDPOINT.into(),
            media_id: "1".into(),
        },
        media: MediaChange {
            id: "1".into(),
            media_type: Some("audio".into()),
            status: Some(MediaStatus::RecvOnly),
            ingress_filter: Some(MediaFilter::Block),
        },
    }
}

fn lock() -> ModifyConferenceLock {
    ModifyConferenceLock {
        conf_entity: FOCUS.into(),
        locked: true,
    }
}

fn focus_keys() -> ConferenceKeys {
    ConferenceKeys {
        conf_entity: FOCUS.into(),
    }
}

/// Every confab-written fixture and the document it holds, one request and
/// one response per command of PROTOCOLS.md section 2.
fn confab_fixtures() -> Vec<(&'static str, C3pDocument)> {
    use C3pDocument::{Request as Req, Response as Resp};

    let capabilities = request(
        1,
        FACTORY,
        C3pCommand::GetConferencingCapabilities {
            mcu_types: Vec::new(),
        },
    );
    let capabilities_answer = success(
        &capabilities,
        C3pCommand::GetConferencingCapabilities {
            mcu_types: vec!["chat".into(), "audio-video".into()],
        },
    );
    let add_conference = request(
        2,
        FACTORY,
        C3pCommand::AddConference(add_conference_info("")),
    );
    let add_conference_answer = success(
        &add_conference,
        C3pCommand::AddConference(add_conference_info(FOCUS)),
    );
    let get_conference = request(
        3,
        FACTORY,
        C3pCommand::GetConference(GetConference {
            conf_entity: None,
            conference_id: Some(ID.into()),
            info: None,
        }),
    );
    let get_conference_answer = success(
        &get_conference,
        C3pCommand::GetConference(GetConference {
            conf_entity: None,
            conference_id: Some(ID.into()),
            info: Some(ConferenceInfo {
                subject: "Release & QA <weekly>".into(),
                ..add_conference_info(FOCUS)
            }),
        }),
    );
    let add_user = request(4, FOCUS, C3pCommand::AddUser(join(Role::Attendee)));
    // The creator of an ad-hoc conference is its first leader.
    let add_user_answer = success(&add_user, C3pCommand::AddUser(join(Role::Presenter)));
    let dial = request(5, FOCUS, C3pCommand::AddUser(dial_out()));
    let dial_answer = dial.response(ResponseCode::Pending);
    let delete_user = request(6, FOCUS, C3pCommand::DeleteUser(amy_keys()));
    let delete_user_answer = delete_user.failure(FailureReason::Forbidden);
    let promote = request(
        7,
        FOCUS,
        C3pCommand::ModifyUserRoles(ModifyUserRoles {
            keys: amy_keys(),
            role: Role::Presenter,
        }),
    );
    let promote_answer = promote.response(ResponseCode::Success);
    let mute = request(8, FOCUS, C3pCommand::ModifyEndpointMedia(mute_amy()));
    let mute_answer = mute.response(ResponseCode::Success);
    let lock_request = request(9, FOCUS, C3pCommand::ModifyConferenceLock(lock()));
    let lock_answer = lock_request.response(ResponseCode::Success);
    let end = request(10, FOCUS, C3pCommand::DeleteConference(focus_keys()));
    let end_answer = end.response(ResponseCode::Success);
    let unknown = request(
        11,
        FACTORY,
        C3pCommand::Unknown {
            name: "getAvailableMcuTypes".into(),
        },
    );
    let unknown_answer = unknown.failure(FailureReason::NotSupported);

    vec![
        (
            "get-conferencing-capabilities-request.xml",
            Req(capabilities),
        ),
        (
            "get-conferencing-capabilities-response.xml",
            Resp(capabilities_answer),
        ),
        ("add-conference-request.xml", Req(add_conference)),
        ("add-conference-response.xml", Resp(add_conference_answer)),
        ("get-conference-request.xml", Req(get_conference)),
        ("get-conference-response.xml", Resp(get_conference_answer)),
        ("add-user-join-request.xml", Req(add_user)),
        ("add-user-join-response.xml", Resp(add_user_answer)),
        ("add-user-dial-out-request.xml", Req(dial)),
        ("add-user-dial-out-response.xml", Resp(dial_answer)),
        ("delete-user-request.xml", Req(delete_user)),
        (
            "delete-user-forbidden-response.xml",
            Resp(delete_user_answer),
        ),
        ("modify-user-roles-request.xml", Req(promote)),
        ("modify-user-roles-response.xml", Resp(promote_answer)),
        ("modify-endpoint-media-request.xml", Req(mute)),
        ("modify-endpoint-media-response.xml", Resp(mute_answer)),
        ("modify-conference-lock-request.xml", Req(lock_request)),
        ("modify-conference-lock-response.xml", Resp(lock_answer)),
        ("delete-conference-request.xml", Req(end)),
        ("delete-conference-response.xml", Resp(end_answer)),
        ("unknown-command-request.xml", Req(unknown)),
        ("unknown-command-response.xml", Resp(unknown_answer)),
    ]
}

#[test]
fn confab_fixtures_read_as_expected_and_are_what_we_write() {
    for (name, document) in confab_fixtures() {
        let bytes = fixture(name);
        assert_eq!(parse(&bytes).unwrap(), document, "{name}");
        assert_eq!(
            document.to_xml(),
            String::from_utf8(bytes).unwrap(),
            "{name}"
        );
    }
}

/// Documents in the shapes other implementations send: prefixes declared
/// where they are used, default namespaces switched inside a command,
/// attributes in another order, extension elements we do not know.
#[test]
fn foreign_shapes_read_by_namespace_not_prefix() {
    let lync_request = |request_id, to: &str, command| {
        C3pDocument::Request(C3pRequest {
            request_id,
            from: VIVIAN.into(),
            to: to.into(),
            command,
        })
    };
    let cases = [
        (
            "sipe-add-conference.xml",
            lync_request(
                1094520,
                FACTORY,
                C3pCommand::AddConference(ConferenceInfo {
                    conference_id: Some("8386E6AEAAA41E4AA6627BA76D43B6D1".into()),
                    expiry_time: Some("2026-11-26T16:00:00Z".into()),
                    entity_views: vec!["chat".into()],
                    ..add_conference_info("")
                }),
            ),
        ),
        (
            "sipe-add-user.xml",
            lync_request(1094521, FOCUS, C3pCommand::AddUser(join(Role::Attendee))),
        ),
        (
            "sipe-modify-user-roles.xml",
            lync_request(
                1094522,
                FOCUS,
                C3pCommand::ModifyUserRoles(ModifyUserRoles {
                    keys: amy_keys(),
                    role: Role::Presenter,
                }),
            ),
        ),
        (
            "sipe-modify-endpoint-media.xml",
            lync_request(1094523, FOCUS, C3pCommand::ModifyEndpointMedia(mute_amy())),
        ),
        (
            "sipe-modify-conference-lock.xml",
            lync_request(
                1094524,
                FOCUS,
                C3pCommand::ModifyConferenceLock(ModifyConferenceLock {
                    locked: false,
                    ..lock()
                }),
            ),
        ),
        (
            "confpro-get-conference.xml",
            lync_request(
                5,
                FACTORY,
                C3pCommand::GetConference(GetConference {
                    conf_entity: None,
                    conference_id: Some("SDFBSD12".into()),
                    info: None,
                }),
            ),
        ),
        (
            "confbas-delete-conference-response.xml",
            C3pDocument::Response(C3pResponse {
                request_id: 12,
                from: FOCUS.into(),
                to: VIVIAN.into(),
                code: ResponseCode::Success,
                reason: None,
                command: C3pCommand::DeleteConference(focus_keys()),
            }),
        ),
        (
            "failure-reason-on-command.xml",
            C3pDocument::Response(C3pResponse {
                request_id: 2,
                from: FACTORY.into(),
                to: VIVIAN.into(),
                code: ResponseCode::Failure,
                reason: Some(FailureReason::McuTypeNotAvailable),
                command: C3pCommand::AddConference(ConferenceInfo::default()),
            }),
        ),
    ];
    for (name, document) in cases {
        assert_eq!(parse(&fixture(name)).unwrap(), document, "{name}");
    }
}
