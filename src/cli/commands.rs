//! The commands themselves.

use super::audio_file::{read_stereo, same_file, write_float, write_text, write_wav, OutputFormat};
use super::settings::{describe, from_args, origin, plant_from, preset};
use super::{say, CliError, SettingsArgs};
use indicatif::{ProgressBar, ProgressStyle};
use soundstage::design::config::presets::{self, DEFAULT_PRESET};
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics::{self, standard_perturbations};
use soundstage::design::filters::chain::{design, DesignInput};
use soundstage::design::model::measured::{to_right, MeasuredHead};
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::design::worker::design_checked;
use soundstage::dsp::engine::Engine;
use soundstage::offline::audio_in::Stereo;
use soundstage::offline::levels::{dbfs, integrated_loudness, true_peak};
use soundstage::offline::measure;
use soundstage::offline::poses::PoseTrack;
use soundstage::offline::render::{engine_for, stream, stream_following};
use soundstage::offline::test_mix::TestMix;
use soundstage::params::{BoolSpec, FloatSpec, BOOL_PARAMS, FLOAT_PARAMS, MODE_HELP, MODE_ID};
use soundstage::tracking::{Pose, Tracked};
use std::fmt::Write as _;
use std::path::Path;

/// Host block size the CLI streams in (any size gives the same output).
const BLOCK: usize = 1024;

/// Files longer than this (seconds) get a progress bar.
const PROGRESS_FROM_S: f64 = 20.0;

