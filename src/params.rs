//! The plugin's parameters. One table of specifications ([`FLOAT_PARAMS`], [`BOOL_PARAMS`],
//! the mode) is the single source of ids, names, units, ranges and defaults: the host
//! parameters are built from it, and the CLI sets [`Settings`] through it without a host.
//! Ids and persisted keys are permanent: sessions and automation refer to them.

use crate::design::config::presets::DEFAULT_PRESET;
use crate::design::config::settings::{Mode, Settings};
use crate::design::model::head::HeadChoice;
use nice_plug::prelude::*;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

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

/// The float parameters, in the order hosts list them.
pub const FLOAT_PARAMS: [FloatSpec; 10] = [
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

/// The mode as a host enum.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeParam {
    /// See [`Mode::Speakers`].
    #[id = "speakers"]
    #[name = "Speakers"]
    Speakers,
    /// See [`Mode::Headphones`].
    #[id = "headphones"]
    #[name = "Headphones"]
    Headphones,
    /// See [`Mode::Binaural`].
    #[id = "binaural"]
    #[name = "Binaural"]
    Binaural,
}

impl From<ModeParam> for Mode {
    fn from(m: ModeParam) -> Self {
        match m {
            ModeParam::Speakers => Mode::Speakers,
            ModeParam::Headphones => Mode::Headphones,
            ModeParam::Binaural => Mode::Binaural,
        }
    }
}

impl From<Mode> for ModeParam {
    fn from(m: Mode) -> Self {
        match m {
            Mode::Speakers => ModeParam::Speakers,
            Mode::Headphones => ModeParam::Headphones,
            Mode::Binaural => ModeParam::Binaural,
        }
    }
}

/// The layout version of the persisted state; [`crate::Soundstage`]'s `filter_state`
/// migrates older layouts up to it.
pub const STATE_VERSION: u32 = 1;

/// Default editor size, logical pixels.
pub const DEFAULT_EDITOR_SIZE: (f32, f32) = (1000.0, 680.0);

/// The host parameters and the persisted fields.
#[derive(Params)]
pub struct SoundstageParams {
    /// Width.
    #[id = "width"]
    pub width: FloatParam,
    /// Depth.
    #[id = "depth"]
    pub depth: FloatParam,
    /// Cancellation target.
    #[id = "cancel"]
    pub cancellation: FloatParam,
    /// Output mode.
    #[id = "mode"]
    pub mode: EnumParam<ModeParam>,
    /// Driver spacing.
    #[id = "spacing"]
    pub spacing: FloatParam,
    /// Listening distance.
    #[id = "dist"]
    pub distance: FloatParam,
    /// Virtual speaker angle.
    #[id = "vangle"]
    pub virtual_angle: FloatParam,
    /// Listener offset.
    #[id = "offset"]
    pub offset: FloatParam,
    /// Bass crossover.
    #[id = "bassx"]
    pub bass_crossover: FloatParam,
    /// Boost limit.
    #[id = "boost"]
    pub boost_limit: FloatParam,
    /// Output gain.
    #[id = "gain"]
    pub output_gain: FloatParam,
    /// Loudness compensation.
    #[id = "loud"]
    pub loudness: BoolParam,
    /// Bypass.
    #[id = "bypass"]
    pub bypass: BoolParam,
    /// Headphone preview of the speakers chain.
    #[id = "preview"]
    pub preview: BoolParam,

    /// Editor size in logical pixels (the egui state itself cannot be persisted).
    #[persist = "editor-size"]
    pub editor_size: Arc<RwLock<(f32, f32)>>,
    /// Id of the preset last chosen, for display.
    #[persist = "preset"]
    pub preset: Arc<RwLock<String>>,
    /// Layout version of this state (see [`STATE_VERSION`]).
    #[persist = "state-version"]
    pub state_version: Arc<AtomicU32>,
    /// The head the filters are designed for, with a measured head's data.
    #[persist = "head"]
    pub head: Arc<RwLock<HeadChoice>>,

    /// Bumped whenever a parameter that shapes the filters changes; the designer watches it.
    pub design_generation: Arc<AtomicU64>,
}

fn float_param(spec: &'static FloatSpec, generation: &Arc<AtomicU64>) -> FloatParam {
    let mut p = FloatParam::new(spec.name, spec.default, spec.range())
        .with_unit(spec.unit)
        .with_value_to_string(Arc::new(move |v| format!("{:.*}", spec.decimals, v)))
        .with_string_to_value(Arc::new(move |s| parse_number(s, spec.unit)));
    if spec.redesign {
        let generation = generation.clone();
        p = p.with_callback(Arc::new(move |_| {
            generation.fetch_add(1, Ordering::Release);
        }));
    }
    p
}

