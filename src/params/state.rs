//! Loading a saved state safely: every value is checked against its parameter's type and
//! range before the host's loader sees it (an out-of-range enum index would panic later,
//! inside the framework, when the state is saved again), the editor size against
//! [`limits::EDITOR_SIZES`], and whatever a newer version wrote that this one does not know
//! is kept aside, to be saved again unchanged.

use super::{enum_variant_ids, float_spec, BOOL_PARAMS, DEFAULT_EDITOR_SIZE, LATENCY_ID, MODE_ID};
use crate::design::model::head::DeviceChoice;
use crate::limits;
use crate::tracking::listener::TrackingSettings;
use nice_plug::plugin::{ParamValue, PluginState};
use nice_plug::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The layout version of the persisted state; [`crate::Soundstage`]'s `filter_state`
/// brings older states up to it.
pub const STATE_VERSION: u32 = 1;

/// Key of the persisted state-layout version.
pub const STATE_VERSION_KEY: &str = "state-version";

/// Key of the persisted editor size.
pub const EDITOR_SIZE_KEY: &str = "editor-size";

/// Key of the entries kept from a newer version's state (see [`KeptState`]).
pub const KEPT_KEY: &str = "kept-from-newer";

/// Key of the persisted tracker settings.
pub const TRACKING_KEY: &str = "tracking";

/// Key of the persisted measured device.
pub const DEVICE_KEY: &str = "device";

/// The persisted fields this version reads.
const KNOWN_FIELDS: [&str; 7] = [
    EDITOR_SIZE_KEY,
    "preset",
    STATE_VERSION_KEY,
    "head",
    KEPT_KEY,
    TRACKING_KEY,
    DEVICE_KEY,
];

/// What a state from a newer version held that this version does not know: saved with the
/// session as it was found, so that the newer version can take it back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KeptState {
    /// The layout version the state was written with.
    pub version: u32,
    /// Parameters this version does not have, as saved.
    pub params: BTreeMap<String, ParamValue>,
    /// Persisted fields this version does not have, as saved (JSON text).
    pub fields: BTreeMap<String, String>,
}

