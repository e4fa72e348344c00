//! The designer thread: watches a generation counter that parameter changes bump (and the
//! head the filters are designed for), designs off the audio thread, hands the new filters
//! over lock-free and frees the ones the audio thread has retired. The audio thread only
//! ever bumps an atomic; it never waits for this.

use crate::design::filters::chain::{design, Design, DesignInput};
use crate::design::model::plant::Plant;
use crate::design::DesignError;
use crate::dsp::handover::DesignerSide;
use crate::dsp::processor::Processor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the designer looks for work when nobody wakes it.
pub const POLL_INTERVAL: Duration = Duration::from_millis(2);

/// One thing to design: the parameter generation it answers, the settings and the head.
#[derive(Clone)]
pub struct DesignJob {
    /// See `SoundstageParams::design_generation`.
    pub generation: u64,
    /// What to design for.
    pub input: DesignInput,
    /// The head to design for.
    pub plant: Arc<dyn Plant>,
    /// Why `plant` is the sphere standing in for the chosen head, if it is (the design goes
    /// on, and whoever shows designs hears why with each one).
    pub stand_in: Option<DesignError>,
}

/// What the designer last did, so that it works only when something changed.
struct Done {
    generation: u64,
    plant: Arc<dyn Plant>,
}

/// A running designer thread; stopping it (drop) joins it.
pub struct DesignWorker {
    stop: Arc<AtomicBool>,
    /// One more than the newest generation the designer answered without filters, 0 if
    /// none (see [`Waited::Refused`]).
    refused: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

/// How an offline wait for a design ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waited {
    /// The engine holds the design for the generation waited for, or a later one.
    Playing,
    /// The designer answered that generation (or a later one) without filters (the reason
    /// went to its error callback); the last good filters go on playing, and waiting longer
    /// would not help.
    Refused,
    /// The designer thread has stopped: nothing more will come.
    DesignerGone,
    /// The limit passed first.
    TimedOut,
}

/// Designs `input` for `plant`, or says why not: the plant cannot describe the geometry,
/// the design panicked (caught here, so that no panic reaches a host callback), or it gave
/// coefficients that are not finite numbers.
pub fn design_checked(input: &DesignInput, plant: &dyn Plant) -> Result<Design, DesignError> {
    plant.check(&input.settings.geometry(input.outputs))?;
    let made = catch_unwind(AssertUnwindSafe(|| design(input, plant))).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into());
        DesignError::Panicked(message)
    })?;
    if made.filters.is_finite() {
        Ok(made)
    } else {
        Err(DesignError::NotFinite)
    }
}

impl DesignWorker {
    /// Starts the thread. `source` says what to design now; work starts when the generation
    /// or the head differs from `designed`. `on_design` sees every design before its filters
    /// are sent (plots, diagnostics); `on_error` hears, once per change, why a design was not
    /// made (the last good filters keep playing), and after each design made on a stand-in,
    /// why. At most one new set waits for the audio thread: a newer design replaces one not
    /// yet sent. Fails only if the system cannot start a thread.
    pub fn spawn(
        mut source: impl FnMut() -> DesignJob + Send + 'static,
        mut designer: DesignerSide,
        mut on_design: impl FnMut(&Design) + Send + 'static,
        mut on_error: impl FnMut(&DesignError) + Send + 'static,
        designed: DesignJob,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let refused = Arc::new(AtomicU64::new(0));
        let refused_by_thread = refused.clone();
        let thread = std::thread::Builder::new()
            .name("soundstage-designer".into())
            .spawn(move || {
                let mut done = Done {
                    generation: designed.generation,
                    plant: designed.plant,
                };
                let mut unsent = None;
                while !stop_flag.load(Ordering::Acquire) {
                    designer.collect_garbage();
                    if let Some(set) = unsent.take() {
                        unsent = designer.send(set).err();
                    }
                    let job = source();
                    let changed =
                        job.generation != done.generation || !Arc::ptr_eq(&job.plant, &done.plant);
                    if changed {
                        match design_checked(&job.input, job.plant.as_ref()) {
                            Ok(mut made) => {
                                made.filters.generation = job.generation;
                                on_design(&made);
                                if let Some(why) = &job.stand_in {
                                    on_error(why);
                                }
                                let set = Box::new(made.filters);
                                // A set still waiting to be sent is older: this one
                                // replaces it.
                                unsent = match unsent {
                                    Some(_) => Some(set),
                                    None => designer.send(set).err(),
                                };
                            }
                            Err(why) => {
                                let after = job.generation.saturating_add(1);
                                refused_by_thread.fetch_max(after, Ordering::Release);
                                on_error(&why);
                            }
                        }
                        done = Done {
                            generation: job.generation,
                            plant: job.plant,
                        };
                    }
                    std::thread::park_timeout(POLL_INTERVAL);
                }
            })?;
        Ok(Self {
            stop,
            refused,
            thread: Some(thread),
        })
    }

    /// Offline only (never in real time): blocks until `processor`'s engine holds the design
    /// for `generation`, the designer answers it without filters, the designer thread is
    /// gone, or `limit` passes, so that a bounce does not depend on the designer's speed and
    /// a design that cannot come costs no wait.
    pub fn wait_for(&self, processor: &mut Processor, generation: u64, limit: Duration) -> Waited {
        let start = Instant::now();
        loop {
            processor.poll();
            // Generations only grow, and the designer answers the newest: a later one
            // answers this one too.
            if processor.engine().newest_generation() >= generation {
                return Waited::Playing;
            }
            if self.refused.load(Ordering::Acquire) > generation {
                return Waited::Refused;
            }
            if self.thread.as_ref().is_none_or(JoinHandle::is_finished) {
                return Waited::DesignerGone;
            }
            if start.elapsed() >= limit {
                return Waited::TimedOut;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
}

impl Drop for DesignWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}
