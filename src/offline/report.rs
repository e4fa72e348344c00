//! The document `soundstage report` writes as `metrics.json`: what a simulated listener gets
//! from a design (from the shared [`Analysis`]) and what the engine measures offline, as one
//! serialisable type, so that every figure has one name and one source.

use crate::design::config::settings::Settings;
use crate::design::evaluate::analysis::{Analysis, BEAM_BAND};
use crate::design::evaluate::metrics::{self, SEPARATION_BAND};
use crate::design::evaluate::sweet_spot::SweetSpot;
use crate::design::evaluate::zone::ZoneFigures;
use crate::design::filters::bands::mean_db;
use crate::design::filters::chain::Design;
use crate::design::model::plant::Plant;
use crate::offline::measure::UpmixFigures;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where the two-driver robustness bound asks for the nominal figure, dB (the brief's
/// nominal target less half a decibel of design margin).
const BOUND_NOMINAL_DB: f64 = 19.5;

/// Everything `metrics.json` holds.
#[derive(Clone, Debug, Serialize)]
pub struct Metrics {
    /// The settings designed for.
    pub settings: SettingsFigures,
    /// The head designed for.
    pub plant: String,
    /// What each ear receives from each driver at the design's listener (the plant itself).
    pub plant_responses: Vec<DriverAtEars>,
    /// Sample rate of the design and the measurements, Hz.
    pub sample_rate: f64,
    /// Latency the engine reports, samples.
    pub latency_samples: usize,
    /// The same in milliseconds.
    pub latency_ms: f64,
    /// Where a left-only impulse peaks on the engine's outputs, samples.
    pub impulse_delay_samples: usize,
    /// How long the design took, milliseconds.
    pub design_time_ms: f64,
    /// Output against the delayed input at width 0 and depth 0, dB.
    pub transparency_db: f64,
    /// The upmix on the brief's signals.
    pub upmix: UpmixFigures,
    /// The canceller alone (speakers and binaural modes).
    pub canceller: Option<CancellerFigures>,
    /// With a measured head: designing for it against designing for the sphere, on it.
    pub measured_head: Option<MeasuredHeadFigures>,
    /// The virtual speakers at the ears (speakers and headphone modes).
    pub virtual_speakers: Option<VirtualSpeakerFigures>,
    /// The centre beam, or why there is none.
    pub beam: BeamFigures,
    /// How much the mono sum changes, per band.
    pub mono_sum: Vec<MonoSumBand>,
    /// What the analysis wants the reader to know.
    pub notes: Vec<String>,
    /// Separation over listener positions, fixed and following (speakers and binaural
    /// modes; filled in by the report, which can afford the designs).
    pub sweet_spot: Option<SweetSpot>,
    /// The design for the listener against the listening-zone design across the zone
    /// (with a zone, in speakers and binaural modes; filled in by the report).
    pub zone: Option<ZoneFigures>,
}

/// One driver as the design's listener's ears receive it.
#[derive(Clone, Debug, Serialize)]
pub struct DriverAtEars {
    /// Driver number, from 1, leftmost first.
    pub driver: usize,
    /// Arrival at the left and right ear, milliseconds after the reference path's travel
    /// time (array centre to head centre).
    pub arrival_ms: [f64; 2],
    /// Right-ear arrival less left-ear arrival, milliseconds (positive: left ear first).
    pub itd_ms: f64,
    /// Level at the left and right ear at 1 kHz, dB re free field over the reference path.
    pub level_1khz_db: [f64; 2],
}

/// The per-driver figures of `analysis`'s plant.
fn drivers_at_ears(analysis: &Analysis) -> Vec<DriverAtEars> {
    let plant = &analysis.plant;
    let at_1khz = analysis
        .freqs
        .iter()
        .position(|f| *f >= 1000.0)
        .unwrap_or(0);
    (0..plant.arrival_s.len())
        .map(|d| DriverAtEars {
            driver: d + 1,
            arrival_ms: plant.arrival_s[d].map(|t| t * 1e3),
            itd_ms: plant.itd_s(d) * 1e3,
            level_1khz_db: std::array::from_fn(|ear| plant.magnitude_db[d][ear][at_1khz]),
        })
        .collect()
}

/// The settings. Every key names its unit (`_db`, `_m`, `_hz`, `_deg`, `_percent`), so a
/// reader never guesses; width and depth are in percent, as the command line speaks them.
#[derive(Clone, Debug, Serialize)]
pub struct SettingsFigures {
    /// `speakers`, `headphones` or `binaural`.
    pub mode: &'static str,
    /// Number of outputs.
    pub outputs: usize,
    /// Width, 0 to 100 %.
    pub width_percent: f64,
    /// Depth, 0 to 100 %.
    pub depth_percent: f64,
    /// Cancellation target, dB.
    pub cancellation_db: f64,
    /// Boost limit, dB.
    pub boost_limit_db: f64,
    /// Driver spacing, metres.
    pub driver_spacing_m: f64,
    /// Listening distance, metres.
    pub listening_distance_m: f64,
    /// Virtual speaker angle, degrees.
    pub virtual_angle_deg: f64,
    /// Listener offset, metres.
    pub listener_offset_m: f64,
    /// Half-width of the listening zone the canceller holds over, metres (0: the listener
    /// alone).
    pub listening_zone_m: f64,
    /// Bass crossover, Hz.
    pub bass_crossover_hz: f64,
}

/// The canceller by itself: the binaural-mode design of the same settings, left input.
#[derive(Clone, Debug, Serialize)]
pub struct CancellerFigures {
    /// What the figures measure.
    pub what: &'static str,
    /// Third-octave mean at the design's own listener, dB.
    pub nominal_mean_db: Option<f64>,
    /// The same per band: `(centre Hz, dB)`.
    pub bands: Option<Vec<(f64, f64)>>,
    /// Per band, the target against what was achieved.
    pub target_tracking: Vec<TrackingBand>,
    /// Largest |achieved − target| over the bands the boost limit did not stop, dB.
    pub worst_tracking_error_db: f64,
    /// Largest driver-filter gain used, dB.
    pub max_filter_gain_db: f64,
    /// The boost limit, dB.
    pub boost_limit_db: f64,
    /// Third-octave mean per listener of the robustness set, by label, dB.
    pub perturbed_mean_db: BTreeMap<&'static str, f64>,
    /// On two drivers: the best any canceller can do 5 cm off while keeping the nominal
    /// figure, dB.
    pub two_driver_bound_5cm_db: Option<f64>,
}

/// One third-octave band of target tracking.
#[derive(Clone, Debug, Serialize)]
pub struct TrackingBand {
    /// Band centre, Hz.
    pub hz: f64,
    /// Target separation, dB.
    pub target_db: f64,
    /// Achieved separation, dB.
    pub achieved_db: f64,
    /// Whether the boost limit kept the target out of reach.
    pub boost_limited: bool,
}

/// A canceller heard through a measured head, at the nominal listener and 5 cm either side.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ListenerFigures {
    /// At the design's listener, dB.
    pub nominal_db: f64,
    /// 5 cm to the right, dB.
    pub plus_5cm_db: f64,
    /// 5 cm to the left, dB.
    pub minus_5cm_db: f64,
}

