//! The plant: what each ear receives from each driver. The designer inverts it, the simulator
//! listens through it. The rigid-sphere model of the brief is one implementation; anything
//! that maps a geometry to ear transfer functions (a measured head, a perturbed sphere) can
//! stand in for it without any other block knowing.

use crate::design::filters::linalg::CMatrix;
use crate::design::model::geometry::{Geometry, DEFAULT_HEAD_RADIUS_M};
use crate::design::DesignError;
use crate::design::{C64, SPEED_OF_SOUND};
use std::f64::consts::PI;

/// Ear transfer functions of every driver at a set of frequencies.
#[derive(Clone, Debug)]
pub struct EarResponses {
    /// Frequencies in Hz.
    pub freqs: Vec<f64>,
    /// Number of drivers.
    pub drivers: usize,
    /// `[frequency][ear][driver]`, ear 0 = left.
    data: Vec<C64>,
}

impl EarResponses {
    /// Wraps raw responses laid out `[frequency][ear][driver]`.
    pub fn new(freqs: Vec<f64>, drivers: usize, data: Vec<C64>) -> Self {
        assert_eq!(
            data.len(),
            freqs.len() * 2 * drivers,
            "response layout mismatch"
        );
        Self {
            freqs,
            drivers,
            data,
        }
    }

    /// Response of `driver` at `ear` at frequency index `k`.
    pub fn get(&self, k: usize, ear: usize, driver: usize) -> C64 {
        self.data[(k * 2 + ear) * self.drivers + driver]
    }

    /// The 2 × N plant matrix at frequency index `k`.
    pub fn matrix(&self, k: usize) -> CMatrix {
        let n = self.drivers;
        CMatrix {
            rows: 2,
            cols: n,
            data: self.data[k * 2 * n..(k + 1) * 2 * n].to_vec(),
        }
    }

    /// Level and arrival time of `driver` at `ear`: the level at the lowest analysed
    /// frequency from 50 Hz, and the time of the peak of the impulse response (8× upsampled,
    /// parabolic refinement), relative to time zero of the responses. The responses must be
    /// on an FFT bin grid (DC to Nyquist). Works for any plant, measured or modelled.
    pub fn arrival(&self, ear: usize, driver: usize) -> (f64, f64) {
        self.arrival_with(&mut realfft::RealFftPlanner::new(), ear, driver)
    }

    /// [`Self::arrival`] planning its transform with `planner`, so that several arrivals
    /// share one plan (planning costs more than the transform).
    pub fn arrival_with(
        &self,
        planner: &mut realfft::RealFftPlanner<f64>,
        ear: usize,
        driver: usize,
    ) -> (f64, f64) {
        let bins = self.freqs.len();
        let level = (0..bins)
            .find(|&k| self.freqs[k] >= 50.0)
            .map_or(1.0, |k| self.get(k, ear, driver).norm());
        let factor = 8;
        let fft_len = (bins - 1) * 2 * factor;
        let mut spectrum = vec![C64::new(0.0, 0.0); fft_len / 2 + 1];
        for (k, v) in spectrum.iter_mut().enumerate().take(bins) {
            *v = self.get(k, ear, driver);
        }
        spectrum[0].im = 0.0;
        spectrum[bins - 1] *= 0.5;
        let last = spectrum.len() - 1;
        spectrum[last].im = 0.0;
        let mut ir = vec![0.0; fft_len];
        planner
            .plan_fft_inverse(fft_len)
            .process(&mut spectrum, &mut ir)
            .expect("buffers sized by the plan");
        let peak = (0..fft_len)
            .max_by(|&a, &b| ir[a].abs().total_cmp(&ir[b].abs()))
            .unwrap_or(0);
        let at = |i: isize| ir[i.rem_euclid(fft_len as isize) as usize].abs();
        let (y0, y1, y2) = (
            at(peak as isize - 1),
            at(peak as isize),
            at(peak as isize + 1),
        );
        let denom = y0 - 2.0 * y1 + y2;
        let mut lag = peak as f64
            + if denom.abs() > 1e-300 {
                0.5 * (y0 - y2) / denom
            } else {
                0.0
            };
        if lag > fft_len as f64 / 2.0 {
            lag -= fft_len as f64;
        }
        let sample_rate = 2.0 * self.freqs[bins - 1];
        (level, lag / (factor as f64 * sample_rate))
    }

