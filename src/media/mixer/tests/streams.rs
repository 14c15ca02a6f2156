//! Bad input, participants coming and going, and moving a listener
//! between the shared stream and one of its own.

use super::*;

// ---- bad input and bookkeeping ----

#[test]
fn payloads_that_do_not_decode_are_concealed_not_fatal() {
    let mut mixer = Mixer::new(MixerConfig::default());
    mixer.add(1u32, Codec::Opus).unwrap();
    mixer.add(2, Codec::Pcmu).unwrap();
    mixer.add(3, Codec::Opus).unwrap();
    for garbage in [&[0xFFu8, 1, 2][..], &[0x78, 0xFF], &[], &[0x00; 7]] {
        mixer.push(1, Playout::Frame(garbage)).unwrap();
        mixer.push(2, Playout::Frame(garbage)).unwrap();
        mixer.push(3, Playout::Fec(garbage)).unwrap();
        assert_eq!(mixer.mix().count(), 3);
    }
    assert!(mixer.stats().decode_errors > 0);
}

#[test]
fn participants_come_and_go_by_id() {
    let mut mixer = Mixer::new(MixerConfig::default());
    for id in ["amy", "hao", "vivian"] {
        mixer.add(id, Codec::Opus).unwrap();
    }
    assert!(matches!(
        mixer.add("hao", Codec::Pcmu),
        Err(MixerError::DuplicateParticipant)
    ));
    assert!(mixer.remove("amy"));
    assert!(!mixer.remove("amy"));
    assert!(matches!(
        mixer.push("amy", Playout::Silence),
        Err(MixerError::UnknownParticipant)
    ));
    assert!(matches!(
        mixer.set_listening("amy", false),
        Err(MixerError::UnknownParticipant)
    ));
    // The participant moved into the removed one's place is still found.
    mixer.set_listening("vivian", false).unwrap();
    let listeners: Vec<&str> = mixer.mix().map(|(id, _)| id).collect();
    assert_eq!(listeners, vec!["hao"]);
    assert_eq!(mixer.len(), 2);
}

// ---- switching streams ----

/// How much noisier `decoded` is just after frame `at` than it is once
/// settled: its noise-to-signal ratio against `said` (which it plays `lag`
/// samples late) over the 3 frames from `at`, less that over the 10 frames
/// after those. A codec's steady noise cancels out, whichever encoder made
/// the stream, and what is left is the transient.
fn transient_noise(decoded: &[i16], said: &[i16], lag: usize, at: usize) -> f64 {
    let ratio = |frames: std::ops::Range<usize>| -> f64 {
        let (mut noise, mut signal) = (0.0, 0.0);
        for n in frames.start * FRAME_SAMPLES..frames.end * FRAME_SAMPLES {
            let expected = f64::from(said[n - lag]);
            noise += (f64::from(decoded[n]) - expected).powi(2);
            signal += expected * expected;
        }
        noise / signal
    };
    ratio(at..at + 3) - ratio(at + 3..at + 13)
}

