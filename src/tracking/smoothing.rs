//! The One Euro filter (Casiez, Roussel & Vogel, CHI 2012): a low-pass whose cut-off rises
//! with the signal's speed, so that a still head reads still (tracker jitter is filtered
//! hard) while a turning head is followed with little lag. Chosen because it is the standard
//! for exactly this (pointing and head tracking), has two intuitive settings, and needs no
//! model of the motion.

use std::f64::consts::PI;

/// The filter's settings for one axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OneEuroSettings {
    /// Cut-off while still, Hz: lower is steadier, higher follows slow motion sooner.
    pub min_cutoff_hz: f64,
    /// How much the cut-off rises per unit of speed (per metre/s or per degree/s), Hz.
    pub beta: f64,
    /// Cut-off of the speed estimate, Hz.
    pub speed_cutoff_hz: f64,
}

/// One axis of the filter.
#[derive(Clone, Copy, Debug)]
pub struct OneEuro {
    settings: OneEuroSettings,
    /// The last output and the filtered speed, once there is one.
    state: Option<(f64, f64)>,
}

/// The smoothing factor of a one-pole low-pass at `cutoff_hz` over a step of `dt_s`.
fn alpha(cutoff_hz: f64, dt_s: f64) -> f64 {
    let tau = 1.0 / (2.0 * PI * cutoff_hz);
    1.0 / (1.0 + tau / dt_s)
}

impl OneEuro {
    /// A filter that has seen nothing yet.
    pub fn new(settings: OneEuroSettings) -> Self {
        Self {
            settings,
            state: None,
        }
    }

    /// Filters `value`, `dt_s` seconds after the previous one (the first value passes as it
    /// is; a step of zero or less, two packets at once, changes nothing).
    pub fn filter(&mut self, value: f64, dt_s: f64) -> f64 {
        let Some((last, speed)) = self.state else {
            self.state = Some((value, 0.0));
            return value;
        };
        if dt_s <= 0.0 || !dt_s.is_finite() {
            return last;
        }
        let s = &self.settings;
        let raw_speed = (value - last) / dt_s;
        let speed = speed + alpha(s.speed_cutoff_hz, dt_s) * (raw_speed - speed);
        let cutoff = s.min_cutoff_hz + s.beta * speed.abs();
        let out = last + alpha(cutoff, dt_s) * (value - last);
        self.state = Some((out, speed));
        out
    }

    /// Forgets everything seen (a new tracker, a re-centre): the next value passes as it is.
    pub fn reset(&mut self) {
        self.state = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: OneEuroSettings = OneEuroSettings {
        min_cutoff_hz: 0.5,
        beta: 10.0,
        speed_cutoff_hz: 1.0,
    };

    /// A deterministic ±1 mm jitter (a still head as a camera tracker reads it).
    fn jitter(i: usize) -> f64 {
        let x = (i as f64 * 12.9898).sin() * 43758.5453;
        (x - x.floor() - 0.5) * 0.002
    }

    fn rms(v: &[f64]) -> f64 {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    }

    #[test]
    fn a_still_head_reads_five_times_steadier_and_a_moving_one_is_followed() {
        let mut f = OneEuro::new(SETTINGS);
        let dt = 1.0 / 60.0;
        let still: Vec<f64> = (0..600).map(|i| f.filter(jitter(i), dt)).collect();
        let raw: Vec<f64> = (300..600).map(jitter).collect();
        let (raw, out) = (rms(&raw), rms(&still[300..]));
        assert!(
            out * 5.0 < raw,
            "still: {out:.6} m rms out of {raw:.6} m jitter"
        );
        // Then a 0.5 m/s move for 0.4 s: the filter trails by less than 2 cm at its end.
        let mut target = 0.0;
        let mut out = 0.0;
        for i in 0..24 {
            target = 0.5 * (i + 1) as f64 * dt;
            out = f.filter(target + jitter(600 + i), dt);
        }
        assert!((target - out).abs() < 0.02, "lag {:.4} m", target - out);
    }

    #[test]
    fn the_first_value_passes_and_a_zero_step_changes_nothing() {
        let mut f = OneEuro::new(SETTINGS);
        assert_eq!(f.filter(0.3, 0.01), 0.3);
        assert_eq!(f.filter(0.9, 0.0), 0.3);
        f.reset();
        assert_eq!(f.filter(0.9, 0.01), 0.9);
    }
}
