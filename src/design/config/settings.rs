//! The processing settings as plain data: what the plugin's parameters, the CLI's `--set`
//! and the presets all reduce to before anything is designed.

use crate::design::model::geometry::Geometry;
use crate::dsp::contract::{Controls, LatencyMode};

/// What the outputs feed and therefore what the chain aims for at the ears.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Drivers in a room: virtual speakers through crosstalk cancellation, centre beam.
    Speakers,
    /// Headphones: the virtual speakers' crosstalk is simulated, nothing is cancelled.
    Headphones,
    /// Binaural input on speakers: crosstalk cancellation alone, each ear gets its channel.
    Binaural,
}

impl Mode {
    /// Every mode, in parameter order.
    pub const ALL: [Mode; 3] = [Mode::Speakers, Mode::Headphones, Mode::Binaural];

    /// The lowercase identifier used by the CLI and the presets.
    pub fn id(self) -> &'static str {
        match self {
            Mode::Speakers => "speakers",
            Mode::Headphones => "headphones",
            Mode::Binaural => "binaural",
        }
    }
}

/// All the settings that shape the sound. Plain numbers in SI-friendly units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Output target, see [`Mode`].
    pub mode: Mode,
    /// Amount of virtualisation / cancellation, 0 (the input as it is) to 1.
    pub width: f64,
    /// Centre beam (3+ drivers) or centre presence (2 drivers), 0 to 1.
    pub depth: f64,
    /// Target ipsilateral/contralateral ratio at the ears in the working band, dB.
    pub cancellation_db: f64,
    /// Highest filter gain any driver may get, dB (driver excursion and robustness).
    pub boost_limit_db: f64,
    /// Distance between neighbouring drivers, metres.
    pub spacing_m: f64,
    /// Array centre to head centre, metres.
    pub distance_m: f64,
    /// Azimuth of the virtual speakers, degrees (each side).
    pub virtual_angle_deg: f64,
    /// Listener's lateral offset, metres, positive to the right.
    pub offset_m: f64,
    /// Listener's head rotation, degrees, positive with the nose turned to their left.
    pub yaw_deg: f64,
    /// Half-width of the listening zone the canceller covers, metres: 0 designs for the
    /// listener's pose alone; more trades separation there for separation around it (see
    /// [`crate::design::model::zone`]).
    pub zone_m: f64,
    /// Below this frequency the output is the input, Hz.
    pub bass_crossover_hz: f64,
    /// Gain applied to the processed signal, dB.
    pub output_gain_db: f64,
    /// Whether the processed signal is level-matched to the input for fair A/B.
    pub loudness_compensation: bool,
    /// Whether the input passes unprocessed (latency kept).
    pub bypass: bool,
    /// Whether the outputs are the listener's ears instead of the drivers: the speakers
    /// chain rendered through the head model, for headphones (no effect in headphone mode).
    pub preview: bool,
    /// How much delay the engine may add, and so which frame layout the filters are designed
    /// for (a plugin designs for the mode its running engine has until the host restarts it).
    pub latency: LatencyMode,
}

impl Settings {
    /// The output gain as a factor, from its decibels (the engine's and the export's).
    pub fn output_gain(&self) -> f64 {
        10f64.powf(self.output_gain_db / 20.0)
    }

    /// The engine's controls for these settings (width, output gain, bypass, preview): the
    /// one conversion the plugin and the offline renderer share.
    pub fn controls(&self) -> Controls {
        Controls {
            width: self.width as f32,
            gain: self.output_gain() as f32,
            bypass: self.bypass,
            // Headphones are already the ears: nothing to preview there.
            preview: self.preview && self.mode != Mode::Headphones,
        }
    }

    /// The physical layout these settings describe for `drivers` outputs.
    pub fn geometry(&self, drivers: usize) -> Geometry {
        Geometry {
            drivers,
            spacing_m: self.spacing_m,
            distance_m: self.distance_m,
            offset_m: self.offset_m,
            yaw_deg: self.yaw_deg,
        }
    }
}

impl Default for Settings {
    /// The plugin's defaults: the studio-monitor preset with the full effect.
    fn default() -> Self {
        Self {
            mode: Mode::Speakers,
            width: 1.0,
            depth: 0.5,
            cancellation_db: 20.0,
            boost_limit_db: 20.0,
            spacing_m: 1.2,
            distance_m: 1.039,
            virtual_angle_deg: 60.0,
            offset_m: 0.0,
            yaw_deg: 0.0,
            zone_m: 0.0,
            bass_crossover_hz: 120.0,
            output_gain_db: 0.0,
            loudness_compensation: true,
            bypass: false,
            preview: false,
            latency: LatencyMode::Normal,
        }
    }
}
