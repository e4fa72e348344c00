//! `soundstage export`: the designed filter matrix as FIR taps for a device's DSP, one
//! 32-bit float WAV per input (a channel per driver) and `filters.json`, which says what
//! each file is and what the design predicts.

use super::audio_file::{write_float, write_text};
use super::settings::{describe, origin, target_from, Target};
use super::{say, CliError, SettingsArgs};
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics::{
    max_side_filter_gain_db, perturbed_separation_on, standard_perturbations, NEARBY_OFFSET_M,
};
use soundstage::design::evaluate::zone::{heard_across, ZoneSummary};
use soundstage::design::export::{self, driver_names, ExportedFilters, FILTERS_FORMAT};
use soundstage::design::filters::chain::{design, design_shortened, Design, DesignInput};
use soundstage::design::model::plant::Plant;
use soundstage::design::model::zone;
use soundstage::dsp::contract::FrameLayout;
use soundstage::dsp::upmix::{COHERENCE_GATE, UPMIX_TIME_CONSTANT_S};
use soundstage::limits::SAMPLE_RATES_HZ;
use soundstage::params::{BOOL_PARAMS, FLOAT_PARAMS, LATENCY_ID, MODE_ID};
use std::fmt::Write as _;
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

/// How the upmix, which the exported filters read in speakers and headphone modes, works:
/// `filters.json` says it in words, as it stays in software.
fn upmix_description(layout: FrameLayout) -> String {
    format!(
        "Per STFT bin (periodic Hann frames of {frame} samples, hop {hop}, FFT {fft}): the \
        mid M = (L+R)/2 is freed of everything correlated with the side S = (L-R)/2 \
        (M' = M - (Phi_MS/Phi_SS) S), the centre is C = mask * M' with mask = clamp((rho - \
        {gate})/(1 - {gate}), 0, 1), rho = max(Re Phi_LR, 0) / Phi_M'M' (cross-spectra \
        smoothed over {tau:.0} ms and three bins), times the centre share, which ramps from 0 \
        below the bass crossover to 1 above it; then L' = L - C, R' = R - C, so that L' + C = L \
        and R' + C = R exactly. It adapts to the programme and stays in software \
        (soundstage::dsp::upmix).",
        frame = layout.frame_len,
        hop = layout.hop,
        fft = layout.fft_len,
        gate = COHERENCE_GATE,
        tau = UPMIX_TIME_CONSTANT_S * 1e3,
    )
}

