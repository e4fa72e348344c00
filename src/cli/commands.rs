//! The commands other than `render` (see [`super::render`]), and the render loop they share.

use super::audio_file::{write_float, write_text};
use super::settings::preset;
use super::{say, CliError};
use indicatif::{ProgressBar, ProgressStyle};
use soundstage::design::config::presets::{self, DEFAULT_PRESET};
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics::{self, standard_perturbations};
use soundstage::design::filters::chain::{design, DesignInput};
use soundstage::design::model::device::{MeasuredDevice, MAX_POSE_GAP_M, MAX_YAW_GAP_DEG};
use soundstage::design::model::measured::{to_right, MeasuredHead};
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::design::model::sofa::{HrirSet, SofaSet};
use soundstage::design::model::sofa_device::DeviceSet;
use soundstage::offline::levels::{dbfs, true_peak};
use soundstage::offline::measure;
use soundstage::offline::render::{engine_for, stream};
use soundstage::offline::test_mix::TestMix;
use soundstage::params::{
    BoolSpec, FloatSpec, BOOL_PARAMS, FLOAT_PARAMS, LATENCY_HELP, LATENCY_ID, MODE_HELP, MODE_ID,
};
use std::fmt::Write as _;
use std::path::Path;

/// Host block size the CLI streams in (any size gives the same output).
const BLOCK: usize = 1024;

/// Files longer than this (seconds) get a progress bar.
const PROGRESS_FROM_S: f64 = 20.0;

