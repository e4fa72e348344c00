//! Geometry presets: data files under `assets/presets/`, embedded in the binary so that the
//! plugin and the CLI offer the same list without any file on the user's machine.

use crate::design::config::settings::{Mode, Settings};
use serde::Deserialize;

/// One preset as stored in `assets/presets/*.json`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Permanent identifier (CLI `--preset`, saved sessions).
    pub id: String,
    /// Name shown to users.
    pub name: String,
    /// One sentence on what it models.
    pub description: String,
    /// Output target.
    pub mode: Mode,
    /// The output layout the geometry describes (2, 3 or 4 drivers).
    pub outputs: usize,
    /// Distance between neighbouring drivers, cm.
    pub driver_spacing_cm: f64,
    /// Array centre to head centre, m.
    pub listening_distance_m: f64,
    /// Virtual speaker azimuth, degrees.
    pub virtual_angle_deg: f64,
    /// Listener's lateral offset, cm.
    pub listener_offset_cm: f64,
    /// Mono-safe bass crossover, Hz.
    pub bass_crossover_hz: f64,
}

/// The embedded preset files, in the order users see them.
const SOURCES: [&str; 6] = [
    include_str!("../../../assets/presets/studio-monitors.json"),
    include_str!("../../../assets/presets/desktop.json"),
    include_str!("../../../assets/presets/laptop.json"),
    include_str!("../../../assets/presets/smart-speaker.json"),
    include_str!("../../../assets/presets/soundbar.json"),
    include_str!("../../../assets/presets/headphones.json"),
];

/// Every preset. The files are part of the build; a malformed one fails the test suite.
pub fn all() -> Vec<Preset> {
    SOURCES
        .iter()
        .map(|s| serde_json::from_str(s).expect("embedded presets are valid (tested)"))
        .collect()
}

/// The presets for one output target, so that checks over "every speaker geometry" follow the
/// preset files rather than a list copied beside them.
pub fn with_mode(mode: Mode) -> Vec<Preset> {
    all().into_iter().filter(|p| p.mode == mode).collect()
}

/// The preset with this id, regardless of case, if any.
pub fn find(id: &str) -> Option<Preset> {
    all()
        .into_iter()
        .find(|p| p.id.eq_ignore_ascii_case(id.trim()))
}

/// The id of the preset the defaults correspond to.
pub const DEFAULT_PRESET: &str = "studio-monitors";

impl Preset {
    /// `settings` with this preset's geometry and mode applied (taste controls untouched).
    pub fn apply(&self, settings: &Settings) -> Settings {
        Settings {
            mode: self.mode,
            spacing_m: self.driver_spacing_cm / 100.0,
            distance_m: self.listening_distance_m,
            virtual_angle_deg: self.virtual_angle_deg,
            offset_m: self.listener_offset_cm / 100.0,
            // Every preset's listener faces the drivers.
            yaw_deg: 0.0,
            bass_crossover_hz: self.bass_crossover_hz,
            ..*settings
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_ids_are_unique() {
        let presets = all();
        assert_eq!(presets.len(), SOURCES.len());
        let mut ids: Vec<&str> = presets.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), presets.len());
        assert!(presets.iter().all(|p| (2..=4).contains(&p.outputs)));
    }

    #[test]
    fn defaults_are_the_default_preset() {
        let preset = find(DEFAULT_PRESET).expect("default preset exists");
        let d = Settings::default();
        assert_eq!(preset.apply(&d), d);
    }
}
