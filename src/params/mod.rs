//! The plugin's parameters. One table of specifications ([`FLOAT_PARAMS`], [`BOOL_PARAMS`],
//! the mode) is the single source of ids, names, units, ranges and defaults: the host
//! parameters are built from it, and the CLI sets [`Settings`] through it without a host.
//! Ids and persisted keys are permanent: sessions and automation refer to them.

mod state;
mod table;

pub use state::*;
pub use table::*;

use crate::design::config::presets::DEFAULT_PRESET;
use crate::design::config::settings::{Mode, Settings};
use crate::design::model::head::{DeviceChoice, HeadChoice};
use crate::design::worker::DesignEvents;
use crate::dsp::contract::LatencyMode;
use crate::tracking::listener::TrackingSettings;
use crate::tracking::{Pose, Tracked};
use nice_plug::prelude::*;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

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

/// The latency mode as a host enum.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyParam {
    /// See [`LatencyMode::Normal`].
    #[id = "normal"]
    #[name = "Normal"]
    Normal,
    /// See [`LatencyMode::Low`].
    #[id = "low"]
    #[name = "Low"]
    Low,
}

impl From<LatencyParam> for LatencyMode {
    fn from(m: LatencyParam) -> Self {
        match m {
            LatencyParam::Normal => LatencyMode::Normal,
            LatencyParam::Low => LatencyMode::Low,
        }
    }
}

impl From<LatencyMode> for LatencyParam {
    fn from(m: LatencyMode) -> Self {
        match m {
            LatencyMode::Normal => LatencyParam::Normal,
            LatencyMode::Low => LatencyParam::Low,
        }
    }
}

/// The enum parameters' ids with their variants' ids, for checking a saved state.
pub fn enum_variant_ids(id: &str) -> Option<&'static [&'static str]> {
    match id {
        MODE_ID => ModeParam::ids(),
        LATENCY_ID => LatencyParam::ids(),
        _ => None,
    }
}

/// The layout version of the persisted state; [`crate::Soundstage`]'s `filter_state`
/// migrates older layouts up to it.
pub const STATE_VERSION: u32 = 1;

/// Default editor size, logical pixels.
pub const DEFAULT_EDITOR_SIZE: (f32, f32) = (1000.0, 680.0);

/// The float parameters by name: each is its index in [`FLOAT_PARAMS`] (and in the host's
/// parameter array), so that code names a parameter instead of counting to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Float {
    /// `width`.
    Width,
    /// `depth`.
    Depth,
    /// `cancel`.
    Cancellation,
    /// `spacing`.
    Spacing,
    /// `dist`.
    Distance,
    /// `vangle`.
    VirtualAngle,
    /// `offset`.
    Offset,
    /// `yaw`.
    Yaw,
    /// `bassx`.
    BassCrossover,
    /// `boost`.
    BoostLimit,
    /// `gain`.
    OutputGain,
    /// `zone`.
    Zone,
}

impl Float {
    /// Every float parameter, in table order.
    pub const ALL: [Float; FLOAT_PARAMS.len()] = [
        Float::Width,
        Float::Depth,
        Float::Cancellation,
        Float::Spacing,
        Float::Distance,
        Float::VirtualAngle,
        Float::Offset,
        Float::Yaw,
        Float::BassCrossover,
        Float::BoostLimit,
        Float::OutputGain,
        Float::Zone,
    ];

    /// The parameter's specification.
    pub fn spec(self) -> &'static FloatSpec {
        &FLOAT_PARAMS[self as usize]
    }
}

/// The switch parameters by name: each is its index in [`BOOL_PARAMS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// `loud`.
    Loudness,
    /// `bypass`.
    Bypass,
    /// `preview`.
    Preview,
}

impl Switch {
    /// Every switch, in table order.
    pub const ALL: [Switch; BOOL_PARAMS.len()] =
        [Switch::Loudness, Switch::Bypass, Switch::Preview];

    /// The switch's specification.
    pub fn spec(self) -> &'static BoolSpec {
        &BOOL_PARAMS[self as usize]
    }
}

/// Hosts list the mode after this many float parameters (width, depth, cancellation: the
/// main controls come first).
pub const MODE_POSITION: usize = 3;

/// The host parameters, built from the tables: their ids, names, ranges and order come from
/// [`FLOAT_PARAMS`], [`BOOL_PARAMS`] and the mode's constants and nowhere else.
pub struct HostParams {
    /// One per [`FLOAT_PARAMS`] entry, in its order.
    floats: [FloatParam; FLOAT_PARAMS.len()],
    /// The output mode.
    pub mode: EnumParam<ModeParam>,
    /// One per [`BOOL_PARAMS`] entry, in its order.
    switches: [BoolParam; BOOL_PARAMS.len()],
    /// The latency mode (not automatable; listed last, after the parameters that came
    /// before it).
    pub latency: EnumParam<LatencyParam>,
}

