//! What the plugin's threads hand to the editor: a summary of the latest design (from the
//! designer thread) and level meters (from the audio thread, only while the editor is open).

use crate::design::filters::chain::Design;
use crate::dsp::meters::Meters;
use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Sample rate the editor analyses at before the host has activated the plugin, Hz.
const DEFAULT_SAMPLE_RATE: f32 = 48_000.0;

/// Shared between the plugin, its designer thread and the editor.
pub struct Shared {
    /// One-line description of the latest design.
    summary: Mutex<String>,
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
            summary: Mutex::new(String::from(
                "not active yet: the host has not started audio",
            )),
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
        let layout = design.filters.layout;
        let text = format!(
            "{} outputs · {}{} · {} · latency {} samples ({:.1} ms) · {}",
            design.filters.outputs,
            design.input.settings.mode.id(),
            if design.input.settings.preview {
                " (headphone preview)"
            } else {
                ""
            },
            design.plant_name,
            layout.latency(),
            layout.latency() as f64 * 1000.0 / design.input.sample_rate,
            if design.beam.available() {
                "centre beam available"
            } else {
                "two drivers: depth is centre presence"
            },
        );
        *self.summary.lock().unwrap_or_else(|e| e.into_inner()) = text;
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

    /// The latest design summary (editor thread).
    pub fn status_line(&self) -> String {
        self.summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
