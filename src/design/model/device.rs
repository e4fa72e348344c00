//! A measured device as a [`Plant`]: the responses a device's own drivers gave at a dummy
//! head's ears, read from a SOFA file (see [`crate::design::model::sofa_device`]).
//!
//! **Between measured positions** the plant takes the nearest measured listener (by how far
//! the ears move: the head centre's distance plus the head radius times the turn) and moves
//! each driver-to-ear path from that measurement's ears to the asked pose's: × (measured
//! distance / new distance), delayed by the difference over c. The head's own diffraction
//! stays the measured one's, so the plant is exact at the measured positions and a
//! first-order estimate between them; a design is refused further than [`MAX_POSE_GAP_M`]
//! (or [`MAX_YAW_GAP_DEG`]) from every measured listener. This is what lets the robustness
//! figures (±5 cm, ±10 cm) be read from a single measured position.
//!
//! **Level and time.** A measuring system's gain and latency are arbitrary, so the responses
//! are made absolute as the other plants are: one gain, for the whole file, makes the mean
//! level of every driver at both ears over 150–500 Hz (where a head is nearly transparent)
//! that of free field at the head centre, 1/r; one delay makes their mean arrival at the
//! nominal listener that of free field at the head centre, r/c. Everything relative (driver
//! to driver, ear to ear, position to position) is kept exactly as measured.

use crate::design::model::geometry::{Geometry, DEFAULT_HEAD_RADIUS_M};
use crate::design::model::measured::{at_grid_point, band_fade, grid_point, ResponseAnalysis};
use crate::design::model::plant::{EarResponses, Plant};
use crate::design::model::sofa_device::{DeviceConvention, DeviceSet};
use crate::design::DesignError;
use crate::design::{C64, SPEED_OF_SOUND};
use std::f64::consts::PI;

/// Farthest a design's listener may be from every measured position, metres.
pub const MAX_POSE_GAP_M: f64 = 0.10;

/// Farthest a design's head turn may be from every measured listener's, degrees.
pub const MAX_YAW_GAP_DEG: f64 = 15.0;

/// Widest difference between a layout's driver spacing and the measured one accepted,
/// metres (the spacing parameter's precision is a millimetre).
pub const SPACING_TOLERANCE_M: f64 = 0.001;

/// Why a measured device cannot serve a geometry.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DeviceMismatch {
    /// The layout has another number of drivers.
    #[error(
        "the device measurement holds {measured} drivers, but the layout has {layout} outputs"
    )]
    Drivers {
        /// Drivers in the file.
        measured: usize,
        /// Outputs asked for.
        layout: usize,
    },
    /// The layout's drivers are spaced otherwise.
    #[error("the device's drivers are {measured_cm:.1} cm apart, but the layout spaces them {layout_cm:.1} cm")]
    Spacing {
        /// Measured spacing, cm.
        measured_cm: f64,
        /// Asked spacing, cm.
        layout_cm: f64,
    },
    /// The listener is too far from every measured position.
    #[error("the listener (offset {offset_cm:.1} cm, distance {distance_m:.2} m, yaw {yaw_deg:.1}°) is {gap_cm:.1} cm and {yaw_gap_deg:.1}° from the nearest measured position (measurement {nearest}); Soundstage designs within {max_cm:.0} cm and {max_yaw:.0}° of one", max_cm = MAX_POSE_GAP_M * 100.0, max_yaw = MAX_YAW_GAP_DEG)]
    Pose {
        /// The asked pose.
        offset_cm: f64,
        /// The asked pose.
        distance_m: f64,
        /// The asked pose.
        yaw_deg: f64,
        /// How far the head centre is from the nearest measurement's, cm.
        gap_cm: f64,
        /// How far its turn is, degrees.
        yaw_gap_deg: f64,
        /// The nearest measurement, from 1.
        nearest: usize,
    },
}

/// One measured listener, analysed.
#[derive(Clone, Debug)]
struct AnalysedListener {
    /// The measured pose (the drivers as a line at the measured spacing).
    geometry: Geometry,
    /// Broadband delay of each response, seconds, `[ear][driver]` (Data.Delay included).
    delay_s: [Vec<f64>; 2],
    /// Each response with its delay taken out, on the analysis grid, `[ear][driver]`.
    aligned: [Vec<Vec<C64>>; 2],
}

