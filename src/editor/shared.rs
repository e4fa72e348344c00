//! What the plugin's threads hand to the editor: a summary of the latest design (from the
//! designer thread) and level meters (from the audio thread, only while the editor is open).

use crate::design::filterset::Design;
use crate::dsp::meters::Meters;
use std::sync::Mutex;

/// Shared between the plugin, its designer thread and the editor.
#[derive(Default)]
pub struct Shared {
    /// One-line description of the latest design.
    summary: Mutex<String>,
    /// Levels, correlation and mono compatibility, from the audio thread.
    pub meters: Meters,
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
}
