//! A measured head as a [`Plant`]: the horizontal-plane HRIRs of a SOFA set, turned into ear
//! transfer functions for any driver position and listener pose.
//!
//! For each driver and ear the direction is taken from the listener's pose (offset included),
//! along that ear's line of sight (see [`MeasuredHead::ear_responses`]), and the response is
//! interpolated between the two measured azimuths either side of it, like this:
//! each measured response is split into a broadband delay (the slope of its phase below
//! 1.5 kHz, where an HRTF is nearly a pure delay) and what remains once that delay is taken
//! out; the delays are interpolated linearly in azimuth, and so are the delay-free responses
//! (magnitude linearly, phase as the phase of their weighted complex mean). Interpolating raw
//! responses instead would average two arrivals a few samples apart and comb-filter the
//! result; nearest-neighbour would step by up to 2.5° of ITD on a 5° grid.
//!
//! The response is then made absolute: scaled so that the head is transparent at low
//! frequencies (as a real head is), timed so that a frontal source at the measurement radius
//! reaches the head centre after radius/c, and moved from the measurement position to the
//! driver along the ear's line of sight: × (its distance / the driver's) and delayed by the
//! difference over c. This corrects for the distance difference from the measurement
//! radius, including the parallax that makes close sources louder at the near ear. Above 95 % of the set's Nyquist frequency it fades to nothing, so a
//! session at a higher rate than the set hears it band-limited rather than aliased.

use crate::design::model::geometry::Geometry;
use crate::design::model::plant::{EarResponses, Plant};
use crate::design::model::sofa::{HrirSet, Measurement};
use crate::design::DesignError;
use crate::design::{C64, SPEED_OF_SOUND};
use realfft::RealFftPlanner;
use std::f64::consts::PI;

/// Widest gap between the measured azimuths either side of a driver that the interpolation
/// bridges, degrees.
pub const MAX_GAP_DEG: f64 = 20.0;

/// Shortest FFT each response is analysed with (at the set's rate); longer responses get
/// twice their length.
const MIN_GRID_LEN: usize = 2048;

/// Directions further than this behind the listener's ear axis are not kept (drivers in
/// front of a listener are never there), degrees from the nose.
const KEPT_AZIMUTH_DEG: f64 = 90.0 + MAX_GAP_DEG;

/// Band the broadband delay of a response is fitted over, Hz.
const DELAY_BAND_HZ: (f64, f64) = (150.0, 1500.0);

/// Band the low-frequency transparency is measured over, Hz.
const LEVEL_BAND_HZ: (f64, f64) = (150.0, 500.0);

/// Azimuth from the nose, positive to the listener's right, in (−180, 180], from SOFA's
/// counter-clockwise convention.
pub fn to_right(sofa_azimuth_deg: f64) -> f64 {
    let r = (-sofa_azimuth_deg).rem_euclid(360.0);
    if r > 180.0 {
        r - 360.0
    } else {
        r
    }
}

/// One measured direction, analysed.
#[derive(Clone, Debug)]
struct Direction {
    azimuth_deg: f64,
    /// Broadband delay of each ear's response, seconds (in the set's own time).
    delay_s: [f64; 2],
    /// Each ear's response with its delay taken out, on the analysis grid.
    aligned: [Vec<C64>; 2],
}

/// A measured head that any driver layout can be heard through.
#[derive(Clone, Debug)]
pub struct MeasuredHead {
    name: String,
    sample_rate: f64,
    radius_m: f64,
    /// Sorted by azimuth.
    directions: Vec<Direction>,
    /// Scale that makes the head transparent at low frequencies.
    gain: f64,
    /// Arrival time at the head centre for a frontal source, in the set's own time, seconds.
    reference_s: f64,
    /// Length of the FFT the responses were analysed with.
    grid_len: usize,
}

/// Why a measured head cannot serve a geometry.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("the measured head has no directions within {MAX_GAP_DEG:.0}° either side of driver {driver} at {azimuth:.1}°; the set covers {covered}")]
pub struct CoverageError {
    /// Driver number, from 1, leftmost first.
    pub driver: usize,
    /// The driver's azimuth from the nose, degrees, positive to the listener's right.
    pub azimuth: f64,
    /// The azimuth range the set measures in front of the listener.
    pub covered: String,
}

