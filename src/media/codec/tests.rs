use std::f64::consts::TAU;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::media::{FRAME_SAMPLES, SAMPLE_RATE};

// ---- signals and measures ----

/// A sine of `hz` at `amplitude` for `frames` frames.
fn tone(hz: f64, amplitude: f64, frames: usize) -> Vec<i16> {
    (0..frames * FRAME_SAMPLES)
        .map(|n| (amplitude * (TAU * hz * n as f64 / f64::from(SAMPLE_RATE)).sin()).round() as i16)
        .collect()
}

/// A voiced, speech-like signal: 12 harmonics of a pitch gliding between
/// 110 and 230 Hz with a falling spectral tilt, under a syllable envelope of
/// about 4 Hz. Frame to frame it changes, so concealment cannot simply
/// repeat the last period.
fn voiced(frames: usize) -> Vec<i16> {
    let rate = f64::from(SAMPLE_RATE);
    let mut phase = 0.0f64;
    (0..frames * FRAME_SAMPLES)
        .map(|n| {
            let t = n as f64 / rate;
            let pitch = 170.0 + 60.0 * (TAU * 1.3 * t).sin();
            phase += TAU * pitch / rate;
            let envelope = 0.55 + 0.45 * (TAU * 3.7 * t).sin();
            let sum: f64 = (1..=12)
                .map(|h| (phase * f64::from(h)).sin() / f64::from(h))
                .sum();
            (5000.0 * envelope * sum).round() as i16
        })
        .collect()
}

/// A steady vowel: 12 harmonics of `pitch` with a falling tilt.
fn vowel(pitch: f64, frames: usize) -> Vec<i16> {
    let rate = f64::from(SAMPLE_RATE);
    (0..frames * FRAME_SAMPLES)
        .map(|n| {
            let phase = TAU * pitch * n as f64 / rate;
            let sum: f64 = (1..=12)
                .map(|h| (phase * f64::from(h)).sin() / f64::from(h))
                .sum();
            (4000.0 * sum).round() as i16
        })
        .collect()
}

fn frames(signal: &[i16]) -> impl Iterator<Item = &Frame> {
    signal
        .chunks_exact(FRAME_SAMPLES)
        .map(|chunk| <&Frame>::try_from(chunk).unwrap())
}

/// The lag (output behind input) in 0..max_lag that best aligns `output`
/// with `input`, by cross-correlation over `input[start..end]`.
fn best_lag(input: &[i16], output: &[i16], start: usize, end: usize, max_lag: usize) -> usize {
    (0..max_lag)
        .max_by_key(|&lag| {
            let cross: f64 = (start..end)
                .map(|n| f64::from(input[n]) * f64::from(output[n + lag]))
                .sum();
            cross as i64
        })
        .unwrap()
}

/// Signal-to-noise ratio in dB of `output[n + lag]` against `input[n]`.
fn snr_db(input: &[i16], output: &[i16], lag: usize, start: usize, end: usize) -> f64 {
    let (mut signal, mut noise) = (0.0f64, 0.0f64);
    for n in start..end {
        let x = f64::from(input[n]);
        let e = x - f64::from(output[n + lag]);
        signal += x * x;
        noise += e * e;
    }
    10.0 * (signal / noise.max(1.0)).log10()
}

fn energy(samples: &[i16]) -> f64 {
    samples.iter().map(|s| f64::from(*s).powi(2)).sum()
}

fn encode_all(encoder: &mut dyn AudioEncoder, signal: &[i16]) -> Vec<Vec<u8>> {
    frames(signal)
        .map(|frame| {
            let mut packet = Vec::new();
            encoder.encode(frame, &mut packet).unwrap();
            packet
        })
        .collect()
}

// ---- G.711 µ-law ----

