//! The media-task side of a sound-card stream: [`Capture`] and [`Playback`]
//! as the media task sees them (frames in and out, latency bounds, counters,
//! device fallback), and the openers of `--audio-in`/`--audio-out`. No cpal
//! here: the parent module opens streams and runs the callbacks.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::pipe::{CaptureConverter, PlaybackConverter};
use super::{
    Active, DeviceError, LOST_SIMULATED, Shared, StreamInfo, StreamPreference, lost_reason,
    open_capture_stream, open_playback_stream,
};
use crate::media::source::{
    AudioDirection, AudioEvent, AudioInSpec, AudioOutSpec, FrameSink, FrameSource, LevelMeter,
    NullSink, SilenceSource, ToneSource, WavEnd, WavSink, WavSource,
};
use crate::media::{FRAME_SAMPLES, Frame, SAMPLE_RATE, SILENCE};

/// Latency bounds of one stream, in device samples (all channels).
#[derive(Debug, Clone, Copy)]
pub(super) struct Watermarks {
    /// Above this, drop the oldest audio...
    high: usize,
    /// ...down to this.
    low: usize,
}

impl Watermarks {
    pub(super) fn new(rate: u32, channels: u16, period: Option<u32>) -> Self {
        let ms = |ms: usize| rate as usize * ms / 1000;
        let period = period.unwrap_or(0) as usize;
        let channels = usize::from(channels);
        Self {
            high: ms(120).max(3 * period) * channels,
            low: ms(40).max(period) * channels,
        }
    }

    /// How many of the oldest of `queued` samples to drop: none up to the
    /// high mark, else down to the low mark, in whole device frames.
    fn excess(&self, queued: usize, channels: usize) -> usize {
        if queued <= self.high {
            return 0;
        }
        let excess = queued - self.low;
        excess - excess % channels.max(1)
    }

    /// The same bounds for mono 48 kHz samples, plus the frame the media
    /// task takes next.
    fn at_48k(&self, rate: u32, channels: u16) -> Self {
        let scale = f64::from(SAMPLE_RATE) / f64::from(rate) / f64::from(channels.max(1));
        let convert = |samples: usize| (samples as f64 * scale) as usize + FRAME_SAMPLES;
        Self {
            high: convert(self.high),
            low: convert(self.low),
        }
    }
}

pub(super) type ActiveCapture = Active<rtrb::Consumer<f32>, CaptureConverter>;
pub(super) type ActivePlayback = Active<rtrb::Producer<f32>, PlaybackConverter>;

/// Opens `name` (or the default) for `direction`; on failure of a named
/// device, the default, with a [`AudioEvent::Fallback`] in `events`.
fn open_with_fallback<T>(
    direction: AudioDirection,
    name: Option<&str>,
    open: impl Fn(Option<&str>) -> Result<T, String>,
    info: impl Fn(&T) -> &StreamInfo,
    events: &mut VecDeque<AudioEvent>,
) -> Result<T, DeviceError> {
    match open(name) {
        Ok(active) => Ok(active),
        Err(reason) => {
            let Some(lost) = name else {
                return Err(DeviceError::NoUsableDevice { direction, reason });
            };
            let active = open(None).map_err(|default| DeviceError::NoUsableDevice {
                direction,
                reason: format!("{reason}; default device: {default}"),
            })?;
            events.push_back(AudioEvent::Fallback {
                direction,
                lost: lost.to_owned(),
                using: info(&active).device.clone(),
                reason,
            });
            Ok(active)
        }
    }
}

/// Counters of a [`Capture`], over its whole life (fallbacks included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Frames given out.
    pub frames: u64,
    /// Frames given as silence because no whole frame had arrived.
    pub underruns: u64,
    /// Device samples dropped: ring full in the callback, or the oldest
    /// audio dropped to bound latency.
    pub dropped_samples: u64,
    /// Overruns the host reported.
    pub xruns: u64,
}

/// Counters of a [`Playback`], over its whole life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaybackStats {
    /// Frames taken.
    pub frames: u64,
    /// Times the queue was over its bound and the oldest audio was dropped
    /// (or the new audio did not fit).
    pub overruns: u64,
    /// Device samples dropped by those overruns.
    pub dropped_samples: u64,
    /// Callbacks that found less than a period queued and played silence
    /// for the rest.
    pub starved_callbacks: u64,
    /// Underruns the host reported.
    pub xruns: u64,
}

/// Frames within which a second loss gives up instead of reopening: 1 s.
const FALLBACK_GRACE_FRAMES: u64 = 50;

