//! `soundstage render`: the checks before any work, the render (static or following a
//! listener), the output's levels and normalisation, the file and the summary.

use super::audio_file::{
    encode_error, input_error, open_stereo, same_file, write_atomically, Finished, OutputFormat,
    WavEncoder, Written,
};
use super::commands::progress_bar;
use super::settings::{origin, target_from, Target};
use super::{say, write_line, CliError, SettingsArgs};
use crossbeam_channel::bounded;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use soundstage::design::evaluate::metrics;
use soundstage::design::filters::chain::DesignInput;
use soundstage::design::worker::design_checked;
use soundstage::dsp::engine::Engine;
use soundstage::offline::audio_in::StereoReader;
use soundstage::offline::levels::{dbfs, LoudnessMeter, TruePeakMeter};
use soundstage::offline::poses::PoseTrack;
use soundstage::offline::render::{engine_for, Aligned, Following, FOLLOW_BLOCK};
use soundstage::params::describe;
use soundstage::tracking::{Pose, Tracked};
use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// Frames read, rendered and written at a time: whole render blocks, so that a streamed
/// render is the same to the bit as one of the whole file at once; 1.4 s at 48 kHz.
const CHUNK_FRAMES: usize = 64 * FOLLOW_BLOCK;

/// Chunks that may wait between two threads of the render's pipeline: with the one each
/// thread holds, at most a few megabytes of audio are in memory, whatever the file's length.
const QUEUE_CHUNKS: usize = 2;

/// Bytes of one sample of the spill file a normalized render is measured through.
const SPILL_SAMPLE_BYTES: usize = 4;

/// What a streamed render measured and wrote.
struct Streamed {
    frames: u64,
    written: Written,
    /// The output's true peak before the gain (linear).
    peak: f64,
    input_loudness: Option<f64>,
    rendered_loudness: Option<f64>,
    gain: f64,
}

/// The gain `normalize` asks for, given the levels measured (a warning where the input is
/// too short or quiet for a loudness reading).
fn normalizing_gain(
    normalize: Option<Normalize>,
    input: &Path,
    peak: f64,
    (wanted, got): (Option<f64>, Option<f64>),
    console: &Console,
) -> f64 {
    match (normalize, wanted, got) {
        (Some(Normalize::Peak), ..) if peak > 0.0 => 10f64.powf(NORMALIZED_PEAK_DBTP / 20.0) / peak,
        (Some(Normalize::Loudness), Some(wanted), Some(got)) => 10f64.powf((wanted - got) / 20.0),
        (Some(Normalize::Loudness), ..) => {
            console.warn(format_args!(
                "{} is too short or too quiet for a loudness reading (400 ms above -70 LUFS): not normalized",
                input.display()
            ));
            1.0
        }
        _ => 1.0,
    }
}