impl ListenerFigures {
    /// From `[nominal, +5 cm, −5 cm]`.
    pub fn new(values: [f64; 3]) -> Self {
        Self {
            nominal_db: values[0],
            plus_5cm_db: values[1],
            minus_5cm_db: values[2],
        }
    }
}

/// The measured head's figures.
#[derive(Clone, Debug, Serialize)]
pub struct MeasuredHeadFigures {
    /// What the figures measure.
    pub what: &'static str,
    /// The canceller designed for the measured head.
    pub matched: ListenerFigures,
    /// The canceller designed for the built-in sphere.
    pub sphere_design: ListenerFigures,
}

/// The virtual speakers at the ears.
#[derive(Clone, Debug, Serialize)]
pub struct VirtualSpeakerFigures {
    /// Virtual angle, degrees.
    pub angle_deg: f64,
    /// Achieved interaural time difference, µs.
    pub itd_us: f64,
    /// Woodworth's at the virtual angle, µs.
    pub model_itd_us: f64,
    /// Per band, the achieved and the model ILD.
    pub ild_bands: Vec<IldBand>,
}

/// One band of interaural level difference.
#[derive(Clone, Debug, Serialize)]
pub struct IldBand {
    /// Band centre, Hz.
    pub hz: f64,
    /// Achieved, dB.
    pub achieved_db: f64,
    /// The model's, dB.
    pub model_db: f64,
}