/// Renders `left`/`right` with `settings`, with a progress bar on long material.
fn process(
    settings: &Settings,
    outputs: usize,
    plant: &dyn Plant,
    sample_rate: u32,
    left: &[f32],
    right: &[f32],
) -> (Vec<Vec<f32>>, usize) {
    let (mut engine, _) = engine_for(settings, outputs, sample_rate as f64, plant);
    let latency = engine.latency();
    let long = left.len() as f64 / sample_rate as f64 > PROGRESS_FROM_S;
    let bar = if long {
        ProgressBar::new(left.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} rendering [{bar:40}] {percent}% ({eta} left)")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    let out = stream(&mut engine, left, right, &[BLOCK], |done| {
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    (out, latency)
}

/// Most bytes a pose file may have (an hour at 120 poses a second is about 20 MB).
const MAX_POSE_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads and parses a pose file.
fn read_poses(path: &Path) -> Result<PoseTrack, CliError> {
    let read = |source| CliError::Read {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::metadata(path).map_err(read)?.len();
    if bytes > MAX_POSE_FILE_BYTES {
        return Err(CliError::PosesTooLarge {
            path: path.to_path_buf(),
            bytes,
            limit: MAX_POSE_FILE_BYTES,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    PoseTrack::parse(&text).map_err(|source| CliError::Poses {
        path: path.to_path_buf(),
        source,
    })
}

/// Renders like [`process`] while the listener follows `track`: each new pose is designed
/// for through the tracker's path (`params::follow`) and crossfaded to. Returns the output,
/// the latency and how many designs were made.
fn process_following(
    settings: &Settings,
    outputs: usize,
    plant: &dyn Plant,
    sample_rate: u32,
    (left, right): (&[f32], &[f32]),
    track: &PoseTrack,
) -> Result<(Vec<Vec<f32>>, usize, usize), CliError> {
    let sr = sample_rate as f64;
    let at = |pose: Pose| {
        let mut s = *settings;
        let tracked = Tracked {
            pose,
            absolute: true,
            weight: 1.0,
        };
        soundstage::params::follow(&mut s, &tracked);
        s
    };
    let input = |settings| DesignInput {
        settings,
        outputs,
        sample_rate: sr,
    };
    // The first pose must be designable: a head that cannot serve it is an error, as it is
    // for a static render; later poses it cannot serve keep the last design.
    let start = track.at(0.0);
    let mut first = design_checked(&input(at(start)), plant, None)?;
    // Each design starts its searches where the previous one's ended, as the plugin's
    // designer does for a tracked head.
    let mut search_start = first.take_search_start();
    let mut engine = Engine::new(Box::new(first.filters), sr, settings.controls());
    engine.settle_controls();
    let latency = engine.latency();
    let (out, designs) = stream_following(
        &mut engine,
        (left, right),
        (sr, start),
        track,
        |pose| {
            let mut made = design_checked(&input(at(pose)), plant, search_start.as_deref()).ok()?;
            search_start = made.take_search_start();
            Some(Box::new(made.filters))
        },
        |_| {},
    );
    Ok((out, latency, designs + 1))
}

/// What `soundstage render` is asked to do.
pub struct RenderJob<'a> {
    /// The stereo input.
    pub input: &'a Path,
    /// The WAV file to write.
    pub output: &'a Path,
    /// Its sample format.
    pub format: OutputFormat,
    /// How to scale the output, if at all.
    pub normalize: Option<Normalize>,
    /// A listener trajectory to follow.
    pub poses: Option<&'a Path>,
}

/// What `--normalize` brings the output to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Normalize {
    /// A true peak of -1 dBTP (`NORMALIZED_PEAK_DBTP`).
    Peak,
    /// The input's integrated loudness, so that the processing can be judged at equal
    /// loudness (the peak warning still applies).
    Loudness,
}

/// True peak `--normalize` brings the output to, dBTP: a decibel below full scale leaves
/// room for a lossy encoder's overshoot.
pub const NORMALIZED_PEAK_DBTP: f64 = -1.0;

/// Refuses an output path that cannot be the WAV file asked for, before any work: a
/// directory, a name that is not a WAV file's, the input itself.
fn check_output(input: &Path, output: &Path) -> Result<(), CliError> {
    if output.is_dir() {
        return Err(CliError::OutputIsDirectory {
            output: output.to_path_buf(),
        });
    }
    let wav = output
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
    if !wav {
        return Err(CliError::OutputNotWav {
            output: output.to_path_buf(),
        });
    }
    if input == output || same_file(input, output) {
        return Err(CliError::SameFile {
            output: output.to_path_buf(),
        });
    }
    Ok(())
}

/// A scoped thread's result, its panic carried on.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The output's true peak (linear) and the input's and output's integrated loudness, each
/// channel's peak and each loudness on a thread of its own: together they cost as much as
/// the render.
fn levels(input: &Stereo, out: &[Vec<f32>], rate: f64) -> (f64, Option<f64>, Option<f64>) {
    std::thread::scope(|scope| {
        let peaks: Vec<_> = out.iter().map(|c| scope.spawn(|| true_peak(c))).collect();
        let input_loudness =
            scope.spawn(|| integrated_loudness(&[&input.left, &input.right], rate));
        let channels: Vec<&[f32]> = out.iter().map(Vec::as_slice).collect();
        let rendered_loudness = integrated_loudness(&channels, rate);
        let peak = peaks.into_iter().map(joined).fold(0.0, f64::max);
        (peak, joined(input_loudness), rendered_loudness)
    })
}

/// The drivers' names in line order, leftmost first, as the output's channels hold them.
fn driver_order(outputs: usize) -> &'static str {
    match outputs {
        2 => "L, R",
        3 => "L, C, R",
        _ => "L, inner L, inner R, R",
    }
}

/// `soundstage render`.
pub fn render(job: &RenderJob, args: &SettingsArgs) -> Result<(), CliError> {
    let (input, output) = (job.input, job.output);
    check_output(input, output)?;
    let (settings, outputs) = from_args(args)?;
    let track = job.poses.map(read_poses).transpose()?;
    let plant = plant_from(args, &settings, outputs)?;
    let audio = read_stereo(input, outputs, job.format)?;
    let nyquist = f64::from(audio.sample_rate) / 2.0;
    if nyquist < metrics::SEPARATION_BAND.1 {
        eprintln!(
            "soundstage: warning: {} is sampled at {} Hz, so it holds nothing above {nyquist:.0} Hz, \
             below the top of the {:.0} Hz-{:.0} kHz band where the cancellation works: expect \
             a narrower image than at 44.1 kHz or more",
            input.display(),
            audio.sample_rate,
            metrics::SEPARATION_BAND.0,
            metrics::SEPARATION_BAND.1 / 1000.0
        );
    }
    let (mut out, latency, designs) = match &track {
        Some(track) => process_following(
            &settings,
            outputs,
            plant.as_ref(),
            audio.sample_rate,
            (&audio.left, &audio.right),
            track,
        )?,
        None => {
            let (out, latency) = process(
                &settings,
                outputs,
                plant.as_ref(),
                audio.sample_rate,
                &audio.left,
                &audio.right,
            );
            (out, latency, 1)
        }
    };
    let rate = f64::from(audio.sample_rate);
    let (rendered_peak, input_loudness, rendered_loudness) = levels(&audio, &out, rate);
    let gain = match (job.normalize, input_loudness, rendered_loudness) {
        (Some(Normalize::Peak), ..) if rendered_peak > 0.0 => {
            10f64.powf(NORMALIZED_PEAK_DBTP / 20.0) / rendered_peak
        }
        (Some(Normalize::Loudness), Some(wanted), Some(got)) => 10f64.powf((wanted - got) / 20.0),
        (Some(Normalize::Loudness), ..) => {
            eprintln!(
                "soundstage: warning: {} is too short or too quiet for a loudness reading (400 ms above -70 LUFS): not normalized",
                input.display()
            );
            1.0
        }
        _ => 1.0,
    };
    if gain != 1.0 {
        for channel in &mut out {
            channel
                .iter_mut()
                .for_each(|v| *v = (f64::from(*v) * gain) as f32);
        }
    }
    let peak_dbtp = dbfs(rendered_peak * gain);
    let written = write_wav(output, audio.sample_rate, &out, job.format)?;
    // The warnings first: a reader that closes standard output early must still see them.
    if peak_dbtp > 0.0 {
        eprintln!(
            "soundstage: warning: {} peaks at {peak_dbtp:+.1} dBTP and clips in players: lower the input by {:.1} dB, or add --normalize peak",
            output.display(),
            // Rounded up, so that the gain named is enough.
            (peak_dbtp * 10.0).ceil() / 10.0
        );
    }
    if written.clipped > 0 {
        eprintln!(
            "soundstage: warning: {} samples of {} were clipped at full scale ({}): add --normalize peak, or use --format f32",
            written.clipped,
            output.display(),
            job.format.describe()
        );
    }
    let frames = audio.left.len();
    say!(
        "{} -> {}: {frames} frames at {} Hz ({:.1} s), read as {}",
        input.display(),
        output.display(),
        audio.sample_rate,
        frames as f64 / f64::from(audio.sample_rate),
        audio.read_as
    );
    say!("settings ({}): {}", origin(args), describe(&settings));
    say!(
        "{outputs} drivers in line order, leftmost first: {} ({}, {}); {} mode{}, {}; latency of {latency} samples compensated{}",
        driver_order(outputs),
        job.format.describe(),
        match written.mask {
            None => "plain stereo header".to_string(),
            Some(0) => "channel mask none: no standard speaker layout".to_string(),
            Some(mask) => format!("channel mask 0x{mask:X}"),
        },
        settings.mode.id(),
        if settings.preview { ", headphone preview" } else { "" },
        plant.name(),
        if track.is_some() {
            format!("; following the listener ({designs} poses designed)")
        } else {
            String::new()
        }
    );
    let lufs = |l: Option<f64>| l.map_or("-inf LUFS".to_string(), |l| format!("{l:.1} LUFS"));
    say!(
        "true peak {peak_dbtp:+.1} dBTP, loudness {} (input {}){}",
        lufs(rendered_loudness.map(|l| l + dbfs(gain))),
        lufs(input_loudness),
        if gain != 1.0 {
            format!(", normalized by {:+.1} dB", dbfs(gain))
        } else {
            String::new()
        }
    );
    Ok(())
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
    let set = soundstage::design::model::sofa::read(file).map_err(|source| CliError::Sofa {
        path: file.to_path_buf(),
        source,
    })?;
    let head = MeasuredHead::new(&set);
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
