//! The editor's plots come from [`crate::design::evaluate::analysis::analyse`], the code behind
//! `soundstage report`. It takes tens of milliseconds, so it runs on a short-lived thread of
//! its own, only while the editor is open, only when the settings changed since the last
//! result, and never more than one at a time (a knob being dragged asks again when the
//! running one finishes). Nothing here touches the audio thread.

use crate::design::evaluate::analysis::{analyse, Analysis};
use crate::design::filters::chain::{design, DesignInput};
use crate::design::model::plant::Plant;
use std::sync::{Arc, Mutex};

/// The latest analysis (with the head it listened through) and whether one is being
/// computed.
#[derive(Default)]
struct State {
    latest: Option<(Arc<dyn Plant>, Arc<Analysis>)>,
    running: bool,
}

/// Cached analyses, computed off the GUI and audio threads.
#[derive(Clone, Default)]
pub struct AnalysisCache {
    state: Arc<Mutex<State>>,
}

impl AnalysisCache {
    /// The newest finished analysis, if any.
    pub fn latest(&self) -> Option<Arc<Analysis>> {
        self.lock().latest.as_ref().map(|(_, a)| a.clone())
    }

    /// Makes sure an analysis of `input` exists or is on its way; `done` runs (on the worker
    /// thread) when it is ready, to repaint the editor.
    pub fn request(
        &self,
        input: DesignInput,
        plant: Arc<dyn Plant>,
        done: impl FnOnce() + Send + 'static,
    ) {
        {
            let mut state = self.lock();
            let current = state
                .latest
                .as_ref()
                .is_some_and(|(head, a)| a.input == input && Arc::ptr_eq(head, &plant));
            if state.running || current {
                return;
            }
            state.running = true;
        }
        let cache = self.clone();
        let spawned = std::thread::Builder::new()
            .name("soundstage-analysis".into())
            .spawn(move || {
                let made = design(&input, plant.as_ref());
                let analysis = Arc::new(analyse(&made, plant.as_ref()));
                {
                    let mut state = cache.lock();
                    state.latest = Some((plant, analysis));
                    state.running = false;
                }
                done();
            });
        if spawned.is_err() {
            // No thread to be had: keep the last plots and try again on a later frame.
            self.lock().running = false;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
