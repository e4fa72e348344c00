//! What a design does, as curves: the data behind `soundstage report` and the editor's plots.
//! Computed from the actual (truncated) filters through a simulated listener, off the audio
//! thread.

use crate::design::config::settings::Mode;
use crate::design::evaluate::metrics::{self, BeamFigures, Perturbation, Separation, VirtualCues};
use crate::design::evaluate::simulate::{chain_ear_responses, ears_at_bins};
use crate::design::filters::chain::{design, Design, DesignInput, ModeDesign};
use crate::design::model::geometry::Geometry;
use crate::design::model::plant::{EarResponses, Plant, SphereHead};

/// Azimuths of the beam map, degrees.
pub const BEAM_AZIMUTHS: std::ops::RangeInclusive<i32> = -90..=90;

/// Frequencies of the polar plots, Hz.
pub const POLAR_FREQUENCIES: [f64; 4] = [500.0, 1000.0, 2000.0, 4000.0];

/// How far above the start of the processed band a line's spatial aliasing frequency must
/// lie for its beam to cover an octave (a narrower beam is reported with a note saying so).
const MIN_BEAM_OCTAVE_RATIO: f64 = 2.0;

/// The band the beam figures are reported over, Hz.
pub const BEAM_BAND: (f64, f64) = (630.0, 2000.0);

/// The canceller's separation over frequency.
#[derive(Clone, Debug)]
pub struct SeparationCurves {
    /// Target ratio per bin, dB (left input).
    pub target_db: Vec<f64>,
    /// Achieved ratio per bin on the design's own listener, dB.
    pub achieved_db: Vec<f64>,
    /// Per bin, whether the boost limit kept the target out of reach.
    pub limited: Vec<bool>,
    /// Achieved ratio per bin for the worse of a listener [`metrics::NEARBY_OFFSET_M`] left or
    /// right, dB.
    pub moved_5cm_db: Vec<f64>,
    /// The boost limit, dB.
    pub boost_limit_db: f64,
    /// The largest driver-filter gain actually used, dB.
    pub max_gain_db: f64,
    /// Per bin, the largest driver-filter gain, dB (what the boost limit caps).
    pub filter_gain_db: Vec<f64>,
    /// Third-octave mean over 300 Hz–6 kHz per listener: nominal, moved, resized.
    pub perturbed: Vec<(Perturbation, Separation)>,
    /// Per third-octave band: `(centre Hz, target dB, achieved dB, boost-limited)` (see
    /// [`metrics::target_tracking`]).
    pub tracking: Vec<(f64, f64, f64, bool)>,
}

impl SeparationCurves {
    /// The design's own listener's separation.
    pub fn nominal(&self) -> Option<&Separation> {
        self.perturbed
            .iter()
            .find(|(p, _)| p.is_nominal())
            .map(|(_, s)| s)
    }

    /// The mean separation of the worse of the listeners [`metrics::NEARBY_OFFSET_M`] to
    /// either side, dB.
    pub fn nearby_worst_db(&self) -> f64 {
        self.perturbed
            .iter()
            .filter(|(p, _)| p.is_nearby())
            .map(|(_, s)| s.mean_db)
            .fold(f64::INFINITY, f64::min)
    }
}

/// The centre beam over azimuth and frequency.
#[derive(Clone, Debug)]
pub struct BeamCurves {
    /// Response re on-axis, dB: `[bin][azimuth index]` over [`BEAM_AZIMUTHS`].
    pub map_db: Vec<Vec<f64>>,
    /// Where the beam is complete and the processing active, Hz.
    pub band: (f64, f64),
    /// Figures over `band`: what this line's beam does.
    pub figures: BeamFigures,
    /// Figures over [`BEAM_BAND`], the brief's reference band for an 8 cm line.
    pub reference_figures: BeamFigures,
}

/// The plant at a glance, at the design's listener: what each ear receives from each driver.
#[derive(Clone, Debug)]
pub struct PlantCurves {
    /// `[driver][ear]` magnitude per bin, dB re free field over the reference path (ear 0
    /// left, drivers leftmost first).
    pub magnitude_db: Vec<[Vec<f64>; 2]>,
    /// `[driver][ear]` arrival, seconds after the reference path's travel time.
    pub arrival_s: Vec<[f64; 2]>,
}

impl PlantCurves {
    /// Reads the curves off ear responses on the design's bins, relative to the reference.
    pub fn new(ears: &EarResponses) -> Self {
        let mut planner = realfft::RealFftPlanner::new();
        let bins = ears.freqs.len();
        let drivers = 0..ears.drivers;
        Self {
            magnitude_db: drivers
                .clone()
                .map(|d| {
                    std::array::from_fn(|ear| {
                        (0..bins)
                            .map(|k| db(ears.get(k, ear, d).norm_sqr()))
                            .collect()
                    })
                })
                .collect(),
            arrival_s: drivers
                .map(|d| std::array::from_fn(|ear| ears.arrival_with(&mut planner, ear, d).1))
                .collect(),
        }
    }

