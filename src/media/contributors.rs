//! Who is speaking in a mixed stream: the contributing sources (CSRCs, RFC
//! 3550 §5.1) a conference mixer lists in its packets, with the level of
//! each (RFC 6465, mixer-to-client audio level) when it sends one. A
//! roster names the participant behind each CSRC by its media `src-id`
//! (RFC 4575 §5.7.1.2.3).

/// RFC 3550 §5.1: a packet lists at most 15 contributing sources.
pub const MAX_CONTRIBUTORS: usize = 15;

/// The contributing sources of the last mixed packets heard, and their
/// levels from 0 (silence) to 1 (full scale). Plain data, `Copy`, so that
/// the media task can publish it with the meters on every frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Contributors {
    entries: [(u32, f32); MAX_CONTRIBUTORS],
    len: u8,
}

impl Contributors {
    /// Adds a source, or raises its level; past [`MAX_CONTRIBUTORS`]
    /// sources the rest are ignored.
    pub fn insert(&mut self, csrc: u32, level: f32) {
        let level = level.clamp(0.0, 1.0);
        if let Some(entry) = self.entries_mut().iter_mut().find(|(id, _)| *id == csrc) {
            entry.1 = entry.1.max(level);
            return;
        }
        let len = usize::from(self.len);
        if let Some(slot) = self.entries.get_mut(len) {
            *slot = (csrc, level);
            self.len += 1;
        }
    }

    /// The sources, with their levels.
    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.entries().iter().copied()
    }

    /// The level of `csrc`, if it contributes.
    pub fn level(&self, csrc: u32) -> Option<f32> {
        self.iter()
            .find(|(id, _)| *id == csrc)
            .map(|(_, level)| level)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn entries(&self) -> &[(u32, f32)] {
        self.entries
            .get(..usize::from(self.len))
            .unwrap_or_default()
    }

    fn entries_mut(&mut self) -> &mut [(u32, f32)] {
        let len = usize::from(self.len);
        self.entries.get_mut(..len).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_loudest_level_of_each_source_and_at_most_fifteen() {
        let mut contributors = Contributors::default();
        contributors.insert(7, 0.2);
        contributors.insert(7, 0.5);
        contributors.insert(7, 0.1);
        assert_eq!(contributors.level(7), Some(0.5));
        for csrc in 100..120 {
            contributors.insert(csrc, 2.0);
        }
        assert_eq!(contributors.iter().count(), MAX_CONTRIBUTORS);
        assert_eq!(contributors.level(100), Some(1.0));
        assert_eq!(contributors.level(119), None);
    }
}