/// A bar of rendering progress over `frames` at `sample_rate`, shown for material longer
/// than [`PROGRESS_FROM_S`] (hidden where the length is unknown).
pub(super) fn progress_bar(frames: Option<u64>, sample_rate: u32) -> ProgressBar {
    let Some(frames) = frames.filter(|&f| f as f64 / f64::from(sample_rate) > PROGRESS_FROM_S)
    else {
        return ProgressBar::hidden();
    };
    let bar = ProgressBar::new(frames);
    bar.set_style(
        ProgressStyle::with_template("{spinner} rendering {msg}[{bar:40}] {percent}% ({eta} left)")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar
}

/// Renders `left`/`right` with `settings`, with a progress bar on long material.
pub(super) fn process(
    settings: &Settings,
    outputs: usize,
    plant: &dyn Plant,
    sample_rate: u32,
    left: &[f32],
    right: &[f32],
) -> (Vec<Vec<f32>>, usize) {
    let (mut engine, _) = engine_for(settings, outputs, sample_rate as f64, plant);
    let latency = engine.latency();
    let bar = progress_bar(Some(left.len() as u64), sample_rate);
    let out = stream(&mut engine, left, right, &[BLOCK], |done| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    (out, latency)
}

/// Sample peak the demo's input is scaled to, dBFS.
const DEMO_INPUT_PEAK_DBFS: f32 = -6.0;

/// `soundstage demo`.
///
/// NOTE: long because the demo is one script: make the mix, render it, write the files and
/// the summary a new user reads.
pub fn demo(outdir: &Path) -> Result<(), CliError> {
    if outdir.is_file() {
        return Err(CliError::DirectoryIsFile {
            path: outdir.to_path_buf(),
            command: "demo",
        });
    }
    std::fs::create_dir_all(outdir).map_err(|source| CliError::Write {
        path: outdir.to_path_buf(),
        source,
    })?;
    let sample_rate = 48_000;
    let mut mix = TestMix::generate(sample_rate as f64, 8.0, 1);
    // The synthetic parts sum above full scale: bring the mix to a mastered level, so that
    // the output (which the cancellation raises by a few dB) stays below full scale too.
    let mix_peak = mix
        .left
        .iter()
        .chain(&mix.right)
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let to_level = 10f32.powf(DEMO_INPUT_PEAK_DBFS / 20.0) / mix_peak;
    for v in mix.left.iter_mut().chain(mix.right.iter_mut()) {
        *v *= to_level;
    }
    let settings = Settings::default();
    let outputs = 2;
    let sphere = SphereHead::default();
    let (out, latency) = process(
        &settings,
        outputs,
        &sphere,
        sample_rate,
        &mix.left,
        &mix.right,
    );
    let input_path = outdir.join("input.wav");
    let output_path = outdir.join("output.wav");
    write_float(
        &input_path,
        sample_rate,
        &[mix.left.clone(), mix.right.clone()],
    )?;
    write_float(&output_path, sample_rate, &out)?;

    let canceller = design(
        &DesignInput {
            settings: Settings {
                mode: Mode::Binaural,
                ..settings
            },
            outputs,
            sample_rate: sample_rate as f64,
        },
        &SphereHead::default(),
    );
    let mut text = String::new();
    let _ = writeln!(text, "Soundstage demo\n===============\n");
    let _ = writeln!(text, "Input: a synthetic 8 s stereo mix at {sample_rate} Hz: a centred voice-like source, a plucked");
    let _ = writeln!(
        text,
        "string panned hard left, an electric piano panned hard right, decorrelated ambience.\n"
    );
    let _ = writeln!(
        text,
        "Processing: preset \"{DEFAULT_PRESET}\" (studio monitors, ±30° at 1.2 m), speakers mode,"
    );
    let _ = writeln!(
        text,
        "width {:.0} %, depth {:.0} %, cancellation {:.0} dB, virtual speakers at ±{:.0}°, bass below {:.0} Hz untouched.",
        settings.width * 100.0,
        settings.depth * 100.0,
        settings.cancellation_db,
        settings.virtual_angle_deg,
        settings.bass_crossover_hz
    );
    let _ = writeln!(text, "The upmix split the mix into left, right and centre; the sides became virtual speakers through");
    let _ = writeln!(
        text,
        "crosstalk cancellation; the centre stayed in the middle; all paths were delay-aligned.\n"
    );
    let _ = writeln!(
        text,
        "Latency: {latency} samples ({:.1} ms), compensated in output.wav.\n",
        latency as f64 * 1000.0 / sample_rate as f64
    );
    let _ = writeln!(text, "Levels (RMS dBFS / true peak dBTP):");
    for (name, x) in [
        ("input L", &mix.left),
        ("input R", &mix.right),
        ("output L", &out[0]),
        ("output R", &out[1]),
    ] {
        let _ = writeln!(
            text,
            "  {name:9} {:7.1} / {:6.1}",
            measure::db(measure::power(x)),
            dbfs(true_peak(x))
        );
    }
    let _ = writeln!(
        text,
        "\nPredicted separation at the ears (canceller alone, 300 Hz-6 kHz, third-octave mean):"
    );
    for p in standard_perturbations() {
        let _ = writeln!(
            text,
            "  {:11} {:5.1} dB",
            p.label,
            metrics::perturbed_separation(&canceller, &p).mean_db
        );
    }
    write_text(&outdir.join("summary.txt"), &text)?;
    say!(
        "wrote {}, {} and {}",
        input_path.display(),
        output_path.display(),
        outdir.join("summary.txt").display()
    );
    Ok(())
}

/// `soundstage params`, with a preset's values in place of the defaults if one is named
/// (in JSON beside them, under `preset`, so that `default` always means the default).
pub fn params(json: bool, preset_name: Option<&str>) -> Result<(), CliError> {
    let base = Settings::default();
    let defaults = match preset_name {
        Some(name) => preset(name)?.apply(&base),
        None => base,
    };
    let value_of = |s: &FloatSpec| (s.read)(&defaults) as f32;
    let switch_of = |s: &BoolSpec| (s.read)(&defaults);
    let on_off = |on: bool| if on { "on" } else { "off" };
    if json {
        let mut list: Vec<(serde_json::Value, serde_json::Value)> = FLOAT_PARAMS
            .iter()
            .map(|s| {
                let entry = serde_json::json!({
                    "id": s.id, "name": s.name, "kind": "float", "min": s.min, "max": s.max,
                    "unit": s.unit.trim(), "default": s.default, "help": s.help,
                });
                (entry, serde_json::json!(value_of(s)))
            })
            .collect();
        list.push((
            serde_json::json!({
                "id": MODE_ID, "name": "Mode", "kind": "enum", "values": ["speakers", "headphones", "binaural"],
                "default": base.mode.id(), "help": MODE_HELP,
            }),
            serde_json::json!(defaults.mode.id()),
        ));
        list.extend(BOOL_PARAMS.iter().map(|s| {
            let entry = serde_json::json!({ "id": s.id, "name": s.name, "kind": "bool", "values": ["off", "on"],
                "default": on_off(s.default), "help": s.help });
            (entry, serde_json::json!(on_off(switch_of(s))))
        }));
        list.push((
            serde_json::json!({
                "id": LATENCY_ID, "name": "Latency", "kind": "enum", "values": ["normal", "low"],
                "default": base.latency.id(), "help": LATENCY_HELP,
            }),
            serde_json::json!(defaults.latency.id()),
        ));
        let list: Vec<serde_json::Value> = list
            .into_iter()
            .map(|(mut entry, value)| {
                if preset_name.is_some() {
                    entry["preset"] = value;
                }
                entry
            })
            .collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&list).expect("JSON values serialise")
        );
        return Ok(());
    }
    say!(
        "{:<8} {:<20} {:<26} {:<12} help",
        "id",
        "name",
        "range",
        preset_name.map_or("default", |_| "preset")
    );
    for s in &FLOAT_PARAMS {
        say!(
            "{:<8} {:<20} {:<26} {:<12} {}",
            s.id,
            s.name,
            format!("{} to {}", s.format(s.min), s.format(s.max)),
            s.format(value_of(s)),
            s.help
        );
    }
    say!(
        "{:<8} {:<20} {:<26} {:<12} {}",
        MODE_ID,
        "Mode",
        "speakers|headphones|binaural",
        defaults.mode.id(),
        MODE_HELP
    );
    for s in &BOOL_PARAMS {
        say!(
            "{:<8} {:<20} {:<26} {:<12} {}",
            s.id,
            s.name,
            "off|on",
            on_off(switch_of(s)),
            s.help
        );
    }
    say!(
        "{:<8} {:<20} {:<26} {:<12} {}",
        LATENCY_ID,
        "Latency",
        "normal|low",
        defaults.latency.id(),
        LATENCY_HELP
    );
    Ok(())
}