    /// Divides every response by the reference path (1/r, r/c), so that designs work on
    /// numbers near one and the common travel time is not equalised.
    pub fn relative_to(mut self, distance_m: f64) -> Self {
        for k in 0..self.freqs.len() {
            let w = 2.0 * PI * self.freqs[k];
            let inv_ref = C64::from_polar(distance_m, w * distance_m / SPEED_OF_SOUND);
            for v in &mut self.data[k * 2 * self.drivers..(k + 1) * 2 * self.drivers] {
                *v *= inv_ref;
            }
        }
        self
    }
}

/// Anything that tells what the ears receive from drivers placed as a [`Geometry`] says.
pub trait Plant: Send + Sync + std::fmt::Debug {
    /// Ear transfer functions (absolute: 1/r and travel time included) at `freqs`.
    fn ear_responses(&self, geometry: &Geometry, freqs: &[f64]) -> EarResponses;

    /// A short human-readable name for reports and the editor.
    fn name(&self) -> String;

    /// Whether this plant can describe `geometry` (a measured head covers only the directions
    /// it was measured in); the reason, for the user, when it cannot.
    fn check(&self, _geometry: &Geometry) -> Result<(), DesignError> {
        Ok(())
    }

    /// The listener poses this plant was measured at (a device file's positions), which a
    /// listening zone holds to where they fall inside it; none for a model or a head
    /// measured alone.
    fn measured_poses(&self) -> Vec<Geometry> {
        Vec::new()
    }

    /// The same head scaled by `factor` (the robustness figures' ±10 % heads), if this plant
    /// can be scaled (a measured head cannot).
    fn resized(&self, factor: f64) -> Option<Box<dyn Plant>>;
}

/// The brief's rigid sphere: ray path around the head (Woodworth in the far field), 1/r, and
/// Brown & Duda's one-pole/one-zero shadow with alpha(θ) = 1.05 + 0.95·cos(θ·180°/150°).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SphereHead {
    /// Head radius in metres; ±10 % is the robustness perturbation the brief asks for.
    pub radius_m: f64,
}

impl Default for SphereHead {
    fn default() -> Self {
        Self {
            radius_m: DEFAULT_HEAD_RADIUS_M,
        }
    }
}

impl SphereHead {
    /// Brown & Duda's shadow filter for an incidence angle `theta_rad` from the ear axis.
    pub fn shadow(&self, theta_rad: f64, freq_hz: f64) -> C64 {
        let theta_deg = theta_rad.to_degrees().clamp(0.0, 180.0);
        let alpha = 1.05 + 0.95 * (theta_deg * 180.0 / 150.0).to_radians().cos();
        let w0 = SPEED_OF_SOUND / self.radius_m;
        let x = 2.0 * PI * freq_hz / (2.0 * w0);
        C64::new(1.0, alpha * x) / C64::new(1.0, x)
    }

    /// Path length and incidence angle from a point source to one ear.
    /// `ear_azimuth` is where the ear points (radians from the array's facing axis, positive to
    /// the listener's right: [`Geometry::ear_azimuth`]).
    pub fn path(&self, source: (f64, f64), head: (f64, f64), ear_azimuth: f64) -> (f64, f64) {
        let azimuth = ear_azimuth;
        let ear_dir = (azimuth.sin(), -azimuth.cos());
        let v = (source.0 - head.0, source.1 - head.1);
        let dist = v.0.hypot(v.1);
        let a = self.radius_m;
        let cos_psi = ((v.0 * ear_dir.0 + v.1 * ear_dir.1) / dist).clamp(-1.0, 1.0);
        let psi = cos_psi.acos();
        let tangent = (a / dist).clamp(-1.0, 1.0).acos();
        let length = if psi <= tangent {
            let ear = (head.0 + a * ear_dir.0, head.1 + a * ear_dir.1);
            (source.0 - ear.0).hypot(source.1 - ear.1)
        } else {
            (dist * dist - a * a).max(0.0).sqrt() + a * (psi - tangent)
        };
        (length, psi)
    }

