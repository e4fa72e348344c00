//! Soundstage as a standalone application: JACK or ALSA for live listening, `--backend dummy`
//! to run headless. Opens the editor.

use nice_plug::prelude::*;
use std::process::ExitCode;

fn main() -> ExitCode {
    if nice_export_standalone::<soundstage::Soundstage>() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