    /// Interaural time difference of `driver`: its arrival at the right ear less its arrival
    /// at the left, seconds (positive when the left ear hears it first).
    pub fn itd_s(&self, driver: usize) -> f64 {
        self.arrival_s[driver][1] - self.arrival_s[driver][0]
    }
}

/// Everything the report and the editor show about one design.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The design's settings and output count.
    pub input: DesignInput,
    /// Bin frequencies, Hz.
    pub freqs: Vec<f64>,
    /// The geometry designed for.
    pub geometry: Geometry,
    /// Latency, samples.
    pub latency: usize,
    /// The canceller (speakers and binaural modes).
    pub separation: Option<SeparationCurves>,
    /// Left-only input at the ears (the outer outputs in headphone mode): magnitude per bin,
    /// dB re the plain feed's ipsilateral level: `(near ear, far ear)`.
    pub ears_db: (Vec<f64>, Vec<f64>),
    /// The virtual speakers' cues (speakers and headphone modes).
    pub virtual_cues: Option<VirtualCues>,
    /// The centre beam (three or more drivers); `None` with the reason otherwise.
    pub beam: Result<BeamCurves, String>,
    /// Mono-sum deviation per third octave: `(centre Hz, sides dB, centre dB)`.
    pub mono_sum: Vec<(f64, f64, f64)>,
    /// One-line facts worth telling (degenerate beam, limits hit).
    pub notes: Vec<String>,
    /// The head the listener was modelled with.
    pub plant_name: String,
    /// The plant itself at the design's listener.
    pub plant: PlantCurves,
}

fn db(power: f64) -> f64 {
    10.0 * power.max(1e-20).log10()
}

/// Per-bin separation (left input) of `made`'s chain for a listener at `geometry`.
fn separation_curve(made: &Design, plant: &dyn Plant, geometry: &Geometry) -> Vec<f64> {
    let reference = made
        .input
        .settings
        .geometry(made.filters.outputs)
        .reference()
        .distance_m;
    let ears = ears_at_bins(
        plant,
        geometry,
        reference,
        &made.filters,
        made.input.sample_rate,
    );
    chain_ear_responses(&made.filters, &ears, made.input.settings.mode, 1.0)
        .iter()
        .map(|e| db(e[0][0].norm_sqr() / e[1][0].norm_sqr().max(1e-30)))
        .collect()
}