    /// Transfer function from a point source to each ear at `freqs`, for a head at `head`
    /// turned by `yaw_deg` (see [`Geometry::yaw_deg`]).
    pub fn source_to_ears(
        &self,
        source: (f64, f64),
        head: (f64, f64),
        yaw_deg: f64,
        freqs: &[f64],
    ) -> [Vec<C64>; 2] {
        let pose = Geometry {
            drivers: 1,
            spacing_m: 0.0,
            distance_m: head.1,
            offset_m: head.0,
            yaw_deg,
        };
        std::array::from_fn(|ear| {
            let (length, psi) = self.path(source, head, pose.ear_azimuth(ear));
            freqs
                .iter()
                .map(|&f| {
                    let travel =
                        C64::from_polar(1.0 / length, -2.0 * PI * f * length / SPEED_OF_SOUND);
                    self.shadow(psi, f) * travel
                })
                .collect()
        })
    }
}

impl Plant for SphereHead {
    fn ear_responses(&self, geometry: &Geometry, freqs: &[f64]) -> EarResponses {
        let n = geometry.drivers;
        let head = geometry.head_centre();
        let mut data = vec![C64::new(0.0, 0.0); freqs.len() * 2 * n];
        for (driver, x) in geometry.driver_x().into_iter().enumerate() {
            let ears = self.source_to_ears((x, 0.0), head, geometry.yaw_deg, freqs);
            for (ear, response) in ears.iter().enumerate() {
                for (k, v) in response.iter().enumerate() {
                    data[(k * 2 + ear) * n + driver] = *v;
                }
            }
        }
        EarResponses::new(freqs.to_vec(), n, data)
    }

    fn name(&self) -> String {
        format!("sphere, radius {:.2} cm", self.radius_m * 100.0)
    }

    fn resized(&self, factor: f64) -> Option<Box<dyn Plant>> {
        Some(Box::new(SphereHead {
            radius_m: self.radius_m * factor,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_is_transparent_at_dc_and_darkest_at_150_degrees() {
        let head = SphereHead::default();
        assert!((head.shadow(2.0, 0.0) - C64::new(1.0, 0.0)).norm() < 1e-12);
        let dark = head.shadow(150f64.to_radians(), 20_000.0).norm();
        let bright = head.shadow(0.0, 20_000.0).norm();
        assert!(dark < 0.12 && bright > 1.9, "{dark} {bright}");
    }

    #[test]
    fn far_field_itd_matches_woodworth_for_ears_at_90_degrees() {
        // With the source far away, the ray-path difference between the ears approaches
        // Woodworth's formula (for ears at ±90°, its assumption).
        let head = SphereHead::default();
        let az = 40f64.to_radians();
        let src = (1000.0 * az.sin(), -1000.0 * az.cos());
        let ahead = Geometry {
            drivers: 1,
            spacing_m: 0.0,
            distance_m: 0.0,
            offset_m: 0.0,
            yaw_deg: 0.0,
        };
        let (l, _) = head.path(src, (0.0, 0.0), ahead.ear_azimuth(0));
        let (r, _) = head.path(src, (0.0, 0.0), ahead.ear_azimuth(1));
        assert!(l > r, "the right ear is nearer a source on the right");
        // Ears at ±100° add a fixed angular offset; check the order of magnitude only.
        let itd = (l - r) / SPEED_OF_SOUND;
        assert!(itd > 0.3e-3 && itd < 0.5e-3, "{itd}");
    }

    #[test]
    fn ipsilateral_ear_is_louder_and_earlier() {
        let g = Geometry {
            drivers: 2,
            spacing_m: 0.3,
            distance_m: 0.5,
            offset_m: 0.0,
            yaw_deg: 0.0,
        };
        let r = SphereHead::default().ear_responses(&g, &[2000.0]);
        assert!(r.get(0, 0, 0).norm() > r.get(0, 1, 0).norm());
        assert!(r.get(0, 1, 1).norm() > r.get(0, 0, 1).norm());
    }
}