#[test]
fn ulaw_matches_g711_reference_points() {
    // Silence is positive zero, inverted: 0xFF; the extremes are the top
    // step of segment 7, 0x80 (positive) and 0x00 (negative).
    assert_eq!(ulaw_encode(0), 0xFF);
    assert_eq!(ulaw_encode(i16::MAX), 0x80);
    assert_eq!(ulaw_encode(i16::MIN), 0x00);
    assert_eq!(ulaw_encode(-1), 0x7F);
    // G.711 Table 2a decoder outputs (14-bit) times 4: 0, 8031, and the
    // first step of segments 1 and 2 (33 and 99).
    assert_eq!(ulaw_decode(0xFF), 0);
    assert_eq!(ulaw_decode(0x7F), 0);
    assert_eq!(ulaw_decode(0x80), 8031 * 4);
    assert_eq!(ulaw_decode(0x00), -8031 * 4);
    assert_eq!(ulaw_decode(0xEF), 33 * 4);
    assert_eq!(ulaw_decode(0xDF), 99 * 4);
    // The segment 0/1 decision value 31 (14-bit) is 124 in 16-bit units.
    assert_eq!(ulaw_encode(123), 0xF0);
    assert_eq!(ulaw_encode(124), 0xEF);
}

#[test]
fn ulaw_codes_round_trip_and_decode_monotonically() {
    for code in 0..=255u8 {
        let expected = if code == 0x7F { 0xFF } else { code };
        assert_eq!(ulaw_encode(ulaw_decode(code)), expected, "code {code:#04x}");
    }
    // Positive codes 0xFF down to 0x80 decode to rising values.
    let positive: Vec<i16> = (0x80..=0xFFu8).rev().map(ulaw_decode).collect();
    assert!(positive.windows(2).all(|pair| pair[0] < pair[1]));
    // Every input lands on the nearest-below-or-equal quantizer step:
    // the error is under one step of its segment.
    for sample in (i16::MIN..=i16::MAX).step_by(7) {
        let decoded = i32::from(ulaw_decode(ulaw_encode(sample)));
        let magnitude = i32::from(sample).abs().min(32_635);
        let step = 8 << ((magnitude + 132).ilog2() - 7);
        assert!(
            (decoded - i32::from(sample)).abs() <= step.max(8),
            "{sample}"
        );
    }
}

// ---- PCMU ----

#[test]
fn pcmu_round_trip_keeps_a_telephone_band_tone() {
    let mut encoder = PcmuEncoder::new().unwrap();
    let mut decoder = PcmuDecoder::new().unwrap();
    let delay = encoder.delay() + decoder.delay();
    assert!(delay <= 480, "PCMU adds {delay} samples, over 10 ms");
    let mut round_trip = |input: &[i16]| {
        let mut output = Vec::new();
        for packet in encode_all(&mut encoder, input) {
            assert_eq!(packet.len(), 160);
            let mut frame = [0; FRAME_SAMPLES];
            assert_eq!(decoder.decode(&packet, &mut frame).unwrap(), FRAME_SAMPLES);
            output.extend_from_slice(&frame);
        }
        output
    };
    // The stated delay is the real one (a tone would align at any period).
    let speech = voiced(50);
    let output = round_trip(&speech);
    let (start, end) = (4800, speech.len() - 2000);
    assert_eq!(best_lag(&speech, &output, start, end, 2000), delay);

    let tone = tone(1000.0, 12_000.0, 50);
    let output = round_trip(&tone);
    let snr = snr_db(&tone, &output, delay, start, end);
    // µ-law alone gives about 38 dB on a loud sine; the resamplers' ripple
    // costs a little.
    eprintln!("PCMU 1 kHz SNR {snr:.1} dB, delay {delay} samples");
    assert!(snr > 30.0, "PCMU SNR {snr:.1} dB");
}

#[test]
fn pcmu_encoder_filters_what_8_khz_cannot_carry() {
    // A 6 kHz tone would alias to 2 kHz without the anti-alias filter.
    let input = tone(6000.0, 12_000.0, 25);
    let mut encoder = PcmuEncoder::new().unwrap();
    let mut decoder = PcmuDecoder::new().unwrap();
    let mut output = Vec::new();
    for packet in encode_all(&mut encoder, &input) {
        let mut frame = [0; FRAME_SAMPLES];
        decoder.decode(&packet, &mut frame).unwrap();
        output.extend_from_slice(&frame);
    }
    let attenuation = 10.0 * (energy(&output[4800..]) / energy(&input[4800..])).log10();
    assert!(attenuation < -40.0, "6 kHz only down {attenuation:.1} dB");
}