/// The centre beam.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum BeamFigures {
    /// On a driver line that can beam.
    Available {
        /// Always true.
        available: bool,
        /// Where the beam is complete, Hz.
        band_hz: [f64; 2],
        /// Front against the sides over that band, dB.
        front_to_side_db: f64,
        /// At ±45°, dB.
        response_45_db: f64,
        /// Lowest white-noise gain, dB.
        min_white_noise_gain_db: f64,
        /// The brief's reference band, Hz.
        reference_band_hz: [f64; 2],
        /// Front against the sides over the reference band, dB.
        reference_front_to_side_db: f64,
        /// At ±45° over the reference band, dB.
        reference_response_45_db: f64,
        /// The white-noise gain the design keeps above, dB.
        white_noise_gain_limit_db: f64,
        /// Where the line starts to alias, Hz.
        aliasing_hz: f64,
    },
    /// No beam, and why.
    Unavailable {
        /// Always false.
        available: bool,
        /// Why there is no beam.
        reason: String,
    },
}

/// One band of the mono-sum change.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MonoSumBand {
    /// Band centre, Hz.
    pub hz: f64,
    /// Of the sides, dB.
    pub sides_db: f64,
    /// Of the centre, dB.
    pub centre_db: f64,
}

/// What the engine measures offline for a report.
#[derive(Clone, Copy, Debug)]
pub struct EngineFigures {
    /// Latency the engine reports, samples.
    pub latency: usize,
    /// Where an impulse peaks, samples.
    pub impulse_delay: usize,
    /// Transparency at width 0 and depth 0, dB.
    pub transparency_db: f64,
    /// The upmix's figures.
    pub upmix: UpmixFigures,
    /// How long the design took, milliseconds.
    pub design_ms: f64,
}

impl Metrics {
    /// The document for `made` (designed on `plant`), its `analysis`, the engine's figures
    /// and, with a measured head, the matched and sphere canceller figures on it.
    pub fn new(
        made: &Design,
        analysis: &Analysis,
        plant: &dyn Plant,
        engine: EngineFigures,
        measured: Option<([f64; 3], [f64; 3])>,
    ) -> Self {
        let settings = made.input.settings;
        let outputs = made.filters.outputs;
        let sample_rate = made.input.sample_rate;
        Self {
            settings: SettingsFigures::new(&settings, outputs),
            plant: analysis.plant_name.clone(),
            plant_responses: drivers_at_ears(analysis),
            sample_rate,
            latency_samples: engine.latency,
            latency_ms: engine.latency as f64 * 1e3 / sample_rate,
            impulse_delay_samples: engine.impulse_delay,
            design_time_ms: engine.design_ms,
            transparency_db: engine.transparency_db,
            upmix: engine.upmix,
            canceller: CancellerFigures::new(analysis, &settings, outputs, plant),
            measured_head: measured.map(|(matched, sphere)| MeasuredHeadFigures {
                what: "canceller alone, heard through the measured head or device: designed \
                       for it, and designed for the built-in sphere",
                matched: ListenerFigures::new(matched),
                sphere_design: ListenerFigures::new(sphere),
            }),
            virtual_speakers: analysis
                .virtual_cues
                .as_ref()
                .map(|c| VirtualSpeakerFigures {
                    angle_deg: settings.virtual_angle_deg,
                    itd_us: c.itd_s * 1e6,
                    model_itd_us: c.model_itd_s * 1e6,
                    ild_bands: c
                        .ild_bands
                        .iter()
                        .map(|&(hz, achieved_db, model_db)| IldBand {
                            hz,
                            achieved_db,
                            model_db,
                        })
                        .collect(),
                }),
            beam: BeamFigures::new(made, analysis),
            mono_sum: analysis
                .mono_sum
                .iter()
                .map(|&(hz, sides_db, centre_db)| MonoSumBand {
                    hz,
                    sides_db,
                    centre_db,
                })
                .collect(),
            notes: analysis.notes.clone(),
            sweet_spot: None,
            zone: None,
        }
    }
}

