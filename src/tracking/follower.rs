//! From tracker readings to the pose the designer follows: calibration ("Centre"), jitter
//! smoothing, a dead band so that a still head asks for no designs, and the glide back to the
//! nominal listener when the tracker goes quiet (and forward again when it returns).

use super::protocol::Reading;
use super::smoothing::{OneEuro, OneEuroSettings};
use super::{Pose, Tracked};

/// Smoothing of the position axes: a still head's jitter is cut about six times (0.5 Hz);
/// at 0.5 m/s the cut-off is 5.5 Hz.
const POSITION_SMOOTHING: OneEuroSettings = OneEuroSettings {
    min_cutoff_hz: 0.5,
    beta: 10.0,
    speed_cutoff_hz: 1.0,
};

/// Smoothing of yaw: at 100°/s the cut-off is 5.5 Hz.
const YAW_SMOOTHING: OneEuroSettings = OneEuroSettings {
    min_cutoff_hz: 0.5,
    beta: 0.05,
    speed_cutoff_hz: 1.0,
};

/// Seconds without a reading after which the design glides back to the nominal listener.
pub const QUIET_AFTER_S: f64 = 2.0;

/// Seconds a glide (back to nominal, or forward to the tracker again) takes.
pub const GLIDE_S: f64 = 1.0;

/// Smallest move that asks for a new design: 1 mm sideways or in distance (the separation
/// changes by hundredths of a dB), 0.1° of yaw.
pub const DEAD_BAND: Pose = Pose {
    x_m: 0.001,
    y_m: 0.001,
    yaw_deg: 0.1,
};

/// Smallest change of the tracker's weight that asks for a new design.
const WEIGHT_STEP: f64 = 0.02;

/// Seconds a pose must stay within the dead band before it is designed for once more as it
/// has settled, so that a head that stops is designed for where it stopped (to micrometres),
/// not where the dead band last let a design through.
pub const SETTLE_S: f64 = 1.0;

/// Follows one tracker's readings.
#[derive(Debug)]
pub struct Follower {
    /// The latest raw reading on each axis, and whether it was absolute (our own frame).
    raw: Pose,
    absolute: bool,
    /// The raw reading "Centre" made the nominal listener, if any.
    centre: Option<Pose>,
    /// One filter per axis (x, y, yaw).
    filters: [OneEuro; 3],
    /// Which axes a reading has set since the frame or centre last changed: until then an
    /// axis is not filtered, so that its first value passes as it is.
    seen: [bool; 3],
    /// When the last reading came, seconds on the caller's clock.
    last_reading_s: Option<f64>,
    /// When the weight was last moved (none yet: the first tick moves it by nothing).
    last_tick_s: Option<f64>,
    /// How much the design follows the tracker: 1 while it reports, 0 after a glide back.
    weight: f64,
    /// The smoothed pose (in the frame `absolute` says).
    smoothed: Pose,
    /// What was last handed on, to keep within the dead band, and when.
    sent: Option<(Tracked, f64)>,
    /// Whether the settled pose has been handed on since the last move.
    settled: bool,
}

impl Default for Follower {
    fn default() -> Self {
        Self {
            raw: Pose::default(),
            absolute: false,
            centre: None,
            filters: [
                OneEuro::new(POSITION_SMOOTHING),
                OneEuro::new(POSITION_SMOOTHING),
                OneEuro::new(YAW_SMOOTHING),
            ],
            seen: [false; 3],
            last_reading_s: None,
            last_tick_s: None,
            weight: 0.0,
            smoothed: Pose::default(),
            sent: None,
            settled: false,
        }
    }
}

