//! The sound card: the only file in the crate that uses cpal (DESIGN.md
//! section 3). It lists devices for `confab doctor` and opens a [`Capture`]
//! (a [`FrameSource`](crate::media::source::FrameSource)) and a [`Playback`]
//! (a [`FrameSink`](crate::media::source::FrameSink)) for the media task.
//! This file holds what touches cpal: devices, configurations, callbacks.
//! `stream` is the media-task side of Capture and Playback, `pipe` the
//! format conversion; neither names cpal.
//!
//! A stream runs at whatever the device offers: 48 kHz and the preferred
//! channel count when it can, else the nearest rate, and `i16` before `f32`
//! before the other sample formats. Two threads touch it:
//! - cpal's callback thread runs the data callback, which only converts the
//!   device's sample type to or from `f32` and copies through a lock-free
//!   single-producer single-consumer ring (rtrb). It never allocates, locks
//!   or blocks; it counts what it had to drop or fill in atomics. The error
//!   callback (not on the audio path) only sets atomics too, and drops the
//!   error value cpal gives it.
//! - the media task calls `Capture::next_frame` / `Playback::play` every
//!   20 ms. Mixing channels and resampling to or from 48 kHz happen there
//!   (`pipe`), with buffers that reach their working size in the first few
//!   calls, so the callback stays trivial whatever the device's format.
//!
//! Latency is bounded on the media side: when more than ~120 ms piles up
//! (a stalled media task, a device clock faster than ours) the oldest audio
//! is dropped down to ~40 ms and counted. A capture that has no whole frame
//! gives silence and counts an underrun.
//!
//! A device that reports itself gone (cpal's error callback with
//! `DeviceNotAvailable` or `StreamInvalidated`) is replaced by the default
//! device at the next frame, with an `AudioEvent::Fallback` to show; when
//! that fails too (or the fallback itself dies within a second) the end goes
//! quiet with `AudioEvent::Lost`. Reopening blocks the media task for the
//! few milliseconds ALSA takes, once. No usable device at all is a
//! [`DeviceError::NoUsableDevice`], never a panic.

mod pipe;
mod stream;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

use self::pipe::{CaptureConverter, PlaybackConverter};
use self::stream::{ActiveCapture, ActivePlayback, Watermarks};
pub use self::stream::{
    Capture, CaptureStats, Playback, PlaybackStats, open_input, open_input_or_silence, open_output,
    open_output_or_null,
};
use super::SAMPLE_RATE;
use super::source::{AudioDirection, SourceError};

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("no usable audio {direction} device: {reason}; running without audio")]
    NoUsableDevice {
        direction: AudioDirection,
        reason: String,
    },
    #[error("cannot list audio devices: {0}")]
    List(String),
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// What to ask of a device when it offers a choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamPreference {
    pub sample_rate: u32,
    pub channels: u16,
}

impl Default for StreamPreference {
    /// 48 kHz mono: no conversion at all when the device takes it.
    fn default() -> Self {
        Self {
            sample_rate: SAMPLE_RATE,
            channels: 1,
        }
    }
}

/// The stream a [`Capture`] or [`Playback`] runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The device's id (ALSA: the PCM name, e.g. `default`, `hw:CARD=0,DEV=0`).
    pub device: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub sample_format: String,
    /// Frames per callback, when the host says.
    pub period_frames: Option<u32>,
}

impl fmt::Display for StreamInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} Hz, {} ch, {}",
            self.device, self.sample_rate, self.channels, self.sample_format
        )?;
        match self.period_frames {
            Some(period) => write!(f, ", {period}-frame periods)"),
            None => f.write_str(")"),
        }
    }
}

/// One device as `confab doctor` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// What `device:NAME` takes.
    pub id: String,
    /// The host's description.
    pub name: String,
    pub is_default_input: bool,
    pub is_default_output: bool,
    /// Empty when the device cannot capture (or could not be opened).
    pub input_configs: Vec<ConfigRange>,
    pub output_configs: Vec<ConfigRange>,
}

/// One family of stream configurations a device supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRange {
    pub sample_format: String,
    pub channels: u16,
    pub min_rate: u32,
    pub max_rate: u32,
}

