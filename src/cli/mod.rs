//! Command-line interface: argument parsing and the commands.

mod audio_file;
mod commands;
mod error;
mod export;
mod plots;
mod render;
mod report;
mod settings;

pub use error::CliError;

use audio_file::OutputFormat;
use clap::{Parser, Subcommand};
use std::io::Write as _;
use std::path::PathBuf;

/// Writes one line to standard output, as `println!` does, but returns a failure instead of
/// panicking: a reader that closed the pipe early (`soundstage params | head -1`) ends the
/// command quietly (see [`CliError::is_closed_pipe`]).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::write_line(format_args!($($arg)*))?
    };
}
pub(crate) use say;

/// Writes `line` and a newline to standard output.
pub(crate) fn write_line(line: std::fmt::Arguments) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .map_err(CliError::Stdout)
}

/// Soundstage: wide, deep, centred stereo on speakers or headphones.
#[derive(Debug, Parser)]
#[command(
    name = "soundstage",
    version,
    about,
    long_about = None,
    after_help = "Results go to standard output, warnings and errors to standard error.\n\
        Examples:\n  soundstage demo out/demo\n  soundstage render mix.wav wide.wav --preset desktop --set width=80%\n  \
        soundstage report out/report --preset soundbar"
)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options that choose the settings, shared by `render`, `report` and `export`.
#[derive(Debug, clap::Args)]
pub struct SettingsArgs {
    /// Geometry preset to start from, any case (see `soundstage presets`) [default:
    /// studio-monitors].
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Sets a parameter (see `soundstage params`), in its unit or another of the same
    /// quantity: `width=60`, `width=60%`, `dist=120cm`, `bassx=0.1kHz`, `mode=headphones`,
    /// `loud=off`. Repeatable; applied after the preset.
    #[arg(long = "set", value_name = "ID=VALUE")]
    pub sets: Vec<String>,
    /// Number of drivers, one output channel each, in line order, leftmost (as the listener
    /// sees them) first: 2 (L, R), 3 (L, C, R) or 4 [default: the preset's].
    #[arg(long, value_name = "2|3|4", value_parser = clap::value_parser!(u16).range(2..=4))]
    pub outputs: Option<u16>,
    /// Design for (and, in the report, listen through) this SOFA file instead of the
    /// built-in sphere: a measured head (SimpleFreeFieldHRIR), or a device measured at a head
    /// (SingleRoomMIMOSRIR, MultiSpeakerBRIR), whose drivers, spacing and nominal listener
    /// then replace the preset's (a `--set` or `--outputs` that contradicts the file is refused).
    #[arg(long, value_name = "PATH")]
    pub sofa: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Processes a stereo file, or several into a directory; each output has one channel per
    /// driver, aligned with its input.
    #[command(after_help = "Examples:\n  soundstage render mix.flac wide.wav\n  \
        soundstage render mix.wav bar.wav --preset soundbar --format s24\n  \
        soundstage render mix.aiff phones.wav --preset headphones --set width=70% --normalize loudness\n  \
        soundstage render album/*.flac --out-dir wide --jobs 2")]
    Render {
        /// IN OUT: the stereo input (WAV: 8/16/24/32-bit integer, 32/64-bit float; AIFF or
        /// FLAC) and the WAV file to write (the name must end in .wav; never the input), one
        /// channel per driver in line order, leftmost first. With --out-dir, every path is an
        /// input.
        #[arg(value_name = "IN OUT | IN...", required = true, num_args = 1..)]
        paths: Vec<PathBuf>,
        /// Renders every path given into DIR (created if missing), each as its own name with
        /// .wav; a file that fails is named and the others still finish.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
        /// Files rendered at once with --out-dir [default: the processor's cores].
        #[arg(long, value_name = "N", requires = "out_dir",
            value_parser = clap::value_parser!(u16).range(1..=render::MAX_JOBS))]
        jobs: Option<u16>,
        /// Sample format of OUT; integer formats are TPDF-dithered.
        #[arg(long, value_enum, default_value = "f32")]
        format: OutputFormat,
        /// Scales OUT (up or down): `peak` (the default) to a true peak of -1 dBTP,
        /// `loudness` to the input's integrated loudness (BS.1770-4).
        #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "peak", value_name = "peak|loudness")]
        normalize: Option<render::Normalize>,
        /// Follows a moving listener: a CSV file with the header time_s,x_m,y_m,yaw_deg (x to
        /// the listener's right, y their distance from the drivers, yaw with the nose to
        /// their left), interpolated linearly in time; it replaces offset, dist and yaw.
        #[arg(long, value_name = "POSES.csv")]
        poses: Option<PathBuf>,
        /// Settings.
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Synthesises a short test mix, renders it with the default preset and writes the
    /// input, the output and a summary into OUTDIR.
    #[command(after_help = "Example:\n  soundstage demo out/demo")]
    Demo {
        /// Directory to write into (created if missing).
        outdir: PathBuf,
    },
    /// Lists every parameter: id, name, range, unit, default (or a preset's value).
    #[command(
        after_help = "Examples:\n  soundstage params\n  soundstage params --preset laptop\n  \
        soundstage params --json"
    )]
    Params {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
        /// Shows this preset's values in place of the defaults.
        #[arg(long, value_name = "NAME")]
        preset: Option<String>,
    },
    /// Designs for the settings and writes what a simulated listener gets: metrics.json and
    /// PNG plots (a one-page summary, cancellation, ear responses, beam pattern,
    /// virtual-speaker cues, mono sum, sweet spot).
    #[command(after_help = "Examples:\n  soundstage report out/report\n  \
        soundstage report out/bar --preset soundbar\n  \
        soundstage report out/head --sofa head.sofa --set offset=5cm")]
    Report {
        /// Directory to write into (created if missing).
        outdir: PathBuf,
        /// Settings.
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Writes the designed filter matrix as FIR taps for a device's DSP: one 32-bit float
    /// WAV per input (a channel per driver, leftmost first) and filters.json, which names
    /// each file, the latency, the settings and the predicted separation. In binaural mode
    /// the inputs are the stereo input's left and right, and the files are the whole
    /// processing; in speakers and headphone modes they are the upmix's side left, side
    /// right and centre, and the input's left and right for the bass path.
    #[command(
        after_help = "Examples:\n  soundstage export out/filters --set mode=binaural\n  \
        soundstage export out/bar --preset soundbar --taps 512 --format csv\n  \
        soundstage export out/dev --sofa head.sofa --rate 44100"
    )]
    Export {
        /// Directory to write into (created if missing).
        outdir: PathBuf,
        /// Length of every FIR, for a DSP budget: the design windowed to N taps (at least 16,
        /// at most the full length, 1025 at 48 kHz) [default: the full length]; the summary
        /// says how much separation that costs.
        #[arg(long, value_name = "N")]
        taps: Option<usize>,
        /// `csv` also writes one text file per input and driver, one coefficient per line.
        #[arg(long, value_enum, default_value = "wav")]
        format: export::ExportFormat,
        /// The device's sample rate, Hz.
        #[arg(long, value_name = "HZ", default_value_t = 48_000)]
        rate: u32,
        /// Settings.
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Lists the geometry presets.
    #[command(after_help = "Examples:\n  soundstage presets\n  soundstage presets --json")]
    Presets {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Reads a SOFA file as the plugin would and tells what it holds: for a head, the set's
    /// name, rate, measurement radius and the horizontal-plane directions it can design for;
    /// for a device, its convention, drivers (in the listener's order) and listener positions.
    #[command(
        after_help = "Examples:\n  soundstage sofa head.sofa\n  soundstage sofa head.sofa --json"
    )]
    Sofa {
        /// The SOFA file: a head (SimpleFreeFieldHRIR) or a device measured at a head
        /// (SingleRoomMIMOSRIR, MultiSpeakerBRIR).
        file: PathBuf,
        /// Machine-readable output, with the responses: a head's horizontal-plane ones, or
        /// a device's at each listener (drivers leftmost first, with their Data.Delay).
        #[arg(long)]
        json: bool,
    },
}

/// Runs one command.
pub fn run(args: Args) -> Result<(), CliError> {
    match args.command {
        Command::Render {
            paths,
            out_dir,
            jobs,
            format,
            normalize,
            poses,
            settings,
        } => {
            let how = render::RenderOptions {
                format,
                normalize,
                poses: poses.as_deref(),
            };
            match (out_dir, paths.as_slice()) {
                (Some(dir), inputs) => render::render_batch(inputs, &dir, jobs, &how, &settings),
                (None, [input, output]) => render::render(input, output, &how, &settings),
                (None, given) => Err(CliError::RenderPaths { given: given.len() }),
            }
        }
        Command::Demo { outdir } => commands::demo(&outdir),
        Command::Report { outdir, settings } => report::report(&outdir, &settings),
        Command::Params { json, preset } => commands::params(json, preset.as_deref()),
        Command::Export {
            outdir,
            taps,
            format,
            rate,
            settings,
        } => export::export(
            &outdir,
            &export::ExportOptions {
                taps,
                csv: format == export::ExportFormat::Csv,
                rate,
            },
            &settings,
        ),
        Command::Presets { json } => commands::presets(json),
        Command::Sofa { file, json } => commands::sofa(&file, json),
    }
}
