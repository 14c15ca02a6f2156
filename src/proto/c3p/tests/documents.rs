use super::*;

fn round_trip(document: C3pDocument) {
    let body = document.to_xml();
    assert_eq!(parse(body.as_bytes()).unwrap(), document, "{body}");
}

#[test]
fn values_that_need_escaping_round_trip() {
    let awkward = "<&>\"' Família 家族 👪";
    round_trip(C3pDocument::Request(C3pRequest {
        request_id: u64::MAX,
        from: "sip:o'brien&co@confab.local".into(),
        to: FACTORY.into(),
        command: C3pCommand::AddConference(ConferenceInfo {
            entity: String::new(),
            subject: format!("  {awkward}  "),
            conference_id: Some(ID.into()),
            expiry_time: None,
            admission_policy: Some(AdmissionPolicy::ClosedAuthenticated),
            entity_views: vec![awkward.into()],
        }),
    }));
    round_trip(C3pDocument::Request(request(
        0,
        FOCUS,
        C3pCommand::AddUser(AddUser {
            user: ConferenceUser {
                display_text: Some(awkward.into()),
                role: Some(Role::Other("co-host".into())),
                endpoint: Some(UserEndpoint {
                    entity: awkward.into(),
                    endpoint_uri: Some("sip:amy@confab.local".into()),
                    refer_to_uri: Some("sip:+14255550100@confab.local;user=phone".into()),
                    joining_method: Some(JoiningMethod::FocusOwner),
                }),
                ..dial_out().user
            },
            ..dial_out()
        }),
    )));
}

#[test]
fn every_variant_of_every_word_round_trips() {
    let codes = [
        ResponseCode::Success,
        ResponseCode::Failure,
        ResponseCode::Pending,
    ];
    for code in codes {
        assert_eq!(code.as_str().parse::<ResponseCode>().unwrap(), code);
    }
    for status in [
        MediaStatus::SendRecv,
        MediaStatus::SendOnly,
        MediaStatus::RecvOnly,
        MediaStatus::Inactive,
    ] {
        for filter in [MediaFilter::Block, MediaFilter::Unblock] {
            let mut change = mute_amy();
            change.media.status = Some(status);
            change.media.ingress_filter = Some(filter);
            round_trip(C3pDocument::Request(request(
                1,
                FOCUS,
                C3pCommand::ModifyEndpointMedia(change),
            )));
        }
    }
    for method in [
        JoiningMethod::DialedIn,
        JoiningMethod::DialedOut,
        JoiningMethod::FocusOwner,
    ] {
        assert_eq!(method.as_str().parse::<JoiningMethod>().unwrap(), method);
    }
    for policy in [
        AdmissionPolicy::ClosedAuthenticated,
        AdmissionPolicy::OpenAuthenticated,
        AdmissionPolicy::Anonymous,
    ] {
        assert_eq!(policy.as_str().parse::<AdmissionPolicy>().unwrap(), policy);
    }
    for role in [Role::Presenter, Role::Attendee, Role::Other("none".into())] {
        assert_eq!(Role::from(role.as_str()), role);
        round_trip(C3pDocument::Request(request(
            7,
            FOCUS,
            C3pCommand::ModifyUserRoles(ModifyUserRoles {
                keys: amy_keys(),
                role,
            }),
        )));
    }
    let request = request(9, FOCUS, C3pCommand::ModifyConferenceLock(lock()));
    for code in codes {
        round_trip(C3pDocument::Response(request.response(code)));
    }
}

#[test]
fn failure_reasons_have_their_ucma_names() {
    let all = [
        (
            FailureReason::ConferenceDoesNotExist,
            "conferenceDoesNotExist",
        ),
        (FailureReason::Forbidden, "forbidden"),
        (FailureReason::InvalidRole, "invalidRole"),
        (FailureReason::InvalidUserEntity, "invalidUserEntity"),
        (FailureReason::EndpointDoesNotExist, "endpointDoesNotExist"),
        (
            FailureReason::MaximumMeetingSizeExceeded,
            "maximumMeetingSizeExceeded",
        ),
        (FailureReason::McuTypeNotAvailable, "mcuTypeNotAvailable"),
        (FailureReason::NotSupported, "notSupported"),
        (FailureReason::OtherFailure, "otherFailure"),
    ];
    let request = request(6, FOCUS, C3pCommand::DeleteUser(amy_keys()));
    for (reason, name) in all {
        assert_eq!(reason.to_string(), name);
        assert_eq!(name.parse::<FailureReason>().unwrap(), reason);
        round_trip(C3pDocument::Response(request.failure(reason)));
    }
    assert!(matches!(
        "Forbidden".parse::<FailureReason>(),
        Err(C3pError::BadValue { what: "reason", .. })
    ));
}

#[test]
fn only_forbidden_carries_diagnostic_3014() {
    let header = ms_diagnostics_header(FailureReason::Forbidden).unwrap();
    assert!(header.starts_with("3014;reason=\""), "{header}");
    assert!(header.ends_with('"'), "{header}");
    for reason in [
        FailureReason::ConferenceDoesNotExist,
        FailureReason::InvalidRole,
        FailureReason::NotSupported,
        FailureReason::OtherFailure,
    ] {
        assert_eq!(ms_diagnostics_header(reason), None);
    }
}

