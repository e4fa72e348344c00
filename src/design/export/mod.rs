//! A design's linear filter matrix as FIR taps, for a device's DSP: what `soundstage export`
//! and the editor's *Export filters…* write ([`write_export`]). Each exported input has one
//! FIR per driver, and driver d's feed is the sum over the inputs of input i convolved with
//! FIR (i, d), [`ExportedFilters::latency_samples`] late, exactly as the engine's output is
//! (its latency compensated).
//!
//! In binaural mode the upmix cancels out (the centre goes wherever the sides go), so the
//! inputs are the stereo input's two channels and the export is the whole processing. In the
//! other modes the filters read the upmix's outputs, which adapt to the programme and stay
//! in software (see [`crate::dsp::upmix`]): the inputs are side left, side right and centre
//! (what the engine's STFT multiplies by its matrix), and the input's own left and right for
//! the bass path, the plain feed below the crossover that the processed chain replaces above
//! it.

mod folder;
mod predicted;

pub use folder::{
    csv_name, wav_name, write_export, ExportFailure, ExportRequest, Provenance, Written,
};
pub use predicted::{design_with_taps, CancellerFigures, Predicted};

use crate::design::config::settings::Mode;
use crate::design::filters::chain::Design;
use crate::design::filters::crossover::{taps_before_delay, MIN_TAPS};
use crate::design::C64;
use crate::dsp::contract::{plain_side, FrameLayout, LatencyMode, UPMIX_CHANNELS};
use realfft::RealFftPlanner;
use std::f64::consts::PI;

/// The `format` of an export's `filters.json`; a reader that finds another refuses the file.
pub const FILTERS_FORMAT: &str = "soundstage-filters/1";

/// Why a design cannot be exported as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Low latency splits the bass with a recursive (Linkwitz–Riley) filter in the time
    /// domain, which no FIR matrix holds.
    #[error(
        "low latency's bass crossover is a recursive filter, not FIR taps: export in the normal latency mode"
    )]
    LowLatency,
    /// A device rate Soundstage does not design for.
    #[error("{rate} Hz: Soundstage designs for 8000 to 768000 Hz")]
    Rate {
        /// The rate asked for.
        rate: u32,
    },
    /// A line of drivers Soundstage does not design for.
    #[error("{given} drivers: Soundstage designs for lines of 2 to 4")]
    Drivers {
        /// The number asked for.
        given: usize,
    },
    /// The tap count asked for is outside what the design can be windowed to.
    #[error("{given} taps: the filters can be {min} to {max} taps long at this rate (the design's full length)")]
    Taps {
        /// What was asked for.
        given: usize,
        /// The shortest window.
        min: usize,
        /// The design's full length.
        max: usize,
    },
}

/// Checks that a design with `layout`'s frames can be exported with `taps` taps: FIR
/// filters need the normal layout, and a length the design can be windowed to.
pub fn check(layout: FrameLayout, taps: usize) -> Result<(), ExportError> {
    let full_taps = layout.design_taps();
    if layout.mode == LatencyMode::Low {
        return Err(ExportError::LowLatency);
    }
    if !(MIN_TAPS..=full_taps).contains(&taps) {
        return Err(ExportError::Taps {
            given: taps,
            min: MIN_TAPS,
            max: full_taps,
        });
    }
    Ok(())
}

/// One input of the exported matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedInput {
    /// Its name in `filters.json` and the name of its file.
    pub name: &'static str,
    /// What the input is, for the reader of `filters.json`.
    pub description: &'static str,
    /// `[driver][tap]`: the FIR from this input to each driver, in line order.
    pub filters: Vec<Vec<f32>>,
}

/// A design's filter matrix as FIRs.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportedFilters {
    /// The inputs in order, each with its FIRs.
    pub inputs: Vec<ExportedInput>,
    /// Length of every FIR.
    pub taps: usize,
    /// How late the driver feeds come out of the FIRs: the filters' modelling delay, less
    /// what a shortened window dropped before it. The plugin reports more
    /// ([`crate::dsp::contract::FrameLayout::latency`]): its frames and output stage add
    /// buffering, and it keeps the full-length window's delay.
    pub latency_samples: usize,
}