/// Brings a saved state up to [`STATE_VERSION`] before the host loads it, and makes it safe
/// to load: values of the wrong type or not finite are dropped (the parameter gets its
/// default, as does one the state lacks), numbers outside their range are clamped to it, an enum index or id that does
/// not exist is dropped, the editor size is clamped and the tracker settings checked. Version 1 is the first layout, so
/// there is nothing to convert yet: later layouts add their conversion steps here, keyed on
/// the version the state carries (a state without the field is version 1). A state from a
/// newer version loads what this version knows and keeps the rest (see [`KeptState`]); what
/// an earlier version kept aside of this one's is taken back (see [`take_back`]).
pub fn migrate_state(state: &mut PluginState) {
    take_back(state);
    let version = state
        .fields
        .get(STATE_VERSION_KEY)
        .and_then(|v| serde_json::from_str::<u32>(v).ok())
        .unwrap_or(1);
    let mut kept = KeptState {
        version,
        ..KeptState::default()
    };
    let newer = version > STATE_VERSION;
    let params = std::mem::take(&mut state.params);
    for (id, value) in params {
        // A newer version may have widened a range or added a mode: keep what it saved, so
        // that saving the session here does not lose it.
        if newer && (float_spec(&id).is_some() || enum_variant_ids(&id).is_some()) {
            kept.params.insert(id.clone(), value.clone());
        }
        match checked_value(&id, value) {
            Checked::Known(Some(value)) => {
                state.params.insert(id, value);
            }
            Checked::Known(None) => nice_warn!("state: ignored an invalid value for '{id}'"),
            Checked::Unknown(value) => {
                kept.params.insert(id, value);
            }
        }
    }
    // The framework sets only the parameters a state holds: one it lacks (a state from before
    // the parameter existed, or whose value was dropped above) would keep whatever this
    // instance had. It gets its default, as a fresh instance has.
    for spec in super::FLOAT_PARAMS.iter() {
        state
            .params
            .entry(spec.id.to_string())
            .or_insert(ParamValue::F32(spec.default));
    }
    for spec in BOOL_PARAMS.iter() {
        state
            .params
            .entry(spec.id.to_string())
            .or_insert(ParamValue::Bool(spec.default));
    }
    for id in [MODE_ID, LATENCY_ID] {
        if let Some(default) = enum_variant_ids(id).and_then(|ids| ids.first()) {
            state
                .params
                .entry(id.to_string())
                .or_insert_with(|| ParamValue::String(default.to_string()));
        }
    }
    let unknown: Vec<String> = state
        .fields
        .keys()
        .filter(|k| !KNOWN_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        if let Some(value) = state.fields.remove(&key) {
            kept.fields.insert(key, value);
        }
    }
    if let Some(size) = state.fields.get_mut(EDITOR_SIZE_KEY) {
        *size = checked_editor_size(size);
    }
    // A state without tracker settings (older, or damaged) loads with tracking off, not with
    // whatever this instance had.
    // Listening to other machines is never restored: a session shared or downloaded must
    // not open a port to the network without the user ticking the box on this machine.
    let tracking = TrackingSettings {
        all_interfaces: false,
        ..state
            .fields
            .get(TRACKING_KEY)
            .and_then(|t| serde_json::from_str::<TrackingSettings>(t).ok())
            .unwrap_or_default()
            .checked()
    };
    if let Ok(text) = serde_json::to_string(&tracking) {
        state.fields.insert(TRACKING_KEY.to_string(), text);
    }
    // A state without a device (older, or of a session that never loaded one), or with one
    // that is not even a device's shape, loads with none, not with the one this instance
    // had: the framework loads only the fields a state has, and keeps the old value of one
    // it cannot read. (The device's data is checked when it is designed for.)
    let readable = state
        .fields
        .get(DEVICE_KEY)
        .is_some_and(|d| serde_json::from_str::<DeviceChoice>(d).is_ok());
    if !readable {
        if let Ok(text) = serde_json::to_string(&DeviceChoice::default()) {
            state.fields.insert(DEVICE_KEY.to_string(), text);
        }
    }
    if newer || !kept.params.is_empty() || !kept.fields.is_empty() {
        keep(state, kept);
    } else {
        // The framework loads only the fields a state has: without this, what an earlier
        // state of this instance kept would be saved with this one.
        state
            .fields
            .entry(KEPT_KEY.to_string())
            .or_insert_with(|| "null".to_string());
    }
    state
        .fields
        .insert(STATE_VERSION_KEY.to_string(), STATE_VERSION.to_string());
}

/// Takes back what an earlier version kept aside of a state of this layout version because
/// it did not know it (a parameter such as `zone`, a field such as `device`) and this
/// version knows: each where the state itself lacks it (the earlier version's own values
/// win: they are what the session was last saved with). What is taken back leaves the kept
/// entries; the rest stays there. What it kept of a newer layout's state stays for that
/// version, untouched.
fn take_back(state: &mut PluginState) {
    let Some(mut kept) = state
        .fields
        .get(KEPT_KEY)
        .and_then(|k| serde_json::from_str::<Option<KeptState>>(k).ok())
        .flatten()
        .filter(|k| k.version <= STATE_VERSION)
    else {
        return;
    };
    let known_param = |id: &str| {
        float_spec(id).is_some()
            || enum_variant_ids(id).is_some()
            || BOOL_PARAMS.iter().any(|s| s.id == id)
    };
    let params: Vec<String> = kept
        .params
        .keys()
        .filter(|id| known_param(id) && !state.params.contains_key(id.as_str()))
        .cloned()
        .collect();
    let fields: Vec<String> = kept
        .fields
        .keys()
        .filter(|k| {
            // The layout version and the kept entries themselves are this state's own.
            ![STATE_VERSION_KEY, KEPT_KEY].contains(&k.as_str())
                && KNOWN_FIELDS.contains(&k.as_str())
                && !state.fields.contains_key(k.as_str())
        })
        .cloned()
        .collect();
    if params.is_empty() && fields.is_empty() {
        return;
    }
    for id in params {
        if let Some(value) = kept.params.remove(&id) {
            state.params.insert(id, value);
        }
    }
    for key in fields {
        if let Some(value) = kept.fields.remove(&key) {
            state.fields.insert(key, value);
        }
    }
    let rest = if kept.params.is_empty() && kept.fields.is_empty() {
        Ok("null".to_string())
    } else {
        serde_json::to_string(&kept)
    };
    if let Ok(text) = rest {
        state.fields.insert(KEPT_KEY.to_string(), text);
    }
}

