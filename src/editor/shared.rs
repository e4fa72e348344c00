//! What the plugin's threads hand to the editor: a summary of the latest design (from the
//! designer thread) and level meters (from the audio thread, only while the editor is open).

use crate::design::filterset::Design;
use atomic_float::AtomicF32;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// Shared between the plugin, its designer thread and the editor.
#[derive(Default)]
pub struct Shared {
    /// One-line description of the latest design.
    summary: Mutex<String>,
    /// Smoothed input level, dBFS.
    pub input_db: AtomicF32,
    /// Smoothed output level (loudest output), dBFS.
    pub output_db: AtomicF32,
}

impl Shared {
    /// Records what the designer just produced (designer thread).
    pub fn publish(&self, design: &Design) {
        let layout = design.filters.layout;
        let text = format!(
            "{} outputs · {} · latency {} samples ({:.1} ms) · {}",
            design.filters.outputs,
            design.input.settings.mode.id(),
            layout.latency(),
            layout.latency() as f64 * 1000.0 / design.input.sample_rate,
            if design.beam.available() {
                "centre beam available"
            } else {
                "two drivers: depth is centre presence"
            },
        );
        *self.summary.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }

    /// The latest design summary (editor thread).
    pub fn status_line(&self) -> String {
        self.summary
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Updates the meters from one block (audio thread, editor open only). Allocation-free.
    pub fn meter(&self, input: &[Vec<f32>; 2], output: &[&mut [f32]], samples: usize) {
        let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt();
        let db = |v: f32| 20.0 * v.max(1e-6).log10();
        let input_level = rms(&input[0][..samples]).max(rms(&input[1][..samples]));
        let output_level = output
            .iter()
            .map(|o| rms(&o[..samples]))
            .fold(0.0, f32::max);
        for (meter, level) in [
            (&self.input_db, input_level),
            (&self.output_db, output_level),
        ] {
            let old = meter.load(Ordering::Relaxed);
            meter.store(0.8 * old + 0.2 * db(level), Ordering::Relaxed);
        }
    }
}