/// `soundstage presets`.
pub fn presets(json: bool) -> Result<(), CliError> {
    let all = presets::all();
    if json {
        let list: Vec<serde_json::Value> = all
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id, "name": p.name, "description": p.description, "mode": p.mode.id(),
                    "outputs": p.outputs, "driver_spacing_cm": p.driver_spacing_cm,
                    "listening_distance_m": p.listening_distance_m, "virtual_angle_deg": p.virtual_angle_deg,
                    "listener_offset_cm": p.listener_offset_cm, "bass_crossover_hz": p.bass_crossover_hz,
                })
            })
            .collect();
        say!(
            "{}",
            serde_json::to_string_pretty(&list).expect("JSON values serialise")
        );
        return Ok(());
    }
    for p in &all {
        let default = if p.id == DEFAULT_PRESET {
            " (default)"
        } else {
            ""
        };
        say!("{:<16} {}{default}: {}", p.id, p.name, p.description);
    }
    Ok(())
}

/// `soundstage sofa`.
pub fn sofa(file: &Path, json: bool) -> Result<(), CliError> {
    let set = soundstage::design::model::sofa::read_any(file).map_err(|source| CliError::Sofa {
        path: file.to_path_buf(),
        source,
    })?;
    match set {
        SofaSet::Head(set) => describe_head(file, &set, json),
        SofaSet::Device(set) => describe_device(file, &set, json),
    }
}

