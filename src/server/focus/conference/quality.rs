//! Call quality in the roster (confab's `quality` extension of a medium,
//! see [`crate::proto::conference_info::QUALITY_NAMESPACE`]): the A/V MCU's
//! figures for a participant's audio go into their audio medium, rounded,
//! and only when one moved noticeably. A roster change is a NOTIFY to every
//! subscriber, and figures that wobble would otherwise send one every few
//! seconds for each participant.

use super::{Conference, audio_media_mut};
use crate::proto::LegQuality;
use crate::proto::conference_info::{EndpointStatus, MediaQuality};

/// A change of loss below this (in tenths of a percent) is not published.
pub const LOSS_STEP_PERMILLE: u16 = 5;
/// A change of jitter, round trip or buffer delay below this (ms) is not
/// published.
pub const DELAY_STEP_MS: u32 = 5;
/// Larger figures are read as this many milliseconds.
const MAX_MS: f32 = 600_000.0;

/// The MCU's figures as the roster carries them: loss to a tenth of a
/// percent, delays to whole milliseconds; a figure that is not a number
/// is left out.
pub fn roster_quality(quality: &LegQuality) -> MediaQuality {
    let ms = |value: f32| {
        // Clamped to MAX_MS, so the cast cannot truncate.
        value
            .is_finite()
            .then(|| value.clamp(0.0, MAX_MS).round() as u32)
    };
    let loss = quality.loss_percent;
    MediaQuality {
        codec: Some(quality.codec)
            .filter(|codec| !codec.is_empty())
            .map(str::to_owned),
        // At most 1000: the cast cannot truncate.
        loss_permille: loss
            .is_finite()
            .then(|| (loss.clamp(0.0, 100.0) * 10.0).round() as u16),
        jitter_ms: ms(quality.jitter_ms),
        round_trip_ms: quality.round_trip_ms.and_then(ms),
        buffer_ms: ms(quality.buffer_ms),
    }
}

/// Whether `new` is worth telling everyone, against what they were told.
pub fn moved_noticeably(old: Option<&MediaQuality>, new: &MediaQuality) -> bool {
    let Some(old) = old else {
        return !new.is_empty();
    };
    fn moved<T: Copy + Ord + std::ops::Sub<Output = T>>(
        old: Option<T>,
        new: Option<T>,
        step: T,
    ) -> bool {
        match (old, new) {
            (Some(old), Some(new)) => old.max(new) - old.min(new) >= step,
            (old, new) => old.is_some() != new.is_some(),
        }
    }
    old.codec != new.codec
        || moved(old.loss_permille, new.loss_permille, LOSS_STEP_PERMILLE)
        || moved(old.jitter_ms, new.jitter_ms, DELAY_STEP_MS)
        || moved(old.round_trip_ms, new.round_trip_ms, DELAY_STEP_MS)
        || moved(old.buffer_ms, new.buffer_ms, DELAY_STEP_MS)
}

impl Conference {
    /// The MCU's figures for the audio of `user`'s `endpoint` (its RFC
    /// 4575 entity): kept in the endpoint's audio medium when they moved
    /// noticeably since the roster last showed them. True if the roster
    /// changed (publish it); false for an endpoint not in the audio.
    pub fn set_audio_quality(&mut self, user: &str, endpoint: &str, quality: MediaQuality) -> bool {
        if self.ended {
            return false;
        }
        let Some(mut entry) = self.roster.user(user).cloned() else {
            return false;
        };
        let Some(media) = entry
            .endpoints
            .iter_mut()
            .filter(|existing| {
                matches!(
                    existing.status,
                    Some(EndpointStatus::Connected | EndpointStatus::MutedViaFocus)
                )
            })
            .find(|existing| existing.entity == endpoint)
            .and_then(audio_media_mut)
        else {
            return false;
        };
        if !moved_noticeably(media.quality.as_ref(), &quality) {
            return false;
        }
        media.quality = Some(quality);
        // Only a medium changed, which the roster's limits do not count.
        self.set_user(entry).is_ok()
    }
}