/// Checks the lost flag of `active`; on loss reopens the default device
/// through `reopen`, or gives up. Returns the stats of a replaced stream.
fn handle_loss<R, C>(
    active: &mut Option<Active<R, C>>,
    direction: AudioDirection,
    frames: u64,
    last_fallback: &mut Option<u64>,
    events: &mut VecDeque<AudioEvent>,
    reopen: impl FnOnce() -> Result<Active<R, C>, String>,
) -> Option<Arc<Shared>> {
    let current = active.as_ref()?;
    if !current.shared.lost.load(Ordering::Acquire) {
        return None;
    }
    let reason = lost_reason(current.shared.lost_kind.load(Ordering::Relaxed)).to_owned();
    let device = current.info.device.clone();
    // Stop the old stream (joins its thread) before opening another.
    let old = active.take().map(|old| old.shared);
    let again_soon = last_fallback.is_some_and(|at| frames < at + FALLBACK_GRACE_FRAMES);
    let reopened = if again_soon {
        Err("it failed again right after a fallback".to_owned())
    } else {
        reopen()
    };
    match reopened {
        Ok(new) => {
            tracing::warn!(%direction, lost = %device, using = %new.info, %reason, "audio device fallback");
            events.push_back(AudioEvent::Fallback {
                direction,
                lost: device,
                using: new.info.device.clone(),
                reason,
            });
            *last_fallback = Some(frames);
            *active = Some(new);
        }
        Err(why) => {
            tracing::warn!(%direction, %device, %reason, fallback = %why, "audio device lost");
            events.push_back(AudioEvent::Lost {
                direction,
                device,
                reason: format!("{reason}; no other device: {why}"),
            });
        }
    }
    old
}

/// Microphone frames from a capture device (see the module docs).
pub struct Capture {
    active: Option<ActiveCapture>,
    pref: StreamPreference,
    meter: LevelMeter,
    events: VecDeque<AudioEvent>,
    stats: CaptureStats,
    last_fallback: Option<u64>,
}

impl Capture {
    /// Opens the capture device `name`, or the default one. A named device
    /// that cannot be opened falls back to the default (see
    /// [`FrameSource::poll_event`]); no device at all is an error.
    pub fn open(name: Option<&str>, pref: StreamPreference) -> Result<Self, DeviceError> {
        let mut events = VecDeque::new();
        let active = open_with_fallback(
            AudioDirection::Input,
            name,
            |name| open_capture_stream(name, pref),
            |active| &active.info,
            &mut events,
        )?;
        Ok(Self {
            active: Some(active),
            pref,
            meter: LevelMeter::new(),
            events,
            stats: CaptureStats::default(),
            last_fallback: None,
        })
    }

    /// The stream in use; `None` once the device is lost for good.
    pub fn info(&self) -> Option<&StreamInfo> {
        self.active.as_ref().map(|active| &active.info)
    }

    pub fn stats(&self) -> CaptureStats {
        let mut stats = self.stats;
        if let Some(active) = &self.active {
            add_callback_counters(&mut stats.dropped_samples, &mut stats.xruns, &active.shared);
        }
        stats
    }

    /// Whole frames ready now (moves what the callback queued into the
    /// converter): tests and `confab doctor` wait on this, never on time.
    pub fn frames_ready(&mut self) -> usize {
        self.drain();
        self.active
            .as_ref()
            .map_or(0, |active| active.converter.queued() / FRAME_SAMPLES)
    }

    /// Behaves as if the host had reported the device gone: the next frame
    /// runs the fallback. For tests of the fallback path.
    #[doc(hidden)]
    pub fn simulate_device_lost(&self) {
        if let Some(active) = &self.active {
            active
                .shared
                .lost_kind
                .store(LOST_SIMULATED, Ordering::Relaxed);
            active.shared.lost.store(true, Ordering::Release);
        }
    }

    /// Ring to converter, dropping the oldest audio beyond the high mark.
    fn drain(&mut self) {
        let Some(active) = &mut self.active else {
            return;
        };
        let channels = usize::from(active.info.channels);
        let skip = active.marks.excess(active.ring.slots(), channels);
        if let Ok(chunk) = active.ring.read_chunk(skip) {
            chunk.commit_all();
            self.stats.dropped_samples += skip as u64;
        }
        let n = active.ring.slots();
        if let Ok(chunk) = active.ring.read_chunk(n - n % channels) {
            let (first, second) = chunk.as_slices();
            active.converter.push(first);
            active.converter.push(second);
            chunk.commit_all();
        }
        // The same bound for what was already converted (counted here in
        // 48 kHz samples).
        let marks = active
            .marks
            .at_48k(active.info.sample_rate, active.info.channels);
        let discard = marks.excess(active.converter.queued(), 1);
        active.converter.discard(discard);
        // Counted as the device samples they came from.
        self.stats.dropped_samples +=
            discard as u64 * u64::from(active.info.sample_rate) * u64::from(active.info.channels)
                / u64::from(SAMPLE_RATE);
    }
}

