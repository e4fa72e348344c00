//! The midrange beamformer for the centre channel of a driver line.
//!
//! Symmetric real weights keep the beam zero-phase (it arrives with the bulk delay, like every
//! other path). With the on-axis response fixed (distortionless), a line of three or four
//! drivers has one degree of freedom: how far the weights move from plain matrix mixing
//! towards the outer-pair-minus-inner pattern that nulls ±90°. Per frequency that amount `t`
//! minimises the expected power at ±90° (including the drivers' gain/phase tolerances, so the
//! null is only as deep as real drivers can hold), subject to two limits:
//! - the main lobe: the response at ±45° stays at or above −6 dB;
//! - the white-noise gain: 1/|w|² stays at or above [`BeamSpec::min_white_noise_gain_db`].
//!
//! Below the band the needed gain explodes ((kd)^4) and the white-noise limit takes the beam
//! away; above c/(2d) the line aliases. Outside the band the centre is plain matrix mixing.
//! Two drivers have no symmetric degree of freedom: there the beam is honestly unavailable.

use crate::design::filters::bands::log_step;
use crate::design::{C64, SPEED_OF_SOUND};

/// The beam's declared limits and tolerances.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BeamSpec {
    /// Number of drivers in the line.
    pub drivers: usize,
    /// Distance between neighbouring drivers, metres.
    pub spacing_m: f64,
    /// Lowest allowed white-noise gain (array gain against uncorrelated driver errors), dB.
    pub min_white_noise_gain_db: f64,
    /// Lowest allowed response at ±45° (the listening window), linear.
    pub min_response_45: f64,
    /// Driver gain tolerance the null is designed to survive, dB (1 σ).
    pub gain_tolerance_db: f64,
    /// Driver phase tolerance the null is designed to survive, degrees (1 σ).
    pub phase_tolerance_deg: f64,
}

impl BeamSpec {
    /// The limits this product declares: WNG ≥ −10 dB, ±45° ≥ −6 dB (designed to −5.9 dB so
    /// that FIR windowing cannot push it under), 0.5 dB / 3° drivers.
    pub fn new(drivers: usize, spacing_m: f64) -> Self {
        Self {
            drivers,
            spacing_m,
            min_white_noise_gain_db: -10.0,
            min_response_45: 10f64.powf(-5.9 / 20.0),
            gain_tolerance_db: 0.5,
            phase_tolerance_deg: 3.0,
        }
    }

    /// Whether this line can form a beam at all (three or more drivers).
    pub fn available(&self) -> bool {
        self.drivers >= 3
    }

    /// The spatial aliasing frequency c/(2d): the top of the band.
    pub fn aliasing_hz(&self) -> f64 {
        SPEED_OF_SOUND / (2.0 * self.spacing_m)
    }

    /// Where the beam is complete (its share is 1): c/(16d) to c/(2d), Hz.
    pub fn full_band(&self) -> (f64, f64) {
        let top = self.aliasing_hz();
        (top / 8.0, top)
    }

    /// Share of the beam at `freq_hz`: 1 in the band, fading over half an octave below
    /// c/(16d) and above c/(2d), 0 outside (plain matrix mixing there).
    pub fn band_share(&self, freq_hz: f64) -> f64 {
        if !self.available() {
            return 0.0;
        }
        let (bottom, top) = self.full_band();
        let half_octave = 2f64.sqrt();
        log_step(freq_hz, bottom / half_octave, bottom)
            * (1.0 - log_step(freq_hz, top, top * half_octave))
    }

    /// Variance of the relative driver error the null must survive.
    fn error_variance(&self) -> f64 {
        let g = self.gain_tolerance_db * std::f64::consts::LN_10 / 20.0;
        let p = self.phase_tolerance_deg.to_radians();
        g * g + p * p
    }

    /// x positions of the drivers, leftmost first.
    pub fn positions(&self) -> Vec<f64> {
        let centre = (self.drivers as f64 - 1.0) / 2.0;
        (0..self.drivers)
            .map(|n| (n as f64 - centre) * self.spacing_m)
            .collect()
    }
}

/// Plain matrix mixing of the centre: the middle driver (odd N) or the two middle drivers
/// (even N), summing to one on axis. For two drivers that is both, as in plain stereo.
pub fn matrix_weights(drivers: usize) -> Vec<f64> {
    let mut w = vec![0.0; drivers];
    if drivers % 2 == 1 {
        w[drivers / 2] = 1.0;
    } else {
        w[drivers / 2 - 1] = 0.5;
        w[drivers / 2] = 0.5;
    }
    w
}

/// The direction in weight space that turns matrix mixing into a beam: the outer pair up,
/// the middle down, summing to zero so the on-axis response is untouched.
fn beam_direction(drivers: usize) -> Vec<f64> {
    let mut v: Vec<f64> = matrix_weights(drivers).iter().map(|m| -m).collect();
    v[0] += 0.5;
    v[drivers - 1] += 0.5;
    v
}

/// Far-field response of real `weights` at positions `x` towards `azimuth_rad`.
pub fn response(weights: &[C64], x: &[f64], freq_hz: f64, azimuth_rad: f64) -> C64 {
    let k = 2.0 * std::f64::consts::PI * freq_hz / SPEED_OF_SOUND;
    weights
        .iter()
        .zip(x)
        .map(|(w, xn)| w * C64::from_polar(1.0, k * xn * azimuth_rad.sin()))
        .sum()
}

