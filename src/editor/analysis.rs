//! The editor's plots come from [`crate::design::evaluate::analysis::analyse`], the code behind
//! `soundstage report`. It takes tens of milliseconds, so it runs on a short-lived thread of
//! its own, only while the editor is open, only when the settings changed since the last
//! result, and never more than one at a time (a knob being dragged asks again when the
//! running one finishes). The sweet-spot map (a design per listener position, about half a
//! second) is computed the same way, only while its view is shown. Nothing here touches the
//! audio thread.

use crate::design::evaluate::analysis::{analyse, Analysis};
use crate::design::evaluate::sweet_spot::{sweet_spot, SweetSpot};
use crate::design::filters::chain::{design, DesignInput};
use crate::design::model::plant::Plant;
use std::sync::{Arc, Mutex};

/// The latest result of one computation (with what it was computed for) and whether one is
/// being computed.
struct Slot<T> {
    latest: Option<(DesignInput, Arc<dyn Plant>, Arc<T>)>,
    running: bool,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            latest: None,
            running: false,
        }
    }
}

/// One computation's results, computed off the GUI and audio threads.
struct Computed<T> {
    slot: Arc<Mutex<Slot<T>>>,
}

impl<T> Clone for Computed<T> {
    fn clone(&self) -> Self {
        Self {
            slot: self.slot.clone(),
        }
    }
}

impl<T> Default for Computed<T> {
    fn default() -> Self {
        Self {
            slot: Arc::default(),
        }
    }
}

impl<T: Send + Sync + 'static> Computed<T> {
    fn latest(&self) -> Option<Arc<T>> {
        self.lock().latest.as_ref().map(|(_, _, r)| r.clone())
    }

    /// Starts `compute` for `input` on `plant` unless its result exists or one is running.
    fn request(
        &self,
        input: DesignInput,
        plant: Arc<dyn Plant>,
        compute: impl FnOnce(&DesignInput, &dyn Plant) -> T + Send + 'static,
        done: impl FnOnce() + Send + 'static,
    ) {
        {
            let mut slot = self.lock();
            let current = slot
                .latest
                .as_ref()
                .is_some_and(|(i, head, _)| *i == input && Arc::ptr_eq(head, &plant));
            if slot.running || current {
                return;
            }
            slot.running = true;
        }
        let cache = self.clone();
        let spawned = std::thread::Builder::new()
            .name("soundstage-analysis".into())
            .spawn(move || {
                let result = Arc::new(compute(&input, plant.as_ref()));
                {
                    let mut slot = cache.lock();
                    slot.latest = Some((input, plant, result));
                    slot.running = false;
                }
                done();
            });
        if spawned.is_err() {
            // No thread to be had: keep the last plots and try again on a later frame.
            self.lock().running = false;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Cached analyses and sweet-spot maps.
#[derive(Clone, Default)]
pub struct AnalysisCache {
    analyses: Computed<Analysis>,
    sweet_spots: Computed<SweetSpot>,
}

impl AnalysisCache {
    /// The newest finished analysis, if any.
    pub fn latest(&self) -> Option<Arc<Analysis>> {
        self.analyses.latest()
    }

    /// Makes sure an analysis of `input` exists or is on its way; `done` runs (on the worker
    /// thread) when it is ready, to repaint the editor.
    pub fn request(
        &self,
        input: DesignInput,
        plant: Arc<dyn Plant>,
        done: impl FnOnce() + Send + 'static,
    ) {
        let analyse_design = |input: &DesignInput, plant: &dyn Plant| {
            let made = design(input, plant);
            analyse(&made, plant)
        };
        self.analyses.request(input, plant, analyse_design, done);
    }

    /// The newest finished sweet-spot map, if any.
    pub fn sweet_spot(&self) -> Option<Arc<SweetSpot>> {
        self.sweet_spots.latest()
    }

    /// Like [`Self::request`], for the sweet-spot map of `input` (the view that shows it asks).
    pub fn request_sweet_spot(
        &self,
        input: DesignInput,
        plant: Arc<dyn Plant>,
        done: impl FnOnce() + Send + 'static,
    ) {
        self.sweet_spots.request(input, plant, sweet_spot, done);
    }
}