fn add_callback_counters(dropped: &mut u64, xruns: &mut u64, shared: &Shared) {
    *dropped += shared.dropped.load(Ordering::Relaxed);
    *xruns += shared.xruns.load(Ordering::Relaxed);
}

impl FrameSource for Capture {
    fn next_frame(&mut self, out: &mut Frame) {
        let pref = self.pref;
        if let Some(old) = handle_loss(
            &mut self.active,
            AudioDirection::Input,
            self.stats.frames,
            &mut self.last_fallback,
            &mut self.events,
            || open_capture_stream(None, pref),
        ) {
            add_callback_counters(&mut self.stats.dropped_samples, &mut self.stats.xruns, &old);
        }
        self.drain();
        let got = self
            .active
            .as_mut()
            .is_some_and(|active| active.converter.pop_frame(out));
        if !got {
            *out = SILENCE;
            self.stats.underruns += 1;
        }
        self.stats.frames += 1;
        self.meter.update(out);
    }

    fn poll_event(&mut self) -> Option<AudioEvent> {
        self.events.pop_front()
    }

    fn needs_ticks_between_calls(&self) -> bool {
        true
    }

    fn meter(&self) -> Option<LevelMeter> {
        Some(self.meter.clone())
    }
}

/// Speaker frames to a playback device (see the module docs).
pub struct Playback {
    active: Option<ActivePlayback>,
    pref: StreamPreference,
    meter: LevelMeter,
    events: VecDeque<AudioEvent>,
    stats: PlaybackStats,
    last_fallback: Option<u64>,
}

impl Playback {
    /// Opens the playback device `name`, or the default one; as
    /// [`Capture::open`].
    pub fn open(name: Option<&str>, pref: StreamPreference) -> Result<Self, DeviceError> {
        let mut events = VecDeque::new();
        let active = open_with_fallback(
            AudioDirection::Output,
            name,
            |name| open_playback_stream(name, pref),
            |active| &active.info,
            &mut events,
        )?;
        Ok(Self {
            active: Some(active),
            pref,
            meter: LevelMeter::new(),
            events,
            stats: PlaybackStats::default(),
            last_fallback: None,
        })
    }

    /// The stream in use; `None` once the device is lost for good.
    pub fn info(&self) -> Option<&StreamInfo> {
        self.active.as_ref().map(|active| &active.info)
    }

    pub fn stats(&self) -> PlaybackStats {
        let mut stats = self.stats;
        if let Some(active) = &self.active {
            stats.starved_callbacks += active.shared.starved.load(Ordering::Relaxed);
            stats.xruns += active.shared.xruns.load(Ordering::Relaxed);
        }
        stats
    }

    /// Audio queued for the device and not yet taken by its callback, in
    /// 48 kHz samples: `confab doctor` paces itself on this.
    pub fn queued_samples(&self) -> usize {
        self.active.as_ref().map_or(0, |active| {
            let queued = active.ring.buffer().capacity() - active.ring.slots();
            let queued = queued.saturating_sub(active.shared.skip.load(Ordering::Relaxed));
            (queued as u64 * u64::from(SAMPLE_RATE)
                / u64::from(active.info.sample_rate)
                / u64::from(active.info.channels)) as usize
        })
    }

    /// As [`Capture::simulate_device_lost`].
    #[doc(hidden)]
    pub fn simulate_device_lost(&self) {
        if let Some(active) = &self.active {
            active
                .shared
                .lost_kind
                .store(LOST_SIMULATED, Ordering::Relaxed);
            active.shared.lost.store(true, Ordering::Release);
        }
    }
}

