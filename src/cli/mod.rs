//! Command-line interface: argument parsing and the commands.

mod audio_file;
mod commands;
mod error;
mod plots;
mod report;
mod settings;

pub use error::CliError;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Soundstage: wide, deep, centred stereo on speakers or headphones.
#[derive(Debug, Parser)]
#[command(name = "soundstage", version, about, long_about = None)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options that choose the settings, shared by `render` and `report`.
#[derive(Debug, clap::Args)]
pub struct SettingsArgs {
    /// Geometry preset to start from (see `soundstage presets`).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Sets a parameter, in the units `soundstage params` shows (e.g. `width=60`,
    /// `mode=headphones`, `loud=off`). Repeatable; applied after the preset.
    #[arg(long = "set", value_name = "ID=VALUE")]
    pub sets: Vec<String>,
    /// Number of output channels (drivers): 2 (a pair), 3 (left-centre-right line) or 4.
    #[arg(long, value_name = "2|3|4", value_parser = clap::value_parser!(u16).range(2..=4))]
    pub outputs: Option<u16>,
    /// Design for (and, in the report, listen through) the measured head of this SOFA file
    /// (SimpleFreeFieldHRIR) instead of the built-in sphere.
    #[arg(long, value_name = "PATH")]
    pub sofa: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Processes a stereo WAV file; OUT has one channel per driver, aligned with IN.
    Render {
        /// Stereo input (16/24-bit integer or 32-bit float WAV).
        input: PathBuf,
        /// Output (32-bit float WAV); never the input.
        output: PathBuf,
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
    Demo {
        /// Directory to write into (created if missing).
        outdir: PathBuf,
    },
    /// Lists every parameter: id, name, range, unit, default.
    Params {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Designs for the settings and writes what a simulated listener gets: metrics.json and
    /// PNG plots (cancellation, ear responses, beam pattern, virtual-speaker cues, mono sum).
    Report {
        /// Directory to write into (created if missing).
        outdir: PathBuf,
        /// Settings.
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Lists the geometry presets.
    Presets {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Reads a SOFA file as the plugin would and tells what it holds: the set's name, rate,
    /// measurement radius and the horizontal-plane directions it can design for.
    Sofa {
        /// The SOFA file (SimpleFreeFieldHRIR).
        file: PathBuf,
        /// Machine-readable output, with the horizontal-plane impulse responses.
        #[arg(long)]
        json: bool,
    },
}

/// Runs one command.
pub fn run(args: Args) -> Result<(), CliError> {
    match args.command {
        Command::Render {
            input,
            output,
            poses,
            settings,
        } => commands::render(&input, &output, poses.as_deref(), &settings),
        Command::Demo { outdir } => commands::demo(&outdir),
        Command::Report { outdir, settings } => report::report(&outdir, &settings),
        Command::Params { json } => commands::params(json),
        Command::Presets { json } => commands::presets(json),
        Command::Sofa { file, json } => commands::sofa(&file, json),
    }
}
