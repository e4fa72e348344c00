//! Where the sweet spot is: the separation the canceller alone (the binaural-mode design of
//! the same settings, as the report's canceller figures) gives a listener over a grid of
//! positions, sideways and in distance, from the design made for the nominal listener and
//! from designs that follow the listener to each position (what head tracking gives).

use crate::design::config::settings::{Mode, Settings};
use crate::design::evaluate::metrics::worst_separation;
use crate::design::filters::chain::{Design, DesignInput};
use crate::design::model::geometry::Geometry;
use crate::design::model::plant::Plant;
use crate::design::worker::design_checked;
use crate::params::Float;

/// Sideways positions of the grid, metres: −30 to +30 cm in 5 cm steps.
pub const X_STEPS_M: [f64; 13] = [
    -0.30, -0.25, -0.20, -0.15, -0.10, -0.05, 0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30,
];

/// Distances of the grid, as multiples of the nominal distance: 0.5 to 2 (the fifth is the
/// nominal distance).
pub const Y_FACTORS: [f64; 13] = [
    0.5, 0.625, 0.75, 0.875, 1.0, 1.125, 1.25, 1.375, 1.5, 1.625, 1.75, 1.875, 2.0,
];

/// The separation map: `[distance][sideways]`, dB; `None` where the head cannot describe the
/// listener (a measured head's covered directions end) or no design could be made there.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SweetSpot {
    /// Sideways positions, centimetres from the drivers' axis, positive to the right.
    pub x_cm: Vec<f64>,
    /// Where the nominal listener sits sideways, centimetres.
    pub nominal_x_cm: f64,
    /// Distances from the drivers, metres.
    pub y_m: Vec<f64>,
    /// With the design for the nominal listener.
    pub fixed_db: Vec<Vec<Option<f64>>>,
    /// With a design made for each position (the listener followed).
    pub following_db: Vec<Vec<Option<f64>>>,
}

/// The map for the canceller of `input`, designed for and heard through `plant`.
pub fn sweet_spot(input: &DesignInput, plant: &dyn Plant) -> SweetSpot {
    let input = DesignInput {
        settings: Settings {
            mode: Mode::Binaural,
            ..input.settings
        },
        ..*input
    };
    let fixed = design_checked(&input, plant, None).ok();
    // Every following design starts its searches from the fixed one's (a nearby pose).
    let start = fixed.as_ref().and_then(Design::search_start);
    let nominal = input.settings.geometry(input.outputs);
    let at = |x_m: f64, y_m: f64| Geometry {
        offset_m: x_m,
        distance_m: y_m,
        ..nominal
    };
    // Within the distances the parameters (and so the following designs) can take.
    let distances = Float::Distance.spec();
    let y_m: Vec<f64> = Y_FACTORS
        .iter()
        .map(|f| (f * nominal.distance_m).clamp(distances.min as f64, distances.max as f64))
        .collect();
    let heard = |made: &Design, g: &Geometry| {
        plant
            .check(g)
            .ok()
            .map(|()| worst_separation(made, plant, g, 1.0).mean_db)
    };
    let row = |y: f64, follow: bool| -> Vec<Option<f64>> {
        X_STEPS_M
            .iter()
            .map(|&x| {
                let g = at(x, y);
                if !follow {
                    return fixed.as_ref().and_then(|made| heard(made, &g));
                }
                let mut settings = input.settings;
                settings.offset_m = x;
                settings.distance_m = y;
                let followed = DesignInput { settings, ..input };
                design_checked(&followed, plant, start)
                    .ok()
                    .and_then(|made| heard(&made, &g))
            })
            .collect()
    };
    SweetSpot {
        x_cm: X_STEPS_M.iter().map(|x| x * 100.0).collect(),
        nominal_x_cm: nominal.offset_m * 100.0,
        fixed_db: y_m.iter().map(|&y| row(y, false)).collect(),
        following_db: y_m.iter().map(|&y| row(y, true)).collect(),
        y_m,
    }
}