impl Follower {
    /// Takes one reading that arrived at `now_s`; returns what the designer should follow,
    /// if that moved beyond the dead band.
    pub fn reading(&mut self, reading: Reading, now_s: f64) -> Option<Tracked> {
        let absolute = matches!(reading, Reading::Pose(_));
        if absolute != self.absolute && !matches!(reading, Reading::Centre) {
            // Another frame: what the other protocol said no longer applies.
            self.absolute = absolute;
            self.raw = Pose::default();
            self.centre = None;
            self.seen = [false; 3];
            self.filters.iter_mut().for_each(OneEuro::reset);
        }
        match reading {
            Reading::Tracker(p) | Reading::Pose(p) => {
                let yaw_deg = self.unwrapped(p.yaw_deg);
                self.raw = Pose { yaw_deg, ..p };
                self.seen = [true; 3];
            }
            Reading::Yaw(yaw_deg) => {
                self.raw.yaw_deg = self.unwrapped(yaw_deg);
                self.seen[2] = true;
            }
            Reading::Position { x_m, y_m } => {
                self.raw.x_m = x_m;
                self.raw.y_m = y_m;
                self.seen[0] = true;
                self.seen[1] = true;
            }
            Reading::Centre => {
                self.centre = Some(self.raw);
                self.filters.iter_mut().for_each(OneEuro::reset);
            }
        }
        let dt = self.last_reading_s.map_or(0.0, |t| now_s - t);
        self.last_reading_s = Some(now_s);
        let target = match self.centre {
            Some(c) => self.raw.minus(c),
            None => self.raw,
        };
        let values = [target.x_m, target.y_m, target.yaw_deg];
        let mut smoothed = [0.0; 3];
        for axis in 0..3 {
            smoothed[axis] = if self.seen[axis] {
                self.filters[axis].filter(values[axis], dt)
            } else {
                self.filters[axis].reset();
                values[axis]
            };
        }
        self.smoothed = Pose {
            x_m: smoothed[0],
            y_m: smoothed[1],
            yaw_deg: smoothed[2],
        };
        self.tick(now_s)
    }

    /// Moves the weight on (gliding in while readings come, out once they stop for
    /// [`QUIET_AFTER_S`]); returns what the designer should follow if that changed.
    pub fn tick(&mut self, now_s: f64) -> Option<Tracked> {
        let dt = self.last_tick_s.map_or(0.0, |t| (now_s - t).max(0.0));
        self.last_tick_s = Some(now_s);
        let fresh = self
            .last_reading_s
            .is_some_and(|t| now_s - t < QUIET_AFTER_S);
        let step = dt / GLIDE_S;
        self.weight = if fresh {
            (self.weight + step).min(1.0)
        } else {
            (self.weight - step).max(0.0)
        };
        let now = self.current();
        let moved = match &self.sent {
            None => now.weight > 0.0,
            Some((sent, _)) => now.differs_from(sent),
        };
        if moved {
            self.sent = Some((now, now_s));
            self.settled = false;
            return Some(now);
        }
        match self.sent {
            Some((sent, at)) if !self.settled && now_s - at >= SETTLE_S => {
                self.settled = true;
                (now != sent).then(|| {
                    self.sent = Some((now, now_s));
                    now
                })
            }
            _ => None,
        }
    }

    /// `yaw_deg` continued from the last yaw read, so that a turn across ±180° (trackers
    /// that send a heading) is a small turn, not a jump of a whole turn.
    fn unwrapped(&self, yaw_deg: f64) -> f64 {
        if !self.seen[2] {
            return yaw_deg;
        }
        let last = self.raw.yaw_deg;
        last + (yaw_deg - last + 180.0).rem_euclid(360.0) - 180.0
    }

    fn current(&self) -> Tracked {
        Tracked {
            pose: self.smoothed,
            // A centred reading is a displacement from the nominal listener, whatever frame
            // it came in.
            absolute: self.absolute && self.centre.is_none(),
            weight: self.weight,
        }
    }
}

/// Whether two poses are further apart than the dead band on any axis.
pub fn beyond_dead_band(a: Pose, b: Pose) -> bool {
    let d = a.minus(b);
    d.x_m.abs() >= DEAD_BAND.x_m
        || d.y_m.abs() >= DEAD_BAND.y_m
        || d.yaw_deg.abs() >= DEAD_BAND.yaw_deg
}

