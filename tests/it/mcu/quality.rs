//! Every started leg's figures come back from the MCU on their own, each
//! with the leg's negotiated codec; a leg not started reports nothing.

use confab::net::QUALITY_INTERVAL;

use super::*;

#[test]
fn every_started_leg_reports_its_quality_with_its_codec() {
    let _turn = crate::harness::audio_call_turn();
    runtime().block_on(quality_reports());
}

async fn quality_reports() {
    let loopback = Ipv4Addr::LOCALHOST;
    let (requests, requests_rx) = mpsc::unbounded_channel();
    let (results_tx, mut results) = mpsc::unbounded_channel();
    let mcu = tokio::spawn(run_mcu(IpAddr::V4(loopback), requests_rx, results_tx));
    let mut participants = vec![
        Participant::new(1, Codec::Opus, 440.0, loopback).await,
        Participant::new(2, Codec::Pcmu, 1000.0, loopback).await,
    ];
    for participant in &mut participants {
        join(&requests, &mut results, participant, CONFERENCE).await;
    }
    // Leg 3 is open but never started: nothing to report.
    requests
        .send(IoRequest::McuOpenLeg {
            conference: CONFERENCE.into(),
            leg: 3,
        })
        .unwrap();
    assert!(matches!(
        expect_result(&mut results).await,
        IoResult::McuLegReady { leg: 3, .. }
    ));

    // Both talk until the first reports come, one interval on.
    let deadline = Instant::now() + QUALITY_INTERVAL + WAIT;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut reports = std::collections::BTreeMap::new();
    while reports.len() < 2 {
        tokio::select! {
            _ = tick.tick() => {
                for participant in participants.iter_mut() {
                    let to = participant.mcu.unwrap();
                    participant.send(to).await;
                }
            }
            (index, len) = receive_any(&mut participants) => participants[index].receive(len),
            result = results.recv() => match result.expect("the MCU is running") {
                IoResult::McuLegQuality { leg, quality } => {
                    reports.insert(leg, quality);
                }
                other => panic!("expected quality reports, got {other:?}"),
            },
            () = tokio::time::sleep_until(deadline) => panic!("no quality reports: {reports:?}"),
        }
    }
    // One report goes out for all legs at once: had leg 3 been in it, it
    // would be waiting now.
    while let Ok(result) = results.try_recv() {
        assert!(
            !matches!(result, IoResult::McuLegQuality { leg: 3, .. }),
            "{result:?}"
        );
    }
    assert_eq!(reports.keys().copied().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(reports[&1].codec, "Opus");
    assert_eq!(reports[&2].codec, "PCMU");
    for (leg, quality) in &reports {
        // Loopback loses nothing to speak of.
        assert!(
            (0.0..5.0).contains(&quality.loss_percent),
            "leg {leg}: {quality:?}"
        );
        assert!(
            quality.jitter_ms.is_finite() && quality.jitter_ms >= 0.0,
            "leg {leg}: {quality:?}"
        );
        // The participants send no RTCP: no round trip is known.
        assert_eq!(quality.round_trip_ms, None, "leg {leg}");
    }

    drop(requests);
    tokio::time::timeout(WAIT, mcu)
        .await
        .expect("the MCU stops when its requests end")
        .unwrap();
}