#[test]
fn pcmu_concealment_continues_the_waveform_then_fades() {
    // 150 Hz: a period of 53.3 samples at 8 kHz, so not an exact repeat.
    let input = vowel(150.0, 40);
    let mut encoder = PcmuEncoder::new().unwrap();
    let packets = encode_all(&mut encoder, &input);
    let decode = |lost: &[usize]| {
        let mut decoder = PcmuDecoder::new().unwrap();
        let mut output = Vec::new();
        for (index, packet) in packets.iter().enumerate() {
            let mut frame = [0; FRAME_SAMPLES];
            if lost.contains(&index) {
                decoder.conceal(&mut frame);
            } else {
                decoder.decode(packet, &mut frame).unwrap();
            }
            output.extend_from_slice(&frame);
        }
        output
    };
    let reference = decode(&[]);
    let concealed = decode(&[20]);
    // The lost frame, as it comes out of the 48 kHz interpolator.
    let delay = PcmuDecoder::new().unwrap().delay();
    let lost = 20 * FRAME_SAMPLES + delay..21 * FRAME_SAMPLES + delay;
    let error: Vec<i16> = lost
        .clone()
        .map(|n| reference[n].saturating_sub(concealed[n]))
        .collect();
    // Playing silence instead would leave the whole frame as error.
    let gain_db = 10.0 * (energy(&reference[lost]) / energy(&error)).log10();
    eprintln!("PCMU concealment of a 150 Hz vowel: {gain_db:.1} dB");
    assert!(
        gain_db > 10.0,
        "concealment only {gain_db:.1} dB better than silence"
    );

    // A long loss fades out by 60 ms: the fourth concealed frame is silent.
    let long = decode(&[20, 21, 22, 23]);
    let fourth = &long[23 * FRAME_SAMPLES + delay..24 * FRAME_SAMPLES];
    assert!(
        fourth.iter().all(|s| s.abs() < 64),
        "still audible after 60 ms"
    );
    // And the good frame after it plays again.
    assert!(energy(&long[25 * FRAME_SAMPLES..26 * FRAME_SAMPLES]) > 0.0);
}

#[test]
fn pcmu_rejects_malformed_payloads_and_stays_usable() {
    let mut decoder = PcmuDecoder::new().unwrap();
    let mut frame = [0; FRAME_SAMPLES];
    assert!(matches!(
        decoder.decode(&[], &mut frame),
        Err(CodecError::EmptyPayload)
    ));
    assert!(matches!(
        decoder.decode(&[0xFF; 80], &mut frame),
        Err(CodecError::FrameDuration {
            samples: 80,
            clock_rate: 8000
        })
    ));
    assert!(decoder.decode(&[0xFF; 160], &mut frame).is_ok());
}

// ---- Opus ----

#[test]
fn opus_round_trip_keeps_a_tone() {
    let mut encoder = OpusEncoder::new(&OpusConfig::default()).unwrap();
    let lookahead = encoder.lookahead().unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut round_trip = |input: &[i16]| {
        let mut output = Vec::new();
        for packet in encode_all(&mut encoder, input) {
            assert!(packet.len() < 200, "{} bytes at 32 kb/s", packet.len());
            let mut frame = [0; FRAME_SAMPLES];
            assert_eq!(decoder.decode(&packet, &mut frame).unwrap(), FRAME_SAMPLES);
            output.extend_from_slice(&frame);
        }
        output
    };
    // The codec delay is the encoder's look-ahead (6.5 ms in VoIP mode);
    // measured on a signal without a single period.
    let speech = voiced(100);
    let output = round_trip(&speech);
    let (start, end) = (9600, speech.len() - 2000);
    let lag = best_lag(&speech, &output, start, end, 2000);
    assert!(
        lag.abs_diff(lookahead) <= 12,
        "lag {lag}, look-ahead {lookahead}"
    );

    let tone = tone(440.0, 10_000.0, 100);
    let output = round_trip(&tone);
    let snr = snr_db(&tone, &output, lag, start, end);
    eprintln!("Opus 440 Hz SNR {snr:.1} dB at lag {lag} (look-ahead {lookahead})");
    assert!(snr > 15.0, "Opus SNR {snr:.1} dB");
}

