//! What the plugin's threads hand to the editor: a summary of the latest design (from the
//! designer thread) and level meters (from the audio thread, only while the editor is open).

use crate::design::config::settings::Mode;
use crate::design::evaluate::metrics::SEPARATION_BAND;
use crate::design::filters::chain::Design;
use crate::design::filters::ctc::CtcDesign;
use crate::dsp::meters::Meters;
use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Sample rate the editor analyses at before the host has activated the plugin, Hz.
const DEFAULT_SAMPLE_RATE: f32 = 48_000.0;

/// What the editor's status line says of the latest design.
#[derive(Clone, Debug, PartialEq)]
pub struct DesignSummary {
    /// Outputs designed for.
    pub outputs: usize,
    /// The mode designed for.
    pub mode: Mode,
    /// Whether the headphone preview is on.
    pub preview: bool,
    /// The head designed for.
    pub plant_name: String,
    /// Latency, samples.
    pub latency_samples: usize,
    /// Sample rate, Hz.
    pub sample_rate: f64,
    /// Whether the layout has a centre beam (three drivers or more).
    pub beam_available: bool,
    /// The listener designed for: sideways and distance, metres, and yaw, degrees (a tracked
    /// head's pose while tracking).
    pub pose: [f64; 3],
    /// The separation the design predicts at that pose (300 Hz–6 kHz, worse side), dB; none
    /// without a canceller.
    pub separation_db: Option<f64>,
}

impl DesignSummary {
    /// The summary of `design`.
    pub fn of(design: &Design) -> Self {
        Self {
            outputs: design.filters.outputs,
            mode: design.input.settings.mode,
            preview: design.input.settings.preview,
            plant_name: design.plant_name.clone(),
            latency_samples: design.filters.layout.latency(),
            sample_rate: design.input.sample_rate,
            beam_available: design.beam.available(),
            pose: {
                let s = &design.input.settings;
                [s.offset_m, s.distance_m, s.yaw_deg]
            },
            separation_db: design.mode.ctc().and_then(predicted_separation_db),
        }
    }
}

/// The separation a canceller reaches on its design plant, averaged in dB over
/// [`SEPARATION_BAND`], the worse of the two sides.
fn predicted_separation_db(ctc: &CtcDesign) -> Option<f64> {
    let (lo, hi) = SEPARATION_BAND;
    let mut sums = [0.0; 2];
    let mut count = 0usize;
    for (f, achieved) in ctc.freqs.iter().zip(&ctc.achieved_db) {
        if (lo..=hi).contains(f) {
            sums[0] += achieved[0];
            sums[1] += achieved[1];
            count += 1;
        }
    }
    (count > 0).then(|| sums[0].min(sums[1]) / count as f64)
}

impl std::fmt::Display for DesignSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} outputs · {}{} · {} · latency {} samples ({:.1} ms) · {}",
            self.outputs,
            self.mode.id(),
            if self.preview {
                " (headphone preview)"
            } else {
                ""
            },
            self.plant_name,
            self.latency_samples,
            self.latency_samples as f64 * 1000.0 / self.sample_rate,
            if self.beam_available {
                "centre beam available"
            } else {
                "two drivers: depth is centre presence"
            },
        )
    }
}

/// Shared between the plugin, its designer thread and the editor.
pub struct Shared {
    /// The latest design, once there is one.
    summary: Mutex<Option<DesignSummary>>,
    /// Why the latest change could not be designed (the last good design plays on).
    problem: Mutex<Option<String>>,
    /// Levels, correlation and mono compatibility, from the audio thread.
    pub meters: Meters,
    /// Output count of the active layout (2 until the host activates another).
    outputs: AtomicUsize,
    /// Sample rate of the active instance, Hz.
    sample_rate: AtomicF32,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            summary: Mutex::new(None),
            problem: Mutex::new(None),
            meters: Meters::default(),
            outputs: AtomicUsize::new(2),
            sample_rate: AtomicF32::new(DEFAULT_SAMPLE_RATE),
        }
    }
}

impl Shared {
    /// Records the layout and rate the host activated (main thread, in `activate`).
    pub fn set_active(&self, outputs: usize, sample_rate: f64) {
        self.outputs.store(outputs, Ordering::Relaxed);
        self.sample_rate
            .store(sample_rate as f32, Ordering::Relaxed);
    }

    /// Output count and sample rate the editor's plots describe.
    pub fn active(&self) -> (usize, f64) {
        (
            self.outputs.load(Ordering::Relaxed),
            self.sample_rate.load(Ordering::Relaxed) as f64,
        )
    }

    /// Records what the designer just produced (designer thread).
    pub fn publish(&self, design: &Design) {
        *self.summary.lock().unwrap_or_else(|e| e.into_inner()) = Some(DesignSummary::of(design));
        *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Records why the latest change was not designed (designer thread).
    pub fn set_problem(&self, why: &impl std::fmt::Display) {
        *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.to_string());
    }

    /// Why the latest change could not be designed, if it could not (editor thread).
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The latest design (editor thread).
    pub fn summary(&self) -> Option<DesignSummary> {
        self.summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The status line: the latest design, or why there is none yet.
    pub fn status_line(&self) -> String {
        self.summary().map_or_else(
            || "not active yet: the host has not started audio".to_string(),
            |s| s.to_string(),
        )
    }
}
