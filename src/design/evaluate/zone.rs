//! What a listening-zone design buys and costs: the canceller alone (the binaural-mode
//! design of the same settings, as the report's canceller figures) designed for the nominal
//! listener and for the zone, both heard at every pose of the zone and along a line
//! sideways through the listener.

use crate::design::config::settings::{Mode, Settings};
use crate::design::evaluate::metrics::worst_separation;
use crate::design::filters::chain::{design, Design, DesignInput};
use crate::design::model::geometry::Geometry;
use crate::design::model::plant::Plant;
use crate::design::model::zone;

/// Points of the sideways profile: from twice the zone's half-width left of the listener
/// to twice it right, so that the profile shows where the zone ends and what lies beyond.
const PROFILE_POINTS: usize = 17;

/// One pose of the zone as both designs serve it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ZonePoseFigures {
    /// Listener sideways, centimetres (positive to the right).
    pub offset_cm: f64,
    /// Listener distance, metres.
    pub distance_m: f64,
    /// Listener yaw, degrees.
    pub yaw_deg: f64,
    /// Whether the pose is a position of the device file (not a grid point).
    pub measured: bool,
    /// Separation with the design for the nominal listener alone, dB (300 Hz–6 kHz mean,
    /// worse ear).
    pub nominal_design_db: f64,
    /// Separation with the zone design, dB.
    pub zone_design_db: f64,
}

/// One design's figures over the zone.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct ZoneSummary {
    /// At the nominal listener, dB.
    pub at_listener_db: f64,
    /// At the worst pose of the zone, dB: what the zone design maximises.
    pub worst_db: f64,
    /// The mean over the zone's poses (of their dB figures), dB.
    pub mean_db: f64,
}

/// Separation sideways through the listener at the nominal distance, both designs.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ZoneProfile {
    /// Listener sideways, centimetres.
    pub x_cm: Vec<f64>,
    /// With the design for the nominal listener, dB (`None` where the plant cannot
    /// describe the listener).
    pub nominal_design_db: Vec<Option<f64>>,
    /// With the zone design, dB.
    pub zone_design_db: Vec<Option<f64>>,
}

/// The nominal design against the zone design across the zone.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ZoneFigures {
    /// The zone's half-width, centimetres.
    pub half_width_cm: f64,
    /// Every pose the zone design holds to, the nominal listener first.
    pub poses: Vec<ZonePoseFigures>,
    /// The design for the nominal listener alone.
    pub nominal_design: ZoneSummary,
    /// The zone design.
    pub zone_design: ZoneSummary,
    /// How much the zone design raises the worst pose's separation, dB.
    pub worst_gain_db: f64,
    /// How much separation the zone design gives up at the nominal listener, dB.
    pub nominal_loss_db: f64,
    /// Sideways through the listener, both designs.
    pub profile: ZoneProfile,
}

impl ZoneSummary {
    /// The summary of one design's separations at a zone's poses, the nominal pose first
    /// (`None` for no poses).
    pub fn of(separations: &[f64]) -> Option<Self> {
        Some(Self {
            at_listener_db: *separations.first()?,
            worst_db: separations.iter().copied().fold(f64::INFINITY, f64::min),
            mean_db: separations.iter().sum::<f64>() / separations.len() as f64,
        })
    }
}

/// The separation of `made` (a canceller alone) heard through `plant` at each of `poses`,
/// dB: how a design (exported, shortened, or either of the report's two) serves a zone.
pub fn heard_across(made: &Design, plant: &dyn Plant, poses: &[zone::ZonePose]) -> Vec<f64> {
    poses
        .iter()
        .map(|p| worst_separation(made, plant, &p.geometry, 1.0).mean_db)
        .collect()
}

/// The zone figures of `input`'s canceller, designed for and heard through `plant`; `None`
/// without a zone, in headphone mode (nothing cancelled), or when the plant describes no
/// pose of the zone but the nominal one.
pub fn zone_figures(input: &DesignInput, plant: &dyn Plant) -> Option<ZoneFigures> {
    let s = &input.settings;
    if s.mode == Mode::Headphones {
        return None;
    }
    let nominal = s.geometry(input.outputs);
    let poses = zone::poses(&nominal, s.zone_m, plant);
    if poses.len() < 2 {
        return None;
    }
    let canceller = |zone_m: f64| {
        let settings = Settings {
            mode: Mode::Binaural,
            zone_m,
            ..*s
        };
        design(&DesignInput { settings, ..*input }, plant)
    };
    let (fixed, zoned) = (canceller(0.0), canceller(s.zone_m));
    let (by_fixed, by_zoned) = (
        heard_across(&fixed, plant, &poses),
        heard_across(&zoned, plant, &poses),
    );
    let nominal_design = ZoneSummary::of(&by_fixed)?;
    let zone_design = ZoneSummary::of(&by_zoned)?;
    let heard = |d: &Design, g: &Geometry| worst_separation(d, plant, g, 1.0).mean_db;
    let poses: Vec<ZonePoseFigures> = poses
        .iter()
        .zip(by_fixed.iter().zip(&by_zoned))
        .map(
            |(p, (&nominal_design_db, &zone_design_db))| ZonePoseFigures {
                offset_cm: p.geometry.offset_m * 100.0,
                distance_m: p.geometry.distance_m,
                yaw_deg: p.geometry.yaw_deg,
                measured: p.measured,
                nominal_design_db,
                zone_design_db,
            },
        )
        .collect();
    let x_cm: Vec<f64> = (0..PROFILE_POINTS)
        .map(|i| {
            let share = i as f64 / (PROFILE_POINTS - 1) as f64;
            (nominal.offset_m + s.zone_m * (4.0 * share - 2.0)) * 100.0
        })
        .collect();
    let along = |d: &Design| -> Vec<Option<f64>> {
        x_cm.iter()
            .map(|&x| {
                let g = nominal.with_offset(x / 100.0);
                plant.check(&g).ok().map(|()| heard(d, &g))
            })
            .collect()
    };
    Some(ZoneFigures {
        half_width_cm: s.zone_m * 100.0,
        worst_gain_db: zone_design.worst_db - nominal_design.worst_db,
        nominal_loss_db: nominal_design.at_listener_db - zone_design.at_listener_db,
        profile: ZoneProfile {
            nominal_design_db: along(&fixed),
            zone_design_db: along(&zoned),
            x_cm,
        },
        poses,
        nominal_design,
        zone_design,
    })
}