/// Analyses `made` (designed on `plant`).
///
/// NOTE: long because it is the one list of every analysis the editor and the report share,
/// each a few lines over the same design, geometry and plant.
pub fn analyse(made: &Design, plant: &dyn Plant) -> Analysis {
    let input = made.input;
    let s = input.settings;
    let n = made.filters.outputs;
    let geometry = s.geometry(n);
    let sr = input.sample_rate;
    let mut notes = Vec::new();

    // The canceller by itself: the binaural-mode design of the same settings (in speakers mode
    // the same canceller also carries the virtual speakers' intended crosstalk).
    let canceller = matches!(made.mode, ModeDesign::Speakers { .. }).then(|| {
        design(
            &DesignInput {
                settings: crate::design::config::settings::Settings {
                    mode: Mode::Binaural,
                    ..s
                },
                ..input
            },
            plant,
        )
    });
    let c = canceller.as_ref().unwrap_or(made);
    let separation = c.mode.ctc().map(|ctc| {
        let nominal = separation_curve(c, plant, &geometry);
        let moved: Vec<Vec<f64>> = [metrics::NEARBY_OFFSET_M, -metrics::NEARBY_OFFSET_M]
            .iter()
            .map(|m| separation_curve(c, plant, &geometry.with_offset(geometry.offset_m + m)))
            .collect();
        let moved_5cm_db = (0..nominal.len())
            .map(|k| moved[0][k].min(moved[1][k]))
            .collect();
        let perturbed = metrics::standard_perturbations()
            .into_iter()
            .filter_map(|p| metrics::perturbed_separation_on(c, plant, &p).map(|s| (p, s)))
            .collect();
        let filter_gain_db = metrics::side_filter_gain_db(&c.filters);
        let max_gain_db = filter_gain_db
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        SeparationCurves {
            target_db: ctc.target_db.iter().map(|t| t[0]).collect(),
            achieved_db: nominal,
            limited: ctc.limited.iter().map(|l| l[0]).collect(),
            moved_5cm_db,
            boost_limit_db: s.boost_limit_db,
            max_gain_db,
            filter_gain_db,
            perturbed,
            tracking: metrics::target_tracking(c, plant),
        }
    });
    if let Some(sep) = &separation {
        let limited = made
            .freqs
            .iter()
            .zip(&sep.limited)
            .filter(|(f, l)| **l && (300.0..=6000.0).contains(*f))
            .count();
        if limited > 0 {
            notes.push(format!("the boost limit ({:.1} dB) keeps the target out of reach at {limited} frequencies between 300 Hz and 6 kHz", s.boost_limit_db));
        }
    }

    let ears = if s.mode == Mode::Headphones {
        None
    } else {
        Some(ears_at_bins(
            plant,
            &geometry,
            geometry.reference().distance_m,
            &made.filters,
            sr,
        ))
    };
    let plant_curves = PlantCurves::new(&match &ears {
        Some(e) => e.clone(),
        None => ears_at_bins(
            plant,
            &geometry,
            geometry.reference().distance_m,
            &made.filters,
            sr,
        ),
    });
    let chain = match &ears {
        Some(e) => chain_ear_responses(&made.filters, e, s.mode, s.width),
        None => {
            let flat = ears_at_bins(
                &SphereHead::default(),
                &geometry,
                geometry.reference().distance_m,
                &made.filters,
                sr,
            );
            chain_ear_responses(&made.filters, &flat, Mode::Headphones, s.width)
        }
    };
    let level = made.mode.ctc().map_or(1.0, |c| c.ipsi_target[0].0);
    let ears_db = (
        chain
            .iter()
            .map(|e| db(e[0][0].norm_sqr() / (level * level)))
            .collect(),
        chain
            .iter()
            .map(|e| db(e[1][0].norm_sqr() / (level * level)))
            .collect(),
    );

    let processed = s.bass_crossover_hz + 2.0 * crate::design::filters::crossover::STEP_OFFSET_HZ;
    // The spacings from which a beam has a band above the processing's start, and an octave.
    let spacing_cm_for =
        |ratio: f64| 100.0 * crate::design::SPEED_OF_SOUND / (2.0 * ratio * processed);
    let beam = if s.mode == Mode::Speakers
        && made.beam.available()
        && made.beam.aliasing_hz() <= processed
    {
        Err(format!(
            "no centre beam: drivers {:.0} cm apart alias from {:.0} Hz, below {:.0} Hz where the processing \
             starts (above the {:.0} Hz bass crossover); a beam needs a spacing under {:.1} cm (for an \
             octave of band: at most {:.1} cm); the centre is matrix mixed and depth sets its presence",
            s.spacing_m * 100.0,
            made.beam.aliasing_hz(),
            processed,
            s.bass_crossover_hz,
            spacing_cm_for(1.0),
            spacing_cm_for(MIN_BEAM_OCTAVE_RATIO)
        ))
    } else if s.mode == Mode::Speakers && made.beam.available() {
        let azimuths: Vec<f64> = BEAM_AZIMUTHS.map(f64::from).collect();
        let (bottom, top) = made.beam.full_band();
        let band = (bottom.max(processed).min(top), top);
        if top < MIN_BEAM_OCTAVE_RATIO * band.0 {
            notes.push(format!(
                "the centre beam covers only {:.0} Hz-{:.0} Hz, less than an octave: drivers {:.0} cm apart alias \
                 from {:.0} Hz; an octave of beam needs a spacing of at most {:.1} cm",
                band.0,
                top,
                s.spacing_m * 100.0,
                top,
                spacing_cm_for(MIN_BEAM_OCTAVE_RATIO)
            ));
        }
        Ok(BeamCurves {
            map_db: metrics::beam_pattern(made, &azimuths),
            band,
            figures: metrics::design_beam_figures(made, band),
            reference_figures: metrics::design_beam_figures(made, BEAM_BAND),
        })
    } else if s.mode != Mode::Speakers {
        Err(format!("no centre beam in {} mode", s.mode.id()))
    } else {
        Err("two drivers cannot null ±90° except at single frequencies: the centre is matrix mixed and depth sets its presence".to_string())
    };
    if let Err(reason) = &beam {
        notes.push(reason.clone());
    }

    Analysis {
        input,
        freqs: made.freqs.clone(),
        geometry,
        latency: made.filters.layout.latency(),
        separation,
        ears_db,
        virtual_cues: metrics::virtual_cues(made, plant),
        beam,
        mono_sum: metrics::mono_sum_deviation(&made.filters, s.width, &made.freqs),
        notes,
        plant_name: made.plant_name.clone(),
        plant: plant_curves,
    }
}