/// `soundstage sofa` for a measured device: its drivers, listeners and normalisation.
fn describe_device(file: &Path, set: &DeviceSet, json: bool) -> Result<(), CliError> {
    let device = MeasuredDevice::new(set);
    let (gain_db, shift_s) = device.normalisation();
    if json {
        let listeners: Vec<serde_json::Value> = set
            .listeners
            .iter()
            .map(|l| {
                serde_json::json!({
                    "offset_m": l.offset_m, "distance_m": l.distance_m, "yaw_deg": l.yaw_deg,
                    "left": l.irs[0], "right": l.irs[1],
                    "delay_samples": {"left": l.delays[0], "right": l.delays[1]},
                })
            })
            .collect();
        let value = serde_json::json!({
            "kind": "device",
            "convention": set.convention.attribute(),
            "name": set.name,
            "sample_rate": set.sample_rate,
            "taps": set.taps,
            "drivers": set.drivers(),
            "spacing_m": set.spacing_m,
            "emitters_from_left": set.emitters.iter().map(|e| e + 1).collect::<Vec<_>>(),
            "driver_x_m": set.driver_x_m,
            "listeners": listeners,
            "nominal_listener": set.nominal + 1,
            "normalisation": {"gain_db": gain_db, "delay_removed_s": shift_s},
        });
        say!(
            "{}",
            serde_json::to_string(&value).expect("JSON values serialise")
        );
        return Ok(());
    }
    let emitters: Vec<String> = set.emitters.iter().map(|e| (e + 1).to_string()).collect();
    say!(
        "{}: \"{}\", a device measured at a head ({})",
        file.display(),
        set.name,
        set.convention
    );
    say!(
        "  {} Hz, {} taps; {} drivers {:.1} cm apart (the file's emitters {} from the listener's left)",
        set.sample_rate,
        set.taps,
        set.drivers(),
        set.spacing_m * 100.0,
        emitters.join(", ")
    );
    say!("  {} listener positions:", set.listeners.len());
    for (i, l) in set.listeners.iter().enumerate() {
        let nominal = if i == set.nominal {
            " (designed for by default)"
        } else {
            ""
        };
        say!(
            "    {}: offset {:+.1} cm, distance {:.2} m, yaw {:+.1}°{nominal}",
            i + 1,
            l.offset_m * 100.0,
            l.distance_m,
            l.yaw_deg
        );
    }
    say!(
        "  made absolute: gain {gain_db:+.1} dB, {:.2} ms of the measuring system's delay taken out",
        shift_s * 1e3
    );
    say!(
        "  between measured positions: the nearest one, each path moved by its change in length \
         (designs within {:.0} cm and {:.0}° of one)",
        MAX_POSE_GAP_M * 100.0,
        MAX_YAW_GAP_DEG
    );
    Ok(())
}

/// `soundstage sofa` for a measured head: its rate, radius and horizontal directions.
fn describe_head(file: &Path, set: &HrirSet, json: bool) -> Result<(), CliError> {
    let head = MeasuredHead::new(set);
    let kept = head.azimuths();
    let front: Vec<f64> = kept.iter().map(|a| to_right(*a)).collect();
    if json {
        let measurements: Vec<serde_json::Value> = set
            .measurements
            .iter()
            .map(|m| {
                serde_json::json!({
                    "azimuth_deg": m.azimuth_deg,
                    "left": m.irs[0],
                    "right": m.irs[1],
                })
            })
            .collect();
        let value = serde_json::json!({
            "kind": "head",
            "name": set.name,
            "sample_rate": set.sample_rate,
            "radius_m": set.radius_m,
            "horizontal_measurements": measurements,
            "kept_azimuths_deg": kept,
        });
        say!(
            "{}",
            serde_json::to_string(&value).expect("JSON values serialise")
        );
        return Ok(());
    }
    let taps = set.measurements.first().map_or(0, |m| m.irs[0].len());
    say!("{}: \"{}\"", file.display(), set.name);
    say!(
        "  {} Hz, {} taps, measured at {:.2} m; {} directions in the horizontal plane",
        set.sample_rate,
        taps,
        set.radius_m,
        set.measurements.len()
    );
    let lo = front.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = front.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    say!(
        "  designs for drivers from {lo:.0}° to {hi:.0}° (positive to the listener's right), {} directions kept",
        kept.len()
    );
    Ok(())
}
