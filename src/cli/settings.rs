//! Settings from `--preset` and `--set ID=VALUE`, through the plugin's own parameter table.

use super::{CliError, SettingsArgs};
use soundstage::design::config::presets;
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::model::device::MeasuredDevice;
use soundstage::design::model::measured::MeasuredHead;
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::design::model::sofa::{read_any, SofaSet};
use soundstage::dsp::contract::LatencyMode;
use soundstage::params::{
    parse_number, units_like, BOOL_PARAMS, FLOAT_PARAMS, LATENCY_ID, MODE_ID,
};
use std::sync::Arc;

/// Every id `--set` accepts, for error messages.
fn known_ids() -> String {
    let mut ids: Vec<&str> = FLOAT_PARAMS.iter().map(|s| s.id).collect();
    ids.push(MODE_ID);
    ids.extend(BOOL_PARAMS.iter().map(|s| s.id));
    ids.push(LATENCY_ID);
    ids.join(", ")
}

/// Applies one `ID=VALUE` to `settings`.
pub fn apply_set(settings: &mut Settings, assignment: &str) -> Result<(), CliError> {
    let (id, value) = assignment
        .split_once('=')
        .map(|(a, b)| (a.trim(), b.trim()))
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| CliError::SetSyntax {
            given: assignment.to_string(),
        })?;
    let bad = |reason: String| CliError::BadValue {
        id: id.to_string(),
        value: value.to_string(),
        reason,
    };
    if let Some(spec) = FLOAT_PARAMS.iter().find(|s| s.id.eq_ignore_ascii_case(id)) {
        let v = parse_number(value, spec.unit).ok_or_else(|| {
            bad(format!(
                "expected a number, in {}",
                match units_like(spec.unit).as_str() {
                    "" => "no unit".to_string(),
                    units => units.to_string(),
                }
            ))
        })?;
        if !(spec.min..=spec.max).contains(&v) {
            return Err(bad(format!(
                "out of range; {} takes {} to {}",
                spec.name,
                spec.format(spec.min),
                spec.format(spec.max)
            )));
        }
        (spec.apply)(settings, v as f64);
        return Ok(());
    }
    if let Some(spec) = BOOL_PARAMS.iter().find(|s| s.id.eq_ignore_ascii_case(id)) {
        let on = match value.to_ascii_lowercase().as_str() {
            "on" | "true" | "1" | "yes" => true,
            "off" | "false" | "0" | "no" => false,
            _ => return Err(bad("expected on or off".to_string())),
        };
        (spec.apply)(settings, on);
        return Ok(());
    }
    if id.eq_ignore_ascii_case(MODE_ID) {
        settings.mode = choice(&Mode::ALL, Mode::id, value).map_err(bad)?;
        return Ok(());
    }
    if id.eq_ignore_ascii_case(LATENCY_ID) {
        settings.latency = choice(&LatencyMode::ALL, LatencyMode::id, value).map_err(bad)?;
        return Ok(());
    }
    Err(CliError::UnknownParam {
        id: id.to_string(),
        known: known_ids(),
    })
}

/// The value of an enum parameter whose identifier is `value` (any case), or why not: the
/// identifiers it takes.
fn choice<T: Copy>(all: &[T], id: fn(T) -> &'static str, value: &str) -> Result<T, String> {
    let wanted = value.to_ascii_lowercase();
    all.iter()
        .copied()
        .find(|&v| id(v) == wanted)
        .ok_or_else(|| {
            let ids: Vec<&str> = all.iter().map(|&v| id(v)).collect();
            match ids.split_last() {
                Some((last, [])) => format!("expected {last}"),
                Some((last, rest)) => format!("expected {} or {last}", rest.join(", ")),
                None => "takes no value".to_string(),
            }
        })
}