impl Tracked {
    /// Whether `self` asks for a design different from `other`'s beyond the dead band.
    fn differs_from(&self, other: &Tracked) -> bool {
        self.absolute != other.absolute
            || beyond_dead_band(self.pose, other.pose)
            || (self.weight - other.weight).abs() >= WEIGHT_STEP
            || (self.weight != other.weight && (self.weight == 0.0 || self.weight == 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x_m: f64, yaw_deg: f64) -> Reading {
        Reading::Tracker(Pose {
            x_m,
            y_m: 0.0,
            yaw_deg,
        })
    }

    #[test]
    fn a_still_head_asks_for_no_designs_once_the_glide_in_is_over() {
        let mut f = Follower::default();
        let mut asked = Vec::new();
        for i in 0..600 {
            // 60 poses a second, jittering by ±0.3 mm and ±0.03°.
            let wobble = ((i * 7919) % 13) as f64 / 12.0 - 0.5;
            let t = i as f64 / 60.0;
            if f.reading(at(0.1 + 0.0006 * wobble, 5.0 + 0.06 * wobble), t)
                .is_some()
            {
                asked.push(t);
            }
        }
        // After the glide in, one design for where the head settled, and then none.
        let after_glide = asked.iter().filter(|&&t| t > GLIDE_S + 0.5).count();
        assert!(after_glide <= 1, "designs asked at {asked:?}");
        // The glide in asked for about one design per weight step.
        assert!(
            asked.len() <= (1.0 / WEIGHT_STEP) as usize + 5,
            "{}",
            asked.len()
        );
    }

    #[test]
    fn a_quiet_tracker_glides_back_to_nominal_and_a_moving_one_is_followed() {
        let mut f = Follower::default();
        let mut last = None;
        for i in 0..120 {
            let t = i as f64 / 60.0;
            last = f.reading(at(0.05 * t, 0.0), t).or(last);
        }
        let moving = last.unwrap();
        assert_eq!(moving.weight, 1.0);
        // It follows the move, trailing it by less than 5 mm.
        assert!(
            (moving.pose.x_m - 0.05 * 119.0 / 60.0).abs() < 0.005,
            "{moving:?}"
        );
        // Silence: nothing changes for QUIET_AFTER_S, then the weight falls to 0 in GLIDE_S.
        let start = 119.0 / 60.0;
        let mut weights = Vec::new();
        for i in 1..=400 {
            let t = start + i as f64 * 0.01;
            if let Some(tracked) = f.tick(t) {
                weights.push((t - start, tracked.weight));
            }
        }
        let first = *weights.iter().find(|w| w.1 < 1.0).expect("a glide");
        assert!(
            (first.0 - QUIET_AFTER_S).abs() < 0.05,
            "the glide began {first:?}"
        );
        let done = weights.iter().find(|w| w.1 == 0.0).expect("glides to 0");
        assert!(
            (done.0 - QUIET_AFTER_S - GLIDE_S).abs() < 0.05,
            "ended at {done:?}"
        );
    }

    #[test]
    fn a_turn_across_180_degrees_is_a_small_turn_and_tracking_glides_in_from_its_start() {
        let mut f = Follower::default();
        // The first reading comes long after the follower was made: the weight still rises
        // from 0 over the glide, not at once.
        let first = f.reading(at(0.0, 179.0), 50.0);
        assert!(first.is_none_or(|t| t.weight < 0.05), "{first:?}");
        let next = f.reading(at(0.0, 179.0), 50.1);
        assert!(next.is_some_and(|t| t.weight < 0.15), "{next:?}");
        f.reading(Reading::Centre, 50.01);
        let mut last = None;
        for i in 0..200 {
            let heading = if i < 100 { 179.0 } else { -179.0 };
            last = f
                .reading(at(0.0, heading), 50.02 + i as f64 / 100.0)
                .or(last);
        }
        let turned = last.unwrap().pose.yaw_deg;
        assert!(
            (turned - 2.0).abs() < 0.2,
            "179° to -179° reads as {turned}°"
        );
    }

    #[test]
    fn centre_makes_the_current_reading_the_nominal_listener() {
        let mut f = Follower::default();
        for i in 0..200 {
            f.reading(at(0.2, 30.0), i as f64 / 100.0);
        }
        let mut last = f.reading(Reading::Centre, 2.0);
        for i in 0..100 {
            last = f.reading(at(0.2, 30.0), 2.0 + i as f64 / 100.0).or(last);
        }
        let centred = last.expect("a new pose after centring");
        assert!(centred.pose.x_m.abs() < 1e-9 && centred.pose.yaw_deg.abs() < 1e-9);
        assert!(!centred.absolute);
    }
}