/// Every device the default host knows, default devices first. Opens each
/// device briefly to ask what it supports.
pub fn list_devices() -> Result<Vec<DeviceInfo>, DeviceError> {
    let host = host().map_err(DeviceError::List)?;
    let default_in = host.default_input_device().and_then(|d| device_id(&d).ok());
    let default_out = host
        .default_output_device()
        .and_then(|d| device_id(&d).ok());
    let mut devices: Vec<cpal::Device> = host
        .devices()
        .map_err(|error| DeviceError::List(describe(&error)))?
        .collect();
    // ALSA's `default` is not always among the hints; list it anyway.
    for default in [host.default_output_device(), host.default_input_device()]
        .into_iter()
        .flatten()
    {
        if !devices.contains(&default) {
            devices.insert(0, default);
        }
    }
    let mut list: Vec<DeviceInfo> = devices
        .iter()
        .map(|device| {
            let id = device_id(device).unwrap_or_else(|error| format!("<{error}>"));
            DeviceInfo {
                name: device
                    .description()
                    .map(|d| d.name().to_owned())
                    .unwrap_or_else(|_| id.clone()),
                is_default_input: default_in.as_ref() == Some(&id),
                is_default_output: default_out.as_ref() == Some(&id),
                input_configs: config_ranges(device.supported_input_configs()),
                output_configs: config_ranges(device.supported_output_configs()),
                id,
            }
        })
        .collect();
    list.sort_by_key(|d| !(d.is_default_input || d.is_default_output));
    Ok(list)
}

fn config_ranges(
    configs: Result<impl Iterator<Item = cpal::SupportedStreamConfigRange>, cpal::Error>,
) -> Vec<ConfigRange> {
    let Ok(configs) = configs else {
        return Vec::new();
    };
    configs
        .map(|range| ConfigRange {
            sample_format: range.sample_format().to_string(),
            channels: range.channels(),
            min_rate: range.min_sample_rate(),
            max_rate: range.max_sample_rate(),
        })
        .collect()
}

/// The default host, without `cpal::default_host`'s panic when ALSA cannot
/// load its configuration (a syntax error in an asoundrc).
fn host() -> Result<cpal::Host, String> {
    let mut reason = "no audio host compiled in".to_owned();
    for id in cpal::available_hosts() {
        match cpal::host_from_id(id) {
            Ok(host) => return Ok(host),
            Err(error) => reason = format!("{}: {error}", id.name()),
        }
    }
    Err(reason)
}

/// cpal's message without its closing full stop, to sit inside ours.
fn describe(error: &cpal::Error) -> String {
    error.to_string().trim_end_matches('.').to_owned()
}

fn device_id(device: &cpal::Device) -> Result<String, cpal::Error> {
    device.id().map(|id| id.id().to_owned())
}

/// The device `name` (an id, or a description compared without case), or
/// the default one.
fn find_device(
    host: &cpal::Host,
    direction: AudioDirection,
    name: Option<&str>,
) -> Result<cpal::Device, String> {
    let Some(name) = name else {
        let default = match direction {
            AudioDirection::Input => host.default_input_device(),
            AudioDirection::Output => host.default_output_device(),
        };
        return default.ok_or_else(|| "the host has no default device".to_owned());
    };
    let devices: Vec<cpal::Device> = host.devices().map_err(|e| describe(&e))?.collect();
    let by_id = devices
        .iter()
        .find(|d| device_id(d).is_ok_and(|id| id == name));
    let by_name = || {
        devices.iter().find(|d| {
            d.description()
                .is_ok_and(|desc| desc.name().eq_ignore_ascii_case(name))
        })
    };
    by_id
        .or_else(by_name)
        .cloned()
        .ok_or_else(|| format!("no device named {name:?} (`confab doctor` lists them)"))
}

/// Rank of a sample format: ours first, then what converts without loss.
fn format_rank(format: SampleFormat) -> Option<u8> {
    Some(match format {
        SampleFormat::I16 => 9,
        SampleFormat::F32 => 8,
        SampleFormat::I32 => 7,
        SampleFormat::I24 => 6,
        SampleFormat::F64 => 5,
        SampleFormat::U16 => 4,
        SampleFormat::U24 | SampleFormat::U32 => 3,
        SampleFormat::I8 | SampleFormat::U8 => 2,
        SampleFormat::I64 | SampleFormat::U64 => 1,
        _ => return None,
    })
}