#[test]
fn moving_between_the_shared_and_an_own_stream_sounds_no_worse_than_a_lost_frame() {
    // Two voices talk throughout; participant 3 talks in bursts, so it
    // moves to a stream of its own and back six times, and should hear the
    // two voices throughout.
    let mut room = Room::new(MixerConfig::default());
    room.pcm_input = true;
    let one = Voice::Speech {
        pitch: 110.0,
        amplitude: 2500.0,
    };
    let two = Voice::Speech {
        pitch: 190.0,
        amplitude: 2000.0,
    };
    room.join(1, Codec::Opus, one);
    room.join(2, Codec::Opus, two);
    room.join(3, Codec::Opus, Voice::Silent);
    let mut switches = Vec::new();
    let mut talking = false;
    for round in 0..6 {
        let burst = Voice::Speech {
            pitch: 150.0 + 10.0 * f64::from(round),
            amplitude: 3000.0,
        };
        for (voice, frames) in [(Voice::Silent, 50), (burst, 40)] {
            room.set_voice(3, voice);
            for _ in 0..frames {
                room.run(1);
                let now = room.mixer.talkers().any(|id| id == 3);
                if now != talking {
                    switches.push(room.frame - 1);
                    talking = now;
                }
            }
        }
    }
    room.set_voice(3, Voice::Silent);
    for _ in 0..50 {
        room.run(1);
        if room.mixer.talkers().all(|id| id != 3) && talking {
            switches.push(room.frame - 1);
            talking = false;
        }
    }
    assert_eq!(switches.len(), 12, "{switches:?}");

    let frames = room.frame;
    let said: Vec<i16> = (0..frames)
        .flat_map(|frame| {
            let (a, b) = (one.frame(frame), two.frame(frame));
            (0..FRAME_SAMPLES).map(move |n| a[n].saturating_add(b[n]))
        })
        .collect();
    // What 3 should hear is exactly `said`, whichever stream carries it.
    // The yardstick is one encoder coding `said` throughout: decoded
    // without loss it is the reference, and with the frame at each switch
    // lost and concealed, the glitch a switch must not exceed.
    let mut encoder = Codec::Opus.encoder(&OpusConfig::default()).unwrap();
    let (mut clean, mut decoder) = (
        Codec::Opus.decoder().unwrap(),
        Codec::Opus.decoder().unwrap(),
    );
    let (mut reference, mut concealed) = (Vec::new(), Vec::new());
    let mut packet = Vec::new();
    for (frame, pcm) in said.chunks_exact(FRAME_SAMPLES).enumerate() {
        encoder
            .encode(pcm.try_into().unwrap(), &mut packet)
            .unwrap();
        let mut out = SILENCE;
        clean.decode(&packet, &mut out).unwrap();
        reference.extend_from_slice(&out);
        if switches.contains(&frame) {
            decoder.conceal(&mut out);
        } else {
            decoder.decode(&packet, &mut out).unwrap();
        }
        concealed.extend_from_slice(&out);
    }
    let lag = (0..FRAME_SAMPLES)
        .max_by_key(|&lag| {
            (FRAME_SAMPLES * 20..FRAME_SAMPLES * 60)
                .map(|n| i64::from(said[n]) * i64::from(reference[n + lag]))
                .sum::<i64>()
        })
        .unwrap();
    let heard = &room.client(3).heard;
    let (mut switching, mut concealing) = (0.0, 0.0);
    for &at in &switches {
        let (switch, conceal) = (
            transient_noise(heard, &said, lag, at),
            transient_noise(&concealed, &said, lag, at),
        );
        eprintln!("frame {at}: switch {switch:.3}, concealment {conceal:.3}");
        switching += switch;
        concealing += conceal;
    }
    assert!(concealing > 0.0);
    assert!(
        switching < concealing,
        "switching added {switching:.3e} of noise, concealing {concealing:.3e}"
    );
}

#[test]
fn the_last_push_of_a_frame_wins() {
    let mut mixer = Mixer::new(MixerConfig::default());
    mixer.add(1u32, Codec::Pcmu).unwrap();
    mixer.add(2, Codec::Pcmu).unwrap();
    let loud = Voice::Steady {
        hz: 440.0,
        amplitude: 8000.0,
    }
    .frame(0);
    let silent_payload = [0xFFu8; 160];
    mixer.push_pcm(1, &loud).unwrap();
    let _ = mixer.mix().count();
    assert_eq!(mixer.talkers().collect::<Vec<_>>(), vec![1]);
    // Still a talker (hangover): the payload pushed last is what is decoded
    // and mixed, not the PCM before it.
    mixer.push_pcm(1, &loud).unwrap();
    mixer.push(1, Playout::Frame(&silent_payload)).unwrap();
    let _ = mixer.mix().count();
    assert_eq!(mixer.talkers().collect::<Vec<_>>(), vec![1]);
    assert_eq!(mixer.stats().decodes, 1);
    // And PCM pushed last needs no decode.
    mixer.push(1, Playout::Frame(&silent_payload)).unwrap();
    mixer.push_pcm(1, &loud).unwrap();
    let _ = mixer.mix().count();
    assert_eq!(mixer.stats().decodes, 1);
}