/// Renders `reader` through `engine` into `job.output` on a pipeline of threads joined by
/// bounded queues: the reader decodes and measures the input's loudness, this thread runs
/// the engine (calling `before_block` before every block), a writer encodes the file and a
/// meter measures the output. Memory stays a few chunks whatever the length. A normalized
/// render cannot know its gain before the end: it is spilled as 32-bit float to an unnamed
/// temporary file beside the output, then scaled and encoded from there.
fn stream_render(
    job: &RenderJob,
    mut reader: StereoReader,
    engine: &mut Engine,
    mut before_block: impl FnMut(&mut Engine, usize),
    (bar, console): (&ProgressBar, &Console),
) -> Result<Streamed, CliError> {
    let (input, output) = (job.input, job.output);
    let outputs = engine.outputs();
    let rate = reader.sample_rate;
    let sr = f64::from(rate);
    let write_error = |source| CliError::Write {
        path: output.to_path_buf(),
        source,
    };
    let mut streamed = None;
    write_atomically(output, |file| {
        let mut spill = match job.normalize {
            Some(_) => Some(tempfile::tempfile_in(spill_dir(output)).map_err(write_error)?),
            None => None,
        };
        let (frames, writer, input_loudness, (peak, rendered_loudness)) =
            std::thread::scope(|scope| {
                let (input_tx, input_rx) = bounded(QUEUE_CHUNKS);
                let (write_tx, write_rx) = bounded::<Arc<Vec<Vec<f32>>>>(QUEUE_CHUNKS);
                let (meter_tx, meter_rx) = bounded::<Arc<Vec<Vec<f32>>>>(QUEUE_CHUNKS);
                let reading = scope.spawn(move || {
                    let mut loudness = LoudnessMeter::new(2, sr);
                    loop {
                        let (mut left, mut right) = (
                            Vec::with_capacity(CHUNK_FRAMES),
                            Vec::with_capacity(CHUNK_FRAMES),
                        );
                        let chunk = match reader.read(&mut left, &mut right, CHUNK_FRAMES) {
                            Ok(0) => break,
                            Ok(_) => {
                                loudness.push(&[&left, &right]);
                                Ok((left, right))
                            }
                            Err(e) => Err(e),
                        };
                        let failed = chunk.is_err();
                        if input_tx.send(chunk).is_err() || failed {
                            break;
                        }
                    }
                    loudness.finish()
                });
                let metering = scope.spawn(move || {
                    let mut peaks: Vec<TruePeakMeter> =
                        (0..outputs).map(|_| TruePeakMeter::new()).collect();
                    let mut loudness = LoudnessMeter::new(outputs, sr);
                    for chunk in meter_rx {
                        let channels: Vec<&[f32]> = chunk.iter().map(Vec::as_slice).collect();
                        loudness.push(&channels);
                        for (meter, channel) in peaks.iter_mut().zip(chunk.iter()) {
                            meter.push(channel);
                        }
                    }
                    let peak = peaks
                        .into_iter()
                        .map(TruePeakMeter::finish)
                        .fold(0.0, f64::max);
                    (peak, loudness.finish())
                });
                let spilling = spill.as_mut();
                let file = &mut *file;
                let writing = scope.spawn(move || -> Result<Option<Finished>, CliError> {
                    match spilling {
                        Some(spill) => {
                            let mut to = BufWriter::new(spill);
                            for chunk in write_rx {
                                spill_chunk(&mut to, &chunk).map_err(write_error)?;
                            }
                            to.flush().map_err(write_error)?;
                            Ok(None)
                        }
                        None => {
                            let mut encoder = WavEncoder::new(file, rate, outputs, job.format)
                                .map_err(|e| encode_error(output, e))?;
                            for chunk in write_rx {
                                encoder
                                    .write(&chunk, 1.0)
                                    .map_err(|e| encode_error(output, e))?;
                            }
                            encoder.finish(output).map(Some)
                        }
                    }
                });
                let mut aligned = Aligned::new(engine, &[FOLLOW_BLOCK]);
                let mut frames = 0u64;
                let mut failure = None;
                let send = |out: Vec<Vec<f32>>| {
                    let out = Arc::new(out);
                    write_tx.send(Arc::clone(&out)).is_ok() && meter_tx.send(out).is_ok()
                };
                let fresh = || vec![Vec::with_capacity(CHUNK_FRAMES); outputs];
                for chunk in &input_rx {
                    match chunk {
                        Ok((left, right)) => {
                            let mut out = fresh();
                            aligned.feed([&left, &right], &mut out, &mut before_block);
                            frames += left.len() as u64;
                            bar.set_position(frames);
                            if !send(out) {
                                break;
                            }
                        }
                        Err(e) => {
                            failure = Some(input_error(input, outputs, job.format, e));
                            break;
                        }
                    }
                }
                if failure.is_none() && frames == 0 {
                    failure = Some(CliError::Empty {
                        path: input.to_path_buf(),
                    });
                }
                if failure.is_none() {
                    let mut out = fresh();
                    aligned.finish(&mut out, &mut before_block);
                    send(out);
                }
                drop((write_tx, meter_tx, input_rx));
                let input_loudness = joined(reading);
                let levels = joined(metering);
                let writer = joined(writing);
                match failure {
                    Some(e) => Err(e),
                    None => Ok((frames, writer?, input_loudness, levels)),
                }
            })?;
        let gain = normalizing_gain(
            job.normalize,
            input,
            peak,
            (input_loudness, rendered_loudness),
            console,
        );
        let finished = match (writer, spill) {
            (Some(finished), _) => finished,
            (None, Some(mut spill)) => {
                spill.seek(SeekFrom::Start(0)).map_err(write_error)?;
                let mut encoder = WavEncoder::new(&mut *file, rate, outputs, job.format)
                    .map_err(|e| encode_error(output, e))?;
                let mut from = BufReader::new(spill);
                let mut chunk = vec![Vec::with_capacity(CHUNK_FRAMES); outputs];
                while unspill_chunk(&mut from, &mut chunk).map_err(write_error)? {
                    encoder
                        .write(&chunk, gain)
                        .map_err(|e| encode_error(output, e))?;
                }
                encoder.finish(output)?
            }
            (None, None) => unreachable!("the writer spills only where there is a spill file"),
        };
        streamed = Some(Streamed {
            frames,
            written: finished.mark(output, file)?,
            peak,
            input_loudness,
            rendered_loudness,
            gain,
        });
        Ok(())
    })?;
    Ok(streamed.expect("streamed once the file is in place"))
}