// SAFETY: every pointer in the map points into `self`'s own parameters, which live as long
// as `self` (the contract the derive macro keeps too).
unsafe impl Params for HostParams {
    fn param_map(&self) -> Vec<(String, ParamPtr, String)> {
        let floats = FLOAT_PARAMS
            .iter()
            .zip(&self.floats)
            .map(|(spec, p)| (spec.id, p.as_ptr()));
        let switches = BOOL_PARAMS
            .iter()
            .zip(&self.switches)
            .map(|(spec, p)| (spec.id, p.as_ptr()));
        let mut map: Vec<(&str, ParamPtr)> = floats.collect();
        map.insert(MODE_POSITION, (MODE_ID, self.mode.as_ptr()));
        map.extend(switches);
        map.push((LATENCY_ID, self.latency.as_ptr()));
        map.into_iter()
            .map(|(id, ptr)| (id.to_string(), ptr, String::new()))
            .collect()
    }
}

/// The host parameters and the persisted fields.
#[derive(Params)]
pub struct SoundstageParams {
    /// The host parameters.
    #[nested]
    pub host: HostParams,

    /// Editor size in logical pixels (the egui state itself cannot be persisted).
    #[persist = "editor-size"]
    pub editor_size: Arc<RwLock<(f32, f32)>>,
    /// Id of the preset last chosen, for display.
    #[persist = "preset"]
    pub preset: Arc<RwLock<String>>,
    /// Layout version of this state (see [`STATE_VERSION`]).
    #[persist = "state-version"]
    pub state_version: Arc<AtomicU32>,
    /// What a state from a newer version held that this version does not know, kept so that
    /// saving the session again loses none of it.
    #[persist = "kept-from-newer"]
    pub kept_from_newer: Arc<RwLock<Option<KeptState>>>,
    /// The head the filters are designed for, with a measured head's data (its device part
    /// is in `device`).
    #[persist = "head"]
    pub head: Arc<RwLock<HeadChoice>>,
    /// The measured device the filters may be designed for, with its data.
    #[persist = "device"]
    pub device: Arc<RwLock<DeviceChoice>>,
    /// Whether and where to listen for a head tracker (not automatable: a setting of the
    /// session, like the head).
    #[persist = "tracking"]
    pub tracking: Arc<RwLock<TrackingSettings>>,

    /// Bumped whenever a parameter that shapes the filters changes; the designer reads it.
    pub design_generation: Arc<AtomicU64>,
    /// Notified with every such change, so that the designer wakes for it.
    pub design_events: DesignEvents,
}

/// A parameter callback's side of a change that needs a design: a new generation, and a
/// wake-up for the designer (both safe on the audio thread: an atomic and a try_send).
#[derive(Clone)]
struct Redesign {
    generation: Arc<AtomicU64>,
    events: DesignEvents,
}

impl Redesign {
    fn ask(&self) {
        self.generation.fetch_add(1, Ordering::Release);
        self.events.notify();
    }
}

fn float_param(spec: &'static FloatSpec, redesign: &Redesign) -> FloatParam {
    let mut p = FloatParam::new(spec.name, spec.default, spec.range())
        .with_unit(spec.unit)
        .with_value_to_string(Arc::new(move |v| format!("{:.*}", spec.decimals, v)))
        .with_string_to_value(Arc::new(move |s| parse_number(s, spec.unit)));
    if spec.redesign {
        let redesign = redesign.clone();
        p = p.with_callback(Arc::new(move |_| redesign.ask()));
    }
    p
}

fn bool_param(spec: &'static BoolSpec, redesign: &Redesign) -> BoolParam {
    let mut p = BoolParam::new(spec.name, spec.default);
    if spec.redesign {
        let redesign = redesign.clone();
        p = p.with_callback(Arc::new(move |_| redesign.ask()));
    }
    p
}

/// Units a value may be typed in: name, quantity, size in the quantity's base unit. A
/// parameter shown in one unit of a quantity takes the others of that quantity too
/// (`dist=120cm`, `spacing=0.15 m`, `bassx=0.1kHz`).
const UNITS: [(&str, &str, f64); 9] = [
    ("m", "length", 1.0),
    ("cm", "length", 0.01),
    ("mm", "length", 0.001),
    ("Hz", "frequency", 1.0),
    ("kHz", "frequency", 1000.0),
    ("%", "share", 1.0),
    ("dB", "level", 1.0),
    ("°", "angle", 1.0),
    ("deg", "angle", 1.0),
];

/// The unit named `name` (any case) in [`UNITS`].
fn unit(name: &str) -> Option<(&'static str, &'static str, f64)> {
    UNITS
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .copied()
}

