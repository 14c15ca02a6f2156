//! Levels (RFC 6465's dBov per talker), the Opus voice-activity flag,
//! and the sum's saturation.

use super::*;

#[test]
fn the_sum_saturates_instead_of_wrapping() {
    let mut sum = [0i32; FRAME_SAMPLES];
    sum[0] = 3 * 32_767;
    sum[1] = 3 * -32_768;
    sum[2] = 40_000;
    sum[3] = -100;
    let mut own = SILENCE;
    own[2] = 10_000;
    let mut out = SILENCE;
    clip_into(&sum, None, &mut out);
    assert_eq!(&out[..4], &[32_767, -32_768, 32_767, -100]);
    // The own signal comes out of the sum before clipping: 40000 - 10000.
    clip_into(&sum, Some(&own), &mut out);
    assert_eq!(&out[..4], &[32_767, -32_768, 30_000, -100]);
}

#[test]
fn three_full_scale_talkers_clip_in_phase_for_every_listener() {
    let mut room = Room::new(MixerConfig::default());
    room.pcm_input = true;
    let loud = Voice::Steady {
        hz: 200.0,
        amplitude: 30_000.0,
    };
    for id in 1..=3 {
        room.join(id, Codec::Pcmu, loud);
    }
    room.join(4, Codec::Pcmu, Voice::Silent);
    room.run(25);
    // A wrapped sum would flip the sign of the peaks; a clipped one keeps
    // following the tone, whose positive half is the first 2.5 ms of each
    // 5 ms period. PCMU's resamplers delay it by 10 ms: two periods.
    let tone: Vec<i16> = (0..25).flat_map(|frame| loud.frame(frame)).collect();
    for listener in 1..=4 {
        let heard = &room.client(listener).heard;
        let (from, to) = (10 * FRAME_SAMPLES, 24 * FRAME_SAMPLES);
        let correlation: f64 = (from..to)
            .map(|n| f64::from(heard[n]) * f64::from(tone[n - 480]))
            .sum::<f64>()
            / (from..to)
                .map(|n| f64::from(tone[n - 480]).powi(2))
                .sum::<f64>();
        assert!(correlation > 0.8, "listener {listener}: {correlation:.2}");
        let peak = heard[from..to]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!(peak > 30_000, "listener {listener}: peak {peak}");
    }
}

/// Each mixed talker's level, in `talkers()` order.
fn talker_levels(room: &Room) -> Vec<(u32, f32)> {
    let levels: Vec<(u32, f32)> = room.mixer.talker_levels().collect();
    let ids: Vec<u32> = levels.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, room.mixer.talkers().collect::<Vec<_>>());
    levels
}

#[test]
fn each_talker_has_the_level_of_its_own_audio() {
    // PCM in: the levels are those of the tones, exactly. A sine at half
    // scale is -6 dB of amplitude and -3 dB more of power: -9.03 dBov;
    // at 1/32 of full scale, -33.11.
    let mut room = Room::new(MixerConfig::default());
    room.pcm_input = true;
    let voice = |amplitude| Voice::Steady {
        hz: 440.0,
        amplitude,
    };
    room.join(1, Codec::Pcmu, voice(16_384.0));
    room.join(2, Codec::Pcmu, voice(1_024.0));
    room.join(3, Codec::Pcmu, Voice::Silent);
    room.run(10);
    let mut levels = talker_levels(&room);
    levels.sort_by_key(|(id, _)| *id);
    assert_eq!(levels.len(), 2, "the silent one is not mixed");
    assert!((levels[0].1 + 9.03).abs() < 0.1, "{levels:?}");
    assert!((levels[1].1 + 33.11).abs() < 0.1, "{levels:?}");

    // Coded in Opus and PCMU, a loud and a quiet talker still read 20 dB
    // and more apart, each near what it said (the envelope swings 6 dB).
    let mut room = Room::new(MixerConfig::default());
    let tone = |hz, amplitude| Voice::Tone { hz, amplitude };
    room.join(1, Codec::Opus, tone(HZ[0], 16_000.0));
    room.join(2, Codec::Pcmu, tone(HZ[1], 1_000.0));
    room.join(3, Codec::Opus, Voice::Silent);
    let decodes = |room: &Room| room.mixer.stats().decodes;
    let mut both_mixed = 0;
    for _ in 0..20 {
        let before = decodes(&room);
        room.run(1);
        // One decode per talker, as mixing alone takes: the levels add
        // none.
        assert!(decodes(&room) - before <= 2);
        let levels = talker_levels(&room);
        let level = |id| {
            levels
                .iter()
                .find(|(talker, _)| *talker == id)
                .map(|(_, l)| *l)
        };
        if let (Some(loud), Some(quiet)) = (level(1), level(2)) {
            assert!((-17.0..=-7.0).contains(&loud), "loud {loud}");
            assert!((-42.0..=-31.0).contains(&quiet), "quiet {quiet}");
            assert!(loud - quiet > 20.0);
            both_mixed += 1;
        }
    }
    assert!(both_mixed >= 15, "both mixed in {both_mixed} frames");
    assert_eq!(room.talkers(), vec![1, 2]);

    // Once nobody speaks past the hangover, nobody has a level.
    room.set_voice(1, Voice::Silent);
    room.set_voice(2, Voice::Silent);
    room.run(30);
    assert!(talker_levels(&room).is_empty());
}