/// The directory `output` is written in, where a spill file goes too.
fn spill_dir(output: &Path) -> &Path {
    match output.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Appends `chunk`'s frames to the spill file, interleaved 32-bit float.
fn spill_chunk(to: &mut impl Write, chunk: &[Vec<f32>]) -> std::io::Result<()> {
    let len = chunk.first().map_or(0, Vec::len);
    for i in 0..len {
        for channel in chunk {
            to.write_all(&channel[i].to_le_bytes())?;
        }
    }
    Ok(())
}

/// Reads the next chunk of at most [`CHUNK_FRAMES`] frames back from the spill file into
/// `chunk` (its channels); false at the end.
fn unspill_chunk(from: &mut impl Read, chunk: &mut [Vec<f32>]) -> std::io::Result<bool> {
    let frame_bytes = chunk.len() * SPILL_SAMPLE_BYTES;
    let mut bytes = vec![0u8; CHUNK_FRAMES * frame_bytes];
    let mut filled = 0;
    while filled < bytes.len() {
        match from.read(&mut bytes[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    chunk.iter_mut().for_each(Vec::clear);
    for frame in bytes[..filled - filled % frame_bytes].chunks_exact(frame_bytes) {
        for (channel, sample) in chunk.iter_mut().zip(frame.chunks_exact(SPILL_SAMPLE_BYTES)) {
            channel.push(f32::from_le_bytes(sample.try_into().expect("four bytes")));
        }
    }
    Ok(filled > 0)
}

/// How `soundstage render` renders, whatever the files.
pub struct RenderOptions<'a> {
    /// The outputs' sample format.
    pub format: OutputFormat,
    /// How to scale each output, if at all.
    pub normalize: Option<Normalize>,
    /// A listener trajectory to follow.
    pub poses: Option<&'a Path>,
}

impl<'a> RenderOptions<'a> {
    /// Rendering `input` into `output` this way.
    fn job(&self, input: &'a Path, output: &'a Path) -> RenderJob<'a> {
        RenderJob {
            input,
            output,
            format: self.format,
            normalize: self.normalize,
            poses: self.poses,
        }
    }
}

/// One file to render, and how.
struct RenderJob<'a> {
    /// The stereo input.
    input: &'a Path,
    /// The WAV file to write.
    output: &'a Path,
    /// Its sample format.
    format: OutputFormat,
    /// How to scale the output, if at all.
    normalize: Option<Normalize>,
    /// A listener trajectory to follow.
    poses: Option<&'a Path>,
}

/// Most files a batch renders at once: beyond the cores, more only costs memory.
pub const MAX_JOBS: i64 = 256;

/// Where a render's progress bars and warnings go: straight to the terminal, or, in a batch,
/// above the bars of the files in progress, so that neither garbles the other.
struct Console<'a> {
    bars: Option<&'a MultiProgress>,
}

impl Console<'_> {
    /// Prints a warning on standard error.
    fn warn(&self, message: std::fmt::Arguments) {
        let say = || eprintln!("soundstage: warning: {message}");
        match self.bars {
            Some(bars) => bars.suspend(say),
            None => say(),
        }
    }

    /// Shows `bar`, below the others in a batch.
    fn show(&self, bar: ProgressBar) -> ProgressBar {
        match self.bars {
            Some(bars) => bars.add(bar),
            None => bar,
        }
    }
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