/// The best configuration among `ranges` for `pref`: the preferred rate if
/// offered (else the nearest), the preferred channel count (else the
/// fewest), then the best-ranked sample format.
fn choose_config(
    ranges: impl Iterator<Item = cpal::SupportedStreamConfigRange>,
    pref: StreamPreference,
) -> Option<(cpal::StreamConfig, SampleFormat)> {
    ranges
        .filter_map(|range| {
            let rank = format_rank(range.sample_format())?;
            let rate = pref
                .sample_rate
                .clamp(range.min_sample_rate(), range.max_sample_rate());
            let key = (
                rate == pref.sample_rate,
                range.channels() == pref.channels,
                std::cmp::Reverse(range.channels()),
                std::cmp::Reverse(rate.abs_diff(pref.sample_rate)),
                rank,
            );
            let config = cpal::StreamConfig {
                channels: range.channels(),
                sample_rate: rate,
                buffer_size: cpal::BufferSize::Default,
            };
            Some((key, config, range.sample_format()))
        })
        .filter(|(_, config, _)| config.channels > 0)
        .max_by_key(|(key, _, _)| *key)
        .map(|(_, config, format)| (config, format))
}

/// What the callbacks tell the media task, lock-free.
#[derive(Default)]
struct Shared {
    /// Set by the error callback when the device is gone.
    lost: AtomicBool,
    /// The `cpal::ErrorKind` that set `lost` (see [`lost_reason`]).
    lost_kind: AtomicU8,
    xruns: AtomicU64,
    /// Capture: samples the callback could not queue (ring full).
    dropped: AtomicU64,
    /// Playback: callbacks that found less than a period queued.
    starved: AtomicU64,
    /// Playback: samples the callback must discard before playing (the
    /// media task's "drop oldest", which only the consumer can do).
    skip: AtomicUsize,
}

const LOST_DISCONNECTED: u8 = 1;
const LOST_INVALIDATED: u8 = 2;
const LOST_SIMULATED: u8 = 3;

fn lost_reason(kind: u8) -> &'static str {
    match kind {
        LOST_DISCONNECTED => "the device was disconnected",
        LOST_INVALIDATED => "the device's stream stopped being valid",
        LOST_SIMULATED => "the device was reported lost",
        _ => "the device failed",
    }
}

fn error_callback(shared: Arc<Shared>) -> impl FnMut(cpal::Error) + Send + 'static {
    move |error| {
        let lost = match error.kind() {
            cpal::ErrorKind::Xrun => {
                shared.xruns.fetch_add(1, Ordering::Relaxed);
                return;
            }
            cpal::ErrorKind::DeviceNotAvailable => LOST_DISCONNECTED,
            cpal::ErrorKind::StreamInvalidated => LOST_INVALIDATED,
            // cpal keeps the stream running after other errors.
            _ => return,
        };
        shared.lost_kind.store(lost, Ordering::Relaxed);
        shared.lost.store(true, Ordering::Release);
    }
}

/// Calls `$build::<T>($($arg),*)` with `T` the Rust type of `$format`.
macro_rules! with_sample_type {
    ($format:expr, $build:ident ( $($arg:expr),* )) => {
        match $format {
            SampleFormat::I8 => $build::<i8>($($arg),*),
            SampleFormat::I16 => $build::<i16>($($arg),*),
            SampleFormat::I24 => $build::<cpal::I24>($($arg),*),
            SampleFormat::I32 => $build::<i32>($($arg),*),
            SampleFormat::I64 => $build::<i64>($($arg),*),
            SampleFormat::U8 => $build::<u8>($($arg),*),
            SampleFormat::U16 => $build::<u16>($($arg),*),
            SampleFormat::U24 => $build::<cpal::U24>($($arg),*),
            SampleFormat::U32 => $build::<u32>($($arg),*),
            SampleFormat::U64 => $build::<u64>($($arg),*),
            SampleFormat::F32 => $build::<f32>($($arg),*),
            SampleFormat::F64 => $build::<f64>($($arg),*),
            other => Err(cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!("sample format {other} is not supported"),
            )),
        }
    };
}

