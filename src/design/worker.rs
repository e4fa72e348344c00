//! The designer thread: watches a generation counter that parameter changes bump (and the
//! head the filters are designed for), designs off the audio thread, hands the new filters
//! over lock-free and frees the ones the audio thread has retired. The audio thread only
//! ever bumps an atomic; it never waits for this.

use crate::design::filters::chain::{design, Design, DesignInput};
use crate::design::model::plant::Plant;
use crate::design::DesignError;
use crate::dsp::handover::DesignerSide;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

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
    thread: Option<JoinHandle<()>>,
}

impl DesignWorker {
    /// Starts the thread. `source` says what to design now (or why nothing can be: the
    /// head's data is unusable); work starts when the generation or the head differs from
    /// `designed`. `on_design` sees every design before its filters are sent (plots,
    /// diagnostics); `on_error` hears, once per change, why a design was not made (the last
    /// good filters keep playing), and after each design made on a stand-in, why. At most one
    /// new set waits for the audio thread: a newer design replaces one not yet sent. Fails
    /// only if the system cannot start a thread.
    pub fn spawn(
        mut source: impl FnMut() -> Result<DesignJob, DesignError> + Send + 'static,
        mut designer: DesignerSide,
        mut on_design: impl FnMut(&Design) + Send + 'static,
        mut on_error: impl FnMut(&DesignError) + Send + 'static,
        designed: DesignJob,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("soundstage-designer".into())
            .spawn(move || {
                let mut done = Done {
                    generation: designed.generation,
                    plant: designed.plant,
                };
                let mut unsent = None;
                let mut last_error: Option<DesignError> = None;
                while !stop_flag.load(Ordering::Acquire) {
                    designer.collect_garbage();
                    if let Some(set) = unsent.take() {
                        unsent = designer.send(set).err();
                    }
                    match source() {
                        Ok(job) => {
                            let changed = job.generation != done.generation
                                || !Arc::ptr_eq(&job.plant, &done.plant);
                            if changed {
                                let geometry = job.input.settings.geometry(job.input.outputs);
                                match job.plant.check(&geometry) {
                                    Ok(()) => {
                                        let mut made = design(&job.input, job.plant.as_ref());
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
                                        last_error = job.stand_in.clone();
                                    }
                                    Err(why) => {
                                        on_error(&why);
                                        last_error = Some(why);
                                    }
                                }
                                done = Done {
                                    generation: job.generation,
                                    plant: job.plant,
                                };
                            }
                        }
                        Err(why) => {
                            if last_error.as_ref() != Some(&why) {
                                on_error(&why);
                                last_error = Some(why);
                            }
                        }
                    }
                    std::thread::park_timeout(POLL_INTERVAL);
                }
            })?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
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
