//! `soundstage export`: the designed filter matrix as FIR taps for a device's DSP, one
//! 32-bit float WAV per input (a channel per driver) and `filters.json`, which says what
//! each file is and what the design predicts.

use super::settings::{origin, target_from, Target};
use super::{say, CliError, SettingsArgs};
use soundstage::design::evaluate::metrics::NEARBY_OFFSET_M;
use soundstage::design::export::{write_export, ExportRequest, Provenance};
use soundstage::limits::SAMPLE_RATES_HZ;
use std::path::Path;

/// What `soundstage export` writes beside `filters.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One 32-bit float WAV per input, a channel per driver.
    Wav,
    /// The WAVs, and beside them one text file per input and driver, one coefficient per
    /// line.
    Csv,
}

/// How `soundstage export` writes.
#[derive(Debug)]
pub struct ExportOptions {
    /// Length of every FIR; `None`: the design's full length.
    pub taps: Option<usize>,
    /// Also one text file of coefficients per input and driver.
    pub csv: bool,
    /// The device's sample rate, Hz.
    pub rate: u32,
}

/// Writes the FIRs for the settings `args` describe into `outdir`.
pub fn export(outdir: &Path, how: &ExportOptions, args: &SettingsArgs) -> Result<(), CliError> {
    if outdir.is_file() {
        return Err(CliError::DirectoryIsFile {
            path: outdir.to_path_buf(),
            command: "export",
        });
    }
    if !SAMPLE_RATES_HZ.contains(&f64::from(how.rate)) {
        return Err(CliError::ExportRate { rate: how.rate });
    }
    let Target {
        settings,
        outputs,
        plant,
    } = target_from(args)?;
    let written = write_export(
        outdir,
        &ExportRequest {
            settings,
            outputs,
            rate: how.rate,
            plant: plant.as_ref(),
            taps: how.taps,
            csv: how.csv,
            provenance: Provenance {
                origin: origin(args),
                sofa: args.sofa.as_ref().map(|p| p.display().to_string()),
            },
        },
    )?;
    let (filters, predicted) = (&written.filters, &written.predicted);
    let taps = filters.taps;
    say!(
        "wrote {} inputs x {} drivers x {} taps at {} Hz to {} (latency {} samples); filters.json says what each is",
        filters.inputs.len(),
        outputs,
        taps,
        how.rate,
        outdir.display(),
        filters.latency_samples
    );
    if let Some(c) = &predicted.canceller {
        say!(
            "predicted separation {:.1} dB at the design's listener, {:.1} dB {:.0} cm to the side; side filters' largest gain {:.1} dB",
            c.nominal_db,
            c.nearby_worst_db,
            NEARBY_OFFSET_M * 100.0,
            predicted.max_gain_db
        );
        if let Some(cost) = c.shortening_cost_db {
            say!("shortening to {taps} taps costs {cost:.1} dB of separation at the design's listener");
        }
        if let Some((poses, z)) = &c.zone {
            say!(
                "across the ±{:.1} cm listening zone ({poses} poses): worst {:.1} dB, mean {:.1} dB",
                settings.zone_m * 100.0,
                z.worst_db,
                z.mean_db
            );
        }
    }
    Ok(())
}