/// The exported inputs in binaural mode and what they are.
const BINAURAL_INPUTS: [(&str, &str); 2] = [
    ("left", "the stereo input's left channel"),
    ("right", "the stereo input's right channel"),
];

/// The exported inputs in speakers and headphone modes and what they are: the upmix's three
/// outputs in its order, then the bass path of each input side.
const UPMIX_INPUTS: [(&str, &str); 5] = [
    (
        "side_left",
        "the upmix's side left L' = L - C (`upmix` says how C is made)",
    ),
    ("side_right", "the upmix's side right R' = R - C"),
    ("centre", "the upmix's centre C"),
    (
        "bass_left",
        "the stereo input's left channel itself: its bass path below the crossover",
    ),
    (
        "bass_right",
        "the stereo input's right channel itself: its bass path below the crossover",
    ),
];

/// The FIRs of `made` at its settings' width and output gain, as long as it was designed
/// (see [`Design::taps`]). The design must not split the bass in the time domain (see
/// [`check`]).
pub fn export(made: &Design) -> ExportedFilters {
    let filters = &made.filters;
    let settings = &made.input.settings;
    let (mode, width, taps) = (settings.mode, settings.width, made.taps);
    let output_gain = settings.output_gain();
    let layout = filters.layout;
    assert!(
        filters.bass_split.is_none(),
        "a set that splits the bass in the time domain has no FIR matrix"
    );
    let bins = layout.bins();
    let outputs = filters.outputs;
    let loudness = filters.output_gain(width);
    let c64 = |v: realfft::num_complex::Complex32| C64::new(v.re as f64, v.im as f64);
    let processed = |k: usize, out: usize, ch: usize| {
        let i = filters.index(k, out, ch);
        (c64(filters.base.get(i)) + c64(filters.width_delta.get(i)) * width) * loudness
    };
    // The plain feed of input side `side` and what the sides take away from it.
    let bass = |k: usize, out: usize, side: usize| {
        let delay = if plain_side(out, outputs) == Some(side) {
            C64::from_polar(
                1.0,
                -2.0 * PI * k as f64 * layout.bulk_delay as f64 / layout.fft_len as f64,
            )
        } else {
            C64::new(0.0, 0.0)
        };
        delay + c64(filters.sides[side].get(out * bins + k))
    };
    let spectrum_of = |input: usize, out: usize| -> Vec<C64> {
        (0..bins)
            .map(|k| match (mode, input) {
                // The upmix cancels out: C reaches the drivers as L' and R' together.
                (Mode::Binaural, side) => processed(k, out, side) + bass(k, out, side),
                (_, ch) if ch < UPMIX_CHANNELS => processed(k, out, ch),
                (_, side) => bass(k, out, side - UPMIX_CHANNELS),
            })
            .collect()
    };
    let named: &[(&str, &str)] = if mode == Mode::Binaural {
        &BINAURAL_INPUTS
    } else {
        &UPMIX_INPUTS
    };
    let before_delay = taps_before_delay(layout, taps);
    let first = layout.bulk_delay - before_delay;
    let mut planner = RealFftPlanner::<f64>::new();
    let inverse = planner.plan_fft_inverse(layout.fft_len);
    let mut time = vec![0.0; layout.fft_len];
    let inputs = named
        .iter()
        .enumerate()
        .map(|(input, &(name, description))| ExportedInput {
            name,
            description,
            filters: (0..outputs)
                .map(|out| {
                    let mut spectrum = spectrum_of(input, out);
                    spectrum[0].im = 0.0;
                    spectrum[bins - 1].im = 0.0;
                    inverse
                        .process(&mut spectrum, &mut time)
                        .expect("DC and Nyquist are real and the buffers are sized by the plan");
                    let scale = output_gain / layout.fft_len as f64;
                    time[first..first + taps]
                        .iter()
                        .map(|v| (v * scale) as f32)
                        .collect()
                })
                .collect(),
        })
        .collect();
    ExportedFilters {
        inputs,
        taps,
        latency_samples: before_delay,
    }
}