/// Stores `kept` in the state, unless it is larger than [`limits::MAX_KEPT_STATE_BYTES`].
fn keep(state: &mut PluginState, kept: KeptState) {
    let (params, fields) = (kept.params.len(), kept.fields.len());
    match serde_json::to_string(&kept) {
        Ok(text) if text.len() <= limits::MAX_KEPT_STATE_BYTES => {
            nice_log!(
                "state from layout version {} (this is {STATE_VERSION}): {params} unknown \
                 parameters and {fields} unknown fields kept to be saved again",
                kept.version
            );
            state.fields.insert(KEPT_KEY.to_string(), text);
        }
        _ => nice_warn!(
            "state from layout version {}: its {params} unknown parameters and {fields} \
             unknown fields exceed {} bytes and were dropped",
            kept.version,
            limits::MAX_KEPT_STATE_BYTES
        ),
    }
}

/// A saved value, checked against the parameter it belongs to.
enum Checked {
    /// A parameter of this version: the value to load, or `None` if it cannot be loaded.
    Known(Option<ParamValue>),
    /// A parameter this version does not have.
    Unknown(ParamValue),
}

fn checked_value(id: &str, value: ParamValue) -> Checked {
    if let Some(spec) = float_spec(id) {
        let value = match value {
            ParamValue::F32(v) if v.is_finite() => {
                Some(ParamValue::F32(v.clamp(spec.min, spec.max)))
            }
            _ => None,
        };
        Checked::Known(value)
    } else if let Some(variants) = enum_variant_ids(id) {
        let value = match value {
            ParamValue::I32(i) if usize::try_from(i).is_ok_and(|i| i < variants.len()) => {
                Some(ParamValue::I32(i))
            }
            ParamValue::String(s) if variants.contains(&s.as_str()) => Some(ParamValue::String(s)),
            _ => None,
        };
        Checked::Known(value)
    } else if BOOL_PARAMS.iter().any(|s| s.id == id) {
        Checked::Known(matches!(value, ParamValue::Bool(_)).then_some(value))
    } else {
        Checked::Unknown(value)
    }
}