/// A device measured at a dummy head, as a plant any pose near its measurements is heard
/// through.
#[derive(Clone, Debug)]
pub struct MeasuredDevice {
    name: String,
    convention: DeviceConvention,
    sample_rate: f64,
    spacing_m: f64,
    /// Each driver's measured place on the line, metres, leftmost first.
    driver_x_m: Vec<f64>,
    listeners: Vec<AnalysedListener>,
    nominal: usize,
    /// Scale that makes the responses absolute.
    gain: f64,
    /// Delay taken out of every response to make it absolute, seconds.
    shift_s: f64,
    grid_len: usize,
}

impl MeasuredDevice {
    /// Analyses a device measurement as the reader makes it (at least one listener, its
    /// nominal one among them), off the audio thread: milliseconds.
    pub fn new(set: &DeviceSet) -> Self {
        let analysis = ResponseAnalysis::new(set.taps, set.sample_rate);
        let listeners: Vec<AnalysedListener> = (0..set.listeners.len())
            .map(|i| {
                let measured = &set.listeners[i];
                let mut delay_s: [Vec<f64>; 2] = Default::default();
                let mut aligned: [Vec<Vec<C64>>; 2] = Default::default();
                for ear in 0..2 {
                    for (ir, extra) in measured.irs[ear].iter().zip(&measured.delays[ear]) {
                        let (delay, spectrum) = analysis.align(ir);
                        delay_s[ear].push(delay + extra / set.sample_rate);
                        aligned[ear].push(spectrum);
                    }
                }
                AnalysedListener {
                    geometry: set.geometry(i),
                    delay_s,
                    aligned,
                }
            })
            .collect();
        let nominal = &listeners[set.nominal];
        let centre = nominal.geometry.head_centre();
        let to_centre: Vec<f64> = set
            .driver_x_m
            .iter()
            .map(|x| (x - centre.0).hypot(centre.1))
            .collect();
        let drivers = set.driver_x_m.len() as f64;
        let free_level = to_centre.iter().map(|r| 1.0 / r).sum::<f64>() / drivers;
        let free_arrival = to_centre.iter().sum::<f64>() / drivers / SPEED_OF_SOUND;
        let band = analysis.level_bins();
        let (sum, count) = nominal
            .aligned
            .iter()
            .flatten()
            .flat_map(|s| s[band.clone()].iter())
            .fold((0.0, 0usize), |(s, c), v| (s + v.norm(), c + 1));
        let measured_level = sum / count.max(1) as f64;
        let measured_arrival = nominal.delay_s.iter().flatten().sum::<f64>() / (2.0 * drivers);
        Self {
            name: set.name.clone(),
            convention: set.convention,
            sample_rate: set.sample_rate,
            spacing_m: set.spacing_m,
            driver_x_m: set.driver_x_m.clone(),
            nominal: set.nominal,
            gain: if measured_level > 0.0 {
                free_level / measured_level
            } else {
                1.0
            },
            shift_s: measured_arrival - free_arrival,
            grid_len: analysis.grid_len,
            listeners,
        }
    }

    /// The geometry of the nominal measurement: what a design is made for by default.
    pub fn geometry(&self) -> Geometry {
        self.listeners[self.nominal].geometry
    }

    /// How the responses were made absolute: the gain applied, dB, and the delay taken
    /// out, seconds (the measuring system's latency, as near as the head lets it be told).
    pub fn normalisation(&self) -> (f64, f64) {
        (20.0 * self.gain.log10(), self.shift_s)
    }