/// The names a value of a parameter shown in `shown` may be typed in: `m, cm, mm`.
pub fn units_like(shown: &str) -> String {
    let quantity = unit(shown.trim()).map(|(_, q, _)| q);
    UNITS
        .iter()
        .filter(|(_, q, _)| Some(*q) == quantity)
        .map(|(n, _, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses "12.5", "12.5 dB", "12.5dB", and a length or frequency in another unit of its
/// quantity ("120cm" for a parameter in metres): the value in `unit`. Unit names are
/// matched regardless of case ("DB", "khz").
pub fn parse_number(text: &str, unit: &str) -> Option<f32> {
    let t = text.trim();
    let unit = unit.trim();
    let number_end = t
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(number_end);
    let suffix = suffix.trim();
    let value = number.trim().parse::<f64>().ok()?;
    let scale = if suffix.is_empty() || suffix.eq_ignore_ascii_case(unit) {
        1.0
    } else {
        let ((_, given, given_size), (_, shown, shown_size)) =
            (self::unit(suffix)?, self::unit(unit)?);
        if given != shown {
            return None;
        }
        given_size / shown_size
    };
    Some((value * scale) as f32).filter(|v| v.is_finite())
}

impl Default for SoundstageParams {
    fn default() -> Self {
        let redesign = Redesign {
            generation: Arc::new(AtomicU64::new(0)),
            events: DesignEvents::default(),
        };
        let mode_redesign = redesign.clone();
        let latency_redesign = redesign.clone();
        let switch = |s: Switch| {
            let p = bool_param(s.spec(), &redesign);
            // The host's own bypass button drives this switch.
            if s == Switch::Bypass {
                p.make_bypass()
            } else {
                p
            }
        };
        let host = HostParams {
            floats: Float::ALL.map(|f| float_param(f.spec(), &redesign)),
            mode: EnumParam::new("Mode", ModeParam::Speakers)
                .with_callback(Arc::new(move |_| mode_redesign.ask())),
            switches: Switch::ALL.map(switch),
            latency: EnumParam::new("Latency", LatencyParam::Normal)
                .non_automatable()
                .with_callback(Arc::new(move |_| latency_redesign.ask())),
        };
        Self {
            host,
            editor_size: Arc::new(RwLock::new(DEFAULT_EDITOR_SIZE)),
            preset: Arc::new(RwLock::new(DEFAULT_PRESET.to_string())),
            state_version: Arc::new(AtomicU32::new(STATE_VERSION)),
            kept_from_newer: Arc::new(RwLock::new(None)),
            head: Arc::new(RwLock::new(HeadChoice::default())),
            device: Arc::new(RwLock::new(DeviceChoice::default())),
            tracking: Arc::new(RwLock::new(TrackingSettings::default())),
            design_generation: redesign.generation,
            design_events: redesign.events,
        }
    }
}

impl SoundstageParams {
    /// A float parameter.
    pub fn float(&self, p: Float) -> &FloatParam {
        &self.host.floats[p as usize]
    }

    /// The float parameter with this id (the CLI's and the tables' ids).
    pub fn float_by_id(&self, id: &str) -> Option<&FloatParam> {
        Float::ALL
            .into_iter()
            .find(|f| f.spec().id == id)
            .map(|f| self.float(f))
    }

    /// A switch parameter.
    pub fn switch(&self, s: Switch) -> &BoolParam {
        &self.host.switches[s as usize]
    }

    /// The mode parameter.
    pub fn mode(&self) -> &EnumParam<ModeParam> {
        &self.host.mode
    }

    /// The latency parameter.
    pub fn latency(&self) -> &EnumParam<LatencyParam> {
        &self.host.latency
    }

    /// The head (or device) the filters are designed for now.
    pub fn head_choice(&self) -> HeadChoice {
        let head = self.head.read().unwrap_or_else(|e| e.into_inner()).clone();
        head.with_device(
            self.device
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }

    /// Chooses the head or device (editor, CLI): stored with the state, and designed for
    /// at once.
    pub fn set_head_choice(&self, choice: HeadChoice) {
        *self.device.write().unwrap_or_else(|e| e.into_inner()) = choice.device_choice();
        *self.head.write().unwrap_or_else(|e| e.into_inner()) = choice;
        self.design_generation.fetch_add(1, Ordering::Release);
        self.design_events.notify();
    }

    /// The tracker settings (checked: a state's out-of-range port reads as the default).
    pub fn tracking(&self) -> TrackingSettings {
        self.tracking
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .checked()
    }

    /// Changes the tracker settings (editor, CLI).
    pub fn set_tracking(&self, settings: TrackingSettings) {
        *self.tracking.write().unwrap_or_else(|e| e.into_inner()) = settings.checked();
    }

    /// The current values as settings (unsmoothed: smoothing happens in the engine).
    pub fn settings(&self) -> Settings {
        let mut s = Settings::default();
        for f in Float::ALL {
            (f.spec().apply)(&mut s, self.float(f).value() as f64);
        }
        for sw in Switch::ALL {
            (sw.spec().apply)(&mut s, self.switch(sw).value());
        }
        s.mode = self.mode().value().into();
        s.latency = self.latency().value().into();
        s
    }
}

/// `settings` with the listener where `tracked` says, within the parameters' ranges (the
/// nominal pose is the settings' offset, distance and yaw).
pub fn follow(settings: &mut Settings, tracked: &Tracked) {
    let nominal = Pose {
        x_m: settings.offset_m,
        y_m: settings.distance_m,
        yaw_deg: settings.yaw_deg,
    };
    let pose = tracked.resolve(nominal);
    // The parameter's range in the settings' units, by writing its ends into settings.
    let within = |f: Float, v: f64, field: fn(&Settings) -> f64| {
        let spec = f.spec();
        let mut s = Settings::default();
        (spec.apply)(&mut s, spec.min as f64);
        let lo = field(&s);
        (spec.apply)(&mut s, spec.max as f64);
        v.clamp(lo, field(&s))
    };
    settings.offset_m = within(Float::Offset, pose.x_m, |s| s.offset_m);
    settings.distance_m = within(Float::Distance, pose.y_m, |s| s.distance_m);
    settings.yaw_deg = within(Float::Yaw, pose.yaw_deg, |s| s.yaw_deg);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_value_is_read_in_its_unit_or_another_of_its_quantity_and_nothing_else() {
        for (text, unit, expected) in [
            ("1.2", " m", Some(1.2)),
            ("1.2 m", " m", Some(1.2)),
            ("120cm", " m", Some(1.2)),
            ("1200 mm", " m", Some(1.2)),
            ("0.15 m", " cm", Some(15.0)),
            ("0.1kHz", " Hz", Some(100.0)),
            ("120 HZ", " Hz", Some(120.0)),
            ("-20db", " dB", Some(-20.0)),
            ("60%", " %", Some(60.0)),
            ("30deg", "°", Some(30.0)),
            ("-15°", "°", Some(-15.0)),
            ("120 Hz", " m", None),
            ("60 dB", " %", None),
            ("1.2 furlongs", " m", None),
            ("m", " m", None),
            ("inf", " m", None),
            ("1e40", " dB", None),
        ] {
            let read = parse_number(text, unit);
            match (read, expected) {
                (Some(r), Some(e)) => assert!((r - e).abs() < 1e-5, "{text:?} read as {r}"),
                (r, e) => assert_eq!(r, e, "{text:?} in {unit:?}"),
            }
        }
    }

    #[test]
    fn the_names_are_the_tables_indices_and_the_ids_are_unique() {
        for (i, f) in Float::ALL.into_iter().enumerate() {
            assert_eq!(f as usize, i);
        }
        for (i, s) in Switch::ALL.into_iter().enumerate() {
            assert_eq!(s as usize, i);
        }
        let ids: Vec<&str> = FLOAT_PARAMS
            .iter()
            .map(|s| s.id)
            .chain([MODE_ID])
            .chain(BOOL_PARAMS.iter().map(|s| s.id))
            .chain([LATENCY_ID])
            .collect();
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            ids.len(),
            "{ids:?}"
        );
    }

    #[test]
    fn the_host_sees_exactly_the_tables_parameters_with_their_names_and_defaults() {
        let params = SoundstageParams::default();
        let map = params.param_map();
        let mut expected: Vec<&str> = FLOAT_PARAMS.iter().map(|s| s.id).collect();
        expected.insert(MODE_POSITION, MODE_ID);
        expected.extend(BOOL_PARAMS.iter().map(|s| s.id));
        expected.push(LATENCY_ID);
        let ids: Vec<&str> = map.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids, expected);
        for (id, ptr, _) in &map {
            // SAFETY: `params` outlives the map's pointers.
            let (name, default) = unsafe { (ptr.name(), ptr.default_normalized_value()) };
            if let Some(spec) = float_spec(id) {
                assert_eq!(name, spec.name, "{id}");
                let normalised = spec.range().normalize(spec.default);
                assert!(
                    (default - normalised).abs() < 1e-6,
                    "{id}: {default} vs {normalised}"
                );
            } else if let Some(spec) = BOOL_PARAMS.iter().find(|s| s.id == id) {
                assert_eq!(name, spec.name, "{id}");
                assert_eq!(default, if spec.default { 1.0 } else { 0.0 }, "{id}");
            } else {
                assert!(enum_variant_ids(id).is_some(), "{id}");
                assert_eq!(default, 0.0, "{id}");
            }
        }
    }
}