/// Real, symmetric far-field response (weights real and symmetric make it real).
fn real_response(weights: &[f64], x: &[f64], freq_hz: f64, azimuth_rad: f64) -> f64 {
    let k = 2.0 * std::f64::consts::PI * freq_hz / SPEED_OF_SOUND;
    weights
        .iter()
        .zip(x)
        .map(|(w, xn)| w * (k * xn * azimuth_rad.sin()).cos())
        .sum()
}

/// The full beam's weights at `freq_hz` (distortionless, real, symmetric), before the band
/// share is applied. For two drivers, the matrix weights.
pub fn beam_weights(spec: &BeamSpec, freq_hz: f64) -> Vec<f64> {
    let m = matrix_weights(spec.drivers);
    if !spec.available() {
        return m;
    }
    let v = beam_direction(spec.drivers);
    let x = spec.positions();
    let side = std::f64::consts::FRAC_PI_2;
    let (rm90, rv90) = (
        real_response(&m, &x, freq_hz, side),
        real_response(&v, &x, freq_hz, side),
    );
    let quarter = std::f64::consts::FRAC_PI_4;
    let (rm45, rv45) = (
        real_response(&m, &x, freq_hz, quarter),
        real_response(&v, &x, freq_hz, quarter),
    );
    let sigma2 = spec.error_variance();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>();
    let (mm, mv, vv) = (dot(&m, &m), dot(&m, &v), dot(&v, &v));
    // Expected power at ±90°: (rm90 + t rv90)² + σ²|m + t v|², minimised over t.
    let unconstrained = -(rm90 * rv90 + sigma2 * mv) / (rv90 * rv90 + sigma2 * vv);
    // Feasible t: main lobe rm45 + t rv45 ≥ limit and |m + t v|² ≤ 1/WNG_min.
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    if rv45.abs() > 1e-12 {
        let bound = (spec.min_response_45 - rm45) / rv45;
        if rv45 < 0.0 {
            hi = hi.min(bound);
        } else {
            lo = lo.max(bound);
        }
    }
    let max_norm = 10f64.powf(-spec.min_white_noise_gain_db / 10.0);
    let disc = mv * mv - vv * (mm - max_norm);
    if disc >= 0.0 {
        let root = disc.sqrt();
        lo = lo.max((-mv - root) / vv);
        hi = hi.min((-mv + root) / vv);
    }
    let t = if lo > hi {
        0.0
    } else {
        unconstrained.clamp(lo, hi)
    };
    m.iter().zip(&v).map(|(a, b)| a + t * b).collect()
}

/// The centre weights at `freq_hz` for a `depth` between 0 (matrix) and 1 (full beam),
/// faded to matrix mixing outside the band.
pub fn centre_weights(spec: &BeamSpec, freq_hz: f64, depth: f64) -> Vec<f64> {
    let m = matrix_weights(spec.drivers);
    let share = depth.clamp(0.0, 1.0) * spec.band_share(freq_hz);
    if share == 0.0 {
        return m;
    }
    let b = beam_weights(spec, freq_hz);
    m.iter()
        .zip(&b)
        .map(|(mi, bi)| mi + share * (bi - mi))
        .collect()
}

/// White-noise gain of distortionless weights, dB.
pub fn white_noise_gain_db(weights: &[C64]) -> f64 {
    let on_axis: C64 = weights.iter().sum();
    let norm: f64 = weights.iter().map(|w| w.norm_sqr()).sum();
    10.0 * (on_axis.norm_sqr() / norm.max(1e-300)).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_c(w: &[f64]) -> Vec<C64> {
        w.iter().map(|&v| C64::new(v, 0.0)).collect()
    }

    #[test]
    fn beam_is_distortionless_and_within_limits() {
        let spec = BeamSpec::new(3, 0.08);
        let x = spec.positions();
        for f in [400.0, 630.0, 1000.0, 1600.0, 2000.0] {
            let w = to_c(&beam_weights(&spec, f));
            let on = response(&w, &x, f, 0.0);
            assert!((on - C64::new(1.0, 0.0)).norm() < 1e-12, "{f}: {on}");
            assert!(response(&w, &x, f, 45f64.to_radians()).norm() >= 0.5 - 1e-9);
            assert!(white_noise_gain_db(&w) >= -10.0 - 1e-9);
        }
    }

    #[test]
    fn beam_nulls_the_sides_in_the_midrange() {
        let spec = BeamSpec::new(3, 0.08);
        let x = spec.positions();
        let w = to_c(&beam_weights(&spec, 1000.0));
        let side = response(&w, &x, 1000.0, 90f64.to_radians()).norm_sqr();
        assert!(10.0 * side.log10() < -15.0, "{}", 10.0 * side.log10());
    }

    #[test]
    fn two_drivers_have_no_beam() {
        let spec = BeamSpec::new(2, 0.16);
        assert!(!spec.available());
        assert_eq!(centre_weights(&spec, 1000.0, 1.0), vec![0.5, 0.5]);
    }

    #[test]
    fn outside_the_band_the_centre_is_matrix_mixed() {
        let spec = BeamSpec::new(3, 0.08);
        assert_eq!(centre_weights(&spec, 50.0, 1.0), matrix_weights(3));
        assert_eq!(centre_weights(&spec, 8000.0, 1.0), matrix_weights(3));
    }
}
