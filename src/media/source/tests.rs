use super::*;
use crate::media::SILENCE;

fn frames_of(source: &mut impl FrameSource, count: usize) -> Vec<i16> {
    let mut frame = SILENCE;
    let mut samples = Vec::new();
    for _ in 0..count {
        source.next_frame(&mut frame);
        samples.extend_from_slice(&frame);
    }
    samples
}

fn crossings(samples: &[i16]) -> usize {
    samples
        .windows(2)
        .filter(|w| (w[0] < 0) != (w[1] < 0))
        .count()
}

fn rms(samples: &[i16]) -> f64 {
    let energy: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (energy / samples.len() as f64).sqrt()
}

fn write_wav(path: &std::path::Path, spec: hound::WavSpec, samples: impl Iterator<Item = f64>) {
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for sample in samples {
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, _) => writer.write_sample(sample as f32).unwrap(),
            (_, bits) => {
                let full = f64::from(1u32 << (bits - 1));
                writer.write_sample((sample * full).round() as i32).unwrap();
            }
        }
    }
    writer.finalize().unwrap();
}

fn spec(rate: u32, channels: u16, bits: u16, format: hound::SampleFormat) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: format,
    }
}

#[test]
fn specs_parse_every_form_of_design_section_1() {
    let input = |s: &str| s.parse::<AudioInSpec>().unwrap();
    assert_eq!(input("device"), AudioInSpec::Device);
    assert_eq!(
        input("device:hw:CARD=0,DEV=0"),
        AudioInSpec::NamedDevice("hw:CARD=0,DEV=0".into())
    );
    assert_eq!(
        input("wav:/tmp/a b.wav"),
        AudioInSpec::Wav("/tmp/a b.wav".into())
    );
    assert_eq!(input("tone:440"), AudioInSpec::Tone(440.0));
    assert_eq!(input("tone:997.5"), AudioInSpec::Tone(997.5));
    assert_eq!(input("silence"), AudioInSpec::Silence);
    assert_eq!(input("null"), AudioInSpec::Silence);

    let output = |s: &str| s.parse::<AudioOutSpec>().unwrap();
    assert_eq!(output("device"), AudioOutSpec::Device);
    assert_eq!(
        output("device:test_out"),
        AudioOutSpec::NamedDevice("test_out".into())
    );
    assert_eq!(output("wav:out.wav"), AudioOutSpec::Wav("out.wav".into()));
    assert_eq!(output("null"), AudioOutSpec::Null);
    assert_eq!(output("silence"), AudioOutSpec::Null);

    for spec in ["device", "device:x", "wav:a.wav", "tone:440", "silence"] {
        assert_eq!(input(spec).to_string(), spec);
    }
    for spec in ["device", "device:x", "wav:a.wav", "null"] {
        assert_eq!(output(spec).to_string(), spec);
    }
}

#[test]
fn bad_specs_say_what_is_wrong() {
    let input_error = |s: &str| s.parse::<AudioInSpec>().unwrap_err().to_string();
    let output_error = |s: &str| s.parse::<AudioOutSpec>().unwrap_err().to_string();
    assert!(input_error("device:").contains("empty device name"));
    assert!(input_error("wav:").contains("empty WAV path"));
    assert!(input_error("tone:abc").contains("frequency in Hz"));
    assert!(input_error("tone:0").contains("below 24000"));
    assert!(input_error("tone:24000").contains("below 24000"));
    assert!(input_error("tone:NaN").contains("below 24000"));
    assert!(input_error("mic").contains("unknown kind"));
    assert!(
        input_error("").contains("tone:HZ"),
        "input errors list tone"
    );
    assert!(output_error("tone:440").contains("input only"));
    assert!(
        !output_error("speaker").contains("tone:HZ"),
        "output errors do not"
    );
}

#[test]
fn tone_is_a_continuous_sine_swelling_between_half_and_full_minus_12_dbfs() {
    let samples = frames_of(&mut ToneSource::new(1000.0), 3);
    for (n, &sample) in samples.iter().enumerate() {
        let t = n as f64 / 48_000.0;
        let loudness = 0.75 + 0.25 * (std::f64::consts::TAU * TONE_SWELL_HZ * t).sin();
        let expected = TONE_PEAK * loudness * (std::f64::consts::TAU * n as f64 / 48.0).sin();
        assert!((f64::from(sample) - expected).abs() <= 0.5, "sample {n}");
    }
    // 20 cycles from phase 0: the 40th sign change is the next frame's first.
    assert_eq!(crossings(&samples[..FRAME_SAMPLES]), 39);
    // The phase carries across frames: no seam at 960 or 1920.
    assert_eq!(crossings(&samples), 119);
    // A full swell (a third of a second) peaks at -12 dBFS and dips to -18.
    let swell = frames_of(&mut ToneSource::new(1000.0), 17);
    let peaks: Vec<f64> = swell
        .chunks_exact(FRAME_SAMPLES)
        .map(|frame| Level::of(&frame.try_into().unwrap()).peak_dbfs().into())
        .collect();
    let loudest = peaks.iter().copied().fold(f64::MIN, f64::max);
    let quietest = peaks.iter().copied().fold(f64::MAX, f64::min);
    assert!((loudest + 12.04).abs() < 0.1, "{peaks:?}");
    assert!((quietest + 18.06).abs() < 0.3, "{peaks:?}");
}