/// Names of the drivers of a line of `outputs` (2 to 4), leftmost (as the listener sees
/// them) first.
pub fn driver_names(outputs: usize) -> &'static [&'static str] {
    match outputs {
        2 => &["left", "right"],
        3 => &["left", "centre", "right"],
        _ => &["left", "inner_left", "inner_right", "right"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::config::settings::Settings;
    use crate::design::filters::chain::{design, design_shortened, DesignInput};
    use crate::design::model::plant::SphereHead;

    fn input(mode: Mode) -> DesignInput {
        DesignInput {
            settings: Settings {
                mode,
                ..Settings::default()
            },
            outputs: 2,
            sample_rate: 48_000.0,
        }
    }

    /// Largest magnitude of `taps` outside `keep`.
    fn outside(taps: &[f64], keep: std::ops::Range<usize>) -> f64 {
        taps.iter()
            .enumerate()
            .filter(|(i, _)| !keep.contains(i))
            .fold(0.0, |m, (_, v)| m.max(v.abs()))
    }

    #[test]
    fn a_full_length_export_keeps_every_tap_the_engine_convolves_with() {
        // The design's FIRs live in the window: what the export drops is float rounding.
        let made = design(&input(Mode::Speakers), &SphereHead::default());
        let layout = made.filters.layout;
        let full = layout.design_taps();
        let mut planner = RealFftPlanner::<f64>::new();
        let inverse = planner.plan_fft_inverse(layout.fft_len);
        let row = made.filters.base_row(0);
        let mut spectrum: Vec<C64> = (0..layout.bins())
            .map(|k| C64::new(row[0].re[k] as f64, row[0].im[k] as f64))
            .collect();
        let mut time = vec![0.0; layout.fft_len];
        inverse.process(&mut spectrum, &mut time).unwrap();
        let peak = time.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(peak > 0.0);
        let dropped_db = 20.0 * (outside(&time, 0..full) / peak).log10();
        assert!(dropped_db < -120.0, "{dropped_db:.1} dB outside the window");
    }

    #[test]
    fn a_shortened_design_exports_its_taps_around_the_same_delay_share() {
        let made = design_shortened(&input(Mode::Binaural), &SphereHead::default(), 257);
        let set = export(&made);
        assert_eq!(set.taps, 257);
        assert_eq!(set.latency_samples, 128, "half the taps before the delay");
        assert_eq!(set.inputs.len(), 2);
        // The left input's strongest tap on the left driver is the delayed input itself.
        let left = &set.inputs[0].filters[0];
        let strongest = (0..left.len())
            .max_by(|&a, &b| left[a].abs().total_cmp(&left[b].abs()))
            .unwrap();
        assert_eq!(strongest, set.latency_samples);
    }

    #[test]
    fn a_low_latency_design_or_a_tap_count_out_of_range_is_refused() {
        let layout = |mode| FrameLayout::new(48_000.0, mode);
        assert_eq!(
            check(layout(LatencyMode::Low), 385),
            Err(ExportError::LowLatency)
        );
        for taps in [MIN_TAPS - 1, 1026] {
            assert!(matches!(
                check(layout(LatencyMode::Normal), taps),
                Err(ExportError::Taps { given, .. }) if given == taps
            ));
        }
        for taps in [MIN_TAPS, 1025] {
            assert!(check(layout(LatencyMode::Normal), taps).is_ok());
        }
    }

    #[test]
    fn drivers_are_named_leftmost_first() {
        assert_eq!(driver_names(2), ["left", "right"]);
        assert_eq!(driver_names(3), ["left", "centre", "right"]);
        assert_eq!(
            driver_names(4),
            ["left", "inner_left", "inner_right", "right"]
        );
    }
}