/// Broadband delay of a spectrum on an analysis grid of `df` Hz: least-squares slope of its
/// unwrapped phase over [`DELAY_BAND_HZ`].
fn broadband_delay(spectrum: &[C64], df: f64) -> f64 {
    let (lo, hi) = (
        (DELAY_BAND_HZ.0 / df).ceil() as usize,
        ((DELAY_BAND_HZ.1 / df).floor() as usize).min(spectrum.len() - 1),
    );
    // Unwrap from DC up so that the band's phase is continuous.
    let mut phase = spectrum[0].arg();
    let mut points = Vec::with_capacity(hi.saturating_sub(lo) + 1);
    for k in 1..=hi {
        let step = (spectrum[k] * spectrum[k - 1].conj()).arg();
        phase += step;
        if k >= lo {
            points.push((k as f64 * df, phase));
        }
    }
    let n = points.len() as f64;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (sxy, sxx) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    -(sxy / sxx.max(1e-30)) / (2.0 * PI)
}

/// The analysis the measured plants share: each response on an FFT grid, split into its
/// broadband delay and what remains once that delay is taken out.
pub(crate) struct ResponseAnalysis {
    fft: std::sync::Arc<dyn realfft::RealToComplex<f64>>,
    /// Length of the FFT the responses are analysed with.
    pub(crate) grid_len: usize,
    /// Spacing of its bins, Hz.
    pub(crate) df: f64,
}

impl ResponseAnalysis {
    /// An analysis for responses of up to `longest` taps at `sample_rate`.
    pub(crate) fn new(longest: usize, sample_rate: f64) -> Self {
        let grid_len = (2 * longest).next_power_of_two().max(MIN_GRID_LEN);
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(grid_len);
        Self {
            fft,
            grid_len,
            df: sample_rate / grid_len as f64,
        }
    }

    /// The broadband delay of `ir`, seconds, and its spectrum with that delay taken out.
    pub(crate) fn align(&self, ir: &[f32]) -> (f64, Vec<C64>) {
        let mut time = vec![0.0; self.grid_len];
        for (t, v) in time.iter_mut().zip(ir) {
            *t = *v as f64;
        }
        let mut spectrum = self.fft.make_output_vec();
        self.fft
            .process(&mut time, &mut spectrum)
            .expect("buffers sized by the plan");
        let delay = broadband_delay(&spectrum, self.df);
        for (k, v) in spectrum.iter_mut().enumerate() {
            *v *= C64::from_polar(1.0, 2.0 * PI * k as f64 * self.df * delay);
        }
        (delay, spectrum)
    }

    /// The bins of [`LEVEL_BAND_HZ`], where a head is transparent.
    pub(crate) fn level_bins(&self) -> std::ops::RangeInclusive<usize> {
        (LEVEL_BAND_HZ.0 / self.df).ceil() as usize..=(LEVEL_BAND_HZ.1 / self.df).floor() as usize
    }
}

/// How much of a response at `freq_hz` is kept at `sample_rate`: all of it below 95 % of
/// Nyquist, fading to nothing at Nyquist (no aliasing at higher session rates).
pub(crate) fn band_fade(freq_hz: f64, sample_rate: f64) -> f64 {
    let nyquist = sample_rate / 2.0;
    if freq_hz >= nyquist {
        0.0
    } else {
        1.0 - crate::design::filters::bands::log_step(freq_hz, 0.95 * nyquist, nyquist)
    }
}

/// Where `freq_hz` falls on a `grid_len` analysis grid at `sample_rate`: the bin below it
/// and the fraction of the way to the next.
pub(crate) fn grid_point(freq_hz: f64, grid_len: usize, sample_rate: f64) -> (usize, f64) {
    let pos = freq_hz * grid_len as f64 / sample_rate;
    let k = (pos.floor() as usize).min(grid_len / 2 - 1);
    (k, pos - k as f64)
}

/// An analysed spectrum at a [`grid_point`], interpolated linearly.
pub(crate) fn at_grid_point(spectrum: &[C64], (k, t): (usize, f64)) -> C64 {
    spectrum[k] * (1.0 - t) + spectrum[k + 1] * t
}

