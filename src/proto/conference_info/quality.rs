//! confab's call-quality extension to RFC 4575 `<media>`: how one
//! participant's audio reaches the mixer, as the focus learns it from the
//! A/V MCU's RTP and RTCP (RFC 3550 §6.4.1, §A.3, §A.8).
//!
//! ```xml
//! <media id="1">
//!   <type>audio</type>
//!   <cq:quality xmlns:cq="urn:x-confab:params:xml:ns:call-quality"
//!     codec="Opus" loss="0.4" jitter="3" rtt="12" buffer="60"/>
//! </media>
//! ```
//!
//! `loss` is in percent with one decimal; `jitter`, `rtt` (round trip) and
//! `buffer` (the mixer's jitter-buffer delay) in whole milliseconds. Every
//! attribute is optional. RFC 4575 §5 has readers skip elements of
//! namespaces they do not know, so other clients see the roster as before.
//!
//! Reading never fails on this element: an attribute that is not a number
//! in range is ignored, and an element with nothing usable is no element.

use crate::proto::xml::{DocumentWriter, Element};

use super::MediaQuality;

/// The namespace of the extension.
pub const QUALITY_NAMESPACE: &str = "urn:x-confab:params:xml:ns:call-quality";
/// The prefix it is written with, declared on the element itself.
const PREFIX: &str = "cq";
/// A codec name longer than this is not one.
const MAX_CODEC_BYTES: usize = 64;
/// The most milliseconds read: ten minutes is no figure of a live call.
const MAX_MS: f64 = 600_000.0;

impl MediaQuality {
    /// The loss in percent, to one decimal.
    pub fn loss_percent(&self) -> Option<f32> {
        self.loss_permille
            .map(|permille| f32::from(permille) / 10.0)
    }

    /// Whether it says nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == MediaQuality::default()
    }
}

/// The quality element among a `<media>`'s children, if one says anything.
pub(super) fn read(media: &Element) -> Option<MediaQuality> {
    let element = media
        .children
        .iter()
        .find(|child| child.is(QUALITY_NAMESPACE, "quality"))?;
    let quality = MediaQuality {
        codec: element
            .attribute("codec")
            .map(str::trim)
            .filter(|codec| !codec.is_empty() && codec.len() <= MAX_CODEC_BYTES)
            .map(str::to_owned),
        loss_permille: element.attribute("loss").and_then(permille),
        jitter_ms: element.attribute("jitter").and_then(millis),
        round_trip_ms: element.attribute("rtt").and_then(millis),
        buffer_ms: element.attribute("buffer").and_then(millis),
    };
    (!quality.is_empty()).then_some(quality)
}

/// Writes the element; nothing for a quality with nothing in it.
pub(super) fn write(document: &mut DocumentWriter, quality: &MediaQuality) {
    if quality.is_empty() {
        return;
    }
    let declaration = format!("xmlns:{PREFIX}");
    let loss = quality
        .loss_permille
        .map(|permille| format!("{}.{}", permille / 10, permille % 10));
    let figures = [
        ("jitter", quality.jitter_ms),
        ("rtt", quality.round_trip_ms),
        ("buffer", quality.buffer_ms),
    ]
    .map(|(name, value)| (name, value.map(|ms| ms.to_string())));
    let mut attributes = vec![(declaration.as_str(), QUALITY_NAMESPACE)];
    if let Some(codec) = &quality.codec {
        attributes.push(("codec", codec));
    }
    if let Some(loss) = &loss {
        attributes.push(("loss", loss));
    }
    for (name, value) in &figures {
        if let Some(value) = value {
            attributes.push((name, value));
        }
    }
    document.empty(&format!("{PREFIX}:quality"), &attributes);
}

/// A percentage from 0 to 100 in tenths of a percent, rounded.
fn permille(text: &str) -> Option<u16> {
    let percent: f64 = text.trim().parse().ok()?;
    // NaN fails the range too.
    if !(0.0..=100.0).contains(&percent) {
        return None;
    }
    // At most 1000: the cast cannot truncate.
    Some((percent * 10.0).round() as u16)
}

/// Milliseconds, rounded to whole ones.
fn millis(text: &str) -> Option<u32> {
    let ms: f64 = text.trim().parse().ok()?;
    if !(0.0..=MAX_MS).contains(&ms) {
        return None;
    }
    // At most MAX_MS: the cast cannot truncate.
    Some(ms.round() as u32)
}

#[cfg(test)]
mod tests;