/// How the bass path is included, for `filters.json`.
const BASS_DESCRIPTION: &str = "bass_left and bass_right read the stereo input itself: the \
    plain feed (the input on the outermost driver of its side, delayed) minus the part the \
    processed chain replaces above the bass crossover, i.e. the input's band below the \
    crossover. Below the crossover the upmix takes no centre, so L' = L and R' = R there, and \
    the side filters are all but zero (the windowed crossover's transition).";

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
        plant: head,
    } = target_from(args)?;
    let input = DesignInput {
        settings,
        outputs,
        sample_rate: f64::from(how.rate),
    };
    let layout = input.layout();
    let full_taps = layout.design_taps();
    let taps = how.taps.unwrap_or(full_taps);
    export::check(layout, taps)?;
    let plant = head.as_ref();
    std::fs::create_dir_all(outdir).map_err(|source| CliError::Write {
        path: outdir.to_path_buf(),
        source,
    })?;
    let made = designed(&input, plant, taps, full_taps);
    let exported = export::export(&made);
    let drivers = driver_names(outputs);
    for set in &exported.inputs {
        write_float(&outdir.join(wav_name(set.name)), how.rate, &set.filters)?;
        if how.csv {
            for (driver, filter) in drivers.iter().zip(&set.filters) {
                let mut text = String::with_capacity(filter.len() * 16);
                for v in filter {
                    let _ = writeln!(text, "{v:e}");
                }
                write_text(&outdir.join(csv_name(set.name, driver)), &text)?;
            }
        }
    }
    let predicted = Predicted::new(&made, plant);
    let json = filters_json(&FiltersJson {
        settings: &settings,
        args,
        plant,
        exported: &exported,
        drivers,
        how,
        predicted: &predicted,
        layout,
    });
    let text = serde_json::to_string_pretty(&json).map_err(|e| CliError::Encode {
        path: outdir.join("filters.json"),
        reason: e.to_string(),
    })?;
    write_text(&outdir.join("filters.json"), &text)?;
    say!(
        "wrote {} inputs x {} drivers x {} taps at {} Hz to {} (latency {} samples); filters.json says what each is",
        exported.inputs.len(),
        outputs,
        taps,
        how.rate,
        outdir.display(),
        exported.latency_samples
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

/// The design for `input` with `taps` taps (the full design when that is all of them).
fn designed(input: &DesignInput, plant: &dyn Plant, taps: usize, full_taps: usize) -> Design {
    if taps == full_taps {
        design(input, plant)
    } else {
        design_shortened(input, plant, taps)
    }
}

/// The file an input's FIRs are written to.
fn wav_name(input: &str) -> String {
    format!("{input}.wav")
}

/// The file one FIR's coefficients are written to with `--format csv`.
fn csv_name(input: &str, driver: &str) -> String {
    format!("{input}.{driver}.csv")
}

/// The canceller's separation, as the report judges it: the binaural-mode design of the same
/// settings (in speakers mode the canceller also carries the virtual speakers' crosstalk).
struct CancellerFigures {
    /// At the design's listener, dB.
    nominal_db: f64,
    /// The worse of a listener [`NEARBY_OFFSET_M`] to either side, dB.
    nearby_worst_db: f64,
    /// What the shortening lost at the design's listener, dB (`None` at full length).
    shortening_cost_db: Option<f64>,
    /// Across the listening zone, with the number of its poses (`None` without a zone).
    zone: Option<(usize, ZoneSummary)>,
}

/// What the exported design predicts.
struct Predicted {
    /// `None` in headphone mode, which cancels nothing.
    canceller: Option<CancellerFigures>,
    /// Largest gain of any side filter at full width, dB, before loudness compensation and
    /// output gain: what the boost limit caps.
    max_gain_db: f64,
}

impl Predicted {
    /// The figures of `made` heard through `plant`.
    fn new(made: &Design, plant: &dyn Plant) -> Self {
        let input = made.input;
        let full_taps = input.layout().design_taps();
        let canceller = match input.settings.mode {
            Mode::Headphones => None,
            // A binaural design is the canceller alone.
            Mode::Binaural => Some(canceller_figures(made, plant, full_taps)),
            Mode::Speakers => {
                let alone = DesignInput {
                    settings: Settings {
                        mode: Mode::Binaural,
                        ..input.settings
                    },
                    ..input
                };
                let c = designed(&alone, plant, made.taps, full_taps);
                Some(canceller_figures(&c, plant, full_taps))
            }
        };
        Self {
            canceller,
            max_gain_db: max_side_filter_gain_db(&made.filters),
        }
    }
}

/// The figures of the canceller alone `c`, and what its shortening (if it is shorter than
/// `full_taps`) cost against the full-length one.
fn canceller_figures(c: &Design, plant: &dyn Plant, full_taps: usize) -> CancellerFigures {
    let (nominal_db, nearby_worst_db) = separation_figures(c, plant);
    let shortening_cost_db = (c.taps < full_taps)
        .then(|| separation_figures(&design(&c.input, plant), plant).0 - nominal_db);
    let s = &c.input.settings;
    let poses = zone::poses(&s.geometry(c.filters.outputs), s.zone_m, plant);
    let zone = (poses.len() > 1)
        .then(|| ZoneSummary::of(&heard_across(c, plant, &poses)).map(|z| (poses.len(), z)))
        .flatten();
    CancellerFigures {
        nominal_db,
        nearby_worst_db,
        shortening_cost_db,
        zone,
    }
}

/// The separation of `c` (a canceller alone) at its own listener and the worse of the
/// listeners [`NEARBY_OFFSET_M`] to either side, dB.
fn separation_figures(c: &Design, plant: &dyn Plant) -> (f64, f64) {
    let mut nominal = f64::NAN;
    let mut nearby = f64::INFINITY;
    for p in standard_perturbations() {
        if !(p.is_nominal() || p.is_nearby()) {
            continue;
        }
        let Some(s) = perturbed_separation_on(c, plant, &p) else {
            continue;
        };
        if p.is_nominal() {
            nominal = s.mean_db;
        } else {
            nearby = nearby.min(s.mean_db);
        }
    }
    (nominal, nearby)
}

/// Everything `filters.json` is made of.
struct FiltersJson<'a> {
    settings: &'a Settings,
    args: &'a SettingsArgs,
    plant: &'a dyn Plant,
    exported: &'a ExportedFilters,
    drivers: &'a [&'a str],
    how: &'a ExportOptions,
    predicted: &'a Predicted,
    layout: FrameLayout,
}

