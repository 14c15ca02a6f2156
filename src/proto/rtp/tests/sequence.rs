use super::super::*;

fn feed(tracker: &mut SequenceTracker, seqs: impl IntoIterator<Item = u16>) -> Vec<SequenceUpdate> {
    seqs.into_iter().map(|s| tracker.update(s)).collect()
}

#[test]
fn a_new_source_is_on_probation_for_one_packet() {
    let mut tracker = SequenceTracker::new();
    assert_eq!(tracker.update(1000), SequenceUpdate::Probation);
    assert!(!tracker.is_valid());
    assert_eq!(tracker.extended_max(), None);
    assert_eq!(
        tracker.update(1001),
        SequenceUpdate::Valid { extended: 1001 }
    );
    assert!(tracker.is_valid());
    assert_eq!(tracker.received(), 1);
    assert_eq!(tracker.expected(), 1);
}

#[test]
fn probation_starts_over_when_packets_are_not_consecutive() {
    let mut tracker = SequenceTracker::new();
    let updates = feed(&mut tracker, [10, 12, 20, 21]);
    assert_eq!(
        updates,
        [
            SequenceUpdate::Probation,
            SequenceUpdate::Probation,
            SequenceUpdate::Probation,
            SequenceUpdate::Valid { extended: 21 }
        ]
    );
}

#[test]
fn wrap_around_extends_the_sequence() {
    let mut tracker = SequenceTracker::new();
    let updates = feed(&mut tracker, [65_533, 65_534, 65_535, 0, 1]);
    assert_eq!(updates[3], SequenceUpdate::Valid { extended: 65_536 });
    assert_eq!(updates[4], SequenceUpdate::Valid { extended: 65_537 });
    assert_eq!(tracker.expected(), 4);
    assert_eq!(tracker.cumulative_lost(), 0);

    // Three wraps at 50 packets a second: over an hour of audio.
    let mut tracker = SequenceTracker::new();
    let start = 60_000u16;
    let mut last = None;
    for n in 0..200_000u64 {
        let seq = start.wrapping_add(n as u16);
        if let SequenceUpdate::Valid { extended } = tracker.update(seq) {
            last = Some(extended);
        }
    }
    assert_eq!(last, Some(u64::from(start) + 199_999));
    assert_eq!(tracker.received(), 199_999);
}

#[test]
fn late_packets_count_once_and_copies_are_duplicates() {
    let mut tracker = SequenceTracker::new();
    feed(&mut tracker, [65_534, 65_535]);
    assert_eq!(
        tracker.update(1),
        SequenceUpdate::Valid { extended: 65_537 }
    );
    // 0 comes late, across the wrap.
    assert_eq!(
        tracker.update(0),
        SequenceUpdate::Valid { extended: 65_536 }
    );
    assert_eq!(
        tracker.update(0),
        SequenceUpdate::Duplicate { extended: 65_536 }
    );
    assert_eq!(
        tracker.update(1),
        SequenceUpdate::Duplicate { extended: 65_537 }
    );
    assert_eq!(
        tracker.update(65_535),
        SequenceUpdate::Duplicate { extended: 65_535 }
    );
    assert_eq!(tracker.received(), 3);
    assert_eq!(tracker.cumulative_lost(), 0);
    // Older than the first counted packet.
    assert_eq!(tracker.update(65_500), SequenceUpdate::TooOld);
}

#[test]
fn a_big_jump_is_dropped_unless_the_next_packet_confirms_it() {
    let mut tracker = SequenceTracker::new();
    feed(&mut tracker, [100, 101, 102]);
    assert_eq!(tracker.update(9_000), SequenceUpdate::Jump);
    assert_eq!(tracker.update(103), SequenceUpdate::Valid { extended: 103 });
    // Far behind is a jump too.
    assert_eq!(tracker.update(60_000), SequenceUpdate::Jump);
    // The sender restarted its numbering: the second packet confirms it.
    assert_eq!(tracker.update(20_000), SequenceUpdate::Jump);
    assert_eq!(
        tracker.update(20_001),
        SequenceUpdate::Restarted { extended: 20_001 }
    );
    assert_eq!(tracker.received(), 1);
    assert_eq!(tracker.expected(), 1);
    assert_eq!(
        tracker.update(20_002),
        SequenceUpdate::Valid { extended: 20_002 }
    );
}

#[test]
fn loss_and_fraction_lost_per_interval() {
    let mut tracker = SequenceTracker::new();
    tracker.update(0);
    // 1..=100 minus every tenth: 90 of 100 expected.
    for seq in (1..=100u16).filter(|s| s % 10 != 0) {
        tracker.update(seq);
    }
    tracker.update(101);
    assert_eq!(tracker.expected(), 101);
    assert_eq!(tracker.received(), 91);
    assert_eq!(tracker.cumulative_lost(), 10);
    // A.3: 10 lost of 101 expected, in 1/256.
    assert_eq!(tracker.fraction_lost_since_last(), (10 * 256 / 101) as u8);
    // The next interval has no loss.
    for seq in 102..=150 {
        tracker.update(seq);
    }
    assert_eq!(tracker.fraction_lost_since_last(), 0);
    assert_eq!(tracker.fraction_lost_since_last(), 0);
}

#[test]
fn timestamps_extend_across_wrap_around_both_ways() {
    let mut extender = TimestampExtender::new();
    assert_eq!(extender.extend(4_294_967_000), 4_294_967_000);
    assert_eq!(extender.extend(664), 4_294_967_960);
    // A late one from before the wrap.
    assert_eq!(extender.extend(4_294_967_100), 4_294_967_100);
    assert_eq!(extender.extend(1_624), 4_294_968_920);
    extender.reset();
    assert_eq!(extender.extend(100), 100);
    assert_eq!(extender.extend(4_294_967_256), -40);
    assert_eq!(extender.extend(1_060), 1_060);
}
