//! `soundstage render`: the checks before any work, the render (static or following a
//! listener), the output's levels and normalisation, the file and the summary.

use super::audio_file::{read_stereo, same_file, write_wav, OutputFormat};
use super::commands::process;
use super::settings::{describe, from_args, origin, plant_from};
use super::{say, CliError, SettingsArgs};
use soundstage::design::config::settings::Settings;
use soundstage::design::evaluate::metrics;
use soundstage::design::filters::chain::DesignInput;
use soundstage::design::model::plant::Plant;
use soundstage::design::worker::design_checked;
use soundstage::dsp::engine::Engine;
use soundstage::offline::audio_in::Stereo;
use soundstage::offline::levels::{dbfs, integrated_loudness, true_peak};
use soundstage::offline::poses::PoseTrack;
use soundstage::offline::render::stream_following;
use soundstage::tracking::{Pose, Tracked};
use std::path::Path;

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