#[test]
fn a_response_swaps_from_and_to_and_echoes_the_command() {
    let request = request(4, FOCUS, C3pCommand::AddUser(join(Role::Attendee)));
    let response = request.response(ResponseCode::Success);
    assert_eq!(response.request_id, 4);
    assert_eq!(response.from, FOCUS);
    assert_eq!(response.to, VIVIAN);
    assert_eq!(response.reason, None);
    assert_eq!(response.command, request.command);
    let failure = request.failure(FailureReason::MaximumMeetingSizeExceeded);
    assert_eq!(failure.code, ResponseCode::Failure);
    assert_eq!(
        failure.reason,
        Some(FailureReason::MaximumMeetingSizeExceeded)
    );
}

#[test]
fn a_reason_we_do_not_know_is_other_failure() {
    let body = format!(
        r#"<response xmlns="{CCCP_NAMESPACE}" requestId="3" from="a" to="b" code="failure" reason="serverBusy"><deleteConference/></response>"#
    );
    let response = parse_response(body.as_bytes()).unwrap();
    assert_eq!(response.reason, Some(FailureReason::OtherFailure));
    // The echo is incomplete; a failure may do that.
    assert_eq!(
        response.command,
        C3pCommand::DeleteConference(ConferenceKeys::default())
    );
}

#[test]
fn requests_and_responses_are_told_apart() {
    let request = fixture("delete-conference-request.xml");
    let response = fixture("delete-conference-response.xml");
    assert!(parse_request(&request).is_ok());
    assert!(matches!(
        parse_request(&response),
        Err(C3pError::NotARequest)
    ));
    assert!(parse_response(&response).is_ok());
    assert!(matches!(
        parse_response(&request),
        Err(C3pError::NotAResponse)
    ));
}

#[test]
fn prefixes_are_the_sender_s_choice() {
    let body = format!(
        r#"<c3p:request xmlns:c3p="{CCCP_NAMESPACE}" xmlns:x="{MS_CCCP_NAMESPACE}" xmlns:conf="{CONFERENCE_INFO_NAMESPACE}" requestId="4" from="{VIVIAN}" to="{FOCUS}">
             <c3p:addUser x:mcuUri="{AV_MCU}">
               <c3p:conferenceKeys confEntity="{FOCUS}"/>
               <conf:user entity="{VIVIAN}"><conf:roles><conf:entry> attendee </conf:entry></conf:roles></conf:user>
             </c3p:addUser>
           </c3p:request>"#
    );
    let request = parse_request(body.as_bytes()).unwrap();
    let C3pCommand::AddUser(add) = request.command else {
        panic!("{:?}", request.command);
    };
    assert_eq!(add.mcu_uri.as_deref(), Some(AV_MCU));
    assert_eq!(add.user.role, Some(Role::Attendee));
    assert!(add.is_dial_out());
}

#[test]
fn a_known_name_in_another_namespace_is_an_unknown_command() {
    let body = format!(
        r#"<request xmlns="{CCCP_NAMESPACE}" requestId="1" from="a" to="b"><deleteConference xmlns="urn:example:other"/></request>"#
    );
    assert_eq!(
        parse_request(body.as_bytes()).unwrap().command,
        C3pCommand::Unknown {
            name: "deleteConference".into()
        }
    );
}

#[test]
fn an_unknown_command_name_that_is_not_xml_is_not_written() {
    let request = request(
        1,
        FOCUS,
        C3pCommand::Unknown {
            name: "<bad name>".into(),
        },
    );
    let reread = parse_request(request.to_xml().as_bytes()).unwrap();
    assert_eq!(
        reread.command,
        C3pCommand::Unknown {
            name: "unknownCommand".into()
        }
    );
}

#[test]
fn dial_out_goes_to_refer_to_then_endpoint_uri_then_the_user() {
    let mut add = dial_out();
    assert!(add.is_dial_out());
    assert_eq!(add.dial_out_target(), "tel:+14255032002");
    if let Some(endpoint) = add.user.endpoint.as_mut() {
        endpoint.refer_to_uri = Some("sip:vivian-mobile@confab.local".into());
    }
    assert_eq!(add.dial_out_target(), "sip:vivian-mobile@confab.local");
    add.user.endpoint = None;
    assert_eq!(add.dial_out_target(), VIVIAN);
    // Joining the focus is not a dial-out.
    assert!(!join(Role::Attendee).is_dial_out());
    // A dial-out named only by its joining method still is one.
    let mut by_method = dial_out();
    by_method.mcu_uri = None;
    assert!(by_method.is_dial_out());
}

#[test]
fn get_conference_needs_an_entity_or_an_id() {
    let body = format!(
        r#"<request xmlns="{CCCP_NAMESPACE}" requestId="1" from="a" to="b"><getConference><conferenceKeys/></getConference></request>"#
    );
    assert!(matches!(
        parse(body.as_bytes()),
        Err(C3pError::MissingAttribute {
            element: "conferenceKeys",
            ..
        })
    ));
    round_trip(C3pDocument::Request(request(
        3,
        FACTORY,
        C3pCommand::GetConference(GetConference {
            conf_entity: Some(FOCUS.into()),
            conference_id: None,
            info: None,
        }),
    )));
}

#[test]
fn command_names_are_the_element_names() {
    for (name, document) in confab_fixtures() {
        let command = match &document {
            C3pDocument::Request(request) => &request.command,
            C3pDocument::Response(response) => &response.command,
        };
        let element = format!("<{}", command.name());
        assert!(document.to_xml().contains(&element), "{name}");
    }
}