/// The capture callback: device samples to `f32`, whole frames only, into
/// the ring; what does not fit is counted and dropped.
fn build_input<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut producer: rtrb::Producer<f32>,
    shared: Arc<Shared>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels);
    let counters = shared.clone();
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _| {
            let n = producer.slots().min(data.len()) / channels * channels;
            if let Ok(chunk) = producer.write_chunk_uninit(n) {
                chunk.fill_from_iter(data.iter().map(|s| s.to_sample::<f32>()));
            }
            if n < data.len() {
                counters
                    .dropped
                    .fetch_add((data.len() - n) as u64, Ordering::Relaxed);
            }
        },
        error_callback(shared),
        None,
    )
}

/// The playback callback: discards what the media task asked to skip, then
/// copies whole frames from the ring and fills the rest with silence.
fn build_output<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut consumer: rtrb::Consumer<f32>,
    shared: Arc<Shared>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels);
    let counters = shared.clone();
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], _| {
            let skip = counters.skip.swap(0, Ordering::AcqRel);
            if skip > 0 {
                let n = consumer.slots().min(skip) / channels * channels;
                if let Ok(chunk) = consumer.read_chunk(n) {
                    chunk.commit_all();
                }
            }
            let n = consumer.slots().min(data.len()) / channels * channels;
            if let Ok(chunk) = consumer.read_chunk(n) {
                let (first, second) = chunk.as_slices();
                for (dst, src) in data.iter_mut().zip(first.iter().chain(second)) {
                    *dst = T::from_sample(*src);
                }
                chunk.commit_all();
            }
            for dst in data.iter_mut().skip(n) {
                *dst = T::EQUILIBRIUM;
            }
            if n < data.len() {
                counters.starved.fetch_add(1, Ordering::Relaxed);
            }
        },
        error_callback(shared),
        None,
    )
}

/// An open stream and the media-task end of its ring.
struct Active<R, C> {
    /// Dropping it stops the callback thread; the ring dies after.
    _stream: cpal::Stream,
    ring: R,
    shared: Arc<Shared>,
    info: StreamInfo,
    converter: C,
    marks: Watermarks,
}

/// The device and configuration for a stream: `name` or the default, the
/// configuration [`choose_config`] picks.
fn pick(
    direction: AudioDirection,
    name: Option<&str>,
    pref: StreamPreference,
) -> Result<(cpal::Device, String, cpal::StreamConfig, SampleFormat), String> {
    let host = host()?;
    let device = find_device(&host, direction, name)?;
    let id = device_id(&device).map_err(|e| describe(&e))?;
    let configs: Vec<_> = match direction {
        AudioDirection::Input => device.supported_input_configs().map(Iterator::collect),
        AudioDirection::Output => device.supported_output_configs().map(Iterator::collect),
    }
    .map_err(|e| format!("{id}: {}", describe(&e)))?;
    let (config, format) = choose_config(configs.into_iter(), pref)
        .ok_or_else(|| format!("{id}: no usable {direction} format"))?;
    Ok((device, id, config, format))
}

/// A ring of one second of device samples: a multiple of the channel
/// count, so a wrap never splits a frame (see `pipe`).
fn ring(config: cpal::StreamConfig) -> (rtrb::Producer<f32>, rtrb::Consumer<f32>) {
    rtrb::RingBuffer::new(config.sample_rate as usize * usize::from(config.channels))
}

/// Starts `stream` and puts it together with the media-task end.
fn start<R, C>(
    stream: Result<cpal::Stream, cpal::Error>,
    id: String,
    config: cpal::StreamConfig,
    format: SampleFormat,
    ring: R,
    shared: Arc<Shared>,
    converter: C,
) -> Result<Active<R, C>, String> {
    let stream = stream.map_err(|e| format!("{id}: {}", describe(&e)))?;
    stream
        .play()
        .map_err(|e| format!("{id}: {}", describe(&e)))?;
    let period_frames = stream.buffer_size().ok();
    Ok(Active {
        _stream: stream,
        ring,
        shared,
        marks: Watermarks::new(config.sample_rate, config.channels, period_frames),
        info: StreamInfo {
            device: id,
            sample_rate: config.sample_rate,
            channels: config.channels,
            sample_format: format.to_string(),
            period_frames,
        },
        converter,
    })
}