#[test]
fn levels_read_in_dbov() {
    assert_eq!(pcm_dbov(&SILENCE), SILENT_DBOV);
    let sine = Voice::Steady {
        hz: 1000.0,
        amplitude: 32_767.0,
    }
    .frame(0);
    assert!((pcm_dbov(&sine) + 3.0).abs() < 0.1, "{}", pcm_dbov(&sine));
    let quiet = Voice::Steady {
        hz: 1000.0,
        amplitude: 327.67,
    }
    .frame(0);
    assert!(
        (pcm_dbov(&quiet) + 43.0).abs() < 0.1,
        "{}",
        pcm_dbov(&quiet)
    );
    // The same sine through µ-law, read without resampling.
    let ulaw: Vec<u8> = sine.iter().step_by(6).map(|s| ulaw_encode(*s)).collect();
    assert!((ulaw_dbov(&ulaw) + 3.0).abs() < 0.3, "{}", ulaw_dbov(&ulaw));
    assert_eq!(ulaw_dbov(&[0xFF; 160]), SILENT_DBOV);
}

#[test]
fn smoothing_keeps_a_pause_from_dropping_the_level() {
    let mut loudness = Loudness::SILENT;
    for _ in 0..10 {
        loudness.update(-20.0, -50.0);
    }
    assert!((loudness.smoothed_dbov() + 20.0).abs() < 0.1);
    // 160 ms of pause costs under 2 dB.
    for _ in 0..8 {
        loudness.update(SILENT_DBOV, -50.0);
    }
    assert!(
        loudness.smoothed_dbov() > -22.0,
        "{}",
        loudness.smoothed_dbov()
    );
    assert_eq!(loudness.quiet_frames, 8);
    assert!(!loudness.active());
}

#[test]
fn the_opus_voice_activity_flag_is_read_from_the_packet() {
    let mut encoder = Codec::Opus.encoder(&OpusConfig::default()).unwrap();
    let mut packet = Vec::new();
    let speech = Voice::Speech {
        pitch: 150.0,
        amplitude: 4000.0,
    };
    let mut flags = Vec::new();
    for frame in 0..25 {
        encoder.encode(&speech.frame(frame), &mut packet).unwrap();
        flags.push(opus_voice_activity(&packet));
    }
    // The syllable envelope's troughs read as pauses.
    assert!(
        flags.iter().filter(|flag| **flag == Some(true)).count() > 15,
        "{flags:?}"
    );
    for _ in 0..25 {
        encoder.encode(&SILENCE, &mut packet).unwrap();
        flags.push(opus_voice_activity(&packet));
    }
    assert!(
        flags[30..].iter().all(|flag| *flag == Some(false)),
        "{flags:?}"
    );
    // CELT-only (config 31) has no flag; nothing at all is unreadable.
    assert_eq!(opus_voice_activity(&[31 << 3, 0xFF]), None);
    assert_eq!(opus_voice_activity(&[]), None);
    assert_eq!(opus_voice_activity(&[15 << 3]), None);
}