impl MeasuredHead {
    /// Analyses a set (off the audio thread: a few milliseconds for a 5° ring).
    pub fn new(set: &HrirSet) -> Self {
        let longest = set
            .measurements
            .iter()
            .flat_map(|m| m.irs.iter().map(Vec::len))
            .max()
            .unwrap_or(0);
        let analysis = ResponseAnalysis::new(longest, set.sample_rate);
        let grid_len = analysis.grid_len;
        let analyse = |ir: &[f32]| analysis.align(ir);
        let mut directions: Vec<Direction> = set
            .measurements
            .iter()
            .filter(|m| to_right(m.azimuth_deg).abs() <= KEPT_AZIMUTH_DEG)
            .map(|m: &Measurement| {
                let (dl, al) = analyse(&m.irs[0]);
                let (dr, ar) = analyse(&m.irs[1]);
                Direction {
                    azimuth_deg: m.azimuth_deg,
                    delay_s: [dl, dr],
                    aligned: [al, ar],
                }
            })
            .collect();
        directions.sort_by(|a, b| a.azimuth_deg.total_cmp(&b.azimuth_deg));
        directions.dedup_by(|a, b| (a.azimuth_deg - b.azimuth_deg).abs() < 1e-9);
        let band = analysis.level_bins();
        let (sum, count) = directions
            .iter()
            .flat_map(|d| d.aligned.iter())
            .flat_map(|s| s[band.clone()].iter())
            .fold((0.0, 0usize), |(s, c), v| (s + v.norm(), c + 1));
        let gain = if sum > 0.0 { count as f64 / sum } else { 1.0 };
        let mut head = Self {
            name: set.name.clone(),
            sample_rate: set.sample_rate,
            radius_m: set.radius_m,
            directions,
            gain,
            reference_s: 0.0,
            grid_len,
        };
        head.reference_s = match head.neighbours(0.0) {
            Some((a, b, w)) => {
                let at = |ear: usize| {
                    (1.0 - w) * head.directions[a].delay_s[ear]
                        + w * head.directions[b].delay_s[ear]
                };
                0.5 * (at(0) + at(1))
            }
            None => {
                let all: Vec<f64> = head.directions.iter().flat_map(|d| d.delay_s).collect();
                all.iter().sum::<f64>() / all.len() as f64
            }
        };
        head
    }

    /// The set's name.
    pub fn set_name(&self) -> &str {
        &self.name
    }

    /// The measured azimuths, SOFA convention (degrees counter-clockwise), sorted.
    pub fn azimuths(&self) -> Vec<f64> {
        self.directions.iter().map(|d| d.azimuth_deg).collect()
    }

    /// The two measured directions either side of `azimuth_deg` (SOFA convention) and the
    /// weight of the second, if both lie within [`MAX_GAP_DEG`].
    fn neighbours(&self, azimuth_deg: f64) -> Option<(usize, usize, f64)> {
        let az = azimuth_deg.rem_euclid(360.0);
        let n = self.directions.len();
        if n == 0 {
            return None;
        }
        let after = self
            .directions
            .iter()
            .position(|d| d.azimuth_deg >= az - 1e-9)
            .unwrap_or(n);
        let b = after % n;
        if (self.directions[b].azimuth_deg - az).abs() < 1e-9 {
            return Some((b, b, 0.0));
        }
        let a = (after + n - 1) % n;
        let span =
            (self.directions[b].azimuth_deg - self.directions[a].azimuth_deg).rem_euclid(360.0);
        let into = (az - self.directions[a].azimuth_deg).rem_euclid(360.0);
        (span > 0.0 && span <= MAX_GAP_DEG).then(|| (a, b, into / span))
    }

    /// The measured direction nearest to `azimuth_deg` (SOFA convention).
    fn nearest(&self, azimuth_deg: f64) -> usize {
        let gap = |k: usize| {
            let x = (self.directions[k].azimuth_deg - azimuth_deg).rem_euclid(360.0);
            x.min(360.0 - x)
        };
        (0..self.directions.len())
            .min_by(|&i, &j| gap(i).total_cmp(&gap(j)))
            .unwrap_or(0)
    }

    /// How `ear` (0 left) sees `driver`: the SOFA azimuth of the measurement that lies on the
    /// same line of sight from that ear, the distance from the ear to that measurement
    /// position, and to the driver. (Acoustic parallax: close to the head, each ear sees a
    /// source from its own angle; a measurement on the ear's line of sight arrives from that
    /// angle too, and only the propagation along the line differs.)
    fn sight_line(&self, geometry: &Geometry, driver: usize, ear: usize) -> (f64, f64, f64) {
        let source = (geometry.driver_x()[driver], 0.0);
        let head = geometry.head_centre();
        // The listener faces −y, turned by the pose's yaw; +x is their right; ears at ±100°
        // from the nose.
        let ear_at = geometry.ear_position(ear);
        let to_source = (source.0 - ear_at.0, source.1 - ear_at.1);
        let distance = to_source.0.hypot(to_source.1);
        let u = (to_source.0 / distance, to_source.1 / distance);
        // Where the line from the ear through the driver meets the measurement circle.
        let q = (ear_at.0 - head.0, ear_at.1 - head.1);
        let qu = q.0 * u.0 + q.1 * u.1;
        let qq = q.0 * q.0 + q.1 * q.1;
        let along = -qu
            + (qu * qu - qq + self.radius_m * self.radius_m)
                .max(0.0)
                .sqrt();
        let m = (q.0 + along * u.0, q.1 + along * u.1);
        // The measurement's direction from the nose as it points: the turn adds to it.
        let right = m.0.atan2(-m.1).to_degrees() + geometry.yaw_deg;
        ((-right).rem_euclid(360.0), along, distance)
    }