#[test]
fn opus_fec_recovers_a_lost_frame_better_than_concealment() {
    let input = voiced(100);
    let config = OpusConfig {
        expected_loss_percent: 10,
        ..OpusConfig::default()
    };
    let mut encoder = OpusEncoder::new(&config).unwrap();
    let packets = encode_all(&mut encoder, &input);
    // LBRR rides only after frames the encoder found voice-active: lose
    // frames whose successor carries it, spaced out so each loss is alone.
    let with_lbrr = (10..95).filter(|&index| opus_packet_has_fec(&packets[index + 1]));
    let carrying = with_lbrr.clone().count();
    assert!(carrying > 50, "only {carrying} of 85 packets carry FEC");
    let lost: Vec<usize> = with_lbrr.step_by(7).collect();

    let decode = |use_fec: bool, lose: bool| {
        let mut decoder = OpusDecoder::new().unwrap();
        let mut output = Vec::new();
        for (index, packet) in packets.iter().enumerate() {
            let mut frame = [0; FRAME_SAMPLES];
            match (lose && lost.contains(&index), use_fec) {
                (false, _) => {
                    decoder.decode(packet, &mut frame).unwrap();
                }
                (true, true) => {
                    decoder.decode_fec(&packets[index + 1], &mut frame).unwrap();
                }
                (true, false) => decoder.conceal(&mut frame),
            }
            output.extend_from_slice(&frame);
        }
        output
    };
    let reference = decode(false, false);
    let with_fec = decode(true, true);
    let with_plc = decode(false, true);
    // The error over each lost frame and the one after (where the decoder
    // reconverges), against the loss-free decode.
    let error = |output: &[i16]| -> f64 {
        lost.iter()
            .flat_map(|index| index * FRAME_SAMPLES..(index + 2) * FRAME_SAMPLES)
            .map(|n| (f64::from(reference[n]) - f64::from(output[n])).powi(2))
            .sum()
    };
    let signal: f64 = lost
        .iter()
        .flat_map(|index| index * FRAME_SAMPLES..(index + 2) * FRAME_SAMPLES)
        .map(|n| f64::from(reference[n]).powi(2))
        .sum();
    let fec_snr = 10.0 * (signal / error(&with_fec)).log10();
    let plc_snr = 10.0 * (signal / error(&with_plc)).log10();
    eprintln!("opus lost frames: FEC {fec_snr:.1} dB, PLC {plc_snr:.1} dB");
    assert!(
        fec_snr > plc_snr + 3.0,
        "FEC {fec_snr:.1} dB vs PLC {plc_snr:.1} dB"
    );
}

#[test]
fn opus_fec_flag_follows_the_encoder_setting() {
    let input = voiced(20);
    let config = OpusConfig {
        inband_fec: false,
        ..OpusConfig::default()
    };
    let packets = encode_all(&mut OpusEncoder::new(&config).unwrap(), &input);
    assert!(packets.iter().all(|packet| !opus_packet_has_fec(packet)));
    assert!(!opus_packet_has_fec(&[]));
}

