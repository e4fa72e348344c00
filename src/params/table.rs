//! The table of parameter specifications: ids, names, units, ranges, defaults and help, and
//! how each reads and writes [`Settings`]. Everything else about a parameter is derived from
//! here.

use crate::design::config::settings::Settings;
use nice_plug::prelude::FloatRange;

/// How a float parameter's slider maps to its range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scale {
    /// Even steps across the range.
    Linear,
    /// More resolution at the low end (`FloatRange::skew_factor(-1)`): distances, frequencies.
    Logarithmic,
}

/// Everything that defines a float parameter, in the units users see.
#[derive(Clone, Copy, Debug)]
pub struct FloatSpec {
    /// Permanent id (host automation, saved sessions, CLI `--set`).
    pub id: &'static str,
    /// Name shown by hosts.
    pub name: &'static str,
    /// Unit shown after the value (with its leading space where one belongs).
    pub unit: &'static str,
    /// Lowest value.
    pub min: f32,
    /// Highest value.
    pub max: f32,
    /// Default value (the default preset's).
    pub default: f32,
    /// Decimals shown.
    pub decimals: usize,
    /// Slider mapping.
    pub scale: Scale,
    /// What the parameter does, acoustically (tooltips, `soundstage params`).
    pub help: &'static str,
    /// Writes a value into the settings.
    pub apply: fn(&mut Settings, f64),
    /// Reads the value out of the settings.
    pub read: fn(&Settings) -> f64,
    /// Whether a change needs a new filter design (otherwise it is applied at audio rate).
    pub redesign: bool,
}

impl FloatSpec {
    /// The host-side range of this parameter.
    pub fn range(&self) -> FloatRange {
        match self.scale {
            Scale::Linear => FloatRange::Linear {
                min: self.min,
                max: self.max,
            },
            Scale::Logarithmic => FloatRange::Skewed {
                min: self.min,
                max: self.max,
                factor: FloatRange::skew_factor(-1.0),
            },
        }
    }

    /// The value as a host displays it, unit included.
    pub fn format(&self, value: f32) -> String {
        format!("{:.*}{}", self.decimals, value, self.unit)
    }
}

/// Everything that defines a switch parameter.
#[derive(Clone, Copy, Debug)]
pub struct BoolSpec {
    /// Permanent id.
    pub id: &'static str,
    /// Name shown by hosts.
    pub name: &'static str,
    /// Default state.
    pub default: bool,
    /// What the switch does.
    pub help: &'static str,
    /// Writes the state into the settings.
    pub apply: fn(&mut Settings, bool),
    /// Reads the state out of the settings.
    pub read: fn(&Settings) -> bool,
    /// Whether a change needs a new filter design.
    pub redesign: bool,
}

/// Id of the mode parameter.
pub const MODE_ID: &str = "mode";

/// What the mode parameter does.
pub const MODE_HELP: &str = "What the outputs feed: speakers (virtual speakers through crosstalk cancellation), \
     headphones (simulated speaker crosstalk, nothing cancelled) or binaural (crosstalk cancellation alone, for \
     binaural recordings on speakers)";

/// Id of the latency parameter.
pub const LATENCY_ID: &str = "latency";

/// What the latency parameter does.
pub const LATENCY_HELP: &str = "How much delay the processing adds: normal (1584 samples, 33 ms at 48 kHz; for a \
     master bus with delay compensation) or low (256 samples, 5.3 ms; for live listening, tracking, games and \
     calls, at about twice the CPU and about half a decibel less separation). Not automatable: a switch fades \
     out and in and tells the host the new latency";