    /// The interpolated, free-field response of one ear at `freq_hz` for a source at SOFA
    /// azimuth `azimuth_deg` and distance `distance_m` (absolute: 1/r and r/c included).
    /// The interpolated response between directions `a` and `b` (weight `w` of `b`) in the
    /// set's own terms: its level and its time, no distance or level correction.
    fn interpolated(&self, (a, b, w): (usize, usize, f64), ear: usize, freq_hz: f64) -> C64 {
        let fade = band_fade(freq_hz, self.sample_rate);
        if fade == 0.0 {
            return C64::new(0.0, 0.0);
        }
        let point = grid_point(freq_hz, self.grid_len, self.sample_rate);
        let lookup = |d: &Direction| at_grid_point(&d.aligned[ear], point);
        let (va, vb) = (lookup(&self.directions[a]), lookup(&self.directions[b]));
        let magnitude = (1.0 - w) * va.norm() + w * vb.norm();
        let phase = (va * (1.0 - w) + vb * w).arg();
        let delay =
            (1.0 - w) * self.directions[a].delay_s[ear] + w * self.directions[b].delay_s[ear];
        C64::from_polar(magnitude * fade, phase - 2.0 * PI * freq_hz * delay)
    }

    /// The response of `ear` (0 left) at `freq_hz` for a source at SOFA azimuth
    /// `azimuth_deg`, interpolated as the module says, in the set's own terms (level and
    /// time as measured); `None` outside the measured directions.
    pub fn measured(&self, azimuth_deg: f64, ear: usize, freq_hz: f64) -> Option<C64> {
        self.neighbours(azimuth_deg)
            .map(|sides| self.interpolated(sides, ear, freq_hz))
    }

    /// The response at a driver `distance_m` from the ear on the line of sight of a
    /// measurement `measured_m` from it: the interpolated response made absolute (the head
    /// transparent at low frequencies, the frontal head-centre arrival at the measurement
    /// radius' travel time), then moved along the line: × measured/distance, delayed by the
    /// difference over c.
    fn response(
        &self,
        sides: (usize, usize, f64),
        ear: usize,
        (measured_m, distance_m): (f64, f64),
        freq_hz: f64,
    ) -> C64 {
        let absolute = self.reference_s - self.radius_m / SPEED_OF_SOUND;
        let moved = (distance_m - measured_m) / SPEED_OF_SOUND;
        let shift = C64::from_polar(
            self.gain / self.radius_m * measured_m / distance_m,
            -2.0 * PI * freq_hz * (moved - absolute),
        );
        self.interpolated(sides, ear, freq_hz) * shift
    }
}

impl Plant for MeasuredHead {
    fn ear_responses(&self, geometry: &Geometry, freqs: &[f64]) -> EarResponses {
        let n = geometry.drivers;
        let mut data = vec![C64::new(0.0, 0.0); freqs.len() * 2 * n];
        for driver in 0..n {
            for ear in 0..2 {
                let (azimuth, measured, distance) = self.sight_line(geometry, driver, ear);
                // Outside the measured range, the nearest measured direction stands in;
                // `check` tells users before a design ever gets here.
                let sides = self
                    .neighbours(azimuth)
                    .unwrap_or_else(|| (self.nearest(azimuth), self.nearest(azimuth), 0.0));
                for (k, &f) in freqs.iter().enumerate() {
                    data[(k * 2 + ear) * n + driver] =
                        self.response(sides, ear, (measured, distance), f);
                }
            }
        }
        EarResponses::new(freqs.to_vec(), n, data)
    }

    fn name(&self) -> String {
        format!(
            "measured head \"{}\" ({} directions measured at {:.2} m)",
            self.name,
            self.directions.len(),
            self.radius_m
        )
    }

    fn resized(&self, _factor: f64) -> Option<Box<dyn Plant>> {
        None
    }

    fn check(&self, geometry: &Geometry) -> Result<(), DesignError> {
        for driver in 0..geometry.drivers {
            let azimuths = [0, 1].map(|ear| self.sight_line(geometry, driver, ear).0);
            if let Some(&azimuth) = azimuths.iter().find(|a| self.neighbours(**a).is_none()) {
                let front: Vec<f64> = self
                    .directions
                    .iter()
                    .map(|d| to_right(d.azimuth_deg))
                    .filter(|r| r.abs() <= 90.0)
                    .collect();
                let covered = match (
                    front.iter().copied().reduce(f64::min),
                    front.iter().copied().reduce(f64::max),
                ) {
                    (Some(lo), Some(hi)) => format!("{lo:.0}° to {hi:.0}° in front"),
                    _ => "no direction in front of the listener".to_string(),
                };
                return Err(CoverageError {
                    driver: driver + 1,
                    azimuth: to_right(azimuth),
                    covered,
                }
                .into());
            }
        }
        Ok(())
    }
}