#[test]
fn a_steady_tone_holds_minus_12_dbfs_in_every_frame() {
    let samples = frames_of(&mut ToneSource::steady(1000.0), 20);
    for frame in samples.chunks_exact(FRAME_SAMPLES) {
        let level = Level::of(&frame.try_into().unwrap());
        assert!((level.peak_dbfs() + 12.04).abs() < 0.01, "{level:?}");
        assert!((level.rms_dbfs() + 15.05).abs() < 0.01, "{level:?}");
    }
}

#[test]
fn a_tone_that_does_not_divide_the_rate_keeps_its_pitch() {
    // 440 Hz: 109.09 samples a cycle; 50 frames are exactly 440 cycles.
    let samples = frames_of(&mut ToneSource::new(440.0), 50);
    assert_eq!(crossings(&samples), 880 - 1);
}

#[test]
fn silence_and_null_do_nothing_deterministically() {
    let mut frame = [7; FRAME_SAMPLES];
    SilenceSource.next_frame(&mut frame);
    assert_eq!(frame, SILENCE);
    assert_eq!(Level::of(&frame), Level::default());
    assert_eq!(Level::of(&frame).peak_dbfs(), f32::NEG_INFINITY);
    let mut null = NullSink::default();
    null.play(&frame);
    null.play(&frame);
    assert_eq!(null.frames, 2);
}

#[test]
fn a_meter_is_shared_by_its_clones() {
    let meter = LevelMeter::new();
    let reader = meter.clone();
    assert_eq!(reader.get(), Level::default());
    meter.update(&[-16_384; FRAME_SAMPLES]);
    assert_eq!(
        reader.get(),
        Level {
            peak: 0.5,
            rms: 0.5
        }
    );
}

#[test]
fn wav_sink_writes_48k_mono_16_bit_that_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    let sent = frames_of(&mut ToneSource::new(1000.0), 3);
    let mut sink = WavSink::create(&path).unwrap();
    for frame in sent.chunks_exact(FRAME_SAMPLES) {
        sink.play(frame.try_into().unwrap());
    }
    sink.close().unwrap();

    let mut reader = hound::WavReader::open(&path).unwrap();
    assert_eq!(reader.spec(), spec(48_000, 1, 16, hound::SampleFormat::Int));
    let written: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    assert_eq!(written, sent);

    // And back through WavSource, which passes 48 kHz mono through exactly.
    let mut source = WavSource::open(&path, WavEnd::Silence).unwrap();
    assert_eq!(frames_of(&mut source, 3), sent);
    assert!(source.is_finished());
    assert_eq!(frames_of(&mut source, 1), SILENCE);
}

#[test]
fn wav_sink_file_is_valid_before_it_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.wav");
    let mut sink = WavSink::create(&path).unwrap();
    for _ in 0..60 {
        sink.play(&[100; FRAME_SAMPLES]);
    }
    // The header was updated at 50 frames: a reader sees one whole second
    // even though the process could die now.
    let reader = hound::WavReader::open(&path).unwrap();
    assert_eq!(reader.len(), 50 * FRAME_SAMPLES as u32);
    drop(sink);
    let reader = hound::WavReader::open(&path).unwrap();
    assert_eq!(
        reader.len(),
        60 * FRAME_SAMPLES as u32,
        "dropping finalises"
    );
}

#[test]
fn wav_source_loops_seamlessly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ramp.wav");
    // 1.5 frames of a ramp, so the loop point falls inside a frame.
    let ramp: Vec<i16> = (0..1_440).map(|n| n as i16).collect();
    write_wav(
        &path,
        spec(48_000, 1, 16, hound::SampleFormat::Int),
        ramp.iter().map(|&s| f64::from(s) / 32_768.0),
    );
    let mut source = WavSource::open(&path, WavEnd::Loop).unwrap();
    let got = frames_of(&mut source, 4);
    let expected: Vec<i16> = ramp
        .iter()
        .copied()
        .cycle()
        .take(4 * FRAME_SAMPLES)
        .collect();
    assert_eq!(got, expected);
    assert!(!source.is_finished());
}