/// The float parameters, in the order hosts list them.
pub const FLOAT_PARAMS: [FloatSpec; 12] = [
    FloatSpec {
        id: "width",
        name: "Width",
        unit: " %",
        min: 0.0,
        max: 100.0,
        default: 100.0,
        decimals: 0,
        scale: Scale::Linear,
        help: "How far the sides move out to the virtual speakers: 0 leaves the image where the speakers put it",
        apply: |s, v| s.width = v / 100.0,
        read: |s| s.width * 100.0,
        redesign: false,
    },
    FloatSpec {
        id: "depth",
        name: "Depth",
        unit: " %",
        min: 0.0,
        max: 100.0,
        default: 50.0,
        decimals: 0,
        scale: Scale::Linear,
        help: "Centre beam on a driver line (pushes the centre forward by darkening the sides of the room); \
               centre presence on a pair or headphones",
        apply: |s, v| s.depth = v / 100.0,
        read: |s| s.depth * 100.0,
        redesign: true,
    },
    FloatSpec {
        id: "cancel",
        name: "Cancellation",
        unit: " dB",
        min: 0.0,
        max: 30.0,
        default: 20.0,
        decimals: 1,
        scale: Scale::Linear,
        help: "Target separation between the ears in the working band: more is wider but needs a steadier listener",
        apply: |s, v| s.cancellation_db = v,
        read: |s| s.cancellation_db,
        redesign: true,
    },
    FloatSpec {
        id: "spacing",
        name: "Driver spacing",
        unit: " cm",
        min: 5.0,
        max: 300.0,
        default: 120.0,
        decimals: 1,
        scale: Scale::Logarithmic,
        help: "Distance between neighbouring drivers",
        apply: |s, v| s.spacing_m = v / 100.0,
        read: |s| s.spacing_m * 100.0,
        redesign: true,
    },
    FloatSpec {
        id: "dist",
        name: "Listening distance",
        unit: " m",
        min: 0.2,
        max: 5.0,
        default: 1.039,
        decimals: 2,
        scale: Scale::Logarithmic,
        help: "From the middle of the drivers to the middle of the listener's head",
        apply: |s, v| s.distance_m = v,
        read: |s| s.distance_m,
        redesign: true,
    },
    FloatSpec {
        id: "vangle",
        name: "Virtual angle",
        unit: "°",
        min: 10.0,
        max: 90.0,
        default: 60.0,
        decimals: 0,
        scale: Scale::Linear,
        help: "Where the virtual speakers stand, each side of the nose (30° is the stereo reference)",
        apply: |s, v| s.virtual_angle_deg = v,
        read: |s| s.virtual_angle_deg,
        redesign: true,
    },
    FloatSpec {
        id: "offset",
        name: "Listener offset",
        unit: " cm",
        min: -50.0,
        max: 50.0,
        default: 0.0,
        decimals: 1,
        scale: Scale::Linear,
        help: "Where the listener sits sideways, positive to the right: the cancellation is aimed there",
        apply: |s, v| s.offset_m = v / 100.0,
        read: |s| s.offset_m * 100.0,
        redesign: true,
    },
    FloatSpec {
        id: "yaw",
        name: "Listener yaw",
        unit: "°",
        min: -45.0,
        max: 45.0,
        default: 0.0,
        decimals: 1,
        scale: Scale::Linear,
        help: "Where the listener's head is turned, positive to their left: the cancellation follows the ears",
        apply: |s, v| s.yaw_deg = v,
        read: |s| s.yaw_deg,
        redesign: true,
    },
    FloatSpec {
        id: "bassx",
        name: "Bass crossover",
        unit: " Hz",
        min: 20.0,
        max: 500.0,
        default: 120.0,
        decimals: 0,
        scale: Scale::Logarithmic,
        help: "Below this frequency the output is the input, untouched and mono-safe",
        apply: |s, v| s.bass_crossover_hz = v,
        read: |s| s.bass_crossover_hz,
        redesign: true,
    },
    FloatSpec {
        id: "boost",
        name: "Boost limit",
        unit: " dB",
        min: 6.0,
        max: 30.0,
        default: 20.0,
        decimals: 1,
        scale: Scale::Linear,
        help: "Most gain any driver filter may have: protects small drivers and keeps the result robust",
        apply: |s, v| s.boost_limit_db = v,
        read: |s| s.boost_limit_db,
        redesign: true,
    },
    FloatSpec {
        id: "gain",
        name: "Output gain",
        unit: " dB",
        min: -24.0,
        max: 12.0,
        default: 0.0,
        decimals: 1,
        scale: Scale::Linear,
        help: "Level of the processed signal",
        apply: |s, v| s.output_gain_db = v,
        read: |s| s.output_gain_db,
        redesign: false,
    },
    FloatSpec {
        id: "zone",
        name: "Listening zone",
        unit: " cm",
        min: 0.0,
        max: 20.0,
        default: 0.0,
        decimals: 1,
        scale: Scale::Linear,
        help: "How far around the listener the cancellation must hold, sideways and in depth: a wider \
               sweet spot for a little less separation at its centre (0 aims at the listener alone)",
        apply: |s, v| s.zone_m = v / 100.0,
        read: |s| s.zone_m * 100.0,
        redesign: true,
    },
];

/// The switch parameters.
pub const BOOL_PARAMS: [BoolSpec; 3] = [
    BoolSpec {
        id: "loud",
        name: "Loudness match",
        default: true,
        help: "Level-matches the processed signal to the input for a fair A/B against bypass \
               (binaural mode delivers each channel at its recorded level already)",
        apply: |s, v| s.loudness_compensation = v,
        read: |s| s.loudness_compensation,
        redesign: true,
    },
    BoolSpec {
        id: "bypass",
        name: "Bypass",
        default: false,
        help: "Passes the input through, delayed by the same latency, with a short crossfade",
        apply: |s, v| s.bypass = v,
        read: |s| s.bypass,
        redesign: false,
    },
    BoolSpec {
        id: "preview",
        name: "Headphone preview",
        default: false,
        help: "Plays, on headphones, what the listener in front of the drivers would hear: the driver \
               feeds rendered through the head model (sphere or measured) to the two ears, on the outer outputs",
        apply: |s, v| s.preview = v,
        read: |s| s.preview,
        redesign: false,
    },
];

/// The float spec with this id.
pub fn float_spec(id: &str) -> Option<&'static FloatSpec> {
    FLOAT_PARAMS.iter().find(|s| s.id == id)
}

/// Every parameter's value in `settings` as `ID=VALUE`, the way `--set` takes it, so that a
/// printed line can be pasted back: `mode=speakers width=100% ...`.
pub fn describe(settings: &Settings) -> String {
    let mut parts = vec![format!("{MODE_ID}={}", settings.mode.id())];
    parts.extend(FLOAT_PARAMS.iter().map(|s| {
        format!(
            "{}={:.*}{}",
            s.id,
            s.decimals,
            (s.read)(settings),
            s.unit.trim()
        )
    }));
    parts.extend(
        BOOL_PARAMS
            .iter()
            .map(|s| format!("{}={}", s.id, if (s.read)(settings) { "on" } else { "off" })),
    );
    parts.push(format!("{LATENCY_ID}={}", settings.latency.id()));
    parts.join(" ")
}