/// The preset named `name` (any case), or an error listing the presets.
pub fn preset(name: &str) -> Result<presets::Preset, CliError> {
    presets::find(name).ok_or_else(|| CliError::UnknownPreset {
        name: name.to_string(),
        known: presets::all()
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The settings and output count the arguments ask for: defaults, then the preset, then each
/// `--set` in order. Without `--outputs`, the preset's layout (or 2).
pub fn from_args(args: &SettingsArgs) -> Result<(Settings, usize), CliError> {
    let mut settings = Settings::default();
    let mut outputs = 2;
    if let Some(name) = &args.preset {
        let preset = preset(name)?;
        settings = preset.apply(&settings);
        outputs = preset.outputs;
    }
    for assignment in &args.sets {
        apply_set(&mut settings, assignment)?;
    }
    Ok((settings, args.outputs.map_or(outputs, usize::from)))
}

/// Where the settings came from, as the user gave them: `preset desktop, --set width=80%`.
pub fn origin(args: &SettingsArgs) -> String {
    let mut parts = vec![format!(
        "preset {}",
        args.preset
            .as_deref()
            .and_then(presets::find)
            .map_or(presets::DEFAULT_PRESET.to_string(), |p| p.id)
    )];
    parts.extend(args.sets.iter().map(|s| format!("--set {s}")));
    parts.join(", ")
}

/// What a command designs for: the settings, the number of drivers and the plant.
pub struct Target {
    /// The settings, with a measured device's geometry where the file gives it.
    pub settings: Settings,
    /// The number of drivers, one output each.
    pub outputs: usize,
    /// The measured head or device of `--sofa`, or the sphere.
    pub plant: Arc<dyn Plant>,
}

/// The geometry parameters a device measurement gives, unless `--set` gives them.
const DEVICE_GEOMETRY_IDS: [&str; 4] = ["spacing", "dist", "offset", "yaw"];

/// Whether the arguments `--set` parameter `id`.
fn is_set(args: &SettingsArgs, id: &str) -> bool {
    args.sets.iter().any(|s| {
        s.split_once('=')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case(id))
    })
}

/// Takes the driver count, spacing and nominal listener from a measured device, except what
/// the arguments give themselves (which the device's check then holds to the file).
fn adopt_device(
    args: &SettingsArgs,
    path: &std::path::Path,
    device: &MeasuredDevice,
    target: &mut Target,
) -> Result<(), CliError> {
    let measured = device.geometry();
    if args.outputs.is_none() {
        target.outputs = measured.drivers;
    }
    let s = &mut target.settings;
    for id in DEVICE_GEOMETRY_IDS.iter().filter(|id| !is_set(args, id)) {
        match *id {
            "spacing" => s.spacing_m = measured.spacing_m,
            "dist" => s.distance_m = measured.distance_m,
            "offset" => s.offset_m = measured.offset_m,
            _ => s.yaw_deg = measured.yaw_deg,
        }
    }
    for spec in FLOAT_PARAMS
        .iter()
        .filter(|p| DEVICE_GEOMETRY_IDS.contains(&p.id))
    {
        let value = (spec.read)(s);
        if !(f64::from(spec.min)..=f64::from(spec.max)).contains(&value) {
            return Err(CliError::DeviceGeometry {
                path: path.to_path_buf(),
                reason: format!(
                    "the device measurement puts the {} at {}, outside the {} to {} it takes",
                    spec.name.to_lowercase(),
                    spec.format(value as f32),
                    spec.format(spec.min),
                    spec.format(spec.max)
                ),
            });
        }
    }
    Ok(())
}

/// The settings, driver count and plant the arguments ask to design for: a SOFA file's
/// measured head or measured device (whose geometry the settings then take), or the sphere;
/// checked against the geometry.
pub fn target_from(args: &SettingsArgs) -> Result<Target, CliError> {
    let (settings, outputs) = from_args(args)?;
    let mut target = Target {
        settings,
        outputs,
        plant: Arc::new(SphereHead::default()),
    };
    if let Some(path) = &args.sofa {
        let set = read_any(path).map_err(|source| CliError::Sofa {
            path: path.clone(),
            source,
        })?;
        target.plant = match set {
            SofaSet::Head(set) => Arc::new(MeasuredHead::new(&set)),
            SofaSet::Device(set) => {
                let device = MeasuredDevice::new(&set);
                adopt_device(args, path, &device, &mut target)?;
                // A device that cannot serve the layout says so with the file's name.
                device
                    .check(&target.settings.geometry(target.outputs))
                    .map_err(|why| CliError::DeviceGeometry {
                        path: path.clone(),
                        reason: why.to_string(),
                    })?;
                Arc::new(device)
            }
        };
    }
    target
        .plant
        .check(&target.settings.geometry(target.outputs))
        .map_err(CliError::Design)?;
    Ok(target)
}