/// The drivers' names in line order, leftmost first, as the output's channels hold them.
fn driver_order(outputs: usize) -> &'static str {
    match outputs {
        2 => "L, R",
        3 => "L, C, R",
        _ => "L, inner L, inner R, R",
    }
}

/// Renders one file; its summary's lines for standard output.
fn render_one(
    job: &RenderJob,
    args: &SettingsArgs,
    console: &Console,
) -> Result<Vec<String>, CliError> {
    let (input, output) = (job.input, job.output);
    check_output(input, output)?;
    let Target {
        settings,
        outputs,
        plant,
    } = target_from(args)?;
    let track = job.poses.map(read_poses).transpose()?;
    let reader = open_stereo(input, outputs, job.format)?;
    let (sample_rate, read_as) = (reader.sample_rate, reader.read_as.clone());
    let nyquist = f64::from(sample_rate) / 2.0;
    if nyquist < metrics::SEPARATION_BAND.1 {
        console.warn(format_args!(
            "{} is sampled at {} Hz, so it holds nothing above {nyquist:.0} Hz, \
             below the top of the {:.0} Hz-{:.0} kHz band where the cancellation works: expect \
             a narrower image than at 44.1 kHz or more",
            input.display(),
            sample_rate,
            metrics::SEPARATION_BAND.0,
            metrics::SEPARATION_BAND.1 / 1000.0
        ));
    }
    let bar = console.show(progress_bar(reader.declared_frames, sample_rate));
    if console.bars.is_some() {
        bar.set_message(format!("{} ", input.display()));
    }
    let sr = f64::from(sample_rate);
    let (streamed, latency, designs) = match &track {
        Some(track) => {
            let at = |pose: Pose| {
                let mut s = settings;
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
            // The first pose must be designable: a head that cannot serve it is an error, as
            // it is for a static render; later poses it cannot serve keep the last design.
            let start = track.at(0.0);
            let mut first = design_checked(&input(at(start)), plant.as_ref(), None)?;
            // Each design starts its searches where the previous one's ended, as the
            // plugin's designer does for a tracked head.
            let mut search_start = first.take_search_start();
            let mut engine = Engine::new(Box::new(first.filters), sr, settings.controls());
            engine.settle_controls();
            let latency = engine.latency();
            let mut following = Following::new(track, sr, start, |pose| {
                let mut made =
                    design_checked(&input(at(pose)), plant.as_ref(), search_start.as_deref())
                        .ok()?;
                search_start = made.take_search_start();
                Some(Box::new(made.filters))
            });
            let streamed = stream_render(
                job,
                reader,
                &mut engine,
                |engine, pos| following.before_block(engine, pos),
                (&bar, console),
            )?;
            (streamed, latency, following.designs() + 1)
        }
        None => {
            let (mut engine, _) = engine_for(&settings, outputs, sr, plant.as_ref());
            let latency = engine.latency();
            let streamed = stream_render(job, reader, &mut engine, |_, _| {}, (&bar, console))?;
            (streamed, latency, 1)
        }
    };
    bar.finish_and_clear();
    let gain = streamed.gain;
    let (rendered_loudness, input_loudness) = (streamed.rendered_loudness, streamed.input_loudness);
    let peak_dbtp = dbfs(streamed.peak * gain);
    let written = streamed.written;
    // The warnings first: a reader that closes standard output early must still see them.
    if peak_dbtp > 0.0 {
        console.warn(format_args!(
            "{} peaks at {peak_dbtp:+.1} dBTP and clips in players: lower the input by {:.1} dB, or add --normalize peak",
            output.display(),
            // Rounded up, so that the gain named is enough.
            (peak_dbtp * 10.0).ceil() / 10.0
        ));
    }
    if written.clipped > 0 {
        console.warn(format_args!(
            "{} samples of {} were clipped at full scale ({}): add --normalize peak, or use --format f32",
            written.clipped,
            output.display(),
            job.format.describe()
        ));
    }
    let frames = streamed.frames;
    let mut lines = Vec::new();
    lines.push(format!(
        "{} -> {}: {frames} frames at {sample_rate} Hz ({:.1} s), read as {read_as}",
        input.display(),
        output.display(),
        frames as f64 / sr,
    ));
    lines.push(format!(
        "settings ({}): {}",
        origin(args),
        describe(&settings)
    ));
    lines.push(format!(
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
    ));
    let lufs = |l: Option<f64>| l.map_or("-inf LUFS".to_string(), |l| format!("{l:.1} LUFS"));
    lines.push(format!(
        "true peak {peak_dbtp:+.1} dBTP, loudness {} (input {}){}",
        lufs(rendered_loudness.map(|l| l + dbfs(gain))),
        lufs(input_loudness),
        if gain != 1.0 {
            format!(", normalized by {:+.1} dB", dbfs(gain))
        } else {
            String::new()
        }
    ));
    Ok(lines)
}

/// `soundstage render IN OUT`.
pub fn render(
    input: &Path,
    output: &Path,
    how: &RenderOptions,
    args: &SettingsArgs,
) -> Result<(), CliError> {
    let job = how.job(input, output);
    for line in render_one(&job, args, &Console { bars: None })? {
        say!("{line}");
    }
    Ok(())
}

/// Where a batch writes `input`: its name, with .wav, in `out_dir`.
fn batch_output(input: &Path, out_dir: &Path) -> Result<PathBuf, CliError> {
    let stem = input.file_stem().ok_or_else(|| CliError::NoFileName {
        path: input.to_path_buf(),
    })?;
    Ok(out_dir.join(stem).with_extension("wav"))
}

/// `soundstage render IN... --out-dir DIR`: every input into `out_dir` under its own name,
/// on `jobs` threads (default: the cores). Every output is checked before any work; then a
/// file that fails is reported as it fails and the others finish.
pub fn render_batch(
    inputs: &[PathBuf],
    out_dir: &Path,
    jobs: Option<u16>,
    how: &RenderOptions,
    args: &SettingsArgs,
) -> Result<(), CliError> {
    if out_dir.is_file() {
        return Err(CliError::DirectoryIsFile {
            path: out_dir.to_path_buf(),
            command: "render --out-dir",
        });
    }
    let outputs = inputs
        .iter()
        .map(|input| batch_output(input, out_dir))
        .collect::<Result<Vec<_>, _>>()?;
    let mut named = HashMap::new();
    for (input, output) in inputs.iter().zip(&outputs) {
        if let Some(first) = named.insert(output, input) {
            return Err(CliError::SameOutput {
                first: first.to_path_buf(),
                second: input.to_path_buf(),
                output: output.to_path_buf(),
            });
        }
        check_output(input, output)?;
    }
    std::fs::create_dir_all(out_dir).map_err(|source| CliError::Write {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let jobs = jobs
        .map(usize::from)
        .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
        .unwrap_or(1)
        .clamp(1, inputs.len().max(1));
    let bars = MultiProgress::new();
    let files = bars.add(ProgressBar::new(inputs.len() as u64));
    files.set_style(
        ProgressStyle::with_template("{pos}/{len} files rendered ({eta} left)")
            .expect("the template is valid"),
    );
    let console = Console { bars: Some(&bars) };
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let stdout_failure = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let (Some(input), Some(output)) = (inputs.get(k), outputs.get(k)) else {
                    break;
                };
                let job = how.job(input, output);
                match render_one(&job, args, &console) {
                    Ok(lines) => bars.suspend(|| {
                        for line in lines {
                            if let Err(e) = write_line(format_args!("{line}")) {
                                stdout_failure
                                    .lock()
                                    .expect("not poisoned")
                                    .get_or_insert(e);
                            }
                        }
                    }),
                    Err(e) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        bars.suspend(|| eprintln!("soundstage: error: {}", named_error(input, &e)));
                    }
                }
                files.inc(1);
            });
        }
    });
    files.finish_and_clear();
    if let Some(e) = stdout_failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    match failed.into_inner() {
        0 => Ok(()),
        failed => Err(CliError::SomeFailed {
            failed,
            total: inputs.len(),
        }),
    }
}

/// A batch's failure for one file, naming the file where the message does not already.
fn named_error(input: &Path, e: &CliError) -> String {
    let message = e.to_string();
    let name = input.display().to_string();
    if message.contains(&name) {
        message
    } else {
        format!("{name}: {message}")
    }
}
