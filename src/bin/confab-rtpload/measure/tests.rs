use super::*;

/// A stream on schedule from `start`: frame k at start + 20 ms * k, with
/// timestamps from `timestamp`.
fn on_schedule(start: i64, timestamp: u32, frames: usize) -> Vec<Arrival> {
    (0..frames)
        .map(|k| Arrival {
            at_us: start + FRAME_US * k as i64,
            timestamp: timestamp.wrapping_add(960 * k as u32),
        })
        .collect()
}

#[test]
fn a_stream_on_schedule_has_no_late_frame() {
    let arrivals = on_schedule(1_000_000, 5, 250);
    let result = lateness(&arrivals, 249, FRAME_US);
    assert_eq!(result.late, 0);
    assert_eq!(result.on_time, 249);
    assert_eq!(result.worst_us, 0);
}

#[test]
fn a_constant_delay_is_not_lateness() {
    // The whole stream 150 ms behind: the schedule is the stream's own.
    let arrivals = on_schedule(1_150_000, 0, 100);
    assert_eq!(lateness(&arrivals, 100, FRAME_US).late, 0);
}

#[test]
fn a_frame_more_than_the_limit_behind_is_late_and_one_at_it_is_not() {
    let mut arrivals = on_schedule(0, 0, 50);
    arrivals[10].at_us += FRAME_US; // exactly at the limit
    arrivals[20].at_us += FRAME_US + 1; // just past it
    let result = lateness(&arrivals, 50, FRAME_US);
    assert_eq!(result.late, 1);
    assert_eq!(result.worst_us, FRAME_US + 1);
}

#[test]
fn missing_frames_are_late() {
    let mut arrivals = on_schedule(0, 0, 50);
    arrivals.remove(30);
    arrivals.remove(7);
    assert_eq!(lateness(&arrivals, 50, FRAME_US).late, 2);
    assert_eq!(lateness(&[], 50, FRAME_US).late, 50);
}

#[test]
fn a_stream_falling_behind_is_late_from_where_it_passes_the_limit() {
    // Each frame 1 ms later than the one before (a mixer that cannot keep
    // up): frames 21 on are more than 20 ms behind.
    let arrivals: Vec<Arrival> = (0..50)
        .map(|k| Arrival {
            at_us: (FRAME_US + 1_000) * k,
            timestamp: 960 * k as u32,
        })
        .collect();
    let result = lateness(&arrivals, 50, FRAME_US);
    assert_eq!(result.late, 29);
}

#[test]
fn the_schedule_is_anchored_on_the_earliest_packet_and_timestamps_wrap() {
    // A stream that starts 5 ms late and catches up at frame 3; the
    // timestamps wrap around 2^32 in the middle.
    let mut arrivals = on_schedule(0, u32::MAX - 960 * 2, 10);
    for arrival in &mut arrivals[..3] {
        arrival.at_us += 5_000;
    }
    let result = lateness(&arrivals, 10, FRAME_US);
    assert_eq!(result.late, 0);
    assert_eq!(result.worst_us, 5_000);
    // The same with a limit of 4 ms: the first three are late.
    assert_eq!(lateness(&arrivals, 10, 4_000).late, 3);
}

#[test]
fn a_duplicate_counts_once_and_on_time_is_capped_at_expected() {
    let mut arrivals = on_schedule(0, 0, 10);
    arrivals.push(arrivals[4]);
    let result = lateness(&arrivals, 8, FRAME_US);
    assert_eq!(result.on_time, 8);
    assert_eq!(result.late, 0);
}

#[test]
fn reordered_packets_find_their_frames() {
    // Frame 4 held up 25 ms, so that it arrives after frame 5.
    let mut arrivals = on_schedule(0, 100, 10);
    arrivals[4].at_us += 25_000;
    arrivals.swap(4, 5);
    assert_eq!(lateness(&arrivals, 10, FRAME_US).late, 1);
    assert_eq!(lateness(&arrivals, 10, 30_000).late, 0);
}

#[test]
fn an_onset_is_the_first_loud_sample_after_enough_quiet() {
    let mut detector = OnsetDetector::new(1000, 1000);
    let mut frame = [0i16; 960];
    assert_eq!(detector.push(&frame), None);
    frame[300] = 2000;
    frame[301] = -3000;
    frame[700] = 5000;
    assert_eq!(detector.push(&frame), Some(300));
    // The burst goes on into the next frame: no new onset.
    let mut loud = [0i16; 960];
    loud[0] = -1000;
    assert_eq!(detector.push(&loud), None);
    // Not quiet for long enough since sample 0.
    let mut soon = [0i16; 960];
    soon[30] = 1500;
    assert_eq!(detector.push(&soon), None);
    let mut later = [0i16; 960];
    later[200] = 1500;
    assert_eq!(detector.push(&later), Some(200));
}

#[test]
fn onsets_match_the_latest_impulse_before_them_once() {
    let impulses = [1_000_000, 1_500_000, 2_000_000, 2_500_000];
    // 30 ms after the first; a second onset of the same impulse; none for
    // the second; 90 ms after the third; one too late for the fourth.
    let onsets = [1_030_000, 1_200_000, 2_090_000, 2_950_000];
    assert_eq!(
        match_onsets(&impulses, &onsets, 400_000),
        vec![30_000, 90_000]
    );
    assert_eq!(
        match_onsets(&impulses, &[500_000], 400_000),
        Vec::<i64>::new()
    );
}

#[test]
fn quantiles_interpolate_between_ranks() {
    let values = [4.0, 1.0, 3.0, 2.0];
    assert_eq!(quantile(&values, 0.5), Some(2.5));
    assert_eq!(quantile(&values, 0.0), Some(1.0));
    assert_eq!(quantile(&values, 1.0), Some(4.0));
    assert_eq!(quantile(&[7.0], 0.9), Some(7.0));
    assert_eq!(quantile(&[], 0.5), None);
}