#[test]
fn wav_source_converts_44k1_stereo_to_48k_mono() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stereo.wav");
    // One second of 1 kHz at -12 dBFS on the left, silence on the right:
    // the mono mix is the average, -18 dBFS.
    write_wav(
        &path,
        spec(44_100, 2, 16, hound::SampleFormat::Int),
        (0..44_100).flat_map(|n| {
            let left = 0.25 * (std::f64::consts::TAU * f64::from(n) / 44.1).sin();
            [left, 0.0]
        }),
    );
    let mut source = WavSource::open(&path, WavEnd::Silence).unwrap();
    let samples = frames_of(&mut source, 52);
    assert!(source.is_finished());
    // The second is all there, at 48 kHz, and nothing leaks past it.
    let last_sound = samples.iter().rposition(|&s| s.abs() > 40).unwrap();
    assert!((47_900..=48_000).contains(&last_sound), "{last_sound}");
    for frame in samples[..48_000]
        .chunks_exact(FRAME_SAMPLES)
        .skip(1)
        .take(47)
    {
        assert!(
            (39..=41).contains(&crossings(frame)),
            "{}",
            crossings(frame)
        );
        let expected = 4_096.0 / std::f64::consts::SQRT_2;
        assert!((rms(frame) / expected - 1.0).abs() < 0.02, "{}", rms(frame));
    }
}

#[test]
fn wav_source_reads_float_and_24_bit_and_8_bit() {
    let dir = tempfile::tempdir().unwrap();
    for (name, spec) in [
        ("f32.wav", spec(48_000, 1, 32, hound::SampleFormat::Float)),
        ("s24.wav", spec(48_000, 1, 24, hound::SampleFormat::Int)),
        ("s8.wav", spec(48_000, 1, 8, hound::SampleFormat::Int)),
    ] {
        let path = dir.path().join(name);
        write_wav(&path, spec, std::iter::repeat_n(-0.5, FRAME_SAMPLES));
        let mut source = WavSource::open(&path, WavEnd::Silence).unwrap();
        assert_eq!(
            frames_of(&mut source, 1),
            [-16_384; FRAME_SAMPLES],
            "{name}"
        );
    }
}

#[test]
fn unreadable_wav_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = WavSource::open(dir.path().join("missing.wav"), WavEnd::Loop);
    assert!(matches!(missing, Err(SourceError::Wav { .. })));
    let text = dir.path().join("text.wav");
    std::fs::write(&text, "RIFF? no, a text file").unwrap();
    assert!(WavSource::open(&text, WavEnd::Loop).is_err());
    let slow = dir.path().join("slow.wav");
    write_wav(
        &slow,
        spec(500, 1, 16, hound::SampleFormat::Int),
        [0.0].into_iter(),
    );
    let error = WavSource::open(&slow, WavEnd::Loop)
        .unwrap_err()
        .to_string();
    assert!(error.contains("unsupported sample rate 500 Hz"), "{error}");
}

#[test]
fn an_empty_wav_file_gives_silence_even_when_looping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.wav");
    write_wav(
        &path,
        spec(16_000, 1, 16, hound::SampleFormat::Int),
        std::iter::empty(),
    );
    let mut source = WavSource::open(&path, WavEnd::Loop).unwrap();
    assert_eq!(frames_of(&mut source, 2), [0; 2 * FRAME_SAMPLES]);
    assert!(source.is_finished());
}

#[test]
fn resampler_passes_equal_rates_through_and_accounts_for_every_sample() {
    let mut same = MonoResampler::new(48_000, 48_000).unwrap();
    same.push(&[0.25, -0.5]);
    let mut out = [0.0; 4];
    assert_eq!(same.pop_into(&mut out), 2);
    assert_eq!(out[..2], [0.25, -0.5]);

    // 8 kHz to 48 kHz: 800 samples in, 4800 out once flushed (plus the
    // padding zeros), the delay trimmed so the first sample comes first.
    let mut up = MonoResampler::new(8_000, 48_000).unwrap();
    up.push(&[0.5; 800]);
    up.flush();
    let mut out = vec![0.0; up.available()];
    up.pop_into(&mut out);
    assert!(out.len() >= 4_800, "{}", out.len());
    let sound = out.iter().filter(|s| s.abs() > 0.25).count();
    assert!((4_790..=4_810).contains(&sound), "{sound}");
    assert!(out[..4].iter().all(|s| s.abs() > 0.25), "no leading delay");
    assert!(MonoResampler::new(48_000, 999).is_err());
}

#[test]
fn sample_conversions_round_trip_and_clip() {
    for sample in [i16::MIN, -1, 0, 1, 12_345, i16::MAX] {
        assert_eq!(f32_to_i16(i16_to_f32(sample)), sample);
    }
    assert_eq!(f32_to_i16(2.0), i16::MAX);
    assert_eq!(f32_to_i16(-2.0), i16::MIN);
    assert_eq!(f32_to_i16(f32::NAN), 0);
    let mut mono = Vec::new();
    mix_to_mono(&[0.5, 0.0, 1.0, 1.0, 0.7], 2, &mut mono);
    assert_eq!(mono, [0.25, 1.0]);
}

#[test]
fn heard_only_keeps_frames_with_sound_and_drops_digital_silence() {
    let mut sink = HeardOnly::new(NullSink::default());
    let mut sound = SILENCE;
    sound[17] = 1;
    sink.play(&SILENCE);
    sink.play(&sound);
    sink.play(&SILENCE);
    sink.play(&sound);
    assert_eq!(sink.inner.frames, 2);
}
