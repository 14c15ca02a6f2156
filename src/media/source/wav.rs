//! WAV files as audio ends: [`WavSource`] reads any rate, channel count and
//! PCM sample format and gives 48 kHz mono frames; [`WavSink`] writes 48 kHz
//! mono 16-bit.
//!
//! The reader streams (a long recording is not held in memory): 10 ms of the
//! file at a time, mixed to mono by averaging the channels, then resampled.
//! At the end of the file it either starts over ([`WavEnd::Loop`], what
//! `wav:PATH` does: a demo voice keeps talking for the whole call) or gives
//! silence ([`WavEnd::Silence`], for tests that compare a recording with
//! what was sent). The writer updates the WAV header every second, so the
//! file is valid up to the last second even if the process dies, and fully
//! valid once [`WavSink::close`] is called or the sink is dropped.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use super::{FrameSink, FrameSource, MonoResampler, SourceError, mix_to_mono};
use crate::media::{FRAME_SAMPLES, Frame, SAMPLE_RATE};

/// What a [`WavSource`] does at the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavEnd {
    /// Start again from the first sample.
    Loop,
    /// Give silence from then on.
    Silence,
}

/// Frames from a WAV file (see the module docs).
pub struct WavSource {
    path: PathBuf,
    reader: hound::WavReader<BufReader<File>>,
    spec: hound::WavSpec,
    end: WavEnd,
    resampler: MonoResampler,
    /// Interleaved file samples of one read, as floats.
    block: Vec<f32>,
    mono: Vec<f32>,
    out: Vec<f32>,
    /// No more samples will come from the file.
    finished: bool,
    /// Samples read since the last rewind: a file whose header promises
    /// samples it does not hold must not loop forever.
    since_rewind: usize,
}

impl WavSource {
    /// Opens `path`; fails on a file hound cannot read or a format this
    /// module does not convert (rates of 1 to 384 kHz, integer PCM of up to
    /// 32 bits, 32-bit float).
    pub fn open(path: impl AsRef<Path>, end: WavEnd) -> Result<Self, SourceError> {
        let path = path.as_ref().to_path_buf();
        let bad = |reason: String| SourceError::Wav {
            path: path.clone(),
            reason,
        };
        let reader = hound::WavReader::open(&path).map_err(|error| bad(error.to_string()))?;
        let spec = reader.spec();
        if spec.channels == 0 {
            return Err(bad("no channels".into()));
        }
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Int, 1..=32) | (hound::SampleFormat::Float, 32) => {}
            (format, bits) => return Err(bad(format!("unsupported {bits}-bit {format:?}"))),
        }
        let resampler = MonoResampler::new(spec.sample_rate, SAMPLE_RATE).map_err(bad)?;
        Ok(Self {
            finished: reader.len() == 0,
            path,
            reader,
            spec,
            end,
            resampler,
            block: Vec::new(),
            mono: Vec::new(),
            out: vec![0.0; FRAME_SAMPLES],
            since_rewind: 0,
        })
    }

    /// True once the file is exhausted and every sample has been given out
    /// (never for [`WavEnd::Loop`] unless the file is empty or unreadable).
    pub fn is_finished(&self) -> bool {
        self.finished && self.resampler.available() == 0
    }

    /// Reads about 10 ms of the file into the resampler.
    fn read_block(&mut self) -> Result<(), hound::Error> {
        let channels = usize::from(self.spec.channels);
        let want = (self.spec.sample_rate as usize / 100).max(1) * channels;
        self.block.clear();
        match self.spec.sample_format {
            hound::SampleFormat::Float => {
                for sample in self.reader.samples::<f32>().take(want) {
                    self.block.push(sample?);
                }
            }
            hound::SampleFormat::Int => {
                let scale = 1.0 / (1u64 << (self.spec.bits_per_sample - 1)) as f32;
                for sample in self.reader.samples::<i32>().take(want) {
                    self.block.push(sample? as f32 * scale);
                }
            }
        }
        self.since_rewind += self.block.len();
        self.mono.clear();
        mix_to_mono(&self.block, channels, &mut self.mono);
        self.resampler.push(&self.mono);
        Ok(())
    }

    fn fill(&mut self) -> Result<(), hound::Error> {
        while !self.finished && self.resampler.available() < FRAME_SAMPLES {
            self.read_block()?;
            // Samples left per the header; the end is known without a
            // further read, so a file that ends on a frame boundary ends there.
            if self.reader.samples::<i32>().len() > 0 {
                continue;
            }
            match self.end {
                WavEnd::Loop if self.since_rewind > 0 => {
                    self.reader.seek(0)?;
                    self.since_rewind = 0;
                }
                WavEnd::Loop => self.finished = true,
                WavEnd::Silence => {
                    self.resampler.flush();
                    self.finished = true;
                }
            }
        }
        Ok(())
    }
}

impl FrameSource for WavSource {
    fn next_frame(&mut self, out: &mut Frame) {
        if let Err(error) = self.fill() {
            tracing::warn!(path = %self.path.display(), %error, "WAV read failed; silence from now on");
            self.finished = true;
        }
        let n = self.resampler.pop_into(&mut self.out);
        for (dst, src) in out.iter_mut().zip(&self.out[..n]) {
            *dst = super::f32_to_i16(*src);
        }
        out[n..].fill(0);
    }
}

/// Writes frames to a 48 kHz mono 16-bit WAV file (see the module docs).
pub struct WavSink {
    path: PathBuf,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    frames_since_flush: u32,
}

/// Frames between header updates: one second.
const FLUSH_FRAMES: u32 = 50;

impl WavSink {
    /// Creates (or truncates) `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, SourceError> {
        let path = path.as_ref().to_path_buf();
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::create(&path, spec).map_err(|error| SourceError::Wav {
            path: path.clone(),
            reason: error.to_string(),
        })?;
        Ok(Self {
            path,
            writer: Some(writer),
            frames_since_flush: 0,
        })
    }

    /// Writes the final header and closes the file, reporting any error
    /// (dropping the sink does the same but cannot report).
    pub fn close(mut self) -> Result<(), SourceError> {
        match self.writer.take() {
            Some(writer) => writer.finalize().map_err(|error| SourceError::Wav {
                path: self.path.clone(),
                reason: error.to_string(),
            }),
            None => Err(SourceError::Wav {
                path: self.path.clone(),
                reason: "an earlier write failed".into(),
            }),
        }
    }

    fn write(writer: &mut hound::WavWriter<BufWriter<File>>, frame: &Frame) -> hound::Result<()> {
        for &sample in frame {
            writer.write_sample(sample)?;
        }
        Ok(())
    }
}

impl FrameSink for WavSink {
    fn play(&mut self, frame: &Frame) {
        let Some(writer) = &mut self.writer else {
            return;
        };
        self.frames_since_flush += 1;
        let mut result = Self::write(writer, frame);
        if result.is_ok() && self.frames_since_flush >= FLUSH_FRAMES {
            self.frames_since_flush = 0;
            result = writer.flush();
        }
        if let Err(error) = result {
            tracing::warn!(path = %self.path.display(), %error, "WAV write failed; recording stopped");
            // Dropping the writer still tries to leave a valid header.
            self.writer = None;
        }
    }
}

impl std::fmt::Debug for WavSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSource")
            .field("path", &self.path)
            .field("spec", &self.spec)
            .field("end", &self.end)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for WavSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WavSink")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}