/// Opens and starts a capture stream on `name` (or the default device).
fn open_capture_stream(
    name: Option<&str>,
    pref: StreamPreference,
) -> Result<ActiveCapture, String> {
    let (device, id, config, format) = pick(AudioDirection::Input, name, pref)?;
    let converter = CaptureConverter::new(config.sample_rate, config.channels)?;
    let (producer, consumer) = ring(config);
    let shared = Arc::new(Shared::default());
    let stream = with_sample_type!(
        format,
        build_input(&device, config, producer, shared.clone())
    );
    start(stream, id, config, format, consumer, shared, converter)
}

/// Opens and starts a playback stream on `name` (or the default device).
fn open_playback_stream(
    name: Option<&str>,
    pref: StreamPreference,
) -> Result<ActivePlayback, String> {
    let (device, id, config, format) = pick(AudioDirection::Output, name, pref)?;
    let converter = PlaybackConverter::new(config.sample_rate, config.channels)?;
    let (producer, consumer) = ring(config);
    let shared = Arc::new(Shared::default());
    let stream = with_sample_type!(
        format,
        build_output(&device, config, consumer, shared.clone())
    );
    start(stream, id, config, format, producer, shared, converter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpal::{SupportedBufferSize, SupportedStreamConfigRange};

    fn range(
        format: SampleFormat,
        channels: u16,
        min: u32,
        max: u32,
    ) -> SupportedStreamConfigRange {
        SupportedStreamConfigRange::new(channels, min, max, SupportedBufferSize::Unknown, format)
    }

    fn choose(
        ranges: Vec<SupportedStreamConfigRange>,
        rate: u32,
        channels: u16,
    ) -> (u32, u16, SampleFormat) {
        let pref = StreamPreference {
            sample_rate: rate,
            channels,
        };
        let (config, format) = choose_config(ranges.into_iter(), pref).unwrap();
        (config.sample_rate, config.channels, format)
    }

    #[test]
    fn the_preferred_rate_wins_over_channels_and_format() {
        let ranges = vec![
            range(SampleFormat::I16, 1, 44_100, 44_100),
            range(SampleFormat::F32, 2, 8_000, 96_000),
        ];
        assert_eq!(choose(ranges, 48_000, 1), (48_000, 2, SampleFormat::F32));
    }

    #[test]
    fn mono_i16_when_offered_else_the_fewest_channels() {
        let ranges = vec![
            range(SampleFormat::I32, 1, 8_000, 192_000),
            range(SampleFormat::I16, 1, 8_000, 192_000),
            range(SampleFormat::I16, 2, 8_000, 192_000),
            range(SampleFormat::F32, 1, 8_000, 192_000),
        ];
        assert_eq!(choose(ranges, 48_000, 1), (48_000, 1, SampleFormat::I16));
        let ranges = vec![
            range(SampleFormat::I16, 6, 48_000, 48_000),
            range(SampleFormat::I16, 2, 48_000, 48_000),
        ];
        assert_eq!(choose(ranges, 48_000, 1), (48_000, 2, SampleFormat::I16));
    }

    #[test]
    fn without_the_preferred_rate_the_nearest_one() {
        let ranges = vec![
            range(SampleFormat::I16, 2, 8_000, 22_050),
            range(SampleFormat::I16, 2, 88_200, 96_000),
            range(SampleFormat::I16, 2, 32_000, 44_100),
        ];
        assert_eq!(choose(ranges, 48_000, 1), (44_100, 2, SampleFormat::I16));
    }

    #[test]
    fn formats_without_a_conversion_are_never_chosen() {
        let ranges = vec![range(SampleFormat::DsdU8, 1, 48_000, 48_000)];
        let pref = StreamPreference::default();
        assert!(choose_config(ranges.into_iter(), pref).is_none());
        assert!(choose_config(std::iter::empty(), pref).is_none());
    }

    #[test]
    fn a_lost_device_is_only_a_device_error() {
        let shared = Arc::new(Shared::default());
        let mut callback = error_callback(shared.clone());
        callback(cpal::ErrorKind::Xrun.into());
        callback(cpal::ErrorKind::RealtimeDenied.into());
        assert!(!shared.lost.load(Ordering::Acquire));
        assert_eq!(shared.xruns.load(Ordering::Relaxed), 1);
        callback(cpal::ErrorKind::DeviceNotAvailable.into());
        assert!(shared.lost.load(Ordering::Acquire));
        assert_eq!(
            lost_reason(shared.lost_kind.load(Ordering::Relaxed)),
            "the device was disconnected"
        );
    }
}
