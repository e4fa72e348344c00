//! What an exported design predicts, for `filters.json` and the summary a user reads: the
//! canceller's separation as the report judges it, and the side filters' largest gain.

use crate::design::config::settings::{Mode, Settings};
use crate::design::evaluate::metrics::{
    max_side_filter_gain_db, perturbed_separation_on, standard_perturbations,
};
use crate::design::evaluate::zone::{heard_across, ZoneSummary};
use crate::design::filters::chain::{design, design_shortened, Design, DesignInput};
use crate::design::model::plant::Plant;
use crate::design::model::zone;

/// The design for `input` with `taps` taps: the full design when that is its length.
pub fn design_with_taps(input: &DesignInput, plant: &dyn Plant, taps: usize) -> Design {
    if taps == input.layout().design_taps() {
        design(input, plant)
    } else {
        design_shortened(input, plant, taps)
    }
}

/// The canceller's separation, as the report judges it: the binaural-mode design of the same
/// settings (in speakers mode the canceller also carries the virtual speakers' crosstalk).
#[derive(Clone, Copy, Debug)]
pub struct CancellerFigures {
    /// At the design's listener, dB.
    pub nominal_db: f64,
    /// The worse of a listener [`NEARBY_OFFSET_M`](crate::design::evaluate::metrics::NEARBY_OFFSET_M) to either side, dB.
    pub nearby_worst_db: f64,
    /// What the shortening lost at the design's listener, dB (`None` at full length).
    pub shortening_cost_db: Option<f64>,
    /// Across the listening zone, with the number of its poses (`None` without a zone).
    pub zone: Option<(usize, ZoneSummary)>,
}

/// What an exported design predicts.
#[derive(Clone, Copy, Debug)]
pub struct Predicted {
    /// `None` in headphone mode, which cancels nothing.
    pub canceller: Option<CancellerFigures>,
    /// Largest gain of any side filter at full width, dB, before loudness compensation and
    /// output gain: what the boost limit caps.
    pub max_gain_db: f64,
}

impl Predicted {
    /// The figures of `made` heard through `plant`.
    pub fn new(made: &Design, plant: &dyn Plant) -> Self {
        let input = made.input;
        let canceller = match input.settings.mode {
            Mode::Headphones => None,
            // A binaural design is the canceller alone.
            Mode::Binaural => Some(canceller_figures(made, plant)),
            Mode::Speakers => {
                let alone = DesignInput {
                    settings: Settings {
                        mode: Mode::Binaural,
                        ..input.settings
                    },
                    ..input
                };
                let c = design_with_taps(&alone, plant, made.taps);
                Some(canceller_figures(&c, plant))
            }
        };
        Self {
            canceller,
            max_gain_db: max_side_filter_gain_db(&made.filters),
        }
    }
}

/// The figures of the canceller alone `c`, and what its shortening (if it is shorter than
/// the design's full length) cost against the full-length one.
fn canceller_figures(c: &Design, plant: &dyn Plant) -> CancellerFigures {
    let (nominal_db, nearby_worst_db) = separation_figures(c, plant);
    let shortening_cost_db = (c.taps < c.input.layout().design_taps())
        .then(|| separation_figures(&design(&c.input, plant), plant).0 - nominal_db);
    let s = &c.input.settings;
    let poses = zone::poses(&s.geometry(c.filters.outputs), s.zone_m, plant);
    let zone = (poses.len() > 1)
        .then(|| ZoneSummary::of(&heard_across(c, plant, &poses)).map(|z| (poses.len(), z)))
        .flatten();
    CancellerFigures {
        nominal_db,
        nearby_worst_db,
        shortening_cost_db,
        zone,
    }
}

/// The separation of `c` (a canceller alone) at its own listener and the worse of the
/// listeners [`NEARBY_OFFSET_M`](crate::design::evaluate::metrics::NEARBY_OFFSET_M) to either side, dB.
fn separation_figures(c: &Design, plant: &dyn Plant) -> (f64, f64) {
    let mut nominal = f64::NAN;
    let mut nearby = f64::INFINITY;
    for p in standard_perturbations() {
        if !(p.is_nominal() || p.is_nearby()) {
            continue;
        }
        let Some(s) = perturbed_separation_on(c, plant, &p) else {
            continue;
        };
        if p.is_nominal() {
            nominal = s.mean_db;
        } else {
            nearby = nearby.min(s.mean_db);
        }
    }
    (nominal, nearby)
}
