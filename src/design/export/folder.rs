//! An export written to a folder, by `soundstage export` and the editor's *Export filters…*
//! alike: one 32-bit float WAV per input (a channel per driver), optionally one text file of
//! coefficients per input and driver, and `filters.json`, which says what each file is and
//! what the design predicts.

use super::predicted::{design_with_taps, Predicted};
use super::{check, driver_names, export, ExportError, ExportedFilters, FILTERS_FORMAT};
use crate::design::config::settings::{Mode, Settings};
use crate::design::evaluate::metrics::NEARBY_OFFSET_M;
use crate::design::filters::chain::DesignInput;
use crate::design::model::plant::Plant;
use crate::dsp::contract::FrameLayout;
use crate::dsp::upmix::{COHERENCE_GATE, UPMIX_TIME_CONSTANT_S};
use crate::files::{write_float_wav, write_text, WriteError};
use crate::limits::SAMPLE_RATES_HZ;
use crate::params::{describe, BOOL_PARAMS, FLOAT_PARAMS, LATENCY_ID, MODE_ID};
use std::fmt::Write as _;
use std::path::Path;

/// Where an export's settings and head came from, as its user made them, for
/// `filters.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// How the settings were made: `preset desktop, --set width=80%`, or a plugin session.
    pub origin: String,
    /// The SOFA file the head or device was read from, where it is known.
    pub sofa: Option<String>,
}

/// An export asked for.
pub struct ExportRequest<'a> {
    /// The settings designed for.
    pub settings: Settings,
    /// The number of drivers, 2 to 4.
    pub outputs: usize,
    /// The device's sample rate, Hz.
    pub rate: u32,
    /// The head or device designed for and judged on.
    pub plant: &'a dyn Plant,
    /// Length of every FIR; `None`: the design's full length.
    pub taps: Option<usize>,
    /// Also one text file of coefficients per input and driver.
    pub csv: bool,
    /// Where the settings came from.
    pub provenance: Provenance,
}

/// What an export wrote.
#[derive(Clone, Debug)]
pub struct Written {
    /// The filters, as written.
    pub filters: ExportedFilters,
    /// The number of drivers.
    pub drivers: usize,
    /// What the design predicts.
    pub predicted: Predicted,
}

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportFailure {
    /// The settings or the options ask for filters that cannot be exported.
    #[error(transparent)]
    Refused(#[from] ExportError),
    /// A file could not be written; the files written before it stay.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The file an input's FIRs are written to.
pub fn wav_name(input: &str) -> String {
    format!("{input}.wav")
}

/// The file one FIR's coefficients are written to beside the WAVs.
pub fn csv_name(input: &str, driver: &str) -> String {
    format!("{input}.{driver}.csv")
}

/// Designs what `request` asks for and writes its files into `outdir` (created if missing).
/// Nothing is written when the request is refused.
pub fn write_export(outdir: &Path, request: &ExportRequest) -> Result<Written, ExportFailure> {
    if !SAMPLE_RATES_HZ.contains(&f64::from(request.rate)) {
        return Err(ExportError::Rate { rate: request.rate }.into());
    }
    if !(2..=4).contains(&request.outputs) {
        return Err(ExportError::Drivers {
            given: request.outputs,
        }
        .into());
    }
    let input = DesignInput {
        settings: request.settings,
        outputs: request.outputs,
        sample_rate: f64::from(request.rate),
    };
    let layout = input.layout();
    let taps = request.taps.unwrap_or(layout.design_taps());
    check(layout, taps)?;
    std::fs::create_dir_all(outdir).map_err(|source| WriteError::Io {
        path: outdir.to_path_buf(),
        source,
    })?;
    let made = design_with_taps(&input, request.plant, taps);
    let filters = export(&made);
    let drivers = driver_names(request.outputs);
    for set in &filters.inputs {
        write_float_wav(&outdir.join(wav_name(set.name)), request.rate, &set.filters)?;
        if request.csv {
            for (driver, filter) in drivers.iter().zip(&set.filters) {
                let mut text = String::with_capacity(filter.len() * 16);
                for v in filter {
                    let _ = writeln!(text, "{v:e}");
                }
                write_text(&outdir.join(csv_name(set.name, driver)), &text)?;
            }
        }
    }
    let written = Written {
        filters,
        drivers: request.outputs,
        predicted: Predicted::new(&made, request.plant),
    };
    let path = outdir.join("filters.json");
    let text =
        serde_json::to_string_pretty(&filters_json(request, &written, layout)).map_err(|e| {
            WriteError::Encode {
                path: path.clone(),
                reason: e.to_string(),
            }
        })?;
    write_text(&path, &text)?;
    Ok(written)
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

/// `filters.json`: the format, what each file is, the settings and what they predict.
fn filters_json(
    request: &ExportRequest,
    written: &Written,
    layout: FrameLayout,
) -> serde_json::Value {
    let s = &request.settings;
    let drivers = driver_names(written.drivers);
    let mut parameters = serde_json::Map::new();
    parameters.insert(MODE_ID.into(), s.mode.id().into());
    for spec in FLOAT_PARAMS {
        parameters.insert(spec.id.into(), (spec.read)(s).into());
    }
    for spec in BOOL_PARAMS {
        parameters.insert(spec.id.into(), (spec.read)(s).into());
    }
    parameters.insert(LATENCY_ID.into(), s.latency.id().into());
    let inputs: Vec<serde_json::Value> = written
        .filters
        .inputs
        .iter()
        .map(|i| {
            let mut entry = serde_json::json!({
                "name": i.name,
                "file": wav_name(i.name),
                "description": i.description,
            });
            if request.csv {
                entry["csv"] = drivers
                    .iter()
                    .map(|d| csv_name(i.name, d))
                    .collect::<Vec<_>>()
                    .into();
            }
            entry
        })
        .collect();
    let geometry = s.geometry(written.drivers);
    let canceller = written.predicted.canceller.as_ref().map(|c| {
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
        "sample_rate": request.rate,
        "taps": written.filters.taps,
        "latency_samples": written.filters.latency_samples,
        "plugin_latency_samples": layout.latency(),
        "mode": s.mode.id(),
        "inputs": inputs,
        "outputs": drivers,
        "convolution": "driver d's feed = sum over inputs i of (input i * channel d of file i), \
            latency_samples late; bypass and the headphone preview are listening controls and \
            are not in the filters",
        "upmix": (s.mode != Mode::Binaural).then(|| upmix_description(layout)),
        "bass_path": (s.mode != Mode::Binaural).then_some(BASS_DESCRIPTION),
        "parameters": parameters,
        "settings": describe(s),
        "origin": request.provenance.origin,
        "plant": {
            "name": request.plant.name(),
            "sofa": request.provenance.sofa,
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
            "max_side_filter_gain_db": written.predicted.max_gain_db,
        },
    })
}