impl SettingsFigures {
    fn new(s: &Settings, outputs: usize) -> Self {
        Self {
            mode: s.mode.id(),
            outputs,
            width_percent: s.width * 100.0,
            depth_percent: s.depth * 100.0,
            cancellation_db: s.cancellation_db,
            boost_limit_db: s.boost_limit_db,
            driver_spacing_m: s.spacing_m,
            listening_distance_m: s.distance_m,
            virtual_angle_deg: s.virtual_angle_deg,
            listener_offset_m: s.offset_m,
            listening_zone_m: s.zone_m,
            bass_crossover_hz: s.bass_crossover_hz,
        }
    }
}

impl CancellerFigures {
    fn new(analysis: &Analysis, s: &Settings, outputs: usize, plant: &dyn Plant) -> Option<Self> {
        let sep = analysis.separation.as_ref()?;
        let worst_tracking_error_db = sep
            .tracking
            .iter()
            .filter(|t| !t.3)
            .map(|t| (t.2 - t.1).abs())
            .fold(0.0, f64::max);
        let bound = (outputs == 2).then(|| {
            metrics::two_driver_robustness_bound(
                &s.geometry(2),
                plant,
                metrics::NEARBY_OFFSET_M,
                BOUND_NOMINAL_DB,
                SEPARATION_BAND,
            )
        });
        Some(Self {
            what: "canceller alone (the binaural-mode design of these settings), left input, \
                   third-octave mean of ipsilateral/contralateral dB over 300 Hz-6 kHz",
            nominal_mean_db: sep.nominal().map(|n| n.mean_db),
            bands: sep.nominal().map(|n| n.bands.clone()),
            target_tracking: sep
                .tracking
                .iter()
                .map(
                    |&(hz, target_db, achieved_db, boost_limited)| TrackingBand {
                        hz,
                        target_db,
                        achieved_db,
                        boost_limited,
                    },
                )
                .collect(),
            worst_tracking_error_db,
            max_filter_gain_db: sep.max_gain_db,
            boost_limit_db: sep.boost_limit_db,
            perturbed_mean_db: sep
                .perturbed
                .iter()
                .map(|(p, s)| (p.label, s.mean_db))
                .collect(),
            two_driver_bound_5cm_db: bound.as_ref().map(|b| mean_db(b)),
        })
    }
}

impl BeamFigures {
    fn new(made: &Design, analysis: &Analysis) -> Self {
        match &analysis.beam {
            Ok(b) => BeamFigures::Available {
                available: true,
                band_hz: [b.band.0, b.band.1],
                front_to_side_db: b.figures.front_to_side_db,
                response_45_db: b.figures.response_45_db,
                min_white_noise_gain_db: b.figures.min_white_noise_gain_db,
                reference_band_hz: [BEAM_BAND.0, BEAM_BAND.1],
                reference_front_to_side_db: b.reference_figures.front_to_side_db,
                reference_response_45_db: b.reference_figures.response_45_db,
                white_noise_gain_limit_db: made.beam.min_white_noise_gain_db,
                aliasing_hz: made.beam.aliasing_hz(),
            },
            Err(reason) => BeamFigures::Unavailable {
                available: false,
                reason: reason.clone(),
            },
        }
    }
}
