//! When each step of a case ran, and on which clock: the window a recorded call's `now` lay in.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::protocol::ClockSpec;
use dynamo_wire::WireRecord;
use dynamo_wire::expect::NowWindow;

pub(super) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// The clock the subject ran with during each step, and when (wall clock) each step began, to turn a call's
/// arrival time into the window the subject's `now` lay in: it read its clock after the step began and before
/// the call arrived, however long a loaded machine made that.
#[derive(Default)]
pub(super) struct Timeline {
    pub(super) clocks: Vec<ClockSpec>,
    pub(super) started: Vec<i64>,
}

impl Timeline {
    pub(super) fn step_begins(&mut self, clock: ClockSpec) {
        self.clocks.push(clock);
        self.started.push(unix_now().floor() as i64);
    }

    pub(super) fn window_for(&self, record: &WireRecord) -> NowWindow {
        let step = record.step_number.unwrap_or(1).saturating_sub(1);
        let clock = self
            .clocks
            .get(step)
            .or(self.clocks.last())
            .copied()
            .unwrap_or_default();
        let arrived = record.t_unix.unwrap_or_else(unix_now).floor() as i64;
        let began = self
            .started
            .get(step)
            .copied()
            .unwrap_or(arrived)
            .min(arrived);
        NowWindow {
            earliest: clock.now_at(began),
            latest: clock.now_at(arrived),
        }
    }
}