/// The saved editor size clamped to [`limits::EDITOR_SIZES`]; the default if it is not a
/// pair of finite numbers.
fn checked_editor_size(saved: &str) -> String {
    let size = serde_json::from_str::<(f32, f32)>(saved)
        .ok()
        .filter(|(w, h)| w.is_finite() && h.is_finite())
        .unwrap_or(DEFAULT_EDITOR_SIZE);
    let [width, height] = &limits::EDITOR_SIZES;
    let clamped = (
        size.0.clamp(*width.start(), *width.end()),
        size.1.clamp(*height.start(), *height.end()),
    );
    serde_json::to_string(&clamped).unwrap_or_else(|_| saved.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(params: &[(&str, ParamValue)], fields: &[(&str, &str)]) -> PluginState {
        PluginState {
            version: String::new(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn values_outside_their_parameter_are_clamped_or_dropped() {
        let mut s = state(
            &[
                ("gain", ParamValue::F32(1e30)),
                ("width", ParamValue::F32(f32::NAN)),
                ("dist", ParamValue::Bool(true)),
                ("depth", ParamValue::F32(-5.0)),
                ("cancel", ParamValue::F32(12.5)),
                ("mode", ParamValue::I32(99)),
                ("bypass", ParamValue::F32(0.5)),
                ("preview", ParamValue::Bool(true)),
            ],
            &[],
        );
        migrate_state(&mut s);
        let f32_of = |id: &str| match s.params.get(id) {
            Some(ParamValue::F32(v)) => Some(*v),
            _ => None,
        };
        assert_eq!(f32_of("gain"), Some(12.0), "clamped to the range's top");
        assert_eq!(f32_of("depth"), Some(0.0), "clamped to the range's bottom");
        assert_eq!(
            f32_of("cancel"),
            Some(12.5),
            "a value in range is untouched"
        );
        // Dropped values load the parameter's default, as a fresh instance has.
        for dropped in ["width", "dist"] {
            let default = float_spec(dropped).unwrap().default;
            assert_eq!(f32_of(dropped), Some(default), "{dropped}");
        }
        assert!(matches!(s.params.get("mode"), Some(ParamValue::String(m)) if m == "speakers"));
        assert!(matches!(
            s.params.get("bypass"),
            Some(ParamValue::Bool(false))
        ));
        assert!(matches!(
            s.params.get("preview"),
            Some(ParamValue::Bool(true))
        ));
    }

    #[test]
    fn a_state_from_before_a_parameter_existed_loads_its_default() {
        let mut s = state(&[("width", ParamValue::F32(40.0))], &[]);
        migrate_state(&mut s);
        assert!(matches!(s.params.get("yaw"), Some(ParamValue::F32(v)) if *v == 0.0));
        assert!(matches!(s.params.get("width"), Some(ParamValue::F32(v)) if *v == 40.0));
    }

    #[test]
    fn a_session_never_restores_listening_to_other_machines() {
        let saved = r#"{"enabled":true,"port":9100,"all_interfaces":true}"#;
        let mut s = state(&[], &[(TRACKING_KEY, saved)]);
        migrate_state(&mut s);
        let loaded: TrackingSettings = serde_json::from_str(&s.fields[TRACKING_KEY]).unwrap();
        assert_eq!(
            loaded,
            TrackingSettings {
                enabled: true,
                port: 9100,
                all_interfaces: false,
                invert_yaw: false,
            }
        );
    }

    #[test]
    fn a_state_without_a_readable_device_loads_with_none() {
        let none = serde_json::to_string(&DeviceChoice::default()).unwrap();
        for fields in [
            vec![],
            vec![(DEVICE_KEY, "[1, 2]")],
            vec![(DEVICE_KEY, "{")],
        ] {
            let mut s = state(&[], &fields);
            migrate_state(&mut s);
            assert_eq!(s.fields.get(DEVICE_KEY), Some(&none), "{fields:?}");
        }
        let chosen = r#"{"chosen":true,"device":null}"#;
        let mut s = state(&[], &[(DEVICE_KEY, chosen)]);
        migrate_state(&mut s);
        assert_eq!(s.fields.get(DEVICE_KEY).map(String::as_str), Some(chosen));
    }

    #[test]
    fn a_mode_is_kept_only_if_it_exists() {
        let cases = [
            (ParamValue::I32(2), true),
            (ParamValue::I32(3), false),
            (ParamValue::I32(-1), false),
            (ParamValue::String("headphones".into()), true),
            (ParamValue::String("surround".into()), false),
        ];
        for (value, kept) in cases {
            let mut s = state(&[("mode", value.clone())], &[]);
            migrate_state(&mut s);
            let loaded = s.params.get("mode").cloned();
            if kept {
                assert_eq!(format!("{loaded:?}"), format!("{:?}", Some(value)));
            } else {
                // The default mode instead.
                assert_eq!(
                    format!("{loaded:?}"),
                    format!("{:?}", Some(ParamValue::String("speakers".into()))),
                    "{value:?}"
                );
            }
        }
    }

    #[test]
    fn a_newer_state_loads_what_is_known_and_keeps_the_rest() {
        let mut s = state(
            &[
                ("width", ParamValue::F32(40.0)),
                ("future-knob", ParamValue::F32(3.0)),
            ],
            &[
                (STATE_VERSION_KEY, "7"),
                ("preset", "\"laptop\""),
                ("future-field", "[1,2]"),
            ],
        );
        migrate_state(&mut s);
        assert!(matches!(s.params.get("width"), Some(ParamValue::F32(v)) if *v == 40.0));
        assert!(!s.params.contains_key("future-knob"));
        assert!(!s.fields.contains_key("future-field"));
        assert_eq!(s.fields[STATE_VERSION_KEY], "1");
        assert_eq!(s.fields["preset"], "\"laptop\"");
        let kept: KeptState = serde_json::from_str(&s.fields[KEPT_KEY]).unwrap();
        assert_eq!(kept.version, 7);
        assert!(matches!(kept.params.get("future-knob"), Some(ParamValue::F32(v)) if *v == 3.0));
        assert_eq!(kept.fields["future-field"], "[1,2]");
    }

    #[test]
    fn a_newer_state_keeps_its_own_values_of_known_parameters() {
        let mut s = state(
            &[
                ("gain", ParamValue::F32(20.0)),
                ("mode", ParamValue::String("surround".into())),
            ],
            &[(STATE_VERSION_KEY, "2")],
        );
        migrate_state(&mut s);
        assert!(matches!(s.params.get("gain"), Some(ParamValue::F32(v)) if *v == 12.0));
        let kept: KeptState = serde_json::from_str(&s.fields[KEPT_KEY]).unwrap();
        assert!(matches!(kept.params.get("gain"), Some(ParamValue::F32(v)) if *v == 20.0));
        assert!(matches!(kept.params.get("mode"), Some(ParamValue::String(m)) if m == "surround"));
    }

    #[test]
    fn a_state_of_this_version_keeps_nothing_aside_and_clears_what_was_kept() {
        let mut s = state(
            &[("width", ParamValue::F32(40.0))],
            &[(STATE_VERSION_KEY, "1")],
        );
        migrate_state(&mut s);
        assert_eq!(s.fields[KEPT_KEY], "null");
        let earlier = r#"{"version":3,"params":{},"fields":{"x":"1"}}"#;
        let mut s = state(&[], &[(STATE_VERSION_KEY, "1"), (KEPT_KEY, earlier)]);
        migrate_state(&mut s);
        assert_eq!(
            s.fields[KEPT_KEY], earlier,
            "a state's own kept entries stay"
        );
    }

    /// A session saved by a version without devices or zones, after this one: it kept both
    /// aside, and this version takes them back.
    #[test]
    fn what_an_earlier_version_kept_aside_is_taken_back() {
        let device = r#"{"chosen":true,"device":null}"#;
        let kept = serde_json::to_string(&KeptState {
            version: 1,
            params: [
                ("zone".to_string(), ParamValue::F32(5.0)),
                ("width".to_string(), ParamValue::F32(10.0)),
                ("future-knob".to_string(), ParamValue::F32(1.0)),
            ]
            .into(),
            fields: [(DEVICE_KEY.to_string(), device.to_string())].into(),
        })
        .unwrap();
        let mut s = state(
            &[("width", ParamValue::F32(40.0))],
            &[(STATE_VERSION_KEY, "1"), (KEPT_KEY, &kept)],
        );
        migrate_state(&mut s);
        assert!(matches!(s.params.get("zone"), Some(ParamValue::F32(v)) if *v == 5.0));
        assert!(
            matches!(s.params.get("width"), Some(ParamValue::F32(v)) if *v == 40.0),
            "the state's own value wins"
        );
        assert_eq!(s.fields[DEVICE_KEY], device);
        let rest: KeptState = serde_json::from_str(&s.fields[KEPT_KEY]).unwrap();
        assert_eq!(
            rest.params.keys().collect::<Vec<_>>(),
            ["future-knob", "width"]
        );
        assert!(rest.fields.is_empty());
        // What it kept of a newer layout's state is that version's, and stays.
        let newer = kept.replace(r#""version":1"#, r#""version":2"#);
        let mut s = state(&[], &[(STATE_VERSION_KEY, "1"), (KEPT_KEY, &newer)]);
        migrate_state(&mut s);
        assert!(matches!(s.params.get("zone"), Some(ParamValue::F32(v)) if *v == 0.0));
        assert_eq!(s.fields[KEPT_KEY], newer);
    }

    #[test]
    fn the_editor_size_is_clamped_to_the_limits() {
        let cases = [
            ("[1e9,-5]", (8192.0, 480.0)),
            ("[1000,680]", (1000.0, 680.0)),
            ("[\"wide\",1]", DEFAULT_EDITOR_SIZE),
            ("[1e39,1e39]", DEFAULT_EDITOR_SIZE),
        ];
        for (saved, expected) in cases {
            let mut s = state(&[], &[(EDITOR_SIZE_KEY, saved)]);
            migrate_state(&mut s);
            let size: (f32, f32) = serde_json::from_str(&s.fields[EDITOR_SIZE_KEY]).unwrap();
            assert_eq!(size, expected, "{saved}");
        }
    }
}