fn bool_param(spec: &'static BoolSpec, generation: &Arc<AtomicU64>) -> BoolParam {
    let mut p = BoolParam::new(spec.name, spec.default);
    if spec.redesign {
        let generation = generation.clone();
        p = p.with_callback(Arc::new(move |_| {
            generation.fetch_add(1, Ordering::Release);
        }));
    }
    p
}

/// Parses "12.5", "12.5 dB", "12.5dB": a number with or without its unit.
pub fn parse_number(text: &str, unit: &str) -> Option<f32> {
    let t = text.trim();
    let t = t.strip_suffix(unit.trim()).unwrap_or(t).trim();
    t.parse::<f32>().ok().filter(|v| v.is_finite())
}

impl Default for SoundstageParams {
    fn default() -> Self {
        let generation = Arc::new(AtomicU64::new(0));
        let f = |i: usize| float_param(&FLOAT_PARAMS[i], &generation);
        let mode_generation = generation.clone();
        Self {
            width: f(0),
            depth: f(1),
            cancellation: f(2),
            mode: EnumParam::new("Mode", ModeParam::Speakers).with_callback(Arc::new(move |_| {
                mode_generation.fetch_add(1, Ordering::Release);
            })),
            spacing: f(3),
            distance: f(4),
            virtual_angle: f(5),
            offset: f(6),
            bass_crossover: f(7),
            boost_limit: f(8),
            output_gain: f(9),
            loudness: bool_param(&BOOL_PARAMS[0], &generation),
            bypass: bool_param(&BOOL_PARAMS[1], &generation).make_bypass(),
            preview: bool_param(&BOOL_PARAMS[2], &generation),
            editor_size: Arc::new(RwLock::new(DEFAULT_EDITOR_SIZE)),
            preset: Arc::new(RwLock::new(DEFAULT_PRESET.to_string())),
            state_version: Arc::new(AtomicU32::new(STATE_VERSION)),
            head: Arc::new(RwLock::new(HeadChoice::default())),
            design_generation: generation,
        }
    }
}

impl SoundstageParams {
    /// The host parameter for a float spec id (same order as [`FLOAT_PARAMS`]).
    pub fn float(&self, id: &str) -> Option<&FloatParam> {
        Some(match id {
            "width" => &self.width,
            "depth" => &self.depth,
            "cancel" => &self.cancellation,
            "spacing" => &self.spacing,
            "dist" => &self.distance,
            "vangle" => &self.virtual_angle,
            "offset" => &self.offset,
            "bassx" => &self.bass_crossover,
            "boost" => &self.boost_limit,
            "gain" => &self.output_gain,
            _ => return None,
        })
    }

    /// The host parameter for a bool spec id.
    pub fn switch(&self, id: &str) -> Option<&BoolParam> {
        match id {
            "loud" => Some(&self.loudness),
            "bypass" => Some(&self.bypass),
            "preview" => Some(&self.preview),
            _ => None,
        }
    }

    /// The head the filters are designed for now.
    pub fn head_choice(&self) -> HeadChoice {
        self.head.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Chooses the head (editor, CLI): stored with the state, and designed for at once.
    pub fn set_head_choice(&self, choice: HeadChoice) {
        *self.head.write().unwrap_or_else(|e| e.into_inner()) = choice;
        self.design_generation.fetch_add(1, Ordering::Release);
    }

    /// The current values as settings (unsmoothed: smoothing happens in the engine).
    pub fn settings(&self) -> Settings {
        let mut s = Settings::default();
        for spec in &FLOAT_PARAMS {
            let p = self
                .float(spec.id)
                .expect("every float spec has a host parameter");
            (spec.apply)(&mut s, p.value() as f64);
        }
        for spec in &BOOL_PARAMS {
            let p = self
                .switch(spec.id)
                .expect("every bool spec has a host parameter");
            (spec.apply)(&mut s, p.value());
        }
        s.mode = self.mode.value().into();
        s
    }
}

/// Key of the persisted state-layout version.
pub const STATE_VERSION_KEY: &str = "state-version";

/// Brings a saved state up to [`STATE_VERSION`] before the host loads it. Version 1 is the
/// first layout, so there is nothing to convert yet: later layouts add their conversion steps
/// here, keyed on the version the state carries (a state without the field is version 1).
/// Parameters a state lacks keep their defaults; no value it has is dropped.
pub fn migrate_state(state: &mut PluginState) {
    state
        .fields
        .insert(STATE_VERSION_KEY.to_string(), STATE_VERSION.to_string());
}