#[test]
fn opus_decoder_downmixes_a_stereo_stream() {
    // RFC 7587 §7: a peer may send stereo; both channels carry the tone.
    let mono = tone(440.0, 8_000.0, 50);
    let stereo: Vec<i16> = mono.iter().flat_map(|s| [*s, *s]).collect();
    let mut encoder =
        ::opus::Encoder::new(48_000, ::opus::Channels::Stereo, ::opus::Application::Voip).unwrap();
    let mut decoder = OpusDecoder::new().unwrap();
    let mut output = Vec::new();
    let mut packet = [0u8; 1500];
    for chunk in stereo.chunks_exact(2 * FRAME_SAMPLES) {
        let written = encoder.encode(chunk, &mut packet).unwrap();
        assert_eq!(
            ::opus::packet::get_nb_channels(&packet[..written]).unwrap(),
            ::opus::Channels::Stereo
        );
        let mut frame = [0; FRAME_SAMPLES];
        decoder.decode(&packet[..written], &mut frame).unwrap();
        output.extend_from_slice(&frame);
    }
    let (start, end) = (9600, mono.len() - 2000);
    let lag = best_lag(&mono, &output, start, end, 2000);
    let snr = snr_db(&mono, &output, lag, start, end);
    assert!(snr > 10.0, "stereo downmix SNR {snr:.1} dB");
}

#[test]
fn opus_rejects_malformed_payloads_without_panicking() {
    let mut decoder = OpusDecoder::new().unwrap();
    let mut frame = [0; FRAME_SAMPLES];
    assert!(matches!(
        decoder.decode(&[], &mut frame),
        Err(CodecError::EmptyPayload)
    ));
    assert!(matches!(
        decoder.decode_fec(&[], &mut frame),
        Err(CodecError::EmptyPayload)
    ));

    // A valid 40 ms packet does not fit one frame.
    let mut raw =
        ::opus::Encoder::new(48_000, ::opus::Channels::Mono, ::opus::Application::Voip).unwrap();
    let long = raw.encode_vec(&[0i16; 2 * FRAME_SAMPLES], 1500).unwrap();
    assert!(matches!(
        decoder.decode(&long, &mut frame),
        Err(CodecError::FrameDuration {
            samples: 1920,
            clock_rate: 48_000
        })
    ));
    // TOC code 3 with a frame count of 0 is invalid (RFC 6716 §3.2.5).
    assert!(decoder.decode(&[0x0B, 0x00], &mut frame).is_err());

    // Random bytes: errors or noise, never a panic.
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..2000 {
        let len = rng.random_range(1..300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let _ = decoder.decode(&bytes, &mut frame);
        let _ = decoder.decode_fec(&bytes, &mut frame);
        let _ = opus_packet_has_fec(&bytes);
    }
    // Still decodes real audio afterwards.
    let mut encoder = OpusEncoder::new(&OpusConfig::default()).unwrap();
    let mut packet = Vec::new();
    encoder.encode(&[0; FRAME_SAMPLES], &mut packet).unwrap();
    assert_eq!(decoder.decode(&packet, &mut frame).unwrap(), FRAME_SAMPLES);
}

#[test]
fn codec_table_matches_rfc_3551_and_7587() {
    assert_eq!(Codec::Opus.timestamp_increment(), 960);
    assert_eq!(Codec::Pcmu.timestamp_increment(), 160);
    assert_eq!(Codec::Pcmu.static_payload_type(), Some(0));
    assert_eq!(Codec::Opus.rtpmap_channels(), 2);
    let mut encoder = Codec::Pcmu.encoder(&OpusConfig::default()).unwrap();
    let mut decoder = Codec::Opus.decoder().unwrap();
    assert_eq!(encoder.codec(), Codec::Pcmu);
    assert_eq!(decoder.codec(), Codec::Opus);
    // The default decode_fec of PCMU conceals.
    let mut pcmu = Codec::Pcmu.decoder().unwrap();
    let mut frame = [1; FRAME_SAMPLES];
    assert_eq!(
        pcmu.decode_fec(&[0xFF; 160], &mut frame).unwrap(),
        FRAME_SAMPLES
    );
    // An output buffer reused across frames keeps its capacity.
    let mut packet = Vec::with_capacity(160);
    encoder.encode(&[0; FRAME_SAMPLES], &mut packet).unwrap();
    let capacity = packet.capacity();
    encoder.encode(&[0; FRAME_SAMPLES], &mut packet).unwrap();
    assert_eq!(packet.capacity(), capacity);
    decoder.reset();
}