/// `filters.json`: the format, what each file is, the settings and what they predict.
fn filters_json(f: &FiltersJson) -> serde_json::Value {
    let s = f.settings;
    let mut parameters = serde_json::Map::new();
    parameters.insert(MODE_ID.into(), s.mode.id().into());
    for spec in FLOAT_PARAMS {
        parameters.insert(spec.id.into(), (spec.read)(s).into());
    }
    for spec in BOOL_PARAMS {
        parameters.insert(spec.id.into(), (spec.read)(s).into());
    }
    parameters.insert(LATENCY_ID.into(), s.latency.id().into());
    let inputs: Vec<serde_json::Value> = f
        .exported
        .inputs
        .iter()
        .map(|i| {
            let mut entry = serde_json::json!({
                "name": i.name,
                "file": wav_name(i.name),
                "description": i.description,
            });
            if f.how.csv {
                entry["csv"] = f
                    .drivers
                    .iter()
                    .map(|d| csv_name(i.name, d))
                    .collect::<Vec<_>>()
                    .into();
            }
            entry
        })
        .collect();
    let geometry = s.geometry(f.drivers.len());
    let canceller = f.predicted.canceller.as_ref().map(|c| {
        serde_json::json!({
            "nominal_db": c.nominal_db,
            "nearby_worst_db": c.nearby_worst_db,
            "nearby_offset_m": NEARBY_OFFSET_M,
            "shortening_cost_db": c.shortening_cost_db,
            "zone": c.zone.map(|(poses, z)| serde_json::json!({
                "half_width_m": s.zone_m,
                "poses": poses,
                "at_listener_db": z.at_listener_db,
                "worst_db": z.worst_db,
                "mean_db": z.mean_db,
            })),
        })
    });
    serde_json::json!({
        "format": FILTERS_FORMAT,
        "sample_rate": f.how.rate,
        "taps": f.exported.taps,
        "latency_samples": f.exported.latency_samples,
        "plugin_latency_samples": f.layout.latency(),
        "mode": s.mode.id(),
        "inputs": inputs,
        "outputs": f.drivers,
        "convolution": "driver d's feed = sum over inputs i of (input i * channel d of file i), \
            latency_samples late; bypass and the headphone preview are listening controls and \
            are not in the filters",
        "upmix": (s.mode != Mode::Binaural).then(|| upmix_description(f.layout)),
        "bass_path": (s.mode != Mode::Binaural).then_some(BASS_DESCRIPTION),
        "parameters": parameters,
        "settings": describe(s),
        "origin": origin(f.args),
        "plant": {
            "name": f.plant.name(),
            "sofa": f.args.sofa.as_ref().map(|p| p.display().to_string()),
        },
        "geometry": {
            "drivers": geometry.drivers,
            "spacing_m": geometry.spacing_m,
            "distance_m": geometry.distance_m,
            "offset_m": geometry.offset_m,
            "yaw_deg": geometry.yaw_deg,
        },
        "predicted": {
            "separation": canceller,
            "max_side_filter_gain_db": f.predicted.max_gain_db,
        },
    })
}
