//! The designer thread: sleeps until an event says something changed (a parameter, the head
//! the filters are designed for, a tracker's pose: see [`DesignEvents`]), designs off the
//! audio thread, hands the new filters over lock-free and frees the ones the audio thread has
//! retired. The audio thread never waits for it: its side of a parameter change is an atomic
//! increment and a non-blocking send.

use crate::design::filters::chain::{design, Design, DesignInput};
use crate::design::model::plant::Plant;
use crate::design::DesignError;
use crate::dsp::handover::DesignerSide;
use crate::dsp::processor::Processor;
use crossbeam_channel::{Receiver, Sender};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the designer looks again while a set it made is on its way to the audio thread
/// (or the one it replaced on its way back, to be freed).
pub const HANDOVER_POLL: Duration = Duration::from_millis(2);

/// How long after its last hand-over the designer keeps looking for retired sets to free
/// before it sleeps until the next event (a crossfade takes tens of milliseconds).
const HANDOVER_WINDOW: Duration = Duration::from_secs(1);

/// How often the designer offers a set again to an audio thread that has not taken one for
/// [`HANDOVER_WINDOW`] (a stopped transport).
const STALLED_HANDOVER_POLL: Duration = Duration::from_millis(50);

/// The designer's wake-up: whoever changes what the design depends on (a parameter callback,
/// possibly on the audio thread; the editor; the tracker thread) notifies it, and the
/// designer sleeps on it. One slot: a notification while one is pending costs a failed
/// `try_send` and nothing else, never a wait or an allocation.
#[derive(Clone, Debug)]
pub struct DesignEvents {
    sender: Sender<()>,
    receiver: Receiver<()>,
}

impl Default for DesignEvents {
    fn default() -> Self {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        Self { sender, receiver }
    }
}

impl DesignEvents {
    /// Says that something the design depends on changed. Never blocks.
    pub fn notify(&self) {
        let _ = self.sender.try_send(());
    }

    /// A sender of notifications, for a thread that holds no `DesignEvents`.
    pub fn sender(&self) -> Sender<()> {
        self.sender.clone()
    }
}

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
    input: DesignInput,
}

/// A running designer thread; stopping it (drop) joins it.
pub struct DesignWorker {
    /// Dropped to stop the thread (it sleeps on this too).
    stop: Option<Sender<()>>,
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
    /// Starts the thread. `source` says what to design now; the designer asks it whenever
    /// `events` is notified, and designs when the generation, the head or the input differs
    /// from the last design's (`designed` at first). `on_design` sees every design before
    /// its filters are sent (plots, diagnostics); `on_error` hears, once per change, why a
    /// design was not made (the last good filters keep playing), and after each design made
    /// on a stand-in, why. At most one new set waits for the audio thread: a newer design
    /// replaces one not yet sent. Fails only if the system cannot start a thread.
    pub fn spawn(
        mut source: impl FnMut() -> DesignJob + Send + 'static,
        events: &DesignEvents,
        mut designer: DesignerSide,
        mut on_design: impl FnMut(&Design) + Send + 'static,
        mut on_error: impl FnMut(&DesignError) + Send + 'static,
        designed: DesignJob,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let woken = events.receiver.clone();
        let refused = Arc::new(AtomicU64::new(0));
        let refused_by_thread = refused.clone();
        let thread = std::thread::Builder::new()
            .name("soundstage-designer".into())
            .spawn(move || {
                let mut done = Done {
                    generation: designed.generation,
                    plant: designed.plant,
                    input: designed.input,
                };
                let mut unsent = None;
                let mut last_handover: Option<Instant> = None;
                loop {
                    if designer.collect_garbage() > 0 {
                        last_handover = Some(Instant::now());
                    }
                    if let Some(set) = unsent.take() {
                        unsent = designer.send(set).err();
                        if unsent.is_none() {
                            last_handover = Some(Instant::now());
                        }
                    }
                    let job = source();
                    let changed = job.generation != done.generation
                        || !Arc::ptr_eq(&job.plant, &done.plant)
                        || job.input != done.input;
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
                                last_handover = Some(Instant::now());
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
                            input: job.input,
                        };
                    }
                    // Sleep until an event; while a hand-over is under way, look again soon,
                    // and while a set waits for a host that does not call process(), now
                    // and then.
                    let recent = last_handover.is_some_and(|t| t.elapsed() < HANDOVER_WINDOW);
                    let timeout = match (recent, unsent.is_some()) {
                        (true, _) => crossbeam_channel::after(HANDOVER_POLL),
                        (false, true) => crossbeam_channel::after(STALLED_HANDOVER_POLL),
                        (false, false) => crossbeam_channel::never(),
                    };
                    crossbeam_channel::select! {
                        recv(woken) -> _ => {}
                        recv(stopped) -> _ => break,
                        recv(timeout) -> _ => {}
                    }
                }
            })?;
        Ok(Self {
            stop: Some(stop),
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
        // Disconnecting the stop channel wakes the thread and ends its loop.
        self.stop = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
