//! The `soundstage` command: the plugin's processing without a DAW. Renders WAV files through
//! exactly the engine the plugin runs, writes a demo, lists parameters and presets, and
//! reports what a simulated listener hears.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_closed_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soundstage: error: {e}");
            ExitCode::FAILURE
        }
    }
}
