//! The designer thread: sleeps until an event says something changed (a parameter, the head
//! the filters are designed for, a tracker's pose: see [`DesignEvents`]), designs off the
//! audio thread, hands the new filters over lock-free and frees the ones the audio thread has
//! retired. The audio thread never waits for it: its side of a parameter change is two
//! atomic stores and, when the designer sleeps, the system call that wakes it (no lock).

use crate::design::filters::chain::{design_from, Design, DesignInput};
use crate::design::model::plant::Plant;
use crate::design::DesignError;
use crate::dsp::contract::FrameLayout;
use crate::dsp::handover::DesignerSide;
use crate::dsp::processor::Processor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{JoinHandle, Thread};
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

/// How long the designer sleeps when nothing is under way, at most: a wake-up can only be
/// missed while a designer thread starts or stops (see [`DesignEvents::notify`]), and this
/// bounds what such a miss costs.
const IDLE_SLEEP: Duration = Duration::from_millis(250);

/// The designer's wake-up: whoever changes what the design depends on (a parameter callback,
/// possibly on the audio thread; the editor; the tracker thread) notifies it, and the
/// designer sleeps until then.
#[derive(Clone, Debug, Default)]
pub struct DesignEvents {
    inner: Arc<EventsInner>,
}

#[derive(Debug, Default)]
struct EventsInner {
    /// Set by a notification, taken by the designer.
    pending: AtomicBool,
    /// The designer thread that sleeps on this, while one runs.
    sleeper: Mutex<Option<Thread>>,
}

impl DesignEvents {
    /// Says that something the design depends on changed. Safe on the audio thread: an
    /// atomic store, a `try_lock` that never waits, and the unpark of a sleeping designer
    /// (one system call, no lock, no allocation). The lock is only ever held while a designer
    /// thread registers or leaves; a notification that finds it held is seen when the
    /// designer next wakes (within [`IDLE_SLEEP`]).
    pub fn notify(&self) {
        self.inner.pending.store(true, Ordering::Release);
        if let Ok(sleeper) = self.inner.sleeper.try_lock() {
            if let Some(thread) = sleeper.as_ref() {
                thread.unpark();
            }
        }
    }

    /// Takes the pending notification, if any.
    fn take(&self) -> bool {
        self.inner.pending.swap(false, Ordering::AcqRel)
    }

    /// Makes the calling thread the one notifications wake (or none).
    fn register(&self, thread: Option<Thread>) {
        *self.inner.sleeper.lock().unwrap_or_else(|e| e.into_inner()) = thread;
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
    /// The listener's pose designed for (a tracker moves it without a new generation).
    pose: [f64; 3],
}

/// The listener's pose in `input`: what a tracker changes between generations. (Comparing
/// the whole input would also see width and gain, which play at audio rate without a
/// design.)
fn pose_of(input: &DesignInput) -> [f64; 3] {
    let s = &input.settings;
    [s.offset_m, s.distance_m, s.yaw_deg]
}

/// How long the engine takes to fade to a new set at `sample_rate`: the shortest useful time
/// between two designs for a moving listener. A design made sooner would wait behind the
/// fade and be replaced by the next one unheard, so a tracker's poses are designed at most
/// this often; any change of the parameters or the head at once.
pub fn fade_period(layout: FrameLayout, sample_rate: f64) -> Duration {
    Duration::from_secs_f64((layout.crossfade_frames() * layout.hop) as f64 / sample_rate.max(1.0))
}

/// A running designer thread; stopping it (drop) joins it.
pub struct DesignWorker {
    /// Set to stop the thread (then unparked).
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
/// coefficients that are not finite numbers. `start` is where the canceller's searches begin
/// (see [`design_from`]): the previous design's, when designs follow a moving listener.
pub fn design_checked(
    input: &DesignInput,
    plant: &dyn Plant,
    start: Option<&[[f64; 2]]>,
) -> Result<Design, DesignError> {
    plant.check(&input.settings.geometry(input.outputs))?;
    let made =
        catch_unwind(AssertUnwindSafe(|| design_from(input, plant, start))).map_err(|payload| {
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
    /// from the last design's (`designed` at first); a tracker's move (the pose alone, same
    /// generation) is designed at most once per [`fade_period`], starting its searches where
    /// the last design's ended (see [`design_from`]). `on_design` sees every design before
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
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let woken = events.clone();
        let refused = Arc::new(AtomicU64::new(0));
        let refused_by_thread = refused.clone();
        let thread = std::thread::Builder::new()
            .name("soundstage-designer".into())
            .spawn(move || {
                woken.register(Some(std::thread::current()));
                let mut done = Done {
                    generation: designed.generation,
                    plant: designed.plant,
                    pose: pose_of(&designed.input),
                };
                let mut unsent = None;
                let mut last_handover: Option<Instant> = None;
                // Where the last design's canceller searches ended: the next starts there.
                let mut start: Option<Vec<[f64; 2]>> = None;
                let mut last_design: Option<Instant> = None;
                while !stopping.load(Ordering::Acquire) {
                    woken.take();
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
                    // A tracker's move: the parameters and the head are those designed for.
                    let moved_only =
                        job.generation == done.generation && Arc::ptr_eq(&job.plant, &done.plant);
                    let changed = !moved_only || pose_of(&job.input) != done.pose;
                    // A tracker's move waits until the engine can take a new set. A new
                    // generation (a parameter, automation of the pose parameters, a bounce
                    // waiting for it) is designed at once, and from scratch, so that what a
                    // session's settings give never depends on what was designed before.
                    let pace = last_design
                        .filter(|_| changed && moved_only)
                        .and_then(|t| {
                            fade_period(job.input.layout(), job.input.sample_rate)
                                .checked_sub(t.elapsed())
                        })
                        .filter(|wait| !wait.is_zero());
                    if changed && pace.is_none() {
                        last_design = Some(Instant::now());
                        if !moved_only {
                            start = None;
                        }
                        match design_checked(&job.input, job.plant.as_ref(), start.as_deref()) {
                            Ok(mut made) => {
                                made.filters.generation = job.generation;
                                on_design(&made);
                                start = made.take_search_start();
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
                            pose: pose_of(&job.input),
                        };
                    }
                    // Sleep until an event (a notification unparks this thread, and one that
                    // came since `take` makes the park return at once); while a hand-over is
                    // under way, look again soon, and while a set waits for a host that does
                    // not call process(), now and then.
                    let recent = last_handover.is_some_and(|t| t.elapsed() < HANDOVER_WINDOW);
                    let sleep = match (recent, unsent.is_some()) {
                        (true, _) => HANDOVER_POLL,
                        (false, true) => STALLED_HANDOVER_POLL,
                        (false, false) => IDLE_SLEEP,
                    };
                    let sleep = pace.map_or(sleep, |wait| wait.min(sleep));
                    if !woken.inner.pending.load(Ordering::Acquire) {
                        std::thread::park_timeout(sleep);
                    }
                }
                woken.register(None);
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