    /// The measured listener nearest `geometry`'s, and how far its head centre (metres) and
    /// turn (degrees) are from it.
    fn nearest(&self, geometry: &Geometry) -> (usize, f64, f64) {
        let gap = |l: &AnalysedListener| {
            let (a, b) = (l.geometry.head_centre(), geometry.head_centre());
            (
                (a.0 - b.0).hypot(a.1 - b.1),
                ((l.geometry.yaw_deg - geometry.yaw_deg + 180.0).rem_euclid(360.0) - 180.0).abs(),
            )
        };
        let cost =
            |(moved, turned): (f64, f64)| moved + DEFAULT_HEAD_RADIUS_M * turned.to_radians();
        let best = (0..self.listeners.len())
            .min_by(|&a, &b| {
                cost(gap(&self.listeners[a])).total_cmp(&cost(gap(&self.listeners[b])))
            })
            .unwrap_or(0);
        let (moved, turned) = gap(&self.listeners[best]);
        (best, moved, turned)
    }
}

impl Plant for MeasuredDevice {
    fn ear_responses(&self, geometry: &Geometry, freqs: &[f64]) -> EarResponses {
        let n = geometry.drivers;
        let mut data = vec![C64::new(0.0, 0.0); freqs.len() * 2 * n];
        let (index, _, _) = self.nearest(geometry);
        let measured = &self.listeners[index];
        // Where each frequency falls on the analysis grid, and how far the band edge fades
        // it: the same for every driver and ear.
        let points: Vec<(f64, (usize, f64))> = freqs
            .iter()
            .map(|&f| {
                (
                    band_fade(f, self.sample_rate),
                    grid_point(f, self.grid_len, self.sample_rate),
                )
            })
            .collect();
        // Drivers the file does not hold stay silent; `check` refuses such layouts first.
        for (driver, x) in self.driver_x_m.iter().enumerate().take(n) {
            for ear in 0..2 {
                let path = |g: &Geometry| {
                    let at = g.ear_position(ear);
                    (x - at.0).hypot(at.1)
                };
                let (was, now) = (path(&measured.geometry), path(geometry));
                let delay =
                    measured.delay_s[ear][driver] - self.shift_s + (now - was) / SPEED_OF_SOUND;
                let level = self.gain * was / now;
                let spectrum = &measured.aligned[ear][driver];
                for (k, (&f, &(fade, point))) in freqs.iter().zip(&points).enumerate() {
                    let value = if fade == 0.0 {
                        C64::new(0.0, 0.0)
                    } else {
                        at_grid_point(spectrum, point)
                            * C64::from_polar(level * fade, -2.0 * PI * f * delay)
                    };
                    data[(k * 2 + ear) * n + driver] = value;
                }
            }
        }
        EarResponses::new(freqs.to_vec(), n, data)
    }

    fn name(&self) -> String {
        format!(
            "measured device \"{}\" ({} drivers {:.1} cm apart, {} listener positions, {})",
            self.name,
            self.driver_x_m.len(),
            self.spacing_m * 100.0,
            self.listeners.len(),
            self.convention
        )
    }

    fn check(&self, geometry: &Geometry) -> Result<(), DesignError> {
        if geometry.drivers != self.driver_x_m.len() {
            return Err(DeviceMismatch::Drivers {
                measured: self.driver_x_m.len(),
                layout: geometry.drivers,
            }
            .into());
        }
        if (geometry.spacing_m - self.spacing_m).abs() > SPACING_TOLERANCE_M {
            return Err(DeviceMismatch::Spacing {
                measured_cm: self.spacing_m * 100.0,
                layout_cm: geometry.spacing_m * 100.0,
            }
            .into());
        }
        let (nearest, moved, turned) = self.nearest(geometry);
        if moved > MAX_POSE_GAP_M || turned > MAX_YAW_GAP_DEG {
            return Err(DeviceMismatch::Pose {
                offset_cm: geometry.offset_m * 100.0,
                distance_m: geometry.distance_m,
                yaw_deg: geometry.yaw_deg,
                gap_cm: moved * 100.0,
                yaw_gap_deg: turned,
                nearest: nearest + 1,
            }
            .into());
        }
        Ok(())
    }

    fn measured_poses(&self) -> Vec<Geometry> {
        self.listeners.iter().map(|l| l.geometry).collect()
    }

    fn resized(&self, _factor: f64) -> Option<Box<dyn Plant>> {
        None
    }
}