impl FrameSink for Playback {
    fn play(&mut self, frame: &Frame) {
        let pref = self.pref;
        if let Some(old) = handle_loss(
            &mut self.active,
            AudioDirection::Output,
            self.stats.frames,
            &mut self.last_fallback,
            &mut self.events,
            || open_playback_stream(None, pref),
        ) {
            self.stats.starved_callbacks += old.starved.load(Ordering::Relaxed);
            self.stats.xruns += old.xruns.load(Ordering::Relaxed);
        }
        self.stats.frames += 1;
        self.meter.update(frame);
        let Some(active) = &mut self.active else {
            return;
        };
        let channels = usize::from(active.info.channels);
        let samples = active.converter.convert(frame);
        // Queued and not already marked for skipping.
        let pending_skip = active.shared.skip.load(Ordering::Acquire);
        let queued =
            (active.ring.buffer().capacity() - active.ring.slots()).saturating_sub(pending_skip);
        // Only what is already queued can be skipped; the callback may
        // have played some of it by the time it skips, which only shortens
        // the queue further.
        let excess =
            (active.marks.excess(queued + samples.len(), channels)).min(queued - queued % channels);
        if excess > 0 {
            active.shared.skip.fetch_add(excess, Ordering::AcqRel);
            self.stats.overruns += 1;
            self.stats.dropped_samples += excess as u64;
        }
        let n = active.ring.slots().min(samples.len()) / channels * channels;
        if let Ok(chunk) = active.ring.write_chunk_uninit(n) {
            chunk.fill_from_iter(samples.iter().copied());
        }
        if n < samples.len() {
            self.stats.overruns += 1;
            self.stats.dropped_samples += (samples.len() - n) as u64;
        }
    }

    fn poll_event(&mut self) -> Option<AudioEvent> {
        self.events.pop_front()
    }

    fn needs_ticks_between_calls(&self) -> bool {
        true
    }

    fn meter(&self) -> Option<LevelMeter> {
        Some(self.meter.clone())
    }
}

/// The source `--audio-in` names. Device trouble is an error here; see
/// [`open_input_or_silence`] for the client's "say so and carry on".
pub fn open_input(spec: &AudioInSpec) -> Result<Box<dyn FrameSource + Send>, DeviceError> {
    Ok(match spec {
        AudioInSpec::Device => Box::new(Capture::open(None, StreamPreference::default())?),
        AudioInSpec::NamedDevice(name) => {
            Box::new(Capture::open(Some(name), StreamPreference::default())?)
        }
        AudioInSpec::Wav(path) => Box::new(WavSource::open(path, WavEnd::Loop)?),
        AudioInSpec::Tone(hz) => Box::new(ToneSource::new(*hz)),
        AudioInSpec::Silence => Box::new(SilenceSource),
    })
}

/// The sink `--audio-out` names; as [`open_input`].
pub fn open_output(spec: &AudioOutSpec) -> Result<Box<dyn FrameSink + Send>, DeviceError> {
    Ok(match spec {
        AudioOutSpec::Device => Box::new(Playback::open(None, StreamPreference::default())?),
        AudioOutSpec::NamedDevice(name) => {
            Box::new(Playback::open(Some(name), StreamPreference::default())?)
        }
        AudioOutSpec::Wav(path) => Box::new(WavSink::create(path)?),
        AudioOutSpec::Null => Box::new(NullSink::default()),
    })
}

/// [`open_input`], or silence and the error to show once (DESIGN.md
/// section 1: no usable device means no audio, never a crash).
pub fn open_input_or_silence(
    spec: &AudioInSpec,
) -> (Box<dyn FrameSource + Send>, Option<DeviceError>) {
    match open_input(spec) {
        Ok(source) => (source, None),
        Err(error) => (Box::new(SilenceSource), Some(error)),
    }
}

/// [`open_output`], or a sink that discards and the error to show once.
pub fn open_output_or_null(
    spec: &AudioOutSpec,
) -> (Box<dyn FrameSink + Send>, Option<DeviceError>) {
    match open_output(spec) {
        Ok(sink) => (sink, None),
        Err(error) => (Box::new(NullSink::default()), Some(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_cut_from_above_120_ms_back_to_40_ms_in_whole_frames() {
        let marks = Watermarks::new(48_000, 2, Some(240));
        assert_eq!((marks.high, marks.low), (11_520, 3_840));
        assert_eq!(marks.excess(11_520, 2), 0);
        assert_eq!(marks.excess(11_522, 2), 7_682);
        assert_eq!(marks.excess(11_523, 2), 7_682, "never half a stereo frame");
    }

    #[test]
    fn long_periods_widen_the_bounds() {
        // PipeWire's ALSA plugin can hand out 100 ms periods: three must fit.
        let marks = Watermarks::new(48_000, 1, Some(4_800));
        assert_eq!((marks.high, marks.low), (14_400, 4_800));
    }

    #[test]
    fn bounds_scale_to_48k_mono_plus_the_next_frame() {
        let marks = Watermarks::new(44_100, 2, None).at_48k(44_100, 2);
        assert_eq!(marks.high, 5_760 + FRAME_SAMPLES);
        assert_eq!(marks.low, 1_920 + FRAME_SAMPLES);
    }
}
